/*
 * delivery - see delivery.h for the rules and the state machine.
 *
 * Each subscriber keeps its in-flight entries in a ring in (seq, slot)
 * order, the order they were first sent in. An ack frees an entry in place;
 * the ring's head moves past freed entries, so the head is always the
 * oldest notification not yet done and the position is just before it.
 */
#include "delivery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "codec.h"
#include "log.h"
#include "policy.h"
#include "redact.h"
#include "rowtopics.h"

enum { S_FREE = 0, S_OWED = 1, S_SENT = 2 };

#define HUB_SCAN_ROWS 256 /* rows one scan reads at most */
#define S_PUMP_ROWS 8192  /* rows one pump reads at most per subscriber and turn */
#define S_SCRATCH 4096    /* bytes for the strings of one route read */

typedef struct {
    uint64_t seq;
    uint32_t slot;
    uint32_t attempt;   /* deliveries made so far */
    int64_t sent_ms;    /* monotonic time of the last send */
    int64_t first_ms;   /* monotonic time of the first send */
    int state;          /* S_FREE, S_OWED, S_SENT */
} s_flight_t;

/* Notifications sent, acknowledged or sent again since the last batch, for
 * the audit log: one row per kind per subscriber per batch. */
typedef struct {
    uint64_t lo, hi; /* seqs covered (lo 0: none) */
    uint64_t count;  /* notifications */
} s_range_t;

typedef struct {
    char name[64];
    char topics_joined[HUB_MAX_TOPICS * (HUB_MAX_PATTERN + 1)]; /* as stored */
    char *topics[HUB_MAX_TOPICS];                               /* into topics_buf */
    char topics_buf[HUB_MAX_TOPICS * (HUB_MAX_PATTERN + 1)];
    size_t ntopics;
    uint64_t position;      /* everything up to here is done (durable once committed) */
    uint64_t scan_seq;      /* next event to look at */
    uint32_t scan_slot;     /* next slot in it */
    s_flight_t *ring;       /* in-flight entries, cap a power of 2 */
    size_t cap, head, count; /* count includes freed holes after head */
    size_t live;            /* entries not free */
    uint32_t credit;
    uint32_t batch;         /* notifications per Deliver frame the session takes (1: one) */
    size_t batch_n;         /* notifications in the frame being built (delivery's batch_body) */
    size_t batch_from;      /* ring index of the first of them */
    uint8_t rid[HUB_MAX_RID]; /* session's routing id */
    size_t rid_len;
    int connected;
    int64_t heard_ms;       /* monotonic time the session was last heard from */
    int dirty;              /* position/topics/dead letters not yet written */
    int has_owed;           /* some entry may be OWED (s_pump_owed has work) */
    uint64_t dead_letters;
    uint64_t delivered, redelivered, acked;
    int metric_slot;        /* its name's slot in the metrics' department label */
    s_range_t ranges[3];    /* HUB_AUDIT_DELIVERED, _ACKED, _REDELIVERED since the last batch */
    const char *gone;       /* why the session was taken for gone, not yet in a batch; or NULL */
    /* what the batch under way holds (hub_delivery_collect), put back if it fails */
    int c_dirty;
    s_range_t c_ranges[3];
    const char *c_gone;
    char c_topics[HUB_MAX_TOPICS * (HUB_MAX_PATTERN + 1)]; /* topics_joined as collected */
    uint8_t wants[HUB_ROWTOPICS_MAX]; /* by rowtopics' topic number: S_WANTS_... */
} s_sub_t;

/* Whether a subscriber wants a topic of rowtopics: not yet asked (what a
 * new subscriber and new patterns start from), no, yes. */
enum { S_WANTS_UNKNOWN = 0, S_WANTS_NO, S_WANTS_YES };

struct hub_delivery {
    hub_store_t *store;
    hub_delivery_opts_t opts;
    hub_send_fn send;
    void *send_arg;
    s_sub_t **subs;
    size_t nsubs, subs_cap;
    hub_dead_letter_t *dead;   /* waiting for the next batch */
    size_t ndead, dead_cap;
    size_t ndead_collected;    /* how many the current batch holds */
    hub_buf_t frame;           /* reused for every frame */
    hub_buf_t batch_body;      /* the notifications of the batched frame being built */
    hub_buf_t redacted;        /* reused for redacted events */
    hub_rowtopics_t *rowtopics; /* the topics of recent rows, read once for every subscriber */
    uint64_t delivered;
    int64_t time_ms;           /* the time time_text holds, formatted */
    char time_text[HUB_TIME_LEN]; /* "" until the first */
};

/* ------------------------------------------------------------ helpers */

static void s_range_add(s_sub_t *sub, hub_range_kind_t kind, uint64_t seq)
{
    s_range_t *r = &sub->ranges[kind];
    if (r->count == 0 || seq < r->lo)
        r->lo = seq;
    if (r->count == 0 || seq > r->hi)
        r->hi = seq;
    r->count++;
}

/* The time a row was received, as notifications carry it: a batch's rows
 * share one, and every subscriber sends each row. */
static const char *s_received_at(hub_delivery_t *self, int64_t ms)
{
    if (!*self->time_text || self->time_ms != ms) {
        hub_time_format(ms, self->time_text);
        self->time_ms = ms;
    }
    return self->time_text;
}

