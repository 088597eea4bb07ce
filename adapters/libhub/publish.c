/*
 * publish - publishing events: blocking (hub_publish, hub_respond) and
 * pipelined (hub_publish_async, hub_publish_wait).
 *
 * Rules:
 *   1. An event is packed once, into a Frame with its own corr, and that
 *      exact Frame is what every (re)send puts on the wire (pending.h rule 1):
 *      a publish resent after a reconnection or a hub restart carries the
 *      same id and is stored once.
 *   2. A publish stays pending until the hub answers it with a PublishAck or
 *      an Error other than UNAVAILABLE; UNAVAILABLE only means "send it
 *      again later", which the resend timer does. A blocking publish also
 *      leaves the table when its call gives up.
 *   3. The outcome ring always has room for every pipelined publish
 *      pending (hub_publish_async reserves it before sending), so that an
 *      answer is never lost for lack of memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "clock.h"
#include "codec.h"
#include "ident.h"
#include "json.h"

#define S_MAX_ID 127 /* bytes of an event id (hub_publish_result_t.id) */

int hub_publish_init(hub_client_t *self)
{
    self->window = HUB_DEFAULT_WINDOW;
    return hub_pending_init(&self->pending);
}

void hub_publish_fini(hub_client_t *self)
{
    hub_pending_fini(&self->pending);
    free(self->outcomes);
    self->outcomes = NULL;
    self->out_head = self->out_len = self->out_cap = 0;
    self->async_pending = 0;
}

/* Makes the outcome ring hold at least 'need' outcomes. Returns 0 or
 * -ENOMEM (the ring is unchanged then). */
static int s_reserve_outcomes(hub_client_t *self, size_t need)
{
    if (need <= self->out_cap)
        return 0;
    size_t cap = self->out_cap ? self->out_cap : 64;
    while (cap < need)
        cap *= 2;
    hub_publish_outcome_t *ring = malloc(cap * sizeof(*ring));
    if (!ring)
        return -ENOMEM;
    for (size_t i = 0; i < self->out_len; i++)
        ring[i] = self->outcomes[(self->out_head + i) % self->out_cap];
    free(self->outcomes);
    self->outcomes = ring;
    self->out_cap = cap;
    self->out_head = 0;
    return 0;
}

/* The outcome slot for a pipelined publish answered now (rule 3: there is
 * room). */
static hub_publish_outcome_t *s_push_outcome(hub_client_t *self)
{
    hub_publish_outcome_t *o = &self->outcomes[(self->out_head + self->out_len) % self->out_cap];
    self->out_len++;
    return o;
}

/* Where the answer to entry goes: the blocking call's slot, or the ring. */
static hub_publish_outcome_t *s_outcome_for(hub_client_t *self, const hub_pending_entry_t *entry)
{
    hub_publish_outcome_t *o;
    if (entry->sync) {
        o = &self->sync_outcome;
        self->sync_done = 1;
    }
    else {
        o = s_push_outcome(self);
        self->async_pending--;
    }
    memset(&o->result, 0, sizeof o->result);
    o->token = entry->corr;
    o->err[0] = '\0';
    memcpy(o->result.id, entry->id, sizeof o->result.id);
    return o;
}

void hub_publish_on_ack(hub_client_t *self, uint64_t corr, const Hub__PublishAck *ack)
{
    hub_pending_entry_t *entry = corr ? hub_pending_find(&self->pending, corr) : NULL;
    if (!entry)
        return; /* an answer to a resend already answered, or a call gave up */
    hub_pending_take(&self->pending, entry);
    hub_publish_outcome_t *o = s_outcome_for(self, entry);
    o->status = 0;
    o->result.seq = ack->has_seq ? ack->seq : 0;
    o->result.duplicate = ack->has_duplicate && ack->duplicate;
    o->result.notifications = ack->has_notifications ? ack->notifications : 0;
    hub_pending_entry_destroy(&entry);
}

