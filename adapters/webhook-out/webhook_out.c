/*
 * hub-webhook-out - a department outlet that POSTs each notification to an
 * HTTP endpoint (a chat tool, an issue tracker) as JSON: the notification
 * itself, or a template rendered with JSON escaping.
 *
 * Rules (the loop's own are in outlet_run.h):
 *   1. 2xx: delivered (acked). 429, 408 and 5xx: retried, honouring a
 *      Retry-After in seconds or as an HTTP date. A timeout or a connection
 *      error: retried. Any other status (a 4xx, or a redirect, which is not
 *      followed): dead-lettered at once with "HTTP 404: <first 200 bytes of
 *      the response>" as the reason.
 *   2. With a secret, the header X-Switchboard-Signature (or the configured
 *      name) carries "sha256=<hex HMAC-SHA256 of the exact body>".
 *   3. Each request names what it carries in X-Switchboard-Delivery
 *      ("<seq>.<slot>") and X-Switchboard-Event, so that a receiver can drop
 *      the duplicate an at-least-once hub may send.
 *   4. A stop (SIGTERM) aborts a request in flight; it is not acked.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "outlet_config.h"
#include "outlet_curl.h"
#include "outlet_run.h"
#include "outlet_template.h"
#include "sha256.h"

#define S_PROGRAM "hub-webhook-out"
#define S_MAX_HEADERS 64        /* webhook.headers at most */
#define S_MAX_HEADER 1024       /* bytes of one header line */
#define S_KEEP_BODY 1024        /* bytes of a response body kept */
#define S_REASON_BODY 200       /* bytes of it in a dead-letter reason */

typedef struct {
    int configured;              /* 1 once a webhook: section was read */
    char *url;                   /* where to POST */
    char *template_text;         /* the body template, or NULL: the notification's JSON */
    outlet_template_t *tmpl;     /* template_text compiled */
    char **headers;              /* "Name: value" lines from the config */
    size_t nheaders;             /* how many */
    char *secret;                /* HMAC key, or NULL: no signature */
    char *signature_header;      /* its header name */
    int64_t timeout_ms;          /* whole request */
    int64_t connect_timeout_ms;  /* connecting */
    int has_content_type;        /* 1: the config sets Content-Type itself */
    CURL *curl;                  /* reused: keeps the connection alive */
} s_webhook_t;

static s_webhook_t s_self;

/* ------------------------------------------------------------ config */

static int s_header_name_ok(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (*p <= ' ' || *p == ':' || *p == 0x7f)
            return 0;
    return 1;
}

static int s_read_headers(s_webhook_t *self, hub_yamldoc_t *doc, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    int rc = outlet_cfg_mapping(doc, "webhook.headers", node, err);
    size_t count = rc == 0 ? (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start) : 0;
    if (rc == 0 && count > S_MAX_HEADERS)
        return hub_yamldoc_error(doc, node, err, "webhook.headers: at most %d", S_MAX_HEADERS);
    for (yaml_node_pair_t *pair = rc == 0 ? node->data.mapping.pairs.start : NULL;
         rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(doc, pair->key), *v = hub_yamldoc_node(doc, pair->value);
        const char *name = k ? hub_yamldoc_scalar(k) : NULL;
        const char *value = v ? hub_yamldoc_scalar(v) : NULL;
        if (!name || !s_header_name_ok(name))
            return hub_yamldoc_error(doc, k, err, "webhook.headers: \"%.64s\" is not a header name",
                                     name ? name : "?");
        if (!value)
            return hub_yamldoc_error(doc, v, err, "webhook.headers.%.64s: expected a single value", name);
        for (const char *p = value; *p; p++)
            if ((unsigned char)*p < ' ' && *p != '\t')
                return hub_yamldoc_error(doc, v, err, "webhook.headers.%.64s: control characters are not allowed",
                                         name);
        if (strlen(name) + strlen(value) + 2 > S_MAX_HEADER)
            return hub_yamldoc_error(doc, v, err, "webhook.headers.%.64s: longer than %d bytes", name, S_MAX_HEADER);
        char **list = realloc(self->headers, (self->nheaders + 1) * sizeof(*list));
        if (!list)
            return hub_yamldoc_error(doc, v, err, "out of memory");
        self->headers = list;
        size_t len = strlen(name) + strlen(value) + 3;
        if (!(list[self->nheaders] = malloc(len)))
            return hub_yamldoc_error(doc, v, err, "out of memory");
        snprintf(list[self->nheaders++], len, "%s: %s", name, value);
        if (strcasecmp(name, "Content-Type") == 0)
            self->has_content_type = 1;
    }
    return rc;
}

