/*
 * gather: frames gathered into one message read back by the hub's walk
 * and by protobuf-c alike (rules in gather.h), and the walk's refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "gather.h"

/* A frame of len bytes whose every byte says which one it is. */
static uint8_t *s_frame(size_t len, uint8_t tag)
{
    uint8_t *f = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)(tag + i);
    return f;
}

/* Checks that msg is a Frames of the n frames given, by the walk and by
 * protobuf-c. */
static void s_check_frames(const uint8_t *msg, size_t len, uint8_t *const *frames, const size_t *lens, size_t n)
{
    const uint8_t *body;
    size_t body_len;
    CHECK_INT(hub_gather_body(msg, len, &body, &body_len), 1);
    size_t pos = 0, i = 0;
    const uint8_t *f;
    size_t flen;
    char err[HUB_ERR_LEN] = "";
    while (hub_gather_next(body, body_len, &pos, &f, &flen, err) == 1) {
        CHECK(i < n);
        if (i < n) {
            CHECK_INT(flen, lens[i]);
            CHECK(flen == lens[i] && memcmp(f, frames[i], flen) == 0);
        }
        i++;
    }
    CHECK_INT(i, n);
    CHECK_STR(err, "");
    Hub__Frame *frame = hub__frame__unpack(NULL, len, msg);
    CHECK(frame != NULL);
    if (!frame)
        return;
    CHECK_INT(frame->body_case, HUB__FRAME__BODY_FRAMES);
    CHECK_INT(frame->frames->n_frame, n);
    for (size_t k = 0; k < n && k < frame->frames->n_frame; k++)
        CHECK(frame->frames->frame[k].len == lens[k] &&
              (lens[k] == 0 || memcmp(frame->frames->frame[k].data, frames[k], lens[k]) == 0));
    hub__frame__free_unpacked(frame, NULL);
}

/* Rule 1: a lone frame is sent as itself. */
static void test_one_alone(void)
{
    hub_gather_t g = HUB_GATHER_INIT;
    uint8_t *f = s_frame(300, 7);
    CHECK_INT(hub_gather_size_with(&g, 300), 2 + 2 + 1 + 2 + 300);
    CHECK_INT(hub_gather_add(&g, f, 300), 0);
    CHECK_INT(hub_gather_count(&g), 1);
    const uint8_t *msg;
    size_t len;
    hub_gather_seal(&g, &msg, &len);
    CHECK_INT(len, 300);
    CHECK(memcmp(msg, f, 300) == 0);
    free(f);
    hub_gather_fini(&g);
}

/* Rule 2 and the sizes: frames of every length class, in order, read
 * back whole; the size foretold is the size sealed; a reset starts over. */
static void test_many_in_order(void)
{
    static const size_t lens[] = {0, 1, 127, 128, 300, 16383, 16384, 70000};
    enum { N = sizeof lens / sizeof lens[0] };
    uint8_t *frames[N];
    hub_gather_t g = HUB_GATHER_INIT;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < N; i++) {
            frames[i] = s_frame(lens[i], (uint8_t)(i * 31 + round));
            size_t foretold = hub_gather_size_with(&g, lens[i]);
            CHECK_INT(hub_gather_add(&g, frames[i], lens[i]), 0);
            if (i > 0) {
                const uint8_t *msg;
                size_t len;
                hub_gather_seal(&g, &msg, &len);
                CHECK_INT(len, foretold);
            }
        }
        CHECK_INT(hub_gather_count(&g), N);
        const uint8_t *msg;
        size_t len;
        hub_gather_seal(&g, &msg, &len);
        s_check_frames(msg, len, frames, lens, N);
        /* sealing again (nothing added) gives the same message */
        const uint8_t *again;
        size_t again_len;
        hub_gather_seal(&g, &again, &again_len);
        CHECK(again_len == len && memcmp(again, msg, len) == 0);
        for (size_t i = 0; i < N; i++)
            free(frames[i]);
        hub_gather_reset(&g);
        CHECK_INT(hub_gather_count(&g), 0);
    }
    hub_gather_fini(&g);
    hub_gather_fini(&g);
}

/* A real frame inside: each decodes as the frame it was. */
static void test_real_frames(void)
{
    hub_gather_t g = HUB_GATHER_INIT;
    hub_buf_t out = HUB_BUF_INIT;
    for (uint64_t corr = 1; corr <= 3; corr++) {
        Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
        Hub__Frame f = HUB__FRAME__INIT;
        f.has_corr = 1;
        f.corr = corr;
        f.body_case = HUB__FRAME__BODY_HEARTBEAT;
        f.heartbeat = &hb;
        hub_buf_reset(&out);
        CHECK_INT(hub_frame_encode(&f, &out), 0);
        CHECK_INT(hub_gather_add(&g, out.data, out.len), 0);
    }
    const uint8_t *msg, *body, *frame;
    size_t len, body_len, frame_len, pos = 0;
    hub_gather_seal(&g, &msg, &len);
    CHECK_INT(hub_gather_body(msg, len, &body, &body_len), 1);
    char err[HUB_ERR_LEN];
    for (uint64_t corr = 1; corr <= 3; corr++) {
        CHECK_INT(hub_gather_next(body, body_len, &pos, &frame, &frame_len, err), 1);
        Hub__Frame *f = NULL;
        CHECK_INT(hub_frame_decode(frame, frame_len, 0, &f, err), 0);
        CHECK_INT(f ? f->corr : 0, corr);
        CHECK_INT(f ? f->body_case : 0, HUB__FRAME__BODY_HEARTBEAT);
        hub_frame_free(&f);
    }
    CHECK_INT(hub_gather_next(body, body_len, &pos, &frame, &frame_len, err), 0);
    hub_buf_fini(&out);
    hub_gather_fini(&g);
}

