/*
 * config - hubd's settings: the embedded default, overlaid by hub.yaml.
 *
 * Rules:
 *   1. Every key of hub.yaml is optional; a key left out keeps its default.
 *   2. Every key given is checked: an unknown key, a value of the wrong
 *      kind or out of range is an error naming the file, the line and the
 *      key ("hub.yaml:7: delivery: unknown key "ack_timout""), so that a
 *      typo never silently leaves a default in force.
 *   3. Relations between values are checked after all keys are read:
 *      default_credit <= max_credit and max_event <= max_frame.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "yamldoc.h"

/* Ranges of the numeric settings. */
#define S_MAX_ATTEMPTS 1000
#define S_MAX_CREDIT 1000000
#define S_MIN_FRAME 1024
#define S_MAX_FRAME (256u * 1024 * 1024)
#define S_MAX_BATCH 1000000

/* What one loader call needs: the document, the caller's err, and the nodes
 * of the settings that are checked against each other at the end. */
typedef struct {
    hub_yamldoc_t *doc;
    char *err;
    const yaml_node_t *default_credit; /* where default_credit was set, or NULL */
    const yaml_node_t *max_credit;     /* where max_credit was set, or NULL */
    const yaml_node_t *max_frame;      /* where max_frame was set, or NULL */
    const yaml_node_t *max_event;      /* where max_event was set, or NULL */
    const yaml_node_t *security;       /* where security was set, or NULL */
} s_loader_t;

void hub_config_defaults(hub_config_t *self)
{
    memset(self, 0, sizeof *self);
    snprintf(self->endpoint, sizeof self->endpoint, "%s", HUB_DEFAULT_ENDPOINT);
    snprintf(self->tap, sizeof self->tap, "%s", "tcp://127.0.0.1:7201");
    snprintf(self->data_dir, sizeof self->data_dir, "%s", "./var/hub");
    snprintf(self->policy_path, sizeof self->policy_path, "%s", "deploy/policy.yaml");
    self->log_level = HUB_LOG_INFO;
    self->ack_timeout_ms = 30 * 1000;
    self->max_attempts = 5;
    self->default_credit = 100;
    self->max_credit = 10000;
    self->max_frame = 1024 * 1024;
    self->max_event = 256 * 1024;
    self->max_batch = 4096;
    self->max_subs_per_client = 16;
    self->max_publish_rate = 50000;
}

void hub_config_fini(hub_config_t *self)
{
    hub_access_destroy(&self->access);
}

/* The scalar text of value, or NULL after filling err ("key: expected a
 * value, not a list"). section is "" at the top level, else "delivery: ". */
static const char *s_scalar(s_loader_t *self, const char *section, const char *key, const yaml_node_t *value)
{
    const char *text = hub_yamldoc_scalar(value);
    if (!text)
        hub_yamldoc_error(self->doc, value, self->err, "%s%s: expected a single value, not a %s", section, key,
                          value->type == YAML_MAPPING_NODE ? "mapping" : "list");
    return text;
}

/* Copies a non-empty string setting that must fit HUB_CONFIG_STR. */
static int s_read_string(s_loader_t *self, const char *key, const yaml_node_t *value, char out[HUB_CONFIG_STR])
{
    const char *text = s_scalar(self, "", key, value);
    if (!text)
        return -HUB_ECONFIG;
    size_t len = strlen(text);
    if (len == 0)
        return hub_yamldoc_error(self->doc, value, self->err, "%s: empty", key);
    if (len >= HUB_CONFIG_STR)
        return hub_yamldoc_error(self->doc, value, self->err, "%s: too long (%zu bytes, at most %d)", key, len,
                                 HUB_CONFIG_STR - 1);
    memcpy(out, text, len + 1);
    return 0;
}

/* Reads a ZeroMQ endpoint ("tcp://host:port", "ipc:///path"). With
 * may_disable, "" or off (or no value) mean none and give "". */
static int s_read_endpoint(s_loader_t *self, const char *key, const yaml_node_t *value, int may_disable,
                           char out[HUB_CONFIG_STR])
{
    if (may_disable) {
        const char *text = hub_yamldoc_scalar(value);
        if (text && (!*text || hub_yamldoc_is_null(value) || strcmp(text, "off") == 0)) {
            out[0] = '\0';
            return 0;
        }
    }
    char endpoint[HUB_CONFIG_STR];
    int rc = s_read_string(self, key, value, endpoint);
    if (rc < 0)
        return rc;
    const char *sep = strstr(endpoint, "://");
    if (!sep || sep == endpoint || !sep[3])
        return hub_yamldoc_error(self->doc, value, self->err,
                                 "%s: \"%.64s\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200 or "
                                 "ipc:///run/switchboard/hub)",
                                 key, endpoint);
    memcpy(out, endpoint, sizeof endpoint);
    return 0;
}

