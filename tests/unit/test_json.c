/*
 * test_json - events and frames to and from JSON: every Event field both
 * ways, enums, 64-bit numbers, maps, oneofs, and every way an event is
 * refused, with the message a person reads.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "json.h"

/* An event with every field set, in .proto order: the canonical JSON. */
static const char s_full_json[] =
    "{\"id\":\"ev-1\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-7\","
    "\"customer\":{\"id\":\"c-1\",\"name\":\"Ada \\u00e9\",\"tier\":\"enterprise\",\"billing_status\":\"overdue\","
    "\"account_manager\":\"Bo\"},"
    "\"severity\":\"high\",\"subject\":\"Export fails\",\"body\":\"line 1\\nline 2\",\"product\":\"ledger\","
    "\"tags\":[\"rma\",\"export\"],\"attributes\":{\"region\":\"eu\",\"plan\":\"gold\"},"
    "\"occurred_at\":\"2026-11-23T10:00:00+02:00\",\"status\":\"in_progress\",\"note\":\"looking\"}";

static Hub__Event *s_parse(const char *text, int expect_rc, char err[HUB_ERR_LEN])
{
    Hub__Event *ev = NULL;
    int rc = hub_event_from_json(text, strlen(text), &ev, err);
    CHECK_INT(rc, expect_rc);
    if (rc == 0)
        CHECK(ev != NULL);
    else
        CHECK(ev == NULL);
    return ev;
}

static void test_event_from_json_every_field(void)
{
    char err[HUB_ERR_LEN] = "";
    Hub__Event *ev = s_parse(s_full_json, 0, err);
    if (!ev) {
        fprintf(stderr, "  err: %s\n", err);
        return;
    }
    CHECK_STR(ev->id, "ev-1");
    CHECK_STR(ev->type, "bug_report");
    CHECK_STR(ev->source, "support");
    CHECK_STR(ev->case_id, "CASE-7");
    CHECK(ev->customer != NULL);
    if (ev->customer) {
        CHECK_STR(ev->customer->id, "c-1");
        CHECK_STR(ev->customer->name, "Ada \xc3\xa9");
        CHECK_STR(ev->customer->tier, "enterprise");
        CHECK_STR(ev->customer->billing_status, "overdue");
        CHECK_STR(ev->customer->account_manager, "Bo");
    }
    CHECK_INT(ev->has_severity, 1);
    CHECK_INT(ev->severity, HUB__SEVERITY__SEVERITY_HIGH);
    CHECK_STR(ev->subject, "Export fails");
    CHECK_STR(ev->body, "line 1\nline 2");
    CHECK_STR(ev->product, "ledger");
    CHECK_INT(ev->n_tags, 2);
    if (ev->n_tags == 2) {
        CHECK_STR(ev->tags[0], "rma");
        CHECK_STR(ev->tags[1], "export");
    }
    CHECK_INT(ev->n_attributes, 2);
    if (ev->n_attributes == 2) {
        CHECK_STR(ev->attributes[0]->key, "region");
        CHECK_STR(ev->attributes[0]->value, "eu");
        CHECK_STR(ev->attributes[1]->key, "plan");
        CHECK_STR(ev->attributes[1]->value, "gold");
    }
    CHECK_STR(ev->occurred_at, "2026-11-23T10:00:00+02:00");
    CHECK_INT(ev->has_status, 1);
    CHECK_INT(ev->status, HUB__STATUS__STATUS_IN_PROGRESS);
    CHECK_STR(ev->note, "looking");
    hub__event__free_unpacked(ev, NULL);
}

static void test_event_to_json_every_field(void)
{
    Hub__Customer c = HUB__CUSTOMER__INIT;
    c.id = "c-1";
    c.name = "Ada \xc3\xa9";
    c.tier = "enterprise";
    c.billing_status = "overdue";
    c.account_manager = "Bo";
    Hub__Event__AttributesEntry a1 = HUB__EVENT__ATTRIBUTES_ENTRY__INIT, a2 = HUB__EVENT__ATTRIBUTES_ENTRY__INIT;
    Hub__Event__AttributesEntry *attrs[] = {&a1, &a2};
    a1.key = "region";
    a1.value = "eu";
    a2.key = "plan";
    a2.value = "gold";
    char *tags[] = {"rma", "export"};
    Hub__Event ev = HUB__EVENT__INIT;
    /* set out of order on purpose: output follows the .proto */
    ev.note = "looking";
    ev.has_status = 1;
    ev.status = HUB__STATUS__STATUS_IN_PROGRESS;
    ev.occurred_at = "2026-11-23T10:00:00+02:00";
    ev.n_attributes = 2;
    ev.attributes = attrs;
    ev.n_tags = 2;
    ev.tags = tags;
    ev.product = "ledger";
    ev.body = "line 1\nline 2";
    ev.subject = "Export fails";
    ev.has_severity = 1;
    ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    ev.customer = &c;
    ev.case_id = "CASE-7";
    ev.source = "support";
    ev.type = "bug_report";
    ev.id = "ev-1";
    char *text = hub_message_to_json_text(&ev.base);
    /* jansson writes U+00E9 as UTF-8, not \u00e9 */
    const char *want =
        "{\"id\":\"ev-1\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-7\","
        "\"customer\":{\"id\":\"c-1\",\"name\":\"Ada \xc3\xa9\",\"tier\":\"enterprise\",\"billing_status\":"
        "\"overdue\",\"account_manager\":\"Bo\"},"
        "\"severity\":\"high\",\"subject\":\"Export fails\",\"body\":\"line 1\\nline 2\",\"product\":\"ledger\","
        "\"tags\":[\"rma\",\"export\"],\"attributes\":{\"region\":\"eu\",\"plan\":\"gold\"},"
        "\"occurred_at\":\"2026-11-23T10:00:00+02:00\",\"status\":\"in_progress\",\"note\":\"looking\"}";
    CHECK_STR(text, want);
    free(text);
}

