/*
 * policy - policy.yaml parsed into routes, and events matched against them.
 *
 * Rules of loading (each broken rule is an error "file:LINE: what"):
 *   1. The top level holds exactly "departments" (a mapping, at least one)
 *      and "routes" (a list, at least one route); any other key is an
 *      error, so a typo never silently drops a rule of the procedure.
 *   2. A department is a name mapped to {} (or nothing) or to
 *      { escalate_to: OTHER }, where OTHER is another declared department.
 *   3. A route has name, match, notify and kind (required) and fields and
 *      respond_within (optional); nothing else. Route names are unique.
 *      Names of routes, departments and kinds are 1 to HUB_NAME_LEN - 1
 *      letters, digits, '_' or '-', so that a topic is <department>.<kind>.
 *   4. A match is a mapping with at least one key: there is no "always"
 *      route, a route says what it is for. A key is a dotted path into the
 *      event resolved when the policy loads, so an unknown field is an
 *      error then, not a route that silently never matches. Its value is
 *      one scalar or a list of 1 to S_MAX_VALUES scalars; for an enum field
 *      each value must be one of the enum's names, for a bool true or false.
 *      "not" maps to a nested match (at most S_MAX_NOT_DEPTH deep).
 *   5. fields entries are top-level event fields or dotted paths into
 *      sub-messages (hub_redact keeps them); a map key is not one, since a
 *      map is kept or dropped whole.
 * Rules of matching: see policy.h. Matching reads the event and the policy
 * only: it never allocates, blocks or changes the policy, so one loaded
 * policy can be shared by readers.
 *
 * Memory: everything a policy holds is carved from one arena of blocks
 * freed together, so a half-built policy is freed by the same call as a
 * whole one.
 */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "path.h"
#include "sha256.h"
#include "yamldoc.h"

#define S_MAX_DEPARTMENTS 256 /* departments in one policy */
#define S_MAX_VALUES 256      /* values of one match key */
#define S_MAX_KEYS 64         /* keys of one match mapping */
#define S_MAX_NOT_DEPTH 8     /* not: inside not: ... */
#define S_MAX_FIELDS 64       /* entries of one route's fields */
#define S_BLOCK_SIZE 16384    /* bytes of an arena block */
#define S_WHY_LEN 512         /* bytes of one explanation */

/* ------------------------------------------------------------------ arena */

typedef struct s_block {
    struct s_block *next; /* older block */
    size_t used;          /* bytes handed out */
    size_t cap;           /* bytes in data */
} s_block_t;

/* Where data starts in a block: after the header, aligned for anything. */
#define S_BLOCK_HEAD ((sizeof(s_block_t) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))

/* ---------------------------------------------------------------- policy */

typedef struct s_match s_match_t;

/* One key of a match: a path and its values, or a nested not. */
typedef struct {
    const char *text;       /* the path as written, or "not" */
    hub_path_t path;        /* resolved path (keys only) */
    const char **values;    /* values, as written (keys only) */
    size_t nvalues;         /* 1..S_MAX_VALUES (keys only) */
    const s_match_t *inner; /* the nested match of a not, else NULL */
    const char *written;    /* a not as text: "not(tags=duplicate)" */
} s_term_t;

/* A match mapping: every term must hold. */
struct s_match {
    s_term_t *terms; /* in the order written */
    size_t nterms;   /* 1..S_MAX_KEYS */
};

typedef struct {
    const char *name;          /* route name */
    const char *department;    /* notify */
    const char *kind;          /* kind */
    const char *topic;         /* department.kind */
    const char **fields;       /* redaction list, or NULL */
    size_t nfields;            /* 0: everything */
    int64_t respond_within_ms; /* 0: no deadline */
    const s_match_t *match;    /* when it applies */
    int line;                  /* where the route starts */
} s_route_t;

typedef struct {
    const char *name;        /* department name */
    const char *escalate_to; /* another department, or NULL */
    int line;                /* where it is declared */
} s_department_t;

struct hub_policy {
    s_block_t *blocks;               /* the arena */
    s_department_t *departments;     /* as declared */
    size_t ndepartments;             /* 1..S_MAX_DEPARTMENTS */
    s_route_t *routes;               /* in policy order */
    size_t nroutes;                  /* 1..HUB_MAX_ROUTES */
    char sha256[HUB_SHA256_HEX_LEN]; /* of the text */
    const char *source;              /* the text, as parsed (in the arena, NUL-terminated) */
    size_t source_len;               /* its bytes */
};

