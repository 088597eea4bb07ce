/*
 * yamldoc - a libyaml document loaded whole, with the checks every loader
 * of hub.yaml and policy.yaml wants before it reads a single key.
 *
 * Rules (checked by hub_yamldoc_load, so loaders may rely on them):
 *   1. The document is a tree: every node but the root is referenced by
 *      exactly one parent. Aliases would break this (a recursive alias makes
 *      a cycle, nested ones make an exponential tree), so they are refused;
 *      loaders can then walk nodes without tracking where they have been.
 *   2. No mapping holds the same scalar key twice: YAML says it is an
 *      error, libyaml does not check it, and a silently ignored duplicate
 *      route or setting is exactly the mistake a reviewer misses.
 *   3. Scalars hold no NUL byte, so their C string is all of them.
 *   4. There is exactly one document; a second "---" is refused rather than
 *      ignored.
 * Checks here walk the node array in a loop, never recursively, so depth of
 * nesting cannot exhaust the stack.
 */
#include "yamldoc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Line (1-based) of byte offset in text. */
static int s_line_of_offset(const char *text, size_t len, size_t offset)
{
    int line = 1;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* Fills err from a parser that failed; returns the code to give back. */
static int s_parser_error(const hub_yamldoc_t *self, const yaml_parser_t *parser, const char *text, size_t len,
                          char err[HUB_ERR_LEN])
{
    const char *problem = parser->problem ? parser->problem : "cannot parse";
    switch (parser->error) {
    case YAML_MEMORY_ERROR:
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", self->name);
        return -ENOMEM;
    case YAML_READER_ERROR:
        snprintf(err, HUB_ERR_LEN, "%s:%d: %s", self->name, s_line_of_offset(text, len, parser->problem_offset),
                 problem);
        return -HUB_ECONFIG;
    default:
        if (parser->context)
            snprintf(err, HUB_ERR_LEN, "%s:%d: %s (%s on line %d)", self->name,
                     (int)parser->problem_mark.line + 1, problem, parser->context,
                     (int)parser->context_mark.line + 1);
        else
            snprintf(err, HUB_ERR_LEN, "%s:%d: %s", self->name, (int)parser->problem_mark.line + 1, problem);
        return -HUB_ECONFIG;
    }
}

/* Orders scalar key nodes by their text, for the duplicate check. */
static int s_compare_keys(const void *a, const void *b)
{
    const yaml_node_t *x = *(yaml_node_t *const *)a;
    const yaml_node_t *y = *(yaml_node_t *const *)b;
    size_t n = x->data.scalar.length < y->data.scalar.length ? x->data.scalar.length : y->data.scalar.length;
    int c = memcmp(x->data.scalar.value, y->data.scalar.value, n);
    if (c)
        return c;
    if (x->data.scalar.length != y->data.scalar.length)
        return x->data.scalar.length < y->data.scalar.length ? -1 : 1;
    /* equal keys: in the order they are written */
    return x->start_mark.index < y->start_mark.index ? -1 : x->start_mark.index > y->start_mark.index;
}

/* Counts one more reference to child from a parent; refuses a second one
 * (an alias). at is the node whose line names where the alias is used. */
static int s_count_ref(hub_yamldoc_t *self, unsigned char *refs, int child, const yaml_node_t *at,
                       char err[HUB_ERR_LEN])
{
    yaml_node_t *node = hub_yamldoc_node(self, child);
    if (!node)
        return hub_yamldoc_error(self, at, err, "a node refers to nothing");
    if (refs[child - 1]++)
        return hub_yamldoc_error(self, at, err, "aliases are not supported (the value on line %d is used again);"
                                 " write the value out",
                                 hub_yamldoc_line(node));
    return 0;
}

/* Checks rules 1-3 of the file comment over the whole document. */
static int s_check_tree(hub_yamldoc_t *self, char err[HUB_ERR_LEN])
{
    yaml_document_t *doc = &self->doc;
    size_t count = (size_t)(doc->nodes.top - doc->nodes.start);
    size_t max_pairs = 0;
    for (yaml_node_t *node = doc->nodes.start; node < doc->nodes.top; node++) {
        if (node->type == YAML_MAPPING_NODE) {
            size_t pairs = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
            if (pairs > max_pairs)
                max_pairs = pairs;
        }
    }

    unsigned char *refs = calloc(count ? count : 1, 1);
    yaml_node_t **keys = calloc(max_pairs ? max_pairs : 1, sizeof *keys);
    int rc = 0;
    if (!refs || !keys) {
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", self->name);
        rc = -ENOMEM;
        goto done;
    }
    refs[0] = 1; /* the root */

    for (yaml_node_t *node = doc->nodes.start; node < doc->nodes.top && rc == 0; node++) {
        if (node->type == YAML_SCALAR_NODE) {
            if (strlen((const char *)node->data.scalar.value) != node->data.scalar.length)
                rc = hub_yamldoc_error(self, node, err, "a NUL character in a value");
        } else if (node->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *item = node->data.sequence.items.start;
                 item < node->data.sequence.items.top && rc == 0; item++)
                rc = s_count_ref(self, refs, *item, node, err);
        } else if (node->type == YAML_MAPPING_NODE) {
            size_t nkeys = 0;
            for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
                 pair < node->data.mapping.pairs.top && rc == 0; pair++) {
                rc = s_count_ref(self, refs, pair->key, node, err);
                yaml_node_t *key = hub_yamldoc_node(self, pair->key);
                if (rc == 0)
                    rc = s_count_ref(self, refs, pair->value, key, err);
                if (rc == 0 && key->type == YAML_SCALAR_NODE)
                    keys[nkeys++] = key;
            }
            if (rc == 0 && nkeys > 1) {
                qsort(keys, nkeys, sizeof *keys, s_compare_keys);
                for (size_t i = 1; i < nkeys; i++) {
                    if (keys[i]->data.scalar.length == keys[i - 1]->data.scalar.length &&
                        memcmp(keys[i]->data.scalar.value, keys[i - 1]->data.scalar.value,
                               keys[i]->data.scalar.length) == 0) {
                        rc = hub_yamldoc_error(self, keys[i], err, "duplicate key \"%.64s\" (first on line %d)",
                                               (const char *)keys[i]->data.scalar.value,
                                               hub_yamldoc_line(keys[i - 1]));
                        break;
                    }
                }
            }
        }
    }
