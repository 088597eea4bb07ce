/*
 * mapping - foreign payload -> event, field by field (rules in mapping.h).
 */
#include "mapping.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.pb-c.h"
#include "path.h"
#include "yamldoc.h"

#define S_MAX_PATH 256 /* bytes of a dotted path, target or source */

typedef struct {
    char *target;    /* dotted event path (owned) */
    char *from;      /* dotted payload path (owned), NULL with const */
    json_t *constant;/* "const": a string, or an array of strings for a list target */
    json_t *fallback;/* "default": as constant */
    json_t *map;     /* "map": object of strings, or NULL */
    char *prefix;    /* added before a value taken from the payload (owned) */
    char *suffix;    /* added after it (owned) */
    int required;    /* 1: an absent value refuses the payload */
    int is_list;     /* 1: the target is a repeated field (tags) */
} s_rule_t;

struct wh_mapping {
    s_rule_t rules[WH_MAPPING_MAX_FIELDS]; /* in file order */
    size_t count;                          /* rules used */
};

/* ------------------------------------------------------------- loading */

typedef struct {
    hub_yamldoc_t *doc; /* the file */
    char *err;          /* caller's err */
} s_loader_t;

static void s_rule_fini(s_rule_t *rule)
{
    free(rule->target);
    free(rule->from);
    free(rule->prefix);
    free(rule->suffix);
    json_decref(rule->constant);
    json_decref(rule->fallback);
    json_decref(rule->map);
    memset(rule, 0, sizeof *rule);
}

void wh_mapping_destroy(wh_mapping_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wh_mapping_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        s_rule_fini(&self->rules[i]);
    free(self);
    *self_p = NULL;
}

size_t wh_mapping_size(const wh_mapping_t *self)
{
    return self ? self->count : 0;
}

/* 1 when text is a dotted path: non-empty segments of letters, digits, '_'
 * and '-', at most S_MAX_PATH bytes. */
static int s_is_path(const char *text)
{
    size_t len = strlen(text);
    if (len == 0 || len >= S_MAX_PATH || text[0] == '.' || text[len - 1] == '.' || strstr(text, ".."))
        return 0;
    for (const char *p = text; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
              || c == '.'))
            return 0;
    }
    return 1;
}

/* The scalar text of node, or NULL after filling err. */
static const char *s_scalar(s_loader_t *self, const yaml_node_t *node, const char *target, const char *key)
{
    const char *text = hub_yamldoc_scalar(node);
    if (!text)
        hub_yamldoc_error(self->doc, node, self->err, "fields: %s: %s: expected a single value, not a %s", target,
                          key, node->type == YAML_MAPPING_NODE ? "mapping" : "list");
    return text;
}

/* A "const" or "default" value: a string, or (list targets only) a list
 * of strings. Returns a new JSON value or NULL after filling err. */
static json_t *s_value(s_loader_t *self, const yaml_node_t *node, const s_rule_t *rule, const char *key)
{
    if (node->type == YAML_SEQUENCE_NODE && rule->is_list) {
        json_t *list = json_array();
        if (!list) {
            hub_yamldoc_error(self->doc, node, self->err, "out of memory");
            return NULL;
        }
        for (yaml_node_item_t *item = node->data.sequence.items.start; item < node->data.sequence.items.top;
             item++) {
            const char *text = s_scalar(self, hub_yamldoc_node(self->doc, *item), rule->target, key);
            if (!text || json_array_append_new(list, json_string(text)) < 0) {
                if (text)
                    hub_yamldoc_error(self->doc, node, self->err, "fields: %s: %s: not valid UTF-8", rule->target,
                                      key);
                json_decref(list);
                return NULL;
            }
        }
        return list;
    }
    const char *text = s_scalar(self, node, rule->target, key);
    if (!text)
        return NULL;
    json_t *value = json_string(text);
    if (!value)
        hub_yamldoc_error(self->doc, node, self->err, "fields: %s: %s: not valid UTF-8", rule->target, key);
    return value;
}

