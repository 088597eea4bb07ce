/*
 * unpack - one pass over a frame's bytes into the structs protobuf-c
 * would fill, guided by the plans of its messages (plan.h).
 *
 * Rules:
 * 1. Read only where the answer is protobuf-c's: a field is stored as
 *    protobuf-c stores it (strings NUL-terminated copies, messages built
 *    with their init function, has_ flags and oneof cases set), and every
 *    case where protobuf-c does something else (merges a message given
 *    twice, keeps unknown fields, truncates a varint, refuses a tag or a
 *    length written in more than five bytes, reads packed arrays) is
 *    declined rather than imitated.
 * 2. Memory comes from the caller's allocator in blocks and is handed out
 *    from them by a bump: protobuf-c asks the allocator for every string.
 * 3. A repeated field's array grows in place of the one before it, to
 *    twice its size from 8 on: its count says when it is full, so nothing
 *    is kept beside the message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "plan.h"
#include "unpack.h"

#define S_FIRST_CAP 8 /* items of a repeated field's first array */
#define S_ALIGN _Alignof(max_align_t)

/* Where memory is handed out from (rule 2). */
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

/* Reads a varint at *p (before end) into *v, moving *p past it. Returns
 * 1, or 0 when the bytes end first or it does not fit in 64 bits (a tenth
 * byte over 1, whose bits protobuf-c would drop). Most are one byte. */
static inline int s_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (*p < end && **p < 0x80) {
        *v = *(*p)++;
        return 1;
    }
    size_t n = hub_varint_get(*p, end, v);
    if (!n || (n == 10 && (*p)[9] > 1))
        return 0;
    *p += n;
    return 1;
}

#define S_HEAD_MAX 5 /* bytes protobuf-c reads of a tag or a length, at most */

/* s_varint for a field's tag or a length: protobuf-c refuses either when
 * it takes more than S_HEAD_MAX bytes (however small its value), so this
 * declines those too. */
static inline int s_head(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *at = *p;
    return s_varint(p, end, v) && *p - at <= S_HEAD_MAX;
}

/* The place for the next item of repeated field s of the message at base
 * (rule 3): NULL when memory runs out. */
static void **s_push(char *base, const hub_plan_slot_t *s, s_mem_t *m)
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
static int s_read(const hub_plan_t *plan, const uint8_t *p, const uint8_t *end, s_mem_t *m, ProtobufCMessage **out,
                  int depth)
{
    if (depth > HUB_PLAN_MAX_DEPTH)
        return 0;
    char *base = s_take(m, plan->desc->sizeof_message, S_ALIGN);
    if (!base)
        return -ENOMEM;
    plan->desc->message_init((ProtobufCMessage *)base);
    *out = (ProtobufCMessage *)base;
    uint64_t seen = 0;
    while (p < end) {
        uint64_t tag, v;
        if (!s_head(&p, end, &tag) || (tag >> 3) > HUB_PLAN_MAX_NUMBER)
            return 0;
        const hub_plan_slot_t *s = &plan->slots[tag >> 3];
        if (s->kind == HUB_PLAN_UNKNOWN || s->kind == HUB_PLAN_DECLINE || tag != s->tag)
            return 0; /* unknown (protobuf-c keeps it), or not of its wire type */
        void *slot;
        if (s->how == HUB_PLAN_REPEATED) {
            if (!(slot = s_push(base, s, m)))
                return -ENOMEM;
        } else {
            uint64_t bit = (uint64_t)1 << s->bit;
            if ((seen & bit) || (s->how == HUB_PLAN_ONEOF && *(uint32_t *)(base + s->qoff) != 0))
                return 0; /* given twice, or a second member of its oneof */
            seen |= bit;
            slot = base + s->offset;
        }
        if (s->kind == HUB_PLAN_STRING || s->kind == HUB_PLAN_MESSAGE) {
            if (!s_head(&p, end, &v) || v > (uint64_t)(end - p))
                return 0;
            if (s->kind == HUB_PLAN_MESSAGE) {
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
            if (!s_varint(&p, end, &v))
                return 0;
            switch (s->kind) {
            case HUB_PLAN_BOOL:
                if (v > 1)
                    return 0;
                *(protobuf_c_boolean *)slot = (protobuf_c_boolean)v;
                break;
            case HUB_PLAN_ENUM:
                if (v > INT32_MAX)
                    return 0;
                *(int32_t *)slot = (int32_t)v;
                break;
            case HUB_PLAN_U32:
                if (v > UINT32_MAX)
                    return 0;
                *(uint32_t *)slot = (uint32_t)v;
                break;
            default:
                *(uint64_t *)slot = v;
                break;
            }
            if (s->how == HUB_PLAN_OPTIONAL)
                *(protobuf_c_boolean *)(base + s->qoff) = 1;
        }
        if (s->how == HUB_PLAN_ONEOF)
            *(uint32_t *)(base + s->qoff) = s->id;
    }
    return 1;
}

int hub_unpack_frame(const uint8_t *data, size_t len, ProtobufCAllocator *alloc, Hub__Frame **out)
{
    *out = NULL;
    const hub_plan_t *plan = hub_plan_of(&hub__frame__descriptor);
    if (!plan)
        return 0;
    s_mem_t mem = {NULL, NULL, len * 2 + 256, alloc};
    ProtobufCMessage *msg = NULL;
    int rc = s_read(plan, data, data + len, &mem, &msg, 0);
    if (rc == 1)
        *out = (Hub__Frame *)msg;
    return rc;
}
