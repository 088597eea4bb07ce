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
 *   7. Audit rows are written in the transaction of what they describe and
 *      chained (hub/audit.h); rows about an event that turned out to be a
 *      duplicate are not written, since nothing happened.
 *   8. A response event (type "response") meets, in its own transaction,
 *      every open deadline of its case for its department (its source),
 *      and each deadline met gets a deadline_met audit row.
 *   9. A dead letter's state (open, then redriven or discarded, once) is
 *      written in the transaction that stores the dead letter, and in the
 *      one that stores what was done with it and its audit row.
 *  10. Commits are written by the store's writer thread, so that the
 *      caller goes on while the disk works: hub_store_commit_begin hands a
 *      batch over, hub_store_commit_end takes the result back. One batch
 *      is under way at a time. Meanwhile the caller may read rows
 *      (hub_store_scan, hub_store_get: a connection of their own, seeing
 *      only what was committed and ended); every other reading first
 *      waits for the batch under way to be written, so that it sees it.
 *      Only the batch's events and seqs change while it is under way;
 *      last_seq, the tail cache and next_due move when it ends. A batch of
 *      a few events (a low rate) is written by hub_store_commit_begin
 *      itself: handing it to the thread and back costs two wake-ups, more
 *      than the overlap saves; but not one that would begin by rewinding
 *      the WAL (rule 11), whose copy and flushes stay off the caller's
 *      thread. Either way the caller ends it the same way.
 *  11. The WAL stays bounded under load that never pauses: a checkpointer
 *      thread copies committed pages into the database file as they come.
 *      Past 64 MiB it goes round without pausing until it has copied the
 *      whole WAL, and the next transaction then starts the WAL again by
 *      itself, with no copy or flush of its own. A WAL that reaches 96
 *      MiB without that is finished and rewound by the writer before its
 *      next transaction, once the checkpointer is close behind (past 256
 *      MiB, however far behind it is); a WAL a burst made longer than 128
 *      MiB is cut back to that.
 *  12. A new database gets 8 KiB pages; one created before keeps its own.
 *      A batch then writes half as many WAL frames, and the writer and the
 *      checkpointer make half as many system calls for them (8% less CPU
 *      per event under load, measured side by side). At a low rate, where
 *      a commit of a few events writes whole pages, it writes about a
 *      third more bytes.
 *  13. The writing connection goes through walbuf (walbuf.h): a commit's
 *      WAL frames reach the file in one write, before SQLite publishes
 *      them, rather than in two writes per page.
 *  14. A commit that finds the database's write lock taken waits for it,
 *      up to HUB_STORE_LOCK_WAIT_MS: another connection takes it for a
 *      moment when it reads the WAL's index while a commit updates it
 *      (SQLite does so to read it whole). One still locked fails with
 *      -HUB_EUNAVAILABLE, "retry later", like a full disk: nothing was
 *      stored, and publishers send again.
 */
#ifndef HUB_STORE_H_INCLUDED
#define HUB_STORE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "hub.h"

/* What a database holds, as its PRAGMA user_version: the store marks
 * every database it opens, and refuses one newer than itself (an earlier
 * build cannot read what a later one wrote); hubctl refuses it too.
 *   3: dead letters in a table of their own
 *   4: audit hashes as 32 bytes, stored routes with names_in_topic (an
 *      earlier build takes the first for altered rows and reads the second
 *      without department and kind)
 *   5: routings events share stored once, the event's row naming it by id
 *      (routings.h; an earlier build would read the id as the list) */
#define HUB_SCHEMA_VERSION 5

#define HUB_STORE_LOCK_WAIT_MS 2000 /* rule 14 */

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
    const char *responder;  /* a response: the answering department, else NULL */
    int routing_shared;     /* 1: routing holds nothing of this event alone (no
                             * deadline), so events may share its row (routings.h) */
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

/* An audit row of a batch. When event >= 0 the row is about that event of
 * the batch: its seq and seq_to are set from the event's sequence number,
 * and the row is dropped if the event is a duplicate. The store sets id
 * and hash. */
typedef struct {
    int event;           /* index into the batch's events, or -1 */
    hub_audit_row_t row; /* strings valid until the commit returns */
    int ref_event;       /* another event of the batch whose seq the detail names, or -1 */
    const char *ref_key; /* the detail member that gets it, e.g. "escalation_seq" */
} hub_store_audit_t;

/* A response-time commitment on one notification of an event of the batch. */
typedef struct {
    int event;              /* index into the batch's events */
    uint32_t slot;          /* the notification */
    const char *department; /* who must answer */
    const char *case_id;    /* on which case */
    const char *route;      /* the route that set it */
    int64_t created_ms;     /* wall clock */
    int64_t due_ms;         /* wall clock */
} hub_store_deadline_t;