/* Reads a whole number in [min, max]. */
static int s_read_uint(s_loader_t *self, const char *section, const char *key, const yaml_node_t *value,
                       uint32_t min, uint32_t max, uint32_t *out)
{
    const char *text = s_scalar(self, section, key, value);
    if (!text)
        return -HUB_ECONFIG;
    unsigned long long n = 0;
    int ok = *text != '\0' && strlen(text) <= 10;
    for (const char *p = text; ok && *p; p++) {
        if (*p < '0' || *p > '9')
            ok = 0;
        else
            n = n * 10 + (unsigned long long)(*p - '0');
    }
    if (!ok || n < min || n > max)
        return hub_yamldoc_error(self->doc, value, self->err,
                                 "%s%s: expected a whole number from %u to %u, got \"%.32s\"", section, key, min,
                                 max, text);
    *out = (uint32_t)n;
    return 0;
}

/* Fills err for a section whose value is not a mapping. */
static int s_not_mapping(s_loader_t *self, const char *key, const yaml_node_t *value)
{
    return hub_yamldoc_error(self->doc, value, self->err, "%s: expected a mapping of settings", key);
}

static int s_load_delivery(s_loader_t *self, hub_config_t *config, yaml_node_t *section)
{
    if (hub_yamldoc_is_null(section))
        return 0;
    if (section->type != YAML_MAPPING_NODE)
        return s_not_mapping(self, "delivery", section);
    for (yaml_node_pair_t *pair = section->data.mapping.pairs.start; pair < section->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *value = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(knode);
        int rc;
        if (!key)
            return hub_yamldoc_error(self->doc, knode, self->err, "delivery: a key must be a name");
        if (strcmp(key, "ack_timeout") == 0) {
            const char *text = s_scalar(self, "delivery: ", key, value);
            if (!text)
                return -HUB_ECONFIG;
            char why[HUB_ERR_LEN] = "";
            if (hub_duration_parse(text, &config->ack_timeout_ms, why, sizeof why) < 0)
                return hub_yamldoc_error(self->doc, value, self->err, "delivery: ack_timeout: %s",
                                         *why ? why : "expected a duration like 30s, 5m or 1h");
            rc = 0;
        } else if (strcmp(key, "max_attempts") == 0) {
            rc = s_read_uint(self, "delivery: ", key, value, 1, S_MAX_ATTEMPTS, &config->max_attempts);
        } else if (strcmp(key, "default_credit") == 0) {
            rc = s_read_uint(self, "delivery: ", key, value, 1, S_MAX_CREDIT, &config->default_credit);
            self->default_credit = value;
        } else if (strcmp(key, "max_credit") == 0) {
            rc = s_read_uint(self, "delivery: ", key, value, 1, S_MAX_CREDIT, &config->max_credit);
            self->max_credit = value;
        } else {
            return hub_yamldoc_error(self->doc, knode, self->err, "delivery: unknown key \"%.64s\"", key);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int s_load_limits(s_loader_t *self, hub_config_t *config, yaml_node_t *section)
{
    if (hub_yamldoc_is_null(section))
        return 0;
    if (section->type != YAML_MAPPING_NODE)
        return s_not_mapping(self, "limits", section);
    for (yaml_node_pair_t *pair = section->data.mapping.pairs.start; pair < section->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *value = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(knode);
        int rc;
        if (!key)
            return hub_yamldoc_error(self->doc, knode, self->err, "limits: a key must be a name");
        if (strcmp(key, "max_frame") == 0) {
            rc = s_read_uint(self, "limits: ", key, value, S_MIN_FRAME, S_MAX_FRAME, &config->max_frame);
            self->max_frame = value;
        } else if (strcmp(key, "max_event") == 0) {
            rc = s_read_uint(self, "limits: ", key, value, 1, S_MAX_FRAME, &config->max_event);
            self->max_event = value;
        } else if (strcmp(key, "max_batch") == 0) {
            rc = s_read_uint(self, "limits: ", key, value, 1, S_MAX_BATCH, &config->max_batch);
        } else if (strcmp(key, "max_publish_rate") == 0) {
            rc = s_read_uint(self, "limits: ", key, value, 0, 10000000, &config->max_publish_rate);
        } else if (strcmp(key, "max_subscriptions_per_client") == 0) {
            rc = s_read_uint(self, "limits: ", key, value, 1, 4096, &config->max_subs_per_client);
        } else {
            return hub_yamldoc_error(self->doc, knode, self->err, "limits: unknown key \"%.64s\"", key);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Rule 3: the node named is the one written last of each pair, since
 * that is where the reader looks. */
static int s_check_relations(s_loader_t *self, const hub_config_t *config)
{
    if (config->default_credit > config->max_credit) {
        const yaml_node_t *at = self->max_credit ? self->max_credit : self->default_credit;
        if (self->max_credit && self->default_credit &&
            self->default_credit->start_mark.index > self->max_credit->start_mark.index)
            at = self->default_credit;
        return hub_yamldoc_error(self->doc, at, self->err,
                                 "delivery: default_credit (%u) is over max_credit (%u)", config->default_credit,
                                 config->max_credit);
    }
    if (config->max_event > config->max_frame) {
        const yaml_node_t *at = self->max_frame ? self->max_frame : self->max_event;
        if (self->max_frame && self->max_event && self->max_event->start_mark.index > self->max_frame->start_mark.index)
            at = self->max_event;
        return hub_yamldoc_error(self->doc, at, self->err, "limits: max_event (%u) is over max_frame (%u)",
                                 config->max_event, config->max_frame);
    }
    return 0;
}

static int s_load_keys(s_loader_t *self, hub_config_t *config, yaml_node_t *section)
{
    if (section->type != YAML_MAPPING_NODE)
        return s_not_mapping(self, "keys", section);
    for (yaml_node_pair_t *pair = section->data.mapping.pairs.start; pair < section->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *value = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(knode);
        int rc;
        if (key && strcmp(key, "server") == 0)
            rc = s_read_string(self, "keys: server", value, config->server_key);
        else if (key && strcmp(key, "clients") == 0)
            rc = s_read_string(self, "keys: clients", value, config->client_keys);
        else
            return hub_yamldoc_error(self->doc, knode, self->err, "keys: unknown key \"%.64s\" (server, clients)",
                                     key ? key : "?");
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int s_load_root(s_loader_t *self, hub_config_t *config)
{
    yaml_node_t *root = hub_yamldoc_root(self->doc);
    if (root->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, root, self->err, "expected a mapping of settings (endpoint: ..., data: ...)");
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *knode = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *value = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(knode);
        int rc;
        if (!key)
            return hub_yamldoc_error(self->doc, knode, self->err, "a key must be a name");
        if (strcmp(key, "endpoint") == 0) {
            rc = s_read_endpoint(self, key, value, 0, config->endpoint);
        } else if (strcmp(key, "tap") == 0) {
            rc = s_read_endpoint(self, key, value, 1, config->tap);
        } else if (strcmp(key, "data") == 0) {
            rc = s_read_string(self, key, value, config->data_dir);
        } else if (strcmp(key, "policy") == 0) {
            rc = s_read_string(self, key, value, config->policy_path);
        } else if (strcmp(key, "log_level") == 0) {
            const char *text = s_scalar(self, "", key, value);
            if (!text)
                return -HUB_ECONFIG;
            rc = hub_log_level_parse(text, &config->log_level);
            if (rc < 0)
                return hub_yamldoc_error(self->doc, value, self->err,
                                         "log_level: \"%.32s\" is not one of debug, info, warn, error", text);
        } else if (strcmp(key, "delivery") == 0) {
            rc = s_load_delivery(self, config, value);
        } else if (strcmp(key, "limits") == 0) {
            rc = s_load_limits(self, config, value);
        } else if (strcmp(key, "security") == 0) {
            const char *text = s_scalar(self, "", key, value);
            if (!text)
                return -HUB_ECONFIG;
            if (strcmp(text, "none") != 0 && strcmp(text, "curve") != 0)
                return hub_yamldoc_error(self->doc, value, self->err, "security: \"%.32s\" is not none or curve",
                                         text);
            config->curve = strcmp(text, "curve") == 0;
            self->security = value;
            rc = 0;
        } else if (strcmp(key, "keys") == 0) {
            rc = s_load_keys(self, config, value);
        } else if (strcmp(key, "access") == 0) {
            hub_access_destroy(&config->access);
            config->access = hub_access_load(self->doc, value, self->err);
            rc = config->access ? 0 : -HUB_ECONFIG;
        } else {
            return hub_yamldoc_error(self->doc, knode, self->err, "unknown key \"%.64s\"", key);
        }
        if (rc < 0)
            return rc;
    }
    if (config->curve && (!config->server_key[0] || !config->client_keys[0]))
        return hub_yamldoc_error(self->doc, self->security, self->err,
                                 "security: curve needs keys: server (hubd's key pair) and keys: clients (a directory "
                                 "of client keys); make them with hubctl keygen");
    return s_check_relations(self, config);
}

int hub_config_load(hub_config_t *self, const char *path, char err[HUB_ERR_LEN])
{
    hub_yamldoc_t doc;
    int rc = hub_yamldoc_load_file(&doc, path, err);
    if (rc == 0) {
        s_loader_t loader = {.doc = &doc, .err = err};
        rc = s_load_root(&loader, self);
    }
    hub_yamldoc_fini(&doc);
    return rc;
}

int hub_config_parse(hub_config_t *self, const char *text, size_t len, const char *name, char err[HUB_ERR_LEN])
{
    hub_yamldoc_t doc;
    int rc = hub_yamldoc_load(&doc, name ? name : "hub.yaml", text, len, err);
    if (rc == 0) {
        s_loader_t loader = {.doc = &doc, .err = err};
        rc = s_load_root(&loader, self);
    }
    hub_yamldoc_fini(&doc);
    return rc;
}
