/*
 * admin - what a web console asks of a real hub: acting on behalf of a
 * person (the audit actor USER@IDENTITY), metrics in the status,
 * notifications with the state of their answers, dead letters redriven
 * and discarded, the policy and its dry run; through libhub, hubctl and a
 * bare DEALER for frames libhub would not send.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"

#define S_WAIT_MS 10000
#define S_CASE "CASE-1042"
#define S_SAMPLE_ID "support-desk-20261123-0001"

/* The sample bug report (deploy/samples), read whole; the caller frees. */
static char *s_sample(void)
{
    char path[HARNESS_PATH * 2];
    snprintf(path, sizeof path, "%s/deploy/samples/01-bug-report.json",
             harness_source_root() ? harness_source_root() : ".");
    char *text = harness_read_file(path);
    if (!text)
        fprintf(stderr, "cannot read %s\n", path);
    return text;
}

/* A string member, "" when absent or not a string. */
static const char *s_str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

/* An integer member, -1 when absent. */
static long long s_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Every audit row of action, in order, whose actor is actor. */
static size_t s_rows_by(const json_t *rows, const char *action, const char *actor)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        if (!strcmp(s_str(r, "action"), action) && !strcmp(s_str(r, "actor"), actor))
            n++;
    }
    return n;
}

/* Sends frame through a bare DEALER (after a Hello) and waits for a reply
 * of body kind; returns it (free with hub__frame__free_unpacked) or NULL. */
static Hub__Frame *s_raw_call(harness_t *h, Hub__Frame *frame, Hub__Frame__BodyCase kind)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(h));
    Hub__Frame *reply = NULL;
    if (raw && harness_raw_hello(raw, 5000)) {
        frame->has_version = 1;
        frame->version = HUB_PROTOCOL_VERSION;
        frame->has_corr = 1;
        frame->corr = 77;
        if (harness_raw_send_frame(raw, frame) != 0 || !harness_raw_expect(raw, kind, &reply, 5000))
            reply = NULL;
    }
    harness_raw_destroy(&raw);
    return reply;
}

/* ------------------------------------------------------- on_behalf_of */

/* A client that acts for alice: the rows of its publish and of its
 * response name alice@local; without a user again, local. */
static void test_on_behalf_of(void)
{
    hub_client_t *c = NULL;
    json_t *rows = NULL;
    char *sample = s_sample();
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(sample && h && harness_start(h) == 0);
    REQUIRE((c = harness_client(h, "console")) != NULL);
    CHECK_INT(hub_client_set_user(c, "alice"), 0);
    hub_publish_result_t res;
    REQUIRE(harness_publish(c, sample, &res) == 0);
    char err[HUB_ERR_LEN] = "";
    hub_publish_result_t answer;
    CHECK_INT(hub_respond(c, S_CASE, "engineering", "acknowledged", "on it", &answer, S_WAIT_MS, err), 0);
    uint64_t answered = answer.seq;
    CHECK_INT(hub_client_set_user(c, NULL), 0);
    CHECK_INT(hub_respond(c, S_CASE, "finance", "acknowledged", NULL, &answer, S_WAIT_MS, err), 0);

    const char *by_case[] = {"--case", S_CASE, NULL};
    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    CHECK_INT(s_rows_by(rows, "received", "alice@local"), 2); /* the bug report and engineering's answer */
    CHECK_INT(s_rows_by(rows, "routed", "alice@local"), 0); /* the bug report's received row names its three */
    CHECK_INT(s_rows_by(rows, "responded", "alice@local"), 1);
    const json_t *r = harness_audit_find(rows, "responded", "engineering");
    REQUIRE(r != NULL);
    CHECK_STR(s_str(r, "actor"), "alice@local");
    CHECK_INT(s_int(r, "seq"), answered);
    r = harness_audit_find(rows, "responded", "finance");
    REQUIRE(r != NULL);
    CHECK_STR(s_str(r, "actor"), "local");
    CHECK_INT(s_rows_by(rows, "received", "local"), 1);
done:
    json_decref(rows);
    free(sample);
    hub_client_destroy(&c);
    HARNESS_END(h);
}

/* A user name that is not one is refused by libhub before sending, and by
 * the hub when a client sends it anyway: INVALID naming on_behalf_of, a
 * rejected row with the identity as actor, nothing stored. */
static void test_on_behalf_of_refused(void)
{
    hub_client_t *c = NULL;
    json_t *rows = NULL;
    Hub__Frame *reply = NULL;
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((c = harness_client(h, "console")) != NULL);
    CHECK_INT(hub_client_set_user(c, "alice smith"), -HUB_EINVALID);
    CHECK_INT(hub_client_set_user(c, "alice@console"), -HUB_EINVALID);
    char longer[80];
    memset(longer, 'a', 65);
    longer[65] = '\0';
    CHECK_INT(hub_client_set_user(c, longer), -HUB_EINVALID);
    longer[64] = '\0';
    CHECK_INT(hub_client_set_user(c, longer), 0);

    static const char *const bad[] = {"alice smith", "", "\xc3\xa9lise", "a@b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Hub__Event ev = HUB__EVENT__INIT;
        ev.id = (char *)"obo-1";
        ev.type = (char *)"complaint";
        ev.case_id = (char *)"CASE-OBO";
        Hub__Publish p = HUB__PUBLISH__INIT;
        p.event = &ev;
        p.on_behalf_of = (char *)bad[i];
        Hub__Frame f = HUB__FRAME__INIT;
        f.body_case = HUB__FRAME__BODY_PUBLISH;
        f.publish = &p;
        REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR)) != NULL);
        CHECK_INT(reply->error->code, HUB__ERROR_CODE__ERROR_CODE_INVALID);
        CHECK_STR(reply->error->field, "on_behalf_of");
        CHECK_HAS(reply->error->message, "user name");
        hub__frame__free_unpacked(reply, NULL);
        reply = NULL;
    }
    json_t *status = harness_status(h);
    CHECK_INT(harness_status_u64(status, "last_seq"), 0);
    json_decref(status);
    const char *rejected[] = {"--action", "rejected", NULL};
    CHECK(harness_wait_audit(h, rejected, "rejected", NULL, 4, S_WAIT_MS)); /* written after the answers */
    REQUIRE((rows = harness_audit(h, rejected)) != NULL);
    CHECK_INT(s_rows_by(rows, "rejected", "local"), 4);
done:
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    json_decref(rows);
    hub_client_destroy(&c);
    HARNESS_END(h);
}

/* ------------------------------------------------------------ metrics */

/* The count of counter name under value in a status, 0 when not listed. */
static long long s_counter(const json_t *status, const char *name, const char *value)
{
    const json_t *list = json_object_get(status, "counters");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *c = json_array_get(list, i);
        if (!strcmp(s_str(c, "name"), name) && !strcmp(s_str(c, "value"), value))
            return s_int(c, "count");
    }
    return 0;
}

