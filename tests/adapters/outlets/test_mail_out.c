/*
 * mail_out - hub-mail-out against the real hubd (harness) and a real SMTP
 * sink on 127.0.0.1 (smtpsink.h): messages with the right subject,
 * recipients, headers and body; a refused recipient retried (450) or
 * dead-lettered (550), or retried when configured so; config mistakes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "outletproc.h"
#include "smtpsink.h"

static const char *s_program;

static const char *s_policy =
    "departments:\n"
    "  eng: {}\n"
    "routes:\n"
    "  - name: to-eng\n"
    "    match: { type: bug_report }\n"
    "    notify: eng\n"
    "    kind: defect\n"
    "  - name: returns\n"
    "    match: { type: return_request }\n"
    "    notify: eng\n"
    "    kind: rma\n";

static char *s_config(const smtpsink_t *sink, const char *smtp_extra)
{
    char *text = NULL;
    if (asprintf(&text,
                 "subscribe:\n"
                 "  name: eng\n"
                 "  topics: \"eng.*\"\n"
                 "retry:\n"
                 "  max_attempts: 10\n"
                 "  initial_delay: 20ms\n"
                 "  max_delay: 100ms\n"
                 "smtp:\n"
                 "  url: smtp://127.0.0.1:%d\n"
                 "  timeout: 5s\n"
                 "%s"
                 "mail:\n"
                 "  from: \"Switchboard <hub@example.com>\"\n"
                 "  subject: \"[{{topic}}] {{case_id}}: {{event.subject}}\"\n"
                 "  body: |\n"
                 "    Case {{case_id}} for {{customer.name}}\n"
                 "    .a line that starts with a dot\n"
                 "    {{event.body}}\n"
                 "  recipients:\n"
                 "    - topic: eng.defect\n"
                 "      to: [dev@example.com, lead@example.com]\n"
                 "    - topic: \"*\"\n"
                 "      to: all@example.com\n",
                 smtpsink_port(sink), smtp_extra ? smtp_extra : "")
        < 0)
        return NULL;
    return text;
}

static int s_publish(hub_client_t *pub, const char *id, const char *type, const char *case_id, const char *subject,
                     hub_publish_result_t *res)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", id, "type", type, "case_id", case_id,
                           "subject", subject, "body", "Customer reports a crash.\nSteps: export 2 GB.", "customer",
                           "name", "Acme Corp");
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    int rc = text ? harness_publish(pub, text, res) : -1;
    free(text);
    json_decref(ev);
    return rc;
}

static int s_settled(harness_t *h, uint64_t seq)
{
    return harness_wait_sub_ge(h, NULL, "eng", "position", seq, 15000) && harness_wait_sub(h, NULL, "eng", "in_flight", 0, 5000);
}

static void test_delivered(void)
{
    smtpsink_t *sink = smtpsink_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    smtpsink_msg_t m = {0};
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(sink && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((cfg = s_config(sink, NULL)) && outletproc_start(&op, h, s_program, "mail-out", cfg) == 0);
    hub_publish_result_t r1, r2, r3;
    REQUIRE(s_publish(pub, "m-1", "bug_report", "CASE-1", "Export crashes", &r1) == 0);
    REQUIRE(s_publish(pub, "m-2", "return_request", "CASE-2", "Broken on arrival", &r2) == 0);
    REQUIRE(s_publish(pub, "m-3", "bug_report", "CASE-3", "Gr\xc3\xbc\xc3\x9f" "e\r\nBcc: evil@example.com", &r3) == 0);
    REQUIRE(smtpsink_wait(sink, 3, 15000));
    CHECK(s_settled(h, r3.seq));
    CHECK_INT(smtpsink_count(sink), 3);

    REQUIRE(smtpsink_get(sink, 0, &m) == 0);
    CHECK_STR(m.from, "hub@example.com");
    CHECK_INT(m.nrcpt, 2);
    CHECK_STR(m.rcpt[0], "dev@example.com");
    CHECK_STR(m.rcpt[1], "lead@example.com");
    CHECK_HAS(m.data, "\r\nSubject: [eng.defect] CASE-1: Export crashes\r\n");
    CHECK_HAS(m.data, "From: Switchboard <hub@example.com>\r\n");
    CHECK_HAS(m.data, "To: dev@example.com,\r\n lead@example.com\r\n");
    CHECK(strncmp(m.data, "Date: ", 6) == 0);
    CHECK_HAS(m.data, " +0000\r\n");
    CHECK_HAS(m.data, "\r\nMessage-ID: <switchboard.");
    CHECK_HAS(m.data, "@example.com>\r\n");
    CHECK_HAS(m.data, "Content-Type: text/plain; charset=utf-8\r\n");
    CHECK_HAS(m.data, "X-Switchboard-Case: CASE-1\r\n");
    CHECK_HAS(m.data, "\r\n\r\nCase CASE-1 for Acme Corp\r\n.a line that starts with a dot\r\n"
                      "Customer reports a crash.\r\nSteps: export 2 GB.\r\n");
    smtpsink_msg_free(&m);

    REQUIRE(smtpsink_get(sink, 1, &m) == 0);
    CHECK_INT(m.nrcpt, 1);
    CHECK_STR(m.rcpt[0], "all@example.com");
    CHECK_HAS(m.data, "Subject: [eng.rma] CASE-2: Broken on arrival\r\n");
    smtpsink_msg_free(&m);

    /* a non-ASCII subject is encoded; a CR LF in a value cannot add a header */
    REQUIRE(smtpsink_get(sink, 2, &m) == 0);
    CHECK_HAS(m.data, "Subject: =?UTF-8?B?");
    CHECK(strstr(m.data, "\r\nBcc:") == NULL);
    CHECK_INT(m.nrcpt, 2);
    smtpsink_msg_free(&m);

    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "delivered seq"), 3);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    smtpsink_msg_free(&m);
    free(cfg);
    hub_client_destroy(&pub);
    smtpsink_destroy(&sink);
    HARNESS_END(h);
}

