/*
 * webhook_out - hub-webhook-out against the real hubd (harness) and a real
 * HTTP receiver (libmicrohttpd, receiver.h): every notification once and in
 * order, retries on 500 and 429 (Retry-After honoured), a 404 dead-letters,
 * a receiver that is down for a while loses nothing, a give-up hands the
 * notification back to the hub, and config mistakes are named by line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "outletproc.h"
#include "receiver.h"
#include "sha256.h"

static const char *s_program;

static const char *s_policy =
    "departments:\n"
    "  eng: {}\n"
    "routes:\n"
    "  - name: to-eng\n"
    "    match: { type: bug_report }\n"
    "    notify: eng\n"
    "    kind: defect\n";

#define S_SECRET "s3cret-key"

/* The outlet's config for the receiver, with extra webhook keys and a retry
 * section. */
static char *s_config(const receiver_t *r, int credit, const char *webhook_extra, const char *retry)
{
    char *text = NULL;
    if (asprintf(&text,
                 "subscribe:\n"
                 "  name: eng\n"
                 "  topics: [\"eng.*\"]\n"
                 "  credit: %d\n"
                 "retry:\n"
                 "%s"
                 "webhook:\n"
                 "  url: http://127.0.0.1:%d/hook\n"
                 "  timeout: 5s\n"
                 "%s",
                 credit, retry ? retry : "  max_attempts: 10\n  initial_delay: 50ms\n  max_delay: 200ms\n",
                 receiver_port(r), webhook_extra ? webhook_extra : "")
        < 0)
        return NULL;
    return text;
}

static int s_publish(hub_client_t *pub, const char *id, const char *case_id, const char *subject,
                     hub_publish_result_t *res)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "bug_report", "case_id", case_id,
                           "subject", subject, "customer", "name", "Acme \"Rockets\" Corp", "tier", "enterprise");
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    int rc = text ? harness_publish(pub, text, res) : -1;
    free(text);
    json_decref(ev);
    return rc;
}

/* Waits until the hub shows eng's position at seq or beyond (a dead letter
 * is an event of its own, after which the position may move) and nothing
 * in flight. */
static int s_settled(harness_t *h, uint64_t seq)
{
    return harness_wait_sub_ge(h, NULL, "eng", "position", seq, 15000) && harness_wait_sub(h, NULL, "eng", "in_flight", 0, 5000);
}

static void test_in_order(void)
{
    receiver_t *r = receiver_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(r && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    /* published before the outlet starts: it catches up, in order */
    hub_publish_result_t res[6];
    char id[32], case_id[32];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "ord-%d", i);
        snprintf(case_id, sizeof case_id, "CASE-%d", i);
        REQUIRE(s_publish(pub, id, case_id, "crash", &res[i]) == 0);
    }
    cfg = s_config(r, 3,
                   "  secret_env: OUTLET_TEST_SECRET\n"
                   "  headers:\n"
                   "    X-Team: platform\n",
                   NULL);
    setenv("OUTLET_TEST_SECRET", S_SECRET, 1);
    REQUIRE(cfg && outletproc_start(&op, h, s_program, "webhook-out", cfg) == 0);
    REQUIRE(receiver_wait(r, 6, 15000));
    CHECK(s_settled(h, res[5].seq));
    CHECK_INT(receiver_count(r), 6); /* once each */
    for (size_t i = 0; i < 6; i++) {
        receiver_request_t q;
        if (receiver_get(r, i, &q) != 0)
            break;
        CHECK_STR(q.path, "POST /hook");
        CHECK_STR(q.content_type, "application/json");
        CHECK_STR(q.custom, "platform");
        char want[64];
        snprintf(want, sizeof want, "%llu.0", (unsigned long long)res[i].seq);
        CHECK_STR(q.delivery, want);
        /* the notification itself, as hub_notification_json prints it */
        json_t *n = json_loads(q.body, 0, NULL);
        CHECK(n != NULL);
        CHECK_INT(json_integer_value(json_object_get(n, "seq")), res[i].seq);
        CHECK_STR(json_string_value(json_object_get(n, "topic")), "eng.defect");
        snprintf(want, sizeof want, "ord-%zu", i);
        CHECK_STR(json_string_value(json_object_get(n, "event_id")), want);
        json_decref(n);
        uint8_t mac[HUB_SHA256_LEN];
        char hex[HUB_SHA256_HEX_LEN], sig[HUB_SHA256_HEX_LEN + 8];
        hub_hmac_sha256(S_SECRET, strlen(S_SECRET), q.body, strlen(q.body), mac);
        hub_hex(mac, sizeof mac, hex);
        snprintf(sig, sizeof sig, "sha256=%s", hex);
        CHECK_STR(q.signature, sig);
        receiver_request_free(&q);
    }
    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "delivered seq"), 6);
    json_t *st = harness_status(h);
    uint64_t v = 99;
    CHECK(harness_sub_u64(st, "eng", "dead_letters", &v));
    CHECK_INT(v, 0);
    json_decref(st);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    free(cfg);
    hub_client_destroy(&pub);
    receiver_destroy(&r);
    HARNESS_END(h);
}

