/*
 * path - dotted paths into a message ("customer.tier", "tags",
 * "attributes.order_id"), resolved once against the descriptors and then
 * read from any message of that type. The policy matches on them.
 */
#ifndef HUB_PATH_H_INCLUDED
#define HUB_PATH_H_INCLUDED

#include <stddef.h>

#include "hub.h"
#include "hub.pb-c.h"

#define HUB_PATH_MAX_DEPTH 8 /* fields in one path */
#define HUB_PATH_MAX_KEY 128 /* bytes of a map key */

typedef struct {
    const ProtobufCFieldDescriptor *fields[HUB_PATH_MAX_DEPTH]; /* field at each step */
    size_t depth;                                               /* steps used */
    char map_key[HUB_PATH_MAX_KEY];                             /* key when the last field is a map */
    int has_map_key;                                            /* 1 when map_key is set */
} hub_path_t;

/* Resolves text against desc. A map field must be followed by exactly one
 * key ("attributes.order_id"); a message field may end the path (it then
 * holds when present). Returns 0; -HUB_EINVALID with err like
 * 'unknown field "teir" in "customer.teir"'. */
int hub_path_resolve(const ProtobufCMessageDescriptor *desc, const char *text, hub_path_t *out,
                     char err[HUB_ERR_LEN]);

/* Called for each value found at a path, as text: strings as they are,
 * enums by their JSON name ("high"), numbers in decimal, bools as
 * "true"/"false", a present message as "". Return 0 to go on, 1 to stop. */
typedef int (*hub_path_value_fn)(const char *value, void *arg);

/* Visits every value at path in msg (a repeated field gives one per element;
 * a missing field gives none). Returns the number of values visited. */
int hub_path_values(const ProtobufCMessage *msg, const hub_path_t *path, hub_path_value_fn fn, void *arg);

#endif
