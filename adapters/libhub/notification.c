/*
 * notification - what hub_receive hands out: one notification of a decoded
 * Deliver frame kept whole (no copy of its strings; the notifications of a
 * batched frame share it, counted) and, once asked for, its JSON text.
 */
#include <errno.h>
#include <stdlib.h>

#include "client_int.h"
#include "codec.h"
#include "json.h"

/* A Deliver frame and how many notifications still hold it. */
typedef struct {
    Hub__Frame *frame;
    size_t refs;
    struct hub_notification *all; /* the frame's notifications, allocated together */
} s_shared_t;

struct hub_notification {
    s_shared_t *shared;        /* the Deliver frame it is in */
    const Hub__Notification *n; /* in shared->frame */
    char *json;                /* hub_notification_json's text (owned); NULL until asked */
};

int hub_notification_wrap(Hub__Frame **frame_p, hub_notification_t **out, size_t count)
{
    const Hub__Deliver *deliver = (*frame_p)->deliver;
    s_shared_t *shared = calloc(1, sizeof(*shared));
    hub_notification_t *all = shared ? calloc(count, sizeof(*all)) : NULL;
    if (!all) {
        free(shared);
        return -ENOMEM;
    }
    shared->frame = *frame_p;
    shared->refs = count;
    shared->all = all;
    for (size_t i = 0; i < count; i++) {
        all[i].shared = shared;
        all[i].n = i == 0 ? deliver->notification : deliver->more[i - 1];
        out[i] = &all[i];
    }
    *frame_p = NULL;
    return 0;
}

void hub_notification_destroy(hub_notification_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_notification_t *self = *self_p;
    free(self->json);
    self->json = NULL;
    s_shared_t *shared = self->shared;
    if (--shared->refs == 0) {
        /* the last one out frees the frame and every wrapper */
        hub_frame_free(&shared->frame);
        free(shared->all);
        free(shared);
    }
    *self_p = NULL;
}

uint64_t hub_notification_seq(const hub_notification_t *n)
{
    return n && n->n->has_seq ? n->n->seq : 0;
}

uint32_t hub_notification_slot(const hub_notification_t *n)
{
    return n && n->n->has_slot ? n->n->slot : 0;
}

uint32_t hub_notification_attempt(const hub_notification_t *n)
{
    return n && n->n->has_attempt ? n->n->attempt : 0;
}

static const char *s_text(const char *text)
{
    return text ? text : "";
}

const char *hub_notification_topic(const hub_notification_t *n)
{
    return n ? s_text(n->n->topic) : "";
}

const char *hub_notification_route(const hub_notification_t *n)
{
    return n ? s_text(n->n->route) : "";
}

const char *hub_notification_event_id(const hub_notification_t *n)
{
    return n ? s_text(n->n->event_id) : "";
}

const char *hub_notification_case_id(const hub_notification_t *n)
{
    return n && n->n->event ? s_text(n->n->event->case_id) : "";
}

const char *hub_notification_json(const hub_notification_t *n)
{
    if (!n)
        return NULL;
    if (!n->json) {
        /* a cache: filling it does not change what n is */
        hub_notification_t *self = (hub_notification_t *)n;
        self->json = hub_message_to_json_text(&n->n->base);
    }
    return n->json;
}
