/*
 * journal - what a turn of the broker has to say besides its events: the
 * audit rows, the deadlines set and the deadlines breached, kept until the
 * turn's batch is committed (hub_store_commit_batch) and then forgotten.
 *
 * Rules
 *   1. Strings given to the journal are copied; pointers it hands out stay
 *      valid until hub_journal_reset, however much is added meanwhile (the
 *      copies live in blocks that never move).
 *   2. Details are JSON objects built with hub_detail_*: values are escaped,
 *      and a value that does not fit is left out, so a detail is always
 *      valid JSON.
 *   3. Nothing here blocks; adding fails only for lack of memory, and a
 *      failed add leaves the journal as it was.
 */
#ifndef HUB_JOURNAL_H_INCLUDED
#define HUB_JOURNAL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define HUB_DETAIL_LEN 2048 /* bytes of one detail */

/* A detail under construction: {"key":value,...}. */
typedef struct {
    char text[HUB_DETAIL_LEN]; /* always a complete JSON object */
    size_t len;                /* bytes used, without the closing brace */
} hub_detail_t;

void hub_detail_init(hub_detail_t *d);
/* Adds "key":"value" (skipped when value is NULL). */
void hub_detail_str(hub_detail_t *d, const char *key, const char *value);
/* Adds "key":value. */
void hub_detail_int(hub_detail_t *d, const char *key, int64_t value);
/* Adds "key":json, json being already valid JSON text. */
void hub_detail_raw(hub_detail_t *d, const char *key, const char *json);
/* Adds members as they are: the text between the braces of another
 * detail ("" adds nothing). Made once, members can go into many details
 * without their keys and values being escaped again. */
void hub_detail_members(hub_detail_t *d, const char *members);
/* The JSON text (owned by d). */
const char *hub_detail_text(hub_detail_t *d);
/* Writes s as a JSON string, quotes included, as the details above write
 * their values: at most cap bytes at out, no NUL. Returns the bytes
 * written, or 0 when it does not fit. */
size_t hub_detail_quote(char *out, size_t cap, const char *s);

typedef struct hub_journal hub_journal_t;

hub_journal_t *hub_journal_new(void);
void hub_journal_destroy(hub_journal_t **self_p);

/* Adds an audit row. event is the index of the batch's event the row is
 * about (its seq is filled at commit; the row is dropped if the event is a
 * duplicate), or -1. seq/seq_to are used when event is -1 (0: none).
 * Strings may be NULL except actor and action. Returns 0 or -ENOMEM. */
int hub_journal_audit(hub_journal_t *self, int event, const char *actor, const char *action, const char *event_id,
                      const char *case_id, const char *department, uint64_t seq, uint64_t seq_to,
                      const char *detail);

/* Audit rows added since the last reset: the index, in the batch's audit,
 * of the next row added. */
size_t hub_journal_audit_rows(const hub_journal_t *self);

/* Makes the last row added name, in its detail member key, the seq that
 * event of the batch gets at commit (e.g. "escalation_seq"). key must be a
 * literal. */
void hub_journal_refer(hub_journal_t *self, int event, const char *key);

/* Adds a deadline on notification slot of the batch's event. Returns 0 or
 * -ENOMEM. */
int hub_journal_deadline(hub_journal_t *self, int event, uint32_t slot, const char *department, const char *case_id,
                         const char *route, int64_t created_ms, int64_t due_ms);

/* Records a deadline as breached, with the index of its escalation event in
 * the batch or -1. Returns 0 or -ENOMEM. */
int hub_journal_breach(hub_journal_t *self, uint64_t seq, uint32_t slot, int64_t breached_ms, int escalation);

/* 1 when anything waits for a commit. */
int hub_journal_pending(const hub_journal_t *self);

/* Points batch's audit, deadlines and breaches at what the journal holds. */
void hub_journal_fill(hub_journal_t *self, hub_store_batch_t *batch);

/* Forgets everything, after a commit or a failed one: what a failed commit
 * held is made again (publishers retry, delivery keeps its ranges and dead
 * letters, deadlines stay due). Keeps the memory for the next turn. */
void hub_journal_reset(hub_journal_t *self);

#endif
