/*
 * harness - the real hubd under test (see harness.h for the rules).
 */
#define HARNESS_NO_CHECK
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

extern char **environ;

#define HARNESS_MAX_EXTRA 16 /* extra hubd arguments */
#define HARNESS_LOG_TAIL 60  /* lines of hubd.log printed on failure */
#define HARNESS_MAX_ARGS 64  /* arguments of one hubctl run */

struct harness {
    char dir[HARNESS_PATH];         /* the private directory */
    char data[HARNESS_PATH];        /* hubd --data */
    char endpoint[HARNESS_PATH];    /* ipc://DIR/hub.sock */
    char tap[HARNESS_PATH];         /* ipc://DIR/tap.sock */
    char policy[HARNESS_PATH];      /* DIR/policy.yaml */
    char config[HARNESS_PATH];      /* DIR/hub.yaml, or "" for none */
    char log[HARNESS_PATH];         /* DIR/hubd.log */
    char scratch[HARNESS_PATH];     /* last path from harness_write_file */
    char *extra[HARNESS_MAX_EXTRA]; /* extra hubd arguments (owned) */
    size_t nextra;                  /* entries in extra */
    pid_t pid;                      /* running hubd, 0 when none */
    int last_exit;                  /* exit status of the last hubd reaped */
    int failures_at_start;          /* the test's failure count at harness_new */
    hub_client_t *admin;            /* client for status requests (owned) */
};

struct harness_raw {
    void *ctx;  /* ZeroMQ context (owned) */
    void *sock; /* DEALER (owned) */
};

/* ------------------------------------------------------------ helpers */

int64_t harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_pause(void)
{
    poll(NULL, 0, HARNESS_POLL_MS);
}

const char *harness_source_root(void)
{
    const char *root = getenv("HUB_SOURCE_ROOT");
    return root && *root ? root : NULL;
}

char *harness_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "harness: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(text);
    int rc = fwrite(text, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

static int s_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

size_t harness_count_lines(const char *text)
{
    size_t n = 0;
    if (!text)
        return 0;
    for (const char *p = text; *p; p++)
        if (*p == '\n')
            n++;
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] != '\n')
        n++;
    return n;
}

/* Sanitizer reports found in hubctl runs since the last harness_destroy. */
static int s_ctl_reports;

/* 1 when text holds a sanitizer's report (the program may have gone on:
 * UBSan does by default). */
static int s_has_sanitizer_report(const char *text)
{
    return text && (strstr(text, "runtime error:") || strstr(text, "AddressSanitizer") ||
                    strstr(text, "LeakSanitizer") || strstr(text, "UndefinedBehaviorSanitizer"));
}

/* ------------------------------------------------------------ the hub */

void harness_require(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *hubd = getenv("HUBD");
    if (!hubd || !*hubd) {
        printf("skip: HUBD is not set (run through meson test)\n");
        exit(77);
    }
    if (access(hubd, X_OK) != 0) {
        printf("skip: HUBD=%s is not executable\n", hubd);
        exit(77);
    }
}

harness_t *harness_new(const harness_opts_t *opts, int failures_now)
{
    harness_opts_t none = {0};
    if (!opts)
        opts = &none;
    harness_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->failures_at_start = failures_now;

    /* ipc paths must fit in sun_path (108 bytes): fall back to /tmp when
     * TMPDIR is long. */
    const char *base = getenv("TMPDIR");
    if (!base || !*base || strlen(base) > 60)
        base = "/tmp";
    snprintf(self->dir, sizeof self->dir, "%s/hubtest-XXXXXX", base);
    if (!mkdtemp(self->dir)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", self->dir, strerror(errno));
        free(self);
        return NULL;
    }
    if (opts->data_dir)
        snprintf(self->data, sizeof self->data, "%s", opts->data_dir);
    else
        snprintf(self->data, sizeof self->data, "%s/data", self->dir);
    if (opts->endpoint)
        snprintf(self->endpoint, sizeof self->endpoint, "%s", opts->endpoint);
    else
        snprintf(self->endpoint, sizeof self->endpoint, "ipc://%s/hub.sock", self->dir);
    snprintf(self->tap, sizeof self->tap, "ipc://%s/tap.sock", self->dir);
    snprintf(self->policy, sizeof self->policy, "%s/policy.yaml", self->dir);
    snprintf(self->log, sizeof self->log, "%s/hubd.log", self->dir);

    int ok = 1;
    if (opts->policy_text) {
        ok = s_write_file(self->policy, opts->policy_text) == 0;
    } else {
        const char *root = harness_source_root();
        char sample[HARNESS_PATH * 2];
        snprintf(sample, sizeof sample, "%s/deploy/policy.yaml", root ? root : ".");
        char *text = harness_read_file(sample);
        if (!text)
            fprintf(stderr, "harness: cannot read the sample policy %s (HUB_SOURCE_ROOT)\n", sample);
        ok = text && s_write_file(self->policy, text) == 0;
        free(text);
    }
    if (ok && opts->config_text) {
        snprintf(self->config, sizeof self->config, "%s/hub.yaml", self->dir);
        ok = s_write_file(self->config, opts->config_text) == 0;
    }
    for (size_t i = 0; ok && opts->extra_args && opts->extra_args[i]; i++) {
        if (self->nextra == HARNESS_MAX_EXTRA || !(self->extra[self->nextra++] = strdup(opts->extra_args[i])))
            ok = 0;
    }
    if (!ok) {
        harness_destroy(&self, failures_now);
        return NULL;
    }
    return self;
}

