/*
 * outlet_config - shared outlet settings and the section readers (see
 * outlet_config.h for the file's shape and the rules).
 */
#include "outlet_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_DURATION_MS (24LL * 3600 * 1000)
#define S_MAX_NAME 63
#define S_MAX_PATTERN 128

static const char *s_kind(const yaml_node_t *node)
{
    return node->type == YAML_MAPPING_NODE ? "mapping" : node->type == YAML_SEQUENCE_NODE ? "list" : "value";
}

int outlet_cfg_mapping(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, char err[HUB_ERR_LEN])
{
    if (node->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(doc, node, err, "%s: expected a mapping of settings, got a %s", what,
                                 s_kind(node));
    return 0;
}

/* The text of a scalar, or NULL after filling err. */
static const char *s_scalar(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, char err[HUB_ERR_LEN])
{
    const char *text = hub_yamldoc_scalar(node);
    if (!text)
        hub_yamldoc_error(doc, node, err, "%s: expected a single value, not a %s", what, s_kind(node));
    return text;
}

int outlet_cfg_string(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, char **out,
                      char err[HUB_ERR_LEN])
{
    const char *text = s_scalar(doc, what, node, err);
    if (!text)
        return -HUB_ECONFIG;
    if (!*text || hub_yamldoc_is_null(node))
        return hub_yamldoc_error(doc, node, err, "%s: empty", what);
    char *copy = strdup(text);
    if (!copy)
        return hub_yamldoc_error(doc, node, err, "%s: out of memory", what);
    free(*out);
    *out = copy;
    return 0;
}

int outlet_cfg_uint(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, uint64_t min, uint64_t max,
                    uint64_t *out, char err[HUB_ERR_LEN])
{
    const char *text = s_scalar(doc, what, node, err);
    if (!text)
        return -HUB_ECONFIG;
    uint64_t n = 0;
    int ok = *text != '\0' && strlen(text) <= 19;
    for (const char *p = text; ok && *p; p++) {
        if (*p < '0' || *p > '9')
            ok = 0;
        else
            n = n * 10 + (uint64_t)(*p - '0');
    }
    if (!ok || n < min || n > max)
        return hub_yamldoc_error(doc, node, err, "%s: expected a whole number from %llu to %llu, got \"%.32s\"",
                                 what, (unsigned long long)min, (unsigned long long)max, text);
    *out = n;
    return 0;
}

int outlet_parse_duration(const char *text, int64_t *ms)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    int64_t n = 0;
    const char *p = text;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p - '0');
        if (n > S_MAX_DURATION_MS)
            return -1;
        p++;
    }
    int64_t unit;
    if (strcmp(p, "ms") == 0)
        unit = 1;
    else if (strcmp(p, "s") == 0 || *p == '\0')
        unit = 1000;
    else if (strcmp(p, "m") == 0)
        unit = 60 * 1000;
    else if (strcmp(p, "h") == 0)
        unit = 3600 * 1000;
    else
        return -1;
    if (n > S_MAX_DURATION_MS / unit)
        return -1;
    *ms = n * unit;
    return 0;
}

int outlet_cfg_duration(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, int64_t *ms,
                        char err[HUB_ERR_LEN])
{
    const char *text = s_scalar(doc, what, node, err);
    if (!text)
        return -HUB_ECONFIG;
    if (outlet_parse_duration(text, ms) != 0)
        return hub_yamldoc_error(doc, node, err,
                                 "%s: expected a duration like 500ms, 10s, 5m or 1h (at most 24h), got \"%.32s\"",
                                 what, text);
    return 0;
}

