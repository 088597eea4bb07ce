/*
 * badframes - what no client should send: bytes that are not a frame, a
 * frame of another protocol version, a frame without body, frames over the
 * size limit, requests with wrong fields (a console's too, and thousands
 * of them with changed bytes), frames only the hub sends, Frames messages
 * (several frames in one) that are wrong as a whole or in part. Each
 * readable one is answered with an Error of the right code; the hub stays
 * up and serves a normal publish and subscribe afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "check.h"
#include "codec.h"
#include "gather.h"
#include "harness.h"

#define MAX_FRAME 4096

static const char *s_policy = "departments:\n"
                              "  eng: {}\n"
                              "routes:\n"
                              "  - name: to-eng\n"
                              "    match: { type: bug_report }\n"
                              "    notify: eng\n"
                              "    kind: defect\n";

static const char *s_config = "limits:\n"
                              "  max_frame: 4096\n"
                              "  max_event: 2048\n";

static harness_t *s_hub;

static void s_init_frame(Hub__Frame *f, uint32_t version, uint64_t corr)
{
    hub__frame__init(f);
    f->has_version = 1;
    f->version = version;
    f->has_corr = 1;
    f->corr = corr;
}

/* Waits for the next Error frame; returns its code (and corr, field), or -1
 * when none came within timeout_ms. */
static int s_expect_error(harness_raw_t *raw, uint64_t *corr, char *field, size_t cap, int timeout_ms)
{
    Hub__Frame *f = NULL;
    if (!harness_raw_expect(raw, HUB__FRAME__BODY_ERROR, &f, timeout_ms))
        return -1;
    int code = f->error->has_code ? (int)f->error->code : 0;
    if (corr)
        *corr = f->corr;
    if (field)
        snprintf(field, cap, "%s", f->error->field ? f->error->field : "");
    hub__frame__free_unpacked(f, NULL);
    return code;
}

/* Sends Heartbeats (again every 500 ms: one may be lost with a dropped
 * connection) and waits for the hub's answer; 1 when it answered. */
static int s_alive_on(harness_raw_t *raw, uint64_t corr, int timeout_ms)
{
    Hub__Frame f;
    Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, corr);
    f.body_case = HUB__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    int64_t deadline = harness_now_ms() + timeout_ms;
    while (harness_now_ms() < deadline) {
        if (harness_raw_send_frame(raw, &f) != 0)
            return 0;
        int64_t until = harness_now_ms() + 500;
        while (harness_now_ms() < until) {
            Hub__Frame *r = NULL;
            if (!harness_raw_expect(raw, HUB__FRAME__BODY_HEARTBEAT, &r, (int)(until - harness_now_ms())))
                break;
            int ok = r->corr == corr;
            hub__frame__free_unpacked(r, NULL);
            if (ok)
                return 1;
        }
    }
    return 0;
}

static void test_not_a_frame(void)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    REQUIRE(raw != NULL);
    static const unsigned char garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
    REQUIRE(harness_raw_send(raw, garbage, sizeof garbage) == 0);
    uint64_t corr = 99;
    CHECK_INT(s_expect_error(raw, &corr, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_MALFORMED);
    CHECK_INT(corr, 0);

    /* a truncated frame: a field announcing more bytes than there are */
    static const unsigned char truncated[] = {0x08, 0x01, 0x10, 0x05, 0x52, 0x40, 0x01};
    REQUIRE(harness_raw_send(raw, truncated, sizeof truncated) == 0);
    CHECK_INT(s_expect_error(raw, NULL, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_MALFORMED);

    /* an empty message: no version, no body */
    REQUIRE(harness_raw_send(raw, "", 0) == 0);
    int code = s_expect_error(raw, NULL, NULL, 0, 5000);
    CHECK(code == HUB__ERROR_CODE__ERROR_CODE_MALFORMED || code == HUB__ERROR_CODE__ERROR_CODE_UNSUPPORTED);
    CHECK(s_alive_on(raw, 1000, 5000));
done:
    harness_raw_destroy(&raw);
}

static void test_version_and_body(void)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    REQUIRE(raw != NULL);
    Hub__Frame f;
    Hub__Hello hello = HUB__HELLO__INIT;
    hello.client = (char *)"from the future";
    s_init_frame(&f, 2, 5);
    f.body_case = HUB__FRAME__BODY_HELLO;
    f.hello = &hello;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, NULL, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_UNSUPPORTED);

    /* no version at all */
    s_init_frame(&f, 0, 6);
    f.has_version = 0;
    f.body_case = HUB__FRAME__BODY_HELLO;
    f.hello = &hello;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, NULL, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_UNSUPPORTED);

    /* version 1, no body */
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 7);
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, NULL, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_MALFORMED);
    CHECK(s_alive_on(raw, 1001, 5000));
