/*
 * outlet_template - "{{path}}" templates (see outlet_template.h).
 *
 * A compiled template is a list of parts: literal text, or a path to look
 * up. Rendering walks the parts into one growing buffer.
 */
#include "outlet_template.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *text;   /* literal text, or the path of a placeholder */
    size_t len;   /* bytes of text */
    int is_path;  /* 1: a placeholder */
} s_part_t;

struct outlet_template {
    s_part_t *parts; /* in order */
    size_t nparts;   /* parts used */
};

typedef struct {
    char *data; /* NUL-terminated while ok */
    size_t len; /* bytes used, NUL excluded */
    size_t cap; /* bytes allocated */
    int failed; /* 1 after an allocation failed */
} s_buf_t;

static void s_put(s_buf_t *b, const char *text, size_t len)
{
    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = 1;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, text, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void s_put_str(s_buf_t *b, const char *text)
{
    s_put(b, text, strlen(text));
}

/* Appends value text with the escaping asked for (rules 1 and 2). */
static void s_put_escaped(s_buf_t *b, const char *text, size_t len, outlet_escape_t escape)
{
    if (escape == OUTLET_ESCAPE_PLAIN) {
        s_put(b, text, len);
        return;
    }
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        const char *rep = NULL;
        char hex[8];
        if (escape == OUTLET_ESCAPE_LINE) {
            if (c < 0x20 || c == 0x7f)
                rep = " ";
        } else if (c == '"') {
            rep = "\\\"";
        } else if (c == '\\') {
            rep = "\\\\";
        } else if (c == '\n') {
            rep = "\\n";
        } else if (c == '\r') {
            rep = "\\r";
        } else if (c == '\t') {
            rep = "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(hex, sizeof hex, "\\u%04x", c);
            rep = hex;
        }
        if (rep) {
            s_put(b, text + start, i - start);
            s_put_str(b, rep);
            start = i + 1;
        }
    }
    s_put(b, text + start, len - start);
}

static void s_part_free(s_part_t *p)
{
    free(p->text);
    p->text = NULL;
}

void outlet_template_destroy(outlet_template_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    outlet_template_t *self = *self_p;
    for (size_t i = 0; i < self->nparts; i++)
        s_part_free(&self->parts[i]);
    free(self->parts);
    free(self);
    *self_p = NULL;
}

/* Adds a part holding a copy of text. Returns 0 or -ENOMEM. */
static int s_add(outlet_template_t *self, const char *text, size_t len, int is_path)
{
    s_part_t *parts = realloc(self->parts, (self->nparts + 1) * sizeof(*parts));
    if (!parts)
        return -ENOMEM;
    self->parts = parts;
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    parts[self->nparts++] = (s_part_t){copy, len, is_path};
    return 0;
}

static int s_path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
           || c == '.';
}

/* Line number (1-based) of offset in text, for messages. */
static int s_line_of(const char *text, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

outlet_template_t *outlet_template_new(const char *text, char err[HUB_ERR_LEN])
{
    if (!text) {
        snprintf(err, HUB_ERR_LEN, "no template text");
        return NULL;
    }
    size_t total = strlen(text);
    if (total > OUTLET_TEMPLATE_MAX) {
        snprintf(err, HUB_ERR_LEN, "template too long (%zu bytes, at most %d)", total, OUTLET_TEMPLATE_MAX);
        return NULL;
    }
    outlet_template_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    const char *p = text;
    int placeholder = 0;
    while (*p) {
        const char *open = strstr(p, "{{");
        size_t lit = open ? (size_t)(open - p) : strlen(p);
        if (lit > 0 && s_add(self, p, lit, 0) < 0)
            goto nomem;
        if (!open)
            break;
        placeholder++;
        int line = s_line_of(text, (size_t)(open - text));
        const char *q = open + 2;
        while (*q == ' ')
            q++;
        const char *start = q;
        while (s_path_char(*q))
            q++;
        size_t plen = (size_t)(q - start);
        while (*q == ' ')
            q++;
        if (q[0] != '}' || q[1] != '}') {
            if (!*q || !strstr(q, "}}"))
                snprintf(err, HUB_ERR_LEN, "template line %d: unterminated \"{{\" (placeholder %d)", line,
                         placeholder);
            else
                snprintf(err, HUB_ERR_LEN,
                         "template line %d: placeholder %d: '%c' is not allowed in a path (letters, digits, '_', "
                         "'-' and '.')",
                         line, placeholder, *q);
            outlet_template_destroy(&self);
            return NULL;
        }
        if (plen == 0 || start[0] == '.' || start[plen - 1] == '.' || plen > OUTLET_TEMPLATE_MAX_PATH) {
            snprintf(err, HUB_ERR_LEN, "template line %d: placeholder %d: %s path", line, placeholder,
                     plen == 0 ? "empty" : plen > OUTLET_TEMPLATE_MAX_PATH ? "too long a" : "malformed");
            outlet_template_destroy(&self);
            return NULL;
        }
        if (s_add(self, start, plen, 1) < 0)
            goto nomem;
        p = q + 2;
    }
    return self;
nomem:
    snprintf(err, HUB_ERR_LEN, "out of memory");
    outlet_template_destroy(&self);
    return NULL;
}

/* Follows a dotted path from obj; NULL when a step is missing. */
static const json_t *s_follow(const json_t *obj, const char *path)
{
    char key[OUTLET_TEMPLATE_MAX_PATH + 1];
    const char *p = path;
    while (obj && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len > OUTLET_TEMPLATE_MAX_PATH)
            return NULL;
        memcpy(key, p, len);
        key[len] = '\0';
        obj = json_is_object(obj) ? json_object_get(obj, key) : NULL;
        p = dot ? dot + 1 : p + len;
    }
    return obj;
}

const json_t *outlet_template_lookup(const json_t *notification, const char *path)
{
    if (!notification || !path)
        return NULL;
    const json_t *v = s_follow(notification, path);
    if (!v)
        v = s_follow(json_object_get(notification, "event"), path);
    return v;
}

/* Appends one value as text (see the header for how each kind prints). */
static void s_put_value(s_buf_t *b, const json_t *v, outlet_escape_t escape)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        s_put_escaped(b, json_string_value(v), json_string_length(v), escape);
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s_put_str(b, num);
        break;
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        s_put_str(b, num);
        break;
    case JSON_TRUE:
        s_put_str(b, "true");
        break;
    case JSON_FALSE:
        s_put_str(b, "false");
        break;
    case JSON_ARRAY: {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) {
            if (i > 0)
                s_put_str(b, ", ");
            s_put_value(b, item, escape);
        }
        break;
    }
    case JSON_OBJECT: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text) {
            b->failed = 1;
            break;
        }
        s_put_escaped(b, text, strlen(text), escape);
        free(text);
        break;
    }
    case JSON_NULL:
        break;
    }
}

char *outlet_template_render(const outlet_template_t *self, const json_t *notification, outlet_escape_t escape)
{
    s_buf_t b = {0};
    s_put(&b, "", 0);
    for (size_t i = 0; self && i < self->nparts; i++) {
        const s_part_t *part = &self->parts[i];
        if (!part->is_path) {
            s_put(&b, part->text, part->len);
            continue;
        }
        const json_t *v = outlet_template_lookup(notification, part->text);
        if (v)
            s_put_value(&b, v, escape);
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}
