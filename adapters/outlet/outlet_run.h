/*
 * outlet_run - an outlet program's whole life: command line, config,
 * subscription, and the receive -> deliver -> ack/nack loop on libhub.
 * hub-webhook-out and hub-mail-out are an outlet_adapter_t each.
 *
 * Rules:
 *   1. One notification at a time: the next is taken only when the current
 *      one is settled (acked, nacked, or abandoned at a stop), so a
 *      department receives them in the hub's order (with credit 1 also
 *      across redeliveries).
 *   2. A notification is acked only after the adapter says DELIVERED.
 *   3. RETRY: tried again after a backoff (outlet_retry.h) or the server's
 *      Retry-After; when the attempts or the time are used up, nacked with
 *      dead_letter 0, so the hub's redelivery and dead-letter take over.
 *   4. REJECTED (will never succeed: HTTP 404, SMTP 550): nacked with
 *      dead_letter 1 and the reason, at once.
 *   5. SIGTERM or SIGINT: the current send is finished or abandoned, never
 *      acked unless delivered; the acks sent are confirmed with one status
 *      round trip; exit 0.
 *   6. One log line per settled notification (delivered, dead-lettered,
 *      given up, abandoned), one per retry.
 *
 *     receive --deliver--> DELIVERED --------------------------> ack
 *                  |-----> REJECTED ---------------------------> nack(dead)
 *                  \-----> RETRY --wait--> deliver ... limit --> nack
 *                                    \--stop--> abandoned (no ack)
 */
#ifndef OUTLET_RUN_H_INCLUDED
#define OUTLET_RUN_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

#include "hub.h"
#include "outlet_config.h"

typedef enum {
    OUTLET_DELIVERED, /* the far side took it: ack */
    OUTLET_RETRY,     /* may work later: back off and try again */
    OUTLET_REJECTED,  /* will never work: dead-letter now */
} outlet_outcome_t;

#define OUTLET_DETAIL_LEN 240 /* bytes of a result's detail (the nack reason) */

typedef struct {
    outlet_outcome_t outcome;          /* what to do next */
    int code;                          /* HTTP status or SMTP reply code; 0 when none came */
    int64_t retry_after_ms;            /* the server's wish before RETRY; -1 when none */
    char detail[OUTLET_DETAIL_LEN];    /* one line for the log and the nack reason */
} outlet_result_t;

typedef struct {
    const char *program; /* "hub-webhook-out" */
    const char *summary; /* the --help text after the usage line */
    const char *known;   /* the adapter's own top-level config keys, for messages */
    /* Takes one of the adapter's own top-level keys (outlet_section_fn). */
    outlet_section_fn section;
    /* After the config is loaded: checks that what the adapter requires is
     * there and prepares (templates, curl). Returns 0 or -HUB_ECONFIG / a
     * negative code with err ("path: missing the \"webhook\" section"). */
    int (*prepare)(void *arg, const char *config_path, char err[HUB_ERR_LEN]);
    /* Delivers one notification (doc: its JSON, parsed). Fills res. May
     * block up to the adapter's own timeout; should give up early when
     * outlet_stopping() becomes 1. */
    void (*deliver)(void *arg, const hub_notification_t *n, const json_t *doc, outlet_result_t *res);
    /* Frees what prepare and section made. Safe after a failed prepare. */
    void (*cleanup)(void *arg);
    void *arg; /* the adapter's state */
} outlet_adapter_t;

/* Runs the program: parses argv (--config FILE, --hub EP, --log-level L,
 * --check, --help, --version), loads the config, subscribes and loops
 * until SIGTERM/SIGINT. Returns the exit status: 0 after a clean stop (or
 * --help, --check), 1 on a config or runtime failure (one line on stderr:
 * "PROGRAM: file:LINE: what"), 2 on a usage error. */
int outlet_main(int argc, char **argv, const outlet_adapter_t *adapter);

/* 1 once SIGTERM or SIGINT arrived. Async-signal-safe to read. */
int outlet_stopping(void);

/* Copies at most max bytes of text into out (size outlen) as one line:
 * control characters become spaces, a UTF-8 sequence is not cut. */
void outlet_one_line(const char *text, size_t len, size_t max, char *out, size_t outlen);

#endif
