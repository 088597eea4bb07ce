/*
 * metrics - see metrics.h for the counters, their labels and the rules.
 *
 * A label's values live in a fixed table with an open-addressing index
 * (FNV-1a, linear probing) twice its size, so a lookup is a hash and a
 * string compare or two, and the table never grows. A counter is an array
 * of counts indexed by its label's slots, the last one being "other".
 */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_INDEX (2 * HUB_METRIC_VALUES) /* index entries per table (a power of 2) */
#define S_MAX_BOUNDS 12                 /* bounds of a histogram at most */

/* The label tables; counters of one label share its table (rule 3). */
enum { S_TABLE_TYPE, S_TABLE_REJECTED_TYPE, S_TABLE_TOPIC, S_TABLE_DEPARTMENT, S_TABLES };

typedef struct {
    const char *label;                                  /* its name in the StatusReply */
    char values[HUB_METRIC_VALUES][HUB_METRIC_VALUE_LEN]; /* in the order first seen */
    int16_t index[S_INDEX];                             /* slot + 1 by hash; 0: empty */
    int nvalues;                                        /* values held */
} s_table_t;

static const struct {
    const char *name; /* Counter.name */
    int table;        /* its label */
} s_counters[HUB_COUNTERS] = {
    [HUB_COUNTER_EVENTS_RECEIVED] = {"events_received", S_TABLE_TYPE},
    [HUB_COUNTER_EVENTS_REJECTED] = {"events_rejected", S_TABLE_REJECTED_TYPE},
    [HUB_COUNTER_NOTIFICATIONS] = {"notifications", S_TABLE_TOPIC},
    [HUB_COUNTER_DELIVERIES] = {"deliveries", S_TABLE_DEPARTMENT},
    [HUB_COUNTER_REDELIVERIES] = {"redeliveries", S_TABLE_DEPARTMENT},
    [HUB_COUNTER_DEAD_LETTERS] = {"dead_letters", S_TABLE_DEPARTMENT},
    [HUB_COUNTER_ACKS] = {"acks", S_TABLE_DEPARTMENT},
    [HUB_COUNTER_ESCALATIONS] = {"escalations", S_TABLE_DEPARTMENT},
    [HUB_COUNTER_BREACHES] = {"breaches", S_TABLE_DEPARTMENT},
};

static const char *const s_labels[S_TABLES] = {"type", "type", "topic", "department"};

/* Upper bounds of the histograms' buckets, ascending (+Inf implied). */
static const double s_batch_bounds[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
static const double s_seconds_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};

static const struct {
    const char *name;
    const double *bounds;
    size_t nbounds;
} s_histograms[HUB_HISTOGRAMS] = {
    [HUB_HISTOGRAM_COMMIT_BATCH_EVENTS] = {"commit_batch_events", s_batch_bounds,
                                           sizeof s_batch_bounds / sizeof s_batch_bounds[0]},
    [HUB_HISTOGRAM_COMMIT_SECONDS] = {"commit_seconds", s_seconds_bounds,
                                      sizeof s_seconds_bounds / sizeof s_seconds_bounds[0]},
};

_Static_assert(sizeof s_batch_bounds / sizeof s_batch_bounds[0] <= S_MAX_BOUNDS, "room for the buckets");
_Static_assert(sizeof s_seconds_bounds / sizeof s_seconds_bounds[0] <= S_MAX_BOUNDS, "room for the buckets");
_Static_assert(HUB_METRIC_VALUES < INT16_MAX, "slots fit the index");

struct hub_metrics {
    s_table_t tables[S_TABLES];
    uint64_t counts[HUB_COUNTERS][HUB_METRIC_VALUES + 1]; /* by slot; [HUB_METRIC_OTHER]: "other" */
    uint64_t buckets[HUB_HISTOGRAMS][S_MAX_BOUNDS + 1];    /* by bucket (not cumulative); last: +Inf */
    double sum[HUB_HISTOGRAMS];
    uint64_t count[HUB_HISTOGRAMS];
};

hub_metrics_t *hub_metrics_new(void)
{
    hub_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    for (int t = 0; t < S_TABLES; t++)
        self->tables[t].label = s_labels[t];
    return self;
}

void hub_metrics_destroy(hub_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static uint32_t s_hash(const char *text, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)text[i]) * 16777619u;
    return h;
}

int hub_metrics_slot(hub_metrics_t *self, hub_counter_t counter, const char *value)
{
    if (!self || (unsigned)counter >= HUB_COUNTERS)
        return HUB_METRIC_OTHER;
    if (!value)
        value = "";
    size_t len = strlen(value);
    if (len >= HUB_METRIC_VALUE_LEN || strcmp(value, "other") == 0)
        return HUB_METRIC_OTHER;
    s_table_t *t = &self->tables[s_counters[counter].table];
    for (uint32_t i = s_hash(value, len) & (S_INDEX - 1);; i = (i + 1) & (S_INDEX - 1)) {
        int slot = t->index[i] - 1;
        if (slot < 0) {
            /* not there: added while there is room (the index is never
             * more than half full, so probing always ends) */
            if (t->nvalues == HUB_METRIC_VALUES)
                return HUB_METRIC_OTHER;
            slot = t->nvalues++;
            memcpy(t->values[slot], value, len + 1);
            t->index[i] = (int16_t)(slot + 1);
            return slot;
        }
        if (memcmp(t->values[slot], value, len + 1) == 0)
            return slot;
    }
}