/* Rule 3: only the form written is recognised; everything else is left
 * to the decoder. */
static void test_body_recognised(void)
{
    const uint8_t *body;
    size_t body_len;
    static const uint8_t ok[] = {0x82, 0x02, 0x03, 0x0a, 0x01, 0x08};
    CHECK_INT(hub_gather_body(ok, sizeof ok, &body, &body_len), 1);
    CHECK(body == ok + 3);
    CHECK_INT(body_len, 3);
    static const uint8_t empty[] = {0x82, 0x02, 0x00};
    CHECK_INT(hub_gather_body(empty, sizeof empty, &body, &body_len), 1);
    CHECK_INT(body_len, 0);
    static const uint8_t trailing[] = {0x82, 0x02, 0x03, 0x0a, 0x01, 0x08, 0x08, 0x01}; /* then version */
    CHECK_INT(hub_gather_body(trailing, sizeof trailing, &body, &body_len), 0);
    static const uint8_t first_version[] = {0x08, 0x01, 0x82, 0x02, 0x00};
    CHECK_INT(hub_gather_body(first_version, sizeof first_version, &body, &body_len), 0);
    static const uint8_t short_len[] = {0x82, 0x02, 0x05, 0x0a, 0x01, 0x08};
    CHECK_INT(hub_gather_body(short_len, sizeof short_len, &body, &body_len), 0);
    static const uint8_t no_len[] = {0x82, 0x02};
    CHECK_INT(hub_gather_body(no_len, sizeof no_len, &body, &body_len), 0);
    static const uint8_t open_varint[] = {0x82, 0x02, 0x80};
    CHECK_INT(hub_gather_body(open_varint, sizeof open_varint, &body, &body_len), 0);
    static const uint8_t publish[] = {0x62, 0x00}; /* field 12: a Publish */
    CHECK_INT(hub_gather_body(publish, sizeof publish, &body, &body_len), 0);
    CHECK_INT(hub_gather_body(publish, 0, &body, &body_len), 0);
}

/* What the walk refuses, and says why. */
static void test_walk_refuses(void)
{
    const uint8_t *frame;
    size_t frame_len, pos = 0;
    char err[HUB_ERR_LEN] = "";
    static const uint8_t other_tag[] = {0x0a, 0x00, 0x12, 0x00}; /* a frame, then field 2 */
    CHECK_INT(hub_gather_next(other_tag, sizeof other_tag, &pos, &frame, &frame_len, err), 1);
    CHECK_INT(frame_len, 0);
    CHECK_INT(hub_gather_next(other_tag, sizeof other_tag, &pos, &frame, &frame_len, err), -1);
    CHECK_HAS(err, "frames: byte 2");
    CHECK_INT(pos, 2);

    pos = 0;
    static const uint8_t past_end[] = {0x0a, 0x05, 0x01, 0x02};
    CHECK_INT(hub_gather_next(past_end, sizeof past_end, &pos, &frame, &frame_len, err), -1);
    CHECK_HAS(err, "runs past");
    CHECK_INT(pos, 0);

    static const uint8_t open_varint[] = {0x0a, 0xff};
    CHECK_INT(hub_gather_next(open_varint, sizeof open_varint, &pos, &frame, &frame_len, err), -1);
    CHECK_HAS(err, "runs past");

    /* a length written longer than it needs (protobuf-c reads up to five
     * bytes of one; the walk, rule 3, only the shortest) */
    pos = 0;
    static const uint8_t long_length[] = {0x0a, 0x81, 0x00, 0x08};
    CHECK_INT(hub_gather_next(long_length, sizeof long_length, &pos, &frame, &frame_len, err), -1);
    CHECK_HAS(err, "not written short");
    const uint8_t *body;
    size_t body_len;
    static const uint8_t long_body[] = {0x82, 0x02, 0x82, 0x00, 0x0a, 0x00};
    CHECK_INT(hub_gather_body(long_body, sizeof long_body, &body, &body_len), 0);

    static const uint8_t huge[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_INT(hub_gather_next(huge, sizeof huge, &pos, &frame, &frame_len, err), -1);
    CHECK_INT(hub_gather_next(huge, 0, &pos, &frame, &frame_len, err), 0);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"one frame goes as itself", test_one_alone},
        {"many frames, in order, of every length", test_many_in_order},
        {"real frames read back", test_real_frames},
        {"only the form written is recognised", test_body_recognised},
        {"the walk refuses what is not a frame", test_walk_refuses},
        {NULL, NULL},
    };
    return check_run(cases);
}
