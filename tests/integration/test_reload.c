/*
 * reload - SIGHUP loads the policy file again: a changed policy changes the
 * routing of what is published next; a broken one is refused and the old
 * one stays in force, with hubd still serving.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static const char *s_policy_v1 = "departments:\n"
                                 "  alpha: {}\n"
                                 "  beta: {}\n"
                                 "routes:\n"
                                 "  - name: pings\n"
                                 "    match: { type: ping }\n"
                                 "    notify: alpha\n"
                                 "    kind: ping\n";

static const char *s_policy_v2 = "departments:\n"
                                 "  alpha: {}\n"
                                 "  beta: {}\n"
                                 "routes:\n"
                                 "  - name: pings\n"
                                 "    match: { type: ping }\n"
                                 "    notify: beta\n"
                                 "    kind: ping\n"
                                 "  - name: pongs\n"
                                 "    match: { type: pong }\n"
                                 "    notify: alpha\n"
                                 "    kind: pong\n";

/* not a policy: a route without notify, and bad indentation after it */
static const char *s_policy_broken = "departments:\n"
                                     "  alpha: {}\n"
                                     "routes:\n"
                                     "  - name: pings\n"
                                     "    match: { type: ping }\n"
                                     "    notfy: alpha\n"
                                     "   kind: [\n";

/* Publishes a ping and returns its notification count (-1 on failure). */
static int s_ping(hub_client_t *pub, const char *id, uint64_t *seq)
{
    char ev[128];
    hub_publish_result_t res;
    snprintf(ev, sizeof ev, "{\"id\":\"%s\",\"type\":\"ping\"}", id);
    if (harness_publish(pub, ev, &res) != 0)
        return -1;
    *seq = res.seq;
    return (int)res.notifications;
}

/* The topic of the next notification c receives, acked; "" when none came. */
static void s_next_topic(hub_client_t *c, char *topic, size_t cap, uint64_t *seq)
{
    harness_got_t got[1] = {0};
    size_t n = harness_collect(c, got, 1, 1, 10000);
    snprintf(topic, cap, "%s", n ? got[0].topic : "");
    *seq = n ? got[0].seq : 0;
    harness_got_free(got, n);
}

/* The received row of event id names one notification, for department by
 * route to topic. */
static void s_check_routed(harness_t *h, const char *id, const char *department, const char *route,
                           const char *topic)
{
    const char *filters[] = {"--event", id, NULL};
    json_t *rows = harness_audit(h, filters);
    CHECK(rows != NULL);
    CHECK_INT(harness_audit_count(rows, "received", NULL), 1);
    CHECK_INT(harness_audit_count(rows, "routed", NULL), 0);
    json_t *row = rows ? harness_audit_find(rows, "received", department) : NULL;
    const json_t *n = row ? harness_audit_about(row, department) : NULL;
    CHECK(n != NULL);
    if (n) {
        CHECK_STR(json_string_value(json_object_get(n, "route")), route);
        CHECK_STR(json_string_value(json_object_get(n, "topic")), topic);
        CHECK_INT(json_integer_value(json_object_get(n, "slot")), 0);
    }
    json_decref(rows);
}

