/*
 * catchup - a durable subscriber that was away receives everything it
 * missed, in order, exactly once, when it comes back under the same name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

/* Every "ping" event goes to alpha; "other" events go nowhere near it. */
static const char *s_policy = "departments:\n"
                              "  alpha: {}\n"
                              "  beta: {}\n"
                              "routes:\n"
                              "  - name: to-alpha\n"
                              "    match: { type: ping }\n"
                              "    notify: alpha\n"
                              "    kind: ping\n"
                              "  - name: to-beta\n"
                              "    match: { type: [ping, other] }\n"
                              "    notify: beta\n"
                              "    kind: all\n";

#define N_AWAY 200 /* events published while the subscriber is away */

static void s_event(char *buf, size_t cap, const char *prefix, int i, const char *type)
{
    snprintf(buf, cap, "{\"id\":\"%s-%04d\",\"type\":\"%s\",\"source\":\"test\",\"case_id\":\"CASE-%d\"}", prefix, i,
             type, i);
}

static const char *const s_alpha_topics[] = {"alpha.*", NULL};

/* Away while N events arrive, back under the same name: all of them, in
 * publish order, once; then live ones keep coming. */
static void test_catch_up_in_order(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *pub = NULL, *sub = NULL;
    harness_got_t *got = calloc(N_AWAY + 2, sizeof *got);
    size_t n = 0;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(got && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((sub = harness_client(h, "alpha")) != NULL);
    REQUIRE(harness_subscribe(sub, "alpha", s_alpha_topics, HUB_FROM_RESUME, 0, 50) == 0);

    /* one live event, acked: the position is remembered */
    char ev[256];
    hub_publish_result_t res;
    s_event(ev, sizeof ev, "live", 0, "ping");
    REQUIRE(harness_publish(pub, ev, &res) == 0);
    uint64_t first_seq = res.seq;
    n = harness_collect(sub, got, 1, 1, 10000);
    REQUIRE(n == 1);
    CHECK_STR(got[0].event_id, "live-0000");
    CHECK(harness_wait_sub(h, sub, "alpha", "position", first_seq, 5000));
    harness_got_free(got, n);
    hub_client_destroy(&sub);

    /* away: N events for it, interleaved with events it does not want */
    uint64_t seqs[N_AWAY];
    for (int i = 0; i < N_AWAY; i++) {
        s_event(ev, sizeof ev, "away", i, "ping");
        REQUIRE(harness_publish(pub, ev, &res) == 0);
        seqs[i] = res.seq;
        if (i % 10 == 0) {
            s_event(ev, sizeof ev, "other", i, "other");
            REQUIRE(harness_publish(pub, ev, &res) == 0);
        }
    }
    json_t *st = harness_status(h);
    uint64_t backlog = 0, last = harness_status_u64(st, "last_seq");
    CHECK(harness_sub_u64(st, "alpha", "backlog", &backlog));
    CHECK_INT(backlog, last - first_seq);
    json_decref(st);

    /* back: everything missed, in order, once */
    REQUIRE((sub = harness_client(h, "alpha-again")) != NULL);
    REQUIRE(harness_subscribe(sub, "alpha", s_alpha_topics, HUB_FROM_RESUME, 0, 50) == 0);
    n = harness_collect(sub, got, N_AWAY, 1, 20000);
    CHECK_INT(n, N_AWAY);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "away-%04zu", i);
        CHECK_STR(got[i].event_id, want);
        CHECK_INT(got[i].seq, seqs[i]);
        CHECK_STR(got[i].topic, "alpha.ping");
    }
    harness_got_free(got, n);
    /* all acked: the position is the last event, nothing in flight */
    CHECK(harness_wait_sub(h, sub, "alpha", "position", last, 5000));
    CHECK(harness_wait_sub(h, sub, "alpha", "in_flight", 0, 5000));

    /* live again */
    s_event(ev, sizeof ev, "live", 1, "ping");
    REQUIRE(harness_publish(pub, ev, &res) == 0);
    n = harness_collect(sub, got, 1, 1, 10000);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(got[0].event_id, "live-0001");
done:
    if (got)
        harness_got_free(got, n);
    free(got);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

/* The position survives a hubd restart: what was acked is not sent again,
 * what was not is. */
static void test_catch_up_across_restart(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *pub = NULL, *sub = NULL;
    harness_got_t got[20] = {0};
    size_t n = 0;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((sub = harness_client(h, "alpha")) != NULL);
    REQUIRE(harness_subscribe(sub, "alpha", s_alpha_topics, HUB_FROM_RESUME, 0, 50) == 0);
    char ev[256];
    hub_publish_result_t res;
    uint64_t seqs[20];
    for (int i = 0; i < 20; i++) {
        s_event(ev, sizeof ev, "r", i, "ping");
        REQUIRE(harness_publish(pub, ev, &res) == 0);
        seqs[i] = res.seq;
    }
    n = harness_collect(sub, got, 10, 1, 10000);
    REQUIRE(n == 10);
    CHECK(harness_wait_sub(h, sub, "alpha", "position", seqs[9], 5000));
    harness_got_free(got, n);
    n = 0;
    hub_client_destroy(&sub);
    hub_client_destroy(&pub);
    CHECK_INT(harness_stop(h), 0);
    REQUIRE(harness_start(h) == 0);

    REQUIRE((sub = harness_client(h, "alpha")) != NULL);
    REQUIRE(harness_subscribe(sub, "alpha", s_alpha_topics, HUB_FROM_RESUME, 0, 50) == 0);
    n = harness_collect(sub, got, 10, 1, 10000);
    CHECK_INT(n, 10);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "r-%04zu", i + 10);
        CHECK_STR(got[i].event_id, want);
        CHECK_INT(got[i].seq, seqs[i + 10]);
    }
    CHECK(harness_wait_sub(h, sub, "alpha", "position", seqs[19], 5000));
    CHECK(harness_wait_sub(h, sub, "alpha", "in_flight", 0, 5000));
done:
    harness_got_free(got, n);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"a subscriber back from away gets all it missed, in order, once", test_catch_up_in_order},
        {"the position survives a restart", test_catch_up_across_restart},
        {NULL, NULL},
    };
    return check_run(cases);
}
