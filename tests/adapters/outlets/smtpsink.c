/*
 * smtpsink - the minimal SMTP server (see smtpsink.h).
 */
#include "smtpsink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_LINE_MAX 4096
#define S_DATA_MAX (4 * 1024 * 1024)

struct smtpsink {
    pthread_mutex_t lock;
    pthread_t thread;
    int listen_fd;
    int stop_pipe[2];
    int port;
    char refuse_addr[256];
    int refuse_code, refuse_times;
    size_t refusals;
    smtpsink_msg_t msgs[SMTPSINK_MAX];
    size_t nmsgs;
};

typedef struct {
    int fd;
    char buf[S_LINE_MAX];
    size_t len;
} s_conn_t;

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_send(s_conn_t *c, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* Reads one line (CRLF or LF stripped) into out. 1, or 0 on EOF/error/stop. */
static int s_line(smtpsink_t *self, s_conn_t *c, char *out, size_t outlen)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            size_t keep = n > 0 && c->buf[n - 1] == '\r' ? n - 1 : n;
            if (keep >= outlen)
                keep = outlen - 1;
            memcpy(out, c->buf, keep);
            out[keep] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return 1;
        }
        if (c->len == sizeof c->buf)
            return 0;
        struct pollfd p[2] = {{c->fd, POLLIN, 0}, {self->stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        if (p[1].revents)
            return 0;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        c->len += (size_t)n;
    }
}

/* The address inside <...> of "MAIL FROM:<a>" / "RCPT TO:<a>". */
static void s_angle(const char *line, char *out, size_t len)
{
    const char *open = strchr(line, '<'), *close = open ? strchr(open, '>') : NULL;
    if (!open || !close) {
        snprintf(out, len, "%s", "");
        return;
    }
    snprintf(out, len, "%.*s", (int)(close - open - 1), open + 1);
}

static void s_serve(smtpsink_t *self, int fd)
{
    s_conn_t c = {.fd = fd};
    char line[S_LINE_MAX], reply[512];
    smtpsink_msg_t cur;
    memset(&cur, 0, sizeof cur);
    int have_from = 0;
    if (s_send(&c, "220 sink.test ESMTP ready\r\n") < 0)
        return;
    while (s_line(self, &c, line, sizeof line)) {
        if (strncasecmp(line, "EHLO", 4) == 0) {
            if (s_send(&c, "250-sink.test hello\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n") < 0)
                break;
        } else if (strncasecmp(line, "HELO", 4) == 0) {
            if (s_send(&c, "250 sink.test hello\r\n") < 0)
                break;
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            memset(&cur, 0, sizeof cur);
            s_angle(line, cur.from, sizeof cur.from);
            have_from = 1;
            if (s_send(&c, "250 2.1.0 sender ok\r\n") < 0)
                break;
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            char addr[256];
            s_angle(line, addr, sizeof addr);
            int code = 0;
            pthread_mutex_lock(&self->lock);
            if (self->refuse_addr[0] && strcasecmp(addr, self->refuse_addr) == 0 && self->refuse_times != 0) {
                code = self->refuse_code;
                if (self->refuse_times > 0)
                    self->refuse_times--;
                self->refusals++;
            }
            pthread_mutex_unlock(&self->lock);
            if (!have_from)
                snprintf(reply, sizeof reply, "503 5.5.1 need MAIL first\r\n");
            else if (code)
                snprintf(reply, sizeof reply, "%d %s.1.1 <%s>: mailbox %s\r\n", code, code >= 500 ? "5" : "4", addr,
                         code >= 500 ? "unknown" : "busy, try later");
            else if (cur.nrcpt >= SMTPSINK_RCPT)
                snprintf(reply, sizeof reply, "452 4.5.3 too many recipients\r\n");
            else {
                snprintf(cur.rcpt[cur.nrcpt++], sizeof cur.rcpt[0], "%s", addr);
                snprintf(reply, sizeof reply, "250 2.1.5 recipient ok\r\n");
            }
            if (s_send(&c, reply) < 0)
                break;
        } else if (strcasecmp(line, "DATA") == 0) {
            if (!have_from || cur.nrcpt == 0) {
                if (s_send(&c, "503 5.5.1 no valid recipients\r\n") < 0)
                    break;
                continue;
            }
            if (s_send(&c, "354 end with <CRLF>.<CRLF>\r\n") < 0)
                break;
            char *data = NULL;
            size_t dlen = 0;
            int ended = 0;
            while (s_line(self, &c, line, sizeof line)) {
                if (strcmp(line, ".") == 0) {
                    ended = 1;
                    break;
                }
                const char *l = line[0] == '.' ? line + 1 : line; /* dot-unstuffing */
                size_t n = strlen(l);
                if (dlen + n + 3 > S_DATA_MAX)
                    continue;
                char *more = realloc(data, dlen + n + 3);
                if (!more)
                    continue;
                data = more;
                memcpy(data + dlen, l, n);
                memcpy(data + dlen + n, "\r\n", 3);
                dlen += n + 2;
            }
            if (!ended) {
                free(data);
                break;
            }
            cur.data = data ? data : strdup("");
            pthread_mutex_lock(&self->lock);
            if (self->nmsgs < SMTPSINK_MAX)
                self->msgs[self->nmsgs++] = cur;
            else
                free(cur.data);
            pthread_mutex_unlock(&self->lock);
            memset(&cur, 0, sizeof cur);
            have_from = 0;
            if (s_send(&c, "250 2.0.0 queued\r\n") < 0)
                break;
        } else if (strcasecmp(line, "RSET") == 0) {
            memset(&cur, 0, sizeof cur);
            have_from = 0;
            if (s_send(&c, "250 2.0.0 ok\r\n") < 0)
                break;
        } else if (strcasecmp(line, "NOOP") == 0) {
            if (s_send(&c, "250 2.0.0 ok\r\n") < 0)
                break;
        } else if (strcasecmp(line, "QUIT") == 0) {
            s_send(&c, "221 2.0.0 bye\r\n");
            break;
        } else {
            if (s_send(&c, "502 5.5.2 not implemented\r\n") < 0)
                break;
        }
    }
}

