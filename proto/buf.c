/*
 * buf - a growable byte buffer.
 *
 * The buffer grows by doubling and never shrinks until hub_buf_fini, so a
 * buffer reused for every frame stops allocating once it has seen the
 * largest one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define S_MIN_CAP 64 /* first allocation, bytes */

int hub_buf_reserve(hub_buf_t *self, size_t more)
{
    if (more > SIZE_MAX - self->len)
        return -ENOMEM;
    size_t need = self->len + more;
    if (need <= self->cap)
        return 0;
    size_t cap = self->cap ? self->cap : S_MIN_CAP;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *data = realloc(self->data, cap);
    if (!data)
        return -ENOMEM;
    self->data = data;
    self->cap = cap;
    return 0;
}

int hub_buf_append(hub_buf_t *self, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    int rc = hub_buf_reserve(self, len);
    if (rc < 0)
        return rc;
    memcpy(self->data + self->len, data, len);
    self->len += len;
    return 0;
}

const char *hub_i64_text(int64_t value, char out[HUB_I64_TEXT])
{
    size_t i = HUB_I64_TEXT - 1;
    uint64_t v = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    out[i] = '\0';
    do {
        out[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (value < 0)
        out[--i] = '-';
    return out + i;
}

size_t hub_varint_size(uint64_t value)
{
    size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        n++;
    }
    return n;
}

size_t hub_varint_put(uint8_t *p, uint64_t value)
{
    size_t n = 0;
    while (value >= 0x80) {
        p[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    p[n++] = (uint8_t)value;
    return n;
}

size_t hub_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *value)
{
    uint64_t v = 0;
    for (size_t n = 0; n < 10 && p + n < end; n++) {
        v |= (uint64_t)(p[n] & 0x7f) << (7 * n);
        if (!(p[n] & 0x80)) {
            *value = v;
            return n + 1;
        }
    }
    return 0;
}

int hub_buf_append_varint(hub_buf_t *self, uint64_t value)
{
    uint8_t tmp[10];
    return hub_buf_append(self, tmp, hub_varint_put(tmp, value));
}

void hub_buf_reset(hub_buf_t *self)
{
    self->len = 0;
}

void hub_buf_fini(hub_buf_t *self)
{
    free(self->data);
    self->data = NULL;
    self->len = 0;
    self->cap = 0;
}
