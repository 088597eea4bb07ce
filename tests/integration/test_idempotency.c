/*
 * idempotency - an event published again with the same id is acknowledged
 * with its original sequence number, marked duplicate, and stored once;
 * also across connections and a hubd restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static const char *s_policy = "departments:\n"
                              "  eng: {}\n"
                              "routes:\n"
                              "  - name: to-eng\n"
                              "    match: { type: bug_report }\n"
                              "    notify: eng\n"
                              "    kind: defect\n";

static const char *s_event = "{\"id\":\"idem-1\",\"type\":\"bug_report\",\"case_id\":\"CASE-1\",\"subject\":\"once\"}";

static void test_same_id_twice(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *a = NULL, *b = NULL, *sub = NULL;
    harness_got_t got[2] = {0};
    size_t n = 0;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((a = harness_client(h, "a")) != NULL);
    REQUIRE((b = harness_client(h, "b")) != NULL);

    hub_publish_result_t r1, r2, r3;
    REQUIRE(harness_publish(a, s_event, &r1) == 0);
    CHECK_STR(r1.id, "idem-1");
    CHECK_INT(r1.duplicate, 0);
    CHECK_INT(r1.notifications, 1);
    REQUIRE(harness_publish(a, s_event, &r2) == 0);
    CHECK_STR(r2.id, "idem-1");
    CHECK_INT(r2.seq, r1.seq);
    CHECK_INT(r2.duplicate, 1);
    /* another connection, same id: still the same */
    REQUIRE(harness_publish(b, s_event, &r3) == 0);
    CHECK_INT(r3.seq, r1.seq);
    CHECK_INT(r3.duplicate, 1);

    json_t *st = harness_status(h);
    REQUIRE(st != NULL);
    CHECK_INT(harness_status_u64(st, "events"), 1);
    CHECK_INT(harness_status_u64(st, "last_seq"), r1.seq);
    json_decref(st);

    /* the next new event follows directly: the duplicates took no seq */
    hub_publish_result_t r4;
    REQUIRE(harness_publish(a, "{\"id\":\"idem-2\",\"type\":\"bug_report\"}", &r4) == 0);
    CHECK_INT(r4.seq, r1.seq + 1);
    CHECK_INT(r4.duplicate, 0);

    /* a subscriber gets idem-1 once */
    REQUIRE((sub = harness_client(h, "eng")) != NULL);
    const char *topics[] = {"eng.*", NULL};
    REQUIRE(harness_subscribe(sub, "eng", topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    n = harness_collect(sub, got, 2, 1, 10000);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(got[0].event_id, "idem-1");
        CHECK_STR(got[1].event_id, "idem-2");
    }
    CHECK(harness_wait_sub(h, sub, "eng", "position", r4.seq, 5000));
    st = harness_status_via(h, sub);
    uint64_t v = 0;
    CHECK(harness_sub_u64(st, "eng", "delivered", &v));
    CHECK_INT(v, 2);
    json_decref(st);
done:
    harness_got_free(got, n);
    hub_client_destroy(&a);
    hub_client_destroy(&b);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

/* The id is remembered in the store, not in memory. */
static void test_same_id_after_restart(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *a = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((a = harness_client(h, "a")) != NULL);
    hub_publish_result_t r1, r2;
    REQUIRE(harness_publish(a, s_event, &r1) == 0);
    hub_client_destroy(&a);
    CHECK_INT(harness_stop(h), 0);
    REQUIRE(harness_start(h) == 0);
    REQUIRE((a = harness_client(h, "a")) != NULL);
    REQUIRE(harness_publish(a, s_event, &r2) == 0);
    CHECK_INT(r2.seq, r1.seq);
    CHECK_INT(r2.duplicate, 1);
    json_t *st = harness_status(h);
    CHECK_INT(harness_status_u64(st, "events"), 1);
    json_decref(st);
done:
    hub_client_destroy(&a);
    HARNESS_END(h);
}

/* An event without id gets one generated, and a retry of that publish is
 * stored once (libhub sends the same bytes). Two id-less publishes are two
 * events. */
static void test_generated_ids(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *a = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((a = harness_client(h, "a")) != NULL);
    hub_publish_result_t r1, r2;
    REQUIRE(harness_publish(a, "{\"type\":\"bug_report\"}", &r1) == 0);
    REQUIRE(harness_publish(a, "{\"type\":\"bug_report\"}", &r2) == 0);
    CHECK(r1.id[0] != '\0');
    CHECK(r2.id[0] != '\0');
    CHECK(strcmp(r1.id, r2.id) != 0);
    CHECK(r2.seq == r1.seq + 1);
    CHECK_INT(r2.duplicate, 0);
    json_t *st = harness_status(h);
    CHECK_INT(harness_status_u64(st, "events"), 2);
    json_decref(st);
done:
    hub_client_destroy(&a);
    HARNESS_END(h);
}

/* The same id many times in one pipelined burst (so in one group commit):
 * stored once, every ack with the same seq, exactly one not duplicate. */
static void test_same_id_in_one_batch(void)
{
    enum { ROUNDS = 50 };
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *a = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((a = harness_client(h, "a")) != NULL);
    char err[HUB_ERR_LEN];
    uint64_t token;
    for (int i = 0; i < ROUNDS; i++) {
        char ev[128];
        snprintf(ev, sizeof ev, "{\"id\":\"other-%d\",\"type\":\"bug_report\"}", i);
        REQUIRE(hub_publish_async(a, "{\"id\":\"burst\",\"type\":\"bug_report\"}", &token, err) == 0);
        REQUIRE(hub_publish_async(a, ev, &token, err) == 0);
    }
    hub_publish_outcome_t out[2 * ROUNDS];
    int n = 0;
    int64_t deadline = harness_now_ms() + 10000;
    while (n < 2 * ROUNDS && harness_now_ms() < deadline)
        n += hub_publish_wait(a, out + n, 2 * ROUNDS - n, 1000);
    CHECK_INT(n, 2 * ROUNDS);
    uint64_t burst_seq = 0;
    int firsts = 0, bursts = 0;
    for (int i = 0; i < n; i++) {
        CHECK_INT(out[i].status, 0);
        if (strcmp(out[i].result.id, "burst") != 0) {
            CHECK_INT(out[i].result.duplicate, 0);
            continue;
        }
        bursts++;
        if (!burst_seq)
            burst_seq = out[i].result.seq;
        CHECK_INT(out[i].result.seq, burst_seq);
        firsts += !out[i].result.duplicate;
    }
    CHECK_INT(bursts, ROUNDS);
    CHECK_INT(firsts, 1);
    json_t *st = harness_status(h);
    CHECK_INT(harness_status_u64(st, "events"), ROUNDS + 1);
    json_decref(st);
done:
    hub_client_destroy(&a);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"the same id twice: same seq, duplicate, stored once", test_same_id_twice},
        {"the same id after a restart", test_same_id_after_restart},
        {"events without id get distinct generated ids", test_generated_ids},
        {"the same id many times in one batch", test_same_id_in_one_batch},
        {NULL, NULL},
    };
    return check_run(cases);
}
