/*
 * users - the users file (rules in users.h).
 */
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamldoc.h"

struct cs_users {
    cs_user_t *users; /* the users (owned) */
    size_t count;     /* entries used */
};

typedef struct {
    hub_yamldoc_t *doc; /* the file */
    char *err;          /* caller's err */
    int need_password;  /* rule 2 */
} s_loader_t;

int cs_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= CS_NAME_LEN)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.'
              || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int cs_user_has_department(const cs_user_t *user, const char *department)
{
    if (!user || !department)
        return 0;
    if (user->operator)
        return 1;
    for (size_t i = 0; i < user->ndepartments; i++)
        if (strcmp(user->departments[i], department) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------- loading */

static int s_load_departments(s_loader_t *self, cs_user_t *user, const yaml_node_t *node)
{
    if (node->type == YAML_SCALAR_NODE && hub_yamldoc_is_null(node))
        return 0;
    if (node->type != YAML_SEQUENCE_NODE)
        return hub_yamldoc_error(self->doc, node, self->err, "users: %s: departments: expected a list like [sales]",
                                 user->name);
    for (yaml_node_item_t *item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++) {
        yaml_node_t *d = hub_yamldoc_node(self->doc, *item);
        const char *name = hub_yamldoc_scalar(d);
        if (!name || !cs_name_valid(name))
            return hub_yamldoc_error(self->doc, d, self->err,
                                     "users: %s: departments: \"%.64s\" must be 1 to 64 letters, digits, '.', '_' or "
                                     "'-'",
                                     user->name, name ? name : "(not a name)");
        if (user->ndepartments == CS_MAX_DEPARTMENTS)
            return hub_yamldoc_error(self->doc, d, self->err, "users: %s: departments: more than %d", user->name,
                                     CS_MAX_DEPARTMENTS);
        int twice = 0;
        for (size_t i = 0; i < user->ndepartments; i++)
            twice |= strcmp(user->departments[i], name) == 0;
        if (twice)
            return hub_yamldoc_error(self->doc, d, self->err, "users: %s: departments: \"%s\" is listed twice",
                                     user->name, name);
        snprintf(user->departments[user->ndepartments++], CS_NAME_LEN, "%s", name);
    }
    return 0;
}

static int s_load_user(s_loader_t *self, cs_user_t *user, const yaml_node_t *knode, const yaml_node_t *node)
{
    const char *name = hub_yamldoc_scalar(knode);
    if (!name || !cs_name_valid(name))
        return hub_yamldoc_error(self->doc, knode, self->err,
                                 "users: \"%.64s\": a user name must be 1 to 64 letters, digits, '.', '_' or '-'",
                                 name ? name : "(not a name)");
    snprintf(user->name, sizeof user->name, "%s", name);
    if (node->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "users: %s: expected a mapping { password: ..., departments: [...], operator: ... }",
                                 name);
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *v = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(k);
        if (!key)
            return hub_yamldoc_error(self->doc, k, self->err, "users: %s: a key must be a name", name);
        if (strcmp(key, "password") == 0) {
            const char *text = hub_yamldoc_scalar(v);
            char why[HUB_ERR_LEN];
            if (!text || hub_yamldoc_is_null(v) || !*text)
                return hub_yamldoc_error(self->doc, v, self->err,
                                         "users: %s: password: expected a hash made with hub-console passwd", name);
            if (cs_password_parse(text, &user->password, why) < 0)
                return hub_yamldoc_error(self->doc, v, self->err, "users: %s: %s", name, why);
            user->has_password = 1;
        }
        else if (strcmp(key, "departments") == 0) {
            int rc = s_load_departments(self, user, v);
            if (rc < 0)
                return rc;
        }
        else if (strcmp(key, "operator") == 0) {
            const char *text = hub_yamldoc_scalar(v);
            if (text && (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0))
                user->operator = 1;
            else if (text && (strcmp(text, "false") == 0 || strcmp(text, "no") == 0))
                user->operator = 0;
            else
                return hub_yamldoc_error(self->doc, v, self->err, "users: %s: operator: expected true or false",
                                         name);
        }
        else {
            return hub_yamldoc_error(self->doc, k, self->err,
                                     "users: %s: unknown key \"%.64s\" (known: password, departments, operator)", name,
                                     key);
        }
    }
    if (!user->has_password && self->need_password)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "users: %s: no password (make one with: hub-console passwd); only a console behind a "
                                 "proxy (proxy_header) takes users without one",
                                 name);
    if (!user->operator && user->ndepartments == 0)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "users: %s: no departments and not an operator: the user could see nothing", name);
    return 0;
}

