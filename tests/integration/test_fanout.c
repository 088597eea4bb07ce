/*
 * fanout - the sample policy sends each department exactly its
 * notifications: engineering the defects, finance the billing flags (without
 * the customer's words), shipping the RMAs, sales the follow-ups.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define NDEPT 4

static const char *const s_depts[NDEPT] = {"engineering", "finance", "shipping", "sales"};

/* Four events, one of each kind support sends; the policy makes 6
 * notifications of them: engineering 1, finance 2, shipping 1, sales 2. */
static const char *const s_events[] = {
    "{\"id\":\"fan-1\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-1001\","
    "\"customer\":{\"id\":\"C-1\",\"name\":\"Acme\",\"tier\":\"enterprise\",\"billing_status\":\"current\"},"
    "\"severity\":\"high\",\"subject\":\"export crashes\",\"body\":\"stack trace attached\",\"product\":\"desk\"}",
    "{\"id\":\"fan-2\",\"type\":\"return_request\",\"source\":\"support\",\"case_id\":\"CASE-1002\","
    "\"customer\":{\"id\":\"C-2\",\"name\":\"Bob\",\"tier\":\"free\",\"billing_status\":\"current\"},"
    "\"severity\":\"low\",\"subject\":\"wrong size\",\"body\":\"please send a label\"}",
    "{\"id\":\"fan-3\",\"type\":\"complaint\",\"source\":\"support\",\"case_id\":\"CASE-1003\","
    "\"customer\":{\"id\":\"C-3\",\"name\":\"Initech\",\"tier\":\"business\",\"billing_status\":\"overdue\"},"
    "\"severity\":\"medium\",\"subject\":\"invoice twice\",\"body\":\"my card number is 4111\"}",
    "{\"id\":\"fan-4\",\"type\":\"billing_question\",\"source\":\"support\",\"case_id\":\"CASE-1004\","
    "\"customer\":{\"id\":\"C-4\",\"name\":\"Dee\",\"tier\":\"free\",\"billing_status\":\"disputed\"},"
    "\"severity\":\"low\",\"subject\":\"refund?\",\"body\":\"private words\"}",
};
static const unsigned s_event_notes[] = {2, 1, 2, 1};

typedef struct {
    const char *topic;
    const char *route;
    const char *event_id;
    const char *case_id;
} s_expect_t;

/* per department, in publish order */
static const s_expect_t s_expect[NDEPT][2] = {
    {{"engineering.defect", "defect", "fan-1", "CASE-1001"}, {NULL, NULL, NULL, NULL}},
    {{"finance.billing_flag", "billing-flag", "fan-3", "CASE-1003"},
     {"finance.billing_flag", "billing-flag", "fan-4", "CASE-1004"}},
    {{"shipping.rma", "return", "fan-2", "CASE-1002"}, {NULL, NULL, NULL, NULL}},
    {{"sales.followup", "sales-followup", "fan-1", "CASE-1001"},
     {"sales.followup", "sales-followup", "fan-3", "CASE-1003"}},
};
static const size_t s_expect_n[NDEPT] = {1, 2, 1, 2};

/* The event object inside a notification's JSON (a new reference). */
static json_t *s_event_of(const char *notification_json)
{
    json_t *n = json_loads(notification_json, 0, NULL);
    json_t *ev = n ? json_object_get(n, "event") : NULL;
    if (ev)
        json_incref(ev);
    json_decref(n);
    return ev;
}

