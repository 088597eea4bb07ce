/*
 * test_path - dotted paths into events and frames: resolving them against
 * the descriptors and reading values as text.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "path.h"

/* Collects visited values as "a,b,c"; stops after stop_after (0: never). */
typedef struct {
    char text[512];
    int calls;
    int stop_after;
} s_seen_t;

static int s_collect(const char *value, void *arg)
{
    s_seen_t *seen = arg;
    size_t len = strlen(seen->text);
    snprintf(seen->text + len, sizeof seen->text - len, "%s%s", seen->calls ? "," : "", value);
    seen->calls++;
    return seen->stop_after && seen->calls >= seen->stop_after;
}

/* Resolves text against desc and reads msg: the visited values as
 * "a,b,c" (returned in a static buffer); checks the count matches. */
static const char *s_read(const ProtobufCMessageDescriptor *desc, const char *text, const ProtobufCMessage *msg)
{
    static s_seen_t seen;
    hub_path_t path;
    char err[HUB_ERR_LEN] = "";
    memset(&seen, 0, sizeof seen);
    int rc = hub_path_resolve(desc, text, &path, err);
    CHECK_INT(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "  %s: %s\n", text, err);
        return "(unresolved)";
    }
    int n = hub_path_values(msg, &path, s_collect, &seen);
    CHECK_INT(n, seen.calls);
    return seen.text;
}

/* ------------------------------------------------------------- resolving */

static void test_resolve_ok(void)
{
    static const struct {
        const char *text;
        size_t depth;
        const char *last;    /* name of the last field */
        const char *map_key; /* NULL: none */
    } cases[] = {
        {"type", 1, "type", NULL},
        {"customer.tier", 2, "tier", NULL},
        {"customer", 1, "customer", NULL},
        {"tags", 1, "tags", NULL},
        {"attributes.order_id", 1, "attributes", "order_id"},
        {"severity", 1, "severity", NULL},
        {"status", 1, "status", NULL},
        {"customer.billing_status", 2, "billing_status", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_path_t path;
        char err[HUB_ERR_LEN] = "";
        CHECK_INT(hub_path_resolve(&hub__event__descriptor, cases[i].text, &path, err), 0);
        CHECK_INT(path.depth, cases[i].depth);
        CHECK_STR(path.fields[path.depth - 1]->name, cases[i].last);
        CHECK_INT(path.has_map_key, cases[i].map_key != NULL);
        if (cases[i].map_key)
            CHECK_STR(path.map_key, cases[i].map_key);
    }
}

static void test_resolve_errors(void)
{
    char long_key[HUB_PATH_MAX_KEY + 20];
    memcpy(long_key, "attributes.", 11);
    memset(long_key + 11, 'k', HUB_PATH_MAX_KEY);
    long_key[11 + HUB_PATH_MAX_KEY] = '\0';
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"", "empty path"},
        {"teir", "unknown field \"teir\" in \"teir\""},
        {"customer.teir", "unknown field \"teir\" in \"customer.teir\""},
        {"type.name", "\"type\" is not a message, so \"type.name\" goes nowhere"},
        {"customer..tier", "empty field name in \"customer..tier\""},
        {"customer.", "empty field name in \"customer.\""},
        {".type", "empty field name in \".type\""},
        {"attributes", "\"attributes\" is a map: name one key, as in \"attributes.KEY\""},
        {"attributes.", "\"attributes\" is a map: name one key, as in \"attributes.KEY\""},
        {"attributes.a.b", "\"attributes\" is a map: name exactly one key after it, not \"a.b\""},
        {"Type", "unknown field \"Type\" in \"Type\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_path_t path;
        char err[HUB_ERR_LEN] = "";
        CHECK_INT(hub_path_resolve(&hub__event__descriptor, cases[i].text, &path, err), -HUB_EINVALID);
        CHECK_STR(err, cases[i].err);
    }
    hub_path_t path;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_path_resolve(&hub__event__descriptor, long_key, &path, err), -HUB_EINVALID);
    CHECK_HAS(err, "is over 127 bytes");
    CHECK_INT(hub_path_resolve(&hub__event__descriptor, NULL, &path, err), -HUB_EINVALID);
}

/* Paths through other messages of hub.proto: oneof members, repeated
 * messages in the middle, and the depth limit. */
static void test_resolve_other_messages(void)
{
    hub_path_t path;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_path_resolve(&hub__frame__descriptor, "deliver.notification.event.customer.tier", &path, err), 0);
    CHECK_INT(path.depth, 5);
    CHECK_INT(hub_path_resolve(&hub__ack__descriptor, "refs.seq", &path, err), 0);
    CHECK_INT(path.depth, 2);
    CHECK_INT(hub_path_resolve(&hub__frame__descriptor, "deliver.notification.event.attributes.k", &path, err), 0);
    CHECK_INT(path.depth, 4);
    CHECK_STR(path.map_key, "k");
    CHECK_INT(hub_path_resolve(&hub__frame__descriptor, "deliver.notification.event.customer.tier.x", &path, err),
              -HUB_EINVALID);
    CHECK_STR(err, "\"tier\" is not a message, so \"deliver.notification.event.customer.tier.x\" goes nowhere");
}

