/*
 * webhook-in - the real hub-webhook-in, over real HTTP on 127.0.0.1, in
 * front of the real hubd (tests/harness): what a help desk or a script
 * posting events sees, and what the hub stores of it.
 *
 * The program is started with --listen 127.0.0.1:0 and tells its port on
 * standard output ("listening on 127.0.0.1:PORT"); nothing waits by
 * sleeping: readiness is that line, a stop is a reaped child, the hub
 * coming back is a /healthz answering 200 before a deadline.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "check.h"
#include "harness.h"
#include "httpclient.h"
#include "httpproc.h"
#include "sha256.h"

extern char **environ;

static const char *s_token = "test-support-token-0123456789";
static const char *s_secret = "test-signing-secret-0123456789";
static const char *s_helpdesk_secret = "test-helpdesk-secret-0123456789";

/* ------------------------------------------------------ the program */

static const char *s_program(void)
{
    const char *path = getenv("HUB_WEBHOOK_IN");
    return path && *path ? path : NULL;
}

/* Writes config_text as webhook-in.yaml in the harness directory and
 * starts the program on it, against hub_ep, on a free port. Returns 0, or
 * -1 (with what happened on stderr; its log is printed at the end of the
 * case). */
static int s_wh_start(harness_t *h, const char *config_text, httpproc_t *wh)
{
    const char *written = harness_write_file(h, "webhook-in.yaml", config_text);
    if (!written)
        return -1;
    char config[HARNESS_PATH], log[HARNESS_PATH];
    snprintf(config, sizeof config, "%s", written);
    snprintf(log, sizeof log, "%s/webhook-in.log", harness_dir(h));
    const char *argv[] = {s_program(), "--config", config, "--hub", harness_endpoint(h), "--listen", "127.0.0.1:0",
                          NULL};
    return httpproc_start(wh, "hub-webhook-in", argv, log);
}

/* ------------------------------------------------------------- HTTP */

/* POST /events with the support token. */
static long s_post_token(int port, const char *body, httpclient_res_t *res)
{
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_token);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    return httpclient_request(port, "POST", "/events", headers, body, strlen(body), res);
}

/* POST /events signed with secret, the signature in X-Signature as
 * "sha256=<hex>" (or bare hex when bare is 1). */
static long s_post_signed(int port, const char *secret, const char *body, size_t len, int bare, httpclient_res_t *res)
{
    uint8_t mac[HUB_SHA256_LEN];
    char hex[HUB_SHA256_HEX_LEN];
    hub_hmac_sha256(secret, strlen(secret), body, len, mac);
    hub_hex(mac, HUB_SHA256_LEN, hex);
    char sig[128];
    snprintf(sig, sizeof sig, "X-Signature: %s%s", bare ? "" : "sha256=", hex);
    const char *headers[] = {sig, "Content-Type: application/json", NULL};
    return httpclient_request(port, "POST", "/events", headers, body, len, res);
}

static const char *s_str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

/* The "accepted" list of a 202, or NULL. */
static json_t *s_accepted(const httpclient_res_t *res)
{
    json_t *list = json_object_get(res->json, "accepted");
    return json_is_array(list) ? list : NULL;
}

static uint64_t s_events(harness_t *h)
{
    json_t *st = harness_status(h);
    uint64_t n = harness_status_u64(st, "events");
    json_decref(st);
    return n;
}

static char *s_config(const char *extra)
{
    char *text = NULL;
    int n = asprintf(&text,
                     "%s"
                     "sources:\n"
                     "  - name: support\n"
                     "    token: %s\n"
                     "  - name: signed\n"
                     "    hmac_secret: %s\n",
                     extra ? extra : "", s_token, s_secret);
    return n < 0 ? NULL : text;
}

/* --------------------------------------------------------------- cases */

/* One event and a list: 202 with ids and sequence numbers once stored;
 * the source name fills in "source"; the same body again is a duplicate. */
