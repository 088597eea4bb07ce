/*
 * test_policy - policy.yaml as the company writes it: loading, errors with
 * their lines, matching events, reasons and explanations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"
#include "sha256.h"

/* ---------------------------------------------------------------- helpers */

/* An event built on the stack: type, customer, tags and attributes. */
typedef struct {
    Hub__Event ev;
    Hub__Customer customer;
    char *tags[8];
    Hub__Event__AttributesEntry entries[4];
    Hub__Event__AttributesEntry *attrs[4];
} s_event_t;

/* Starts an event of type (NULL: none); tier and billing (NULL: none) make
 * a customer. Returns &e->ev. */
static Hub__Event *s_event(s_event_t *e, const char *type, const char *tier, const char *billing)
{
    memset(e, 0, sizeof *e);
    hub__event__init(&e->ev);
    hub__customer__init(&e->customer);
    e->ev.type = (char *)type;
    if (tier || billing) {
        e->customer.tier = (char *)tier;
        e->customer.billing_status = (char *)billing;
        e->ev.customer = &e->customer;
    }
    e->ev.tags = e->tags;
    e->ev.attributes = e->attrs;
    return &e->ev;
}

static void s_tag(s_event_t *e, const char *tag)
{
    e->tags[e->ev.n_tags++] = (char *)tag;
}

static void s_attr(s_event_t *e, const char *key, const char *value)
{
    Hub__Event__AttributesEntry *entry = &e->entries[e->ev.n_attributes];
    hub__event__attributes_entry__init(entry);
    entry->key = (char *)key;
    entry->value = (char *)value;
    e->attrs[e->ev.n_attributes++] = entry;
}

/* Parses text as "policy.yaml"; a failure is a failed check. */
static hub_policy_t *s_policy(const char *text)
{
    char err[HUB_ERR_LEN] = "";
    hub_policy_t *policy = hub_policy_parse(text, strlen(text), "policy.yaml", err);
    CHECK(policy != NULL);
    if (!policy)
        fprintf(stderr, "  %s\n", err);
    return policy;
}

/* The topics ev is routed to, "a.b c.d" (in a static buffer). */
static const char *s_topics(const hub_policy_t *policy, const Hub__Event *ev)
{
    static char text[1024];
    hub_match_t out[16];
    text[0] = '\0';
    if (!policy)
        return "(no policy)";
    size_t n = hub_policy_route(policy, ev, out, 16);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s%s", i ? " " : "", out[i].topic);
    }
    return text;
}

/* The reason of ev's only match ("" when there is none or several). */
static const char *s_reason(const hub_policy_t *policy, const Hub__Event *ev)
{
    static hub_match_t out[4];
    if (!policy || hub_policy_route(policy, ev, out, 4) != 1)
        return "";
    return out[0].reason;
}

/* A policy of one route "r" to eng.k whose match is the YAML flow mapping
 * given. */
static hub_policy_t *s_one_route(const char *match)
{
    char text[2048];
    snprintf(text, sizeof text,
             "departments: { eng: {} }\n"
             "routes:\n"
             "  - { name: r, notify: eng, kind: k, match: %s }\n",
             match);
    return s_policy(text);
}

/* ------------------------------------------------------------- matching */

static void test_single_value(void)
{
    hub_policy_t *p = s_one_route("{ type: bug_report }");
    s_event_t e;
    CHECK_STR(s_topics(p, s_event(&e, "bug_report", NULL, NULL)), "eng.k");
    CHECK_STR(s_reason(p, &e.ev), "type=bug_report");
    CHECK_STR(s_topics(p, s_event(&e, "complaint", NULL, NULL)), "");
    CHECK_STR(s_topics(p, s_event(&e, "bug_report_2", NULL, NULL)), "");
    CHECK_STR(s_topics(p, s_event(&e, "Bug_Report", NULL, NULL)), ""); /* values are exact */
    hub_policy_destroy(&p);
    CHECK(p == NULL);
    hub_policy_destroy(&p); /* safe twice */
}

static void test_value_list(void)
{
    hub_policy_t *p = s_one_route("{ type: [bug_report, complaint] }");
    s_event_t e;
    CHECK_STR(s_topics(p, s_event(&e, "bug_report", NULL, NULL)), "eng.k");
    CHECK_STR(s_reason(p, s_event(&e, "complaint", NULL, NULL)), "type=complaint");
    CHECK_STR(s_topics(p, s_event(&e, "feature_request", NULL, NULL)), "");
    hub_policy_destroy(&p);
}