/* What one parse needs: the document, the caller's err, the policy. */
typedef struct {
    hub_yamldoc_t *doc;
    char *err;
    hub_policy_t *policy;
} s_loader_t;

/* Returns size bytes from the policy's arena, zeroed; NULL on ENOMEM. */
static void *s_alloc(hub_policy_t *self, size_t size)
{
    size = (size + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
    if (size == 0)
        size = alignof(max_align_t);
    s_block_t *block = self->blocks;
    if (!block || block->cap - block->used < size) {
        size_t cap = size > S_BLOCK_SIZE / 4 ? size : S_BLOCK_SIZE;
        block = malloc(S_BLOCK_HEAD + cap);
        if (!block)
            return NULL;
        block->used = 0;
        block->cap = cap;
        if (cap == size && self->blocks) {
            /* a big one-off: keep filling the current block after it */
            block->next = self->blocks->next;
            self->blocks->next = block;
        } else {
            block->next = self->blocks;
            self->blocks = block;
        }
    }
    void *p = (char *)block + S_BLOCK_HEAD + block->used;
    block->used += size;
    memset(p, 0, size);
    return p;
}

/* A copy of text in the arena; NULL on ENOMEM. */
static char *s_strdup(hub_policy_t *self, const char *text)
{
    size_t len = strlen(text);
    char *copy = s_alloc(self, len + 1);
    if (copy)
        memcpy(copy, text, len + 1);
    return copy;
}

/* Fills err for an allocation that failed; returns -ENOMEM. */
static int s_oom(s_loader_t *self)
{
    snprintf(self->err, HUB_ERR_LEN, "%s: out of memory", self->doc->name);
    return -ENOMEM;
}

/* ------------------------------------------------------------------- text */

/* A bounded text being written: appends past the end are cut with "...". */
typedef struct {
    char *buf;  /* NUL-terminated */
    size_t cap; /* bytes of buf */
    size_t len; /* bytes written */
} s_text_t;

static void s_text_init(s_text_t *self, char *buf, size_t cap)
{
    self->buf = buf;
    self->cap = cap;
    self->len = 0;
    buf[0] = '\0';
}

/* Ends a text that something did not fit with "..." on a UTF-8 character
 * boundary; later appends are ignored. */
static void s_text_cut(s_text_t *self)
{
    size_t at = self->cap > 4 ? self->cap - 4 : 0;
    while (at > 0 && ((unsigned char)self->buf[at] & 0xC0) == 0x80)
        at--;
    snprintf(self->buf + at, self->cap - at, "%s", "...");
    self->len = self->cap - 1; /* full: nothing more goes in */
}

/* Appends formatted text; when it does not fit, ends buf with "..." on a
 * UTF-8 character boundary, and ignores later appends. */
static void s_text_add(s_text_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_text_add(s_text_t *self, const char *fmt, ...)
{
    if (self->len + 1 >= self->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(self->buf + self->len, self->cap - self->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < self->cap - self->len) {
        self->len += (size_t)n;
        return;
    }
    s_text_cut(self);
}

/* Appends the strings given, up to a NULL, as s_text_add would append
 * them formatted with "%s%s...": the same text, without the formatting,
 * which routing every event paid for each term that matched. As there,
 * they go in whole or the text is cut, even when the cut falls between
 * two of them. */
static void s_text_put(s_text_t *self, ...)
{
    if (self->len + 1 >= self->cap)
        return;
    va_list ap;
    size_t total = 0;
    va_start(ap, self);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        total += strlen(s);
    va_end(ap);
    int fits = total < self->cap - self->len;
    va_start(ap, self);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *)) {
        size_t n = strlen(s), room = self->cap - 1 - self->len;
        if (n > room)
            n = room;
        memcpy(self->buf + self->len, s, n);
        self->len += n;
    }
    va_end(ap);
    self->buf[self->len] = '\0';
    if (!fits)
        s_text_cut(self);
}

/* ------------------------------------------------------------------ names */

/* 1 when text is a department, route or kind name (rule 3). */
static int s_valid_name(const char *text)
{
    size_t len = strlen(text);
    if (len == 0 || len >= HUB_NAME_LEN)
        return 0;
    for (const char *p = text; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return 0;
    return 1;
}

/* Reads a name scalar. what names it in messages ("notify"). Returns the
 * text or NULL with err filled. */
static const char *s_read_name(s_loader_t *self, const char *label, const char *what, const yaml_node_t *node)
{
    const char *text = hub_yamldoc_scalar(node);
    if (!text || hub_yamldoc_is_null(node)) {
        hub_yamldoc_error(self->doc, node, self->err, "%s%s: expected a name", label, what);
        return NULL;
    }
    if (!s_valid_name(text)) {
        hub_yamldoc_error(self->doc, node, self->err,
                          "%s%s: \"%.64s\" is not a name (1 to %d letters, digits, '_' or '-')", label, what, text,
                          HUB_NAME_LEN - 1);
        return NULL;
    }
    return text;
}

static const s_department_t *s_find_department(const hub_policy_t *self, const char *name)
{
    for (size_t i = 0; i < self->ndepartments; i++)
        if (strcmp(self->departments[i].name, name) == 0)
            return &self->departments[i];
    return NULL;
}

/* The declared departments, "engineering, finance, ...", for messages. */
static void s_department_list(const hub_policy_t *self, char *out, size_t outlen)
{
    s_text_t text;
    s_text_init(&text, out, outlen);
    for (size_t i = 0; i < self->ndepartments; i++)
        s_text_add(&text, "%s%s", i ? ", " : "", self->departments[i].name);
}

/* ------------------------------------------------------------ departments */

/* Rule 2: first every name, then every escalate_to, which may name a
 * department declared after it. */
static int s_load_departments(s_loader_t *self, const yaml_node_t *node)
{
    hub_policy_t *policy = self->policy;
    if (node->type != YAML_MAPPING_NODE || hub_yamldoc_is_null(node))
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "departments: expected a mapping of department names (finance: {})");
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (n == 0)
        return hub_yamldoc_error(self->doc, node, self->err, "departments: none declared; routes need one to notify");
    if (n > S_MAX_DEPARTMENTS) {
        const yaml_node_pair_t *over = node->data.mapping.pairs.start + S_MAX_DEPARTMENTS;
        return hub_yamldoc_error(self->doc, hub_yamldoc_node(self->doc, over->key), self->err,
                                 "departments: more than %d", S_MAX_DEPARTMENTS);
    }
    policy->departments = s_alloc(policy, n * sizeof *policy->departments);
    if (!policy->departments)
        return s_oom(self);

    for (const yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        const yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        const char *name = s_read_name(self, "", "department", knode);
        if (!name)
            return -HUB_ECONFIG;
        s_department_t *dept = &policy->departments[policy->ndepartments++];
        dept->name = s_strdup(policy, name);
        dept->line = hub_yamldoc_line(knode);
        if (!dept->name)
            return s_oom(self);
    }

    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *pair = node->data.mapping.pairs.start + i;
        s_department_t *dept = &policy->departments[i];
        const yaml_node_t *value = hub_yamldoc_node(self->doc, pair->value);
        if (hub_yamldoc_is_null(value))
            continue; /* "finance:" declares it with no settings */
        if (value->type != YAML_MAPPING_NODE)
            return hub_yamldoc_error(self->doc, value, self->err,
                                     "department \"%s\": expected a mapping ({} or { escalate_to: DEPARTMENT })",
                                     dept->name);
        for (const yaml_node_pair_t *p = value->data.mapping.pairs.start; p < value->data.mapping.pairs.top; p++) {
            const yaml_node_t *knode = hub_yamldoc_node(self->doc, p->key);
            const yaml_node_t *vnode = hub_yamldoc_node(self->doc, p->value);
            const char *key = hub_yamldoc_scalar(knode);
            if (!key || strcmp(key, "escalate_to") != 0)
                return hub_yamldoc_error(self->doc, knode, self->err, "department \"%s\": unknown key \"%.64s\"",
                                         dept->name, key ? key : "?");
            char label[HUB_NAME_LEN + 16];
            snprintf(label, sizeof label, "department \"%s\": ", dept->name);
            const char *to = s_read_name(self, label, "escalate_to", vnode);
            if (!to)
                return -HUB_ECONFIG;
            const s_department_t *target = s_find_department(policy, to);
            if (!target) {
                char list[160];
                s_department_list(policy, list, sizeof list);
                return hub_yamldoc_error(self->doc, vnode, self->err,
                                         "department \"%s\": escalate_to: \"%s\" is not a department (declared: %s)",
                                         dept->name, to, list);
            }
            if (target == dept)
                return hub_yamldoc_error(self->doc, vnode, self->err,
                                         "department \"%s\": escalate_to: a department cannot escalate to itself",
                                         dept->name);
            dept->escalate_to = target->name;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ match */

/* Checks a match value against the type of the path's last field: an enum
 * value must be one of its names (not the zero one, which reads as
 * missing), a bool true or false. Returns 0 or fills err. */
static int s_check_value(s_loader_t *self, const char *prefix, const s_term_t *term, const yaml_node_t *node)
{
    const ProtobufCFieldDescriptor *field = term->path.fields[term->path.depth - 1];
    if (term->path.has_map_key)
        field = protobuf_c_message_descriptor_get_field(field->descriptor, 2);
    const char *value = hub_yamldoc_scalar(node);
    if (field->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return hub_yamldoc_error(self->doc, node, self->err, "%s%s: \"%.64s\" is not true or false", prefix,
                                     term->text, value);
        return 0;
    }
    if (field->type != PROTOBUF_C_TYPE_ENUM)
        return 0;
    const ProtobufCEnumDescriptor *desc = field->descriptor;
    char names[160];
    s_text_t list;
    s_text_init(&list, names, sizeof names);
    for (unsigned i = 0; i < desc->n_values; i++) {
        if (desc->values[i].value == 0)
            continue;
        char name[HUB_ENUM_NAME_LEN];
        hub_enum_to_name(desc, desc->values[i].value, name, sizeof name);
        if (strcmp(name, value) == 0)
            return 0;
        s_text_add(&list, "%s%s", list.len ? ", " : "", name);
    }
    return hub_yamldoc_error(self->doc, node, self->err, "%s%s: \"%.64s\" is not one of %s", prefix, term->text, value,
                             names);
}

/* Reads the value of a match key: one scalar or a list of them. */
static int s_load_values(s_loader_t *self, const char *prefix, s_term_t *term, const yaml_node_t *node)
{
    hub_policy_t *policy = self->policy;
    int is_list = node->type == YAML_SEQUENCE_NODE;
    size_t n = 1;
    if (node->type == YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "%s%s: expected a value or a list of values, not a mapping", prefix, term->text);
    if (is_list) {
        n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
        if (n == 0)
            return hub_yamldoc_error(self->doc, node, self->err, "%s%s: an empty list never holds", prefix, term->text);
        if (n > S_MAX_VALUES)
            return hub_yamldoc_error(self->doc,
                                     hub_yamldoc_node(self->doc, node->data.sequence.items.start[S_MAX_VALUES]),
                                     self->err, "%s%s: more than %d values", prefix, term->text, S_MAX_VALUES);
    }
    term->values = s_alloc(policy, n * sizeof(const char *));
    if (!term->values)
        return s_oom(self);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = is_list ? hub_yamldoc_node(self->doc, node->data.sequence.items.start[i]) : node;
        const char *text = hub_yamldoc_scalar(item);
        if (!text || hub_yamldoc_is_null(item))
            return hub_yamldoc_error(self->doc, item, self->err, "%s%s: expected a value%s", prefix, term->text,
                                     is_list ? " in the list, not a list or mapping" : " or a list of values");
        int rc = s_check_value(self, prefix, term, item);
        if (rc < 0)
            return rc;
        term->values[i] = s_strdup(policy, text);
        if (!term->values[i])
            return s_oom(self);
    }
    term->nvalues = n;
    return 0;
}

/* Writes a match as written: "type=bug_report, tags=a|b, not(...)". */
static void s_write_match(const s_match_t *match, s_text_t *out)
{
    for (size_t i = 0; i < match->nterms; i++) {
        const s_term_t *term = &match->terms[i];
        s_text_add(out, "%s", i ? ", " : "");
        if (term->inner) {
            s_text_add(out, "%s", term->written);
            continue;
        }
        s_text_add(out, "%s=", term->text);
        for (size_t v = 0; v < term->nvalues; v++)
            s_text_add(out, "%s%s", v ? "|" : "", term->values[v]);
    }
}

/* Reads a match mapping (rule 4) at depth levels of not. prefix starts
 * every message ('route "rma": match: '). */
static int s_load_match(s_loader_t *self, const char *prefix, const yaml_node_t *node, int depth, const s_match_t **out)
{
    hub_policy_t *policy = self->policy;
    if (node->type != YAML_MAPPING_NODE || hub_yamldoc_is_null(node))
        return hub_yamldoc_error(self->doc, node, self->err, "%sexpected a mapping of field: value", prefix);
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (n == 0)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "%sempty; write at least one field: value (a route is never unconditional)", prefix);
    if (n > S_MAX_KEYS)
        return hub_yamldoc_error(self->doc, hub_yamldoc_node(self->doc, node->data.mapping.pairs.start[S_MAX_KEYS].key),
                                 self->err, "%smore than %d keys", prefix, S_MAX_KEYS);
    s_match_t *match = s_alloc(policy, sizeof *match);
    if (!match || !(match->terms = s_alloc(policy, n * sizeof *match->terms)))
        return s_oom(self);

    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *pair = node->data.mapping.pairs.start + i;
        const yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        const yaml_node_t *vnode = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(knode);
        s_term_t *term = &match->terms[match->nterms++];
        if (!key)
            return hub_yamldoc_error(self->doc, knode, self->err, "%sa key must be a field path", prefix);
        if (strcmp(key, "not") == 0) {
            if (depth + 1 > S_MAX_NOT_DEPTH)
                return hub_yamldoc_error(self->doc, knode, self->err, "%snot: nested more than %d deep", prefix,
                                         S_MAX_NOT_DEPTH);
            char inner_prefix[HUB_ERR_LEN];
            snprintf(inner_prefix, sizeof inner_prefix, "%snot: ", prefix);
            int rc = s_load_match(self, inner_prefix, vnode, depth + 1, &term->inner);
            if (rc < 0)
                return rc;
            term->text = "not";
            char written[HUB_REASON_LEN];
            s_text_t text;
            s_text_init(&text, written, sizeof written);
            s_text_add(&text, "not(");
            s_write_match(term->inner, &text);
            s_text_add(&text, ")");
            if (!(term->written = s_strdup(policy, written)))
                return s_oom(self);
            continue;
        }
        char why[HUB_ERR_LEN];
        if (hub_path_resolve(&hub__event__descriptor, key, &term->path, why) < 0)
            return hub_yamldoc_error(self->doc, knode, self->err, "%s%s", prefix, why);
        const ProtobufCFieldDescriptor *last = term->path.fields[term->path.depth - 1];
        if (last->type == PROTOBUF_C_TYPE_MESSAGE && !term->path.has_map_key) {
            const ProtobufCMessageDescriptor *sub = last->descriptor;
            return hub_yamldoc_error(self->doc, knode, self->err,
                                     "%s\"%.64s\" is a message; match one of its fields (\"%.64s.%s\")", prefix, key,
                                     key, sub->n_fields ? sub->fields[0].name : "...");
        }
        if (!(term->text = s_strdup(policy, key)))
            return s_oom(self);
        int rc = s_load_values(self, prefix, term, vnode);
        if (rc < 0)
            return rc;
    }
    *out = match;
    return 0;
}

