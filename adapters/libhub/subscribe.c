/*
 * subscribe - the client's one durable subscription: Subscribe and its
 * answer, the queue of deliveries, duplicate suppression, acks and nacks.
 *
 * Rules:
 *   1. Deliveries are queued as they arrive and checked against the refs
 *      already handed out only when hub_receive hands them out, so that a
 *      copy queued twice (a redelivery after a reconnection) is caught too.
 *   2. A ref goes to the application at most once while it is remembered
 *      (dedup.h), unless the application nacked it: a nack forgets it, so
 *      the redelivery the application asked for reaches it.
 *   3. A dropped duplicate is acknowledged again when the application had
 *      acknowledged it (the hub lost that ack: a restart, a new session).
 *      One the application still holds is dropped without an ack: its own
 *      ack or nack will settle it.
 *   4. Acks are kept until READY with a Subscribe out (they name the
 *      subscriber; the hub applies them in order after the Subscribe), and
 *      leave in frames of at most HUB_ACK_BATCH refs.
 *   5. The first Subscribe uses the caller's start; once the hub confirmed
 *      one, every later session resumes (START_RESUME) where the acks left
 *      the durable position.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "clock.h"

#define S_MAX_NAME 63     /* bytes of a durable subscriber name */
#define S_MAX_TOPICS 32   /* patterns per subscription */
#define S_MAX_PATTERN 128 /* bytes of one pattern */

int hub_subscribe_init(hub_client_t *self)
{
    return hub_dedup_init(&self->dedup, HUB_DEDUP_CAPACITY);
}

static void s_free_params(hub_client_t *self)
{
    for (size_t i = 0; i < self->sub_ntopics; i++)
        free(self->sub_topics[i]);
    free(self->sub_topics);
    free(self->sub_name);
    self->sub_topics = NULL;
    self->sub_ntopics = 0;
    self->sub_name = NULL;
}

void hub_subscribe_fini(hub_client_t *self)
{
    while (self->q_len > 0) {
        hub_notification_destroy(&self->queue[self->q_head]);
        self->q_head = (self->q_head + 1) % self->q_cap;
        self->q_len--;
    }
    free(self->queue);
    self->queue = NULL;
    self->q_cap = self->q_head = 0;
    free(self->acks);
    self->acks = NULL;
    self->n_acks = self->acks_cap = 0;
    s_free_params(self);
    hub_dedup_fini(&self->dedup);
    self->sub_state = HUB_SUB_NONE;
}

/* Sends the Subscribe (READY only). The state is SENT afterwards, or stays
 * WANTED when the socket cannot take it now (the next step retries). */
static void s_send_subscribe(hub_client_t *self)
{
    Hub__Subscribe sub = HUB__SUBSCRIBE__INIT;
    sub.name = self->sub_name;
    sub.n_topics = self->sub_ntopics;
    sub.topics = self->sub_topics;
    sub.has_start = 1;
    sub.start = self->sub_start;
    if (self->sub_start == HUB__START__START_SEQ) {
        sub.has_start_seq = 1;
        sub.start_seq = self->sub_start_seq;
    }
    sub.has_credit = 1;
    sub.credit = self->sub_credit;
    sub.has_batch = 1;
    sub.batch = HUB_CLIENT_BATCH;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = hub_client_corr(self);
    frame.body_case = HUB__FRAME__BODY_SUBSCRIBE;
    frame.subscribe = &sub;
    if (hub_client_send(self, &frame) == 0) {
        self->sub_corr = frame.corr;
        self->sub_state = HUB_SUB_SENT;
    }
}

void hub_subscribe_flush_acks(hub_client_t *self)
{
    if (!self->ready || !self->sock)
        return;
    if (self->sub_state == HUB_SUB_WANTED)
        s_send_subscribe(self);
    if (self->sub_state != HUB_SUB_SENT && self->sub_state != HUB_SUB_ACTIVE)
        return;
    size_t done = 0;
    while (done < self->n_acks) {
        size_t n = self->n_acks - done;
        if (n > HUB_ACK_BATCH)
            n = HUB_ACK_BATCH;
        if (hub_frame_encode_ack(hub_client_corr(self), self->sub_name, self->acks + done, n, &self->out) < 0 ||
            hub_client_send_bytes(self, self->out.data, self->out.len) < 0)
            break; /* kept for the next step */
        done += n;
    }
    if (done > 0) {
        memmove(self->acks, self->acks + done, (self->n_acks - done) * sizeof(*self->acks));
        self->n_acks -= done;
    }
}

