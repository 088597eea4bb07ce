/*
 * cli - hubctl end to end against a real hubd: publish, subscribe, status,
 * rules check, route --explain; rejections name the field; exit codes are
 * 0 ok, 1 rejected, 2 usage, 3 timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "harness.h"

/* A bug report from an enterprise customer: defect + sales-followup. */
static const char *s_bug = "{\"id\":\"cli-1\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-42\","
                           "\"customer\":{\"id\":\"C-9\",\"tier\":\"enterprise\",\"billing_status\":\"current\"},"
                           "\"severity\":\"high\",\"subject\":\"login fails\"}\n";

/* Line n (1-based) of text as a parsed JSON value, or NULL. */
static json_t *s_line_json(const char *text, size_t n)
{
    const char *p = text;
    for (size_t i = 1; p && i < n; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p || !*p)
        return NULL;
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    return json_loadb(p, len, 0, NULL);
}

static harness_t *s_hub;

static void test_publish_one(void)
{
    harness_run_t run = {0};
    CHECK_INT(harness_hubctl(s_hub, s_bug, &run, "publish", "-", NULL), 0);
    CHECK_INT(harness_count_lines(run.out), 1);
    json_t *ack = s_line_json(run.out, 1);
    CHECK(ack != NULL);
    CHECK_STR(json_string_value(json_object_get(ack, "id")), "cli-1");
    CHECK_INT(json_integer_value(json_object_get(ack, "seq")), 1);
    CHECK(json_is_false(json_object_get(ack, "duplicate")));
    CHECK_INT(json_integer_value(json_object_get(ack, "notifications")), 2);
    json_decref(ack);
    if (run.status != 0)
        fprintf(stderr, "  stderr: %s\n", run.err);
    harness_run_free(&run);
}

static void test_publish_lines(void)
{
    harness_run_t run = {0};
    const char *path = harness_write_file(s_hub, "lines.jsonl",
                                          "{\"id\":\"cli-2\",\"type\":\"return_request\",\"case_id\":\"CASE-43\"}\n"
                                          "{\"id\":\"cli-3\",\"type\":\"complaint\",\"customer\":{\"tier\":\"free\"}}\n"
                                          "{\"id\":\"cli-1\",\"type\":\"bug_report\"}\n");
    REQUIRE(path != NULL);
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "publish", path, NULL), 0);
    CHECK_INT(harness_count_lines(run.out), 3);
    json_t *a2 = s_line_json(run.out, 1), *a3 = s_line_json(run.out, 2), *a1 = s_line_json(run.out, 3);
    CHECK(a1 && a2 && a3);
    CHECK_STR(json_string_value(json_object_get(a2, "id")), "cli-2");
    CHECK_INT(json_integer_value(json_object_get(a2, "seq")), 2);
    CHECK_INT(json_integer_value(json_object_get(a2, "notifications")), 1);
    CHECK_STR(json_string_value(json_object_get(a3, "id")), "cli-3");
    CHECK_INT(json_integer_value(json_object_get(a3, "seq")), 3);
    CHECK_INT(json_integer_value(json_object_get(a3, "notifications")), 0);
    /* the same id again: the original seq, duplicate */
    CHECK_STR(json_string_value(json_object_get(a1, "id")), "cli-1");
    CHECK_INT(json_integer_value(json_object_get(a1, "seq")), 1);
    CHECK(json_is_true(json_object_get(a1, "duplicate")));
    json_decref(a1);
    json_decref(a2);
    json_decref(a3);
done:
    harness_run_free(&run);
}

typedef struct {
    const char *name;
    const char *input;   /* stdin for publish - */
    const char *needle1; /* stderr must contain these */
    const char *needle2;
} s_reject_t;

