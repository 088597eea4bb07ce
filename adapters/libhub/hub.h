/*
 * hub.h - the Switchboard client library (libhub).
 *
 * One header is the whole public face of libhub: connect to hubd, publish
 * customer events, subscribe a department by durable name, receive, ack and
 * nack notifications. Every adapter (hubctl, webhook-in, webhook-out,
 * mail-out) is built on it.
 *
 * Conventions
 *   - Calls return 0 (or a count) on success and a negative code on failure:
 *     -HUB_E... for Switchboard's own errors, -errno for the system's.
 *     hub_strerror() turns either into text and never returns NULL.
 *   - Where a person must read the reason (a rejected event names its field),
 *     calls also fill a caller's char err[HUB_ERR_LEN].
 *   - A hub_client_t is not thread-safe: use it from one thread, or guard it.
 *     Calls block at most for the timeout they are given; a signal caught
 *     while one waits ends it early with -EINTR. libhub runs no thread of
 *     its own: heartbeats, reconnection and resends happen inside calls.
 *     The clients of a process share one ZeroMQ context (one I/O thread
 *     for all their sockets); the last one destroyed ends it, waiting (up
 *     to 200 ms) for what their sockets still have to send. Destroy every
 *     client before the process exits, or the last acks of one destroyed
 *     earlier may not leave.
 *   - hub_publish_async gathers publishes into one message (up to 64); they
 *     leave when it is full and at the next call that waits or talks to
 *     the hub (hub_publish_wait, even with no time to wait, hub_receive,
 *     any other request): call one of those soon after publishing.
 *   - Objects are freed with hub_x_destroy(&p), which accepts NULL, is safe
 *     twice and sets p to NULL.
 *
 * Delivery is at least once. libhub drops a notification it has already
 * handed to the application (same seq and slot) so that an application sees
 * each one once while its client lives, even when the hub redelivers after a
 * timeout or a restart.
 */
#ifndef HUB_H_INCLUDED
#define HUB_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HUB_EXPORT __attribute__((visibility("default")))
#else
#define HUB_EXPORT
#endif

#define HUB_ERR_LEN 256          /* size of every err[] buffer */
#define HUB_PROTOCOL_VERSION 1   /* the frame version this library speaks */

/* Switchboard's own error codes; calls return them negated. They start at
 * 1000 so that they never collide with errno values. */
enum {
    HUB_EMALFORMED = 1000,  /* a frame or document that cannot be decoded */
    HUB_EUNSUPPORTED,       /* a protocol version or feature not spoken */
    HUB_ETOOLARGE,          /* over a named size limit */
    HUB_EINVALID,           /* decodes, but a field is missing or wrong */
    HUB_EDENIED,            /* the hub refused: not allowed */
    HUB_EUNAVAILABLE,       /* the hub cannot take it now; retry later */
    HUB_EUNKNOWN,           /* no such subscriber, event or case */
    HUB_EPROTO,             /* the peer sent a frame that makes no sense here */
    HUB_ECONFIG,            /* a configuration or policy file is wrong */
    HUB_ESTORE,             /* the database failed */
    HUB_EINTERNAL,          /* our own bug: please report it */
};

/* Text for a code returned by any call (negative or positive); never NULL. */
HUB_EXPORT const char *hub_strerror(int code);

/* ------------------------------------------------------------ the client */

typedef struct hub_client hub_client_t;

typedef struct {
    const char *endpoint;     /* e.g. tcp://127.0.0.1:7200; NULL: $HUB_ENDPOINT
                                 or the embedded default */
    const char *client_name;  /* free text for the hub's log; NULL: "libhub" */
    int timeout_ms;           /* default for calls given timeout_ms < 0; 0: 5000 */
    int heartbeat_ms;         /* liveness probe while idle; 0: 1000 */
    const char *key;          /* this client's CURVE key pair, as a path
                                 prefix: PREFIX.key + PREFIX.secret (the name
                                 of either file is taken as the prefix too);
                                 NULL: $HUB_KEY; $HUB_KEY unset or empty:
                                 no CURVE; "": no CURVE, whatever the
                                 environment says */
    const char *server_key;   /* file holding the hub's public key (e.g.
                                 hubd.key); NULL: $HUB_SERVER_KEY. Needed
                                 with a key; refused without one (unless
                                 key is "") */
} hub_options_t;

