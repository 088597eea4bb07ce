/*
 * audit - the tamper-evident audit log: its table, its hash chain, and the
 * verification that recomputes it. The store writes rows (in the same
 * transaction as what they describe); hubctl reads and verifies them, on
 * the live database or on a copy, and hubd answers AuditQuery frames with
 * the same reading (hub_audit_read) on its own connection.
 *
 * Table audit (created by hub_audit_schema):
 *   id          INTEGER PRIMARY KEY   1, 2, 3, ... with no gaps
 *   at_ms       INTEGER NOT NULL      UTC, ms since the epoch
 *   actor       TEXT NOT NULL         authenticated client identity, or "hubd"
 *   action      TEXT NOT NULL         one of HUB_AUDIT_ACTIONS
 *   event_id    TEXT                  NULL when the row is not about one event
 *   case_id     TEXT
 *   department  TEXT
 *   seq         INTEGER               event sequence number, or first of a range
 *   seq_to      INTEGER               last of a range (= seq for one event)
 *   detail      TEXT NOT NULL         one JSON object, "{}" when nothing more
 *   hash        BLOB NOT NULL         the row's SHA-256, 32 bytes (see hub_audit_hash);
 *                                     rows written before hold it as 64 hex digits (TEXT)
 *
 * Rules
 *   1. Rows are only ever appended; ids are contiguous from 1.
 *   2. hash(row n) = SHA-256 over hash(row n-1) (64 zeros for row 1) and the
 *      row's canonical text (every column in order, see audit.c); so editing, inserting,
 *      deleting or reordering any row breaks the chain from there on.
 *   3. The chain cannot tell that rows were cut off the end: the hub logs
 *      the head (id and hash) at start and stop, for comparison.
 *   4. An event's routing is in its "received" row: department NULL,
 *      detail {"type","source","notifications":[{"slot","department",
 *      "route","topic","reason","respond_by"}...]}; notifications that do
 *      not fit that detail go to "routed" rows after it, department NULL,
 *      detail {"notifications":[...]}. When the event's type and source,
 *      or its first notification, leave the received row no room, it holds
 *      their count ("notifications":3) and routed rows list them all, as
 *      in the logs below. An event routed nowhere lists []. Logs written
 *      before hold the count in the received row and the list in one
 *      routed row per event, or in one routed row per notification, with
 *      its department and those members in detail; readers (hubctl history,
 *      the console's case board, the department filter) take all three.
 *      An event the hub makes itself (a dead letter, an escalation) has a
 *      received row with the count, its notification being named by the
 *      row that made it.
 *   5. A received row whose notifications an earlier, committed received
 *      row lists whole (its event was routed the same way: the same routes,
 *      topics and reasons, and no deadline) names that row rather than
 *      list them again: detail {"type","source","notifications_as":ID},
 *      the reference its last member. The hash covers the row as stored;
 *      hub_audit_read hands it out with "notifications":[...], as row ID
 *      lists them, in place of the reference, so that its readers see the
 *      layout of rule 4, and its department filter follows the reference.
 *      hub_audit_verify names a receipt whose reference is not to an
 *      earlier receipt listing notifications: hubd writes none such.
 */
#ifndef HUB_AUDIT_H_INCLUDED
#define HUB_AUDIT_H_INCLUDED

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "sha256.h"

/* Every action a row can record (space-separated, for messages). */
#define HUB_AUDIT_ACTIONS                                                                                        \
    "received rejected routed delivered acked redelivered dead_lettered responded deadline_met breached "        \
    "escalated policy_loaded subscribed detached authenticated denied redriven discarded"

/* One row, as written or read. Strings may be NULL (stored as NULL), except
 * actor, action and detail. */
typedef struct {
    int64_t id;
    int64_t at_ms;
    const char *actor;
    const char *action;
    const char *event_id;
    const char *case_id;
    const char *department;
    int64_t seq;        /* 0: none (stored as NULL) */
    int64_t seq_to;     /* 0: none (stored as NULL) */
    const char *detail; /* JSON object text */
} hub_audit_row_t;

/* The CREATE TABLE / CREATE INDEX statements of the audit table. */
extern const char hub_audit_schema[];

