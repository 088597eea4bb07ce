/*
 * httpd_server - the HTTP server the adapters that speak HTTP share
 * (hub-webhook-in, hub-console), on libmicrohttpd: it binds, reads each
 * request's body whole, and hands the request to the adapter's handler in
 * two steps:
 *
 *   begin(request)    the headers are in: answer now (a refusal, or a
 *                     request that needs no body), or let the body be read
 *   finish(request)   the whole body is in, or the reason it is not
 *                     (request->outcome): answer
 *
 * The adapter owns everything an answer says (status, headers, body);
 * this module owns the connection, the body buffer and their lifetimes.
 *
 * Rules:
 *   1. One internal polling thread runs every handler call, so that what a
 *      handler uses (a hub client, which is not thread-safe) is used from
 *      that thread only. A handler may block that thread; bodies are still
 *      read without blocking.
 *   2. A body is never held beyond max_body bytes: a streamed body that
 *      grows past it is read and dropped, and finish is told so
 *      (HTTPD_BODY_TOO_LARGE). A Content-Length over it is for begin to
 *      refuse (httpd_declared_length).
 *   3. A request is answered once. When begin answers, the request ends
 *      there and finish is not called; otherwise finish is called exactly
 *      once and answers. A handler that returns -1 drops the connection.
 *   4. At most HTTPD_CONNECTION_LIMIT connections at once; one idle for
 *      HTTPD_CONNECTION_TIMEOUT_S seconds is closed. libmicrohttpd's own
 *      messages go to the log as warnings ("http: ...").
 */
#ifndef HTTPD_SERVER_H_INCLUDED
#define HTTPD_SERVER_H_INCLUDED

#include <stddef.h>
#include <sys/socket.h>

#include "hub.h"

#define HTTPD_CONNECTION_TIMEOUT_S 30 /* idle seconds before a connection is closed */
#define HTTPD_CONNECTION_LIMIT 256    /* connections at once */

struct MHD_Connection;

typedef struct httpd_server httpd_server_t;

/* What finish is given instead of a body, when it is not whole. */
typedef enum {
    HTTPD_BODY_WHOLE = 0, /* body holds the whole body */
    HTTPD_BODY_TOO_LARGE, /* rule 2: over max_body, read and dropped */
    HTTPD_BODY_NO_MEMORY, /* no room to keep the request */
} httpd_body_outcome_t;

/* One request, as a handler sees it. Valid during the handler call only. */
typedef struct {
    const char *method;                /* "GET", "POST", ... */
    const char *url;                   /* the path, without the query */
    const char *body;                  /* the body, NUL-terminated; "" in begin and when there is none */
    size_t body_len;                   /* its bytes */
    httpd_body_outcome_t outcome;      /* in finish: whether body is whole */
    const void *state;                 /* the handler's own, set in begin and given back in finish; never freed here */
    struct MHD_Connection *connection; /* this module's: for the lookups and httpd_answer */
    int answered;                      /* this module's: 1 once httpd_answer queued an answer */
} httpd_request_t;

typedef struct {
    /* The headers are in. Returns 0: after an httpd_answer the request
     * ends, without one the body is read; -1 drops the connection. NULL:
     * every request's body is read. */
    int (*begin)(void *arg, httpd_request_t *request);
    /* The body is in (see request->outcome). Answers with httpd_answer and
     * returns what it returned; -1 drops the connection. */
    int (*finish)(void *arg, httpd_request_t *request);
    void *arg; /* given to both */
} httpd_handler_t;

/* One response header; a NULL value leaves it out. */
typedef struct {
    const char *name;
    const char *value;
} httpd_header_t;

/* Binds addr (IPv4 or IPv6, from httpd_listen_parse) and starts serving
 * with handler; listen is the address as the user wrote it, for messages.
 * handler->arg must outlive the server. Returns the server, or NULL with
 * err "cannot listen on LISTEN: reason" (or "out of memory"). Does not
 * block beyond binding. */
httpd_server_t *httpd_server_new(const char *listen, const struct sockaddr_storage *addr, size_t max_body,
                                 const httpd_handler_t *handler, char err[HUB_ERR_LEN]);

/* The port bound (the kernel's choice with port 0); 0 for NULL. */
int httpd_server_port(const httpd_server_t *self);

/* Stops serving (waits for the handler call in progress, so it blocks up
 * to what a handler blocks) and frees. Accepts NULL, safe twice; sets
 * *self_p = NULL. */
void httpd_server_destroy(httpd_server_t **self_p);

/* ------------------------------------------------------------ answering */

/* Queues the answer to request: status, the headers in order (nheaders
 * entries, NULL values left out) and a body of len bytes, which is
 * either *body_p (malloc()ed) or, when body_p or *body_p is NULL,
 * static_body (which outlives the server; NULL with len 0: no body).
 * Takes *body_p as soon as the response is made, and sets it to NULL.
 * Returns 0; -1 when the answer could not be made or queued (the handler
 * returns it, which drops the connection); whatever is still in *body_p
 * then is the caller's. Does not block. */
int httpd_answer(httpd_request_t *request, int status, const httpd_header_t *headers, size_t nheaders, char **body_p,
                 const char *static_body, size_t len);

/* ------------------------------------------------------------- lookups */

/* A request header (case-insensitive), query argument (decoded) or
 * cookie by name; NULL when absent. Valid during the handler call. */
const char *httpd_header(const httpd_request_t *request, const char *name);
const char *httpd_query(const httpd_request_t *request, const char *name);
const char *httpd_cookie(const httpd_request_t *request, const char *name);

/* 1 when the peer's address is a loopback address (httpd_is_loopback),
 * else 0. */
int httpd_peer_loopback(const httpd_request_t *request);

/* 1 with *length set when the request has a Content-Length that is a
 * number, else 0. */
int httpd_declared_length(const httpd_request_t *request, unsigned long long *length);

/* 1 when name is a header name this server takes: letters, digits, '-'
 * and '_', at least one; else 0. For checking settings that name a
 * header. */
int httpd_is_header_name(const char *name);

/* 1 when a Content-Type is JSON: application/json or any
 * application/...+json, with or without parameters; 0 otherwise and for
 * NULL (the caller decides what an absent type means). */
int httpd_is_json_type(const char *type);

#endif