/* A recipient refused with 450 twice: retried, then sent once to both. */
static void test_450_retried(void)
{
    smtpsink_t *sink = smtpsink_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    smtpsink_msg_t m = {0};
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(sink && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    smtpsink_refuse(sink, "lead@example.com", 450, 2);
    REQUIRE((cfg = s_config(sink, NULL)) && outletproc_start(&op, h, s_program, "mail-out", cfg) == 0);
    hub_publish_result_t r1;
    REQUIRE(s_publish(pub, "t-1", "bug_report", "CASE-45", "Busy mailbox", &r1) == 0);
    REQUIRE(smtpsink_wait(sink, 1, 15000));
    CHECK(s_settled(h, r1.seq));
    CHECK_INT(smtpsink_refusals(sink), 2);
    CHECK_INT(smtpsink_count(sink), 1);
    REQUIRE(smtpsink_get(sink, 0, &m) == 0);
    CHECK_INT(m.nrcpt, 2);
    CHECK_HAS(m.data, "Subject: [eng.defect] CASE-45: Busy mailbox\r\n");
    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "retrying seq"), 2);
    CHECK(outletproc_log_count(&op, "SMTP 450 after RCPT TO:<lead@example.com>") >= 2);
    json_t *st = harness_status(h);
    uint64_t v = 99;
    CHECK(harness_sub_u64(st, "eng", "dead_letters", &v));
    CHECK_INT(v, 0);
    json_decref(st);
done:
    if (check_failures && op.log[0])
        outletproc_dump(&op);
    outletproc_stop(&op);
    smtpsink_msg_free(&m);
    free(cfg);
    hub_client_destroy(&pub);
    smtpsink_destroy(&sink);
    HARNESS_END(h);
}

/* A recipient refused with 550: dead-lettered at once (the default); the
 * next notification is sent. */
