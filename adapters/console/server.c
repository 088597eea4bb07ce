/*
 * server - HTTP glue between libmicrohttpd and the console (rules in
 * server.h).
 */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "log.h"

#define S_CONNECTION_TIMEOUT_S 30 /* idle seconds before a connection is closed */
#define S_CONNECTION_LIMIT 256    /* connections at once */

static const char s_csp[] = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

struct cs_server {
    struct MHD_Daemon *daemon;     /* the HTTP server */
    const cs_settings_t *settings; /* not owned */
    cs_console_t *console;         /* not owned */
    int port;                      /* bound port */
};

/* One request being read. */
typedef struct {
    char *body;     /* bytes so far (owned) */
    size_t len;     /* bytes used */
    size_t cap;     /* bytes allocated */
    int too_large;  /* rule 2: over CS_MAX_BODY, being dropped */
} s_request_t;

/* ------------------------------------------------------------- replies */

/* Queues reply with the headers of rule 3. Frees what reply owns. */
static enum MHD_Result s_queue(struct MHD_Connection *conn, cs_reply_t *reply)
{
    struct MHD_Response *response;
    if (reply->body) {
        response = MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
        if (response)
            reply->body = NULL; /* the response frees it */
    }
    else {
        response = MHD_create_response_from_buffer(reply->static_body ? reply->len : 0, (void *)reply->static_body,
                                                   MHD_RESPMEM_PERSISTENT);
    }
    if (!response) {
        cs_reply_fini(reply);
        return MHD_NO;
    }
    if (reply->status != MHD_HTTP_NO_CONTENT)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                reply->content_type ? reply->content_type : "application/json");
    MHD_add_response_header(response, "Content-Security-Policy", s_csp);
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "X-Frame-Options", "DENY");
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(response, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, reply->api ? "no-store" : "no-cache");
    if (reply->set_cookie[0])
        MHD_add_response_header(response, MHD_HTTP_HEADER_SET_COOKIE, reply->set_cookie);
    if (reply->allow[0])
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
    if (reply->retry_after_s > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", reply->retry_after_s);
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned int)reply->status, response);
    MHD_destroy_response(response);
    cs_reply_fini(reply);
    return rc;
}

static enum MHD_Result s_queue_error(struct MHD_Connection *conn, int status, const char *code, const char *message)
{
    cs_reply_t reply = {0};
    cs_reply_error(&reply, status, code, "%s", message);
    return s_queue(conn, &reply);
}

/* ------------------------------------------------------------- lookups */

static const char *s_header(void *arg, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)arg, MHD_HEADER_KIND, name);
}

static const char *s_query(void *arg, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)arg, MHD_GET_ARGUMENT_KIND, name);
}

static const char *s_cookie(void *arg, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)arg, MHD_COOKIE_KIND, name);
}

static int s_peer_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info && info->client_addr && cs_is_loopback(info->client_addr);
}

/* 1 when a Content-Type is JSON: application/json or any
 * application/...+json, with or without parameters. */
static int s_is_json_type(const char *type)
{
    if (!type)
        return 0;
    size_t len = strcspn(type, "; \t");
    if (len == 16 && strncasecmp(type, "application/json", 16) == 0)
        return 1;
    return len > 17 && strncasecmp(type, "application/", 12) == 0 && strncasecmp(type + len - 5, "+json", 5) == 0;
}

/* ------------------------------------------------------------ requests */

/* The first call of a request: what the headers alone decide (rule 2).
 * Returns NULL with *refused set when a reply was queued. */
static s_request_t *s_begin(struct MHD_Connection *conn, enum MHD_Result *refused)
{
    const char *length = s_header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(length, &end, 10);
        if (errno == 0 && end != length && n > CS_MAX_BODY) {
            char message[128];
            snprintf(message, sizeof message, "body: %llu bytes, more than the limit of %d", n, CS_MAX_BODY);
            *refused = s_queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", message);
            return NULL;
        }
    }
    s_request_t *req = calloc(1, sizeof *req);
    if (!req)
        *refused = s_queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    return req;
}

/* Appends a piece of body (rule 2). Returns 0 or -ENOMEM. */
static int s_append(s_request_t *req, const char *data, size_t size)
{
    if (req->too_large)
        return 0;
    if (size > CS_MAX_BODY - req->len) {
        req->too_large = 1;
        free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        return 0;
    }
    if (req->len + size + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 1024;
        while (cap < req->len + size + 1)
            cap *= 2;
        char *grown = realloc(req->body, cap);
        if (!grown)
            return -ENOMEM;
        req->body = grown;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, size);
    req->len += size;
    req->body[req->len] = '\0';
    return 0;
}

/* The last call: the whole body is here. */
static enum MHD_Result s_finish(cs_server_t *self, struct MHD_Connection *conn, const char *url, const char *method,
                                s_request_t *req)
{
    if (req->too_large) {
        char message[128];
        snprintf(message, sizeof message, "body: more than the limit of %d bytes", CS_MAX_BODY);
        return s_queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", message);
    }
    const char *type = s_header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (req->len > 0 && !s_is_json_type(type)) {
        char message[160];
        snprintf(message, sizeof message, "Content-Type \"%.64s\": send application/json", type ? type : "");
        return s_queue_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message);
    }
    if (req->len > 0 && memchr(req->body, '\0', req->len))
        return s_queue_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", "body: holds a NUL byte");
    cs_request_t request = {
        .method = method,
        .path = url,
        .header = s_header,
        .query = s_query,
        .cookie = s_cookie,
        .arg = conn,
        .peer_loopback = s_peer_loopback(conn),
        .body = req->body ? req->body : "",
        .body_len = req->len,
    };
    cs_reply_t reply;
    cs_console_handle(self->console, &request, &reply);
    hub_debug("%s %s: %d", method, url, reply.status);
    return s_queue(conn, &reply);
}

/* ------------------------------------------------------------ callbacks */

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    cs_server_t *self = cls;
    s_request_t *req = *con_cls;
    (void)version;
    if (!req) {
        enum MHD_Result refused = MHD_NO;
        req = s_begin(conn, &refused);
        if (!req)
            return refused;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (s_append(req, upload_data, *upload_data_size) < 0)
            return MHD_NO; /* out of memory: drop the connection */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return s_finish(self, conn, url, method, req);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_request_t *req = *con_cls;
    if (req) {
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    hub_warn("http: %s", line);
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
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    /* the logger first, so that MHD's own start-up messages go through it */
    self->daemon = MHD_start_daemon(flags, 0, NULL, NULL, s_access, self,
                                    MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
                                    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)S_CONNECTION_TIMEOUT_S,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)S_CONNECTION_LIMIT,
                                    MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
                                    MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, HUB_ERR_LEN, "cannot listen on %s: %s", settings->listen,
                 errno ? strerror(errno) : "the HTTP server did not start (see the log)");
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int)info->port : 0;
    return self;
}

int cs_server_port(const cs_server_t *self)
{
    return self ? self->port : 0;
}

void cs_server_destroy(cs_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->daemon)
        MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}