static void test_event_round_trip(void)
{
    char err[HUB_ERR_LEN] = "";
    Hub__Event *ev = s_parse(s_full_json, 0, err);
    if (!ev)
        return;
    /* JSON -> event -> wire -> event -> JSON */
    hub_buf_t packed = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&ev->base, &packed), 0);
    Hub__Event *back = hub__event__unpack(NULL, packed.len, packed.data);
    CHECK(back != NULL);
    char *first = hub_message_to_json_text(&ev->base);
    char *second = back ? hub_message_to_json_text(&back->base) : NULL;
    CHECK(first != NULL);
    CHECK_STR(second, first);
    /* and the text parses back to the same event */
    Hub__Event *again = NULL;
    if (first)
        CHECK_INT(hub_event_from_json(first, strlen(first), &again, err), 0);
    char *third = again ? hub_message_to_json_text(&again->base) : NULL;
    CHECK_STR(third, first);
    free(first);
    free(second);
    free(third);
    hub__event__free_unpacked(again, NULL);
    hub__event__free_unpacked(back, NULL);
    hub__event__free_unpacked(ev, NULL);
    hub_buf_fini(&packed);
}

static void test_event_minimal_output(void)
{
    char err[HUB_ERR_LEN] = "";
    /* null leaves a field unset; the zero enum is accepted and omitted */
    Hub__Event *ev = s_parse("{\"type\":\"complaint\",\"subject\":null,\"severity\":\"unspecified\","
                             "\"status\":\"unspecified\",\"tags\":[],\"attributes\":{}}",
                             0, err);
    if (!ev)
        return;
    CHECK(ev->subject == NULL);
    CHECK_INT(ev->severity, 0);
    CHECK_INT(ev->n_tags, 0);
    char *text = hub_message_to_json_text(&ev->base);
    CHECK_STR(text, "{\"type\":\"complaint\"}");
    free(text);
    hub__event__free_unpacked(ev, NULL);
}

static void test_event_single_tag(void)
{
    char err[HUB_ERR_LEN] = "";
    Hub__Event *ev = s_parse("{\"type\":\"return_request\",\"tags\":\"rma\"}", 0, err);
    if (!ev)
        return;
    CHECK_INT(ev->n_tags, 1);
    if (ev->n_tags == 1)
        CHECK_STR(ev->tags[0], "rma");
    hub__event__free_unpacked(ev, NULL);
}

static void test_event_from_value(void)
{
    char err[HUB_ERR_LEN] = "";
    json_t *v = json_pack("{s:s, s:{s:s}}", "type", "bug_report", "customer", "tier", "free");
    Hub__Event *ev = NULL;
    CHECK_INT(hub_event_from_json_value(v, &ev, err), 0);
    if (ev)
        CHECK_STR(ev->customer->tier, "free");
    hub__event__free_unpacked(ev, NULL);
    json_decref(v);
    v = json_array();
    CHECK_INT(hub_event_from_json_value(v, &ev, err), -HUB_EINVALID);
    CHECK_HAS(err, "an event must be a JSON object, got an array");
    CHECK(ev == NULL);
    json_decref(v);
}

/* ----------------------------------------------------------- rejections */

typedef struct {
    const char *name;    /* the case */
    const char *text;    /* the JSON */
    int code;            /* expected return */
    const char *err;     /* expected err: exact when exact, else contained */
    int exact;
} s_bad_t;

static char *s_many_tags(int n)
{
    size_t cap = 64 + (size_t)n * 8;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    size_t o = (size_t)snprintf(text, cap, "{\"type\":\"t\",\"tags\":[");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, cap - o, "%s\"t%d\"", i ? "," : "", i);
    snprintf(text + o, cap - o, "]}");
    return text;
}

static char *s_many_attributes(int n)
{
    size_t cap = 64 + (size_t)n * 16;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    size_t o = (size_t)snprintf(text, cap, "{\"type\":\"t\",\"attributes\":{");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, cap - o, "%s\"k%d\":\"v\"", i ? "," : "", i);
    snprintf(text + o, cap - o, "}}");
    return text;
}

/* {"type":"t","attributes":{"a":[[...]]}} with levels containers in all */
static char *s_nested(int levels)
{
    size_t cap = 64 + (size_t)levels * 2;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    size_t o = (size_t)snprintf(text, cap, "{\"type\":\"t\",\"attributes\":{\"a\":");
    for (int i = 2; i < levels; i++)
        text[o++] = '[';
    for (int i = 2; i < levels; i++)
        text[o++] = ']';
    snprintf(text + o, cap - o, "}}");
    return text;
}

static char *s_long_body(size_t n)
{
    char *text = malloc(n + 64);
    if (!text)
        return NULL;
    size_t o = (size_t)sprintf(text, "{\"type\":\"t\",\"body\":\"");
    memset(text + o, 'b', n);
    strcpy(text + o + n, "\"}");
    return text;
}