static void test_accepted(void)
{
    int before = check_failures;
    httpproc_t wh = {0};
    httpclient_res_t r = {0};
    hub_client_t *sub = NULL;
    harness_got_t got[1] = {0};
    size_t ngot = 0;
    char *config = s_config(NULL);
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && config && harness_start(h) == 0);
    REQUIRE(s_wh_start(h, config, &wh) == 0);

    CHECK_INT(httpclient_request(wh.port, "GET", "/healthz", NULL, NULL, 0, &r), 200);
    CHECK_STR(s_str(r.json, "hub"), "reachable");
    httpclient_res_free(&r);

    const char *one = "{\"type\":\"bug_report\",\"case_id\":\"CASE-1\",\"subject\":\"crash\"}";
    REQUIRE(s_post_token(wh.port, one, &r) == 202);
    json_t *acc = s_accepted(&r);
    REQUIRE(acc && json_array_size(acc) == 1);
    char first_id[128];
    snprintf(first_id, sizeof first_id, "%s", s_str(json_array_get(acc, 0), "id"));
    json_int_t first_seq = json_integer_value(json_object_get(json_array_get(acc, 0), "seq"));
    CHECK(strncmp(first_id, "support-", 8) == 0);
    CHECK(first_seq >= 1);
    CHECK(json_is_false(json_object_get(json_array_get(acc, 0), "duplicate")));
    httpclient_res_free(&r);

    const char *three = "[{\"type\":\"complaint\",\"case_id\":\"CASE-2\"},"
                        "{\"id\":\"given-id-1\",\"type\":\"return_request\",\"case_id\":\"CASE-3\"},"
                        "{\"type\":\"complaint\",\"case_id\":\"CASE-2\"}]";
    REQUIRE(s_post_token(wh.port, three, &r) == 202);
    acc = s_accepted(&r);
    REQUIRE(acc && json_array_size(acc) == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK_INT(json_integer_value(json_object_get(json_array_get(acc, i), "seq")), first_seq + 1 + (json_int_t)i);
    CHECK_STR(s_str(json_array_get(acc, 1), "id"), "given-id-1");
    /* equal elements of one list are two events: the index is in the id */
    CHECK(strcmp(s_str(json_array_get(acc, 0), "id"), s_str(json_array_get(acc, 2), "id")) != 0);
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 4);

    /* the same body again: the same id, acknowledged as a duplicate */
    REQUIRE(s_post_token(wh.port, one, &r) == 202);
    acc = s_accepted(&r);
    REQUIRE(acc && json_array_size(acc) == 1);
    CHECK_STR(s_str(json_array_get(acc, 0), "id"), first_id);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(acc, 0), "seq")), first_seq);
    CHECK(json_is_true(json_object_get(json_array_get(acc, 0), "duplicate")));
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 4);

    /* what engineering receives: the event with the source filled in */
    REQUIRE((sub = harness_client(h, "engineering")) != NULL);
    const char *topics[] = {"engineering.*", NULL};
    REQUIRE(harness_subscribe(sub, "engineering", topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    ngot = harness_collect(sub, got, 1, 1, 10000);
    REQUIRE(ngot == 1);
    CHECK_STR(got[0].event_id, first_id);
    json_t *n = json_loads(got[0].json, 0, NULL);
    json_t *ev = json_object_get(n, "event");
    CHECK_STR(s_str(ev, "source"), "support");
    CHECK_STR(s_str(ev, "subject"), "crash");
    json_decref(n);

    /* other paths and methods */
    CHECK_INT(httpclient_request(wh.port, "GET", "/nope", NULL, NULL, 0, &r), 404);
    httpclient_res_free(&r);
    CHECK_INT(httpclient_request(wh.port, "GET", "/events", NULL, NULL, 0, &r), 405);
    httpclient_res_free(&r);
    CHECK_INT(httpclient_request(wh.port, "DELETE", "/healthz", NULL, NULL, 0, &r), 405);
done:
    httpclient_res_free(&r);
    harness_got_free(got, ngot);
    hub_client_destroy(&sub);
    HTTPPROC_END(wh, before);
    free(config);
    HARNESS_END(h);
}

/* A bad event refuses the request, naming the field and the index;
 * nothing of it is stored. */
static void test_bad_event(void)
{
    int before = check_failures;
    httpproc_t wh = {0};
    httpclient_res_t r = {0};
    char *config = s_config(NULL);
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && config && harness_start(h) == 0);
    REQUIRE(s_wh_start(h, config, &wh) == 0);

    CHECK_INT(s_post_token(wh.port, "{\"subject\":\"no type\"}", &r), 400);
    CHECK_STR(s_str(r.json, "field"), "type");
    CHECK_INT(json_integer_value(json_object_get(r.json, "index")), 0);
    httpclient_res_free(&r);

    CHECK_INT(s_post_token(wh.port, "[{\"type\":\"complaint\"},{\"type\":\"bug_report\",\"severity\":\"extreme\"}]", &r),
              400);
    CHECK_STR(s_str(r.json, "field"), "severity");
    CHECK_INT(json_integer_value(json_object_get(r.json, "index")), 1);
    CHECK_HAS(s_str(r.json, "error"), "extreme");
    httpclient_res_free(&r);

    CHECK_INT(s_post_token(wh.port, "{\"type\":\"complaint\",\"customer\":{\"teir\":\"gold\"}}", &r), 400);
    CHECK_STR(s_str(r.json, "field"), "customer.teir");
    httpclient_res_free(&r);

    CHECK_INT(s_post_token(wh.port, "{\"type\":", &r), 400);
    CHECK_HAS(s_str(r.json, "error"), "not JSON");
    httpclient_res_free(&r);

    CHECK_INT(s_post_token(wh.port, "[]", &r), 400);
    httpclient_res_free(&r);

    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_token);
    const char *form[] = {auth, "Content-Type: application/x-www-form-urlencoded", NULL};
    CHECK_INT(httpclient_request(wh.port, "POST", "/events", form, "{\"type\":\"complaint\"}", 20, &r), 415);
    httpclient_res_free(&r);

    CHECK_INT(s_events(h), 0);
