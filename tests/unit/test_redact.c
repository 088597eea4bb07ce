/*
 * test_redact - what a department sees of an event: top-level fields,
 * dotted sub-fields, order kept, and malformed wire data refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "redact.h"

/* The event every case redacts, packed into s_event. */
static hub_buf_t s_event = HUB_BUF_INIT;
static char s_long_name[300];

static void s_pack_event(void)
{
    memset(s_long_name, 'n', sizeof s_long_name - 1);
    s_long_name[sizeof s_long_name - 1] = '\0';
    Hub__Customer c = HUB__CUSTOMER__INIT;
    c.id = "c-1";
    c.name = s_long_name; /* over 127 bytes: its length prefix takes 2 bytes */
    c.tier = "enterprise";
    c.billing_status = "overdue";
    Hub__Event__AttributesEntry a = HUB__EVENT__ATTRIBUTES_ENTRY__INIT, *attrs[] = {&a};
    a.key = "region";
    a.value = "eu";
    char *tags[] = {"rma", "export"};
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = "ev-1";
    ev.type = "bug_report";
    ev.source = "support";
    ev.case_id = "CASE-7";
    ev.customer = &c;
    ev.has_severity = 1;
    ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    ev.subject = "Export fails";
    ev.body = "secret details";
    ev.n_tags = 2;
    ev.tags = tags;
    ev.n_attributes = 1;
    ev.attributes = attrs;
    ev.occurred_at = "2026-11-23T10:00:00Z";
    hub_message_pack(&ev.base, &s_event);
}

/* Redacts s_event with keep; returns it unpacked (NULL on failure). */
static Hub__Event *s_redact_event(const char *const *keep, size_t nkeep, hub_buf_t *out)
{
    CHECK_INT(hub_redact(&hub__event__descriptor, s_event.data, s_event.len, keep, nkeep, out), 0);
    Hub__Event *ev = hub__event__unpack(NULL, out->len, out->data);
    CHECK(ev != NULL);
    return ev;
}

static void test_keep_everything(void)
{
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_redact(&hub__event__descriptor, s_event.data, s_event.len, NULL, 0, &out), 0);
    CHECK(out.len == s_event.len && memcmp(out.data, s_event.data, s_event.len) == 0);
    hub_buf_fini(&out);
}

static void test_keep_top_level(void)
{
    static const char *const keep[] = {"case_id", "customer", "type", "severity", "subject"};
    hub_buf_t out = HUB_BUF_INIT;
    Hub__Event *ev = s_redact_event(keep, 5, &out);
    if (ev) {
        CHECK_STR(ev->case_id, "CASE-7");
        CHECK_STR(ev->type, "bug_report");
        CHECK_INT(ev->severity, HUB__SEVERITY__SEVERITY_HIGH);
        CHECK_STR(ev->subject, "Export fails");
        CHECK(ev->customer != NULL);
        if (ev->customer) {
            CHECK_STR(ev->customer->id, "c-1");
            CHECK_STR(ev->customer->name, s_long_name);
            CHECK_STR(ev->customer->tier, "enterprise");
        }
        CHECK(ev->id == NULL);
        CHECK(ev->source == NULL);
        CHECK(ev->body == NULL);
        CHECK(ev->occurred_at == NULL);
        CHECK_INT(ev->n_tags, 0);
        CHECK_INT(ev->n_attributes, 0);
    }
    hub__event__free_unpacked(ev, NULL);
    hub_buf_fini(&out);
}

static void test_keep_repeated_and_map(void)
{
    static const char *const keep[] = {"tags", "attributes"};
    hub_buf_t out = HUB_BUF_INIT;
    Hub__Event *ev = s_redact_event(keep, 2, &out);
    if (ev) {
        CHECK_INT(ev->n_tags, 2);
        if (ev->n_tags == 2) {
            CHECK_STR(ev->tags[0], "rma");
            CHECK_STR(ev->tags[1], "export");
        }
        CHECK_INT(ev->n_attributes, 1);
        if (ev->n_attributes == 1)
            CHECK_STR(ev->attributes[0]->value, "eu");
        CHECK(ev->type == NULL);
    }
    hub__event__free_unpacked(ev, NULL);
    hub_buf_fini(&out);
}

