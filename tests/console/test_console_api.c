/*
 * console api - the real hub-console over real HTTP on 127.0.0.1, in front
 * of the real hubd (tests/harness) with security: curve, as a browser's
 * script or curl sees it: logins, sessions and their cookie, CSRF and
 * Origin checks, limits, each department's inbox, answers recorded in the
 * audit log as USER@console, the case board, dead letters re-driven and
 * discarded by an operator, the policy dry run, /metrics.
 *
 * Identities (CURVE key pairs made with hubctl keygen):
 *   console   the console's own: publish responses, audit and admin rights
 *   operator  the harness's clients and this test's publisher and
 *             subscriber (publish and subscribe anything, admin, audit)
 *
 * Console users (hashes made with hub-console passwd):
 *   alice  sales        bob  finance        sid  shipping        ops  operator
 *
 * The program is started with --listen 127.0.0.1:0 and says its port on
 * standard output; nothing waits by sleeping: readiness is that line, a
 * condition (a dead letter showing, a reload taking effect) is polled
 * until a deadline.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "check.h"
#include "harness.h"
#include "httpclient.h"
#include "httpproc.h"

extern char **environ;

#define S_WAIT_MS 10000  /* for what must happen */
#define S_ITERATIONS "100000" /* PBKDF2 iterations of the test users: the minimum, for speed */

static const char s_access[] = "access:\n"
                               "  console: { publish: [response], audit: true, admin: true }\n"
                               "  operator: { publish: [bug_report, complaint, return_request, billing_question,\n"
                               "                       feature_request, response],\n"
                               "              subscribe: [\"*\"], admin: true, audit: true }\n";

/* What every case shares: keys, the hub.yaml, the users file. */
static struct {
    char dir[HARNESS_PATH];         /* temporary directory */
    char server_key[HARNESS_PATH + 32]; /* DIR/hubd.key */
    char hub_config[4 * HARNESS_PATH];  /* hub.yaml text with security: curve */
    char users[8192];               /* users file text */
} s_env;

/* ------------------------------------------------------ the program */

typedef struct {
    httpproc_t proc;           /* hub-console: pid, port, log */
    char config[HARNESS_PATH]; /* its console.yaml */
    char users[HARNESS_PATH];  /* its users file */
} s_con_t;

static const char *s_program(void)
{
    const char *path = getenv("HUB_CONSOLE");
    return path && *path ? path : NULL;
}

/* Runs the program with args (NULL-terminated, without argv[0]) to the
 * end, feeding input; run gets its output. Returns its exit status. */
static int s_run(const char *const *args, const char *input, harness_run_t *run)
{
    memset(run, 0, sizeof *run);
    run->status = -1;
    char out_path[] = "/tmp/console-run-out-XXXXXX", err_path[] = "/tmp/console-run-err-XXXXXX",
         in_path[] = "/tmp/console-run-in-XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path), in = mkstemp(in_path);
    if (out < 0 || err < 0 || in < 0)
        return -1;
    if (input && write(in, input, strlen(input)) != (ssize_t)strlen(input))
        return -1;
    lseek(in, 0, SEEK_SET);
    const char *argv[16] = {s_program()};
    for (size_t i = 0; args[i] && i + 2 < 16; i++)
        argv[i + 1] = args[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in);
    close(out);
    close(err);
    if (rc == 0) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    run->out = harness_read_file(out_path);
    run->err = harness_read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    unlink(in_path);
    return run->status;
}

/* Writes console.yaml (extra settings appended to the defaults of the
 * test) and the users file in the harness directory and starts the
 * console on them, against h, on a free port. Returns 0 or -1. */
static int s_con_start(harness_t *h, const char *extra, s_con_t *con)
{
    memset(con, 0, sizeof *con);
    const char *users = harness_write_file(h, "console-users.yaml", s_env.users);
    if (!users)
        return -1;
    snprintf(con->users, sizeof con->users, "%s", users);
    char text[4096];
    snprintf(text, sizeof text,
             "listen: 127.0.0.1:0\n"
             "hub: { endpoint: \"%s\", key: \"%s/console\", server_key: \"%s\" }\n"
             "users_file: console-users.yaml\n"
             "hub_timeout: 10s\n"
             "%s",
             harness_endpoint(h), s_env.dir, s_env.server_key, extra ? extra : "");
    const char *config = harness_write_file(h, "console.yaml", text);
    if (!config)
        return -1;
    snprintf(con->config, sizeof con->config, "%s", config);
    char log[HARNESS_PATH];
    snprintf(log, sizeof log, "%s/console.log", harness_dir(h));
    const char *argv[] = {s_program(), "--config", con->config, "--log-level", "debug", NULL};
    return httpproc_start(&con->proc, "hub-console", argv, log);
}

/* A curve hub with the shared hub.yaml, started; the harness's own clients
 * (and this test's) act as operator. */
static harness_t *s_hub(int failures_now)
{
    harness_opts_t o = {.config_text = s_env.hub_config};
    harness_t *h = harness_new(&o, failures_now);
    if (h && harness_start(h) != 0) {
        fprintf(stderr, "the curve hub did not start\n");
        check_failures++;
        HARNESS_END(h);
    }
    return h;
}

/* ------------------------------------------------------------- HTTP */

typedef struct {
    char cookie[160];       /* "sb_session=..." */
    char csrf[80];          /* the session's CSRF token */
} s_session_t;

/* One request. headers NULL-terminated (may be NULL); session (may be
 * NULL) adds its cookie, and its CSRF token to a POST unless no_csrf.
 * Returns the status (0 on failure). */
static long s_http_ex(int port, const char *method, const char *path, const s_session_t *session, int no_csrf,
                      const char *const *headers, const char *body, size_t len, httpclient_res_t *res)
{
    const char *all[16];
    size_t n = 0;
    for (size_t i = 0; headers && headers[i] && n < 13; i++)
        all[n++] = headers[i];
    char cookie[256], csrf[256];
    if (session && session->cookie[0]) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", session->cookie);
        all[n++] = cookie;
    }
    if (session && !no_csrf && strcmp(method, "GET") != 0) {
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", session->csrf);
        all[n++] = csrf;
    }
    all[n] = NULL;
    return httpclient_request(port, method, path, all, body, len, res);
}

static long s_get(int port, const char *path, const s_session_t *session, httpclient_res_t *res)
{
    return s_http_ex(port, "GET", path, session, 0, NULL, NULL, 0, res);
}

/* POST of a JSON body with the session's cookie and token. */
static long s_post(int port, const char *path, const s_session_t *session, const char *json, httpclient_res_t *res)
{
    const char *headers[] = {"Content-Type: application/json", NULL};
    return s_http_ex(port, "POST", path, session, 0, headers, json, json ? strlen(json) : 0, res);
}

