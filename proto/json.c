/*
 * json - protobuf <-> JSON, driven by the protobuf-c descriptors.
 *
 * Rules:
 * 1. Nothing here knows a field by name except hub_event_validate, which
 *    states what the hub requires of an event; the mapping itself walks
 *    the descriptors (a field added to hub.proto maps without code here).
 * 2. Messages filled from JSON own everything they point to, allocated the
 *    way protobuf-c's unpack does (malloc), so that
 *    protobuf_c_message_free_unpacked(msg, NULL) frees them whatever point
 *    a failure stopped at: a pointer is stored, and a count or oneof case
 *    set, before anything is put behind it.
 * 3. Errors name the field by its dotted path ("customer.tier",
 *    "tags[2]", "attributes.region") and say what was expected and got.
 * 4. Output: keys in field-number order, which is .proto order in
 *    hub.proto; unset fields, empty repeated fields and zero enum values are
 *    left out. 64-bit integers are JSON integers; a uint64 above INT64_MAX
 *    (which jansson cannot hold) is written as a decimal string, which the
 *    input side accepts back. A double that is not finite is written as
 *    "NaN", "Infinity" or "-Infinity".
 * 5. Strings written to JSON that are not valid UTF-8 (a wire message not
 *    yet validated) have each bad byte replaced by U+FFFD, so output is
 *    always valid JSON.
 * 6. bytes fields have no mapping (hub.proto has none): refused on input,
 *    left out on output.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "plain.h"

#define S_PATH_LEN 160  /* room for a field's dotted path in messages */
#define S_QUOTE_LEN 48  /* bytes of a bad value quoted back in messages */

/* Where the walk is: the dotted path for messages, and err. */
typedef struct {
    char path[S_PATH_LEN]; /* e.g. "customer.tier"; "" at the top */
    size_t len;            /* strlen(path), or S_PATH_LEN - 1 when cut */
    char *err;             /* the caller's err[HUB_ERR_LEN]; may be NULL */
    size_t max_len;        /* validation: bytes of one string at most (0: HUB_MAX_FIELD) */
} s_walk_t;

/* Bytes one string may have in the walk's validation. */
static size_t s_max_len(const s_walk_t *w)
{
    return w->max_len ? w->max_len : HUB_MAX_FIELD;
}

/* Appends ".name" (or "name" at the top, or "[index]" when name is NULL)
 * to the path. Returns the old length, for s_path_pop. */
static size_t s_path_push(s_walk_t *w, const char *name, size_t index)
{
    /* on every field of every event: copy, do not format */
    size_t old = w->len;
    size_t room = S_PATH_LEN - 1 - w->len;
    if (name) {
        if (w->len && room > 0) {
            w->path[w->len++] = '.';
            room--;
        }
        size_t n = strlen(name);
        if (n > room)
            n = room;
        memcpy(w->path + w->len, name, n);
        w->len += n;
        w->path[w->len] = '\0';
    } else {
        int n = snprintf(w->path + w->len, S_PATH_LEN - w->len, "[%zu]", index);
        w->len += n > 0 ? (size_t)n : 0;
        if (w->len >= S_PATH_LEN)
            w->len = S_PATH_LEN - 1;
    }
    /* keys come from the document: keep err one printable line */
    for (size_t i = old; i < w->len; i++) {
        unsigned char c = (unsigned char)w->path[i];
        if (c < 0x20 || c == 0x7f)
            w->path[i] = '?';
    }
    return old;
}

static void s_path_pop(s_walk_t *w, size_t old)
{
    w->len = old;
    w->path[old] = '\0';
}

