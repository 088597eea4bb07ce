/*
 * outlet_config - the part of an outlet's YAML config that every outlet
 * shares, and the readers the outlets use for their own sections.
 *
 *     hub: tcp://127.0.0.1:7200        # optional; --hub and $HUB_ENDPOINT too
 *     subscribe:
 *       name: engineering              # durable subscriber name (required)
 *       topics: ["engineering.*"]      # one pattern or a list (required)
 *       credit: 1                      # notifications in flight, 1..1000
 *       from: resume                   # resume | earliest | latest | SEQ
 *     retry:
 *       max_attempts: 5                # tries per delivery before a nack
 *       initial_delay: 500ms           # backoff base (ms, s, m or h)
 *       max_delay: 10s                 # backoff cap
 *       max_elapsed: 20s               # keep below the hub's ack_timeout
 *     log_level: info                  # debug | info | warn | error
 *
 * Rules:
 *   1. Every error names the file, the line and the key:
 *      "webhook-out.yaml:7: retry: unknown key \"max_attempt\"".
 *   2. A key not given keeps its default; an unknown key is an error, so a
 *      typo never leaves a default silently in force.
 *   3. Strings read for the caller are copies: the YAML document is gone
 *      once outlet_config_load returns.
 */
#ifndef OUTLET_CONFIG_H_INCLUDED
#define OUTLET_CONFIG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "log.h"
#include "outlet_retry.h"
#include "yamldoc.h"

#define OUTLET_MAX_CREDIT 1000   /* subscribe.credit at most */
#define OUTLET_MAX_TOPICS 32     /* subscribe.topics at most */
#define OUTLET_MAX_LIST 256      /* elements of any list setting */
#define OUTLET_MAX_SECRET 4096   /* bytes of a secret or password file */

typedef struct {
    char *hub;                 /* endpoint, or NULL: $HUB_ENDPOINT or libhub's default */
    char *name;                /* durable subscriber name */
    char **topics;             /* topic patterns */
    size_t ntopics;            /* how many */
    uint32_t credit;           /* notifications in flight (default 1) */
    hub_from_t from;           /* where a new subscriber starts (default resume) */
    uint64_t from_seq;         /* with HUB_FROM_SEQ */
    outlet_retry_t retry;      /* backoff and limits */
    hub_log_level_t log_level; /* default info */
} outlet_config_t;

/* Called for each top-level key that is not one of the shared ones.
 * Returns 0 when it took the key, 1 when the key is not one of the
 * outlet's (the loader then reports it as unknown), or -HUB_ECONFIG with
 * err filled. */
typedef int (*outlet_section_fn)(void *arg, hub_yamldoc_t *doc, const char *key, yaml_node_t *value,
                                 char err[HUB_ERR_LEN]);

/* Loads path into self (defaults first), handing the outlet's own keys to
 * section(arg, ...). 'known' lists the outlet's keys for the message about
 * an unknown one (e.g. "webhook"). Returns 0; -HUB_ECONFIG or -errno with
 * err "path:LINE: what". Call outlet_config_fini either way. Blocks on the
 * file system. */
int outlet_config_load(outlet_config_t *self, const char *path, const char *known, outlet_section_fn section,
                       void *arg, char err[HUB_ERR_LEN]);

void outlet_config_fini(outlet_config_t *self);

/* ---- readers for the outlets' own sections; 'what' names the key in
 * messages ("webhook.url"). Each returns 0 or -HUB_ECONFIG with err. */

/* Checks that node is a mapping. */
int outlet_cfg_mapping(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, char err[HUB_ERR_LEN]);

/* A non-empty single value, copied (*out is freed first when set). */
int outlet_cfg_string(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, char **out,
                      char err[HUB_ERR_LEN]);

/* A whole number in [min, max]. */
int outlet_cfg_uint(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, uint64_t min, uint64_t max,
                    uint64_t *out, char err[HUB_ERR_LEN]);

/* A duration: a whole number and a unit of ms, s, m or h ("500ms", "10s");
 * a bare number is seconds. At most a day. */
int outlet_cfg_duration(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, int64_t *ms,
                        char err[HUB_ERR_LEN]);

/* One value or a list of non-empty values, copied into a new array
 * (outlet_cfg_strings_free frees it). */
int outlet_cfg_strings(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, char ***out, size_t *n,
                       char err[HUB_ERR_LEN]);

void outlet_cfg_strings_free(char ***list, size_t *n);

/* Reads a secret from a file (at most OUTLET_MAX_SECRET bytes; one trailing
 * newline dropped). Returns 0 with *out (the caller frees it), or -errno /
 * -HUB_ECONFIG with err "path: why". Blocks on the file system. */
int outlet_read_secret(const char *path, char **out, char err[HUB_ERR_LEN]);

/* A secret given as the keys NAME_file (file: a path) or NAME_env (env: an
 * environment variable's name) of section ("webhook", "secret"), at most
 * one of them non-NULL. Reads the one given into *out (free it with
 * outlet_secret_free). Returns 0, also when neither is given; or
 * -HUB_ECONFIG with err at node: "webhook.secret_file: path: why",
 * "webhook.secret_env: $NAME is not set or empty". Blocks on the file
 * system. */
int outlet_cfg_secret(hub_yamldoc_t *doc, const yaml_node_t *node, const char *section, const char *name,
                      const char *file, const char *env, char **out, char err[HUB_ERR_LEN]);

/* Overwrites a secret with zeros and frees it. Accepts NULL; sets
 * *secret_p = NULL. */
void outlet_secret_free(char **secret_p);

/* Parses a duration as outlet_cfg_duration does. Returns 0 or -1. */
int outlet_parse_duration(const char *text, int64_t *ms);

#endif
