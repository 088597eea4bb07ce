/*
 * plan - protobuf-c's message descriptors made once per process into
 * tables by field number, for the one-pass reader (unpack.h) and writer
 * (pack.h) of the messages a Frame can hold.
 *
 * A plan's slots are indexed by field number (every hub message numbers
 * its fields up to 32). A field of a kind neither reads nor writes (double,
 * bytes, int32, a repeated scalar, required, proto3's none) has a slot that
 * says so: the reader and the writer decline a message that uses it, and
 * protobuf-c takes over.
 */
#ifndef HUB_PLAN_H_INCLUDED
#define HUB_PLAN_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define HUB_PLAN_MAX_NUMBER 32 /* field numbers a plan has a slot for */
#define HUB_PLAN_MAX_DEPTH 16  /* messages inside messages, read or written */

/* What a field holds; the first two decline. */
enum { HUB_PLAN_UNKNOWN = 0, HUB_PLAN_DECLINE, HUB_PLAN_STRING, HUB_PLAN_MESSAGE, HUB_PLAN_BOOL, HUB_PLAN_ENUM,
       HUB_PLAN_U32, HUB_PLAN_U64 };

/* How its presence shows. */
enum {
    HUB_PLAN_PRESENT,  /* optional string or message: a pointer that is set */
    HUB_PLAN_OPTIONAL, /* optional scalar: its has_ flag */
    HUB_PLAN_ONEOF,    /* a member of a oneof: the oneof's case */
    HUB_PLAN_REPEATED  /* the count and the array */
};

typedef struct hub_plan hub_plan_t;

typedef struct {
    uint8_t kind, how;
    uint8_t bit;             /* the field's index in its message: a bit in a seen mask */
    uint32_t id;             /* field number (a oneof's case) */
    uint32_t tag;            /* its wire tag: number and wire type */
    size_t offset, qoff;     /* of the value; of its has_, case or count */
    const hub_plan_t *sub;   /* messages: the plan of their type */
} hub_plan_slot_t;

struct hub_plan {
    const ProtobufCMessageDescriptor *desc;
    int writable;            /* 0: a field beyond the slots, or with a default */
    uint32_t max_id;         /* the largest field number with a slot */
    hub_plan_slot_t slots[HUB_PLAN_MAX_NUMBER + 1];
};

/* The plan of messages of desc; NULL when there is none (a message no
 * Frame holds, or no room for its plan). Thread-safe. */
const hub_plan_t *hub_plan_of(const ProtobufCMessageDescriptor *desc);

#endif