static void test_event_rejections(void)
{
    char *tags65 = s_many_tags(65), *tags64 = s_many_tags(64);
    char *attrs65 = s_many_attributes(65), *attrs64 = s_many_attributes(64);
    char *deep17 = s_nested(17), *deep16 = s_nested(16);
    char *body_big = s_long_body(HUB_MAX_FIELD + 1), *body_max = s_long_body(HUB_MAX_FIELD);
    const s_bad_t cases[] = {
        {"unknown key", "{\"type\":\"t\",\"colour\":\"red\"}", -HUB_EINVALID, "colour: unknown key", 1},
        {"unknown key with a newline", "{\"type\":\"t\",\"a\\nb\":1}", -HUB_EINVALID, "a?b: unknown key", 1},
        {"unknown key nested", "{\"type\":\"t\",\"customer\":{\"nme\":\"Ada\"}}", -HUB_EINVALID,
         "customer.nme: unknown key", 1},
        {"string got number", "{\"type\":\"t\",\"customer\":{\"tier\":3}}", -HUB_EINVALID,
         "customer.tier: expected a string, got a number", 1},
        {"string got boolean", "{\"type\":true}", -HUB_EINVALID, "type: expected a string, got a boolean", 1},
        {"string got object", "{\"type\":{}}", -HUB_EINVALID, "type: expected a string, got an object", 1},
        {"string got array", "{\"type\":[\"a\",\"b\"]}", -HUB_EINVALID, "type: expected a string, got an array",
         1},
        {"message got string", "{\"type\":\"t\",\"customer\":\"Ada\"}", -HUB_EINVALID,
         "customer: expected an object, got a string", 1},
        {"tag got number", "{\"type\":\"t\",\"tags\":[\"a\",7]}", -HUB_EINVALID,
         "tags[1]: expected a string, got a number", 1},
        {"tag got object", "{\"type\":\"t\",\"tags\":{}}", -HUB_EINVALID, "tags: expected a string, got an object",
         1},
        {"map got array", "{\"type\":\"t\",\"attributes\":[]}", -HUB_EINVALID,
         "attributes: expected an object, got an array", 1},
        {"map value got number", "{\"type\":\"t\",\"attributes\":{\"region\":1.5}}", -HUB_EINVALID,
         "attributes.region: expected a string, got a number", 1},
        {"bad enum", "{\"type\":\"t\",\"severity\":\"urgent\"}", -HUB_EINVALID,
         "severity: \"urgent\" is not one of low, medium, high, critical", 1},
        {"enum upper case", "{\"type\":\"t\",\"severity\":\"HIGH\"}", -HUB_EINVALID,
         "severity: \"HIGH\" is not one of", 0},
        {"enum got number", "{\"type\":\"t\",\"severity\":3}", -HUB_EINVALID,
         "severity: expected a string, got a number", 1},
        {"bad status", "{\"type\":\"t\",\"status\":\"done\"}", -HUB_EINVALID,
         "status: \"done\" is not one of acknowledged, in_progress, resolved, rejected", 1},
        {"bad time", "{\"type\":\"t\",\"occurred_at\":\"yesterday\"}", -HUB_EINVALID,
         "occurred_at: \"yesterday\" is not an RFC 3339 time (like 2026-11-23T10:00:00Z)", 1},
        {"bad date", "{\"type\":\"t\",\"occurred_at\":\"2026-02-29T10:00:00Z\"}", -HUB_EINVALID,
         "occurred_at: \"2026-02-29T10:00:00Z\" is not an RFC 3339 time", 0},
        {"time without zone", "{\"type\":\"t\",\"occurred_at\":\"2026-11-23T10:00:00\"}", -HUB_EINVALID,
         "occurred_at: ", 0},
        {"too many tags", tags65, -HUB_EINVALID, "tags: 65 tags, more than the limit of 64", 1},
        {"most tags", tags64, 0, "", 0},
        {"too many attributes", attrs65, -HUB_EINVALID, "attributes: 65 attributes, more than the limit of 64", 1},
        {"most attributes", attrs64, 0, "", 0},
        {"string too long", body_big, -HUB_EINVALID, "body: longer than 65536 bytes", 0},
        {"longest string", body_max, 0, "", 0},
        {"missing type", "{\"id\":\"ev-1\"}", -HUB_EINVALID, "type: missing", 0},
        {"empty type", "{\"type\":\"\"}", -HUB_EINVALID, "type: missing", 0},
        {"null type", "{\"type\":null}", -HUB_EINVALID, "type: missing", 0},
        {"not an object: array", "[{\"type\":\"t\"}]", -HUB_EINVALID, "an event must be a JSON object, got an array",
         1},
        {"not an object: number", "42", -HUB_EINVALID, "an event must be a JSON object, got a number", 1},
        {"not an object: string", "\"bug_report\"", -HUB_EINVALID, "got a string", 0},
        {"not an object: null", "null", -HUB_EINVALID, "got null", 0},
        {"too deep", deep17, -HUB_EINVALID, "attributes.a[0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 16 levels", 1},
        {"deep but within the limit", deep16, -HUB_EINVALID, "attributes.a: expected a string, got an array", 1},
        {"bad JSON", "{\"type\": \"t\",\n \"id\": }", -HUB_EMALFORMED, "line 2 column 8: ", 0},
        {"bad JSON on line 1", "{\"type\" \"t\"}", -HUB_EMALFORMED, "line 1 column ", 0},
        {"duplicate key", "{\"type\":\"a\",\"type\":\"b\"}", -HUB_EMALFORMED, "duplicate object key", 0},
        {"empty text", "", -HUB_EMALFORMED, "line 1 column 0: ", 0},
        {"trailing text", "{\"type\":\"t\"} x", -HUB_EMALFORMED, "end of file expected", 0},
        {"invalid UTF-8 in text", "{\"type\":\"\xff\"}", -HUB_EMALFORMED, "line 1 column 9: unable to decode byte 0xff", 0},
        {"NUL escape", "{\"type\":\"a\\u0000b\"}", -HUB_EMALFORMED, "\\u0000 is not allowed", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_bad_t *c = &cases[i];
        check_case = c->name;
        CHECK(c->text != NULL);
        if (!c->text)
            continue;
        char err[HUB_ERR_LEN] = "";
        Hub__Event *ev = s_parse(c->text, c->code, err);
        if (c->exact)
            CHECK_STR(err, c->err);
        else
            CHECK_HAS(err, c->err);
        CHECK(strchr(err, '\n') == NULL);
        hub__event__free_unpacked(ev, NULL);
    }
    check_case = "event rejections";
    free(tags65);
    free(tags64);
    free(attrs65);
    free(attrs64);
    free(deep17);
    free(deep16);
    free(body_big);
    free(body_max);
}

/* Plain ASCII events are read without jansson's reader, anything else
 * with it: both read every escape, key order and nesting alike. */
static void test_event_escapes(void)
{
    static const struct {
        const char *name, *text, *body;
    } cases[] = {
        {"simple escapes", "{\"type\":\"t\",\"body\":\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\"}",
         "q\"b\\s/b\bf\fn\nr\rt\t"},
        {"unicode escape", "{\"type\":\"t\",\"body\":\"caf\\u00e9\"}", "caf\xc3\xa9"},
        {"UTF-8 text", "{\"type\":\"t\",\"body\":\"caf\xc3\xa9\"}", "caf\xc3\xa9"},
        {"spaces everywhere", " {\n \"type\" :\t\"t\" ,\r\n \"body\" : \"b\" ,\"tags\":[ \"x\" , \"y\" ] } \n", "b"},
        {"empty body", "{\"type\":\"t\",\"body\":\"\",\"attributes\":{}}", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case = cases[i].name;
        char err[HUB_ERR_LEN] = "";
        Hub__Event *ev = s_parse(cases[i].text, 0, err);
        if (ev) {
            CHECK_STR(ev->type, "t");
            CHECK_STR(ev->body, cases[i].body);
        }
        hub__event__free_unpacked(ev, NULL);
    }
    check_case = "event escapes";
    char err[HUB_ERR_LEN] = "";
    Hub__Event *ev = s_parse("{\"type\":\"t\",\"tags\":[\"x\",\"y\"]}", 0, err);
    if (ev) {
        CHECK_INT(ev->n_tags, 2);
        CHECK_STR(ev->tags[1], "y");
    }
    hub__event__free_unpacked(ev, NULL);
    /* a key given twice in a nested object: jansson's own words */
    ev = s_parse("{\"type\":\"t\",\"customer\":{\"id\":\"a\",\"id\":\"b\"}}", -HUB_EMALFORMED, err);
    CHECK_HAS(err, "duplicate object key");
    hub__event__free_unpacked(ev, NULL);
}

/* Text that is not NUL-terminated: only len bytes are read. */
static void test_event_length_bounded(void)
{
    const char text[] = "{\"type\":\"t\"}garbage";
    Hub__Event *ev = NULL;
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_event_from_json(text, 12, &ev, err), 0);
    hub__event__free_unpacked(ev, NULL);
    CHECK_INT(hub_event_from_json(text, sizeof text - 1, &ev, err), -HUB_EMALFORMED);
}

/* ----------------------------------------------------------- wire events */

typedef struct {
    const char *name;   /* the case */
    Hub__Event *ev;     /* as unpacked from the wire */
    const char *err;    /* expected err, exact ("" for success) */
} s_wire_t;

static void test_validate_wire_events(void)
{
    Hub__Customer bad_name = HUB__CUSTOMER__INIT;
    bad_name.name = "Ad\xc3";
    char *bad_tags[] = {"ok", "\xe0\x80\xaf"}; /* overlong '/' */
    Hub__Event__AttributesEntry bad_value = HUB__EVENT__ATTRIBUTES_ENTRY__INIT, *bad_values[] = {&bad_value};
    bad_value.key = "region";
    bad_value.value = "\xed\xa0\x80"; /* a surrogate */
    Hub__Event__AttributesEntry bad_key = HUB__EVENT__ATTRIBUTES_ENTRY__INIT, *bad_keys[] = {&bad_key};
    bad_key.key = "\x80";
    bad_key.value = "v";

    Hub__Event ok = HUB__EVENT__INIT, subject = HUB__EVENT__INIT, customer = HUB__EVENT__INIT,
               tags = HUB__EVENT__INIT, value = HUB__EVENT__INIT, key = HUB__EVENT__INIT,
               severity = HUB__EVENT__INIT, status = HUB__EVENT__INIT, no_type = HUB__EVENT__INIT,
               bad_time = HUB__EVENT__INIT, long_ok = HUB__EVENT__INIT, long_bad = HUB__EVENT__INIT,
               long_cut = HUB__EVENT__INIT, long_surrogate = HUB__EVENT__INIT;
    /* ASCII runs longer than eight bytes (read eight at a time) around
     * sequences that cross those eight-byte steps */
    long_ok.type = long_bad.type = long_cut.type = long_surrogate.type = "bug_report";
    long_ok.body = "abcdefg\xc3\xa9hijklmnopq\xf0\x9f\x98\x80rstuvwxyz0123456789\xe2\x82\xac";
    long_bad.body = "abcdefghij\xffklmnopqrstuvwxyz"; /* inside the second eight-byte step */
    long_cut.body = "abcdefghijklmno\xe2\x82";
    long_surrogate.body = "abcdefgh\xed\xa0\x80" "abcdefgh";
    ok.type = "bug_report";
    ok.subject = "caf\xc3\xa9 \xf0\x9f\x98\x80";
    subject.type = "bug_report";
    subject.subject = "caf\xe9"; /* Latin-1 */
    customer.type = "bug_report";
    customer.customer = &bad_name;
    tags.type = "bug_report";
    tags.n_tags = 2;
    tags.tags = bad_tags;
    value.type = "bug_report";
    value.n_attributes = 1;
    value.attributes = bad_values;
    key.type = "bug_report";
    key.n_attributes = 1;
    key.attributes = bad_keys;
    severity.type = "bug_report";
    severity.has_severity = 1;
    severity.severity = (Hub__Severity)9;
    status.type = "response";
    status.has_status = 1;
    status.status = (Hub__Status)-1;
    bad_time.type = "bug_report";
    bad_time.occurred_at = "2026-11-23 10:00";
    const s_wire_t cases[] = {
        {"valid", &ok, ""},
        {"valid: long ASCII runs around multi-byte text", &long_ok, ""},
        {"bad UTF-8 after a long ASCII run", &long_bad, "body: not valid UTF-8"},
        {"a sequence cut off after a long ASCII run", &long_cut, "body: not valid UTF-8"},
        {"a surrogate between long ASCII runs", &long_surrogate, "body: not valid UTF-8"},
        {"bad UTF-8 subject", &subject, "subject: not valid UTF-8"},
        {"bad UTF-8 customer.name", &customer, "customer.name: not valid UTF-8"},
        {"bad UTF-8 tag", &tags, "tags[1]: not valid UTF-8"},
        {"bad UTF-8 attribute value", &value, "attributes.region: not valid UTF-8"},
        {"bad UTF-8 attribute key", &key, "attributes: a key is not valid UTF-8"},
        {"unknown severity", &severity, "severity: 9 is not one of low, medium, high, critical"},
        {"unknown status", &status, "status: -1 is not one of acknowledged, in_progress, resolved, rejected"},
        {"no type", &no_type, "type: missing (every event has a type, like \"bug_report\")"},
        {"bad time", &bad_time,
         "occurred_at: \"2026-11-23 10:00\" is not an RFC 3339 time (like 2026-11-23T10:00:00Z)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_wire_t *c = &cases[i];
        check_case = c->name;
        /* through the wire, as the hub gets it */
        hub_buf_t packed = HUB_BUF_INIT;
        CHECK_INT(hub_message_pack(&c->ev->base, &packed), 0);
        Hub__Event *ev = hub__event__unpack(NULL, packed.len, packed.data);
        CHECK(ev != NULL);
        if (ev) {
            char err[HUB_ERR_LEN] = "";
            CHECK_INT(hub_event_validate(ev, err), *c->err ? -HUB_EINVALID : 0);
            if (*c->err)
                CHECK_STR(err, c->err);
            /* printing it is still valid JSON: bad bytes become U+FFFD */
            char *text = hub_message_to_json_text(&ev->base);
            CHECK(text != NULL);
            json_error_t jerr;
            json_t *back = text ? json_loads(text, 0, &jerr) : NULL;
            CHECK(back != NULL);
            json_decref(back);
            free(text);
        }
        hub__event__free_unpacked(ev, NULL);
        hub_buf_fini(&packed);
    }
    check_case = "validate wire events";
}

static void test_invalid_utf8_output(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "a\xffz";
    char *text = hub_message_to_json_text(&ev.base);
    CHECK_STR(text, "{\"type\":\"a\xef\xbf\xbdz\"}");
    free(text);
}

/* ----------------------------------------------------------- enums, maps */

static void test_enum_names(void)
{
    char name[HUB_ENUM_NAME_LEN];
    int value = -1;
    CHECK_INT(hub_enum_to_name(&hub__severity__descriptor, HUB__SEVERITY__SEVERITY_CRITICAL, name, sizeof name), 0);
    CHECK_STR(name, "critical");
    CHECK_INT(hub_enum_to_name(&hub__severity__descriptor, 0, name, sizeof name), 0);
    CHECK_STR(name, "unspecified");
    CHECK_INT(hub_enum_to_name(&hub__error_code__descriptor, HUB__ERROR_CODE__ERROR_CODE_UNKNOWN_SUBSCRIBER, name,
                               sizeof name),
              0);
    CHECK_STR(name, "unknown_subscriber");
    CHECK_INT(hub_enum_to_name(&hub__start__descriptor, HUB__START__START_RESUME, name, sizeof name), 0);
    CHECK_STR(name, "resume");
    CHECK_INT(hub_enum_to_name(&hub__status__descriptor, 42, name, sizeof name), -HUB_EINVALID);
    CHECK_STR(name, "42");

    CHECK_INT(hub_enum_from_name(&hub__status__descriptor, "in_progress", &value), 0);
    CHECK_INT(value, HUB__STATUS__STATUS_IN_PROGRESS);
    CHECK_INT(hub_enum_from_name(&hub__error_code__descriptor, "too_large", &value), 0);
    CHECK_INT(value, HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE);
    CHECK_INT(hub_enum_from_name(&hub__severity__descriptor, "unspecified", &value), 0);
    CHECK_INT(value, 0);
    CHECK_INT(hub_enum_from_name(&hub__severity__descriptor, "SEVERITY_HIGH", &value), -HUB_EINVALID);
    CHECK_INT(hub_enum_from_name(&hub__severity__descriptor, "", &value), -HUB_EINVALID);
    CHECK_INT(hub_enum_from_name(&hub__error_code__descriptor, "code_invalid", &value), -HUB_EINVALID);
}

static void test_field_is_map(void)
{
    const ProtobufCFieldDescriptor *f;
    f = protobuf_c_message_descriptor_get_field_by_name(&hub__event__descriptor, "attributes");
    CHECK(f && hub_field_is_map(f));
    f = protobuf_c_message_descriptor_get_field_by_name(&hub__event__descriptor, "tags");
    CHECK(f && !hub_field_is_map(f));
    f = protobuf_c_message_descriptor_get_field_by_name(&hub__event__descriptor, "customer");
    CHECK(f && !hub_field_is_map(f));
    f = protobuf_c_message_descriptor_get_field_by_name(&hub__ack__descriptor, "refs");
    CHECK(f && !hub_field_is_map(f));
}

/* ----------------------------------------------------------- numbers */

typedef struct {
    const char *name;   /* the case */
    const char *json;   /* a Notification */
    int code;           /* expected return */
    const char *out;    /* expected JSON out, or err */
} s_num_t;

static void test_numbers(void)
{
    const s_num_t cases[] = {
        {"uint64 as integer", "{\"seq\":42,\"slot\":0}", 0, "{\"seq\":42,\"slot\":0}"},
        {"uint64 as string", "{\"seq\":\"42\"}", 0, "{\"seq\":42}"},
        {"uint64 max as string", "{\"seq\":\"18446744073709551615\"}", 0, "{\"seq\":\"18446744073709551615\"}"},
        {"uint64 over max", "{\"seq\":\"18446744073709551616\"}", -HUB_EINVALID,
         "seq: \"18446744073709551616\" is not a decimal integer in range"},
        {"uint64 negative", "{\"seq\":-1}", -HUB_EINVALID, "seq: -1 is out of range (0 to 18446744073709551615)"},
        {"uint64 negative string", "{\"seq\":\"-1\"}", -HUB_EINVALID, "seq: \"-1\" is not a decimal integer"},
        {"uint64 not digits", "{\"seq\":\"12a\"}", -HUB_EINVALID, "seq: \"12a\" is not a decimal integer"},
        {"uint64 empty string", "{\"seq\":\"\"}", -HUB_EINVALID, "seq: \"\" is not a decimal integer"},
        {"uint64 fraction", "{\"seq\":1.5}", -HUB_EINVALID, "seq: expected an integer, got a fractional number"},
        {"uint64 boolean", "{\"seq\":true}", -HUB_EINVALID, "seq: expected an integer, got a boolean"},
        {"uint32 max", "{\"slot\":4294967295}", 0, "{\"slot\":4294967295}"},
        {"uint32 over max", "{\"slot\":4294967296}", -HUB_EINVALID, "slot: 4294967296 is out of range (0 to 4294967295)"},
        {"uint32 as string", "{\"attempt\":\"1\"}", -HUB_EINVALID, "attempt: expected an integer, got a string"},
        {"nested event", "{\"seq\":1,\"event\":{\"type\":\"t\",\"severity\":\"low\"}}", 0,
         "{\"seq\":1,\"event\":{\"type\":\"t\",\"severity\":\"low\"}}"},
        {"nested event unknown key", "{\"event\":{\"customer\":{\"x\":1}}}", -HUB_EINVALID,
         "event.customer.x: unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_num_t *c = &cases[i];
        check_case = c->name;
        json_error_t jerr;
        json_t *obj = json_loads(c->json, 0, &jerr);
        CHECK(obj != NULL);
        char err[HUB_ERR_LEN] = "";
        Hub__Notification *heap = malloc(sizeof *heap);
        CHECK(heap != NULL);
        if (!heap || !obj) {
            free(heap);
            json_decref(obj);
            continue;
        }
        hub__notification__init(heap);
        int rc = hub_json_to_message(obj, &heap->base, err);
        CHECK_INT(rc, c->code);
        if (rc == 0) {
            char *text = hub_message_to_json_text(&heap->base);
            CHECK_STR(text, c->out);
            free(text);
        } else {
            CHECK_STR(err, c->out);
        }
        protobuf_c_message_free_unpacked(&heap->base, NULL);
        json_decref(obj);
    }
    check_case = "numbers";
}

static void test_int64_route(void)
{
    json_error_t jerr;
    json_t *obj = json_loads("{\"topic\":\"engineering.defect\",\"fields\":[\"case_id\",\"customer.name\"],"
                             "\"respond_by_ms\":\"-9223372036854775808\"}",
                             0, &jerr);
    Hub__Route *r = malloc(sizeof *r);
    if (!r || !obj) {
        CHECK(0);
        free(r);
        json_decref(obj);
        return;
    }
    hub__route__init(r);
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_json_to_message(obj, &r->base, err), 0);
    CHECK_INT(r->respond_by_ms, INT64_MIN);
    CHECK_INT(r->n_fields, 2);
    char *text = hub_message_to_json_text(&r->base);
    CHECK_STR(text, "{\"topic\":\"engineering.defect\",\"fields\":[\"case_id\",\"customer.name\"],"
                    "\"respond_by_ms\":-9223372036854775808}");
    free(text);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    json_decref(obj);
}

/* ----------------------------------------------------------- frames, notifications */

static void test_frame_oneof(void)
{
    json_error_t jerr;
    json_t *obj = json_loads("{\"version\":1,\"corr\":7,\"publish\":{\"event\":{\"type\":\"bug_report\"}}}", 0,
                             &jerr);
    Hub__Frame *f = malloc(sizeof *f);
    if (!f || !obj) {
        CHECK(0);
        free(f);
        json_decref(obj);
        return;
    }
    hub__frame__init(f);
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_json_to_message(obj, &f->base, err), 0);
    CHECK_INT(f->body_case, HUB__FRAME__BODY_PUBLISH);
    CHECK_INT(f->has_version, 1);
    CHECK_INT(f->corr, 7);
    CHECK(f->publish && f->publish->event && strcmp(f->publish->event->type, "bug_report") == 0);
    char *text = hub_message_to_json_text(&f->base);
    CHECK_STR(text, "{\"version\":1,\"corr\":7,\"publish\":{\"event\":{\"type\":\"bug_report\"}}}");
    free(text);
    /* it packs and decodes as a frame */
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_frame_encode(f, &out), 0);
    Hub__Frame *got = NULL;
    CHECK_INT(hub_frame_decode(out.data, out.len, 0, &got, err), 0);
    CHECK_STR(hub_frame_kind(got), "publish");
    hub_frame_free(&got);
    hub_buf_fini(&out);
    protobuf_c_message_free_unpacked(&f->base, NULL);
    json_decref(obj);

    /* an empty body member is still the body */
    obj = json_loads("{\"status_request\":{}}", 0, &jerr);
    f = malloc(sizeof *f);
    if (f && obj) {
        hub__frame__init(f);
        CHECK_INT(hub_json_to_message(obj, &f->base, err), 0);
        CHECK_INT(f->body_case, HUB__FRAME__BODY_STATUS_REQUEST);
        text = hub_message_to_json_text(&f->base);
        CHECK_STR(text, "{\"status_request\":{}}");
        free(text);
        protobuf_c_message_free_unpacked(&f->base, NULL);
    }
    json_decref(obj);

    /* two members of the oneof */
    obj = json_loads("{\"hello\":{\"client\":\"x\"},\"welcome\":{\"instance\":\"i\"}}", 0, &jerr);
    f = malloc(sizeof *f);
    if (f && obj) {
        hub__frame__init(f);
        CHECK_INT(hub_json_to_message(obj, &f->base, err), -HUB_EINVALID);
        CHECK_STR(err, "welcome: cannot be set together with \"hello\" (only one of them)");
        protobuf_c_message_free_unpacked(&f->base, NULL);
    }
    json_decref(obj);

    /* an error inside the oneof member frees cleanly */
    obj = json_loads("{\"error\":{\"code\":\"bad\"}}", 0, &jerr);
    f = malloc(sizeof *f);
    if (f && obj) {
        hub__frame__init(f);
        CHECK_INT(hub_json_to_message(obj, &f->base, err), -HUB_EINVALID);
        CHECK_STR(err, "error.code: \"bad\" is not one of malformed, unsupported, too_large, invalid, denied, "
                       "unavailable, unknown_subscriber, internal");
        protobuf_c_message_free_unpacked(&f->base, NULL);
    }
    json_decref(obj);
}