done:
    free(refs);
    free(keys);
    return rc;
}

int hub_yamldoc_load(hub_yamldoc_t *self, const char *name, const char *text, size_t len, char err[HUB_ERR_LEN])
{
    memset(self, 0, sizeof *self);
    snprintf(self->name, sizeof self->name, "%s", name ? name : "yaml");
    if (len > HUB_MAX_YAML_BYTES) {
        snprintf(err, HUB_ERR_LEN, "%s: %zu bytes, over the limit of %d", self->name, len, HUB_MAX_YAML_BYTES);
        return -HUB_ECONFIG;
    }
    if (!text)
        text = "";

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", self->name);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    int rc = 0;
    if (!yaml_parser_load(&parser, &self->doc)) {
        rc = s_parser_error(self, &parser, text, len, err); /* libyaml freed the document */
        goto done;
    }
    self->loaded = 1;
    yaml_node_t *root = hub_yamldoc_root(self);
    if (!root) {
        snprintf(err, HUB_ERR_LEN, "%s:1: empty document", self->name);
        rc = -HUB_ECONFIG;
        goto done;
    }

    yaml_document_t next;
    if (!yaml_parser_load(&parser, &next)) {
        rc = s_parser_error(self, &parser, text, len, err);
        goto done;
    }
    yaml_node_t *next_root = yaml_document_get_root_node(&next);
    if (next_root) {
        snprintf(err, HUB_ERR_LEN, "%s:%d: a second document; put everything in one", self->name,
                 (int)next.start_mark.line + 1);
        rc = -HUB_ECONFIG;
    }
    yaml_document_delete(&next);
    if (rc == 0)
        rc = s_check_tree(self, err);
done:
    yaml_parser_delete(&parser);
    return rc;
}

