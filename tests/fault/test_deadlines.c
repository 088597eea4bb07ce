/*
 * deadlines - response-time commitments survive SIGKILL. Three bug reports
 * (engineering answers within 2 s) are stored and hubd is killed at once;
 * their deadlines pass while it is down. Restarted, it breaches and
 * escalates each of them exactly once, right after start, and the on-call
 * subscriber receives each escalation once; a fourth deadline still pending
 * at the restart escalates when it falls due. Killed again after the
 * escalations and restarted, nothing escalates twice, and `hubctl audit
 * verify` holds after every recovery.
 *
 * The one wait on the clock: until the three due times have passed while
 * hubd is down, computed from the due times the audit log gives. "Nothing
 * more" is shown by a later deadline escalating to the same backup (its
 * escalation comes after anything escalated before it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"

#define S_WAIT_MS 10000
#define S_N 3 /* bug reports whose deadlines pass while hubd is down */

static const char *s_policy = "departments:\n"
                              "  engineering: { escalate_to: engineering-oncall }\n"
                              "  engineering-oncall: {}\n"
                              "routes:\n"
                              "  - name: defect\n"
                              "    match: { type: bug_report }\n"
                              "    notify: engineering\n"
                              "    kind: defect\n"
                              "    respond_within: 2s\n"
                              "  - name: complaint\n"
                              "    match: { type: complaint }\n"
                              "    notify: engineering\n"
                              "    kind: complaint\n"
                              "    respond_within: 5s\n";

static const char *s_str(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static long long s_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Milliseconds since the epoch: deadlines are on the wall clock. */
static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms since the epoch of an RFC 3339 UTC time, or -1. */
static int64_t s_time_ms(const char *text)
{
    struct tm tm = {0};
    const char *rest = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return -1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*rest == '.') {
        int frac = 0, digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*rest - '0');
        for (; digits < 3; digits++)
            frac *= 10;
        ms += frac;
    }
    return *rest == 'Z' ? ms : -1;
}

static int s_publish(hub_client_t *pub, const char *type, const char *id, const char *case_id,
                     hub_publish_result_t *res)
{
    char ev[384];
    snprintf(ev, sizeof ev,
             "{\"id\":\"%s\",\"type\":\"%s\",\"source\":\"support\",\"case_id\":\"%s\",\"severity\":\"high\","
             "\"subject\":\"%s on %s\"}",
             id, type, case_id, type, case_id);
    return harness_publish(pub, ev, res);
}

/* The due time (ms since the epoch) of case_id's deadline, from the
 * respond_by of its received row's notification; -1 when absent. */
static int64_t s_due_ms(harness_t *h, const char *case_id)
{
    const char *filters[] = {"--case", case_id, "--action", "received", NULL};
    json_t *rows = harness_audit(h, filters);
    const json_t *r = rows ? harness_audit_find(rows, "received", "engineering") : NULL;
    int64_t due = r ? s_time_ms(s_str(harness_audit_about(r, "engineering"), "respond_by")) : -1;
    json_decref(rows);
    return due;
}

/* Exactly one breached row of engineering and one escalated row to the
 * backup for case_id, for the event of seq. */
static void s_check_once(const json_t *rows, const char *case_id, uint64_t seq)
{
    size_t breached = 0, escalated = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        if (strcmp(s_str(r, "case_id"), case_id) != 0)
            continue;
        if (!strcmp(s_str(r, "action"), "breached")) {
            breached++;
            CHECK_STR(s_str(r, "department"), "engineering");
            CHECK_INT(s_int(r, "seq"), seq);
        } else if (!strcmp(s_str(r, "action"), "escalated")) {
            escalated++;
            CHECK_STR(s_str(r, "department"), "engineering-oncall");
            CHECK_INT(s_int(r, "seq"), seq);
        }
    }
    if (breached != 1 || escalated != 1)
        fprintf(stderr, "  %s: %zu breached, %zu escalated rows\n", case_id, breached, escalated);
    CHECK_INT(breached, 1);
    CHECK_INT(escalated, 1);
}

/* Every breached and escalated row (NULL on failure). */
static json_t *s_deadline_rows(harness_t *h)
{
    json_t *all = harness_audit(h, NULL);
    json_t *out = all ? json_array() : NULL;
    for (size_t i = 0; out && i < json_array_size(all); i++) {
        json_t *r = json_array_get(all, i);
        const char *a = s_str(r, "action");
        if (!strcmp(a, "breached") || !strcmp(a, "escalated") || !strcmp(a, "deadline_met"))
            json_array_append(out, r);
    }
    json_decref(all);
    return out;
}