static void test_frame_to_json(void)
{
    Hub__Ref r = HUB__REF__INIT, *refs[] = {&r};
    r.has_seq = 1;
    r.seq = 3;
    r.has_slot = 1;
    r.slot = 0;
    Hub__Ack a = HUB__ACK__INIT;
    a.name = "sales";
    a.n_refs = 1;
    a.refs = refs;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_version = 1;
    f.version = 1;
    f.body_case = HUB__FRAME__BODY_ACK;
    f.ack = &a;
    char *text = hub_message_to_json_text(&f.base);
    CHECK_STR(text, "{\"version\":1,\"ack\":{\"name\":\"sales\",\"refs\":[{\"seq\":3,\"slot\":0}]}}");
    free(text);

    Hub__PublishAck pa = HUB__PUBLISH_ACK__INIT;
    pa.id = "ev-1";
    pa.has_seq = 1;
    pa.seq = 9;
    pa.has_duplicate = 1;
    pa.duplicate = 0;
    pa.has_notifications = 1;
    pa.notifications = 2;
    text = hub_message_to_json_text(&pa.base);
    CHECK_STR(text, "{\"id\":\"ev-1\",\"seq\":9,\"duplicate\":false,\"notifications\":2}");
    free(text);

    Hub__Error e = HUB__ERROR__INIT;
    e.has_code = 1;
    e.code = HUB__ERROR_CODE__ERROR_CODE_UNAVAILABLE;
    e.message = "retry";
    text = hub_message_to_json_text(&e.base);
    CHECK_STR(text, "{\"code\":\"unavailable\",\"message\":\"retry\"}");
    free(text);
}

