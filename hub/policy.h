/*
 * policy - the company's written routing procedure (policy.yaml), parsed,
 * checked and applied to events. Knows nothing of sockets or storage.
 *
 *   departments:
 *     engineering: { escalate_to: engineering-oncall }
 *   routes:
 *     - name: defect
 *       match: { type: bug_report, not: { tags: duplicate } }
 *       notify: engineering
 *       kind: defect
 *       fields: [case_id, customer, type, severity]   # optional redaction
 *       respond_within: 4h                            # optional deadline
 *
 * Rules of matching:
 *   1. A match holds when every key in it holds.
 *   2. A key is a dotted path into the event; it holds when the field equals
 *      the value, or one of the values when a list is given.
 *   3. When the field is a list (tags), it holds when any element does.
 *   4. A missing field never holds.
 *   5. `not: {...}` holds when the match inside it does not.
 *   6. Each matching route makes one notification, topic <notify>.<kind>,
 *      in the order the routes are written.
 */
#ifndef HUB_POLICY_H_INCLUDED
#define HUB_POLICY_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "hub.pb-c.h"

#define HUB_MAX_ROUTES 1024   /* routes in one policy */
#define HUB_REASON_LEN 256    /* bytes of a match reason */
#define HUB_NAME_LEN 64       /* department, route and kind names */
#define HUB_TOPIC_LEN 160     /* <department>.<kind> */

typedef struct hub_policy hub_policy_t;

/* One route's notification for one event. Pointers point into the policy
 * and stay valid while it lives. */
typedef struct {
    size_t index;                 /* the route's place in the policy, 0 to hub_policy_route_count - 1 */
    const char *route;            /* route name */
    const char *department;       /* notify */
    const char *kind;
    const char *topic;            /* department.kind */
    const char *const *fields;    /* redaction list, or NULL */
    size_t nfields;               /* 0: the department sees everything */
    int64_t respond_within_ms;    /* 0: no deadline */
    char reason[HUB_REASON_LEN];  /* "type=bug_report, customer.tier=enterprise" */
} hub_match_t;

/* Parses a policy from text; 'name' is used in messages (the file name).
 * Returns the policy, or NULL with err "name:LINE: what is wrong", e.g.
 * 'policy.yaml:14: route "rma": unknown key "notfy"'. */
hub_policy_t *hub_policy_parse(const char *text, size_t len, const char *name, char err[HUB_ERR_LEN]);

/* Reads and parses a file, as hub_policy_parse. */
hub_policy_t *hub_policy_load(const char *path, char err[HUB_ERR_LEN]);

void hub_policy_destroy(hub_policy_t **self_p);

/* SHA-256 of the policy text, 64 hex digits. */
const char *hub_policy_sha256(const hub_policy_t *self);

/* The policy text as it was parsed (owned by the policy; NUL-terminated,
 * *len_p bytes when len_p is not NULL). */
const char *hub_policy_source(const hub_policy_t *self, size_t *len_p);

size_t hub_policy_route_count(const hub_policy_t *self);

/* The department's escalate_to, or NULL when it has none or is unknown. */
const char *hub_policy_escalate_to(const hub_policy_t *self, const char *department);

/* Routes ev: fills out[0..n) with the matching routes in policy order and
 * returns n (at most max); never blocks or allocates. */
size_t hub_policy_route(const hub_policy_t *self, const Hub__Event *ev, hub_match_t *out, size_t max);

/* Called once per route, in order, by hub_policy_explain: matched is 1 or 0;
 * why says which keys held, or the first that did not and why. */
typedef void (*hub_explain_fn)(const char *route, const char *topic, int matched, const char *why, void *arg);

/* Explains, for every route, whether ev matches and why. */
void hub_policy_explain(const hub_policy_t *self, const Hub__Event *ev, hub_explain_fn fn, void *arg);

/* 1 when topic matches the subscription pattern: '*' matches any run of
 * characters (dots too), everything else matches itself ("engineering.*",
 * "*.rma", "*"). */
int hub_topic_match(const char *pattern, const char *topic);

#endif