/* ---------------------------------------------------------------- values */

static void test_values_strings(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    Hub__Customer customer = HUB__CUSTOMER__INIT;
    CHECK_STR(s_read(&hub__event__descriptor, "type", &ev.base), "");
    ev.type = "bug_report";
    CHECK_STR(s_read(&hub__event__descriptor, "type", &ev.base), "bug_report");
    /* no customer, then a customer without a tier: nothing either way */
    CHECK_STR(s_read(&hub__event__descriptor, "customer.tier", &ev.base), "");
    ev.customer = &customer;
    CHECK_STR(s_read(&hub__event__descriptor, "customer.tier", &ev.base), "");
    customer.tier = "enterprise";
    CHECK_STR(s_read(&hub__event__descriptor, "customer.tier", &ev.base), "enterprise");
    /* a present message reads as "" once */
    CHECK_STR(s_read(&hub__event__descriptor, "customer", &ev.base), "");
    hub_path_t path;
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_path_resolve(&hub__event__descriptor, "customer", &path, err), 0);
    CHECK_INT(hub_path_values(&ev.base, &path, NULL, NULL), 1);
    ev.customer = NULL;
    CHECK_INT(hub_path_values(&ev.base, &path, NULL, NULL), 0);
    /* an empty string is set (proto2 presence), not missing */
    ev.subject = "";
    CHECK_INT(hub_path_resolve(&hub__event__descriptor, "subject", &path, err), 0);
    CHECK_INT(hub_path_values(&ev.base, &path, NULL, NULL), 1);
}

static void test_values_repeated(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    char *tags[] = {"rma", "vip", "duplicate"};
    CHECK_STR(s_read(&hub__event__descriptor, "tags", &ev.base), "");
    ev.tags = tags;
    ev.n_tags = 3;
    CHECK_STR(s_read(&hub__event__descriptor, "tags", &ev.base), "rma,vip,duplicate");

    /* the callback stops the walk */
    hub_path_t path;
    char err[HUB_ERR_LEN];
    s_seen_t seen = {.stop_after = 2};
    CHECK_INT(hub_path_resolve(&hub__event__descriptor, "tags", &path, err), 0);
    CHECK_INT(hub_path_values(&ev.base, &path, s_collect, &seen), 2);
    CHECK_STR(seen.text, "rma,vip");

    /* a repeated message in the middle of a path: each element */
    Hub__Ref r1 = HUB__REF__INIT, r2 = HUB__REF__INIT, r3 = HUB__REF__INIT;
    r1.has_seq = 1;
    r1.seq = 7;
    r3.has_seq = 1;
    r3.seq = UINT64_MAX;
    Hub__Ref *refs[] = {&r1, &r2, &r3};
    Hub__Ack ack = HUB__ACK__INIT;
    ack.refs = refs;
    ack.n_refs = 3;
    CHECK_STR(s_read(&hub__ack__descriptor, "refs.seq", &ack.base), "7,18446744073709551615");
    CHECK_STR(s_read(&hub__ack__descriptor, "refs", &ack.base), ",,");
}

static void test_values_map(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    Hub__Event__AttributesEntry a = HUB__EVENT__ATTRIBUTES_ENTRY__INIT;
    Hub__Event__AttributesEntry b = HUB__EVENT__ATTRIBUTES_ENTRY__INIT;
    Hub__Event__AttributesEntry c = HUB__EVENT__ATTRIBUTES_ENTRY__INIT;
    Hub__Event__AttributesEntry *entries[] = {&a, &b, &c};
    a.key = "order_id";
    a.value = "A-1";
    b.key = "region";
    b.value = "eu";
    c.key = "empty";
    c.value = NULL;
    ev.attributes = entries;
    ev.n_attributes = 3;
    CHECK_STR(s_read(&hub__event__descriptor, "attributes.order_id", &ev.base), "A-1");
    CHECK_STR(s_read(&hub__event__descriptor, "attributes.region", &ev.base), "eu");
    CHECK_STR(s_read(&hub__event__descriptor, "attributes.missing", &ev.base), "");
    hub_path_t path;
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_path_resolve(&hub__event__descriptor, "attributes.empty", &path, err), 0);
    CHECK_INT(hub_path_values(&ev.base, &path, NULL, NULL), 1); /* present, value "" */
    /* the last entry of a key wins, as when protobuf merges a map */
    b.key = "order_id";
    CHECK_STR(s_read(&hub__event__descriptor, "attributes.order_id", &ev.base), "eu");
}

