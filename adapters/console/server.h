/*
 * server - the HTTP side of hub-console (libmicrohttpd): reads requests,
 * hands them to the console (console.h) and sends its answers with the
 * security headers.
 *
 * Rules:
 *   1. One internal polling thread runs every request handler, so that the
 *      console (and its hub client, which is not thread-safe) is used from
 *      that thread only. A handler blocks that thread for at most the hub
 *      timeout per hub call; bodies are still read without blocking.
 *   2. A request body is at most CS_MAX_BODY bytes: a Content-Length over
 *      it is refused before the body is read, and a streamed body that
 *      grows past it is read and dropped, and answered 413.
 *   3. Every answer carries Content-Security-Policy (default-src 'self',
 *      no framing, no base or form targets elsewhere),
 *      X-Content-Type-Options: nosniff, X-Frame-Options: DENY and
 *      Referrer-Policy: no-referrer; API answers Cache-Control: no-store,
 *      the web app's files no-cache.
 *   4. A body is JSON: a body with another Content-Type is refused (415)
 *      before the console sees it.
 */
#ifndef CS_SERVER_H_INCLUDED
#define CS_SERVER_H_INCLUDED

#include "console.h"
#include "hub.h"
#include "settings.h"

#define CS_MAX_BODY (64 * 1024) /* bytes of a request body (rule 2) */

typedef struct cs_server cs_server_t;

/* Binds settings->listen and starts serving. settings and console must
 * outlive the server. Returns NULL with err on failure. */
cs_server_t *cs_server_new(const cs_settings_t *settings, cs_console_t *console, char err[HUB_ERR_LEN]);

/* The port bound (useful with port 0). */
int cs_server_port(const cs_server_t *self);

/* Stops serving (waits for the request in progress) and frees. Accepts NULL. */
void cs_server_destroy(cs_server_t **self_p);

#endif