#define HUB_DEFAULT_ENDPOINT "tcp://127.0.0.1:7200"

/* Creates a client and starts connecting. Does not wait for the hub: the
 * first call that needs it does. Returns NULL on failure and fills err.
 * opts may be NULL for all defaults.
 *
 * Security. A hub with "security: curve" talks only to clients whose public
 * key it knows (hub.yaml keys.clients: NAME.key per identity) and acts for
 * them as that identity. Give such a client its key pair (key) and the
 * hub's public key (server_key), or set HUB_KEY and HUB_SERVER_KEY in the
 * environment, which every program built on libhub then honours. Both
 * are key files as `hubctl keygen NAME` writes them: 40 z85 characters and
 * an optional newline. The key files are read here, once: a missing or
 * malformed file, a secret key file that group or others may read (fix:
 * chmod 600 FILE), or a public key that is not the secret key's, makes
 * this call fail with err naming the file. A hub that does not know the
 * key does not answer at all (the handshake is dropped): calls then time
 * out, and their err asks whether the key is in keys.clients. Without a
 * key the client speaks in clear, which only a hub with "security: none"
 * accepts. */
HUB_EXPORT hub_client_t *hub_client_new(const hub_options_t *opts, char err[HUB_ERR_LEN]);

/* Closes the socket, dropping what has not been sent. Accepts NULL. */
HUB_EXPORT void hub_client_destroy(hub_client_t **self_p);

/* Waits until the hub answers: a Welcome, or a heartbeat when the session
 * is up. Returns 0; -ETIMEDOUT; or the hub's refusal of the Hello
 * (e.g. -HUB_EDENIED). */
HUB_EXPORT int hub_client_ping(hub_client_t *self, int timeout_ms);

/* The endpoint in use (after defaults were applied). */
HUB_EXPORT const char *hub_client_endpoint(const hub_client_t *self);

/* Acts for a person from now on: the publishes, responses and dead-letter
 * actions this client sends carry on_behalf_of = user, and the hub's audit
 * rows for them name the actor "USER@IDENTITY" (e.g. "alice@console", or
 * "alice@local" without security) instead of the client's identity. user
 * NULL or "": nobody (the default). A publish already pending keeps the
 * user it was sent with. Returns 0, or -HUB_EINVALID when user is not 1 to
 * 64 of [A-Za-z0-9._-] (the user in force is unchanged then). */
HUB_EXPORT int hub_client_set_user(hub_client_t *self, const char *user);

/* ------------------------------------------------------------ publishing */

typedef struct {
    char id[128];           /* the event's id (generated when the JSON had none) */
    uint64_t seq;           /* the hub's sequence number */
    int duplicate;          /* 1: the id was stored before; seq is the original */
    uint32_t notifications; /* how many notifications the policy made of it */
} hub_publish_result_t;

/* Publishes one event given as JSON text (see README "Events") and waits
 * until the hub acknowledges that it is stored, resending on reconnection.
 * An event without "id" gets a generated one first (a UUIDv7, which sorts by
 * the time it was made), so a retry is stored once.
 * Returns 0 and fills res; -HUB_EMALFORMED when the text is not JSON;
 * -HUB_EINVALID with err naming the field when the JSON or the hub refuses
 * the event (ids are at most 127 bytes); another -HUB_E code with the hub's
 * words for its other refusals (-HUB_EDENIED, -HUB_ETOOLARGE, ...);
 * -ETIMEDOUT when no ack came in time (the event may or may not be stored:
 * publish again with the same id, which res->id holds even then). */
HUB_EXPORT int hub_publish(hub_client_t *self, const char *json, hub_publish_result_t *res, int timeout_ms,
                           char err[HUB_ERR_LEN]);

