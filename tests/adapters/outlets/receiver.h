/*
 * receiver - a real HTTP server (libmicrohttpd) on 127.0.0.1 for the
 * webhook-out tests: it records every request in order and answers as
 * scripted.
 *
 * Rules:
 *   1. Answers come from the script in order (status, optional Retry-After,
 *      body); when the script is used up, every request gets 200 "ok".
 *   2. receiver_down closes the listening socket (a connection is refused);
 *      receiver_up listens again on the same port.
 *   3. Everything is guarded by one mutex: the test thread reads while the
 *      server thread records.
 */
#ifndef OUTLET_RECEIVER_H_INCLUDED
#define OUTLET_RECEIVER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define RECEIVER_MAX 256 /* requests recorded at most */

typedef struct {
    int status;              /* what it was answered */
    int64_t at_ms;           /* monotonic time it arrived */
    char path[128];          /* request path */
    char content_type[128];  /* Content-Type */
    char signature[128];     /* X-Switchboard-Signature */
    char delivery[64];       /* X-Switchboard-Delivery */
    char custom[128];        /* X-Team (a configured header) */
    char *body;              /* the body (owned) */
} receiver_request_t;

typedef struct receiver receiver_t;

/* Starts listening on 127.0.0.1 on a free port. NULL on failure. */
receiver_t *receiver_new(void);
void receiver_destroy(receiver_t **self_p);

int receiver_port(const receiver_t *self);

/* Appends an answer to the script (retry_after may be NULL). */
void receiver_script(receiver_t *self, int status, const char *retry_after, const char *body);

/* Requests recorded so far. */
size_t receiver_count(receiver_t *self);

/* A copy of request i (body duplicated: receiver_request_free). 0 or -1. */
int receiver_get(receiver_t *self, size_t i, receiver_request_t *out);
void receiver_request_free(receiver_request_t *r);

/* Waits until at least n requests came. 1, or 0 at the deadline. */
int receiver_wait(receiver_t *self, size_t n, int timeout_ms);

/* Stops listening (connections are refused) / listens again on the port. */
int receiver_down(receiver_t *self);
int receiver_up(receiver_t *self);

#endif