/* A deadline found past due (hub_store_due), recorded as breached. */
typedef struct {
    uint64_t seq;
    uint32_t slot;
    int64_t breached_ms;
    int escalation;         /* index into the batch's events of the escalation, or -1 */
} hub_store_breach_t;

/* A dead letter made in a batch: events[event] of the batch is its event. */
typedef struct {
    int event;              /* index into the batch's events */
    const char *subscriber; /* who gave up on the notification */
    uint64_t orig_seq;      /* the notification it was */
    uint32_t orig_slot;
    const char *reason;     /* the subscriber's words */
} hub_store_dead_t;

/* What was done with an open dead letter (rule 9). */
typedef struct {
    uint64_t seq;           /* the dead letter's own seq */
    const char *state;      /* "redriven" or "discarded" */
    const char *actor;      /* who did it */
    const char *note;       /* the reason given, or NULL */
    int redrive;            /* index into the batch's events of the redrive, or -1 */
} hub_store_dead_action_t;

/* Everything one turn of the broker writes, in one transaction. */
typedef struct {
    hub_store_event_t *events;
    size_t nevents;
    const hub_store_cursor_t *cursors;
    size_t ncursors;
    hub_store_audit_t *audit;
    size_t naudit;
    const hub_store_deadline_t *deadlines;
    size_t ndeadlines;
    const hub_store_breach_t *breaches;
    size_t nbreaches;
    const hub_store_dead_t *dead;
    size_t ndead;
    const hub_store_dead_action_t *dead_actions;
    size_t ndead_actions;
} hub_store_batch_t;

/* A dead letter as hub_store_dead_letter and hub_store_dead_letters read
 * it. Pointers are valid only inside the callback. */
typedef struct {
    uint64_t seq;           /* its own event */
    const char *subscriber;
    uint64_t orig_seq;
    uint32_t orig_slot;
    const char *reason;     /* the subscriber's words */
    const char *state;      /* "open", "redriven" or "discarded" */
    const char *actor;      /* who redrove or discarded it ("" while open) */
    int64_t at_ms;          /* when (0 while open) */
    const char *note;       /* the reason given for it, or NULL */
    uint64_t redrive_seq;   /* the redrive's event (0 unless redriven) */
} hub_store_dead_letter_t;

/* Return 0 to go on, 1 to stop. */
typedef int (*hub_store_dead_letter_fn)(const hub_store_dead_letter_t *dl, void *arg);

/* An open deadline past due, as hub_store_due reports it. Pointers are
 * valid only inside the callback. */
typedef struct {
    uint64_t seq;
    uint32_t slot;
    const char *department;
    const char *case_id;
    const char *route;
    int64_t created_ms;
    int64_t due_ms;
} hub_store_due_t;

typedef int (*hub_store_due_fn)(const hub_store_due_t *due, void *arg);

/* A stored event with its type and who stored it, as readings for people
 * (hub_store_scan_back) see it. Pointers are valid only inside the
 * callback. */
typedef struct {
    hub_store_row_t row;
    const char *type;       /* the event's type ("dead_letter", "escalation" for the hub's own) */
    const char *actor;      /* the audit actor that published it ("hubd" for the hub's own) */
} hub_store_record_t;

/* Return 0 to go on, 1 to stop. */
typedef int (*hub_store_record_fn)(const hub_store_record_t *rec, void *arg);

/* The deadline of one notification, as the deadlines table holds it. */
typedef struct {
    int64_t due_ms;
    int64_t met_ms;         /* 0: not met */
    int64_t breached_ms;    /* 0: not breached */
    uint64_t escalation_seq; /* 0: not escalated */
} hub_store_deadline_state_t;

/* Return 0 to go on, 1 to stop. */
typedef int (*hub_store_row_fn)(const hub_store_row_t *row, void *arg);

typedef int (*hub_store_cursor_fn)(const hub_store_cursor_t *cursor, void *arg);

/* Opens (creating when needed) the database in dir. Returns the store, or
 * NULL with err saying what is wrong with the directory or the file. */
hub_store_t *hub_store_open(const char *dir, char err[HUB_ERR_LEN]);

/* The database file's path (DIR/hub.db), for connections of other threads. */
const char *hub_store_path(const hub_store_t *self);

/* Closes the database (a checkpoint runs). Accepts NULL. */
void hub_store_destroy(hub_store_t **self_p);

/* Writes events and cursors in one transaction (see rules 1-3). Blocks for
 * the disk flush. Returns 0; -HUB_EUNAVAILABLE when the disk is full (err
 * says so; retry later); -HUB_ESTORE for other database failures. */
int hub_store_commit(hub_store_t *self, hub_store_event_t *events, size_t nevents, const hub_store_cursor_t *cursors,
                     size_t ncursors, char err[HUB_ERR_LEN]);