/* Pipelined publishing: sends without waiting and returns a local token
 * (>= 1) through token_p. Acks are collected with hub_publish_wait. Returns
 * 0, or -HUB_EINVALID / -HUB_EMALFORMED with err when the JSON is rejected
 * before sending. At most 'window' publishes are kept pending (set with
 * hub_client_set_window; default 1000); beyond it, the call first waits for
 * acks, up to the client's timeout, and returns -ETIMEDOUT if none came.
 * A pipelined publish stays pending, and is resent on reconnection, until
 * the hub answers it; "retry later" answers are retried. Outcomes wait in
 * the client until hub_publish_wait takes them. */
HUB_EXPORT int hub_publish_async(hub_client_t *self, const char *json, uint64_t *token_p,
                                 char err[HUB_ERR_LEN]);

typedef struct {
    uint64_t token;           /* as returned by hub_publish_async */
    int status;               /* 0: stored; else a negative code */
    hub_publish_result_t result;
    char err[HUB_ERR_LEN];    /* the hub's reason when status != 0 */
} hub_publish_outcome_t;

/* Waits up to timeout_ms for outcomes of pipelined publishes and copies at
 * most max of them to out, oldest first. Returns how many: 0 on timeout, or
 * at once when no pipelined publish is pending; a negative code when the
 * client cannot go on. */
HUB_EXPORT int hub_publish_wait(hub_client_t *self, hub_publish_outcome_t *out, int max, int timeout_ms);

/* Publishes still waiting for their ack. */
HUB_EXPORT size_t hub_publish_pending(const hub_client_t *self);

/* Why publishes are still pending when the hub has answered "retry later"
 * (HUB_EUNAVAILABLE, e.g. its disk is full): libhub keeps such publishes
 * and sends them again, so a caller whose wait timed out can say why.
 * Returns -HUB_EUNAVAILABLE and fills err with the hub's latest words while
 * a publish it deferred is pending, else 0. */
HUB_EXPORT int hub_publish_deferred(const hub_client_t *self, char err[HUB_ERR_LEN]);

/* Sets how many pipelined publishes may be pending at once (>= 1). */
HUB_EXPORT void hub_client_set_window(hub_client_t *self, size_t window);

/* Publishes a department's answer on a case: an event of type "response",
 * source = department, with status one of acknowledged, in_progress,
 * resolved, rejected, and an optional note. Same returns as hub_publish. */
HUB_EXPORT int hub_respond(hub_client_t *self, const char *case_id, const char *department, const char *status,
                           const char *note, hub_publish_result_t *res, int timeout_ms, char err[HUB_ERR_LEN]);

/* ----------------------------------------------------------- subscribing */

typedef enum {
    HUB_FROM_RESUME = 0,   /* where this durable name stopped (earliest if new) */
    HUB_FROM_EARLIEST = 1,
    HUB_FROM_LATEST = 2,
    HUB_FROM_SEQ = 3,      /* from a sequence number, inclusive */
} hub_from_t;

/* Subscribes the client as the durable subscriber 'name' to the given topic
 * patterns ("engineering.*", "*": '*' matches any run of characters), with
 * at most 'credit' deliveries in flight (0: 100). Waits for the hub's answer.
 * After a reconnection libhub subscribes again and resumes where the last
 * acknowledgement left off. Returns 0; -HUB_EINVALID or -HUB_EDENIED with err;
 * -ETIMEDOUT. One subscription per client. */
HUB_EXPORT int hub_subscribe(hub_client_t *self, const char *name, const char *const *topics, size_t ntopics,
                             hub_from_t from, uint64_t from_seq, uint32_t credit, int timeout_ms,
                             char err[HUB_ERR_LEN]);

typedef struct hub_notification hub_notification_t;

