/*
 * subscriber_kill - durable subscribers in processes of their own, SIGKILLed
 * mid-delivery while a publisher streams, and started again, several times.
 *
 * Delivery is at least once; "exactly once" is the adapter's part. The
 * adapter here is this program run as a child ("--subscriber"): a libhub
 * subscriber that appends each new (seq, slot) to a record file and
 * fdatasyncs it BEFORE acking, and on start reads the file back to drop what
 * it recorded already. A SIGKILL between record and ack makes the hub
 * deliver that notification again to the next process, which drops it.
 * Asserted: every notification recorded, none twice, and the hub shows the
 * subscriber at the last seq with nothing in flight.
 *
 * The second case runs `hubctl subscribe`, which acks after printing: a
 * SIGKILL between print and ack makes the next process print it again. The
 * union of what the processes printed holds every notification; repeats
 * are bounded by the credit at each kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

extern char **environ;

static const char *s_policy = "departments:\n"
                              "  ops: {}\n"
                              "routes:\n"
                              "  - name: ops-alpha\n"
                              "    match: { type: tick }\n"
                              "    notify: ops\n"
                              "    kind: alpha\n"
                              "  - name: ops-beta\n"
                              "    match: { type: tick }\n"
                              "    notify: ops\n"
                              "    kind: beta\n";

/* a notification killed in flight at every restart must not run out of
 * attempts and be dead-lettered: that would be a loss here */
static const char *s_config = "delivery:\n"
                              "  max_attempts: 100\n";

#define N_EVENTS 3000 /* each makes 2 notifications for ops (slots 0, 1) */
#define N_SLOTS 2
#define N_KILLS 5 /* SIGKILLs of the adapter process */
#define ADAPTER_CREDIT 50
#define ADAPTER_BATCH 64 /* notifications recorded with one fdatasync */
#define RUN_MS 25000     /* the whole case, at most */
#define PACE 300         /* events the publisher may run ahead of the subscriber */
#define CTL_EVENTS 1000
#define CTL_KILLS 3
#define CTL_CREDIT 20

static const char *const s_topics[] = {"ops.*", NULL};

/* ---------------------------------------------------------- a key set */

/* (seq, slot) keys in an open-addressing table; key 0 is never used
 * (seq starts at 1). */
typedef struct {
    uint64_t *keys;
    size_t cap, count;
} s_set_t;

static uint64_t s_key(uint64_t seq, uint32_t slot)
{
    return seq << 16 | (slot & 0xffff);
}

static size_t s_hash(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static int s_set_has(const s_set_t *s, uint64_t k)
{
    if (!s->cap)
        return 0;
    for (size_t i = s_hash(k, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[i] == k)
            return 1;
        if (s->keys[i] == 0)
            return 0;
    }
}

/* Adds k; returns 1 when new, 0 when there, -1 out of memory. */
static int s_set_add(s_set_t *s, uint64_t k)
{
    if (s_set_has(s, k))
        return 0;
    if (2 * (s->count + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *keys = calloc(cap, sizeof *keys);
        if (!keys)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->keys[i])
                for (size_t j = s_hash(s->keys[i], cap);; j = (j + 1) & (cap - 1))
                    if (!keys[j]) {
                        keys[j] = s->keys[i];
                        break;
                    }
        free(s->keys);
        s->keys = keys;
        s->cap = cap;
    }
    size_t i = s_hash(k, s->cap);
    while (s->keys[i])
        i = (i + 1) & (s->cap - 1);
    s->keys[i] = k;
    s->count++;
    return 1;
}

static void s_set_free(s_set_t *s)
{
    free(s->keys);
    *s = (s_set_t){0};
}

/* ------------------------------------------- the adapter (child process) */

static volatile sig_atomic_t s_stop;

static void s_on_term(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Reads the record file into seen: lines "SEQ SLOT EVENT_ID"; lines
 * starting with '#' are notes. A last line without newline (the write it
 * belonged to never completed) is cut off, so that appends stay whole
 * lines. Returns 0 or -1. */
static int s_load_records(const char *path, s_set_t *seen)
{
    char *text = harness_read_file(path);
    if (!text)
        return errno == ENOENT ? 0 : -1;
    size_t len = strlen(text), whole = len;
    while (whole > 0 && text[whole - 1] != '\n')
        whole--;
    if (whole != len && truncate(path, (off_t)whole) != 0) {
        free(text);
        return -1;
    }
    text[whole] = '\0';
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        unsigned long long seq = 0;
        unsigned slot = 0;
        if (line[0] != '#' && sscanf(line, "%llu %u", &seq, &slot) == 2 && s_set_add(seen, s_key(seq, slot)) < 0) {
            free(text);
            return -1;
        }
        line = nl + 1;
    }
    free(text);
    return 0;
}

static int s_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t put = write(fd, data, len);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        data += put;
        len -= (size_t)put;
    }
    return 0;
}

