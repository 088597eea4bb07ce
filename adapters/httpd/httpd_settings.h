/*
 * httpd_settings - what reading an HTTP adapter's YAML settings file takes
 * apart from its own keys: the document and its directory (for relative
 * file names), the walk over the top-level keys, single values copied
 * with their limits, and the listen key.
 *
 * Rules:
 *   1. Every mistake is one err line "path:LINE: what", where LINE is the
 *      line of the value (or key) at fault (hub_yamldoc_error).
 *   2. Relative file names in the file are relative to its directory, so
 *      that the file can be used from any working directory.
 */
#ifndef HTTPD_SETTINGS_H_INCLUDED
#define HTTPD_SETTINGS_H_INCLUDED

#include <stddef.h>
#include <sys/socket.h>

#include "hub.h"
#include "log.h"
#include "yamldoc.h"

#define HTTPD_DIR_LEN 512 /* bytes of the settings file's directory */

/* The file being read, as the key handlers see it. */
typedef struct {
    hub_yamldoc_t *doc;      /* the file */
    char dir[HTTPD_DIR_LEN]; /* its directory, for relative names ("" for none) */
    char *err;               /* the caller's err */
} httpd_settings_file_t;

/* Handles one top-level key (k its node, v its value). Returns 0, or a
 * negative code with file->err filled (an unknown key included). */
typedef int (*httpd_settings_key_fn)(httpd_settings_file_t *file, const char *key, yaml_node_t *k, yaml_node_t *v,
                                     void *arg);

typedef int (*httpd_listen_parse_fn)(const char *text, struct sockaddr_storage *addr, socklen_t *len_p,
                                     char err[HUB_ERR_LEN]);

/* How httpd_settings_walk reads an adapter's file. */
typedef struct {
    const char *not_mapping;            /* the message when the top is not a mapping */
    char *listen;                       /* where the listen key goes (listen_size bytes) */
    size_t listen_size;                 /* bytes of listen */
    httpd_listen_parse_fn listen_parse; /* checks it (the adapter's, for its examples) */
    hub_log_level_t *log_level;         /* where the log_level key goes */
    httpd_settings_key_fn on_key;       /* every other key */
    void *arg;                          /* for on_key */
} httpd_settings_reader_t;

/* Loads path and reads its top-level keys in order: listen is copied
 * into reader->listen and checked with reader->listen_parse (err
 * "listen: why" when it fails), log_level is parsed into
 * reader->log_level, any other key goes to reader->on_key.
 * Returns 0; the first negative code on_key returned; or -HUB_ECONFIG or
 * -errno from the load, a non-mapping top, a key that is not a name or a
 * wrong listen; err as rule 1. Blocks on the file system. */
int httpd_settings_walk(const char *path, const httpd_settings_reader_t *reader, char err[HUB_ERR_LEN]);

/* A single value's text. NULL with err "WHAT: expected a single value,
 * not a mapping" (or list), or "WHAT: empty" for an empty or null value
 * unless empty_ok (then ""). */
const char *httpd_settings_scalar(httpd_settings_file_t *file, const yaml_node_t *node, const char *what, int empty_ok);

/* Copies a single value into out (size bytes). Returns 0, or
 * -HUB_ECONFIG with err as httpd_settings_scalar, or "WHAT: too long (at
 * most N bytes)". */
int httpd_settings_copy(httpd_settings_file_t *file, const yaml_node_t *node, const char *what, char *out, size_t size,
                        int empty_ok);

#endif
