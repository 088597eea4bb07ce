/*
 * server - HTTP glue between libmicrohttpd and the intake (rules in server.h).
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "auth.h"
#include "httpd_server.h"
#include "log.h"

struct wh_server {
    httpd_server_t *http;          /* the HTTP server */
    const wh_settings_t *settings; /* not owned */
    wh_intake_t *intake;           /* not owned */
};

/* ------------------------------------------------------------- replies */

/* Answers with reply (its body is taken) and the headers that go with it.
 * Returns what httpd_answer returns. */
static int s_queue(httpd_request_t *request, wh_reply_t *reply, const char *allow)
{
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%d", reply->retry_after_s);
    const httpd_header_t headers[] = {
        {MHD_HTTP_HEADER_CONTENT_TYPE, "application/json"},
        {MHD_HTTP_HEADER_CACHE_CONTROL, "no-store"},
        {MHD_HTTP_HEADER_RETRY_AFTER, reply->retry_after_s > 0 ? seconds : NULL},
        {MHD_HTTP_HEADER_WWW_AUTHENTICATE,
         reply->status == MHD_HTTP_UNAUTHORIZED ? "Bearer realm=\"switchboard\"" : NULL},
        {MHD_HTTP_HEADER_ALLOW, allow},
    };
    size_t len = strlen(reply->body ? reply->body : "{}");
    int rc = httpd_answer(request, reply->status, headers, sizeof headers / sizeof headers[0], &reply->body, "{}", len);
    free(reply->body);
    reply->body = NULL;
    return rc;
}

static int s_queue_error(httpd_request_t *request, int status, const char *message, const char *allow)
{
    wh_reply_t reply = {0};
    wh_reply_error(&reply, status, message);
    return s_queue(request, &reply, allow);
}

/* ------------------------------------------------------------- helpers */

/* Header lookup in the shape auth.h takes. */
static const char *s_header(const char *name, void *arg)
{
    return httpd_header(arg, name);
}

/* ------------------------------------------------------------ requests */

/* POST /events when the headers are in: what they alone decide (rule 2).
 * Returns what httpd_answer returns, or 0 to read the body with
 * request->state set to the source a bearer token named (NULL: the
 * signature is checked at the end). */
static int s_begin_post(wh_server_t *self, httpd_request_t *request)
{
    const char *type = httpd_header(request, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (type && !httpd_is_json_type(type)) {
        char message[HUB_ERR_LEN];
        snprintf(message, sizeof message, "Content-Type \"%.64s\": send application/json", type);
        hub_warn("415 %s", message);
        return s_queue_error(request, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, message, NULL);
    }
    unsigned long long n = 0;
    if (httpd_declared_length(request, &n) && n > self->settings->max_body) {
        char message[HUB_ERR_LEN];
        snprintf(message, sizeof message, "body: %llu bytes, more than the limit of %zu", n,
                 self->settings->max_body);
        hub_warn("413 %s", message);
        return s_queue_error(request, MHD_HTTP_CONTENT_TOO_LARGE, message, NULL);
    }
    const wh_source_t *src = wh_auth_bearer(self->settings, httpd_header(request, MHD_HTTP_HEADER_AUTHORIZATION));
    if (!src && !wh_auth_has_signature(self->settings, s_header, request)) {
        hub_warn("401 no valid credential in the headers");
        return s_queue_error(request, MHD_HTTP_UNAUTHORIZED, "missing or wrong credential", NULL);
    }
    request->state = src;
    return 0;
}

/* The headers are in: the routes, and then POST /events (s_begin_post). */
static int s_begin(void *arg, httpd_request_t *request)
{
    wh_server_t *self = arg;
    if (strcmp(request->url, "/healthz") == 0) {
        if (strcmp(request->method, MHD_HTTP_METHOD_GET) != 0 && strcmp(request->method, MHD_HTTP_METHOD_HEAD) != 0)
            return s_queue_error(request, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET", "GET, HEAD");
        wh_reply_t reply;
        wh_intake_health(self->intake, &reply);
        return s_queue(request, &reply, NULL);
    }
    if (strcmp(request->url, "/events") != 0)
        return s_queue_error(request, MHD_HTTP_NOT_FOUND, "no such path: POST /events, GET /healthz", NULL);
    if (strcmp(request->method, MHD_HTTP_METHOD_POST) != 0)
        return s_queue_error(request, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST", "POST");
    return s_begin_post(self, request);
}

/* The last call of a POST /events: the whole body is here. */
static int s_finish(void *arg, httpd_request_t *request)
{
    wh_server_t *self = arg;
    if (request->outcome == HTTPD_BODY_NO_MEMORY)
        return s_queue_error(request, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
    if (request->outcome == HTTPD_BODY_TOO_LARGE) {
        char message[HUB_ERR_LEN];
        snprintf(message, sizeof message, "body: more than the limit of %zu bytes", self->settings->max_body);
        hub_warn("413 %s", message);
        return s_queue_error(request, MHD_HTTP_CONTENT_TOO_LARGE, message, NULL);
    }
    const wh_source_t *src = request->state;
    if (!src)
        src = wh_auth_signature(self->settings, s_header, request, request->body, request->body_len);
    if (!src) {
        hub_warn("401 no signature matches the body");
        return s_queue_error(request, MHD_HTTP_UNAUTHORIZED, "missing or wrong credential", NULL);
    }
    wh_reply_t reply;
    wh_intake_post(self->intake, src, request->body, request->body_len, &reply);
    return s_queue(request, &reply, NULL);
}

/* ------------------------------------------------------------ lifetime */

wh_server_t *wh_server_new(const wh_settings_t *settings, wh_intake_t *intake, char err[HUB_ERR_LEN])
{
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    char why[HUB_ERR_LEN];
    if (wh_listen_parse(settings->listen, &addr, &addr_len, why) < 0) {
        snprintf(err, HUB_ERR_LEN, "listen: %s", why);
        return NULL;
    }
    wh_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    self->settings = settings;
    self->intake = intake;
    const httpd_handler_t handler = {.begin = s_begin, .finish = s_finish, .arg = self};
    self->http = httpd_server_new(settings->listen, &addr, settings->max_body, &handler, err);
    if (!self->http) {
        free(self);
        return NULL;
    }
    return self;
}

int wh_server_port(const wh_server_t *self)
{
    return self ? httpd_server_port(self->http) : 0;
}

void wh_server_destroy(wh_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    httpd_server_destroy(&(*self_p)->http);
    free(*self_p);
    *self_p = NULL;
}
