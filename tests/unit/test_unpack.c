/*
 * test_unpack - the one-pass frame reader: it reads the frames the hub and
 * libhub write, to what protobuf-c reads from the same bytes, and declines
 * every input where protobuf-c would do something it does not.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "frames.h"
#include "unpack.h"

/* The reader's memory: blocks listed to be freed at the end. */
typedef struct s_block {
    struct s_block *next;
    max_align_t data[];
} s_block_t;

static void *s_alloc(void *arena, size_t size)
{
    s_block_t **head = arena;
    s_block_t *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->next = *head;
    *head = b;
    return b->data;
}

static void s_no_free(void *arena, void *p)
{
    (void)arena;
    (void)p;
}

static int s_same(const hub_buf_t *a, const hub_buf_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Reads data both ways; returns what hub_unpack_frame returned. When it
 * read a frame, protobuf-c must read one too, and the two pack to the same
 * bytes; *packed (when given) gets them. */
static int s_read_both(const uint8_t *data, size_t len, hub_buf_t *packed)
{
    s_block_t *blocks = NULL;
    ProtobufCAllocator alloc = {s_alloc, s_no_free, &blocks};
    Hub__Frame *mine = NULL;
    int rc = hub_unpack_frame(data, len, &alloc, &mine);
    CHECK(rc == 0 || rc == 1);
    CHECK((rc == 1) == (mine != NULL));
    if (rc == 1) {
        s_block_t *oldest = blocks;
        while (oldest->next)
            oldest = oldest->next;
        CHECK((void *)mine == (void *)oldest->data); /* the frame comes first */
        Hub__Frame *theirs = hub__frame__unpack(NULL, len, data);
        CHECK(theirs != NULL);
        if (theirs) {
            hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
            CHECK_INT(hub_message_pack(&mine->base, &a), 0);
            CHECK_INT(hub_message_pack(&theirs->base, &b), 0);
            CHECK(s_same(&a, &b));
            if (packed)
                CHECK_INT(hub_message_pack(&mine->base, packed), 0);
            hub_buf_fini(&a);
            hub_buf_fini(&b);
            hub__frame__free_unpacked(theirs, NULL);
        }
    }
    while (blocks) {
        s_block_t *next = blocks->next;
        free(blocks);
        blocks = next;
    }
    return rc;
}

/* Packs frame (hub_frame_encode) and checks that the reader reads it back
 * to the same bytes. */
static void s_reads_back(Hub__Frame *frame)
{
    hub_buf_t in = HUB_BUF_INIT, out = HUB_BUF_INIT;
    CHECK_INT(hub_frame_encode(frame, &in), 0);
    CHECK_INT(s_read_both(in.data, in.len, &out), 1);
    CHECK(s_same(&in, &out));
    hub_buf_fini(&in);
    hub_buf_fini(&out);
}

static void test_reads_publish(void)
{
    frames_event_t ev;
    frames_event(&ev);
    Hub__Publish p = HUB__PUBLISH__INIT;
    p.event = &ev.event;
    p.on_behalf_of = "alice";
    p.has_batch_acks = 1;
    p.batch_acks = 1;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = UINT64_MAX; /* a varint of ten bytes */
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    s_reads_back(&f);
}

static void test_reads_deliver_batch(void)
{
    frames_event_t ev;
    frames_event(&ev);
    enum { N = 40 }; /* more: arrays of 8, 16, 32 and 64 */
    Hub__Notification n[N], *more[N];
    for (size_t i = 0; i < N; i++) {
        hub__notification__init(&n[i]);
        n[i].has_seq = 1;
        n[i].seq = 1000 + i;
        n[i].has_slot = 1;
        n[i].slot = (uint32_t)(i % 4);
        n[i].topic = "engineering.defect";
        n[i].route = "defect";
        n[i].has_attempt = 1;
        n[i].attempt = 1;
        n[i].event_id = "ev-1";
        n[i].received_at = "2026-11-26T08:00:01.000Z";
        n[i].event = i % 3 ? &ev.event : NULL;
        more[i] = &n[i];
    }
    Hub__Deliver d = HUB__DELIVER__INIT;
    d.name = "engineering";
    d.notification = &n[0];
    d.n_more = N - 1;
    d.more = more + 1;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DELIVER;
    f.deliver = &d;
    s_reads_back(&f);
}

static void test_reads_acks(void)
{
    enum { N = 1000 };
    frames_ack_t ack = {0};
    Hub__PublishAck *acks = calloc(N, sizeof *acks), **aptrs = calloc(N, sizeof *aptrs);
    CHECK(frames_ack(&ack, N) == 0 && acks && aptrs);
    if (!ack.refs || !ack.ptrs || !acks || !aptrs)
        goto out;
    s_reads_back(&ack.frame);
    for (size_t i = 0; i < N; i++) {
        hub__publish_ack__init(&acks[i]);
        acks[i].id = "ev";
        acks[i].has_seq = acks[i].has_corr = acks[i].has_duplicate = 1;
        acks[i].seq = i;
        acks[i].corr = i * 7;
        acks[i].duplicate = i % 2;
        aptrs[i] = &acks[i];
    }
    Hub__PublishAcks pa = HUB__PUBLISH_ACKS__INIT;
    pa.n_acks = N;
    pa.acks = aptrs;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACKS;
    f.publish_acks = &pa;
    s_reads_back(&f);
out:
    frames_ack_fini(&ack);
    free(acks);
    free(aptrs);
}

static void test_reads_negative_int64(void)
{
    Hub__Route r = HUB__ROUTE__INIT, *matches[] = {&r};
    r.topic = "finance.billing";
    r.has_respond_by_ms = 1;
    r.respond_by_ms = -5;
    Hub__PolicyReply reply = HUB__POLICY_REPLY__INIT;
    reply.n_matches = 1;
    reply.matches = matches;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_POLICY_REPLY;
    f.policy_reply = &reply;
    s_reads_back(&f);
}

/* Raw inputs: what the reader must read as protobuf-c does. */
static void test_reads_raw(void)
{
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
    } raw[] = {
        {"nothing", {0}, 0},
        {"a varint longer than it needs", {0x08, 0x81, 0x00}, 3},
        {"an empty message", {0x08, 0x01, 0xa2, 0x01, 0x00}, 5},
        {"a string with a NUL in it", {0x08, 0x01, 0x52, 0x04, 0x0a, 0x02, 'a', 0x00}, 8},
        {"a field of a oneof and the fields around it", {0x52, 0x00, 0x08, 0x01, 0x10, 0x07}, 6},
        {"a tag written in five bytes", {0x88, 0x80, 0x80, 0x80, 0x00, 0x01}, 6},
        {"a length written in five bytes", {0x08, 0x01, 0x52, 0x83, 0x80, 0x80, 0x80, 0x00, 0x0a, 0x01, 'x'}, 11},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        check_case = raw[i].what;
        CHECK_INT(s_read_both(raw[i].bytes, raw[i].len, NULL), 1);
    }
}