static void s_check_department(harness_t *h, hub_client_t *c, size_t d, uint64_t last_seq)
{
    harness_got_t got[4] = {0};
    size_t n = harness_collect(c, got, s_expect_n[d], 1, 10000);
    CHECK_INT(n, s_expect_n[d]);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(got[i].topic, s_expect[d][i].topic);
        CHECK_STR(got[i].route, s_expect[d][i].route);
        CHECK_STR(got[i].event_id, s_expect[d][i].event_id);
        CHECK_STR(got[i].case_id, s_expect[d][i].case_id);
        CHECK_INT(got[i].attempt, 1);
        json_t *ev = s_event_of(got[i].json);
        CHECK(ev != NULL);
        if (strcmp(s_depts[d], "finance") == 0) {
            /* redaction: finance sees case_id, customer, type, severity, subject */
            CHECK(json_object_get(ev, "body") == NULL);
            CHECK(json_object_get(ev, "source") == NULL);
            CHECK(json_object_get(ev, "customer") != NULL);
            CHECK(json_object_get(ev, "subject") != NULL);
            CHECK_STR(json_string_value(json_object_get(ev, "case_id")), s_expect[d][i].case_id);
        } else {
            CHECK(json_object_get(ev, "body") != NULL);
        }
        json_decref(ev);
    }
    /* nothing else for it: everything acked, nothing in flight, exactly its
     * deliveries counted */
    CHECK(harness_wait_sub(h, c, s_depts[d], "position", last_seq, 5000));
    json_t *st = harness_status_via(h, c);
    uint64_t v = 0;
    CHECK(st && harness_sub_u64(st, s_depts[d], "in_flight", &v));
    CHECK_INT(v, 0);
    CHECK(harness_sub_u64(st, s_depts[d], "delivered", &v));
    CHECK_INT(v, s_expect_n[d]);
    CHECK(harness_sub_u64(st, s_depts[d], "dead_letters", &v));
    CHECK_INT(v, 0);
    json_decref(st);
    harness_got_free(got, n);
}

/* Subscribers first, then the events: each department gets its own. */
static void test_live(void)
{
    hub_client_t *pub = NULL, *sub[NDEPT] = {0};
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    for (size_t d = 0; d < NDEPT; d++) {
        char pattern[64];
        snprintf(pattern, sizeof pattern, "%s.*", s_depts[d]);
        const char *topics[] = {pattern, NULL};
        REQUIRE((sub[d] = harness_client(h, s_depts[d])) != NULL);
        REQUIRE(harness_subscribe(sub[d], s_depts[d], topics, HUB_FROM_RESUME, 0, 10) == 0);
    }
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    uint64_t last = 0;
    for (size_t i = 0; i < 4; i++) {
        hub_publish_result_t res;
        REQUIRE(harness_publish(pub, s_events[i], &res) == 0);
        CHECK_INT(res.notifications, s_event_notes[i]);
        CHECK_INT(res.duplicate, 0);
        CHECK(res.seq > last);
        last = res.seq;
    }
    for (size_t d = 0; d < NDEPT; d++)
        s_check_department(h, sub[d], d, last);
done:
    hub_client_destroy(&pub);
    for (size_t d = 0; d < NDEPT; d++)
        hub_client_destroy(&sub[d]);
    HARNESS_END(h);
}

