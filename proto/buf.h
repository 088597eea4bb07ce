/*
 * buf - a growable byte buffer, reused across messages so that the hot path
 * does not allocate per frame.
 */
#ifndef HUB_BUF_H_INCLUDED
#define HUB_BUF_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
} hub_buf_t;

#define HUB_BUF_INIT {NULL, 0, 0}

/* Makes room for 'more' bytes after len. Returns 0 or -ENOMEM (the buffer is
 * unchanged then). */
int hub_buf_reserve(hub_buf_t *self, size_t more);

/* Appends bytes. Returns 0 or -ENOMEM. */
int hub_buf_append(hub_buf_t *self, const void *data, size_t len);

#define HUB_I64_TEXT 24 /* bytes for any int64_t in decimal, with its sign and a NUL */

/* Writes value in decimal at the end of out (HUB_I64_TEXT bytes, NUL at
 * the last one), without printf: several numbers go into every audit row.
 * Returns where the text starts, inside out. */
const char *hub_i64_text(int64_t value, char out[HUB_I64_TEXT]);

/* Bytes a protobuf base-128 varint of value takes (1 to 10). */
size_t hub_varint_size(uint64_t value);

/* Writes a protobuf base-128 varint at p, which has room for
 * hub_varint_size(value) bytes. Returns the bytes written. */
size_t hub_varint_put(uint8_t *p, uint64_t value);

/* Reads a protobuf base-128 varint at p (before end) into *value: the one
 * reader of them, as hub_varint_put is the one writer. Returns its bytes
 * (1 to 10), or 0 when the bytes end first or it runs past ten. Bits of a
 * tenth byte beyond 64 are dropped, as protobuf-c drops them. */
size_t hub_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *value);

/* Appends a protobuf base-128 varint. Returns 0 or -ENOMEM. */
int hub_buf_append_varint(hub_buf_t *self, uint64_t value);

/* Empties the buffer, keeping its memory. */
void hub_buf_reset(hub_buf_t *self);

/* Frees the memory; the buffer is empty and reusable afterwards. */
void hub_buf_fini(hub_buf_t *self);

#endif
