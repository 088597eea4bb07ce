/*
 * settings - hub-webhook-in's configuration file (see settings.h).
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
#include "sha256.h"
#include "yamldoc.h"

#define S_MAX_BODY (64u * 1024 * 1024) /* max_body at most */
#define S_MAX_EVENTS 10000u            /* max_events at most */

typedef httpd_settings_file_t s_loader_t; /* the file being read */

void wh_settings_init(wh_settings_t *self)
{
    memset(self, 0, sizeof *self);
    snprintf(self->listen, sizeof self->listen, "%s", "127.0.0.1:8080");
    self->hub_timeout_ms = 5000;
    self->retry_after_ms = 10000;
    self->max_body = 1024 * 1024;
    self->max_events = 1000;
    self->log_level = HUB_LOG_INFO;
}

static void s_wipe_free(char *secret)
{
    if (!secret)
        return;
    volatile char *p = secret;
    while (*p)
        *p++ = '\0';
    free(secret);
}

void wh_settings_fini(wh_settings_t *self)
{
    for (size_t i = 0; i < self->nsources; i++) {
        wh_source_t *src = &self->sources[i];
        s_wipe_free(src->token);
        s_wipe_free(src->secret);
        wh_mapping_destroy(&src->mapping);
    }
    memset(self->sources, 0, sizeof self->sources);
    self->nsources = 0;
}

/* ------------------------------------------------------------- helpers */

static int s_duration(s_loader_t *self, const yaml_node_t *node, const char *what, int64_t *out)
{
    const char *text = httpd_settings_scalar(self, node, what, 0);
    if (!text)
        return -HUB_ECONFIG;
    char why[HUB_ERR_LEN] = "";
    if (hub_duration_parse(text, out, why, sizeof why) < 0)
        return hub_yamldoc_error(self->doc, node, self->err, "%s: %s", what,
                                 *why ? why : "expected a duration like 5s or 1m");
    return 0;
}

static int s_uint(s_loader_t *self, const yaml_node_t *node, const char *what, size_t min, size_t max, size_t *out)
{
    const char *text = httpd_settings_scalar(self, node, what, 0);
    if (!text)
        return -HUB_ECONFIG;
    size_t n = 0;
    int ok = strlen(text) <= 10;
    for (const char *p = text; ok && *p; p++) {
        if (*p < '0' || *p > '9')
            ok = 0;
        else
            n = n * 10 + (size_t)(*p - '0');
    }
    if (!ok || n < min || n > max)
        return hub_yamldoc_error(self->doc, node, self->err, "%s: expected a whole number from %zu to %zu, got \"%.32s\"",
                                 what, min, max, text);
    *out = n;
    return 0;
}

/* Writes the file name 'name' as seen from the configuration's directory. */
static int s_resolve(s_loader_t *self, const yaml_node_t *node, const char *what, const char *name, char *out,
                     size_t size)
{
    int n = name[0] == '/' || !self->dir[0] ? snprintf(out, size, "%s", name)
                                             : snprintf(out, size, "%s/%s", self->dir, name);
    if (n < 0 || (size_t)n >= size)
        return hub_yamldoc_error(self->doc, node, self->err, "%s: path too long", what);
    return 0;
}

/* Reads a secret file (token_file, hmac_secret_file): its text without
 * trailing whitespace. */
static int s_read_secret(s_loader_t *self, const yaml_node_t *node, const char *what, char **out)
{
    const char *name = httpd_settings_scalar(self, node, what, 0);
    if (!name)
        return -HUB_ECONFIG;
    char path[WH_STR_LEN];
    int rc = s_resolve(self, node, what, name, path, sizeof path);
    if (rc < 0)
        return rc;
    char *text = NULL;
    size_t len = 0;
    char why[HUB_ERR_LEN];
    rc = hub_yamldoc_read_file(path, &text, &len, why);
    if (rc < 0)
        return hub_yamldoc_error(self->doc, node, self->err, "%s: %s", what, why);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '
                       || text[len - 1] == '\t'))
        text[--len] = '\0';
    if (strlen(text) != len) {
        s_wipe_free(text);
        return hub_yamldoc_error(self->doc, node, self->err, "%s: %s holds a NUL byte", what, path);
    }
    *out = text;
    return 0;
}