static int s_sub_wants(const s_sub_t *sub, const char *topic)
{
    for (size_t i = 0; i < sub->ntopics; i++)
        if (hub_topic_match(sub->topics[i], topic))
            return 1;
    return 0;
}

static int s_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return 0;
    }
    return 1;
}

static int s_valid_pattern(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > HUB_MAX_PATTERN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == '*'))
            return 0;
    }
    return 1;
}

/* Sets the subscriber's patterns from a space-separated list. */
static void s_set_topics(s_sub_t *sub, const char *joined)
{
    snprintf(sub->topics_joined, sizeof sub->topics_joined, "%s", joined);
    snprintf(sub->topics_buf, sizeof sub->topics_buf, "%s", joined);
    sub->ntopics = 0;
    memset(sub->wants, S_WANTS_UNKNOWN, sizeof sub->wants);
    char *save = NULL;
    for (char *t = strtok_r(sub->topics_buf, " ", &save); t && sub->ntopics < HUB_MAX_TOPICS;
         t = strtok_r(NULL, " ", &save))
        sub->topics[sub->ntopics++] = t;
}

static s_sub_t *s_find(const hub_delivery_t *self, const char *name)
{
    for (size_t i = 0; i < self->nsubs; i++)
        if (strcmp(self->subs[i]->name, name) == 0)
            return self->subs[i];
    return NULL;
}

static s_sub_t *s_add(hub_delivery_t *self, const char *name)
{
    if (self->nsubs == self->subs_cap) {
        size_t cap = self->subs_cap ? self->subs_cap * 2 : 16;
        s_sub_t **subs = realloc(self->subs, cap * sizeof *subs);
        if (!subs)
            return NULL;
        self->subs = subs;
        self->subs_cap = cap;
    }
    s_sub_t *sub = calloc(1, sizeof *sub);
    if (!sub)
        return NULL;
    snprintf(sub->name, sizeof sub->name, "%s", name);
    sub->metric_slot = hub_metrics_slot(self->opts.metrics, HUB_COUNTER_DELIVERIES, sub->name);
    self->subs[self->nsubs++] = sub;
    return sub;
}

static s_flight_t *s_at(const s_sub_t *sub, size_t i)
{
    return &sub->ring[(sub->head + i) & (sub->cap - 1)];
}

/* Marks an in-flight entry to be sent again by the next pump. */
static void s_owe(s_sub_t *sub, s_flight_t *e)
{
    e->state = S_OWED;
    sub->has_owed = 1;
}

/* Grows the ring to hold at least want entries; keeps their order. */
static int s_ring_reserve(s_sub_t *sub, size_t want)
{
    if (sub->cap >= want)
        return 0;
    size_t cap = 16;
    while (cap < want)
        cap *= 2;
    s_flight_t *ring = calloc(cap, sizeof *ring);
    if (!ring)
        return -ENOMEM;
    for (size_t i = 0; i < sub->count; i++)
        ring[i] = *s_at(sub, i);
    free(sub->ring);
    sub->ring = ring;
    sub->cap = cap;
    sub->head = 0;
    return 0;
}

/* Drops freed entries from the head of the ring. */
static void s_ring_trim(s_sub_t *sub)
{
    while (sub->count > 0 && s_at(sub, 0)->state == S_FREE) {
        sub->head = (sub->head + 1) & (sub->cap - 1);
        sub->count--;
    }
}

/* Moves the position up to just before the oldest notification not done. */
static void s_advance(s_sub_t *sub)
{
    s_ring_trim(sub);
    uint64_t first_open = sub->count > 0 ? s_at(sub, 0)->seq : sub->scan_seq;
    if (first_open > 0 && first_open - 1 > sub->position) {
        sub->position = first_open - 1;
        sub->dirty = 1;
    }
}

static void s_reset_flight(s_sub_t *sub)
{
    sub->head = 0;
    sub->count = 0;
    sub->live = 0;
}

/* ------------------------------------------------------------ lifetime */

static int s_load_cursor(const hub_store_cursor_t *c, void *arg)
{
    hub_delivery_t *self = arg;
    s_sub_t *sub = s_add(self, c->name);
    if (!sub)
        return 1;
    s_set_topics(sub, c->topics);
    sub->position = c->position;
    sub->scan_seq = c->position + 1;
    sub->dead_letters = c->dead_letters;
    return 0;
}

hub_delivery_t *hub_delivery_new(hub_store_t *store, const hub_delivery_opts_t *opts, hub_send_fn send,
                                 void *send_arg, char err[HUB_ERR_LEN])
{
    hub_delivery_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "delivery: out of memory");
        return NULL;
    }
    self->store = store;
    self->opts = *opts;

    self->send = send;
    self->send_arg = send_arg;
    if (!(self->rowtopics = hub_rowtopics_new())) {
        snprintf(err, HUB_ERR_LEN, "delivery: out of memory");
        hub_delivery_destroy(&self);
        return NULL;
    }
    if (hub_store_cursors(store, s_load_cursor, self) != 0) {
        snprintf(err, HUB_ERR_LEN, "delivery: cannot load the stored subscribers");
        hub_delivery_destroy(&self);
        return NULL;
    }
    return self;
}