done:
    httpclient_res_free(&r);
    HTTPPROC_END(wh, before);
    free(config);
    HARNESS_END(h);
}

/* A wrong, missing or foreign credential: 401, nothing stored. */
static void test_bad_token(void)
{
    int before = check_failures;
    httpproc_t wh = {0};
    httpclient_res_t r = {0};
    char *config = s_config(NULL);
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && config && harness_start(h) == 0);
    REQUIRE(s_wh_start(h, config, &wh) == 0);
    const char *body = "{\"type\":\"complaint\"}";
    const char *wrong[] = {"Authorization: Bearer test-support-token-0123456780", "Content-Type: application/json",
                           NULL};
    const char *none[] = {"Content-Type: application/json", NULL};
    const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", "Content-Type: application/json", NULL};
    /* the HMAC secret is not a token */
    char as_token[128];
    snprintf(as_token, sizeof as_token, "Authorization: Bearer %s", s_secret);
    const char *secret[] = {as_token, "Content-Type: application/json", NULL};
    const char *const *cases[] = {wrong, none, basic, secret};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(httpclient_request(wh.port, "POST", "/events", cases[i], body, strlen(body), &r), 401);
        CHECK_STR(s_str(r.json, "error"), "missing or wrong credential");
        httpclient_res_free(&r);
    }
    CHECK_INT(s_events(h), 0);
done:
    httpclient_res_free(&r);
    HTTPPROC_END(wh, before);
    free(config);
    HARNESS_END(h);
}

/* HMAC-SHA256 of the raw body: a good signature is accepted, a wrong or
 * malformed one, or a body changed after signing, is 401. */