void outlet_cfg_strings_free(char ***list, size_t *n)
{
    if (!list || !*list)
        return;
    for (size_t i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

int outlet_cfg_strings(hub_yamldoc_t *doc, const char *what, const yaml_node_t *node, char ***out, size_t *n,
                       char err[HUB_ERR_LEN])
{
    const yaml_node_t *single[1] = {node};
    size_t count = 1;
    if (node->type == YAML_SEQUENCE_NODE) {
        count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
        if (count == 0)
            return hub_yamldoc_error(doc, node, err, "%s: the list is empty", what);
        if (count > OUTLET_MAX_LIST)
            return hub_yamldoc_error(doc, node, err, "%s: at most %d values", what, OUTLET_MAX_LIST);
    } else if (node->type == YAML_MAPPING_NODE) {
        return hub_yamldoc_error(doc, node, err, "%s: expected a value or a list, not a mapping", what);
    }
    char **list = calloc(count, sizeof(*list));
    if (!list)
        return hub_yamldoc_error(doc, node, err, "%s: out of memory", what);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *item = node->type == YAML_SEQUENCE_NODE
                                      ? hub_yamldoc_node(doc, node->data.sequence.items.start[i])
                                      : single[0];
        int rc = item ? outlet_cfg_string(doc, what, item, &list[i], err) : -HUB_ECONFIG;
        if (rc < 0) {
            outlet_cfg_strings_free(&list, &count);
            return -HUB_ECONFIG;
        }
    }
    outlet_cfg_strings_free(out, n);
    *out = list;
    *n = count;
    return 0;
}

int outlet_read_secret(const char *path, char **out, char err[HUB_ERR_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, HUB_ERR_LEN, "%s: %s", path, strerror(e));
        return -e;
    }
    char *buf = malloc(OUTLET_MAX_SECRET + 2);
    if (!buf) {
        close(fd);
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", path);
        return -ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, OUTLET_MAX_SECRET + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            snprintf(err, HUB_ERR_LEN, "%s: %s", path, strerror(e));
            free(buf);
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > OUTLET_MAX_SECRET)
            break;
    }
    close(fd);
    if (len > OUTLET_MAX_SECRET) {
        snprintf(err, HUB_ERR_LEN, "%s: longer than %d bytes", path, OUTLET_MAX_SECRET);
        free(buf);
        return -HUB_ECONFIG;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (len == 0 || memchr(buf, '\0', len)) {
        snprintf(err, HUB_ERR_LEN, "%s: %s", path, len == 0 ? "empty" : "holds a NUL byte");
        free(buf);
        return -HUB_ECONFIG;
    }
    *out = buf;
    return 0;
}

int outlet_cfg_secret(hub_yamldoc_t *doc, const yaml_node_t *node, const char *section, const char *name,
                      const char *file, const char *env, char **out, char err[HUB_ERR_LEN])
{
    if (file) {
        char why[HUB_ERR_LEN];
        if (outlet_read_secret(file, out, why) < 0)
            return hub_yamldoc_error(doc, node, err, "%s.%s_file: %s", section, name, why);
    }
    if (env) {
        const char *value = getenv(env);
        if (!value || !*value)
            return hub_yamldoc_error(doc, node, err, "%s.%s_env: $%.64s is not set or empty", section, name, env);
        if (!(*out = strdup(value)))
            return hub_yamldoc_error(doc, node, err, "out of memory");
    }
    return 0;
}

void outlet_secret_free(char **secret_p)
{
    if (!secret_p || !*secret_p)
        return;
    memset(*secret_p, 0, strlen(*secret_p));
    free(*secret_p);
    *secret_p = NULL;
}

/* ------------------------------------------------------ shared sections */