int harness_destroy(harness_t **self_p, int failures_now)
{
    if (!self_p || !*self_p)
        return 0;
    harness_t *self = *self_p;
    int problems = 0;
    hub_client_destroy(&self->admin);
    if (self->pid > 0) {
        int rc = harness_stop(self);
        if (rc != 0) {
            fprintf(stderr, "harness: hubd did not stop cleanly on SIGTERM: status %d\n", rc);
            problems++;
        }
    }
    char *log = harness_read_file(self->log);
    if (s_has_sanitizer_report(log)) {
        fprintf(stderr, "harness: hubd.log holds a sanitizer report\n");
        problems++;
    }
    free(log);
    if (s_ctl_reports) {
        fprintf(stderr, "harness: %d hubctl run(s) printed a sanitizer report\n", s_ctl_reports);
        problems += s_ctl_reports;
        s_ctl_reports = 0;
    }
    if (problems || failures_now > self->failures_at_start)
        harness_dump_log(self);
    const char *keep = getenv("HARNESS_KEEP");
    if (keep && *keep == '1')
        fprintf(stderr, "harness: kept %s\n", self->dir);
    else
        nftw(self->dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < self->nextra; i++)
        free(self->extra[i]);
    free(self);
    *self_p = NULL;
    return problems;
}

static int s_reap(harness_t *self, int options)
{
    int status = 0;
    pid_t got;
    do {
        got = waitpid(self->pid, &status, options);
    } while (got < 0 && errno == EINTR);
    if (got == self->pid) {
        self->last_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        self->pid = 0;
        return 1;
    }
    if (got < 0) {
        self->last_exit = -1;
        self->pid = 0;
        return 1;
    }
    return 0;
}

int harness_alive(harness_t *self)
{
    if (self->pid <= 0)
        return 0;
    return !s_reap(self, WNOHANG);
}

int harness_start(harness_t *self)
{
    if (self->pid > 0) {
        fprintf(stderr, "harness: hubd already runs (pid %d)\n", (int)self->pid);
        return -1;
    }
    const char *hubd = getenv("HUBD");
    const char *argv[32 + HARNESS_MAX_EXTRA];
    size_t n = 0;
    argv[n++] = hubd;
    argv[n++] = "--data";
    argv[n++] = self->data;
    argv[n++] = "--endpoint";
    argv[n++] = self->endpoint;
    argv[n++] = "--tap";
    argv[n++] = self->tap;
    argv[n++] = "--policy";
    argv[n++] = self->policy;
    if (self->config[0]) {
        argv[n++] = "--config";
        argv[n++] = self->config;
    }
    for (size_t i = 0; i < self->nextra; i++)
        argv[n++] = self->extra[i];
    argv[n] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, self->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* a line in the log between two runs of hubd on the same data */
    FILE *logf = fopen(self->log, "a");
    if (logf) {
        fprintf(logf, "---- harness: starting hubd\n");
        fclose(logf);
    }
    pid_t pid;
    int rc = posix_spawn(&pid, hubd, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "harness: cannot start %s: %s\n", hubd, strerror(rc));
        return -1;
    }
    self->pid = pid;

    /* ready when a fresh client gets a Welcome */
    char err[HUB_ERR_LEN] = "";
    hub_options_t o = {
        .endpoint = self->endpoint, .client_name = "harness-ready", .timeout_ms = 1000, .heartbeat_ms = 200};
    hub_client_t *c = hub_client_new(&o, err);
    if (!c) {
        fprintf(stderr, "harness: hub_client_new: %s\n", err);
        return -1;
    }
    int64_t deadline = harness_now_ms() + HARNESS_READY_MS;
    int ready = 0;
    while (!ready && harness_now_ms() < deadline) {
        if (!harness_alive(self))
            break;
        ready = hub_client_ping(c, 250) == 0;
    }
    hub_client_destroy(&c);
    if (!ready) {
        if (self->pid > 0)
            fprintf(stderr, "harness: hubd did not answer a ping within %d ms\n", HARNESS_READY_MS);
        else
            fprintf(stderr, "harness: hubd exited at start with status %d\n", self->last_exit);
        harness_dump_log(self);
        return -1;
    }
    return 0;
}

