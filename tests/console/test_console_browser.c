/*
 * console_browser - the web console as people use it: a real headless
 * Chromium, driven through chromedriver over the W3C WebDriver protocol,
 * against a real hubd (tests/harness) and a real hub-console.
 *
 * The story, one case after the other on the same hub and browser:
 *   1. The sign-in form refuses a wrong password and says so.
 *   2. alice (engineering) signs in and sees her department's inbox.
 *   3. A bug report support publishes (libhub) appears in the inbox while
 *      the page stays loaded: no reload, only the inbox's polling.
 *   4. alice answers it "in progress"; the hub audits the response under
 *      alice's name.
 *   5. The case board shows engineering's state and the response in the
 *      case history.
 *   6. olga (operator, finance) signs in: her finance inbox shows the event
 *      redacted as finance's route says; on the operations page she sees
 *      the subscribers, runs the policy on an event (nothing is stored),
 *      re-drives a dead letter finance's subscriber refused (the subscriber
 *      receives it again) and discards another, with a reason.
 * Screenshots of the sign-in, inbox, case board and operations pages are
 * written as login.png, inbox.png, case.png and ops.png into the working
 * directory and, when CONSOLE_SCREENSHOT_DIR is set, into that directory.
 *
 * Rules:
 *   1. Every wait polls a condition (the DOM through WebDriver, the hub
 *      through libhub or the audit log) until a deadline; nothing sleeps
 *      to let something happen.
 *   2. chromedriver runs in its own process group with its browser; at the
 *      end, also after a failure, the group is killed, then any process
 *      still using this run's browser profile, and the profile is removed.
 *      The test is its children's subreaper, so every browser process it
 *      started is reaped here. On SIGTERM (meson's timeout) the group,
 *      hub-console and hubd are killed and the test's directory removed.
 *   3. Skips (exit 77) with the reason when /usr/bin/chromium or
 *      /usr/bin/chromedriver is missing, or when the build did not give
 *      HUBD and HUB_CONSOLE.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define S_CHROMIUM "/usr/bin/chromium"
#define S_CHROMEDRIVER "/usr/bin/chromedriver"
/* the key of a W3C web element reference */
#define S_ELEMENT_KEY "element-6066-11e4-a52e-4f735466cecf"
#define S_START_MS 20000 /* hub-console or chromedriver must answer within this */
#define S_STOP_MS 10000  /* hub-console must exit within this after SIGTERM */
#define S_UI_MS 15000    /* a page must show what is expected within this */
#define S_HUB_MS 10000   /* the hub must deliver or audit within this */
#define S_HTTP_MS 30000  /* one WebDriver or HTTP call */
#define S_WIDTH 1280     /* what the browser shows of a page; the screenshots' size */
#define S_HEIGHT 860     /* (CSS pixels) */
#define S_PAGE_MAX 2000  /* a whole-page screenshot is cut here */
#define S_PASSWORD "correct horse battery"

static const char *s_users_fmt = "users:\n"
                                 "  alice:\n"
                                 "    password: \"%s\"\n"
                                 "    departments: [engineering]\n"
                                 "    operator: false\n"
                                 "  olga:\n"
                                 "    password: \"%s\"\n"
                                 "    departments: [finance]\n"
                                 "    operator: true\n";

static const char *s_console_fmt = "hub: { endpoint: \"%s\", key: \"\", server_key: \"\" }\n"
                                   "users_file: console-users.yaml\n"
                                   "proxy_header: \"\"\n"
                                   "session_ttl: 8h\n"
                                   "metrics: open\n";

/* Support's cases, as the support desk publishes them. Two are in the
 * inbox before alice signs in; the third is refused by finance's
 * subscriber (a dead letter); the live one arrives while she watches. */
static const char *s_seed_events[] = {
    "{\"id\":\"desk-2040\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-2040\","
    "\"customer\":{\"id\":\"GLOBX-2\",\"name\":\"Globex Ltd\",\"tier\":\"business\",\"billing_status\":\"current\"},"
    "\"severity\":\"critical\",\"subject\":\"Sync stalls after 10,000 records\","
    "\"body\":\"The nightly sync has stopped at record 10,000 three nights running.\",\"product\":\"sync 4.1\","
    "\"tags\":[\"regression\"]}",
    "{\"id\":\"desk-2041\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-2041\","
    "\"customer\":{\"id\":\"INI-3\",\"name\":\"Initech\",\"tier\":\"standard\",\"billing_status\":\"current\"},"
    "\"severity\":\"medium\",\"subject\":\"Report totals off by one cent\","
    "\"body\":\"Monthly totals differ from the sum of the lines by 0.01.\",\"product\":\"reports 2.3\"}",
    "{\"id\":\"desk-2043\",\"type\":\"complaint\",\"source\":\"support\",\"case_id\":\"CASE-2043\","
    "\"customer\":{\"id\":\"UMB-1\",\"name\":\"Umbrella Inc\",\"tier\":\"standard\",\"billing_status\":\"disputed\"},"
    "\"severity\":\"high\",\"subject\":\"Invoice charged twice\","
    "\"body\":\"The November invoice was charged twice to the customer's card.\"}",
    "{\"id\":\"desk-2044\",\"type\":\"billing_question\",\"source\":\"support\",\"case_id\":\"CASE-2044\","
    "\"customer\":{\"id\":\"HOOLI-9\",\"name\":\"Hooli\",\"tier\":\"standard\",\"billing_status\":\"overdue\"},"
    "\"severity\":\"low\",\"subject\":\"Which address do reminders go to?\"}",
};
#define S_DEAD_CASE "CASE-2043"    /* finance refuses it; olga re-drives it */
#define S_DISCARD_CASE "CASE-2044" /* finance refuses it; olga discards it */

static const char *s_live_event =
    "{\"id\":\"desk-2042\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-2042\","
    "\"customer\":{\"id\":\"ACME-7\",\"name\":\"Acme Corp\",\"tier\":\"enterprise\",\"billing_status\":\"overdue\"},"
    "\"severity\":\"high\",\"subject\":\"Export crashes on large files\","
    "\"body\":\"Exporting any project over about 2 GB to CSV stops at 87% and the exporter exits.\","
    "\"product\":\"exporter 2.3\",\"tags\":[\"regression\"],\"attributes\":{\"ticket\":\"ZD-58812\"}}";
#define S_LIVE_CASE "CASE-2042"
#define S_LIVE_SUBJECT "Export crashes on large files"

/* ------------------------------------------------------------- children */

/* Pids for the signal handler (a timeout sends SIGTERM): written before
 * the handler can need them, read only there. */
static volatile pid_t s_driver_pid;  /* chromedriver; also its process group */
static volatile pid_t s_console_pid; /* hub-console */
static volatile pid_t s_hubd_pid;
static char s_dir[HARNESS_PATH]; /* the harness directory, removed by the handler */

/* Kills every process the test started and removes its directory (with
 * rm, as fork and execve are safe in a signal handler), then dies of sig. */
