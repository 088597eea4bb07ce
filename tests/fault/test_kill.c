/*
 * kill - SIGKILL hubd while a publisher streams and subscribers are taking
 * deliveries; restart it on the same data. Nothing acknowledged is lost:
 * every acknowledged event is stored once with the seq its ack gave, and
 * every department receives every event, none twice (after libhub's
 * duplicate suppression), in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static const char *s_policy = "departments:\n"
                              "  left: {}\n"
                              "  right: {}\n"
                              "routes:\n"
                              "  - name: to-left\n"
                              "    match: { type: load }\n"
                              "    notify: left\n"
                              "    kind: load\n"
                              "  - name: to-right\n"
                              "    match: { type: load }\n"
                              "    notify: right\n"
                              "    kind: load\n";

#define N_EVENTS 5000
#define KILL_PUBLISH_AT 2000 /* acks before the first SIGKILL */
#define N_SUBS 2
#define RUN_MS 90000 /* the whole case, at most */

static const char *const s_names[N_SUBS] = {"left", "right"};

typedef struct {
    uint64_t *tokens;    /* token of event i's current publish (0: none) */
    uint64_t *acked_seq; /* seq from event i's ack (0: not acked) */
    size_t acked;        /* events acknowledged */
    size_t sent;         /* events handed to hub_publish_async */
    size_t failed;       /* outcomes with an error (published again) */
    size_t duplicates;   /* acks marked duplicate (resent after a crash) */
} s_pub_t;

typedef struct {
    hub_client_t *c;
    uint8_t *seen;       /* per event index: times the app got it */
    size_t got;          /* distinct events received */
    size_t twice;        /* returned to the app more than once */
    size_t wrong_seq;    /* seq differs from the publisher's ack */
    size_t out_of_order; /* seq not above the previous */
    uint64_t last_seq;
    size_t step; /* receives allowed per loop turn */
} s_sub_t;

static void s_event(char *buf, size_t cap, size_t i)
{
    snprintf(buf, cap, "{\"id\":\"k-%05zu\",\"type\":\"load\",\"source\":\"fault\",\"case_id\":\"CASE-%zu\"}", i, i);
}

/* Event index from an id "k-NNNNN", or N_EVENTS when it is not one. */
static size_t s_index(const char *id)
{
    if (!id || strncmp(id, "k-", 2) != 0)
        return N_EVENTS;
    size_t i = (size_t)strtoul(id + 2, NULL, 10);
    return i < N_EVENTS ? i : N_EVENTS;
}

/* Event index of a token (tokens grow as they are handed out). */
static size_t s_token_index(const s_pub_t *p, uint64_t token)
{
    for (size_t i = 0; i < p->sent; i++)
        if (p->tokens[i] == token)
            return i;
    return N_EVENTS;
}

static int s_publish(hub_client_t *c, s_pub_t *p, size_t i)
{
    char ev[192], err[HUB_ERR_LEN] = "";
    s_event(ev, sizeof ev, i);
    uint64_t token = 0;
    int rc = hub_publish_async(c, ev, &token, err);
    if (rc != 0) {
        fprintf(stderr, "publish k-%05zu: %s: %s\n", i, hub_strerror(rc), err);
        return rc;
    }
    p->tokens[i] = token;
    return 0;
}

/* Takes the outcomes that are there; errors are published again. */
static void s_drain_outcomes(hub_client_t *c, s_pub_t *p, int timeout_ms)
{
    hub_publish_outcome_t out[64];
    int n = hub_publish_wait(c, out, 64, timeout_ms);
    for (int k = 0; k < n; k++) {
        size_t i = s_index(out[k].result.id);
        if (i == N_EVENTS)
            i = s_token_index(p, out[k].token);
        if (i == N_EVENTS) {
            fprintf(stderr, "outcome for unknown token %llu\n", (unsigned long long)out[k].token);
            check_failures++;
            continue;
        }
        if (out[k].status != 0) {
            p->failed++;
            if (p->failed <= 5)
                fprintf(stderr, "k-%05zu refused (%s: %s); publishing it again\n", i, hub_strerror(out[k].status),
                        out[k].err);
            p->tokens[i] = 0;
            s_publish(c, p, i);
            continue;
        }
        if (p->acked_seq[i] == 0) {
            p->acked_seq[i] = out[k].result.seq;
            p->acked++;
        } else if (p->acked_seq[i] != out[k].result.seq) {
            fprintf(stderr, "k-%05zu acked twice with seq %llu and %llu\n", i, (unsigned long long)p->acked_seq[i],
                    (unsigned long long)out[k].result.seq);
            check_failures++;
        }
        if (out[k].result.duplicate)
            p->duplicates++;
    }
}

