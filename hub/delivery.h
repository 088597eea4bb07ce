/*
 * delivery - durable subscribers: positions, credit, redelivery, dead letters.
 *
 * A notification is (seq, slot): slot k of the stored event seq. Each
 * durable subscriber has topic patterns and a position: every notification
 * for it up to and including event `position` is acknowledged (or
 * dead-lettered). Rules:
 *   1. A subscriber has at most `credit` notifications in flight; what is
 *      beyond waits in the store, not in memory.
 *   2. Notifications go out in (seq, slot) order; a redelivery may come after
 *      later ones.
 *   3. A delivery not acknowledged within ack_timeout is sent again; after
 *      max_attempts it is dead-lettered instead (a nack with dead_letter does
 *      it at once).
 *   4. The position only moves past a notification once it is acknowledged or
 *      its dead letter is in the same commit as the move.
 *   5. A subscriber's position and dead letters reach the store through a
 *      batch of the broker (hub_delivery_collect / hub_delivery_committed;
 *      the broker takes them every 200 ms);
 *      after a crash the subscriber resumes from the stored position, so a
 *      notification may come twice, never not at all.
 *   6. A session that asked for batches (Subscribe.batch, at most
 *      HUB_MAX_BATCH) gets the notifications one scan finds for it in as
 *      few Deliver frames as that allows (Deliver.more); redeliveries go
 *      one per frame. A batch the session's queue refuses is owed whole.
 *
 * The state of one in-flight entry:
 *
 *     scan --send--> SENT --ack--------------------> (gone)
 *                     |  \--timeout/nack--> OWED --pump: send--> SENT
 *                     \--attempts used up / nack dead--> dead letter --> (gone)
 *
 * Topic patterns are matched with hub_topic_match (policy.h).
 */
#ifndef HUB_DELIVERY_H_INCLUDED
#define HUB_DELIVERY_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "hub.pb-c.h"
#include "metrics.h"
#include "policy.h"
#include "store.h"

#define HUB_MAX_TOPICS 32        /* patterns per subscriber */
#define HUB_MAX_PATTERN 128      /* bytes of one pattern */
#define HUB_MAX_SUBSCRIBERS 4096 /* durable subscribers per hub */
#define HUB_MAX_RID 256          /* bytes of a ZeroMQ routing id */
#define HUB_MAX_BATCH 256        /* notifications in one Deliver frame (Subscribe.batch) */
#define HUB_DELIVER_BATCH_BYTES (256u * 1024) /* bytes of notifications in one batched Deliver frame, about */

typedef struct hub_delivery hub_delivery_t;

/* Sends one frame to the client with routing id rid. Returns 0,
 * -EHOSTUNREACH when the client is gone, -EAGAIN when its queue is full. */
typedef int (*hub_send_fn)(const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len, void *arg);

typedef struct {
    int64_t ack_timeout_ms;  /* redeliver after this long without ack */
    uint32_t max_attempts;   /* then dead-letter */
    uint32_t default_credit; /* when a subscriber asks for 0 */
    uint32_t max_credit;     /* credit is capped here */
    uint32_t max_subs_per_client; /* subscriber names one connection may hold (0: no limit) */
    hub_metrics_t *metrics;  /* counts deliveries, redeliveries, dead letters, acks; NULL: none */
} hub_delivery_opts_t;

/* A notification given up on, waiting to be written with the next batch. */
typedef struct {
    char subscriber[64];
    uint64_t seq;
    uint32_t slot;
    uint32_t attempts;
    char reason[512];       /* the subscriber's words, e.g. an HTTP answer */
} hub_dead_letter_t;

/* Creates the delivery state and loads the stored subscribers (all
 * disconnected). Returns NULL with err on failure. The store must outlive it. */
hub_delivery_t *hub_delivery_new(hub_store_t *store, const hub_delivery_opts_t *opts, hub_send_fn send,
                                 void *send_arg, char err[HUB_ERR_LEN]);

void hub_delivery_destroy(hub_delivery_t **self_p);

/* Attaches the client rid as the session of durable subscriber req->name,
 * creating it or repositioning it per req->start (RESUME keeps the stored
 * position; a new subscriber resumes from the earliest). A session held by
 * another client is taken over; what was in flight there is sent again.
 * now_ms is the monotonic time (see hub_delivery_heard).
 * Fills reply (name points into the subscriber). Returns 0, or
 * -HUB_EINVALID / -HUB_ETOOLARGE with err. */