static void test_values_enums(void)
{
    static const struct {
        int has;
        Hub__Severity severity;
        const char *text;
    } severities[] = {
        {0, HUB__SEVERITY__SEVERITY_HIGH, ""},        /* has_ unset: missing */
        {1, HUB__SEVERITY__SEVERITY_UNSPECIFIED, ""}, /* zero: missing */
        {1, HUB__SEVERITY__SEVERITY_LOW, "low"},
        {1, HUB__SEVERITY__SEVERITY_HIGH, "high"},
        {1, HUB__SEVERITY__SEVERITY_CRITICAL, "critical"},
        {1, (Hub__Severity)42, "42"}, /* not one of the enum's: its number */
    };
    for (size_t i = 0; i < sizeof severities / sizeof severities[0]; i++) {
        Hub__Event ev = HUB__EVENT__INIT;
        ev.has_severity = severities[i].has;
        ev.severity = severities[i].severity;
        CHECK_STR(s_read(&hub__event__descriptor, "severity", &ev.base), severities[i].text);
    }
    Hub__Event ev = HUB__EVENT__INIT;
    ev.has_status = 1;
    ev.status = HUB__STATUS__STATUS_IN_PROGRESS;
    CHECK_STR(s_read(&hub__event__descriptor, "status", &ev.base), "in_progress");

    /* a two-word enum name: ErrorCode -> ERROR_CODE_ */
    Hub__Error error = HUB__ERROR__INIT;
    error.has_code = 1;
    error.code = HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE;
    CHECK_STR(s_read(&hub__error__descriptor, "code", &error.base), "too_large");
    Hub__Subscribe sub = HUB__SUBSCRIBE__INIT;
    sub.has_start = 1;
    sub.start = HUB__START__START_EARLIEST;
    CHECK_STR(s_read(&hub__subscribe__descriptor, "start", &sub.base), "earliest");
}

static void test_values_numbers_and_bools(void)
{
    Hub__PublishAck ack = HUB__PUBLISH_ACK__INIT;
    CHECK_STR(s_read(&hub__publish_ack__descriptor, "duplicate", &ack.base), "");
    ack.has_duplicate = 1;
    CHECK_STR(s_read(&hub__publish_ack__descriptor, "duplicate", &ack.base), "false");
    ack.duplicate = 1;
    CHECK_STR(s_read(&hub__publish_ack__descriptor, "duplicate", &ack.base), "true");
    ack.has_seq = 1;
    ack.seq = 1042;
    CHECK_STR(s_read(&hub__publish_ack__descriptor, "seq", &ack.base), "1042");
    ack.has_notifications = 1;
    ack.notifications = 0;
    CHECK_STR(s_read(&hub__publish_ack__descriptor, "notifications", &ack.base), "0");
}

static void test_values_oneof(void)
{
    Hub__Frame frame = HUB__FRAME__INIT;
    Hub__Publish publish = HUB__PUBLISH__INIT;
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "complaint";
    publish.event = &ev;
    frame.body_case = HUB__FRAME__BODY_PUBLISH;
    frame.publish = &publish;
    CHECK_STR(s_read(&hub__frame__descriptor, "publish.event.type", &frame.base), "complaint");
    /* another member of the oneof is set: publish is not there */
    CHECK_STR(s_read(&hub__frame__descriptor, "hello", &frame.base), "");
    frame.body_case = HUB__FRAME__BODY__NOT_SET;
    CHECK_STR(s_read(&hub__frame__descriptor, "publish.event.type", &frame.base), "");
}

/* A path resolved against one type reads nothing from another. */
static void test_values_wrong_type(void)
{
    hub_path_t path;
    char err[HUB_ERR_LEN];
    Hub__Customer customer = HUB__CUSTOMER__INIT;
    customer.tier = "free";
    CHECK_INT(hub_path_resolve(&hub__event__descriptor, "type", &path, err), 0);
    CHECK_INT(hub_path_values(&customer.base, &path, s_collect, NULL), 0);
    CHECK_INT(hub_path_values(NULL, &path, s_collect, NULL), 0);
}

static const check_case_t cases[] = {
    {"resolve: fields, nested, repeated, map key", test_resolve_ok},
    {"resolve: errors", test_resolve_errors},
    {"resolve: oneof, repeated in the middle, depth", test_resolve_other_messages},
    {"values: strings and presence", test_values_strings},
    {"values: repeated fields visit each element", test_values_repeated},
    {"values: map keys", test_values_map},
    {"values: enums by JSON name, zero is missing", test_values_enums},
    {"values: numbers and bools", test_values_numbers_and_bools},
    {"values: oneof members", test_values_oneof},
    {"values: path of another type", test_values_wrong_type},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