static const char *s_str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

static json_int_t s_int(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* Logs in; fills session from the cookie and the answer. Returns the
 * status. */
static long s_login(int port, const char *user, const char *password, s_session_t *session)
{
    memset(session, 0, sizeof *session);
    char body[256];
    snprintf(body, sizeof body, "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
    httpclient_res_t res;
    long status = s_post(port, "/api/login", NULL, body, &res);
    if (status == 200) {
        const char *cookie = httpclient_header(&res, "Set-Cookie");
        snprintf(session->cookie, sizeof session->cookie, "%.*s", (int)strcspn(cookie, ";"), cookie);
        snprintf(session->csrf, sizeof session->csrf, "%s", s_str(res.json, "csrf"));
    }
    httpclient_res_free(&res);
    return status;
}

/* ----------------------------------------------------------- events */

static const char s_bug[] =
    "{\"id\":\"con-1\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-1042\","
    "\"customer\":{\"id\":\"ACME-7\",\"name\":\"Acme Corp\",\"tier\":\"enterprise\",\"billing_status\":\"overdue\"},"
    "\"severity\":\"high\",\"subject\":\"Export crashes on large files\",\"body\":\"stack trace ...\"}";

static const char s_rma[] =
    "{\"id\":\"con-2\",\"type\":\"return_request\",\"source\":\"support\",\"case_id\":\"CASE-1043\","
    "\"customer\":{\"id\":\"GLOBEX-1\",\"name\":\"Globex\",\"tier\":\"free\",\"billing_status\":\"current\"},"
    "\"severity\":\"medium\",\"subject\":\"Scanner arrived broken\",\"tags\":[\"rma\"]}";

static const char s_complaint[] =
    "{\"id\":\"con-3\",\"type\":\"complaint\",\"source\":\"support\",\"case_id\":\"CASE-1044\","
    "\"customer\":{\"id\":\"INITECH-3\",\"name\":\"Initech\",\"tier\":\"business\",\"billing_status\":\"disputed\"},"
    "\"severity\":\"low\",\"subject\":\"Invoice sent twice\"}";

/* Publishes the three sample events through the harness. */
static int s_publish_samples(harness_t *h)
{
    hub_client_t *c = harness_client(h, "support");
    int rc = c && harness_publish(c, s_bug, NULL) == 0 && harness_publish(c, s_rma, NULL) == 0
                     && harness_publish(c, s_complaint, NULL) == 0
                 ? 0
                 : -1;
    hub_client_destroy(&c);
    return rc;
}

/* The item of an inbox answer whose notification has case_id, or NULL. */
static const json_t *s_item(const json_t *answer, const char *case_id)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(answer, "items"), i, item) {
        const json_t *event = json_object_get(json_object_get(item, "notification"), "event");
        if (strcmp(s_str(event, "case_id"), case_id) == 0)
            return item;
    }
    return NULL;
}

/* The audit row of history with action and actor, or NULL. */
static const json_t *s_history_row(const json_t *board, const char *action, const char *actor)
{
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(board, "history"), i, row) {
        if (strcmp(s_str(row, "action"), action) == 0 && (!actor || strcmp(s_str(row, "actor"), actor) == 0))
            return row;
    }
    return NULL;
}

static const json_t *s_column(const json_t *board, const char *department)
{
    size_t i;
    const json_t *col;
    json_array_foreach(json_object_get(board, "departments"), i, col) {
        if (strcmp(s_str(col, "department"), department) == 0)
            return col;
    }
    return NULL;
}

/* ---------------------------------------------------------------- cases */

/* A good login opens a session: its cookie has the attributes that keep it
 * from scripts and other sites, /api/session answers the same token, and
 * logout ends it. Wrong names and passwords get the same 401. The web app
 * is served with the security headers; API answers are not cached. */
static void test_login_and_session(void)
{
    int before = check_failures;
    s_con_t con = {0};
    s_session_t alice = {0};
    httpclient_res_t res = {0};
    harness_t *h = s_hub(check_failures);
    REQUIRE(h && s_con_start(h, NULL, &con) == 0);

    CHECK_INT(s_post(con.proc.port, "/api/login", NULL, "{\"user\":\"alice\",\"password\":\"wrong\"}", &res), 401);
    CHECK_STR(s_str(res.json, "error"), "credentials");
    char wrong_password[256];
    snprintf(wrong_password, sizeof wrong_password, "%s", s_str(res.json, "message"));
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/login", NULL, "{\"user\":\"nobody\",\"password\":\"alice-pw\"}", &res), 401);
    CHECK_STR(s_str(res.json, "message"), wrong_password); /* the same words: nothing tells who exists */
    CHECK_STR(httpclient_header(&res, "Set-Cookie"), "");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/login", NULL, "{\"user\":\"alice\"}", &res), 400);
    CHECK_HAS(s_str(res.json, "message"), "password");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/login", NULL, "{\"user\":\"alice\",", &res), 400);
    CHECK_HAS(s_str(res.json, "message"), "body: not JSON");
    httpclient_res_free(&res);

    const char *headers[] = {"Content-Type: application/json", NULL};
    const char body[] = "{\"user\":\"alice\",\"password\":\"alice-pw\"}";
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/login", NULL, 0, headers, body, strlen(body), &res), 200);
    CHECK_STR(s_str(res.json, "user"), "alice");
    CHECK(json_is_false(json_object_get(res.json, "operator")));
    CHECK_INT(json_array_size(json_object_get(res.json, "departments")), 1);
    CHECK_STR(json_string_value(json_array_get(json_object_get(res.json, "departments"), 0)), "sales");
    CHECK_INT(strlen(s_str(res.json, "csrf")), 64);
    const char *cookie = httpclient_header(&res, "Set-Cookie");
    CHECK(strncmp(cookie, "sb_session=", 11) == 0);
    CHECK_INT(strcspn(cookie + 11, ";"), 64);
    CHECK_HAS(cookie, "; HttpOnly");
    CHECK_HAS(cookie, "; SameSite=Strict");
    CHECK_HAS(cookie, "; Path=/");
    CHECK_HAS(cookie, "; Max-Age=28800");
    CHECK(strstr(cookie, "Secure") == NULL); /* secure_cookies: false */
    snprintf(alice.cookie, sizeof alice.cookie, "%.*s", (int)strcspn(cookie, ";"), cookie);
    CHECK_STR(httpclient_header(&res, "Cache-Control"), "no-store"); /* cookie's buffer is reused from here */
    snprintf(alice.csrf, sizeof alice.csrf, "%s", s_str(res.json, "csrf"));
    httpclient_res_free(&res);

    CHECK_INT(s_get(con.proc.port, "/api/session", &alice, &res), 200);
    CHECK_STR(s_str(res.json, "user"), "alice");
    CHECK_STR(s_str(res.json, "csrf"), alice.csrf);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/session", NULL, &res), 401);
    CHECK_STR(s_str(res.json, "error"), "unauthenticated");
    httpclient_res_free(&res);
    s_session_t forged = alice;
    forged.cookie[11] = forged.cookie[11] == 'a' ? 'b' : 'a';
    CHECK_INT(s_get(con.proc.port, "/api/session", &forged, &res), 401);
    httpclient_res_free(&res);

    /* the web app, with the security headers */
    CHECK_INT(s_get(con.proc.port, "/", NULL, &res), 200);
    CHECK_HAS(httpclient_header(&res, "Content-Type"), "text/html");
    CHECK_HAS(res.body, "<html");
    CHECK_HAS(httpclient_header(&res, "Content-Security-Policy"), "default-src 'self'");
    CHECK_STR(httpclient_header(&res, "X-Content-Type-Options"), "nosniff");
    CHECK_STR(httpclient_header(&res, "X-Frame-Options"), "DENY");
    CHECK_STR(httpclient_header(&res, "Referrer-Policy"), "no-referrer");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/app.js", NULL, &res), 200);
    CHECK_HAS(httpclient_header(&res, "Content-Type"), "text/javascript");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/style.css", NULL, &res), 200);
    CHECK_HAS(httpclient_header(&res, "Content-Type"), "text/css");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/nothing-here", NULL, &res), 404);
    CHECK_STR(httpclient_header(&res, "X-Frame-Options"), "DENY");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/login", NULL, &res), 405);
    CHECK_STR(httpclient_header(&res, "Allow"), "POST");
    httpclient_res_free(&res);

    /* logout: needs the token, ends the session, clears the cookie */
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/logout", &alice, 1, NULL, NULL, 0, &res), 403);
    CHECK_STR(s_str(res.json, "error"), "csrf");
    httpclient_res_free(&res);
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/logout", &alice, 0, NULL, NULL, 0, &res), 204);
    CHECK_HAS(httpclient_header(&res, "Set-Cookie"), "Max-Age=0");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/session", &alice, &res), 401);
    httpclient_res_free(&res);
