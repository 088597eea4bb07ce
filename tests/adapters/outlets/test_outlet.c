/*
 * outlet - the outlets' shared parts: templates (JSON, plain and line
 * escaping, lookups in the notification and its event), backoff with full
 * jitter, Retry-After in seconds and as an HTTP date, durations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "outlet_config.h"
#include "outlet_retry.h"
#include "outlet_run.h"
#include "outlet_template.h"

static const char *s_notification =
    "{\"seq\":12,\"slot\":1,\"topic\":\"eng.defect\",\"route\":\"defect\",\"attempt\":2,"
    "\"event_id\":\"ev-1\",\"event\":{\"type\":\"bug_report\",\"case_id\":\"CASE-1042\","
    "\"subject\":\"Export \\\"crashes\\\"\\non <big> files\",\"tags\":[\"regression\",\"p1\"],"
    "\"customer\":{\"name\":\"Acme \\\\ Corp\",\"tier\":\"enterprise\"},\"attributes\":{\"order_id\":\"SO-1\"}}}";

static char *s_render(const char *tmpl, outlet_escape_t escape)
{
    char err[HUB_ERR_LEN] = "";
    json_t *doc = json_loads(s_notification, 0, NULL);
    outlet_template_t *t = outlet_template_new(tmpl, err);
    char *out = t && doc ? outlet_template_render(t, doc, escape) : NULL;
    if (!t)
        fprintf(stderr, "template error: %s\n", err);
    outlet_template_destroy(&t);
    outlet_template_destroy(&t); /* safe twice */
    json_decref(doc);
    return out;
}

static void test_template_lookups(void)
{
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"{{case_id}}", "CASE-1042"},
        {"{{ customer.name }}/{{customer.tier}}", "Acme \\ Corp/enterprise"},
        {"{{route}} {{topic}} {{seq}}.{{slot}} try {{attempt}}", "defect eng.defect 12.1 try 2"},
        {"{{event.case_id}}={{case_id}}", "CASE-1042=CASE-1042"},
        {"{{attributes.order_id}}", "SO-1"},
        {"{{tags}}", "regression, p1"},
        {"[{{nothing.here}}]", "[]"},
        {"no placeholders", "no placeholders"},
        {"{ not one } {single}", "{ not one } {single}"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = s_render(cases[i].tmpl, OUTLET_ESCAPE_PLAIN);
        CHECK_STR(out, cases[i].want);
        free(out);
    }
}

static void test_template_escaping(void)
{
    char *out = s_render("{\"s\":\"{{event.subject}}\",\"c\":\"{{customer.name}}\"}", OUTLET_ESCAPE_JSON);
    CHECK_STR(out, "{\"s\":\"Export \\\"crashes\\\"\\non <big> files\",\"c\":\"Acme \\\\ Corp\"}");
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "s")), "Export \"crashes\"\non <big> files");
    json_decref(j);
    free(out);
    out = s_render("{{event.subject}}", OUTLET_ESCAPE_PLAIN);
    CHECK_STR(out, "Export \"crashes\"\non <big> files");
    free(out);
    out = s_render("Subject: {{event.subject}}", OUTLET_ESCAPE_LINE);
    CHECK_STR(out, "Subject: Export \"crashes\" on <big> files");
    free(out);
    out = s_render("{{customer}}", OUTLET_ESCAPE_PLAIN);
    CHECK_STR(out, "{\"name\":\"Acme \\\\ Corp\",\"tier\":\"enterprise\"}");
    free(out);
}

static void test_template_errors(void)
{
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"a {{case_id", "template line 1: unterminated \"{{\" (placeholder 1)"},
        {"ok {{a}}\nthen {{ }}", "template line 2: placeholder 2: empty path"},
        {"{{a b}}", "'b' is not allowed"},
        {"{{.a}}", "malformed path"},
        {"{{a|upper}}", "'|' is not allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[HUB_ERR_LEN] = "";
        outlet_template_t *t = outlet_template_new(cases[i].tmpl, err);
        CHECK(t == NULL);
        CHECK_HAS(err, cases[i].want);
        outlet_template_destroy(&t);
    }
}