/* ------------------------------------------------------------- sources */

static int s_check_name(s_loader_t *self, const yaml_node_t *node, const char *name)
{
    size_t len = strlen(name);
    int ok = len > 0 && len < WH_NAME_LEN;
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'
             || *p == '-' || *p == '.';
    if (!ok)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "sources: name: \"%.64s\" must be 1 to %d letters, digits, '.', '_' or '-'", name,
                                 WH_NAME_LEN - 1);
    return 0;
}

static int s_load_source(s_loader_t *self, wh_settings_t *settings, const yaml_node_t *node)
{
    if (node->type != YAML_MAPPING_NODE)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "sources: each source is a mapping (name: ..., token_file: ...)");
    if (settings->nsources == WH_MAX_SOURCES)
        return hub_yamldoc_error(self->doc, node, self->err, "sources: more than %d", WH_MAX_SOURCES);
    wh_source_t *src = &settings->sources[settings->nsources++];
    snprintf(src->header, sizeof src->header, "%s", "X-Signature");
    const yaml_node_t *cred = NULL, *header = NULL;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(self->doc, pair->key);
        yaml_node_t *v = hub_yamldoc_node(self->doc, pair->value);
        const char *key = hub_yamldoc_scalar(k);
        int rc = 0;
        if (!key)
            return hub_yamldoc_error(self->doc, k, self->err, "sources: a key must be a name");
        int is_cred = strcmp(key, "token") == 0 || strcmp(key, "token_file") == 0 || strcmp(key, "hmac_secret") == 0
                      || strcmp(key, "hmac_secret_file") == 0;
        if (is_cred && cred)
            return hub_yamldoc_error(self->doc, k, self->err,
                                     "sources: %s: a source has one credential (token, token_file, hmac_secret or "
                                     "hmac_secret_file)",
                                     key);
        if (strcmp(key, "name") == 0) {
            rc = httpd_settings_copy(self, v, "sources: name", src->name, sizeof src->name, 0);
            if (rc == 0)
                rc = s_check_name(self, v, src->name);
        }
        else if (is_cred) {
            cred = v;
            char *secret = NULL;
            if (strstr(key, "_file"))
                rc = s_read_secret(self, v, key, &secret);
            else {
                const char *text = httpd_settings_scalar(self, v, key, 0);
                rc = text ? 0 : -HUB_ECONFIG;
                if (text && !(secret = strdup(text)))
                    rc = hub_yamldoc_error(self->doc, v, self->err, "out of memory");
            }
            if (rc < 0)
                return rc;
            size_t len = strlen(secret);
            if (len < WH_MIN_SECRET || len > WH_MAX_SECRET) {
                s_wipe_free(secret);
                return hub_yamldoc_error(self->doc, v, self->err, "sources: %s: must be %d to %d characters long",
                                         key, WH_MIN_SECRET, WH_MAX_SECRET);
            }
            if (strncmp(key, "token", 5) == 0)
                src->token = secret;
            else {
                src->secret = secret;
                src->secret_len = len;
            }
        }
        else if (strcmp(key, "signature_header") == 0) {
            header = v;
            rc = httpd_settings_copy(self, v, "sources: signature_header", src->header, sizeof src->header, 0);
            if (rc == 0 && !httpd_is_header_name(src->header))
                rc = hub_yamldoc_error(self->doc, v, self->err, "sources: signature_header: \"%.64s\" is not a header name",
                                       src->header);
        }
        else if (strcmp(key, "mapping") == 0) {
            const char *name = httpd_settings_scalar(self, v, "sources: mapping", 0);
            char path[WH_STR_LEN];
            rc = name ? s_resolve(self, v, "sources: mapping", name, path, sizeof path) : -HUB_ECONFIG;
            if (rc == 0) {
                char why[HUB_ERR_LEN];
                src->mapping = wh_mapping_load(path, why);
                if (!src->mapping) {
                    snprintf(self->err, HUB_ERR_LEN, "%s", why);
                    rc = -HUB_ECONFIG;
                }
            }
        }
        else {
            return hub_yamldoc_error(self->doc, k, self->err,
                                     "sources: unknown key \"%.64s\" (known: name, token, token_file, hmac_secret, "
                                     "hmac_secret_file, signature_header, mapping)",
                                     key);
        }
        if (rc < 0)
            return rc;
    }
    if (!src->name[0])
        return hub_yamldoc_error(self->doc, node, self->err, "sources: a source needs a name");
    if (!cred)
        return hub_yamldoc_error(self->doc, node, self->err,
                                 "sources: %s: needs a credential: token_file (or token) for \"Authorization: Bearer\", "
                                 "or hmac_secret_file (or hmac_secret) for signed bodies",
                                 src->name);
    if (header && !src->secret)
        return hub_yamldoc_error(self->doc, header, self->err,
                                 "sources: %s: signature_header goes with hmac_secret or hmac_secret_file", src->name);
    for (size_t i = 0; i + 1 < settings->nsources; i++) {
        const wh_source_t *other = &settings->sources[i];
        if (strcmp(other->name, src->name) == 0)
            return hub_yamldoc_error(self->doc, node, self->err, "sources: \"%s\" is named twice", src->name);
        if ((src->token && other->token && strcmp(src->token, other->token) == 0)
            || (src->secret && other->secret && strcmp(src->secret, other->secret) == 0))
            return hub_yamldoc_error(self->doc, cred, self->err,
                                     "sources: %s: the same credential as %s: each source needs its own", src->name,
                                     other->name);
    }
    return 0;
}