/* Receives at most max notifications that are already there, acking each. */
static void s_receive(s_sub_t *s, const s_pub_t *p, size_t max, int timeout_ms)
{
    for (size_t k = 0; k < max; k++) {
        hub_notification_t *n = NULL;
        int rc = hub_receive(s->c, &n, timeout_ms);
        if (rc <= 0) {
            if (rc < 0)
                fprintf(stderr, "hub_receive: %s\n", hub_strerror(rc));
            return;
        }
        size_t i = s_index(hub_notification_event_id(n));
        uint64_t seq = hub_notification_seq(n);
        if (i == N_EVENTS) {
            fprintf(stderr, "unexpected event %s\n", hub_notification_event_id(n));
            check_failures++;
        } else {
            if (s->seen[i]++)
                s->twice++;
            else
                s->got++;
            if (p->acked_seq[i] && p->acked_seq[i] != seq)
                s->wrong_seq++;
            if (seq <= s->last_seq)
                s->out_of_order++;
            s->last_seq = seq;
        }
        hub_ack(s->c, n);
        hub_notification_destroy(&n);
    }
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int s_restart(harness_t *h, const char *why)
{
    long rss = harness_rss_kb(h);
    printf("SIGKILL hubd (%s); RSS was %ld kB\n", why, rss);
    harness_kill(h);
    return harness_start(h);
}

static void test_kill_and_restart(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *pub = NULL;
    s_pub_t p = {0};
    s_sub_t subs[N_SUBS] = {{0}};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    p.tokens = calloc(N_EVENTS, sizeof *p.tokens);
    p.acked_seq = calloc(N_EVENTS, sizeof *p.acked_seq);
    REQUIRE(p.tokens && p.acked_seq);
    REQUIRE((pub = harness_client(h, "loader")) != NULL);
    hub_client_set_window(pub, 500);
    for (size_t s = 0; s < N_SUBS; s++) {
        char pattern[32];
        snprintf(pattern, sizeof pattern, "%s.*", s_names[s]);
        const char *topics[] = {pattern, NULL};
        REQUIRE((subs[s].c = harness_client(h, s_names[s])) != NULL);
        REQUIRE((subs[s].seen = calloc(N_EVENTS, 1)) != NULL);
        REQUIRE(harness_subscribe(subs[s].c, s_names[s], topics, HUB_FROM_RESUME, 0, 100) == 0);
    }
    /* left keeps up; right lags, so that the second kill finds it mid-way */
    subs[0].step = 16;
    subs[1].step = 1;

    int64_t deadline = harness_now_ms() + RUN_MS;
    int kills = 0;
    /* publish, with deliveries going on; kill once after KILL_PUBLISH_AT acks */
    while (p.sent < N_EVENTS && harness_now_ms() < deadline) {
        REQUIRE(s_publish(pub, &p, p.sent) == 0);
        p.sent++;
        s_drain_outcomes(pub, &p, 0);
        for (size_t s = 0; s < N_SUBS; s++)
            if (p.sent % 2 == 0)
                s_receive(&subs[s], &p, subs[s].step, 0);
        if (kills == 0 && p.acked >= KILL_PUBLISH_AT) {
            printf("publisher: %zu sent, %zu acked; left has %zu, right %zu\n", p.sent, p.acked, subs[0].got,
                   subs[1].got);
            REQUIRE(s_restart(h, "publishing") == 0);
            kills++;
        }
    }
    CHECK_INT(p.sent, N_EVENTS);
    CHECK_INT(kills, 1);
    /* every publish acknowledged in the end */
    while (p.acked < N_EVENTS && harness_now_ms() < deadline) {
        s_drain_outcomes(pub, &p, 100);
        for (size_t s = 0; s < N_SUBS; s++)
            s_receive(&subs[s], &p, subs[s].step, 0);
    }
    CHECK_INT(p.acked, N_EVENTS);
    CHECK_INT(hub_publish_pending(pub), 0);
    printf("publisher: all acked (%zu resent as duplicates, %zu refused and published again); left %zu, right %zu\n",
           p.duplicates, p.failed, subs[0].got, subs[1].got);

    /* drain; kill again while right is mid-way */
    size_t kill_right_at = subs[1].got + (N_EVENTS - subs[1].got) / 2;
    CHECK(subs[1].got < N_EVENTS);
    while ((subs[0].got < N_EVENTS || subs[1].got < N_EVENTS) && harness_now_ms() < deadline) {
        for (size_t s = 0; s < N_SUBS; s++)
            s_receive(&subs[s], &p, 64, 10);
        if (kills == 1 && subs[1].got >= kill_right_at) {
            printf("subscribers: left %zu, right %zu\n", subs[0].got, subs[1].got);
            REQUIRE(s_restart(h, "delivering") == 0);
            kills++;
        }
    }
    CHECK_INT(kills, 2);
    for (size_t s = 0; s < N_SUBS; s++) {
        printf("%s: %zu events, %zu returned twice, %zu out of order, %zu with another seq\n", s_names[s], subs[s].got,
               subs[s].twice, subs[s].out_of_order, subs[s].wrong_seq);
        CHECK_INT(subs[s].got, N_EVENTS);
        CHECK_INT(subs[s].twice, 0);
        CHECK_INT(subs[s].out_of_order, 0);
        CHECK_INT(subs[s].wrong_seq, 0);
    }

    /* the store: every event once; each ack's seq is its own */
    json_t *st = harness_status(h);
    REQUIRE(st != NULL);
    CHECK_INT(harness_status_u64(st, "events"), N_EVENTS);
    uint64_t last = harness_status_u64(st, "last_seq");
    CHECK(last >= N_EVENTS);
    json_decref(st);
    for (size_t s = 0; s < N_SUBS; s++) {
        CHECK(harness_wait_sub(h, subs[s].c, s_names[s], "position", last, 10000));
        CHECK(harness_wait_sub(h, subs[s].c, s_names[s], "in_flight", 0, 5000));
    }
    qsort(p.acked_seq, N_EVENTS, sizeof *p.acked_seq, s_cmp_u64);
    size_t seq_clash = 0;
    for (size_t i = 0; i < N_EVENTS; i++)
        if (p.acked_seq[i] == 0 || p.acked_seq[i] > last || (i > 0 && p.acked_seq[i] == p.acked_seq[i - 1]))
            seq_clash++;
    CHECK_INT(seq_clash, 0);
    printf("hubd RSS at the end: %ld kB\n", harness_rss_kb(h));
done:
    hub_client_destroy(&pub);
    for (size_t s = 0; s < N_SUBS; s++) {
        hub_client_destroy(&subs[s].c);
        free(subs[s].seen);
    }
    free(p.tokens);
    free(p.acked_seq);
    HARNESS_END(h);
}

/* A publisher whose hub dies before the ack: the blocking publish comes back
 * with the ack of the restarted hub, and the event is stored once. */
static void test_kill_between_publishes(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *pub = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "one")) != NULL);
    hub_publish_result_t r1, r2;
    REQUIRE(harness_publish(pub, "{\"id\":\"solo-1\",\"type\":\"load\"}", &r1) == 0);
    REQUIRE(s_restart(h, "between publishes") == 0);
    /* same client: it notices the new instance and goes on */
    REQUIRE(harness_publish(pub, "{\"id\":\"solo-1\",\"type\":\"load\"}", &r2) == 0);
    CHECK_INT(r2.seq, r1.seq);
    CHECK_INT(r2.duplicate, 1);
    REQUIRE(harness_publish(pub, "{\"id\":\"solo-2\",\"type\":\"load\"}", &r2) == 0);
    CHECK_INT(r2.seq, r1.seq + 1);
    json_t *st = harness_status(h);
    CHECK_INT(harness_status_u64(st, "events"), 2);
    json_decref(st);