static void test_dotted_path(void)
{
    hub_policy_t *p = s_one_route("{ customer.tier: enterprise, attributes.region: eu, severity: [high, critical] }");
    s_event_t e;
    s_event(&e, "bug_report", "enterprise", NULL);
    s_attr(&e, "region", "eu");
    e.ev.has_severity = 1;
    e.ev.severity = HUB__SEVERITY__SEVERITY_CRITICAL;
    CHECK_STR(s_topics(p, &e.ev), "eng.k");
    CHECK_STR(s_reason(p, &e.ev), "customer.tier=enterprise, attributes.region=eu, severity=critical");
    e.ev.severity = HUB__SEVERITY__SEVERITY_LOW;
    CHECK_STR(s_topics(p, &e.ev), "");
    e.ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    e.customer.tier = "free";
    CHECK_STR(s_topics(p, &e.ev), "");
    hub_policy_destroy(&p);
}

static void test_list_field(void)
{
    hub_policy_t *p = s_one_route("{ tags: [rma, urgent] }");
    s_event_t e;
    s_event(&e, "return_request", NULL, NULL);
    s_tag(&e, "vip");
    s_tag(&e, "urgent");
    s_tag(&e, "rma");
    CHECK_STR(s_topics(p, &e.ev), "eng.k");
    CHECK_STR(s_reason(p, &e.ev), "tags=urgent"); /* the first element that held */
    s_event(&e, "return_request", NULL, NULL);
    s_tag(&e, "vip");
    CHECK_STR(s_topics(p, &e.ev), "");
    hub_policy_destroy(&p);
}

static void test_missing_never_holds(void)
{
    static const char *const matches[] = {
        "{ type: bug_report }", "{ customer.tier: enterprise }", "{ tags: rma }",   "{ attributes.order_id: A-1 }",
        "{ severity: high }",   "{ status: resolved }",          "{ subject: '' }", "{ source: support }",
    };
    for (size_t i = 0; i < sizeof matches / sizeof matches[0]; i++) {
        hub_policy_t *p = s_one_route(matches[i]);
        s_event_t e;
        s_event(&e, NULL, NULL, NULL);
        e.ev.has_severity = 1; /* set, but at zero: missing */
        CHECK_STR(s_topics(p, &e.ev), "");
        hub_policy_destroy(&p);
    }
    /* the empty string is a value when it is set */
    hub_policy_t *p = s_one_route("{ subject: '' }");
    s_event_t e;
    s_event(&e, "x", NULL, NULL);
    e.ev.subject = "";
    CHECK_STR(s_topics(p, &e.ev), "eng.k");
    CHECK_STR(s_reason(p, &e.ev), "subject=");
    hub_policy_destroy(&p);
}

static void test_not(void)
{
    hub_policy_t *p = s_one_route("{ type: return_request, not: { tags: rma } }");
    s_event_t e;
    s_event(&e, "return_request", NULL, NULL);
    CHECK_STR(s_topics(p, &e.ev), "eng.k"); /* no tags at all: the not holds */
    CHECK_STR(s_reason(p, &e.ev), "type=return_request, not(tags=rma)");
    s_tag(&e, "fragile");
    CHECK_STR(s_topics(p, &e.ev), "eng.k");
    s_tag(&e, "rma");
    CHECK_STR(s_topics(p, &e.ev), "");
    hub_policy_destroy(&p);

    /* not with several keys: holds unless all of them hold */
    p = s_one_route("{ not: { type: [a, b], customer.tier: free } }");
    CHECK_STR(s_topics(p, s_event(&e, "a", "free", NULL)), "");
    CHECK_STR(s_topics(p, s_event(&e, "a", "enterprise", NULL)), "eng.k");
    CHECK_STR(s_reason(p, &e.ev), "not(type=a|b, customer.tier=free)");
    CHECK_STR(s_topics(p, s_event(&e, "c", "free", NULL)), "eng.k");
    hub_policy_destroy(&p);
}