int harness_stop(harness_t *self)
{
    if (self->pid <= 0)
        return self->last_exit;
    kill(self->pid, SIGTERM);
    int64_t deadline = harness_now_ms() + HARNESS_STOP_MS;
    while (harness_now_ms() < deadline) {
        if (s_reap(self, WNOHANG))
            return self->last_exit;
        harness_pause();
    }
    fprintf(stderr, "harness: hubd did not exit within %d ms of SIGTERM; killing it\n", HARNESS_STOP_MS);
    kill(self->pid, SIGKILL);
    s_reap(self, 0);
    return -1;
}

int harness_kill(harness_t *self)
{
    if (self->pid <= 0)
        return -1;
    kill(self->pid, SIGKILL);
    s_reap(self, 0);
    return 0;
}

int harness_signal(harness_t *self, int sig)
{
    if (self->pid <= 0)
        return -1;
    return kill(self->pid, sig);
}

long harness_rss_kb(const harness_t *self)
{
    if (self->pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)self->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

int harness_write_policy(harness_t *self, const char *text)
{
    return s_write_file(self->policy, text);
}

const char *harness_write_file(harness_t *self, const char *name, const char *text)
{
    snprintf(self->scratch, sizeof self->scratch, "%s/%s", self->dir, name);
    return s_write_file(self->scratch, text) == 0 ? self->scratch : NULL;
}

const char *harness_dir(const harness_t *self)
{
    return self->dir;
}

const char *harness_endpoint(const harness_t *self)
{
    return self->endpoint;
}

const char *harness_tap(const harness_t *self)
{
    return self->tap;
}

const char *harness_policy_path(const harness_t *self)
{
    return self->policy;
}

const char *harness_log_path(const harness_t *self)
{
    return self->log;
}

pid_t harness_pid(const harness_t *self)
{
    return self->pid;
}

long harness_log_size(const harness_t *self)
{
    struct stat st;
    return stat(self->log, &st) == 0 ? (long)st.st_size : 0;
}

int harness_wait_log(const harness_t *self, long from, const char *needle, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        char *text = harness_read_file(self->log);
        int found = text && (long)strlen(text) > from && strcasestr(text + from, needle) != NULL;
        free(text);
        if (found)
            return 1;
        if (harness_now_ms() >= deadline)
            return 0;
        harness_pause();
    }
}

void harness_dump_log(const harness_t *self)
{
    char *text = harness_read_file(self->log);
    if (!text) {
        fprintf(stderr, "harness: no hubd log at %s\n", self->log);
        return;
    }
    size_t len = strlen(text), lines = 0;
    const char *start = text;
    for (size_t i = len; i > 0; i--) {
        if (text[i - 1] == '\n' && i != len && ++lines == HARNESS_LOG_TAIL) {
            start = text + i;
            break;
        }
    }
    fprintf(stderr, "---- tail of hubd.log (%s)\n%s%s---- end of hubd.log\n", self->log, start,
            len && text[len - 1] != '\n' ? "\n" : "");
    free(text);
}

/* ---------------------------------------------------------- libhub side */

hub_client_t *harness_client(harness_t *self, const char *name)
{
    char err[HUB_ERR_LEN] = "";
    hub_options_t o = {.endpoint = self->endpoint, .client_name = name, .timeout_ms = 10000, .heartbeat_ms = 200};
    hub_client_t *c = hub_client_new(&o, err);
    if (!c)
        fprintf(stderr, "harness: hub_client_new(%s): %s\n", name, err);
    return c;
}

