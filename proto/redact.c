/*
 * redact - keep only some fields of a packed message, on the wire bytes.
 *
 * Rules:
 * 1. Nothing is unpacked into structs: the walk reads each field's tag and
 *    extent and copies the bytes of the fields kept, in the order they come.
 * 2. A field is kept whole when its name is in keep; when keep holds
 *    dotted paths into it ("customer.name"), the sub-message's bytes are
 *    redacted in turn with the rest of those paths and written back with a
 *    new length. A sub-message with nothing left is left out.
 * 3. Every field is checked as it is walked: a tag with a bad field number
 *    or wire type (groups included, which hub.proto does not use), a varint
 *    over 10 bytes or a length past the end is -HUB_EMALFORMED, and out is
 *    then left empty. Kept sub-messages are walked too; fields copied whole
 *    are checked only for their extent.
 * 4. Fields the descriptor does not know are never kept (except with
 *    nkeep == 0, which copies everything after the walk has checked it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"

#define S_MAX_FIELD_NUMBER 536870911 /* 2^29 - 1 */

enum {
    S_WIRE_VARINT = 0,
    S_WIRE_64BIT = 1,
    S_WIRE_LEN = 2,
    S_WIRE_START_GROUP = 3,
    S_WIRE_END_GROUP = 4,
    S_WIRE_32BIT = 5,
};

/* Reads a varint at *pos (< len), moving *pos past it. Returns 0, or
 * -HUB_EMALFORMED. */
static int s_read_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *value_p)
{
    size_t n = hub_varint_get(data + *pos, data + len, value_p);
    *pos += n;
    return n ? 0 : -HUB_EMALFORMED;
}

/* How keep treats a field: not at all, whole, or only some subfields. */
typedef enum { S_DROP, S_KEEP_WHOLE, S_KEEP_PART } s_keep_t;

static s_keep_t s_keep_of(const char *name, const char *const *keep, size_t nkeep)
{
    size_t nlen = strlen(name);
    s_keep_t how = S_DROP;
    for (size_t i = 0; i < nkeep; i++) {
        if (strncmp(keep[i], name, nlen) != 0)
            continue;
        if (keep[i][nlen] == '\0')
            return S_KEEP_WHOLE;
        if (keep[i][nlen] == '.' && keep[i][nlen + 1] != '\0')
            how = S_KEEP_PART;
    }
    return how;
}

static int s_redact(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                    const char *const *keep, size_t nkeep, hub_buf_t *out);

/* Writes field (tag, then the sub-message at sub, sub_len bytes) with only
 * the subfields named under "name." in keep. */
static int s_redact_part(const ProtobufCFieldDescriptor *f, uint64_t tag, const uint8_t *sub, size_t sub_len,
                         const char *const *keep, size_t nkeep, hub_buf_t *out)
{
    /* The sub-paths without "name.": a small array on the stack when it
     * fits, as keep lists are short. */
    size_t nlen = strlen(f->name), nsub = 0;
    const char *stack[32] = {0};
    const char **subkeep = stack;
    if (nkeep > sizeof stack / sizeof stack[0]) {
        subkeep = malloc(nkeep * sizeof *subkeep);
        if (!subkeep)
            return -ENOMEM;
    }
    for (size_t i = 0; i < nkeep; i++) {
        if (strncmp(keep[i], f->name, nlen) == 0 && keep[i][nlen] == '.' && keep[i][nlen + 1] != '\0')
            subkeep[nsub++] = keep[i] + nlen + 1;
    }

    /* Redact straight into out after the current end, then move the bytes
     * up to make room for the tag and length in front of them. */
    size_t start = out->len;
    int rc = s_redact(f->descriptor, sub, sub_len, subkeep, nsub, out);
    if (subkeep != stack)
        free(subkeep);
    if (rc < 0)
        return rc;
    size_t body = out->len - start;
    if (body == 0)
        return 0; /* nothing of it kept */
    size_t head = hub_varint_size(tag) + hub_varint_size(body);
    if ((rc = hub_buf_reserve(out, head)) < 0)
        return rc;
    memmove(out->data + start + head, out->data + start, body);
    out->len = start;
    hub_buf_append_varint(out, tag);
    hub_buf_append_varint(out, body);
    out->len = start + head + body;
    return 0;
}

/* Appends the kept fields of data to out. With nkeep == 0, checks the
 * fields and copies them all. */
static int s_redact(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                    const char *const *keep, size_t nkeep, hub_buf_t *out)
{
    size_t pos = 0;
    while (pos < len) {
        size_t field_start = pos;
        uint64_t tag, value;
        if (s_read_varint(data, len, &pos, &tag) < 0)
            return -HUB_EMALFORMED;
        uint64_t number = tag >> 3;
        unsigned wire = (unsigned)(tag & 7);
        if (number == 0 || number > S_MAX_FIELD_NUMBER)
            return -HUB_EMALFORMED;
        size_t value_start = pos, value_len = 0;
        switch (wire) {
        case S_WIRE_VARINT:
            if (s_read_varint(data, len, &pos, &value) < 0)
                return -HUB_EMALFORMED;
            break;
        case S_WIRE_64BIT:
            if (len - pos < 8)
                return -HUB_EMALFORMED;
            pos += 8;
            break;
        case S_WIRE_32BIT:
            if (len - pos < 4)
                return -HUB_EMALFORMED;
            pos += 4;
            break;
        case S_WIRE_LEN:
            if (s_read_varint(data, len, &pos, &value) < 0 || value > len - pos)
                return -HUB_EMALFORMED;
            value_start = pos;
            value_len = (size_t)value;
            pos += value_len;
            break;
        default: /* groups (3, 4) and the unused 6, 7 */
            return -HUB_EMALFORMED;
        }

        s_keep_t how = S_KEEP_WHOLE;
        if (nkeep) {
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, (unsigned)number);
            how = f ? s_keep_of(f->name, keep, nkeep) : S_DROP;
            if (how == S_KEEP_PART) {
                if (f->type != PROTOBUF_C_TYPE_MESSAGE || wire != S_WIRE_LEN) {
                    how = S_DROP; /* "name.sub" of a field that has no subfields */
                } else {
                    int rc = s_redact_part(f, tag, data + value_start, value_len, keep, nkeep, out);
                    if (rc < 0)
                        return rc;
                    continue;
                }
            }
        }
        if (how == S_KEEP_WHOLE) {
            int rc = hub_buf_append(out, data + field_start, pos - field_start);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int hub_redact(const ProtobufCMessageDescriptor *desc, const uint8_t *packed, size_t len,
               const char *const *keep, size_t nkeep, hub_buf_t *out)
{
    hub_buf_reset(out);
    int rc = s_redact(desc, packed, len, keep, nkeep, out);
    if (rc < 0)
        hub_buf_reset(out);
    return rc;
}