done:
    hub_client_destroy(&pub);
    HARNESS_END(h);
}

/* A publish while the hub is down times out; published again with the
 * same id once the hub is back, it is stored once. */
static void test_publish_while_down(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *pub = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "one")) != NULL);
    hub_publish_result_t r;
    REQUIRE(harness_publish(pub, "{\"id\":\"down-0\",\"type\":\"load\"}", &r) == 0);
    REQUIRE(harness_kill(h) == 0);
    char err[HUB_ERR_LEN] = "";
    int64_t t0 = harness_now_ms();
    CHECK_INT(hub_publish(pub, "{\"id\":\"down-1\",\"type\":\"load\"}", &r, 500, err), -ETIMEDOUT);
    CHECK(harness_now_ms() - t0 < 3000);
    CHECK(err[0] != '\0');
    REQUIRE(harness_start(h) == 0);
    REQUIRE(harness_publish(pub, "{\"id\":\"down-1\",\"type\":\"load\"}", &r) == 0);
    uint64_t seq = r.seq;
    /* nothing left pending, and down-1 is stored once */
    int64_t deadline = harness_now_ms() + 5000;
    while (hub_publish_pending(pub) > 0 && harness_now_ms() < deadline) {
        hub_publish_outcome_t out[4];
        hub_publish_wait(pub, out, 4, 100);
    }
    CHECK_INT(hub_publish_pending(pub), 0);
    REQUIRE(harness_publish(pub, "{\"id\":\"down-1\",\"type\":\"load\"}", &r) == 0);
    CHECK_INT(r.seq, seq);
    CHECK_INT(r.duplicate, 1);
    json_t *st = harness_status(h);
    CHECK_INT(harness_status_u64(st, "events"), 2);
    json_decref(st);
done:
    hub_client_destroy(&pub);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"SIGKILL while publishing and while delivering: nothing acked lost, none twice", test_kill_and_restart},
        {"SIGKILL between two publishes of the same client", test_kill_between_publishes},
        {"a publish while the hub is down: timeout, then stored once", test_publish_while_down},
        {NULL, NULL},
    };
    return check_run(cases);
}
