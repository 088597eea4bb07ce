/*
 * unpack - reads a hub.Frame's bytes straight into protobuf-c's structs,
 * in one pass: the frames every hub and client decodes on its busiest
 * paths (Publish, Deliver, Ack, PublishAcks) and most others.
 *
 * It reads what the hub's own encoders and libhub write: known fields of
 * the kinds string, message, bool, enum, 32- and 64-bit unsigned integers
 * and 64-bit signed ones, each non-repeated field at most once. It
 * declines anything else (an unknown field, a field given twice, a packed
 * or repeated scalar, a value protobuf-c would truncate, a tag or length
 * longer than protobuf-c reads, bytes that end too soon), and the caller
 * then asks protobuf-c, whose answer stands for
 * every input: what hub_unpack_frame reads is what protobuf_c_message_unpack
 * reads from the same bytes.
 */
#ifndef HUB_UNPACK_H_INCLUDED
#define HUB_UNPACK_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.pb-c.h"

/* Reads len bytes of data as a hub.Frame. Its memory comes from alloc in
 * blocks of about twice len, the frame at the start of the first. Nothing
 * allocated is freed again, on any return: give it an arena. Returns 1
 * and sets *out; 0 when it declines (ask protobuf-c); -ENOMEM when alloc
 * returned NULL. */
int hub_unpack_frame(const uint8_t *data, size_t len, ProtobufCAllocator *alloc, Hub__Frame **out);

#endif