static void test_keep_dotted(void)
{
    static const char *const keep[] = {"customer.name", "customer.tier", "type"};
    hub_buf_t out = HUB_BUF_INIT;
    Hub__Event *ev = s_redact_event(keep, 3, &out);
    if (ev) {
        CHECK_STR(ev->type, "bug_report");
        CHECK(ev->customer != NULL);
        if (ev->customer) {
            CHECK_STR(ev->customer->name, s_long_name);
            CHECK_STR(ev->customer->tier, "enterprise");
            CHECK(ev->customer->id == NULL);
            CHECK(ev->customer->billing_status == NULL);
        }
        CHECK(ev->case_id == NULL);
    }
    hub__event__free_unpacked(ev, NULL);
    hub_buf_fini(&out);
}

static void test_keep_whole_beats_dotted(void)
{
    static const char *const keep[] = {"customer.name", "customer"};
    hub_buf_t out = HUB_BUF_INIT;
    Hub__Event *ev = s_redact_event(keep, 2, &out);
    if (ev && ev->customer) {
        CHECK_STR(ev->customer->id, "c-1");
        CHECK_STR(ev->customer->billing_status, "overdue");
    } else {
        CHECK(0);
    }
    hub__event__free_unpacked(ev, NULL);
    hub_buf_fini(&out);
}

static void test_keep_dotted_absent(void)
{
    /* the customer has no account_manager: nothing of it is left */
    static const char *const keep[] = {"customer.account_manager", "id"};
    hub_buf_t out = HUB_BUF_INIT;
    Hub__Event *ev = s_redact_event(keep, 2, &out);
    if (ev) {
        CHECK(ev->customer == NULL);
        CHECK_STR(ev->id, "ev-1");
    }
    hub__event__free_unpacked(ev, NULL);
    hub_buf_fini(&out);
}

static void test_keep_unresolved(void)
{
    static const char *const keep[] = {"nope", "customer.nope", "type.length", "customer.", "", "Customer"};
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_redact(&hub__event__descriptor, s_event.data, s_event.len, keep, 6, &out), 0);
    CHECK_INT(out.len, 0);
    hub_buf_fini(&out);
}

static void test_keep_two_levels(void)
{
    /* a Notification holding the event: event.customer.tier is two levels down */
    Hub__Event *inner = hub__event__unpack(NULL, s_event.len, s_event.data);
    CHECK(inner != NULL);
    if (!inner)
        return;
    Hub__Notification n = HUB__NOTIFICATION__INIT;
    n.has_seq = 1;
    n.seq = 7;
    n.topic = "finance.billing_flag";
    n.event = inner;
    hub_buf_t packed = HUB_BUF_INIT, out = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&n.base, &packed), 0);
    static const char *const keep[] = {"seq", "event.customer.tier", "event.type"};
    CHECK_INT(hub_redact(&hub__notification__descriptor, packed.data, packed.len, keep, 3, &out), 0);
    Hub__Notification *got = hub__notification__unpack(NULL, out.len, out.data);
    CHECK(got != NULL);
    if (got) {
        CHECK_INT(got->seq, 7);
        CHECK(got->topic == NULL);
        CHECK(got->event && got->event->customer);
        if (got->event && got->event->customer) {
            CHECK_STR(got->event->type, "bug_report");
            CHECK(got->event->subject == NULL);
            CHECK_STR(got->event->customer->tier, "enterprise");
            CHECK(got->event->customer->name == NULL);
        }
    }
    hub__notification__free_unpacked(got, NULL);
    hub__event__free_unpacked(inner, NULL);
    hub_buf_fini(&packed);
    hub_buf_fini(&out);
}

/* Field order is the input's, not the field numbers', and unknown field
 * numbers are dropped unless everything is kept. */
static void test_order_and_unknown_fields(void)
{
    static const uint8_t in[] = {
        0x3a, 0x01, 's',             /* subject (7) "s" */
        0xf8, 0x07, 0x05,            /* field 127, varint 5: unknown */
        0x12, 0x01, 't',             /* type (2) "t" */
        0x89, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, /* field 129, 64-bit: unknown */
        0x30, 0x03,                  /* severity (6) high */
        0x8d, 0x08, 1, 2, 3, 4,      /* field 129, 32-bit: unknown */
        0x12, 0x01, 'u',             /* type again: the last one wins on unpack */
    };
    static const uint8_t want[] = {0x3a, 0x01, 's', 0x12, 0x01, 't', 0x30, 0x03, 0x12, 0x01, 'u'};
    static const char *const keep[] = {"type", "subject", "severity"};
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_redact(&hub__event__descriptor, in, sizeof in, keep, 3, &out), 0);
    CHECK_INT(out.len, sizeof want);
    CHECK(out.len == sizeof want && memcmp(out.data, want, sizeof want) == 0);
    CHECK_INT(hub_redact(&hub__event__descriptor, in, sizeof in, NULL, 0, &out), 0);
    CHECK(out.len == sizeof in && memcmp(out.data, in, sizeof in) == 0);
    hub_buf_fini(&out);
}