static int s_load_root(s_loader_t *self, cs_users_t *users)
{
    yaml_node_t *root = hub_yamldoc_root(self->doc);
    if (root->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, root, self->err, "expected a mapping with one key: users");
    const yaml_node_t *list = NULL;
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        const char *key = hub_yamldoc_scalar(k);
        if (!key || strcmp(key, "users") != 0)
            return hub_yamldoc_error(self->doc, k, self->err, "unknown key \"%.64s\" (known: users)",
                                     key ? key : "(not a name)");
        list = hub_yamldoc_node(self->doc, pair->value);
    }
    if (!list || list->type != YAML_MAPPING_NODE || list->data.mapping.pairs.top == list->data.mapping.pairs.start)
        return hub_yamldoc_error(self->doc, list ? list : root, self->err,
                                 "users: expected a mapping of at least one user (alice: { password: ..., "
                                 "departments: [...] })");
    size_t n = (size_t)(list->data.mapping.pairs.top - list->data.mapping.pairs.start);
    if (n > CS_MAX_USERS)
        return hub_yamldoc_error(self->doc, list, self->err, "users: more than %d users", CS_MAX_USERS);
    users->users = calloc(n, sizeof *users->users);
    if (!users->users)
        return hub_yamldoc_error(self->doc, list, self->err, "out of memory");
    for (yaml_node_pair_t *pair = list->data.mapping.pairs.start; pair < list->data.mapping.pairs.top; pair++) {
        cs_user_t *user = &users->users[users->count];
        int rc = s_load_user(self, user, hub_yamldoc_node(self->doc, pair->key),
                             hub_yamldoc_node(self->doc, pair->value));
        if (rc < 0)
            return rc;
        users->count++; /* the file's duplicate keys are refused by yamldoc */
    }
    return 0;
}

cs_users_t *cs_users_load(const char *path, int need_password, char err[HUB_ERR_LEN])
{
    cs_users_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    hub_yamldoc_t doc;
    int rc = hub_yamldoc_load_file(&doc, path, err);
    if (rc == 0) {
        s_loader_t loader = {.doc = &doc, .err = err, .need_password = need_password};
        rc = s_load_root(&loader, self);
    }
    hub_yamldoc_fini(&doc);
    if (rc < 0)
        cs_users_destroy(&self);
    return self;
}

void cs_users_destroy(cs_users_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cs_users_t *self = *self_p;
    if (self->users) {
        /* the hashes are not secrets, but no reason to leave them about */
        memset(self->users, 0, self->count * sizeof *self->users);
        free(self->users);
    }
    free(self);
    *self_p = NULL;
}

const cs_user_t *cs_users_find(const cs_users_t *self, const char *name)
{
    if (!self || !name)
        return NULL;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->users[i].name, name) == 0)
            return &self->users[i];
    return NULL;
}

size_t cs_users_count(const cs_users_t *self)
{
    return self ? self->count : 0;
}

uint32_t cs_users_max_iterations(const cs_users_t *self)
{
    uint32_t most = 0;
    for (size_t i = 0; self && i < self->count; i++)
        if (self->users[i].has_password && self->users[i].password.iterations > most)
            most = self->users[i].password.iterations;
    return most;
}