/* Checks a target against the event's fields (rule 1) and sets is_list. */
static int s_check_target(s_loader_t *self, const yaml_node_t *knode, s_rule_t *rule)
{
    if (!s_is_path(rule->target))
        return hub_yamldoc_error(self->doc, knode, self->err,
                                 "fields: \"%.64s\" is not a field path like customer.name", rule->target);
    hub_path_t path;
    char why[HUB_ERR_LEN] = "";
    if (hub_path_resolve(&hub__event__descriptor, rule->target, &path, why) < 0)
        return hub_yamldoc_error(self->doc, knode, self->err, "fields: %s", why);
    const ProtobufCFieldDescriptor *last = path.fields[path.depth - 1];
    if (!path.has_map_key && last->type == PROTOBUF_C_TYPE_MESSAGE)
        return hub_yamldoc_error(self->doc, knode, self->err,
                                 "fields: %s is a group of fields: map its fields one by one (%s.name, ...)",
                                 rule->target, rule->target);
    rule->is_list = !path.has_map_key && last->label == PROTOBUF_C_LABEL_REPEATED;
    return 0;
}

/* Reads "map: { theirs: ours, ... }". */
static int s_load_map(s_loader_t *self, const yaml_node_t *node, s_rule_t *rule)
{
    if (node->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "fields: %s: map: expected a mapping of their values to ours", rule->target);
    rule->map = json_object();
    if (!rule->map)
        return hub_yamldoc_error(self->doc, node, self->err, "out of memory");
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *v = hub_yamldoc_node(self->doc, pair->value);
        const char *theirs = s_scalar(self, k, rule->target, "map");
        const char *ours = theirs ? s_scalar(self, v, rule->target, "map") : NULL;
        if (!ours)
            return -HUB_ECONFIG;
        json_t *value = json_string(ours);
        if (!value || json_object_set_new(rule->map, theirs, value) < 0)
            return hub_yamldoc_error(self->doc, v, self->err, "fields: %s: map: not valid UTF-8", rule->target);
    }
    return 0;
}

/* Reads one "target: rule" pair into rule. */
static int s_load_rule(s_loader_t *self, const yaml_node_t *knode, const yaml_node_t *value, s_rule_t *rule)
{
    int rc = s_check_target(self, knode, rule);
    if (rc < 0)
        return rc;
    if (value->type == YAML_SCALAR_NODE) {
        /* the short form: "subject: ticket.subject" */
        const char *from = hub_yamldoc_scalar(value);
        if (hub_yamldoc_is_null(value) || !s_is_path(from))
            return hub_yamldoc_error(self->doc, value, self->err,
                                     "fields: %s: expected a payload path (ticket.subject) or "
                                     "{ from: ..., const: ..., default: ..., map: ... }",
                                     rule->target);
        rule->from = strdup(from);
        return rule->from ? 0 : hub_yamldoc_error(self->doc, value, self->err, "out of memory");
    }
    if (value->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, value, self->err,
                                 "fields: %s: expected a payload path or a mapping with from or const",
                                 rule->target);
    for (yaml_node_pair_t *pair = value->data.mapping.pairs.start; pair < value->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *v = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(k);
        if (!key)
            return hub_yamldoc_error(self->doc, k, self->err, "fields: %s: a key must be a name", rule->target);
        if (strcmp(key, "from") == 0) {
            const char *from = s_scalar(self, v, rule->target, key);
            if (!from)
                return -HUB_ECONFIG;
            if (!s_is_path(from))
                return hub_yamldoc_error(self->doc, v, self->err,
                                         "fields: %s: from: \"%.64s\" is not a payload path like ticket.subject",
                                         rule->target, from);
            if (!(rule->from = strdup(from)))
                return hub_yamldoc_error(self->doc, v, self->err, "out of memory");
        }
        else if (strcmp(key, "const") == 0) {
            if (!(rule->constant = s_value(self, v, rule, key)))
                return -HUB_ECONFIG;
        }
        else if (strcmp(key, "default") == 0) {
            if (!(rule->fallback = s_value(self, v, rule, key)))
                return -HUB_ECONFIG;
        }
        else if (strcmp(key, "map") == 0) {
            rc = s_load_map(self, v, rule);
            if (rc < 0)
                return rc;
        }
        else if (strcmp(key, "prefix") == 0 || strcmp(key, "suffix") == 0) {
            const char *text = s_scalar(self, v, rule->target, key);
            if (!text)
                return -HUB_ECONFIG;
            char **slot = key[0] == 'p' ? &rule->prefix : &rule->suffix;
            if (!(*slot = strdup(text)))
                return hub_yamldoc_error(self->doc, v, self->err, "out of memory");
        }
        else if (strcmp(key, "required") == 0) {
            const char *text = s_scalar(self, v, rule->target, key);
            if (!text)
                return -HUB_ECONFIG;
            if (strcmp(text, "true") == 0)
                rule->required = 1;
            else if (strcmp(text, "false") != 0)
                return hub_yamldoc_error(self->doc, v, self->err, "fields: %s: required: expected true or false",
                                         rule->target);
        }
        else {
            return hub_yamldoc_error(self->doc, k, self->err,
                                     "fields: %s: unknown key \"%.64s\" (known: from, const, default, map, prefix, "
                                     "suffix, required)",
                                     rule->target, key);
        }
    }
    if (rule->constant && (rule->from || rule->fallback || rule->map || rule->prefix || rule->suffix
                           || rule->required))
        return hub_yamldoc_error(self->doc, value, self->err,
                                 "fields: %s: const stands alone (no from, default, map, prefix, suffix or required)",
                                 rule->target);
    if (!rule->constant && !rule->from)
        return hub_yamldoc_error(self->doc, value, self->err, "fields: %s: needs from (a payload path) or const",
                                 rule->target);
    if (rule->required && rule->fallback)
        return hub_yamldoc_error(self->doc, value, self->err,
                                 "fields: %s: required and default contradict each other: keep one", rule->target);
    return 0;
}