static void test_notification_to_json(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    ev.case_id = "CASE-7";
    Hub__Notification n = HUB__NOTIFICATION__INIT;
    n.has_seq = 1;
    n.seq = 12;
    n.has_slot = 1;
    n.slot = 0;
    n.topic = "engineering.defect";
    n.route = "defect";
    n.reason = "type=bug_report";
    n.department = "engineering";
    n.kind = "defect";
    n.respond_by = "2026-11-23T14:00:00.000Z";
    n.has_attempt = 1;
    n.attempt = 1;
    n.event_id = "ev-1";
    n.received_at = "2026-11-23T10:00:00.000Z";
    n.event = &ev;
    char *text = hub_message_to_json_text(&n.base);
    CHECK_STR(text, "{\"seq\":12,\"slot\":0,\"topic\":\"engineering.defect\",\"route\":\"defect\","
                    "\"reason\":\"type=bug_report\",\"department\":\"engineering\",\"kind\":\"defect\","
                    "\"respond_by\":\"2026-11-23T14:00:00.000Z\",\"attempt\":1,\"event_id\":\"ev-1\","
                    "\"received_at\":\"2026-11-23T10:00:00.000Z\","
                    "\"event\":{\"type\":\"bug_report\",\"case_id\":\"CASE-7\"}}");
    free(text);
}

