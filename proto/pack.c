/*
 * pack - a message's fields in number order, as protobuf-c writes them.
 *
 * Rules:
 * 1. A field is written when protobuf-c writes it: an optional scalar when
 *    its has_ is set, a string or message when its pointer is, a oneof's
 *    member when the case names it (and its pointer is set), every item of
 *    a repeated field. A bool is written as 0 or 1, an enum as protobuf-c's
 *    int32 (ten bytes when negative), an int64 as its bits.
 * 2. Room is made before each field is written, so that the buffer grows
 *    at most once per field and a failure leaves it as it was.
 */
#include <errno.h>
#include <string.h>

#include "pack.h"
#include "plan.h"

/* Makes room for more bytes in out. */
static int s_room(hub_buf_t *out, size_t more)
{
    return out->cap - out->len >= more ? 0 : hub_buf_reserve(out, more);
}

static void s_put_varint(hub_buf_t *out, uint64_t v)
{
    if (v < 0x80)
        out->data[out->len++] = (uint8_t)v;
    else
        out->len += hub_varint_put(out->data + out->len, v);
}

static int s_write(const hub_plan_t *plan, const ProtobufCMessage *msg, hub_buf_t *out, int depth);

/* Writes the field of slot s whose value is at (for a repeated field, the
 * item's pointer in the array). Returns 1, 0 (declined), -ENOMEM. */
static int s_field(const hub_plan_slot_t *s, const void *at, hub_buf_t *out, int depth)
{
    uint64_t v;
    switch (s->kind) {
    case HUB_PLAN_STRING: {
        const char *text = *(const char *const *)at;
        if (!text)
            return s->how == HUB_PLAN_ONEOF; /* protobuf-c writes nothing; a NULL item it cannot */
        size_t n = strlen(text);
        if (s_room(out, 20 + n) < 0)
            return -ENOMEM;
        s_put_varint(out, s->tag);
        s_put_varint(out, n);
        memcpy(out->data + out->len, text, n);
        out->len += n;
        return 1;
    }
    case HUB_PLAN_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)at;
        if (!sub)
            return s->how == HUB_PLAN_ONEOF;
        if (s_room(out, 11) < 0)
            return -ENOMEM;
        s_put_varint(out, s->tag);
        size_t head = out->len++; /* a byte for the length */
        int rc = s_write(s->sub, sub, out, depth + 1);
        if (rc <= 0)
            return rc;
        size_t n = out->len - head - 1;
        size_t width = hub_varint_size(n);
        if (width > 1) {
            if (s_room(out, width - 1) < 0)
                return -ENOMEM;
            memmove(out->data + head + width, out->data + head + 1, n);
            out->len += width - 1;
        }
        hub_varint_put(out->data + head, n);
        return 1;
    }
    case HUB_PLAN_BOOL:
        v = *(const protobuf_c_boolean *)at ? 1 : 0;
        break;
    case HUB_PLAN_ENUM:
        v = (uint64_t)(int64_t) * (const int32_t *)at;
        break;
    case HUB_PLAN_U32:
        v = *(const uint32_t *)at;
        break;
    case HUB_PLAN_U64:
        v = *(const uint64_t *)at;
        break;
    default:
        return 0;
    }
    if (s_room(out, 15) < 0)
        return -ENOMEM;
    s_put_varint(out, s->tag);
    s_put_varint(out, v);
    return 1;
}

static int s_write(const hub_plan_t *plan, const ProtobufCMessage *msg, hub_buf_t *out, int depth)
{
    if (!plan->writable || msg->n_unknown_fields || depth > HUB_PLAN_MAX_DEPTH)
        return 0;
    const char *base = (const char *)msg;
    for (uint32_t id = 1; id <= plan->max_id; id++) {
        const hub_plan_slot_t *s = &plan->slots[id];
        if (s->kind == HUB_PLAN_UNKNOWN)
            continue;
        size_t count;
        switch (s->how) {
        case HUB_PLAN_PRESENT:
            count = *(const void *const *)(base + s->offset) != NULL;
            break;
        case HUB_PLAN_OPTIONAL:
            count = *(const protobuf_c_boolean *)(base + s->qoff) != 0;
            break;
        case HUB_PLAN_ONEOF:
            count = *(const uint32_t *)(base + s->qoff) == s->id;
            break;
        default:
            count = *(const size_t *)(base + s->qoff);
            break;
        }
        if (count == 0)
            continue;
        if (s->how != HUB_PLAN_REPEATED) {
            int rc = s_field(s, base + s->offset, out, depth);
            if (rc <= 0)
                return rc;
            continue;
        }
        const void *const *items = *(const void *const *const *)(base + s->offset);
        for (size_t i = 0; i < count; i++) {
            int rc = s_field(s, &items[i], out, depth);
            if (rc <= 0)
                return rc;
        }
    }
    return 1;
}

int hub_pack(const ProtobufCMessage *msg, hub_buf_t *out)
{
    const hub_plan_t *plan = hub_plan_of(msg->descriptor);
    if (!plan)
        return 0;
    size_t len = out->len;
    int rc = s_write(plan, msg, out, 0);
    if (rc <= 0)
        out->len = len;
    return rc;
}