static int s_load_root(s_loader_t *self, wh_mapping_t *mapping)
{
    yaml_node_t *root = hub_yamldoc_root(self->doc);
    if (root->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, root, self->err, "expected a mapping with \"fields:\"");
    yaml_node_t *fields = NULL;
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        const char *key = hub_yamldoc_scalar(k);
        if (key && strcmp(key, "fields") == 0)
            fields = hub_yamldoc_node(self->doc, pair->value);
        else
            return hub_yamldoc_error(self->doc, k, self->err, "unknown key \"%.64s\" (expected fields)",
                                     key ? key : "?");
    }
    if (!fields)
        return hub_yamldoc_error(self->doc, root, self->err, "fields: missing");
    if (fields->type != YAML_MAPPING_NODE || fields->data.mapping.pairs.start == fields->data.mapping.pairs.top)
        return hub_yamldoc_error(self->doc, fields, self->err,
                                 "fields: expected a mapping of event fields to rules (subject: ticket.subject)");
    for (yaml_node_pair_t *pair = fields->data.mapping.pairs.start; pair < fields->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *v = hub_yamldoc_node(self->doc, pair->value);
        const char *target = hub_yamldoc_scalar(k);
        if (!target)
            return hub_yamldoc_error(self->doc, k, self->err, "fields: a key must be an event field");
        if (mapping->count == WH_MAPPING_MAX_FIELDS)
            return hub_yamldoc_error(self->doc, k, self->err, "fields: more than %d", WH_MAPPING_MAX_FIELDS);
        for (size_t i = 0; i < mapping->count; i++) {
            const char *other = mapping->rules[i].target;
            size_t len = strlen(other);
            size_t tlen = strlen(target);
            /* "customer.name" after "customer.name", or a path inside another's value */
            if ((strncmp(other, target, len) == 0 && (target[len] == '\0' || target[len] == '.'))
                || (strncmp(other, target, tlen) == 0 && other[tlen] == '.'))
                return hub_yamldoc_error(self->doc, k, self->err, "fields: %s: overlaps %s", target, other);
        }
        s_rule_t *rule = &mapping->rules[mapping->count++];
        if (!(rule->target = strdup(target)))
            return hub_yamldoc_error(self->doc, k, self->err, "out of memory");
        int rc = s_load_rule(self, k, v, rule);
        if (rc < 0)
            return rc;
    }
    return 0;
}

wh_mapping_t *wh_mapping_parse(const char *text, size_t len, const char *name, char err[HUB_ERR_LEN])
{
    hub_yamldoc_t doc;
    wh_mapping_t *mapping = calloc(1, sizeof *mapping);
    int rc = hub_yamldoc_load(&doc, name ? name : "mapping", text, len, err);
    if (rc == 0 && !mapping)
        rc = hub_yamldoc_error(&doc, NULL, err, "out of memory");
    if (rc == 0) {
        s_loader_t loader = {.doc = &doc, .err = err};
        rc = s_load_root(&loader, mapping);
    }
    hub_yamldoc_fini(&doc);
    if (rc < 0)
        wh_mapping_destroy(&mapping);
    return mapping;
}