void hub_subscribe_on_welcome(hub_client_t *self)
{
    if (self->sub_state == HUB_SUB_SENT || self->sub_state == HUB_SUB_ACTIVE)
        self->sub_state = HUB_SUB_WANTED; /* rule 5: sub_start says from where */
    hub_subscribe_flush_acks(self);
}

void hub_subscribe_on_subscribed(hub_client_t *self, uint64_t corr, const Hub__Subscribed *sub)
{
    if (corr == 0 || corr != self->sub_corr || self->sub_state != HUB_SUB_SENT) {
        self->frames_dropped++;
        return;
    }
    self->sub_state = HUB_SUB_ACTIVE;
    self->sub_start = HUB__START__START_RESUME; /* rule 5 */
    self->sub_position = sub->has_position ? sub->position : 0;
    self->sub_granted = sub->has_credit ? sub->credit : self->sub_credit;
}

int hub_subscribe_on_error(hub_client_t *self, uint64_t corr, const Hub__Error *error)
{
    if (corr == 0 || corr != self->sub_corr || self->sub_state != HUB_SUB_SENT)
        return 0;
    self->sub_state = HUB_SUB_REFUSED;
    self->sub_rc = hub_client_error_rc(error);
    hub_client_error_text(error, self->sub_err);
    return 1;
}

/* Makes the queue hold at least more more. Returns 0 or -ENOMEM. */
static int s_queue_reserve(hub_client_t *self, size_t more)
{
    if (self->q_len + more <= self->q_cap)
        return 0;
    size_t cap = self->q_cap ? self->q_cap * 2 : 128;
    while (cap < self->q_len + more)
        cap *= 2;
    hub_notification_t **ring = malloc(cap * sizeof(*ring));
    if (!ring)
        return -ENOMEM;
    for (size_t i = 0; i < self->q_len; i++)
        ring[i] = self->queue[(self->q_head + i) % self->q_cap];
    free(self->queue);
    self->queue = ring;
    self->q_cap = cap;
    self->q_head = 0;
    return 0;
}

void hub_subscribe_on_deliver(hub_client_t *self, Hub__Frame **frame_p)
{
    const Hub__Deliver *deliver = (*frame_p)->deliver;
    size_t count = deliver ? 1 + deliver->n_more : 0;
    if (!deliver || !deliver->notification || count > HUB_CLIENT_BATCH_MAX || !self->sub_name ||
        !deliver->name || strcmp(deliver->name, self->sub_name) != 0 || s_queue_reserve(self, count) < 0) {
        /* not for us, more than we take, or no room: the hub redelivers
         * what is not acked */
        self->frames_dropped++;
        return;
    }
    /* the notifications of one frame share it: wrapped into the queue's
     * free slots, which need not be contiguous, through a small array */
    hub_notification_t *batch[HUB_CLIENT_BATCH_MAX];
    if (hub_notification_wrap(frame_p, batch, count) != 0) {
        self->frames_dropped++;
        return;
    }
    for (size_t i = 0; i < count; i++)
        self->queue[(self->q_head + self->q_len + i) % self->q_cap] = batch[i];
    self->q_len += count;
}

/* Keeps ref for the next Ack frame. Returns 0 or -ENOMEM. */
static int s_keep_ack(hub_client_t *self, uint64_t seq, uint32_t slot)
{
    if (self->n_acks == self->acks_cap) {
        size_t cap = self->acks_cap ? self->acks_cap * 2 : HUB_ACK_BATCH;
        hub_ack_ref_t *acks = realloc(self->acks, cap * sizeof(*acks));
        if (!acks)
            return -ENOMEM;
        self->acks = acks;
        self->acks_cap = cap;
    }
    self->acks[self->n_acks].seq = seq;
    self->acks[self->n_acks].slot = slot;
    if (self->n_acks++ == 0)
        self->acks_since_ms = hub_mono_ms();
    return 0;
}