static void test_reload(void)
{
    harness_opts_t o = {.policy_text = s_policy_v1};
    hub_client_t *pub = NULL, *alpha = NULL, *beta = NULL;
    json_t *st = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((alpha = harness_client(h, "alpha")) != NULL);
    REQUIRE((beta = harness_client(h, "beta")) != NULL);
    const char *at[] = {"alpha.*", NULL}, *bt[] = {"beta.*", NULL};
    REQUIRE(harness_subscribe(alpha, "alpha", at, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE(harness_subscribe(beta, "beta", bt, HUB_FROM_RESUME, 0, 10) == 0);

    REQUIRE((st = harness_status(h)) != NULL);
    char sha1[80];
    snprintf(sha1, sizeof sha1, "%s", harness_status_str(st, "policy_sha256"));
    CHECK_INT(strlen(sha1), 64);
    CHECK_INT(harness_status_u64(st, "routes"), 1);
    json_decref(st);
    st = NULL;

    /* v1: pings go to alpha */
    uint64_t seq = 0, got_seq = 0;
    char topic[160];
    CHECK_INT(s_ping(pub, "p-1", &seq), 1);
    s_next_topic(alpha, topic, sizeof topic, &got_seq);
    CHECK_STR(topic, "alpha.ping");
    CHECK_INT(got_seq, seq);

    /* v2 on SIGHUP: pings go to beta; wait until the hub says it has it */
    REQUIRE(harness_write_policy(h, s_policy_v2) == 0);
    REQUIRE(harness_signal(h, SIGHUP) == 0);
    int64_t deadline = harness_now_ms() + 10000;
    char sha2[80] = "";
    while (harness_now_ms() < deadline) {
        st = harness_status(h);
        if (st && harness_status_u64(st, "routes") == 2) {
            snprintf(sha2, sizeof sha2, "%s", harness_status_str(st, "policy_sha256"));
            json_decref(st);
            st = NULL;
            break;
        }
        json_decref(st);
        st = NULL;
        harness_pause();
    }
    REQUIRE(sha2[0] != '\0');
    CHECK(strcmp(sha1, sha2) != 0);
    CHECK_INT(s_ping(pub, "p-2", &seq), 1);
    s_next_topic(beta, topic, sizeof topic, &got_seq);
    CHECK_STR(topic, "beta.ping");
    CHECK_INT(got_seq, seq);

    /* broken policy on SIGHUP: refused (and said so in the log), v2 stays */
    long log_at = harness_log_size(h);
    REQUIRE(harness_write_policy(h, s_policy_broken) == 0);
    REQUIRE(harness_signal(h, SIGHUP) == 0);
    CHECK(harness_wait_log(h, log_at, "policy.yaml:", 10000));
    CHECK(harness_alive(h));
    REQUIRE((st = harness_status(h)) != NULL);
    CHECK_STR(harness_status_str(st, "policy_sha256"), sha2);
    CHECK_INT(harness_status_u64(st, "routes"), 2);
    json_decref(st);
    st = NULL;
    CHECK_INT(s_ping(pub, "p-3", &seq), 1);
    s_next_topic(beta, topic, sizeof topic, &got_seq);
    CHECK_STR(topic, "beta.ping");
    CHECK_INT(got_seq, seq);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, "{\"id\":\"q-1\",\"type\":\"pong\"}", &res) == 0);
    CHECK_INT(res.notifications, 1);
    s_next_topic(alpha, topic, sizeof topic, &got_seq);
    CHECK_STR(topic, "alpha.pong");
    CHECK_INT(got_seq, res.seq);

    /* the audit names each event's routing by the policy that routed it */
    s_check_routed(h, "p-1", "alpha", "pings", "alpha.ping");
    s_check_routed(h, "p-2", "beta", "pings", "beta.ping");
    s_check_routed(h, "q-1", "alpha", "pongs", "alpha.pong");

    /* alpha saw exactly p-1 and q-1 */
    CHECK(harness_wait_sub(h, alpha, "alpha", "position", res.seq, 5000));
    st = harness_status_via(h, alpha);
    uint64_t v = 0;
    CHECK(harness_sub_u64(st, "alpha", "delivered", &v));
    CHECK_INT(v, 2);
    CHECK(harness_sub_u64(st, "beta", "delivered", &v));
    CHECK_INT(v, 2);
done:
    json_decref(st);
    hub_client_destroy(&pub);
    hub_client_destroy(&alpha);
    hub_client_destroy(&beta);
    HARNESS_END(h);
}

/* A hubd started on a broken policy refuses to start: one line, exit 1. */
static void test_broken_at_start(void)
{
    harness_opts_t o = {.policy_text = s_policy_broken};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h != NULL);
    fprintf(stderr, "(a hubd refusing to start is expected here)\n");
    CHECK(harness_start(h) != 0);
    CHECK(!harness_alive(h));
    CHECK_INT(harness_stop(h), 1);
    char *log = harness_read_file(harness_log_path(h));
    CHECK_HAS(log, "hubd: ");
    CHECK_HAS(log, "policy.yaml:");
    free(log);
done:
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"SIGHUP: a changed policy routes anew; a broken one keeps the old", test_reload},
        {"a broken policy at start: exit 1 naming the file", test_broken_at_start},
        {NULL, NULL},
    };
    return check_run(cases);
}
