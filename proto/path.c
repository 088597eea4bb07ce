/*
 * path - dotted paths into a message, resolved once against the protobuf-c
 * descriptors and then read from any message of that type.
 *
 * Rules:
 *   1. A path is field names joined by '.', at most HUB_PATH_MAX_DEPTH of
 *      them. Every name but the last must be a message field (or a map,
 *      see 2); a repeated message field in the middle visits each element.
 *   2. A map field (protobuf-c 1.4 has no map flag: a repeated message whose
 *      type is a *Entry with key = 1 and value = 2) takes exactly one more
 *      part, the key ("attributes.order_id"), and ends the path.
 *   3. Presence: an unset optional string or message is NULL; an optional
 *      scalar has its has_ flag (or oneof case) unset; an enum at its zero
 *      value (the UNSPECIFIED of every enum in hub.proto) counts as unset
 *      too. A missing field visits nothing, so it never equals any value.
 *   4. Values are text: strings as they are, enums by their JSON name
 *      (SEVERITY_HIGH -> "high"), numbers in decimal, bools as true/false,
 *      a present message as "". Bytes fields cannot be read as text and are
 *      refused when the path is resolved.
 *   5. Reading never allocates: numbers and enum names are written to a
 *      buffer on the stack, valid only during the callback.
 */
#include "path.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define S_TEXT_LEN 64 /* room for a number or an enum's JSON name */

/* Shortest of %.{digits}g and %.17g that reads back as the same double. */
static void s_format_double(double value, int digits, char *out, size_t outlen)
{
    snprintf(out, outlen, "%.*g", digits, value);
    if (strtod(out, NULL) != value)
        snprintf(out, outlen, "%.17g", value);
}

/* Writes the scalar at member (a field of type field->type) as text.
 * Returns the text: member itself for strings, else out. */
static const char *s_scalar_text(const ProtobufCFieldDescriptor *field, const void *member, char *out, size_t outlen)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(out, outlen, "%" PRId32, *(const int32_t *)member);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(out, outlen, "%" PRIu32, *(const uint32_t *)member);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(out, outlen, "%" PRId64, *(const int64_t *)member);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(out, outlen, "%" PRIu64, *(const uint64_t *)member);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        s_format_double((double)*(const float *)member, 6, out, outlen);
        if ((float)strtod(out, NULL) != *(const float *)member)
            snprintf(out, outlen, "%.9g", (double)*(const float *)member);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        s_format_double(*(const double *)member, 15, out, outlen);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        snprintf(out, outlen, "%s", *(const protobuf_c_boolean *)member ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM:
        hub_enum_to_name(field->descriptor, *(const int *)member, out, outlen);
        break;
    case PROTOBUF_C_TYPE_STRING:
        return *(const char *const *)member;
    default: /* bytes and messages are not scalars */
        out[0] = '\0';
        break;
    }
    return out;
}

/* 1 when the single (not repeated) field is present in msg, by rule 3.
 * force: the field is a map entry's value, present with its entry. */
static int s_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, int force)
{
    const char *base = (const char *)msg;
    const void *member = base + field->offset;
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)(base + field->quantifier_offset) != field->id)
            return 0;
    } else if (!force && field->label == PROTOBUF_C_LABEL_OPTIONAL && field->type != PROTOBUF_C_TYPE_STRING &&
               field->type != PROTOBUF_C_TYPE_MESSAGE) {
        if (!*(const protobuf_c_boolean *)(base + field->quantifier_offset))
            return 0;
    }
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!*(const char *const *)member)
            return force;
        /* proto3 (no label): the empty string is the unset value */
        return field->label != PROTOBUF_C_LABEL_NONE || **(const char *const *)member;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const ProtobufCMessage *const *)member != NULL;
    case PROTOBUF_C_TYPE_ENUM:
        return *(const int *)member != 0;
    default:
        if (field->label == PROTOBUF_C_LABEL_NONE && !force) {
            char zero[sizeof(double)] = {0};
            return memcmp(member, zero, hub_type_size(field->type)) != 0;
        }
        return 1;
    }
}

/* State of one hub_path_values walk. */
typedef struct {
    const hub_path_t *path;
    hub_path_value_fn fn;
    void *arg;
    int count;   /* values visited */
    int stopped; /* fn asked to stop */
} s_walk_t;

/* Visits one value as text; notes when fn asks to stop. */
static void s_emit(s_walk_t *walk, const char *text)
{
    walk->count++;
    if (walk->fn && walk->fn(text ? text : "", walk->arg))
        walk->stopped = 1;
}

/* Visits the element at member (one value of field) at step of the path. */
static void s_visit_member(s_walk_t *walk, const ProtobufCFieldDescriptor *field, const void *member, size_t step);

/* Visits the entries of the map field of msg whose key is the path's key. */
static void s_visit_map(s_walk_t *walk, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    const char *base = (const char *)msg;
    size_t n = *(const size_t *)(base + field->quantifier_offset);
    const ProtobufCMessage *const *entries = *(const ProtobufCMessage *const *const *)(base + field->offset);
    const ProtobufCFieldDescriptor *kf = protobuf_c_message_descriptor_get_field(field->descriptor, 1);
    const ProtobufCFieldDescriptor *vf = protobuf_c_message_descriptor_get_field(field->descriptor, 2);
    /* The last entry with the key wins, as when protobuf merges a map. */
    const ProtobufCMessage *found = NULL;
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *entry = entries[i];
        if (!entry)
            continue;
        char text[S_TEXT_LEN];
        const void *kmember = (const char *)entry + kf->offset;
        const char *key = s_scalar_text(kf, kmember, text, sizeof text);
        if (key && strcmp(key, walk->path->map_key) == 0)
            found = entry;
    }
    if (!found || !s_present(found, vf, 1))
        return;
    const void *vmember = (const char *)found + vf->offset;
    if (vf->type == PROTOBUF_C_TYPE_STRING && !*(const char *const *)vmember) {
        s_emit(walk, ""); /* an entry without a value holds the default */
        return;
    }
    char text[S_TEXT_LEN];
    s_emit(walk, vf->type == PROTOBUF_C_TYPE_MESSAGE ? "" : s_scalar_text(vf, vmember, text, sizeof text));
}