/* Fills err with "path: message" and returns -HUB_EINVALID. */
__attribute__((format(printf, 2, 3))) static int s_fail(s_walk_t *w, const char *fmt, ...)
{
    if (!w->err)
        return -HUB_EINVALID;
    char what[HUB_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (w->len)
        snprintf(w->err, HUB_ERR_LEN, "%s: %s", w->path, what);
    else
        snprintf(w->err, HUB_ERR_LEN, "%s", what);
    return -HUB_EINVALID;
}

/* Copies text into out for quoting in a message: cut at S_QUOTE_LEN bytes
 * (at a character boundary, with "..."), control characters and '"' shown
 * as '?'. text must be valid UTF-8. */
static void s_quote(const char *text, char out[S_QUOTE_LEN + 4])
{
    size_t i = 0, len = strlen(text), cut = len;
    if (len > S_QUOTE_LEN) {
        cut = S_QUOTE_LEN;
        while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
            cut--;
    }
    for (; i < cut; i++) {
        char c = text[i];
        if ((unsigned char)c < 0x20 || c == 0x7f || c == '"')
            c = '?';
        out[i] = c;
    }
    if (cut < len) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* ------------------------------------------------------------ UTF-8 */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when the
 * bytes there are not one (overlong forms and surrogates included). */
static size_t s_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int s_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        /* eight ASCII bytes at a time, as most text is: with 64 KiB
         * bodies, checking byte by byte was 8% of hubd's time, now 2% */
        uint64_t word;
        if (len - i >= sizeof word) {
            memcpy(&word, p + i, sizeof word);
            if (!(word & 0x8080808080808080ULL)) {
                i += sizeof word;
                continue;
            }
        }
        size_t n = s_utf8_seq(p + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

/* A JSON string of s ("" for NULL: a map entry off the wire may lack its
 * key or value); bad UTF-8 bytes become U+FFFD. NULL on ENOMEM. */
static json_t *s_json_string(const char *s)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    if (s_utf8_valid(s, len))
        return json_stringn(s, len);
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *fixed = malloc(len * 3 + 1); /* each bad byte grows to 3 */
    if (!fixed)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_seq(p + i, len - i);
        if (n) {
            memcpy(fixed + o, p + i, n);
            o += n;
            i += n;
        } else {
            fixed[o++] = (char)0xef; /* U+FFFD in UTF-8 */
            fixed[o++] = (char)0xbf;
            fixed[o++] = (char)0xbd;
            i++;
        }
    }
    json_t *str = json_stringn(fixed, o);
    free(fixed);
    return str;
}

/* ------------------------------------------------------------ enums */

/* Writes the enum's value prefix: its short name in UPPER_SNAKE and '_'
 * ("ErrorCode" -> "ERROR_CODE_"). Returns its length, 0 if it did not fit. */
static size_t s_enum_prefix(const ProtobufCEnumDescriptor *desc, char *out, size_t outlen)
{
    const char *name = desc->short_name;
    size_t o = 0;
    for (size_t i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i > 0 && isupper(c)) {
            unsigned char prev = (unsigned char)name[i - 1], next = (unsigned char)name[i + 1];
            if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next))) {
                if (o + 1 >= outlen)
                    return 0;
                out[o++] = '_';
            }
        }
        if (o + 1 >= outlen)
            return 0;
        out[o++] = (char)toupper(c);
    }
    if (o + 2 > outlen)
        return 0;
    out[o++] = '_';
    out[o] = '\0';
    return o;
}

/* The JSON name of one enum value into out. Returns 0, or -1 if cut. */
static int s_enum_value_name(const ProtobufCEnumDescriptor *desc, const ProtobufCEnumValue *value, char *out,
                             size_t outlen)
{
    char prefix[HUB_ENUM_NAME_LEN];
    size_t plen = s_enum_prefix(desc, prefix, sizeof prefix);
    const char *name = value->name;
    if (plen && strncmp(name, prefix, plen) == 0 && name[plen])
        name += plen;
    size_t i;
    for (i = 0; name[i] && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    if (outlen)
        out[i] = '\0';
    return name[i] ? -1 : 0;
}

int hub_enum_to_name(const ProtobufCEnumDescriptor *desc, int value, char *out, size_t outlen)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (!v) {
        snprintf(out, outlen, "%d", value);
        return -HUB_EINVALID;
    }
    s_enum_value_name(desc, v, out, outlen);
    return 0;
}

int hub_enum_from_name(const ProtobufCEnumDescriptor *desc, const char *name, int *value_p)
{
    char candidate[HUB_ENUM_NAME_LEN];
    for (unsigned i = 0; i < desc->n_values; i++) {
        if (s_enum_value_name(desc, &desc->values[i], candidate, sizeof candidate) == 0 &&
            strcmp(candidate, name) == 0) {
            *value_p = desc->values[i].value;
            return 0;
        }
    }
    return -HUB_EINVALID;
}

/* The names a person may use, for messages: "low, medium, high, critical"
 * (a zero value named "unspecified" is accepted but not offered). */
static void s_enum_choices(const ProtobufCEnumDescriptor *desc, char *out, size_t outlen)
{
    char name[HUB_ENUM_NAME_LEN];
    size_t o = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < desc->n_values && o < outlen; i++) {
        s_enum_value_name(desc, &desc->values[i], name, sizeof name);
        if (desc->values[i].value == 0 && strcmp(name, "unspecified") == 0)
            continue;
        int n = snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", name);
        o += n > 0 ? (size_t)n : 0;
    }
}

int hub_field_is_map(const ProtobufCFieldDescriptor *field)
{
    if (field->label != PROTOBUF_C_LABEL_REPEATED || field->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessageDescriptor *entry = field->descriptor;
    size_t nlen = strlen(entry->short_name);
    if (nlen < 5 || strcmp(entry->short_name + nlen - 5, "Entry") != 0 || entry->n_fields != 2)
        return 0;
    return entry->fields[0].id == 1 && strcmp(entry->fields[0].name, "key") == 0 && entry->fields[1].id == 2 &&
           strcmp(entry->fields[1].name, "value") == 0;
}

/* ------------------------------------------------------------ JSON -> protobuf */

static const char *s_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

/* Size of one element of a repeated field of this type. */
size_t hub_type_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return sizeof(void *);
}

/* Reads a JSON integer, or (when allow_string) a decimal string, as a
 * signed value in [min, max]. Returns 0 or the error. */
static int s_get_signed(s_walk_t *w, const json_t *v, int allow_string, int64_t min, int64_t max, int64_t *out)
{
    int64_t value;
    if (json_is_integer(v)) {
        value = json_integer_value(v);
    } else if (allow_string && json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        long long parsed = strtoll(s, &end, 10);
        if (!*s || isspace((unsigned char)*s) || *s == '+' || *end || errno) {
            char q[S_QUOTE_LEN + 4];
            s_quote(s, q);
            return s_fail(w, "\"%s\" is not a decimal integer%s", q, errno == ERANGE ? " in range" : "");
        }
        value = parsed;
    } else {
        return s_fail(w, "expected an integer, got %s", json_is_real(v) ? "a fractional number" : s_kind(v));
    }
    if (value < min || value > max)
        return s_fail(w, "%" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")", value, min, max);
    *out = value;
    return 0;
}

