/*
 * notification - what hub_receive hands out: a decoded Deliver frame kept
 * whole (no copy of its strings) and, once asked for, its JSON text.
 */
#include <stdlib.h>

#include "client_int.h"
#include "codec.h"
#include "json.h"

struct hub_notification {
    Hub__Frame *frame;         /* the Deliver frame (owned) */
    const Hub__Notification *n; /* frame->deliver->notification */
    char *json;                /* hub_notification_json's text (owned); NULL until asked */
};

hub_notification_t *hub_notification_wrap(Hub__Frame **frame_p)
{
    hub_notification_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->frame = *frame_p;
    self->n = self->frame->deliver->notification;
    *frame_p = NULL;
    return self;
}

void hub_notification_destroy(hub_notification_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_notification_t *self = *self_p;
    hub_frame_free(&self->frame);
    free(self->json);
    free(self);
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