static int s_section(void *arg, hub_yamldoc_t *doc, const char *key, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    s_webhook_t *self = arg;
    if (strcmp(key, "webhook") != 0)
        return 1;
    int rc = outlet_cfg_mapping(doc, "webhook", node, err);
    char *secret_file = NULL, *secret_env = NULL, *template_file = NULL;
    const yaml_node_t *template_node = NULL, *secret_node = NULL;
    for (yaml_node_pair_t *pair = rc == 0 ? node->data.mapping.pairs.start : NULL;
         rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(doc, pair->key), *v = hub_yamldoc_node(doc, pair->value);
        const char *name = k ? hub_yamldoc_scalar(k) : NULL;
        if (!name || !v) {
            rc = hub_yamldoc_error(doc, k, err, "webhook: keys must be plain words");
            break;
        }
        if (strcmp(name, "url") == 0) {
            rc = outlet_cfg_string(doc, "webhook.url", v, &self->url, err);
            if (rc == 0 && strncmp(self->url, "http://", 7) != 0 && strncmp(self->url, "https://", 8) != 0)
                rc = hub_yamldoc_error(doc, v, err, "webhook.url: expected an http:// or https:// URL, got \"%.64s\"",
                                       self->url);
        } else if (strcmp(name, "timeout") == 0) {
            rc = outlet_cfg_duration(doc, "webhook.timeout", v, &self->timeout_ms, err);
        } else if (strcmp(name, "connect_timeout") == 0) {
            rc = outlet_cfg_duration(doc, "webhook.connect_timeout", v, &self->connect_timeout_ms, err);
        } else if (strcmp(name, "headers") == 0) {
            rc = s_read_headers(self, doc, v, err);
        } else if (strcmp(name, "template") == 0) {
            template_node = v;
            rc = outlet_cfg_string(doc, "webhook.template", v, &self->template_text, err);
        } else if (strcmp(name, "template_file") == 0) {
            template_node = v;
            rc = outlet_cfg_string(doc, "webhook.template_file", v, &template_file, err);
        } else if (strcmp(name, "secret_file") == 0) {
            secret_node = v;
            rc = outlet_cfg_string(doc, "webhook.secret_file", v, &secret_file, err);
        } else if (strcmp(name, "secret_env") == 0) {
            secret_node = v;
            rc = outlet_cfg_string(doc, "webhook.secret_env", v, &secret_env, err);
        } else if (strcmp(name, "signature_header") == 0) {
            rc = outlet_cfg_string(doc, "webhook.signature_header", v, &self->signature_header, err);
            if (rc == 0 && !s_header_name_ok(self->signature_header))
                rc = hub_yamldoc_error(doc, v, err, "webhook.signature_header: not a header name");
        } else {
            rc = hub_yamldoc_error(doc, k, err,
                                   "webhook: unknown key \"%.64s\" (known: url, timeout, connect_timeout, headers, "
                                   "template, template_file, secret_file, secret_env, signature_header)",
                                   name);
        }
    }
    if (rc == 0 && !self->url)
        rc = hub_yamldoc_error(doc, node, err, "webhook: missing \"url\"");
    if (rc == 0 && self->template_text && template_file)
        rc = hub_yamldoc_error(doc, template_node, err, "webhook: give template or template_file, not both");
    if (rc == 0 && secret_file && secret_env)
        rc = hub_yamldoc_error(doc, secret_node, err, "webhook: give secret_file or secret_env, not both");
    if (rc == 0 && template_file) {
        char why[HUB_ERR_LEN];
        size_t len = 0;
        if (hub_yamldoc_read_file(template_file, &self->template_text, &len, why) < 0)
            rc = hub_yamldoc_error(doc, template_node, err, "webhook.template_file: %s", why);
    }
    if (rc == 0 && self->template_text) {
        char why[HUB_ERR_LEN];
        if (!(self->tmpl = outlet_template_new(self->template_text, why)))
            rc = hub_yamldoc_error(doc, template_node, err, "webhook.%s: %s", template_file ? "template_file" : "template",
                                   why);
    }
    if (rc == 0)
        rc = outlet_cfg_secret(doc, secret_node, "webhook", "secret", secret_file, secret_env, &self->secret, err);
    free(secret_file);
    free(secret_env);
    free(template_file);
    if (rc == 0)
        self->configured = 1;
    return rc;
}

