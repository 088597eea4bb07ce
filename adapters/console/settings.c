/*
 * settings - hub-console's configuration file (see settings.h).
 */
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "httpd_listen.h"
#include "httpd_server.h"
#include "httpd_settings.h"
#include "yamldoc.h"

typedef httpd_settings_file_t s_loader_t; /* the file being read */

void cs_settings_init(cs_settings_t *self)
{
    memset(self, 0, sizeof *self);
    snprintf(self->listen, sizeof self->listen, "%s", "127.0.0.1:8081");
    self->hub_timeout_ms = 5000;
    self->session_ttl_ms = 8LL * 3600 * 1000;
    self->metrics = CS_METRICS_OPEN;
    self->log_level = HUB_LOG_INFO;
}

/* ------------------------------------------------------------- helpers */

static int s_duration(s_loader_t *self, const yaml_node_t *node, const char *what, int64_t min, int64_t max,
                      int64_t *out)
{
    const char *text = httpd_settings_scalar(self, node, what, 0);
    if (!text)
        return -HUB_ECONFIG;
    char why[HUB_ERR_LEN] = "";
    int64_t ms = 0;
    if (hub_duration_parse(text, &ms, why, sizeof why) < 0)
        return hub_yamldoc_error(self->doc, node, self->err, "%s: %s", what,
                                 *why ? why : "expected a duration like 5s or 8h");
    if (ms < min || ms > max)
        return hub_yamldoc_error(self->doc, node, self->err, "%s: \"%.32s\" is out of range (%llds to %llds)", what,
                                 text, (long long)(min / 1000), (long long)(max / 1000));
    *out = ms;
    return 0;
}

static int s_bool(s_loader_t *self, const yaml_node_t *node, const char *what, int *out)
{
    const char *text = httpd_settings_scalar(self, node, what, 0);
    if (!text)
        return -HUB_ECONFIG;
    if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0)
        *out = 1;
    else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0)
        *out = 0;
    else
        return hub_yamldoc_error(self->doc, node, self->err, "%s: expected true or false, got \"%.32s\"", what, text);
    return 0;
}

/* Writes a file name as seen from the configuration's directory ("" stays
 * ""). */
static int s_path(s_loader_t *self, const yaml_node_t *node, const char *what, char *out, size_t size)
{
    const char *name = httpd_settings_scalar(self, node, what, 1);
    if (!name)
        return -HUB_ECONFIG;
    int n = !*name || name[0] == '/' || !self->dir[0] ? snprintf(out, size, "%s", name)
                                                      : snprintf(out, size, "%s/%s", self->dir, name);
    if (n < 0 || (size_t)n >= size)
        return hub_yamldoc_error(self->doc, node, self->err, "%s: path too long", what);
    return 0;
}

static int s_endpoint(s_loader_t *self, const yaml_node_t *node, const char *what, char *out, size_t size)
{
    int rc = httpd_settings_copy(self, node, what, out, size, 1);
    if (rc == 0 && *out && !strstr(out, "://"))
        rc = hub_yamldoc_error(self->doc, node, self->err,
                               "%s: \"%.64s\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200)", what, out);
    return rc;
}

