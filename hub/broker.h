/*
 * broker - hubd's loop: it owns the sockets and all broker state. The
 * store writes its batches on a thread of its own (store.h rule 10), so
 * that the loop fills the next batch and delivers while the disk works.
 *
 *   ROUTER frame -> codec (decode, validate) -> policy (route)
 *     -> batch (everything that arrived while the previous one was written)
 *     -> store (one transaction) -> acks to publishers, tap
 *     -> delivery (per subscriber, within its credit) -> clients
 *   subscriber ack -> delivery (free credit, move position; written with the
 *     next batch)
 *   timer -> delivery (redeliver, dead-letter; written with the next batch)
 *
 * Rules
 *   1. A publish is acknowledged only after the transaction holding it
 *      committed; when the commit fails every publisher of the batch gets an
 *      error frame instead, and nothing of the batch is visible.
 *   2. Every frame a client can send is answered or acted on; a frame that
 *      cannot be used gets an error frame, a log line and a count, and the
 *      loop goes on.
 *   3. A stop request ends the loop between turns: the batch of the current
 *      turn is committed and acknowledged, or not acknowledged at all.
 */
#ifndef HUB_BROKER_H_INCLUDED
#define HUB_BROKER_H_INCLUDED

#include "config.h"
#include "hub.h"

typedef struct hub_broker hub_broker_t;

/* Opens the store, loads the policy and binds the endpoints of cfg. Returns
 * NULL with err (one line: what and where) when any of it fails. */
hub_broker_t *hub_broker_new(const hub_config_t *cfg, char err[HUB_ERR_LEN]);

void hub_broker_destroy(hub_broker_t **self_p);

/* Runs the loop until a stop is requested. signal_fd is polled for
 * requests: each byte 'T' asks to stop, 'H' to reload the policy. Returns 0
 * on a clean stop, or a negative code when the loop could not go on. */
int hub_broker_run(hub_broker_t *self, int signal_fd);

/* A line describing what hubd serves (endpoints, data, policy). */
const char *hub_broker_describe(const hub_broker_t *self);

#endif