/* ----------------------------------------------------------------- routes */

/* Reads fields: a list of event fields (rule 5). */
static int s_load_fields(s_loader_t *self, const char *label, s_route_t *route, const yaml_node_t *node)
{
    hub_policy_t *policy = self->policy;
    size_t n = 1;
    if (node->type == YAML_MAPPING_NODE || hub_yamldoc_is_null(node))
        return hub_yamldoc_error(self->doc, node, self->err, "%sfields: expected a list of event fields", label);
    if (node->type == YAML_SEQUENCE_NODE) {
        n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
        if (n == 0)
            return hub_yamldoc_error(self->doc, node, self->err,
                                     "%sfields: empty list; leave fields out to show every field", label);
        if (n > S_MAX_FIELDS)
            return hub_yamldoc_error(self->doc, node, self->err, "%sfields: more than %d", label, S_MAX_FIELDS);
    }
    route->fields = s_alloc(policy, n * sizeof(const char *));
    if (!route->fields)
        return s_oom(self);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item =
            node->type == YAML_SEQUENCE_NODE ? hub_yamldoc_node(self->doc, node->data.sequence.items.start[i]) : node;
        const char *text = hub_yamldoc_scalar(item);
        if (!text || hub_yamldoc_is_null(item))
            return hub_yamldoc_error(self->doc, item, self->err, "%sfields: expected an event field name", label);
        if (!protobuf_c_message_descriptor_get_field_by_name(&hub__event__descriptor, text)) {
            hub_path_t path;
            char why[HUB_ERR_LEN];
            if (hub_path_resolve(&hub__event__descriptor, text, &path, why) < 0)
                return hub_yamldoc_error(self->doc, item, self->err, "%sfields: %s", label, why);
            if (path.has_map_key)
                return hub_yamldoc_error(self->doc, item, self->err,
                                         "%sfields: \"%.64s\": a map is kept or dropped whole; write \"%s\"", label,
                                         text, path.fields[path.depth - 1]->name);
        }
        if (!(route->fields[i] = s_strdup(policy, text)))
            return s_oom(self);
    }
    route->nfields = n;
    return 0;
}

