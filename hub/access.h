/*
 * access - who may do what: hub.yaml's `access:` list, by client identity.
 *
 *   access:
 *     support:     { publish: [bug_report, complaint] }
 *     engineering: { publish: [response], subscribe: ["engineering.*"] }
 *     operator:    { subscribe: ["*"], admin: true, audit: true }
 *
 * Rules
 *   1. An identity not listed may do nothing but say hello.
 *   2. publish lists event types; "*" allows every type.
 *   3. subscribe lists topic patterns; a requested pattern is allowed when
 *      one listed pattern matches it as if it were a topic ("finance.*"
 *      allows "finance.*" and "finance.billing_flag", not "*").
 *   4. admin allows status requests; audit allows reading the audit log.
 * The list is only consulted when the hub authenticates its clients
 * (security: curve); with security: none every client is "local" and may
 * do everything.
 */
#ifndef HUB_ACCESS_H_INCLUDED
#define HUB_ACCESS_H_INCLUDED

#include <stddef.h>

#include "hub.h"
#include "yamldoc.h"

typedef struct hub_access hub_access_t;

/* Reads the access list from node (a mapping) of doc. Returns the list,
 * or NULL with err "hub.yaml:LINE: access: ..." (or out of memory). */
hub_access_t *hub_access_load(hub_yamldoc_t *doc, yaml_node_t *node, char err[HUB_ERR_LEN]);

void hub_access_destroy(hub_access_t **self_p);

/* How many identities are listed. */
size_t hub_access_count(const hub_access_t *self);

/* 1 when identity may publish events of type (rule 2), else 0. */
int hub_access_may_publish(const hub_access_t *self, const char *identity, const char *type);

/* 1 when identity may subscribe to pattern (rule 3), else 0. */
int hub_access_may_subscribe(const hub_access_t *self, const char *identity, const char *pattern);

/* 1 when identity may ask for status (admin), else 0. */
int hub_access_is_admin(const hub_access_t *self, const char *identity);

/* 1 when identity may read the audit log, else 0. */
int hub_access_may_audit(const hub_access_t *self, const char *identity);

#endif
