/*
 * admin - what a web console asks of a real hub: acting on behalf of a
 * person (the audit actor USER@IDENTITY), metrics in the status,
 * notifications with the state of their answers, dead letters redriven
 * and discarded, the policy and its dry run; through libhub, hubctl and a
 * bare DEALER for frames libhub would not send.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    CHECK_INT(s_rows_by(rows, "routed", "alice@local"), 3);
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
    REQUIRE((rows = harness_audit(h, rejected)) != NULL);
    CHECK_INT(s_rows_by(rows, "rejected", "local"), 4);
done:
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    json_decref(rows);
    hub_client_destroy(&c);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"on_behalf_of: the audit actor is user@identity", test_on_behalf_of},
        {"on_behalf_of: a bad user name is refused", test_on_behalf_of_refused},
        {NULL, NULL},
    };
    return check_run(cases);
}