/* Reads one route (rule 3). index is 1-based, for a route without a name. */
static int s_load_route(s_loader_t *self, size_t index, const yaml_node_t *node, s_route_t *route)
{
    hub_policy_t *policy = self->policy;
    char label[HUB_NAME_LEN + 32];
    snprintf(label, sizeof label, "route %zu: ", index);
    if (node->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, node, self->err, "%sexpected a mapping (name, match, notify, kind, ...)",
                                 label);
    route->line = hub_yamldoc_line(node);

    /* The name first, so that every later message can say which route. */
    const yaml_node_pair_t *pair;
    for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        const char *key = hub_yamldoc_scalar(hub_yamldoc_node(self->doc, pair->key));
        if (key && strcmp(key, "name") == 0)
            break;
    }
    if (pair == node->data.mapping.pairs.top)
        return hub_yamldoc_error(self->doc, node, self->err, "%smissing \"name\"", label);
    const yaml_node_t *name_node = hub_yamldoc_node(self->doc, pair->value);
    const char *name = s_read_name(self, label, "name", name_node);
    if (!name)
        return -HUB_ECONFIG;
    for (size_t i = 0; i < policy->nroutes; i++)
        if (strcmp(policy->routes[i].name, name) == 0)
            return hub_yamldoc_error(self->doc, name_node, self->err,
                                     "route \"%s\": the name is used again (first on line %d)", name,
                                     policy->routes[i].line);
    if (!(route->name = s_strdup(policy, name)))
        return s_oom(self);
    snprintf(label, sizeof label, "route \"%s\": ", name);

    const yaml_node_t *match_node = NULL;
    for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        const yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        const yaml_node_t *vnode = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(knode);
        int rc = 0;
        if (!key)
            return hub_yamldoc_error(self->doc, knode, self->err, "%sa key must be a name", label);
        if (strcmp(key, "name") == 0) {
            continue;
        } else if (strcmp(key, "match") == 0) {
            match_node = vnode;
            char prefix[HUB_NAME_LEN + 40];
            snprintf(prefix, sizeof prefix, "%smatch: ", label);
            rc = s_load_match(self, prefix, vnode, 0, &route->match);
        } else if (strcmp(key, "notify") == 0) {
            const char *dept = s_read_name(self, label, "notify", vnode);
            if (!dept)
                return -HUB_ECONFIG;
            const s_department_t *found = s_find_department(policy, dept);
            if (!found) {
                char list[160];
                s_department_list(policy, list, sizeof list);
                return hub_yamldoc_error(self->doc, vnode, self->err,
                                         "%snotify: \"%s\" is not a department (declared: %s)", label, dept, list);
            }
            route->department = found->name;
        } else if (strcmp(key, "kind") == 0) {
            const char *kind = s_read_name(self, label, "kind", vnode);
            if (!kind)
                return -HUB_ECONFIG;
            if (!(route->kind = s_strdup(policy, kind)))
                return s_oom(self);
        } else if (strcmp(key, "fields") == 0) {
            rc = s_load_fields(self, label, route, vnode);
        } else if (strcmp(key, "respond_within") == 0) {
            const char *text = hub_yamldoc_scalar(vnode);
            char why[HUB_ERR_LEN] = "";
            if (!text || hub_yamldoc_is_null(vnode))
                return hub_yamldoc_error(self->doc, vnode, self->err,
                                         "%srespond_within: expected a duration like 30m, 4h or 2d", label);
            if (hub_duration_parse(text, &route->respond_within_ms, why, sizeof why) < 0)
                return hub_yamldoc_error(self->doc, vnode, self->err, "%srespond_within: %s", label, why);
        } else {
            return hub_yamldoc_error(self->doc, knode, self->err, "%sunknown key \"%.64s\"", label, key);
        }
        if (rc < 0)
            return rc;
    }
    const char *missing = !match_node ? "match" : !route->department ? "notify" : !route->kind ? "kind" : NULL;
    if (missing)
        return hub_yamldoc_error(self->doc, node, self->err, "%smissing \"%s\"", label, missing);

    char topic[HUB_TOPIC_LEN];
    snprintf(topic, sizeof topic, "%s.%s", route->department, route->kind);
    if (!(route->topic = s_strdup(policy, topic)))
        return s_oom(self);
    return 0;
}

