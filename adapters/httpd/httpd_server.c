/*
 * httpd_server - libmicrohttpd glue for the adapters' HTTP servers (rules
 * in httpd_server.h).
 */
#include "httpd_server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "httpd_listen.h"
#include "log.h"

#define S_FIRST_CAP 4096 /* bytes first allocated for a body */

struct httpd_server {
    struct MHD_Daemon *daemon; /* the HTTP server */
    httpd_handler_t handler;   /* the adapter's (its arg not owned) */
    size_t max_body;           /* rule 2 */
    int port;                  /* bound port */
};

/* One request whose body is being read. */
typedef struct {
    httpd_request_t request; /* what the handler sees */
    char *body;              /* bytes so far (owned) */
    size_t len;              /* bytes used */
    size_t cap;              /* bytes allocated */
    int too_large;           /* rule 2: over max_body, being dropped */
} s_pending_t;

/* ------------------------------------------------------------ the body */

/* Appends a piece of body (rule 2). Returns 0 or -ENOMEM. */
static int s_append(httpd_server_t *self, s_pending_t *pending, const char *data, size_t size)
{
    if (pending->too_large)
        return 0;
    if (size > self->max_body - pending->len) {
        pending->too_large = 1;
        free(pending->body);
        pending->body = NULL;
        pending->len = pending->cap = 0;
        return 0;
    }
    if (pending->len + size + 1 > pending->cap) {
        size_t cap = pending->cap ? pending->cap : S_FIRST_CAP;
        while (cap < pending->len + size + 1)
            cap *= 2;
        char *grown = realloc(pending->body, cap);
        if (!grown)
            return -ENOMEM;
        pending->body = grown;
        pending->cap = cap;
    }
    memcpy(pending->body + pending->len, data, size);
    pending->len += size;
    pending->body[pending->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------ callbacks */

/* Calls begin on the first call of a request; when it lets the body be
 * read, keeps the request in *con_cls. Rule 3. */
static enum MHD_Result s_begin(httpd_server_t *self, struct MHD_Connection *conn, const char *url, const char *method,
                               void **con_cls)
{
    httpd_request_t request = {.method = method, .url = url, .body = "", .connection = conn};
    if (self->handler.begin) {
        if (self->handler.begin(self->handler.arg, &request) < 0)
            return MHD_NO;
        if (request.answered)
            return MHD_YES;
    }
    s_pending_t *pending = calloc(1, sizeof *pending);
    if (!pending) {
        request.outcome = HTTPD_BODY_NO_MEMORY;
        return self->handler.finish(self->handler.arg, &request) < 0 ? MHD_NO : MHD_YES;
    }
    pending->request = request;
    *con_cls = pending;
    return MHD_YES;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    httpd_server_t *self = cls;
    s_pending_t *pending = *con_cls;
    (void)version;
    if (!pending)
        return s_begin(self, conn, url, method, con_cls);
    if (*upload_data_size > 0) {
        if (s_append(self, pending, upload_data, *upload_data_size) < 0)
            return MHD_NO; /* out of memory: drop the connection */
        *upload_data_size = 0;
        return MHD_YES;
    }
    httpd_request_t *request = &pending->request;
    request->connection = conn;
    request->outcome = pending->too_large ? HTTPD_BODY_TOO_LARGE : HTTPD_BODY_WHOLE;
    request->body = pending->body ? pending->body : "";
    request->body_len = pending->len;
    return self->handler.finish(self->handler.arg, request) < 0 ? MHD_NO : MHD_YES;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_pending_t *pending = *con_cls;
    if (pending) {
        free(pending->body);
        free(pending);
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

httpd_server_t *httpd_server_new(const char *listen, const struct sockaddr_storage *addr, size_t max_body,
                                 const httpd_handler_t *handler, char err[HUB_ERR_LEN])
{
    httpd_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    self->handler = *handler;
    self->max_body = max_body;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    /* the logger first, so that MHD's own start-up messages go through it */
    self->daemon = MHD_start_daemon(flags, 0, NULL, NULL, s_access, self,
                                    MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
                                    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTPD_CONNECTION_TIMEOUT_S,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_CONNECTION_LIMIT,
                                    MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
                                    MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, HUB_ERR_LEN, "cannot listen on %s: %s", listen,
                 errno ? strerror(errno) : "the HTTP server did not start (see the log)");
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int)info->port : 0;
    return self;
}

int httpd_server_port(const httpd_server_t *self)
{
    return self ? self->port : 0;
}

void httpd_server_destroy(httpd_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->daemon)
        MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------ answering */

int httpd_answer(httpd_request_t *request, int status, const httpd_header_t *headers, size_t nheaders, char **body_p,
                 const char *static_body, size_t len)
{
    struct MHD_Response *response;
    if (body_p && *body_p) {
        response = MHD_create_response_from_buffer(len, *body_p, MHD_RESPMEM_MUST_FREE);
        if (response)
            *body_p = NULL; /* the response frees it */
    }
    else {
        response = MHD_create_response_from_buffer(static_body ? len : 0, (void *)static_body, MHD_RESPMEM_PERSISTENT);
    }
    if (!response)
        return -1;
    for (size_t i = 0; i < nheaders; i++)
        if (headers[i].value)
            MHD_add_response_header(response, headers[i].name, headers[i].value);
    enum MHD_Result rc = MHD_queue_response(request->connection, (unsigned int)status, response);
    MHD_destroy_response(response);
    request->answered = 1;
    return rc == MHD_YES ? 0 : -1;
}

/* ------------------------------------------------------------- lookups */

const char *httpd_header(const httpd_request_t *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

const char *httpd_query(const httpd_request_t *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_GET_ARGUMENT_KIND, name);
}

const char *httpd_cookie(const httpd_request_t *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_COOKIE_KIND, name);
}

int httpd_peer_loopback(const httpd_request_t *request)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(request->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info && info->client_addr && httpd_is_loopback(info->client_addr);
}

int httpd_declared_length(const httpd_request_t *request, unsigned long long *length)
{
    const char *text = httpd_header(request, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!text)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return 0;
    *length = n;
    return 1;
}

int httpd_is_header_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'
              || *p == '_'))
            return 0;
    return 1;
}

int httpd_is_json_type(const char *type)
{
    if (!type)
        return 0;
    size_t len = strcspn(type, "; \t");
    if (len == 16 && strncasecmp(type, "application/json", 16) == 0)
        return 1;
    return len > 17 && strncasecmp(type, "application/", 12) == 0 && strncasecmp(type + len - 5, "+json", 5) == 0;
}
