/*
 * intake - what a POST /events does once its sender is known: parse, map,
 * validate, publish, and the HTTP answer to give. Knows nothing of HTTP
 * servers; the server (server.c) calls it from one thread.
 *
 * Rules:
 *   1. Every event of a request is mapped and validated before the first is
 *      sent: a bad event refuses the whole request and nothing of it is
 *      published (400 naming the field and the event's index).
 *   2. 202 only after the hub acknowledged every event of the request,
 *      which it does after they are committed.
 *   3. An event without an id gets "<source>-<hash>", the hash taken over
 *      the source, the raw body and the event's index in it: the same body
 *      sent again (a retry after a 503 or a lost answer) carries the same
 *      ids and is stored once.
 *   4. When the hub does not answer in time the answer is 503 with
 *      Retry-After, and the hub client is replaced, so that nothing of the
 *      abandoned request is resent behind the sender's back: the sender's
 *      retry is the one copy in flight.
 *   5. The hub client is used by the thread that calls intake only
 *      (hub_client_t is not thread-safe).
 */
#ifndef WH_INTAKE_H_INCLUDED
#define WH_INTAKE_H_INCLUDED

#include <stddef.h>

#include "hub.h"
#include "settings.h"

typedef struct wh_intake wh_intake_t;

typedef struct {
    int status;          /* HTTP status */
    char *body;          /* JSON text (owned; free()), or NULL */
    int retry_after_s;   /* > 0: send Retry-After */
} wh_reply_t;

/* Creates the intake and its hub client (which connects in the
 * background). settings must outlive it. Returns NULL with err. */
wh_intake_t *wh_intake_new(const wh_settings_t *settings, char err[HUB_ERR_LEN]);

void wh_intake_destroy(wh_intake_t **self_p);

/* Handles the body of a POST /events from src. Fills reply (the caller
 * frees reply->body). Blocks up to the settings' hub_timeout. */
void wh_intake_post(wh_intake_t *self, const wh_source_t *src, const char *body, size_t len, wh_reply_t *reply);

/* GET /healthz: 200 when the hub answers a ping within hub_timeout, else
 * 503. Blocks up to hub_timeout. */
void wh_intake_health(wh_intake_t *self, wh_reply_t *reply);

/* Fills reply with {"error": message} and status. */
void wh_reply_error(wh_reply_t *reply, int status, const char *message);

#endif
