/*
 * hub-bench - Switchboard's benchmark: a real hubd on a fresh data
 * directory (SQLite WAL, synchronous=FULL: the store's durable default),
 * driven through libhub the way departments and publishers use it.
 *
 *   hub-bench [--quick] [--runs N] [--only PHASE[,PHASE...]] [--hubd PATH]
 *             [--transport tcp|ipc] [--publishers N] [--tap on|off]
 *             [--config HUB.YAML] [--dir DIR] [--keep]
 *
 * Phases (all by default, in this order):
 *   throughput  200,000 events of 300 bytes from pipelined publishers
 *               (hub_publish_async / hub_publish_wait, one client per
 *               publisher thread), a policy that routes every event to 4
 *               departments, 4 durable subscribers (one client and thread
 *               each) acknowledging every notification. Figures: events/s
 *               acknowledged to the publishers after commit; acknowledged
 *               deliveries/s (until every subscriber acked every one);
 *               where the CPU went meanwhile (us per event for each of
 *               hubd's threads: its main thread, the loop, and the others
 *               by name; for this program's clients; how much of hubd's
 *               and of the clients' was in the kernel; the machine's busy
 *               share); hub.db's bytes per event once hubd stopped.
 *   latency     5,000 events/s for 10 s, paced on the monotonic clock;
 *               publish->ack and publish->subscriber p50, p99, p99.9. The
 *               send time travels in the event id.
 *   catchup     one department offline while 500,000 events are stored;
 *               then it subscribes again and reads its backlog (from disk
 *               but for the store's tail cache): notifications/s.
 *   memory      hubd's peak RSS (VmHWM) with a 100,000 and a 1,000,000
 *               notification backlog for an offline department.
 *   scaling     events/s for 1, 2, 4, 8 and 16 departments (300 B), and
 *               for 300 B, 4 KiB and 64 KiB events (4 departments).
 *
 * An event's size is the length of its JSON text as published.
 *
 * --runs N (1 to 9, default 1) runs each selected phase N times, each run
 * on a fresh hubd (scaling: each load of each run). Every figure is then the
 * median of its runs (the mean of the two middle ones for an even count);
 * a percentile's figure is the median of the runs' percentiles, not a
 * percentile of the pooled samples. Each run's values are printed as
 * comment lines as they come.
 *
 * Output: each figure as a row "PHASE METRIC VALUE [target ...]" (with
 * several runs "PHASE METRIC MEDIAN (min MIN, max MAX, K runs) [target
 * ...]", K being the runs that produced it), then one last line of JSON
 * with every figure (medians), "runs": N and, with several runs, "spans":
 * each figure's [min, max]. The program does not judge the
 * targets; it prints them beside the figures. Exit 0 when every phase ran,
 * 1 when one could not (the reason is printed, with the tail of hubd's
 * log), 2 for usage errors, 77 when there is no hubd to run.
 *
 * Every load is bounded by its count and by a deadline (generous: a phase
 * that hits it has failed, and says so).
 *
 * hubd is found through --hubd, else $HUBD (meson sets it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"

extern char **environ;

#define S_MAX_DEPTS 16           /* departments in one policy */
#define S_PATH 512               /* bytes of a path or endpoint */
#define S_CREDIT 1000            /* deliveries in flight per subscriber */
#define S_WINDOW 1000            /* pipelined publishes per publisher */
#define S_CALL_MS 10000          /* libhub call timeout */
#define S_READY_MS 15000         /* hubd must answer a ping within this */
#define S_STOP_MS 60000          /* and exit within this after SIGTERM */
#define S_RECV_MS 200            /* one hub_receive wait (abort checks) */
#define S_SETTLE_MS 15000        /* acks must reach the hub's positions within this */
#define S_LOG_TAIL 40            /* lines of hubd.log shown on failure */
#define S_MAX_ROWS 128           /* figures in all */
#define S_MAX_RUNS 9             /* --runs N: 1 .. S_MAX_RUNS */
#define S_NS 1000000000LL

/* ------------------------------------------------------------ settings */

typedef struct {
    int quick;                 /* counts / 10 */
    char only[256];            /* comma-separated phases, "" for all */
    const char *hubd;          /* hubd binary */
    int ipc;                   /* 1: ipc:// endpoint, else tcp://127.0.0.1 */
    int publishers;            /* publisher threads (1 or 2) */
    int tap;                   /* 1: hubd runs its PUB tap (its default) */
    const char *config;        /* hub.yaml given to hubd, or NULL */
    const char *base;          /* where temporary data directories go */
    int keep;                  /* 1: keep data directories */
    int runs;                  /* runs of each phase (1 .. S_MAX_RUNS) */
} s_opts_t;

static s_opts_t s_opt = {.publishers = 2, .tap = 1, .runs = 1};
static atomic_int s_abort;     /* set when one thread failed: the others stop */

/* ------------------------------------------------------------ helpers */

static int64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * S_NS + ts.tv_nsec;
}

static void s_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / S_NS), (long)(ns % S_NS)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t s_count(uint64_t full)
{
    uint64_t n = s_opt.quick ? full / 10 : full;
    return n ? n : 1;
}

/* A load's deadline: generous, so that only a stuck or broken hub hits it
 * (60 s, plus 1 s per 2,000 events). */