json_t *harness_status_via(harness_t *self, hub_client_t *via)
{
    if (!via && !self->admin && !(self->admin = harness_client(self, "harness-status")))
        return NULL;
    char *text = NULL;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_status(via ? via : self->admin, &text, 5000, err);
    if (rc != 0) {
        fprintf(stderr, "harness: hub_status: %s (%s)\n", hub_strerror(rc), err);
        free(text);
        return NULL;
    }
    json_error_t jerr;
    json_t *status = json_loads(text ? text : "", 0, &jerr);
    if (!status)
        fprintf(stderr, "harness: status is not JSON (%s): %s\n", jerr.text, text ? text : "(null)");
    free(text);
    return status;
}

static uint64_t s_json_u64(const json_t *v)
{
    if (json_is_integer(v))
        return (uint64_t)json_integer_value(v);
    if (json_is_real(v))
        return (uint64_t)json_real_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    if (json_is_true(v))
        return 1;
    return 0;
}

uint64_t harness_status_u64(const json_t *status, const char *key)
{
    return s_json_u64(json_object_get(status, key));
}

const char *harness_status_str(const json_t *status, const char *key)
{
    const char *s = json_string_value(json_object_get(status, key));
    return s ? s : "";
}

int harness_sub_u64(const json_t *status, const char *name, const char *key, uint64_t *out)
{
    const json_t *subs = json_object_get(status, "subscribers");
    size_t i;
    const json_t *sub;
    json_array_foreach(subs, i, sub)
    {
        const char *n = json_string_value(json_object_get(sub, "name"));
        if (n && strcmp(n, name) == 0) {
            *out = s_json_u64(json_object_get(sub, key));
            return 1;
        }
    }
    *out = 0;
    return 0;
}

static int s_wait_sub(harness_t *self, hub_client_t *via, const char *name, const char *key, uint64_t value,
                      int at_least, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    uint64_t seen = 0;
    int listed = 0;
    for (;;) {
        json_t *st = harness_status_via(self, via);
        if (st) {
            listed = harness_sub_u64(st, name, key, &seen);
            json_decref(st);
            if (listed && (seen == value || (at_least && seen > value)))
                return 1;
        }
        if (harness_now_ms() >= deadline)
            break;
        harness_pause();
    }
    fprintf(stderr, "harness: subscriber %s: %s is %llu%s after %d ms, expected %s%llu\n", name, key,
            (unsigned long long)seen, listed ? "" : " (not listed)", timeout_ms, at_least ? ">= " : "",
            (unsigned long long)value);
    return 0;
}

int harness_wait_sub(harness_t *self, hub_client_t *via, const char *name, const char *key, uint64_t value,
                     int timeout_ms)
{
    return s_wait_sub(self, via, name, key, value, 0, timeout_ms);
}

int harness_wait_sub_ge(harness_t *self, hub_client_t *via, const char *name, const char *key, uint64_t value,
                        int timeout_ms)
{
    return s_wait_sub(self, via, name, key, value, 1, timeout_ms);
}

int harness_wait_status(harness_t *self, const char *key, uint64_t value, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    uint64_t seen = 0;
    for (;;) {
        json_t *st = harness_status(self);
        if (st) {
            seen = harness_status_u64(st, key);
            json_decref(st);
            if (seen == value)
                return 1;
        }
        if (harness_now_ms() >= deadline)
            break;
        harness_pause();
    }
    fprintf(stderr, "harness: status %s is %llu after %d ms, expected %llu\n", key, (unsigned long long)seen,
            timeout_ms, (unsigned long long)value);
    return 0;
}

int harness_publish(hub_client_t *c, const char *json, hub_publish_result_t *res)
{
    hub_publish_result_t local;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_publish(c, json, res ? res : &local, 10000, err);
    if (rc != 0)
        fprintf(stderr, "harness: publish failed: %s: %s\n  event: %.300s\n", hub_strerror(rc), err, json);
    return rc;
}

static void s_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

