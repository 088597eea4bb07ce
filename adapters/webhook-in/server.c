/*
 * server - HTTP glue between libmicrohttpd and the intake (rules in server.h).
 */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "auth.h"
#include "log.h"

#define S_CONNECTION_TIMEOUT_S 30 /* idle seconds before a connection is closed */
#define S_CONNECTION_LIMIT 256    /* connections at once */

struct wh_server {
    struct MHD_Daemon *daemon;     /* the HTTP server */
    const wh_settings_t *settings; /* not owned */
    wh_intake_t *intake;           /* not owned */
    int port;                      /* bound port */
};

/* One POST /events being read. */
typedef struct {
    const wh_source_t *src; /* known from a bearer token; NULL: check the signature at the end */
    char *body;             /* bytes so far (owned) */
    size_t len;             /* bytes used */
    size_t cap;             /* bytes allocated */
    int too_large;          /* rule 3: over max_body, being dropped */
} s_request_t;

/* ------------------------------------------------------------- replies */

/* Queues reply (its body is taken) with the headers that go with it. */
static enum MHD_Result s_queue(struct MHD_Connection *conn, wh_reply_t *reply, const char *allow)
{
    const char *text = reply->body ? reply->body : "{}";
    struct MHD_Response *response =
        reply->body ? MHD_create_response_from_buffer(strlen(text), reply->body, MHD_RESPMEM_MUST_FREE)
                    : MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!response) {
        free(reply->body);
        reply->body = NULL;
        return MHD_NO;
    }
    reply->body = NULL; /* the response frees it */
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (reply->retry_after_s > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", reply->retry_after_s);
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    if (reply->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"switchboard\"");
    if (allow)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned int)reply->status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result s_queue_error(struct MHD_Connection *conn, int status, const char *message, const char *allow)
{
    wh_reply_t reply = {0};
    wh_reply_error(&reply, status, message);
    return s_queue(conn, &reply, allow);
}

/* ------------------------------------------------------------- helpers */

static const char *s_header(const char *name, void *arg)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)arg, MHD_HEADER_KIND, name);
}

/* 1 when a Content-Type is JSON: absent, application/json or any
 * application/...+json, with or without parameters. */
static int s_is_json_type(const char *type)
{
    if (!type)
        return 1;
    size_t len = strcspn(type, "; \t");
    if (len == 16 && strncasecmp(type, "application/json", 16) == 0)
        return 1;
    return len > 17 && strncasecmp(type, "application/", 12) == 0 && strncasecmp(type + len - 5, "+json", 5) == 0;
}

/* The first call of a POST /events: what the headers alone decide (rule 2).
 * Returns NULL with *refused set when a reply was queued. */
static s_request_t *s_begin(wh_server_t *self, struct MHD_Connection *conn, enum MHD_Result *refused)
{
    const char *type = s_header(MHD_HTTP_HEADER_CONTENT_TYPE, conn);
    if (!s_is_json_type(type)) {
        char message[HUB_ERR_LEN];
        snprintf(message, sizeof message, "Content-Type \"%.64s\": send application/json", type);
        hub_warn("415 %s", message);
        *refused = s_queue_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, message, NULL);
        return NULL;
    }
    const char *length = s_header(MHD_HTTP_HEADER_CONTENT_LENGTH, conn);
    if (length) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(length, &end, 10);
        if (errno == 0 && end != length && n > self->settings->max_body) {
            char message[HUB_ERR_LEN];
            snprintf(message, sizeof message, "body: %llu bytes, more than the limit of %zu", n,
                     self->settings->max_body);
            hub_warn("413 %s", message);
            *refused = s_queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, message, NULL);
            return NULL;
        }
    }
    const wh_source_t *src = wh_auth_bearer(self->settings, s_header(MHD_HTTP_HEADER_AUTHORIZATION, conn));
    if (!src && !wh_auth_has_signature(self->settings, s_header, conn)) {
        hub_warn("401 no valid credential in the headers");
        *refused = s_queue_error(conn, MHD_HTTP_UNAUTHORIZED, "missing or wrong credential", NULL);
        return NULL;
    }
    s_request_t *req = calloc(1, sizeof *req);
    if (!req) {
        *refused = s_queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
        return NULL;
    }
    req->src = src;
    return req;
}

/* Appends a piece of body (rule 3). Returns 0 or -ENOMEM. */
static int s_append(wh_server_t *self, s_request_t *req, const char *data, size_t size)
{
    if (req->too_large)
        return 0;
    if (size > self->settings->max_body - req->len) {
        req->too_large = 1;
        free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        return 0;
    }
    if (req->len + size + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 4096;
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

/* The last call of a POST /events: the whole body is here. */
static enum MHD_Result s_finish(wh_server_t *self, struct MHD_Connection *conn, s_request_t *req)
{
    if (req->too_large) {
        char message[HUB_ERR_LEN];
        snprintf(message, sizeof message, "body: more than the limit of %zu bytes", self->settings->max_body);
        hub_warn("413 %s", message);
        return s_queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, message, NULL);
    }
    const char *body = req->body ? req->body : "";
    const wh_source_t *src = req->src;
    if (!src)
        src = wh_auth_signature(self->settings, s_header, conn, body, req->len);
    if (!src) {
        hub_warn("401 no signature matches the body");
        return s_queue_error(conn, MHD_HTTP_UNAUTHORIZED, "missing or wrong credential", NULL);
    }
    wh_reply_t reply;
    wh_intake_post(self->intake, src, body, req->len, &reply);
    return s_queue(conn, &reply, NULL);
}

/* ------------------------------------------------------------ callbacks */

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    wh_server_t *self = cls;
    s_request_t *req = *con_cls;
    (void)version;
    if (!req) {
        if (strcmp(url, "/healthz") == 0) {
            if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return s_queue_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET", "GET, HEAD");
            wh_reply_t reply;
            wh_intake_health(self->intake, &reply);
            return s_queue(conn, &reply, NULL);
        }
        if (strcmp(url, "/events") != 0)
            return s_queue_error(conn, MHD_HTTP_NOT_FOUND, "no such path: POST /events, GET /healthz", NULL);
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return s_queue_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST", "POST");
        enum MHD_Result refused = MHD_NO;
        req = s_begin(self, conn, &refused);
        if (!req)
            return refused;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (s_append(self, req, upload_data, *upload_data_size) < 0)
            return MHD_NO; /* out of memory: drop the connection */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return s_finish(self, conn, req);
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

int wh_server_port(const wh_server_t *self)
{
    return self ? self->port : 0;
}

void wh_server_destroy(wh_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->daemon)
        MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}