static void s_on_signal(int sig)
{
    if (s_driver_pid > 0)
        kill(-s_driver_pid, SIGKILL);
    if (s_console_pid > 0)
        kill(s_console_pid, SIGKILL);
    if (s_hubd_pid > 0)
        kill(s_hubd_pid, SIGKILL);
    if (s_dir[0]) {
        pid_t rm = fork();
        if (rm == 0) {
            char *const argv[] = {(char *)"rm", (char *)"-rf", s_dir, NULL};
            char *const envp[] = {NULL};
            execve("/bin/rm", argv, envp);
            _exit(127);
        }
        if (rm > 0)
            waitpid(rm, NULL, 0);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A free TCP port on 127.0.0.1 (the kernel's pick; closed again, so
 * another process could take it before we do, which the start then
 * reports). Returns the port or -1. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Starts argv[0] with stdin from /dev/null (or a pipe fed stdin_text, when
 * not NULL), stdout and stderr appended to log_path, the environment envp
 * (NULL: ours), in a new process group when new_group is 1, and killed
 * when this test dies. Returns the pid, or -1 with a message. */
static pid_t s_spawn(const char *const *argv, char *const *envp, const char *log_path, int new_group)
{
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        fprintf(stderr, "open %s: %s\n", log_path, strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        /* only async-signal-safe calls: libhub's threads run in the parent */
        if (new_group)
            setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int nullfd = open("/dev/null", O_RDONLY);
        if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            _exit(127);
        if (envp)
            execve(argv[0], (char *const *)argv, envp);
        else
            execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (new_group)
        setpgid(pid, pid); /* also here: no race with the kill of the group */
    close(logfd);
    return pid;
}

/* Waits up to timeout_ms for pid to exit. Returns its exit status (128 +
 * signal when a signal ended it), or -1 when it still runs. */
static int s_reap(pid_t pid, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return errno == ECHILD ? 0 : -1;
        if (harness_now_ms() >= deadline)
            return -1;
        harness_pause();
    }
}

/* Runs argv with stdin_text on its stdin and returns what it printed on
 * stdout (owned; the caller frees), or NULL when it could not run or did
 * not exit 0 within HARNESS_CTL_MS (its stderr is shown then). */
static char *s_run_capture(const char *const *argv, const char *stdin_text, const char *err_path)
{
    int in[2], out[2];
    if (pipe(in) != 0)
        return NULL;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return NULL;
    }
    int errfd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || (errfd >= 0 && dup2(errfd, 2) < 0))
            _exit(127);
        close(in[1]);
        close(out[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (errfd >= 0)
        close(errfd);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return NULL;
    }
    size_t len = strlen(stdin_text);
    if (write(in[1], stdin_text, len) != (ssize_t)len)
        fprintf(stderr, "%s: could not write its stdin\n", argv[0]);
    close(in[1]);
    size_t cap = 256, got = 0;
    char *buf = malloc(cap);
    int64_t deadline = harness_now_ms() + HARNESS_CTL_MS;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    int status = -1;
    while (buf) {
        ssize_t n = read(out[0], buf + got, cap - got - 1);
        if (n > 0) {
            got += (size_t)n;
            if (cap - got < 2) {
                char *bigger = realloc(buf, cap * 2);
                if (!bigger) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = bigger;
                cap *= 2;
            }
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            status = s_reap(pid, HARNESS_CTL_MS);
            break;
        }
        if (harness_now_ms() >= deadline)
            break;
        harness_pause();
    }
    close(out[0]);
    if (status == -1) {
        kill(pid, SIGKILL);
        s_reap(pid, HARNESS_CTL_MS);
    }
    if (buf)
        buf[got] = '\0';
    if (status != 0) {
        char *err = harness_read_file(err_path);
        fprintf(stderr, "%s exited %d: %s\n", argv[0], status, err ? err : "");
        free(err);
        free(buf);
        return NULL;
    }
    return buf;
}

/* ----------------------------------------------------------------- HTTP */

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static size_t s_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_buf_t *b = arg;
    size_t n = size * nmemb;
    char *bigger = realloc(b->data, b->len + n + 1);
    if (!bigger)
        return 0;
    b->data = bigger;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One HTTP request. Returns the status code (0 when no answer came) and
 * the body in *body_p (owned; "" when empty), which may be NULL. */
static long s_http(CURL *curl, const char *method, const char *url, const char *body, char **body_p, int timeout_ms)
{
    s_buf_t b = {0};
    struct curl_slist *headers = NULL;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (body_p)
        *body_p = b.data ? b.data : strdup("");
    else
        free(b.data);
    return status;
}

/* ------------------------------------------------------------ WebDriver */

typedef struct {
    CURL *curl;
    char base[64];     /* http://127.0.0.1:PORT of chromedriver */
    char session[128]; /* the browser session, "" before it exists */
    char error[64];    /* the last WebDriver error code, e.g. "no such element" */
} s_wd_t;

/* Calls chromedriver: method on /session/ID + path (path as it is when
 * it starts with '!', e.g. "!/status"), with body (stolen; NULL: none).
 * Returns the answer's "value" (new reference; the caller json_decref's
 * it), or NULL with wd->error set and, unless quiet, a message. */
static json_t *s_wd_call_q(s_wd_t *wd, const char *method, const char *path, json_t *body, int quiet)
{
    char url[512];
    if (path[0] == '!')
        snprintf(url, sizeof url, "%s%s", wd->base, path + 1);
    else
        snprintf(url, sizeof url, "%s/session/%s%s", wd->base, wd->session, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text && strcmp(method, "POST") == 0)
        text = strdup("{}");
    char *answer = NULL;
    long status = s_http(wd->curl, method, url, text, &answer, S_HTTP_MS);
    free(text);
    json_t *doc = json_loads(answer ? answer : "", 0, NULL);
    json_t *value = json_incref(json_object_get(doc, "value"));
    wd->error[0] = '\0';
    if (status != 200 || !value) {
        const char *code = json_string_value(json_object_get(value, "error"));
        const char *message = json_string_value(json_object_get(value, "message"));
        snprintf(wd->error, sizeof wd->error, "%s", code ? code : status ? "bad answer" : "no answer");
        if (!quiet)
            fprintf(stderr, "[%s] webdriver %s %s: %ld %s: %.300s\n", check_case, method, path, status, wd->error,
                    message ? message : (answer ? answer : ""));
        json_decref(value);
        value = NULL;
    }
    json_decref(doc);
    free(answer);
    return value;
}
#define s_wd_call(wd, method, path, body) s_wd_call_q((wd), (method), (path), (body), 0)

/* Runs script (a function body; arguments in 'arguments') in the page.
 * Returns its result (new reference, JSON null for undefined), or NULL on
 * a WebDriver error (e.g. the script threw). */
static json_t *s_js(s_wd_t *wd, const char *script, json_t *args)
{
    return s_wd_call(wd, "POST", "/execute/sync",
                     json_pack("{s:s, s:o}", "script", script, "args", args ? args : json_array()));
}

/* The script's result as a string (owned) or NULL when it is not one. */
static char *s_js_str(s_wd_t *wd, const char *script, json_t *args)
{
    json_t *v = s_js(wd, script, args);
    char *s = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    json_decref(v);
    return s;
}

/* Polls script until it returns something truthy (not null, false, 0 or
 * ""), up to timeout_ms. Returns 1, or 0 at the deadline, naming 'what'. */
static int s_wait_js(s_wd_t *wd, const char *what, const char *script, json_t *args, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        json_t *v = s_js(wd, script, json_deep_copy(args));
        int truthy = v && !json_is_null(v) && !json_is_false(v) &&
                     !(json_is_integer(v) && json_integer_value(v) == 0) &&
                     !(json_is_string(v) && json_string_length(v) == 0);
        json_decref(v);
        if (truthy) {
            json_decref(args);
            return 1;
        }
        if (harness_now_ms() >= deadline) {
            char *status = s_js_str(wd,
                                    "var s = document.getElementById('status-line');"
                                    "return location.hash + ' | status line: ' + (s && !s.hidden ? "
                                    "s.textContent : '(none)');",
                                    NULL);
            fprintf(stderr, "[%s] gave up after %d ms waiting for %s (page: %s)\n", check_case, timeout_ms, what,
                    status ? status : "?");
            free(status);
            json_decref(args);
            return 0;
        }
        harness_pause();
    }
}