static int s_load_routes(s_loader_t *self, const yaml_node_t *node)
{
    hub_policy_t *policy = self->policy;
    if (node->type != YAML_SEQUENCE_NODE)
        return hub_yamldoc_error(self->doc, node, self->err, "routes: expected a list of routes (- name: ...)");
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n == 0)
        return hub_yamldoc_error(self->doc, node, self->err, "routes: empty; a policy routes something");
    if (n > HUB_MAX_ROUTES)
        return hub_yamldoc_error(self->doc,
                                 hub_yamldoc_node(self->doc, node->data.sequence.items.start[HUB_MAX_ROUTES]),
                                 self->err, "routes: more than %d", HUB_MAX_ROUTES);
    policy->routes = s_alloc(policy, n * sizeof *policy->routes);
    if (!policy->routes)
        return s_oom(self);
    for (size_t i = 0; i < n; i++) {
        int rc = s_load_route(self, i + 1, hub_yamldoc_node(self->doc, node->data.sequence.items.start[i]),
                              &policy->routes[i]);
        if (rc < 0)
            return rc;
        policy->nroutes++;
    }
    return 0;
}

/* Rule 1. */
static int s_load_root(s_loader_t *self)
{
    const yaml_node_t *root = hub_yamldoc_root(self->doc);
    if (root->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, root, self->err, "expected a mapping with departments and routes");
    const yaml_node_t *departments = NULL, *routes = NULL;
    for (const yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        const yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        const char *key = hub_yamldoc_scalar(knode);
        if (key && strcmp(key, "departments") == 0)
            departments = hub_yamldoc_node(self->doc, pair->value);
        else if (key && strcmp(key, "routes") == 0)
            routes = hub_yamldoc_node(self->doc, pair->value);
        else
            return hub_yamldoc_error(self->doc, knode, self->err, "unknown key \"%.64s\"", key ? key : "?");
    }
    if (!departments)
        return hub_yamldoc_error(self->doc, root, self->err, "missing \"departments\"");
    if (!routes)
        return hub_yamldoc_error(self->doc, root, self->err, "missing \"routes\"");
    int rc = s_load_departments(self, departments);
    return rc < 0 ? rc : s_load_routes(self, routes);
}

