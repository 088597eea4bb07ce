/*
 * pending - the publishes sent (or about to be sent) and not yet answered,
 * found by their correlation id, and kept in the order they were last sent
 * so that the one due for a resend is always at the head.
 *
 * Rules:
 *   1. An entry holds the packed Frame exactly as first built: a resend
 *      sends the same bytes (same event id, same corr), so the hub stores
 *      the event once whatever happens to the connection.
 *   2. The list is ordered by sent_ms: hub_pending_touch moves an entry to
 *      the tail as it stamps it, so stamps never decrease along the list.
 *   3. An entry is in the list and in the index, or in neither.
 *
 * Internal to libhub.
 */
#ifndef HUB_PENDING_H_INCLUDED
#define HUB_PENDING_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

typedef struct hub_pending_entry hub_pending_entry_t;

struct hub_pending_entry {
    uint64_t corr;             /* correlation id; also the caller's token */
    uint8_t *frame;            /* packed hub.Frame (owned) */
    size_t frame_len;          /* bytes in frame */
    char id[128];              /* the event's id */
    int64_t first_ms;          /* monotonic time of the first send attempt */
    int64_t sent_ms;           /* monotonic time of the last send; 0: never */
    int sync;                  /* 1: a blocking hub_publish waits for it */
    int last_status;           /* last refusal worth a retry (UNAVAILABLE), or 0 */
    char last_err[HUB_ERR_LEN]; /* the hub's words with last_status */
    hub_pending_entry_t *prev; /* toward the head (sent longest ago) */
    hub_pending_entry_t *next; /* toward the tail */
};

typedef struct {
    hub_pending_entry_t **table; /* open addressing by corr; NULL: empty */
    size_t mask;                 /* table size - 1 */
    size_t count;                /* entries */
    hub_pending_entry_t *head;   /* sent longest ago */
    hub_pending_entry_t *tail;   /* sent last */
} hub_pending_t;

/* Prepares an empty table. Returns 0 or -ENOMEM. */
int hub_pending_init(hub_pending_t *self);

/* Frees every entry and the table. Safe on a zeroed or finished table. */
void hub_pending_fini(hub_pending_t *self);

/* Adds entry (its corr must be unused) at the tail; the table owns it from
 * then on. Returns 0, or -ENOMEM (the caller still owns entry). */
int hub_pending_add(hub_pending_t *self, hub_pending_entry_t *entry);

/* The entry for corr, or NULL. */
hub_pending_entry_t *hub_pending_find(const hub_pending_t *self, uint64_t corr);

/* Unlinks entry from the table; the caller owns it afterwards. */
void hub_pending_take(hub_pending_t *self, hub_pending_entry_t *entry);

/* Stamps entry as sent at now_ms and moves it to the tail. */
void hub_pending_touch(hub_pending_t *self, hub_pending_entry_t *entry, int64_t now_ms);

/* Stamps now_ms on the entries stamped since_ms or later: the tail's run,
 * so rule 2 holds. For frames gathered at since_ms that leave only now,
 * whose resend is due HUB_RESEND_MS after they left, not after they were
 * gathered. */
void hub_pending_restamp(hub_pending_t *self, int64_t since_ms, int64_t now_ms);

/* Frees an entry the caller owns. Accepts NULL; sets *entry_p to NULL. */
void hub_pending_entry_destroy(hub_pending_entry_t **entry_p);

#endif