done:
    harness_raw_destroy(&raw);
}

static void test_wrong_fields(void)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    REQUIRE(raw != NULL);
    REQUIRE(harness_raw_hello(raw, 5000));
    char field[64];
    uint64_t corr = 0;

    /* a publish whose event has no type */
    Hub__Frame f;
    Hub__Publish p = HUB__PUBLISH__INIT;
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = (char *)"raw-1";
    ev.subject = (char *)"no type";
    p.event = &ev;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 9);
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, field, sizeof field, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 9);
    CHECK_STR(field, "type");

    /* a severity that is not one of the enum's values */
    ev.type = (char *)"bug_report";
    ev.has_severity = 1;
    ev.severity = (Hub__Severity)42;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 10);
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, field, sizeof field, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 10);
    CHECK_STR(field, "severity");

    /* a publish without event */
    Hub__Publish empty = HUB__PUBLISH__INIT;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 11);
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &empty;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    int code = s_expect_error(raw, &corr, NULL, 0, 5000);
    CHECK(code == HUB__ERROR_CODE__ERROR_CODE_INVALID || code == HUB__ERROR_CODE__ERROR_CODE_MALFORMED);
    CHECK_INT(corr, 11);

    /* subscribe: no name; a pattern with a character patterns do not have */
    Hub__Subscribe s = HUB__SUBSCRIBE__INIT;
    char *topics[] = {(char *)"eng/*"};
    s.name = (char *)"";
    s.n_topics = 1;
    s.topics = topics;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 12);
    f.body_case = HUB__FRAME__BODY_SUBSCRIBE;
    f.subscribe = &s;
    topics[0] = (char *)"eng.*";
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 12);
    s.name = (char *)"eng";
    topics[0] = (char *)"eng/*";
    f.corr = 13;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 13);

    /* frames only the hub sends, an ack for nobody: an error or nothing,
     * and the hub goes on */
    Hub__PublishAck pa = HUB__PUBLISH_ACK__INIT;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 14);
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACK;
    f.publish_ack = &pa;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    Hub__Ack ack = HUB__ACK__INIT;
    Hub__Ref ref = HUB__REF__INIT;
    Hub__Ref *refs[] = {&ref};
    ref.has_seq = 1;
    ref.seq = 123456;
    ack.name = (char *)"nobody";
    ack.n_refs = 1;
    ack.refs = refs;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 15);
    f.body_case = HUB__FRAME__BODY_ACK;
    f.ack = &ack;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    Hub__Nack nack = HUB__NACK__INIT;
    nack.name = (char *)"nobody";
    nack.ref = &ref;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 16);
    f.body_case = HUB__FRAME__BODY_NACK;
    f.nack = &nack;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK(s_alive_on(raw, 1002, 5000));
done:
    harness_raw_destroy(&raw);
}