static int64_t s_deadline(uint64_t events)
{
    return s_now_ns() + (60 + (int64_t)(events / 2000)) * S_NS;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (q in [0,1]) of a sorted array; -1 when empty. */
static double s_pct_ms(const int64_t *v, size_t n, double q)
{
    if (n == 0)
        return -1.0;
    size_t i = (size_t)(q * (double)n);
    if (i >= n)
        i = n - 1;
    return (double)v[i] / 1e6;
}

/* Reads the decimal digits from p up to end (at least one, at most 19)
 * into *v. Returns 1, else 0. The benchmark's clients share the cores with
 * hubd: they read and write ids by hand, without strtoull and snprintf. */
static int s_digits(const char *p, const char *end, uint64_t *v)
{
    if (p >= end || end - p > 19)
        return 0;
    uint64_t x = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = x;
    return 1;
}

/* Parses an event id "TAG-INDEX-SENDNS". Returns 1 and fills both, else 0. */
static int s_parse_id(const char *id, uint64_t *index, int64_t *sent_ns)
{
    const char *last = strrchr(id, '-');
    if (!last || last == id)
        return 0;
    const char *p = last - 1;
    while (p > id && *p != '-')
        p--;
    uint64_t sent;
    if (*p != '-' || !s_digits(p + 1, last, index) || !s_digits(last + 1, last + 1 + strlen(last + 1), &sent))
        return 0;
    *sent_ns = (int64_t)sent;
    return 1;
}

/* Appends text to buf at *len. */
static void s_put_text(char *buf, size_t *len, const char *text)
{
    size_t n = strlen(text);
    memcpy(buf + *len, text, n);
    *len += n;
}

/* Appends v in decimal to buf at *len. */
static void s_put_u64(char *buf, size_t *len, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        buf[(*len)++] = digits[--n];
}

/* Writes an event of exactly 'size' bytes of JSON (more when the fixed
 * fields alone are longer) into buf (cap bytes: size and 512 hold it, the
 * fixed fields taking under 200 bytes besides a tag of 15). Returns its
 * length. */
static size_t s_event_json(char *buf, size_t cap, size_t size, const char *tag, uint64_t index, int64_t sent_ns)
{
    size_t len = 0;
    s_put_text(buf, &len, "{\"id\":\"");
    s_put_text(buf, &len, tag);
    buf[len++] = '-';
    s_put_u64(buf, &len, index);
    buf[len++] = '-';
    s_put_u64(buf, &len, (uint64_t)sent_ns);
    s_put_text(buf, &len, "\",\"type\":\"bench\",\"source\":\"bench\",\"case_id\":\"CASE-");
    s_put_u64(buf, &len, index);
    s_put_text(buf, &len, "\",\"subject\":\"benchmark event\",\"body\":\"");
    size_t body = size > len + 2 ? size - len - 2 : 0;
    if (len + body + 3 > cap)
        body = cap - len - 3;
    memset(buf + len, 'a' + (int)(index % 26), body);
    len += body;
    buf[len++] = '"';
    buf[len++] = '}';
    buf[len] = '\0';
    return len;
}

/* ------------------------------------------------------------ figures */

/* A figure and its value in every run that produced it. A phase's runs
 * report the same figures in the same order; a run that failed part-way
 * adds fewer values, which the row's count shows. */
typedef struct {
    char phase[16];            /* "throughput" */
    char metric[48];           /* "events/s" */
    double v[S_MAX_RUNS];      /* one per run that produced it, in run order */
    int n;                     /* values in v */
    int decimals;              /* digits printed after the point */
    char target[96];           /* "" when the figure has none */
} s_row_t;

static s_row_t s_rows[S_MAX_ROWS];
static size_t s_nrows;
static int s_run;              /* the run of the current phase, 1 .. s_opt.runs */

/* Median of n values (n >= 1, n <= S_MAX_RUNS): the middle one, or the
 * mean of the two middle ones when n is even. Fills min and max. */
static double s_median(const double *v, int n, double *min, double *max)
{
    double s[S_MAX_RUNS];
    memcpy(s, v, (size_t)n * sizeof *s);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
            double t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    *min = s[0];
    *max = s[n - 1];
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

static s_row_t *s_row_find(const char *phase, const char *metric)
{
    for (size_t i = 0; i < s_nrows; i++)
        if (strcmp(s_rows[i].phase, phase) == 0 && strcmp(s_rows[i].metric, metric) == 0)
            return &s_rows[i];
    return NULL;
}

/* Records the current run's value of a figure. With one run the row is
 * printed at once; with several, the run's value is printed as a comment
 * and the row (median, min, max) by s_print_phase once every run is done. */
static void s_figure(const char *phase, const char *metric, double value, int decimals, const char *target)
{
    s_row_t *r = s_row_find(phase, metric);
    if (!r && s_nrows < S_MAX_ROWS) {
        r = &s_rows[s_nrows++];
        memset(r, 0, sizeof *r);
        snprintf(r->phase, sizeof r->phase, "%s", phase);
        snprintf(r->metric, sizeof r->metric, "%s", metric);
        r->decimals = decimals;
        snprintf(r->target, sizeof r->target, "%s", target ? target : "");
    }
    if (r && r->n < S_MAX_RUNS)
        r->v[r->n++] = value;
    if (s_opt.runs > 1)
        printf("# run %d/%d %-11s %-30s %14.*f\n", s_run, s_opt.runs, phase, metric, decimals, value);
    else
        printf("%-11s %-30s %14.*f%s%s\n", phase, metric, decimals, value, target && *target ? "   target " : "",
               target ? target : "");
    fflush(stdout);
}

/* After a phase's runs (several): each of its figures as a row, the median
 * of the runs with the min, max and number of runs beside it. */
static void s_print_phase(const char *phase)
{
    if (s_opt.runs < 2)
        return;
    for (size_t i = 0; i < s_nrows; i++) {
        const s_row_t *r = &s_rows[i];
        if (strcmp(r->phase, phase) != 0 || r->n == 0)
            continue;
        double min, max, med = s_median(r->v, r->n, &min, &max);
        printf("%-11s %-30s %14.*f  (min %.*f, max %.*f, %d run%s)%s%s\n", r->phase, r->metric, r->decimals, med,
               r->decimals, min, r->decimals, max, r->n, r->n == 1 ? "" : "s", *r->target ? "   target " : "",
               r->target);
    }
    fflush(stdout);
}

/* ------------------------------------------------------------ the hub */

typedef struct {
    char dir[S_PATH];          /* private temporary directory */
    char data[S_PATH + 16];    /* hubd --data */
    char endpoint[S_PATH + 16];/* clients */
    char tap[S_PATH + 16];     /* hubd --tap */
    char policy[S_PATH + 16];  /* hubd --policy */
    char log[S_PATH + 16];     /* hubd's stderr */
    pid_t pid;                 /* running hubd; 0 when none */
    int ndepts;                /* departments in the policy */
    long long db_bytes;        /* hub.db's size once hubd stopped cleanly (its WAL copied in), else -1 */
} s_hub_t;

/* The name of department i: the sample's four, then dept05 and on. */
static void s_dept_name(int i, char name[32])
{
    static const char *const first[] = {"engineering", "finance", "shipping", "sales"};
    if (i < 4)
        snprintf(name, 32, "%s", first[i]);
    else
        snprintf(name, 32, "dept%02d", i + 1);
}

static int s_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A policy routing every event of type "bench" to each of ndepts
 * departments: topic "<department>.event". */
static int s_write_policy(const char *path, int ndepts)
{
    char text[8192], name[32];
    size_t len = (size_t)snprintf(text, sizeof text, "departments:\n");
    for (int i = 0; i < ndepts; i++) {
        s_dept_name(i, name);
        len += (size_t)snprintf(text + len, sizeof text - len, "  %s: {}\n", name);
    }
    len += (size_t)snprintf(text + len, sizeof text - len, "routes:\n");
    for (int i = 0; i < ndepts; i++) {
        s_dept_name(i, name);
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "  - name: to-%s\n    match: { type: bench }\n    notify: %s\n    kind: event\n", name,
                                name);
    }
    return len < sizeof text ? s_write_text(path, text) : -1;
}

/* A TCP port on 127.0.0.1 that was free a moment ago. Returns it or -1. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void s_dump_log(const s_hub_t *hub)
{
    FILE *f = fopen(hub->log, "r");
    if (!f)
        return;
    char lines[S_LOG_TAIL][512];
    size_t n = 0;
    while (fgets(lines[n % S_LOG_TAIL], sizeof lines[0], f))
        n++;
    fclose(f);
    fprintf(stderr, "---- tail of hubd.log (%s)\n", hub->log);
    for (size_t i = n > S_LOG_TAIL ? n - S_LOG_TAIL : 0; i < n; i++)
        fputs(lines[i % S_LOG_TAIL], stderr);
    fprintf(stderr, "---- end of hubd.log\n");
}

static int s_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* 1 while hubd lives; reaps it when it has exited. */
static int s_hub_alive(s_hub_t *hub)
{
    if (hub->pid <= 0)
        return 0;
    int status;
    if (waitpid(hub->pid, &status, WNOHANG) == hub->pid) {
        fprintf(stderr, "hub-bench: hubd exited with %s %d\n", WIFEXITED(status) ? "status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        hub->pid = 0;
        return 0;
    }
    return 1;
}

/* Stops hubd (SIGTERM, then SIGKILL after S_STOP_MS), notes hub.db's
 * size and removes the directory unless --keep. Returns 0 on a clean
 * stop. */
static int s_hub_stop(s_hub_t *hub, int failed)
{
    int rc = 0;
    hub->db_bytes = -1;
    if (hub->pid > 0) {
        kill(hub->pid, SIGTERM);
        int64_t deadline = s_now_ns() + (int64_t)S_STOP_MS * 1000000;
        int status = 0;
        pid_t got = 0;
        while ((got = waitpid(hub->pid, &status, WNOHANG)) == 0 && s_now_ns() < deadline)
            poll(NULL, 0, 20);
        if (got != hub->pid) {
            fprintf(stderr, "hub-bench: hubd did not stop within %d ms of SIGTERM; killing it\n", S_STOP_MS);
            kill(hub->pid, SIGKILL);
            waitpid(hub->pid, &status, 0);
            rc = -1;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "hub-bench: hubd stopped with %s %d\n", WIFEXITED(status) ? "status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            rc = -1;
        }
        hub->pid = 0;
    }
    if (failed || rc != 0)
        s_dump_log(hub);
    char db[S_PATH + 32];
    struct stat st;
    snprintf(db, sizeof db, "%s/hub.db", hub->data);
    if (rc == 0 && hub->data[0] && stat(db, &st) == 0)
        hub->db_bytes = (long long)st.st_size; /* the last connection to close copied the WAL in */
    if (hub->dir[0]) {
        if (s_opt.keep)
            fprintf(stderr, "hub-bench: kept %s\n", hub->dir);
        else
            nftw(hub->dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        hub->dir[0] = '\0';
    }
    return rc;
}

/* Creates a fresh directory, writes the policy, starts hubd and waits until
 * it answers a ping. Returns 0, or -1 with the reason on stderr. */
static int s_hub_start(s_hub_t *hub, int ndepts)
{
    memset(hub, 0, sizeof *hub);
    hub->ndepts = ndepts;
    snprintf(hub->dir, sizeof hub->dir, "%s/hub-bench-XXXXXX", s_opt.base);
    if (!mkdtemp(hub->dir)) {
        fprintf(stderr, "hub-bench: mkdtemp %s: %s\n", hub->dir, strerror(errno));
        hub->dir[0] = '\0';
        return -1;
    }
    snprintf(hub->data, sizeof hub->data, "%s/data", hub->dir);
    snprintf(hub->policy, sizeof hub->policy, "%s/policy.yaml", hub->dir);
    snprintf(hub->log, sizeof hub->log, "%s/hubd.log", hub->dir);
    if (s_opt.ipc) {
        snprintf(hub->endpoint, sizeof hub->endpoint, "ipc://%s/hub.sock", hub->dir);
    } else {
        int port = s_free_port();
        if (port < 0) {
            fprintf(stderr, "hub-bench: no free TCP port on 127.0.0.1: %s\n", strerror(errno));
            return -1;
        }
        snprintf(hub->endpoint, sizeof hub->endpoint, "tcp://127.0.0.1:%d", port);
    }
    if (s_opt.tap)
        snprintf(hub->tap, sizeof hub->tap, "ipc://%s/tap.sock", hub->dir);
    else
        snprintf(hub->tap, sizeof hub->tap, "off");
    if (s_write_policy(hub->policy, ndepts) != 0) {
        fprintf(stderr, "hub-bench: cannot write %s: %s\n", hub->policy, strerror(errno));
        return -1;
    }
    /* options on the command line win over the hub.yaml given */
    const char *argv[] = {s_opt.hubd, "--data", hub->data, "--endpoint", hub->endpoint, "--tap", hub->tap,
                          "--policy", hub->policy, "--log-level", "info", s_opt.config ? "--config" : NULL,
                          s_opt.config, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, hub->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&hub->pid, s_opt.hubd, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "hub-bench: cannot start %s: %s\n", s_opt.hubd, strerror(rc));
        hub->pid = 0;
        return -1;
    }
    char err[HUB_ERR_LEN] = "";
    hub_options_t o = {.endpoint = hub->endpoint, .client_name = "bench-ready", .timeout_ms = 1000};
    hub_client_t *c = hub_client_new(&o, err);
    int ready = 0;
    int64_t deadline = s_now_ns() + (int64_t)S_READY_MS * 1000000;
    while (c && !ready && s_now_ns() < deadline && s_hub_alive(hub))
        ready = hub_client_ping(c, 250) == 0;
    hub_client_destroy(&c);
    if (!ready) {
        fprintf(stderr, "hub-bench: hubd at %s did not answer a ping within %d ms%s%s\n", hub->endpoint, S_READY_MS,
                *err ? ": " : "", err);
        s_dump_log(hub);
        return -1;
    }
    return 0;
}

/* A field of /proc/PID/status in kB (e.g. "VmHWM"), or -1. */
static long s_proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* user + system ticks from a /proc .../stat file, or -1; the system
 * (kernel) part of them in *kernel when given. */
static long s_stat_ticks(const char *path, long *kernel)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    if (kernel)
        *kernel = (long)stime;
    return (long)(utime + stime);
}

/* hubd's user + system CPU time so far, in seconds, or -1. */
static double s_proc_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    long ticks = s_stat_ticks(path, NULL);
    return ticks < 0 ? -1 : (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* Where the CPU went during a load, in ticks: hubd's threads (its main
 * thread, the loop, and the others by the names hubd gives them), this
 * process (the publishers and subscribers, with their ZeroMQ threads),
 * and the machine's busy and total time. */
enum {
    S_CPU_LOOP,
    S_CPU_WRITER,
    S_CPU_CHECKPOINT,
    S_CPU_ZMQ,
    S_CPU_HUBD_OTHER,
    S_CPU_HUBD,     /* the whole process, as /proc/PID/stat counts it */
    S_CPU_CLIENTS,
    S_CPU_HUBD_KERNEL,    /* of S_CPU_HUBD, the time in the kernel */
    S_CPU_CLIENTS_KERNEL, /* of S_CPU_CLIENTS, the same */
    S_CPU_BUSY,
    S_CPU_TOTAL,
    S_CPU_KINDS
};

static void s_cpu_sample(pid_t hubd, long out[S_CPU_KINDS])
{
    memset(out, 0, S_CPU_KINDS * sizeof out[0]);
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)hubd);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char name[32] = "";
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/comm", (int)hubd, e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(name, sizeof name, f))
                name[strcspn(name, "\n")] = '\0';
            fclose(f);
        }
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/stat", (int)hubd, e->d_name);
        long ticks = s_stat_ticks(path, NULL);
        if (ticks < 0)
            continue;
        /* the loop is the main thread, whatever the binary is called */
        int kind = strtol(e->d_name, NULL, 10) == (long)hubd ? S_CPU_LOOP
                   : strcmp(name, "hubd-writer") == 0        ? S_CPU_WRITER
                   : strcmp(name, "hubd-checkpoint") == 0    ? S_CPU_CHECKPOINT
                   : strncmp(name, "ZMQbg/IO", 8) == 0       ? S_CPU_ZMQ
                                                             : S_CPU_HUBD_OTHER;
        out[kind] += ticks;
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)hubd);
    out[S_CPU_HUBD] = s_stat_ticks(path, &out[S_CPU_HUBD_KERNEL]);
    out[S_CPU_CLIENTS] = s_stat_ticks("/proc/self/stat", &out[S_CPU_CLIENTS_KERNEL]);
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                    &v[7]) == 8) {
        /* user nice system idle iowait irq softirq steal */
        out[S_CPU_BUSY] = (long)(v[0] + v[1] + v[2] + v[5] + v[6]);
        out[S_CPU_TOTAL] = (long)(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]);
    }
    if (f)
        fclose(f);
}