/* 500 then 200: retried, acked once; the template is rendered with JSON
 * escaping. */
static void test_500_then_200(void)
{
    receiver_t *r = receiver_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(r && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    receiver_script(r, 500, NULL, "busy");
    receiver_script(r, 502, NULL, "bad gateway");
    cfg = s_config(r, 1,
                   "  template: |\n"
                   "    {\"text\": \"{{case_id}}: {{event.subject}}\", \"who\": \"{{customer.name}}\",\n"
                   "     \"route\": \"{{route}}\", \"topic\": \"{{topic}}\", \"missing\": \"{{event.nothing}}\"}\n",
                   NULL);
    REQUIRE(cfg && outletproc_start(&op, h, s_program, "webhook-out", cfg) == 0);
    hub_publish_result_t res;
    REQUIRE(s_publish(pub, "r5-1", "CASE-5", "Export \"crashes\"\n\ton \\ big files", &res) == 0);
    REQUIRE(receiver_wait(r, 3, 15000));
    CHECK(s_settled(h, res.seq));
    CHECK_INT(receiver_count(r), 3);
    receiver_request_t q;
    REQUIRE(receiver_get(r, 2, &q) == 0);
    CHECK_INT(q.status, 200);
    json_error_t jerr;
    json_t *body = json_loads(q.body, 0, &jerr);
    CHECK(body != NULL);
    if (!body)
        fprintf(stderr, "body %s: %s\n", q.body, jerr.text);
    CHECK_STR(json_string_value(json_object_get(body, "text")), "CASE-5: Export \"crashes\"\n\ton \\ big files");
    CHECK_STR(json_string_value(json_object_get(body, "who")), "Acme \"Rockets\" Corp");
    CHECK_STR(json_string_value(json_object_get(body, "route")), "to-eng");
    CHECK_STR(json_string_value(json_object_get(body, "topic")), "eng.defect");
    CHECK_STR(json_string_value(json_object_get(body, "missing")), "");
    json_decref(body);
    receiver_request_free(&q);
    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "retrying seq"), 2);
    CHECK_INT(outletproc_log_count(&op, "delivered seq"), 1);
    json_t *st = harness_status(h);
    uint64_t v = 99;
    CHECK(harness_sub_u64(st, "eng", "dead_letters", &v));
    CHECK_INT(v, 0);
    json_decref(st);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    free(cfg);
    hub_client_destroy(&pub);
    receiver_destroy(&r);
    HARNESS_END(h);
}

/* 429 with Retry-After: 1 waits about a second, although the backoff
 * alone would wait at most 20 ms. */
static void test_429_retry_after(void)
{
    receiver_t *r = receiver_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(r && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    receiver_script(r, 429, "1", "slow down");
    cfg = s_config(r, 1, NULL, "  max_attempts: 5\n  initial_delay: 20ms\n  max_delay: 20ms\n  max_elapsed: 10s\n");
    REQUIRE(cfg && outletproc_start(&op, h, s_program, "webhook-out", cfg) == 0);
    hub_publish_result_t res;
    REQUIRE(s_publish(pub, "ra-1", "CASE-9", "rate", &res) == 0);
    REQUIRE(receiver_wait(r, 2, 15000));
    CHECK(s_settled(h, res.seq));
    receiver_request_t a, b;
    REQUIRE(receiver_get(r, 0, &a) == 0);
    receiver_request_free(&a);
    REQUIRE(receiver_get(r, 1, &b) == 0);
    receiver_request_free(&b);
    CHECK_INT(a.status, 429);
    CHECK_INT(b.status, 200);
    int64_t gap = b.at_ms - a.at_ms;
    if (gap < 950)
        fprintf(stderr, "the retry came %lld ms after the 429\n", (long long)gap);
    CHECK(gap >= 950);
    CHECK(gap < 5000);
    CHECK_INT(receiver_count(r), 2);
    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "as Retry-After asks"), 1);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    free(cfg);
    hub_client_destroy(&pub);
    receiver_destroy(&r);
    HARNESS_END(h);
}