/* The label of counter name (its first value's), "" when not listed. */
static const char *s_counter_label(const json_t *status, const char *name)
{
    const json_t *list = json_object_get(status, "counters");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (!strcmp(s_str(json_array_get(list, i), "name"), name))
            return s_str(json_array_get(list, i), "label");
    return "";
}

/* The histogram name of a status, or NULL. */
static const json_t *s_histogram(const json_t *status, const char *name)
{
    const json_t *list = json_object_get(status, "histograms");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (!strcmp(s_str(json_array_get(list, i), "name"), name))
            return json_array_get(list, i);
    return NULL;
}

/* Waits until counter name under value reaches want (asking through via,
 * as harness_status_via). Returns 1, or 0 at the deadline. */
static int s_wait_counter(harness_t *h, hub_client_t *via, const char *name, const char *value, long long want)
{
    int64_t deadline = harness_now_ms() + S_WAIT_MS;
    long long seen = -1;
    for (;;) {
        json_t *status = harness_status_via(h, via);
        seen = status ? s_counter(status, name, value) : -1;
        json_decref(status);
        if (seen >= want)
            return 1;
        if (harness_now_ms() >= deadline)
            break;
        harness_pause();
    }
    fprintf(stderr, "  counter %s{%s} is %lld, wanted %lld\n", name, value, seen, want);
    return 0;
}

/* Waits for one notification and returns it (the caller destroys it), or
 * NULL at the deadline. */
static hub_notification_t *s_receive(hub_client_t *c, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    while (harness_now_ms() < deadline) {
        hub_notification_t *n = NULL;
        int rc = hub_receive(c, &n, (int)(deadline - harness_now_ms()));
        if (rc == 1)
            return n;
        if (rc < 0) {
            fprintf(stderr, "hub_receive: %s\n", hub_strerror(rc));
            return NULL;
        }
    }
    return NULL;
}

/* Every counter moves with what it counts; the histograms count the
 * commits; a subscriber's acked, oldest in flight and dead letters. */
static void test_metrics(void)
{
    hub_client_t *pub = NULL, *eng = NULL;
    hub_notification_t *n = NULL;
    json_t *status = NULL;
    char *sample = s_sample();
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(sample && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    const char *topics[] = {"engineering.*", NULL};
    REQUIRE(harness_subscribe(eng, "engineering", topics, HUB_FROM_RESUME, 0, 10) == 0);

    REQUIRE((status = harness_status(h)) != NULL);
    CHECK_INT(s_counter(status, "events_received", "bug_report"), 0);
    CHECK(s_histogram(status, "commit_batch_events") != NULL);
    json_decref(status);
    status = NULL;

    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, sample, &res) == 0);
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_publish(pub, "{\"type\":\"complaint\",\"occurred_at\":\"yesterday\"}", NULL, S_WAIT_MS, err),
              -HUB_EINVALID); /* refused by libhub: the hub never sees it */
    CHECK_INT(hub_publish(pub, sample, &res, S_WAIT_MS, err), 0); /* a duplicate: not counted again */
    CHECK_INT(res.duplicate, 1);

    /* engineering takes it and keeps it a while: in flight, then acked */
    REQUIRE((n = s_receive(eng, S_WAIT_MS)) != NULL);
    REQUIRE((status = harness_status_via(h, eng)) != NULL);
    uint64_t oldest = 0, acked = 99;
    CHECK(harness_sub_u64(status, "engineering", "oldest_unacked_ms", &oldest));
    CHECK(harness_sub_u64(status, "engineering", "acked", &acked));
    CHECK_INT(acked, 0);
    json_decref(status);
    int64_t until = harness_now_ms() + S_WAIT_MS;
    while (oldest < 200 && harness_now_ms() < until) { /* its age grows while it is held */
        harness_pause();
        status = harness_status_via(h, eng);
        harness_sub_u64(status, "engineering", "oldest_unacked_ms", &oldest);
        json_decref(status);
    }
    status = NULL;
    CHECK(oldest >= 200);
    CHECK_INT(hub_ack(eng, n), 0);
    hub_notification_destroy(&n);
    CHECK(harness_wait_sub(h, eng, "engineering", "acked", 1, S_WAIT_MS));

    REQUIRE((status = harness_status_via(h, eng)) != NULL);
    CHECK_INT(s_counter(status, "events_received", "bug_report"), 1);
    CHECK_STR(s_counter_label(status, "events_received"), "type");
    CHECK_INT(s_counter(status, "notifications", "engineering.defect"), 1);
    CHECK_INT(s_counter(status, "notifications", "finance.billing_flag"), 1);
    CHECK_INT(s_counter(status, "notifications", "sales.followup"), 1);
    CHECK_STR(s_counter_label(status, "notifications"), "topic");
    CHECK_INT(s_counter(status, "deliveries", "engineering"), 1);
    CHECK_STR(s_counter_label(status, "deliveries"), "department");
    CHECK_INT(s_counter(status, "acks", "engineering"), 1);
    CHECK_INT(s_counter(status, "events_rejected", "complaint"), 0);
    uint64_t sub_acked = 0, oldest_now = 99;
    CHECK(harness_sub_u64(status, "engineering", "acked", &sub_acked));
    CHECK(harness_sub_u64(status, "engineering", "oldest_unacked_ms", &oldest_now));
    CHECK_INT(sub_acked, 1);
    CHECK_INT(oldest_now, 0);
    const json_t *batch = s_histogram(status, "commit_batch_events");
    const json_t *secs = s_histogram(status, "commit_seconds");
    REQUIRE(batch && secs);
    const json_t *buckets = json_object_get(batch, "buckets");
    CHECK_INT(json_array_size(buckets), json_array_size(json_object_get(batch, "bounds")) + 1);
    /* every commit is observed: the +Inf bucket holds them all */
    CHECK(s_int(batch, "count") >= 2);
    CHECK_INT(json_integer_value(json_array_get(buckets, json_array_size(buckets) - 1)), s_int(batch, "count"));
    CHECK_INT(s_int(secs, "count"), s_int(batch, "count"));
    CHECK(json_number_value(json_object_get(batch, "sum")) >= 2); /* the event and its duplicate */
    json_decref(status);
    status = NULL;

    /* refusals by the hub are counted by type; "" when there is none */
    harness_raw_t *raw = harness_raw_new(harness_endpoint(h));
    REQUIRE(raw && harness_raw_hello(raw, 5000));
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = (char *)"complaint";
    ev.occurred_at = (char *)"yesterday";
    Hub__Publish p = HUB__PUBLISH__INIT;
    p.event = &ev;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_version = 1;
    f.version = HUB_PROTOCOL_VERSION;
    f.has_corr = 1;
    f.corr = 5;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    Hub__Frame *reply = NULL;
    CHECK(harness_raw_send_frame(raw, &f) == 0 && harness_raw_expect(raw, HUB__FRAME__BODY_ERROR, &reply, 5000));
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    reply = NULL;
    ev.type = NULL;
    f.corr = 6;
    CHECK(harness_raw_send_frame(raw, &f) == 0 && harness_raw_expect(raw, HUB__FRAME__BODY_ERROR, &reply, 5000));
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    harness_raw_destroy(&raw);

    /* a dead letter: counted for the subscriber, open until acted on */
    REQUIRE(harness_publish(pub, "{\"type\":\"bug_report\",\"case_id\":\"CASE-M2\"}", NULL) == 0);
    REQUIRE((n = s_receive(eng, S_WAIT_MS)) != NULL);
    CHECK_INT(hub_nack(eng, n, "no such project", 1), 0);
    hub_notification_destroy(&n);
    CHECK(harness_wait_sub(h, eng, "engineering", "dead_letters", 1, S_WAIT_MS));
    /* the dead letter is stored with the next commit */
    CHECK(s_wait_counter(h, eng, "notifications", "deadletter.engineering", 1));
    REQUIRE((status = harness_status_via(h, eng)) != NULL);
    CHECK_INT(s_counter(status, "events_rejected", "complaint"), 1);
    CHECK_INT(s_counter(status, "events_rejected", ""), 1);
    CHECK_INT(s_counter(status, "events_received", "bug_report"), 2);
    CHECK_INT(s_counter(status, "dead_letters", "engineering"), 1);
    CHECK_INT(s_counter(status, "notifications", "deadletter.engineering"), 1);
    CHECK_INT(s_counter(status, "deliveries", "engineering"), 2);