static int s_load_sources(s_loader_t *self, wh_settings_t *settings, const yaml_node_t *node)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return hub_yamldoc_error(self->doc, node, self->err, "sources: expected a list of sources (- name: ...)");
    for (yaml_node_item_t *item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++) {
        int rc = s_load_source(self, settings, hub_yamldoc_node(self->doc, *item));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One top-level key of the file but listen and log_level
 * (httpd_settings_key_fn). */
static int s_load_key(s_loader_t *self, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    wh_settings_t *settings = arg;
    int rc;
    if (strcmp(key, "hub") == 0) {
        rc = httpd_settings_copy(self, v, key, settings->hub, sizeof settings->hub, 0);
        if (rc == 0 && !strstr(settings->hub, "://"))
            rc = hub_yamldoc_error(self->doc, v, self->err,
                                   "hub: \"%.64s\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200)",
                                   settings->hub);
    }
    else if (strcmp(key, "hub_timeout") == 0) {
        rc = s_duration(self, v, key, &settings->hub_timeout_ms);
    }
    else if (strcmp(key, "retry_after") == 0) {
        rc = s_duration(self, v, key, &settings->retry_after_ms);
    }
    else if (strcmp(key, "max_body") == 0) {
        rc = s_uint(self, v, key, 64, S_MAX_BODY, &settings->max_body);
    }
    else if (strcmp(key, "max_events") == 0) {
        rc = s_uint(self, v, key, 1, S_MAX_EVENTS, &settings->max_events);
    }
    else if (strcmp(key, "sources") == 0) {
        rc = s_load_sources(self, settings, v);
    }
    else {
        rc = hub_yamldoc_error(self->doc, k, self->err, "unknown key \"%.64s\"", key);
    }
    return rc;
}

int wh_settings_load(wh_settings_t *self, const char *path, char err[HUB_ERR_LEN])
{
    const httpd_settings_reader_t reader = {
        .not_mapping = "expected a mapping of settings (listen: ..., sources: ...)",
        .listen = self->listen,
        .listen_size = sizeof self->listen,
        .listen_parse = wh_listen_parse,
        .log_level = &self->log_level,
        .on_key = s_load_key,
        .arg = self,
    };
    return httpd_settings_walk(path, &reader, err);
}

int wh_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len_p, char err[HUB_ERR_LEN])
{
    static const httpd_listen_hint_t hint = {.example = "127.0.0.1:8080", .hosts = "127.0.0.1, 0.0.0.0 or [::1]"};
    return httpd_listen_parse(text, &hint, addr, len_p, err);
}
