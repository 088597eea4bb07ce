/*
 * pack - writes a message of any type a Frame can hold in one pass, by
 * its plan (plan.h), to the bytes protobuf_c_message_pack writes for it.
 *
 * protobuf-c measures every message inside another once for each message
 * around it (an Event in a Publish frame four times) before it writes
 * anything. This writer leaves one byte for a message's length, writes the
 * message after it, and moves the message along in the rare case that its
 * length takes more.
 *
 * It declines a message with unknown fields, a field of a kind its plan
 * does not write, or a NULL item in a repeated field; the caller then asks
 * protobuf-c.
 *
 * The three messages the hub writes most keep their packers by hand in
 * codec.c (an event's routing, a delivery's notification, an Ack frame):
 * a third to eight times cheaper still than this writer's walk of the
 * plan (a four-route routing: 2,000 instructions against 3,000).
 */
#ifndef HUB_PACK_H_INCLUDED
#define HUB_PACK_H_INCLUDED

#include <protobuf-c/protobuf-c.h>

#include "buf.h"

/* Appends msg packed to out. Returns 1; 0 when it declines, or -ENOMEM
 * (out is as it was, in both cases). */
int hub_pack(const ProtobufCMessage *msg, hub_buf_t *out);

#endif