done:
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* Five wrong passwords for one name within a minute: the next attempt,
 * even with the right password, is refused with 429 and Retry-After,
 * without a check; another name is not held back. */
static void test_login_limit(void)
{
    int before = check_failures;
    s_con_t con = {0};
    s_session_t s = {0};
    httpclient_res_t res = {0};
    harness_t *h = s_hub(check_failures);
    REQUIRE(h && s_con_start(h, NULL, &con) == 0);
    for (int i = 0; i < 5; i++)
        CHECK_INT(s_login(con.proc.port, "bob", "guess", &s), 401);
    CHECK_INT(s_post(con.proc.port, "/api/login", NULL, "{\"user\":\"bob\",\"password\":\"bob-pw\"}", &res), 429);
    CHECK_STR(s_str(res.json, "error"), "rate_limited");
    int retry = atoi(httpclient_header(&res, "Retry-After"));
    CHECK(retry >= 1 && retry <= 60);
    httpclient_res_free(&res);
    CHECK_INT(s_login(con.proc.port, "alice", "alice-pw", &s), 200);
    /* /metrics counts them */
    CHECK_INT(s_get(con.proc.port, "/metrics", NULL, &res), 200);
    CHECK_HAS(res.body, "switchboard_console_logins_total{result=\"failed\"} 5\n");
    CHECK_HAS(res.body, "switchboard_console_logins_total{result=\"limited\"} 1\n");
    httpclient_res_free(&res);
done:
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* Changing requests need the session's token and a matching Origin; bodies
 * are JSON of at most 64 KiB. */
static void test_csrf_origin_and_limits(void)
{
    int before = check_failures;
    s_con_t con = {0};
    s_session_t alice = {0};
    httpclient_res_t res = {0};
    char *big = NULL;
    harness_t *h = s_hub(check_failures);
    REQUIRE(h && s_con_start(h, NULL, &con) == 0);
    REQUIRE(s_login(con.proc.port, "alice", "alice-pw", &alice) == 200);
    const char answer[] = "{\"department\":\"sales\",\"case_id\":\"CASE-1042\",\"status\":\"acknowledged\"}";

    const char *json_only[] = {"Content-Type: application/json", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/answer", &alice, 1, json_only, answer, strlen(answer), &res), 403);
    CHECK_STR(s_str(res.json, "error"), "csrf");
    httpclient_res_free(&res);
    const char *wrong_token[] = {
        "Content-Type: application/json",
        "X-CSRF-Token: 0000000000000000000000000000000000000000000000000000000000000000",
        NULL,
    };
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/answer", &alice, 1, wrong_token, answer, strlen(answer), &res), 403);
    CHECK_STR(s_str(res.json, "error"), "csrf");
    httpclient_res_free(&res);
    const char *evil[] = {"Content-Type: application/json", "Origin: http://evil.example", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/answer", &alice, 0, evil, answer, strlen(answer), &res), 403);
    CHECK_STR(s_str(res.json, "error"), "origin");
    httpclient_res_free(&res);
    const char login[] = "{\"user\":\"alice\",\"password\":\"alice-pw\"}";
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/login", NULL, 0, evil, login, strlen(login), &res), 403);
    CHECK_STR(s_str(res.json, "error"), "origin");
    httpclient_res_free(&res);
    /* a page that rebinds its own name to this machine sends that name as
     * the Host: refused on every path, logged in or not */
    const char *rebound[] = {"Host: evil.example", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/metrics", NULL, 0, rebound, NULL, 0, &res), 421);
    CHECK_STR(s_str(res.json, "error"), "host");
    httpclient_res_free(&res);
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/api/session", &alice, 0, rebound, NULL, 0, &res), 421);
    httpclient_res_free(&res);
    const char *by_name[] = {"Host: localhost", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/api/session", &alice, 0, by_name, NULL, 0, &res), 200);
    httpclient_res_free(&res);
    char own_origin[64];
    snprintf(own_origin, sizeof own_origin, "Origin: http://127.0.0.1:%d", con.proc.port);
    const char *same[] = {"Content-Type: application/json", own_origin, NULL};
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/login", NULL, 0, same, login, strlen(login), &res), 200);
    httpclient_res_free(&res);

    const char *text_plain[] = {"Content-Type: text/plain", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/answer", &alice, 0, text_plain, answer, strlen(answer), &res), 415);
    httpclient_res_free(&res);
    size_t n = 70 * 1024;
    big = malloc(n + 1);
    REQUIRE(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice, big, &res), 413);
    CHECK_STR(s_str(res.json, "error"), "too_large");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice, "[1,2]", &res), 400);
    CHECK_HAS(s_str(res.json, "message"), "expected a JSON object");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice,
                     "{\"department\":\"sales\",\"case_id\":\"CASE-1042\",\"status\":\"done\"}", &res),
              400);
    CHECK_HAS(s_str(res.json, "message"), "status: \"done\" is not one of");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice, "{\"department\":\"sales\",\"status\":\"resolved\"}", &res),
              400);
    CHECK_HAS(s_str(res.json, "message"), "case_id: missing");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice,
                     "{\"department\":\"sales\",\"case_id\":\"C\\u0001\",\"status\":\"resolved\"}", &res),
              400);
    CHECK_HAS(s_str(res.json, "message"), "case_id");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=sales&after_seq=12x", &alice, &res), 400);
    CHECK_HAS(s_str(res.json, "message"), "after_seq");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/nothing", &alice, &res), 404);
    httpclient_res_free(&res);