/* Visits the values of path->fields[step] in msg and what follows it. */
static void s_visit(s_walk_t *walk, const ProtobufCMessage *msg, size_t step)
{
    const ProtobufCFieldDescriptor *field = walk->path->fields[step];
    const char *base = (const char *)msg;
    if (hub_field_is_map(field) && walk->path->has_map_key && step + 1 == walk->path->depth) {
        s_visit_map(walk, msg, field);
        return;
    }
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + field->quantifier_offset);
        const char *array = *(const char *const *)(base + field->offset);
        size_t size = hub_type_size(field->type);
        for (size_t i = 0; i < n && !walk->stopped; i++)
            s_visit_member(walk, field, array + i * size, step);
        return;
    }
    if (!s_present(msg, field, 0))
        return;
    s_visit_member(walk, field, base + field->offset, step);
}

static void s_visit_member(s_walk_t *walk, const ProtobufCFieldDescriptor *field, const void *member, size_t step)
{
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;
        if (!sub)
            return;
        if (step + 1 < walk->path->depth)
            s_visit(walk, sub, step + 1);
        else
            s_emit(walk, "");
        return;
    }
    if (field->type == PROTOBUF_C_TYPE_STRING && !*(const char *const *)member)
        return; /* a NULL element of a repeated string: nothing to compare */
    if (field->type == PROTOBUF_C_TYPE_ENUM && *(const int *)member == 0)
        return; /* rule 3 */
    char text[S_TEXT_LEN];
    s_emit(walk, s_scalar_text(field, member, text, sizeof text));
}

int hub_path_resolve(const ProtobufCMessageDescriptor *desc, const char *text, hub_path_t *out, char err[HUB_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    if (!text || !*text) {
        snprintf(err, HUB_ERR_LEN, "empty path");
        return -HUB_EINVALID;
    }
    const ProtobufCMessageDescriptor *at = desc;
    const char *p = text;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char name[HUB_PATH_MAX_KEY];
        if (len == 0) {
            snprintf(err, HUB_ERR_LEN, "empty field name in \"%.128s\"", text);
            return -HUB_EINVALID;
        }
        if (!at) {
            snprintf(err, HUB_ERR_LEN, "\"%.64s\" is not a message, so \"%.128s\" goes nowhere",
                     out->fields[out->depth - 1]->name, text);
            return -HUB_EINVALID;
        }
        if (out->depth == HUB_PATH_MAX_DEPTH) {
            snprintf(err, HUB_ERR_LEN, "\"%.128s\" has more than %d parts", text, HUB_PATH_MAX_DEPTH);
            return -HUB_EINVALID;
        }
        const ProtobufCFieldDescriptor *field = NULL;
        if (len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            field = protobuf_c_message_descriptor_get_field_by_name(at, name);
        }
        if (!field) {
            snprintf(err, HUB_ERR_LEN, "unknown field \"%.*s\" in \"%.128s\"", (int)(len > 64 ? 64 : len), p, text);
            return -HUB_EINVALID;
        }
        if (field->type == PROTOBUF_C_TYPE_BYTES) {
            snprintf(err, HUB_ERR_LEN, "\"%.64s\" holds bytes, which cannot be compared as text", field->name);
            return -HUB_EINVALID;
        }
        out->fields[out->depth++] = field;
        if (hub_field_is_map(field)) {
            if (!dot || !dot[1]) {
                snprintf(err, HUB_ERR_LEN, "\"%.64s\" is a map: name one key, as in \"%.64s.KEY\"", field->name,
                         field->name);
                return -HUB_EINVALID;
            }
            const char *key = dot + 1;
            size_t klen = strlen(key);
            if (strchr(key, '.')) {
                snprintf(err, HUB_ERR_LEN, "\"%.64s\" is a map: name exactly one key after it, not \"%.64s\"",
                         field->name, key);
                return -HUB_EINVALID;
            }
            if (klen >= HUB_PATH_MAX_KEY) {
                snprintf(err, HUB_ERR_LEN, "map key in \"%.64s...\" is over %d bytes", text, HUB_PATH_MAX_KEY - 1);
                return -HUB_EINVALID;
            }
            memcpy(out->map_key, key, klen + 1);
            out->has_map_key = 1;
            return 0;
        }
        if (!dot)
            return 0;
        at = field->type == PROTOBUF_C_TYPE_MESSAGE ? field->descriptor : NULL;
        p = dot + 1;
    }
}

int hub_path_values(const ProtobufCMessage *msg, const hub_path_t *path, hub_path_value_fn fn, void *arg)
{
    if (!msg || !path || path->depth == 0)
        return 0;
    /* A path resolved against another type would read the wrong memory. */
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (path->fields[0] < desc->fields || path->fields[0] >= desc->fields + desc->n_fields)
        return 0;
    s_walk_t walk = {.path = path, .fn = fn, .arg = arg};
    s_visit(&walk, msg, 0);
    return walk.count;
}
