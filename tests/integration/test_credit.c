/*
 * credit - a subscriber that does not ack holds exactly its credit in
 * flight; the hub sends it nothing more, and another department is not
 * slowed by it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static const char *s_policy = "departments:\n"
                              "  slow: {}\n"
                              "  fast: {}\n"
                              "routes:\n"
                              "  - name: to-slow\n"
                              "    match: { type: ping }\n"
                              "    notify: slow\n"
                              "    kind: ping\n"
                              "  - name: to-fast\n"
                              "    match: { type: ping }\n"
                              "    notify: fast\n"
                              "    kind: ping\n";

#define N_EVENTS 100
#define CREDIT 5

static void test_credit_holds(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *pub = NULL, *slow = NULL, *fast = NULL;
    harness_got_t *got = calloc(N_EVENTS, sizeof *got);
    hub_notification_t *kept[CREDIT] = {0};
    size_t n = 0, nkept = 0;
    uint64_t seqs[N_EVENTS];
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(got && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((slow = harness_client(h, "slow")) != NULL);
    REQUIRE((fast = harness_client(h, "fast")) != NULL);
    const char *slow_topics[] = {"slow.*", NULL};
    const char *fast_topics[] = {"fast.*", NULL};
    REQUIRE(harness_subscribe(slow, "slow", slow_topics, HUB_FROM_RESUME, 0, CREDIT) == 0);
    REQUIRE(harness_subscribe(fast, "fast", fast_topics, HUB_FROM_RESUME, 0, 10) == 0);
    long rss_before = harness_rss_kb(h);

    for (int i = 0; i < N_EVENTS; i++) {
        char ev[160];
        hub_publish_result_t res;
        snprintf(ev, sizeof ev, "{\"id\":\"c-%03d\",\"type\":\"ping\",\"source\":\"test\"}", i);
        REQUIRE(harness_publish(pub, ev, &res) == 0);
        CHECK_INT(res.notifications, 2);
        seqs[i] = res.seq;
    }

    /* the fast department gets all 100 while slow holds its first 5 */
    int64_t deadline = harness_now_ms() + 10000;
    while (nkept < CREDIT && harness_now_ms() < deadline) {
        hub_notification_t *note = NULL;
        int rc = hub_receive(slow, &note, 1000);
        REQUIRE(rc >= 0);
        if (rc == 1)
            kept[nkept++] = note;
    }
    CHECK_INT(nkept, CREDIT);
    n = harness_collect(fast, got, N_EVENTS, 1, 20000);
    CHECK_INT(n, N_EVENTS);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(got[i].seq, seqs[i]);
    harness_got_free(got, n);
    n = 0;
    CHECK(harness_wait_sub(h, fast, "fast", "position", seqs[N_EVENTS - 1], 5000));

    /* slow: exactly its credit in flight, no more delivered, the rest waits
     * on disk as backlog */
    json_t *st = harness_status_via(h, fast);
    uint64_t v = 0;
    REQUIRE(st != NULL);
    CHECK(harness_sub_u64(st, "slow", "in_flight", &v));
    CHECK_INT(v, CREDIT);
    CHECK(harness_sub_u64(st, "slow", "delivered", &v));
    CHECK_INT(v, CREDIT);
    CHECK(harness_sub_u64(st, "slow", "credit", &v));
    CHECK_INT(v, CREDIT);
    CHECK(harness_sub_u64(st, "slow", "backlog", &v));
    CHECK(v >= N_EVENTS - CREDIT);
    CHECK(harness_sub_u64(st, "fast", "in_flight", &v));
    CHECK_INT(v, 0);
    json_decref(st);
    for (size_t i = 0; i < nkept; i++) {
        CHECK_INT(hub_notification_seq(kept[i]), seqs[i]);
        CHECK_INT(hub_notification_attempt(kept[i]), 1);
    }
    /* and nothing more reached the slow client's queue */
    hub_notification_t *extra = NULL;
    CHECK_INT(hub_receive(slow, &extra, 0), 0);
    hub_notification_destroy(&extra);

    long rss_after = harness_rss_kb(h);
    printf("hubd RSS: %ld kB before, %ld kB after %d events\n", rss_before, rss_after, N_EVENTS);

    /* acking frees the credit: the rest flows, in order */
    for (size_t i = 0; i < nkept; i++)
        CHECK_INT(hub_ack(slow, kept[i]), 0);
    n = harness_collect(slow, got, N_EVENTS - CREDIT, 1, 20000);
    CHECK_INT(n, N_EVENTS - CREDIT);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(got[i].seq, seqs[i + CREDIT]);
    CHECK(harness_wait_sub(h, slow, "slow", "position", seqs[N_EVENTS - 1], 5000));
    CHECK(harness_wait_sub(h, slow, "slow", "in_flight", 0, 5000));
done:
    if (got)
        harness_got_free(got, n);
    for (size_t i = 0; i < nkept; i++)
        hub_notification_destroy(&kept[i]);
    free(got);
    hub_client_destroy(&pub);
    hub_client_destroy(&slow);
    hub_client_destroy(&fast);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"an unacking subscriber holds exactly its credit; others get everything", test_credit_holds},
        {NULL, NULL},
    };
    return check_run(cases);
}