/* Waits up to timeout_ms for the next notification. Returns 1 and sets
 * *out (the caller owns it: hub_notification_destroy), 0 on timeout, or a
 * negative code: -EINVAL before hub_subscribe, the hub's refusal when it
 * refused the subscription again after a reconnection. Duplicates of
 * notifications already returned are dropped inside, and acknowledged
 * again when the application had acknowledged them. */
HUB_EXPORT int hub_receive(hub_client_t *self, hub_notification_t **out, int timeout_ms);

/* Acknowledges a notification: the hub will not send it again. Returns 0 or
 * a negative code. Does not wait for the hub. While more notifications wait
 * in the client, acks are kept and leave together, with the call of
 * hub_receive that finds 256 of them kept or the oldest 50 ms old; the
 * ack of the last one waiting leaves at once with those kept (and, best
 * effort, any kept at hub_client_destroy). */
HUB_EXPORT int hub_ack(hub_client_t *self, const hub_notification_t *n);

/* Refuses a notification: the hub redelivers it later, or dead-letters it at
 * once when dead_letter is 1 (e.g. an HTTP 404 that will never succeed).
 * reason goes to the audit log. Returns 0 or a negative code. Without a
 * session the nack is dropped and the hub redelivers after its ack
 * timeout; either way the redelivery reaches the application again. */
HUB_EXPORT int hub_nack(hub_client_t *self, const hub_notification_t *n, const char *reason, int dead_letter);

HUB_EXPORT void hub_notification_destroy(hub_notification_t **self_p);

HUB_EXPORT uint64_t hub_notification_seq(const hub_notification_t *n);
HUB_EXPORT uint32_t hub_notification_slot(const hub_notification_t *n);
HUB_EXPORT uint32_t hub_notification_attempt(const hub_notification_t *n);
HUB_EXPORT const char *hub_notification_topic(const hub_notification_t *n);
HUB_EXPORT const char *hub_notification_route(const hub_notification_t *n);
HUB_EXPORT const char *hub_notification_event_id(const hub_notification_t *n);
/* The event's case id, or "" when it has none. */
HUB_EXPORT const char *hub_notification_case_id(const hub_notification_t *n);
/* The whole notification as one line of JSON (owned by n); NULL when out
 * of memory. */
HUB_EXPORT const char *hub_notification_json(const hub_notification_t *n);

/* ---------------------------------------------------------------- admin */

/* Asks the hub for its status (subscribers, positions, backlog, in flight,
 * dead letters) as JSON text; the caller frees *json_p with free().
 * Returns 0; -ETIMEDOUT or the hub's refusal, with err. */
HUB_EXPORT int hub_status(hub_client_t *self, char **json_p, int timeout_ms, char err[HUB_ERR_LEN]);

/* Reads the hub's audit log over the connection, so that no one needs its
 * database file. query_json is a JSON object of AuditQuery fields (all
 * optional; NULL or "" is {}):
 *   {"case_id", "event_id", "actor", "action", "department": strings,
 *    "since_ms", "until_ms": ms since the epoch (rows at or after / before),
 *    "limit": the last N rows that match (default 1000, at most 10000),
 *    "verify": true to recompute the hash chain instead (no filters then)}
 * On success *reply_json_p is the AuditReply as JSON text (free() it):
 *   {"rows": ["<one JSON object per row, oldest first, as hubctl audit
 *    --json prints>", ...], "truncated": true when more rows matched than
 *    were sent (over the limit, or over one frame)} or, for verify,
 *   {"verified_rows": N, "broken_at": ROW (0: the chain holds),
 *    "verdict": "ok: N rows, head HASH" | "audit chain broken at row N: why"}.
 * With security: curve the client's identity needs audit: true in the
 * hub's access list. Returns 0; -HUB_EINVALID when query_json is not such
 * an object (err names the field) or the hub refuses a field;
 * -HUB_EDENIED; -ETIMEDOUT; other negative codes; err says why. Blocks
 * up to timeout_ms (< 0: the client's default). */
HUB_EXPORT int hub_audit_query(hub_client_t *self, const char *query_json, char **reply_json_p, int timeout_ms,
                               char err[HUB_ERR_LEN]);