int hub_publish_on_error(hub_client_t *self, uint64_t corr, const Hub__Error *error)
{
    hub_pending_entry_t *entry = hub_pending_find(&self->pending, corr);
    if (!entry)
        return 0;
    int rc = hub_client_error_rc(error);
    if (rc == -HUB_EUNAVAILABLE) {
        entry->last_status = rc; /* rule 2: the resend timer tries again */
        hub_client_error_text(error, entry->last_err);
        return 1;
    }
    hub_pending_take(&self->pending, entry);
    hub_publish_outcome_t *o = s_outcome_for(self, entry);
    o->status = rc;
    hub_client_error_text(error, o->err);
    hub_pending_entry_destroy(&entry);
    return 1;
}

/* Sends entry (READY only, rule 1 of the session) and stamps it. A frame
 * the socket cannot take now goes again with the resend timer. */
static void s_send_entry(hub_client_t *self, hub_pending_entry_t *entry, int64_t now)
{
    if (self->ready)
        (void)hub_client_gather(self, entry->frame, entry->frame_len, now);
    hub_pending_touch(&self->pending, entry, now);
}

void hub_publish_on_welcome(hub_client_t *self)
{
    int64_t now = hub_mono_ms();
    /* each send moves the head to the tail: count, so each goes once */
    for (size_t n = self->pending.count; n > 0 && self->pending.head; n--) {
        hub_pending_entry_t *entry = self->pending.head;
        if (hub_client_send_bytes(self, entry->frame, entry->frame_len) == -EAGAIN)
            break; /* the rest keep their older stamps and are due first */
        hub_pending_touch(&self->pending, entry, now);
    }
}

void hub_publish_on_timer(hub_client_t *self, int64_t now_ms)
{
    if (!self->ready)
        return;
    for (size_t n = self->pending.count; n > 0 && self->pending.head; n--) {
        hub_pending_entry_t *entry = self->pending.head;
        if (now_ms - entry->sent_ms < HUB_RESEND_MS)
            break;
        if (hub_client_send_bytes(self, entry->frame, entry->frame_len) == -EAGAIN)
            break;
        hub_pending_touch(&self->pending, entry, now_ms);
    }
}

int64_t hub_publish_next_due(const hub_client_t *self)
{
    if (!self->ready || !self->pending.head)
        return INT64_MAX;
    return self->pending.head->sent_ms + HUB_RESEND_MS;
}

/* Packs ev into a new pending entry (not yet in the table), generating its
 * id when it has none (ev->id is restored before returning). Returns 0 and
 * sets *entry_p; -HUB_EINVALID or -HUB_ETOOLARGE with err; -ENOMEM. */
static int s_prepare(hub_client_t *self, Hub__Event *ev, int sync, hub_pending_entry_t **entry_p,
                     char err[HUB_ERR_LEN])
{
    char generated[HUB_ID_LEN];
    char *given_id = ev->id;
    if (!ev->id || !*ev->id) {
        hub_id_generate(generated);
        ev->id = generated;
    }
    else if (strlen(ev->id) > S_MAX_ID) {
        hub_client_errf(err, "id: longer than %d bytes", S_MAX_ID);
        return -HUB_EINVALID;
    }
    Hub__Publish publish = HUB__PUBLISH__INIT;
    publish.has_batch_acks = 1; /* acks of one commit come in one frame */
    publish.batch_acks = 1;
    publish.event = ev;
    if (self->user[0])
        publish.on_behalf_of = self->user;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = hub_client_corr(self);
    frame.body_case = HUB__FRAME__BODY_PUBLISH;
    frame.publish = &publish;
    int rc = hub_frame_encode(&frame, &self->out);
    hub_pending_entry_t *entry = NULL;
    if (rc == 0 && self->max_frame && self->out.len > self->max_frame) {
        hub_client_errf(err, "event: %zu bytes packed, over the hub's limit of %u", self->out.len,
                        (unsigned)self->max_frame);
        rc = -HUB_ETOOLARGE;
    }
    if (rc == 0) {
        entry = calloc(1, sizeof(*entry));
        if (entry)
            entry->frame = malloc(self->out.len);
        if (!entry || !entry->frame) {
            hub_pending_entry_destroy(&entry);
            hub_client_errf(err, "out of memory");
            rc = -ENOMEM;
        }
    }
    if (rc == 0) {
        memcpy(entry->frame, self->out.data, self->out.len);
        entry->frame_len = self->out.len;
        entry->corr = frame.corr;
        size_t id_len = strlen(ev->id); /* at most S_MAX_ID, checked above; a copy, not a format */
        if (id_len >= sizeof entry->id)
            id_len = sizeof entry->id - 1;
        memcpy(entry->id, ev->id, id_len);
        entry->id[id_len] = '\0';
        entry->first_ms = hub_mono_ms();
        entry->sync = sync;
        *entry_p = entry;
    }
    else if (rc == -ENOMEM)
        hub_client_errf(err, "out of memory");
    ev->id = given_id;
    return rc;
}