/* Frames other than a publish are checked with hub_message_validate: every
 * string valid UTF-8 within the caller's limit, every enum known, nested
 * messages too; the field is named. */
static void test_message_validate(void)
{
    char err[HUB_ERR_LEN] = "";
    Hub__NotificationQuery q = HUB__NOTIFICATION_QUERY__INIT;
    q.department = "engineering";
    q.customer = "Acme";
    CHECK_INT(hub_message_validate(&q.base, 64, err), 0);
    q.customer = "Acme \xff";
    CHECK_INT(hub_message_validate(&q.base, 64, err), -HUB_EINVALID);
    CHECK_STR(err, "customer: not valid UTF-8");
    q.customer = NULL;
    char longer[80];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    q.department = longer;
    CHECK_INT(hub_message_validate(&q.base, 64, err), -HUB_EINVALID);
    CHECK_STR(err, "department: longer than 64 bytes (79)");
    CHECK_INT(hub_message_validate(&q.base, 0, err), 0); /* 0: an event field's limit */

    /* nested: a dry run's event */
    Hub__Customer c = HUB__CUSTOMER__INIT;
    c.name = "\xc3";
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    ev.customer = &c;
    Hub__PolicyQuery pq = HUB__POLICY_QUERY__INIT;
    pq.event = &ev;
    CHECK_INT(hub_message_validate(&pq.base, 0, err), -HUB_EINVALID);
    CHECK_STR(err, "event.customer.name: not valid UTF-8");
    c.name = "Acme";
    ev.has_severity = 1;
    ev.severity = (Hub__Severity)9;
    CHECK_INT(hub_message_validate(&pq.base, 0, err), -HUB_EINVALID);
    CHECK_HAS(err, "event.severity: 9 is not one of");
}