/* The adapter: subscribes 'name', records each new notification durably,
 * then acks it. Runs until SIGTERM (exit 0); other exits mean trouble. */
static int s_adapter_main(const char *endpoint, const char *name, const char *path, uint32_t credit)
{
    struct sigaction sa = {.sa_handler = s_on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: a wait ends with -EINTR */
    s_set_t seen = {0};
    if (s_load_records(path, &seen) != 0) {
        fprintf(stderr, "adapter: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    char err[HUB_ERR_LEN] = "";
    hub_options_t o = {.endpoint = endpoint, .client_name = name, .timeout_ms = 10000, .heartbeat_ms = 200};
    hub_client_t *c = fd >= 0 ? hub_client_new(&o, err) : NULL;
    if (!c) {
        fprintf(stderr, "adapter: cannot start: %s\n", fd < 0 ? strerror(errno) : err);
        return 2;
    }
    int rc = hub_subscribe(c, name, s_topics, 1, HUB_FROM_RESUME, 0, credit, 10000, err);
    if (rc != 0) {
        fprintf(stderr, "adapter: subscribe: %s: %s\n", hub_strerror(rc), err);
        hub_client_destroy(&c);
        return 2;
    }
    int status = 0;
    hub_notification_t *batch[ADAPTER_BATCH];
    char lines[ADAPTER_BATCH * 192];
    while (!s_stop && status == 0) {
        size_t n = 0;
        rc = hub_receive(c, &batch[0], 200);
        if (rc == 1) {
            n = 1;
            while (n < ADAPTER_BATCH && hub_receive(c, &batch[n], 0) == 1)
                n++;
        } else if (rc < 0 && rc != -EINTR) {
            fprintf(stderr, "adapter: hub_receive: %s\n", hub_strerror(rc));
            status = 3;
        }
        /* record first, durably; then ack */
        size_t len = 0;
        for (size_t i = 0; i < n && status == 0; i++) {
            uint64_t seq = hub_notification_seq(batch[i]);
            uint32_t slot = hub_notification_slot(batch[i]);
            int added = s_set_add(&seen, s_key(seq, slot));
            if (added < 0)
                status = 4;
            len += (size_t)snprintf(lines + len, sizeof lines - len, "%s%llu %u %s\n", added ? "" : "# again ",
                                    (unsigned long long)seq, slot, hub_notification_event_id(batch[i]));
        }
        if (len > 0 && (s_write_all(fd, lines, len) != 0 || fdatasync(fd) != 0)) {
            fprintf(stderr, "adapter: cannot record to %s: %s\n", path, strerror(errno));
            status = 5;
        }
        for (size_t i = 0; i < n; i++) {
            if (status == 0 && hub_ack(c, batch[i]) != 0)
                status = 6;
            hub_notification_destroy(&batch[i]);
        }
    }
    hub_client_destroy(&c); /* sends the acks it kept */
    close(fd);
    s_set_free(&seen);
    return status;
}

/* ----------------------------------------------------------- the test */

static char s_self[HARNESS_PATH * 2]; /* this program, to run as the adapter */

static pid_t s_adapter_spawn(harness_t *h, const char *name, const char *path)
{
    char credit[16];
    snprintf(credit, sizeof credit, "%d", ADAPTER_CREDIT);
    const char *argv[] = {s_self, "--adapter", harness_endpoint(h), name, path, credit, NULL};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, s_self, NULL, NULL, (char *const *)argv, environ);
    if (rc != 0) {
        fprintf(stderr, "cannot run %s: %s\n", s_self, strerror(rc));
        return -1;
    }
    return pid;
}

/* Waits for pid to exit (SIGKILLing it after timeout_ms); returns its exit
 * code, 128 + signal, or -1. */
static int s_reap(pid_t pid, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (got < 0 && errno != EINTR)
            return -1;
        if (harness_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        harness_pause();
    }
}

/* Counts the record lines (not notes) added to path since *offset. */
static size_t s_count_new_records(const char *path, long *offset, size_t *partial_note)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    if (fseek(f, *offset, SEEK_SET) == 0) {
        int c, at_start = 1;
        long pos = *offset;
        size_t in_note = *partial_note;
        while ((c = fgetc(f)) != EOF) {
            pos++;
            if (at_start)
                in_note = c == '#';
            at_start = c == '\n';
            if (c == '\n') {
                n += !in_note;
                *offset = pos;
            }
        }
        *partial_note = in_note;
    }
    fclose(f);
    return n;
}

typedef struct {
    uint64_t *acked_seq; /* per event index: seq from its ack (0: not yet) */
    size_t sent, acked, failed;
} s_pub_t;

static size_t s_index(const char *id, const char *prefix, size_t n)
{
    size_t plen = strlen(prefix);
    if (!id || strncmp(id, prefix, plen) != 0)
        return n;
    size_t i = (size_t)strtoul(id + plen, NULL, 10);
    return i < n ? i : n;
}

static void s_drain_outcomes(hub_client_t *c, s_pub_t *p, const char *prefix, size_t n, int timeout_ms)
{
    hub_publish_outcome_t out[64];
    int got = hub_publish_wait(c, out, 64, timeout_ms);
    for (int k = 0; k < got; k++) {
        size_t i = s_index(out[k].result.id, prefix, n);
        if (i == n || out[k].status != 0) {
            p->failed++;
            fprintf(stderr, "publish %s: %s: %s\n", out[k].result.id, hub_strerror(out[k].status), out[k].err);
            continue;
        }
        if (!p->acked_seq[i])
            p->acked++;
        p->acked_seq[i] = out[k].result.seq;
    }
}

static int s_publish_next(hub_client_t *c, s_pub_t *p, const char *prefix)
{
    char ev[160], err[HUB_ERR_LEN] = "";
    snprintf(ev, sizeof ev, "{\"id\":\"%s%05zu\",\"type\":\"tick\",\"source\":\"fault\"}", prefix, p->sent);
    uint64_t token = 0;
    int rc = hub_publish_async(c, ev, &token, err);
    if (rc != 0)
        fprintf(stderr, "publish %s%05zu: %s: %s\n", prefix, p->sent, hub_strerror(rc), err);
    else
        p->sent++;
    return rc;
}

static void test_adapter_killed(void)
{
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    hub_client_t *pub = NULL;
    s_pub_t p = {0};
    s_set_t recorded = {0};
    char *text = NULL;
    pid_t child = -1;
    char path[HARNESS_PATH * 2];
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    snprintf(path, sizeof path, "%s/ops.records", harness_dir(h));
    REQUIRE((p.acked_seq = calloc(N_EVENTS, sizeof *p.acked_seq)) != NULL);
    REQUIRE((pub = harness_client(h, "ticker")) != NULL);
    hub_client_set_window(pub, 200);
    REQUIRE((child = s_adapter_spawn(h, "ops", path)) > 0);

    /* kill points, in records made: spread over the stream, the first ones
     * while the publisher is still going */
    const size_t total = (size_t)N_EVENTS * N_SLOTS;
    size_t kill_at[N_KILLS];
    for (size_t k = 0; k < N_KILLS; k++)
        kill_at[k] = total * (2 * k + 1) / (2 * N_KILLS + 1);
    size_t records = 0, partial = 0, kills = 0, killed_while_publishing = 0;
    long offset = 0;
    int64_t deadline = harness_now_ms() + RUN_MS;
    while (harness_now_ms() < deadline && (p.acked < N_EVENTS || records < total || kills < N_KILLS)) {
        /* the stream stays at most PACE events ahead of the records, so
         * that every kill falls while it still goes on */
        for (int k = 0; k < 20 && p.sent < N_EVENTS && p.sent * N_SLOTS < records + PACE * N_SLOTS; k++)
            REQUIRE(s_publish_next(pub, &p, "sk-") == 0);
        s_drain_outcomes(pub, &p, "sk-", N_EVENTS, p.sent < N_EVENTS ? 0 : 5);
        records += s_count_new_records(path, &offset, &partial);
        if (kills < N_KILLS && records >= kill_at[kills]) {
            REQUIRE(kill(child, SIGKILL) == 0);
            CHECK_INT(s_reap(child, 5000), 128 + SIGKILL);
            killed_while_publishing += p.acked < N_EVENTS;
            kills++;
            REQUIRE((child = s_adapter_spawn(h, "ops", path)) > 0);
        } else if (p.sent == N_EVENTS && p.acked == N_EVENTS) {
            harness_pause();
        }
    }
    printf("published %zu (acked %zu); adapter SIGKILLed %zu times (%zu while publishing); %zu records\n", p.sent,
           p.acked, kills, killed_while_publishing, records);
    CHECK_INT(p.acked, N_EVENTS);
    CHECK_INT(p.failed, 0);
    CHECK_INT(kills, N_KILLS);
    CHECK(killed_while_publishing >= N_KILLS - 1);

    /* the hub's side: the subscriber at the end, nothing in flight, no
     * dead letter (asked through the harness's own client) */
    json_t *st = harness_status(h);
    REQUIRE(st != NULL);
    uint64_t last = harness_status_u64(st, "last_seq");
    json_decref(st);
    CHECK_INT(last, N_EVENTS);
    CHECK(harness_wait_sub(h, NULL, "ops", "position", last, 10000));
    CHECK(harness_wait_sub(h, NULL, "ops", "in_flight", 0, 5000));
    uint64_t dead = 0, redelivered = 0;
    st = harness_status(h);
    CHECK(harness_sub_u64(st, "ops", "dead_letters", &dead));
    harness_sub_u64(st, "ops", "redelivered", &redelivered);
    json_decref(st);
    CHECK_INT(dead, 0);

    /* a clean stop of the last adapter */
    REQUIRE(kill(child, SIGTERM) == 0);
    CHECK_INT(s_reap(child, 10000), 0);
    child = -1;

    /* the adapter's side: every notification recorded once, with the seq
     * its event was acknowledged with */
    REQUIRE((text = harness_read_file(path)) != NULL);
    size_t lines = 0, again = 0, twice = 0, wrong = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        REQUIRE(nl != NULL); /* a clean stop leaves whole lines */
        *nl = '\0';
        if (strncmp(line, "# again ", 8) == 0) {
            again++;
        } else {
            unsigned long long seq = 0;
            unsigned slot = 0;
            char id[64] = "";
            lines++;
            if (sscanf(line, "%llu %u %63s", &seq, &slot, id) != 3 || slot >= N_SLOTS) {
                wrong++;
            } else {
                size_t i = s_index(id, "sk-", N_EVENTS);
                if (i == N_EVENTS || p.acked_seq[i] != seq)
                    wrong++;
                int added = s_set_add(&recorded, s_key(seq, slot));
                REQUIRE(added >= 0);
                twice += added == 0;
            }
        }
        line = nl + 1;
    }
    size_t missing = 0;
    for (size_t i = 0; i < N_EVENTS; i++)
        for (uint32_t slot = 0; slot < N_SLOTS; slot++)
            missing += !s_set_has(&recorded, s_key(p.acked_seq[i], slot));
    printf("adapter records: %zu lines, %zu distinct, %zu missing, %zu twice, %zu with a wrong seq; "
           "%zu delivered again after a kill and dropped by the adapter; hub redelivered %llu\n",
           lines, recorded.count, missing, twice, wrong, again, (unsigned long long)redelivered);
    CHECK_INT(recorded.count, total);
    CHECK_INT(missing, 0);
    CHECK_INT(twice, 0);
    CHECK_INT(wrong, 0);
done:
    if (child > 0) {
        kill(child, SIGKILL);
        s_reap(child, 5000);
    }
    free(text);
    s_set_free(&recorded);
    free(p.acked_seq);
    hub_client_destroy(&pub);
    HARNESS_END(h);
}