void hub_delivery_destroy(hub_delivery_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_delivery_t *self = *self_p;
    for (size_t i = 0; i < self->nsubs; i++) {
        free(self->subs[i]->ring);
        free(self->subs[i]);
    }
    free(self->subs);
    free(self->dead);

    hub_buf_fini(&self->frame);
    hub_buf_fini(&self->batch_body);
    hub_buf_fini(&self->redacted);
    hub_rowtopics_destroy(&self->rowtopics);
    free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------ sending */

/* Sends a frame to sub's session. Returns 0, -EHOSTUNREACH (then the
 * session is taken for gone), -EAGAIN or -errno. */
static int s_send(hub_delivery_t *self, s_sub_t *sub, const uint8_t *frame, size_t len)
{
    int rc = self->send(sub->rid, sub->rid_len, frame, len, self->send_arg);
    if (rc == -EHOSTUNREACH) {
        hub_info("subscriber %s: client gone; waiting for it to come back", sub->name);
        sub->connected = 0;
        sub->gone = "client gone";
    }
    return rc;
}

/* Sends the batched frame being built for sub, if any. Its notifications
 * are in the ring already, as sent; when the session's queue is full
 * (EAGAIN) they are owed and sent again by the next pump, as the session
 * would not take them. Returns the send's result. */
static int s_flush_batch(hub_delivery_t *self, s_sub_t *sub)
{
    if (sub->batch_n == 0)
        return 0;
    size_t from = sub->batch_from;
    sub->batch_n = 0;
    const uint8_t *frame;
    size_t len;
    int rc = hub_deliver_batch_seal(sub->name, &self->batch_body, &frame, &len);
    if (rc == 0)
        rc = s_send(self, sub, frame, len);
    if (rc != 0 && rc != -EHOSTUNREACH) {
        hub_debug("subscriber %s: batch not sent (%s); owed", sub->name, hub_strerror(rc));
        for (size_t i = from; i < sub->count; i++)
            if (s_at(sub, i)->state == S_SENT)
                s_owe(sub, s_at(sub, i));
    }
    return rc;
}

/* Builds the Deliver frame for one slot of a stored row and sends it, or
 * (batch 1, a session that takes batches) adds it to the frame being built
 * for sub; the caller puts it in the ring at index sub->count and calls
 * s_flush_batch before the ring moves. Returns 0, -EHOSTUNREACH, -EAGAIN,
 * or -HUB_EMALFORMED for a row we cannot read. */
static int s_send_slot(hub_delivery_t *self, s_sub_t *sub, const hub_store_row_t *row, const char *received_at,
                       const hub_route_view_t *route, uint32_t slot, uint32_t attempt, int batch)
{
    const uint8_t *event = row->event;
    size_t event_len = row->event_len;
    if (route->nfields > 0) {
        if (hub_redact(&hub__event__descriptor, row->event, row->event_len, route->fields, route->nfields,
                       &self->redacted) != 0)
            return -HUB_EMALFORMED;
        event = self->redacted.data;
        event_len = self->redacted.len;
    }
    if (!event)
        event = (const uint8_t *)""; /* an empty event (all redacted away) is still an event */
    char respond_by[HUB_TIME_LEN];
    Hub__Notification n;
    hub_notification_from_route(&n, route, row->seq, slot, row->id, received_at, respond_by);
    n.has_attempt = 1;
    n.attempt = attempt;
    if (batch && sub->batch > 1) {
        if (sub->batch_n > 0 && self->batch_body.len >= HUB_DELIVER_BATCH_BYTES) {
            int rc = s_flush_batch(self, sub);
            if (rc == -EHOSTUNREACH || rc == -EAGAIN)
                return rc;
        }
        int rc = hub_deliver_batch_add(&self->batch_body, sub->batch_n, &n, event, event_len);
        if (rc != 0)
            return rc;
        if (sub->batch_n++ == 0)
            sub->batch_from = sub->count;
        return sub->batch_n >= sub->batch ? s_flush_batch(self, sub) : 0;
    }
    int rc = hub_frame_encode_deliver(sub->name, &n, event, event_len, &self->frame);
    if (rc != 0)
        return rc;
    return s_send(self, sub, self->frame.data, self->frame.len);
}

typedef struct {
    hub_delivery_t *self;
    s_sub_t *sub;
    int64_t now_ms;
    s_flight_t *entry;  /* for resends */
    int rc;             /* last send result */
    int blocked;        /* credit used up or client not taking more */
} s_scan_t;

static void s_dead_letter(hub_delivery_t *self, s_sub_t *sub, s_flight_t *e, const char *reason);

/* Sends slot of row to the scanning subscriber from its route. Returns 0
 * to go on with the next slot, 1 when the subscriber takes no more now. */
static int s_scan_send(s_scan_t *ctx, const hub_store_row_t *row, const hub_route_view_t *route, uint32_t slot)
{
    s_sub_t *sub = ctx->sub;
    if (sub->live >= sub->credit || sub->count + 1 > sub->cap) {
        ctx->blocked = 1;
        return 1;
    }
    int rc = s_send_slot(ctx->self, sub, row, s_received_at(ctx->self, row->received_ms), route, slot, 1, 1);
    if (rc == -EHOSTUNREACH || rc == -EAGAIN) {
        ctx->blocked = 1;
        return 1;
    }
    sub->scan_slot = slot + 1;
    s_flight_t *e = s_at(sub, sub->count++);
    *e = (s_flight_t){row->seq, slot, 1, ctx->now_ms, ctx->now_ms, S_SENT};
    sub->live++;
    if (rc != 0) {
        /* a stored event this route cannot be sent with: not skipped
         * in silence, but dead-lettered, so that it is seen */
        char reason[160];
        snprintf(reason, sizeof reason, "cannot be sent: %s", hub_strerror(rc));
        hub_error("event %llu slot %u for %s %s", (unsigned long long)row->seq, slot, sub->name, reason);
        s_dead_letter(ctx->self, sub, e, reason);
        return 0;
    }
    sub->delivered++;
    hub_metrics_add(ctx->self->opts.metrics, HUB_COUNTER_DELIVERIES, sub->metric_slot, 1);
    s_range_add(sub, HUB_RANGE_DELIVERED, row->seq);
    ctx->self->delivered++;
    return 0;
}

/* Logs that slot of row's stored routing could not be read (found: what
 * the read returned), for sub, which goes on without it. */
static void s_unreadable(const hub_store_row_t *row, uint32_t slot, int found, const s_sub_t *sub)
{
    hub_error("event %llu slot %u: stored routing cannot be read (%s); skipping it for %s",
              (unsigned long long)row->seq, slot, hub_strerror(found ? found : -HUB_EMALFORMED), sub->name);
}

/* Whether sub wants topic number id of rowtopics, asked once. */
static int s_wants_number(hub_delivery_t *self, s_sub_t *sub, uint16_t id)
{
    if (sub->wants[id] == S_WANTS_UNKNOWN) {
        const char *topic = hub_rowtopics_text(self->rowtopics, id);
        sub->wants[id] = *topic && s_sub_wants(sub, topic) ? S_WANTS_YES : S_WANTS_NO;
    }
    return sub->wants[id] == S_WANTS_YES;
}

/* s_scan_row for a row whose routes rowtopics keeps. */
static void s_scan_kept(s_scan_t *ctx, const hub_store_row_t *row, const hub_row_routes_t *routes)
{
    s_sub_t *sub = ctx->sub;
    char scratch[S_SCRATCH];
    hub_route_view_t route;
    for (uint32_t slot = sub->scan_slot; slot < routes->n; slot++) {
        if (!s_wants_number(ctx->self, sub, routes->topic[slot])) {
            sub->scan_slot = slot + 1;
            continue;
        }
        hub_route_bytes_t bytes = {row->routing + routes->off[slot], routes->len[slot]};
        int found = hub_route_read(&bytes, &route, scratch, sizeof scratch);
        if (found <= 0) {
            s_unreadable(row, slot, found, sub);
            return;
        }
        if (s_scan_send(ctx, row, &route, slot))
            return;
    }
}

/* s_scan_row for any other row: each route's topic read here. */
static void s_scan_read(s_scan_t *ctx, const hub_store_row_t *row)
{
    s_sub_t *sub = ctx->sub;
    char scratch[S_SCRATCH], topic[HUB_TOPIC_LEN];
    hub_route_view_t route;
    hub_route_bytes_t bytes = {NULL, 0};
    size_t pos = 0;
    int found = 1;
    for (uint32_t slot = 0; slot < sub->scan_slot && found == 1; slot++) /* slots sent before */
        found = hub_routing_next(row->routing, row->routing_len, &pos, &bytes);
    for (uint32_t slot = sub->scan_slot; found != 0; slot++) {
        const char *what = topic;
        int whole = 0;
        if (found > 0)
            found = hub_routing_next(row->routing, row->routing_len, &pos, &bytes);
        if (found > 0)
            found = hub_route_topic(&bytes, topic, sizeof topic);
        if (found == -HUB_ETOOLARGE) { /* longer than a policy's topics: read the route whole */
            found = hub_route_read(&bytes, &route, scratch, sizeof scratch);
            what = route.topic;
            whole = 1;
        }
        if (found == 0)
            break;
        if (found > 0 && (!*what || !s_sub_wants(sub, what))) {
            sub->scan_slot = slot + 1;
            continue;
        }
        if (found > 0 && !whole)
            found = hub_route_read(&bytes, &route, scratch, sizeof scratch);
        if (found <= 0) {
            s_unreadable(row, slot, found, sub);
            break;
        }
        if (s_scan_send(ctx, row, &route, slot))
            break;
    }
}

/* Row visitor of a scan: sends every wanted slot from scan_slot on. The
 * stored routing is read in place (no allocation): its routes' topics
 * once for all subscribers (rowtopics.h), all of a route only for those
 * that want it. */
static int s_scan_row(const hub_store_row_t *row, void *arg)
{
    s_scan_t *ctx = arg;
    const hub_row_routes_t *routes = hub_rowtopics_row(ctx->self->rowtopics, row->seq, row->routing, row->routing_len);
    if (routes)
        s_scan_kept(ctx, row, routes);
    else
        s_scan_read(ctx, row);
    if (!ctx->blocked) {
        ctx->sub->scan_seq = row->seq + 1;
        ctx->sub->scan_slot = 0;
    }
    return ctx->blocked;
}

/* Row visitor for one resend (ctx->entry). */
static int s_resend_row(const hub_store_row_t *row, void *arg)
{
    s_scan_t *ctx = arg;
    s_flight_t *e = ctx->entry;
    char scratch[S_SCRATCH];
    hub_route_view_t route;
    if (hub_routing_route(row->routing, row->routing_len, e->slot, &route, scratch, sizeof scratch) != 1) {
        ctx->rc = -HUB_EMALFORMED;
        return 1;
    }
    ctx->rc = s_send_slot(ctx->self, ctx->sub, row, s_received_at(ctx->self, row->received_ms), &route, e->slot,
                          e->attempt + 1, 0);
    return 1;
}

/* Queues a dead letter for the next batch and frees the entry. */
static void s_dead_letter(hub_delivery_t *self, s_sub_t *sub, s_flight_t *e, const char *reason)
{
    if (self->ndead == self->dead_cap) {
        size_t cap = self->dead_cap ? self->dead_cap * 2 : 16;
        hub_dead_letter_t *dead = realloc(self->dead, cap * sizeof *dead);
        if (!dead) {
            /* keep it in flight: it will time out and be tried again */
            s_owe(sub, e);
            return;
        }
        self->dead = dead;
        self->dead_cap = cap;
    }
    hub_dead_letter_t *d = &self->dead[self->ndead++];
    snprintf(d->subscriber, sizeof d->subscriber, "%s", sub->name);
    d->seq = e->seq;
    d->slot = e->slot;
    d->attempts = e->attempt;
    snprintf(d->reason, sizeof d->reason, "%s", reason);
    hub_warn("subscriber %s: notification %llu/%u dead-lettered: %s", sub->name, (unsigned long long)e->seq,
             e->slot, reason);
    e->state = S_FREE;
    sub->live--;
    sub->dead_letters++;
    hub_metrics_add(self->opts.metrics, HUB_COUNTER_DEAD_LETTERS, sub->metric_slot, 1);
    sub->dirty = 1;
    /* the caller moves the position (s_advance) once it is done iterating */
}

/* Sends the owed entries of a subscriber, oldest first. */
static void s_pump_owed(hub_delivery_t *self, s_sub_t *sub, int64_t now_ms)
{
    if (!sub->has_owed)
        return;
    sub->has_owed = 0;
    size_t i;
    for (i = 0; i < sub->count && sub->connected; i++) {
        s_flight_t *e = s_at(sub, i);
        if (e->state != S_OWED)
            continue;
        s_scan_t ctx = {self, sub, now_ms, e, 0, 0};
        int found = hub_store_get(self->store, e->seq, s_resend_row, &ctx);
        if (found <= 0 || ctx.rc == -HUB_EMALFORMED) {
            /* the row is unreadable; there is nothing to redeliver */
            s_dead_letter(self, sub, e, "stored event cannot be read");
            continue;
        }
        if (ctx.rc == -EHOSTUNREACH || ctx.rc == -EAGAIN)
            break;
        e->attempt++;
        e->sent_ms = now_ms;
        e->state = S_SENT;
        sub->redelivered++;
        hub_metrics_add(self->opts.metrics, HUB_COUNTER_REDELIVERIES, sub->metric_slot, 1);
        s_range_add(sub, HUB_RANGE_REDELIVERED, e->seq);
    }
    if (i < sub->count)
        sub->has_owed = 1; /* stopped early: the rest stays owed */
    s_advance(sub);
}

int hub_delivery_pump(hub_delivery_t *self, int64_t now_ms)
{
    uint64_t last = hub_store_last_seq(self->store);
    for (size_t i = 0; i < self->nsubs; i++)
        if (self->subs[i]->connected)
            s_pump_owed(self, self->subs[i], now_ms);
    /* As far as credit goes, so that subscribers that keep up stay at the
     * tail (and in its cache) however large the turn's batch was; in rounds
     * of HUB_SCAN_ROWS rows over all subscribers rather than one subscriber
     * after the other, so that no subscriber waits for the others' whole
     * share of the turn. */
    int more = 0, progress = 1;
    for (int round = 0; progress && round < S_PUMP_ROWS / HUB_SCAN_ROWS; round++) {
        progress = 0;
        more = 0;
        for (size_t i = 0; i < self->nsubs; i++) {
            s_sub_t *sub = self->subs[i];
            if (!sub->connected || sub->scan_seq > last || sub->live >= sub->credit)
                continue;
            s_scan_t ctx = {self, sub, now_ms, NULL, 0, 0};
            int rows = hub_store_scan(self->store, sub->scan_seq, HUB_SCAN_ROWS, s_scan_row, &ctx);
            if (rows < 0)
                hub_error("subscriber %s: reading events: %s", sub->name, hub_strerror(rows));
            if (s_flush_batch(self, sub) != 0)
                ctx.blocked = 1;
            s_advance(sub);
            if (rows > 0 && !ctx.blocked && sub->scan_seq <= last) {
                progress = 1;
                more = 1;
            }
        }
    }
    return more;
}

/* What was sent to a session is owed to whichever comes next. */
static void s_owe_sent(s_sub_t *sub)
{
    for (size_t i = 0; i < sub->count; i++)
        if (s_at(sub, i)->state == S_SENT)
            s_owe(sub, s_at(sub, i));
}

void hub_delivery_tick(hub_delivery_t *self, int64_t now_ms)
{
    for (size_t i = 0; i < self->nsubs; i++) {
        s_sub_t *sub = self->subs[i];
        if (sub->connected && now_ms - sub->heard_ms >= HUB_SILENCE_MS) {
            hub_info("subscriber %s: not heard from for %d s; waiting for it to come back", sub->name,
                     HUB_SILENCE_MS / 1000);
            sub->connected = 0;
            sub->gone = "not heard from for 15 s";
            s_owe_sent(sub);
        }
        for (size_t k = 0; k < sub->count; k++) {
            s_flight_t *e = s_at(sub, k);
            if (e->state != S_SENT || now_ms - e->sent_ms < self->opts.ack_timeout_ms)
                continue;
            if (e->attempt >= self->opts.max_attempts) {
                char reason[128];
                snprintf(reason, sizeof reason, "not acknowledged after %u attempts", e->attempt);
                s_dead_letter(self, sub, e, reason);
            } else {
                s_owe(sub, e);
            }
        }
        s_advance(sub);
    }
}

/* ------------------------------------------------------------ requests */

int hub_delivery_subscribe(hub_delivery_t *self, const uint8_t *rid, size_t rid_len, const Hub__Subscribe *req,
                           int64_t now_ms, Hub__Subscribed *reply, char err[HUB_ERR_LEN])
{
    if (!req->name || !s_valid_name(req->name)) {
        snprintf(err, HUB_ERR_LEN, "name: a subscriber name is 1 to 63 letters, digits, '.', '_' or '-'");
        return -HUB_EINVALID;
    }
    if (req->n_topics == 0 || req->n_topics > HUB_MAX_TOPICS) {
        snprintf(err, HUB_ERR_LEN, "topics: give 1 to %d topic patterns", HUB_MAX_TOPICS);
        return -HUB_EINVALID;
    }
    if (rid_len == 0 || rid_len > HUB_MAX_RID) {
        snprintf(err, HUB_ERR_LEN, "routing id of %zu bytes", rid_len);
        return -HUB_EINVALID;
    }
    char joined[sizeof ((s_sub_t *)0)->topics_joined] = "";
    size_t used = 0;
    for (size_t i = 0; i < req->n_topics; i++) {
        if (!s_valid_pattern(req->topics[i])) {
            snprintf(err, HUB_ERR_LEN,
                     "topics: \"%.*s\" is not a pattern (letters, digits, '.', '_', '-' and '*', at most %d)", 64,
                     req->topics[i], HUB_MAX_PATTERN);
            return -HUB_EINVALID;
        }
        used += (size_t)snprintf(joined + used, sizeof joined - used, "%s%s", i ? " " : "", req->topics[i]);
    }
    s_sub_t *sub = s_find(self, req->name);
    int fresh = sub == NULL;
    if (self->opts.max_subs_per_client > 0) {
        uint32_t held = 0;
        for (size_t i = 0; i < self->nsubs; i++) {
            const s_sub_t *other = self->subs[i];
            if (other != sub && other->connected && other->rid_len == rid_len &&
                memcmp(other->rid, rid, rid_len) == 0)
                held++;
        }
        if (held >= self->opts.max_subs_per_client) {
            snprintf(err, HUB_ERR_LEN, "name: this connection holds %u subscriptions already (the hub's "
                     "limits: max_subscriptions_per_client)", held);
            return -HUB_ETOOLARGE;
        }
    }
    if (fresh) {
        if (self->nsubs >= HUB_MAX_SUBSCRIBERS) {
            snprintf(err, HUB_ERR_LEN, "the hub has %d durable subscribers already", HUB_MAX_SUBSCRIBERS);
            return -HUB_ETOOLARGE;
        }
        if (!(sub = s_add(self, req->name))) {
            snprintf(err, HUB_ERR_LEN, "out of memory");
            return -ENOMEM;
        }
    }
    uint32_t credit = req->has_credit && req->credit > 0 ? req->credit : self->opts.default_credit;
    if (credit > self->opts.max_credit)
        credit = self->opts.max_credit;
    if (s_ring_reserve(sub, (size_t)credit * 2) != 0) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    uint64_t last = hub_store_last_seq(self->store);
    Hub__Start start = req->has_start ? req->start : HUB__START__START_RESUME;
    if (start != HUB__START__START_RESUME || fresh) {
        uint64_t position = 0;
        if (start == HUB__START__START_LATEST)
            position = last;
        else if (start == HUB__START__START_SEQ)
            position = req->start_seq > 0 ? req->start_seq - 1 : 0;
        if (position > last)
            position = last;
        s_reset_flight(sub);
        sub->position = position;
        sub->scan_seq = position + 1;
        sub->scan_slot = 0;
        sub->dirty = 1;
    }
    if (strcmp(sub->topics_joined, joined) != 0) {
        s_set_topics(sub, joined);
        sub->dirty = 1;
    }
    if (sub->connected && (sub->rid_len != rid_len || memcmp(sub->rid, rid, rid_len) != 0))
        hub_info("subscriber %s: taken over by a new connection", sub->name);
    /* what was sent to the previous session is owed to this one */
    s_owe_sent(sub);
    memcpy(sub->rid, rid, rid_len);
    sub->rid_len = rid_len;
    sub->connected = 1;
    sub->heard_ms = now_ms;
    sub->credit = credit;
    sub->batch = req->has_batch && req->batch > 1 ? (req->batch < HUB_MAX_BATCH ? req->batch : HUB_MAX_BATCH) : 1;
    reply->name = sub->name;
    reply->has_position = 1;
    reply->position = sub->position;
    reply->has_credit = 1;
    reply->credit = credit;
    hub_info("subscriber %s: attached (%s) at position %llu, credit %u", sub->name, sub->topics_joined,
             (unsigned long long)sub->position, credit);
    return 0;
}

/* The entry in flight for (seq, slot), or NULL. The ring is in the order
 * the scan added entries, which is (seq, slot) order (a new start empties
 * it), freed holes included: a binary search, since an Ack frame names up
 * to a few hundred refs and a search from the head for each costs their
 * square. */
static s_flight_t *s_find_entry(s_sub_t *sub, uint64_t seq, uint32_t slot)
{
    size_t lo = 0, hi = sub->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const s_flight_t *e = s_at(sub, mid);
        if (e->seq < seq || (e->seq == seq && e->slot < slot))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == sub->count)
        return NULL;
    s_flight_t *e = s_at(sub, lo);
    return e->state != S_FREE && e->seq == seq && e->slot == slot ? e : NULL;
}

