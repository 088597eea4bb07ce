/*
 * metrics - counters and histograms since hubd started, served in the
 * StatusReply (and from there as Prometheus metrics by whoever asks).
 *
 *   counter            label        counted when
 *   events_received    type         a client's event is stored (not a duplicate)
 *   events_rejected    type         a publish is refused ("" when it had no type)
 *   notifications      topic        a notification is stored (the hub's own too)
 *   deliveries         department   a notification is sent for the first time
 *   redeliveries       department   ... sent again
 *   dead_letters       department   ... given up on
 *   acks               department   ... acknowledged
 *   escalations        department   a deadline passed and the backup was told
 *   breaches           department   a deadline passed (the department that did not answer)
 *
 *   histogram            observed at every commit
 *   commit_batch_events  events the transaction stored
 *   commit_seconds       how long the transaction took, flush included
 *
 * The department of delivery counters is the durable subscriber's name.
 *
 * Rules
 *   1. Bounded: each label keeps at most HUB_METRIC_VALUES distinct values;
 *      later ones (and values longer than HUB_METRIC_VALUE_LEN - 1 bytes)
 *      are counted under "other". The memory is taken once, at new.
 *   2. Cheap: counting never allocates, never blocks; a value's slot is
 *      found by hash, and callers that count often keep the slot.
 *   3. Counters of the same label share their table of values: a slot found
 *      for one of them is the slot for the others of that label.
 */
#ifndef HUB_METRICS_H_INCLUDED
#define HUB_METRICS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.pb-c.h"

#define HUB_METRIC_VALUES 256     /* distinct values of one label */
#define HUB_METRIC_VALUE_LEN 160  /* bytes of a value and its NUL (a topic fits) */
#define HUB_METRIC_OTHER HUB_METRIC_VALUES /* the slot of "other" */

typedef enum {
    HUB_COUNTER_EVENTS_RECEIVED = 0,
    HUB_COUNTER_EVENTS_REJECTED,
    HUB_COUNTER_NOTIFICATIONS,
    HUB_COUNTER_DELIVERIES,
    HUB_COUNTER_REDELIVERIES,
    HUB_COUNTER_DEAD_LETTERS,
    HUB_COUNTER_ACKS,
    HUB_COUNTER_ESCALATIONS,
    HUB_COUNTER_BREACHES,
    HUB_COUNTERS, /* how many */
} hub_counter_t;

typedef enum {
    HUB_HISTOGRAM_COMMIT_BATCH_EVENTS = 0,
    HUB_HISTOGRAM_COMMIT_SECONDS,
    HUB_HISTOGRAMS, /* how many */
} hub_histogram_t;

typedef struct hub_metrics hub_metrics_t;

/* Creates every counter at 0. Returns NULL when out of memory. */
hub_metrics_t *hub_metrics_new(void);

void hub_metrics_destroy(hub_metrics_t **self_p);

/* The slot of value (NULL: "") in the label table of counter: found, or
 * added while the table has room, else HUB_METRIC_OTHER (rule 1; "other"
 * itself is that slot too). Never
 * fails; self may be NULL (then HUB_METRIC_OTHER). */
int hub_metrics_slot(hub_metrics_t *self, hub_counter_t counter, const char *value);

/* Adds n to counter under the value of slot (from hub_metrics_slot of a
 * counter of the same label). self may be NULL: nothing is counted. */
void hub_metrics_add(hub_metrics_t *self, hub_counter_t counter, int slot, uint64_t n);

/* hub_metrics_slot and hub_metrics_add in one. */
void hub_metrics_count(hub_metrics_t *self, hub_counter_t counter, const char *value, uint64_t n);

/* What counter holds under value (0 when the value is not in its table). */
uint64_t hub_metrics_get(const hub_metrics_t *self, hub_counter_t counter, const char *value);

/* Records one observation of histogram. self may be NULL. */
void hub_metrics_observe(hub_metrics_t *self, hub_histogram_t histogram, double value);

/* Fills reply->counters (one per counter and value counted, in the order
 * of hub_counter_t, then of the values as first seen) and
 * reply->histograms (every histogram, buckets cumulative). Strings point
 * into self: reply must not outlive it or its next count. Returns 0 or
 * -ENOMEM (reply then has neither). Free with hub_metrics_status_free. */
int hub_metrics_status(const hub_metrics_t *self, Hub__StatusReply *reply);

void hub_metrics_status_free(Hub__StatusReply *reply);

#endif
