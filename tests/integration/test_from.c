/*
 * from - where a subscription starts: resume (where the durable name
 * stopped; earliest when new), earliest, latest (only what comes next), or
 * a sequence number (inclusive).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static const char *s_policy = "departments:\n"
                              "  alpha: {}\n"
                              "routes:\n"
                              "  - name: to-alpha\n"
                              "    match: { type: ping }\n"
                              "    notify: alpha\n"
                              "    kind: ping\n";

#define N 5

static const char *const s_topics[] = {"alpha.*", NULL};

typedef struct {
    harness_t *h;
    hub_client_t *pub;
    uint64_t seqs[N + 1]; /* seqs[0..N) published first; seqs[N] later */
} s_fixture_t;

static int s_setup(s_fixture_t *fx)
{
    harness_opts_t o = {.policy_text = s_policy};
    memset(fx, 0, sizeof *fx);
    fx->h = HARNESS_NEW(&o);
    if (!fx->h || harness_start(fx->h) != 0 || !(fx->pub = harness_client(fx->h, "publisher")))
        return -1;
    for (int i = 0; i < N; i++) {
        char ev[128];
        hub_publish_result_t res;
        snprintf(ev, sizeof ev, "{\"id\":\"f-%d\",\"type\":\"ping\"}", i);
        if (harness_publish(fx->pub, ev, &res) != 0)
            return -1;
        fx->seqs[i] = res.seq;
    }
    return 0;
}

static int s_publish_more(s_fixture_t *fx)
{
    hub_publish_result_t res;
    if (harness_publish(fx->pub, "{\"id\":\"f-late\",\"type\":\"ping\"}", &res) != 0)
        return -1;
    fx->seqs[N] = res.seq;
    return 0;
}

static void s_teardown(s_fixture_t *fx)
{
    hub_client_destroy(&fx->pub);
    HARNESS_END(fx->h);
}

/* Receives want notifications (acking them) and checks their seqs. */
static void s_expect_seqs(hub_client_t *c, const uint64_t *want, size_t nwant)
{
    harness_got_t got[N + 1] = {0};
    size_t n = harness_collect(c, got, nwant, 1, 10000);
    CHECK_INT(n, nwant);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(got[i].seq, want[i]);
    harness_got_free(got, n);
}

static void test_earliest(void)
{
    s_fixture_t fx;
    hub_client_t *c = NULL;
    REQUIRE(s_setup(&fx) == 0);
    REQUIRE((c = harness_client(fx.h, "e")) != NULL);
    REQUIRE(harness_subscribe(c, "e", s_topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    s_expect_seqs(c, fx.seqs, N);
    REQUIRE(s_publish_more(&fx) == 0);
    s_expect_seqs(c, fx.seqs + N, 1);
done:
    hub_client_destroy(&c);
    s_teardown(&fx);
}

static void test_latest(void)
{
    s_fixture_t fx;
    hub_client_t *c = NULL;
    REQUIRE(s_setup(&fx) == 0);
    REQUIRE((c = harness_client(fx.h, "l")) != NULL);
    REQUIRE(harness_subscribe(c, "l", s_topics, HUB_FROM_LATEST, 0, 10) == 0);
    /* the stored ones would come first, in order: the first is the new one */
    REQUIRE(s_publish_more(&fx) == 0);
    s_expect_seqs(c, fx.seqs + N, 1);
    CHECK(harness_wait_sub(fx.h, c, "l", "position", fx.seqs[N], 5000));
    json_t *st = harness_status_via(fx.h, c);
    uint64_t v = 0;
    CHECK(harness_sub_u64(st, "l", "delivered", &v));
    CHECK_INT(v, 1);
    json_decref(st);
done:
    hub_client_destroy(&c);
    s_teardown(&fx);
}

static void test_seq(void)
{
    s_fixture_t fx;
    hub_client_t *c = NULL;
    REQUIRE(s_setup(&fx) == 0);
    REQUIRE((c = harness_client(fx.h, "q")) != NULL);
    REQUIRE(harness_subscribe(c, "q", s_topics, HUB_FROM_SEQ, fx.seqs[2], 10) == 0);
    s_expect_seqs(c, fx.seqs + 2, N - 2);
done:
    hub_client_destroy(&c);
    s_teardown(&fx);
}

/* resume: a new name starts at the earliest; a known one where its acks
 * stopped; an explicit start repositions a known name. */
static void test_resume(void)
{
    s_fixture_t fx;
    hub_client_t *c = NULL;
    hub_notification_t *n = NULL;
    REQUIRE(s_setup(&fx) == 0);
    REQUIRE((c = harness_client(fx.h, "r")) != NULL);
    REQUIRE(harness_subscribe(c, "r", s_topics, HUB_FROM_RESUME, 0, 1) == 0);
    s_expect_seqs(c, fx.seqs, 2);
    CHECK(harness_wait_sub(fx.h, c, "r", "position", fx.seqs[1], 5000));
    /* the third is delivered (credit 1) but never acked */
    REQUIRE(hub_receive(c, &n, 5000) == 1);
    CHECK_INT(hub_notification_seq(n), fx.seqs[2]);
    hub_notification_destroy(&n);
    hub_client_destroy(&c);

    REQUIRE((c = harness_client(fx.h, "r-again")) != NULL);
    REQUIRE(harness_subscribe(c, "r", s_topics, HUB_FROM_RESUME, 0, 10) == 0);
    s_expect_seqs(c, fx.seqs + 2, N - 2);
    CHECK(harness_wait_sub(fx.h, c, "r", "position", fx.seqs[N - 1], 5000));
    hub_client_destroy(&c);

    REQUIRE((c = harness_client(fx.h, "r-earliest")) != NULL);
    REQUIRE(harness_subscribe(c, "r", s_topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    s_expect_seqs(c, fx.seqs, N);
done:
    hub_notification_destroy(&n);
    hub_client_destroy(&c);
    s_teardown(&fx);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"from earliest: everything stored, then live", test_earliest},
        {"from latest: only what comes next", test_latest},
        {"from a seq: that one and after", test_seq},
        {"resume: where the acks stopped; earliest repositions", test_resume},
        {NULL, NULL},
    };
    return check_run(cases);
}