int hub_delivery_ack(hub_delivery_t *self, const Hub__Ack *ack)
{
    s_sub_t *sub = ack->name ? s_find(self, ack->name) : NULL;
    if (!sub)
        return -HUB_EUNKNOWN;
    uint64_t acked_before = sub->acked;
    for (size_t i = 0; i < ack->n_refs; i++) {
        const Hub__Ref *ref = ack->refs[i];
        s_flight_t *e = s_find_entry(sub, ref->seq, ref->slot);
        if (!e)
            continue;
        e->state = S_FREE;
        sub->live--;
        sub->acked++;
        s_range_add(sub, HUB_RANGE_ACKED, e->seq);
    }
    hub_metrics_add(self->opts.metrics, HUB_COUNTER_ACKS, sub->metric_slot, sub->acked - acked_before);
    s_advance(sub);
    return 0;
}

int hub_delivery_nack(hub_delivery_t *self, const Hub__Nack *nack, int64_t now_ms)
{
    s_sub_t *sub = nack->name ? s_find(self, nack->name) : NULL;
    if (!sub)
        return -HUB_EUNKNOWN;
    if (!nack->ref)
        return 0;
    s_flight_t *e = s_find_entry(sub, nack->ref->seq, nack->ref->slot);
    if (!e)
        return 0;
    char reason[sizeof ((hub_dead_letter_t *)0)->reason];
    const char *why = nack->reason && *nack->reason ? nack->reason : "refused by the subscriber";
    if (nack->has_dead_letter && nack->dead_letter) {
        snprintf(reason, sizeof reason, "%s", why);
        s_dead_letter(self, sub, e, reason);
    } else if (e->attempt >= self->opts.max_attempts) {
        snprintf(reason, sizeof reason, "refused %u times, last: %.400s", e->attempt, why);
        s_dead_letter(self, sub, e, reason);
    } else {
        s_owe(sub, e);
    }
    s_advance(sub);
    (void)now_ms;
    return 0;
}