static void test_550_dead_letter(void)
{
    smtpsink_t *sink = smtpsink_new();
    hub_client_t *pub = NULL, *dl = NULL;
    hub_notification_t *n = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(sink && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((dl = harness_client(h, "dead-letters")) != NULL);
    const char *dl_topics[] = {"deadletter.*", NULL};
    REQUIRE(harness_subscribe(dl, "dl-watch", dl_topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    smtpsink_refuse(sink, "lead@example.com", 550, -1);
    REQUIRE((cfg = s_config(sink, "  on_refused: dead_letter\n")) &&
            outletproc_start(&op, h, s_program, "mail-out", cfg) == 0);
    hub_publish_result_t r1, r2;
    REQUIRE(s_publish(pub, "d-1", "bug_report", "CASE-55", "Unknown user", &r1) == 0);
    REQUIRE(s_publish(pub, "d-2", "return_request", "CASE-56", "Fine", &r2) == 0);
    CHECK(harness_wait_sub(h, NULL, "eng", "dead_letters", 1, 15000));
    CHECK(s_settled(h, r2.seq));
    CHECK_INT(smtpsink_refusals(sink), 1); /* not retried */
    CHECK_INT(smtpsink_count(sink), 1);    /* only the second */
    REQUIRE(hub_receive(dl, &n, 10000) == 1);
    CHECK_STR(hub_notification_case_id(n), "CASE-55");
    CHECK_HAS(hub_notification_json(n), "SMTP 550");
    CHECK_HAS(hub_notification_json(n), "lead@example.com");
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
    smtpsink_destroy(&sink);
    HARNESS_END(h);
}

/* on_refused: retry turns a 550 into a retry. */
static void test_550_retry_configured(void)
{
    smtpsink_t *sink = smtpsink_new();
    hub_client_t *pub = NULL;
    outletproc_t op = {0};
    char *cfg = NULL;
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(sink && h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    smtpsink_refuse(sink, "dev@example.com", 550, 2);
    REQUIRE((cfg = s_config(sink, "  on_refused: retry\n")) &&
            outletproc_start(&op, h, s_program, "mail-out", cfg) == 0);
    hub_publish_result_t r1;
    REQUIRE(s_publish(pub, "y-1", "bug_report", "CASE-57", "Retry me", &r1) == 0);
    REQUIRE(smtpsink_wait(sink, 1, 15000));
    CHECK(s_settled(h, r1.seq));
    CHECK_INT(smtpsink_refusals(sink), 2);
    CHECK_INT(smtpsink_count(sink), 1);
    CHECK_INT(outletproc_stop(&op), 0);
    CHECK_INT(outletproc_log_count(&op, "retrying seq"), 2);
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
    smtpsink_destroy(&sink);
    HARNESS_END(h);
}

static void test_config_errors(void)
{
    static const char *head = "subscribe: {name: eng, topics: \"eng.*\"}\n";
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"smtp:\n  url: http://mail/\nmail: {from: a@b.c, recipients: [{topic: x, to: a@b.c}]}\n",
         "bad.yaml:3: smtp.url: expected smtp://"},
        {"smtp: {url: \"smtp://h\"}\nmail:\n  from: a@b.c\n  recipients:\n    - topic: x\n      to: [ok@b.c, \"not an address\"]\n",
         "bad.yaml:7: mail.recipients[1].to: \"not an address\""},
        {"smtp: {url: \"smtp://h\"}\nmail:\n  from: a@b.c\n  recipients:\n    - to: a@b.c\n",
         "bad.yaml:6: mail.recipients[1]: missing \"topic\""},
        {"smtp: {url: \"smtp://h\"}\n", "bad.yaml: missing the \"mail\" section"},
        {"smtp:\n  url: smtp://h\n  username: u\n  password_env: OUTLET_TEST_UNSET_PASSWORD\n"
         "mail: {from: a@b.c, recipients: [{topic: x, to: a@b.c}]}\n",
         "bad.yaml:5: smtp.password_env: $OUTLET_TEST_UNSET_PASSWORD is not set"},
        {"smtp: {url: \"smtp://h\", use_ssl: maybe}\nmail: {from: a@b.c, recipients: [{topic: x, to: a@b.c}]}\n",
         "bad.yaml:2: smtp.use_ssl"},
        {"smtp: {url: \"smtp://h\"}\nmail: {from: a@b.c, subject: \"{{oops\", recipients: [{topic: x, to: a@b.c}]}\n",
         "bad.yaml:3: mail.subject: template line 1: unterminated"},
    };
    harness_t *h = HARNESS_NEW(NULL);
    char *out = NULL, *text = NULL;
    REQUIRE(h != NULL);
    unsetenv("OUTLET_TEST_UNSET_PASSWORD");
    char path[HARNESS_PATH];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        REQUIRE(asprintf(&text, "%s%s", head, cases[i].text) > 0);
        const char *p = harness_write_file(h, "bad.yaml", text);
        free(text);
        text = NULL;
        REQUIRE(p != NULL);
        snprintf(path, sizeof path, "%s", p);
        const char *args[] = {"--config", path, "--check", NULL};
        CHECK_INT(outletproc_run(harness_dir(h), s_program, &out, args), 1);
        CHECK_HAS(out, cases[i].want);
        CHECK_INT(harness_count_lines(out), 1);
        free(out);
        out = NULL;
    }
    const char *help[] = {"--help", NULL};
    CHECK_INT(outletproc_run(harness_dir(h), s_program, &out, help), 0);
    CHECK_HAS(out, "usage: hub-mail-out --config FILE");
done:
    free(out);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    s_program = outletproc_program("MAIL_OUT");
    static const check_case_t cases[] = {
        {"messages with subject, recipients per topic, headers and body", test_delivered},
        {"a recipient refused with 450 is retried, then sent once to all", test_450_retried},
        {"a recipient refused with 550 dead-letters at once", test_550_dead_letter},
        {"on_refused: retry retries a 550", test_550_retry_configured},
        {"config mistakes name the file and line", test_config_errors},
        {NULL, NULL},
    };
    return check_run(cases);
}