static void test_publish_rejections(void)
{
    static const s_reject_t cases[] = {
        {"missing type", "{\"id\":\"bad-1\",\"source\":\"support\"}\n", "bad-1", "type"},
        {"unknown key", "{\"id\":\"bad-2\",\"type\":\"bug_report\",\"colour\":\"red\"}\n", "bad-2", "colour"},
        {"bad severity", "{\"id\":\"bad-3\",\"type\":\"bug_report\",\"severity\":\"urgent\"}\n", "bad-3", "severity"},
        {"nested field of the wrong kind", "{\"id\":\"bad-4\",\"type\":\"bug_report\",\"customer\":{\"tier\":3}}\n",
         "bad-4", "customer.tier"},
        {"bad status", "{\"id\":\"bad-5\",\"type\":\"response\",\"status\":\"done\"}\n", "bad-5", "status"},
        {"line without id", "{\"id\":\"cli-2\",\"type\":\"return_request\"}\n{\"source\":\"support\"}\n", "line 2",
         "type"},
        {"not JSON", "{\"id\": \n", "hubctl:", "line "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness_run_t run = {0};
        int rc = harness_hubctl(s_hub, cases[i].input, &run, "publish", "-", NULL);
        if (rc != 1 || !strstr(run.err, cases[i].needle1) || !strstr(run.err, cases[i].needle2))
            fprintf(stderr, "  case \"%s\": exit %d, stderr: %s", cases[i].name, rc, run.err);
        CHECK_INT(rc, 1);
        CHECK_HAS(run.err, "hubctl: ");
        CHECK_HAS(run.err, cases[i].needle1);
        CHECK_HAS(run.err, cases[i].needle2);
        harness_run_free(&run);
    }
    /* none of the refused events was stored */
    json_t *st = harness_status(s_hub);
    CHECK_INT(harness_status_u64(st, "events"), 3);
    CHECK_INT(harness_status_u64(st, "last_seq"), 3);
    json_decref(st);
}

static void test_subscribe(void)
{
    harness_run_t run = {0};
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "--timeout", "10", "subscribe", "eng", "--topic", "engineering.*",
                             "--from", "earliest", "--count", "1", NULL),
              0);
    CHECK_INT(harness_count_lines(run.out), 1);
    json_t *n = s_line_json(run.out, 1);
    CHECK(n != NULL);
    CHECK_STR(json_string_value(json_object_get(n, "topic")), "engineering.defect");
    CHECK_STR(json_string_value(json_object_get(n, "route")), "defect");
    CHECK_STR(json_string_value(json_object_get(n, "event_id")), "cli-1");
    CHECK_INT(json_integer_value(json_object_get(n, "seq")), 1);
    CHECK_STR(json_string_value(json_object_get(json_object_get(n, "event"), "case_id")), "CASE-42");
    json_decref(n);
    harness_run_free(&run);

    /* two topics, a new name: from the earliest, in (seq, slot) order */
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "--timeout", "10", "subscribe", "ops", "--topic", "shipping.*",
                             "--topic", "sales.*", "--count", "2", NULL),
              0);
    CHECK_INT(harness_count_lines(run.out), 2);
    json_t *n1 = s_line_json(run.out, 1), *n2 = s_line_json(run.out, 2);
    CHECK_STR(json_string_value(json_object_get(n1, "topic")), "sales.followup");
    CHECK_STR(json_string_value(json_object_get(n2, "topic")), "shipping.rma");
    json_decref(n1);
    json_decref(n2);
    harness_run_free(&run);

    /* fewer than --count before --timeout: exit 3 and a message */
    int64_t t0 = harness_now_ms();
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "--timeout", "1", "subscribe", "eng", "--topic", "engineering.*",
                             "--count", "1", NULL),
              3);
    CHECK(harness_now_ms() - t0 < 10000);
    CHECK_INT(harness_count_lines(run.out), 0);
    CHECK(run.err[0] != '\0');
    harness_run_free(&run);

    /* --idle: what is there, then exit 0 when nothing new comes */
    CHECK_INT(
        harness_hubctl(s_hub, NULL, &run, "--timeout", "10", "subscribe", "all", "--topic", "*", "--idle", "1", NULL),
        0);
    CHECK_INT(harness_count_lines(run.out), 3); /* defect, sales.followup, shipping.rma */
    harness_run_free(&run);
}