done:
    json_decref(status);
    hub_notification_destroy(&n);
    free(sample);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    HARNESS_END(h);
}

/* ------------------------------------------------------- notifications */

/* engineering answers within 2 s or oncall is told; finance sees no body. */
static const char s_policy[] = "departments:\n"
                               "  engineering: { escalate_to: oncall }\n"
                               "  oncall: {}\n"
                               "  finance: {}\n"
                               "  sales: {}\n"
                               "routes:\n"
                               "  - name: defect\n"
                               "    match: { type: bug_report }\n"
                               "    notify: engineering\n"
                               "    kind: defect\n"
                               "    respond_within: 2s\n"
                               "  - name: billing-flag\n"
                               "    match: { type: [bug_report, complaint], customer.billing_status: overdue }\n"
                               "    notify: finance\n"
                               "    kind: billing_flag\n"
                               "    fields: [case_id, customer, type, severity, subject]\n"
                               "  - name: sales-followup\n"
                               "    match: { type: [bug_report, complaint], customer.tier: enterprise }\n"
                               "    notify: sales\n"
                               "    kind: followup\n";

/* Runs a NotificationQuery through libhub and returns the list, parsed
 * (NULL with a message on stderr when the call fails). */
static json_t *s_query(hub_client_t *c, const char *query)
{
    char *text = NULL;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_notification_query(c, query, &text, S_WAIT_MS, err);
    if (rc != 0) {
        fprintf(stderr, "  hub_notification_query(%s): %s: %s\n", query, hub_strerror(rc), err);
        return NULL;
    }
    json_error_t jerr;
    json_t *list = json_loads(text, 0, &jerr);
    if (!list)
        fprintf(stderr, "  not JSON: %s\n", text);
    free(text);
    return list;
}

static size_t s_nitems(const json_t *list)
{
    return json_array_size(json_object_get(list, "items"));
}

static const json_t *s_item(const json_t *list, size_t i)
{
    return json_array_get(json_object_get(list, "items"), i);
}

static const json_t *s_note(const json_t *item)
{
    return json_object_get(item, "notification");
}

/* The seq of item i's notification, -1 when there is no such item. */
static long long s_item_seq(const json_t *list, size_t i)
{
    const json_t *item = s_item(list, i);
    return item ? s_int(s_note(item), "seq") : -1;
}