size_t harness_collect(hub_client_t *c, harness_got_t *out, size_t want, int ack, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    size_t n = 0;
    while (n < want) {
        int64_t left = deadline - harness_now_ms();
        if (left <= 0)
            break;
        hub_notification_t *note = NULL;
        int rc = hub_receive(c, &note, (int)left);
        if (rc < 0) {
            fprintf(stderr, "harness: hub_receive: %s\n", hub_strerror(rc));
            break;
        }
        if (rc == 0)
            continue;
        harness_got_t *g = &out[n++];
        memset(g, 0, sizeof *g);
        g->seq = hub_notification_seq(note);
        g->slot = hub_notification_slot(note);
        g->attempt = hub_notification_attempt(note);
        s_copy(g->topic, sizeof g->topic, hub_notification_topic(note));
        s_copy(g->route, sizeof g->route, hub_notification_route(note));
        s_copy(g->event_id, sizeof g->event_id, hub_notification_event_id(note));
        s_copy(g->case_id, sizeof g->case_id, hub_notification_case_id(note));
        const char *json = hub_notification_json(note);
        g->json = strdup(json ? json : "");
        if (ack) {
            rc = hub_ack(c, note);
            if (rc != 0)
                fprintf(stderr, "harness: hub_ack: %s\n", hub_strerror(rc));
        }
        hub_notification_destroy(&note);
    }
    return n;
}

void harness_got_free(harness_got_t *got, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(got[i].json);
        got[i].json = NULL;
    }
}

int harness_subscribe(hub_client_t *c, const char *name, const char *const *topics, hub_from_t from, uint64_t from_seq,
                      uint32_t credit)
{
    size_t n = 0;
    while (topics[n])
        n++;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_subscribe(c, name, topics, n, from, from_seq, credit, 10000, err);
    if (rc != 0)
        fprintf(stderr, "harness: subscribe %s: %s: %s\n", name, hub_strerror(rc), err);
    return rc;
}

/* ------------------------------------------------------------- hubctl */

void harness_run_free(harness_run_t *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

typedef struct {
    char *buf;
    size_t len, cap;
} s_sink_t;

static void s_sink_add(s_sink_t *s, const char *data, size_t len)
{
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->len + len + 1)
            cap *= 2;
        char *bigger = realloc(s->buf, cap);
        if (!bigger)
            return;
        s->buf = bigger;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
}

static char *s_sink_take(s_sink_t *s)
{
    if (!s->buf)
        return strdup("");
    return s->buf;
}

struct harness_ctl {
    pid_t pid;         /* the hubctl process */
    int in_fd;         /* its stdin (write end), -1 when closed */
    int out_fd;        /* its stdout (read end), -1 at EOF */
    int err_fd;        /* its stderr (read end), -1 at EOF */
    const char *feed;  /* stdin text not yet written (not owned) */
    size_t feed_len;   /* bytes of it */
    s_sink_t out, err; /* collected output */
    int reaped;        /* 1: status holds its exit */
    int status;        /* exit code or 128 + signal */
};

/* Closes *fd when open. */
static void s_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Starts program (the path in env variable 'var') with --hub first when
 * self is given. */