static void test_signatures(void)
{
    int before = check_failures;
    httpproc_t wh = {0};
    httpclient_res_t r = {0};
    char *config = s_config(NULL);
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && config && harness_start(h) == 0);
    REQUIRE(s_wh_start(h, config, &wh) == 0);

    /* a signature computed outside this code base (openssl dgst -hmac) */
    const char *body = "{\"type\":\"complaint\",\"subject\":\"signed\"}";
    const char *good[] = {"X-Signature: sha256=8cbc44b9ab3d4a8db56c6184a356d9154d3951c726f4e991979b7a5489b6ea51",
                          "Content-Type: application/json", NULL};
    REQUIRE(httpclient_request(wh.port, "POST", "/events", good, body, strlen(body), &r) == 202);
    CHECK(strncmp(s_str(json_array_get(s_accepted(&r), 0), "id"), "signed-", 7) == 0);
    httpclient_res_free(&r);

    /* the same signature over another body */
    const char *other = "{\"type\":\"complaint\",\"subject\":\"signed!\"}";
    CHECK_INT(httpclient_request(wh.port, "POST", "/events", good, other, strlen(other), &r), 401);
    httpclient_res_free(&r);
    /* signed with another secret */
    CHECK_INT(s_post_signed(wh.port, "not-the-secret-0123456789", other, strlen(other), 0, &r), 401);
    httpclient_res_free(&r);
    /* not a signature */
    const char *junk[] = {"X-Signature: sha256=zz", "Content-Type: application/json", NULL};
    CHECK_INT(httpclient_request(wh.port, "POST", "/events", junk, other, strlen(other), &r), 401);
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 1);

    /* bare hex is accepted too */
    REQUIRE(s_post_signed(wh.port, s_secret, other, strlen(other), 1, &r) == 202);
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 2);
done:
    httpclient_res_free(&r);
    HTTPPROC_END(wh, before);
    free(config);
    HARNESS_END(h);
}

/* A body over max_body, announced or streamed, and a list over
 * max_events: 413, and the server goes on serving. */
static void test_oversized(void)
{
    int before = check_failures;
    httpproc_t wh = {0};
    httpclient_res_t r = {0};
    char *big = NULL;
    char *config = s_config("max_body: 1024\nmax_events: 2\n");
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && config && harness_start(h) == 0);
    REQUIRE(s_wh_start(h, config, &wh) == 0);

    size_t len = 4000;
    REQUIRE((big = malloc(len + 1)) != NULL);
    int head = snprintf(big, len + 1, "{\"type\":\"complaint\",\"subject\":\"");
    memset(big + head, 'x', len - (size_t)head - 2);
    memcpy(big + len - 2, "\"}", 3);
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_token);
    /* Content-Length over the limit: refused before the body is sent */
    const char *expect[] = {auth, "Content-Type: application/json", "Expect: 100-continue", NULL};
    CHECK_INT(httpclient_request(wh.port, "POST", "/events", expect, big, len, &r), 413);
    CHECK_HAS(s_str(r.json, "error"), "1024");
    httpclient_res_free(&r);
    /* no Content-Length (chunked): counted while it streams */
    const char *chunked[] = {auth, "Content-Type: application/json", "Transfer-Encoding: chunked", NULL};
    CHECK_INT(httpclient_request(wh.port, "POST", "/events", chunked, big, len, &r), 413);
    httpclient_res_free(&r);
    /* more events than max_events */
    CHECK_INT(s_post_token(wh.port, "[{\"type\":\"a\"},{\"type\":\"b\"},{\"type\":\"c\"}]", &r), 413);
    CHECK_HAS(s_str(r.json, "error"), "3 events");
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 0);
    /* and a request within the limits still works */
    CHECK_INT(s_post_token(wh.port, "[{\"type\":\"a\"},{\"type\":\"b\"}]", &r), 202);
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 2);
done:
    httpclient_res_free(&r);
    free(big);
    HTTPPROC_END(wh, before);
    free(config);
    HARNESS_END(h);
}

/* No hub: 503 with Retry-After (and /healthz 503). The hub starts; the
 * sender sends the same body again: 202, stored once. */
