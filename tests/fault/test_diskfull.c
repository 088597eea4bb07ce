/*
 * diskfull - the disk under hubd's data fills up while publishers go on.
 *
 * Two ways to make it full:
 *   - a file-size limit (RLIMIT_FSIZE) on hubd, with SIGXFSZ ignored so that
 *     a write past it fails with EFBIG instead of killing hubd; SQLite
 *     reports a write error, which the store turns into UNAVAILABLE;
 *   - a small tmpfs under the data directory, filled with a ballast file
 *     (ENOSPC, SQLITE_FULL). Needs the right to mount; skipped without it.
 * Either way: a publish past the limit gets a clear error (UNAVAILABLE,
 * "disk full ...") rather than a crash or a hang; every event acknowledged
 * before is stored and delivered; when space returns the same hubd takes
 * publishes again, the refused events are stored once under their ids, and
 * a restart on the same data finds everything.
 *
 * The limit is put on hubd by this program itself: run with
 * HUB_FAULT_FSIZE and HUB_FAULT_HUBD set, it sets the limit, ignores
 * SIGXFSZ and execs the real hubd in its place (same pid), so that the
 * harness starts it as it starts any hubd.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static const char *s_policy = "departments:\n"
                              "  store: {}\n"
                              "routes:\n"
                              "  - name: to-store\n"
                              "    match: { type: fill }\n"
                              "    notify: store\n"
                              "    kind: fill\n";

#define FSIZE_LIMIT (256 * 1024) /* bytes any file of hubd may reach at start */
#define FSIZE_ROOM (16 * 1024)   /* ... then bytes above the database's size */
#define TMPFS_FREE (256 * 1024)  /* bytes left free on the tmpfs */
#define MAX_EVENTS 20000         /* publishes before giving up on a refusal */
#define REFUSE_MS 2000           /* a blocking publish waits this long */
#define RETRY_MS 300             /* ... or this, published again after a refusal */
#define FILL_MS 20000            /* filling up takes at most this */

static char s_self[HARNESS_PATH * 2]; /* this program */
static char s_hubd[HARNESS_PATH * 2]; /* the real hubd */
static int s_not_run;                 /* cases that could not run here */

/* ------------------------------------------------ as hubd's wrapper */

static int s_exec_limited(char **argv, const char *bytes, const char *hubd)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 126;
    /* the soft limit only: the hard one stays where it was (unlimited), so
     * that the test can lift the soft one on the running hubd (prlimit) */
    rl.rlim_cur = (rlim_t)strtoull(bytes, NULL, 10);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || signal(SIGXFSZ, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "hubd wrapper: cannot limit file sizes: %s\n", strerror(errno));
        return 126;
    }
    char path[HARNESS_PATH * 2];
    snprintf(path, sizeof path, "%s", hubd);
    unsetenv("HUB_FAULT_FSIZE");
    unsetenv("HUB_FAULT_HUBD");
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "hubd wrapper: cannot run %s: %s\n", path, strerror(errno));
    return 127;
}

/* Starts hubd with a file-size limit of 'bytes' (see s_exec_limited). */
static int s_start_limited(harness_t *h, unsigned long bytes)
{
    char text[32];
    snprintf(text, sizeof text, "%lu", bytes);
    setenv("HUB_FAULT_FSIZE", text, 1);
    setenv("HUB_FAULT_HUBD", s_hubd, 1);
    setenv("HUBD", s_self, 1);
    int rc = harness_start(h);
    setenv("HUBD", s_hubd, 1);
    unsetenv("HUB_FAULT_FSIZE");
    unsetenv("HUB_FAULT_HUBD");
    return rc;
}

