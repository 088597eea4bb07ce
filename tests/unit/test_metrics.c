/*
 * test_metrics - counters by label with bounded tables, histograms with
 * cumulative buckets, and the StatusReply they fill.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"

/* The Counter of the reply with name and value, or NULL. */
static const Hub__Counter *s_find(const Hub__StatusReply *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->n_counters; i++)
        if (!strcmp(r->counters[i]->name, name) && !strcmp(r->counters[i]->value, value))
            return r->counters[i];
    return NULL;
}

static void test_counters(void)
{
    hub_metrics_t *m = hub_metrics_new();
    CHECK(m != NULL);
    hub_metrics_count(m, HUB_COUNTER_EVENTS_RECEIVED, "bug_report", 1);
    hub_metrics_count(m, HUB_COUNTER_EVENTS_RECEIVED, "bug_report", 2);
    hub_metrics_count(m, HUB_COUNTER_EVENTS_RECEIVED, "complaint", 1);
    hub_metrics_count(m, HUB_COUNTER_EVENTS_REJECTED, NULL, 1); /* no type */
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_RECEIVED, "bug_report"), 3);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_RECEIVED, "complaint"), 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_REJECTED, ""), 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_REJECTED, "bug_report"), 0);

    /* department counters share their values: one slot serves them all */
    int slot = hub_metrics_slot(m, HUB_COUNTER_DELIVERIES, "engineering");
    CHECK_INT(hub_metrics_slot(m, HUB_COUNTER_ACKS, "engineering"), slot);
    CHECK_INT(hub_metrics_slot(m, HUB_COUNTER_BREACHES, "engineering"), slot);
    hub_metrics_add(m, HUB_COUNTER_DELIVERIES, slot, 5);
    hub_metrics_add(m, HUB_COUNTER_ACKS, slot, 4);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_DELIVERIES, "engineering"), 5);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_ACKS, "engineering"), 4);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_REDELIVERIES, "engineering"), 0);

    /* out of range does nothing; NULL metrics count nothing */
    hub_metrics_add(m, HUB_COUNTER_ACKS, -1, 1);
    hub_metrics_add(m, HUB_COUNTER_ACKS, HUB_METRIC_OTHER + 1, 1);
    hub_metrics_add(m, HUB_COUNTERS, 0, 1);
    hub_metrics_add(NULL, HUB_COUNTER_ACKS, slot, 1);
    CHECK_INT(hub_metrics_slot(NULL, HUB_COUNTER_ACKS, "x"), HUB_METRIC_OTHER);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_ACKS, "other"), 0);
    hub_metrics_destroy(&m);
    CHECK(m == NULL);
    hub_metrics_destroy(&m);
}

/* Rule 1: at most HUB_METRIC_VALUES values per label; the rest, too long
 * values and "other" itself are counted under "other". */
static void test_bounded(void)
{
    hub_metrics_t *m = hub_metrics_new();
    char value[32];
    for (int i = 0; i < HUB_METRIC_VALUES + 50; i++) {
        snprintf(value, sizeof value, "type-%d", i);
        hub_metrics_count(m, HUB_COUNTER_EVENTS_REJECTED, value, 1);
    }
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_REJECTED, "type-0"), 1);
    snprintf(value, sizeof value, "type-%d", HUB_METRIC_VALUES - 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_REJECTED, value), 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_REJECTED, "other"), 50);
    /* a value seen before the table filled keeps its slot */
    hub_metrics_count(m, HUB_COUNTER_EVENTS_REJECTED, "type-7", 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_REJECTED, "type-7"), 2);
    /* another label's table is not touched */
    hub_metrics_count(m, HUB_COUNTER_EVENTS_RECEIVED, "complaint", 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_EVENTS_RECEIVED, "complaint"), 1);

    char longer[HUB_METRIC_VALUE_LEN + 8];
    memset(longer, 't', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    hub_metrics_count(m, HUB_COUNTER_NOTIFICATIONS, longer, 1);
    hub_metrics_count(m, HUB_COUNTER_NOTIFICATIONS, "other", 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_NOTIFICATIONS, "other"), 2);
    longer[HUB_METRIC_VALUE_LEN - 1] = '\0'; /* the longest that fits */
    hub_metrics_count(m, HUB_COUNTER_NOTIFICATIONS, longer, 1);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_NOTIFICATIONS, longer), 1);

    Hub__StatusReply r = HUB__STATUS_REPLY__INIT;
    CHECK_INT(hub_metrics_status(m, &r), 0);
    /* rejected: 256 values and other; received: 1; notifications: 1 and other */
    CHECK_INT(r.n_counters, HUB_METRIC_VALUES + 1 + 1 + 2);
    const Hub__Counter *c = s_find(&r, "events_rejected", "other");
    CHECK(c != NULL);
    if (c) {
        CHECK_STR(c->label, "type");
        CHECK_INT(c->count, 50);
    }
    hub_metrics_status_free(&r);
    CHECK(r.counters == NULL && r.n_counters == 0);
    hub_metrics_destroy(&m);
}

static void test_histograms(void)
{
    hub_metrics_t *m = hub_metrics_new();
    hub_metrics_observe(m, HUB_HISTOGRAM_COMMIT_BATCH_EVENTS, 0);
    hub_metrics_observe(m, HUB_HISTOGRAM_COMMIT_BATCH_EVENTS, 1);
    hub_metrics_observe(m, HUB_HISTOGRAM_COMMIT_BATCH_EVENTS, 3);
    hub_metrics_observe(m, HUB_HISTOGRAM_COMMIT_BATCH_EVENTS, 100000);
    hub_metrics_observe(m, HUB_HISTOGRAM_COMMIT_SECONDS, 0.002);
    hub_metrics_observe(NULL, HUB_HISTOGRAM_COMMIT_SECONDS, 1);
    Hub__StatusReply r = HUB__STATUS_REPLY__INIT;
    CHECK_INT(hub_metrics_status(m, &r), 0);
    CHECK_INT(r.n_counters, 0);
    CHECK_INT(r.n_histograms, 2);
    if (r.n_histograms == 2) {
        const Hub__Histogram *h = r.histograms[0];
        CHECK_STR(h->name, "commit_batch_events");
        CHECK_INT(h->n_buckets, h->n_bounds + 1);
        CHECK_INT(h->count, 4);
        CHECK(h->sum == 100004);
        /* bounds 1, 2, 5, ...: le 1 holds 0 and 1; le 5 holds 3 too; +Inf all */
        CHECK(h->bounds[0] == 1 && h->bounds[2] == 5);
        CHECK_INT(h->buckets[0], 2);
        CHECK_INT(h->buckets[1], 2);
        CHECK_INT(h->buckets[2], 3);
        CHECK_INT(h->buckets[h->n_bounds - 1], 3);
        CHECK_INT(h->buckets[h->n_bounds], 4);
        for (size_t b = 1; b < h->n_bounds; b++)
            CHECK(h->bounds[b] > h->bounds[b - 1]);
        h = r.histograms[1];
        CHECK_STR(h->name, "commit_seconds");
        CHECK_INT(h->count, 1);
        CHECK_INT(h->buckets[h->n_bounds], 1);
        CHECK_INT(h->buckets[0], 0);
    }
    hub_metrics_status_free(&r);
    hub_metrics_destroy(&m);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"counters by label", test_counters},
        {"label tables are bounded", test_bounded},
        {"histograms", test_histograms},
        {NULL, NULL},
    };
    return check_run(cases);
}