/* Copies text (which may be NULL) to a new string. Returns it or NULL. */
static char *s_strdup(const char *text, size_t max)
{
    if (!text || !*text || strlen(text) > max)
        return NULL;
    return strdup(text);
}

int hub_subscribe(hub_client_t *self, const char *name, const char *const *topics, size_t ntopics, hub_from_t from,
                  uint64_t from_seq, uint32_t credit, int timeout_ms, char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (!self)
        return -EINVAL;
    if (self->sub_state == HUB_SUB_ACTIVE) {
        hub_client_errf(err, "already subscribed as \"%s\": one subscription per client", self->sub_name);
        return -HUB_EINVALID;
    }
    if (!name || !*name || strlen(name) > S_MAX_NAME) {
        hub_client_errf(err, "name: must be 1 to %d bytes", S_MAX_NAME);
        return -HUB_EINVALID;
    }
    if (!topics || ntopics == 0 || ntopics > S_MAX_TOPICS) {
        hub_client_errf(err, "topics: give 1 to %d patterns", S_MAX_TOPICS);
        return -HUB_EINVALID;
    }
    Hub__Start start;
    switch (from) {
    case HUB_FROM_RESUME:
        start = HUB__START__START_RESUME;
        break;
    case HUB_FROM_EARLIEST:
        start = HUB__START__START_EARLIEST;
        break;
    case HUB_FROM_LATEST:
        start = HUB__START__START_LATEST;
        break;
    case HUB_FROM_SEQ:
        start = HUB__START__START_SEQ;
        break;
    default:
        hub_client_errf(err, "start: unknown value %d", (int)from);
        return -HUB_EINVALID;
    }

    char *name_copy = s_strdup(name, S_MAX_NAME);
    char **topics_copy = calloc(ntopics, sizeof(*topics_copy));
    int rc = name_copy && topics_copy ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < ntopics; i++) {
        topics_copy[i] = s_strdup(topics[i], S_MAX_PATTERN);
        if (!topics_copy[i])
            rc = topics[i] && *topics[i] && strlen(topics[i]) <= S_MAX_PATTERN ? -ENOMEM : -HUB_EINVALID;
    }
    if (rc < 0) {
        if (rc == -HUB_EINVALID)
            hub_client_errf(err, "topics: each pattern must be 1 to %d bytes", S_MAX_PATTERN);
        else
            hub_client_errf(err, "out of memory");
        for (size_t i = 0; topics_copy && i < ntopics; i++)
            free(topics_copy[i]);
        free(topics_copy);
        free(name_copy);
        return rc;
    }
    s_free_params(self);
    self->sub_name = name_copy;
    self->sub_topics = topics_copy;
    self->sub_ntopics = ntopics;
    self->sub_start = start;
    self->sub_start_seq = from_seq;
    self->sub_credit = credit ? credit : HUB_DEFAULT_CREDIT;
    self->sub_rc = 0;
    self->sub_err[0] = '\0';
    self->sub_corr = 0;
    self->sub_state = HUB_SUB_WANTED;
    hub_subscribe_flush_acks(self); /* sends it now when READY */

    int64_t begin = hub_mono_ms();
    int64_t deadline = hub_client_deadline(self, timeout_ms);
    for (;;) {
        if (self->sub_state == HUB_SUB_ACTIVE)
            return 0;
        if (self->sub_state == HUB_SUB_REFUSED) {
            hub_client_errf(err, "%s", self->sub_err);
            return self->sub_rc;
        }
        rc = hub_client_refused(self, err);
        if (rc < 0)
            return rc;
        int64_t now = hub_mono_ms();
        if (now >= deadline) {
            /* still wanted: a later call's step may complete it */
            hub_client_timeout_text(self, NULL, now - begin, err);
            return -ETIMEDOUT;
        }
        rc = hub_client_step(self, deadline);
        if (rc < 0) {
            hub_client_errf(err, "subscribe: %s", hub_strerror(rc));
            return rc;
        }
    }
}