/* The same for unsigned values in [0, max]. */
static int s_get_unsigned(s_walk_t *w, const json_t *v, int allow_string, uint64_t max, uint64_t *out)
{
    uint64_t value;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return s_fail(w, "%" JSON_INTEGER_FORMAT " is out of range (0 to %" PRIu64 ")", i, max);
        value = (uint64_t)i;
    } else if (allow_string && json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        unsigned long long parsed = strtoull(s, &end, 10);
        if (!isdigit((unsigned char)*s) || *end || errno) {
            char q[S_QUOTE_LEN + 4];
            s_quote(s, q);
            return s_fail(w, "\"%s\" is not a decimal integer%s", q, errno == ERANGE ? " in range" : "");
        }
        value = parsed;
    } else {
        return s_fail(w, "expected an integer, got %s", json_is_real(v) ? "a fractional number" : s_kind(v));
    }
    if (value > max)
        return s_fail(w, "%" PRIu64 " is out of range (0 to %" PRIu64 ")", value, max);
    *out = value;
    return 0;
}

static int s_object_to_message(s_walk_t *w, const json_t *obj, ProtobufCMessage *msg, int depth);

/* Allocates and initialises a message of desc. NULL on ENOMEM. */
static ProtobufCMessage *s_message_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (msg)
        protobuf_c_message_init(desc, msg);
    return msg;
}

/* Stores one JSON value of field's type at member (a scalar, a char *, or
 * a ProtobufCMessage *). Returns 0, -HUB_EINVALID or -ENOMEM. */
static int s_value_from_json(s_walk_t *w, const ProtobufCFieldDescriptor *f, const json_t *v, void *member,
                             int depth)
{
    int rc;
    int64_t i64;
    uint64_t u64;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = s_get_signed(w, v, 0, INT32_MIN, INT32_MAX, &i64)) < 0)
            return rc;
        *(int32_t *)member = (int32_t)i64;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = s_get_unsigned(w, v, 0, UINT32_MAX, &u64)) < 0)
            return rc;
        *(uint32_t *)member = (uint32_t)u64;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = s_get_signed(w, v, 1, INT64_MIN, INT64_MAX, &i64)) < 0)
            return rc;
        *(int64_t *)member = i64;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = s_get_unsigned(w, v, 1, UINT64_MAX, &u64)) < 0)
            return rc;
        *(uint64_t *)member = u64;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v))
            return s_fail(w, "expected a number, got %s", s_kind(v));
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)member = (float)json_number_value(v);
        else
            *(double *)member = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return s_fail(w, "expected a boolean, got %s", s_kind(v));
        *(protobuf_c_boolean *)member = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        if (!json_is_string(v))
            return s_fail(w, "expected a string, got %s", s_kind(v));
        int value;
        if (hub_enum_from_name(f->descriptor, json_string_value(v), &value) < 0) {
            char q[S_QUOTE_LEN + 4], choices[HUB_ERR_LEN / 2];
            s_quote(json_string_value(v), q);
            s_enum_choices(f->descriptor, choices, sizeof choices);
            return s_fail(w, "\"%s\" is not one of %s", q, choices);
        }
        *(int *)member = value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v))
            return s_fail(w, "expected a string, got %s", s_kind(v));
        size_t len = json_string_length(v);
        const char *s = json_string_value(v);
        if (memchr(s, '\0', len))
            return s_fail(w, "contains a NUL character (\\u0000)");
        char *copy = malloc(len + 1);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, s, len + 1);
        *(char **)member = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (!json_is_object(v))
            return s_fail(w, "expected an object, got %s", s_kind(v));
        ProtobufCMessage *sub = s_message_new(f->descriptor);
        if (!sub)
            return -ENOMEM;
        *(ProtobufCMessage **)member = sub;
        return s_object_to_message(w, v, sub, depth + 1);
    }
    case PROTOBUF_C_TYPE_BYTES:
        break;
    }
    return s_fail(w, "bytes fields have no JSON form");
}

/* Marks a singular field present: its oneof case or its has_ member.
 * Strings and messages are present by being non-NULL. */
static void s_mark_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    char *base = (char *)msg;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
}