/* Waits until the element 'css' is displayed. Returns 1 or 0. */
static int s_wait_visible(s_wd_t *wd, const char *css)
{
    char what[256];
    snprintf(what, sizeof what, "%s to be shown", css);
    return s_wait_js(wd, what,
                     "var e = document.querySelector(arguments[0]);"
                     "return !!e && e.getClientRects().length > 0;",
                     json_pack("[s]", css), S_UI_MS);
}

/* The WebDriver reference of the first element matching css (owned), or
 * NULL when there is none. */
static char *s_find(s_wd_t *wd, const char *css)
{
    json_t *v = s_wd_call(wd, "POST", "/element", json_pack("{s:s, s:s}", "using", "css selector", "value", css));
    const char *id = json_string_value(json_object_get(v, S_ELEMENT_KEY));
    char *copy = id ? strdup(id) : NULL;
    json_decref(v);
    return copy;
}

/* Clicks the element 'css' as a person would (it must be shown and not
 * covered). A page that redraws the element between finding and clicking
 * it (the operations page refreshes its tables) is clicked again, up to
 * S_UI_MS. Returns 0 or -1. */
static int s_click(s_wd_t *wd, const char *css)
{
    int64_t deadline = harness_now_ms() + S_UI_MS;
    for (;;) {
        if (!s_wait_visible(wd, css))
            return -1;
        char *id = s_find(wd, css);
        if (!id)
            return -1;
        char path[256];
        snprintf(path, sizeof path, "/element/%s/click", id);
        json_t *v = s_wd_call_q(wd, "POST", path, NULL, 1);
        free(id);
        int clicked = v != NULL;
        json_decref(v);
        if (clicked)
            return 0;
        int again =
            strcmp(wd->error, "stale element reference") == 0 || strcmp(wd->error, "element click intercepted") == 0;
        if (!again || harness_now_ms() >= deadline) {
            fprintf(stderr, "[%s] click on %s: %s\n", check_case, css, wd->error);
            return -1;
        }
        harness_pause();
    }
}

/* Chooses the option of value 'value' in the select 'css', as a click
 * on it does (an option of a closed select is not shown, so it is not
 * waited for). Returns 0 or -1. */
static int s_select(s_wd_t *wd, const char *css, const char *value)
{
    if (!s_wait_visible(wd, css))
        return -1;
    char option[256];
    snprintf(option, sizeof option, "%s option[value=\"%s\"]", css, value);
    char *id = s_find(wd, option);
    if (!id)
        return -1;
    char path[256];
    snprintf(path, sizeof path, "/element/%s/click", id);
    json_t *v = s_wd_call(wd, "POST", path, NULL);
    free(id);
    int rc = v ? 0 : -1;
    json_decref(v);
    char *now = s_js_str(wd, "return document.querySelector(arguments[0]).value;", json_pack("[s]", css));
    if (rc == 0 && (!now || strcmp(now, value) != 0)) {
        fprintf(stderr, "[%s] %s holds \"%s\" after choosing \"%s\"\n", check_case, css, now ? now : "?", value);
        rc = -1;
    }
    free(now);
    return rc;
}

/* Empties the input 'css' and types text into it. Returns 0 or -1. */
static int s_type(s_wd_t *wd, const char *css, const char *text)
{
    if (!s_wait_visible(wd, css))
        return -1;
    char *id = s_find(wd, css);
    if (!id)
        return -1;
    char path[256];
    snprintf(path, sizeof path, "/element/%s/clear", id);
    json_t *v = s_wd_call(wd, "POST", path, NULL);
    int rc = v ? 0 : -1;
    json_decref(v);
    if (rc == 0) {
        snprintf(path, sizeof path, "/element/%s/value", id);
        v = s_wd_call(wd, "POST", path, json_pack("{s:s}", "text", text));
        rc = v ? 0 : -1;
        json_decref(v);
    }
    free(id);
    return rc;
}