static void test_too_large(void)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    char *subject = malloc(2 * MAX_FRAME);
    REQUIRE(raw != NULL && subject != NULL);
    REQUIRE(harness_raw_hello(raw, 5000));
    memset(subject, 'x', 2 * MAX_FRAME - 1);
    subject[2 * MAX_FRAME - 1] = '\0';
    Hub__Frame f;
    Hub__Publish p = HUB__PUBLISH__INIT;
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = (char *)"big-1";
    ev.type = (char *)"bug_report";
    ev.subject = subject;
    p.event = &ev;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 20);
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    /* either the hub reads it and answers TOO_LARGE, or ZeroMQ's message
     * size limit drops the connection (the DEALER then reconnects): in both
     * cases the heartbeat that follows is answered */
    Hub__Frame *r = NULL;
    int64_t deadline = harness_now_ms() + 5000;
    int answered = 0;
    while (!answered && harness_now_ms() < deadline) {
        if (harness_raw_recv(raw, &r, 1000) == 1) {
            if (r->body_case == HUB__FRAME__BODY_ERROR) {
                CHECK_INT(r->error->code, HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE);
                answered = 1;
            } else if (r->body_case == HUB__FRAME__BODY_PUBLISH_ACK) {
                CHECK(!"an oversized publish was stored");
                answered = 1;
            }
            hub__frame__free_unpacked(r, NULL);
            r = NULL;
        } else {
            break; /* nothing within 1 s: probably dropped */
        }
    }
    printf("oversized frame: %s\n", answered ? "answered with an error" : "connection dropped (no answer)");
    CHECK(s_alive_on(raw, 1003, 5000));
    harness_raw_destroy(&raw);
    /* a fresh connection works */
    REQUIRE((raw = harness_raw_new(harness_endpoint(s_hub))) != NULL);
    CHECK(harness_raw_hello(raw, 5000));
    /* and the big event was not stored */
    json_t *st = harness_status(s_hub);
    CHECK(st != NULL);
    CHECK_INT(harness_status_u64(st, "events"), 0);
    json_decref(st);

    /* a frame within max_frame whose event is over max_event (2048) */
    subject[3000] = '\0';
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 21);
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    uint64_t corr = 0;
    CHECK_INT(s_expect_error(raw, &corr, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE);
    CHECK_INT(corr, 21);
    subject[3000] = 'x';

    /* an oversized message that is not a frame at all */
    REQUIRE(harness_raw_send(raw, subject, 2 * MAX_FRAME) == 0);
    CHECK(s_alive_on(raw, 1004, 5000));
done:
    free(subject);
    harness_raw_destroy(&raw);
}

/* Many bad frames in a row: all counted, none fatal, memory flat. */
static void test_flood(void)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    REQUIRE(raw != NULL);
    json_t *st = harness_status(s_hub);
    uint64_t rejected_before = harness_status_u64(st, "rejected");
    json_decref(st);
    long rss_before = harness_rss_kb(s_hub);
    unsigned char junk[64];
    size_t errors = 0;
    for (unsigned i = 0; i < 2000; i++) {
        for (size_t k = 0; k < sizeof junk; k++)
            junk[k] = (unsigned char)(i * 31 + k * 7 + 0x80);
        REQUIRE(harness_raw_send(raw, junk, 1 + i % sizeof junk) == 0);
        /* collect what came meanwhile, so that replies do not pile up */
        Hub__Frame *r = NULL;
        while (harness_raw_recv(raw, &r, 0) == 1) {
            errors += r->body_case == HUB__FRAME__BODY_ERROR;
            hub__frame__free_unpacked(r, NULL);
        }
    }
    CHECK(s_alive_on(raw, 1005, 10000));
    st = harness_status(s_hub);
    CHECK(harness_status_u64(st, "rejected") >= rejected_before + 1000);
    json_decref(st);
    long rss_after = harness_rss_kb(s_hub);
    printf("2000 bad frames: %zu errors seen before the heartbeat; RSS %ld -> %ld kB\n", errors, rss_before, rss_after);
    CHECK(rss_after < rss_before + 64 * 1024);
done:
    harness_raw_destroy(&raw);
}

/* Packs frame with a fixed corr; returns how many bytes of out, at its
 * end, are the body (what may be mutated without changing its kind). */
static size_t s_pack_body(Hub__Frame *f, hub_buf_t *out, const ProtobufCMessage *body)
{
    out->len = protobuf_c_message_get_packed_size(&f->base);
    if (hub_buf_reserve(out, out->len) != 0)
        return 0;
    protobuf_c_message_pack(&f->base, out->data);
    return protobuf_c_message_get_packed_size(body);
}

/* The frames a console sends, with wrong fields: INVALID naming the field;
 * then thousands of them with bytes of their bodies changed: each answered
 * (an error, or an answer when the change made sense), none fatal, nothing
 * stored, memory flat. */