static harness_ctl_t *s_spawn(const char *var, harness_t *self, const char *stdin_text, const char *const *args)
{
    const char *hubctl = getenv(var);
    if (!hubctl || !*hubctl) {
        fprintf(stderr, "harness: %s is not set\n", var);
        return NULL;
    }
    harness_ctl_t *ctl = calloc(1, sizeof *ctl);
    if (!ctl)
        return NULL;
    ctl->in_fd = ctl->out_fd = ctl->err_fd = -1;
    const char *argv[HARNESS_MAX_ARGS + 4];
    size_t n = 0;
    argv[n++] = hubctl;
    if (self) {
        argv[n++] = "--hub";
        argv[n++] = self->endpoint;
    }
    for (size_t i = 0; args[i] && n < HARNESS_MAX_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    /* environment: ours, with HUB_TAP and HUB_ENDPOINT set to the harness */
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **envp = calloc(nenv + 3, sizeof *envp);
    char tapvar[HARNESS_PATH + 16], epvar[HARNESS_PATH + 16];
    if (!envp) {
        free(ctl);
        return NULL;
    }
    size_t m = 0;
    for (size_t i = 0; i < nenv; i++) {
        if (strncmp(environ[i], "HUB_TAP=", 8) == 0 || strncmp(environ[i], "HUB_ENDPOINT=", 13) == 0)
            continue;
        envp[m++] = environ[i];
    }
    if (self) {
        snprintf(tapvar, sizeof tapvar, "HUB_TAP=%s", self->tap);
        snprintf(epvar, sizeof epvar, "HUB_ENDPOINT=%s", self->endpoint);
        envp[m++] = tapvar;
        envp[m++] = epvar;
    }
    envp[m] = NULL;

    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc = -1;
    if (pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        rc = posix_spawn(&ctl->pid, hubctl, &fa, NULL, (char *const *)argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            fprintf(stderr, "harness: cannot run %s: %s\n", hubctl, strerror(rc));
    }
    free(envp);
    s_close(&in[0]);
    s_close(&out[1]);
    s_close(&err[1]);
    if (rc != 0) {
        s_close(&in[1]);
        s_close(&out[0]);
        s_close(&err[0]);
        free(ctl);
        return NULL;
    }
    ctl->in_fd = in[1];
    ctl->out_fd = out[0];
    ctl->err_fd = err[0];
    ctl->feed = stdin_text ? stdin_text : "";
    ctl->feed_len = strlen(ctl->feed);
    fcntl(ctl->in_fd, F_SETFL, O_NONBLOCK);
    if (ctl->feed_len == 0)
        s_close(&ctl->in_fd);
    return ctl;
}

harness_ctl_t *harness_ctl_spawn(harness_t *self, const char *stdin_text, const char *const *args)
{
    return s_spawn("HUBCTL", self, stdin_text, args);
}

/* Moves data between the child's pipes and ours for up to timeout_ms, or
 * until both outputs are at EOF. */
static void s_ctl_io(harness_ctl_t *ctl, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    while (ctl->out_fd >= 0 || ctl->err_fd >= 0) {
        int64_t left = deadline - harness_now_ms();
        if (left < 0)
            left = 0;
        struct pollfd pfd[3];
        int np = 0, i_out = -1, i_err = -1, i_in = -1;
        if (ctl->out_fd >= 0) {
            pfd[np] = (struct pollfd){.fd = ctl->out_fd, .events = POLLIN};
            i_out = np++;
        }
        if (ctl->err_fd >= 0) {
            pfd[np] = (struct pollfd){.fd = ctl->err_fd, .events = POLLIN};
            i_err = np++;
        }
        if (ctl->in_fd >= 0) {
            pfd[np] = (struct pollfd){.fd = ctl->in_fd, .events = POLLOUT};
            i_in = np++;
        }
        int pr = poll(pfd, (nfds_t)np, (int)left);
        if (pr < 0 && errno != EINTR)
            return;
        if (pr <= 0) {
            if (left == 0)
                return;
            continue;
        }
        char buf[4096];
        if (i_out >= 0 && pfd[i_out].revents) {
            ssize_t got = read(ctl->out_fd, buf, sizeof buf);
            if (got > 0)
                s_sink_add(&ctl->out, buf, (size_t)got);
            else if (got == 0 || errno != EINTR)
                s_close(&ctl->out_fd);
        }
        if (i_err >= 0 && pfd[i_err].revents) {
            ssize_t got = read(ctl->err_fd, buf, sizeof buf);
            if (got > 0)
                s_sink_add(&ctl->err, buf, (size_t)got);
            else if (got == 0 || errno != EINTR)
                s_close(&ctl->err_fd);
        }
        if (i_in >= 0 && pfd[i_in].revents) {
            ssize_t put = write(ctl->in_fd, ctl->feed, ctl->feed_len);
            if (put > 0) {
                ctl->feed += put;
                ctl->feed_len -= (size_t)put;
            }
            if ((put < 0 && errno != EAGAIN && errno != EINTR) || ctl->feed_len == 0)
                s_close(&ctl->in_fd);
        }
    }
}

static void s_ctl_reap(harness_ctl_t *ctl, int options)
{
    if (ctl->reaped)
        return;
    int status = 0;
    pid_t got;
    do {
        got = waitpid(ctl->pid, &status, options);
    } while (got < 0 && errno == EINTR);
    if (got == ctl->pid) {
        ctl->reaped = 1;
        ctl->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else if (got < 0) {
        ctl->reaped = 1;
        ctl->status = -1;
    }
}

int harness_ctl_exited(harness_ctl_t *ctl, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        s_ctl_io(ctl, 0);
        s_ctl_reap(ctl, WNOHANG);
        if (ctl->reaped)
            return 1;
        if (harness_now_ms() >= deadline)
            return 0;
        harness_pause();
    }
}

int harness_ctl_finish(harness_ctl_t **ctl_p, harness_run_t *run, int timeout_ms)
{
    memset(run, 0, sizeof *run);
    run->status = -1;
    harness_ctl_t *ctl = *ctl_p;
    if (!ctl)
        return -1;
    s_ctl_io(ctl, timeout_ms);
    if (ctl->out_fd >= 0 || ctl->err_fd >= 0) {
        fprintf(stderr, "harness: hubctl did not finish within %d ms; killing it\n", timeout_ms);
        kill(ctl->pid, SIGKILL);
        s_ctl_io(ctl, 1000);
    }
    s_ctl_reap(ctl, 0);
    s_close(&ctl->in_fd);
    s_close(&ctl->out_fd);
    s_close(&ctl->err_fd);
    run->status = ctl->status;
    run->out = s_sink_take(&ctl->out);
    run->err = s_sink_take(&ctl->err);
    if (s_has_sanitizer_report(run->err)) {
        fprintf(stderr, "harness: a sanitizer report from a run:\n%s\n", run->err);
        s_ctl_reports++;
    }
    free(ctl);
    *ctl_p = NULL;
    return run->status;
}

pid_t harness_ctl_pid(const harness_ctl_t *ctl)
{
    return ctl ? ctl->pid : -1;
}

const char *harness_ctl_output(harness_ctl_t *ctl, int timeout_ms)
{
    if (!ctl)
        return "";
    s_ctl_io(ctl, timeout_ms);
    return ctl->out.buf ? ctl->out.buf : "";
}

int harness_hubd_run(const char *const *args, harness_run_t *run)
{
    harness_ctl_t *ctl = s_spawn("HUBD", NULL, NULL, args);
    if (!ctl) {
        memset(run, 0, sizeof *run);
        run->status = -1;
        run->out = strdup("");
        run->err = strdup("cannot run hubd");
        return -1;
    }
    return harness_ctl_finish(&ctl, run, HARNESS_CTL_MS);
}

int harness_hubctl_argv(harness_t *self, const char *stdin_text, harness_run_t *run, const char *const *args)
{
    harness_ctl_t *ctl = harness_ctl_spawn(self, stdin_text, args);
    if (!ctl) {
        memset(run, 0, sizeof *run);
        run->status = -1;
        run->out = strdup("");
        run->err = strdup("cannot run hubctl");
        return -1;
    }
    return harness_ctl_finish(&ctl, run, HARNESS_CTL_MS);
}

int harness_hubctl(harness_t *self, const char *stdin_text, harness_run_t *run, ...)
{
    const char *args[HARNESS_MAX_ARGS + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, run);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < HARNESS_MAX_ARGS)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return harness_hubctl_argv(self, stdin_text, run, args);
}

/* ----------------------------------------------------------- raw DEALER */

harness_raw_t *harness_raw_new(const char *endpoint)
{
    harness_raw_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = zmq_ctx_new();
    self->sock = self->ctx ? zmq_socket(self->ctx, ZMQ_DEALER) : NULL;
    int linger = 0;
    if (!self->sock || zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(self->sock, endpoint) != 0) {
        fprintf(stderr, "harness: raw DEALER to %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        harness_raw_destroy(&self);
        return NULL;
    }
    return self;
}

void harness_raw_destroy(harness_raw_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    harness_raw_t *self = *self_p;
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

int harness_raw_send(harness_raw_t *self, const void *data, size_t len)
{
    /* a bounded wait for the connection: DEALER blocks with no peer */
    int timeout = 5000;
    zmq_setsockopt(self->sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    return zmq_send(self->sock, data, len, 0) == (int)len ? 0 : -1;
}

int harness_raw_send_frame(harness_raw_t *self, Hub__Frame *frame)
{
    size_t len = hub__frame__get_packed_size(frame);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return -1;
    hub__frame__pack(frame, buf);
    int rc = harness_raw_send(self, buf, len);
    free(buf);
    return rc;
}

int harness_raw_recv(harness_raw_t *self, Hub__Frame **frame_p, int timeout_ms)
{
    *frame_p = NULL;
    zmq_pollitem_t item = {.socket = self->sock, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, timeout_ms);
    if (rc <= 0)
        return 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return 0;
    }
    /* drop any further parts: the protocol has one frame per message */
    int more = zmq_msg_more(&msg);
    Hub__Frame *f = hub__frame__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    if (!f)
        return -1;
    *frame_p = f;
    return 1;
}

int harness_raw_expect(harness_raw_t *self, Hub__Frame__BodyCase kind, Hub__Frame **frame_p, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    *frame_p = NULL;
    for (;;) {
        int64_t left = deadline - harness_now_ms();
        if (left <= 0)
            return 0;
        Hub__Frame *f = NULL;
        int rc = harness_raw_recv(self, &f, (int)left);
        if (rc == 1 && f->body_case == kind) {
            *frame_p = f;
            return 1;
        }
        if (f)
            hub__frame__free_unpacked(f, NULL);
    }
}

int harness_raw_hello(harness_raw_t *self, int timeout_ms)
{
    Hub__Frame frame = HUB__FRAME__INIT;
    Hub__Hello hello = HUB__HELLO__INIT;
    hello.client = (char *)"harness-raw";
    frame.has_version = 1;
    frame.version = HUB_PROTOCOL_VERSION;
    frame.has_corr = 1;
    frame.corr = 1;
    frame.body_case = HUB__FRAME__BODY_HELLO;
    frame.hello = &hello;
    if (harness_raw_send_frame(self, &frame) != 0)
        return 0;
    Hub__Frame *reply = NULL;
    int ok = harness_raw_expect(self, HUB__FRAME__BODY_WELCOME, &reply, timeout_ms);
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    return ok;
}

/* ------------------------------------------------------------- audit */

const char *harness_data_dir(const harness_t *self)
{
    return self->data;
}

json_t *harness_audit(harness_t *self, const char *const *filters)
{
    const char *args[HARNESS_MAX_ARGS];
    size_t n = 0;
    args[n++] = "audit";
    args[n++] = "--data";
    args[n++] = self->data;
    args[n++] = "--json";
    for (size_t i = 0; filters && filters[i] && n + 1 < HARNESS_MAX_ARGS; i++)
        args[n++] = filters[i];
    args[n] = NULL;
    harness_run_t run = {0};
    if (harness_hubctl_argv(NULL, NULL, &run, args) != 0) {
        fprintf(stderr, "harness: hubctl audit exited with %d: %s\n", run.status, run.err ? run.err : "");
        harness_run_free(&run);
        return NULL;
    }
    json_t *rows = json_array();
    char *save = NULL;
    for (char *line = run.out ? strtok_r(run.out, "\n", &save) : NULL; rows && line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *row = json_loads(line, 0, &jerr);
        if (!json_is_object(row)) {
            fprintf(stderr, "harness: hubctl audit printed a line that is not a JSON object: %s\n", line);
            json_decref(row);
            json_decref(rows);
            rows = NULL;
            break;
        }
        json_array_append_new(rows, row);
    }
    harness_run_free(&run);
    return rows;
}

/* 1 when row has action and (department NULL or) department. */
const json_t *harness_audit_about(const json_t *row, const char *department)
{
    const char *d = json_string_value(json_object_get(row, "department"));
    const json_t *detail = json_object_get(row, "detail");
    if (d && strcmp(d, department) == 0)
        return detail;
    const json_t *list = json_object_get(detail, "notifications");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *n = json_array_get(list, i);
        const char *nd = json_string_value(json_object_get(n, "department"));
        if (nd && strcmp(nd, department) == 0)
            return n;
    }
    return NULL;
}

/* 1 when row is of action and about department (NULL: any). */
static int s_audit_match(const json_t *row, const char *action, const char *department)
{
    const char *a = json_string_value(json_object_get(row, "action"));
    return a && strcmp(a, action) == 0 && (!department || harness_audit_about(row, department));
}

size_t harness_audit_count(const json_t *rows, const char *action, const char *department)
{
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        count += (size_t)s_audit_match(json_array_get(rows, i), action, department);
    return count;
}

json_t *harness_audit_find(const json_t *rows, const char *action, const char *department)
{
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (s_audit_match(json_array_get(rows, i), action, department))
            return json_array_get(rows, i);
    return NULL;
}

int harness_wait_audit(harness_t *self, const char *const *filters, const char *action, const char *department,
                       size_t n, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    size_t seen = 0;
    for (;;) {
        json_t *rows = harness_audit(self, filters);
        seen = rows ? harness_audit_count(rows, action, department) : 0;
        json_decref(rows);
        if (seen >= n)
            return 1;
        if (harness_now_ms() >= deadline)
            break;
        harness_pause();
    }
    fprintf(stderr, "harness: after %d ms, %zu audit rows %s%s%s (wanted %zu)\n", timeout_ms, seen, action,
            department ? " for " : "", department ? department : "", n);
    return 0;
}