int hub_receive(hub_client_t *self, hub_notification_t **out, int timeout_ms)
{
    if (!self || !out)
        return -EINVAL;
    *out = NULL;
    if (self->sub_state == HUB_SUB_NONE)
        return -EINVAL;
    (void)hub_client_flush(self); /* publishes gathered go, even when notifications wait here */
    /* while notifications of the same frames wait here, their acks go
     * together (one Ack frame, not one per receive), but none is kept
     * long: the hub's ack timeout runs meanwhile */
    if (self->q_len == 0 || self->n_acks >= HUB_ACK_BATCH ||
        (self->n_acks > 0 && hub_mono_ms() - self->acks_since_ms >= HUB_ACK_DELAY_MS))
        hub_subscribe_flush_acks(self);
    int64_t deadline = 0; /* set when the queue first runs dry: a queued notification needs no clock */
    for (int stepped = 0;; stepped = 1) {
        while (self->q_len > 0) {
            hub_notification_t *n = self->queue[self->q_head];
            self->q_head = (self->q_head + 1) % self->q_cap;
            self->q_len--;
            uint64_t seq = hub_notification_seq(n);
            uint32_t slot = hub_notification_slot(n);
            if (hub_dedup_add(&self->dedup, seq, slot)) {
                *out = n;
                return 1;
            }
            /* rule 3: a duplicate */
            if (hub_dedup_marked(&self->dedup, seq, slot))
                (void)s_keep_ack(self, seq, slot);
            hub_notification_destroy(&n);
        }
        if (self->sub_state == HUB_SUB_REFUSED)
            return self->sub_rc;
        int rc = hub_client_refused(self, NULL);
        if (rc < 0)
            return rc;
        if (!stepped)
            deadline = hub_client_deadline(self, timeout_ms);
        else if (hub_mono_ms() >= deadline)
            return 0;
        rc = hub_client_step(self, deadline);
        if (rc < 0)
            return rc;
    }
}

int hub_ack(hub_client_t *self, const hub_notification_t *n)
{
    if (!self || !n)
        return -EINVAL;
    if (self->sub_state == HUB_SUB_NONE)
        return -EINVAL;
    uint64_t seq = hub_notification_seq(n);
    uint32_t slot = hub_notification_slot(n);
    int rc = s_keep_ack(self, seq, slot);
    if (rc < 0)
        return rc;
    hub_dedup_mark(&self->dedup, seq, slot); /* rule 3, for a duplicate of it */
    /* With nothing more queued the application is about to wait, or to do
     * something else for a while: an ack kept until its next call could
     * outlive the hub's ack timeout, so it goes now. */
    if (self->n_acks >= HUB_ACK_BATCH || self->q_len == 0)
        hub_subscribe_flush_acks(self);
    return 0;
}

int hub_nack(hub_client_t *self, const hub_notification_t *n, const char *reason, int dead_letter)
{
    if (!self || !n)
        return -EINVAL;
    if (self->sub_state == HUB_SUB_NONE)
        return -EINVAL;
    uint64_t seq = hub_notification_seq(n);
    uint32_t slot = hub_notification_slot(n);
    hub_dedup_remove(&self->dedup, seq, slot); /* rule 2 */
    hub_subscribe_flush_acks(self);
    if (!self->ready || (self->sub_state != HUB_SUB_SENT && self->sub_state != HUB_SUB_ACTIVE))
        return 0; /* no session: the hub redelivers it after its ack timeout */
    Hub__Ref ref = HUB__REF__INIT;
    ref.has_seq = ref.has_slot = 1;
    ref.seq = seq;
    ref.slot = slot;
    Hub__Nack nack = HUB__NACK__INIT;
    nack.name = self->sub_name;
    nack.ref = &ref;
    nack.reason = (char *)(reason ? reason : "");
    nack.has_dead_letter = 1;
    nack.dead_letter = dead_letter != 0;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = hub_client_corr(self);
    frame.body_case = HUB__FRAME__BODY_NACK;
    frame.nack = &nack;
    int rc = hub_client_send(self, &frame);
    return rc == -EAGAIN ? 0 : rc;
}
