/*
 * sla - response-time commitments on a real hub: engineering promises to
 * answer bug reports within 1 s and has engineering-oncall as its backup.
 * A case answered in time is met and never escalates; a case nobody answers
 * is breached and escalated exactly once, and the on-call subscriber gets
 * exactly one notification on engineering-oncall.escalation. `hubctl sla`
 * counts it all, and `hubctl history` tells a case with two events, a late
 * response and an escalation in order.
 *
 * Waits are on conditions (an audit row, a notification, a subscriber's
 * position), never on the clock: "exactly once" is shown by a later marker
 * deadline of another department escalating to the same backup, which the
 * on-call subscriber receives after anything escalated before it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define S_WAIT_MS 10000
#define S_WITHIN_MS 1000 /* respond_within of the policy below */

static const char *s_policy = "departments:\n"
                              "  engineering: { escalate_to: engineering-oncall }\n"
                              "  engineering-oncall: {}\n"
                              "  qa: { escalate_to: engineering-oncall }\n"
                              "  sales: {}\n"
                              "routes:\n"
                              "  - name: defect\n"
                              "    match: { type: bug_report }\n"
                              "    notify: engineering\n"
                              "    kind: defect\n"
                              "    respond_within: 1s\n"
                              "  - name: followup\n"
                              "    match: { type: complaint }\n"
                              "    notify: sales\n"
                              "    kind: followup\n"
                              "  - name: case-update\n"
                              "    match: { type: response, source: engineering, status: resolved }\n"
                              "    notify: sales\n"
                              "    kind: case_update\n"
                              "  - name: triage\n"
                              "    match: { type: triage }\n"
                              "    notify: qa\n"
                              "    kind: triage\n"
                              "    respond_within: 1s\n";

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

static const json_t *s_detail(const json_t *row)
{
    return json_object_get(row, "detail");
}

/* A bug report on case_id. */
static int s_bug(hub_client_t *pub, const char *id, const char *case_id, hub_publish_result_t *res)
{
    char ev[512];
    snprintf(ev, sizeof ev,
             "{\"id\":\"%s\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"%s\","
             "\"customer\":{\"id\":\"C-7\",\"name\":\"Acme\",\"tier\":\"enterprise\"},\"severity\":\"high\","
             "\"subject\":\"export crashes (%s)\",\"body\":\"stops at 87%%\"}",
             id, case_id, case_id);
    return harness_publish(pub, ev, res);
}

/* `hubctl respond`: the seq of the stored response, or 0. */
static uint64_t s_respond(harness_t *h, const char *case_id, const char *dept, const char *status, const char *note,
                          long long *notifications)
{
    harness_run_t run = {0};
    uint64_t seq = 0;
    int rc = harness_hubctl(h, NULL, &run, "respond", case_id, "--department", dept, "--status", status, "--note", note,
                            NULL);
    json_t *ack = rc == 0 ? json_loads(run.out, 0, NULL) : NULL;
    if (ack && json_is_false(json_object_get(ack, "duplicate")))
        seq = (uint64_t)s_int(ack, "seq");
    if (notifications)
        *notifications = ack ? s_int(ack, "notifications") : -1;
    if (!seq)
        fprintf(stderr, "  respond %s: exit %d: %s%s\n", case_id, rc, run.out ? run.out : "", run.err ? run.err : "");
    json_decref(ack);
    harness_run_free(&run);
    return seq;
}

/* The audit rows of a case (NULL on failure). */
static json_t *s_case_rows(harness_t *h, const char *case_id)
{
    const char *filters[] = {"--case", case_id, NULL};
    return harness_audit(h, filters);
}

/* Waits for the n-th escalated row of case_id. */
static int s_wait_escalated(harness_t *h, const char *case_id, size_t n)
{
    const char *filters[] = {"--case", case_id, NULL};
    return harness_wait_audit(h, filters, "escalated", NULL, n, S_WAIT_MS);
}

/* Receives one escalation on the on-call subscriber and checks it is the
 * one of (seq, slot 0) on case_id by route. Returns its seq, or 0. */