static void test_status(void)
{
    harness_run_t run = {0};
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "status", "--json", NULL), 0);
    json_t *st = json_loads(run.out, 0, NULL);
    CHECK(st != NULL);
    CHECK_INT(harness_status_u64(st, "last_seq"), 3);
    CHECK_INT(harness_status_u64(st, "events"), 3);
    CHECK_INT(harness_status_u64(st, "routes"), 6);
    CHECK_INT(strlen(harness_status_str(st, "policy_sha256")), 64);
    uint64_t pos = 0;
    CHECK(harness_sub_u64(st, "eng", "position", &pos));
    CHECK_INT(pos, 3);
    json_decref(st);
    harness_run_free(&run);

    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "status", NULL), 0);
    CHECK_HAS(run.out, "eng");
    CHECK_HAS(run.out, "ops");
    harness_run_free(&run);
}

static void test_rules_check(void)
{
    harness_run_t run = {0};
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "rules", "check", harness_policy_path(s_hub), NULL), 0);
    /* "ok: [FILE: ]6 routes, sha256 <64 hex>" */
    CHECK(strncmp(run.out, "ok: ", 4) == 0);
    const char *sha = strstr(run.out, "6 routes, sha256 ");
    CHECK(sha != NULL);
    if (sha) {
        sha += strlen("6 routes, sha256 ");
        CHECK_INT(strspn(sha, "0123456789abcdef"), 64);
    }
    if (strncmp(run.out, "ok: ", 4) != 0)
        fprintf(stderr, "  rules check printed: %s / %s\n", run.out, run.err);
    harness_run_free(&run);

    const char *bad = harness_write_file(s_hub, "bad-policy.yaml",
                                         "departments:\n"
                                         "  shipping: {}\n"
                                         "routes:\n"
                                         "  - name: rma\n"
                                         "    match: { tags: rma }\n"
                                         "    notfy: shipping\n"
                                         "    kind: rma\n");
    REQUIRE(bad != NULL);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "rules", "check", bad, NULL), 1);
    char *both = NULL;
    REQUIRE(asprintf(&both, "%s%s", run.out, run.err) >= 0);
    CHECK_HAS(both, "bad-policy.yaml:6:");
    CHECK_HAS(both, "notfy");
    free(both);
    harness_run_free(&run);

    CHECK_INT(harness_hubctl(NULL, NULL, &run, "rules", "check", "/nonexistent/policy.yaml", NULL), 1);
done:
    harness_run_free(&run);
}

static void test_route_explain(void)
{
    harness_run_t run = {0};
    const char *ev = harness_write_file(s_hub, "event.json", s_bug);
    REQUIRE(ev != NULL);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "route", "--explain", "--policy", harness_policy_path(s_hub), ev, NULL),
              0);
    static const char *const routes[] = {"defect", "billing-flag", "rma", "return", "sales-followup", "case-update"};
    for (size_t i = 0; i < 6; i++)
        CHECK_HAS(run.out, routes[i]);
    /* the matched ones name their topic */
    CHECK_HAS(run.out, "engineering.defect");
    CHECK_HAS(run.out, "sales.followup");
    /* the line of a route that matched differs from one that did not */
    char *save = NULL, *defect_line = NULL, *rma_line = NULL;
    char *copy = strdup(run.out);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!defect_line && strstr(line, "defect") && !strstr(line, "sales"))
            defect_line = line;
        if (!rma_line && strstr(line, "rma") && !strstr(line, "defect"))
            rma_line = line;
    }
    CHECK(defect_line && rma_line);
    if (defect_line && rma_line) {
        int m1 = strcasestr(defect_line, "not") != NULL || strcasestr(defect_line, "no match") != NULL;
        int m2 = strcasestr(rma_line, "not") != NULL || strcasestr(rma_line, "no match") != NULL ||
                 strcasestr(rma_line, "missing") != NULL;
        CHECK(m1 != m2 || strcmp(defect_line, rma_line) != 0);
    }
    free(copy);
    harness_run_free(&run);

    /* an invalid event is refused, naming the field */
    const char *bad =
        harness_write_file(s_hub, "bad-event.json", "{\"type\":\"bug_report\",\"severity\":\"urgent\"}\n");
    REQUIRE(bad != NULL);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "route", "--explain", "--policy", harness_policy_path(s_hub), bad, NULL),
              1);
    CHECK_HAS(run.err, "severity");