void hub_delivery_heard(hub_delivery_t *self, const uint8_t *rid, size_t rid_len, int64_t now_ms)
{
    for (size_t i = 0; i < self->nsubs; i++) {
        s_sub_t *sub = self->subs[i];
        if (sub->rid_len != rid_len || memcmp(sub->rid, rid, rid_len) != 0)
            continue;
        sub->heard_ms = now_ms;
        if (!sub->connected) {
            hub_info("subscriber %s: heard from again", sub->name);
            sub->connected = 1;
        }
    }
}

void hub_delivery_detach(hub_delivery_t *self, const uint8_t *rid, size_t rid_len)
{
    for (size_t i = 0; i < self->nsubs; i++) {
        s_sub_t *sub = self->subs[i];
        if (sub->connected && sub->rid_len == rid_len && memcmp(sub->rid, rid, rid_len) == 0) {
            sub->connected = 0;
            sub->gone = "client gone";
        }
    }
}

/* ------------------------------------------------------------ batches */

size_t hub_delivery_collect(hub_delivery_t *self, hub_store_cursor_t *out, size_t max,
                            const hub_dead_letter_t **dead_p, size_t *ndead_p)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nsubs; i++) {
        s_sub_t *sub = self->subs[i];
        memcpy(sub->c_ranges, sub->ranges, sizeof sub->ranges);
        memset(sub->ranges, 0, sizeof sub->ranges);
        sub->c_gone = sub->gone;
        sub->gone = NULL;
        sub->c_dirty = sub->dirty && n < max;
        if (!sub->c_dirty)
            continue;
        sub->dirty = 0;
        memcpy(sub->c_topics, sub->topics_joined, sizeof sub->c_topics);
        out[n++] = (hub_store_cursor_t){sub->name, sub->c_topics, sub->position, sub->dead_letters};
    }
    self->ndead_collected = self->ndead;
    *dead_p = self->dead;
    *ndead_p = self->ndead;
    return n;
}

