/*
 * yamldoc - load a YAML file or string into a libyaml document and read its
 * nodes with the line numbers people need in error messages. Used by the
 * config and policy loaders.
 */
#ifndef HUB_YAMLDOC_H_INCLUDED
#define HUB_YAMLDOC_H_INCLUDED

#include <stddef.h>
#include <yaml.h>

#include "hub.h"

#define HUB_MAX_YAML_BYTES (4 * 1024 * 1024) /* config and policy files */

typedef struct {
    yaml_document_t doc; /* the loaded document */
    char name[128];      /* file name for messages */
    int loaded;          /* 1 when doc must be deleted */
} hub_yamldoc_t;

/* Loads text (len bytes) named 'name' (for messages). Returns 0; or
 * -HUB_ECONFIG with err "name:LINE: what" for a syntax error, an empty
 * document, more than one document, an alias (*name: anchors may be set
 * but not used, so the document stays a tree), a duplicate key in a
 * mapping, a NUL character in a scalar, or text over HUB_MAX_YAML_BYTES;
 * -ENOMEM. Call hub_yamldoc_fini either way. Does
 * not block. */
int hub_yamldoc_load(hub_yamldoc_t *self, const char *name, const char *text, size_t len, char err[HUB_ERR_LEN]);

/* Reads a file and loads it; the path as given names it in messages.
 * Returns 0, -errno (err says which file and why) or as hub_yamldoc_load.
 * Blocks on the file system. */
int hub_yamldoc_load_file(hub_yamldoc_t *self, const char *path, char err[HUB_ERR_LEN]);

/* Reads a whole file of at most HUB_MAX_YAML_BYTES into a new NUL-terminated
 * buffer. Returns 0 with *text_p (the caller frees it) and *len_p set;
 * -errno, or -HUB_ECONFIG when it is too large, with err "path: why". Blocks on the file system. */
int hub_yamldoc_read_file(const char *path, char **text_p, size_t *len_p, char err[HUB_ERR_LEN]);

void hub_yamldoc_fini(hub_yamldoc_t *self);

/* The root node, or NULL for an empty document. */
yaml_node_t *hub_yamldoc_root(hub_yamldoc_t *self);

/* The node at index (as stored in mapping pairs and sequence items). */
yaml_node_t *hub_yamldoc_node(hub_yamldoc_t *self, int index);

/* 1-based line of a node, for messages. */
int hub_yamldoc_line(const yaml_node_t *node);

/* A scalar's text (NUL-terminated), or NULL when node is not a scalar. */
const char *hub_yamldoc_scalar(const yaml_node_t *node);

/* 1 when node is YAML's null: an empty plain scalar ("key:" with no value),
 * "~" or "null"; else 0. */
int hub_yamldoc_is_null(const yaml_node_t *node);

/* Fills err with "name:LINE: " (just "name: " when node is NULL) and the
 * formatted text, with control characters turned into '?' so that err is
 * one line. Returns -HUB_ECONFIG so that callers can
 * 'return hub_yamldoc_error(...)'. */
int hub_yamldoc_error(const hub_yamldoc_t *self, const yaml_node_t *node, char err[HUB_ERR_LEN], const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

#endif