done:
    free(big);
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* Each user reads the inboxes of their departments only; new
 * notifications come with after_seq; an answer is published on behalf of
 * the user, shows in the case's history as alice@console, moves the case
 * board, and leaves the open inbox. */
static void test_inbox_answer_and_case(void)
{
    int before = check_failures;
    s_con_t con = {0};
    s_session_t alice = {0}, sid = {0}, ops = {0};
    httpclient_res_t res = {0};
    hub_client_t *c = NULL;
    harness_t *h = s_hub(check_failures);
    REQUIRE(h && s_con_start(h, NULL, &con) == 0);
    REQUIRE(s_publish_samples(h) == 0);
    REQUIRE(s_login(con.proc.port, "alice", "alice-pw", &alice) == 200);
    REQUIRE(s_login(con.proc.port, "sid", "sid-pw", &sid) == 200);
    REQUIRE(s_login(con.proc.port, "ops", "ops-pw", &ops) == 200);

    /* sales: CASE-1042 (enterprise bug) and CASE-1044 (business complaint) */
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=sales", &alice, &res), 200);
    CHECK_STR(s_str(res.json, "department"), "sales");
    CHECK_INT(json_array_size(json_object_get(res.json, "items")), 2);
    const json_t *item = s_item(res.json, "CASE-1042");
    CHECK(item != NULL);
    CHECK_STR(s_str(json_object_get(item, "notification"), "topic"), "sales.followup");
    CHECK(s_item(res.json, "CASE-1043") == NULL);
    json_int_t last_seq = s_int(res.json, "last_seq");
    CHECK_INT(last_seq, 3);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=finance", &alice, &res), 403);
    CHECK_STR(s_str(res.json, "error"), "forbidden");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=shipping", &sid, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res.json, "items")), 1);
    CHECK(s_item(res.json, "CASE-1043") != NULL);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=finance", &ops, &res), 200); /* operators: any */
    CHECK_INT(json_array_size(json_object_get(res.json, "items")), 2);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/inbox", &alice, &res), 400);
    httpclient_res_free(&res);

    /* polling: only what came after the cursor */
    char path[128];
    snprintf(path, sizeof path, "/api/inbox?department=sales&after_seq=%lld", (long long)last_seq);
    CHECK_INT(s_get(con.proc.port, path, &alice, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res.json, "items")), 0);
    httpclient_res_free(&res);
    c = harness_client(h, "support");
    REQUIRE(c);
    REQUIRE(harness_publish(c,
                            "{\"id\":\"con-4\",\"type\":\"complaint\",\"source\":\"support\",\"case_id\":\"CASE-1050\","
                            "\"customer\":{\"name\":\"Umbrella\",\"tier\":\"enterprise\"},\"subject\":\"late\"}",
                            NULL) == 0);
    CHECK_INT(s_get(con.proc.port, path, &alice, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res.json, "items")), 1);
    CHECK(s_item(res.json, "CASE-1050") != NULL);
    httpclient_res_free(&res);

    /* the answer */
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice,
                     "{\"department\":\"finance\",\"case_id\":\"CASE-1042\",\"status\":\"resolved\"}", &res),
              403);
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice,
                     "{\"department\":\"sales\",\"case_id\":\"CASE-1042\",\"status\":\"acknowledged\","
                     "\"note\":\"called the customer\"}",
                     &res),
              200);
    CHECK(s_int(res.json, "seq") > 4);
    CHECK(*s_str(res.json, "id"));
    httpclient_res_free(&res);

    CHECK_INT(s_get(con.proc.port, "/api/case?case_id=CASE-1042", &alice, &res), 200);
    CHECK_STR(s_str(res.json, "case_id"), "CASE-1042");
    CHECK_STR(s_str(res.json, "customer"), "Acme Corp");
    const json_t *row = s_history_row(res.json, "responded", "alice@console");
    CHECK(row != NULL);
    CHECK_STR(s_str(row, "department"), "sales");
    CHECK_STR(s_str(json_object_get(row, "detail"), "note"), "called the customer");
    CHECK(s_history_row(res.json, "received", "alice@console") != NULL);
    const json_t *col = s_column(res.json, "sales");
    CHECK_STR(s_str(col, "state"), "acknowledged");
    CHECK_STR(s_str(col, "answered_by"), "alice@console");
    CHECK_STR(s_str(s_column(res.json, "engineering"), "topic"), "engineering.defect");
    CHECK(*s_str(s_column(res.json, "engineering"), "respond_by"));
    CHECK(s_column(res.json, "finance") != NULL);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/case?case_id=CASE-1042", &sid, &res), 404); /* not shipping's case */
    httpclient_res_free(&res);
    /* nor does an answer make it shipping's: a department answers only
     * on a case that reached it */
    CHECK_INT(s_post(con.proc.port, "/api/answer", &sid,
                     "{\"department\":\"shipping\",\"case_id\":\"CASE-1042\",\"status\":\"acknowledged\"}",
                     &res),
              404);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/case?case_id=CASE-1042", &sid, &res), 404);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/case?case_id=CASE-1042", &ops, &res), 200);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/case?case_id=CASE-9999", &alice, &res), 404);
    httpclient_res_free(&res);

    /* the inbox item now carries the answer; the open inbox leaves out
     * notifications answered resolved/rejected only */
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=sales", &alice, &res), 200);
    item = s_item(res.json, "CASE-1042");
    CHECK(item != NULL);
    CHECK_STR(s_str(item, "answer"), "acknowledged");
    CHECK_STR(s_str(item, "answered_by"), "alice@console");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/answer", &alice,
                     "{\"department\":\"sales\",\"case_id\":\"CASE-1044\",\"status\":\"resolved\"}", &res),
              200);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=sales", &alice, &res), 200);
    CHECK(s_item(res.json, "CASE-1044") == NULL);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/inbox?department=sales&all=1", &alice, &res), 200);
    CHECK(s_item(res.json, "CASE-1044") != NULL);
    httpclient_res_free(&res);

    /* a customer search: the cases of sales' notifications that match */
    CHECK_INT(s_get(con.proc.port, "/api/case?customer=acme", &alice, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res.json, "cases")), 1);
    CHECK_STR(s_str(json_array_get(json_object_get(res.json, "cases"), 0), "case_id"), "CASE-1042");
    CHECK_STR(s_str(json_array_get(json_object_get(res.json, "cases"), 0), "customer"), "Acme Corp");
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/case?customer=globex", &alice, &res), 200); /* shipping's case only */
    CHECK_INT(json_array_size(json_object_get(res.json, "cases")), 0);
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/case?customer=globex", &sid, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res.json, "cases")), 1);
    httpclient_res_free(&res);

    /* a long case: shipping's return first, then 1,050 complaints on the same
     * case for finance and sales; the board reads the case's last rows,
     * which no longer hold shipping's, and shipping still sees its case */
    if (!c)
        c = harness_client(h, "support");
    REQUIRE(c);
    REQUIRE(harness_publish(c,
                            "{\"id\":\"long-0\",\"type\":\"return_request\",\"case_id\":\"CASE-LONG\","
                            "\"tags\":[\"rma\"]}",
                            NULL) == 0);
    for (int i = 1; i <= 1050; i++) { /* a received row each: over the board's 1000 */
        char ev[256];
        snprintf(ev, sizeof ev,
                 "{\"id\":\"long-%d\",\"type\":\"complaint\",\"case_id\":\"CASE-LONG\","
                 "\"customer\":{\"tier\":\"enterprise\",\"billing_status\":\"overdue\"}}",
                 i);
        REQUIRE(harness_publish(c, ev, NULL) == 0);
    }
    CHECK_INT(s_get(con.proc.port, "/api/case?case_id=CASE-LONG", &sid, &res), 200);
    CHECK(json_is_true(json_object_get(res.json, "truncated")));
    httpclient_res_free(&res);