hub_policy_t *hub_policy_parse(const char *text, size_t len, const char *name, char err[HUB_ERR_LEN])
{
    if (!name)
        name = "policy.yaml";
    hub_policy_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", name);
        return NULL;
    }
    hub_yamldoc_t doc;
    int rc = hub_yamldoc_load(&doc, name, text, len, err);
    if (rc == 0) {
        s_loader_t loader = {.doc = &doc, .err = err, .policy = self};
        rc = s_load_root(&loader);
    }
    hub_yamldoc_fini(&doc);
    if (rc < 0) {
        hub_policy_destroy(&self);
        return NULL;
    }
    char *source = s_alloc(self, len + 1);
    if (!source) {
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", name);
        hub_policy_destroy(&self);
        return NULL;
    }
    memcpy(source, text, len);
    source[len] = '\0';
    self->source = source;
    self->source_len = len;
    uint8_t digest[HUB_SHA256_LEN];
    hub_sha256(text, len, digest);
    hub_hex(digest, sizeof digest, self->sha256);
    return self;
}

const char *hub_policy_source(const hub_policy_t *self, size_t *len_p)
{
    if (len_p)
        *len_p = self->source_len;
    return self->source;
}

hub_policy_t *hub_policy_load(const char *path, char err[HUB_ERR_LEN])
{
    char *text = NULL;
    size_t len = 0;
    if (hub_yamldoc_read_file(path, &text, &len, err) < 0)
        return NULL;
    hub_policy_t *self = hub_policy_parse(text, len, path, err);
    free(text);
    return self;
}