/* Notifications as their departments see them, with the state of the
 * answers, over the connection. query_json is a JSON object of
 * NotificationQuery fields (all optional; NULL or "" is {}):
 *   {"department": notifications routed to it, "case_id", "customer":
 *    customer.id or .name contains this (ASCII, any case),
 *    "open_only": true to leave out those their department answered
 *    resolved or rejected, "limit" (default 100, at most 1000),
 *    "before_seq" / "after_seq" (paging / polling), "window": how many of
 *    the newest events to look through (default 10000, at most 100000),
 *    "dead_letters": true to list the dead letters instead}
 * On success *reply_json_p is the NotificationList as JSON text (free()
 * it): {"items": [NotificationState, ...] newest first, "last_seq": the
 * hub's last seq (a polling cursor), "truncated": more matched than were
 * sent}. A NotificationState is {"notification": {as
 * hub_notification_json prints it, the event redacted as the department
 * sees it}, "answer": "" or the department's latest status on the case,
 * "answer_note", "answered_by" (the audit actor, e.g. "alice@console"),
 * "answered_at_ms", "breached", "escalated"} and for dead letters
 * "subscriber", "dead_letter_reason", "dead_letter_state" ("open",
 * "redriven", "discarded"), "dead_letter_by", "redrive_seq", "orig_seq",
 * "orig_slot". With security: curve the client's identity needs audit:
 * true. Returns as hub_audit_query. Blocks up to timeout_ms (< 0: the
 * client's default). */
HUB_EXPORT int hub_notification_query(hub_client_t *self, const char *query_json, char **reply_json_p,
                                      int timeout_ms, char err[HUB_ERR_LEN]);

/* Acts on a dead letter (seq: its own seq, as the dead letters listing
 * gives it): action "redrive" sends it back to the subscriber it was
 * dead-lettered from (a new event, stored once however often this is
 * asked), "discard" closes it; reason is required to discard (1 to 1000
 * bytes) and optional to redrive. Both are audited ("redriven",
 * "discarded") naming the user set with hub_client_set_user. Waits until
 * the hub has stored it; *redrive_seq_p (when not NULL) gets the seq of the
 * redrive's event (0 for a discard). Asked again, the same answer; a dead
 * letter redriven cannot be discarded nor the other way round
 * (-HUB_EINVALID). With security: curve the identity needs admin: true.
 * Returns 0; -HUB_EINVALID with err (bad action, missing reason, seq not a
 * dead letter, already closed the other way); -HUB_EDENIED; -ETIMEDOUT;
 * other negative codes. Blocks up to timeout_ms (< 0: the client's
 * default). */
HUB_EXPORT int hub_dead_letter_action(hub_client_t *self, uint64_t seq, const char *action, const char *reason,
                                      uint64_t *redrive_seq_p, int timeout_ms, char err[HUB_ERR_LEN]);

/* The hub's policy in force and, with an event, a dry run of it. event_json
 * NULL or "": no dry run; else one event as hub_publish takes it (its id
 * may be left out; nothing is stored). On success *reply_json_p is the
 * PolicyReply as JSON text (free() it): {"sha256": of the policy text (as
 * in the policy_loaded audit row), "path", "source": the text as loaded,
 * "routes": how many, and for a dry run "dry_run": true, "matches": [the
 * notifications the event would make now, each {"topic", "name",
 * "department", "kind", "reason", "fields", "respond_by_ms"}]}. With
 * security: curve the client's identity needs audit: true. Returns 0;
 * -HUB_EMALFORMED / -HUB_EINVALID with err when event_json is not an
 * event; -HUB_EDENIED; -ETIMEDOUT; other negative codes. Blocks up to
 * timeout_ms (< 0: the client's default). */
HUB_EXPORT int hub_policy_query(hub_client_t *self, const char *event_json, char **reply_json_p, int timeout_ms,
                                char err[HUB_ERR_LEN]);

#ifdef __cplusplus
}
#endif

#endif
