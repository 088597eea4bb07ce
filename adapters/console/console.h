/*
 * console - what hub-console answers, whatever carries the request: the
 * routes, logins and sessions, CSRF and Origin checks, the embedded web
 * app, /metrics and /healthz. The hub is reached through api.h; HTTP
 * itself is server.c's.
 *
 *   POST /api/login    {"user","password"} -> 200 session + Set-Cookie; 401; 429 + Retry-After
 *   POST /api/logout   -> 204, the cookie cleared
 *   GET  /api/session  -> 200 {"user","departments","operator","csrf"}; 401
 *   /api/...           the endpoints of api.h, for a logged-in user
 *   GET  /metrics      Prometheus text (metrics.h); operators only with metrics: operator
 *   GET  /healthz      200 {"status":"ok","hub":"reachable"} or 503
 *   GET  /, /app.js, /style.css, ...   the embedded web app (assets.h)
 *
 * Rules:
 *   1. A session is the sb_session cookie (HttpOnly; SameSite=Strict;
 *      Path=/; Max-Age = session_ttl; Secure with secure_cookies), naming
 *      a live session of a user still in the users file. A user removed
 *      from the file (after a reload) loses every session at once.
 *   2. Every POST, PUT, PATCH and DELETE with a session carries
 *      X-CSRF-Token equal to the session's token (403 "csrf" otherwise),
 *      and an Origin header, when present, must name the Host the request
 *      was sent to (403 "origin"). A login checks Origin only.
 *   3. A request body is JSON: a POST with a body and a Content-Type
 *      other than application/json is refused (415), which no HTML form
 *      can send across sites.
 *   4. Failed logins are limited per user name and in all (limiter.h);
 *      the answer to a wrong name and a wrong password is the same, and
 *      takes the same time.
 *   5. With proxy_header set, a request from a loopback peer that carries
 *      that header is the user it names (who must be in the users file);
 *      GET /api/session or POST /api/login then opens a session for it
 *      without a password. The header from any other peer is ignored and
 *      logged: only the proxy on this machine may set it.
 *   6. Every answer carries the security headers (server.c) and API
 *      answers Cache-Control: no-store.
 *   7. The lock (cs_console_lock) is held while a request is answered and
 *      while the users file is replaced.
 *   8. A request whose Host is neither a loopback name nor public_host is
 *      refused (421 "host"), whatever its path: a web page that rebinds its
 *      own name to this machine cannot read the console.
 */
#ifndef CS_CONSOLE_H_INCLUDED
#define CS_CONSOLE_H_INCLUDED

#include "api.h"
#include "reply.h"
#include "settings.h"
#include "users.h"

typedef struct cs_console cs_console_t;

/* Loads the users file named in settings and creates the sessions, the
 * limiter and the hub client. settings must outlive the console. Returns
 * NULL with err. */
cs_console_t *cs_console_new(const cs_settings_t *settings, char err[HUB_ERR_LEN]);

void cs_console_destroy(cs_console_t **self_p);

/* Answers one request (rules above). Takes the lock. Blocks up to the hub
 * timeout per hub call. */
void cs_console_handle(cs_console_t *self, const cs_request_t *req, cs_reply_t *reply);

/* Reads the users file again and, when it loads, puts it in force; the
 * sessions of users no longer in it end. Returns 0, or -HUB_ECONFIG with
 * err (the users in force stay). Takes the lock. */
int cs_console_reload_users(cs_console_t *self, char err[HUB_ERR_LEN]);

/* Users in force. */
size_t cs_console_user_count(cs_console_t *self);

#endif