/* Computes the hash of row given the previous row's hash (hex; NULL or ""
 * for the first row) into out (64 hex digits and a NUL). Never fails. */
void hub_audit_hash(const char *prev_hex, const hub_audit_row_t *row, char out[HUB_SHA256_HEX_LEN]);

/* hub_audit_hash as the 32 bytes the table stores, and (when hex is not
 * NULL) in hex as well: the next row's hash covers the hex. */
void hub_audit_digest(const char *prev_hex, const hub_audit_row_t *row, uint8_t digest[HUB_SHA256_LEN],
                      char hex[HUB_SHA256_HEX_LEN]);

/* The hash stored in column col of stmt's current row, in hex: 0, or -1
 * when the value is neither 32 bytes nor 64 characters of text (hex is
 * then ""). Text is copied as it is: a hash that is not hex digits then
 * fails verification like any other altered one. */
int hub_audit_stored_hash(sqlite3_stmt *stmt, int col, char hex[HUB_SHA256_HEX_LEN]);

/* Result of a verification. */
typedef struct {
    int64_t rows;          /* rows checked */
    int64_t bad_id;        /* first row that does not fit (0 when all do) */
    char what[HUB_ERR_LEN]; /* why, e.g. "row 41: hash does not match (altered, inserted or swapped)" */
    char head[HUB_SHA256_HEX_LEN]; /* hash of the last row checked */
} hub_audit_verdict_t;

/* Recomputes the chain over every row of db's audit table, in id order.
 * Returns 0 when the chain holds (verdict->bad_id == 0), 1 when it is
 * broken (verdict says where and why), or -HUB_ESTORE with err. Reads only;
 * blocks on the file system. */
int hub_audit_verify(sqlite3 *db, hub_audit_verdict_t *verdict, char err[HUB_ERR_LEN]);

/* 1 when action is one of HUB_AUDIT_ACTIONS, else 0. */
int hub_audit_action_known(const char *action);

/* The filters of a reading; every member unset (NULL, has_ 0) passes
 * everything. All that are set must match. */
typedef struct {
    const char *case_id;    /* rows about this case; a range row (delivered, acked, redelivered: no case
                               id of its own) when its [seq, seq_to] covers one of the case's events, its
                               escalations or its dead letters */
    const char *event_id;   /* rows about this event; range rows as for case_id */
    const char *actor;      /* rows written for this client identity ("hubd": the hub itself) */
    const char *action;     /* rows of this action */
    const char *department; /* rows about this department (or subscriber); a routed row when one of
                               its notifications is */
    int has_since;          /* since_ms is set */
    int64_t since_ms;       /* rows at or after */
    int has_until;          /* until_ms is set */
    int64_t until_ms;       /* rows before */
    int64_t limit;          /* only the last N rows that match; < 0: all of them */
} hub_audit_filter_t;

/* Called for each row of a reading, oldest first (by id). row's strings
 * and hash are valid only during the call (a NULL column is NULL, a NULL
 * seq 0). Return 0 to go on, 1 to stop, or a negative code to stop with
 * that code. */
typedef int (*hub_audit_row_fn)(const hub_audit_row_t *row, const char *hash, void *arg);

/* Reads the rows of db's audit table that pass f, in id order, and calls
 * fn for each. Returns 0 (also when fn stopped with 1), fn's negative
 * code, or -HUB_ESTORE with err. Reads only; blocks on the file system,
 * scanning the table for filters other than case_id. */
int hub_audit_read(sqlite3 *db, const hub_audit_filter_t *f, hub_audit_row_fn fn, void *arg,
                   char err[HUB_ERR_LEN]);

/* A row as the JSON object `hubctl audit --json` prints: id, at (RFC
 * 3339), at_ms, actor, action, event_id, case_id, department, seq, seq_to
 * (null when absent), detail (the object itself; the text when it is not
 * JSON), hash. Returns a new reference, or NULL when out of memory. */
json_t *hub_audit_row_json(const hub_audit_row_t *row, const char *hash);

/* The verdict as one line for people: "ok: N rows, head HASH" when the
 * chain holds, else "audit chain broken at row N: why". Never fails. */
void hub_audit_verdict_line(const hub_audit_verdict_t *verdict, char *out, size_t outlen);

#endif