/* Puts entry in the table (which owns it from then on) and sends it.
 * Returns 0, or -ENOMEM (the entry is freed then). */
static int s_submit(hub_client_t *self, hub_pending_entry_t *entry, char err[HUB_ERR_LEN])
{
    int rc = hub_pending_add(&self->pending, entry);
    if (rc < 0) {
        hub_pending_entry_destroy(&entry);
        hub_client_errf(err, "out of memory");
        return rc;
    }
    s_send_entry(self, entry, hub_mono_ms());
    return 0;
}

/* Drops the blocking publish corr from the table if it is still there. */
static void s_forget(hub_client_t *self, uint64_t corr)
{
    hub_pending_entry_t *entry = hub_pending_find(&self->pending, corr);
    if (entry) {
        hub_pending_take(&self->pending, entry);
        hub_pending_entry_destroy(&entry);
    }
}

/* Publishes ev and waits for its answer (see hub_publish). Does not take
 * ev: the caller frees it, and may do so as soon as this returns. */
static int s_publish_event(hub_client_t *self, Hub__Event *ev, hub_publish_result_t *res, int timeout_ms,
                           char err[HUB_ERR_LEN])
{
    int64_t start = hub_mono_ms();
    int64_t deadline = hub_client_deadline(self, timeout_ms);
    hub_pending_entry_t *entry = NULL;
    int rc = s_prepare(self, ev, 1, &entry, err);
    if (rc < 0)
        return rc;
    uint64_t corr = entry->corr;
    char id[sizeof entry->id];
    memcpy(id, entry->id, sizeof id);
    self->sync_corr = corr;
    self->sync_done = 0;
    rc = s_submit(self, entry, err);
    while (rc == 0 && !self->sync_done) {
        rc = hub_client_refused(self, err);
        if (rc < 0)
            break;
        int64_t now = hub_mono_ms();
        if (now >= deadline) {
            const hub_pending_entry_t *e = hub_pending_find(&self->pending, corr);
            if (e && e->last_status)
                hub_client_errf(err, "the hub could not take it within %lld ms: %s",
                                (long long)(now - start), e->last_err);
            else
                hub_client_timeout_text(self, NULL, now - start, err);
            rc = -ETIMEDOUT;
            break;
        }
        rc = hub_client_step(self, deadline);
        if (rc < 0)
            hub_client_errf(err, "publish: %s", hub_strerror(rc));
    }
    self->sync_corr = 0;
    if (!self->sync_done) {
        s_forget(self, corr); /* rule 2: the call gave up on it */
        if (res)
            memcpy(res->id, id, sizeof res->id); /* to publish again with */
        return rc;
    }
    self->sync_done = 0;
    if (res)
        *res = self->sync_outcome.result;
    if (self->sync_outcome.status < 0)
        hub_client_errf(err, "%s", self->sync_outcome.err);
    return self->sync_outcome.status;
}

int hub_publish(hub_client_t *self, const char *json, hub_publish_result_t *res, int timeout_ms,
                char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (res)
        memset(res, 0, sizeof *res);
    if (!self || !json)
        return -EINVAL;
    Hub__Event *ev = NULL;
    int rc = hub_event_from_json(json, strlen(json), &ev, err);
    if (rc < 0)
        return rc;
    rc = s_publish_event(self, ev, res, timeout_ms, err);
    hub__event__free_unpacked(ev, NULL);
    return rc;
}