/* A histogram bound off the wire may be any double: JSON has no number
 * for NaN and the infinities, so they print as strings. */
static void test_double_to_json(void)
{
    double bounds[] = {0.5, INFINITY, -INFINITY, NAN};
    uint64_t buckets[] = {1, 2};
    Hub__Histogram h = HUB__HISTOGRAM__INIT;
    h.name = "commit_seconds";
    h.n_bounds = 4;
    h.bounds = bounds;
    h.n_buckets = 2;
    h.buckets = buckets;
    h.has_sum = 1;
    h.sum = 0.25;
    char *text = hub_message_to_json_text(&h.base);
    CHECK_STR(text, "{\"name\":\"commit_seconds\",\"bounds\":[0.5,\"Infinity\",\"-Infinity\",\"NaN\"],"
                    "\"buckets\":[1,2],\"sum\":0.25}");
    free(text);
}

static void test_to_message_not_object(void)
{
    json_t *arr = json_array();
    Hub__Customer c = HUB__CUSTOMER__INIT;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_json_to_message(arr, &c.base, err), -HUB_EINVALID);
    CHECK_STR(err, "expected a JSON object, got an array");
    json_decref(arr);
}

/* An attribute with no value can come off the wire (a map entry is a
 * message whose value is optional): it is refused by validation, and a
 * message holding one still prints. */