/* Three cases, two answers, one breach; every filter of the query. */
static void test_notification_query(void)
{
    hub_client_t *pub = NULL, *console = NULL;
    json_t *list = NULL, *status = NULL;
    char *sample = s_sample();
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(sample && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE((console = harness_client(h, "console")) != NULL);
    hub_publish_result_t e1, e2, e3, r1, r3;
    REQUIRE(harness_publish(pub, sample, &e1) == 0); /* Acme, enterprise, overdue */
    CHECK_INT(e1.notifications, 3);
    REQUIRE(harness_publish(pub, "{\"type\":\"bug_report\",\"case_id\":\"CASE-2001\",\"subject\":\"crash\","
                                 "\"body\":\"stack trace\",\"customer\":{\"id\":\"GLOBEX-1\",\"name\":\"Globex\"}}",
                            &e2) == 0);
    REQUIRE(harness_publish(pub, "{\"type\":\"complaint\",\"case_id\":\"CASE-3001\",\"body\":\"secret\","
                                 "\"customer\":{\"name\":\"Initech\",\"tier\":\"enterprise\","
                                 "\"billing_status\":\"overdue\"}}",
                            &e3) == 0);
    CHECK_INT(e3.notifications, 2);
    char err[HUB_ERR_LEN] = "";
    REQUIRE(hub_client_set_user(console, "alice") == 0);
    REQUIRE(hub_respond(console, S_CASE, "engineering", "resolved", "fixed in 2.3.1", &r1, S_WAIT_MS, err) == 0);
    REQUIRE(hub_client_set_user(console, "bob") == 0);
    REQUIRE(hub_respond(console, "CASE-3001", "finance", "acknowledged", NULL, &r3, S_WAIT_MS, err) == 0);
    /* nobody answers CASE-2001: breached and escalated after 2 s */
    const char *breached[] = {"--action", "escalated", NULL};
    REQUIRE(harness_wait_audit(h, breached, "escalated", "oncall", 1, S_WAIT_MS));

    /* engineering's notifications, newest first, with their answers */
    REQUIRE((list = s_query(console, "{\"department\":\"engineering\"}")) != NULL);
    CHECK_INT(s_nitems(list), 2);
    CHECK_INT(s_item_seq(list, 0), e2.seq);
    CHECK_INT(s_item_seq(list, 1), e1.seq);
    CHECK(json_is_false(json_object_get(list, "truncated")));
    const json_t *it = s_item(list, 1);
    REQUIRE(it != NULL);
    CHECK_STR(s_str(it, "answer"), "resolved");
    CHECK_STR(s_str(it, "answer_note"), "fixed in 2.3.1");
    CHECK_STR(s_str(it, "answered_by"), "alice@local");
    CHECK(s_int(it, "answered_at_ms") > 0);
    CHECK(json_is_false(json_object_get(it, "breached")));
    CHECK(json_is_false(json_object_get(it, "escalated")));
    CHECK_STR(s_str(s_note(it), "topic"), "engineering.defect");
    CHECK_STR(s_str(s_note(it), "route"), "defect");
    CHECK_STR(s_str(s_note(it), "department"), "engineering");
    CHECK_STR(s_str(s_note(it), "event_id"), S_SAMPLE_ID);
    CHECK(*s_str(s_note(it), "respond_by") != '\0');
    CHECK(*s_str(s_note(it), "received_at") != '\0');
    CHECK_INT(s_int(s_note(it), "slot"), 0);
    CHECK(*s_str(json_object_get(s_note(it), "event"), "body") != '\0'); /* engineering sees everything */
    it = s_item(list, 0);
    REQUIRE(it != NULL);
    CHECK_STR(s_str(it, "answer"), "");
    CHECK(json_object_get(it, "answered_by") == NULL);
    CHECK(json_is_true(json_object_get(it, "breached")));
    CHECK(json_is_true(json_object_get(it, "escalated")));
    CHECK(s_int(list, "last_seq") > (long long)r3.seq); /* the escalation came last */
    json_decref(list);

    /* open only: the resolved one is left out */
    REQUIRE((list = s_query(console, "{\"department\":\"engineering\",\"open_only\":true}")) != NULL);
    CHECK_INT(s_nitems(list), 1);
    CHECK_INT(s_item_seq(list, 0), e2.seq);
    json_decref(list);

    /* finance sees its notifications redacted, and bob's acknowledgement */
    REQUIRE((list = s_query(console, "{\"department\":\"finance\"}")) != NULL);
    CHECK_INT(s_nitems(list), 2);
    CHECK_INT(s_item_seq(list, 0), e3.seq);
    it = s_item(list, 0);
    if (it) {
        const json_t *ev = json_object_get(s_note(it), "event");
        CHECK(json_object_get(ev, "body") == NULL);
        CHECK_STR(s_str(json_object_get(ev, "customer"), "name"), "Initech");
        CHECK_STR(s_str(it, "answer"), "acknowledged");
        CHECK_STR(s_str(it, "answered_by"), "bob@local");
        CHECK(json_object_get(it, "answer_note") == NULL);
    }
    it = s_item(list, 1);
    if (it) {
        CHECK_STR(s_str(it, "answer"), ""); /* engineering answered CASE-1042, not finance */
        CHECK(json_object_get(json_object_get(s_note(it), "event"), "body") == NULL);
    }
    /* open only keeps an acknowledged one */
    json_decref(list);
    REQUIRE((list = s_query(console, "{\"department\":\"finance\",\"open_only\":true}")) != NULL);
    CHECK_INT(s_nitems(list), 2);
    json_decref(list);

    /* by customer, in any case: one event's three notifications, by slot */
    REQUIRE((list = s_query(console, "{\"customer\":\"acme\"}")) != NULL);
    CHECK_INT(s_nitems(list), 3);
    for (size_t i = 0; i < 3; i++) {
        CHECK_INT(s_item_seq(list, i), e1.seq);
        CHECK_INT(s_int(s_note(s_item(list, i)), "slot"), (long long)i);
    }
    json_decref(list);
    REQUIRE((list = s_query(console, "{\"customer\":\"GLOBEX-\"}")) != NULL);
    CHECK_INT(s_nitems(list), 2); /* engineering's, and the escalation that carries the same event */
    CHECK_STR(s_str(s_note(s_item(list, 0)), "department"), "oncall");
    CHECK_STR(s_str(s_note(s_item(list, 1)), "department"), "engineering");
    json_decref(list);
    REQUIRE((list = s_query(console, "{\"customer\":\"nobody\"}")) != NULL);
    CHECK_INT(s_nitems(list), 0);
    json_decref(list);

    /* by case */
    REQUIRE((list = s_query(console, "{\"case_id\":\"CASE-3001\"}")) != NULL);
    CHECK_INT(s_nitems(list), 2);
    CHECK_STR(s_str(s_note(s_item(list, 0)), "department"), "finance");
    CHECK_STR(s_str(s_note(s_item(list, 1)), "department"), "sales");
    json_decref(list);

    /* limit, paging and polling */
    REQUIRE((list = s_query(console, "{\"limit\":2}")) != NULL);
    CHECK_INT(s_nitems(list), 2);
    CHECK(json_is_true(json_object_get(list, "truncated")));
    CHECK_STR(s_str(s_note(s_item(list, 0)), "department"), "oncall"); /* the escalation is the newest */
    json_decref(list);
    char q[160];
    snprintf(q, sizeof q, "{\"department\":\"engineering\",\"before_seq\":%" PRIu64 "}", e2.seq);
    REQUIRE((list = s_query(console, q)) != NULL);
    CHECK_INT(s_nitems(list), 1);
    CHECK_INT(s_item_seq(list, 0), e1.seq);
    json_decref(list);
    snprintf(q, sizeof q, "{\"after_seq\":%" PRIu64 ",\"before_seq\":%" PRIu64 "}", e1.seq, r1.seq);
    REQUIRE((list = s_query(console, q)) != NULL);
    CHECK_INT(s_nitems(list), 3); /* e2's one and e3's two */
    CHECK_INT(s_item_seq(list, 0), e3.seq);
    CHECK_INT(s_item_seq(list, 2), e2.seq);
    json_decref(list);

    /* the window: only the newest event is looked at */
    REQUIRE((list = s_query(console, "{\"window\":1}")) != NULL);
    CHECK_INT(s_nitems(list), 1);
    CHECK_STR(s_str(s_note(s_item(list, 0)), "topic"), "oncall.escalation");
    json_decref(list);
    REQUIRE((list = s_query(console, "{\"window\":1,\"department\":\"engineering\"}")) != NULL);
    CHECK_INT(s_nitems(list), 0);
    json_decref(list);
    list = NULL;

    REQUIRE((status = harness_status(h)) != NULL);
    CHECK_INT(s_counter(status, "breaches", "engineering"), 1);
    CHECK_INT(s_counter(status, "escalations", "engineering"), 1);
    CHECK_INT(s_counter(status, "notifications", "oncall.escalation"), 1);

    /* what the query cannot be: refused before it reaches the hub */
    char *text = NULL;
    CHECK_INT(hub_notification_query(console, "{\"department\":1}", &text, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "department");
    CHECK_INT(hub_notification_query(console, "{\"colour\":\"red\"}", &text, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "colour");
    CHECK_INT(hub_notification_query(console, "[", &text, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK(text == NULL);
done:
    json_decref(list);
    json_decref(status);
    free(sample);
    hub_client_destroy(&pub);
    hub_client_destroy(&console);
    HARNESS_END(h);
}

/* What a client sends that no reading can use: refused with the field. */
static void test_notification_query_refused(void)
{
    Hub__Frame *reply = NULL;
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    Hub__NotificationQuery nq = HUB__NOTIFICATION_QUERY__INIT;
    nq.department = (char *)"engineering\xff";
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_NOTIFICATION_QUERY;
    f.notification_query = &nq;
    REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR)) != NULL);
    CHECK_INT(reply->error->code, HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_STR(reply->error->field, "department");
    CHECK_HAS(reply->error->message, "UTF-8");
    hub__frame__free_unpacked(reply, NULL);
    char longer[400];
    memset(longer, 'c', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    nq.department = NULL;
    nq.customer = longer;
    REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR)) != NULL);
    CHECK_STR(reply->error->field, "customer");
    CHECK_HAS(reply->error->message, "longer than 256 bytes");
    hub__frame__free_unpacked(reply, NULL);
    /* limits beyond the bounds are taken as the bounds: an answer */
    nq.customer = NULL;
    nq.has_limit = nq.has_window = 1;
    nq.limit = 4000000000u;
    nq.window = 4000000000u;
    REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_NOTIFICATION_LIST)) != NULL);
    CHECK_INT(reply->notification_list->n_items, 0);
    CHECK(reply->notification_list->has_last_seq);
    hub__frame__free_unpacked(reply, NULL);
    reply = NULL;
    CHECK(harness_alive(h));