static int s_load_subscribe(outlet_config_t *self, hub_yamldoc_t *doc, yaml_node_t *section, char err[HUB_ERR_LEN])
{
    int rc = outlet_cfg_mapping(doc, "subscribe", section, err);
    for (yaml_node_pair_t *pair = section->data.mapping.pairs.start; rc == 0 && pair < section->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = hub_yamldoc_node(doc, pair->key), *v = hub_yamldoc_node(doc, pair->value);
        const char *key = k ? hub_yamldoc_scalar(k) : NULL;
        if (!key || !v)
            return hub_yamldoc_error(doc, k, err, "subscribe: keys must be plain words");
        if (strcmp(key, "name") == 0) {
            rc = outlet_cfg_string(doc, "subscribe.name", v, &self->name, err);
            if (rc == 0 && strlen(self->name) > S_MAX_NAME)
                rc = hub_yamldoc_error(doc, v, err, "subscribe.name: at most %d bytes", S_MAX_NAME);
        } else if (strcmp(key, "topics") == 0 || strcmp(key, "topic") == 0) {
            rc = outlet_cfg_strings(doc, "subscribe.topics", v, &self->topics, &self->ntopics, err);
            if (rc == 0 && self->ntopics > OUTLET_MAX_TOPICS)
                rc = hub_yamldoc_error(doc, v, err, "subscribe.topics: at most %d patterns", OUTLET_MAX_TOPICS);
            for (size_t i = 0; rc == 0 && i < self->ntopics; i++)
                if (strlen(self->topics[i]) > S_MAX_PATTERN)
                    rc = hub_yamldoc_error(doc, v, err, "subscribe.topics: a pattern has at most %d bytes",
                                           S_MAX_PATTERN);
        } else if (strcmp(key, "credit") == 0) {
            uint64_t n = 0;
            rc = outlet_cfg_uint(doc, "subscribe.credit", v, 1, OUTLET_MAX_CREDIT, &n, err);
            self->credit = (uint32_t)n;
        } else if (strcmp(key, "from") == 0) {
            const char *text = hub_yamldoc_scalar(v);
            uint64_t seq = 0;
            char ignored[HUB_ERR_LEN];
            if (text && strcmp(text, "resume") == 0)
                self->from = HUB_FROM_RESUME;
            else if (text && strcmp(text, "earliest") == 0)
                self->from = HUB_FROM_EARLIEST;
            else if (text && strcmp(text, "latest") == 0)
                self->from = HUB_FROM_LATEST;
            else if (text && outlet_cfg_uint(doc, "subscribe.from", v, 0, UINT64_MAX / 2, &seq, ignored) == 0) {
                self->from = HUB_FROM_SEQ;
                self->from_seq = seq;
            } else
                rc = hub_yamldoc_error(doc, v, err,
                                       "subscribe.from: expected resume, earliest, latest or a sequence number");
        } else {
            rc = hub_yamldoc_error(doc, k, err,
                                   "subscribe: unknown key \"%.64s\" (known: name, topics, credit, from)", key);
        }
    }
    return rc;
}

static int s_load_retry(outlet_config_t *self, hub_yamldoc_t *doc, yaml_node_t *section, char err[HUB_ERR_LEN])
{
    int rc = outlet_cfg_mapping(doc, "retry", section, err);
    for (yaml_node_pair_t *pair = section->data.mapping.pairs.start; rc == 0 && pair < section->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = hub_yamldoc_node(doc, pair->key), *v = hub_yamldoc_node(doc, pair->value);
        const char *key = k ? hub_yamldoc_scalar(k) : NULL;
        if (!key || !v)
            return hub_yamldoc_error(doc, k, err, "retry: keys must be plain words");
        if (strcmp(key, "max_attempts") == 0) {
            uint64_t n = 0;
            rc = outlet_cfg_uint(doc, "retry.max_attempts", v, 1, 1000, &n, err);
            self->retry.max_attempts = (uint32_t)n;
        } else if (strcmp(key, "initial_delay") == 0) {
            rc = outlet_cfg_duration(doc, "retry.initial_delay", v, &self->retry.initial_delay_ms, err);
        } else if (strcmp(key, "max_delay") == 0) {
            rc = outlet_cfg_duration(doc, "retry.max_delay", v, &self->retry.max_delay_ms, err);
        } else if (strcmp(key, "max_elapsed") == 0) {
            rc = outlet_cfg_duration(doc, "retry.max_elapsed", v, &self->retry.max_elapsed_ms, err);
        } else {
            rc = hub_yamldoc_error(
                doc, k, err,
                "retry: unknown key \"%.64s\" (known: max_attempts, initial_delay, max_delay, max_elapsed)", key);
        }
        if (rc == 0 && strcmp(key, "max_delay") == 0 && self->retry.max_delay_ms < self->retry.initial_delay_ms)
            rc = hub_yamldoc_error(doc, v, err, "retry.max_delay: shorter than retry.initial_delay");
    }
    return rc;
}