wh_mapping_t *wh_mapping_load(const char *path, char err[HUB_ERR_LEN])
{
    char *text = NULL;
    size_t len = 0;
    if (hub_yamldoc_read_file(path, &text, &len, err) < 0)
        return NULL;
    wh_mapping_t *mapping = wh_mapping_parse(text, len, path, err);
    free(text);
    return mapping;
}

/* ------------------------------------------------------------ applying */

/* The value at a dotted path of the payload (rule 2), or NULL. */
static const json_t *s_lookup(const json_t *payload, const char *path)
{
    const json_t *at = payload;
    const char *p = path;
    while (at && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char key[S_MAX_PATH];
        memcpy(key, p, len); /* len < S_MAX_PATH: paths are checked on load */
        key[len] = '\0';
        if (json_is_object(at)) {
            at = json_object_get(at, key);
        }
        else if (json_is_array(at) && len > 0 && len < 10 && strspn(key, "0123456789") == len) {
            at = json_array_get(at, strtoul(key, NULL, 10));
        }
        else {
            at = NULL;
        }
        p = dot ? dot + 1 : p + len;
    }
    return at;
}

typedef enum { S_ABSENT, S_TEXT, S_NOT_SCALAR } s_kind_t;

/* Writes a payload scalar as text (rule 2). Returns S_TEXT with *out set
 * (a new string the caller frees), S_ABSENT, or S_NOT_SCALAR. */
static s_kind_t s_text_of(const json_t *value, char **out)
{
    *out = NULL;
    char buf[64];
    switch (json_typeof(value)) {
    case JSON_STRING:
        if (json_string_length(value) == 0)
            return S_ABSENT;
        *out = strdup(json_string_value(value));
        return S_TEXT;
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        *out = strdup(buf);
        return S_TEXT;
    case JSON_REAL:
        snprintf(buf, sizeof buf, "%.17g", json_real_value(value));
        *out = strdup(buf);
        return S_TEXT;
    case JSON_TRUE:
        *out = strdup("true");
        return S_TEXT;
    case JSON_FALSE:
        *out = strdup("false");
        return S_TEXT;
    case JSON_NULL:
        return S_ABSENT;
    default:
        return S_NOT_SCALAR;
    }
}

/* One payload scalar through map, default, prefix and suffix (rule 3).
 * Returns a new JSON string, or NULL when absent and no default applies
 * (*failed set to -ENOMEM on allocation failure). */
static json_t *s_convert(const s_rule_t *rule, const char *text, int *failed)
{
    if (rule->map) {
        const json_t *mapped = json_object_get(rule->map, text);
        if (mapped)
            text = json_string_value(mapped);
        else if (rule->fallback)
            return json_incref(rule->fallback);
    }
    size_t plen = rule->prefix ? strlen(rule->prefix) : 0;
    size_t slen = rule->suffix ? strlen(rule->suffix) : 0;
    size_t tlen = strlen(text);
    char *joined = malloc(plen + tlen + slen + 1);
    if (!joined) {
        *failed = -ENOMEM;
        return NULL;
    }
    memcpy(joined, rule->prefix ? rule->prefix : "", plen);
    memcpy(joined + plen, text, tlen);
    memcpy(joined + plen + tlen, rule->suffix ? rule->suffix : "", slen + 1);
    json_t *value = json_stringn(joined, plen + tlen + slen);
    free(joined);
    if (!value)
        *failed = -ENOMEM; /* the parts are UTF-8 already (YAML and jansson checked them) */
    return value;
}

/* Sets the dotted event path target of event to value (stolen). */
static int s_set_path(json_t *event, const char *target, json_t *value)
{
    json_t *at = event;
    const char *p = target;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot)
            return json_object_set_new(at, p, value) < 0 ? -ENOMEM : 0;
        char key[S_MAX_PATH];
        size_t len = (size_t)(dot - p);
        memcpy(key, p, len);
        key[len] = '\0';
        json_t *next = json_object_get(at, key);
        if (!next) {
            next = json_object();
            if (!next || json_object_set_new(at, key, next) < 0) {
                json_decref(value);
                return -ENOMEM;
            }
        }
        at = next;
        p = dot + 1;
    }
}