/* hub: ENDPOINT, or hub: { endpoint, key, server_key }. */
static int s_load_hub(s_loader_t *self, cs_settings_t *settings, const yaml_node_t *node)
{
    if (node->type == YAML_SCALAR_NODE)
        return s_endpoint(self, node, "hub", settings->hub, sizeof settings->hub);
    if (node->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "hub: expected an endpoint or a mapping { endpoint: ..., key: ..., server_key: ... }");
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *v = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(k);
        int rc;
        if (!key)
            return hub_yamldoc_error(self->doc, k, self->err, "hub: a key must be a name");
        if (strcmp(key, "endpoint") == 0)
            rc = s_endpoint(self, v, "hub: endpoint", settings->hub, sizeof settings->hub);
        else if (strcmp(key, "key") == 0)
            rc = s_path(self, v, "hub: key", settings->hub_key, sizeof settings->hub_key);
        else if (strcmp(key, "server_key") == 0)
            rc = s_path(self, v, "hub: server_key", settings->hub_server_key, sizeof settings->hub_server_key);
        else
            return hub_yamldoc_error(self->doc, k, self->err,
                                     "hub: unknown key \"%.64s\" (known: endpoint, key, server_key)", key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One top-level key of the file but listen and log_level
 * (httpd_settings_key_fn). */
static int s_load_key(s_loader_t *self, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    cs_settings_t *settings = arg;
    int rc;
    if (strcmp(key, "hub") == 0) {
        rc = s_load_hub(self, settings, v);
    }
    else if (strcmp(key, "hub_timeout") == 0) {
        rc = s_duration(self, v, key, 100, 120000, &settings->hub_timeout_ms);
    }
    else if (strcmp(key, "users_file") == 0) {
        rc = s_path(self, v, key, settings->users_file, sizeof settings->users_file);
        if (rc == 0 && !settings->users_file[0])
            rc = hub_yamldoc_error(self->doc, v, self->err, "users_file: empty");
    }
    else if (strcmp(key, "proxy_header") == 0) {
        rc = httpd_settings_copy(self, v, key, settings->proxy_header, sizeof settings->proxy_header, 1);
        if (rc == 0 && settings->proxy_header[0] && !httpd_is_header_name(settings->proxy_header))
            rc = hub_yamldoc_error(self->doc, v, self->err, "proxy_header: \"%.64s\" is not a header name",
                                   settings->proxy_header);
    }
    else if (strcmp(key, "public_host") == 0) {
        rc = httpd_settings_copy(self, v, key, settings->public_host, sizeof settings->public_host, 1);
        if (rc == 0 && strspn(settings->public_host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                           strlen(settings->public_host))
            rc = hub_yamldoc_error(self->doc, v, self->err,
                                   "public_host: \"%.64s\" is not a host name (letters, digits, dots, dashes; "
                                   "no port, no scheme)",
                                   settings->public_host);
    }
    else if (strcmp(key, "session_ttl") == 0) {
        rc = s_duration(self, v, key, CS_MIN_TTL_MS, CS_MAX_TTL_MS, &settings->session_ttl_ms);
    }
    else if (strcmp(key, "secure_cookies") == 0) {
        rc = s_bool(self, v, key, &settings->secure_cookies);
    }
    else if (strcmp(key, "metrics") == 0) {
        const char *text = httpd_settings_scalar(self, v, key, 0);
        rc = text ? 0 : -HUB_ECONFIG;
        if (text && strcmp(text, "open") == 0)
            settings->metrics = CS_METRICS_OPEN;
        else if (text && strcmp(text, "operator") == 0)
            settings->metrics = CS_METRICS_OPERATOR;
        else if (text)
            rc = hub_yamldoc_error(self->doc, v, self->err, "metrics: \"%.32s\" is not one of open, operator",
                                   text);
    }
    else {
        rc = hub_yamldoc_error(self->doc, k, self->err,
                               "unknown key \"%.64s\" (known: listen, hub, hub_timeout, users_file, "
                               "proxy_header, public_host, session_ttl, secure_cookies, metrics, log_level)",
                               key);
    }
    return rc;
}

int cs_settings_load(cs_settings_t *self, const char *path, char err[HUB_ERR_LEN])
{
    const httpd_settings_reader_t reader = {
        .not_mapping = "expected a mapping of settings (listen: ..., users_file: ...)",
        .listen = self->listen,
        .listen_size = sizeof self->listen,
        .listen_parse = cs_listen_parse,
        .log_level = &self->log_level,
        .on_key = s_load_key,
        .arg = self,
    };
    return httpd_settings_walk(path, &reader, err);
}

int cs_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len_p, char err[HUB_ERR_LEN])
{
    static const httpd_listen_hint_t hint = {.example = "127.0.0.1:8081", .hosts = "127.0.0.1 or [::1]"};
    return httpd_listen_parse(text, &hint, addr, len_p, err);
}
