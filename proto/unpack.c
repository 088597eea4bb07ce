/*
 * unpack - one pass over a frame's bytes into the structs protobuf-c
 * would fill, guided by plans made once from protobuf-c's descriptors.
 *
 * Rules:
 * 1. Read only where the answer is protobuf-c's: a field is stored as
 *    protobuf-c stores it (strings NUL-terminated copies, messages built
 *    with their init function, has_ flags and oneof cases set), and every
 *    case where protobuf-c does something else (merges a message given
 *    twice, keeps unknown fields, truncates a varint, reads packed arrays)
 *    is declined rather than imitated.
 * 2. A plan is a message's fields by number (every hub message numbers
 *    its fields below 32), made for every message a Frame can hold, once
 *    per process. A field protobuf-c's descriptor marks in a way not read
 *    here gets a slot that declines.
 * 3. Memory comes from the caller's allocator in blocks and is handed out
 *    from them by a bump: protobuf-c asks the allocator for every string.
 * 4. A repeated field's array grows in place of the one before it, to
 *    twice its size from 8 on: its count says when it is full, so nothing
 *    is kept beside the message.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unpack.h"

#define S_MAX_NUMBER 31 /* field numbers a plan has a slot for */
#define S_MAX_PLANS 96  /* message types a Frame can hold (about 40) */
#define S_MAX_FIELDS 64 /* fields of one message (a bit each in a seen mask) */
#define S_MAX_DEPTH 16  /* messages inside messages */
#define S_FIRST_CAP 8   /* items of a repeated field's first array */
#define S_ALIGN _Alignof(max_align_t)

enum { S_WIRE_VARINT = 0, S_WIRE_LEN = 2 };

/* What a field holds; the first two decline. */
enum { S_UNKNOWN = 0, S_DECLINE, S_STRING, S_MESSAGE, S_BOOL, S_ENUM, S_U32, S_U64 };

/* How its presence shows. */
enum {
    S_PRESENT,  /* optional string or message: a pointer that is set */
    S_OPTIONAL, /* optional scalar: its has_ flag */
    S_ONEOF,    /* a member of a oneof: the oneof's case */
    S_REPEATED  /* string or message: the count and the array */
};

typedef struct s_plan s_plan_t;

typedef struct {
    uint8_t kind, how;
    uint8_t bit;           /* the field's index: its bit in the seen mask */
    uint32_t id;           /* field number (a oneof's case) */
    size_t offset, qoff;   /* of the value; of its has_, case or count */
    const s_plan_t *sub;   /* messages: the plan of their type */
} s_slot_t;

struct s_plan {
    const ProtobufCMessageDescriptor *desc;
    s_slot_t slots[S_MAX_NUMBER + 1];
};

static s_plan_t s_plans[S_MAX_PLANS];
static size_t s_nplans;
static const s_plan_t *s_frame_plan;
static pthread_once_t s_plans_once = PTHREAD_ONCE_INIT;

static uint8_t s_kind(const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return f->type == PROTOBUF_C_TYPE_STRING    ? S_STRING
               : f->type == PROTOBUF_C_TYPE_MESSAGE ? S_MESSAGE
                                                    : S_DECLINE;
    if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
        return S_DECLINE; /* required, or proto3's none */
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return S_STRING;
    case PROTOBUF_C_TYPE_MESSAGE:
        return S_MESSAGE;
    case PROTOBUF_C_TYPE_BOOL:
        return S_BOOL;
    case PROTOBUF_C_TYPE_ENUM:
        return S_ENUM;
    case PROTOBUF_C_TYPE_UINT32:
        return S_U32;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_INT64:
        return S_U64; /* int64: the same bits */
    default:
        return S_DECLINE;
    }
}

static uint8_t s_how(const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return S_REPEATED;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return S_ONEOF;
    return f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE ? S_PRESENT : S_OPTIONAL;
}

/* The plan of desc, made with those of the messages it holds; NULL when
 * there is no room for it (its fields then decline). */
static const s_plan_t *s_plan_for(const ProtobufCMessageDescriptor *desc)
{
    for (size_t i = 0; i < s_nplans; i++)
        if (s_plans[i].desc == desc)
            return &s_plans[i];
    if (s_nplans == S_MAX_PLANS || desc->n_fields > S_MAX_FIELDS)
        return NULL;
    s_plan_t *plan = &s_plans[s_nplans++];
    plan->desc = desc; /* first: a message that holds its own type finds it */
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->id > S_MAX_NUMBER)
            continue; /* beyond the slots: its number declines */
        s_slot_t *s = &plan->slots[f->id];
        s->kind = s_kind(f);
        s->how = s_how(f);
        s->bit = (uint8_t)i;
        s->id = f->id;
        s->offset = f->offset;
        s->qoff = f->quantifier_offset;
        if (s->kind == S_MESSAGE && !(s->sub = s_plan_for(f->descriptor)))
            s->kind = S_DECLINE;
    }
    return plan;
}

static void s_plans_make(void)
{
    s_frame_plan = s_plan_for(&hub__frame__descriptor);
}

/* Where memory is handed out from (rule 3). */
typedef struct {
    char *next, *end;
    size_t block;
    ProtobufCAllocator *alloc;
} s_mem_t;

