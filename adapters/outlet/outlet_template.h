/*
 * outlet_template - "{{path}}" templates rendered against a notification,
 * for webhook bodies and mail subjects and bodies.
 *
 * A template is text with placeholders "{{ path }}": a dotted path of
 * letters, digits, '_' and '-'. A path is looked up in the notification
 * first (seq, topic, route, reason, department, kind, respond_by, attempt,
 * event_id, received_at, event...) and, when it is not there, in the event
 * it carries, so "{{case_id}}", "{{customer.name}}" and "{{event.subject}}"
 * all work. Values print as text: strings as they are, numbers in decimal,
 * true/false, a list as its elements joined with ", ", an object as
 * compact JSON; a missing value or null prints nothing.
 *
 * Rules:
 *   1. In JSON mode every value is escaped as the inside of a JSON string
 *      ("\"", "\\", control characters as \uXXXX), so a value can never
 *      break out of the string the template author put it in.
 *   2. In plain mode values go in as they are (mail bodies); in line mode
 *      control characters become spaces (mail headers: no header can be
 *      injected through a value).
 *   3. The template's own text is copied unchanged; "{{" that does not open
 *      a well-formed placeholder is an error when the template is compiled,
 *      not a surprise when it is rendered.
 */
#ifndef OUTLET_TEMPLATE_H_INCLUDED
#define OUTLET_TEMPLATE_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#include "hub.h"

#define OUTLET_TEMPLATE_MAX_PATH 128   /* bytes of one placeholder's path */
#define OUTLET_TEMPLATE_MAX (64 * 1024) /* bytes of a template's text */

typedef enum {
    OUTLET_ESCAPE_JSON,  /* values escaped for the inside of a JSON string */
    OUTLET_ESCAPE_PLAIN, /* values as they are */
    OUTLET_ESCAPE_LINE,  /* values with control characters turned into spaces */
} outlet_escape_t;

typedef struct outlet_template outlet_template_t;

/* Compiles text. Returns the template, or NULL with err saying what is
 * wrong and where ("placeholder 2: unterminated \"{{\""; "... empty path").
 * Does not block. */
outlet_template_t *outlet_template_new(const char *text, char err[HUB_ERR_LEN]);

void outlet_template_destroy(outlet_template_t **self_p);

/* Renders against a notification as parsed JSON (hub_notification_json).
 * Returns a new NUL-terminated string (the caller frees it) or NULL on
 * ENOMEM. */
char *outlet_template_render(const outlet_template_t *self, const json_t *notification, outlet_escape_t escape);

/* The value at a dotted path (notification first, then its event), or
 * NULL when there is none. Borrowed from notification. */
const json_t *outlet_template_lookup(const json_t *notification, const char *path);

#endif
