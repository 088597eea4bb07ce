/*
 * console - routes, logins, sessions, CSRF (rules in console.h).
 */
#include "console.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "clock.h"
#include "limiter.h"
#include "log.h"
#include "metrics.h"
#include "sessions.h"

#define S_COOKIE "sb_session"

struct cs_console {
    const cs_settings_t *settings; /* not owned */
    pthread_mutex_t lock;          /* rule 7 */
    cs_users_t *users;             /* in force (owned) */
    cs_sessions_t *sessions;       /* owned */
    cs_limiter_t *limiter;         /* owned */
    cs_api_t *api;                 /* the hub side (owned) */
    cs_password_t dummy;           /* checked for unknown names (rule 4) */
    cs_console_stats_t stats;      /* for /metrics */
};

/* Who is asking, as far as the request tells. */
typedef struct {
    const cs_user_t *user;       /* logged in (a live session of a known user), or NULL */
    const cs_session_t *session; /* that session, or NULL */
    const char *proxy_user;      /* the trusted proxy header's user (rule 5), or NULL */
} s_who_t;

typedef void (*s_endpoint_fn)(cs_api_t *api, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);

static const struct {
    const char *path;
    const char *method;
    s_endpoint_fn fn;
} s_routes[] = {
    {"/api/inbox", "GET", cs_api_inbox},
    {"/api/answer", "POST", cs_api_answer},
    {"/api/case", "GET", cs_api_case},
    {"/api/ops", "GET", cs_api_ops},
    {"/api/deadletters/redrive", "POST", cs_api_redrive},
    {"/api/deadletters/discard", "POST", cs_api_discard},
    {"/api/policy/dry-run", "POST", cs_api_dry_run},
};

/* ------------------------------------------------------------ lifetime */

/* The dummy hash costs what the users' hashes cost (rule 4). */
static void s_make_dummy(cs_console_t *self)
{
    memset(&self->dummy, 0, sizeof self->dummy);
    uint32_t iterations = cs_users_max_iterations(self->users);
    self->dummy.iterations = iterations ? iterations : CS_PASSWORD_DEFAULT_ITERATIONS;
}

cs_console_t *cs_console_new(const cs_settings_t *settings, char err[HUB_ERR_LEN])
{
    if (!settings->users_file[0]) {
        snprintf(err, HUB_ERR_LEN, "users_file: not set: the console needs a users file (see console-users.yaml)");
        return NULL;
    }
    cs_console_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    self->settings = settings;
    pthread_mutex_init(&self->lock, NULL);
    self->users = cs_users_load(settings->users_file, settings->proxy_header[0] == '\0', err);
    if (!self->users)
        goto fail;
    s_make_dummy(self);
    self->sessions = cs_sessions_new(settings->session_ttl_ms);
    self->limiter = cs_limiter_new();
    if (!self->sessions || !self->limiter) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        goto fail;
    }
    char why[HUB_ERR_LEN] = "";
    self->api = cs_api_new(settings, why);
    if (!self->api) {
        snprintf(err, HUB_ERR_LEN, "hub client: %s", why);
        goto fail;
    }
    return self;
fail:
    cs_console_destroy(&self);
    return NULL;
}