static uint64_t s_take_escalation(hub_client_t *oncall, uint64_t seq, const char *case_id, const char *route,
                                  const char *from)
{
    harness_got_t got[1] = {0};
    size_t n = harness_collect(oncall, got, 1, 1, S_WAIT_MS);
    CHECK_INT(n, 1);
    if (n != 1)
        return 0;
    char id[64], reason[128];
    snprintf(id, sizeof id, "escalation:%" PRIu64 ":0", seq);
    snprintf(reason, sizeof reason, "%s did not answer %s by ", from, case_id);
    CHECK_STR(got[0].topic, "engineering-oncall.escalation");
    CHECK_STR(got[0].event_id, id);
    CHECK_STR(got[0].case_id, case_id);
    CHECK_STR(got[0].route, route);
    CHECK_INT(got[0].attempt, 1);
    json_t *note = json_loads(got[0].json, 0, NULL);
    CHECK_STR(s_str(note, "department"), "engineering-oncall");
    CHECK_HAS(s_str(note, "reason"), reason);
    CHECK_HAS(s_str(note, "reason"), "late");
    /* it carries the original event */
    CHECK_STR(s_str(json_object_get(note, "event"), "case_id"), case_id);
    json_decref(note);
    uint64_t got_seq = got[0].seq;
    CHECK(got_seq > seq);
    harness_got_free(got, n);
    return got_seq;
}

/* The --json line of `hubctl sla` for (dept, route); NULL when absent. */
static json_t *s_sla(harness_t *h, const char *dept, const char *route)
{
    harness_run_t run = {0};
    json_t *found = NULL;
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "sla", "--data", harness_data_dir(h), "--json", NULL), 0);
    char *save = NULL;
    for (char *line = run.out ? strtok_r(run.out, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        CHECK(json_is_object(o));
        if (!found && !strcmp(s_str(o, "department"), dept) && !strcmp(s_str(o, "route"), route))
            found = o;
        else
            json_decref(o);
    }
    if (!found)
        fprintf(stderr, "  no sla line for %s/%s in: %s\n", dept, route, run.out ? run.out : "");
    harness_run_free(&run);
    return found;
}

static void s_check_sla(const json_t *o, long long notifications, long long met, long long breached, long long open,
                        long long responses)
{
    CHECK_INT(s_int(o, "notifications"), notifications);
    CHECK_INT(s_int(o, "met"), met);
    CHECK_INT(s_int(o, "breached"), breached);
    CHECK_INT(s_int(o, "open"), open);
    CHECK_INT(s_int(o, "responses"), responses);
}

/* The harness with the policy above and the on-call engineer subscribed. */
static harness_t *s_start(hub_client_t **oncall, hub_client_t **pub)
{
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    const char *topics[] = {"engineering-oncall.*", NULL};
    if (!h || harness_start(h) != 0 || !(*oncall = harness_client(h, "engineering-oncall")) ||
        harness_subscribe(*oncall, "engineering-oncall", topics, HUB_FROM_RESUME, 0, 10) != 0 ||
        !(*pub = harness_client(h, "support")))
        check_failures++;
    return h;
}

/* Case A is answered within the second, case B is not; a marker case of qa
 * escalates to the same backup after B. */