static void test_admin_frames(void)
{
    hub_buf_t buf = HUB_BUF_INIT;
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    REQUIRE(raw != NULL);
    char field[64];
    uint64_t corr = 0;

    Hub__NotificationQuery nq = HUB__NOTIFICATION_QUERY__INIT;
    nq.department = (char *)"eng\xc0";
    Hub__Frame f;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 21);
    f.body_case = HUB__FRAME__BODY_NOTIFICATION_QUERY;
    f.notification_query = &nq;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, field, sizeof field, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 21);
    CHECK_STR(field, "department");

    Hub__DeadLetterAction da = HUB__DEAD_LETTER_ACTION__INIT;
    da.action = (char *)"redrive";
    da.has_seq = 1;
    da.seq = UINT64_MAX; /* beyond any seq the database holds */
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 22);
    f.body_case = HUB__FRAME__BODY_DEAD_LETTER_ACTION;
    f.dead_letter_action = &da;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, field, sizeof field, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 22);
    CHECK_STR(field, "seq");

    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = (char *)"bug_report";
    ev.has_severity = 1;
    ev.severity = (Hub__Severity)42;
    Hub__PolicyQuery pq = HUB__POLICY_QUERY__INIT;
    pq.event = &ev;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 23);
    f.body_case = HUB__FRAME__BODY_POLICY_QUERY;
    f.policy_query = &pq;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, field, sizeof field, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 23);
    CHECK_STR(field, "event.severity");

    /* frames only the hub sends: an error, and the hub goes on */
    Hub__DeadLetterDone dd = HUB__DEAD_LETTER_DONE__INIT;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, 24);
    f.body_case = HUB__FRAME__BODY_DEAD_LETTER_DONE;
    f.dead_letter_done = &dd;
    REQUIRE(harness_raw_send_frame(raw, &f) == 0);
    CHECK_INT(s_expect_error(raw, &corr, field, sizeof field, 5000), HUB__ERROR_CODE__ERROR_CODE_INVALID);
    CHECK_INT(corr, 24);
    CHECK_STR(field, "body");

    /* mutated bodies */
    json_t *st = harness_status(s_hub);
    uint64_t events_before = harness_status_u64(st, "events");
    json_decref(st);
    long rss_before = harness_rss_kb(s_hub);
    ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    ev.case_id = (char *)"CASE-1";
    ev.subject = (char *)"export fails";
    nq.department = (char *)"eng";
    nq.customer = (char *)"acme";
    nq.has_limit = nq.has_window = nq.has_before_seq = nq.has_after_seq = nq.has_dead_letters = 1;
    nq.limit = 10;
    nq.window = 100;
    nq.before_seq = 50;
    nq.after_seq = 1;
    da.seq = 3;
    da.action = (char *)"discard";
    da.reason = (char *)"duplicate";
    da.on_behalf_of = (char *)"alice";
    uint32_t rng = 2463534242u;
    size_t answers = 0;
    for (unsigned i = 0; i < 3000; i++) {
        s_init_frame(&f, HUB_PROTOCOL_VERSION, 1000 + i);
        const ProtobufCMessage *body;
        switch (i % 3) {
        case 0:
            f.body_case = HUB__FRAME__BODY_NOTIFICATION_QUERY;
            f.notification_query = &nq;
            body = &nq.base;
            break;
        case 1:
            f.body_case = HUB__FRAME__BODY_DEAD_LETTER_ACTION;
            f.dead_letter_action = &da;
            body = &da.base;
            break;
        default:
            f.body_case = HUB__FRAME__BODY_POLICY_QUERY;
            f.policy_query = &pq;
            body = &pq.base;
            break;
        }
        size_t blen = s_pack_body(&f, &buf, body);
        REQUIRE(blen > 0 && blen <= buf.len);
        for (int k = 0; k < 1 + (int)(i % 4); k++) {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            buf.data[buf.len - blen + rng % blen] ^= (uint8_t)(1u << (rng >> 8) % 8);
        }
        REQUIRE(harness_raw_send(raw, buf.data, buf.len) == 0);
        Hub__Frame *r = NULL;
        while (harness_raw_recv(raw, &r, 0) == 1) {
            answers++;
            hub__frame__free_unpacked(r, NULL);
        }
    }
    CHECK(s_alive_on(raw, 1006, 10000));
    st = harness_status(s_hub);
    CHECK_INT(harness_status_u64(st, "events"), events_before);
    json_decref(st);
    long rss_after = harness_rss_kb(s_hub);
    printf("3000 mutated admin frames: %zu answers seen before the heartbeat; RSS %ld -> %ld kB\n", answers,
           rss_before, rss_after);
    CHECK(rss_after < rss_before + 64 * 1024);
