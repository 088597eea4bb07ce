/*
 * test_pack - the one-pass writer: every message it writes is byte for
 * byte what protobuf-c writes, and it declines what it does not write.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "frames.h"
#include "pack.h"

/* Packs msg both ways; returns what hub_pack returned. When it wrote the
 * message, the bytes must be protobuf-c's; when not, out is untouched. */
static int s_pack_both(const ProtobufCMessage *msg)
{
    hub_buf_t mine = HUB_BUF_INIT;
    CHECK_INT(hub_buf_append(&mine, "xy", 2), 0); /* hub_pack appends */
    int rc = hub_pack(msg, &mine);
    CHECK(rc == 0 || rc == 1);
    if (rc == 1) {
        size_t size = protobuf_c_message_get_packed_size(msg);
        uint8_t *theirs = malloc(size ? size : 1);
        CHECK(theirs != NULL);
        if (theirs) {
            CHECK_INT(protobuf_c_message_pack(msg, theirs), size);
            CHECK_INT(mine.len, size + 2);
            CHECK(mine.len == size + 2 && memcmp(mine.data + 2, theirs, size) == 0);
        }
        free(theirs);
    } else {
        CHECK_INT(mine.len, 2);
    }
    CHECK(memcmp(mine.data, "xy", 2) == 0);
    hub_buf_fini(&mine);
    return rc;
}

static void test_writes_publish(void)
{
    frames_event_t ev;
    frames_event(&ev);
    Hub__Publish p = HUB__PUBLISH__INIT;
    p.event = &ev.event;
    p.has_batch_acks = 1;
    p.batch_acks = 7; /* any true value is written as 1 */
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_version = f.has_corr = 1;
    f.version = 1;
    f.corr = UINT64_MAX;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    CHECK_INT(s_pack_both(&f.base), 1);
    ev.event.severity = (Hub__Severity)-1; /* an int32 below 0: ten bytes */
    CHECK_INT(s_pack_both(&f.base), 1);
    CHECK_INT(s_pack_both(&ev.event.base), 1); /* not only frames */
}

/* Messages longer than a byte's length, and than two bytes': the writer
 * moves them along to make room for their lengths. */
static void test_writes_long_messages(void)
{
    static const size_t sizes[] = {0, 1, 120, 127, 128, 300, 16383, 16384, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *body = malloc(sizes[i] + 1);
        CHECK(body != NULL);
        if (!body)
            return;
        memset(body, 'b', sizes[i]);
        body[sizes[i]] = '\0';
        Hub__Event ev = HUB__EVENT__INIT;
        ev.body = body;
        ev.note = "n";
        Hub__Publish p = HUB__PUBLISH__INIT;
        p.event = &ev;
        Hub__Frame f = HUB__FRAME__INIT;
        f.body_case = HUB__FRAME__BODY_PUBLISH;
        f.publish = &p;
        CHECK_INT(s_pack_both(&f.base), 1);
        free(body);
    }
}

static void test_writes_repeated(void)
{
    frames_ack_t ack = {0};
    CHECK_INT(frames_ack(&ack, 300), 0);
    if (ack.refs && ack.ptrs)
        CHECK_INT(s_pack_both(&ack.frame.base), 1);
    frames_ack_fini(&ack);
    Hub__Frame f = HUB__FRAME__INIT;
    Hub__Subscribe sub = HUB__SUBSCRIBE__INIT;
    char *topics[] = {"engineering.*", "*"};
    sub.n_topics = 2;
    sub.topics = topics;
    f.body_case = HUB__FRAME__BODY_SUBSCRIBE;
    f.subscribe = &sub;
    CHECK_INT(s_pack_both(&f.base), 1);
}

/* A oneof whose case names a member left NULL: protobuf-c writes nothing
 * for it, nor does the writer. */
static void test_writes_oneof_without_member(void)
{
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = 9;
    f.body_case = HUB__FRAME__BODY_HELLO;
    CHECK_INT(s_pack_both(&f.base), 1);
    Hub__Frame empty = HUB__FRAME__INIT;
    CHECK_INT(s_pack_both(&empty.base), 1);
}

static void test_declines(void)
{
    /* a field of a kind it does not write: Histogram's doubles */
    double bounds[] = {0.5, 1.0};
    Hub__Histogram h = HUB__HISTOGRAM__INIT, *hs[] = {&h};
    h.n_bounds = 2;
    h.bounds = bounds;
    Hub__StatusReply reply = HUB__STATUS_REPLY__INIT;
    reply.n_histograms = 1;
    reply.histograms = hs;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_STATUS_REPLY;
    f.status_reply = &reply;
    check_case = "doubles";
    CHECK_INT(s_pack_both(&f.base), 0);
    /* a histogram without them is written */
    h.n_bounds = 0;
    h.has_count = 1;
    h.count = 3;
    check_case = "a histogram without doubles";
    CHECK_INT(s_pack_both(&f.base), 1);

    /* unknown fields inside */
    uint8_t raw[] = {0x07};
    ProtobufCMessageUnknownField unknown = {99, PROTOBUF_C_WIRE_TYPE_VARINT, 1, raw};
    Hub__Hello hello = HUB__HELLO__INIT;
    hello.base.n_unknown_fields = 1;
    hello.base.unknown_fields = &unknown;
    Hub__Frame g = HUB__FRAME__INIT;
    g.body_case = HUB__FRAME__BODY_HELLO;
    g.hello = &hello;
    check_case = "unknown fields";
    CHECK_INT(s_pack_both(&g.base), 0);

    /* a NULL item of a repeated field (protobuf-c would not survive it, so
     * only the writer is asked) */
    char *topics[] = {"a", NULL};
    Hub__Subscribe sub = HUB__SUBSCRIBE__INIT;
    sub.n_topics = 2;
    sub.topics = topics;
    hub_buf_t out = HUB_BUF_INIT;
    check_case = "a NULL item";
    CHECK_INT(hub_pack(&sub.base, &out), 0);
    CHECK_INT(out.len, 0);
    hub_buf_fini(&out);
}

/* hub_message_pack writes the same bytes whether hub_pack or protobuf-c
 * writes them. */
static void test_message_pack_falls_back(void)
{
    double bounds[] = {0.25};
    Hub__Histogram h = HUB__HISTOGRAM__INIT, *hs[] = {&h};
    h.n_bounds = 1;
    h.bounds = bounds;
    Hub__StatusReply reply = HUB__STATUS_REPLY__INIT;
    reply.hub_version = "0.1.0";
    reply.n_histograms = 1;
    reply.histograms = hs;
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&reply.base, &out), 0);
    CHECK_INT(out.len, protobuf_c_message_get_packed_size(&reply.base));
    Hub__StatusReply *back = hub__status_reply__unpack(NULL, out.len, out.data);
    CHECK(back && back->n_histograms == 1 && back->histograms[0]->n_bounds == 1 &&
          back->histograms[0]->bounds[0] == 0.25 && strcmp(back->hub_version, "0.1.0") == 0);
    if (back)
        hub__status_reply__free_unpacked(back, NULL);
    hub_buf_fini(&out);
}

static const check_case_t cases[] = {
    {"writes a publish", test_writes_publish},
    {"writes long messages", test_writes_long_messages},
    {"writes repeated fields", test_writes_repeated},
    {"writes a oneof without its member", test_writes_oneof_without_member},
    {"declines what it does not write", test_declines},
    {"message pack falls back", test_message_pack_falls_back},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