/* `hubctl audit verify --data`: 1 when it says ok. */
static int s_verify(harness_t *h)
{
    harness_run_t run = {0};
    int status = harness_hubctl(NULL, NULL, &run, "audit", "verify", "--data", harness_data_dir(h), NULL);
    int ok = status == 0 && run.out && strncmp(run.out, "ok: ", 4) == 0;
    if (!ok)
        fprintf(stderr, "  audit verify: exit %d: %s%s\n", status, run.out ? run.out : "", run.err ? run.err : "");
    harness_run_free(&run);
    return ok;
}

/* Receives the escalations of the given seqs (in any order) on the on-call
 * subscriber, each once; 'want' entries. Returns how many matched. */
static size_t s_take_escalations(hub_client_t *oncall, const uint64_t *seqs, const char *const *cases, size_t want,
                                 uint64_t *last_seq)
{
    harness_got_t got[S_N + 2] = {0};
    size_t n = harness_collect(oncall, got, want, 1, S_WAIT_MS);
    CHECK_INT(n, want);
    size_t matched = 0;
    int seen[S_N + 2] = {0};
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(got[i].topic, "engineering-oncall.escalation");
        CHECK_INT(got[i].attempt, 1);
        for (size_t k = 0; k < want; k++) {
            char id[64];
            snprintf(id, sizeof id, "escalation:%" PRIu64 ":0", seqs[k]);
            if (!strcmp(got[i].event_id, id)) {
                CHECK_STR(got[i].case_id, cases[k]);
                if (seen[k]++ == 0)
                    matched++;
            }
        }
        if (last_seq && got[i].seq > *last_seq)
            *last_seq = got[i].seq;
    }
    for (size_t k = 0; k < want; k++)
        if (seen[k] != 1)
            fprintf(stderr, "  escalation of %s received %d times\n", cases[k], seen[k]);
    CHECK_INT(matched, want);
    harness_got_free(got, n);
    return matched;
}

/* Nothing is stored after last_seq, and the on-call subscriber has taken
 * everything up to it. */
static void s_check_drained(harness_t *h, hub_client_t *oncall, uint64_t last_seq, uint64_t events)
{
    json_t *st = harness_status_via(h, oncall);
    CHECK(st != NULL);
    CHECK_INT(harness_status_u64(st, "last_seq"), last_seq);
    CHECK_INT(harness_status_u64(st, "events"), events);
    json_decref(st);
    CHECK(harness_wait_sub(h, oncall, "engineering-oncall", "position", last_seq, 5000));
    CHECK(harness_wait_sub(h, oncall, "engineering-oncall", "in_flight", 0, 5000));
}

