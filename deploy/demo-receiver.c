/*
 * demo-receiver - the smallest HTTP endpoint a webhook outlet can POST to.
 *
 *   demo-receiver [--listen ADDR:PORT]     (default 127.0.0.1:0, any free port)
 *
 * Prints "listening on ADDR:PORT" on standard output once it accepts
 * connections, then one line per POST request: the body, as compact JSON
 * when it is JSON, else as it came with control characters turned into
 * spaces. Answers 200 to every POST, 405 to anything else, 413 to a body
 * over MAX_BODY. SIGTERM or SIGINT stops it (exit 0).
 *
 * Rules:
 *   1. Standard output is flushed after every line, so that a reader of a
 *      redirected output sees each request as soon as it was answered.
 *   2. A line is printed before the 200 goes out: whoever got the 200 can
 *      count on the line being there.
 *
 * It is the demo's stand-in for a chat tool or an issue tracker, not a
 * server to expose: IPv4, no TLS, no authentication.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (1024 * 1024) /* bytes of one request body */

typedef struct {
    char *data;  /* the body so far, NUL-terminated */
    size_t len;  /* bytes in data */
    int too_big; /* the body went over MAX_BODY */
} s_body_t;

static pthread_mutex_t s_print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Prints body as one line on standard output (rule 1). */
static void s_print_body(const char *data, size_t len)
{
    json_error_t jerr;
    json_t *json = json_loadb(data, len, 0, &jerr);
    char *compact = json ? json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    json_decref(json);
    pthread_mutex_lock(&s_print_lock);
    if (compact) {
        fputs(compact, stdout);
    } else {
        for (size_t i = 0; i < len; i++)
            putchar((unsigned char)data[i] < 0x20 ? ' ' : data[i]);
    }
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&s_print_lock);
    free(compact);
}

/* Queues a short plain-text answer. Returns MHD_YES or MHD_NO. */
static enum MHD_Result s_answer(struct MHD_Connection *conn, unsigned int status, const char *text)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    enum MHD_Result rc = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return rc;
}

/* libmicrohttpd's request handler: collects the body over several calls
 * (*state holds it), then prints it and answers. */
static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return s_answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only POST\n");
    s_body_t *body = *state;
    if (!body) {
        if (!(body = calloc(1, sizeof *body)))
            return MHD_NO;
        *state = body;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!body->too_big && body->len + *upload_size <= MAX_BODY) {
            char *grown = realloc(body->data, body->len + *upload_size + 1);
            if (!grown)
                return MHD_NO;
            memcpy(grown + body->len, upload_data, *upload_size);
            body->data = grown;
            body->len += *upload_size;
            body->data[body->len] = '\0';
        } else {
            body->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (body->too_big)
        return s_answer(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large\n");
    s_print_body(body->data ? body->data : "", body->len);
    return s_answer(conn, MHD_HTTP_OK, "ok\n");
}

/* Frees a request's body when libmicrohttpd is done with the request. */
static void s_completed(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode code)
{
    s_body_t *body = *state;
    if (body) {
        free(body->data);
        free(body);
        *state = NULL;
    }
}

/* Parses "A.B.C.D:PORT" into addr. Returns 0, or -1 when it is not one. */
static int s_parse_listen(const char *text, struct sockaddr_in *addr)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return -1;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &addr->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *where = "127.0.0.1:0";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            where = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: demo-receiver [--listen ADDR:PORT]\n"
                   "Prints the body of every POST it gets as one line; SIGTERM stops it.\n");
            return 0;
        } else {
            fprintf(stderr, "demo-receiver: unknown argument \"%s\" (try --help)\n", argv[i]);
            return 2;
        }
    }
    struct sockaddr_in addr;
    if (s_parse_listen(where, &addr) < 0) {
        fprintf(stderr, "demo-receiver: --listen %s: expected IPv4-ADDRESS:PORT\n", where);
        return 2;
    }

    /* The server's thread inherits this mask: only main takes the signals. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct MHD_Daemon *server = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_handle, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (!server) {
        fprintf(stderr, "demo-receiver: cannot listen on %s\n", where);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(server, MHD_DAEMON_INFO_BIND_PORT);
    char shown[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &addr.sin_addr, shown, sizeof shown);
    pthread_mutex_lock(&s_print_lock);
    printf("listening on %s:%u\n", shown, info ? (unsigned)info->port : 0u);
    fflush(stdout);
    pthread_mutex_unlock(&s_print_lock);

    int sig = 0;
    sigwait(&stop, &sig);
    MHD_stop_daemon(server);
    return 0;
}