static void test_met_and_breached(void)
{
    hub_client_t *oncall = NULL, *pub = NULL;
    json_t *rows = NULL, *sla = NULL, *st = NULL;
    int before = check_failures;
    harness_t *h = s_start(&oncall, &pub);
    REQUIRE(check_failures == before);

    /* A: answered at once */
    hub_publish_result_t a, b, m;
    int64_t t0 = harness_now_ms();
    REQUIRE(s_bug(pub, "sla-a", "CASE-A", &a) == 0);
    CHECK_INT(a.notifications, 1);
    long long resp_notes = -1;
    uint64_t resp = s_respond(h, "CASE-A", "engineering", "in_progress", "reproduced, looking", &resp_notes);
    REQUIRE(resp > a.seq);
    CHECK_INT(resp_notes, 0); /* in_progress is not routed by this policy */
    int64_t answered_after = harness_now_ms() - t0;
    if (answered_after >= S_WITHIN_MS)
        fprintf(stderr, "  the response took %lld ms: too slow a machine for a 1 s commitment\n",
                (long long)answered_after);
    REQUIRE(answered_after < S_WITHIN_MS);

    /* B: nobody answers; it escalates */
    REQUIRE(s_bug(pub, "sla-b", "CASE-B", &b) == 0);
    REQUIRE(s_wait_escalated(h, "CASE-B", 1));
    uint64_t esc_b = s_take_escalation(oncall, b.seq, "CASE-B", "defect", "engineering");

    /* A was met, by that response, within the second, and is never breached:
     * its due time came before B's, and B's has been handled */
    REQUIRE((rows = s_case_rows(h, "CASE-A")) != NULL);
    CHECK_INT(harness_audit_count(rows, "responded", "engineering"), 1);
    const json_t *r = harness_audit_find(rows, "responded", "engineering");
    CHECK_STR(s_str(s_detail(r), "status"), "in_progress");
    CHECK_STR(s_str(s_detail(r), "note"), "reproduced, looking");
    CHECK_INT(s_int(r, "seq"), resp);
    CHECK_INT(harness_audit_count(rows, "deadline_met", NULL), 1);
    const json_t *met = harness_audit_find(rows, "deadline_met", "engineering");
    REQUIRE(met != NULL);
    CHECK_INT(s_int(met, "seq"), a.seq);
    CHECK_STR(s_str(s_detail(met), "route"), "defect");
    CHECK_INT(s_int(s_detail(met), "slot"), 0);
    CHECK_INT(s_int(s_detail(met), "response_seq"), resp);
    long long within_ms = s_int(s_detail(met), "within_ms");
    CHECK(within_ms >= 0 && within_ms < S_WITHIN_MS && within_ms <= answered_after);
    CHECK_INT(harness_audit_count(rows, "breached", NULL), 0);
    CHECK_INT(harness_audit_count(rows, "escalated", NULL), 0);
    json_decref(rows);

    /* B: one breach, one escalation to the backup, in that order */
    REQUIRE((rows = s_case_rows(h, "CASE-B")) != NULL);
    CHECK_INT(harness_audit_count(rows, "deadline_met", NULL), 0);
    CHECK_INT(harness_audit_count(rows, "breached", NULL), 1);
    CHECK_INT(harness_audit_count(rows, "escalated", NULL), 1);
    const json_t *routed = harness_audit_find(rows, "received", "engineering");
    const json_t *br = harness_audit_find(rows, "breached", "engineering");
    const json_t *esc = harness_audit_find(rows, "escalated", "engineering-oncall");
    REQUIRE(routed && br && esc);
    CHECK_STR(s_str(br, "event_id"), "sla-b");
    CHECK_INT(s_int(br, "seq"), b.seq);
    CHECK_STR(s_str(s_detail(br), "route"), "defect");
    CHECK_STR(s_str(s_detail(br), "due"), s_str(harness_audit_about(routed, "engineering"), "respond_by"));
    CHECK(s_int(s_detail(br), "late_ms") >= 0);
    CHECK(s_int(br, "at_ms") >= s_int(routed, "at_ms") + S_WITHIN_MS);
    CHECK_STR(s_str(esc, "event_id"), "sla-b");
    CHECK_INT(s_int(esc, "seq"), b.seq);
    CHECK_STR(s_str(s_detail(esc), "from"), "engineering");
    CHECK_STR(s_str(s_detail(esc), "route"), "defect");
    CHECK_STR(s_str(s_detail(esc), "topic"), "engineering-oncall.escalation");
    /* the escalation row says which event carried it */
    CHECK_INT(s_int(s_detail(esc), "escalation_seq"), esc_b);
    CHECK(s_int(br, "id") < s_int(esc, "id"));
    json_decref(rows);
    rows = NULL;

    /* a marker: qa's case escalates to the same backup a second later; the
     * on-call subscriber gets it next, and nothing else */
    REQUIRE(harness_publish(pub, "{\"id\":\"sla-m\",\"type\":\"triage\",\"source\":\"support\",\"case_id\":\"CASE-M\"}",
                            &m) == 0);
    REQUIRE(s_wait_escalated(h, "CASE-M", 1));
    uint64_t esc_m = s_take_escalation(oncall, m.seq, "CASE-M", "triage", "qa");
    CHECK(esc_m > esc_b);
    REQUIRE((st = harness_status_via(h, oncall)) != NULL);
    uint64_t last = harness_status_u64(st, "last_seq");
    json_decref(st);
    st = NULL;
    CHECK_INT(last, esc_m);
    CHECK(harness_wait_sub(h, oncall, "engineering-oncall", "position", last, 5000));
    CHECK(harness_wait_sub(h, oncall, "engineering-oncall", "in_flight", 0, 5000));
    CHECK(harness_wait_sub(h, oncall, "engineering-oncall", "delivered", 2, 5000));

    /* still exactly one breach and one escalation for B, none for A */
    const char *all_escalated[] = {"--action", "escalated", NULL};
    REQUIRE((rows = harness_audit(h, all_escalated)) != NULL);
    CHECK_INT(json_array_size(rows), 2);
    json_decref(rows);
    const char *all_breached[] = {"--action", "breached", NULL};
    REQUIRE((rows = harness_audit(h, all_breached)) != NULL);
    CHECK_INT(json_array_size(rows), 2);
    CHECK_INT(harness_audit_count(rows, "breached", "engineering"), 1);
    CHECK_INT(harness_audit_count(rows, "breached", "qa"), 1);
    json_decref(rows);
    rows = NULL;

    /* the report: engineering/defect 2 notifications, 1 met, 1 breached */
    REQUIRE((sla = s_sla(h, "engineering", "defect")) != NULL);
    s_check_sla(sla, 2, 1, 1, 0, 1);
    CHECK_INT(s_int(sla, "median_ms"), within_ms);
    CHECK_INT(s_int(sla, "p95_ms"), within_ms);
    json_decref(sla);
    REQUIRE((sla = s_sla(h, "qa", "triage")) != NULL);
    s_check_sla(sla, 1, 0, 1, 0, 0);
    CHECK(json_is_null(json_object_get(sla, "median_ms")));
    json_decref(sla);
    sla = NULL;
    /* one department only, and the table */
    harness_run_t run = {0};
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "sla", "--data", harness_data_dir(h), "--department", "engineering",
                             "--json", NULL),
              0);
    CHECK_INT(harness_count_lines(run.out), 1);
    CHECK_HAS(run.out, "\"department\":\"engineering\"");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "sla", "--data", harness_data_dir(h), NULL), 0);
    CHECK_HAS(run.out, "BREACHED");
    CHECK_HAS(run.out, "defect");
    CHECK_HAS(run.out, "triage");
    harness_run_free(&run);

    /* a late answer on B does not turn the breach into a met deadline, and
     * counts with its actual time */
    REQUIRE(s_respond(h, "CASE-B", "engineering", "acknowledged", "sorry, on it", NULL) > 0);
    REQUIRE((sla = s_sla(h, "engineering", "defect")) != NULL);
    s_check_sla(sla, 2, 1, 1, 0, 2);
    CHECK(s_int(sla, "p95_ms") >= S_WITHIN_MS);
    json_decref(sla);
    sla = NULL;
    REQUIRE((rows = s_case_rows(h, "CASE-B")) != NULL);
    CHECK_INT(harness_audit_count(rows, "breached", NULL), 1);
    CHECK_INT(harness_audit_count(rows, "escalated", NULL), 1);