/* Parses hubctl's JSON lines (whole lines only) into seen; counts repeats. */
static void s_collect_ctl(const char *out, s_set_t *seen, size_t *lines, size_t *repeats, size_t *bad)
{
    const char *line = out;
    const char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        json_error_t jerr;
        json_t *n = json_loadb(line, (size_t)(nl - line), 0, &jerr);
        json_t *seq = json_object_get(n, "seq"), *slot = json_object_get(n, "slot");
        if (!json_is_integer(seq) || !json_is_integer(slot)) {
            (*bad)++;
        } else {
            (*lines)++;
            int added = s_set_add(seen, s_key((uint64_t)json_integer_value(seq), (uint32_t)json_integer_value(slot)));
            *repeats += added == 0;
        }
        json_decref(n);
        line = nl + 1;
    }
}

static void test_hubctl_killed(void)
{
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    hub_client_t *pub = NULL;
    s_pub_t p = {0};
    s_set_t seen = {0};
    harness_ctl_t *ctl = NULL;
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((p.acked_seq = calloc(CTL_EVENTS, sizeof *p.acked_seq)) != NULL);
    REQUIRE((pub = harness_client(h, "ticker")) != NULL);
    hub_client_set_window(pub, 200);
    char credit[16];
    snprintf(credit, sizeof credit, "%d", CTL_CREDIT);
    const char *args[] = {"--timeout", "60", "subscribe", "ops", "--topic", "ops.*", "--credit", credit, NULL};
    REQUIRE((ctl = harness_ctl_spawn(h, NULL, args)) != NULL);

    const size_t total = (size_t)CTL_EVENTS * N_SLOTS;
    size_t lines = 0, repeats = 0, bad = 0, kills = 0, printed = 0, killed_while_publishing = 0;
    int64_t deadline = harness_now_ms() + RUN_MS;
    while (harness_now_ms() < deadline && (p.acked < CTL_EVENTS || seen.count < total || kills < CTL_KILLS)) {
        for (int k = 0; k < 20 && p.sent < CTL_EVENTS && p.sent * N_SLOTS < lines + printed + PACE; k++)
            REQUIRE(s_publish_next(pub, &p, "hc-") == 0);
        s_drain_outcomes(pub, &p, "hc-", CTL_EVENTS, p.sent < CTL_EVENTS ? 0 : 5);
        const char *out = harness_ctl_output(ctl, 5);
        printed = harness_count_lines(out);
        if (kills < CTL_KILLS && lines + printed >= total * (kills + 1) / (CTL_KILLS + 1)) {
            REQUIRE(kill(harness_ctl_pid(ctl), SIGKILL) == 0);
            harness_run_t run = {0};
            CHECK_INT(harness_ctl_finish(&ctl, &run, 5000), 128 + SIGKILL);
            s_collect_ctl(run.out, &seen, &lines, &repeats, &bad);
            harness_run_free(&run);
            killed_while_publishing += p.acked < CTL_EVENTS;
            kills++;
            REQUIRE((ctl = harness_ctl_spawn(h, NULL, args)) != NULL);
        } else if (seen.count < total) {
            /* what the running process printed counts too; parse it only
             * when it may complete the set */
            if (lines + printed >= total && p.acked == CTL_EVENTS) {
                s_set_t probe = {0};
                size_t l = 0, r = 0, b = 0;
                for (size_t i = 0; i < seen.cap; i++)
                    if (seen.keys[i])
                        REQUIRE(s_set_add(&probe, seen.keys[i]) >= 0);
                s_collect_ctl(out, &probe, &l, &r, &b);
                int complete = probe.count >= total;
                s_set_free(&probe);
                if (complete)
                    break;
            }
        }
    }
    json_t *st = harness_status(h);
    REQUIRE(st != NULL);
    uint64_t last = harness_status_u64(st, "last_seq");
    json_decref(st);
    CHECK(harness_wait_sub(h, NULL, "ops", "position", last, 10000));
    CHECK(harness_wait_sub(h, NULL, "ops", "in_flight", 0, 5000));
    /* SIGTERM: hubctl stops cleanly */
    REQUIRE(kill(harness_ctl_pid(ctl), SIGTERM) == 0);
    harness_run_t run = {0};
    CHECK_INT(harness_ctl_finish(&ctl, &run, 10000), 0);
    s_collect_ctl(run.out, &seen, &lines, &repeats, &bad);
    harness_run_free(&run);
    size_t missing = 0;
    for (size_t i = 0; i < CTL_EVENTS; i++)
        for (uint32_t slot = 0; slot < N_SLOTS; slot++)
            missing += !s_set_has(&seen, s_key(p.acked_seq[i], slot));
    CHECK(killed_while_publishing >= CTL_KILLS - 1);
    printf("hubctl subscribe SIGKILLed %zu times (%zu while publishing): %zu lines printed, %zu distinct, %zu missing, "
           "%zu printed again "
           "(at most %d per kill: acked after printing)\n",
           kills, killed_while_publishing, lines, seen.count, missing, repeats, CTL_CREDIT);
    CHECK_INT(p.acked, CTL_EVENTS);
    CHECK_INT(kills, CTL_KILLS);
    CHECK_INT(bad, 0);
    CHECK_INT(missing, 0);
    CHECK_INT(seen.count, total);
    CHECK(repeats <= (size_t)CTL_KILLS * CTL_CREDIT);
done:
    if (ctl) {
        kill(harness_ctl_pid(ctl), SIGKILL);
        harness_run_t r = {0};
        harness_ctl_finish(&ctl, &r, 5000);
        harness_run_free(&r);
    }
    s_set_free(&seen);
    free(p.acked_seq);
    hub_client_destroy(&pub);
    HARNESS_END(h);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--adapter") == 0)
        return s_adapter_main(argv[2], argv[3], argv[4], (uint32_t)strtoul(argv[5], NULL, 10));
    harness_require();
    ssize_t n = readlink("/proc/self/exe", s_self, sizeof s_self - 1);
    if (n <= 0) {
        printf("skip: cannot find this program's path to run it as the adapter\n");
        return 77;
    }
    s_self[n] = '\0';
    static const check_case_t cases[] = {
        {"adapter processes SIGKILLed mid-delivery: none lost, none recorded twice", test_adapter_killed},
        {"hubctl subscribe SIGKILLed and restarted: none lost, repeats only at a kill", test_hubctl_killed},
        {NULL, NULL},
    };
    return check_run(cases);
}