void cs_console_destroy(cs_console_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cs_console_t *self = *self_p;
    cs_api_destroy(&self->api);
    cs_limiter_destroy(&self->limiter);
    cs_sessions_destroy(&self->sessions);
    cs_users_destroy(&self->users);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int cs_console_reload_users(cs_console_t *self, char err[HUB_ERR_LEN])
{
    cs_users_t *users = cs_users_load(self->settings->users_file, self->settings->proxy_header[0] == '\0', err);
    if (!users)
        return -HUB_ECONFIG;
    pthread_mutex_lock(&self->lock);
    cs_users_t *old = self->users;
    self->users = users; /* rule 1: sessions of users not in it end at their next request */
    s_make_dummy(self);
    pthread_mutex_unlock(&self->lock);
    cs_users_destroy(&old);
    return 0;
}

size_t cs_console_user_count(cs_console_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = cs_users_count(self->users);
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* ------------------------------------------------------------- helpers */

static int s_changes(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

/* Rule 2: an Origin header, when present, names the Host. */
static int s_origin_ok(const cs_request_t *req)
{
    const char *origin = req->header(req->arg, "Origin");
    if (!origin)
        return 1;
    const char *host = req->header(req->arg, "Host");
    if (!host || !*host)
        return 0;
    const char *rest = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;
    return rest && strcasecmp(rest, host) == 0;
}

/* Rule 8: the Host header names this console: a loopback name
 * (localhost, 127.x.x.x, [::1]) or public_host, with any port. A page
 * elsewhere that rebinds its own name to 127.0.0.1 sends its own name. */
static int s_host_ok(const cs_console_t *self, const cs_request_t *req)
{
    const char *host = req->header(req->arg, "Host");
    if (!host)
        return 1; /* HTTP/1.0: nothing to compare; libmicrohttpd refuses HTTP/1.1 without it */
    char name[CS_STR_LEN];
    size_t len;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        len = end ? (size_t)(end - host) + 1 : 0;
    }
    else {
        len = strcspn(host, ":");
    }
    if (len == 0 || len >= sizeof name)
        return 0;
    memcpy(name, host, len);
    name[len] = '\0';
    if (strcasecmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0)
        return 1;
    if (strncmp(name, "127.", 4) == 0 && strspn(name, "0123456789.") == len)
        return 1;
    return self->settings->public_host[0] && strcasecmp(name, self->settings->public_host) == 0;
}

/* Set-Cookie for a session id (NULL: clear the cookie). */
static void s_cookie(const cs_console_t *self, const char *id, cs_reply_t *reply)
{
    long long max_age = id ? (long long)(self->settings->session_ttl_ms / 1000) : 0;
    snprintf(reply->set_cookie, sizeof reply->set_cookie,
             S_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", id ? id : "", max_age,
             self->settings->secure_cookies ? "; Secure" : "");
}

/* Who is asking (rules 1 and 5). */
static void s_who(cs_console_t *self, const cs_request_t *req, s_who_t *who)
{
    memset(who, 0, sizeof *who);
    if (self->settings->proxy_header[0]) {
        const char *named = req->header(req->arg, self->settings->proxy_header);
        if (named && !req->peer_loopback)
            hub_warn("%s from a peer that is not loopback: ignored (only the local proxy may set it)",
                     self->settings->proxy_header);
        else if (named)
            who->proxy_user = named;
    }
    const char *id = req->cookie(req->arg, S_COOKIE);
    const cs_session_t *session = id ? cs_sessions_find(self->sessions, id, hub_now_ms()) : NULL;
    if (!session)
        return;
    const cs_user_t *user = cs_users_find(self->users, session->user);
    if (!user) {
        hub_info("session of %s ended: no longer in the users file", session->user);
        cs_sessions_remove(self->sessions, id);
        return;
    }
    if (who->proxy_user && strcmp(who->proxy_user, user->name) != 0)
        return; /* the proxy now says someone else: this session is not theirs */
    who->user = user;
    who->session = session;
}

/* The session's answer: {"user","departments","operator","csrf"}. */
static void s_reply_session(const cs_user_t *user, const cs_session_t *session, cs_reply_t *reply)
{
    json_t *departments = json_array();
    for (size_t i = 0; departments && i < user->ndepartments; i++)
        json_array_append_new(departments, json_string(user->departments[i]));
    char expires[HUB_TIME_LEN];
    hub_time_format(session->expires_ms, expires);
    cs_reply_json(reply, 200,
                  json_pack("{s:s, s:o, s:b, s:s, s:s}", "user", user->name, "departments", departments, "operator",
                            user->operator, "csrf", session->csrf, "expires_at", expires));
}

/* A new session for user, answered with its cookie. */
static void s_open_session(cs_console_t *self, const cs_request_t *req, const cs_user_t *user, int via_proxy,
                           cs_reply_t *reply)
{
    const char *old = req->cookie(req->arg, S_COOKIE);
    if (old)
        cs_sessions_remove(self->sessions, old);
    char id[CS_TOKEN_HEX];
    const cs_session_t *session = cs_sessions_create(self->sessions, user->name, via_proxy, hub_now_ms(), id);
    if (!session) {
        cs_reply_error(reply, 500, "internal", "no random bytes from the kernel for a session id");
        return;
    }
    s_reply_session(user, session, reply);
    s_cookie(self, id, reply);
    memset(id, 0, sizeof id);
}

/* The proxy's user (rule 5), or NULL with reply set to 401. */
static const cs_user_t *s_proxy_user(cs_console_t *self, const s_who_t *who, cs_reply_t *reply)
{
    const cs_user_t *user = cs_users_find(self->users, who->proxy_user);
    if (!user) {
        char shown[CS_NAME_LEN];
        snprintf(shown, sizeof shown, "%s", who->proxy_user);
        cs_text_clean(shown);
        hub_warn("the proxy names \"%s\", who is not in the users file", shown);
        cs_reply_error(reply, 401, "unknown_user", "%s is not a user of this console", shown);
    }
    return user;
}

/* ----------------------------------------------------------- endpoints */

static void s_login(cs_console_t *self, const cs_request_t *req, const s_who_t *who, cs_reply_t *reply)
{
    if (!s_origin_ok(req)) {
        cs_reply_error(reply, 403, "origin", "the Origin header does not match the Host");
        return;
    }
    if (who->proxy_user) {
        const cs_user_t *user = s_proxy_user(self, who, reply);
        if (user)
            s_open_session(self, req, user, 1, reply);
        return;
    }
    json_t *body = cs_api_body(req, reply);
    if (!body)
        return;
    const char *name = json_string_value(json_object_get(body, "user"));
    const json_t *pw = json_object_get(body, "password");
    int64_t mono = hub_mono_ms();
    if (!name || !*name)
        cs_reply_error(reply, 400, "bad_request", "user: missing (a string)");
    else if (!json_is_string(pw))
        cs_reply_error(reply, 400, "bad_request", "password: missing (a string)");
    else if (json_string_length(pw) > CS_PASSWORD_MAX)
        cs_reply_error(reply, 400, "bad_request", "password: longer than %d bytes", CS_PASSWORD_MAX);
    else {
        int wait_s = cs_limiter_wait_s(self->limiter, name, mono);
        if (wait_s > 0) {
            self->stats.logins_limited++;
            cs_reply_error(reply, 429, "rate_limited", "too many failed logins: try again in %d s", wait_s);
            reply->retry_after_s = wait_s;
            hub_warn("login refused: too many failures for this name or in all (%d s left)", wait_s);
            goto done;
        }
        const cs_user_t *user = cs_name_valid(name) ? cs_users_find(self->users, name) : NULL;
        const cs_password_t *hash = user && user->has_password ? &user->password : &self->dummy;
        int ok = cs_password_check(hash, json_string_value(pw), json_string_length(pw)) && user && user->has_password;
        if (!ok) {
            cs_limiter_failed(self->limiter, name, mono);
            self->stats.logins_failed++;
            char shown[CS_NAME_LEN];
            snprintf(shown, sizeof shown, "%s", name);
            cs_text_clean(shown);
            hub_warn("login failed for \"%s\"", shown);
            cs_reply_error(reply, 401, "credentials", "wrong user name or password");
            goto done;
        }
        cs_limiter_succeeded(self->limiter, name);
        self->stats.logins_ok++;
        hub_info("%s logged in", user->name);
        s_open_session(self, req, user, 0, reply);
    }
done:
    json_decref(body);
}

static void s_logout(cs_console_t *self, const cs_request_t *req, const s_who_t *who, cs_reply_t *reply)
{
    if (who->session) {
        if (!s_origin_ok(req)) {
            cs_reply_error(reply, 403, "origin", "the Origin header does not match the Host");
            return;
        }
        if (!cs_session_csrf_ok(who->session, req->header(req->arg, "X-CSRF-Token"))) {
            cs_reply_error(reply, 403, "csrf", "X-CSRF-Token: missing or not this session's token");
            return;
        }
        hub_info("%s logged out", who->user->name);
        cs_sessions_remove(self->sessions, req->cookie(req->arg, S_COOKIE));
    }
    reply->status = 204;
    reply->api = 1;
    s_cookie(self, NULL, reply);
}

static void s_session(cs_console_t *self, const cs_request_t *req, const s_who_t *who, cs_reply_t *reply)
{
    if (who->session) {
        s_reply_session(who->user, who->session, reply);
        return;
    }
    if (who->proxy_user) {
        const cs_user_t *user = s_proxy_user(self, who, reply);
        if (user)
            s_open_session(self, req, user, 1, reply);
        return;
    }
    cs_reply_error(reply, 401, "unauthenticated", "not logged in");
}

static void s_metrics(cs_console_t *self, const s_who_t *who, cs_reply_t *reply)
{
    if (self->settings->metrics == CS_METRICS_OPERATOR) {
        if (!who->user) {
            cs_reply_error(reply, 401, "unauthenticated", "not logged in: /metrics is for operators");
            return;
        }
        if (!who->user->operator) {
            cs_reply_error(reply, 403, "forbidden", "%s is not an operator: /metrics is for operators",
                           who->user->name);
            return;
        }
    }
    char err[HUB_ERR_LEN] = "";
    json_t *status = cs_api_status(self->api, err);
    if (!status)
        hub_warn("metrics: the hub's status: %s", err);
    self->stats.sessions = cs_sessions_count(self->sessions);
    char *text = cs_metrics_render(status, &self->stats);
    json_decref(status);
    if (!text) {
        cs_reply_json(reply, 500, NULL);
        return;
    }
    reply->status = 200;
    reply->body = text;
    reply->len = strlen(text);
    reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
    reply->api = 1;
}

static void s_healthz(cs_console_t *self, cs_reply_t *reply)
{
    int rc = cs_api_ping(self->api);
    if (rc == 0)
        cs_reply_json(reply, 200, json_pack("{s:s, s:s}", "status", "ok", "hub", "reachable"));
    else
        cs_reply_json(reply, 503, json_pack("{s:s, s:s, s:s}", "status", "degraded", "hub", "unreachable", "message",
                                            hub_strerror(rc)));
}

/* A route of s_routes for a logged-in user: rules 1 and 2. */
static void s_api(cs_console_t *self, const cs_request_t *req, const s_who_t *who, size_t route, cs_reply_t *reply)
{
    if (s_changes(req->method) && !s_origin_ok(req)) {
        cs_reply_error(reply, 403, "origin", "the Origin header does not match the Host");
        return;
    }
    if (!who->user) {
        cs_reply_error(reply, 401, "unauthenticated", "not logged in");
        return;
    }
    if (s_changes(req->method) && !cs_session_csrf_ok(who->session, req->header(req->arg, "X-CSRF-Token"))) {
        cs_reply_error(reply, 403, "csrf", "X-CSRF-Token: missing or not this session's token");
        return;
    }
    s_routes[route].fn(self->api, who->user, req, reply);
}

/* 405 for a known path asked with another method. */
static void s_not_allowed(const char *allow, cs_reply_t *reply)
{
    cs_reply_error(reply, 405, "method_not_allowed", "use %s", allow);
    snprintf(reply->allow, sizeof reply->allow, "%s", allow);
}

static int s_is(const cs_request_t *req, const char *method)
{
    return strcmp(req->method, method) == 0 || (strcmp(method, "GET") == 0 && strcmp(req->method, "HEAD") == 0);
}

void cs_console_handle(cs_console_t *self, const cs_request_t *req, cs_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
    pthread_mutex_lock(&self->lock);
    s_who_t who;
    s_who(self, req, &who);
    const char *path = req->path;
    if (!s_host_ok(self, req)) {
        char shown[64];
        snprintf(shown, sizeof shown, "%s", req->header(req->arg, "Host"));
        cs_text_clean(shown);
        hub_warn("a request for host \"%s\" refused (not a loopback name, not public_host)", shown);
        cs_reply_error(reply, 421, "host",
                       "this console does not answer for host \"%s\"; an operator may set public_host", shown);
    }
    else if (strcmp(path, "/api/login") == 0) {
        if (s_is(req, "POST"))
            s_login(self, req, &who, reply);
        else
            s_not_allowed("POST", reply);
    }
    else if (strcmp(path, "/api/logout") == 0) {
        if (s_is(req, "POST"))
            s_logout(self, req, &who, reply);
        else
            s_not_allowed("POST", reply);
    }
    else if (strcmp(path, "/api/session") == 0) {
        if (s_is(req, "GET"))
            s_session(self, req, &who, reply);
        else
            s_not_allowed("GET", reply);
    }
    else if (strncmp(path, "/api/", 5) == 0) {
        size_t route = sizeof s_routes / sizeof s_routes[0];
        for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
            if (strcmp(s_routes[i].path, path) == 0)
                route = i;
        if (route == sizeof s_routes / sizeof s_routes[0])
            cs_reply_error(reply, 404, "not_found", "no such API path");
        else if (!s_is(req, s_routes[route].method))
            s_not_allowed(s_routes[route].method, reply);
        else
            s_api(self, req, &who, route, reply);
    }
    else if (strcmp(path, "/metrics") == 0) {
        if (s_is(req, "GET"))
            s_metrics(self, &who, reply);
        else
            s_not_allowed("GET", reply);
    }
    else if (strcmp(path, "/healthz") == 0) {
        if (s_is(req, "GET"))
            s_healthz(self, reply);
        else
            s_not_allowed("GET", reply);
    }
    else {
        const cs_asset_t *asset = cs_asset_find(path);
        if (!asset)
            cs_reply_error(reply, 404, "not_found", "no such path");
        else if (!s_is(req, "GET"))
            s_not_allowed("GET", reply);
        else {
            reply->status = 200;
            reply->static_body = asset->data;
            reply->len = asset->len;
            reply->content_type = asset->content_type;
        }
    }
    pthread_mutex_unlock(&self->lock);
}