static void test_attribute_without_value(void)
{
    Hub__Event__AttributesEntry entry = HUB__EVENT__ATTRIBUTES_ENTRY__INIT;
    entry.key = "order_id";
    Hub__Event__AttributesEntry *entries[] = {&entry};
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    ev.n_attributes = 1;
    ev.attributes = entries;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_event_validate(&ev, err), -HUB_EINVALID);
    CHECK_HAS(err, "order_id");
    CHECK_HAS(err, "no value");
    char *text = hub_message_to_json_text(&ev.base);
    CHECK_STR(text, "{\"type\":\"bug_report\",\"attributes\":{\"order_id\":\"\"}}");
    free(text);
}

static const check_case_t cases[] = {
    {"attribute without value", test_attribute_without_value},
    {"event from JSON, every field", test_event_from_json_every_field},
    {"event escapes", test_event_escapes},
    {"event to JSON, every field", test_event_to_json_every_field},
    {"event round trip", test_event_round_trip},
    {"event minimal output", test_event_minimal_output},
    {"event single tag", test_event_single_tag},
    {"event from value", test_event_from_value},
    {"event rejections", test_event_rejections},
    {"event text is length-bounded", test_event_length_bounded},
    {"validate wire events", test_validate_wire_events},
    {"invalid UTF-8 output", test_invalid_utf8_output},
    {"enum names", test_enum_names},
    {"field is map", test_field_is_map},
    {"numbers", test_numbers},
    {"int64 and repeated in Route", test_int64_route},
    {"frame oneof", test_frame_oneof},
    {"frame to JSON", test_frame_to_json},
    {"notification to JSON", test_notification_to_json},
    {"to message, not an object", test_to_message_not_object},
    {"message validate", test_message_validate},
    {"doubles to JSON", test_double_to_json},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
