/*
 * query - see query.h for the rules a reading keeps.
 *
 * One pass over the window, newest first. Each event is first looked at
 * as a source of items (its notifications that pass the filters), then, if
 * it is a response, remembered as the latest answer of its department on
 * its case: every answer remembered when an item is made came after that
 * item's event, and the first one remembered for a (case, department) is
 * the latest (rule 3). The pass stops once the limit is passed, the frame
 * is full, or the events are older than after_seq.
 */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "codec.h"
#include "json.h"
#include "log.h"
#include "redact.h"

#define S_SCRATCH 4096     /* bytes for the strings of one route read */
#define S_ITEM_OVERHEAD 16 /* bytes of a NotificationList item besides its own: tag and length */
#define S_LIST_SLACK 64    /* bytes of a reply frame besides its items, at most */

/* The latest answer of a department on a case (rule 3). */
typedef struct {
    char *case_id;      /* owned; NULL: a free slot */
    char *department;   /* owned */
    int64_t at_ms;      /* when the response was stored */
    char status[HUB_ENUM_NAME_LEN]; /* "resolved", ... ("" when it had none) */
    char *note;         /* owned; NULL when none */
    char *actor;        /* owned */
} s_answer_t;

/* One item and the strings it points at, in one block. */
typedef struct {
    Hub__NotificationState state;
    Hub__Notification n;
    char respond_by[HUB_TIME_LEN];
    char received_at[HUB_TIME_LEN];
    char text[];        /* the strings, one after the other */
} s_item_t;

struct hub_query_result {
    Hub__NotificationList list;     /* what is sent */
    Hub__NotificationState **items; /* list.items */
    s_item_t **blocks;              /* one per item (owned) */
    Hub__Event **events;            /* the items' events, unpacked (owned) */
    size_t nitems, cap;
};

/* What one reading carries through the pass. */
typedef struct {
    hub_store_t *store;
    const Hub__NotificationQuery *q;
    hub_query_result_t *result;
    size_t limit;          /* items at most */
    uint64_t before;       /* items: seq < before */
    uint64_t after;        /* items: seq > after */
    size_t max_bytes;      /* the items' packed size at most */
    size_t bytes;          /* the items' packed size so far */
    int truncated;         /* more matched than were kept */
    int rc;                /* the first failure, or 0 */
    s_answer_t *answers;   /* open addressing by (case, department) */
    size_t nanswers, answers_cap;
    hub_buf_t redacted;    /* one redacted event, reused */
} s_reading_t;

/* ------------------------------------------------------------ helpers */