/* The text content of the first element matching css (owned), or NULL. */
static char *s_text(s_wd_t *wd, const char *css)
{
    return s_js_str(wd, "var e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                    json_pack("[s]", css));
}

/* Decodes base64 text into a new buffer. Returns it (owned) and its size
 * in *len_p, or NULL when the text is not base64. */
static unsigned char *s_base64_decode(const char *text, size_t *len_p)
{
    size_t n = strlen(text);
    unsigned char *out = malloc(n / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == '=' || c == '\n' || c == '\r')
            continue;
        else {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    *len_p = o;
    return out;
}

static int s_write_file(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "[%s] cannot write %s: %s\n", check_case, path, strerror(errno));
        return -1;
    }
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* Sizes the browser window so that the page shows width x height CSS
 * pixels (the window's frame, if any, comes on top). Returns 0 or -1. */
static int s_window(s_wd_t *wd, int width, int height)
{
    json_t *f = s_js(wd, "return window.outerHeight - window.innerHeight;", NULL);
    int frame =
        json_is_integer(f) && json_integer_value(f) > 0 && json_integer_value(f) < 400 ? (int)json_integer_value(f) : 0;
    json_decref(f);
    json_t *v =
        s_wd_call(wd, "POST", "/window/rect", json_pack("{s:i, s:i}", "width", width, "height", height + frame));
    int rc = v ? 0 : -1;
    json_decref(v);
    return rc;
}

/* Saves what the browser shows as NAME.png in the working directory and,
 * when CONSOLE_SCREENSHOT_DIR is set, there too; whole_page: the window
 * grows to the page's height first (at most S_PAGE_MAX) and shrinks back
 * after. Returns 0 or -1. */
static int s_screenshot(s_wd_t *wd, const char *name, int whole_page)
{
    /* the status line's messages fade after a few seconds: leave it out */
    json_decref(s_js(wd, "var s = document.getElementById('status-line'); if (s) s.hidden = true; return 1;", NULL));
    if (whole_page) {
        json_t *h = s_js(wd, "window.scrollTo(0, 0); return document.documentElement.scrollHeight;", NULL);
        int height = json_is_integer(h) ? (int)json_integer_value(h) : S_HEIGHT;
        json_decref(h);
        s_window(wd, S_WIDTH, height < S_HEIGHT ? S_HEIGHT : height > S_PAGE_MAX ? S_PAGE_MAX : height);
    }
    json_t *v = s_wd_call(wd, "GET", "/screenshot", NULL);
    if (whole_page)
        s_window(wd, S_WIDTH, S_HEIGHT);
    size_t len = 0;
    unsigned char *png = json_is_string(v) ? s_base64_decode(json_string_value(v), &len) : NULL;
    json_decref(v);
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!png || len < sizeof magic || memcmp(png, magic, sizeof magic) != 0) {
        fprintf(stderr, "[%s] screenshot %s: not a PNG\n", check_case, name);
        free(png);
        return -1;
    }
    char path[HARNESS_PATH + 64];
    snprintf(path, sizeof path, "%s.png", name);
    int rc = s_write_file(path, png, len);
    const char *dir = getenv("CONSOLE_SCREENSHOT_DIR");
    if (dir && *dir) {
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/%s.png", dir, name);
        rc |= s_write_file(path, png, len);
    }
    free(png);
    return rc;
}

/* ------------------------------------------------------------- fixture */

static struct {
    harness_t *h;
    hub_client_t *pub;     /* support's desk */
    hub_client_t *finance; /* finance's subscriber: refuses CASE-2043 */
    hub_client_t *sales;   /* sales's subscriber: takes its notifications, slowly */
    pid_t console;
    char console_url[64];
    char console_log[HARNESS_PATH];
    pid_t driver;
    char driver_log[HARNESS_PATH];
    char profile[HARNESS_PATH]; /* the browser's user-data-dir, also its HOME */
    s_wd_t wd;
    uint64_t live_seq; /* the event published while alice watches */
    int ready;         /* everything started */
} F;

/* Prints the tail of a log file (the last ~3 kB). */
static void s_dump(const char *label, const char *path)
{
    char *text = harness_read_file(path);
    if (!text)
        return;
    size_t len = strlen(text);
    fprintf(stderr, "---- %s (%s), last lines:\n%s\n----\n", label, path, text + (len > 3000 ? len - 3000 : 0));
    free(text);
}

/* Hashes the test password with `hub-console passwd`. Returns the hash
 * (owned) or NULL. */
static char *s_password_hash(const char *console)
{
    char err_path[HARNESS_PATH + 32];
    snprintf(err_path, sizeof err_path, "%s/passwd.err", harness_dir(F.h));
    const char *argv[] = {console, "passwd", "--password-stdin", "--iterations", "100000", NULL};
    char *out = s_run_capture(argv, S_PASSWORD "\n", err_path);
    if (!out)
        return NULL;
    out[strcspn(out, "\r\n")] = '\0';
    if (strncmp(out, "pbkdf2-sha256$", 14) != 0) {
        fprintf(stderr, "hub-console passwd printed \"%s\", not a pbkdf2-sha256 hash\n", out);
        free(out);
        return NULL;
    }
    return out;
}

/* Starts hub-console on a port of the kernel's choosing (--listen
 * 127.0.0.1:0; it prints "listening on ADDR:PORT") and waits until it
 * answers. Returns 0 or -1 (with its log shown). */
static int s_start_console(void)
{
    const char *console = getenv("HUB_CONSOLE");
    char *hash = s_password_hash(console);
    if (!hash)
        return -1;
    char users[1024];
    snprintf(users, sizeof users, s_users_fmt, hash, hash);
    free(hash);
    if (!harness_write_file(F.h, "console-users.yaml", users))
        return -1;
    char config[1024];
    snprintf(config, sizeof config, s_console_fmt, harness_endpoint(F.h));
    const char *written = harness_write_file(F.h, "console.yaml", config);
    if (!written)
        return -1;
    char config_path[HARNESS_PATH];
    snprintf(config_path, sizeof config_path, "%s", written);
    snprintf(F.console_log, sizeof F.console_log, "%s/console.log", harness_dir(F.h));
    const char *argv[] = {console, "--config", config_path, "--listen", "127.0.0.1:0", NULL};
    F.console = s_spawn(argv, NULL, F.console_log, 0);
    if (F.console < 0)
        return -1;
    s_console_pid = F.console;

    int64_t deadline = harness_now_ms() + S_START_MS;
    while (harness_now_ms() < deadline) {
        char *log = harness_read_file(F.console_log);
        const char *at = log ? strstr(log, "listening on 127.0.0.1:") : NULL;
        int port = at ? atoi(at + strlen("listening on 127.0.0.1:")) : 0;
        free(log);
        if (port > 0) {
            snprintf(F.console_url, sizeof F.console_url, "http://127.0.0.1:%d", port);
            break;
        }
        if (s_reap(F.console, 0) >= 0) {
            F.console = s_console_pid = 0;
            fprintf(stderr, "hub-console exited at start\n");
            s_dump("hub-console", F.console_log);
            return -1;
        }
        harness_pause();
    }
    if (!F.console_url[0]) {
        fprintf(stderr, "hub-console did not say where it listens within %d ms\n", S_START_MS);
        s_dump("hub-console", F.console_log);
        return -1;
    }
    char url[128];
    snprintf(url, sizeof url, "%s/api/session", F.console_url);
    while (harness_now_ms() < deadline) {
        if (s_http(F.wd.curl, "GET", url, NULL, NULL, 1000) == 401)
            return 0;
        harness_pause();
    }
    fprintf(stderr, "hub-console did not answer GET %s with 401 within %d ms\n", url, S_START_MS);
    s_dump("hub-console", F.console_log);
    return -1;
}

/* Starts chromedriver on a free port in its own process group, with its
 * own HOME, and opens a headless browser session. Returns 0 or -1. */
static int s_start_browser(void)
{
    snprintf(F.profile, sizeof F.profile, "%s/browser", harness_dir(F.h));
    if (mkdir(F.profile, 0700) != 0) {
        fprintf(stderr, "mkdir %s: %s\n", F.profile, strerror(errno));
        return -1;
    }
    snprintf(F.driver_log, sizeof F.driver_log, "%s/chromedriver.log", harness_dir(F.h));
    char home[HARNESS_PATH + 16], xdg_config[HARNESS_PATH + 32], xdg_cache[HARNESS_PATH + 32];
    char port_arg[32];
    snprintf(home, sizeof home, "HOME=%s", F.profile);
    snprintf(xdg_config, sizeof xdg_config, "XDG_CONFIG_HOME=%s/.config", F.profile);
    snprintf(xdg_cache, sizeof xdg_cache, "XDG_CACHE_HOME=%s/.cache", F.profile);
    char *envp[] = {home, xdg_config, xdg_cache, (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C.UTF-8", NULL};

    for (int attempt = 0; attempt < 3; attempt++) {
        int port = s_free_port();
        snprintf(port_arg, sizeof port_arg, "--port=%d", port);
        snprintf(F.wd.base, sizeof F.wd.base, "http://127.0.0.1:%d", port);
        const char *argv[] = {S_CHROMEDRIVER, port_arg, NULL};
        F.driver = s_spawn(argv, envp, F.driver_log, 1);
        if (F.driver < 0)
            return -1;
        s_driver_pid = F.driver;
        int ready = 0;
        int64_t deadline = harness_now_ms() + S_START_MS;
        while (!ready && harness_now_ms() < deadline) {
            json_t *v = s_wd_call_q(&F.wd, "GET", "!/status", NULL, 1);
            ready = json_is_true(json_object_get(v, "ready"));
            json_decref(v);
            if (!ready && s_reap(F.driver, 0) >= 0)
                break;
            if (!ready)
                harness_pause();
        }
        if (ready)
            break;
        kill(-F.driver, SIGKILL);
        s_reap(F.driver, S_STOP_MS);
        F.driver = s_driver_pid = 0;
    }
    if (!F.driver) {
        fprintf(stderr, "chromedriver did not start\n");
        s_dump("chromedriver", F.driver_log);
        return -1;
    }

    char profile_arg[HARNESS_PATH + 32], size_arg[64];
    snprintf(profile_arg, sizeof profile_arg, "--user-data-dir=%s", F.profile);
    snprintf(size_arg, sizeof size_arg, "--window-size=%d,%d", S_WIDTH, S_HEIGHT);
    json_t *args = json_pack("[s,s,s,s,s,s,s,s,s]", "--headless=new", profile_arg, size_arg, "--disable-gpu",
                             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                             "--disable-extensions", "--hide-scrollbars");
    if (geteuid() == 0)
        json_array_append_new(args, json_string("--no-sandbox"));
    json_t *caps = json_pack("{s:{s:{s:{s:s, s:o}, s:{s:i, s:i, s:i}}}}", "capabilities", "alwaysMatch",
                             "goog:chromeOptions", "binary", S_CHROMIUM, "args", args, "timeouts", "implicit", 0,
                             "pageLoad", S_HTTP_MS, "script", S_UI_MS);
    json_t *v = s_wd_call(&F.wd, "POST", "!/session", caps);
    const char *id = json_string_value(json_object_get(v, "sessionId"));
    if (id)
        snprintf(F.wd.session, sizeof F.wd.session, "%s", id);
    json_decref(v);
    if (!F.wd.session[0]) {
        s_dump("chromedriver", F.driver_log);
        return -1;
    }
    return s_window(&F.wd, S_WIDTH, S_HEIGHT);
}

/* Kills every process whose command line names this run's browser
 * profile (a browser helper that left chromedriver's process group), by
 * its pid. Returns how many it found. */
static int s_kill_profile_users(void)
{
    int found = 0;
    if (!F.profile[0])
        return 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == getpid())
            continue;
        char path[64], cmd[4096];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, cmd, sizeof cmd - 1);
        close(fd);
        if (n <= 0)
            continue;
        for (ssize_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, F.profile)) {
            kill((pid_t)pid, SIGKILL);
            found++;
        }
    }
    closedir(d);
    return found;
}