void hub_metrics_add(hub_metrics_t *self, hub_counter_t counter, int slot, uint64_t n)
{
    if (!self || (unsigned)counter >= HUB_COUNTERS || slot < 0 || slot > HUB_METRIC_OTHER)
        return;
    self->counts[counter][slot] += n;
}

void hub_metrics_count(hub_metrics_t *self, hub_counter_t counter, const char *value, uint64_t n)
{
    hub_metrics_add(self, counter, hub_metrics_slot(self, counter, value), n);
}

uint64_t hub_metrics_get(const hub_metrics_t *self, hub_counter_t counter, const char *value)
{
    if (!self || (unsigned)counter >= HUB_COUNTERS)
        return 0;
    const s_table_t *t = &self->tables[s_counters[counter].table];
    if (value && strcmp(value, "other") == 0)
        return self->counts[counter][HUB_METRIC_OTHER];
    for (int slot = 0; slot < t->nvalues; slot++)
        if (strcmp(t->values[slot], value ? value : "") == 0)
            return self->counts[counter][slot];
    return 0;
}

void hub_metrics_observe(hub_metrics_t *self, hub_histogram_t histogram, double value)
{
    if (!self || (unsigned)histogram >= HUB_HISTOGRAMS)
        return;
    size_t n = s_histograms[histogram].nbounds, b = 0;
    while (b < n && !(value <= s_histograms[histogram].bounds[b]))
        b++;
    self->buckets[histogram][b]++;
    self->sum[histogram] += value;
    self->count[histogram]++;
}

int hub_metrics_status(const hub_metrics_t *self, Hub__StatusReply *reply)
{
    reply->n_counters = 0;
    reply->counters = NULL;
    reply->n_histograms = 0;
    reply->histograms = NULL;
    size_t n = 0;
    for (int c = 0; c < HUB_COUNTERS; c++)
        for (int slot = 0; slot <= HUB_METRIC_OTHER; slot++)
            n += self->counts[c][slot] > 0;
    if (n > 0) {
        /* one block: the pointers, then the counters they point at */
        Hub__Counter **list = malloc(n * (sizeof *list + sizeof(Hub__Counter)));
        if (!list)
            return -ENOMEM;
        Hub__Counter *items = (Hub__Counter *)(list + n);
        size_t k = 0;
        for (int c = 0; c < HUB_COUNTERS; c++) {
            const s_table_t *t = &self->tables[s_counters[c].table];
            for (int slot = 0; slot <= HUB_METRIC_OTHER; slot++) {
                if (self->counts[c][slot] == 0)
                    continue;
                Hub__Counter *item = &items[k];
                hub__counter__init(item);
                item->name = (char *)s_counters[c].name;
                item->label = (char *)t->label;
                item->value = slot == HUB_METRIC_OTHER ? (char *)"other" : (char *)t->values[slot];
                item->has_count = 1;
                item->count = self->counts[c][slot];
                list[k++] = item;
            }
        }
        reply->counters = list;
        reply->n_counters = n;
    }
    /* one block: the pointers, the histograms, their cumulative buckets */
    size_t size = HUB_HISTOGRAMS * (sizeof(Hub__Histogram *) + sizeof(Hub__Histogram) +
                                    (S_MAX_BOUNDS + 1) * sizeof(uint64_t));
    Hub__Histogram **hists = malloc(size);
    if (!hists) {
        hub_metrics_status_free(reply);
        return -ENOMEM;
    }
    Hub__Histogram *items = (Hub__Histogram *)(hists + HUB_HISTOGRAMS);
    uint64_t *buckets = (uint64_t *)(items + HUB_HISTOGRAMS);
    for (int h = 0; h < HUB_HISTOGRAMS; h++) {
        Hub__Histogram *item = &items[h];
        hub__histogram__init(item);
        size_t nb = s_histograms[h].nbounds;
        uint64_t *cumulative = buckets + (size_t)h * (S_MAX_BOUNDS + 1);
        uint64_t total = 0;
        for (size_t b = 0; b <= nb; b++)
            cumulative[b] = total += self->buckets[h][b];
        item->name = (char *)s_histograms[h].name;
        item->n_bounds = nb;
        item->bounds = (double *)s_histograms[h].bounds;
        item->n_buckets = nb + 1;
        item->buckets = cumulative;
        item->has_sum = 1;
        item->sum = self->sum[h];
        item->has_count = 1;
        item->count = self->count[h];
        hists[h] = item;
    }
    reply->histograms = hists;
    reply->n_histograms = HUB_HISTOGRAMS;
    return 0;
}

void hub_metrics_status_free(Hub__StatusReply *reply)
{
    free(reply->counters);
    free(reply->histograms);
    reply->counters = NULL;
    reply->n_counters = 0;
    reply->histograms = NULL;
    reply->n_histograms = 0;
}
