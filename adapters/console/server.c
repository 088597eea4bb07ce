/*
 * server - HTTP glue between libmicrohttpd and the console (rules in
 * server.h).
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "httpd_server.h"
#include "log.h"

static const char s_csp[] = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

struct cs_server {
    httpd_server_t *http;          /* the HTTP server */
    const cs_settings_t *settings; /* not owned */
    cs_console_t *console;         /* not owned */
};

/* ------------------------------------------------------------- replies */

/* Answers with reply and the headers of rule 3. Frees what reply owns.
 * Returns what httpd_answer returns. */
static int s_queue(httpd_request_t *request, cs_reply_t *reply)
{
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%d", reply->retry_after_s);
    const httpd_header_t headers[] = {
        {MHD_HTTP_HEADER_CONTENT_TYPE, reply->status == MHD_HTTP_NO_CONTENT ? NULL
                                       : reply->content_type               ? reply->content_type
                                                                           : "application/json"},
        {"Content-Security-Policy", s_csp},
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
        {"Cross-Origin-Opener-Policy", "same-origin"},
        {MHD_HTTP_HEADER_CACHE_CONTROL, reply->api ? "no-store" : "no-cache"},
        {MHD_HTTP_HEADER_SET_COOKIE, reply->set_cookie[0] ? reply->set_cookie : NULL},
        {MHD_HTTP_HEADER_ALLOW, reply->allow[0] ? reply->allow : NULL},
        {MHD_HTTP_HEADER_RETRY_AFTER, reply->retry_after_s > 0 ? seconds : NULL},
    };
    int rc = httpd_answer(request, reply->status, headers, sizeof headers / sizeof headers[0], &reply->body,
                          reply->static_body, reply->len);
    cs_reply_fini(reply);
    return rc;
}

static int s_queue_error(httpd_request_t *request, int status, const char *code, const char *message)
{
    cs_reply_t reply = {0};
    cs_reply_error(&reply, status, code, "%s", message);
    return s_queue(request, &reply);
}

/* ------------------------------------------------------------- lookups */

/* The lookups in the shape cs_request_t takes (arg: the request). */
static const char *s_header(void *arg, const char *name)
{
    return httpd_header(arg, name);
}

static const char *s_query(void *arg, const char *name)
{
    return httpd_query(arg, name);
}

static const char *s_cookie(void *arg, const char *name)
{
    return httpd_cookie(arg, name);
}

/* ------------------------------------------------------------ requests */

/* The headers are in: a Content-Length over the limit is refused before
 * the body is read (rule 2). Returns what httpd_answer returns, or 0 to
 * read the body. */
static int s_begin(void *arg, httpd_request_t *request)
{
    (void)arg;
    unsigned long long n = 0;
    if (httpd_declared_length(request, &n) && n > CS_MAX_BODY) {
        char message[128];
        snprintf(message, sizeof message, "body: %llu bytes, more than the limit of %d", n, CS_MAX_BODY);
        return s_queue_error(request, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", message);
    }
    return 0;
}

/* The whole body is here: the JSON checks (rule 4), then the console. */
static int s_finish(void *arg, httpd_request_t *request)
{
    cs_server_t *self = arg;
    if (request->outcome == HTTPD_BODY_NO_MEMORY)
        return s_queue_error(request, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    if (request->outcome == HTTPD_BODY_TOO_LARGE) {
        char message[128];
        snprintf(message, sizeof message, "body: more than the limit of %d bytes", CS_MAX_BODY);
        return s_queue_error(request, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", message);
    }
    const char *type = httpd_header(request, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (request->body_len > 0 && !httpd_is_json_type(type)) {
        char message[160];
        snprintf(message, sizeof message, "Content-Type \"%.64s\": send application/json", type ? type : "");
        return s_queue_error(request, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message);
    }
    if (request->body_len > 0 && memchr(request->body, '\0', request->body_len))
        return s_queue_error(request, MHD_HTTP_BAD_REQUEST, "bad_request", "body: holds a NUL byte");
    cs_request_t console_request = {
        .method = request->method,
        .path = request->url,
        .header = s_header,
        .query = s_query,
        .cookie = s_cookie,
        .arg = request,
        .peer_loopback = httpd_peer_loopback(request),
        .body = request->body,
        .body_len = request->body_len,
    };
    cs_reply_t reply;
    cs_console_handle(self->console, &console_request, &reply);
    hub_debug("%s %s: %d", request->method, request->url, reply.status);
    return s_queue(request, &reply);
}

/* ------------------------------------------------------------ lifetime */

cs_server_t *cs_server_new(const cs_settings_t *settings, cs_console_t *console, char err[HUB_ERR_LEN])
{
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    char why[HUB_ERR_LEN];
    if (cs_listen_parse(settings->listen, &addr, &addr_len, why) < 0) {
        snprintf(err, HUB_ERR_LEN, "listen: %s", why);
        return NULL;
    }
    cs_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    self->settings = settings;
    self->console = console;
    const httpd_handler_t handler = {.begin = s_begin, .finish = s_finish, .arg = self};
    self->http = httpd_server_new(settings->listen, &addr, CS_MAX_BODY, &handler, err);
    if (!self->http) {
        free(self);
        return NULL;
    }
    return self;
}

int cs_server_port(const cs_server_t *self)
{
    return self ? httpd_server_port(self->http) : 0;
}

void cs_server_destroy(cs_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    httpd_server_destroy(&(*self_p)->http);
    free(*self_p);
    *self_p = NULL;
}