done:
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    HARNESS_END(h);
}

/* ------------------------------------------------------- dead letters */

/* Dead letters as the hub lists them (all: closed ones too), parsed; NULL
 * with a message on failure. */
static json_t *s_dead_letters(hub_client_t *c, int all)
{
    return s_query(c, all ? "{\"dead_letters\":true}" : "{\"dead_letters\":true,\"open_only\":true}");
}

/* The item of dead letter seq in a list, or NULL. */
static const json_t *s_dead_item(const json_t *list, uint64_t seq)
{
    for (size_t i = 0; i < s_nitems(list); i++)
        if ((uint64_t)s_item_seq(list, i) == seq)
            return s_item(list, i);
    return NULL;
}

/* Receives one notification on sub (durable subscriber name), nacks it
 * for good with reason and waits until its dead letter is listed. Returns
 * the dead letter's seq, or 0. */
static uint64_t s_dead_letter_one(hub_client_t *sub, const char *name, hub_client_t *lister, const char *reason,
                                  uint64_t *orig_p)
{
    hub_notification_t *n = s_receive(sub, S_WAIT_MS);
    if (!n)
        return 0;
    uint64_t orig = hub_notification_seq(n);
    if (orig_p)
        *orig_p = orig;
    int rc = hub_nack(sub, n, reason, 1);
    hub_notification_destroy(&n);
    if (rc != 0)
        return 0;
    int64_t deadline = harness_now_ms() + S_WAIT_MS;
    while (harness_now_ms() < deadline) {
        json_t *list = s_dead_letters(lister, 1);
        for (size_t i = 0; i < s_nitems(list); i++)
            if (s_int(s_item(list, i), "orig_seq") == (long long)orig && !strcmp(s_str(s_item(list, i), "subscriber"), name)) {
                uint64_t seq = (uint64_t)s_item_seq(list, i);
                json_decref(list);
                return seq;
            }
        json_decref(list);
        harness_pause();
    }
    fprintf(stderr, "  no dead letter of %" PRIu64 " listed\n", orig);
    return 0;
}

/* Nacked for good: listed open with the subscriber's words; redriven, the
 * subscriber receives it again (redacted as before), once however often
 * it is asked; discarded with a reason; neither the other way round; the
 * state survives a restart; audited with the user. */
