/*
 * server - the HTTP side of hub-webhook-in (libmicrohttpd):
 *
 *   POST /events    one event or a list (intake.h); 202, 400, 401, 413, 415, 503
 *   GET  /healthz   200 when the hub answers a ping, else 503
 *   anything else   404, or 405 for a known path with another method
 *
 * Rules:
 *   1. One internal polling thread runs every request handler, so that the
 *      intake (and its hub client, which is not thread-safe) is only ever
 *      used from that thread. A handler blocks that thread for at most the
 *      hub timeout; bodies are still read without blocking.
 *   2. What can be refused from the headers alone is refused before the
 *      body is read: wrong path or method, a content type that is not JSON,
 *      a Content-Length over max_body, a request without any credential,
 *      a bearer token that matches no source.
 *   3. A body is never held beyond max_body: a streamed body that grows past
 *      it is read and dropped, and answered 413.
 */
#ifndef WH_SERVER_H_INCLUDED
#define WH_SERVER_H_INCLUDED

#include "hub.h"
#include "intake.h"
#include "settings.h"

typedef struct wh_server wh_server_t;

/* Binds settings->listen and starts serving. settings and intake must
 * outlive the server. Returns NULL with err on failure. */
wh_server_t *wh_server_new(const wh_settings_t *settings, wh_intake_t *intake, char err[HUB_ERR_LEN]);

/* The port bound (useful with port 0). */
int wh_server_port(const wh_server_t *self);

/* Stops serving (waits for the request in progress) and frees. Accepts NULL. */
void wh_server_destroy(wh_server_t **self_p);

#endif