/* Puts a collected range back into what waits for the next batch. */
static void s_range_merge(s_range_t *into, const s_range_t *r)
{
    if (r->count == 0)
        return;
    if (into->count == 0 || r->lo < into->lo)
        into->lo = r->lo;
    if (into->count == 0 || r->hi > into->hi)
        into->hi = r->hi;
    into->count += r->count;
}

void hub_delivery_committed(hub_delivery_t *self, int ok)
{
    for (size_t i = 0; i < self->nsubs; i++) {
        s_sub_t *sub = self->subs[i];
        if (!ok) {
            sub->dirty |= sub->c_dirty;
            for (int k = 0; k < 3; k++)
                s_range_merge(&sub->ranges[k], &sub->c_ranges[k]);
            if (!sub->gone)
                sub->gone = sub->c_gone;
        }
        sub->c_dirty = 0;
        memset(sub->c_ranges, 0, sizeof sub->c_ranges);
        sub->c_gone = NULL;
    }
    if (!ok) {
        self->ndead_collected = 0;
        return;
    }
    size_t rest = self->ndead - self->ndead_collected;
    if (rest > 0)
        memmove(self->dead, self->dead + self->ndead_collected, rest * sizeof *self->dead);
    self->ndead = rest;
    self->ndead_collected = 0;
}