/* Sets the file-size limit of the running hubd (RLIM_INFINITY lifts it). */
static int s_set_limit(harness_t *h, rlim_t bytes)
{
    struct rlimit rl = {.rlim_cur = bytes, .rlim_max = RLIM_INFINITY};
    if (prlimit(harness_pid(h), RLIMIT_FSIZE, &rl, NULL) != 0) {
        fprintf(stderr, "prlimit %d: %s\n", (int)harness_pid(h), strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ helpers */

static void s_event(char *buf, size_t cap, const char *id)
{
    char pad[401];
    memset(pad, 'f', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    snprintf(buf, cap, "{\"id\":\"%s\",\"type\":\"fill\",\"source\":\"fault\",\"subject\":\"%s\"}", id, pad);
}

typedef struct {
    uint64_t seq[MAX_EVENTS]; /* per df-N: the seq of its ack, 0 when none */
    size_t acked;             /* df-0 .. df-(acked-1) were acknowledged */
    int refused_rc;           /* what the first refused publish returned */
    char refused_err[HUB_ERR_LEN];
    int64_t refused_ms; /* how long that publish took */
    size_t retried;     /* refusals while hub.db could still grow */
} s_fill_t;

static long s_file_size(const char *dir, const char *name);

/* Bytes of the database as its last commit left it: the page count in the
 * newest commit frame of hub.db-wal (SQLite's file format: a 32-byte
 * header, then frames of a 24-byte header and a page; a commit frame says
 * the database's size in pages, and belongs to the WAL while its salts are
 * the header's), else hub.db's size. */
static long s_db_bytes(const char *dir)
{
    char path[HARNESS_PATH * 2];
    snprintf(path, sizeof path, "%s/hub.db-wal", dir);
    FILE *fp = fopen(path, "rb");
    uint8_t hdr[32], frame[24];
    long pages = 0, page_size = 0;
    if (fp && fread(hdr, 1, sizeof hdr, fp) == sizeof hdr) {
        page_size = (long)hdr[8] << 24 | (long)hdr[9] << 16 | (long)hdr[10] << 8 | hdr[11];
        while (page_size > 0 && fread(frame, 1, sizeof frame, fp) == sizeof frame &&
               memcmp(frame + 8, hdr + 16, 8) == 0) {
            long db_pages = (long)frame[4] << 24 | (long)frame[5] << 16 | (long)frame[6] << 8 | frame[7];
            if (db_pages > 0)
                pages = db_pages;
            if (fseek(fp, page_size, SEEK_CUR) != 0)
                break;
        }
    }
    if (fp)
        fclose(fp);
    return pages > 0 ? pages * page_size : s_file_size(dir, "hub.db");
}

/* Publishes df-0, df-1, ... until one is refused for good. With a
 * file-size limit (limit > 0; every file of hubd may grow to it) a refusal
 * is not for good while the database still fits under it: the hub copies
 * its WAL into hub.db, rewinds the WAL, and takes publishes again. The
 * same event is then published again. Returns 1 when refused. */
static int s_fill(hub_client_t *c, s_fill_t *f, const char *dir, long limit)
{
    int64_t deadline = harness_now_ms() + FILL_MS;
    for (size_t i = f->acked; i < MAX_EVENTS && harness_now_ms() < deadline;) {
        char id[32], ev[600];
        snprintf(id, sizeof id, "df-%zu", i);
        s_event(ev, sizeof ev, id);
        hub_publish_result_t res;
        int64_t t0 = harness_now_ms();
        int rc = hub_publish(c, ev, &res, f->retried ? RETRY_MS : REFUSE_MS, f->refused_err);
        if (rc != 0 && limit > 0 && s_db_bytes(dir) <= limit) {
            f->retried++;
            continue;
        }
        if (rc != 0) {
            f->refused_rc = rc;
            f->refused_ms = harness_now_ms() - t0;
            return 1;
        }
        f->seq[i] = res.seq;
        f->acked = ++i;
    }
    return 0;
}

/* A publish through a raw DEALER: returns the Error code the hub answered
 * with (message copied), 0 for an ack, -1 for no answer. */
static int s_raw_publish(harness_t *h, const char *id, char *message, size_t cap)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(h));
    int code = -1;
    if (!raw || !harness_raw_hello(raw, 5000)) {
        harness_raw_destroy(&raw);
        return -1;
    }
    Hub__Frame f = HUB__FRAME__INIT;
    Hub__Publish p = HUB__PUBLISH__INIT;
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = (char *)id;
    ev.type = (char *)"fill";
    ev.source = (char *)"fault";
    p.event = &ev;
    f.has_version = 1;
    f.version = HUB_PROTOCOL_VERSION;
    f.has_corr = 1;
    f.corr = 4242;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    if (harness_raw_send_frame(raw, &f) == 0) {
        int64_t deadline = harness_now_ms() + 5000;
        Hub__Frame *r = NULL;
        while (code == -1 && harness_now_ms() < deadline) {
            if (harness_raw_recv(raw, &r, 200) != 1)
                continue;
            if (r->corr == 4242 && r->body_case == HUB__FRAME__BODY_ERROR) {
                code = r->error->has_code ? (int)r->error->code : 0;
                snprintf(message, cap, "%s [id %s]", r->error->message ? r->error->message : "",
                         r->error->id ? r->error->id : "");
            } else if (r->corr == 4242 && r->body_case == HUB__FRAME__BODY_PUBLISH_ACK) {
                code = 0;
            }
            hub__frame__free_unpacked(r, NULL);
            r = NULL;
        }
    }
    harness_raw_destroy(&raw);
    return code;
}

/* Subscribes a fresh name from the earliest event and checks that every
 * acknowledged df-N comes with its seq, and that no event comes twice.
 * 'also' more events (df-x ids) are expected on top. */
static void s_check_stored(harness_t *h, const char *name, const s_fill_t *f, size_t also)
{
    hub_client_t *c = harness_client(h, name);
    size_t want = f->acked + also, n = 0;
    harness_got_t *got = calloc(want + 1, sizeof *got);
    uint8_t *seen = calloc(f->acked + 1, 1);
    const char *topics[] = {"store.*", NULL};
    REQUIRE(c && got && seen);
    REQUIRE(harness_subscribe(c, name, topics, HUB_FROM_EARLIEST, 0, 500) == 0);
    n = harness_collect(c, got, want, 1, 15000);
    CHECK_INT(n, want);
    size_t twice = 0, wrong_seq = 0, others = 0;
    for (size_t k = 0; k < n; k++) {
        const char *id = got[k].event_id;
        char *end = NULL;
        unsigned long i = strncmp(id, "df-", 3) == 0 ? strtoul(id + 3, &end, 10) : 0;
        if (end && *end == '\0' && i < f->acked) {
            twice += seen[i]++ > 0;
            wrong_seq += got[k].seq != f->seq[i];
        } else {
            others++;
        }
    }
    size_t missing = 0;
    for (size_t i = 0; i < f->acked; i++)
        missing += !seen[i];
    printf("%s: %zu notifications: %zu acknowledged events missing, %zu twice, %zu with another seq, %zu others\n",
           name, n, missing, twice, wrong_seq, others);
    CHECK_INT(missing, 0);
    CHECK_INT(twice, 0);
    CHECK_INT(wrong_seq, 0);
    CHECK_INT(others, also);
    /* nothing more comes */
    hub_notification_t *extra = NULL;
    CHECK_INT(hub_receive(c, &extra, 300), 0);
    hub_notification_destroy(&extra);
done:
    harness_got_free(got, n);
    free(got);
    free(seen);
    hub_client_destroy(&c);
}

static long s_file_size(const char *dir, const char *name)
{
    char path[HARNESS_PATH * 2];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The common part once hubd runs on a disk that fills up; 'make_room'
 * gives the space back. */
static void s_run(harness_t *h, long limit, int (*make_room)(harness_t *h, void *arg), void *arg)
{
    hub_client_t *pub = NULL;
    harness_run_t run = {0};
    s_fill_t *f = calloc(1, sizeof *f);
    REQUIRE(f != NULL);
    REQUIRE((pub = harness_client(h, "filler")) != NULL);

    /* 1. publish until refused */
    int refused = s_fill(pub, f, harness_data_dir(h), limit);
    printf("%zu events acknowledged before the refusal (%zu refusals before, while hub.db could grow); hub.db %ld "
           "bytes, hub.db-wal %ld bytes\n",
           f->acked, f->retried,
           s_file_size(harness_data_dir(h), "hub.db"), s_file_size(harness_data_dir(h), "hub.db-wal"));
    if (!refused) {
        printf("not run: %zu publishes were all stored; the disk never filled up here\n", f->acked);
        s_not_run++;
        goto done;
    }
    printf("refused df-%zu after %lld ms: %s: %s\n", f->acked, (long long)f->refused_ms, hub_strerror(f->refused_rc),
           f->refused_err);
    CHECK(f->acked > 0);
    /* libhub keeps an UNAVAILABLE publish and retries it until the call's
     * timeout, then gives up with the hub's words */
    CHECK_INT(f->refused_rc, -ETIMEDOUT);
    CHECK_HAS(f->refused_err, "disk full");
    CHECK(f->refused_ms < REFUSE_MS + 2000);
    CHECK(harness_alive(h));
    /* full is not all or nothing under a file-size limit: Linux refuses a
     * write that reaches past the limit even inside the file, so a commit
     * that needs fewer WAL frames than the refused one may still fit below
     * it. From here on nothing may be written at all, as on a full disk */
    if (limit > 0)
        REQUIRE(s_set_limit(h, 1) == 0);

    /* 2. on the wire: UNAVAILABLE, the reason, the event's id */
    char message[HUB_ERR_LEN + 64] = "";
    CHECK_INT(s_raw_publish(h, "df-raw", message, sizeof message), HUB__ERROR_CODE__ERROR_CODE_UNAVAILABLE);
    printf("raw publish: UNAVAILABLE: %s\n", message);
    CHECK_HAS(message, "disk full");
    CHECK_HAS(message, "retry later");
    CHECK_HAS(message, "[id df-raw]");

    /* 3. hubctl: a clean failure within its timeout, not a hang or a crash */
    int64_t t0 = harness_now_ms();
    char ev[600];
    s_event(ev, sizeof ev, "df-ctl");
    int status = harness_hubctl(h, ev, &run, "--timeout", "2", "publish", "-", NULL);
    printf("hubctl publish: exit %d after %lld ms; stderr: %s", status, (long long)(harness_now_ms() - t0), run.err);
    CHECK(status == 1 || status == 3);
    CHECK(harness_now_ms() - t0 < 10000);
    CHECK_HAS(run.err, "disk full");
    harness_run_free(&run);

    /* 4. what was acknowledged is stored and delivered, disk still full */
    json_t *st = harness_status(h);
    REQUIRE(st != NULL);
    CHECK_INT(harness_status_u64(st, "events"), f->acked);
    json_decref(st);
    CHECK(harness_alive(h));
    s_check_stored(h, "check-full", f, 0);

    /* 5. space returns: the same hubd takes the refused events, once */
    REQUIRE(make_room(h, arg) == 0);
    hub_publish_result_t res;
    char id[32];
    snprintf(id, sizeof id, "df-%zu", f->acked);
    s_event(ev, sizeof ev, id);
    REQUIRE(harness_publish(pub, ev, &res) == 0);
    CHECK_INT(res.duplicate, 0);
    CHECK_INT(res.seq, f->acked + 1);
    uint64_t seq = res.seq;
    REQUIRE(harness_publish(pub, ev, &res) == 0);
    CHECK_INT(res.duplicate, 1);
    CHECK_INT(res.seq, seq);
    f->seq[f->acked++] = seq;
    const char *more[] = {"df-raw", "df-ctl"};
    for (size_t k = 0; k < 2; k++) {
        s_event(ev, sizeof ev, more[k]);
        REQUIRE(harness_publish(pub, ev, &res) == 0);
        CHECK_INT(res.duplicate, 0);
    }
    /* and new ones */
    for (size_t k = 0; k < 20; k++) {
        snprintf(id, sizeof id, "df-%zu", f->acked);
        s_event(ev, sizeof ev, id);
        REQUIRE(harness_publish(pub, ev, &res) == 0);
        CHECK_INT(res.duplicate, 0);
        f->seq[f->acked++] = res.seq;
    }
    s_check_stored(h, "check-resumed", f, 2);

    /* 6. a clean stop, and a restart on the same data finds it all */
    CHECK_INT(harness_stop(h), 0);
    REQUIRE(harness_start(h) == 0);
    st = harness_status(h);
    REQUIRE(st != NULL);
    CHECK_INT(harness_status_u64(st, "events"), f->acked + 2);
    json_decref(st);
    s_check_stored(h, "check-restarted", f, 2);
done:
    harness_run_free(&run);
    hub_client_destroy(&pub);
    free(f);
}

/* ----------------------------------------------------------- the cases */

static int s_room_by_prlimit(harness_t *h, void *arg)
{
    (void)arg;
    return s_set_limit(h, RLIM_INFINITY);
}

static void test_file_size_limit(void)
{
    harness_opts_t o = {.policy_text = s_policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h != NULL);
    REQUIRE(s_start_limited(h, FSIZE_LIMIT) == 0);
    /* a little room above the database as hubd left it at start: the hub
     * moves its WAL into hub.db while that fits, and a wide margin would
     * only mean more rounds of refusal and room before it is full */
    long limit = s_db_bytes(harness_data_dir(h)) + FSIZE_ROOM;
    REQUIRE(limit < FSIZE_LIMIT && s_set_limit(h, (rlim_t)limit) == 0);
    s_run(h, limit, s_room_by_prlimit, NULL);
done:
    HARNESS_END(h);
}

typedef struct {
    char ballast[HARNESS_PATH * 2];
} s_tmpfs_t;

static int s_room_by_unlink(harness_t *h, void *arg)
{
    (void)h;
    s_tmpfs_t *t = arg;
    if (unlink(t->ballast) != 0) {
        fprintf(stderr, "unlink %s: %s\n", t->ballast, strerror(errno));
        return -1;
    }
    return 0;
}

/* Fills the file system of path with a ballast file until 'leave' bytes
 * are free. Returns 0 or -1. */
static int s_ballast(const char *path, const char *dir, long long leave)
{
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return -1;
    long long room = (long long)vfs.f_bavail * (long long)vfs.f_frsize - leave;
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    static char block[65536];
    memset(block, 'b', sizeof block);
    while (room > 0) {
        size_t n = room < (long long)sizeof block ? (size_t)room : sizeof block;
        if (fwrite(block, 1, n, fp) != n)
            break;
        room -= (long long)n;
    }
    int rc = fclose(fp) == 0 && room <= 0 ? 0 : -1;
    return rc;
}

static void test_small_tmpfs(void)
{
    char mnt[HARNESS_PATH] = "", data[HARNESS_PATH * 2];
    s_tmpfs_t t = {{0}};
    harness_t *h = NULL;
    int mounted = 0;
    const char *base = getenv("TMPDIR");
    if (!base || !*base || strlen(base) > 60)
        base = "/tmp";
    snprintf(mnt, sizeof mnt, "%s/hubfull-XXXXXX", base);
    REQUIRE(mkdtemp(mnt) != NULL);
    if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0700") != 0) {
        printf("not run: cannot mount a tmpfs here (%s); the file-size limit case stands for it\n", strerror(errno));
        s_not_run++;
        goto done;
    }
    mounted = 1;
    snprintf(data, sizeof data, "%s/data", mnt);
    snprintf(t.ballast, sizeof t.ballast, "%s/ballast", mnt);
    harness_opts_t o = {.policy_text = s_policy, .data_dir = data};
    h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE(s_ballast(t.ballast, mnt, TMPFS_FREE) == 0);
    s_run(h, 0, s_room_by_unlink, &t);
done:
    HARNESS_END(h);
    if (mounted && umount(mnt) != 0)
        fprintf(stderr, "umount %s: %s\n", mnt, strerror(errno));
    if (mnt[0])
        rmdir(mnt);
}

int main(int argc, char **argv)
{
    const char *bytes = getenv("HUB_FAULT_FSIZE"), *hubd = getenv("HUB_FAULT_HUBD");
    if (bytes && hubd && argc >= 1)
        return s_exec_limited(argv, bytes, hubd);
    harness_require();
    ssize_t n = readlink("/proc/self/exe", s_self, sizeof s_self - 1);
    if (n <= 0) {
        printf("skip: cannot find this program's path to run it as hubd's wrapper\n");
        return 77;
    }
    s_self[n] = '\0';
    snprintf(s_hubd, sizeof s_hubd, "%s", getenv("HUBD"));
    static const check_case_t cases[] = {
        {"a file-size limit under hubd: refused clearly, nothing acked lost, resumes", test_file_size_limit},
        {"a full tmpfs under the data: refused clearly, nothing acked lost, resumes", test_small_tmpfs},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    if (rc == 0 && s_not_run == 2) {
        printf("skip: the disk could not be filled up here (see above)\n");
        return 77;
    }
    return rc;
}
