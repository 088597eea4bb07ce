/*
 * gather - several frames of one client in one message (see gather.h).
 */
#include "gather.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S_TAG_FRAMES_0 0x82 /* Frame.frames: field 32, length-delimited: (32 << 3) | 2 as a varint */
#define S_TAG_FRAMES_1 0x02
#define S_TAG_FRAME 0x0a /* Frames.frame: field 1, length-delimited */
#define S_HEAD 12        /* room for the head: the two-byte tag and a length of up to ten */

int hub_gather_add(hub_gather_t *self, const uint8_t *frame, size_t len)
{
    size_t at = self->buf.len ? self->buf.len : S_HEAD;
    if (hub_buf_reserve(&self->buf, at - self->buf.len + 1 + hub_varint_size(len) + len) != 0)
        return -ENOMEM;
    uint8_t *p = self->buf.data + at;
    *p++ = S_TAG_FRAME;
    p += hub_varint_put(p, len);
    if (len)
        memcpy(p, frame, len);
    self->buf.len = (size_t)(p - self->buf.data) + len;
    if (self->count++ == 0)
        self->first_len = len;
    return 0;
}

size_t hub_gather_count(const hub_gather_t *self)
{
    return self->count;
}

size_t hub_gather_size_with(const hub_gather_t *self, size_t len)
{
    size_t body = (self->buf.len ? self->buf.len - S_HEAD : 0) + 1 + hub_varint_size(len) + len;
    return 2 + hub_varint_size(body) + body;
}

void hub_gather_seal(hub_gather_t *self, const uint8_t **msg, size_t *len)
{
    if (self->count == 1) {
        /* rule 1: the frame is after its own tag and length */
        *len = self->first_len;
        *msg = self->buf.data + self->buf.len - self->first_len;
        return;
    }
    size_t body = self->buf.len - S_HEAD;
    size_t head = 2 + hub_varint_size(body);
    uint8_t *p = self->buf.data + S_HEAD - head;
    p[0] = S_TAG_FRAMES_0;
    p[1] = S_TAG_FRAMES_1;
    hub_varint_put(p + 2, body);
    *msg = p;
    *len = head + body;
}

void hub_gather_reset(hub_gather_t *self)
{
    hub_buf_reset(&self->buf);
    self->count = 0;
    self->first_len = 0;
}

void hub_gather_fini(hub_gather_t *self)
{
    hub_buf_fini(&self->buf);
    self->count = 0;
    self->first_len = 0;
}

int hub_gather_body(const uint8_t *msg, size_t len, const uint8_t **body, size_t *body_len)
{
    if (len < 3 || msg[0] != S_TAG_FRAMES_0 || msg[1] != S_TAG_FRAMES_1)
        return 0;
    uint64_t n;
    size_t got = hub_varint_get(msg + 2, msg + len, &n);
    if (got == 0 || got != hub_varint_size(n) || n != len - 2 - got)
        return 0;
    *body = msg + 2 + got;
    *body_len = (size_t)n;
    return 1;
}

int hub_gather_next(const uint8_t *body, size_t len, size_t *pos, const uint8_t **frame, size_t *frame_len,
                    char err[HUB_ERR_LEN])
{
    if (*pos >= len)
        return 0;
    const uint8_t *p = body + *pos, *end = body + len;
    if (*p != S_TAG_FRAME) {
        snprintf(err, HUB_ERR_LEN, "frames: byte %zu is not the tag of a frame (0x%02x)", *pos, *p);
        return -1;
    }
    uint64_t n;
    size_t got = hub_varint_get(p + 1, end, &n);
    if (got == 0 || n > (uint64_t)(end - p - 1 - got)) {
        snprintf(err, HUB_ERR_LEN, "frames: the frame at byte %zu runs past the message's end", *pos);
        return -1;
    }
    if (got != hub_varint_size(n)) {
        snprintf(err, HUB_ERR_LEN, "frames: the length of the frame at byte %zu is not written short", *pos);
        return -1;
    }
    *frame = p + 1 + got;
    *frame_len = (size_t)n;
    *pos += 1 + got + (size_t)n;
    return 1;
}