done:
    hub_buf_fini(&buf);
    harness_raw_destroy(&raw);
}

/* Two-part messages are not frames of this protocol. */
static void test_multipart(void)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    REQUIRE(raw != NULL);
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, timeout = 5000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    CHECK(zmq_connect(sock, harness_endpoint(s_hub)) == 0);
    CHECK(zmq_send(sock, "one", 3, ZMQ_SNDMORE) == 3);
    CHECK(zmq_send(sock, "two", 3, 0) == 3);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    CHECK(s_alive_on(raw, 1006, 5000));
done:
    harness_raw_destroy(&raw);
}

/* A Heartbeat frame of corr (naming instance, unless NULL), gathered into g. */
static void s_gather_heartbeat(hub_gather_t *g, uint64_t corr, char *instance)
{
    Hub__Frame f;
    Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
    hb.instance = instance;
    s_init_frame(&f, HUB_PROTOCOL_VERSION, corr);
    f.body_case = HUB__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_frame_encode(&f, &out), 0);
    CHECK_INT(hub_gather_add(g, out.data, out.len), 0);
    hub_buf_fini(&out);
}

/* What g gathered, in another form protobuf reads as a Frames (a version
 * field before it), into out; g forgets it. */
static void s_decoder_form(hub_gather_t *g, hub_buf_t *out)
{
    static const uint8_t version[] = {0x08, HUB_PROTOCOL_VERSION};
    const uint8_t *msg;
    size_t len;
    hub_gather_seal(g, &msg, &len);
    hub_buf_reset(out);
    CHECK_INT(hub_buf_append(out, version, sizeof version), 0);
    CHECK_INT(hub_buf_append(out, msg, len), 0);
    hub_gather_reset(g);
}

/* Sends what g gathered as one message and forgets it. */
static int s_send_gathered(harness_raw_t *raw, hub_gather_t *g)
{
    const uint8_t *msg;
    size_t len;
    hub_gather_seal(g, &msg, &len);
    int rc = harness_raw_send(raw, msg, len);
    hub_gather_reset(g);
    return rc;
}

/* The next frame must be of kind and corr (within 5 s). */
static int s_next_is(harness_raw_t *raw, Hub__Frame__BodyCase kind, uint64_t corr)
{
    Hub__Frame *f = NULL;
    if (harness_raw_recv(raw, &f, 5000) != 1)
        return 0;
    int ok = f->body_case == kind && f->corr == corr;
    if (!ok)
        fprintf(stderr, "  got a %s of corr %llu, expected corr %llu\n", hub_frame_kind(f), (unsigned long long)f->corr,
                (unsigned long long)corr);
    hub__frame__free_unpacked(f, NULL);
    return ok;
}

/* The next frame must be an Error of code whose message is about the
 * Frames ("frames: ..."; INVALID names the field "frames" too). */
static int s_next_frames_error(harness_raw_t *raw, int code)
{
    Hub__Frame *f = NULL;
    if (!harness_raw_expect(raw, HUB__FRAME__BODY_ERROR, &f, 5000))
        return 0;
    const Hub__Error *e = f->error;
    int ok = e->has_code && (int)e->code == code && e->message && strncmp(e->message, "frames: ", 8) == 0 &&
             (code != HUB__ERROR_CODE__ERROR_CODE_INVALID || (e->field && strcmp(e->field, "frames") == 0));
    if (!ok)
        fprintf(stderr, "  got an Error of code %d: %s\n", (int)e->code, e->message ? e->message : "");
    hub__frame__free_unpacked(f, NULL);
    return ok;
}