static void *s_take(s_mem_t *m, size_t size, size_t align)
{
    if (m->next) {
        uintptr_t at = ((uintptr_t)m->next + align - 1) & ~(uintptr_t)(align - 1);
        if (at <= (uintptr_t)m->end && size <= (uintptr_t)m->end - at) {
            m->next = (char *)at + size;
            return (void *)at;
        }
    }
    size_t want = size > m->block ? size : m->block;
    char *p = m->alloc->alloc(m->alloc->allocator_data, want);
    if (!p)
        return NULL;
    m->next = p + size;
    m->end = p + want;
    return p;
}

static int s_varint_long(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && q < end; shift += 7) {
        uint8_t b = *q++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (shift == 63 && b > 1)
                return 0; /* beyond 64 bits */
            *p = q;
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* Reads a varint at *p (before end) into *v. Returns 1, or 0 when the
 * bytes end first or it does not fit in 64 bits. */
static inline int s_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (*p < end && **p < 0x80) {
        *v = *(*p)++;
        return 1;
    }
    return s_varint_long(p, end, v);
}

/* The place for the next item of repeated field s of the message at base
 * (rule 4): NULL when memory runs out. */
static void **s_push(char *base, const s_slot_t *s, s_mem_t *m)
{
    size_t *n = (size_t *)(base + s->qoff);
    void ***items = (void ***)(base + s->offset);
    if (*n == 0 || (*n >= S_FIRST_CAP && (*n & (*n - 1)) == 0)) {
        size_t cap = *n == 0 ? S_FIRST_CAP : *n * 2;
        void **grown = s_take(m, cap * sizeof(void *), S_ALIGN);
        if (!grown)
            return NULL;
        if (*n)
            memcpy(grown, *items, *n * sizeof(void *));
        *items = grown;
    }
    return &(*items)[(*n)++];
}

/* Reads the bytes from p to end as a message of plan into *out. Returns
 * 1, 0 (declined), -ENOMEM. */
static int s_read(const s_plan_t *plan, const uint8_t *p, const uint8_t *end, s_mem_t *m, ProtobufCMessage **out,
                  int depth)
{
    if (depth > S_MAX_DEPTH)
        return 0;
    char *base = s_take(m, plan->desc->sizeof_message, S_ALIGN);
    if (!base)
        return -ENOMEM;
    plan->desc->message_init((ProtobufCMessage *)base);
    *out = (ProtobufCMessage *)base;
    uint64_t seen = 0;
    while (p < end) {
        uint64_t tag, v;
        if (!s_varint(&p, end, &tag) || (tag >> 3) > S_MAX_NUMBER)
            return 0;
        const s_slot_t *s = &plan->slots[tag >> 3];
        unsigned wire = (unsigned)(tag & 7);
        if (s->kind == S_UNKNOWN || s->kind == S_DECLINE)
            return 0; /* protobuf-c keeps unknown fields */
        void *slot;
        if (s->how == S_REPEATED) {
            if (!(slot = s_push(base, s, m)))
                return -ENOMEM;
        } else {
            uint64_t bit = (uint64_t)1 << s->bit;
            if ((seen & bit) || (s->how == S_ONEOF && *(uint32_t *)(base + s->qoff) != 0))
                return 0; /* given twice, or a second member of its oneof */
            seen |= bit;
            slot = base + s->offset;
        }
        if (s->kind == S_STRING || s->kind == S_MESSAGE) {
            if (wire != S_WIRE_LEN || !s_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return 0;
            if (s->kind == S_MESSAGE) {
                int rc = s_read(s->sub, p, p + v, m, (ProtobufCMessage **)slot, depth + 1);
                if (rc <= 0)
                    return rc;
            } else {
                char *text = s_take(m, v + 1, 1);
                if (!text)
                    return -ENOMEM;
                memcpy(text, p, v);
                text[v] = '\0';
                *(char **)slot = text;
            }
            p += v;
        } else {
            if (wire != S_WIRE_VARINT || !s_varint(&p, end, &v))
                return 0;
            switch (s->kind) {
            case S_BOOL:
                if (v > 1)
                    return 0;
                *(protobuf_c_boolean *)slot = (protobuf_c_boolean)v;
                break;
            case S_ENUM:
                if (v > INT32_MAX)
                    return 0;
                *(int32_t *)slot = (int32_t)v;
                break;
            case S_U32:
                if (v > UINT32_MAX)
                    return 0;
                *(uint32_t *)slot = (uint32_t)v;
                break;
            default:
                *(uint64_t *)slot = v;
                break;
            }
            if (s->how == S_OPTIONAL)
                *(protobuf_c_boolean *)(base + s->qoff) = 1;
        }
        if (s->how == S_ONEOF)
            *(uint32_t *)(base + s->qoff) = s->id;
    }
    return 1;
}

int hub_unpack_frame(const uint8_t *data, size_t len, ProtobufCAllocator *alloc, Hub__Frame **out)
{
    *out = NULL;
    pthread_once(&s_plans_once, s_plans_make);
    if (!s_frame_plan)
        return 0;
    s_mem_t mem = {NULL, NULL, len * 2 + 256, alloc};
    ProtobufCMessage *msg = NULL;
    int rc = s_read(s_frame_plan, data, data + len, &mem, &msg, 0);
    if (rc == 1)
        *out = (Hub__Frame *)msg;
    return rc;
}