/* 404: dead-lettered at once with the response in the reason; it shows up
 * on deadletter.eng; the next notification goes through. */
static void test_404_dead_letter(void)
{
    receiver_t *r = receiver_new();
    hub_client_t *pub = NULL, *dl = NULL;
    hub_notification_t *n = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(r && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((dl = harness_client(h, "dead-letters")) != NULL);
    const char *dl_topics[] = {"deadletter.*", NULL};
    REQUIRE(harness_subscribe(dl, "dl-watch", dl_topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    receiver_script(r, 404, NULL, "no such channel");
    cfg = s_config(r, 1, NULL, NULL);
    REQUIRE(cfg && outletproc_start(&op, h, s_program, "webhook-out", cfg) == 0);
    hub_publish_result_t r1, r2;
    REQUIRE(s_publish(pub, "nf-1", "CASE-404", "gone", &r1) == 0);
    REQUIRE(s_publish(pub, "nf-2", "CASE-405", "fine", &r2) == 0);
    CHECK(harness_wait_sub(h, NULL, "eng", "dead_letters", 1, 15000));
    CHECK(s_settled(h, r2.seq));
    CHECK_INT(receiver_count(r), 2); /* the 404 was not retried */

    REQUIRE(hub_receive(dl, &n, 10000) == 1);
    CHECK_STR(hub_notification_topic(n), "deadletter.eng");
    CHECK_STR(hub_notification_case_id(n), "CASE-404");
    json_t *j = json_loads(hub_notification_json(n), 0, NULL);
    const char *reason = json_string_value(json_object_get(j, "reason"));
    CHECK_HAS(reason, "HTTP 404: no such channel");
    json_decref(j);
    CHECK_INT(hub_ack(dl, n), 0);
    hub_notification_destroy(&n);
    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "dead-lettered seq"), 1);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    hub_notification_destroy(&n);
    free(cfg);
    hub_client_destroy(&pub);
    hub_client_destroy(&dl);
    receiver_destroy(&r);
    HARNESS_END(h);
}

/* The receiver is not listening for a while, then is: nothing is lost,
 * nothing doubled, the order holds. */
static void test_down_then_up(void)
{
    receiver_t *r = receiver_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(r && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE(receiver_down(r) == 0);
    cfg = s_config(r, 1, NULL, "  max_attempts: 1000\n  initial_delay: 20ms\n  max_delay: 100ms\n  max_elapsed: 20s\n");
    REQUIRE(cfg && outletproc_start(&op, h, s_program, "webhook-out", cfg) == 0);
    hub_publish_result_t res[4];
    char id[32];
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "dn-%d", i);
        REQUIRE(s_publish(pub, id, "CASE-D", "down", &res[i]) == 0);
    }
    /* the outlet has found it down several times */
    CHECK(outletproc_wait_log(&op, "retrying seq", 5, 15000));
    CHECK_INT(receiver_count(r), 0);
    REQUIRE(receiver_up(r) == 0);
    REQUIRE(receiver_wait(r, 4, 15000));
    CHECK(s_settled(h, res[3].seq));
    CHECK_INT(receiver_count(r), 4);
    for (size_t i = 0; i < 4; i++) {
        receiver_request_t q;
        if (receiver_get(r, i, &q) != 0)
            break;
        char want[64];
        snprintf(want, sizeof want, "%llu.0", (unsigned long long)res[i].seq);
        CHECK_STR(q.delivery, want);
        receiver_request_free(&q);
    }
    CHECK_INT(outletproc_stop(&op), 0);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    free(cfg);
    hub_client_destroy(&pub);
    receiver_destroy(&r);
    HARNESS_END(h);
}

/* Out of tries: nacked without dead_letter, so the hub delivers it again
 * (its attempt 2) and that one succeeds. */