int hub_yamldoc_read_file(const char *path, char **text_p, size_t *len_p, char err[HUB_ERR_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, HUB_ERR_LEN, "%s: %s", path, strerror(errno));
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        snprintf(err, HUB_ERR_LEN, "%s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, HUB_ERR_LEN, "%s: %s", path, strerror(EISDIR));
        close(fd);
        return -EISDIR;
    }
    /* Read up to one byte over the limit whatever stat says: a pipe or a
     * file that grows reports a size that cannot be trusted. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size >= 0 && st.st_size <= HUB_MAX_YAML_BYTES
                     ? (size_t)st.st_size + 1
                     : 4096;
    char *text = malloc(cap + 1);
    size_t len = 0;
    int rc = 0;
    while (text) {
        if (len == cap) {
            if (cap > HUB_MAX_YAML_BYTES)
                break;
            size_t bigger = cap * 2 > (size_t)HUB_MAX_YAML_BYTES + 1 ? (size_t)HUB_MAX_YAML_BYTES + 1 : cap * 2;
            char *grown = realloc(text, bigger + 1);
            if (!grown) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
            cap = bigger;
        }
        ssize_t n = read(fd, text + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            snprintf(err, HUB_ERR_LEN, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!text) {
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", path);
        return -ENOMEM;
    }
    if (rc == 0 && len > HUB_MAX_YAML_BYTES) {
        snprintf(err, HUB_ERR_LEN, "%s: over the limit of %d bytes", path, HUB_MAX_YAML_BYTES);
        rc = -HUB_ECONFIG;
    }
    if (rc < 0) {
        free(text);
        return rc;
    }
    text[len] = '\0';
    *text_p = text;
    *len_p = len;
    return 0;
}

int hub_yamldoc_load_file(hub_yamldoc_t *self, const char *path, char err[HUB_ERR_LEN])
{
    memset(self, 0, sizeof *self);
    char *text = NULL;
    size_t len = 0;
    int rc = hub_yamldoc_read_file(path, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = hub_yamldoc_load(self, path, text, len, err);
    free(text);
    return rc;
}

void hub_yamldoc_fini(hub_yamldoc_t *self)
{
    if (self && self->loaded) {
        yaml_document_delete(&self->doc);
        self->loaded = 0;
    }
}

yaml_node_t *hub_yamldoc_root(hub_yamldoc_t *self)
{
    return self->loaded ? yaml_document_get_root_node(&self->doc) : NULL;
}

yaml_node_t *hub_yamldoc_node(hub_yamldoc_t *self, int index)
{
    return self->loaded ? yaml_document_get_node(&self->doc, index) : NULL;
}

int hub_yamldoc_line(const yaml_node_t *node)
{
    return node ? (int)node->start_mark.line + 1 : 0;
}

const char *hub_yamldoc_scalar(const yaml_node_t *node)
{
    if (!node || node->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)node->data.scalar.value;
}

int hub_yamldoc_is_null(const yaml_node_t *node)
{
    if (!node || node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *text = (const char *)node->data.scalar.value;
    return !*text || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 || strcmp(text, "Null") == 0 ||
           strcmp(text, "NULL") == 0;
}

int hub_yamldoc_error(const hub_yamldoc_t *self, const yaml_node_t *node, char err[HUB_ERR_LEN], const char *fmt,
                      ...)
{
    int head;
    if (node)
        head = snprintf(err, HUB_ERR_LEN, "%s:%d: ", self->name, hub_yamldoc_line(node));
    else
        head = snprintf(err, HUB_ERR_LEN, "%s: ", self->name);
    if (head < 0)
        head = 0;
    if (head < HUB_ERR_LEN - 1) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + head, HUB_ERR_LEN - (size_t)head, fmt, ap);
        va_end(ap);
    }
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return -HUB_ECONFIG;
}