static int s_prepare(void *arg, const char *config_path, char err[HUB_ERR_LEN])
{
    s_webhook_t *self = arg;
    if (!self->configured) {
        snprintf(err, HUB_ERR_LEN, "%s: missing the \"webhook\" section (url: where to POST)", config_path);
        return -HUB_ECONFIG;
    }
    if (!self->signature_header && !(self->signature_header = strdup("X-Switchboard-Signature"))) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return -ENOMEM;
    }
    if (!(self->curl = outlet_curl_new(err)))
        return -HUB_EINTERNAL;
    return 0;
}

static void s_cleanup(void *arg)
{
    s_webhook_t *self = arg;
    outlet_curl_destroy(&self->curl);
    free(self->url);
    free(self->template_text);
    outlet_template_destroy(&self->tmpl);
    outlet_cfg_strings_free(&self->headers, &self->nheaders);
    outlet_secret_free(&self->secret);
    free(self->signature_header);
    memset(self, 0, sizeof *self);
}

/* ---------------------------------------------------------- delivering */

typedef struct {
    char body[S_KEEP_BODY + 1]; /* start of the response body */
    size_t len;                 /* bytes kept */
    char retry_after[80];       /* the last response's Retry-After, or "" */
} s_response_t;

static size_t s_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    s_response_t *r = arg;
    size_t n = size * nmemb, room = S_KEEP_BODY - r->len;
    size_t take = n < room ? n : room;
    memcpy(r->body + r->len, data, take);
    r->len += take;
    r->body[r->len] = '\0';
    return n;
}

static size_t s_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    s_response_t *r = arg;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        r->retry_after[0] = '\0'; /* a new response (after a 100 Continue) */
        r->len = 0;
        r->body[0] = '\0';
    } else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        size_t len = n - 12 < sizeof r->retry_after - 1 ? n - 12 : sizeof r->retry_after - 1;
        memcpy(r->retry_after, data + 12, len);
        r->retry_after[len] = '\0';
    }
    return n;
}

/* Appends a header line; returns the list or NULL (the old one is freed). */
static struct curl_slist *s_add(struct curl_slist *list, const char *line)
{
    struct curl_slist *more = curl_slist_append(list, line);
    if (!more)
        curl_slist_free_all(list);
    return more;
}