static void s_errf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void s_errf(char *buf, size_t size, const char *fmt, ...)
{
    if (!buf)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

/* The event value of one rule for payload: a new JSON value, or NULL when
 * the field stays unset (*rc 0) or on failure (*rc < 0, err and field set). */
static json_t *s_apply_rule(const s_rule_t *rule, const json_t *payload, int *rc, char field[WH_FIELD_LEN],
                            char err[HUB_ERR_LEN])
{
    *rc = 0;
    if (rule->constant)
        return json_incref(rule->constant);
    const json_t *found = s_lookup(payload, rule->from);
    json_t *out = NULL;
    if (found && rule->is_list && json_is_array(found)) {
        out = json_array();
        size_t i;
        const json_t *item;
        json_array_foreach(found, i, item) {
            char *text = NULL;
            s_kind_t kind = s_text_of(item, &text);
            if (kind == S_NOT_SCALAR) {
                s_errf(field, WH_FIELD_LEN, "%s.%zu", rule->from, i);
                s_errf(err, HUB_ERR_LEN, "%s.%zu: expected a text value, got %s (for %s)", rule->from, i,
                       json_is_object(item) ? "an object" : "a list", rule->target);
                *rc = -HUB_EINVALID;
            }
            else if (kind == S_TEXT && !text) {
                *rc = -ENOMEM;
            }
            else if (kind == S_TEXT) {
                json_t *value = s_convert(rule, text, rc);
                if (value && json_array_append_new(out, value) < 0)
                    *rc = -ENOMEM;
            }
            free(text);
            if (*rc < 0 || !out) {
                json_decref(out);
                return NULL;
            }
        }
        if (json_array_size(out) == 0) {
            json_decref(out);
            out = NULL;
        }
    }
    else if (found) {
        char *text = NULL;
        s_kind_t kind = s_text_of(found, &text);
        if (kind == S_NOT_SCALAR) {
            s_errf(field, WH_FIELD_LEN, "%s", rule->from);
            s_errf(err, HUB_ERR_LEN, "%s: expected a text value, got %s (for %s)", rule->from,
                   json_is_object(found) ? "an object" : "a list", rule->target);
            *rc = -HUB_EINVALID;
            return NULL;
        }
        if (kind == S_TEXT && !text) {
            *rc = -ENOMEM;
            return NULL;
        }
        if (kind == S_TEXT) {
            out = s_convert(rule, text, rc);
            free(text);
            if (*rc < 0)
                return NULL;
        }
    }
    if (!out && rule->fallback)
        return json_incref(rule->fallback);
    if (!out && rule->required) {
        s_errf(field, WH_FIELD_LEN, "%s", rule->from);
        s_errf(err, HUB_ERR_LEN, "%s: missing (required for %s)", rule->from, rule->target);
        *rc = -HUB_EINVALID;
    }
    return out;
}

int wh_mapping_apply(const wh_mapping_t *self, const json_t *payload, json_t **event_p, char field[WH_FIELD_LEN],
                     char err[HUB_ERR_LEN])
{
    *event_p = NULL;
    if (field)
        field[0] = '\0';
    if (err)
        err[0] = '\0';
    if (!json_is_object(payload)) {
        s_errf(field, WH_FIELD_LEN, "%s", "");
        s_errf(err, HUB_ERR_LEN, "expected a JSON object (the payload), got %s",
               json_is_array(payload) ? "a list" : "a single value");
        return -HUB_EINVALID;
    }
    json_t *event = json_object();
    if (!event)
        return -ENOMEM;
    for (size_t i = 0; i < self->count; i++) {
        int rc = 0;
        json_t *value = s_apply_rule(&self->rules[i], payload, &rc, field, err);
        if (rc == 0 && value)
            rc = s_set_path(event, self->rules[i].target, value);
        if (rc < 0) {
            if (rc == -ENOMEM)
                s_errf(err, HUB_ERR_LEN, "out of memory");
            json_decref(event);
            return rc;
        }
    }
    *event_p = event;
    return 0;
}

const char *wh_mapping_source_of(const wh_mapping_t *self, const char *target)
{
    for (size_t i = 0; self && i < self->count; i++)
        if (strcmp(self->rules[i].target, target) == 0)
            return self->rules[i].from;
    return NULL;
}
