/*
 * receiver - the scripted HTTP receiver (see receiver.h).
 */
#include "receiver.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SCRIPT_MAX 64
#define S_BODY_MAX (1024 * 1024)

typedef struct {
    int status;
    char retry_after[64];
    char body[256];
} s_answer_t;

struct receiver {
    pthread_mutex_t lock;
    struct MHD_Daemon *daemon;
    int port;
    s_answer_t script[S_SCRIPT_MAX];
    size_t nscript, next;
    receiver_request_t req[RECEIVER_MAX];
    size_t nreq;
};

typedef struct {
    char *data;
    size_t len;
    int too_big;
} s_upload_t;

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t len)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    snprintf(out, len, "%s", v ? v : "");
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)version;
    receiver_t *self = cls;
    s_upload_t *up = *con_cls;
    if (!up) {
        up = calloc(1, sizeof(*up));
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*data_size > 0) {
        if (up->len + *data_size <= S_BODY_MAX) {
            char *more = realloc(up->data, up->len + *data_size + 1);
            if (more) {
                memcpy(more + up->len, data, *data_size);
                up->data = more;
                up->len += *data_size;
                up->data[up->len] = '\0';
            }
        } else {
            up->too_big = 1;
        }
        *data_size = 0;
        return MHD_YES;
    }
    /* the whole request is in: record it and answer */
    s_answer_t a = {200, "", "ok"};
    pthread_mutex_lock(&self->lock);
    if (self->next < self->nscript)
        a = self->script[self->next++];
    if (self->nreq < RECEIVER_MAX) {
        receiver_request_t *r = &self->req[self->nreq++];
        memset(r, 0, sizeof *r);
        r->status = a.status;
        r->at_ms = s_mono_ms();
        snprintf(r->path, sizeof r->path, "%s %s", method, url);
        s_copy_header(conn, "Content-Type", r->content_type, sizeof r->content_type);
        s_copy_header(conn, "X-Switchboard-Signature", r->signature, sizeof r->signature);
        s_copy_header(conn, "X-Switchboard-Delivery", r->delivery, sizeof r->delivery);
        s_copy_header(conn, "X-Team", r->custom, sizeof r->custom);
        r->body = strdup(up->data ? up->data : "");
    }
    pthread_mutex_unlock(&self->lock);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(a.body), a.body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (a.retry_after[0])
        MHD_add_response_header(resp, "Retry-After", a.retry_after);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)a.status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_upload_t *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
        *con_cls = NULL;
    }
}

static struct MHD_Daemon *s_start(receiver_t *self, int port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
                            s_handler, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_NOTIFY_COMPLETED, s_completed, self, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
}

receiver_t *receiver_new(void)
{
    receiver_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->daemon = s_start(self, 0);
    const union MHD_DaemonInfo *info = self->daemon ? MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT)
                                                    : NULL;
    if (!info || info->port == 0) {
        fprintf(stderr, "receiver: cannot listen on 127.0.0.1\n");
        receiver_destroy(&self);
        return NULL;
    }
    self->port = info->port;
    return self;
}

void receiver_destroy(receiver_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    receiver_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    for (size_t i = 0; i < self->nreq; i++)
        free(self->req[i].body);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int receiver_port(const receiver_t *self)
{
    return self->port;
}

void receiver_script(receiver_t *self, int status, const char *retry_after, const char *body)
{
    pthread_mutex_lock(&self->lock);
    if (self->nscript < S_SCRIPT_MAX) {
        s_answer_t *a = &self->script[self->nscript++];
        a->status = status;
        snprintf(a->retry_after, sizeof a->retry_after, "%s", retry_after ? retry_after : "");
        snprintf(a->body, sizeof a->body, "%s", body ? body : "");
    }
    pthread_mutex_unlock(&self->lock);
}

size_t receiver_count(receiver_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->nreq;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int receiver_get(receiver_t *self, size_t i, receiver_request_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    if (i < self->nreq) {
        *out = self->req[i];
        out->body = strdup(self->req[i].body ? self->req[i].body : "");
        rc = out->body ? 0 : -1;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void receiver_request_free(receiver_request_t *r)
{
    free(r->body);
    r->body = NULL;
}

int receiver_wait(receiver_t *self, size_t n, int timeout_ms)
{
    int64_t end = s_mono_ms() + timeout_ms;
    while (receiver_count(self) < n) {
        if (s_mono_ms() >= end)
            return 0;
        poll(NULL, 0, 20);
    }
    return 1;
}

int receiver_down(receiver_t *self)
{
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    self->daemon = NULL;
    return 0;
}

int receiver_up(receiver_t *self)
{
    if (self->daemon)
        return 0;
    self->daemon = s_start(self, self->port);
    return self->daemon ? 0 : -1;
}