void outlet_config_fini(outlet_config_t *self)
{
    free(self->hub);
    free(self->name);
    outlet_cfg_strings_free(&self->topics, &self->ntopics);
    memset(self, 0, sizeof *self);
}

int outlet_config_load(outlet_config_t *self, const char *path, const char *known, outlet_section_fn section,
                       void *arg, char err[HUB_ERR_LEN])
{
    memset(self, 0, sizeof *self);
    self->credit = 1;
    self->from = HUB_FROM_RESUME;
    self->log_level = HUB_LOG_INFO;
    outlet_retry_defaults(&self->retry);

    hub_yamldoc_t doc;
    memset(&doc, 0, sizeof doc);
    int rc = hub_yamldoc_load_file(&doc, path, err);
    yaml_node_t *root = rc == 0 ? hub_yamldoc_root(&doc) : NULL;
    if (rc == 0 && !root)
        rc = hub_yamldoc_error(&doc, NULL, err, "the file is empty");
    if (rc == 0 && root->type != YAML_MAPPING_NODE)
        rc = hub_yamldoc_error(&doc, root, err, "expected a mapping of settings at the top");
    const yaml_node_t *subscribe_node = NULL;
    for (yaml_node_pair_t *pair = rc == 0 ? root->data.mapping.pairs.start : NULL;
         rc == 0 && pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(&doc, pair->key), *v = hub_yamldoc_node(&doc, pair->value);
        const char *key = k ? hub_yamldoc_scalar(k) : NULL;
        if (!key || !v) {
            rc = hub_yamldoc_error(&doc, k, err, "keys must be plain words");
            break;
        }
        if (strcmp(key, "hub") == 0) {
            rc = outlet_cfg_string(&doc, "hub", v, &self->hub, err);
            if (rc == 0 && !strstr(self->hub, "://"))
                rc = hub_yamldoc_error(&doc, v, err,
                                       "hub: \"%.64s\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200)",
                                       self->hub);
        } else if (strcmp(key, "subscribe") == 0) {
            subscribe_node = v;
            rc = s_load_subscribe(self, &doc, v, err);
        } else if (strcmp(key, "retry") == 0) {
            rc = s_load_retry(self, &doc, v, err);
        } else if (strcmp(key, "log_level") == 0) {
            const char *text = hub_yamldoc_scalar(v);
            if (!text || hub_log_level_parse(text, &self->log_level) != 0)
                rc = hub_yamldoc_error(&doc, v, err, "log_level: expected debug, info, warn or error");
        } else {
            rc = section ? section(arg, &doc, key, v, err) : 1;
            if (rc == 1)
                rc = hub_yamldoc_error(&doc, k, err,
                                       "unknown key \"%.64s\" (known: hub, subscribe, retry, log_level%s%s)", key,
                                       known && *known ? ", " : "", known ? known : "");
        }
    }
    if (rc == 0 && !subscribe_node)
        rc = hub_yamldoc_error(&doc, NULL, err, "missing the \"subscribe\" section (name and topics)");
    if (rc == 0 && !self->name)
        rc = hub_yamldoc_error(&doc, subscribe_node, err, "subscribe: missing \"name\" (the durable subscriber)");
    if (rc == 0 && self->ntopics == 0)
        rc = hub_yamldoc_error(&doc, subscribe_node, err, "subscribe: missing \"topics\" (e.g. [\"engineering.*\"])");
    hub_yamldoc_fini(&doc);
    return rc;
}