static void s_deliver(void *arg, const hub_notification_t *n, const json_t *doc, outlet_result_t *res)
{
    s_webhook_t *self = arg;
    char *body = self->tmpl ? outlet_template_render(self->tmpl, doc, OUTLET_ESCAPE_JSON)
                            : strdup(hub_notification_json(n));
    if (!body) {
        res->outcome = OUTLET_RETRY;
        snprintf(res->detail, sizeof res->detail, "out of memory rendering the body");
        return;
    }
    size_t body_len = strlen(body);

    char line[S_MAX_HEADER];
    struct curl_slist *headers = NULL;
    headers = s_add(headers, "Expect:"); /* no 100-continue round trip */
    if (headers && !self->has_content_type)
        headers = s_add(headers, "Content-Type: application/json");
    for (size_t i = 0; headers && i < self->nheaders; i++)
        headers = s_add(headers, self->headers[i]);
    snprintf(line, sizeof line, "X-Switchboard-Delivery: %" PRIu64 ".%u", hub_notification_seq(n),
             hub_notification_slot(n));
    if (headers)
        headers = s_add(headers, line);
    snprintf(line, sizeof line, "X-Switchboard-Event: %.900s", hub_notification_event_id(n));
    if (headers)
        headers = s_add(headers, line);
    if (headers && self->secret) {
        uint8_t mac[HUB_SHA256_LEN];
        char hex[HUB_SHA256_HEX_LEN];
        hub_hmac_sha256(self->secret, strlen(self->secret), body, body_len, mac);
        hub_hex(mac, sizeof mac, hex);
        snprintf(line, sizeof line, "%s: sha256=%s", self->signature_header, hex);
        headers = s_add(headers, line);
    }
    if (!headers) {
        free(body);
        res->outcome = OUTLET_RETRY;
        snprintf(res->detail, sizeof res->detail, "out of memory building the headers");
        return;
    }

    s_response_t resp;
    memset(&resp, 0, sizeof resp);
    char curl_err[CURL_ERROR_SIZE];
    CURL *c = self->curl;
    outlet_curl_prepare(c, self->timeout_ms, self->connect_timeout_ms, curl_err); /* rule 4: a stop aborts */
    curl_easy_setopt(c, CURLOPT_URL, self->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, S_PROGRAM "/" OUTLET_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    long status;
    CURLcode cc = outlet_curl_perform(c, &status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    free(body);

    res->code = (int)status;
    char text[S_REASON_BODY + 1];
    outlet_one_line(resp.body, resp.len, S_REASON_BODY, text, sizeof text);
    if (cc != CURLE_OK) {
        res->outcome = OUTLET_RETRY;
        snprintf(res->detail, sizeof res->detail, "%s", cc == CURLE_ABORTED_BY_CALLBACK ? "stopped" : "");
        if (cc != CURLE_ABORTED_BY_CALLBACK)
            outlet_one_line(*curl_err ? curl_err : curl_easy_strerror(cc), strlen(*curl_err ? curl_err : curl_easy_strerror(cc)),
                            sizeof res->detail - 1, res->detail, sizeof res->detail);
        return;
    }
    snprintf(res->detail, sizeof res->detail, "HTTP %ld%s%s", status, *text ? ": " : "", text);
    if (status >= 200 && status < 300) {
        res->outcome = OUTLET_DELIVERED;
        snprintf(res->detail, sizeof res->detail, "HTTP %ld", status);
    } else if (status == 429 || status == 408 || status >= 500) {
        res->outcome = OUTLET_RETRY;
        int64_t ms;
        if (resp.retry_after[0] && outlet_retry_after_parse(resp.retry_after, hub_now_ms(), &ms) == 0)
            res->retry_after_ms = ms;
    } else {
        res->outcome = OUTLET_REJECTED; /* rule 1 */
    }
}

int main(int argc, char **argv)
{
    s_self.timeout_ms = 10 * 1000;
    s_self.connect_timeout_ms = 5 * 1000;
    static const outlet_adapter_t adapter = {
        .program = S_PROGRAM,
        .summary = "Subscribes as a department and POSTs each notification to an HTTP endpoint as JSON\n"
                   "(the notification itself, or the config's template), acknowledging it to the hub only\n"
                   "after a 2xx. 5xx, 429, timeouts and connection errors are retried with backoff;\n"
                   "other 4xx answers dead-letter the notification at once.\n",
        .known = "webhook",
        .section = s_section,
        .prepare = s_prepare,
        .deliver = s_deliver,
        .cleanup = s_cleanup,
        .arg = &s_self,
    };
    return outlet_main(argc, argv, &adapter);
}