int hub_delivery_dirty(const hub_delivery_t *self)
{
    if (self->ndead > 0)
        return 1;
    for (size_t i = 0; i < self->nsubs; i++) {
        const s_sub_t *sub = self->subs[i];
        if (sub->dirty || sub->gone || sub->ranges[0].count || sub->ranges[1].count || sub->ranges[2].count)
            return 1;
    }
    return 0;
}

void hub_delivery_ranges(const hub_delivery_t *self, hub_range_fn fn, void *arg)
{
    for (size_t i = 0; i < self->nsubs; i++) {
        const s_sub_t *sub = self->subs[i];
        for (int k = 0; k < 3; k++)
            if (sub->c_ranges[k].count)
                fn(sub->name, (hub_range_kind_t)k, sub->c_ranges[k].lo, sub->c_ranges[k].hi,
                   sub->c_ranges[k].count, NULL, arg);
        if (sub->c_gone)
            fn(sub->name, HUB_RANGE_GONE, 0, 0, 0, sub->c_gone, arg);
    }
}

uint64_t hub_delivery_delivered(const hub_delivery_t *self)
{
    return self->delivered;
}

/* Age at now_ms of the first send of the oldest notification in flight
 * (the ring is in the order of first sends), 0 when none is. */
static uint64_t s_oldest_ms(const s_sub_t *sub, int64_t now_ms)
{
    for (size_t i = 0; i < sub->count; i++) {
        const s_flight_t *e = s_at(sub, i);
        if (e->state != S_FREE)
            return now_ms > e->first_ms ? (uint64_t)(now_ms - e->first_ms) : 0;
    }
    return 0;
}