static void test_due_while_down(void)
{
    static const char *const cases[S_N] = {"CASE-1", "CASE-2", "CASE-3"};
    harness_opts_t o = {.policy_text = s_policy};
    hub_client_t *pub = NULL, *oncall = NULL;
    json_t *rows = NULL;
    uint64_t seqs[S_N] = {0}, last = 0;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    const char *topics[] = {"engineering-oncall.*", NULL};
    REQUIRE((oncall = harness_client(h, "engineering-oncall")) != NULL);
    REQUIRE(harness_subscribe(oncall, "engineering-oncall", topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);

    /* three deadlines of 2 s and one of 5 s, then SIGKILL before any is due */
    int64_t t0 = s_wall_ms();
    hub_publish_result_t res;
    for (size_t i = 0; i < S_N; i++) {
        char id[32];
        snprintf(id, sizeof id, "dl-%zu", i + 1);
        REQUIRE(s_publish(pub, "bug_report", id, cases[i], &res) == 0);
        seqs[i] = res.seq;
    }
    hub_publish_result_t later;
    REQUIRE(s_publish(pub, "complaint", "dl-4", "CASE-4", &later) == 0);
    REQUIRE(harness_kill(h) == 0);
    int64_t killed_at = s_wall_ms();
    if (killed_at - t0 >= 2000)
        fprintf(stderr, "  the publishes took %lld ms: too slow for a 2 s commitment\n", (long long)(killed_at - t0));
    REQUIRE(killed_at - t0 < 2000);
    REQUIRE((rows = s_deadline_rows(h)) != NULL);
    CHECK_INT(json_array_size(rows), 0); /* none was due yet */
    json_decref(rows);
    rows = NULL;

    /* wait, with hubd down, until the three due times have passed */
    int64_t due_max = 0;
    for (size_t i = 0; i < S_N; i++) {
        int64_t due = s_due_ms(h, cases[i]);
        CHECK(due > killed_at);
        if (due > due_max)
            due_max = due;
    }
    int64_t due_4 = s_due_ms(h, "CASE-4");
    REQUIRE(due_max > 0 && due_4 > due_max);
    int64_t bound = harness_now_ms() + 3000;
    while (s_wall_ms() <= due_max && harness_now_ms() < bound)
        harness_pause();
    REQUIRE(s_wall_ms() > due_max);

    /* restarted: each of the three escalates, right after start */
    int64_t started_at = s_wall_ms();
    REQUIRE(harness_start(h) == 0);
    const char *escalated[] = {"--action", "escalated", NULL};
    REQUIRE(harness_wait_audit(h, escalated, "escalated", NULL, S_N, S_WAIT_MS));
    REQUIRE((rows = s_deadline_rows(h)) != NULL);
    for (size_t i = 0; i < S_N; i++)
        s_check_once(rows, cases[i], seqs[i]);
    CHECK_INT(harness_audit_count(rows, "escalated", NULL), S_N);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        long long at = s_int(r, "at_ms");
        CHECK(at >= started_at && at - started_at < 3000);
        /* late by at least the time it was down past the due time */
        CHECK(s_int(json_object_get(r, "detail"), "late_ms") >= started_at - due_max);
    }
    json_decref(rows);
    rows = NULL;
    s_take_escalations(oncall, seqs, cases, S_N, &last);
    CHECK(s_verify(h));

    /* the fourth, still pending at the restart, escalates when it falls due;
     * it comes after the three, and nothing else does */
    REQUIRE(harness_wait_audit(h, escalated, "escalated", NULL, S_N + 1, S_WAIT_MS));
    const char *const case4[] = {"CASE-4"};
    s_take_escalations(oncall, &later.seq, case4, 1, &last);
    s_check_drained(h, oncall, last, 2 * (S_N + 1));
    REQUIRE((rows = s_deadline_rows(h)) != NULL);
    for (size_t i = 0; i < S_N; i++)
        s_check_once(rows, cases[i], seqs[i]);
    CHECK_INT(harness_audit_count(rows, "escalated", NULL), S_N + 1);
    json_decref(rows);
    rows = NULL;
    CHECK(s_wall_ms() >= due_4);

    /* killed again after the escalations: nothing escalates twice */
    REQUIRE(harness_kill(h) == 0);
    REQUIRE(harness_start(h) == 0);
    CHECK(s_verify(h));
    /* a marker deadline after the restart: when it has escalated, the hub
     * has looked at its deadlines for 2 s since the restart */
    hub_publish_result_t marker;
    REQUIRE(s_publish(pub, "bug_report", "dl-5", "CASE-5", &marker) == 0);
    REQUIRE(harness_wait_audit(h, escalated, "escalated", NULL, S_N + 2, S_WAIT_MS));
    const char *const case5[] = {"CASE-5"};
    s_take_escalations(oncall, &marker.seq, case5, 1, &last);
    s_check_drained(h, oncall, last, 2 * (S_N + 2));
    REQUIRE((rows = s_deadline_rows(h)) != NULL);
    for (size_t i = 0; i < S_N; i++)
        s_check_once(rows, cases[i], seqs[i]);
    s_check_once(rows, "CASE-4", later.seq);
    s_check_once(rows, "CASE-5", marker.seq);
    CHECK_INT(harness_audit_count(rows, "escalated", NULL), S_N + 2);
    CHECK_INT(harness_audit_count(rows, "breached", NULL), S_N + 2);
    CHECK_INT(harness_audit_count(rows, "deadline_met", NULL), 0);
    json_decref(rows);
    rows = NULL;
    CHECK(s_verify(h));
    /* and after a clean stop */
    CHECK_INT(harness_stop(h), 0);
    CHECK(s_verify(h));
done:
    json_decref(rows);
    hub_client_destroy(&pub);
    hub_client_destroy(&oncall);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"deadlines due while hubd was down escalate once each, after a restart and after another",
         test_due_while_down},
        {NULL, NULL},
    };
    return check_run(cases);
}