done:
    hub_client_destroy(&c);
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* Operators see the hub's subscribers, dead letters and policy; a dead
 * letter (nacked with dead_letter) is re-driven to its subscriber, another
 * one discarded with a reason, both recorded under ops@console; the dry
 * run shows what an event would produce. Others get 403. */
static void test_ops_and_dead_letters(void)
{
    int before = check_failures;
    s_con_t con = {0};
    s_session_t alice = {0}, ops = {0};
    httpclient_res_t res = {0};
    hub_client_t *sub = NULL;
    harness_t *h = s_hub(check_failures);
    REQUIRE(h && s_con_start(h, NULL, &con) == 0);
    REQUIRE(s_publish_samples(h) == 0);
    REQUIRE(s_login(con.proc.port, "alice", "alice-pw", &alice) == 200);
    REQUIRE(s_login(con.proc.port, "ops", "ops-pw", &ops) == 200);

    /* sales gets CASE-1042 and CASE-1044 and gives up on both */
    sub = harness_client(h, "sales");
    REQUIRE(sub);
    const char *topics[] = {"sales.*", NULL};
    REQUIRE(harness_subscribe(sub, "sales", topics, HUB_FROM_EARLIEST, 0, 10) == 0);
    for (int i = 0; i < 2; i++) {
        hub_notification_t *note = NULL;
        REQUIRE(hub_receive(sub, &note, S_WAIT_MS) == 1);
        int rc = hub_nack(sub, note, "the CRM refused it", 1);
        hub_notification_destroy(&note);
        REQUIRE(rc == 0);
    }
    CHECK_INT(s_get(con.proc.port, "/api/ops", &alice, &res), 403);
    httpclient_res_free(&res);
    json_int_t dead[2] = {0, 0};
    int64_t deadline = harness_now_ms() + S_WAIT_MS;
    for (;;) {
        CHECK_INT(s_get(con.proc.port, "/api/ops", &ops, &res), 200);
        if (json_array_size(json_object_get(res.json, "dead_letters")) == 2 || harness_now_ms() > deadline)
            break;
        httpclient_res_free(&res);
        harness_pause();
    }
    REQUIRE(json_array_size(json_object_get(res.json, "dead_letters")) == 2);
    for (size_t i = 0; i < 2; i++) {
        const json_t *d = json_array_get(json_object_get(res.json, "dead_letters"), i);
        dead[i] = s_int(json_object_get(d, "notification"), "seq");
        CHECK_STR(s_str(d, "subscriber"), "sales");
        CHECK_HAS(s_str(d, "dead_letter_reason"), "the CRM refused it");
    }
    const json_t *status = json_object_get(res.json, "status");
    CHECK(json_array_size(json_object_get(status, "subscribers")) >= 1);
    const json_t *policy = json_object_get(res.json, "policy");
    CHECK_INT(strlen(s_str(policy, "sha256")), 64);
    CHECK_HAS(s_str(policy, "source"), "routes:");
    CHECK(s_int(policy, "routes") > 0);
    httpclient_res_free(&res);

    /* re-drive the first: the subscriber receives it again */
    char body[128];
    snprintf(body, sizeof body, "{\"seq\":%lld}", (long long)dead[0]);
    CHECK_INT(s_post(con.proc.port, "/api/deadletters/redrive", &alice, body, &res), 403);
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/deadletters/redrive", &ops, body, &res), 200);
    const json_t *done0 = json_array_get(json_object_get(res.json, "redriven"), 0);
    CHECK_INT(s_int(done0, "seq"), dead[0]);
    json_int_t redrive_seq = s_int(done0, "redrive_seq");
    CHECK(redrive_seq > dead[1]);
    httpclient_res_free(&res);
    hub_notification_t *again = NULL;
    CHECK_INT(hub_receive(sub, &again, S_WAIT_MS), 1);
    if (again) {
        CHECK_INT(hub_notification_seq(again), redrive_seq);
        CHECK_HAS(hub_notification_topic(again), "sales.");
        hub_ack(sub, again);
        hub_notification_destroy(&again);
    }

    /* discard the second, with a reason; then it cannot be re-driven */
    snprintf(body, sizeof body, "{\"seq\":%lld}", (long long)dead[1]);
    CHECK_INT(s_post(con.proc.port, "/api/deadletters/discard", &ops, body, &res), 400);
    CHECK_HAS(s_str(res.json, "message"), "reason");
    httpclient_res_free(&res);
    snprintf(body, sizeof body, "{\"seq\":%lld,\"reason\":\"duplicate of CASE-1042\"}", (long long)dead[1]);
    CHECK_INT(s_post(con.proc.port, "/api/deadletters/discard", &ops, body, &res), 200);
    httpclient_res_free(&res);
    snprintf(body, sizeof body, "{\"seq\":%lld}", (long long)dead[1]);
    CHECK_INT(s_post(con.proc.port, "/api/deadletters/redrive", &ops, body, &res), 409);
    httpclient_res_free(&res);

    /* both recorded under ops@console */
    const char *filters[] = {"--actor", "ops@console", NULL};
    CHECK(harness_wait_audit(h, filters, "redriven", NULL, 1, S_WAIT_MS));
    CHECK(harness_wait_audit(h, filters, "discarded", NULL, 1, S_WAIT_MS));

    /* both still listed, with their state and who acted; none is open */
    CHECK_INT(s_get(con.proc.port, "/api/ops", &ops, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res.json, "dead_letters")), 2);
    for (size_t i = 0; i < 2; i++) {
        const json_t *d = json_array_get(json_object_get(res.json, "dead_letters"), i);
        json_int_t seq = s_int(json_object_get(d, "notification"), "seq");
        CHECK_STR(s_str(d, "dead_letter_state"), seq == dead[0] ? "redriven" : "discarded");
        CHECK_STR(s_str(d, "dead_letter_by"), "ops@console");
    }
    httpclient_res_free(&res);
    CHECK_INT(s_get(con.proc.port, "/api/ops?open=1", &ops, &res), 200);
    CHECK_INT(json_array_size(json_object_get(res.json, "dead_letters")), 0);
    httpclient_res_free(&res);

    /* the dry run */
    CHECK_INT(s_post(con.proc.port, "/api/policy/dry-run", &ops,
                     "{\"event\":{\"type\":\"return_request\",\"source\":\"support\",\"tags\":[\"rma\"]}}", &res),
              200);
    CHECK(json_is_true(json_object_get(res.json, "dry_run")));
    CHECK_STR(s_str(json_array_get(json_object_get(res.json, "matches"), 0), "department"), "shipping");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/policy/dry-run", &ops, "{\"event\":{\"severity\":\"huge\"}}", &res), 400);
    CHECK_HAS(s_str(res.json, "message"), "severity");
    httpclient_res_free(&res);
    CHECK_INT(s_post(con.proc.port, "/api/policy/dry-run", &ops, "{}", &res), 400);
    httpclient_res_free(&res);