/* Raw inputs the reader leaves to protobuf-c (which may read them, or
 * not). */
static void test_declines(void)
{
    static const struct {
        const char *what;
        uint8_t bytes[24];
        size_t len;
    } raw[] = {
        {"an unknown field", {0x08, 0x01, 0x28, 0x07}, 4},
        {"an unknown field inside", {0x62, 0x07, 0x0a, 0x05, 0x30, 0x01, 0x98, 0x06, 0x01}, 9}, /* Event, 99 */
        {"a field numbered 0 inside", {0x62, 0x04, 0x0a, 0x02, 0x00, 0x01}, 6},
        {"a string given twice", {0x52, 0x06, 0x0a, 0x01, 'a', 0x0a, 0x01, 'b'}, 8},
        {"a message given twice (protobuf-c merges)", {0x62, 0x08, 0x0a, 0x02, 0x30, 0x01, 0x0a, 0x02, 0x68, 0x01}, 10},
        {"two bodies of the oneof", {0x52, 0x00, 0xa2, 0x01, 0x00}, 5},
        {"a bool of 2", {0x62, 0x02, 0x18, 0x02}, 4},
        {"a uint32 over 32 bits", {0x08, 0x81, 0x80, 0x80, 0x80, 0x10}, 6},
        {"an enum over INT32_MAX", {0x62, 0x08, 0x0a, 0x06, 0x30, 0x80, 0x80, 0x80, 0x80, 0x08}, 10},
        {"a string cut short", {0x52, 0x04, 0x0a, 0x05, 'a', 'b'}, 6},
        {"a string sent as a varint", {0x52, 0x02, 0x08, 0x01}, 4},
        {"a varint of eleven bytes", {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12},
        {"a varint over 64 bits", {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 11},
        {"packed doubles", {0xb2, 0x01, 0x0c, 0x6a, 0x0a, 0x12, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}, 15}, /* Histogram */
        {"a group", {0x0b, 0x0c}, 2},
        {"a tag cut short", {0x08, 0x01, 0x82}, 3},
        {"a tag written in six bytes (protobuf-c reads five)", {0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01}, 7},
        {"a length written in six bytes", {0x08, 0x01, 0x52, 0x83, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0a, 0x01, 'x'}, 12},
        {"a string's length written in six bytes", {0x52, 0x08, 0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 'x'}, 10},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        check_case = raw[i].what;
        CHECK_INT(s_read_both(raw[i].bytes, raw[i].len, NULL), 0);
    }
}

/* hub_frame_decode goes the same way with or without the reader: a frame
 * the reader declines still decodes when protobuf-c reads it. */
static void test_decode_after_decline(void)
{
    static const uint8_t hello_twice[] = {0x08, 0x01, 0x52, 0x06, 0x0a, 0x01, 'a', 0x0a, 0x01, 'b'};
    Hub__Frame *frame = NULL;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_frame_decode(hello_twice, sizeof hello_twice, 0, &frame, err), 0);
    CHECK(frame && frame->hello && frame->hello->client && strcmp(frame->hello->client, "b") == 0);
    hub_frame_free(&frame);
    static const uint8_t nested_zero[] = {0x08, 0x01, 0x62, 0x04, 0x0a, 0x02, 0x00, 0x01};
    CHECK_INT(hub_frame_decode(nested_zero, sizeof nested_zero, 0, &frame, err), -HUB_EMALFORMED);
    CHECK(frame == NULL);
    /* a length in six bytes: protobuf-c refuses the frame, so does the hub */
    static const uint8_t long_length[] = {0x08, 0x01, 0x52, 0x83, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0a, 0x01, 'x'};
    CHECK_INT(hub_frame_decode(long_length, sizeof long_length, 0, &frame, err), -HUB_EMALFORMED);
    CHECK(frame == NULL);
}

static const check_case_t cases[] = {
    {"reads a publish", test_reads_publish},
    {"reads a batched deliver", test_reads_deliver_batch},
    {"reads acks and publish acks", test_reads_acks},
    {"reads a negative int64", test_reads_negative_int64},
    {"reads raw inputs as protobuf-c does", test_reads_raw},
    {"declines the rest", test_declines},
    {"decode after a decline", test_decode_after_decline},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