static void test_give_up_then_hub_redelivers(void)
{
    receiver_t *r = receiver_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(r && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    receiver_script(r, 503, NULL, "maintenance");
    receiver_script(r, 503, NULL, "maintenance");
    cfg = s_config(r, 1, NULL, "  max_attempts: 2\n  initial_delay: 10ms\n  max_delay: 50ms\n");
    REQUIRE(cfg && outletproc_start(&op, h, s_program, "webhook-out", cfg) == 0);
    hub_publish_result_t res;
    REQUIRE(s_publish(pub, "gu-1", "CASE-G", "again", &res) == 0);
    REQUIRE(receiver_wait(r, 3, 15000));
    CHECK(s_settled(h, res.seq));
    CHECK_INT(receiver_count(r), 3);
    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "gave up on seq"), 1);
    CHECK(outletproc_log_count(&op, "(hub attempt 2)") >= 1);
    json_t *st = harness_status(h);
    uint64_t v = 99;
    CHECK(harness_sub_u64(st, "eng", "dead_letters", &v));
    CHECK_INT(v, 0);
    json_decref(st);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    free(cfg);
    hub_client_destroy(&pub);
    receiver_destroy(&r);
    HARNESS_END(h);
}

/* Config mistakes: one line naming the file and the line; --help; --check. */
static void test_config_errors(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"subscribe: {name: eng, topics: [\"eng.*\"]}\nwebhook:\n  ulr: http://x/\n",
         "bad.yaml:3: webhook: unknown key \"ulr\""},
        {"subscribe: {name: eng, topics: [\"eng.*\"]}\nwebhook:\n  url: ftp://x/\n", "bad.yaml:3: webhook.url"},
        {"subscribe: {name: eng, topics: [\"eng.*\"]}\nretry:\n  max_attempts: 0\nwebhook: {url: \"http://x/\"}\n",
         "bad.yaml:3: retry.max_attempts"},
        {"subscribe: {name: eng}\nwebhook: {url: \"http://x/\"}\n", "bad.yaml:1: subscribe: missing \"topics\""},
        {"subscribe: {name: eng, topics: x}\nwebhook:\n  url: http://x/\n  template: \"{\\\"a\\\": \\\"{{case_id\\\"}\"\n",
         "bad.yaml:4: webhook.template: template line 1: unterminated"},
        {"subscribe: {name: eng, topics: x}\n", "bad.yaml: missing the \"webhook\" section"},
        {"subscribe: {name: eng, topics: x}\nwebhok: {}\n", "bad.yaml:2: unknown key \"webhok\""},
    };
    harness_t *h = HARNESS_NEW(NULL);
    char *out = NULL;
    REQUIRE(h != NULL);
    char path[HARNESS_PATH];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = harness_write_file(h, "bad.yaml", cases[i].text);
        REQUIRE(p != NULL);
        snprintf(path, sizeof path, "%s", p);
        const char *args[] = {"--config", path, "--check", NULL};
        CHECK_INT(outletproc_run(harness_dir(h), s_program, &out, args), 1);
        CHECK_HAS(out, cases[i].want);
        CHECK_INT(harness_count_lines(out), 1);
        free(out);
        out = NULL;
    }
    const char *p = harness_write_file(h, "good.yaml",
                                       "subscribe: {name: eng, topics: [\"eng.*\"], credit: 2}\n"
                                       "webhook: {url: \"https://chat.example.com/hook\"}\n");
    REQUIRE(p != NULL);
    snprintf(path, sizeof path, "%s", p);
    const char *ok_args[] = {"--config", path, "--check", NULL};
    CHECK_INT(outletproc_run(harness_dir(h), s_program, &out, ok_args), 0);
    CHECK_HAS(out, "ok: ");
    free(out);
    out = NULL;
    const char *help[] = {"--help", NULL};
    CHECK_INT(outletproc_run(harness_dir(h), s_program, &out, help), 0);
    CHECK_HAS(out, "usage: hub-webhook-out --config FILE");
    free(out);
    out = NULL;
    const char *none[] = {NULL};
    CHECK_INT(outletproc_run(harness_dir(h), s_program, &out, none), 2);
    CHECK_HAS(out, "--config FILE is required");
done:
    free(out);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    s_program = outletproc_program("WEBHOOK_OUT");
    static const check_case_t cases[] = {
        {"every notification once, in order, signed, with the configured headers", test_in_order},
        {"500 then 502 then 200: retried and acked; the template is JSON-escaped", test_500_then_200},
        {"429 with Retry-After: 1 waits a second", test_429_retry_after},
        {"404 dead-letters at once, with the response in the reason", test_404_dead_letter},
        {"receiver down for a while, then up: nothing lost or doubled", test_down_then_up},
        {"out of tries: nacked, the hub redelivers, then it goes through", test_give_up_then_hub_redelivers},
        {"config mistakes name the file and line; --help; --check", test_config_errors},
        {NULL, NULL},
    };
    return check_run(cases);
}