static void test_backoff(void)
{
    outlet_retry_t r = {.max_attempts = 5, .initial_delay_ms = 100, .max_delay_ms = 1000, .max_elapsed_ms = 5000};
    /* the cap doubles per failure up to max_delay; rnd picks within [0, cap] */
    static const struct {
        uint32_t failed;
        int64_t cap;
    } caps[] = {{1, 100}, {2, 200}, {3, 400}, {4, 800}, {5, 1000}, {40, 1000}};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        CHECK_INT(outlet_retry_backoff_ms(&r, caps[i].failed, (uint64_t)caps[i].cap), caps[i].cap);
        CHECK_INT(outlet_retry_backoff_ms(&r, caps[i].failed, (uint64_t)caps[i].cap + 1), 0);
        CHECK_INT(outlet_retry_backoff_ms(&r, caps[i].failed, 0), 0);
    }
    /* jitter: random draws spread over the range and stay inside it */
    int64_t lo = 1000000, hi = -1;
    for (int i = 0; i < 2000; i++) {
        int64_t d = outlet_retry_backoff_ms(&r, 3, outlet_retry_random());
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CHECK(lo >= 0 && lo < 50);
    CHECK(hi <= 400 && hi > 350);
    outlet_retry_t d;
    outlet_retry_defaults(&d);
    CHECK_INT(d.max_attempts, 5);
    CHECK(d.max_elapsed_ms < 30000); /* below the hub's default ack_timeout */
}

static void test_retry_after(void)
{
    const int64_t now = 1445412480000LL; /* Wed, 21 Oct 2015 07:28:00 GMT */
    static const struct {
        const char *text;
        int rc;
        int64_t ms;
    } cases[] = {
        {"1", 0, 1000},
        {" 120 \r\n", 0, 120000},
        {"0", 0, 0},
        {"Wed, 21 Oct 2015 07:28:05 GMT", 0, 5000},
        {"Wednesday, 21-Oct-15 07:28:10 GMT", 0, 10000},
        {"Wed Oct 21 07:28:02 2015", 0, 2000},
        {"Tue, 20 Oct 2015 07:28:00 GMT", 0, 0}, /* in the past: now */
        {"1.5", -1, 0},
        {"-1", -1, 0},
        {"soon", -1, 0},
        {"", -1, 0},
        {"99999999999", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -7;
        int rc = outlet_retry_after_parse(cases[i].text, now, &ms);
        CHECK_INT(rc, cases[i].rc);
        if (rc == 0 && cases[i].rc == 0)
            CHECK_INT(ms, cases[i].ms);
    }
}

static void test_durations_and_lines(void)
{
    static const struct {
        const char *text;
        int rc;
        int64_t ms;
    } cases[] = {
        {"500ms", 0, 500}, {"2s", 0, 2000}, {"3", 0, 3000}, {"5m", 0, 300000}, {"1h", 0, 3600000},
        {"25h", -1, 0},    {"1.5s", -1, 0}, {"s", -1, 0},   {"10x", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = 0;
        CHECK_INT(outlet_parse_duration(cases[i].text, &ms), cases[i].rc);
        if (cases[i].rc == 0)
            CHECK_INT(ms, cases[i].ms);
    }
    char out[16];
    outlet_one_line("a\nb\tc", 5, 100, out, sizeof out);
    CHECK_STR(out, "a b c");
    outlet_one_line("abc\xc3\xa9z", 6, 4, out, sizeof out); /* never half a character */
    CHECK_STR(out, "abc");
    outlet_one_line("0123456789abcdefghij", 20, 100, out, sizeof out);
    CHECK_STR(out, "0123456789abcde");
}

int main(void)
{
    static const check_case_t cases[] = {
        {"template: lookups in the notification, then its event", test_template_lookups},
        {"template: JSON, plain and line escaping", test_template_escaping},
        {"template: malformed placeholders are errors with a line", test_template_errors},
        {"backoff: exponential cap, full jitter", test_backoff},
        {"Retry-After: seconds and the three HTTP date forms", test_retry_after},
        {"durations; one-line texts", test_durations_and_lines},
        {NULL, NULL},
    };
    return check_run(cases);
}