void hub_policy_destroy(hub_policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_policy_t *self = *self_p;
    while (self->blocks) {
        s_block_t *next = self->blocks->next;
        free(self->blocks);
        self->blocks = next;
    }
    free(self);
    *self_p = NULL;
}

const char *hub_policy_sha256(const hub_policy_t *self)
{
    return self->sha256;
}

size_t hub_policy_route_count(const hub_policy_t *self)
{
    return self->nroutes;
}

const char *hub_policy_escalate_to(const hub_policy_t *self, const char *department)
{
    const s_department_t *dept = department ? s_find_department(self, department) : NULL;
    return dept ? dept->escalate_to : NULL;
}

/* --------------------------------------------------------------- matching */

/* What one key saw of the event while looking for one of its values. */
typedef struct {
    const s_term_t *term;
    const char *matched; /* the term's value that the event holds, or NULL */
    s_text_t *seen;      /* the event's values, quoted, when explaining */
    size_t nseen;        /* how many values it saw */
} s_probe_t;

static int s_probe_value(const char *value, void *arg)
{
    s_probe_t *probe = arg;
    for (size_t i = 0; i < probe->term->nvalues; i++) {
        if (strcmp(value, probe->term->values[i]) == 0) {
            probe->matched = probe->term->values[i];
            return 1;
        }
    }
    if (probe->seen)
        s_text_add(probe->seen, "%s\"%.64s\"", probe->nseen ? ", " : "", value);
    probe->nseen++;
    return 0;
}