done:
    hub_client_destroy(&sub);
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* /metrics: Prometheus text of the hub's counters, which move with the
 * events. */
static void test_metrics(void)
{
    int before = check_failures;
    s_con_t con = {0};
    httpclient_res_t res = {0};
    hub_client_t *c = NULL;
    harness_t *h = s_hub(check_failures);
    REQUIRE(h && s_con_start(h, NULL, &con) == 0);
    REQUIRE(s_publish_samples(h) == 0);
    CHECK_INT(s_get(con.proc.port, "/metrics", NULL, &res), 200);
    CHECK_STR(httpclient_header(&res, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    CHECK_STR(httpclient_header(&res, "Cache-Control"), "no-store");
    CHECK_HAS(res.body, "switchboard_hub_up 1\n");
    CHECK_HAS(res.body, "# TYPE switchboard_events_received_total counter\n");
    CHECK_HAS(res.body, "switchboard_events_received_total{type=\"bug_report\"} 1\n");
    CHECK_HAS(res.body, "switchboard_notifications_total{topic=\"sales.followup\"} 2\n");
    CHECK_HAS(res.body, "# TYPE switchboard_commit_seconds histogram\n");
    CHECK_HAS(res.body, "switchboard_commit_seconds_bucket{le=\"+Inf\"}");
    httpclient_res_free(&res);
    c = harness_client(h, "support");
    REQUIRE(c);
    REQUIRE(harness_publish(c, "{\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-2000\"}", NULL)
            == 0);
    CHECK_INT(s_get(con.proc.port, "/metrics", NULL, &res), 200);
    CHECK_HAS(res.body, "switchboard_events_received_total{type=\"bug_report\"} 2\n");
    httpclient_res_free(&res);
done:
    hub_client_destroy(&c);
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* Behind a proxy: its header names the user (who must be in the users
 * file), GET /api/session opens the session without a password; metrics
 * for operators only; a user taken out of the file loses the session at
 * the next request after SIGHUP. */
static void test_proxy_metrics_access_and_reload(void)
{
    int before = check_failures;
    s_con_t con = {0};
    httpclient_res_t res = {0};
    s_session_t alice = {0}, ops = {0};
    harness_t *h = s_hub(check_failures);
    const char *settings = "proxy_header: X-Forwarded-User\nmetrics: operator\nsecure_cookies: true\n";
    REQUIRE(h && s_con_start(h, settings, &con) == 0);
    const char *as_alice[] = {"X-Forwarded-User: alice", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/api/session", NULL, 0, as_alice, NULL, 0, &res), 200);
    CHECK_STR(s_str(res.json, "user"), "alice");
    const char *cookie = httpclient_header(&res, "Set-Cookie");
    CHECK_HAS(cookie, "; Secure");
    snprintf(alice.cookie, sizeof alice.cookie, "%.*s", (int)strcspn(cookie, ";"), cookie);
    snprintf(alice.csrf, sizeof alice.csrf, "%s", s_str(res.json, "csrf"));
    httpclient_res_free(&res);
    const char *as_nobody[] = {"X-Forwarded-User: mallory", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/api/session", NULL, 0, as_nobody, NULL, 0, &res), 401);
    CHECK_STR(s_str(res.json, "error"), "unknown_user");
    httpclient_res_free(&res);
    /* the proxy now names someone else: alice's cookie is not theirs */
    const char *as_ops[] = {"X-Forwarded-User: ops", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/api/inbox?department=sales", &alice, 0, as_ops, NULL, 0, &res), 401);
    httpclient_res_free(&res);
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/api/inbox?department=sales", &alice, 0, as_alice, NULL, 0, &res), 200);
    httpclient_res_free(&res);

    /* metrics: operator */
    CHECK_INT(s_get(con.proc.port, "/metrics", NULL, &res), 401);
    httpclient_res_free(&res);
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/metrics", &alice, 0, as_alice, NULL, 0, &res), 403);
    httpclient_res_free(&res);
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/api/session", NULL, 0, as_ops, NULL, 0, &res), 200);
    cookie = httpclient_header(&res, "Set-Cookie");
    snprintf(ops.cookie, sizeof ops.cookie, "%.*s", (int)strcspn(cookie, ";"), cookie);
    httpclient_res_free(&res);
    CHECK_INT(s_http_ex(con.proc.port, "GET", "/metrics", &ops, 0, as_ops, NULL, 0, &res), 200);
    CHECK_HAS(res.body, "switchboard_hub_up 1\n");
    httpclient_res_free(&res);
    /* a password login still works without the header */
    CHECK_INT(s_login(con.proc.port, "bob", "bob-pw", &alice), 200);

    /* alice leaves the users file: SIGHUP, then her session ends */
    char *users = strdup(s_env.users);
    REQUIRE(users);
    char *line = strstr(users, "  alice:");
    char *next = line ? strstr(line + 1, "\n  bob:") : NULL;
    if (line && next)
        memmove(line, next + 1, strlen(next + 1) + 1);
    FILE *f = fopen(con.users, "w");
    int written = f && fputs(users, f) >= 0;
    if (f)
        fclose(f);
    free(users);
    REQUIRE(written && line && next);
    long log_at = 0;
    {
        char *text = harness_read_file(con.proc.log);
        log_at = text ? (long)strlen(text) : 0;
        free(text);
    }
    REQUIRE(kill(con.proc.pid, SIGHUP) == 0);
    int64_t deadline = harness_now_ms() + S_WAIT_MS;
    long status = 0;
    while ((status = s_http_ex(con.proc.port, "GET", "/api/session", NULL, 0, as_alice, NULL, 0, &res)) == 200
           && harness_now_ms() < deadline) {
        httpclient_res_free(&res);
        harness_pause();
    }
    CHECK_INT(status, 401);
    httpclient_res_free(&res);
    char *text = harness_read_file(con.proc.log);
    CHECK(text && strstr(text + log_at, "users file read again: 3 users"));
    free(text);
done:
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* Bad input of every kind gets a 4xx naming what is wrong, never a crash:
 * the console answers normally afterwards. */
static void test_bad_input(void)
{
    int before = check_failures;
    s_con_t con = {0};
    s_session_t ops = {0};
    httpclient_res_t res = {0};
    char *nested = NULL;
    harness_t *h = s_hub(check_failures);
    REQUIRE(h && s_con_start(h, NULL, &con) == 0);
    REQUIRE(s_login(con.proc.port, "ops", "ops-pw", &ops) == 200);
    static const char *const paths[] = {"/api/answer", "/api/deadletters/redrive", "/api/deadletters/discard",
                                        "/api/policy/dry-run", "/api/login", NULL};
    static const char *const bodies[] = {
        "", "null", "[]", "\"text\"", "{", "{\"seq\":-1}", "{\"seq\":\"1\"}", "{\"seq\":1e400}",
        "{\"seq\":18446744073709551616}", "{\"all\":\"yes\"}", "{\"seq\":1,\"all\":true}",
        "{\"user\":5,\"password\":[]}", "{\"event\":\"x\"}", "{\"event\":{\"type\":7}}",
        "{\"department\":\"../etc\",\"case_id\":\"C\",\"status\":\"resolved\"}",
        "{\"department\":\"sales\",\"case_id\":\"C\",\"status\":\"resolved\",\"note\":7}",
        "{\"a\":1,\"a\":2}", "{\"user\":\"x\xff\",\"password\":\"y\"}", NULL};
    for (size_t p = 0; paths[p]; p++)
        for (size_t b = 0; bodies[b]; b++) {
            long status = s_post(con.proc.port, paths[p], &ops, bodies[b], &res);
            if (status < 400 || status >= 500 || !*s_str(res.json, "message"))
                fprintf(stderr, "POST %s %s: %ld %s\n", paths[p], bodies[b], status, res.body ? res.body : "");
            CHECK(status >= 400 && status < 500);
            CHECK(*s_str(res.json, "error"));
            httpclient_res_free(&res);
        }
    /* a NUL inside, and nesting deeper than anyone writes */
    const char with_nul[] = "{\"seq\":1}\0{}";
    const char *json_type[] = {"Content-Type: application/json", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/deadletters/redrive", &ops, 0, json_type, with_nul,
                        sizeof with_nul - 1, &res),
              400);
    httpclient_res_free(&res);
    size_t depth = 20000;
    nested = malloc(2 * depth + 16);
    REQUIRE(nested);
    size_t n = (size_t)sprintf(nested, "{\"event\":");
    for (size_t i = 0; i < depth; i++)
        nested[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        nested[n++] = ']';
    nested[n++] = '}';
    nested[n] = '\0';
    CHECK_INT(s_post(con.proc.port, "/api/policy/dry-run", &ops, nested, &res), 400);
    httpclient_res_free(&res);
    /* queries and headers */
    static const char *const gets[] = {"/api/inbox?department=..%2Fx", "/api/inbox?department=sales&limit=-1",
                                       "/api/inbox?department=sales&after_seq=99999999999999999999",
                                       "/api/case?case_id=", "/api/case?customer=", "/api/case", NULL};
    for (size_t g = 0; gets[g]; g++) {
        long status = s_get(con.proc.port, gets[g], &ops, &res);
        if (status != 400)
            fprintf(stderr, "GET %s: %ld %s\n", gets[g], status, res.body ? res.body : "");
        CHECK_INT(status, 400);
        httpclient_res_free(&res);
    }
    char long_path[9000] = "/api/case?case_id=";
    memset(long_path + strlen(long_path), 'C', 8000);
    long_path[8018] = '\0';
    long status = s_get(con.proc.port, long_path, &ops, &res);
    CHECK(status >= 400 && status < 500);
    httpclient_res_free(&res);
    const char *odd[] = {"Cookie: sb_session=\"; ; ==", "X-CSRF-Token: \x01\x02", NULL};
    CHECK_INT(s_http_ex(con.proc.port, "POST", "/api/logout", NULL, 0, odd, NULL, 0, &res), 204);
    httpclient_res_free(&res);
    CHECK_INT(s_http_ex(con.proc.port, "DELETE", "/api/session", &ops, 0, NULL, NULL, 0, &res), 405);
    httpclient_res_free(&res);
    /* still answering, the session still good */
    CHECK_INT(s_get(con.proc.port, "/api/session", &ops, &res), 200);
    httpclient_res_free(&res);
done:
    free(nested);
    httpclient_res_free(&res);
    HTTPPROC_END(con.proc, before);
    HARNESS_END(h);
}

/* Start-up: a bad setting names the file and line, a listen address that is
 * not loopback needs --insecure, passwd makes hashes that --check accepts. */
static void test_startup_errors(void)
{
    harness_run_t run = {0};
    char dir[] = "/tmp/console-start-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char config[128], users[128];
    snprintf(config, sizeof config, "%s/console.yaml", dir);
    snprintf(users, sizeof users, "%s/users.yaml", dir);
    FILE *f = fopen(config, "w");
    REQUIRE(f);
    fputs("listen: 127.0.0.1:0\nusers_file: users.yaml\nsesion_ttl: 8h\n", f);
    fclose(f);
    const char *check[] = {"--config", config, "--check", NULL};
    CHECK_INT(s_run(check, NULL, &run), 1);
    CHECK_HAS(run.err, "console.yaml:3: unknown key \"sesion_ttl\"");
    harness_run_free(&run);

    f = fopen(config, "w");
    REQUIRE(f);
    fputs("listen: 0.0.0.0:0\nusers_file: users.yaml\n", f);
    fclose(f);
    f = fopen(users, "w");
    REQUIRE(f);
    fputs(s_env.users, f);
    fclose(f);
    const char *serve[] = {"--config", config, NULL};
    CHECK_INT(s_run(serve, NULL, &run), 1);
    CHECK_HAS(run.err, "not a loopback address");
    CHECK_HAS(run.err, "--insecure");
    harness_run_free(&run);
    CHECK_INT(s_run(check, NULL, &run), 1); /* what a start would say */
    CHECK_HAS(run.err, "not a loopback address");
    harness_run_free(&run);
    const char *check_insecure[] = {"--config", config, "--check", "--insecure", NULL};
    CHECK_INT(s_run(check_insecure, NULL, &run), 0);
    CHECK_HAS(run.out, "ok: 4 users");
    harness_run_free(&run);

    const char *passwd[] = {"passwd", "--password-stdin", "--iterations", "99", NULL};
    CHECK_INT(s_run(passwd, "x\n", &run), 2);
    CHECK_HAS(run.err, "--iterations");
    harness_run_free(&run);
    const char *passwd_ok[] = {"passwd", "--password-stdin", "--iterations", S_ITERATIONS, NULL};
    CHECK_INT(s_run(passwd_ok, "\n", &run), 1);
    CHECK_HAS(run.err, "empty");
    harness_run_free(&run);
    CHECK_INT(s_run(passwd_ok, "pw\n", &run), 0);
    CHECK(strncmp(run.out, "pbkdf2-sha256$100000$", 21) == 0);
    harness_run_free(&run);
    unlink(config);
    unlink(users);
    rmdir(dir);
done:
    harness_run_free(&run);
}

/* ----------------------------------------------------------------- setup */

static int s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_keygen(const char *name)
{
    harness_run_t run = {0};
    const char *args[] = {"keygen", name, "--dir", s_env.dir, NULL};
    int rc = harness_hubctl_argv(NULL, NULL, &run, args);
    if (rc != 0)
        fprintf(stderr, "keygen %s: %s\n", name, run.err ? run.err : "");
    harness_run_free(&run);
    if (rc != 0)
        return -1;
    char from[HARNESS_PATH + 32], to[HARNESS_PATH + 48];
    snprintf(from, sizeof from, "%s/%s.key", s_env.dir, name);
    snprintf(to, sizeof to, "%s/clients/%s.key", s_env.dir, name);
    char *text = harness_read_file(from);
    FILE *f = text ? fopen(to, "w") : NULL;
    rc = f && fputs(text, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

/* Keys for hubd, console and operator; hub.yaml; the users file with
 * hashes from hub-console passwd. Returns 0 or -1. */
static int s_setup(void)
{
    snprintf(s_env.dir, sizeof s_env.dir, "%s/console-api-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s_env.dir))
        return -1;
    char clients[HARNESS_PATH + 16];
    snprintf(clients, sizeof clients, "%s/clients", s_env.dir);
    if (mkdir(clients, 0755) != 0)
        return -1;
    harness_run_t run = {0};
    const char *args[] = {"keygen", "hubd", "--dir", s_env.dir, NULL};
    if (harness_hubctl_argv(NULL, NULL, &run, args) != 0 || s_keygen("console") != 0 || s_keygen("operator") != 0) {
        harness_run_free(&run);
        return -1;
    }
    harness_run_free(&run);
    snprintf(s_env.server_key, sizeof s_env.server_key, "%s/hubd.key", s_env.dir);
    snprintf(s_env.hub_config, sizeof s_env.hub_config, "security: curve\nkeys:\n  server: %s/hubd\n  clients: %s\n%s",
             s_env.dir, clients, s_access);
    char prefix[HARNESS_PATH + 16];
    snprintf(prefix, sizeof prefix, "%s/operator", s_env.dir);
    setenv("HUB_KEY", prefix, 1);
    setenv("HUB_SERVER_KEY", s_env.server_key, 1);

    static const struct {
        const char *name, *password, *rest;
    } users[] = {
        {"alice", "alice-pw", "departments: [sales]"},
        {"bob", "bob-pw", "departments: [finance]"},
        {"sid", "sid-pw", "departments: [shipping]"},
        {"ops", "ops-pw", "operator: true"},
    };
    size_t n = (size_t)snprintf(s_env.users, sizeof s_env.users, "users:\n");
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        char input[64];
        snprintf(input, sizeof input, "%s\n", users[i].password);
        const char *passwd[] = {"passwd", "--password-stdin", "--iterations", S_ITERATIONS, NULL};
        if (s_run(passwd, input, &run) != 0 || !run.out) {
            fprintf(stderr, "hub-console passwd: %s\n", run.err ? run.err : "did not run");
            harness_run_free(&run);
            return -1;
        }
        n += (size_t)snprintf(s_env.users + n, sizeof s_env.users - n, "  %s: { password: \"%.*s\", %s }\n",
                              users[i].name, (int)strcspn(run.out, "\n"), run.out, users[i].rest);
        harness_run_free(&run);
    }
    return n < sizeof s_env.users ? 0 : -1;
}

int main(void)
{
    harness_require();
    if (!s_program()) {
        printf("HUB_CONSOLE is not set: run through meson test\n");
        return 77;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (s_setup() != 0) {
        fprintf(stderr, "could not set up keys and users in %s\n", s_env.dir);
        return 1;
    }
    static const check_case_t cases[] = {
        {"login, session cookie, logout, headers", test_login_and_session},
        {"failed logins are limited", test_login_limit},
        {"csrf, origin and body limits", test_csrf_origin_and_limits},
        {"inbox per department, answer, case board", test_inbox_answer_and_case},
        {"ops: dead letters re-driven and discarded, dry run", test_ops_and_dead_letters},
        {"metrics move with the events", test_metrics},
        {"proxy header, operator metrics, users reload", test_proxy_metrics_access_and_reload},
        {"bad input gets a 4xx, never a crash", test_bad_input},
        {"start-up errors and passwd", test_startup_errors},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    unsetenv("HUB_KEY");
    unsetenv("HUB_SERVER_KEY");
    if (!getenv("HARNESS_KEEP"))
        nftw(s_env.dir, s_rm_one, 8, FTW_DEPTH | FTW_PHYS);
    curl_global_cleanup();
    return rc;
}