static void test_hub_down(void)
{
    int before = check_failures;
    httpproc_t wh = {0};
    httpclient_res_t r = {0};
    char *config = s_config("hub_timeout: 1s\nretry_after: 7s\n");
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && config);
    REQUIRE(s_wh_start(h, config, &wh) == 0); /* hubd is not running */

    const char *body = "[{\"type\":\"bug_report\",\"case_id\":\"CASE-9\"},{\"type\":\"complaint\",\"case_id\":\"CASE-9\"}]";
    CHECK_INT(s_post_token(wh.port, body, &r), 503);
    CHECK_STR(httpclient_header(&r, "Retry-After"), "7");
    CHECK_HAS(s_str(r.json, "error"), "send the same request again");
    httpclient_res_free(&r);
    CHECK_INT(httpclient_request(wh.port, "GET", "/healthz", NULL, NULL, 0, &r), 503);
    CHECK_STR(s_str(r.json, "hub"), "unreachable");
    httpclient_res_free(&r);

    REQUIRE(harness_start(h) == 0);
    /* a sender's retry loop: wait until the intake sees the hub */
    int64_t deadline = harness_now_ms() + 15000;
    long code = 0;
    while ((code = httpclient_request(wh.port, "GET", "/healthz", NULL, NULL, 0, &r)) != 200 && harness_now_ms() < deadline) {
        httpclient_res_free(&r);
        harness_pause();
    }
    httpclient_res_free(&r);
    REQUIRE(code == 200);

    REQUIRE(s_post_token(wh.port, body, &r) == 202);
    json_t *acc = s_accepted(&r);
    REQUIRE(acc && json_array_size(acc) == 2);
    json_int_t seq0 = json_integer_value(json_object_get(json_array_get(acc, 0), "seq"));
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 2);

    /* and once more: duplicates, the original sequence numbers */
    REQUIRE(s_post_token(wh.port, body, &r) == 202);
    acc = s_accepted(&r);
    REQUIRE(acc && json_array_size(acc) == 2);
    CHECK(json_is_true(json_object_get(json_array_get(acc, 0), "duplicate")));
    CHECK(json_is_true(json_object_get(json_array_get(acc, 1), "duplicate")));
    CHECK_INT(json_integer_value(json_object_get(json_array_get(acc, 0), "seq")), seq0);
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 2);
done:
    httpclient_res_free(&r);
    HTTPPROC_END(wh, before);
    free(config);
    HARNESS_END(h);
}

/* The sample help-desk payload through the sample mapping becomes the
 * expected event, routed by the sample policy; a payload missing a
 * required field, or with a value the event refuses, is 400 naming the
 * payload's field. */