/* Asks the hub for its status and returns it parsed (json_decref), or NULL. */
static json_t *s_status(hub_client_t *c)
{
    char *text = NULL, err[HUB_ERR_LEN] = "";
    int rc = hub_status(c, &text, S_CALL_MS, err);
    if (rc != 0) {
        fprintf(stderr, "hub-bench: status: %s %s\n", hub_strerror(rc), err);
        free(text);
        return NULL;
    }
    json_t *st = json_loads(text ? text : "", 0, NULL);
    free(text);
    return st;
}

static uint64_t s_json_u64(const json_t *v)
{
    if (json_is_integer(v))
        return (uint64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

/* A number field of subscriber 'name' in a status, or 0. */
static uint64_t s_sub_field(const json_t *st, const char *name, const char *key)
{
    size_t i;
    const json_t *sub;
    json_array_foreach(json_object_get(st, "subscribers"), i, sub) {
        const char *n = json_string_value(json_object_get(sub, "name"));
        if (n && strcmp(n, name) == 0)
            return s_json_u64(json_object_get(sub, key));
    }
    return 0;
}

/* hubd's commits since it started, from its status; 0 when unknown. */
static uint64_t s_hub_commits(const s_hub_t *hub)
{
    char err[HUB_ERR_LEN] = "";
    hub_options_t o = {.endpoint = hub->endpoint, .client_name = "bench-commits", .timeout_ms = S_CALL_MS};
    hub_client_t *c = hub_client_new(&o, err);
    json_t *st = c ? s_status(c) : NULL;
    uint64_t commits = st ? s_json_u64(json_object_get(st, "commits")) : 0;
    json_decref(st);
    hub_client_destroy(&c);
    return commits;
}

/* Waits until the hub's position of every one of the first ndepts
 * departments is its last seq and nothing is in flight: every ack reached
 * it. Returns 1, with hubd's commits since it started in *commits_p when
 * given (from the same status), or 0 (with what was seen) at the
 * deadline. */
static int s_wait_settled(const s_hub_t *hub, int ndepts, uint64_t *commits_p)
{
    char err[HUB_ERR_LEN] = "", name[32] = "";
    hub_options_t o = {.endpoint = hub->endpoint, .client_name = "bench-status", .timeout_ms = S_CALL_MS};
    hub_client_t *c = hub_client_new(&o, err);
    int64_t deadline = s_now_ns() + (int64_t)S_SETTLE_MS * 1000000;
    int settled = 0;
    uint64_t last = 0, pos = 0, flight = 0;
    while (c && !settled && s_now_ns() < deadline) {
        json_t *st = s_status(c);
        if (st) {
            last = s_json_u64(json_object_get(st, "last_seq"));
            settled = 1;
            for (int i = 0; i < ndepts && settled; i++) {
                s_dept_name(i, name);
                pos = s_sub_field(st, name, "position");
                flight = s_sub_field(st, name, "in_flight");
                settled = pos == last && flight == 0;
            }
            if (settled && commits_p)
                *commits_p = s_json_u64(json_object_get(st, "commits"));
            json_decref(st);
        }
        if (!settled)
            poll(NULL, 0, 20);
    }
    hub_client_destroy(&c);
    if (!settled)
        fprintf(stderr, "hub-bench: subscriber %s: position %" PRIu64 " (last seq %" PRIu64 "), %" PRIu64
                        " in flight after %d ms\n",
                name, pos, last, flight, S_SETTLE_MS);
    return settled;
}

/* ------------------------------------------------------------ threads */

/* Subscribers say they are attached; publishers wait for the go. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;               /* subscribers attached (or failed) */
    int go;                    /* 1: publishers start */
} s_gate_t;

static void s_gate_init(s_gate_t *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->arrived = 0;
    g->go = 0;
}

static void s_gate_fini(s_gate_t *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static void s_gate_arrive(s_gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    g->arrived++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until n arrived (bounded); returns how many did. */
static int s_gate_wait_arrived(s_gate_t *g, int n, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&g->mu);
    while (g->arrived < n && pthread_cond_timedwait(&g->cv, &g->mu, &ts) == 0) {
    }
    int got = g->arrived;
    pthread_mutex_unlock(&g->mu);
    return got;
}

static void s_gate_open(s_gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    g->go = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void s_gate_wait_go(s_gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->go)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static hub_client_t *s_client(const char *endpoint, const char *name, char err[HUB_ERR_LEN])
{
    hub_options_t o = {.endpoint = endpoint, .client_name = name, .timeout_ms = S_CALL_MS};
    return hub_client_new(&o, err);
}

/* One durable subscriber: subscribes as 'name' to "<name>.*", then
 * receives and acknowledges until it has 'expect' notifications. On
 * success the client is left open in a->client, for the caller to destroy
 * once the hub has applied the last acks: libhub closes its socket without
 * linger when no ack is kept, which drops ack frames already handed to
 * ZeroMQ but not yet written. */
typedef struct {
    const char *endpoint;
    char name[32];
    uint64_t expect;           /* notifications to receive */
    uint32_t credit;
    int64_t deadline;          /* monotonic ns */
    s_gate_t *gate;            /* NULL: none */
    int64_t *lat;              /* publish->subscriber samples (room for expect), or NULL */
    /* results */
    uint64_t got;              /* notifications received and acked */
    size_t nlat;               /* samples in lat */
    int64_t t_subscribe;       /* when hub_subscribe was called */
    int64_t t_last;            /* after the last ack left */
    int rc;                    /* 0 or a negative code */
    char err[HUB_ERR_LEN];
    hub_client_t *client;      /* left open on success: see s_subscriber */
} s_sub_arg_t;

static void *s_subscriber(void *p)
{
    s_sub_arg_t *a = p;
    char topic[48];
    snprintf(topic, sizeof topic, "%s.*", a->name);
    const char *topics[] = {topic};
    hub_client_t *c = s_client(a->endpoint, a->name, a->err);
    a->t_subscribe = s_now_ns();
    a->rc = c ? hub_subscribe(c, a->name, topics, 1, HUB_FROM_RESUME, 0, a->credit, S_CALL_MS, a->err) : -ENOMEM;
    if (a->gate)
        s_gate_arrive(a->gate);
    if (a->rc != 0) {
        atomic_store(&s_abort, 1);
        hub_client_destroy(&c);
        return NULL;
    }
    while (a->got < a->expect) {
        if (atomic_load(&s_abort)) {
            a->rc = -ECANCELED;
            snprintf(a->err, sizeof a->err, "stopped: another thread failed");
            break;
        }
        if (s_now_ns() > a->deadline) {
            a->rc = -ETIMEDOUT;
            snprintf(a->err, sizeof a->err, "deadline passed with %" PRIu64 " of %" PRIu64 " notifications",
                     a->got, a->expect);
            break;
        }
        hub_notification_t *n = NULL;
        int rc = hub_receive(c, &n, S_RECV_MS);
        if (rc < 0) {
            a->rc = rc;
            snprintf(a->err, sizeof a->err, "hub_receive: %s", hub_strerror(rc));
            break;
        }
        if (rc == 0)
            continue;
        if (a->lat) {
            int64_t t = s_now_ns(), sent = 0;
            uint64_t index = 0;
            if (s_parse_id(hub_notification_event_id(n), &index, &sent) && a->nlat < a->expect)
                a->lat[a->nlat++] = t - sent;
        }
        rc = hub_ack(c, n);
        hub_notification_destroy(&n);
        if (rc < 0) {
            a->rc = rc;
            snprintf(a->err, sizeof a->err, "hub_ack: %s", hub_strerror(rc));
            break;
        }
        a->got++;
    }
    if (a->rc == 0) {
        /* sends the acks still kept (hub_receive flushes them first) */
        hub_notification_t *n = NULL;
        if (hub_receive(c, &n, 0) == 1) {
            hub_ack(c, n);
            hub_notification_destroy(&n);
            hub_receive(c, &n, 0);
            hub_notification_destroy(&n);
        }
        a->t_last = s_now_ns();
        a->client = c;
        return NULL;
    }
    atomic_store(&s_abort, 1);
    hub_client_destroy(&c);
    return NULL;
}

/* One publisher: 'count' events as fast as its window allows, or paced at
 * 'rate' per second. */
typedef struct {
    const char *endpoint;
    char tag[16];              /* event ids are TAG-INDEX-SENDNS */
    uint64_t first, count;     /* indexes first .. first+count-1 */
    size_t size;               /* JSON bytes per event */
    int rate;                  /* 0: unpaced */
    int64_t deadline;
    s_gate_t *gate;            /* NULL: start at once */
    int64_t *acklat;           /* publish->ack samples (room for count), or NULL */
    /* results */
    uint64_t sent, acked, failed;
    size_t nlat;
    uint64_t late;             /* paced sends more than 1 ms behind schedule */
    int64_t t_first, t_last_ack;
    int rc;
    char err[HUB_ERR_LEN];
    int refused_rc;            /* the first refused publish's status (0: none) */
    char refused[HUB_ERR_LEN]; /* ... and what was said, kept apart from err, which each publish resets */
} s_pub_arg_t;

static void s_take_outcomes(s_pub_arg_t *a, const hub_publish_outcome_t *out, int n)
{
    int64_t t = s_now_ns();
    for (int i = 0; i < n; i++) {
        if (out[i].status != 0) {
            if (a->failed++ == 0) {
                a->refused_rc = out[i].status;
                snprintf(a->refused, sizeof a->refused, "publish %s refused: %s %s", out[i].result.id,
                         hub_strerror(out[i].status), out[i].err);
            }
            continue;
        }
        a->acked++;
        a->t_last_ack = t;
        uint64_t index = 0;
        int64_t sent = 0;
        if (a->acklat && a->nlat < a->count && s_parse_id(out[i].result.id, &index, &sent))
            a->acklat[a->nlat++] = t - sent;
    }
}

static void *s_publisher(void *p)
{
    s_pub_arg_t *a = p;
    size_t cap = a->size + 512;
    char *json = malloc(cap);
    hub_publish_outcome_t *out = calloc(256, sizeof *out);
    hub_client_t *c = json && out ? s_client(a->endpoint, a->tag, a->err) : NULL;
    if (a->gate)
        s_gate_wait_go(a->gate);
    if (!c) {
        a->rc = -ENOMEM;
        goto done;
    }
    hub_client_set_window(c, S_WINDOW);
    int64_t period = a->rate > 0 ? S_NS / a->rate : 0;
    int64_t t0 = s_now_ns() + 1000000;
    a->t_first = a->rate > 0 ? t0 : s_now_ns();
    while (a->acked + a->failed < a->count) {
        if (atomic_load(&s_abort)) {
            a->rc = -ECANCELED;
            snprintf(a->err, sizeof a->err, "stopped: another thread failed");
            break;
        }
        int64_t now = s_now_ns();
        if (now > a->deadline) {
            a->rc = -ETIMEDOUT;
            snprintf(a->err, sizeof a->err, "deadline passed: %" PRIu64 " sent, %" PRIu64 " acked of %" PRIu64,
                     a->sent, a->acked, a->count);
            break;
        }
        int n = 0;
        if (a->sent < a->count && period > 0 && now < t0 + (int64_t)a->sent * period) {
            /* paced, not due yet: collect acks meanwhile, waking for them */
            int64_t rest = t0 + (int64_t)a->sent * period - now;
            if (rest > 1500000) {
                n = hub_publish_wait(c, out, 256, (int)(rest / 1000000) - 1);
            } else {
                n = hub_publish_pending(c) > 0 ? hub_publish_wait(c, out, 256, 0) : 0;
                if (n == 0)
                    s_sleep_ns(rest < 50000 ? rest : 50000);
            }
        } else if (a->sent < a->count) {
            if (period > 0 && now - (t0 + (int64_t)a->sent * period) > 1000000)
                a->late++;
            int64_t sent_ns = s_now_ns();
            s_event_json(json, cap, a->size, a->tag, a->first + a->sent, sent_ns);
            uint64_t token = 0;
            int rc = hub_publish_async(c, json, &token, a->err);
            if (rc < 0) {
                a->rc = rc;
                break;
            }
            a->sent++;
            if (period > 0 || (a->sent & 63) == 0 || a->sent == a->count)
                n = hub_publish_wait(c, out, 256, 0);
        } else {
            n = hub_publish_wait(c, out, 256, S_RECV_MS);
        }
        if (n < 0) {
            a->rc = n;
            snprintf(a->err, sizeof a->err, "hub_publish_wait: %s", hub_strerror(n));
            break;
        }
        s_take_outcomes(a, out, n);
    }
    if (a->rc == 0 && a->failed > 0) {
        a->rc = a->refused_rc;
        snprintf(a->err, sizeof a->err, "%s", a->refused);
    }
done:
    if (a->rc != 0)
        atomic_store(&s_abort, 1);
    hub_client_destroy(&c);
    free(out);
    free(json);
    return NULL;
}

/* ------------------------------------------------------------ one load */

typedef struct {
    int ndepts;                /* departments, each a subscriber */
    size_t size;               /* JSON bytes per event */
    uint64_t count;            /* events */
    int npubs;                 /* publisher threads */
    int rate;                  /* 0: unpaced; else events/s in all */
    const char *tag;           /* event id prefix */
    int latency;               /* 1: keep latency samples */
} s_load_t;

typedef struct {
    double events_per_s;       /* acked to publishers / time to the last ack */
    double deliveries_per_s;   /* acked by subscribers / time to the last ack */
    double secs_pub, secs_all;
    uint64_t acked, delivered;
    double hubd_cpu_pct;       /* hubd's CPU time over the load's wall time */
    long cpu[S_CPU_KINDS];     /* ticks spent during the load (s_cpu_sample) */
    uint64_t late;             /* paced sends more than 1 ms late */
    uint64_t commits;          /* hubd's commits from the load's start to its settling */
    int64_t *acklat;           /* sorted, nacklat of them (owned) */
    size_t nacklat;
    int64_t *sublat;           /* sorted, nsublat of them (owned) */
    size_t nsublat;
} s_result_t;

static void s_result_free(s_result_t *r)
{
    free(r->acklat);
    free(r->sublat);
    memset(r, 0, sizeof *r);
}

/* Runs one load against a running hub: ndepts subscribers attach, then the
 * publishers start. Returns 0 and fills r, or -1 with the reason printed. */
static int s_run_load(s_hub_t *hub, const s_load_t *load, s_result_t *r)
{
    memset(r, 0, sizeof *r);
    atomic_store(&s_abort, 0);
    int npubs = load->npubs;
    s_sub_arg_t *subs = calloc((size_t)load->ndepts, sizeof *subs);
    s_pub_arg_t *pubs = calloc((size_t)npubs, sizeof *pubs);
    pthread_t *sth = calloc((size_t)load->ndepts, sizeof *sth);
    pthread_t *pth = calloc((size_t)npubs, sizeof *pth);
    int failed = 0, nsub_started = 0, npub_started = 0;
    long ticks0[S_CPU_KINDS] = {0};
    int64_t t0 = 0;
    uint64_t commits0 = 0;
    s_gate_t gate;
    s_gate_init(&gate);
    if (!subs || !pubs || !sth || !pth) {
        fprintf(stderr, "hub-bench: out of memory\n");
        failed = 1;
        goto out;
    }
    int64_t deadline = s_deadline(load->count * (uint64_t)(load->ndepts > 4 ? load->ndepts / 4 + 1 : 1) +
                                  load->count * (load->size / 4096));
    for (int i = 0; i < load->ndepts; i++) {
        s_sub_arg_t *s = &subs[i];
        s->endpoint = hub->endpoint;
        s_dept_name(i, s->name);
        s->expect = load->count;
        s->credit = S_CREDIT;
        s->deadline = deadline;
        s->gate = &gate;
        if (load->latency && !(s->lat = calloc(load->count, sizeof *s->lat))) {
            failed = 1;
            goto join;
        }
        if (pthread_create(&sth[i], NULL, s_subscriber, s) != 0) {
            failed = 1;
            goto join;
        }
        nsub_started++;
    }
    if (s_gate_wait_arrived(&gate, load->ndepts, S_CALL_MS + 5000) < load->ndepts) {
        fprintf(stderr, "hub-bench: subscribers did not attach in time\n");
        atomic_store(&s_abort, 1);
        failed = 1;
        goto join;
    }
    uint64_t first = 0;
    for (int i = 0; i < npubs; i++) {
        s_pub_arg_t *p = &pubs[i];
        p->endpoint = hub->endpoint;
        snprintf(p->tag, sizeof p->tag, "%s%d", load->tag, i);
        p->first = first;
        p->count = load->count / (uint64_t)npubs + ((uint64_t)i < load->count % (uint64_t)npubs);
        first += p->count;
        p->size = load->size;
        p->rate = load->rate / npubs;
        p->deadline = deadline;
        p->gate = &gate;
        if (load->latency && !(p->acklat = calloc(p->count ? p->count : 1, sizeof *p->acklat))) {
            failed = 1;
            break;
        }
        if (pthread_create(&pth[i], NULL, s_publisher, p) != 0) {
            failed = 1;
            break;
        }
        npub_started++;
    }
    commits0 = s_hub_commits(hub);
    s_cpu_sample(hub->pid, ticks0);
    t0 = s_now_ns();
    s_gate_open(&gate);
join:
    if (failed)
        atomic_store(&s_abort, 1);
    if (!gate.go)
        s_gate_open(&gate);
    for (int i = 0; i < npub_started; i++)
        pthread_join(pth[i], NULL);
    for (int i = 0; i < nsub_started; i++)
        pthread_join(sth[i], NULL);
    if (failed)
        goto out;
    s_cpu_sample(hub->pid, r->cpu);
    int hubd_known = ticks0[S_CPU_HUBD] >= 0 && r->cpu[S_CPU_HUBD] >= 0;
    for (int k = 0; k < S_CPU_KINDS; k++)
        r->cpu[k] -= ticks0[k];
    int64_t t_pub = t0, t_all = t0;
    for (int i = 0; i < npubs; i++) {
        s_pub_arg_t *p = &pubs[i];
        if (p->rc != 0) {
            fprintf(stderr, "hub-bench: publisher %s: %s: %s\n", p->tag, hub_strerror(p->rc), p->err);
            failed = 1;
        }
        r->acked += p->acked;
        r->late += p->late;
        r->nacklat += p->nlat;
        if (p->t_last_ack > t_pub)
            t_pub = p->t_last_ack;
    }
    for (int i = 0; i < load->ndepts; i++) {
        s_sub_arg_t *s = &subs[i];
        if (s->rc != 0) {
            fprintf(stderr, "hub-bench: subscriber %s: %s: %s\n", s->name, hub_strerror(s->rc), s->err);
            failed = 1;
        }
        r->delivered += s->got;
        r->nsublat += s->nlat;
        if (s->t_last > t_all)
            t_all = s->t_last;
    }
    if (failed)
        goto out;
    if (!s_hub_alive(hub)) {
        failed = 1;
        goto out;
    }
    /* the figures stand only if every ack reached the hub's positions */
    uint64_t commits1 = 0;
    if (!s_wait_settled(hub, load->ndepts, &commits1)) {
        failed = 1;
        goto out;
    }
    r->commits = commits1 > commits0 && commits0 > 0 ? commits1 - commits0 : 0;
    if (t_pub < t0 + 1 || t_all < t0 + 1) {
        fprintf(stderr, "hub-bench: the load took no measurable time\n");
        failed = 1;
        goto out;
    }
    if (t_all < t_pub)
        t_all = t_pub;
    r->secs_pub = (double)(t_pub - t0) / 1e9;
    r->secs_all = (double)(t_all - t0) / 1e9;
    r->events_per_s = (double)r->acked / r->secs_pub;
    r->deliveries_per_s = (double)r->delivered / r->secs_all;
    r->hubd_cpu_pct =
        hubd_known ? 100.0 * (double)r->cpu[S_CPU_HUBD] / (double)sysconf(_SC_CLK_TCK) / r->secs_all : -1;
    if (load->latency) {
        r->acklat = malloc((r->nacklat ? r->nacklat : 1) * sizeof *r->acklat);
        r->sublat = malloc((r->nsublat ? r->nsublat : 1) * sizeof *r->sublat);
        if (!r->acklat || !r->sublat) {
            failed = 1;
            goto out;
        }
        size_t k = 0;
        for (int i = 0; i < npubs; i++) {
            memcpy(r->acklat + k, pubs[i].acklat, pubs[i].nlat * sizeof *r->acklat);
            k += pubs[i].nlat;
        }
        k = 0;
        for (int i = 0; i < load->ndepts; i++) {
            memcpy(r->sublat + k, subs[i].lat, subs[i].nlat * sizeof *r->sublat);
            k += subs[i].nlat;
        }
        qsort(r->acklat, r->nacklat, sizeof *r->acklat, s_cmp_i64);
        qsort(r->sublat, r->nsublat, sizeof *r->sublat, s_cmp_i64);
    }
out:
    for (int i = 0; subs && i < load->ndepts; i++) {
        free(subs[i].lat);
        hub_client_destroy(&subs[i].client);
    }
    for (int i = 0; pubs && i < npubs; i++)
        free(pubs[i].acklat);
    free(subs);
    free(pubs);
    free(sth);
    free(pth);
    s_gate_fini(&gate);
    if (failed)
        s_result_free(r);
    return failed ? -1 : 0;
}

/* Publishes count events with no subscriber attached (the backlog of an
 * offline department grows). Returns events/s, or -1 on failure. */
static double s_publish_only(s_hub_t *hub, const char *tag, uint64_t first, uint64_t count, size_t size)
{
    atomic_store(&s_abort, 0);
    int npubs = s_opt.publishers;
    s_pub_arg_t pubs[2];
    pthread_t pth[2];
    memset(pubs, 0, sizeof pubs);
    int64_t deadline = s_deadline(count);
    int started = 0;
    int64_t t0 = s_now_ns();
    for (int i = 0; i < npubs; i++) {
        s_pub_arg_t *p = &pubs[i];
        p->endpoint = hub->endpoint;
        snprintf(p->tag, sizeof p->tag, "%s%d", tag, i);
        p->count = count / (uint64_t)npubs + ((uint64_t)i < count % (uint64_t)npubs);
        p->first = first;
        first += p->count;
        p->size = size;
        p->deadline = deadline;
        if (pthread_create(&pth[i], NULL, s_publisher, p) != 0) {
            atomic_store(&s_abort, 1);
            break;
        }
        started++;
    }
    int64_t t_last = t0;
    int failed = started < npubs;
    for (int i = 0; i < started; i++) {
        pthread_join(pth[i], NULL);
        if (pubs[i].rc != 0) {
            fprintf(stderr, "hub-bench: publisher %s: %s: %s\n", pubs[i].tag, hub_strerror(pubs[i].rc), pubs[i].err);
            failed = 1;
        }
        if (pubs[i].t_last_ack > t_last)
            t_last = pubs[i].t_last_ack;
    }
    if (failed || t_last <= t0)
        return -1;
    return (double)count / ((double)(t_last - t0) / 1e9);
}

/* Makes 'name' a durable subscriber of the hub and leaves: from now on it
 * is an offline department whose backlog grows. Returns 0 or -1. */
static int s_register_offline(s_hub_t *hub, const char *name)
{
    char err[HUB_ERR_LEN] = "", topic[48];
    snprintf(topic, sizeof topic, "%s.*", name);
    const char *topics[] = {topic};
    hub_client_t *c = s_client(hub->endpoint, name, err);
    int rc = c ? hub_subscribe(c, name, topics, 1, HUB_FROM_LATEST, 0, S_CREDIT, S_CALL_MS, err) : -ENOMEM;
    hub_client_destroy(&c);
    if (rc != 0)
        fprintf(stderr, "hub-bench: subscribe %s: %s %s\n", name, hub_strerror(rc), err);
    return rc == 0 ? 0 : -1;
}

/* The backlog the hub reports for subscriber name, or -1. */
static long long s_backlog(const s_hub_t *hub, const char *name)
{
    char err[HUB_ERR_LEN] = "";
    hub_client_t *c = s_client(hub->endpoint, "bench-status", err);
    json_t *st = c ? s_status(c) : NULL;
    long long backlog = st ? (long long)s_sub_field(st, name, "backlog") : -1;
    json_decref(st);
    hub_client_destroy(&c);
    return backlog;
}

/* ------------------------------------------------------------ phases */

static void s_print_context(const char *phase, const s_hub_t *hub, const char *what)
{
    char run[32] = "";
    if (s_opt.runs > 1)
        snprintf(run, sizeof run, " (run %d/%d)", s_run, s_opt.runs);
    printf("# %s%s: %s; hubd %s, transport %s, tap %s, data %s\n", phase, run, what, s_opt.hubd,
           s_opt.ipc ? "ipc" : "tcp 127.0.0.1", s_opt.tap ? "on" : "off", hub->data);
    fflush(stdout);
}

/* Microseconds of CPU per event acknowledged in ticks. */
static double s_us_per_event(const s_result_t *r, long ticks)
{
    return (double)ticks * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)r->acked;
}

/* Prints where the CPU went during the load, in microseconds of CPU per
 * event acknowledged: hubd's threads, hubd in all (its whole process, the
 * count its kernel share and hubd_cpu_pct come from too), the benchmark's
 * clients (who share the cores with it), and the share of the machine that
 * was busy. */
static void s_cpu_figures(const char *phase, const s_result_t *r)
{
    if (r->acked == 0 || r->cpu[S_CPU_TOTAL] <= 0)
        return;
    /* hubd's threads, in the order of their kinds */
    static const char *names[] = {"hubd_loop", "hubd_writer", "hubd_checkpoint", "hubd_zmq", "hubd_other"};
    for (int k = S_CPU_LOOP; k <= S_CPU_HUBD_OTHER; k++) {
        char metric[64];
        snprintf(metric, sizeof metric, "%s_us/event", names[k]);
        s_figure(phase, metric, s_us_per_event(r, r->cpu[k]), 2, NULL);
    }
    s_figure(phase, "clients_us/event", s_us_per_event(r, r->cpu[S_CPU_CLIENTS]), 2, NULL);
    s_figure(phase, "hubd_us/event", s_us_per_event(r, r->cpu[S_CPU_HUBD]), 2, NULL);
    /* of those, in the kernel: set beside hub_sketch's (anchors.sh), where
     * the CPU per event differs tells where the events/s do */
    s_figure(phase, "hubd_kernel_us/event", s_us_per_event(r, r->cpu[S_CPU_HUBD_KERNEL]), 2, NULL);
    s_figure(phase, "clients_kernel_us/event", s_us_per_event(r, r->cpu[S_CPU_CLIENTS_KERNEL]), 2, NULL);
    s_figure(phase, "machine_busy_pct", 100.0 * (double)r->cpu[S_CPU_BUSY] / (double)r->cpu[S_CPU_TOTAL], 0, NULL);
}

static int s_phase_throughput(void)
{
    s_hub_t hub;
    s_result_t r;
    uint64_t count = s_count(200000);
    if (s_hub_start(&hub, 4) != 0)
        return s_hub_stop(&hub, 1), -1;
    char what[160];
    snprintf(what, sizeof what, "%" PRIu64 " events of 300 B, %d publishers (window %d), 4 departments (credit %d)",
             count, s_opt.publishers, S_WINDOW, S_CREDIT);
    s_print_context("throughput", &hub, what);
    s_load_t load = {4, 300, count, s_opt.publishers, 0, "tput", 1};
    int rc = s_run_load(&hub, &load, &r);
    if (rc == 0) {
        s_figure("throughput", "events/s", r.events_per_s, 0, ">= 100000 and >= 0.8 x hub_sketch tput tcp FULL");
        s_figure("throughput", "deliveries/s", r.deliveries_per_s, 0, ">= 2 x nats_js_bench consume (4 consumers)");
        s_figure("throughput", "secs_to_all_acked", r.secs_all, 2, NULL);
        s_figure("throughput", "pub->ack_p50_ms", s_pct_ms(r.acklat, r.nacklat, 0.50), 3, NULL);
        s_figure("throughput", "pub->ack_p99_ms", s_pct_ms(r.acklat, r.nacklat, 0.99), 3, NULL);
        s_figure("throughput", "pub->sub_p50_ms", s_pct_ms(r.sublat, r.nsublat, 0.50), 3, NULL);
        s_figure("throughput", "pub->sub_p99_ms", s_pct_ms(r.sublat, r.nsublat, 0.99), 3, NULL);
        s_figure("throughput", "hubd_cpu_pct", r.hubd_cpu_pct, 0, NULL);
        /* the group commits' size: the benchmark is a closed loop (its
         * publishers' windows), and its events/s follow how long a commit
         * takes; every commit counts, delivery's state ones included */
        if (r.commits > 0) {
            s_figure("throughput", "commits", (double)r.commits, 0, NULL);
            s_figure("throughput", "events/commit", (double)r.acked / (double)r.commits, 0, NULL);
        }
        s_cpu_figures("throughput", &r);
    }
    uint64_t stored = r.acked;
    s_result_free(&r);
    if (s_hub_stop(&hub, rc != 0) != 0)
        return -1;
    if (rc == 0 && hub.db_bytes > 0 && stored > 0) /* what an event costs on disk, all tables and indexes */
        s_figure("throughput", "db_bytes/event", (double)hub.db_bytes / (double)stored, 0, NULL);
    return rc;
}

static int s_phase_latency(void)
{
    s_hub_t hub;
    s_result_t r;
    int rate = 5000, secs = s_opt.quick ? 1 : 10;
    if (s_hub_start(&hub, 4) != 0)
        return s_hub_stop(&hub, 1), -1;
    char what[160];
    snprintf(what, sizeof what, "%d events/s of 300 B for %d s, 1 publisher, 4 departments", rate, secs);
    s_print_context("latency", &hub, what);
    s_load_t load = {4, 300, (uint64_t)rate * (uint64_t)secs, 1, rate, "lat", 1};
    int rc = s_run_load(&hub, &load, &r);
    if (rc == 0) {
        s_figure("latency", "events/s", r.events_per_s, 0, "5000 (paced)");
        s_figure("latency", "late_sends_gt_1ms", (double)r.late, 0, NULL);
        s_figure("latency", "pub->ack_p50_ms", s_pct_ms(r.acklat, r.nacklat, 0.50), 3, NULL);
        s_figure("latency", "pub->ack_p99_ms", s_pct_ms(r.acklat, r.nacklat, 0.99), 3, NULL);
        s_figure("latency", "pub->ack_p99.9_ms", s_pct_ms(r.acklat, r.nacklat, 0.999), 3, NULL);
        s_figure("latency", "pub->sub_p50_ms", s_pct_ms(r.sublat, r.nsublat, 0.50), 3, NULL);
        s_figure("latency", "pub->sub_p99_ms", s_pct_ms(r.sublat, r.nsublat, 0.99), 3, "<= 2 ms");
        s_figure("latency", "pub->sub_p99.9_ms", s_pct_ms(r.sublat, r.nsublat, 0.999), 3, "<= 5 ms");
        s_figure("latency", "pub->sub_max_ms", r.nsublat ? (double)r.sublat[r.nsublat - 1] / 1e6 : -1, 3, NULL);
        s_figure("latency", "hubd_cpu_pct", r.hubd_cpu_pct, 0, NULL);
    }
    s_result_free(&r);
    return s_hub_stop(&hub, rc != 0) == 0 ? rc : -1;
}

static int s_phase_catchup(void)
{
    s_hub_t hub;
    uint64_t count = s_count(500000);
    const char *dept = "engineering";
    if (s_hub_start(&hub, 4) != 0)
        return s_hub_stop(&hub, 1), -1;
    char what[160];
    snprintf(what, sizeof what, "%s offline while %" PRIu64 " events of 300 B are stored, then it reads its backlog",
             dept, count);
    s_print_context("catchup", &hub, what);
    int rc = s_register_offline(&hub, dept);
    double ingest = rc == 0 ? s_publish_only(&hub, "cu", 0, count, 300) : -1;
    if (ingest < 0)
        rc = -1;
    long long backlog = rc == 0 ? s_backlog(&hub, dept) : -1;
    if (rc == 0 && backlog != (long long)count) {
        fprintf(stderr, "hub-bench: %s: backlog %lld, expected %" PRIu64 "\n", dept, backlog, count);
        rc = -1;
    }
    if (rc == 0) {
        atomic_store(&s_abort, 0);
        s_sub_arg_t s = {0};
        s.endpoint = hub.endpoint;
        snprintf(s.name, sizeof s.name, "%s", dept);
        s.expect = count;
        s.credit = S_CREDIT;
        s.deadline = s_deadline(count);
        double cpu0 = s_proc_cpu_s(hub.pid);
        s_subscriber(&s);
        double cpu1 = s_proc_cpu_s(hub.pid);
        if (s.rc != 0) {
            fprintf(stderr, "hub-bench: subscriber %s: %s: %s\n", s.name, hub_strerror(s.rc), s.err);
            rc = -1;
        } else if (!s_wait_settled(&hub, 1, NULL)) {
            rc = -1;
        } else {
            double secs = (double)(s.t_last - s.t_subscribe) / 1e9;
            s_figure("catchup", "ingest_events/s", ingest, 0, NULL);
            s_figure("catchup", "notifications/s", (double)s.got / secs, 0, ">= 300000");
            s_figure("catchup", "secs", secs, 2, NULL);
            s_figure("catchup", "hubd_cpu_pct", 100.0 * (cpu1 - cpu0) / secs, 0, NULL);
            s_figure("catchup", "hubd_hwm_MiB", (double)s_proc_kb(hub.pid, "VmHWM") / 1024.0, 1, NULL);
        }
        hub_client_destroy(&s.client);
    }
    return s_hub_stop(&hub, rc != 0) == 0 ? rc : -1;
}

static int s_phase_memory(void)
{
    s_hub_t hub;
    uint64_t small = s_count(100000), big = s_count(1000000);
    const char *dept = "engineering";
    if (s_hub_start(&hub, 4) != 0)
        return s_hub_stop(&hub, 1), -1;
    char what[160];
    snprintf(what, sizeof what, "%s offline; hubd RSS with %" PRIu64 " and %" PRIu64 " notifications of backlog", dept,
             small, big);
    s_print_context("memory", &hub, what);
    long start_kb = s_proc_kb(hub.pid, "VmRSS");
    int rc = s_register_offline(&hub, dept);
    double r1 = rc == 0 ? s_publish_only(&hub, "mem", 0, small, 300) : -1;
    long long b1 = r1 >= 0 ? s_backlog(&hub, dept) : -1;
    long hwm1 = s_proc_kb(hub.pid, "VmHWM"), rss1 = s_proc_kb(hub.pid, "VmRSS");
    double r2 = r1 >= 0 ? s_publish_only(&hub, "mem", small, big - small, 300) : -1;
    long long b2 = r2 >= 0 ? s_backlog(&hub, dept) : -1;
    long hwm2 = s_proc_kb(hub.pid, "VmHWM"), rss2 = s_proc_kb(hub.pid, "VmRSS");
    if (r1 < 0 || r2 < 0 || b1 != (long long)small || b2 != (long long)big || hwm1 <= 0 || hwm2 <= 0) {
        fprintf(stderr, "hub-bench: memory: backlog %lld / %lld (expected %" PRIu64 " / %" PRIu64 ")\n", b1, b2,
                small, big);
        rc = -1;
    }
    if (rc == 0) {
        char name[48];
        s_figure("memory", "rss_at_start_MiB", (double)start_kb / 1024.0, 1, NULL);
        snprintf(name, sizeof name, "hwm_backlog_%" PRIu64 "_MiB", small);
        s_figure("memory", name, (double)hwm1 / 1024.0, 1, NULL);
        snprintf(name, sizeof name, "rss_backlog_%" PRIu64 "_MiB", small);
        s_figure("memory", name, (double)rss1 / 1024.0, 1, NULL);
        snprintf(name, sizeof name, "hwm_backlog_%" PRIu64 "_MiB", big);
        s_figure("memory", name, (double)hwm2 / 1024.0, 1, "<= 64 MiB");
        snprintf(name, sizeof name, "rss_backlog_%" PRIu64 "_MiB", big);
        s_figure("memory", name, (double)rss2 / 1024.0, 1, NULL);
        s_figure("memory", "hwm_growth_ratio", (double)hwm2 / (double)hwm1, 2, "~1.0 (flat against backlog)");
        s_figure("memory", "ingest_events/s", r2, 0, NULL);
    }
    return s_hub_stop(&hub, rc != 0) == 0 ? rc : -1;
}

/* The scaling loads: departments, event size, events. */
typedef struct {
    int ndepts;
    size_t size;
    uint64_t full;             /* events (divided by 10 with --quick) */
} s_scale_t;

static const s_scale_t s_scales[] = {
    {1, 300, 100000}, {2, 300, 100000}, {4, 300, 100000}, {8, 300, 100000},
    {16, 300, 50000}, {4, 4096, 50000}, {4, 65536, 5000},
};
#define S_NSCALES (sizeof s_scales / sizeof s_scales[0])

/* One scaling load's figures in one run. */
typedef struct {
    double events_per_s, deliveries_per_s, hubd_cpu_pct;
    int ok;
} s_scaled_t;

static s_scaled_t s_scaled[S_MAX_RUNS][S_NSCALES];  /* [run - 1][load] */

static int s_phase_scaling(void)
{
    int rc = 0;
    for (size_t i = 0; i < S_NSCALES; i++) {
        const s_scale_t *sc = &s_scales[i];
        s_scaled_t *out = &s_scaled[s_run - 1][i];
        uint64_t count = s_count(sc->full);
        memset(out, 0, sizeof *out);
        s_hub_t hub;
        if (s_hub_start(&hub, sc->ndepts) != 0) {
            s_hub_stop(&hub, 1);
            rc = -1;
            continue;
        }
        char what[160];
        snprintf(what, sizeof what, "%" PRIu64 " events of %zu B, %d departments", count, sc->size, sc->ndepts);
        s_print_context("scaling", &hub, what);
        s_load_t load = {sc->ndepts, sc->size, count, s_opt.publishers, 0, "sc", 0};
        s_result_t r;
        int one = s_run_load(&hub, &load, &r);
        if (s_hub_stop(&hub, one != 0) != 0)
            one = -1;
        if (one != 0) {
            rc = -1;
            continue;
        }
        out->ok = 1;
        out->events_per_s = r.events_per_s;
        out->deliveries_per_s = r.deliveries_per_s;
        out->hubd_cpu_pct = r.hubd_cpu_pct;
        char metric[48];
        snprintf(metric, sizeof metric, "events/s_%ddept_%zuB", sc->ndepts, sc->size);
        s_figure("scaling", metric, r.events_per_s, 0, NULL);
        snprintf(metric, sizeof metric, "deliveries/s_%ddept_%zuB", sc->ndepts, sc->size);
        s_figure("scaling", metric, r.deliveries_per_s, 0, NULL);
        s_result_free(&r);
    }
    return rc;
}

/* After the scaling runs: the table, each cell the median of the runs in
 * which that load completed. */
static void s_report_scaling(void)
{
    int runs = s_opt.runs;
    printf("\nscaling (events/s acknowledged to publishers after commit; deliveries/s until all acked)%s\n",
           runs > 1 ? "; medians of the runs that completed" : "");
    printf("%12s %8s %8s %12s %14s %10s%s\n", "departments", "size_B", "events", "events/s", "deliveries/s",
           "hubd_cpu%", runs > 1 ? "   runs" : "");
    for (size_t i = 0; i < S_NSCALES; i++) {
        const s_scale_t *sc = &s_scales[i];
        double ev[S_MAX_RUNS], dl[S_MAX_RUNS], cpu[S_MAX_RUNS], lo, hi;
        int n = 0;
        for (int k = 0; k < runs; k++)
            if (s_scaled[k][i].ok) {
                ev[n] = s_scaled[k][i].events_per_s;
                dl[n] = s_scaled[k][i].deliveries_per_s;
                cpu[n] = s_scaled[k][i].hubd_cpu_pct;
                n++;
            }
        char nruns[16] = "";
        if (runs > 1)
            snprintf(nruns, sizeof nruns, " %6d", n);
        if (n > 0)
            printf("%12d %8zu %8" PRIu64 " %12.0f %14.0f %10.0f%s\n", sc->ndepts, sc->size, s_count(sc->full),
                   s_median(ev, n, &lo, &hi), s_median(dl, n, &lo, &hi), s_median(cpu, n, &lo, &hi), nruns);
        else
            printf("%12d %8zu %8" PRIu64 " %12s %14s %10s%s\n", sc->ndepts, sc->size, s_count(sc->full), "failed",
                   "-", "-", nruns);
    }
    printf("\n");
    fflush(stdout);
}

/* ------------------------------------------------------------ main */

/* A phase: one run of it (on its own fresh hubd or hubds), and what it
 * prints once all its runs are done besides its figures, or NULL. */
typedef struct {
    const char *name;
    int (*run)(void);
    void (*report)(void);
} s_phase_t;

static const s_phase_t s_phases[] = {
    {"throughput", s_phase_throughput, NULL}, {"latency", s_phase_latency, NULL},
    {"catchup", s_phase_catchup, NULL},       {"memory", s_phase_memory, NULL},
    {"scaling", s_phase_scaling, s_report_scaling},
};
#define S_NPHASES (sizeof s_phases / sizeof s_phases[0])

static int s_selected(const char *name)
{
    if (!s_opt.only[0])
        return 1;
    char list[sizeof s_opt.only], *save = NULL;
    snprintf(list, sizeof list, "%s", s_opt.only);
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, name) == 0)
            return 1;
    return 0;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: hub-bench [OPTIONS]\n"
            "Runs a real hubd on a fresh data directory and measures it through libhub.\n"
            "\n"
            "  --quick             counts / 10 (a smoke run; figures are not comparable)\n"
            "  --runs N            run each phase N times (1 to 9, default 1), each on a fresh\n"
            "                      hubd; figures are medians, printed with min and max\n"
            "  --only PHASE[,...]  run only these: throughput latency catchup memory scaling\n"
            "  --hubd PATH         the hubd to run (default $HUBD)\n"
            "  --transport T       tcp (127.0.0.1, default) or ipc\n"
            "  --publishers N      publisher threads, 1 or 2 (default 2)\n"
            "  --tap on|off        run hubd with its PUB tap (default on, as hubd does)\n"
            "  --config FILE       hub.yaml for hubd (delivery and limits settings to try)\n"
            "  --dir DIR           where data directories go (default $TMPDIR or /tmp)\n"
            "  --keep              keep the data directories\n"
            "  --help              this text\n"
            "\n"
            "Prints one row per figure (PHASE METRIC VALUE [target]) and a last line of JSON.\n"
            "With --runs N: PHASE METRIC MEDIAN (min MIN, max MAX, K runs) [target].\n");
}