/* Writes a whole batch in one transaction (rules 1-3, 7, 8) and waits for
 * it. Returns as hub_store_commit; -HUB_EINTERNAL when a batch begun with
 * hub_store_commit_begin has not been ended. */
int hub_store_commit_batch(hub_store_t *self, hub_store_batch_t *batch, char err[HUB_ERR_LEN]);

/* The names the store's threads go by (ps -L, top -H, perf). */
#define HUB_THREAD_WRITER "hubd-writer"
#define HUB_THREAD_CHECKPOINT "hubd-checkpoint"

/* A batch of at most this many events is written by hub_store_commit_begin
 * itself (rule 10), when it is called. */
#define HUB_STORE_INLINE_EVENTS 4

/* Hands batch to the writer (rule 10) and returns at once; a batch of
 * HUB_STORE_INLINE_EVENTS or fewer it writes itself before returning.
 * batch and all it points at must stay as they are until
 * hub_store_commit_end returns. Returns 0, or -EBUSY when a batch is under
 * way. */
int hub_store_commit_begin(hub_store_t *self, hub_store_batch_t *batch);

/* 1 between hub_store_commit_begin and hub_store_commit_end. */
int hub_store_committing(const hub_store_t *self);

/* A file descriptor that polls readable once the batch under way is
 * written (hub_store_commit_end reads it). */
int hub_store_commit_fd(const hub_store_t *self);

/* Ends the batch under way: with wait 0, returns -EAGAIN if it is not
 * written yet; else waits for it. Returns as hub_store_commit (the events'
 * seq and duplicate are set on success). */
int hub_store_commit_end(hub_store_t *self, int wait, char err[HUB_ERR_LEN]);

/* Wall-clock time of the earliest open deadline, or INT64_MAX. */
int64_t hub_store_next_due(const hub_store_t *self);

/* Calls fn for open deadlines (neither met nor breached) due at or before
 * now_ms, earliest first, at most max. Returns how many, or -HUB_ESTORE. */
int hub_store_due(hub_store_t *self, int64_t now_ms, size_t max, hub_store_due_fn fn, void *arg);

/* Id and hash of the last audit row (0 and "" when there is none). */
int64_t hub_store_audit_head(hub_store_t *self, const char **hash_p);

/* Highest sequence number stored (0 when empty). */
uint64_t hub_store_last_seq(const hub_store_t *self);

/* Calls fn for stored events with seq >= from, in order, at most max of
 * them, from the tail cache when it holds them, else from disk. Returns the
 * number of rows visited, or -HUB_ESTORE. */
int hub_store_scan(hub_store_t *self, uint64_t from, size_t max, hub_store_row_fn fn, void *arg);

/* Calls fn for the one event with this seq. Returns 1 when found, 0 when
 * not, -HUB_ESTORE on failure. */
int hub_store_get(hub_store_t *self, uint64_t seq, hub_store_row_fn fn, void *arg);

/* Calls fn for stored events with seq <= from, newest first, at most max of
 * them, read from disk with their type and actor. Returns the number of
 * rows visited, or -HUB_ESTORE. Blocks on the disk for as long as the
 * reading takes (it is for queries, not for delivery). */
int hub_store_scan_back(hub_store_t *self, uint64_t from, size_t max, hub_store_record_fn fn, void *arg);

/* Reads the deadline of notification (seq, slot) into out. Returns 1 when
 * it has one, 0 when not, -HUB_ESTORE on failure. */
int hub_store_deadline_state(hub_store_t *self, uint64_t seq, uint32_t slot, hub_store_deadline_state_t *out);

/* Calls fn for dead letter seq. Returns 1 when seq is a dead letter, 0
 * when not, -HUB_ESTORE on failure. */
int hub_store_dead_letter(hub_store_t *self, uint64_t seq, hub_store_dead_letter_fn fn, void *arg);

/* Calls fn for the dead letters with lo <= seq <= hi, newest first, of
 * subscriber (NULL: of all), only the open ones when open_only. Returns 0,
 * or -HUB_ESTORE. */
int hub_store_dead_letters(hub_store_t *self, uint64_t lo, uint64_t hi, const char *subscriber, int open_only,
                           hub_store_dead_letter_fn fn, void *arg);

/* Calls fn(subscriber, n, arg) for each subscriber with n > 0 open dead
 * letters. Returns 0 or -HUB_ESTORE. */
int hub_store_open_dead_letters(hub_store_t *self, void (*fn)(const char *subscriber, uint64_t n, void *arg),
                                void *arg);

/* Calls fn for every durable subscriber stored. Returns 0 or -HUB_ESTORE. */
int hub_store_cursors(hub_store_t *self, hub_store_cursor_fn fn, void *arg);

/* Statistics since open. */
uint64_t hub_store_commits(const hub_store_t *self);

#endif
