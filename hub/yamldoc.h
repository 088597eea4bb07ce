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
 * document, or text over HUB_MAX_YAML_BYTES. Call hub_yamldoc_fini either way. */
int hub_yamldoc_load(hub_yamldoc_t *self, const char *name, const char *text, size_t len, char err[HUB_ERR_LEN]);

/* Reads a file and loads it. Returns 0, -errno (err says which file and
 * why) or as hub_yamldoc_load. */
int hub_yamldoc_load_file(hub_yamldoc_t *self, const char *path, char err[HUB_ERR_LEN]);

void hub_yamldoc_fini(hub_yamldoc_t *self);

/* The root node, or NULL for an empty document. */
yaml_node_t *hub_yamldoc_root(hub_yamldoc_t *self);

/* The node at index (as stored in mapping pairs and sequence items). */
yaml_node_t *hub_yamldoc_node(hub_yamldoc_t *self, int index);

/* 1-based line of a node, for messages. */
int hub_yamldoc_line(const yaml_node_t *node);

/* A scalar's text (NUL-terminated), or NULL when node is not a scalar. */
const char *hub_yamldoc_scalar(const yaml_node_t *node);

/* Fills err with "name:LINE: " and the formatted text. Returns -HUB_ECONFIG
 * so that callers can 'return hub_yamldoc_error(...)'. */
int hub_yamldoc_error(const hub_yamldoc_t *self, const yaml_node_t *node, char err[HUB_ERR_LEN], const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

#endif