int hub_query_contains(const char *hay, const char *needle)
{
    if (!hay || !needle)
        return 0;
    size_t n = strlen(needle), h = strlen(hay);
    for (size_t i = 0; i + n <= h; i++) {
        size_t k = 0;
        while (k < n) {
            unsigned char a = (unsigned char)hay[i + k], b = (unsigned char)needle[k];
            if (a >= 'A' && a <= 'Z')
                a = (unsigned char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z')
                b = (unsigned char)(b - 'A' + 'a');
            if (a != b)
                break;
            k++;
        }
        if (k == n)
            return 1;
    }
    return 0;
}

static uint32_t s_hash(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (const char *p = a; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ 0xffu) * 16777619u; /* a separator no UTF-8 text holds */
    for (const char *p = b; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

/* The answer slot of (case_id, department): its own, or the free slot
 * where it would go. The table must have one. */
static s_answer_t *s_answer_slot(s_reading_t *r, const char *case_id, const char *department)
{
    for (size_t i = s_hash(case_id, department) & (r->answers_cap - 1);; i = (i + 1) & (r->answers_cap - 1)) {
        s_answer_t *a = &r->answers[i];
        if (!a->case_id || (strcmp(a->case_id, case_id) == 0 && strcmp(a->department, department) == 0))
            return a;
    }
}

static const s_answer_t *s_answer_find(s_reading_t *r, const char *case_id, const char *department)
{
    if (!r->answers_cap || !*case_id)
        return NULL;
    const s_answer_t *a = s_answer_slot(r, case_id, department);
    return a->case_id ? a : NULL;
}

/* Doubles the answer table (kept at most half full). Returns 0 or -ENOMEM. */
static int s_answers_grow(s_reading_t *r)
{
    size_t cap = r->answers_cap ? r->answers_cap * 2 : 256;
    s_answer_t *old = r->answers;
    size_t old_cap = r->answers_cap;
    r->answers = calloc(cap, sizeof *r->answers);
    if (!r->answers) {
        r->answers = old;
        return -ENOMEM;
    }
    r->answers_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].case_id)
            *s_answer_slot(r, old[i].case_id, old[i].department) = old[i];
    free(old);
    return 0;
}

static void s_answer_free(s_answer_t *a)
{
    free(a->case_id);
    free(a->department);
    free(a->note);
    free(a->actor);
    memset(a, 0, sizeof *a);
}

/* Remembers rec, a response, as the latest answer of its department on
 * its case unless a later one is known. Returns 0 or -ENOMEM. */
static int s_note_response(s_reading_t *r, const hub_store_record_t *rec)
{
    const Hub__NotificationQuery *q = r->q;
    if (!*rec->row.case_id || (q->case_id && strcmp(q->case_id, rec->row.case_id) != 0))
        return 0;
    Hub__Event *ev = hub__event__unpack(NULL, rec->row.event_len, rec->row.event);
    if (!ev)
        return 0; /* not readable: not an answer */
    int rc = 0;
    if (!ev->source || !*ev->source || (q->department && strcmp(q->department, ev->source) != 0))
        goto done;
    if ((r->nanswers + 1) * 2 > r->answers_cap && (rc = s_answers_grow(r)) != 0)
        goto done;
    s_answer_t *a = s_answer_slot(r, rec->row.case_id, ev->source);
    if (a->case_id)
        goto done; /* a later answer is known */
    a->case_id = strdup(rec->row.case_id);
    a->department = strdup(ev->source);
    a->actor = strdup(rec->actor);
    a->note = ev->note ? strdup(ev->note) : NULL;
    if (!a->case_id || !a->department || !a->actor || (ev->note && !a->note)) {
        s_answer_free(a);
        rc = -ENOMEM;
        goto done;
    }
    a->at_ms = rec->row.received_ms;
    a->status[0] = '\0';
    if (ev->has_status && ev->status != HUB__STATUS__STATUS_UNSPECIFIED)
        hub_enum_to_name(&hub__status__descriptor, ev->status, a->status, sizeof a->status);
    r->nanswers++;
done:
    hub__event__free_unpacked(ev, NULL);
    return rc;
}

/* Copies text into the block at *at and returns the copy. */
static char *s_put(char **at, const char *text)
{
    size_t n = strlen(text) + 1;
    char *copy = *at;
    memcpy(copy, text, n);
    *at += n;
    return copy;
}

/* Makes room for one more item. Returns 0 or -ENOMEM. */
static int s_result_reserve(hub_query_result_t *res)
{
    if (res->nitems < res->cap)
        return 0;
    size_t cap = res->cap ? res->cap * 2 : 16;
    Hub__NotificationState **items = realloc(res->items, cap * sizeof *items);
    if (items)
        res->items = items;
    s_item_t **blocks = items ? realloc(res->blocks, cap * sizeof *blocks) : NULL;
    if (blocks)
        res->blocks = blocks;
    Hub__Event **events = blocks ? realloc(res->events, cap * sizeof *events) : NULL;
    if (!events)
        return -ENOMEM;
    res->events = events;
    res->cap = cap;
    return 0;
}

/* ------------------------------------------------------------ the pass */

/* Adds slot of the stored event row, with its route, when it passes the
 * filters; dl: the dead letter it is, or NULL for a notification. Returns
 * 0 to go on, 1 when the reading is done (limit or frame full), or a
 * negative code. */
static int s_consider(s_reading_t *r, const hub_store_row_t *row, uint32_t slot, const hub_route_view_t *route,
                      const hub_store_dead_letter_t *dl)
{
    const Hub__NotificationQuery *q = r->q;
    if (q->department && strcmp(q->department, route->department) != 0)
        return 0;
    const uint8_t *bytes = row->event;
    size_t len = row->event_len;
    if (route->nfields > 0) {
        int rc = hub_redact(&hub__event__descriptor, bytes, len, route->fields, route->nfields, &r->redacted);
        if (rc == -ENOMEM)
            return rc;
        if (rc != 0) {
            hub_warn("query: event %llu cannot be redacted; left out", (unsigned long long)row->seq);
            return 0;
        }
        bytes = r->redacted.data;
        len = r->redacted.len;
    }
    Hub__Event *ev = hub__event__unpack(NULL, len, bytes);
    if (!ev) {
        hub_warn("query: event %llu cannot be read; left out", (unsigned long long)row->seq);
        return 0;
    }
    if (q->customer && !(ev->customer && (hub_query_contains(ev->customer->id, q->customer) ||
                                          hub_query_contains(ev->customer->name, q->customer)))) {
        hub__event__free_unpacked(ev, NULL);
        return 0;
    }
    const s_answer_t *answer = dl ? NULL : s_answer_find(r, row->case_id, route->department);
    if (q->has_open_only && q->open_only && answer &&
        (strcmp(answer->status, "resolved") == 0 || strcmp(answer->status, "rejected") == 0)) {
        hub__event__free_unpacked(ev, NULL);
        return 0;
    }
    hub_query_result_t *res = r->result;
    if (res->nitems == r->limit) {
        hub__event__free_unpacked(ev, NULL);
        r->truncated = 1;
        return 1;
    }
    /* the item and every string it points at, in one block */
    size_t text = strlen(route->topic) + strlen(route->name) + strlen(route->reason) + strlen(route->department) +
                  strlen(route->kind) + strlen(row->id) + 6;
    if (answer)
        text += strlen(answer->status) + strlen(answer->actor) + (answer->note ? strlen(answer->note) : 0) + 3;
    if (dl)
        text += strlen(dl->subscriber) + strlen(dl->reason) + strlen(dl->state) + strlen(dl->actor) + 4;
    s_item_t *item = s_result_reserve(res) == 0 ? calloc(1, sizeof *item + text) : NULL;
    if (!item) {
        hub__event__free_unpacked(ev, NULL);
        return -ENOMEM;
    }
    char *at = item->text;
    hub_route_view_t copy = *route;
    copy.topic = s_put(&at, route->topic);
    copy.name = s_put(&at, route->name);
    copy.reason = s_put(&at, route->reason);
    copy.department = s_put(&at, route->department);
    copy.kind = s_put(&at, route->kind);
    const char *event_id = s_put(&at, row->id);
    hub_time_format(row->received_ms, item->received_at);
    hub_notification_from_route(&item->n, &copy, row->seq, slot, event_id, item->received_at,
                                item->respond_by);
    item->n.event = ev;
    Hub__NotificationState *st = &item->state;
    hub__notification_state__init(st);
    st->notification = &item->n;
    st->answer = (char *)"";
    if (answer) {
        st->answer = s_put(&at, answer->status);
        st->answered_by = s_put(&at, answer->actor);
        st->answer_note = answer->note ? s_put(&at, answer->note) : NULL;
        st->has_answered_at_ms = 1;
        st->answered_at_ms = answer->at_ms;
    }
    if (dl) {
        st->subscriber = s_put(&at, dl->subscriber);
        st->dead_letter_reason = s_put(&at, dl->reason);
        st->dead_letter_state = s_put(&at, dl->state);
        st->dead_letter_by = *dl->actor ? s_put(&at, dl->actor) : NULL;
        st->has_redrive_seq = dl->redrive_seq > 0;
        st->redrive_seq = dl->redrive_seq;
        st->has_orig_seq = st->has_orig_slot = 1;
        st->orig_seq = dl->orig_seq;
        st->orig_slot = dl->orig_slot;
    }
    st->has_breached = st->has_escalated = 1;
    if (route->respond_by_ms > 0) {
        hub_store_deadline_state_t d;
        int found = hub_store_deadline_state(r->store, row->seq, slot, &d);
        if (found < 0) {
            hub__event__free_unpacked(ev, NULL);
            free(item);
            return found;
        }
        st->breached = found == 1 && d.breached_ms > 0;
        st->escalated = found == 1 && d.escalation_seq > 0;
    }
    size_t size = protobuf_c_message_get_packed_size(&st->base) + S_ITEM_OVERHEAD;
    if (r->bytes + size > r->max_bytes) {
        hub__event__free_unpacked(ev, NULL);
        free(item);
        r->truncated = 1;
        return 1;
    }
    r->bytes += size;
    res->items[res->nitems] = st;
    res->blocks[res->nitems] = item;
    res->events[res->nitems] = ev;
    res->nitems++;
    return 0;
}

/* hub_store_record_fn of the pass. */
static int s_visit(const hub_store_record_t *rec, void *arg)
{
    s_reading_t *r = arg;
    const Hub__NotificationQuery *q = r->q;
    if (rec->row.seq <= r->after)
        return 1; /* older than anything asked for: nothing more to find */
    int is_response = strcmp(rec->type, "response") == 0;
    if (rec->row.seq < r->before && strcmp(rec->type, "dead_letter") != 0 &&
        (!q->case_id || strcmp(q->case_id, rec->row.case_id) == 0)) {
        char scratch[S_SCRATCH];
        hub_route_view_t route;
        hub_route_bytes_t bytes;
        size_t pos = 0;
        for (uint32_t slot = 0;; slot++) {
            int found = hub_routing_next(rec->row.routing, rec->row.routing_len, &pos, &bytes);
            if (found > 0)
                found = hub_route_read(&bytes, &route, scratch, sizeof scratch);
            if (found == 0)
                break;
            if (found < 0) {
                hub_warn("query: event %llu slot %u: stored routing cannot be read; left out",
                         (unsigned long long)rec->row.seq, slot);
                break;
            }
            int rc = s_consider(r, &rec->row, slot, &route, NULL);
            if (rc != 0) {
                if (rc < 0)
                    r->rc = rc;
                return 1;
            }
        }
    }
    if (is_response) {
        int rc = s_note_response(r, rec);
        if (rc < 0) {
            r->rc = rc;
            return 1;
        }
    }
    return 0;
}

/* What the pass over the dead letters carries for one of them. */
typedef struct {
    s_reading_t *r;
    const hub_store_dead_letter_t *dl;
    int done;              /* 1: the reading is done */
} s_dead_visit_t;

/* hub_store_row_fn: the dead letter's own event. */
static int s_dead_event(const hub_store_row_t *row, void *arg)
{
    s_dead_visit_t *v = arg;
    s_reading_t *r = v->r;
    if (r->q->case_id && strcmp(r->q->case_id, row->case_id) != 0)
        return 1;
    char scratch[S_SCRATCH];
    hub_route_view_t route;
    if (hub_routing_route(row->routing, row->routing_len, 0, &route, scratch, sizeof scratch) != 1) {
        hub_warn("query: dead letter %llu: stored routing cannot be read; left out", (unsigned long long)row->seq);
        return 1;
    }
    int rc = s_consider(r, row, 0, &route, v->dl);
    if (rc < 0)
        r->rc = rc;
    v->done = rc != 0;
    return 1;
}

/* hub_store_dead_letter_fn of the pass over the dead letters. */
static int s_visit_dead(const hub_store_dead_letter_t *dl, void *arg)
{
    s_reading_t *r = arg;
    s_dead_visit_t v = {r, dl, 0};
    int found = hub_store_get(r->store, dl->seq, s_dead_event, &v);
    if (found < 0) {
        r->rc = found;
        return 1;
    }
    return v.done;
}

/* A reading of notifications (dead 0) or of dead letters (dead 1). */
static int s_query(hub_store_t *store, const Hub__NotificationQuery *q, size_t max_bytes, int dead,
                   hub_query_result_t **result_p, char err[HUB_ERR_LEN]);

int hub_query_notifications(hub_store_t *store, const Hub__NotificationQuery *q, size_t max_bytes,
                            hub_query_result_t **result_p, char err[HUB_ERR_LEN])
{
    return s_query(store, q, max_bytes, 0, result_p, err);
}

static int s_query(hub_store_t *store, const Hub__NotificationQuery *q, size_t max_bytes, int dead,
                   hub_query_result_t **result_p, char err[HUB_ERR_LEN])
{
    *result_p = NULL;
    hub_query_result_t *res = calloc(1, sizeof *res);
    if (!res) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    hub__notification_list__init(&res->list);
    uint64_t last = hub_store_last_seq(store);
    size_t window = q->has_window && q->window > 0 ? q->window : HUB_QUERY_DEFAULT_WINDOW;
    if (window > HUB_QUERY_MAX_WINDOW)
        window = HUB_QUERY_MAX_WINDOW;
    size_t limit = q->has_limit && q->limit > 0 ? q->limit : HUB_QUERY_DEFAULT_LIMIT;
    if (limit > HUB_QUERY_MAX_LIMIT)
        limit = HUB_QUERY_MAX_LIMIT;
    s_reading_t r = {
        .store = store,
        .q = q,
        .result = res,
        .limit = limit,
        .before = q->has_before_seq && q->before_seq > 0 ? q->before_seq : UINT64_MAX,
        .after = q->has_after_seq ? q->after_seq : 0,
        .max_bytes = max_bytes > S_LIST_SLACK ? max_bytes - S_LIST_SLACK : 0,
        .redacted = HUB_BUF_INIT,
    };
    int visited = 0;
    if (dead && last > 0) {
        /* the window's dead letters, within before_seq and after_seq */
        uint64_t lo = last > window ? last - window + 1 : 1, hi = last;
        if (r.after >= lo)
            lo = r.after + 1;
        if (r.before <= hi)
            hi = r.before - 1;
        if (lo <= hi)
            visited = hub_store_dead_letters(store, lo, hi, q->department, q->has_open_only && q->open_only,
                                             s_visit_dead, &r);
    } else if (last > 0) {
        visited = hub_store_scan_back(store, last, window, s_visit, &r);
    }
    int rc = visited < 0 ? visited : r.rc;
    for (size_t i = 0; i < r.answers_cap; i++)
        s_answer_free(&r.answers[i]);
    free(r.answers);
    hub_buf_fini(&r.redacted);
    if (rc < 0) {
        snprintf(err, HUB_ERR_LEN, "%s", rc == -ENOMEM ? "out of memory" : "store: reading the events failed");
        hub_query_result_destroy(&res);
        return rc;
    }
    res->list.n_items = res->nitems;
    res->list.items = res->items;
    res->list.has_last_seq = 1;
    res->list.last_seq = last;
    res->list.has_truncated = 1;
    res->list.truncated = r.truncated;
    *result_p = res;
    return 0;
}

int hub_query_dead_letters(hub_store_t *store, const Hub__NotificationQuery *q, size_t max_bytes,
                           hub_query_result_t **result_p, char err[HUB_ERR_LEN])
{
    return s_query(store, q, max_bytes, 1, result_p, err);
}

Hub__NotificationList *hub_query_list(hub_query_result_t *self)
{
    return &self->list;
}

void hub_query_result_destroy(hub_query_result_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_query_result_t *self = *self_p;
    for (size_t i = 0; i < self->nitems; i++) {
        hub__event__free_unpacked(self->events[i], NULL);
        free(self->blocks[i]);
    }
    free(self->items);
    free(self->blocks);
    free(self->events);
    free(self);
    *self_p = NULL;
}
