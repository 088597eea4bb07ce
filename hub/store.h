/*
 * store - the hub's SQLite database; the only module that speaks SQL.
 *
 * Rules
 *   1. Everything a turn of the broker loop produced is written in one
 *      transaction (group commit): events with their routing, subscriber
 *      positions. A caller acknowledges a publish only after
 *      hub_store_commit returned 0 for it.
 *   2. A failed commit is rolled back whole; nothing of it is visible and the
 *      sequence counter is as it was.
 *   3. Sequence numbers are assigned at commit, contiguous from 1; an event
 *      whose id is already stored is not stored again and gets the original
 *      sequence number (idempotent publish).
 *   4. synchronous=FULL in WAL mode: a returned commit survives power loss.
 *   5. The database file is created 0600, its directory 0700; one hubd per
 *      directory (a lock file says so).
 *   6. Recent events are kept in a tail cache, so that subscribers that keep
 *      up read from memory and only those behind read from disk.
 */
#ifndef HUB_STORE_H_INCLUDED
#define HUB_STORE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

typedef struct hub_store hub_store_t;

/* One event to store; the store fills seq and duplicate. */
typedef struct {
    const char *id;         /* idempotency key, unique */
    const char *type;       /* event type */
    const char *case_id;    /* NULL when none */
    const char *actor;      /* who published it */
    int64_t received_ms;    /* wall clock */
    const uint8_t *event;   /* packed hub.Event */
    size_t event_len;
    const uint8_t *routing; /* packed hub.Routing */
    size_t routing_len;
    uint64_t seq;           /* out: its sequence number */
    int duplicate;          /* out: 1 when the id was stored before */
} hub_store_event_t;

/* A subscriber's durable state, written with the batch. */
typedef struct {
    const char *name;
    const char *topics;     /* patterns joined by spaces */
    uint64_t position;      /* every notification up to this seq is done */
    uint64_t dead_letters;  /* count so far */
} hub_store_cursor_t;

/* A stored event as read back. Pointers are valid only inside the callback
 * that receives the row. */
typedef struct {
    uint64_t seq;
    const char *id;
    const char *case_id;    /* "" when none */
    int64_t received_ms;
    const uint8_t *event;
    size_t event_len;
    const uint8_t *routing;
    size_t routing_len;
} hub_store_row_t;

/* Return 0 to go on, 1 to stop. */
typedef int (*hub_store_row_fn)(const hub_store_row_t *row, void *arg);

typedef int (*hub_store_cursor_fn)(const hub_store_cursor_t *cursor, void *arg);

/* Opens (creating when needed) the database in dir. Returns the store, or
 * NULL with err saying what is wrong with the directory or the file. */
hub_store_t *hub_store_open(const char *dir, char err[HUB_ERR_LEN]);

/* Closes the database (a checkpoint runs). Accepts NULL. */
void hub_store_destroy(hub_store_t **self_p);

/* Writes events and cursors in one transaction (see rules 1-3). Blocks for
 * the disk flush. Returns 0; -HUB_EUNAVAILABLE when the disk is full (err
 * says so; retry later); -HUB_ESTORE for other database failures. */
int hub_store_commit(hub_store_t *self, hub_store_event_t *events, size_t nevents, const hub_store_cursor_t *cursors,
                     size_t ncursors, char err[HUB_ERR_LEN]);

/* Highest sequence number stored (0 when empty). */
uint64_t hub_store_last_seq(const hub_store_t *self);

/* Calls fn for stored events with seq >= from, in order, at most max of
 * them, from the tail cache when it holds them, else from disk. Returns the
 * number of rows visited, or -HUB_ESTORE. */
int hub_store_scan(hub_store_t *self, uint64_t from, size_t max, hub_store_row_fn fn, void *arg);

/* Calls fn for the one event with this seq. Returns 1 when found, 0 when
 * not, -HUB_ESTORE on failure. */
int hub_store_get(hub_store_t *self, uint64_t seq, hub_store_row_fn fn, void *arg);

/* Calls fn for every durable subscriber stored. Returns 0 or -HUB_ESTORE. */
int hub_store_cursors(hub_store_t *self, hub_store_cursor_fn fn, void *arg);

/* Statistics since open. */
uint64_t hub_store_commits(const hub_store_t *self);

#endif
