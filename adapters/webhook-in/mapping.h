/*
 * mapping - turns a foreign JSON payload (a help desk's own ticket webhook)
 * into a Switchboard event, field by field, as a YAML file says:
 *
 *   fields:
 *     case_id:       { from: ticket.id, prefix: "CASE-", required: true }
 *     type:          { from: ticket.category, map: { bug: bug_report }, default: complaint }
 *     customer.name: ticket.requester.organization.name     # short for { from: ... }
 *     tags:          { from: ticket.tags }
 *     source:        { const: support }
 *
 * Rules:
 *   1. A key under "fields" is a dotted path into the event (as in the
 *      policy: customer.tier, attributes.order_id, tags); it is checked
 *      against the event's fields when the file loads. Whole messages
 *      ("customer") are not targets: map their fields one by one.
 *   2. "from" is a dotted path into the payload; a segment of digits indexes
 *      an array (ticket.tags.0). Numbers and booleans become their text; a
 *      missing value, null or "" counts as absent.
 *   3. The value found goes through "map" (a value not listed there falls to
 *      "default" when one is given, else stays as it is), then gets "prefix"
 *      and "suffix". "default" is used as written when the value is absent
 *      (or unlisted in "map"); "const" is used as written, always.
 *   4. An absent value with no default leaves the event field unset, unless
 *      "required: true": then the payload is refused, naming the payload path.
 *   5. A list target (tags) takes a list (each element mapped as above,
 *      absent ones dropped) or one value.
 *   6. Nothing else of the payload reaches the event.
 */
#ifndef WH_MAPPING_H_INCLUDED
#define WH_MAPPING_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#include "hub.h"

#define WH_MAPPING_MAX_FIELDS 64 /* targets in one mapping file */
#define WH_FIELD_LEN 128         /* bytes of a field path named in an error */

typedef struct wh_mapping wh_mapping_t;

/* Loads a mapping file. Returns the mapping, or NULL with err
 * "path:LINE: what is wrong" (or "path: why" when it cannot be read).
 * Blocks on the file system. */
wh_mapping_t *wh_mapping_load(const char *path, char err[HUB_ERR_LEN]);

/* The same from text (len bytes) named 'name' in messages. */
wh_mapping_t *wh_mapping_parse(const char *text, size_t len, const char *name, char err[HUB_ERR_LEN]);

void wh_mapping_destroy(wh_mapping_t **self_p);

/* Number of target fields. */
size_t wh_mapping_size(const wh_mapping_t *self);

/* Builds the event object for one payload. Returns 0 and sets *event_p (a
 * new JSON object the caller owns; not yet validated as an event);
 * -HUB_EINVALID with field (the payload path, WH_FIELD_LEN bytes) and err
 * ("ticket.subject: missing (required for subject)"); -ENOMEM. Does not
 * block. */
int wh_mapping_apply(const wh_mapping_t *self, const json_t *payload, json_t **event_p, char field[WH_FIELD_LEN],
                     char err[HUB_ERR_LEN]);

/* The payload path the event field 'target' is taken from, or NULL when it
 * is a constant or not mapped (to name it when the event is refused). */
const char *wh_mapping_source_of(const wh_mapping_t *self, const char *target);

#endif