static void test_mapping(void)
{
    int before = check_failures;
    httpproc_t wh = {0};
    httpclient_res_t r = {0};
    hub_client_t *sub = NULL;
    harness_got_t got[1] = {0};
    size_t ngot = 0;
    char *config = NULL, *payload = NULL;
    json_t *note = NULL, *doc = NULL;
    const char *root = harness_source_root();
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && root && harness_start(h) == 0);
    REQUIRE(asprintf(&config,
                     "sources:\n"
                     "  - name: helpdesk\n"
                     "    hmac_secret: %s\n"
                     "    signature_header: X-Signature\n"
                     "    mapping: %s/deploy/mappings/helpdesk.yaml\n",
                     s_helpdesk_secret, root)
            > 0);
    REQUIRE(s_wh_start(h, config, &wh) == 0);
    char path[HARNESS_PATH];
    snprintf(path, sizeof path, "%s/deploy/samples/helpdesk-ticket.json", root);
    REQUIRE((payload = harness_read_file(path)) != NULL);

    REQUIRE(s_post_signed(wh.port, s_helpdesk_secret, payload, strlen(payload), 0, &r) == 202);
    json_t *acc0 = json_array_get(s_accepted(&r), 0);
    CHECK_STR(s_str(acc0, "id"), "helpdesk-7f3c2a9e-5b1d-4c8e-9a61-2d0e8b4f7c15");
    /* defect, billing-flag and sales-followup in the sample policy */
    CHECK_INT(json_integer_value(json_object_get(acc0, "notifications")), 3);
    httpclient_res_free(&r);

    REQUIRE((sub = harness_client(h, "engineering")) != NULL);
    const char *topics[] = {"engineering.*", NULL};
    REQUIRE(harness_subscribe(sub, "engineering", topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    ngot = harness_collect(sub, got, 1, 1, 10000);
    REQUIRE(ngot == 1);
    CHECK_STR(got[0].topic, "engineering.defect");
    CHECK_STR(got[0].case_id, "CASE-58812");
    note = json_loads(got[0].json, 0, NULL);
    json_t *ev = json_object_get(note, "event");
    json_error_t jerr;
    json_t *expected = json_loads(
        "{\"id\":\"helpdesk-7f3c2a9e-5b1d-4c8e-9a61-2d0e8b4f7c15\",\"type\":\"bug_report\",\"source\":\"support\","
        "\"case_id\":\"CASE-58812\","
        "\"customer\":{\"id\":\"ACME-7\",\"name\":\"Acme Corp\",\"tier\":\"enterprise\","
        "\"billing_status\":\"overdue\",\"account_manager\":\"dana\"},"
        "\"severity\":\"critical\",\"subject\":\"Export crashes on large files\","
        "\"body\":\"Exporting any project over about 2 GB to CSV stops at 87% and the exporter exits. Worked in "
        "2.2; started after the upgrade to 2.3 last week.\","
        "\"product\":\"exporter 2.3\",\"tags\":[\"regression\",\"export\"],"
        "\"attributes\":{\"ticket\":\"HD-58812\",\"ticket_url\":\"https://help.example.com/tickets/58812\","
        "\"requester\":\"jo.park@acme.example\",\"order_id\":\"SO-88121\"},"
        "\"occurred_at\":\"2026-11-23T10:00:00Z\"}",
        0, &jerr);
    REQUIRE(expected != NULL);
    if (!json_equal(ev, expected)) {
        char *text = json_dumps(ev, JSON_COMPACT);
        fprintf(stderr, "mapped event: %s\n", text ? text : "(none)");
        free(text);
        CHECK(json_equal(ev, expected));
    }
    json_decref(expected);

    /* a payload without a required field: named by its payload path */
    doc = json_loads(payload, 0, NULL);
    REQUIRE(doc != NULL);
    json_object_del(json_object_get(doc, "ticket"), "subject");
    json_object_set_new(doc, "delivery_id", json_string("d-2"));
    char *text = json_dumps(doc, JSON_COMPACT);
    REQUIRE(text != NULL);
    CHECK_INT(s_post_signed(wh.port, s_helpdesk_secret, text, strlen(text), 0, &r), 400);
    free(text);
    CHECK_STR(s_str(r.json, "field"), "ticket.subject");
    CHECK_HAS(s_str(r.json, "error"), "required for subject");
    httpclient_res_free(&r);

    /* a mapped value the event refuses: the payload path is named */
    json_object_set_new(json_object_get(doc, "ticket"), "subject", json_string("s"));
    json_object_set_new(json_object_get(doc, "ticket"), "created_at", json_string("yesterday"));
    text = json_dumps(doc, JSON_COMPACT);
    REQUIRE(text != NULL);
    CHECK_INT(s_post_signed(wh.port, s_helpdesk_secret, text, strlen(text), 0, &r), 400);
    free(text);
    CHECK_STR(s_str(r.json, "field"), "ticket.created_at");
    CHECK_HAS(s_str(r.json, "error"), "occurred_at");
    httpclient_res_free(&r);

    /* an unknown category falls to the default type */
    json_object_set_new(json_object_get(doc, "ticket"), "created_at", json_string("2026-11-23T11:00:00Z"));
    json_object_set_new(json_object_get(doc, "ticket"), "category", json_string("praise"));
    text = json_dumps(doc, JSON_COMPACT);
    REQUIRE(text != NULL);
    CHECK_INT(s_post_signed(wh.port, s_helpdesk_secret, text, strlen(text), 0, &r), 202);
    free(text);
    CHECK_STR(s_str(json_array_get(s_accepted(&r), 0), "id"), "helpdesk-d-2");
    httpclient_res_free(&r);
    CHECK_INT(s_events(h), 2);
done:
    httpclient_res_free(&r);
    json_decref(note);
    json_decref(doc);
    harness_got_free(got, ngot);
    hub_client_destroy(&sub);
    HTTPPROC_END(wh, before);
    free(payload);
    free(config);
    HARNESS_END(h);
}

/* Runs the program with args and no hub; returns its exit status and its
 * stderr in *err_p (the caller frees). */
static int s_run(harness_t *h, const char *const *args, char **err_p)
{
    char log[HARNESS_PATH];
    snprintf(log, sizeof log, "%s/run.err", harness_dir(h));
    unlink(log);
    const char *argv[16] = {s_program()};
    size_t n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    int status = -1;
    if (rc == 0)
        waitpid(pid, &status, 0);
    *err_p = harness_read_file(log);
    return rc == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Configuration mistakes stop it at start with one line naming file and
 * line; the sample configuration passes --check. */
static void test_config_errors(void)
{
    char *err = NULL;
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h);
    char mapping[HARNESS_PATH], config[HARNESS_PATH];
    snprintf(mapping, sizeof mapping, "%s", harness_write_file(h, "bad-mapping.yaml",
                                                               "fields:\n"
                                                               "  subject: ticket.subject\n"
                                                               "  customer.teir: ticket.plan\n"));
    snprintf(config, sizeof config, "%s", harness_write_file(h, "bad.yaml",
                                                             "sources:\n"
                                                             "  - name: desk\n"
                                                             "    token: test-support-token-0123456789\n"
                                                             "    mapping: bad-mapping.yaml\n"));
    const char *args1[] = {"--config", config, NULL};
    CHECK_INT(s_run(h, args1, &err), 1);
    CHECK_HAS(err, "bad-mapping.yaml:3: fields: unknown field \"teir\"");
    CHECK_INT((int)harness_count_lines(err), 1);
    free(err);
    err = NULL;

    snprintf(config, sizeof config, "%s", harness_write_file(h, "short.yaml",
                                                             "sources:\n"
                                                             "  - name: desk\n"
                                                             "    token: short\n"));
    CHECK_INT(s_run(h, args1, &err), 1);
    CHECK_HAS(err, "short.yaml:3: sources: token: must be 16");
    free(err);
    err = NULL;

    const char *root = harness_source_root();
    REQUIRE(root);
    snprintf(config, sizeof config, "%s/deploy/webhook-in.yaml", root);
    const char *args2[] = {"--config", config, "--check", NULL};
    CHECK_INT(s_run(h, args2, &err), 0);
    free(err);
    err = NULL;
    const char *args3[] = {"--bogus", NULL};
    CHECK_INT(s_run(h, args3, &err), 2);
done:
    free(err);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    if (!s_program()) {
        printf("HUB_WEBHOOK_IN is not set: skipped\n");
        return 77;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        printf("libcurl cannot start: skipped\n");
        return 77;
    }
    static const check_case_t cases[] = {
        {"accepted: one event and a list, 202 once stored", test_accepted},
        {"bad event: 400 names the field and index, nothing stored", test_bad_event},
        {"bad token: 401", test_bad_token},
        {"signatures: good 202, bad or malformed 401", test_signatures},
        {"oversized: 413 announced, streamed and by count", test_oversized},
        {"hub down: 503, then the same body is stored once", test_hub_down},
        {"mapping: the sample help-desk payload becomes the expected event", test_mapping},
        {"configuration errors name file and line", test_config_errors},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    curl_global_cleanup();
    return rc;
}