static void test_dead_letters(void)
{
    hub_client_t *pub = NULL, *eng = NULL, *fin = NULL, *op = NULL;
    json_t *list = NULL, *status = NULL, *rows = NULL;
    hub_notification_t *n = NULL;
    Hub__Frame *reply = NULL;
    char *sample = s_sample();
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(sample && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    REQUIRE((fin = harness_client(h, "finance")) != NULL);
    REQUIRE((op = harness_client(h, "console")) != NULL);
    const char *eng_topics[] = {"engineering.*", NULL}, *fin_topics[] = {"finance.*", NULL};
    REQUIRE(harness_subscribe(eng, "engineering", eng_topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE(harness_subscribe(fin, "finance", fin_topics, HUB_FROM_RESUME, 0, 10) == 0);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, sample, &res) == 0);

    uint64_t orig_eng = 0, orig_fin = 0;
    uint64_t dl1 = s_dead_letter_one(eng, "engineering", op, "no such project", &orig_eng);
    uint64_t dl2 = s_dead_letter_one(fin, "finance", op, "ledger closed", &orig_fin);
    REQUIRE(dl1 > 0 && dl2 > 0);
    CHECK_INT(orig_eng, res.seq);

    /* listed open, newest first, with what they were */
    REQUIRE((list = s_dead_letters(op, 0)) != NULL);
    CHECK_INT(s_nitems(list), 2);
    CHECK_INT(s_item_seq(list, 0), dl2);
    const json_t *it = s_dead_item(list, dl1);
    REQUIRE(it != NULL);
    CHECK_STR(s_str(it, "subscriber"), "engineering");
    CHECK_STR(s_str(it, "dead_letter_reason"), "no such project");
    CHECK_STR(s_str(it, "dead_letter_state"), "open");
    CHECK_INT(s_int(it, "orig_seq"), res.seq);
    CHECK_INT(s_int(it, "orig_slot"), 0);
    CHECK(json_object_get(it, "dead_letter_by") == NULL);
    CHECK_STR(s_str(s_note(it), "topic"), "deadletter.engineering");
    CHECK_STR(s_str(s_note(it), "event_id"), "deadletter:engineering:1:0");
    it = s_dead_item(list, dl2);
    REQUIRE(it != NULL);
    CHECK_INT(s_int(it, "orig_slot"), 1);
    CHECK(json_object_get(json_object_get(s_note(it), "event"), "body") == NULL); /* finance's view */
    json_decref(list);
    list = NULL;
    REQUIRE((list = s_query(op, "{\"dead_letters\":true,\"department\":\"finance\"}")) != NULL);
    CHECK_INT(s_nitems(list), 1);
    CHECK_INT(s_item_seq(list, 0), dl2);
    json_decref(list);
    list = NULL;
    REQUIRE((status = harness_status(h)) != NULL);
    uint64_t open = 0;
    CHECK(harness_sub_u64(status, "engineering", "open_dead_letters", &open));
    CHECK_INT(open, 1);
    json_decref(status);
    status = NULL;

    /* redriven by alice: engineering receives it again, once */
    char err[HUB_ERR_LEN] = "";
    REQUIRE(hub_client_set_user(op, "alice") == 0);
    uint64_t r1 = 0, again = 0;
    CHECK_INT(hub_dead_letter_action(op, dl1, "redrive", NULL, &r1, S_WAIT_MS, err), 0);
    CHECK(r1 > dl2);
    REQUIRE((n = s_receive(eng, S_WAIT_MS)) != NULL);
    CHECK_INT(hub_notification_seq(n), r1);
    CHECK_STR(hub_notification_topic(n), "engineering.defect");
    CHECK_STR(hub_notification_route(n), "defect");
    CHECK_STR(hub_notification_case_id(n), S_CASE);
    char why[96];
    snprintf(why, sizeof why, "redriven from dead letter %" PRIu64 " by alice@local", dl1);
    CHECK_HAS(hub_notification_json(n), why);
    CHECK_HAS(hub_notification_json(n), "\"body\":"); /* engineering sees everything, as before */
    CHECK_INT(hub_ack(eng, n), 0);
    hub_notification_destroy(&n);
    CHECK_INT(hub_dead_letter_action(op, dl1, "redrive", "once more", &again, S_WAIT_MS, err), 0);
    CHECK_INT(again, r1);
    /* finance's comes back redacted as finance sees it */
    uint64_t r2 = 0;
    CHECK_INT(hub_dead_letter_action(op, dl2, "redrive", NULL, &r2, S_WAIT_MS, err), 0);
    REQUIRE((n = s_receive(fin, S_WAIT_MS)) != NULL);
    CHECK_INT(hub_notification_seq(n), r2);
    CHECK_STR(hub_notification_topic(n), "finance.billing_flag");
    CHECK(strstr(hub_notification_json(n), "\"body\":") == NULL);
    hub_notification_destroy(&n);
    REQUIRE((status = harness_status(h)) != NULL);
    CHECK_INT(harness_status_u64(status, "last_seq"), r2); /* the second redrive of dl1 stored nothing */
    CHECK(harness_sub_u64(status, "engineering", "open_dead_letters", &open));
    CHECK_INT(open, 0);
    json_decref(status);
    status = NULL;

    /* closed one way, not the other */
    CHECK_INT(hub_dead_letter_action(op, dl1, "discard", "changed my mind", NULL, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "was redriven by alice@local");
    CHECK_HAS(err, "seq");

    /* a third, discarded by bob with a reason; twice is the same answer */
    REQUIRE(harness_publish(pub, "{\"type\":\"bug_report\",\"case_id\":\"CASE-DL3\"}", &res) == 0);
    uint64_t dl3 = s_dead_letter_one(eng, "engineering", op, "duplicate ticket", NULL);
    REQUIRE(dl3 > 0);
    REQUIRE(hub_client_set_user(op, "bob") == 0);
    uint64_t none = 99;
    CHECK_INT(hub_dead_letter_action(op, dl3, "discard", "duplicate of CASE-1042", &none, S_WAIT_MS, err), 0);
    CHECK_INT(none, 0);
    CHECK_INT(hub_dead_letter_action(op, dl3, "discard", "duplicate of CASE-1042", NULL, S_WAIT_MS, err), 0);
    CHECK_INT(hub_dead_letter_action(op, dl3, "redrive", NULL, NULL, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "was discarded by bob@local");

    /* what is not a dead letter, or not an action */
    CHECK_INT(hub_dead_letter_action(op, res.seq, "redrive", NULL, NULL, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "seq: ");
    CHECK_HAS(err, "is not a dead letter");
    CHECK_INT(hub_dead_letter_action(op, 999999, "discard", "x", NULL, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_INT(hub_dead_letter_action(op, dl3, "discard", NULL, NULL, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "reason");
    CHECK_INT(hub_dead_letter_action(op, dl3, "delete", NULL, NULL, S_WAIT_MS, err), -HUB_EINVALID);
    Hub__DeadLetterAction da = HUB__DEAD_LETTER_ACTION__INIT;
    da.has_seq = 1;
    da.seq = dl3;
    da.action = (char *)"discard";
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DEAD_LETTER_ACTION;
    f.dead_letter_action = &da;
    REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR)) != NULL); /* no reason */
    CHECK_STR(reply->error->field, "reason");
    hub__frame__free_unpacked(reply, NULL);
    da.reason = (char *)"x";
    da.action = (char *)"purge";
    REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR)) != NULL);
    CHECK_STR(reply->error->field, "action");
    hub__frame__free_unpacked(reply, NULL);
    da.action = (char *)"redrive";
    da.has_seq = 0;
    REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR)) != NULL);
    CHECK_STR(reply->error->field, "seq");
    hub__frame__free_unpacked(reply, NULL);
    da.has_seq = 1;
    da.on_behalf_of = (char *)"no body";
    REQUIRE((reply = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR)) != NULL);
    CHECK_STR(reply->error->field, "on_behalf_of");
    hub__frame__free_unpacked(reply, NULL);
    reply = NULL;

    /* audited in the commit that did it, with the user */
    const char *by_action[] = {"--action", "redriven", NULL};
    REQUIRE((rows = harness_audit(h, by_action)) != NULL);
    CHECK_INT(json_array_size(rows), 2);
    const json_t *row = json_array_get(rows, 0);
    CHECK_STR(s_str(row, "actor"), "alice@local");
    CHECK_STR(s_str(row, "department"), "engineering");
    CHECK_INT(s_int(row, "seq"), dl1);
    CHECK_INT(s_int(json_object_get(row, "detail"), "redrive_seq"), r1);
    CHECK_INT(s_int(json_object_get(row, "detail"), "orig_seq"), orig_eng);
    json_decref(rows);
    const char *discarded[] = {"--action", "discarded", NULL};
    REQUIRE((rows = harness_audit(h, discarded)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    row = json_array_get(rows, 0);
    CHECK_STR(s_str(row, "actor"), "bob@local");
    CHECK_STR(s_str(json_object_get(row, "detail"), "reason"), "duplicate of CASE-1042");
    json_decref(rows);
    const char *by_case[] = {"--case", S_CASE, NULL};
    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    CHECK_INT(s_rows_by(rows, "received", "alice@local"), 2); /* the two redrives, received for alice */
    json_decref(rows);
    rows = NULL;

    /* the states survive a restart */
    hub_client_destroy(&eng);
    hub_client_destroy(&fin);
    CHECK_INT(harness_stop(h), 0);
    REQUIRE(harness_start(h) == 0);
    REQUIRE((list = s_dead_letters(op, 1)) != NULL);
    CHECK_INT(s_nitems(list), 3);
    it = s_dead_item(list, dl1);
    REQUIRE(it != NULL);
    CHECK_STR(s_str(it, "dead_letter_state"), "redriven");
    CHECK_STR(s_str(it, "dead_letter_by"), "alice@local");
    CHECK_INT(s_int(it, "redrive_seq"), r1);
    it = s_dead_item(list, dl3);
    REQUIRE(it != NULL);
    CHECK_STR(s_str(it, "dead_letter_state"), "discarded");
    CHECK_STR(s_str(it, "dead_letter_by"), "bob@local");
    CHECK(json_object_get(it, "redrive_seq") == NULL);
    json_decref(list);
    REQUIRE((list = s_dead_letters(op, 0)) != NULL);
    CHECK_INT(s_nitems(list), 0);
    json_decref(list);
    list = NULL;
    CHECK_INT(hub_dead_letter_action(op, dl1, "redrive", NULL, &again, S_WAIT_MS, err), 0);
    CHECK_INT(again, r1);
done:
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    hub_notification_destroy(&n);
    json_decref(list);
    json_decref(status);
    json_decref(rows);
    free(sample);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    hub_client_destroy(&fin);
    hub_client_destroy(&op);
    HARNESS_END(h);
}

/* Actions sent back to back (most likely read in one turn of the hub,
 * before any of them is written): the same redrive twice stores one
 * event and answers both alike; a discard after it is refused. */
static void test_dead_letter_back_to_back(void)
{
    hub_client_t *pub = NULL, *eng = NULL;
    harness_raw_t *raw = NULL;
    Hub__Frame *reply = NULL;
    json_t *status = NULL;
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    const char *topics[] = {"engineering.*", NULL};
    REQUIRE(harness_subscribe(eng, "engineering", topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE(harness_publish(pub, "{\"type\":\"bug_report\",\"case_id\":\"CASE-B2B\"}", NULL) == 0);
    uint64_t dl = s_dead_letter_one(eng, "engineering", pub, "gone", NULL);
    REQUIRE(dl > 0);
    REQUIRE((raw = harness_raw_new(harness_endpoint(h))) != NULL);
    REQUIRE(harness_raw_hello(raw, 5000));
    static const char *const actions[] = {"redrive", "redrive", "discard"};
    for (int i = 0; i < 3; i++) {
        Hub__DeadLetterAction da = HUB__DEAD_LETTER_ACTION__INIT;
        da.has_seq = 1;
        da.seq = dl;
        da.action = (char *)actions[i];
        da.reason = (char *)"back to back";
        Hub__Frame f = HUB__FRAME__INIT;
        f.has_version = 1;
        f.version = HUB_PROTOCOL_VERSION;
        f.has_corr = 1;
        f.corr = (uint64_t)i + 1;
        f.body_case = HUB__FRAME__BODY_DEAD_LETTER_ACTION;
        f.dead_letter_action = &da;
        REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    }
    uint64_t redrive[3] = {0, 0, 0};
    int refused = 0;
    for (int i = 0; i < 3; i++) {
        REQUIRE(harness_raw_recv(raw, &reply, S_WAIT_MS) == 1);
        REQUIRE(reply->has_corr && reply->corr >= 1 && reply->corr <= 3);
        if (reply->body_case == HUB__FRAME__BODY_DEAD_LETTER_DONE) {
            CHECK_STR(reply->dead_letter_done->state, "redriven");
            CHECK_INT(reply->dead_letter_done->seq, dl);
            redrive[reply->corr - 1] = reply->dead_letter_done->redrive_seq;
        } else {
            CHECK_INT(reply->body_case, HUB__FRAME__BODY_ERROR);
            CHECK_INT(reply->corr, 3);
            CHECK_INT(reply->error->code, HUB__ERROR_CODE__ERROR_CODE_INVALID);
            CHECK_HAS(reply->error->message, "was redriven");
            refused++;
        }
        hub__frame__free_unpacked(reply, NULL);
        reply = NULL;
    }
    CHECK_INT(refused, 1);
    CHECK(redrive[0] == dl + 1 && redrive[1] == dl + 1);
    REQUIRE((status = harness_status(h)) != NULL);
    CHECK_INT(harness_status_u64(status, "last_seq"), dl + 1);
done:
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    json_decref(status);
    harness_raw_destroy(&raw);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    HARNESS_END(h);
}

/* hubctl deadletters, redrive and discard: output and exit codes. */
static void test_hubctl_dead_letters(void)
{
    hub_client_t *pub = NULL, *eng = NULL;
    harness_run_t run = {0};
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    const char *topics[] = {"engineering.*", NULL};
    REQUIRE(harness_subscribe(eng, "engineering", topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE(harness_publish(pub, "{\"type\":\"bug_report\",\"case_id\":\"CASE-H1\"}", NULL) == 0);
    REQUIRE(harness_publish(pub, "{\"type\":\"bug_report\",\"case_id\":\"CASE-H2\"}", NULL) == 0);
    uint64_t a = s_dead_letter_one(eng, "engineering", pub, "HTTP 404 from the tracker", NULL);
    uint64_t b = s_dead_letter_one(eng, "engineering", pub, "HTTP 410", NULL);
    REQUIRE(a > 0 && b > 0);
    char sa[24], sb[24];
    snprintf(sa, sizeof sa, "%" PRIu64, a);
    snprintf(sb, sizeof sb, "%" PRIu64, b);

    CHECK_INT(harness_hubctl(h, NULL, &run, "deadletters", NULL), 0);
    CHECK_HAS(run.out, "SEQ");
    CHECK_HAS(run.out, "REASON");
    CHECK_HAS(run.out, "HTTP 404 from the tracker");
    CHECK_HAS(run.out, "CASE-H2");
    CHECK_HAS(run.out, "open");
    CHECK_INT(harness_count_lines(run.out), 3);
    harness_run_free(&run);

    CHECK_INT(harness_hubctl(h, NULL, &run, "redrive", sa, NULL), 0);
    char want[96];
    snprintf(want, sizeof want, "{\"seq\":%s,\"state\":\"redriven\",\"redrive_seq\":", sa);
    CHECK_HAS(run.out, want);
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "discard", sb, "--reason", "tracker project deleted", NULL), 0);
    snprintf(want, sizeof want, "{\"seq\":%s,\"state\":\"discarded\"}", sb);
    CHECK_HAS(run.out, want);
    harness_run_free(&run);

    /* none open now; --all lists both, --json one object a line */
    CHECK_INT(harness_hubctl(h, NULL, &run, "deadletters", NULL), 0);
    CHECK_HAS(run.out, "no open dead letters");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "deadletters", "--all", "--json", NULL), 0);
    CHECK_INT(harness_count_lines(run.out), 2);
    CHECK_HAS(run.out, "\"dead_letter_state\":\"discarded\"");
    CHECK_HAS(run.out, "\"dead_letter_state\":\"redriven\"");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "deadletters", "--all", "--subscriber", "finance", NULL), 0);
    CHECK_HAS(run.out, "no dead letters");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "deadletters", "--all", "--limit", "1", NULL), 0);
    CHECK_INT(harness_count_lines(run.out), 2);
    CHECK_HAS(run.err, "more dead letters than listed");
    harness_run_free(&run);

    /* refused: exit 1 with the hub's words; usage: exit 2 */
    CHECK_INT(harness_hubctl(h, NULL, &run, "discard", sa, "--reason", "x", NULL), 1);
    CHECK_HAS(run.err, "was redriven by local");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "redrive", "1", NULL), 1);
    CHECK_HAS(run.err, "is not a dead letter");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "discard", sb, NULL), 2);
    CHECK_HAS(run.err, "--reason");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "redrive", "x12", NULL), 2);
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "redrive", NULL), 2);
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(h, NULL, &run, "deadletters", "--limit", "0", NULL), 2);
    harness_run_free(&run);
    static const char *const helps[] = {"deadletters", "redrive", "discard"};
    for (size_t i = 0; i < 3; i++) {
        CHECK_INT(harness_hubctl(h, NULL, &run, helps[i], "--help", NULL), 0);
        CHECK_HAS(run.out, "usage: hubctl");
        CHECK_HAS(run.out, "exit codes");
        harness_run_free(&run);
    }
    /* no hub there: exit 3 */
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "--hub", "ipc:///nonexistent/hub.sock", "--timeout", "0.3",
                             "redrive", sa, NULL),
              3);