/* A map field from a JSON object of its values. */
static int s_map_from_json(s_walk_t *w, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, const json_t *v,
                           int depth)
{
    char *base = (char *)msg;
    if (!json_is_object(v))
        return s_fail(w, "expected an object, got %s", s_kind(v));
    const ProtobufCMessageDescriptor *entry_desc = f->descriptor;
    const ProtobufCFieldDescriptor *key_f = &entry_desc->fields[0], *value_f = &entry_desc->fields[1];
    if (key_f->type != PROTOBUF_C_TYPE_STRING)
        return s_fail(w, "maps with keys that are not strings have no JSON form");
    size_t n = json_object_size(v);
    if (n == 0)
        return 0;
    ProtobufCMessage **entries = calloc(n, sizeof(ProtobufCMessage *));
    if (!entries)
        return -ENOMEM;
    *(ProtobufCMessage ***)(base + f->offset) = entries;
    size_t *count = (size_t *)(base + f->quantifier_offset);
    const char *key;
    const json_t *value;
    json_object_foreach ((json_t *)v, key, value) {
        ProtobufCMessage *entry = s_message_new(entry_desc);
        if (!entry)
            return -ENOMEM;
        entries[(*count)++] = entry;
        char *key_copy = strdup(key);
        if (!key_copy)
            return -ENOMEM;
        *(char **)((char *)entry + key_f->offset) = key_copy;
        size_t old = s_path_push(w, key, 0);
        s_mark_present(entry, value_f);
        int rc = s_value_from_json(w, value_f, value, (char *)entry + value_f->offset, depth + 1);
        s_path_pop(w, old);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A repeated field from a JSON array, or from a single value for one. */
static int s_repeated_from_json(s_walk_t *w, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                                const json_t *v, int depth)
{
    char *base = (char *)msg;
    int is_array = json_is_array(v);
    size_t n = is_array ? json_array_size(v) : 1;
    if (n == 0)
        return 0;
    size_t size = hub_type_size(f->type);
    char *elems = calloc(n, size);
    if (!elems)
        return -ENOMEM;
    *(void **)(base + f->offset) = elems;
    size_t *count = (size_t *)(base + f->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = is_array ? json_array_get(v, i) : v;
        size_t old = is_array ? s_path_push(w, NULL, i) : w->len;
        /* counted first: a failed string or message leaves NULL, which
         * protobuf_c_message_free_unpacked skips */
        (*count)++;
        int rc = s_value_from_json(w, f, item, elems + i * size, depth + 1);
        s_path_pop(w, old);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Fills msg from the keys of obj. */
static int s_object_to_message(s_walk_t *w, const json_t *obj, ProtobufCMessage *msg, int depth)
{
    if (depth > HUB_MAX_JSON_DEPTH)
        return s_fail(w, "nested deeper than %d levels", HUB_MAX_JSON_DEPTH);
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *key;
    const json_t *value;
    json_object_foreach ((json_t *)obj, key, value) {
        size_t old = s_path_push(w, key, 0);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, key);
        int rc = 0;
        if (!f) {
            rc = s_fail(w, "unknown key");
        } else if (json_is_null(value)) {
            rc = 0; /* null: the field stays unset */
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (hub_field_is_map(f))
                rc = s_map_from_json(w, msg, f, value, depth);
            else
                rc = s_repeated_from_json(w, msg, f, value, depth);
        } else {
            uint32_t *oneof_case = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                                       ? (uint32_t *)((char *)msg + f->quantifier_offset)
                                       : NULL;
            if (oneof_case && *oneof_case && *oneof_case != f->id) {
                const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(desc, *oneof_case);
                rc = s_fail(w, "cannot be set together with \"%s\" (only one of them)", other ? other->name : "?");
            } else {
                s_mark_present(msg, f);
                rc = s_value_from_json(w, f, value, (char *)msg + f->offset, depth);
            }
        }
        s_path_pop(w, old);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int hub_json_to_message(const json_t *obj, ProtobufCMessage *msg, char err[HUB_ERR_LEN])
{
    s_walk_t w = {.path = "", .len = 0, .err = err};
    if (!json_is_object(obj))
        return s_fail(&w, "expected a JSON object, got %s", obj ? s_kind(obj) : "nothing");
    int rc = s_object_to_message(&w, obj, msg, 1);
    if (rc == -ENOMEM && err)
        snprintf(err, HUB_ERR_LEN, "out of memory");
    return rc;
}

/* ------------------------------------------------------------ protobuf -> JSON */

/* A double as JSON: a number, or for what JSON has no number for (a
 * frame off the wire may hold anything) the string "NaN", "Infinity" or
 * "-Infinity", as the protobuf JSON mapping writes them. NULL on ENOMEM. */
static json_t *s_json_real(double value)
{
    if (isnan(value))
        return json_string("NaN");
    if (isinf(value))
        return json_string(value > 0 ? "Infinity" : "-Infinity");
    return json_real(value);
}

/* One value of field's type at member as JSON. NULL when it has no JSON
 * form (bytes) or on ENOMEM; *skip_p tells which. */
static json_t *s_value_to_json(const ProtobufCFieldDescriptor *f, const void *member, int *skip_p)
{
    *skip_p = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)member);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)member);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)member);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t u = *(const uint64_t *)member;
        if (u <= INT64_MAX)
            return json_integer((json_int_t)u);
        char text[24];
        snprintf(text, sizeof text, "%" PRIu64, u);
        return json_string(text);
    }
    case PROTOBUF_C_TYPE_FLOAT:
        return s_json_real(*(const float *)member);
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_json_real(*(const double *)member);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)member);
    case PROTOBUF_C_TYPE_ENUM: {
        char name[HUB_ENUM_NAME_LEN];
        hub_enum_to_name(f->descriptor, *(const int *)member, name, sizeof name);
        return json_string(name);
    }
    case PROTOBUF_C_TYPE_STRING:
        return s_json_string(*(char *const *)member);
    case PROTOBUF_C_TYPE_MESSAGE:
        return hub_message_to_json(*(ProtobufCMessage *const *)member);
    case PROTOBUF_C_TYPE_BYTES:
        break;
    }
    *skip_p = 1;
    return NULL;
}