static void test_nested_not(void)
{
    /* holds unless (tagged a and not tagged b) */
    hub_policy_t *p = s_one_route("{ type: x, not: { tags: a, not: { tags: b } } }");
    static const struct {
        const char *tags[2];
        const char *topics;
    } cases[] = {
        {{NULL, NULL}, "eng.k"},
        {{"a", NULL}, ""},
        {{"a", "b"}, "eng.k"},
        {{"b", NULL}, "eng.k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_event_t e;
        s_event(&e, "x", NULL, NULL);
        for (size_t t = 0; t < 2 && cases[i].tags[t]; t++)
            s_tag(&e, cases[i].tags[t]);
        CHECK_STR(s_topics(p, &e.ev), cases[i].topics);
        if (*cases[i].topics)
            CHECK_STR(s_reason(p, &e.ev), "type=x, not(tags=a, not(tags=b))");
    }
    hub_policy_destroy(&p);
}

static const char s_three_routes[] = "departments:\n"
                                     "  eng: { escalate_to: oncall }\n"
                                     "  oncall:\n"
                                     "  fin: {}\n"
                                     "routes:\n"
                                     "  - name: first\n"
                                     "    match: { type: bug_report }\n"
                                     "    notify: eng\n"
                                     "    kind: defect\n"
                                     "    respond_within: 4h\n"
                                     "  - name: second\n"
                                     "    match: { type: complaint }\n"
                                     "    notify: fin\n"
                                     "    kind: other\n"
                                     "  - name: third\n"
                                     "    match: { customer.tier: enterprise }\n"
                                     "    notify: fin\n"
                                     "    kind: flag\n"
                                     "    fields: [case_id, customer.tier, attributes, type]\n"
                                     "    respond_within: 90s\n";

static void test_several_matches_in_order(void)
{
    hub_policy_t *p = s_policy(s_three_routes);
    if (!p)
        return;
    CHECK_INT(hub_policy_route_count(p), 3);
    s_event_t e;
    s_event(&e, "bug_report", "enterprise", NULL);
    hub_match_t out[4];
    CHECK_INT(hub_policy_route(p, &e.ev, out, 4), 2);
    CHECK_STR(out[0].route, "first");
    CHECK_STR(out[0].department, "eng");
    CHECK_STR(out[0].kind, "defect");
    CHECK_STR(out[0].topic, "eng.defect");
    CHECK_STR(out[0].reason, "type=bug_report");
    CHECK_STR(out[1].route, "third");
    CHECK_STR(out[1].topic, "fin.flag");
    CHECK_STR(out[1].reason, "customer.tier=enterprise");
    /* at most max */
    CHECK_INT(hub_policy_route(p, &e.ev, out, 1), 1);
    CHECK_STR(out[0].route, "first");
    CHECK_INT(hub_policy_route(p, &e.ev, out, 0), 0);
    hub_policy_destroy(&p);
}

static void test_fields_and_deadline(void)
{
    hub_policy_t *p = s_policy(s_three_routes);
    if (!p)
        return;
    s_event_t e;
    hub_match_t out[4];
    s_event(&e, "bug_report", "enterprise", NULL);
    CHECK_INT(hub_policy_route(p, &e.ev, out, 4), 2);
    /* no fields: the department sees everything */
    CHECK(out[0].fields == NULL);
    CHECK_INT(out[0].nfields, 0);
    CHECK_INT(out[0].respond_within_ms, 4 * 3600 * 1000);
    CHECK_INT(out[1].nfields, 4);
    if (out[1].nfields == 4) {
        CHECK_STR(out[1].fields[0], "case_id");
        CHECK_STR(out[1].fields[1], "customer.tier");
        CHECK_STR(out[1].fields[2], "attributes");
        CHECK_STR(out[1].fields[3], "type");
    }
    CHECK_INT(out[1].respond_within_ms, 90 * 1000);
    s_event(&e, "complaint", NULL, NULL);
    CHECK_INT(hub_policy_route(p, &e.ev, out, 4), 1);
    CHECK_INT(out[0].respond_within_ms, 0);

    CHECK_STR(hub_policy_escalate_to(p, "eng"), "oncall");
    CHECK(hub_policy_escalate_to(p, "fin") == NULL);
    CHECK(hub_policy_escalate_to(p, "oncall") == NULL);
    CHECK(hub_policy_escalate_to(p, "nobody") == NULL);
    CHECK(hub_policy_escalate_to(p, NULL) == NULL);
    hub_policy_destroy(&p);
}

static void test_sha256(void)
{
    hub_policy_t *p = s_policy(s_three_routes);
    if (!p)
        return;
    uint8_t digest[HUB_SHA256_LEN];
    char hex[HUB_SHA256_HEX_LEN];
    hub_sha256(s_three_routes, strlen(s_three_routes), digest);
    hub_hex(digest, sizeof digest, hex);
    CHECK_INT(strlen(hub_policy_sha256(p)), 64);
    CHECK_STR(hub_policy_sha256(p), hex);
    /* a comment changes the text, so the hash */
    char text[sizeof s_three_routes + 16];
    snprintf(text, sizeof text, "# v2\n%s", s_three_routes);
    hub_policy_t *q = s_policy(text);
    if (q)
        CHECK(strcmp(hub_policy_sha256(p), hub_policy_sha256(q)) != 0);
    /* the text itself is kept, as parsed: what the hash is of */
    size_t len = 0;
    CHECK_STR(hub_policy_source(p, &len), s_three_routes);
    CHECK_INT(len, strlen(s_three_routes));
    if (q)
        CHECK_STR(hub_policy_source(q, NULL), text);
    hub_policy_destroy(&p);
    hub_policy_destroy(&q);
}

/* A reason longer than hub_match_t holds is cut with "...". */
static void test_reason_cut(void)
{
    char match[1024] = "{ ";
    char value[80];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    snprintf(match + strlen(match), sizeof match - strlen(match), "type: %s, source: %s, subject: %s, product: %s }",
             value, value, value, value);
    hub_policy_t *p = s_one_route(match);
    s_event_t e;
    s_event(&e, value, NULL, NULL);
    e.ev.source = value;
    e.ev.subject = value;
    e.ev.product = value;
    const char *reason = s_reason(p, &e.ev);
    size_t len = strlen(reason);
    CHECK_INT(len, HUB_REASON_LEN - 1);
    CHECK(len >= 3 && strcmp(reason + len - 3, "...") == 0);
    /* what comes before the cut is the reason as far as it went */
    char whole[1024];
    snprintf(whole, sizeof whole, "type=%s, source=%s, subject=%s, product=%s", value, value, value, value);
    CHECK(strncmp(reason, whole, len - 3) == 0);
    hub_policy_destroy(&p);
}

/* A reason that fills its room exactly before a term's value is cut with
 * "..." all the same: the term does not fit whole. */
static void test_reason_cut_between_pieces(void)
{
    /* "type=" and 241 bytes, then ", source=" end at byte 255 of 256 */
    char value[242], match[512];
    memset(value, 'a', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    snprintf(match, sizeof match, "{ type: %s, source: bbb }", value);
    hub_policy_t *p = s_one_route(match);
    s_event_t e;
    s_event(&e, value, NULL, NULL);
    e.ev.source = "bbb";
    const char *reason = s_reason(p, &e.ev);
    size_t len = strlen(reason);
    CHECK_INT(len, HUB_REASON_LEN - 1);
    CHECK(len >= 3 && strcmp(reason + len - 3, "...") == 0);
    hub_policy_destroy(&p);
}

/* --------------------------------------------------------------- explain */

typedef struct {
    char lines[8][600];
    int n;
} s_explained_t;

static void s_explain_fn(const char *route, const char *topic, int matched, const char *why, void *arg)
{
    s_explained_t *x = arg;
    if (x->n < 8)
        snprintf(x->lines[x->n++], sizeof x->lines[0], "%s %s %s: %s", route, topic, matched ? "yes" : "no", why);
}

static void test_explain(void)
{
    static const struct {
        const char *match;
        const char *type, *tier;
        const char *tags[3];
        const char *line;
    } cases[] = {
        {"{ type: bug_report, customer.tier: [enterprise, business] }",
         "bug_report",
         "free",
         {NULL},
         "r eng.k no: customer.tier: \"free\" is not one of enterprise, business"},
        {"{ type: bug_report, customer.tier: [enterprise, business] }",
         "bug_report",
         "business",
         {NULL},
         "r eng.k yes: type=bug_report, customer.tier=business"},
        {"{ type: bug_report }", "complaint", NULL, {NULL}, "r eng.k no: type: \"complaint\" is not bug_report"},
        {"{ tags: rma }", "x", NULL, {NULL}, "r eng.k no: tags: field is missing"},
        {"{ customer.tier: free }", "x", NULL, {NULL}, "r eng.k no: customer.tier: field is missing"},
        {"{ tags: rma }", "x", NULL, {"a", "b"}, "r eng.k no: tags: none of \"a\", \"b\" is rma"},
        {"{ tags: [rma, c] }", "x", NULL, {"a", "b"}, "r eng.k no: tags: none of \"a\", \"b\" is one of rma, c"},
        {"{ type: x, not: { tags: rma } }",
         "x",
         NULL,
         {"a", "rma"},
         "r eng.k no: not(tags=rma): the match inside holds (tags=rma)"},
        {"{ type: x, not: { tags: rma } }", "x", NULL, {"a"}, "r eng.k yes: type=x, not(tags=rma)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_policy_t *p = s_one_route(cases[i].match);
        if (!p)
            continue;
        s_event_t e;
        s_event(&e, cases[i].type, cases[i].tier, NULL);
        for (size_t t = 0; t < 3 && cases[i].tags[t]; t++)
            s_tag(&e, cases[i].tags[t]);
        s_explained_t x = {.n = 0};
        hub_policy_explain(p, &e.ev, s_explain_fn, &x);
        CHECK_INT(x.n, 1);
        CHECK_STR(x.lines[0], cases[i].line);
        hub_policy_destroy(&p);
    }

    /* every route, in order, matched or not */
    hub_policy_t *p = s_policy(s_three_routes);
    if (!p)
        return;
    s_event_t e;
    s_event(&e, "complaint", "enterprise", NULL);
    s_explained_t x = {.n = 0};
    hub_policy_explain(p, &e.ev, s_explain_fn, &x);
    CHECK_INT(x.n, 3);
    CHECK_STR(x.lines[0], "first eng.defect no: type: \"complaint\" is not bug_report");
    CHECK_STR(x.lines[1], "second fin.other yes: type=complaint");
    CHECK_STR(x.lines[2], "third fin.flag yes: customer.tier=enterprise");
    hub_policy_destroy(&p);
}

/* ------------------------------------------------------ the sample policy */

/* deploy/policy.yaml in the source tree: SOURCE_ROOT when the build
 * defines it, else $HUB_SOURCE_ROOT, else found from this file's name as
 * the compiler saw it (relative to the build directory, where the tests
 * run). */
static void s_source_path(const char *rel, char *out, size_t outlen)
{
#ifdef SOURCE_ROOT
    snprintf(out, outlen, "%s/%s", SOURCE_ROOT, rel);
#else
    const char *root = getenv("HUB_SOURCE_ROOT");
    if (root && *root) {
        snprintf(out, outlen, "%s/%s", root, rel);
        return;
    }
    const char *file = __FILE__;
    const char *tail = strstr(file, "tests/unit/test_policy.c");
    int len = tail ? (int)(tail - file) : 0;
    snprintf(out, outlen, "%.*s%s", len, file, rel);
#endif
}

static void test_sample_policy(void)
{
    char path[1024];
    char err[HUB_ERR_LEN] = "";
    s_source_path("deploy/policy.yaml", path, sizeof path);
    hub_policy_t *p = hub_policy_load(path, err);
    CHECK(p != NULL);
    if (!p) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK_INT(hub_policy_route_count(p), 6);
    CHECK_STR(hub_policy_escalate_to(p, "engineering"), "engineering-oncall");

    s_event_t e;
    /* a bug report from an enterprise customer who is behind on payment */
    s_event(&e, "bug_report", "enterprise", "overdue");
    e.ev.has_severity = 1;
    e.ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    CHECK_STR(s_topics(p, &e.ev), "engineering.defect finance.billing_flag sales.followup");
    hub_match_t out[8];
    CHECK_INT(hub_policy_route(p, &e.ev, out, 8), 3);
    CHECK_INT(out[0].respond_within_ms, 4 * 3600 * 1000);
    CHECK_STR(out[1].reason, "type=bug_report, customer.billing_status=overdue");
    CHECK_INT(out[1].nfields, 5);
    CHECK_STR(out[2].reason, "type=bug_report, customer.tier=enterprise");

    /* a return request tagged rma: shipping hears once */
    s_event(&e, "return_request", "free", "current");
    s_tag(&e, "rma");
    CHECK_STR(s_topics(p, &e.ev), "shipping.rma");
    CHECK_STR(s_reason(p, &e.ev), "tags=rma");
    /* ... and once when it is not tagged */
    s_event(&e, "return_request", "free", "current");
    CHECK_STR(s_topics(p, &e.ev), "shipping.rma");
    CHECK_STR(s_reason(p, &e.ev), "type=return_request, not(tags=rma)");

    /* a complaint from a business customer who disputes a bill */
    s_event(&e, "complaint", "business", "disputed");
    CHECK_STR(s_topics(p, &e.ev), "finance.billing_flag sales.followup");

    /* a feature request from a free customer: nobody */
    s_event(&e, "feature_request", "free", "current");
    CHECK_STR(s_topics(p, &e.ev), "");

    /* engineering resolves a case: sales tells the customer */
    s_event(&e, "response", NULL, NULL);
    e.ev.source = "engineering";
    e.ev.has_status = 1;
    e.ev.status = HUB__STATUS__STATUS_RESOLVED;
    CHECK_STR(s_topics(p, &e.ev), "sales.case_update");
    CHECK_STR(s_reason(p, &e.ev), "type=response, source=engineering, status=resolved");
    e.ev.status = HUB__STATUS__STATUS_IN_PROGRESS;
    CHECK_STR(s_topics(p, &e.ev), "");
    hub_policy_destroy(&p);
}

static void test_load_file_errors(void)
{
    char err[HUB_ERR_LEN] = "";
    CHECK(hub_policy_load("no/such/policy.yaml", err) == NULL);
    CHECK_STR(err, "no/such/policy.yaml: No such file or directory");
    CHECK(hub_policy_load(".", err) == NULL);
    CHECK_STR(err, ".: Is a directory");
}

/* ---------------------------------------------------------- parse errors */

/* A valid policy of one route, lines 1-7; cases below change it. */
#define S_HEAD "departments:\n  eng: {}\nroutes:\n"                                   /* lines 1-3 */
#define S_ROUTE "  - name: a\n    match: { type: x }\n    notify: eng\n    kind: k\n" /* lines 4-7 */

static void test_parse_errors(void)
{
    static const struct {
        const char *name;
        const char *text;
        const char *err; /* exact, or a prefix when it ends in '*' */
    } cases[] = {
        {"unknown top key", S_HEAD S_ROUTE "extra: 1\n", "policy.yaml:8: unknown key \"extra\""},
        {"unknown route key", S_HEAD S_ROUTE "    notfy: eng\n", "policy.yaml:8: route \"a\": unknown key \"notfy\""},
        {"missing notify", S_HEAD "  - name: a\n    match: { type: x }\n    kind: k\n",
         "policy.yaml:4: route \"a\": missing \"notify\""},
        {"missing match", S_HEAD "  - name: a\n    notify: eng\n    kind: k\n",
         "policy.yaml:4: route \"a\": missing \"match\""},
        {"missing kind", S_HEAD "  - name: a\n    match: { type: x }\n    notify: eng\n",
         "policy.yaml:4: route \"a\": missing \"kind\""},
        {"missing name", S_HEAD "  - match: { type: x }\n    notify: eng\n    kind: k\n",
         "policy.yaml:4: route 1: missing \"name\""},
        {"bad name", S_HEAD "  - name: a b\n    match: { type: x }\n    notify: eng\n    kind: k\n",
         "policy.yaml:4: route 1: name: \"a b\" is not a name (1 to 63 letters, digits, '_' or '-')"},
        {"bad kind", S_HEAD "  - name: a\n    match: { type: x }\n    notify: eng\n    kind: k.x\n",
         "policy.yaml:7: route \"a\": kind: \"k.x\" is not a name (1 to 63 letters, digits, '_' or '-')"},
        {"kind is a list", S_HEAD "  - name: a\n    match: { type: x }\n    notify: eng\n    kind: [k]\n",
         "policy.yaml:7: route \"a\": kind: expected a name"},
        {"notify to undeclared department",
         S_HEAD "  - name: a\n    match: { type: x }\n    notify: ops\n    kind: k\n",
         "policy.yaml:6: route \"a\": notify: \"ops\" is not a department (declared: eng)"},
        {"unknown match path", S_HEAD "  - name: a\n    match: { customer.teir: x }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: unknown field \"teir\" in \"customer.teir\""},
        {"unknown path in not",
         S_HEAD "  - name: a\n    match:\n      type: x\n      not:\n        tpye: y\n    notify: eng\n    kind: k\n",
         "policy.yaml:8: route \"a\": match: not: unknown field \"tpye\" in \"tpye\""},
        {"match on a whole message", S_HEAD "  - name: a\n    match: { customer: x }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: \"customer\" is a message; match one of its fields (\"customer.id\")"},
        {"match on a map without key",
         S_HEAD "  - name: a\n    match: { attributes: x }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: \"attributes\" is a map: name one key, as in \"attributes.KEY\""},
        {"unknown enum value", S_HEAD "  - name: a\n    match: { severity: hgih }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: severity: \"hgih\" is not one of low, medium, high, critical"},
        {"enum zero value",
         S_HEAD "  - name: a\n    match:\n      status: [resolved, unspecified]\n    notify: eng\n"
                "    kind: k\n",
         "policy.yaml:6: route \"a\": match: status: \"unspecified\" is not one of acknowledged, in_progress, "
         "resolved, rejected"},
        {"match value is a mapping",
         S_HEAD "  - name: a\n    match: { type: { a: b } }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: type: expected a value or a list of values, not a mapping"},
        {"match value is null", S_HEAD "  - name: a\n    match:\n      type:\n    notify: eng\n    kind: k\n",
         "policy.yaml:6: route \"a\": match: type: expected a value or a list of values"},
        {"match value empty list", S_HEAD "  - name: a\n    match: { type: [] }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: type: an empty list never holds"},
        {"match value nested list",
         S_HEAD "  - name: a\n    match:\n      type:\n        - x\n        - [y]\n"
                "    notify: eng\n    kind: k\n",
         "policy.yaml:8: route \"a\": match: type: expected a value in the list, not a list or mapping"},
        {"match not a mapping", S_HEAD "  - name: a\n    match: bug_report\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: expected a mapping of field: value"},
        {"match empty", S_HEAD "  - name: a\n    match: {}\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: empty; write at least one field: value (a route is never "
         "unconditional)"},
        {"not empty", S_HEAD "  - name: a\n    match: { type: x, not: {} }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: not: empty; write at least one field: value (a route is never "
         "unconditional)"},
        {"not a list", S_HEAD "  - name: a\n    match: { type: x, not: [a] }\n    notify: eng\n    kind: k\n",
         "policy.yaml:5: route \"a\": match: not: expected a mapping of field: value"},
        {"bad duration", S_HEAD S_ROUTE "    respond_within: 4x\n", "policy.yaml:8: route \"a\": respond_within: *"},
        {"negative duration", S_HEAD S_ROUTE "    respond_within: -4h\n",
         "policy.yaml:8: route \"a\": respond_within: *"},
        {"empty duration", S_HEAD S_ROUTE "    respond_within:\n",
         "policy.yaml:8: route \"a\": respond_within: expected a duration like 30m, 4h or 2d"},
        {"duplicate route name", S_HEAD S_ROUTE S_ROUTE,
         "policy.yaml:8: route \"a\": the name is used again (first on line 4)"},
        {"escalate_to unknown", "departments:\n  eng: { escalate_to: oncall }\nroutes:\n" S_ROUTE,
         "policy.yaml:2: department \"eng\": escalate_to: \"oncall\" is not a department (declared: eng)"},
        {"escalate_to itself", "departments:\n  eng: { escalate_to: eng }\nroutes:\n" S_ROUTE,
         "policy.yaml:2: department \"eng\": escalate_to: a department cannot escalate to itself"},
        {"department unknown key", "departments:\n  eng: { escalate: x }\nroutes:\n" S_ROUTE,
         "policy.yaml:2: department \"eng\": unknown key \"escalate\""},
        {"department not a mapping", "departments:\n  eng: yes\nroutes:\n" S_ROUTE,
         "policy.yaml:2: department \"eng\": expected a mapping ({} or { escalate_to: DEPARTMENT })"},
        {"department bad name", "departments:\n  eng: {}\n  the team: {}\nroutes:\n" S_ROUTE,
         "policy.yaml:3: department: \"the team\" is not a name (1 to 63 letters, digits, '_' or '-')"},
        {"departments empty", "departments: {}\nroutes:\n" S_ROUTE,
         "policy.yaml:1: departments: none declared; routes need one to notify"},
        {"departments a list", "departments: [eng]\nroutes:\n" S_ROUTE,
         "policy.yaml:1: departments: expected a mapping of department names (finance: {})"},
        {"no departments", "routes:\n" S_ROUTE, "policy.yaml:1: missing \"departments\""},
        {"no routes", "departments:\n  eng: {}\n", "policy.yaml:1: missing \"routes\""},
        {"empty routes", "departments:\n  eng: {}\nroutes: []\n",
         "policy.yaml:3: routes: empty; a policy routes something"},
        {"routes a mapping", "departments:\n  eng: {}\nroutes:\n  a: {}\n",
         "policy.yaml:4: routes: expected a list of routes (- name: ...)"},
        {"route not a mapping", S_HEAD "  - defect\n",
         "policy.yaml:4: route 1: expected a mapping (name, match, notify, kind, ...)"},
        {"bad fields entry", S_HEAD S_ROUTE "    fields:\n      - case_id\n      - bdy\n",
         "policy.yaml:10: route \"a\": fields: unknown field \"bdy\" in \"bdy\""},
        {"fields with a map key", S_HEAD S_ROUTE "    fields: [attributes.order_id]\n",
         "policy.yaml:8: route \"a\": fields: \"attributes.order_id\": a map is kept or dropped whole; write "
         "\"attributes\""},
        {"fields empty", S_HEAD S_ROUTE "    fields: []\n",
         "policy.yaml:8: route \"a\": fields: empty list; leave fields out to show every field"},
        {"fields a mapping", S_HEAD S_ROUTE "    fields: { a: b }\n",
         "policy.yaml:8: route \"a\": fields: expected a list of event fields"},
        {"fields nested list", S_HEAD S_ROUTE "    fields: [type, [a]]\n",
         "policy.yaml:8: route \"a\": fields: expected an event field name"},
        {"root a list", "- a\n- b\n", "policy.yaml:1: expected a mapping with departments and routes"},
        {"YAML syntax error", S_HEAD "  - name: a\n    match: { type: [x, y }\n", "policy.yaml:5: *"},
        {"duplicate key", S_HEAD S_ROUTE "    notify: eng\n",
         "policy.yaml:8: duplicate key \"notify\" (first on line 6)"},
        {"alias", "departments:\n  eng: &e {}\n  fin: *e\nroutes:\n" S_ROUTE, "policy.yaml:3: aliases are not *"},
        {"empty document", "", "policy.yaml:1: empty document"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case = cases[i].name;
        char err[HUB_ERR_LEN] = "";
        hub_policy_t *p = hub_policy_parse(cases[i].text, strlen(cases[i].text), "policy.yaml", err);
        CHECK(p == NULL);
        hub_policy_destroy(&p);
        size_t len = strlen(cases[i].err);
        if (cases[i].err[len - 1] == '*') {
            if (strncmp(err, cases[i].err, len - 1) != 0) {
                fprintf(stderr, "[%s] \"%s\" does not start with \"%.*s\"\n", cases[i].name, err, (int)len - 1,
                        cases[i].err);
                check_failures++;
            }
        } else {
            CHECK_STR(err, cases[i].err);
        }
    }
    check_case = "parse errors";
}

/* A tiny policy that is fine: nothing optional, "finance:" declared with
 * no value, keys in any order. */
static void test_parse_minimal(void)
{
    hub_policy_t *p = s_policy("routes:\n"
                               "  - kind: k\n"
                               "    notify: fin\n"
                               "    match: { type: x }\n"
                               "    name: r\n"
                               "departments:\n"
                               "  fin:\n");
    s_event_t e;
    CHECK_STR(s_topics(p, s_event(&e, "x", NULL, NULL)), "fin.k");
    hub_policy_destroy(&p);
}

/* ----------------------------------------------------------------- limits */

/* Appends to a growing buffer; aborts the test on ENOMEM. */
static void s_append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

static void test_limits(void)
{
    char err[HUB_ERR_LEN] = "";
    char *text = NULL;
    size_t len = 0, cap = 0;
    char line[128];

    /* HUB_MAX_ROUTES routes load; one more does not */
    s_append(&text, &len, &cap, "departments: { eng: {} }\nroutes:\n");
    for (int i = 0; i < HUB_MAX_ROUTES; i++) {
        snprintf(line, sizeof line, "  - { name: r%d, match: { type: t%d }, notify: eng, kind: k }\n", i, i);
        s_append(&text, &len, &cap, line);
    }
    hub_policy_t *p = hub_policy_parse(text, len, "policy.yaml", err);
    CHECK(p != NULL);
    if (p) {
        CHECK_INT(hub_policy_route_count(p), HUB_MAX_ROUTES);
        s_event_t e;
        CHECK_STR(s_topics(p, s_event(&e, "t1023", NULL, NULL)), "eng.k");
    }
    hub_policy_destroy(&p);
    s_append(&text, &len, &cap, "  - { name: over, match: { type: x }, notify: eng, kind: k }\n");
    p = hub_policy_parse(text, len, "policy.yaml", err);
    CHECK(p == NULL);
    CHECK_STR(err, "policy.yaml:1027: routes: more than 1024");

    /* 256 values of one key load; 257 do not */
    len = 0;
    s_append(&text, &len, &cap,
             "departments: { eng: {} }\nroutes:\n  - name: r\n    notify: eng\n    kind: k\n"
             "    match:\n      type:\n");
    for (int i = 0; i < 256; i++) {
        snprintf(line, sizeof line, "        - v%d\n", i);
        s_append(&text, &len, &cap, line);
    }
    p = hub_policy_parse(text, len, "policy.yaml", err);
    CHECK(p != NULL);
    if (p) {
        s_event_t e;
        CHECK_STR(s_reason(p, s_event(&e, "v255", NULL, NULL)), "type=v255");
    }
    hub_policy_destroy(&p);
    s_append(&text, &len, &cap, "        - v256\n");
    p = hub_policy_parse(text, len, "policy.yaml", err);
    CHECK(p == NULL);
    CHECK_STR(err, "policy.yaml:264: route \"r\": match: type: more than 256 values");

    /* not nested 8 deep loads; 9 does not */
    for (int depth = 8; depth <= 9; depth++) {
        len = 0;
        s_append(&text, &len, &cap, "departments: { eng: {} }\nroutes:\n  - { name: r, notify: eng, kind: k, match: ");
        for (int i = 0; i < depth; i++)
            s_append(&text, &len, &cap, "{ type: x, not: ");
        s_append(&text, &len, &cap, "{ tags: y }");
        for (int i = 0; i < depth; i++)
            s_append(&text, &len, &cap, " }");
        s_append(&text, &len, &cap, " }\n");
        p = hub_policy_parse(text, len, "policy.yaml", err);
        if (depth == 8) {
            CHECK(p != NULL);
            s_event_t e;
            if (p) /* each level flips: not(tags=y) holds, the next does not, ... the 8th does not */
                CHECK_STR(s_topics(p, s_event(&e, "x", NULL, NULL)), "");
        } else {
            CHECK(p == NULL);
            CHECK_HAS(err, "policy.yaml:3: route \"r\": match: not: not: not: not: not: not: not: not: not: nested "
                           "more than 8 deep");
        }
        hub_policy_destroy(&p);
    }

    /* names of 63 bytes are fine, 64 are not */
    char name[80];
    memset(name, 'n', 64);
    name[64] = '\0';
    len = 0;
    snprintf(line, sizeof line, "departments: { eng: {} }\nroutes:\n  - name: %s\n", name + 1);
    s_append(&text, &len, &cap, line);
    s_append(&text, &len, &cap, "    match: { type: x }\n    notify: eng\n    kind: k\n");
    p = hub_policy_parse(text, len, "policy.yaml", err);
    CHECK(p != NULL);
    hub_policy_destroy(&p);
    len = 0;
    snprintf(line, sizeof line, "departments: { eng: {} }\nroutes:\n  - name: %s\n", name);
    s_append(&text, &len, &cap, line);
    s_append(&text, &len, &cap, "    match: { type: x }\n    notify: eng\n    kind: k\n");
    p = hub_policy_parse(text, len, "policy.yaml", err);
    CHECK(p == NULL);
    CHECK_HAS(err, "policy.yaml:3: route 1: name: ");
    free(text);
}

static const check_case_t cases[] = {
    {"match: one value", test_single_value},
    {"match: a list of values", test_value_list},
    {"match: dotted paths, map keys, enums", test_dotted_path},
    {"match: a list field holds when any element does", test_list_field},
    {"match: a missing field never holds", test_missing_never_holds},
    {"match: not", test_not},
    {"match: nested not", test_nested_not},
    {"route: several matches, in policy order, at most max", test_several_matches_in_order},
    {"route: fields, respond_within, escalate_to", test_fields_and_deadline},
    {"route: reason cut to HUB_REASON_LEN", test_reason_cut},
    {"route: reason cut between two pieces of a term", test_reason_cut_between_pieces},
    {"sha256 and the text", test_sha256},
    {"explain: why each route matched or not", test_explain},
    {"the sample deploy/policy.yaml", test_sample_policy},
    {"load: file errors", test_load_file_errors},
    {"parse: errors with their lines", test_parse_errors},
    {"parse: a minimal policy", test_parse_minimal},
    {"parse: limits", test_limits},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