int hub_delivery_subscribe(hub_delivery_t *self, const uint8_t *rid, size_t rid_len, const Hub__Subscribe *req,
                           int64_t now_ms, Hub__Subscribed *reply, char err[HUB_ERR_LEN]);

/* Applies acknowledgements. Unknown refs (already acked, redelivered and
 * acked, from before a restart) are ignored. Returns 0, or -HUB_EUNKNOWN
 * when no subscriber has that name. */
int hub_delivery_ack(hub_delivery_t *self, const Hub__Ack *ack);

/* Applies a refusal: redelivery, or a dead letter (nack->dead_letter or
 * attempts used up). Returns 0 or -HUB_EUNKNOWN. */
int hub_delivery_nack(hub_delivery_t *self, const Hub__Nack *nack, int64_t now_ms);

/* Forgets the session of client rid (it is gone); its subscribers keep
 * their state and wait for a new session. */
void hub_delivery_detach(hub_delivery_t *self, const uint8_t *rid, size_t rid_len);

/* Notes that client rid was heard from at now_ms (any frame of a session:
 * ack, nack, heartbeat). A subscriber of that session that was taken for
 * gone after a silence is connected again, and what it was owed is sent. */
void hub_delivery_heard(hub_delivery_t *self, const uint8_t *rid, size_t rid_len, int64_t now_ms);

#define HUB_SILENCE_MS 15000 /* a session not heard from this long is taken for gone */

/* Sends what credit allows to every connected subscriber, from the store.
 * Returns 1 when some subscriber could take more right away (the caller
 * should come back without waiting), else 0. */
int hub_delivery_pump(hub_delivery_t *self, int64_t now_ms);

/* Ack timeouts: marks timed-out deliveries for resending, or dead-letters
 * them; takes sessions silent for HUB_SILENCE_MS for gone. Call about
 * every 100 ms. */
void hub_delivery_tick(hub_delivery_t *self, int64_t now_ms);

/* What the next batch must write: the cursors of subscribers whose state
 * changed (up to max into out; the strings point into the subscribers and
 * stay as they are until hub_delivery_committed) and the dead letters
 * waiting (*dead_p, *ndead_p). What happens after this call waits for the
 * batch after. hub_delivery_committed must come before the next call.
 * Returns the number of cursors. */
size_t hub_delivery_collect(hub_delivery_t *self, hub_store_cursor_t *out, size_t max,
                            const hub_dead_letter_t **dead_p, size_t *ndead_p);

/* Tells delivery that the batch holding everything hub_delivery_collect
 * returned has been committed (ok 1), or has failed (ok 0: all of it waits
 * for the next batch again). */
void hub_delivery_committed(hub_delivery_t *self, int ok);

/* 1 when some subscriber state waits to be written. */
int hub_delivery_dirty(const hub_delivery_t *self);

/* What happened to each subscriber before hub_delivery_collect, for the
 * audit log of the batch it filled. */
typedef enum {
    HUB_RANGE_DELIVERED = 0, /* sent for the first time */
    HUB_RANGE_ACKED = 1,
    HUB_RANGE_REDELIVERED = 2,
    HUB_RANGE_GONE = 3,      /* the session was taken for gone (why says why) */
} hub_range_kind_t;

typedef void (*hub_range_fn)(const char *subscriber, hub_range_kind_t kind, uint64_t lo, uint64_t hi,
                             uint64_t count, const char *why, void *arg);

/* Calls fn once per subscriber and kind with something to report. */
void hub_delivery_ranges(const hub_delivery_t *self, hub_range_fn fn, void *arg);

/* Fills reply->subscribers (allocated with malloc; free with
 * hub_delivery_status_free); oldest_unacked_ms is the age at now_ms
 * (monotonic) of the first send of the oldest notification in flight.
 * Returns 0 or -ENOMEM. */
int hub_delivery_status(const hub_delivery_t *self, Hub__StatusReply *reply, int64_t now_ms);
void hub_delivery_status_free(Hub__StatusReply *reply);


/* Statistics since start. */
uint64_t hub_delivery_delivered(const hub_delivery_t *self);

#endif