static void test_frames(void)
{
    hub_gather_t g = HUB_GATHER_INIT, inner = HUB_GATHER_INIT;
    harness_raw_t *raw = harness_raw_new(harness_endpoint(s_hub));
    REQUIRE(raw != NULL);

    /* the Welcome says how many frames a Frames may carry */
    Hub__Frame hello;
    Hub__Hello h = HUB__HELLO__INIT;
    s_init_frame(&hello, HUB_PROTOCOL_VERSION, 1);
    hello.body_case = HUB__FRAME__BODY_HELLO;
    hello.hello = &h;
    REQUIRE(harness_raw_send_frame(raw, &hello) == 0);
    Hub__Frame *w = NULL;
    REQUIRE(harness_raw_expect(raw, HUB__FRAME__BODY_WELCOME, &w, 5000));
    CHECK(w->welcome->has_frames);
    CHECK_INT(w->welcome->frames, HUB_GATHER_HUB_FRAMES);
    hub__frame__free_unpacked(w, NULL);

    /* each frame answered alone, in order */
    s_gather_heartbeat(&g, 11, NULL);
    s_gather_heartbeat(&g, 12, NULL);
    Hub__Frame status;
    Hub__StatusRequest sr = HUB__STATUS_REQUEST__INIT;
    s_init_frame(&status, HUB_PROTOCOL_VERSION, 13);
    status.body_case = HUB__FRAME__BODY_STATUS_REQUEST;
    status.status_request = &sr;
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_frame_encode(&status, &out), 0);
    CHECK_INT(hub_gather_add(&g, out.data, out.len), 0);
    REQUIRE(s_send_gathered(raw, &g) == 0);
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 11));
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 12));
    CHECK(s_next_is(raw, HUB__FRAME__BODY_STATUS_REPLY, 13));

    /* a bad frame among good ones is refused alone */
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
    CHECK_INT(hub_gather_add(&g, garbage, sizeof garbage), 0);
    s_gather_heartbeat(&g, 21, NULL);
    REQUIRE(s_send_gathered(raw, &g) == 0);
    CHECK_INT(s_expect_error(raw, NULL, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_MALFORMED);
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 21));

    /* a Frames inside a Frames: refused, its frames not handled */
    s_gather_heartbeat(&inner, 31, NULL);
    s_gather_heartbeat(&inner, 32, NULL);
    const uint8_t *nested;
    size_t nested_len;
    hub_gather_seal(&inner, &nested, &nested_len);
    CHECK_INT(hub_gather_add(&g, nested, nested_len), 0);
    s_gather_heartbeat(&g, 33, NULL);
    REQUIRE(s_send_gathered(raw, &g) == 0);
    CHECK(s_next_frames_error(raw, HUB__ERROR_CODE__ERROR_CODE_INVALID));
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 33));

    /* more frames than the Welcome allows: none handled */
    for (uint64_t corr = 100; corr < 100 + HUB_GATHER_HUB_FRAMES + 1; corr++)
        s_gather_heartbeat(&g, corr, NULL);
    REQUIRE(s_send_gathered(raw, &g) == 0);
    CHECK(s_next_frames_error(raw, HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE));

    /* none at all */
    static const uint8_t empty[] = {0x82, 0x02, 0x00};
    REQUIRE(harness_raw_send(raw, empty, sizeof empty) == 0);
    CHECK(s_next_frames_error(raw, HUB__ERROR_CODE__ERROR_CODE_INVALID));

    /* a frame that runs past the message's end: not a Frame */
    static const uint8_t truncated[] = {0x82, 0x02, 0x03, 0x0a, 0x05, 0x01};
    REQUIRE(harness_raw_send(raw, truncated, sizeof truncated) == 0);
    CHECK_INT(s_expect_error(raw, NULL, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_MALFORMED);

    /* another form protobuf reads as a Frames (a version before it) */
    s_gather_heartbeat(&g, 41, NULL);
    s_gather_heartbeat(&g, 42, NULL);
    s_decoder_form(&g, &out);
    REQUIRE(harness_raw_send(raw, out.data, out.len) == 0);
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 41));
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 42));

    /* a Frames (in the decoder's form) inside a gathered one: refused */
    s_gather_heartbeat(&inner, 61, NULL);
    s_gather_heartbeat(&inner, 62, NULL);
    s_decoder_form(&inner, &out);
    CHECK_INT(hub_gather_add(&g, out.data, out.len), 0);
    s_gather_heartbeat(&g, 63, NULL);
    REQUIRE(s_send_gathered(raw, &g) == 0);
    CHECK(s_next_frames_error(raw, HUB__ERROR_CODE__ERROR_CODE_INVALID));
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 63));

    /* over max_frame as a whole, though each frame is under it: refused
     * as any frame over the limit, none handled */
    char instance[480];
    memset(instance, 'i', sizeof instance - 1);
    instance[sizeof instance - 1] = '\0';
    for (uint64_t corr = 70; corr < 80; corr++)
        s_gather_heartbeat(&g, corr, instance);
    const uint8_t *msg;
    size_t len;
    hub_gather_seal(&g, &msg, &len);
    CHECK(len > MAX_FRAME);
    REQUIRE(s_send_gathered(raw, &g) == 0);
    CHECK_INT(s_expect_error(raw, NULL, NULL, 0, 5000), HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE);

    /* and after all of it, a lone frame is answered next */
    s_gather_heartbeat(&g, 51, NULL);
    REQUIRE(s_send_gathered(raw, &g) == 0);
    CHECK(s_next_is(raw, HUB__FRAME__BODY_HEARTBEAT, 51));