static void test_empty_input(void)
{
    static const char *const keep[] = {"type"};
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_buf_append(&out, "old", 3), 0);
    CHECK_INT(hub_redact(&hub__event__descriptor, (const uint8_t *)"", 0, keep, 1, &out), 0);
    CHECK_INT(out.len, 0); /* reset first */
    hub_buf_fini(&out);
}

typedef struct {
    const char *name;    /* what is wrong */
    uint8_t data[16];    /* the wire bytes */
    size_t len;          /* how many */
    const char *keep;    /* one field kept, or NULL for all */
} s_malformed_t;

static void test_malformed(void)
{
    static const s_malformed_t cases[] = {
        {"truncated tag", {0x80}, 1, "type"},
        {"truncated varint value", {0x30, 0x80}, 2, "type"},
        {"varint over 10 bytes", {0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 12, "type"},
        {"length past the end", {0x12, 0x05, 'a', 'b'}, 4, "type"},
        {"huge length", {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11, NULL},
        {"truncated 64-bit", {0x09, 1, 2, 3}, 4, NULL},
        {"truncated 32-bit", {0x0d, 1, 2}, 3, NULL},
        {"start group", {0x0b, 0x0c}, 2, NULL},
        {"end group", {0x0c}, 1, "type"},
        {"wire type 6", {0x0e, 0x00}, 2, "type"},
        {"wire type 7", {0x0f, 0x00}, 2, NULL},
        {"field number 0", {0x02, 0x00}, 2, NULL},
        {"bad field after a good one", {0x12, 0x01, 't', 0x07}, 4, "type"},
        {"bad bytes inside a redacted sub-message", {0x2a, 0x02, 0x12, 0x05}, 4, "customer.name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_malformed_t *c = &cases[i];
        check_case = c->name;
        hub_buf_t out = HUB_BUF_INIT;
        const char *keep[] = {c->keep};
        CHECK_INT(hub_redact(&hub__event__descriptor, c->data, c->len, keep, c->keep ? 1 : 0, &out),
                  -HUB_EMALFORMED);
        CHECK_INT(out.len, 0);
        hub_buf_fini(&out);
    }
    check_case = "malformed";
}

static void test_many_keep_names(void)
{
    /* more names than fit the stack array for sub-paths */
    const char *keep[40];
    for (size_t i = 0; i < 40; i++)
        keep[i] = "customer.nothing";
    keep[39] = "customer.tier";
    hub_buf_t out = HUB_BUF_INIT;
    Hub__Event *ev = s_redact_event(keep, 40, &out);
    if (ev && ev->customer) {
        CHECK_STR(ev->customer->tier, "enterprise");
        CHECK(ev->customer->name == NULL);
    } else {
        CHECK(0);
    }
    hub__event__free_unpacked(ev, NULL);
    hub_buf_fini(&out);
}

static const check_case_t cases[] = {
    {"keep everything", test_keep_everything},
    {"keep top-level fields", test_keep_top_level},
    {"keep repeated and map", test_keep_repeated_and_map},
    {"keep dotted sub-fields", test_keep_dotted},
    {"whole field beats dotted", test_keep_whole_beats_dotted},
    {"dotted sub-field absent", test_keep_dotted_absent},
    {"names that do not resolve", test_keep_unresolved},
    {"two levels down", test_keep_two_levels},
    {"order and unknown fields", test_order_and_unknown_fields},
    {"empty input", test_empty_input},
    {"malformed", test_malformed},
    {"many keep names", test_many_keep_names},
    {NULL, NULL},
};

int main(void)
{
    s_pack_event();
    int rc = check_run(cases);
    hub_buf_fini(&s_event);
    return rc;
}