done:
    harness_run_free(&run);
}

/* tail: the live tap. It is lossy and a subscription takes a moment to
 * reach the hub's PUB socket, so events are published until tail has seen
 * one (bounded: at most 100, one every 100 ms). */
static void test_tail(void)
{
    harness_run_t run = {0};
    const char *args[] = {"--timeout", "20", "tail", "--count", "1", NULL};
    harness_ctl_t *ctl = harness_ctl_spawn(s_hub, NULL, args);
    hub_client_t *pub = harness_client(s_hub, "tail-feeder");
    REQUIRE(ctl != NULL && pub != NULL);
    int exited = 0, sent = 0;
    for (; sent < 100 && !exited; sent++) {
        char ev[160];
        snprintf(ev, sizeof ev, "{\"id\":\"tail-%d\",\"type\":\"return_request\",\"case_id\":\"CASE-77\"}", sent);
        REQUIRE(harness_publish(pub, ev, NULL) == 0);
        exited = harness_ctl_exited(ctl, 100);
    }
    CHECK(exited);
    CHECK_INT(harness_ctl_finish(&ctl, &run, 5000), 0);
    CHECK_INT(harness_count_lines(run.out), 1);
    json_t *n = s_line_json(run.out, 1);
    CHECK(n != NULL);
    CHECK_STR(json_string_value(json_object_get(n, "topic")), "shipping.rma");
    CHECK(strncmp(json_string_value(json_object_get(n, "event_id")) ? json_string_value(json_object_get(n, "event_id"))
                                                                    : "",
                  "tail-", 5) == 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(n, "event"), "case_id")), "CASE-77");
    json_decref(n);
done:
    if (ctl) {
        harness_ctl_finish(&ctl, &run, 1000);
    }
    harness_run_free(&run);
    hub_client_destroy(&pub);
}

static void test_usage_and_timeouts(void)
{
    harness_run_t run = {0};
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "--help", NULL), 0);
    CHECK(strcasestr(run.out, "usage") != NULL);
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "frobnicate", NULL), 2);
    CHECK(run.err[0] != '\0');
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "subscribe", NULL), 2);
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "subscribe", "eng", NULL), 2); /* no --topic */
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "publish", "--bogus", NULL), 2);
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "route", "--explain", NULL), 2);
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(s_hub, NULL, &run, "subscribe", "--help", NULL), 0);
    harness_run_free(&run);

    /* no hub there: exit 3 within the timeout, saying so */
    char ep[HARNESS_PATH + 32];
    snprintf(ep, sizeof ep, "ipc://%s/nobody.sock", harness_dir(s_hub));
    int64_t t0 = harness_now_ms();
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "--hub", ep, "--timeout", "1", "status", NULL), 3);
    CHECK(harness_now_ms() - t0 < 10000);
    CHECK(run.err[0] != '\0');
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(NULL, s_bug, &run, "--hub", ep, "--timeout", "1", "publish", "-", NULL), 3);
    harness_run_free(&run);
}

int main(void)
{
    harness_require();
    s_hub = HARNESS_NEW(NULL);
    if (!s_hub || harness_start(s_hub) != 0) {
        fprintf(stderr, "cannot start hubd\n");
        if (s_hub)
            harness_destroy(&s_hub, 1);
        return 1;
    }
    /* the cases share one hub and run in this order */
    static const check_case_t cases[] = {
        {"publish one event", test_publish_one},
        {"publish JSON lines, one a duplicate", test_publish_lines},
        {"publish rejections name the field, exit 1", test_publish_rejections},
        {"subscribe --count, --timeout (exit 3), --idle", test_subscribe},
        {"status and status --json", test_status},
        {"rules check: ok, FILE:LINE, exit 1", test_rules_check},
        {"route --explain", test_route_explain},
        {"tail shows notifications live", test_tail},
        {"usage errors exit 2, no hub exits 3", test_usage_and_timeouts},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    int problems = harness_destroy(&s_hub, rc ? 1 : 0);
    return rc || problems ? 1 : 0;
}