done:
    hub_buf_fini(&out);
    hub_gather_fini(&g);
    hub_gather_fini(&inner);
    harness_raw_destroy(&raw);
}

static void test_hubctl_bad_json(void)
{
    harness_run_t run = {0};
    CHECK_INT(harness_hubctl(s_hub, "{\"type\": \"bug_report\", \"subject\": }\n", &run, "publish", "-", NULL), 1);
    CHECK_HAS(run.err, "hubctl: ");
    harness_run_free(&run);
    CHECK_INT(harness_hubctl(s_hub, "[1, 2, 3]\n", &run, "publish", "-", NULL), 1);
    harness_run_free(&run);
    /* deeper than any event may nest */
    char deep[256] = "{\"id\":\"deep\",\"type\":\"bug_report\",\"attributes\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}\n");
    CHECK_INT(harness_hubctl(s_hub, deep, &run, "publish", "-", NULL), 1);
    CHECK_HAS(run.err, "deep");
    harness_run_free(&run);
}

/* After all of it: a normal publish and subscribe. */
static void test_still_serving(void)
{
    hub_client_t *pub = NULL, *sub = NULL;
    harness_got_t got[1] = {0};
    size_t n = 0;
    CHECK(harness_alive(s_hub));
    REQUIRE((pub = harness_client(s_hub, "publisher")) != NULL);
    REQUIRE((sub = harness_client(s_hub, "eng")) != NULL);
    const char *topics[] = {"eng.*", NULL};
    REQUIRE(harness_subscribe(sub, "eng", topics, HUB_FROM_RESUME, 0, 10) == 0);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, "{\"id\":\"fine-1\",\"type\":\"bug_report\",\"case_id\":\"CASE-1\"}", &res) == 0);
    CHECK_INT(res.notifications, 1);
    n = harness_collect(sub, got, 1, 1, 10000);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(got[0].event_id, "fine-1");
    json_t *st = harness_status(s_hub);
    CHECK_INT(harness_status_u64(st, "events"), 1);
    json_decref(st);
    CHECK(harness_alive(s_hub));
done:
    harness_got_free(got, n);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
}

int main(void)
{
    harness_require();
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    s_hub = HARNESS_NEW(&o);
    if (!s_hub || harness_start(s_hub) != 0) {
        fprintf(stderr, "cannot start hubd\n");
        if (s_hub)
            harness_destroy(&s_hub, 1);
        return 1;
    }
    /* the cases share one hub, in this order; the last checks it survived */
    static const check_case_t cases[] = {
        {"bytes that are not a frame: MALFORMED, corr 0", test_not_a_frame},
        {"version 2 or none: UNSUPPORTED; no body: MALFORMED", test_version_and_body},
        {"wrong fields: INVALID naming the field, same corr", test_wrong_fields},
        {"over max_frame: TOO_LARGE or a dropped connection", test_too_large},
        {"2000 bad frames: counted, memory flat", test_flood},
        {"admin frames: wrong fields, 3000 mutated, none fatal", test_admin_frames},
        {"a two-part message", test_multipart},
        {"Frames: each answered alone; wrong ones refused", test_frames},
        {"invalid JSON through hubctl", test_hubctl_bad_json},
        {"still serving: publish and subscribe", test_still_serving},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    int problems = harness_destroy(&s_hub, rc ? 1 : 0);
    return rc || problems ? 1 : 0;
}
