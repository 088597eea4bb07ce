/*
 * json - protobuf <-> JSON, driven by the protobuf-c descriptors.
 *
 * No per-field code: a field added to proto/hub.proto is mapped by its name
 * and type. Rules:
 *   - JSON keys are the field names of the .proto; unknown keys are refused.
 *   - strings, bools and numbers map to their JSON kinds; 64-bit integers are
 *     also accepted as decimal strings.
 *   - enums map to their value name lower-cased with the enum's prefix
 *     removed: Severity SEVERITY_HIGH <-> "high"; the zero value is omitted.
 *   - repeated fields map to arrays; a single value is accepted for one.
 *   - map<string,string> fields map to objects of strings.
 *   - nested messages map to objects.
 * Errors name the field by its dotted path: "customer.tier: expected a
 * string, got a number".
 */
#ifndef HUB_JSON_H_INCLUDED
#define HUB_JSON_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#include "hub.h"
#include "hub.pb-c.h"

#define HUB_MAX_JSON_DEPTH 16 /* nesting limit for documents we parse */

/* Fills msg (already initialised for its type, all fields unset) from a
 * JSON object. On failure msg may hold some fields: free it with
 * protobuf_c_message_free_unpacked(msg, NULL) either way (every string,
 * array and sub-message is malloc'd as protobuf-c's unpack would).
 * Returns 0; -HUB_EINVALID with err naming the field; -ENOMEM. */
int hub_json_to_message(const json_t *obj, ProtobufCMessage *msg, char err[HUB_ERR_LEN]);

/* A new JSON object holding every set field of msg; NULL on ENOMEM. */
json_t *hub_message_to_json(const ProtobufCMessage *msg);

/* Same as text: one line, keys in .proto order. The caller frees it.
 * NULL on ENOMEM. */
char *hub_message_to_json_text(const ProtobufCMessage *msg);

/* Parses and validates one event from JSON text (len bytes, not
 * necessarily NUL-terminated). Returns 0 and sets *event_p (free with
 * hub__event__free_unpacked(ev, NULL)); -HUB_EMALFORMED when the text is not
 * JSON (err says where, as line and column); -HUB_EINVALID when the JSON
 * is not an object, nests deeper than HUB_MAX_JSON_DEPTH, or a field is
 * wrong or "type" is missing (err names the field); -ENOMEM. */
int hub_event_from_json(const char *text, size_t len, Hub__Event **event_p, char err[HUB_ERR_LEN]);

/* The same from a parsed JSON value. */
int hub_event_from_json_value(const json_t *value, Hub__Event **event_p, char err[HUB_ERR_LEN]);

/* Checks an event as the hub requires it: "type" present and not empty,
 * occurred_at (when set) an RFC 3339 time, strings valid UTF-8 within
 * HUB_MAX_FIELD, enums among their known values, at most HUB_MAX_TAGS tags
 * and HUB_MAX_ATTRIBUTES attributes. Use it on events that came off the
 * wire too. Returns 0, or -HUB_EINVALID with err naming the field. */
int hub_event_validate(const Hub__Event *ev, char err[HUB_ERR_LEN]);

/* Checks every string (valid UTF-8, at most max_len bytes; 0: HUB_MAX_FIELD)
 * and enum (a known value) of msg and of its sub-messages, as
 * hub_event_validate does for an event's. For frames off the wire whose
 * strings the hub uses. Returns 0, or -HUB_EINVALID with err naming the
 * field ("department: not valid UTF-8"). */
int hub_message_validate(const ProtobufCMessage *msg, size_t max_len, char err[HUB_ERR_LEN]);

#define HUB_MAX_FIELD 65536  /* bytes in one string field of an event */
#define HUB_MAX_TAGS 64        /* elements of an event's tags */
#define HUB_MAX_ATTRIBUTES 64  /* keys of an event's attributes */
#define HUB_ENUM_NAME_LEN 64   /* room for an enum value's JSON name */

/* Writes the JSON name of an enum value to out ("high" for SEVERITY_HIGH:
 * the value's name lower-cased, without the enum's prefix, which is the
 * enum's short name in UPPER_SNAKE and '_'). Returns 0; -HUB_EINVALID when
 * value is not one of the enum's (out then holds the number in decimal). */
int hub_enum_to_name(const ProtobufCEnumDescriptor *desc, int value, char *out, size_t outlen);

/* Looks up an enum value by its JSON name. Returns 0 and sets *value_p, or
 * -HUB_EINVALID when no value has that name. */
int hub_enum_from_name(const ProtobufCEnumDescriptor *desc, const char *name, int *value_p);

/* 1 when field is a map (a repeated message whose type is a *Entry with
 * exactly the fields key = 1 and value = 2), else 0. protobuf-c 1.4 does
 * not mark map entries, so this structural check is the rule. */
int hub_field_is_map(const ProtobufCFieldDescriptor *field);

/* Bytes one value of the type takes in a message struct (the stride of a
 * repeated field's array). */
size_t hub_type_size(ProtobufCType type);

#endif
