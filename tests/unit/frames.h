/*
 * frames.h - sample messages the tests of the one-pass reader and writer
 * (unpack, pack) both build: an event with a field of every kind the
 * reader takes, and an Ack frame of many refs.
 */
#ifndef HUB_FRAMES_H_INCLUDED
#define HUB_FRAMES_H_INCLUDED

#include <stdint.h>
#include <stdlib.h>

#include "hub.pb-c.h"

typedef struct {
    Hub__Customer customer;
    Hub__Event event;
    char *tags[2];
    Hub__Event__AttributesEntry attr[2];
    Hub__Event__AttributesEntry *attrs[2];
} frames_event_t;

/* Fills s->event: strings set, empty and absent, a customer, an enum set
 * to its zero value and one to another, tags (one empty) and attributes
 * (one without a value). */
static void frames_event(frames_event_t *s)
{
    hub__customer__init(&s->customer);
    s->customer.id = "C-1";
    s->customer.name = "Acme";
    s->customer.tier = "";
    s->customer.billing_status = "overdue";
    hub__event__init(&s->event);
    s->event.id = "ev-1";
    s->event.type = "bug_report";
    s->event.source = "support";
    s->event.case_id = "CASE-9";
    s->event.customer = &s->customer;
    s->event.has_severity = 1;
    s->event.severity = HUB__SEVERITY__SEVERITY_HIGH;
    s->event.subject = "export fails";
    s->event.body = "";
    s->tags[0] = "export";
    s->tags[1] = "";
    s->event.n_tags = 2;
    s->event.tags = s->tags;
    for (int i = 0; i < 2; i++) {
        hub__event__attributes_entry__init(&s->attr[i]);
        s->attrs[i] = &s->attr[i];
    }
    s->attr[0].key = "region";
    s->attr[0].value = "eu";
    s->attr[1].key = "plan";
    s->event.n_attributes = 2;
    s->event.attributes = s->attrs;
    s->event.occurred_at = "2026-11-26T08:00:00Z";
    s->event.has_status = 1; /* STATUS_UNSPECIFIED, 0: set all the same */
}

typedef struct {
    Hub__Ref *refs, **ptrs;
    Hub__Ack ack;
    Hub__Frame frame;
} frames_ack_t;

/* Fills a->frame with an Ack of n refs: seqs of every varint length, a
 * slot on every other one. Returns 0, or -1 when out of memory. */
static int frames_ack(frames_ack_t *a, size_t n)
{
    a->refs = calloc(n, sizeof *a->refs);
    a->ptrs = calloc(n, sizeof *a->ptrs);
    if (!a->refs || !a->ptrs)
        return -1;
    for (size_t i = 0; i < n; i++) {
        hub__ref__init(&a->refs[i]);
        a->refs[i].has_seq = 1;
        a->refs[i].seq = (uint64_t)1 << (i % 64);
        a->refs[i].has_slot = i % 2;
        a->refs[i].slot = (uint32_t)i;
        a->ptrs[i] = &a->refs[i];
    }
    hub__ack__init(&a->ack);
    a->ack.name = "engineering";
    a->ack.n_refs = n;
    a->ack.refs = a->ptrs;
    hub__frame__init(&a->frame);
    a->frame.body_case = HUB__FRAME__BODY_ACK;
    a->frame.ack = &a->ack;
    return 0;
}

static void frames_ack_fini(frames_ack_t *a)
{
    free(a->refs);
    free(a->ptrs);
    a->refs = NULL;
    a->ptrs = NULL;
}

#endif