done:
    harness_run_free(&run);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    HARNESS_END(h);
}

/* ------------------------------------------------------------- policy */

/* The policy in force, as the file says and the status hashes it; a dry
 * run routes an event without storing it; a reload shows. */
static void test_policy_query(void)
{
    hub_client_t *c = NULL;
    json_t *reply = NULL, *status = NULL;
    char *text = NULL, *file = NULL;
    char *sample = s_sample();
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(sample && h && harness_start(h) == 0);
    REQUIRE((c = harness_client(h, "console")) != NULL);
    char err[HUB_ERR_LEN] = "";
    REQUIRE(hub_policy_query(c, NULL, &text, S_WAIT_MS, err) == 0);
    REQUIRE((reply = json_loads(text, 0, NULL)) != NULL);
    free(text);
    text = NULL;
    REQUIRE((status = harness_status(h)) != NULL);
    REQUIRE((file = harness_read_file(harness_policy_path(h))) != NULL);
    CHECK_STR(s_str(reply, "sha256"), harness_status_str(status, "policy_sha256"));
    CHECK_STR(s_str(reply, "path"), harness_policy_path(h));
    CHECK_STR(s_str(reply, "source"), file);
    CHECK_INT(s_int(reply, "routes"), harness_status_u64(status, "routes"));
    CHECK(json_object_get(reply, "dry_run") == NULL);
    CHECK(json_object_get(reply, "matches") == NULL);
    json_decref(reply);
    reply = NULL;

    /* a dry run: the sample bug report's three notifications, now */
    int64_t before = (int64_t)time(NULL) * 1000;
    REQUIRE(hub_policy_query(c, sample, &text, S_WAIT_MS, err) == 0);
    REQUIRE((reply = json_loads(text, 0, NULL)) != NULL);
    CHECK(json_is_true(json_object_get(reply, "dry_run")));
    const json_t *matches = json_object_get(reply, "matches");
    CHECK_INT(json_array_size(matches), 3);
    const json_t *m = json_array_get(matches, 0);
    CHECK_STR(s_str(m, "topic"), "engineering.defect");
    CHECK_STR(s_str(m, "name"), "defect");
    CHECK_STR(s_str(m, "department"), "engineering");
    CHECK_STR(s_str(m, "kind"), "defect");
    CHECK_STR(s_str(m, "reason"), "type=bug_report");
    long long by = s_int(m, "respond_by_ms") - before - 4 * 3600 * 1000LL;
    CHECK(by > -5000 && by < 5000);
    m = json_array_get(matches, 1);
    CHECK_STR(s_str(m, "topic"), "finance.billing_flag");
    CHECK(json_array_size(json_object_get(m, "fields")) == 5);
    CHECK(json_object_get(m, "respond_by_ms") == NULL);
    CHECK_STR(s_str(json_array_get(matches, 2), "topic"), "sales.followup");
    json_decref(reply);
    reply = NULL;
    free(text);
    text = NULL;
    /* nothing was stored or audited */
    json_decref(status);
    REQUIRE((status = harness_status(h)) != NULL);
    CHECK_INT(harness_status_u64(status, "last_seq"), 0);
    json_t *rows = harness_audit(h, NULL);
    CHECK_INT(harness_audit_count(rows, "received", NULL), 0);
    json_decref(rows);
    /* an event that matches nothing: a dry run all the same */
    CHECK_INT(hub_policy_query(c, "{\"type\":\"thank_you\"}", &text, S_WAIT_MS, err), 0);
    CHECK_HAS(text, "\"dry_run\":true");
    CHECK(text && !strstr(text, "\"matches\""));
    free(text);
    text = NULL;

    /* what is not an event */
    CHECK_INT(hub_policy_query(c, "{\"subject\":\"no type\"}", &text, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "type");
    CHECK_INT(hub_policy_query(c, "{", &text, S_WAIT_MS, err), -HUB_EMALFORMED);
    CHECK(text == NULL);
    Hub__Event ev = HUB__EVENT__INIT;
    ev.subject = (char *)"no type";
    Hub__PolicyQuery pq = HUB__POLICY_QUERY__INIT;
    pq.event = &ev;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_POLICY_QUERY;
    f.policy_query = &pq;
    Hub__Frame *err_frame = s_raw_call(h, &f, HUB__FRAME__BODY_ERROR);
    REQUIRE(err_frame != NULL);
    CHECK_STR(err_frame->error->field, "event.type");
    hub__frame__free_unpacked(err_frame, NULL);

    /* reloaded: the new text and hash */
    static const char reloaded[] = "departments:\n  sales: {}\nroutes:\n"
                                   "  - name: all\n    match: { type: complaint }\n    notify: sales\n"
                                   "    kind: complaint\n";
    long log_at = harness_log_size(h);
    REQUIRE(harness_write_policy(h, reloaded) == 0);
    REQUIRE(harness_signal(h, SIGHUP) == 0);
    REQUIRE(harness_wait_log(h, log_at, "policy reloaded", S_WAIT_MS));
    REQUIRE(hub_policy_query(c, NULL, &text, S_WAIT_MS, err) == 0);
    REQUIRE((reply = json_loads(text, 0, NULL)) != NULL);
    CHECK_STR(s_str(reply, "source"), reloaded);
    CHECK_INT(s_int(reply, "routes"), 1);
    CHECK(strcmp(s_str(reply, "sha256"), harness_status_str(status, "policy_sha256")) != 0);
done:
    free(text);
    free(file);
    free(sample);
    json_decref(reply);
    json_decref(status);
    hub_client_destroy(&c);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"on_behalf_of: the audit actor is user@identity", test_on_behalf_of},
        {"on_behalf_of: a bad user name is refused", test_on_behalf_of_refused},
        {"metrics: counters, histograms, subscriber state", test_metrics},
        {"notification query: answers, breaches, filters, paging", test_notification_query},
        {"notification query: bad fields refused", test_notification_query_refused},
        {"dead letters: listed, redriven, discarded, durable, audited", test_dead_letters},
        {"dead letters: actions back to back", test_dead_letter_back_to_back},
        {"dead letters: hubctl deadletters, redrive, discard", test_hubctl_dead_letters},
        {"policy: text, hash, dry run, reload", test_policy_query},
        {NULL, NULL},
    };
    return check_run(cases);
}