/* Evaluates match against ev. Appends to reason what held; when why is
 * given and the match does not hold, writes there the first term that did
 * not and why. Returns 1 when it holds, else 0. Never allocates. */
static int s_eval(const s_match_t *match, const Hub__Event *ev, s_text_t *reason, s_text_t *why)
{
    for (size_t i = 0; i < match->nterms; i++) {
        const s_term_t *term = &match->terms[i];
        if (term->inner) {
            char inner_buf[HUB_REASON_LEN];
            s_text_t inner;
            s_text_init(&inner, inner_buf, sizeof inner_buf);
            if (s_eval(term->inner, ev, &inner, NULL)) {
                if (why)
                    s_text_add(why, "%s: the match inside holds (%s)", term->written, inner_buf);
                return 0;
            }
            s_text_put(reason, reason->len ? ", " : "", term->written, (const char *)NULL);
            continue;
        }
        char seen_buf[S_WHY_LEN / 2];
        s_text_t seen;
        s_text_init(&seen, seen_buf, sizeof seen_buf);
        s_probe_t probe = {.term = term, .seen = why ? &seen : NULL};
        hub_path_values(&ev->base, &term->path, s_probe_value, &probe);
        if (probe.matched) {
            s_text_put(reason, reason->len ? ", " : "", term->text, "=", probe.matched, (const char *)NULL);
            continue;
        }
        if (why) {
            if (probe.nseen == 0) {
                s_text_add(why, "%s: field is missing", term->text);
            } else {
                const char *verb = probe.nseen > 1 ? (term->nvalues > 1 ? "is one of" : "is")
                                                   : (term->nvalues > 1 ? "is not one of" : "is not");
                s_text_add(why, "%s: %s%s %s", term->text, probe.nseen > 1 ? "none of " : "", seen_buf, verb);
                for (size_t v = 0; v < term->nvalues; v++)
                    s_text_add(why, "%s%s", v ? ", " : " ", term->values[v]);
            }
        }
        return 0;
    }
    return 1;
}

size_t hub_policy_route(const hub_policy_t *self, const Hub__Event *ev, hub_match_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nroutes && n < max; i++) {
        const s_route_t *route = &self->routes[i];
        hub_match_t *m = &out[n];
        s_text_t reason;
        s_text_init(&reason, m->reason, sizeof m->reason);
        if (!s_eval(route->match, ev, &reason, NULL))
            continue;
        m->index = i;
        m->route = route->name;
        m->department = route->department;
        m->kind = route->kind;
        m->topic = route->topic;
        m->fields = route->nfields ? route->fields : NULL;
        m->nfields = route->nfields;
        m->respond_within_ms = route->respond_within_ms;
        n++;
    }
    return n;
}

void hub_policy_explain(const hub_policy_t *self, const Hub__Event *ev, hub_explain_fn fn, void *arg)
{
    for (size_t i = 0; i < self->nroutes; i++) {
        const s_route_t *route = &self->routes[i];
        char reason_buf[HUB_REASON_LEN], why_buf[S_WHY_LEN];
        s_text_t reason, why;
        s_text_init(&reason, reason_buf, sizeof reason_buf);
        s_text_init(&why, why_buf, sizeof why_buf);
        int matched = s_eval(route->match, ev, &reason, &why);
        fn(route->name, route->topic, matched, matched ? reason_buf : why_buf, arg);
    }
}

int hub_topic_match(const char *pattern, const char *topic)
{
    const char *star = NULL, *resume = NULL;
    while (*topic) {
        if (*pattern == '*') {
            star = pattern++;
            resume = topic;
        } else if (*pattern == *topic) {
            pattern++;
            topic++;
        } else if (star) {
            pattern = star + 1;
            topic = ++resume;
        } else {
            return 0;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}