done:
    json_decref(rows);
    json_decref(sla);
    json_decref(st);
    hub_client_destroy(&pub);
    hub_client_destroy(&oncall);
    HARNESS_END(h);
}

/* The position of the first row at or after 'from' with action (and, when
 * not NULL, event_id), or -1. */
static long s_index(const json_t *rows, size_t from, const char *action, const char *event_id)
{
    for (size_t i = from; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        if (!strcmp(s_str(r, "action"), action) && (!event_id || !strcmp(s_str(r, "event_id"), event_id)))
            return (long)i;
    }
    return -1;
}

/* Case B: a bug report nobody answers in time (escalated), a complaint on
 * the same case, then engineering's resolution. */
static void test_history(void)
{
    hub_client_t *oncall = NULL, *pub = NULL;
    json_t *rows = NULL, *hist = NULL;
    harness_run_t run = {0};
    int before = check_failures;
    harness_t *h = s_start(&oncall, &pub);
    REQUIRE(check_failures == before);
    hub_publish_result_t b1, b2;
    REQUIRE(s_bug(pub, "hist-1", "CASE-B", &b1) == 0);
    REQUIRE(s_wait_escalated(h, "CASE-B", 1));
    uint64_t esc = s_take_escalation(oncall, b1.seq, "CASE-B", "defect", "engineering");
    CHECK(esc > 0);
    REQUIRE(harness_publish(pub,
                            "{\"id\":\"hist-2\",\"type\":\"complaint\",\"source\":\"support\",\"case_id\":\"CASE-B\","
                            "\"subject\":\"still broken, nobody called\"}",
                            &b2) == 0);
    CHECK_INT(b2.notifications, 1);
    long long resp_notes = -1;
    uint64_t resp = s_respond(h, "CASE-B", "engineering", "resolved", "fixed in 2.3.1", &resp_notes);
    REQUIRE(resp > b2.seq);
    CHECK_INT(resp_notes, 1); /* sales.case_update */
    /* the on-call engineer's ack of the escalation is on record */
    const char *by_case[] = {"--case", "CASE-B", NULL};
    CHECK(harness_wait_audit(h, by_case, "acked", "engineering-oncall", 1, S_WAIT_MS));

    /* --json: the case's audit rows, in time order (then id) */
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "history", "CASE-B", "--data", harness_data_dir(h), "--json", NULL), 0);
    REQUIRE((hist = json_array()) != NULL);
    char *save = NULL;
    for (char *line = run.out ? strtok_r(run.out, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        CHECK(json_is_object(o));
        if (o)
            json_array_append_new(hist, o);
    }
    harness_run_free(&run);
    for (size_t i = 1; i < json_array_size(hist); i++) {
        const json_t *p = json_array_get(hist, i - 1), *q = json_array_get(hist, i);
        CHECK(s_int(p, "at_ms") < s_int(q, "at_ms") ||
              (s_int(p, "at_ms") == s_int(q, "at_ms") && s_int(p, "id") < s_int(q, "id")));
    }
    /* the same rows as the audit log says of the case */
    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    CHECK_INT(json_array_size(hist), json_array_size(rows));
    /* complete and in order */
    long at = 0;
    static const struct {
        const char *action;
        const char *event_id;
        const char *department;
    } want[] = {
        {"received", "hist-1", "engineering"}, {"breached", "hist-1", "engineering"},
        {"escalated", "hist-1", "engineering-oncall"}, {"received", "hist-2", "sales"},
        {"received", NULL, "sales"}, /* the response, routed to sales by the policy */
        {"responded", NULL, "engineering"},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        long i = s_index(hist, (size_t)at, want[k].action, want[k].event_id);
        if (i < 0)
            fprintf(stderr, "  history: no %s %s after row %ld\n", want[k].action,
                    want[k].event_id ? want[k].event_id : "", at);
        CHECK(i >= 0);
        if (i < 0)
            break;
        const json_t *r = json_array_get(hist, (size_t)i);
        if (want[k].department)
            CHECK(harness_audit_about(r, want[k].department) != NULL);
        at = i + 1;
    }
    const json_t *responded = harness_audit_find(hist, "responded", "engineering");
    CHECK(responded != NULL);
    CHECK_STR(s_str(s_detail(responded), "note"), "fixed in 2.3.1");
    CHECK_STR(s_str(s_detail(responded), "status"), "resolved");
    CHECK_INT(s_int(responded, "seq"), resp);
    CHECK_INT(harness_audit_count(hist, "breached", NULL), 1);
    CHECK_INT(harness_audit_count(hist, "escalated", NULL), 1);
    /* when the on-call engineer received and acknowledged the escalation */
    CHECK_INT(harness_audit_count(hist, "delivered", "engineering-oncall"), 1);
    CHECK_INT(harness_audit_count(hist, "acked", "engineering-oncall"), 1);

    /* the human-readable history tells the same story in the same order */
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "history", "CASE-B", "--data", harness_data_dir(h), NULL), 0);
    const char *received = run.out ? strstr(run.out, "received") : NULL;
    const char *breached = received ? strstr(received, "breached") : NULL;
    const char *escalated = breached ? strstr(breached, "escalated") : NULL;
    const char *complaint = escalated ? strstr(escalated, "complaint") : NULL;
    const char *note = complaint ? strstr(complaint, "fixed in 2.3.1") : NULL;
    CHECK(received && breached && escalated && complaint && note);
    CHECK_HAS(run.out, "CASE-B");
    CHECK_HAS(run.out, "engineering-oncall");
    CHECK(run.out && strstr(run.out, "seq ?") == NULL);
    if (check_failures != before)
        fprintf(stderr, "  hubctl history CASE-B printed:\n%s", run.out ? run.out : "");
    harness_run_free(&run);

    /* an unknown case: exit 1 */
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "history", "CASE-NONE", "--data", harness_data_dir(h), NULL), 1);
done:
    harness_run_free(&run);
    json_decref(rows);
    json_decref(hist);
    hub_client_destroy(&pub);
    hub_client_destroy(&oncall);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"met in time: no escalation; unmet: one breach, one escalation to the backup; sla figures",
         test_met_and_breached},
        {"history of a case with two events, a late response and an escalation, in order", test_history},
        {NULL, NULL},
    };
    return check_run(cases);
}