int hub_delivery_status(const hub_delivery_t *self, Hub__StatusReply *reply, int64_t now_ms)
{
    uint64_t last = hub_store_last_seq(self->store);
    reply->n_subscribers = 0;
    reply->subscribers = NULL;
    if (self->nsubs == 0)
        return 0;
    Hub__SubscriberStatus **list = calloc(self->nsubs, sizeof *list);
    Hub__SubscriberStatus *items = calloc(self->nsubs, sizeof *items);
    if (!list || !items) {
        free(list);
        free(items);
        return -ENOMEM;
    }
    for (size_t i = 0; i < self->nsubs; i++) {
        const s_sub_t *sub = self->subs[i];
        Hub__SubscriberStatus *s = &items[i];
        hub__subscriber_status__init(s);
        s->name = (char *)sub->name;
        s->n_topics = sub->ntopics;
        s->topics = (char **)sub->topics;
        s->has_connected = 1;
        s->connected = sub->connected;
        s->has_position = 1;
        s->position = sub->position;
        s->has_backlog = 1;
        s->backlog = last > sub->position ? last - sub->position : 0;
        s->has_in_flight = 1;
        s->in_flight = (uint32_t)sub->live;
        s->has_credit = 1;
        s->credit = sub->credit;
        s->has_delivered = 1;
        s->delivered = sub->delivered;
        s->has_redelivered = 1;
        s->redelivered = sub->redelivered;
        s->has_dead_letters = 1;
        s->dead_letters = sub->dead_letters;
        s->has_acked = 1;
        s->acked = sub->acked;
        s->has_oldest_unacked_ms = 1;
        s->oldest_unacked_ms = s_oldest_ms(sub, now_ms);
        list[i] = s;
    }
    reply->subscribers = list;
    reply->n_subscribers = self->nsubs;
    return 0;
}

void hub_delivery_status_free(Hub__StatusReply *reply)
{
    if (reply->n_subscribers > 0) {
        free(reply->subscribers[0]);
        free(reply->subscribers);
    }
    reply->subscribers = NULL;
    reply->n_subscribers = 0;
}