static void *s_thread(void *arg)
{
    smtpsink_t *self = arg;
    for (;;) {
        struct pollfd p[2] = {{self->listen_fd, POLLIN, 0}, {self->stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        int fd = accept(self->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        s_serve(self, fd);
        close(fd);
    }
    return NULL;
}

smtpsink_t *smtpsink_new(void)
{
    smtpsink_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->stop_pipe[0] = self->stop_pipe[1] = -1;
    self->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    if (self->listen_fd < 0 || bind(self->listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0
        || listen(self->listen_fd, 16) < 0 || getsockname(self->listen_fd, (struct sockaddr *)&addr, &alen) < 0
        || pipe(self->stop_pipe) < 0) {
        fprintf(stderr, "smtpsink: cannot listen on 127.0.0.1: %s\n", strerror(errno));
        if (self->listen_fd >= 0)
            close(self->listen_fd);
        free(self);
        return NULL;
    }
    self->port = ntohs(addr.sin_port);
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        close(self->listen_fd);
        close(self->stop_pipe[0]);
        close(self->stop_pipe[1]);
        free(self);
        return NULL;
    }
    return self;
}

void smtpsink_destroy(smtpsink_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    smtpsink_t *self = *self_p;
    if (write(self->stop_pipe[1], "x", 1) != 1)
        fprintf(stderr, "smtpsink: cannot wake the thread\n");
    pthread_join(self->thread, NULL);
    close(self->listen_fd);
    close(self->stop_pipe[0]);
    close(self->stop_pipe[1]);
    for (size_t i = 0; i < self->nmsgs; i++)
        free(self->msgs[i].data);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int smtpsink_port(const smtpsink_t *self)
{
    return self->port;
}

void smtpsink_refuse(smtpsink_t *self, const char *address, int code, int times)
{
    pthread_mutex_lock(&self->lock);
    snprintf(self->refuse_addr, sizeof self->refuse_addr, "%s", address);
    self->refuse_code = code;
    self->refuse_times = times;
    pthread_mutex_unlock(&self->lock);
}

size_t smtpsink_count(smtpsink_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->nmsgs;
    pthread_mutex_unlock(&self->lock);
    return n;
}

size_t smtpsink_refusals(smtpsink_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->refusals;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int smtpsink_get(smtpsink_t *self, size_t i, smtpsink_msg_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    if (i < self->nmsgs) {
        *out = self->msgs[i];
        out->data = strdup(self->msgs[i].data);
        rc = out->data ? 0 : -1;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void smtpsink_msg_free(smtpsink_msg_t *m)
{
    free(m->data);
    m->data = NULL;
}

static int s_wait(smtpsink_t *self, size_t (*count)(smtpsink_t *), size_t n, int timeout_ms)
{
    int64_t end = s_mono_ms() + timeout_ms;
    while (count(self) < n) {
        if (s_mono_ms() >= end)
            return 0;
        poll(NULL, 0, 20);
    }
    return 1;
}

int smtpsink_wait(smtpsink_t *self, size_t n, int timeout_ms)
{
    return s_wait(self, smtpsink_count, n, timeout_ms);
}

int smtpsink_wait_refusals(smtpsink_t *self, size_t n, int timeout_ms)
{
    return s_wait(self, smtpsink_refusals, n, timeout_ms);
}
