/*
 * gather - several frames of one client in one message (hub.Frames),
 * written and read in place: libhub gathers its pipelined publishes into
 * one message, and the hub walks it without copying a frame out.
 *
 * A message per publish costs each side a ZeroMQ message, and the sender
 * a wake-up of its I/O thread, for some three hundred bytes; gathered,
 * sixty-four publishes cost one of each.
 *
 * The form written is a hub.Frame holding its frames field (32) and
 * nothing else: the field's tag and length, then each frame as a
 * Frames.frame (tag 1, length, the frame's bytes). Any protobuf reader
 * reads it as a Frame whose body is a Frames.
 *
 * Rules:
 *   1. One frame gathered is sent as itself, not wrapped: a lone publish
 *      is the message it always was.
 *   2. Frames keep the order they were added in.
 *   3. hub_gather_body recognises exactly the form written; hub_gather_next
 *      walks only frames written as above, every length in its shortest
 *      form (as written; protobuf-c itself refuses lengths of more than
 *      five bytes). Anything else that protobuf reads as a Frames (other
 *      Frame fields around it, a longer tag or length) is left to the
 *      frame decoder, so what the hub handles is what protobuf-c reads
 *      from the same bytes.
 */
#ifndef HUB_GATHER_H_INCLUDED
#define HUB_GATHER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hub.h"

#define HUB_GATHER_FRAMES 64          /* frames libhub gathers into one message at most */
#define HUB_GATHER_BYTES (64 << 10)   /* ... and bytes, unless a frame alone is larger */
#define HUB_GATHER_HUB_FRAMES 256     /* frames the hub takes in one message (Welcome.frames) */

typedef struct {
    hub_buf_t buf;     /* room for the head, then each frame as a Frames.frame field */
    size_t count;      /* frames gathered */
    size_t first_len;  /* bytes of the first (rule 1) */
} hub_gather_t;

#define HUB_GATHER_INIT {HUB_BUF_INIT, 0, 0}

/* Adds a frame after the others. Returns 0, or -ENOMEM (nothing added). */
int hub_gather_add(hub_gather_t *self, const uint8_t *frame, size_t len);

/* Frames gathered. */
size_t hub_gather_count(const hub_gather_t *self);

/* Bytes of the message once a frame of len bytes is added too. */
size_t hub_gather_size_with(const hub_gather_t *self, size_t len);

/* The message of what is gathered (at least one frame; rule 1), valid
 * until the next add, reset or fini. */
void hub_gather_seal(hub_gather_t *self, const uint8_t **msg, size_t *len);

/* Forgets what is gathered, keeping the memory. */
void hub_gather_reset(hub_gather_t *self);

void hub_gather_fini(hub_gather_t *self);

/* 1 when the len bytes of msg are a Frames message in the form written
 * (rule 3), setting *body and *body_len to its frames field's contents;
 * 0 otherwise. */
int hub_gather_body(const uint8_t *msg, size_t len, const uint8_t **body, size_t *body_len);

/* The frame of body at *pos (0 for the first): returns 1, sets *frame and
 * *frame_len and moves *pos past it; 0 at the end of body; -1 with err
 * when what is at *pos is not a frame written as above. */
int hub_gather_next(const uint8_t *body, size_t len, size_t *pos, const uint8_t **frame, size_t *frame_len,
                    char err[HUB_ERR_LEN]);

#endif