/* 1 when a singular field holds a value to write. */
static int s_field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)msg;
    const void *member = base + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id && (f->type != PROTOBUF_C_TYPE_STRING &&
                                                                            f->type != PROTOBUF_C_TYPE_MESSAGE
                                                                                ? 1
                                                                                : *(void *const *)member != NULL);
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(void *const *)member != NULL;
    if (f->type == PROTOBUF_C_TYPE_ENUM && *(const int *)member == 0)
        return 0; /* the zero value is left out */
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset) != 0;
    if (f->label == PROTOBUF_C_LABEL_NONE) { /* proto3 without presence: zero is unset */
        static const char zero[sizeof(uint64_t)] = {0};
        return memcmp(member, zero, hub_type_size(f->type)) != 0;
    }
    return 1; /* required */
}

/* A map field as a JSON object. NULL on ENOMEM. */
static json_t *s_map_to_json(const ProtobufCFieldDescriptor *f, ProtobufCMessage *const *entries, size_t n)
{
    const ProtobufCMessageDescriptor *entry_desc = f->descriptor;
    const ProtobufCFieldDescriptor *key_f = &entry_desc->fields[0], *value_f = &entry_desc->fields[1];
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *entry = (const char *)entries[i];
        char key_text[24];
        const char *key;
        if (key_f->type == PROTOBUF_C_TYPE_STRING) {
            key = *(char *const *)(entry + key_f->offset);
        } else {
            /* not in hub.proto; printed by the key's numeric value */
            snprintf(key_text, sizeof key_text, "%" PRId64, *(const int64_t *)(entry + key_f->offset));
            key = key_text;
        }
        if (!key)
            key = "";
        int skip;
        json_t *value = s_value_to_json(value_f, entry + value_f->offset, &skip);
        if (skip)
            continue;
        json_t *key_json = s_json_string(key); /* a valid UTF-8 key */
        if (!value || !key_json) {
            json_decref(value);
            json_decref(key_json);
            json_decref(obj);
            return NULL;
        }
        /* json_object_set_new takes value even when it fails */
        int rc = json_object_set_new(obj, json_string_value(key_json), value);
        json_decref(key_json);
        if (rc < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *hub_message_to_json(const ProtobufCMessage *msg)
{
    if (!msg)
        return json_object();
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        json_t *value = NULL;
        int skip = 0;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *elems = *(char *const *)(base + f->offset);
            if (n == 0 || f->type == PROTOBUF_C_TYPE_BYTES)
                continue;
            if (hub_field_is_map(f)) {
                value = s_map_to_json(f, (ProtobufCMessage *const *)elems, n);
            } else {
                value = json_array();
                size_t size = hub_type_size(f->type);
                for (size_t k = 0; value && k < n; k++) {
                    json_t *item = s_value_to_json(f, elems + k * size, &skip);
                    if (!item || json_array_append_new(value, item) < 0) {
                        json_decref(value);
                        value = NULL;
                    }
                }
            }
        } else {
            if (!s_field_is_set(msg, f))
                continue;
            value = s_value_to_json(f, base + f->offset, &skip);
            if (skip)
                continue;
        }
        if (!value || json_object_set_new(obj, f->name, value) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

char *hub_message_to_json_text(const ProtobufCMessage *msg)
{
    json_t *obj = hub_message_to_json(msg);
    if (!obj)
        return NULL;
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return text;
}

/* ------------------------------------------------------------ events */

/* 0 when v nests at most HUB_MAX_JSON_DEPTH containers deep (v itself at
 * depth), else the error. The recursion stops at the limit. */
static int s_check_depth(s_walk_t *w, const json_t *v, int depth)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (depth > HUB_MAX_JSON_DEPTH)
        return s_fail(w, "nested deeper than %d levels", HUB_MAX_JSON_DEPTH);
    int rc = 0;
    if (json_is_object(v)) {
        const char *key;
        const json_t *value;
        json_object_foreach ((json_t *)v, key, value) {
            size_t old = s_path_push(w, key, 0);
            rc = s_check_depth(w, value, depth + 1);
            s_path_pop(w, old);
            if (rc < 0)
                return rc;
        }
    } else {
        size_t i;
        const json_t *value;
        json_array_foreach (v, i, value) {
            size_t old = s_path_push(w, NULL, i);
            rc = s_check_depth(w, value, depth + 1);
            s_path_pop(w, old);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int hub_event_from_json_value(const json_t *value, Hub__Event **event_p, char err[HUB_ERR_LEN])
{
    *event_p = NULL;
    s_walk_t w = {.path = "", .len = 0, .err = err};
    if (!value || !json_is_object(value))
        return s_fail(&w, "an event must be a JSON object, got %s", value ? s_kind(value) : "nothing");
    int rc = s_check_depth(&w, value, 1);
    if (rc < 0)
        return rc;
    Hub__Event *ev = malloc(sizeof *ev);
    if (!ev) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    hub__event__init(ev);
    rc = hub_json_to_message(value, &ev->base, err);
    if (rc == 0)
        rc = hub_event_validate(ev, err);
    if (rc < 0) {
        hub__event__free_unpacked(ev, NULL);
        return rc;
    }
    *event_p = ev;
    return 0;
}

/* ------------------------------------------------------- fast reading */

/* jansson reads JSON a character at a time through its stream layer:
 * most of what a publish costs the client. Events are mostly plain ASCII
 * objects, which s_fast_value reads in runs instead, building the same
 * jansson values jansson would. Anything it is not sure of (non-ASCII
 * text, \u escapes, fractions and exponents, long or odd numbers, a key
 * given twice, deep nesting, any error) makes it give up, and the text is
 * read again by json_loadb: its value, or its error, is the answer. */

#define S_FAST_DEPTH 32 /* nesting the fast reader takes on */

typedef struct {
    const char *p, *end;
    char *buf;     /* unescaped text of the current string */
    size_t cap;    /* bytes of buf */
} s_fast_t;

static void s_fast_space(s_fast_t *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\t' || *f->p == '\r'))
        f->p++;
}

/* Reads a string (at the opening quote) into f->buf. Returns its length,
 * or -1 to give up. */
static long s_fast_string(s_fast_t *f)
{
    size_t n = 0;
    f->p++;
    for (;;) {
        const char *run = f->p;
        f->p += hub_plain_run(f->p, (size_t)(f->end - f->p));
        size_t len = (size_t)(f->p - run);
        if (n + len + 1 > f->cap)
            return -1;
        memcpy(f->buf + n, run, len);
        n += len;
        if (f->p >= f->end)
            return -1;
        if (*f->p == '"') {
            f->p++;
            f->buf[n] = '\0';
            return (long)n;
        }
        if (*f->p != '\\' || f->end - f->p < 2 || n + 2 > f->cap)
            return -1; /* a control character, non-ASCII text, the end */
        char c = f->p[1];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *at = c ? strchr(from, c) : NULL;
        if (!at)
            return -1; /* \u and anything else */
        f->buf[n++] = to[at - from];
        f->p += 2;
    }
}

static json_t *s_fast_value(s_fast_t *f, int depth);

/* What follows a member or an element, after any space: 1 when a ','
 * follows (skipped, with the space after it), 0 when close does (skipped),
 * -1 for anything else. */
static int s_fast_after(s_fast_t *f, char close)
{
    s_fast_space(f);
    if (f->p < f->end && *f->p == ',') {
        f->p++;
        s_fast_space(f);
        return 1;
    }
    if (f->p < f->end && *f->p == close) {
        f->p++;
        return 0;
    }
    return -1;
}

static json_t *s_fast_object(s_fast_t *f, int depth)
{
    json_t *obj = json_object();
    f->p++;
    s_fast_space(f);
    if (obj && f->p < f->end && *f->p == '}') {
        f->p++;
        return obj;
    }
    while (obj) {
        long klen;
        if (f->p >= f->end || *f->p != '"' || (klen = s_fast_string(f)) < 0)
            break;
        char key[256];
        if ((size_t)klen >= sizeof key || json_object_get(obj, f->buf))
            break; /* long, or given twice: jansson says what to do */
        memcpy(key, f->buf, (size_t)klen + 1);
        s_fast_space(f);
        if (f->p >= f->end || *f->p != ':')
            break;
        f->p++;
        s_fast_space(f);
        json_t *v = s_fast_value(f, depth + 1);
        if (!v || json_object_set_new_nocheck(obj, key, v) != 0)
            break;
        int more = s_fast_after(f, '}');
        if (more == 1)
            continue;
        if (more == 0)
            return obj;
        break;
    }
    json_decref(obj);
    return NULL;
}

static json_t *s_fast_array(s_fast_t *f, int depth)
{
    json_t *arr = json_array();
    f->p++;
    s_fast_space(f);
    if (arr && f->p < f->end && *f->p == ']') {
        f->p++;
        return arr;
    }
    while (arr) {
        json_t *v = s_fast_value(f, depth + 1);
        if (!v || json_array_append_new(arr, v) != 0)
            break;
        int more = s_fast_after(f, ']');
        if (more == 1)
            continue;
        if (more == 0)
            return arr;
        break;
    }
    json_decref(arr);
    return NULL;
}

/* An integer of at most 18 digits, without leading zeros. */
static json_t *s_fast_integer(s_fast_t *f)
{
    const char *start = f->p;
    int negative = *f->p == '-';
    if (negative)
        f->p++;
    const char *digits = f->p;
    int64_t v = 0;
    while (f->p < f->end && *f->p >= '0' && *f->p <= '9' && f->p - digits < 18)
        v = v * 10 + (*f->p++ - '0');
    size_t n = (size_t)(f->p - digits);
    if (n == 0 || (n > 1 && *digits == '0') ||
        (f->p < f->end && ((*f->p >= '0' && *f->p <= '9') || *f->p == '.' || *f->p == 'e' || *f->p == 'E'))) {
        f->p = start;
        return NULL;
    }
    return json_integer(negative ? -v : v);
}

static json_t *s_fast_word(s_fast_t *f, const char *word, json_t *value)
{
    size_t n = strlen(word);
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
        return NULL;
    f->p += n;
    return value;
}

static json_t *s_fast_value(s_fast_t *f, int depth)
{
    if (f->p >= f->end || depth > S_FAST_DEPTH)
        return NULL;
    switch (*f->p) {
    case '{':
        return s_fast_object(f, depth);
    case '[':
        return s_fast_array(f, depth);
    case '"': {
        long n = s_fast_string(f);
        return n < 0 ? NULL : json_stringn_nocheck(f->buf, (size_t)n);
    }
    case 't':
        return s_fast_word(f, "true", json_true());
    case 'f':
        return s_fast_word(f, "false", json_false());
    case 'n':
        return s_fast_word(f, "null", json_null());
    default:
        return (*f->p == '-' || (*f->p >= '0' && *f->p <= '9')) ? s_fast_integer(f) : NULL;
    }
}

/* The value of text as jansson would read it, or NULL to let jansson. */
static json_t *s_fast_load(const char *text, size_t len)
{
    char buf[4096];
    s_fast_t f = {text, text + len, len < sizeof buf ? buf : malloc(len + 1), len < sizeof buf ? sizeof buf : len + 1};
    if (!f.buf)
        return NULL;
    s_fast_space(&f);
    json_t *value = s_fast_value(&f, 1);
    s_fast_space(&f);
    if (value && f.p != f.end) {
        json_decref(value); /* something after the value */
        value = NULL;
    }
    if (f.buf != buf)
        free(f.buf);
    return value;
}

/* Most events are one flat object of plain string members: those are read
 * straight into the event, with no jansson values between (a publish spent
 * half its parsing building and walking them). A member of another kind, a
 * key that is not one of the event's string fields or comes twice, or
 * text s_fast_string does not take makes it give up, and the text is read
 * again by s_fast_load or jansson: what they make of it is the answer.
 * Returns 0 with *event_p set (not validated yet), -1 to give up, or
 * -ENOMEM. */
static int s_fast_event(const char *text, size_t len, Hub__Event **event_p)
{
    char buf[1024];
    s_fast_t f = {text, text + len, buf, sizeof buf};
    s_fast_space(&f);
    if (f.p >= f.end || *f.p != '{')
        return -1;
    f.p++;
    s_fast_space(&f);
    Hub__Event *ev = malloc(sizeof *ev);
    if (!ev)
        return -ENOMEM;
    hub__event__init(ev);
    int rc = -1, more = 1;
    if (f.p < f.end && *f.p == '}') {
        f.p++;
        more = 0;
    }
    while (more) {
        if (f.p >= f.end || *f.p != '"' || s_fast_string(&f) < 0)
            goto fail;
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(&hub__event__descriptor,
                                                                                             f.buf);
        if (!fd || fd->type != PROTOBUF_C_TYPE_STRING || fd->label == PROTOBUF_C_LABEL_REPEATED ||
            (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            goto fail;
        char **member = (char **)((char *)ev + fd->offset);
        if (*member)
            goto fail; /* a key twice */
        s_fast_space(&f);
        if (f.p >= f.end || *f.p != ':')
            goto fail;
        f.p++;
        s_fast_space(&f);
        long n;
        if (f.p >= f.end || *f.p != '"' || (n = s_fast_string(&f)) < 0)
            goto fail;
        if (!(*member = malloc((size_t)n + 1))) {
            rc = -ENOMEM;
            goto fail;
        }
        memcpy(*member, f.buf, (size_t)n + 1);
        if ((more = s_fast_after(&f, '}')) < 0)
            goto fail;
    }
    s_fast_space(&f);
    if (f.p != f.end)
        goto fail; /* something after the object */
    *event_p = ev;
    return 0;
fail:
    hub__event__free_unpacked(ev, NULL);
    return rc;
}

int hub_event_from_json(const char *text, size_t len, Hub__Event **event_p, char err[HUB_ERR_LEN])
{
    *event_p = NULL;
    int fast = s_fast_event(text, len, event_p);
    if (fast == -ENOMEM) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    if (fast == 0) {
        int rc = hub_event_validate(*event_p, err);
        if (rc < 0) {
            hub__event__free_unpacked(*event_p, NULL);
            *event_p = NULL;
        }
        return rc;
    }
    json_error_t jerr;
    memset(&jerr, 0, sizeof jerr);
    json_t *value = s_fast_load(text, len);
    if (!value)
        value = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!value) {
        /* jansson reports some allocation failures with no position */
        if (json_error_code(&jerr) == json_error_out_of_memory || jerr.line < 1) {
            snprintf(err, HUB_ERR_LEN, "out of memory");
            return -ENOMEM;
        }
        snprintf(err, HUB_ERR_LEN, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return -HUB_EMALFORMED;
    }
    int rc = hub_event_from_json_value(value, event_p, err);
    json_decref(value);
    return rc;
}

static int s_validate_fields(s_walk_t *w, const ProtobufCMessage *msg, int depth);

/* Checks one string, enum or message value of field f at member. */
static int s_validate_value(s_walk_t *w, const ProtobufCFieldDescriptor *f, const void *member, int depth)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)member;
        size_t len = s ? strlen(s) : 0;
        size_t max = s_max_len(w);
        if (s && !s_utf8_valid(s, len))
            return s_fail(w, "not valid UTF-8");
        if (len > max)
            return s_fail(w, "longer than %zu bytes (%zu)", max, len);
    } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
        int value = *(const int *)member;
        if (!protobuf_c_enum_descriptor_get_value(f->descriptor, value)) {
            char choices[HUB_ERR_LEN / 2];
            s_enum_choices(f->descriptor, choices, sizeof choices);
            return s_fail(w, "%d is not one of %s", value, choices);
        }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        if (sub)
            return s_validate_fields(w, sub, depth + 1);
    }
    return 0;
}

/* Checks one map entry: its key, then its value named by the key. */
static int s_validate_map_entry(s_walk_t *w, const ProtobufCMessage *entry, int depth)
{
    const ProtobufCMessageDescriptor *ed = entry->descriptor;
    const char *e = (const char *)entry;
    const char *key = NULL;
    if (ed->fields[0].type == PROTOBUF_C_TYPE_STRING) {
        key = *(char *const *)(e + ed->fields[0].offset);
        size_t len = key ? strlen(key) : 0;
        if (key && !s_utf8_valid(key, len))
            return s_fail(w, "a key is not valid UTF-8");
        size_t max = s_max_len(w);
        if (len > max)
            return s_fail(w, "a key is longer than %zu bytes (%zu)", max, len);
    }
    if (ed->fields[1].type == PROTOBUF_C_TYPE_STRING && !*(char *const *)(e + ed->fields[1].offset))
        return s_fail(w, "the key \"%.64s\" has no value", key ? key : "");
    size_t old = s_path_push(w, key ? key : "?", 0);
    int rc = s_validate_value(w, &ed->fields[1], e + ed->fields[1].offset, depth);
    s_path_pop(w, old);
    return rc;
}

/* Checks every string (UTF-8, length) and enum (known value) of msg and,
 * recursively, of its sub-messages. */
static int s_validate_fields(s_walk_t *w, const ProtobufCMessage *msg, int depth)
{
    if (depth > HUB_MAX_JSON_DEPTH)
        return s_fail(w, "nested deeper than %d levels", HUB_MAX_JSON_DEPTH);
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_ENUM &&
            f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        int rc = 0;
        size_t n = f->label == PROTOBUF_C_LABEL_REPEATED ? *(const size_t *)(base + f->quantifier_offset) : 0;
        if (f->label == PROTOBUF_C_LABEL_REPEATED ? n == 0 : !s_field_is_set(msg, f))
            continue; /* nothing to check: the path is not even built */
        if (f->label != PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_STRING) {
            /* most fields are strings that pass: checked here first, the
             * path is built only to name one that does not */
            const char *text = *(char *const *)(base + f->offset);
            size_t len = strlen(text);
            if (len <= s_max_len(w) && s_utf8_valid(text, len))
                continue;
        }
        size_t old = s_path_push(w, f->name, 0);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            const char *elems = *(char *const *)(base + f->offset);
            size_t size = hub_type_size(f->type);
            int is_map = hub_field_is_map(f);
            for (size_t k = 0; k < n && rc == 0; k++) {
                if (is_map) {
                    rc = s_validate_map_entry(w, *(ProtobufCMessage *const *)(elems + k * size), depth);
                } else {
                    size_t old_k = s_path_push(w, NULL, k);
                    rc = s_validate_value(w, f, elems + k * size, depth);
                    s_path_pop(w, old_k);
                }
            }
        } else {
            rc = s_validate_value(w, f, base + f->offset, depth);
        }
        s_path_pop(w, old);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int hub_message_validate(const ProtobufCMessage *msg, size_t max_len, char err[HUB_ERR_LEN])
{
    s_walk_t w = {.path = "", .len = 0, .err = err, .max_len = max_len};
    return s_validate_fields(&w, msg, 1);
}

int hub_event_validate(const Hub__Event *ev, char err[HUB_ERR_LEN])
{
    s_walk_t w = {.path = "", .len = 0, .err = err};
    int rc = s_validate_fields(&w, &ev->base, 1);
    if (rc < 0)
        return rc;
    if (!ev->type || !*ev->type) {
        s_path_push(&w, "type", 0);
        return s_fail(&w, "missing (every event has a type, like \"bug_report\")");
    }
    if (ev->occurred_at) {
        int64_t ms;
        if (hub_time_parse(ev->occurred_at, &ms) < 0) {
            char q[S_QUOTE_LEN + 4];
            s_quote(ev->occurred_at, q);
            s_path_push(&w, "occurred_at", 0);
            return s_fail(&w, "\"%s\" is not an RFC 3339 time (like 2026-11-23T10:00:00Z)", q);
        }
    }
    if (ev->n_tags > HUB_MAX_TAGS) {
        s_path_push(&w, "tags", 0);
        return s_fail(&w, "%zu tags, more than the limit of %d", ev->n_tags, HUB_MAX_TAGS);
    }
    if (ev->n_attributes > HUB_MAX_ATTRIBUTES) {
        s_path_push(&w, "attributes", 0);
        return s_fail(&w, "%zu attributes, more than the limit of %d", ev->n_attributes, HUB_MAX_ATTRIBUTES);
    }
    return 0;
}