/* Events first, then the departments come: they catch up the same way. */
static void test_late_subscribers(void)
{
    hub_client_t *pub = NULL, *sub = NULL;
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    uint64_t last = 0;
    for (size_t i = 0; i < 4; i++) {
        hub_publish_result_t res;
        REQUIRE(harness_publish(pub, s_events[i], &res) == 0);
        last = res.seq;
    }
    for (size_t d = 0; d < NDEPT; d++) {
        char pattern[64];
        snprintf(pattern, sizeof pattern, "%s.*", s_depts[d]);
        const char *topics[] = {pattern, NULL};
        REQUIRE((sub = harness_client(h, s_depts[d])) != NULL);
        REQUIRE(harness_subscribe(sub, s_depts[d], topics, HUB_FROM_RESUME, 0, 0) == 0);
        s_check_department(h, sub, d, last);
        hub_client_destroy(&sub);
    }
done:
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

/* The shipped samples, published with hubctl, reach the departments with
 * the counts the README promises; hubctl subscribe prints them. */
static void test_samples_with_hubctl(void)
{
    static const size_t want[NDEPT] = {1, 2, 1, 2};
    harness_run_t run = {0};
    glob_t g = {0};
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    char pattern[HARNESS_PATH * 2];
    snprintf(pattern, sizeof pattern, "%s/deploy/samples/0[1-4]-*.json",
             harness_source_root() ? harness_source_root() : ".");
    REQUIRE(glob(pattern, 0, NULL, &g) == 0);
    CHECK_INT(g.gl_pathc, 4);
    unsigned total = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        CHECK_INT(harness_hubctl(h, NULL, &run, "publish", g.gl_pathv[i], NULL), 0);
        json_t *ack = json_loads(run.out, 0, NULL);
        CHECK(ack != NULL);
        if (!ack)
            fprintf(stderr, "  publish %s printed: %s / %s\n", g.gl_pathv[i], run.out, run.err);
        total += (unsigned)json_integer_value(json_object_get(ack, "notifications"));
        CHECK(json_is_false(json_object_get(ack, "duplicate")));
        json_decref(ack);
        harness_run_free(&run);
    }
    CHECK_INT(total, 6);
    size_t sum = 0;
    for (size_t d = 0; d < NDEPT; d++) {
        char topic[64], count[16];
        snprintf(topic, sizeof topic, "%s.*", s_depts[d]);
        snprintf(count, sizeof count, "%zu", want[d]);
        CHECK_INT(harness_hubctl(h, NULL, &run, "--timeout", "10", "subscribe", s_depts[d], "--topic", topic, "--count",
                                 count, NULL),
                  0);
        CHECK_INT(harness_count_lines(run.out), want[d]);
        /* every line is a notification of this department */
        char *save = NULL;
        for (char *line = strtok_r(run.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            json_t *n = json_loads(line, 0, NULL);
            CHECK(n != NULL);
            CHECK_STR(json_string_value(json_object_get(n, "department")), s_depts[d]);
            json_t *ev = json_object_get(n, "event");
            CHECK(ev != NULL);
            if (strcmp(s_depts[d], "finance") == 0)
                CHECK(json_object_get(ev, "body") == NULL);
            json_decref(n);
            sum++;
        }
        harness_run_free(&run);
    }
    /* 6 notifications in all and each department got exactly its count:
     * none went to two departments or to none */
    CHECK_INT(sum, total);
done:
    globfree(&g);
    harness_run_free(&run);
    HARNESS_END(h);
}

/* A large event (a 60 kB body: under the 64 kB limit of one field) arrives
 * whole. */
static void test_large_event(void)
{
    enum { BODY = 60 * 1024 };
    hub_client_t *pub = NULL, *sub = NULL;
    harness_got_t got[1] = {0};
    size_t n = 0;
    char *ev = malloc(BODY + 512);
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(ev && h && harness_start(h) == 0);
    int len = snprintf(ev, 512, "{\"id\":\"big\",\"type\":\"bug_report\",\"case_id\":\"CASE-9\",\"body\":\"");
    for (int i = 0; i < BODY; i++)
        ev[len + i] = (char)('a' + i % 26);
    snprintf(ev + len + BODY, 16, "\"}");
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE((sub = harness_client(h, "engineering")) != NULL);
    const char *topics[] = {"engineering.*", NULL};
    REQUIRE(harness_subscribe(sub, "engineering", topics, HUB_FROM_RESUME, 0, 10) == 0);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, ev, &res) == 0);
    n = harness_collect(sub, got, 1, 1, 10000);
    REQUIRE(n == 1);
    json_t *body_ev = s_event_of(got[0].json);
    const char *body = json_string_value(json_object_get(body_ev, "body"));
    CHECK(body != NULL && strlen(body) == BODY);
    CHECK(body != NULL && memcmp(body, ev + len, BODY) == 0);
    json_decref(body_ev);
done:
    harness_got_free(got, n);
    free(ev);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"live subscribers get exactly their notifications", test_live},
        {"late subscribers catch up on exactly theirs", test_late_subscribers},
        {"the samples through hubctl: engineering 1, finance 2, shipping 1, sales 2", test_samples_with_hubctl},
        {"a 60 kB event arrives whole", test_large_event},
        {NULL, NULL},
    };
    return check_run(cases);
}
