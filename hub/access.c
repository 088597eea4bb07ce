/*
 * access - see access.h.
 *
 * The list is small (one entry per client identity) and read on every
 * publish and subscribe, so it is kept as plain arrays searched in order.
 */
#include "access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define S_MAX_IDENTITIES 1024 /* identities in one list */
#define S_MAX_ITEMS 256       /* types or patterns of one identity */
#define S_MAX_NAME 128        /* bytes of an identity, type or pattern */

typedef struct {
    char *name;        /* identity */
    char **types;      /* publish */
    size_t ntypes;
    char **patterns;   /* subscribe */
    size_t npatterns;
    int admin;
    int audit;
} s_entry_t;

struct hub_access {
    s_entry_t *entries;
    size_t count;
};

static void s_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void hub_access_destroy(hub_access_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_access_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->entries[i].name);
        s_free_list(self->entries[i].types, self->entries[i].ntypes);
        s_free_list(self->entries[i].patterns, self->entries[i].npatterns);
    }
    free(self->entries);
    free(self);
    *self_p = NULL;
}

/* Checks a name: 1 to S_MAX_NAME-1 printable bytes, no spaces. */
static int s_valid(const char *text, int allow_star)
{
    size_t n = strlen(text);
    if (n == 0 || n >= S_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c == 0x7f || (c == '*' && !allow_star))
            return 0;
    }
    return 1;
}

/* Reads a list of names (or one name) into *out. */
static int s_load_list(hub_yamldoc_t *doc, const char *who, const char *key, yaml_node_t *node, int allow_star,
                       char ***out, size_t *n_out, char err[HUB_ERR_LEN])
{
    size_t n = node->type == YAML_SEQUENCE_NODE
                   ? (size_t)(node->data.sequence.items.top - node->data.sequence.items.start)
                   : 1;
    if (node->type == YAML_MAPPING_NODE)
        return hub_yamldoc_error(doc, node, err, "access: %s: %s: expected a list", who, key);
    if (n > S_MAX_ITEMS)
        return hub_yamldoc_error(doc, node, err, "access: %s: %s: more than %d entries", who, key, S_MAX_ITEMS);
    char **list = calloc(n ? n : 1, sizeof *list);
    if (!list) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node->type == YAML_SEQUENCE_NODE
                                ? hub_yamldoc_node(doc, node->data.sequence.items.start[i])
                                : node;
        const char *text = hub_yamldoc_scalar(item);
        if (!text || !s_valid(text, allow_star)) {
            s_free_list(list, i);
            return hub_yamldoc_error(doc, item, err, "access: %s: %s: \"%.64s\" is not a %s", who, key,
                                     text ? text : "(list)", allow_star ? "topic pattern" : "type");
        }
        if (!(list[i] = strdup(text))) {
            s_free_list(list, i);
            snprintf(err, HUB_ERR_LEN, "out of memory");
            return -ENOMEM;
        }
    }
    *out = list;
    *n_out = n;
    return 0;
}

static int s_load_bool(hub_yamldoc_t *doc, const char *who, const char *key, yaml_node_t *node, int *out,
                       char err[HUB_ERR_LEN])
{
    const char *text = hub_yamldoc_scalar(node);
    if (text && strcmp(text, "true") == 0)
        *out = 1;
    else if (text && strcmp(text, "false") == 0)
        *out = 0;
    else
        return hub_yamldoc_error(doc, node, err, "access: %s: %s: expected true or false", who, key);
    return 0;
}

static int s_load_entry(hub_yamldoc_t *doc, s_entry_t *e, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    if (hub_yamldoc_is_null(node))
        return 0;
    if (node->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(doc, node, err, "access: %s: expected a mapping (publish, subscribe, admin, audit)",
                                 e->name);
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *knode = hub_yamldoc_node(doc, pair->key);
        yaml_node_t *value = hub_yamldoc_node(doc, pair->value);
        const char *key = hub_yamldoc_scalar(knode);
        int rc;
        if (key && strcmp(key, "publish") == 0 && !e->types)
            rc = s_load_list(doc, e->name, key, value, 0, &e->types, &e->ntypes, err);
        else if (key && strcmp(key, "subscribe") == 0 && !e->patterns)
            rc = s_load_list(doc, e->name, key, value, 1, &e->patterns, &e->npatterns, err);
        else if (key && strcmp(key, "admin") == 0)
            rc = s_load_bool(doc, e->name, key, value, &e->admin, err);
        else if (key && strcmp(key, "audit") == 0)
            rc = s_load_bool(doc, e->name, key, value, &e->audit, err);
        else
            return hub_yamldoc_error(doc, knode, err, "access: %s: unknown key \"%.64s\" (publish, subscribe, admin, "
                                     "audit)", e->name, key ? key : "?");
        if (rc < 0)
            return rc;
    }
    return 0;
}

hub_access_t *hub_access_load(hub_yamldoc_t *doc, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    hub_access_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    if (hub_yamldoc_is_null(node))
        return self;
    if (node->type != YAML_MAPPING_NODE) {
        hub_yamldoc_error(doc, node, err, "access: expected a mapping of client identities");
        goto fail;
    }
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (n > S_MAX_IDENTITIES) {
        hub_yamldoc_error(doc, node, err, "access: more than %d identities", S_MAX_IDENTITIES);
        goto fail;
    }
    self->entries = calloc(n ? n : 1, sizeof *self->entries);
    if (!self->entries) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        goto fail;
    }
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *knode = hub_yamldoc_node(doc, pair->key);
        const char *name = hub_yamldoc_scalar(knode);
        if (!name || !s_valid(name, 0)) {
            hub_yamldoc_error(doc, knode, err, "access: \"%.64s\" is not an identity (the name of a key file)",
                              name ? name : "?");
            goto fail;
        }
        s_entry_t *e = &self->entries[self->count++];
        if (!(e->name = strdup(name))) {
            snprintf(err, HUB_ERR_LEN, "out of memory");
            goto fail;
        }
        if (s_load_entry(doc, e, hub_yamldoc_node(doc, pair->value), err) < 0)
            goto fail;
    }
    return self;
fail:
    hub_access_destroy(&self);
    return NULL;
}

size_t hub_access_count(const hub_access_t *self)
{
    return self ? self->count : 0;
}

static const s_entry_t *s_find(const hub_access_t *self, const char *identity)
{
    for (size_t i = 0; self && identity && i < self->count; i++)
        if (strcmp(self->entries[i].name, identity) == 0)
            return &self->entries[i];
    return NULL;
}

int hub_access_may_publish(const hub_access_t *self, const char *identity, const char *type)
{
    const s_entry_t *e = s_find(self, identity);
    for (size_t i = 0; e && type && i < e->ntypes; i++)
        if (strcmp(e->types[i], "*") == 0 || strcmp(e->types[i], type) == 0)
            return 1;
    return 0;
}

int hub_access_may_subscribe(const hub_access_t *self, const char *identity, const char *pattern)
{
    const s_entry_t *e = s_find(self, identity);
    for (size_t i = 0; e && pattern && i < e->npatterns; i++)
        if (hub_topic_match(e->patterns[i], pattern))
            return 1;
    return 0;
}

int hub_access_is_admin(const hub_access_t *self, const char *identity)
{
    const s_entry_t *e = s_find(self, identity);
    return e && e->admin;
}

int hub_access_may_audit(const hub_access_t *self, const char *identity)
{
    const s_entry_t *e = s_find(self, identity);
    return e && e->audit;
}