static int s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Ends the browser session, chromedriver and every browser process, and
 * removes the profile. Safe to call twice. */
static void s_stop_browser(void)
{
    if (F.wd.session[0]) {
        json_decref(s_wd_call_q(&F.wd, "DELETE", "", NULL, 1));
        F.wd.session[0] = '\0';
    }
    if (F.driver > 0) {
        kill(-F.driver, SIGTERM);
        if (s_reap(F.driver, S_STOP_MS) < 0) {
            kill(-F.driver, SIGKILL);
            s_reap(F.driver, S_STOP_MS);
        }
        kill(-F.driver, SIGKILL); /* its browser, when it outlived it */
        F.driver = s_driver_pid = 0;
    }
    /* as subreaper, orphaned browser processes are ours to reap (a zombie
     * has no command line, so it is not found again); hubd and
     * hub-console still run here and are waited for by pid elsewhere */
    int64_t deadline = harness_now_ms() + S_STOP_MS;
    while (s_kill_profile_users() > 0 && harness_now_ms() < deadline) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        harness_pause();
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (F.profile[0]) {
        nftw(F.profile, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        F.profile[0] = '\0';
    }
}

/* Stops hub-console with SIGTERM. Returns its exit status (-1: killed
 * after S_STOP_MS). */
static int s_stop_console(void)
{
    if (F.console <= 0)
        return 0;
    kill(F.console, SIGTERM);
    int st = s_reap(F.console, S_STOP_MS);
    if (st < 0) {
        kill(F.console, SIGKILL);
        s_reap(F.console, S_STOP_MS);
    }
    F.console = s_console_pid = 0;
    return st;
}

/* Publishes support's first cases and has finance's subscriber refuse one
 * for good, so that there is a dead letter. Returns 0 or -1. */
static int s_seed_hub(void)
{
    F.pub = harness_client(F.h, "support-desk");
    F.finance = harness_client(F.h, "finance-ledger");
    F.sales = harness_client(F.h, "sales-crm");
    if (!F.pub || !F.finance || !F.sales)
        return -1;
    const char *topics[] = {"finance.*", NULL};
    const char *sales_topics[] = {"sales.*", NULL};
    if (harness_subscribe(F.finance, "finance", topics, HUB_FROM_EARLIEST, 0, 10) != 0 ||
        harness_subscribe(F.sales, "sales", sales_topics, HUB_FROM_EARLIEST, 0, 10) != 0)
        return -1;
    for (size_t i = 0; i < sizeof s_seed_events / sizeof s_seed_events[0]; i++)
        if (harness_publish(F.pub, s_seed_events[i], NULL) != 0)
            return -1;
    static const char *const refused[][2] = {
        {S_DEAD_CASE, "ledger refused the record: customer UMB-1 is unknown"},
        {S_DISCARD_CASE, "ledger refused the record: HOOLI-9 is archived"},
    };
    for (size_t i = 0; i < 2; i++) {
        hub_notification_t *n = NULL;
        int rc = hub_receive(F.finance, &n, S_HUB_MS);
        if (rc != 1 || strcmp(hub_notification_case_id(n), refused[i][0]) != 0) {
            fprintf(stderr, "finance did not receive %s (hub_receive %d)\n", refused[i][0], rc);
            hub_notification_destroy(&n);
            return -1;
        }
        rc = hub_nack(F.finance, n, refused[i][1], 1);
        hub_notification_destroy(&n);
        if (rc != 0)
            return -1;
    }
    return harness_wait_sub(F.h, F.finance, "finance", "dead_letters", 2, S_HUB_MS) ? 0 : -1;
}

static int s_setup(void)
{
    harness_opts_t o = {0}; /* the sample policy: engineering answers within 4h */
    F.h = HARNESS_NEW(&o);
    if (!F.h || harness_start(F.h) != 0)
        return -1;
    s_hubd_pid = harness_pid(F.h);
    snprintf(s_dir, sizeof s_dir, "%s", harness_dir(F.h));
    F.wd.curl = curl_easy_init();
    if (!F.wd.curl)
        return -1;
    if (s_seed_hub() != 0)
        return -1;
    if (s_start_console() != 0)
        return -1;
    if (s_start_browser() != 0)
        return -1;
    F.ready = 1;
    return 0;
}

/* Signs in through the form. Returns 0 when #whoami shows user. */
static int s_sign_in(const char *user, const char *password)
{
    char whoami[64];
    snprintf(whoami, sizeof whoami, "%s", user);
    if (s_type(&F.wd, "#login-user", user) != 0 || s_type(&F.wd, "#login-password", password) != 0 ||
        s_click(&F.wd, "#login-submit") != 0)
        return -1;
    return s_wait_js(&F.wd, "the signed-in user's name in #whoami",
                     "var w = document.getElementById('whoami');"
                     "return !!w && w.getClientRects().length > 0 && w.textContent.indexOf(arguments[0]) === 0;",
                     json_pack("[s]", whoami), S_UI_MS)
               ? 0
               : -1;
}

/* ---------------------------------------------------------------- cases */

static void test_bad_login(void)
{
    REQUIRE(F.ready);
    char url[128];
    snprintf(url, sizeof url, "%s/", F.console_url);
    json_t *v = s_wd_call(&F.wd, "POST", "/url", json_pack("{s:s}", "url", url));
    REQUIRE(v);
    json_decref(v);
    REQUIRE(s_wait_visible(&F.wd, "#login-user"));
    REQUIRE(s_wait_visible(&F.wd, "#login-submit"));
    char *hidden = s_js_str(&F.wd, "return document.getElementById('topbar').hidden ? 'hidden' : 'shown';", NULL);
    CHECK_STR(hidden, "hidden"); /* no navigation before signing in */
    free(hidden);
    CHECK(s_screenshot(&F.wd, "login", 0) == 0);

    REQUIRE(s_type(&F.wd, "#login-user", "alice") == 0);
    REQUIRE(s_type(&F.wd, "#login-password", "not her password") == 0);
    REQUIRE(s_click(&F.wd, "#login-submit") == 0);
    REQUIRE(s_wait_visible(&F.wd, "#login-error"));
    char *error = s_text(&F.wd, "#login-error");
    CHECK(error && strlen(error) > 0);
    free(error);
    CHECK(s_wait_visible(&F.wd, "#login-user")); /* still on the form */
done:
    return;
}

static void test_login(void)
{
    REQUIRE(F.ready);
    REQUIRE(s_sign_in("alice", S_PASSWORD) == 0);
    /* alice is in engineering only: her inbox, no operations */
    REQUIRE(
        s_wait_js(&F.wd, "the engineering inbox", "return location.hash === '#/inbox/engineering';", NULL, S_UI_MS));
    char *ops = s_js_str(&F.wd, "return document.getElementById('nav-ops').hidden ? 'hidden' : 'shown';", NULL);
    CHECK_STR(ops, "hidden");
    free(ops);
    /* the two bug reports published before she signed in are listed */
    CHECK(s_wait_js(&F.wd, "CASE-2040 and CASE-2041 in the inbox",
                    "return !!document.querySelector('#inbox-list .inbox-item[data-case=\"CASE-2040\"]') &&"
                    " !!document.querySelector('#inbox-list .inbox-item[data-case=\"CASE-2041\"]');",
                    NULL, S_UI_MS));
    /* finance's complaint is not engineering's */
    json_t *n = s_js(
        &F.wd, "return document.querySelectorAll('#inbox-list .inbox-item[data-case=\"CASE-2043\"]').length;", NULL);
    CHECK(json_is_integer(n) && json_integer_value(n) == 0);
    json_decref(n);
done:
    return;
}

static void test_inbox_live(void)
{
    REQUIRE(F.ready);
    /* a mark in the page: a reload would lose it */
    json_decref(s_js(&F.wd, "window.sbMark = 'still-here'; return 1;", NULL));
    hub_publish_result_t res;
    REQUIRE(harness_publish(F.pub, s_live_event, &res) == 0);
    F.live_seq = res.seq;
    char css[128];
    snprintf(css, sizeof css, ".inbox-item[data-seq=\"%llu\"]", (unsigned long long)F.live_seq);
    REQUIRE(s_wait_js(&F.wd, "the new bug report in the inbox", "return !!document.querySelector(arguments[0]);",
                      json_pack("[s]", css), S_UI_MS));
    char *mark = s_js_str(&F.wd, "return window.sbMark || 'reloaded';", NULL);
    CHECK_STR(mark, "still-here");
    free(mark);
    char *text = s_text(&F.wd, css);
    CHECK_HAS(text, S_LIVE_CASE);
    CHECK_HAS(text, "Acme Corp");
    CHECK_HAS(text, S_LIVE_SUBJECT);
    CHECK_HAS(text, "defect"); /* the route */
    free(text);
    char *attr = s_js_str(&F.wd, "return document.querySelector(arguments[0]).getAttribute('data-case');",
                          json_pack("[s]", css));
    CHECK_STR(attr, S_LIVE_CASE);
    free(attr);
    /* engineering answers within 4h: a countdown that has not run out */
    char cd[160];
    snprintf(cd, sizeof cd, "%s .countdown", css);
    char *countdown = s_text(&F.wd, cd);
    CHECK_HAS(countdown, "left");
    char *past =
        s_js_str(&F.wd, "return document.querySelector(arguments[0]).classList.contains('past') ? 'past' : 'due';",
                 json_pack("[s]", cd));
    CHECK_STR(past, "due");
    free(past);
    free(countdown);
    /* newest first */
    char *first =
        s_js_str(&F.wd, "return document.querySelector('#inbox-list .inbox-item').getAttribute('data-case');", NULL);
    CHECK_STR(first, S_LIVE_CASE);
    free(first);
done:
    return;
}

static void test_answer(void)
{
    const char *const filters[] = {"--case", S_LIVE_CASE, NULL};
    REQUIRE(F.ready && F.live_seq);
    char css[128];
    snprintf(css, sizeof css, ".inbox-item[data-seq=\"%llu\"]", (unsigned long long)F.live_seq);
    REQUIRE(s_click(&F.wd, css) == 0);
    REQUIRE(s_wait_visible(&F.wd, "#detail"));
    REQUIRE(s_wait_js(&F.wd, "the event in #detail-event",
                      "var d = document.getElementById('detail-event');"
                      "return d.textContent.indexOf(arguments[0]) >= 0;",
                      json_pack("[s]", S_LIVE_CASE), S_UI_MS));
    char *event = s_text(&F.wd, "#detail-event");
    json_t *parsed = json_loads(event ? event : "", 0, NULL); /* pretty-printed JSON of the event */
    CHECK(json_is_object(parsed));
    CHECK_STR(json_string_value(json_object_get(parsed, "subject")), S_LIVE_SUBJECT);
    CHECK(json_object_get(parsed, "body") != NULL); /* engineering's route shows everything */
    json_decref(parsed);
    free(event);

    REQUIRE(s_select(&F.wd, "#answer-status", "in_progress") == 0);
    REQUIRE(s_type(&F.wd, "#answer-note", "Reproduced with a 3 GB project; fix planned for 2.3.1") == 0);
    CHECK(s_screenshot(&F.wd, "inbox", 0) == 0);
    REQUIRE(s_click(&F.wd, "#answer-submit") == 0);
    REQUIRE(s_wait_js(&F.wd, "the answer's result",
                      "var r = document.getElementById('answer-result');"
                      "return r.classList.contains('result-ok') || r.classList.contains('result-error');",
                      NULL, S_UI_MS));
    char *result = s_text(&F.wd, "#answer-result");
    char *ok = s_js_str(
        &F.wd, "return document.getElementById('answer-result').classList.contains('result-ok') ? 'ok' : 'error';",
        NULL);
    CHECK_STR(ok, "ok");
    CHECK_HAS(result, "in progress");
    free(ok);
    free(result);

    /* the hub stored the response under alice's name */
    REQUIRE(harness_wait_audit(F.h, filters, "responded", "engineering", 1, S_HUB_MS));
    json_t *rows = harness_audit(F.h, filters);
    json_t *row = harness_audit_find(rows, "responded", "engineering");
    const char *actor = json_string_value(json_object_get(row, "actor"));
    CHECK(actor && strncmp(actor, "alice@", 6) == 0);
    if (actor && strncmp(actor, "alice@", 6) != 0)
        fprintf(stderr, "[%s] responded by %s\n", check_case, actor);
    json_decref(rows);
    /* and the row shows the answer */
    char pill[160];
    snprintf(pill, sizeof pill, "%s .pill", css);
    char *shown = s_text(&F.wd, pill);
    CHECK_HAS(shown, "in progress");
    free(shown);
done:
    return;
}

static void test_case_board(void)
{
    REQUIRE(F.ready);
    /* finance's subscriber takes the live case (and acknowledges it) */
    hub_notification_t *n = NULL;
    REQUIRE(hub_receive(F.finance, &n, S_HUB_MS) == 1);
    CHECK_STR(hub_notification_case_id(n), S_LIVE_CASE);
    CHECK(hub_ack(F.finance, n) == 0);
    hub_notification_destroy(&n);

    REQUIRE(s_click(&F.wd, "#nav-case") == 0);
    /* part of a customer's name finds the one case alice may see of it */
    REQUIRE(s_type(&F.wd, "#case-search", "acme") == 0);
    REQUIRE(s_click(&F.wd, "#case-search-submit") == 0);
    CHECK(s_wait_js(&F.wd, "the case of customer acme",
                    "var c = document.getElementById('case-id');"
                    "return location.hash === '#/case/' + arguments[0] && c.textContent === arguments[0];",
                    json_pack("[s]", S_LIVE_CASE), S_UI_MS));
    /* and so does its case id */
    REQUIRE(s_type(&F.wd, "#case-search", S_LIVE_CASE) == 0);
    REQUIRE(s_click(&F.wd, "#case-search-submit") == 0);
    REQUIRE(s_wait_js(&F.wd, "engineering's column to say in progress",
                      "var s = document.querySelector('#case-board .case-column[data-department=\"engineering\"]"
                      " .case-state');"
                      "return !!s && s.getAttribute('data-state') === 'in_progress';",
                      NULL, S_UI_MS));
    char *state = s_text(&F.wd, "#case-board .case-column[data-department=\"engineering\"] .case-state");
    CHECK_HAS(state, "in progress");
    free(state);
    /* the bug report also reached finance (overdue) and sales (enterprise) */
    CHECK(s_wait_js(&F.wd, "finance's and sales's columns",
                    "return !!document.querySelector('.case-column[data-department=\"finance\"] .case-state') &&"
                    " !!document.querySelector('.case-column[data-department=\"sales\"] .case-state');",
                    NULL, S_UI_MS));
    char *customer = s_text(&F.wd, "#case-customer");
    CHECK_HAS(customer, "Acme Corp");
    free(customer);
    /* the history holds alice's response */
    CHECK(s_wait_js(&F.wd, "alice's response in #case-history",
                    "var rows = document.querySelectorAll('#case-history tbody tr');"
                    "for (var i = 0; i < rows.length; i++) {"
                    "  var t = rows[i].textContent;"
                    "  if (t.indexOf('responded') >= 0 && t.indexOf('alice@') >= 0) return true;"
                    "}"
                    "return false;",
                    NULL, S_UI_MS));
    CHECK(s_screenshot(&F.wd, "case", 1) == 0);
done:
    hub_notification_destroy(&n);
}

/* The data-seq of the dead letters table's row of case arguments[0], or
 * null. */
static const char *s_dead_row_js =
    "var rows = document.querySelectorAll('#deadletters .deadletter');"
    "for (var i = 0; i < rows.length; i++)"
    "  if (rows[i].textContent.indexOf(arguments[0]) >= 0) return rows[i].getAttribute('data-seq');"
    "return null;";

static void test_operator_redrive(void)
{
    const char *const filters[] = {"--action", "redriven", NULL};
    char *seq = NULL;
    hub_notification_t *n = NULL;
    REQUIRE(F.ready);
    REQUIRE(s_click(&F.wd, "#logout") == 0);
    REQUIRE(s_wait_visible(&F.wd, "#login-user"));
    REQUIRE(s_sign_in("olga", S_PASSWORD) == 0);
    REQUIRE(s_wait_visible(&F.wd, "#nav-ops"));

    /* finance sees the live case as its route allows: no body */
    REQUIRE(s_wait_js(&F.wd, "the finance inbox", "return location.hash === '#/inbox/finance';", NULL, S_UI_MS));
    REQUIRE(s_click(&F.wd, "#inbox-list .inbox-item[data-case=\"" S_LIVE_CASE "\"]") == 0);
    REQUIRE(s_wait_js(&F.wd, "the redacted event in #detail-event",
                      "return document.getElementById('detail-event').textContent.indexOf(arguments[0]) >= 0;",
                      json_pack("[s]", S_LIVE_CASE), S_UI_MS));
    char *event = s_text(&F.wd, "#detail-event");
    CHECK_HAS(event, "Acme Corp");
    CHECK(event && !strstr(event, "\"body\""));
    CHECK(event && !strstr(event, "87%"));
    free(event);

    REQUIRE(s_click(&F.wd, "#nav-ops") == 0);
    REQUIRE(s_wait_js(&F.wd, "finance's subscriber in #subscribers",
                      "return !!document.querySelector('#subscribers tbody tr[data-name=\"finance\"]');", NULL,
                      S_UI_MS));
    REQUIRE(s_wait_js(&F.wd, "the dead letters of " S_DEAD_CASE " and " S_DISCARD_CASE, s_dead_row_js,
                      json_pack("[s]", S_DISCARD_CASE), S_UI_MS));
    REQUIRE(s_wait_js(&F.wd, "the dead letter of " S_DEAD_CASE, s_dead_row_js, json_pack("[s]", S_DEAD_CASE), S_UI_MS));
    seq = s_js_str(&F.wd, s_dead_row_js, json_pack("[s]", S_DEAD_CASE));
    REQUIRE(seq && *seq);
    char row[96], css[160];
    snprintf(row, sizeof row, "#deadletters .deadletter[data-seq=\"%s\"]", seq);
    snprintf(css, sizeof css, "%s .dl-state", row);
    char *state = s_text(&F.wd, css);
    CHECK_STR(state, "open");
    free(state);
    char *reason = s_text(&F.wd, row);
    CHECK_HAS(reason, "ledger refused the record");
    free(reason);
    CHECK(s_wait_js(&F.wd, "the policy's sha256",
                    "return document.getElementById('policy-sha256').textContent.length === 64;", NULL, S_UI_MS));
    /* both subscribers are listed; sales has not acknowledged what it holds */
    CHECK(s_wait_js(&F.wd, "sales's subscriber in #subscribers",
                    "return !!document.querySelector('#subscribers tbody tr[data-name=\"sales\"]');", NULL, S_UI_MS));
    /* a dry run of the sample event: engineering's defect route, nothing stored */
    json_t *before = harness_status(F.h);
    uint64_t last_seq = harness_status_u64(before, "last_seq");
    json_decref(before);
    CHECK(s_click(&F.wd, "#dry-run-submit") == 0);
    CHECK(s_wait_js(&F.wd, "the dry run's routes in #dry-run-result",
                    "return document.getElementById('dry-run-result').textContent.indexOf('engineering.defect') >= 0;",
                    NULL, S_UI_MS));
    json_t *after = harness_status(F.h);
    CHECK_INT(harness_status_u64(after, "last_seq"), last_seq);
    json_decref(after);
    CHECK(s_screenshot(&F.wd, "ops", 1) == 0);

    snprintf(css, sizeof css, "%s .redrive", row);
    REQUIRE(s_click(&F.wd, css) == 0);
    snprintf(css, sizeof css, "%s .dl-state", row);
    REQUIRE(s_wait_js(&F.wd, "the dead letter to be re-driven",
                      "var s = document.querySelector(arguments[0]);"
                      "return !!s && s.textContent === 'redriven';",
                      json_pack("[s]", css), S_UI_MS));

    /* finance's subscriber receives the case again, as a new event */
    REQUIRE(hub_receive(F.finance, &n, S_HUB_MS) == 1);
    CHECK_STR(hub_notification_case_id(n), S_DEAD_CASE);
    CHECK_STR(hub_notification_topic(n), "finance.billing_flag");
    CHECK_HAS(hub_notification_event_id(n), "redrive:");
    CHECK(hub_ack(F.finance, n) == 0);
    /* under olga's name in the audit log */
    REQUIRE(harness_wait_audit(F.h, filters, "redriven", NULL, 1, S_HUB_MS));
    json_t *rows = harness_audit(F.h, filters);
    json_t *audit = harness_audit_find(rows, "redriven", NULL);
    const char *actor = json_string_value(json_object_get(audit, "actor"));
    CHECK(actor && strncmp(actor, "olga@", 5) == 0);
    json_decref(rows);
done:
    hub_notification_destroy(&n);
    free(seq);
}

static void test_operator_discard(void)
{
    const char *const filters[] = {"--action", "discarded", NULL};
    char *seq = NULL;
    REQUIRE(F.ready);
    REQUIRE(s_wait_js(&F.wd, "the dead letter of " S_DISCARD_CASE, s_dead_row_js, json_pack("[s]", S_DISCARD_CASE),
                      S_UI_MS));
    seq = s_js_str(&F.wd, s_dead_row_js, json_pack("[s]", S_DISCARD_CASE));
    REQUIRE(seq && *seq);
    char row[96], css[160];
    snprintf(row, sizeof row, "#deadletters .deadletter[data-seq=\"%s\"]", seq);
    /* the first click asks for a reason; without one nothing is sent */
    snprintf(css, sizeof css, "%s .discard", row);
    REQUIRE(s_click(&F.wd, css) == 0);
    snprintf(css, sizeof css, "%s .discard-reason", row);
    REQUIRE(s_wait_visible(&F.wd, css));
    snprintf(css, sizeof css, "%s .discard", row);
    REQUIRE(s_click(&F.wd, css) == 0);
    REQUIRE(s_wait_visible(&F.wd, "#status-line"));
    snprintf(css, sizeof css, "%s .dl-state", row);
    char *state = s_text(&F.wd, css);
    CHECK_STR(state, "open");
    free(state);
    /* with a reason it is discarded */
    snprintf(css, sizeof css, "%s .discard-reason", row);
    REQUIRE(s_type(&F.wd, css, "HOOLI-9 left us in 2025; nothing to book") == 0);
    snprintf(css, sizeof css, "%s .discard", row);
    REQUIRE(s_click(&F.wd, css) == 0);
    snprintf(css, sizeof css, "%s .dl-state", row);
    REQUIRE(s_wait_js(&F.wd, "the dead letter to be discarded",
                      "var s = document.querySelector(arguments[0]);"
                      "return !!s && s.textContent === 'discarded';",
                      json_pack("[s]", css), S_UI_MS));
    REQUIRE(harness_wait_audit(F.h, filters, "discarded", NULL, 1, S_HUB_MS));
    json_t *rows = harness_audit(F.h, filters);
    json_t *audit = harness_audit_find(rows, "discarded", NULL);
    const char *actor = json_string_value(json_object_get(audit, "actor"));
    CHECK(actor && strncmp(actor, "olga@", 5) == 0);
    char *detail = audit ? json_dumps(json_object_get(audit, "detail"), JSON_COMPACT) : NULL;
    CHECK_HAS(detail, "nothing to book");
    free(detail);
    json_decref(rows);

    /* "Show handled" lists both, in the state the console reports */
    REQUIRE(s_click(&F.wd, "#deadletters-all") == 0);
    CHECK(s_wait_js(&F.wd, "the handled dead letters from the console",
                    "var rows = document.querySelectorAll('#deadletters .deadletter');"
                    "var seen = {};"
                    "for (var i = 0; i < rows.length; i++)"
                    "  seen[rows[i].querySelector('.dl-state').textContent] = true;"
                    "return seen.redriven && seen.discarded && !seen.open;",
                    NULL, S_UI_MS));
done:
    free(seq);
}

int main(void)
{
    harness_require();
    if (access(S_CHROMIUM, X_OK) != 0 || access(S_CHROMEDRIVER, X_OK) != 0) {
        printf("skip: the browser test needs %s and %s (Debian: apt-get install chromium chromium-driver)\n",
               S_CHROMIUM, S_CHROMEDRIVER);
        return 77;
    }
    const char *console = getenv("HUB_CONSOLE");
    if (!console || access(console, X_OK) != 0) {
        printf("skip: HUB_CONSOLE is not set to the hub-console program (run through meson test)\n");
        return 77;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    signal(SIGHUP, s_on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    int64_t t0 = harness_now_ms();
    check_case = "setup";
    if (s_setup() != 0) {
        fprintf(stderr, "setup failed\n");
        check_failures++;
    }
    static const check_case_t cases[] = {
        {"bad_login", test_bad_login},
        {"login", test_login},
        {"inbox_live", test_inbox_live},
        {"answer", test_answer},
        {"case_board", test_case_board},
        {"operator_redrive", test_operator_redrive},
        {"operator_discard", test_operator_discard},
        {NULL, NULL},
    };
    int rc = check_run(cases);

    check_case = "teardown";
    int failures_before = check_failures;
    s_stop_browser();
    int st = s_stop_console();
    if (st != 0) {
        fprintf(stderr, "hub-console exited %d after SIGTERM\n", st);
        check_failures++;
    }
    if (check_failures > 0 && F.console_log[0])
        s_dump("hub-console", F.console_log);
    if (check_failures > 0 && F.driver_log[0] && F.ready == 0)
        s_dump("chromedriver", F.driver_log);
    hub_client_destroy(&F.sales);
    hub_client_destroy(&F.finance);
    hub_client_destroy(&F.pub);
    s_hubd_pid = 0;
    s_dir[0] = '\0';
    HARNESS_END(F.h);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    curl_easy_cleanup(F.wd.curl);
    curl_global_cleanup();
    printf("browser test took %.1f s\n", (double)(harness_now_ms() - t0) / 1000.0);
    if (check_failures > failures_before || check_failures > 0)
        rc = 1;
    return rc;
}
