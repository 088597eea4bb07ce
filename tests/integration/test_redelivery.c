/*
 * redelivery - a notification not acked within ack_timeout is delivered
 * again with the next attempt number; after max_attempts it is
 * dead-lettered and the subscriber's position moves on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static const char *s_policy = "departments:\n"
                              "  eng: {}\n"
                              "routes:\n"
                              "  - name: to-eng\n"
                              "    match: { type: bug_report }\n"
                              "    notify: eng\n"
                              "    kind: defect\n";

static const char *s_config = "delivery:\n"
                              "  ack_timeout: 1s\n"
                              "  max_attempts: 3\n";

static void s_raw_subscribe_frame(Hub__Frame *f, Hub__Subscribe *s, const char *name, char **topics, uint32_t credit)
{
    f->has_version = 1;
    f->version = HUB_PROTOCOL_VERSION;
    f->has_corr = 1;
    f->corr = 2;
    f->body_case = HUB__FRAME__BODY_SUBSCRIBE;
    f->subscribe = s;
    s->name = (char *)name;
    s->n_topics = 1;
    s->topics = topics;
    s->has_start = 1;
    s->start = HUB__START__START_RESUME;
    s->has_credit = 1;
    s->credit = credit;
}

/* A raw subscriber (no duplicate suppression) sees every attempt. */
static void test_attempts_then_dead_letter(void)
{
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    hub_client_t *pub = NULL, *watch = NULL;
    harness_raw_t *raw = NULL;
    Hub__Frame *f = NULL;
    harness_got_t dead = {0};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((raw = harness_raw_new(harness_endpoint(h))) != NULL);
    REQUIRE(harness_raw_hello(raw, 5000));
    Hub__Frame sf = HUB__FRAME__INIT;
    Hub__Subscribe sub = HUB__SUBSCRIBE__INIT;
    char *topics[] = {(char *)"eng.*"};
    s_raw_subscribe_frame(&sf, &sub, "eng", topics, 10);
    REQUIRE(harness_raw_send_frame(raw, &sf) == 0);
    REQUIRE(harness_raw_expect(raw, HUB__FRAME__BODY_SUBSCRIBED, &f, 5000));
    CHECK_INT(f->corr, 2);
    hub__frame__free_unpacked(f, NULL);
    f = NULL;

    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, "{\"id\":\"rd-1\",\"type\":\"bug_report\",\"case_id\":\"CASE-7\"}", &res) == 0);
    uint64_t seq = res.seq;

    int64_t t0 = harness_now_ms();
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        REQUIRE(harness_raw_expect(raw, HUB__FRAME__BODY_DELIVER, &f, 5000));
        Hub__Notification *n = f->deliver->notification;
        REQUIRE(n != NULL);
        CHECK_STR(f->deliver->name, "eng");
        CHECK_INT(n->seq, seq);
        CHECK_INT(n->slot, 0);
        CHECK_INT(n->attempt, attempt);
        CHECK_STR(n->event_id, "rd-1");
        CHECK_STR(n->topic, "eng.defect");
        CHECK(n->event && n->event->case_id && strcmp(n->event->case_id, "CASE-7") == 0);
        hub__frame__free_unpacked(f, NULL);
        f = NULL;
    }
    /* two timeouts of 1 s passed between attempt 1 and 3 */
    CHECK(harness_now_ms() - t0 >= 1500);

    /* after the third timeout: dead-lettered, position past it */
    CHECK(harness_wait_sub(h, NULL, "eng", "dead_letters", 1, 5000));
    CHECK(harness_wait_sub_ge(h, NULL, "eng", "position", seq, 5000));
    json_t *st = harness_status(h);
    uint64_t v = 0;
    CHECK(harness_sub_u64(st, "eng", "in_flight", &v));
    CHECK_INT(v, 0);
    CHECK(harness_sub_u64(st, "eng", "redelivered", &v));
    CHECK_INT(v, 2);
    json_decref(st);
    /* the dead letter is on deadletter.eng for whoever watches */
    REQUIRE((watch = harness_client(h, "watch")) != NULL);
    const char *dead_topics[] = {"deadletter.*", NULL};
    REQUIRE(harness_subscribe(watch, "watch", dead_topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    REQUIRE(harness_collect(watch, &dead, 1, 1, 5000) == 1);
    CHECK_STR(dead.topic, "deadletter.eng");
    CHECK_STR(dead.case_id, "CASE-7");
    CHECK(dead.seq > seq);
    /* and no fourth attempt comes: the next frame is the next event's */
    REQUIRE(harness_publish(pub, "{\"id\":\"rd-2\",\"type\":\"bug_report\",\"case_id\":\"CASE-8\"}", &res) == 0);
    REQUIRE(harness_raw_expect(raw, HUB__FRAME__BODY_DELIVER, &f, 5000));
    CHECK_INT(f->deliver->notification->seq, res.seq);
    CHECK_STR(f->deliver->notification->event_id, "rd-2");
    CHECK_INT(f->deliver->notification->attempt, 1);

    /* acked in time: done, nothing dead */
    Hub__Frame af = HUB__FRAME__INIT;
    Hub__Ack ack = HUB__ACK__INIT;
    Hub__Ref ref = HUB__REF__INIT;
    Hub__Ref *refs[] = {&ref};
    ref.has_seq = ref.has_slot = 1;
    ref.seq = res.seq;
    ref.slot = 0;
    ack.name = (char *)"eng";
    ack.n_refs = 1;
    ack.refs = refs;
    af.has_version = af.has_corr = 1;
    af.version = HUB_PROTOCOL_VERSION;
    af.corr = 3;
    af.body_case = HUB__FRAME__BODY_ACK;
    af.ack = &ack;
    REQUIRE(harness_raw_send_frame(raw, &af) == 0);
    CHECK(harness_wait_sub(h, NULL, "eng", "position", res.seq, 5000));
    CHECK(harness_wait_sub(h, NULL, "eng", "in_flight", 0, 5000));
    st = harness_status(h);
    CHECK(harness_sub_u64(st, "eng", "dead_letters", &v));
    CHECK_INT(v, 1);
    json_decref(st);
done:
    if (f)
        hub__frame__free_unpacked(f, NULL);
    harness_got_free(&dead, 1);
    harness_raw_destroy(&raw);
    hub_client_destroy(&pub);
    hub_client_destroy(&watch);
    HARNESS_END(h);
}

/* libhub: a nack brings the notification back (attempt 2); a nack with
 * dead_letter gives up at once. */
static void test_nack(void)
{
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    hub_client_t *pub = NULL, *sub = NULL;
    hub_notification_t *n = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((sub = harness_client(h, "eng")) != NULL);
    const char *topics[] = {"eng.*", NULL};
    REQUIRE(harness_subscribe(sub, "eng", topics, HUB_FROM_RESUME, 0, 10) == 0);
    hub_publish_result_t r1, r2;
    REQUIRE(harness_publish(pub, "{\"id\":\"nk-1\",\"type\":\"bug_report\"}", &r1) == 0);
    REQUIRE(harness_publish(pub, "{\"id\":\"nk-2\",\"type\":\"bug_report\"}", &r2) == 0);

    REQUIRE(hub_receive(sub, &n, 5000) == 1);
    CHECK_INT(hub_notification_seq(n), r1.seq);
    CHECK_INT(hub_notification_attempt(n), 1);
    CHECK_INT(hub_nack(sub, n, "try again", 0), 0);
    hub_notification_destroy(&n);

    /* the second one, then the first again */
    REQUIRE(hub_receive(sub, &n, 5000) == 1);
    CHECK_INT(hub_notification_seq(n), r2.seq);
    CHECK_INT(hub_nack(sub, n, "never deliverable", 1), 0);
    hub_notification_destroy(&n);
    REQUIRE(hub_receive(sub, &n, 5000) == 1);
    CHECK_INT(hub_notification_seq(n), r1.seq);
    CHECK_INT(hub_notification_attempt(n), 2);
    CHECK_INT(hub_ack(sub, n), 0);
    hub_notification_destroy(&n);

    /* past r2 (its dead letter is an event of its own, after it) */
    CHECK(harness_wait_sub_ge(h, sub, "eng", "position", r2.seq, 5000));
    CHECK(harness_wait_sub(h, sub, "eng", "dead_letters", 1, 5000));
    CHECK(harness_wait_sub(h, sub, "eng", "in_flight", 0, 5000));
done:
    hub_notification_destroy(&n);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

/* A new client taking over the durable name gets what was in flight to
 * the old one, with a higher attempt number. */
static void test_takeover(void)
{
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    hub_client_t *pub = NULL, *sub = NULL;
    hub_notification_t *n = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((sub = harness_client(h, "eng-1")) != NULL);
    const char *topics[] = {"eng.*", NULL};
    REQUIRE(harness_subscribe(sub, "eng", topics, HUB_FROM_RESUME, 0, 10) == 0);
    hub_publish_result_t r;
    REQUIRE(harness_publish(pub, "{\"id\":\"tk-1\",\"type\":\"bug_report\"}", &r) == 0);
    REQUIRE(hub_receive(sub, &n, 5000) == 1);
    CHECK_INT(hub_notification_attempt(n), 1);
    hub_notification_destroy(&n);
    hub_client_destroy(&sub); /* gone without acking */

    REQUIRE((sub = harness_client(h, "eng-2")) != NULL);
    REQUIRE(harness_subscribe(sub, "eng", topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE(hub_receive(sub, &n, 5000) == 1);
    CHECK_INT(hub_notification_seq(n), r.seq);
    CHECK_STR(hub_notification_event_id(n), "tk-1");
    CHECK(hub_notification_attempt(n) >= 2);
    CHECK_INT(hub_ack(sub, n), 0);
    hub_notification_destroy(&n);
    CHECK(harness_wait_sub(h, sub, "eng", "position", r.seq, 5000));
    CHECK(harness_wait_sub(h, sub, "eng", "dead_letters", 0, 1000));
done:
    hub_notification_destroy(&n);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

/* hub_ack: "the hub will not send it again" - also when the subscriber
 * makes no further call for longer than the ack timeout (an application
 * busy with what it was sent). */
static void test_ack_while_idle(void)
{
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    hub_client_t *pub = NULL, *sub = NULL;
    hub_notification_t *n = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "publisher")) != NULL);
    REQUIRE((sub = harness_client(h, "eng")) != NULL);
    const char *topics[] = {"eng.*", NULL};
    REQUIRE(harness_subscribe(sub, "eng", topics, HUB_FROM_RESUME, 0, 10) == 0);
    hub_publish_result_t r;
    REQUIRE(harness_publish(pub, "{\"id\":\"idle-1\",\"type\":\"bug_report\"}", &r) == 0);
    REQUIRE(hub_receive(sub, &n, 5000) == 1);
    CHECK_INT(hub_ack(sub, n), 0);
    hub_notification_destroy(&n);
    /* the subscriber is now idle: the hub must see the ack before the
     * ack timeout (1 s) runs out three times */
    CHECK(harness_wait_sub(h, NULL, "eng", "position", r.seq, 2500));
    json_t *st = harness_status(h);
    uint64_t v = 0;
    CHECK(harness_sub_u64(st, "eng", "dead_letters", &v));
    CHECK_INT(v, 0);
    CHECK(harness_sub_u64(st, "eng", "redelivered", &v));
    CHECK_INT(v, 0);
    json_decref(st);
done:
    hub_notification_destroy(&n);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"unacked: attempts 1, 2, 3, then a dead letter and the position moves", test_attempts_then_dead_letter},
        {"nack redelivers; nack with dead_letter gives up at once", test_nack},
        {"a new client under the same name gets what was in flight", test_takeover},
        {"an ack reaches the hub while the subscriber is idle", test_ack_while_idle},
        {NULL, NULL},
    };
    return check_run(cases);
}