static void s_json_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

/* Every figure as a JSON object grouped by phase: the median of its runs,
 * or with spans its [min, max]. */
static void s_print_figures(int spans)
{
    printf("{");
    const char *phase = NULL;  /* of the last figure printed */
    for (size_t i = 0; i < s_nrows; i++) {
        if (s_rows[i].n == 0)
            continue;
        double lo, hi, med = s_median(s_rows[i].v, s_rows[i].n, &lo, &hi);
        if (!phase || strcmp(s_rows[i].phase, phase) != 0)
            printf("%s\"%s\":{", phase ? "}," : "", s_rows[i].phase);
        else
            printf(",");
        printf("\"");
        s_json_escape(stdout, s_rows[i].metric);
        if (spans)
            printf("\":[%.*f,%.*f]", s_rows[i].decimals, lo, s_rows[i].decimals, hi);
        else
            printf("\":%.*f", s_rows[i].decimals, med);
        phase = s_rows[i].phase;
    }
    printf("%s}", phase ? "}" : "");
}

/* The last line: every figure (the median of its runs), grouped by phase,
 * as one JSON object; with several runs, "spans" gives each one's [min,
 * max] the same way. */
static void s_print_json(const char *status, const char *failed_phases)
{
    printf("{\"bench\":\"hub-bench\",\"status\":\"%s\",\"failed\":\"%s\",\"quick\":%s,\"transport\":\"%s\","
           "\"tap\":%s,\"publishers\":%d,\"cpus\":%ld,\"runs\":%d,\"figures\":",
           status, failed_phases, s_opt.quick ? "true" : "false", s_opt.ipc ? "ipc" : "tcp",
           s_opt.tap ? "true" : "false", s_opt.publishers, sysconf(_SC_NPROCESSORS_ONLN), s_opt.runs);
    s_print_figures(0);
    if (s_opt.runs > 1) {
        printf(",\"spans\":");
        s_print_figures(1);
    }
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    s_opt.hubd = getenv("HUBD");
    s_opt.base = getenv("TMPDIR");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            s_usage(stdout);
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            s_opt.quick = 1;
        } else if (strcmp(a, "--keep") == 0) {
            s_opt.keep = 1;
        } else if (v && strcmp(a, "--runs") == 0 && v[0] >= '1' && v[0] <= '0' + S_MAX_RUNS && v[1] == '\0') {
            s_opt.runs = v[0] - '0';
            i++;
        } else if (v && strcmp(a, "--only") == 0) {
            snprintf(s_opt.only, sizeof s_opt.only, "%s", v);
            i++;
        } else if (v && strcmp(a, "--hubd") == 0) {
            s_opt.hubd = v;
            i++;
        } else if (v && strcmp(a, "--config") == 0) {
            s_opt.config = v;
            i++;
        } else if (v && strcmp(a, "--dir") == 0) {
            s_opt.base = v;
            i++;
        } else if (v && strcmp(a, "--transport") == 0 && (strcmp(v, "tcp") == 0 || strcmp(v, "ipc") == 0)) {
            s_opt.ipc = strcmp(v, "ipc") == 0;
            i++;
        } else if (v && strcmp(a, "--tap") == 0 && (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)) {
            s_opt.tap = strcmp(v, "on") == 0;
            i++;
        } else if (v && strcmp(a, "--publishers") == 0 && (strcmp(v, "1") == 0 || strcmp(v, "2") == 0)) {
            s_opt.publishers = atoi(v);
            i++;
        } else {
            fprintf(stderr, "hub-bench: bad argument \"%s\"\n", a);
            s_usage(stderr);
            return 2;
        }
    }
    if (s_opt.only[0]) {
        char list[sizeof s_opt.only], *save = NULL;
        snprintf(list, sizeof list, "%s", s_opt.only);
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            size_t k = 0;
            while (k < S_NPHASES && strcmp(s_phases[k].name, t) != 0)
                k++;
            if (k == S_NPHASES) {
                fprintf(stderr, "hub-bench: no phase \"%s\" (throughput latency catchup memory scaling)\n", t);
                return 2;
            }
        }
    }
    if (!s_opt.hubd || !*s_opt.hubd) {
        printf("skip: no hubd: give --hubd PATH or set HUBD (meson test sets it)\n");
        return 77;
    }
    if (access(s_opt.hubd, X_OK) != 0) {
        printf("skip: %s is not executable\n", s_opt.hubd);
        return 77;
    }
    /* ipc paths must fit in sun_path (108 bytes) */
    if (!s_opt.base || !*s_opt.base || strlen(s_opt.base) > 60)
        s_opt.base = "/tmp";

    printf("# hub-bench%s: %d run(s) of each phase, %ld cpus, transport %s, tap %s, %d publisher(s), hub.yaml %s\n",
           s_opt.quick ? " --quick" : "", s_opt.runs, sysconf(_SC_NPROCESSORS_ONLN), s_opt.ipc ? "ipc" : "tcp 127.0.0.1",
           s_opt.tap ? "on" : "off", s_opt.publishers, s_opt.config ? s_opt.config : "none (defaults)");
    char failed[128] = "";
    int64_t t0 = s_now_ns();
    for (size_t i = 0; i < S_NPHASES; i++) {
        if (!s_selected(s_phases[i].name))
            continue;
        int64_t p0 = s_now_ns();
        int rc = 0;
        /* a failed run fails the phase; the others still run, so that the
         * figures of those that completed are there to read */
        for (s_run = 1; s_run <= s_opt.runs; s_run++) {
            int64_t r0 = s_now_ns();
            int one = s_phases[i].run();
            if (s_opt.runs > 1)
                printf("# %s: run %d/%d %s in %.1f s\n", s_phases[i].name, s_run, s_opt.runs,
                       one == 0 ? "done" : "FAILED", (double)(s_now_ns() - r0) / 1e9);
            if (one != 0) {
                if (s_opt.runs > 1)
                    fprintf(stderr, "hub-bench: phase %s: run %d of %d failed\n", s_phases[i].name, s_run,
                            s_opt.runs);
                rc = -1;
            }
        }
        s_print_phase(s_phases[i].name);
        if (s_phases[i].report)
            s_phases[i].report();
        printf("# %s: %s in %.1f s\n", s_phases[i].name, rc == 0 ? "done" : "FAILED", (double)(s_now_ns() - p0) / 1e9);
        if (rc != 0) {
            fprintf(stderr, "hub-bench: phase %s failed (see above)\n", s_phases[i].name);
            size_t len = strlen(failed);
            snprintf(failed + len, sizeof failed - len, "%s%s", len ? "," : "", s_phases[i].name);
        }
    }
    printf("# total %.1f s\n", (double)(s_now_ns() - t0) / 1e9);
    s_print_json(failed[0] ? "failed" : "ok", failed);
    return failed[0] ? 1 : 0;
}