int hub_respond(hub_client_t *self, const char *case_id, const char *department, const char *status,
                const char *note, hub_publish_result_t *res, int timeout_ms, char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (res)
        memset(res, 0, sizeof *res);
    if (!self)
        return -EINVAL;
    if (!case_id || !*case_id) {
        hub_client_errf(err, "case_id: missing");
        return -HUB_EINVALID;
    }
    if (!department || !*department) {
        hub_client_errf(err, "source: missing (the answering department)");
        return -HUB_EINVALID;
    }
    int value = 0;
    if (!status || hub_enum_from_name(&hub__status__descriptor, status, &value) < 0 || value == 0) {
        hub_client_errf(err, "status: \"%s\" is not one of acknowledged, in_progress, resolved, rejected",
                        status ? status : "");
        return -HUB_EINVALID;
    }
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = (char *)"response";
    ev.case_id = (char *)case_id;
    ev.source = (char *)department;
    ev.has_status = 1;
    ev.status = (Hub__Status)value;
    if (note && *note)
        ev.note = (char *)note;
    int rc = hub_event_validate(&ev, err);
    if (rc < 0)
        return rc;
    return s_publish_event(self, &ev, res, timeout_ms, err);
}

int hub_publish_async(hub_client_t *self, const char *json, uint64_t *token_p, char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (!self || !json || !token_p)
        return -EINVAL;
    *token_p = 0;
    Hub__Event *ev = NULL;
    int rc = hub_event_from_json(json, strlen(json), &ev, err);
    if (rc < 0)
        return rc;
    if (self->async_pending >= self->window) {
        int64_t start = hub_mono_ms();
        int64_t deadline = start + self->timeout_ms;
        while (rc == 0 && self->async_pending >= self->window) {
            rc = hub_client_refused(self, err);
            if (rc < 0)
                break;
            int64_t now = hub_mono_ms();
            if (now >= deadline) {
                hub_client_timeout_text(self, NULL, now - start, err);
                rc = -ETIMEDOUT;
                break;
            }
            rc = hub_client_step(self, deadline);
            if (rc < 0)
                hub_client_errf(err, "publish: %s", hub_strerror(rc));
        }
    }
    hub_pending_entry_t *entry = NULL;
    if (rc == 0)
        rc = s_reserve_outcomes(self, self->out_len + self->async_pending + 1);
    if (rc == -ENOMEM)
        hub_client_errf(err, "out of memory");
    if (rc == 0)
        rc = s_prepare(self, ev, 0, &entry, err);
    if (rc == 0) {
        uint64_t corr = entry->corr;
        rc = s_submit(self, entry, err);
        if (rc == 0) {
            self->async_pending++;
            *token_p = corr;
        }
    }
    hub__event__free_unpacked(ev, NULL);
    return rc;
}

int hub_publish_wait(hub_client_t *self, hub_publish_outcome_t *out, int max, int timeout_ms)
{
    if (!self || !out || max <= 0)
        return -EINVAL;
    int64_t deadline = hub_client_deadline(self, timeout_ms);
    (void)hub_client_flush(self); /* the publishes gathered go, even when outcomes wait here */
    for (int stepped = 0;; stepped = 1) {
        if (self->out_len > 0) {
            int n = 0;
            while (n < max && self->out_len > 0) {
                out[n++] = self->outcomes[self->out_head];
                self->out_head = (self->out_head + 1) % self->out_cap;
                self->out_len--;
            }
            return n;
        }
        if (self->async_pending == 0 || (stepped && hub_mono_ms() >= deadline))
            return 0;
        int rc = hub_client_step(self, deadline);
        if (rc < 0)
            return rc;
    }
}

int hub_publish_deferred(const hub_client_t *self, char err[HUB_ERR_LEN])
{
    const hub_pending_entry_t *latest = NULL;
    for (const hub_pending_entry_t *e = self->pending.head; e; e = e->next)
        if (e->last_status && (!latest || e->sent_ms >= latest->sent_ms))
            latest = e;
    if (!latest)
        return 0;
    if (err)
        snprintf(err, HUB_ERR_LEN, "%s", latest->last_err);
    return latest->last_status;
}

size_t hub_publish_pending(const hub_client_t *self)
{
    return self ? self->pending.count : 0;
}

void hub_client_set_window(hub_client_t *self, size_t window)
{
    if (self)
        self->window = window ? window : 1;
}
