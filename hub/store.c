/*
 * store - see store.h for the rules this file keeps.
 *
 * Tables
 *   events(seq PK, id UNIQUE, type, case_id, actor, received_ms, event, routing)
 *       one row per stored event, its routed notifications in `routing`
 *       (a packed hub.Routing, or the id of its row in routings): a
 *       notification is (seq, slot), not a row, so a fan-out to four
 *       departments costs one row, not five.
 *   routings(id PK, routing UNIQUE)
 *       the routing lists events share, each once (schema 5; see routings.h).
 *   subscribers(name PK, topics, position, dead_letters, updated_ms)
 *       one row per durable subscriber: its position, not a row per delivery.
 *   audit(...)  see audit.h: the chained log of everything that happened.
 *   deadlines(seq, slot PK, department, case_id, route, created_ms, due_ms,
 *             met_ms, response_seq, breached_ms, escalation_seq)
 *       one row per notification whose route has respond_within.
 *   dead_letters(seq PK, subscriber, orig_seq, orig_slot, reason, state,
 *                actor, at_ms, note, redrive_seq)
 *       one row per dead letter (seq: its own event), with what was done
 *       with it (schema 3; a database of schema 2 gets the rows of the
 *       dead letters it holds when it is first opened).
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "deadletter.h"
#include "log.h"
#include "rowbatch.h"
#include "routings.h"
#include "walbuf.h"

#define HUB_TAIL_ROWS 65536                /* rows the tail cache holds at most (power of 2) */
/* bytes the tail cache holds at most: some 24,000 rows of 300-byte events,
 * half a second at full rate, far more than a subscriber that keeps up
 * is behind (its credit). 24 MiB made no difference to throughput and
 * cost 8 MiB of peak RSS (54 -> 46 MiB with a 1,000,000 backlog, 61 ->
 * 50 MiB while catching up); the limit is 64 MiB. */
#define HUB_TAIL_BYTES (16u * 1024 * 1024)

/* One cached row: a single allocation holding id, case id, event, routing. */
typedef struct {
    uint64_t seq;
    int64_t received_ms;
    uint8_t *blob;      /* id \0 case_id \0 event routing */
    size_t id_len;      /* without the NUL */
    size_t case_len;    /* without the NUL */
    size_t event_len;
    size_t routing_len;
} s_cached_t;

/* The writer thread's side of a commit (s_writer). A batch is handed over
 * under lock and taken back under lock, so whatever one thread wrote
 * before the hand-over is seen by the other after it. While a batch is
 * with the writer, db and everything marked (writer) belong to it; the
 * loop uses rdb for the rows delivery reads, and waits (s_settle) before
 * anything else that reads db. */
typedef struct {
    pthread_t thread;
    int running;              /* 1: the thread runs */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    hub_store_batch_t *batch; /* handed over, not yet written (under lock) */
    int done;                 /* 1: written, rc and err say how (under lock) */
    int stop;                 /* 1: the thread is to end (under lock) */
    int rc;                   /* the commit's result (0 or -HUB_E*) */
    char err[HUB_ERR_LEN];
    uint64_t last_seq;        /* (writer) highest seq the commit stored */
    int64_t next_due_ms;      /* (writer) earliest open deadline after breaches */
    int done_fd;              /* eventfd: readable once a batch is written */
    int wal_frames;           /* (writer) the WAL's length after the last commit */
    int wal_restart;          /* frames (of this database's pages) in S_WAL_RESTART_BYTES */
    int wal_grace;            /* ... in S_WAL_GRACE_BYTES */
    int wal_slack;            /* ... in S_WAL_REWIND_SLACK_BYTES */
    int wal_force;            /* ... in S_WAL_FORCE_BYTES */
    int sync_ready;           /* 1: lock and cond are initialised */
} s_writer_t;

struct hub_store {
    sqlite3 *db;
    sqlite3 *rdb;             /* read-only: the rows delivery reads from disk */
    s_writer_t w;
    hub_store_batch_t *pending; /* begun, not yet ended (hub_store_commit_end) */
    int settled;              /* 1: pending is written and its rows are in the tail cache */
    int lock_fd;              /* flock'd hubd.lock in the data dir */
    char path[1100];          /* the database file */
    pthread_t checkpointer;   /* copies the WAL into the database, off the broker loop */
    int checkpointing;        /* 1: the thread runs */
    atomic_int ckpt_done;     /* WAL frames its last pass had copied */
    int stop_pipe[2];         /* a byte (or the close) on [1] stops it */
    uint64_t last_seq;        /* highest committed seq */
    uint64_t commits;         /* successful commits since open */
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    sqlite3_stmt *rollback;
    hub_rowbatch_t *event_rows;    /* the events of a batch, several to a statement */
    hub_routings_t *routings;      /* (writer) the lists events share */
    sqlite3_stmt *unwind_events;   /* the rows of a statement that met a duplicate (s_flush_events) */
    sqlite3_stmt *find_event;
    sqlite3_stmt *upsert_cursor;
    sqlite3_stmt *scan;
    sqlite3_stmt *get;
    hub_rowbatch_t *audit_rows;    /* audit rows, several to a statement */
    sqlite3_stmt *insert_deadline;
    sqlite3_stmt *breach_deadline;
    sqlite3_stmt *meet_deadlines;
    sqlite3_stmt *due;
    sqlite3_stmt *next_due;
    sqlite3_stmt *scan_back;  /* queries: newest first, with type and actor */
    sqlite3_stmt *deadline;   /* queries: one notification's deadline */
    sqlite3_stmt *insert_dead;     /* a dead letter made */
    sqlite3_stmt *close_dead;      /* ... redriven or discarded */
    sqlite3_stmt *get_dead;        /* one dead letter */
    sqlite3_stmt *list_dead;       /* dead letters, newest first */
    int64_t audit_id;         /* id of the last audit row (0: none) */
    char audit_hash[HUB_SHA256_HEX_LEN]; /* its hash ("" when none) */
    int64_t next_due_ms;      /* earliest open deadline, or INT64_MAX */
    s_cached_t *tail;         /* ring of HUB_TAIL_ROWS */
    uint64_t tail_first;      /* seq of the oldest cached row (0: empty) */
    size_t tail_count;        /* rows cached */
    size_t tail_bytes;        /* bytes cached */
};

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS events("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  type TEXT NOT NULL,"
    "  case_id TEXT,"
    "  actor TEXT NOT NULL,"
    "  received_ms INTEGER NOT NULL,"
    "  event BLOB NOT NULL,"
    "  routing BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS subscribers("
    "  name TEXT PRIMARY KEY,"
    "  topics TEXT NOT NULL,"
    "  position INTEGER NOT NULL,"
    "  dead_letters INTEGER NOT NULL DEFAULT 0,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS deadlines("
    "  seq INTEGER NOT NULL,"
    "  slot INTEGER NOT NULL,"
    "  department TEXT NOT NULL,"
    "  case_id TEXT,"
    "  route TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  due_ms INTEGER NOT NULL,"
    "  met_ms INTEGER,"
    "  response_seq INTEGER,"
    "  breached_ms INTEGER,"
    "  escalation_seq INTEGER,"
    "  PRIMARY KEY(seq, slot));"
    "CREATE INDEX IF NOT EXISTS deadlines_open ON deadlines(due_ms) WHERE met_ms IS NULL AND breached_ms IS NULL;"
    "CREATE INDEX IF NOT EXISTS deadlines_case ON deadlines(case_id, department) WHERE met_ms IS NULL;"
    "CREATE TABLE IF NOT EXISTS dead_letters("
    "  seq INTEGER PRIMARY KEY,"
    "  subscriber TEXT NOT NULL,"
    "  orig_seq INTEGER NOT NULL,"
    "  orig_slot INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'open',"
    "  actor TEXT,"
    "  at_ms INTEGER,"
    "  note TEXT,"
    "  redrive_seq INTEGER);"
    "CREATE INDEX IF NOT EXISTS dead_letters_open ON dead_letters(subscriber) WHERE state = 'open';";

/* The integer a PRAGMA reading (sql) answers, or fallback when it cannot
 * be read. */
static int s_pragma_int(sqlite3 *db, const char *sql, int fallback)
{
    sqlite3_stmt *st = NULL;
    int value = fallback;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        value = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return value;
}

static int s_prepare(hub_store_t *self, sqlite3_stmt **st, const char *sql, char err[HUB_ERR_LEN])
{
    if (sqlite3_prepare_v3(self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "store: preparing statement: %s", sqlite3_errmsg(self->db));
        return -HUB_ESTORE;
    }
    return 0;
}

static int s_exec(hub_store_t *self, const char *sql, char err[HUB_ERR_LEN])
{
    char *msg = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "store: %s", msg ? msg : sqlite3_errmsg(self->db));
        sqlite3_free(msg);
        return -HUB_ESTORE;
    }
    return 0;
}

/* Creates dir (and its parents) with mode 0700 where missing. */
static int s_make_dir(const char *dir, char err[HUB_ERR_LEN])
{
    char path[1024];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        snprintf(err, HUB_ERR_LEN, "data directory \"%s\": path is empty or too long", dir);
        return -EINVAL;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            snprintf(err, HUB_ERR_LEN, "cannot create data directory %s: %s", path, strerror(e));
            return -e;
        }
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, HUB_ERR_LEN, "data directory %s is not a directory", dir);
        return -ENOTDIR;
    }
    if (access(dir, R_OK | W_OK | X_OK) != 0) {
        int e = errno;
        snprintf(err, HUB_ERR_LEN, "cannot use data directory %s: %s", dir, strerror(e));
        return -e;
    }
    return 0;
}

/* Takes the directory's lock so that two hubd never share a database. */
static int s_lock_dir(hub_store_t *self, const char *dir, char err[HUB_ERR_LEN])
{
    char path[1100];
    snprintf(path, sizeof path, "%s/hubd.lock", dir);
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        int e = errno;
        snprintf(err, HUB_ERR_LEN, "cannot use data directory %s: %s: %s", dir, path, strerror(e));
        return -e;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t got = pread(self->lock_fd, pid, sizeof pid - 1, 0);
        pid[got > 0 ? got : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, HUB_ERR_LEN, "data directory %s is in use by another hubd%s%s", dir, *pid ? " (pid " : "",
                 *pid ? pid : "");
        if (*pid)
            strncat(err, ")", HUB_ERR_LEN - strlen(err) - 1);
        return -EBUSY;
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(self->lock_fd, 0) != 0 || pwrite(self->lock_fd, line, (size_t)len, 0) != len) {
        /* the pid is only informative */
    }
    return 0;
}

static int s_read_next_due(hub_store_t *self, int64_t *due_p);
static void *s_writer(void *arg);

/* The columns hub_store_dead_letter_t is read from, in its order. */
#define S_DEAD_COLUMNS                                                                                                 \
    "seq, subscriber, orig_seq, orig_slot, reason, state, coalesce(actor, ''), coalesce(at_ms, 0), note, "          \
    "coalesce(redrive_seq, 0)"

/* Schema 2 to 3: a row in dead_letters for every dead letter stored, made
 * of its id (subscriber, notification) and its route's reason. Runs once,
 * when a database of schema 2 is first opened; reads every event of type
 * dead_letter (a scan of the events table). Returns 0 or -HUB_ESTORE. */
static int s_dead_letters_from_events(hub_store_t *self, char err[HUB_ERR_LEN])
{
    sqlite3_stmt *read = NULL, *write = NULL;
    int rc = sqlite3_prepare_v2(self->db, "SELECT seq, id, routing FROM events WHERE type = 'dead_letter'", -1,
                                &read, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(self->db,
                                "INSERT OR IGNORE INTO dead_letters(seq, subscriber, orig_seq, orig_slot, reason) "
                                "VALUES(?1, ?2, ?3, ?4, ?5)",
                                -1, &write, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    size_t n = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(read)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        char subscriber[HUB_DEADLETTER_SUBSCRIBER_LEN], scratch[4096], why[1024];
        uint64_t orig_seq;
        uint32_t orig_slot;
        hub_route_view_t route;
        const char *id = (const char *)sqlite3_column_text(read, 1);
        if (hub_deadletter_parse_id(id, subscriber, &orig_seq, &orig_slot) != 0)
            continue; /* not one the hub made */
        int found = hub_routing_route(sqlite3_column_blob(read, 2), (size_t)sqlite3_column_bytes(read, 2), 0, &route,
                                      scratch, sizeof scratch);
        hub_deadletter_why(found == 1 ? route.reason : "", subscriber, why, sizeof why);
        sqlite3_bind_int64(write, 1, sqlite3_column_int64(read, 0));
        sqlite3_bind_text(write, 2, subscriber, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(write, 3, (sqlite3_int64)orig_seq);
        sqlite3_bind_int64(write, 4, orig_slot);
        sqlite3_bind_text(write, 5, why, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(write);
        sqlite3_reset(write);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        n++;
    }
    if (rc == SQLITE_DONE)
        rc = sqlite3_exec(self->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "store: listing the dead letters of schema 2: %s", sqlite3_errmsg(self->db));
        if (!sqlite3_get_autocommit(self->db))
            sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(read);
    sqlite3_finalize(write);
    if (rc == SQLITE_OK && n > 0)
        hub_info("store: schema 3: %zu dead letters of schema 2 listed in dead_letters", n);
    return rc == SQLITE_OK ? 0 : -HUB_ESTORE;
}

/* Reads the audit chain's head and the earliest open deadline. */
static int s_load_heads(hub_store_t *self, char err[HUB_ERR_LEN])
{
    sqlite3_stmt *st = NULL;
    self->audit_id = 0;
    self->audit_hash[0] = '\0';
    if (sqlite3_prepare_v2(self->db, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", -1, &st, NULL) !=
        SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "store: reading the audit log: %s", sqlite3_errmsg(self->db));
        return -HUB_ESTORE;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        self->audit_id = sqlite3_column_int64(st, 0);
        if (hub_audit_stored_hash(st, 1, self->audit_hash) != 0) /* the chain goes on; verify names the row */
            hub_warn("audit row %lld has no readable hash: run 'hubctl audit verify' on the database",
                     (long long)self->audit_id);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(err, HUB_ERR_LEN, "store: reading the audit log: %s", sqlite3_errmsg(self->db));
        return -HUB_ESTORE;
    }
    if (s_read_next_due(self, &self->next_due_ms) != 0) {
        snprintf(err, HUB_ERR_LEN, "store: reading deadlines: %s", sqlite3_errmsg(self->db));
        return -HUB_ESTORE;
    }
    return 0;
}

#define S_CHECKPOINT_MS 250 /* how often the WAL is copied into the database */
/* ... while the last pass found frames to copy: often, so that each
 * pass's flush of the database is small and holds up the commits' own
 * flushes little (10 rather than 50 ms, ten pairs at 5,000 events/s: p99
 * 2.62 -> 2.39 ms, p99.9 4.99 -> 4.02 ms; 2% more CPU per event under
 * load, throughput the same) */
#define S_CHECKPOINT_BUSY_MS 10
#define S_PAGE_SIZE "8192"         /* bytes per page of a new database (an existing one keeps its own) */
#define S_WAL_RESTART_BYTES (64 << 20) /* a WAL this long is finished and rewound */
#define S_WAL_GRACE_BYTES (96 << 20) /* ... by the checkpointer alone, up to this; then */
#define S_WAL_REWIND_SLACK_BYTES (8 << 20) /* ... by the writer once the checkpointer is this close behind */
#define S_WAL_FORCE_BYTES (4 * S_WAL_RESTART_BYTES) /* ... or however far behind, past this */
#define S_WAL_LIMIT "134217728"    /* bytes: a rewound WAL longer than this (128 MiB) is cut back to it */

/* The checkpointer: its own connection copies committed WAL frames into
 * the database (PASSIVE: it never waits for the writer, nor makes it
 * wait), so that commits seldom pay for a checkpoint. It passes every
 * S_CHECKPOINT_MS, or soon again while it keeps finding frames, and says
 * how far it got (ckpt_done). Its connection reads the schema first:
 * until a connection has read the database it does not know the WAL, and
 * its checkpoints copy nothing. It talks to nobody else: it stops when
 * the pipe speaks. */
static void *s_checkpointer(void *arg)
{
    hub_store_t *self = arg;
    pthread_setname_np(pthread_self(), HUB_THREAD_CHECKPOINT);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(self->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL) != SQLITE_OK) {
        hub_error("store: the checkpointer cannot read %s: %s; the writer checkpoints alone", self->path,
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        atomic_store(&self->ckpt_done, INT_MAX); /* never "behind": the writer copies at each mark */
        return NULL;
    }
    sqlite3_busy_timeout(db, 50);
    struct pollfd pfd = {self->stop_pipe[0], POLLIN, 0};
    int wait_ms = S_CHECKPOINT_MS, copied = 0;
    while (poll(&pfd, 1, wait_ms) == 0 || (pfd.revents == 0)) {
        int log = 0, done = 0;
        if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) != SQLITE_OK)
            done = copied;
        else
            atomic_store(&self->ckpt_done, done);
        /* past the restart mark, a pass that copies the whole WAL lets
         * the writer's next transaction start it again with no copy or
         * flush of its own (s_rewind_due): then it goes round at once
         * while it finds frames, and every millisecond once it has none,
         * until the WAL starts again */
        if (log >= self->w.wal_restart)
            wait_ms = done > copied ? 0 : 1;
        else
            wait_ms = done > copied ? S_CHECKPOINT_BUSY_MS : S_CHECKPOINT_MS;
        copied = done;
    }
    sqlite3_close(db);
    return NULL;
}

/* The WAL's length in frames after each commit (SQLite calls this in the
 * committing thread, the writer). */
static int s_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((hub_store_t *)arg)->w.wal_frames = frames;
    return SQLITE_OK;
}

/* Before a transaction: a WAL of S_WAL_RESTART_BYTES or more that the
 * checkpointer has copied whole is started again by the transaction
 * itself (SQLite does it). One that reaches S_WAL_GRACE_BYTES without
 * that is checkpointed to its end here, so that the transaction begins by
 * rewinding it and its file stops growing. That waits until the
 * checkpointer is close behind, so that what is left to copy here is
 * little; past S_WAL_FORCE_BYTES it is done anyway. Even a little costs
 * this commit two flushes (the WAL's and the database's: 1 to 7 ms here,
 * CPU waits included), which is why the marks are high (at 5,000
 * events/s a 16 MiB mark put one such commit in every 1,500 events and
 * showed in p99), why the checkpointer gets its chance first (at 5,000
 * events/s it mostly wins it: p99.9 6.1 -> 4.9 ms, ten pairs), and why
 * such a transaction is always the writer's (s_rewind_due), never the
 * caller's. Rewinding also needs that no reader uses the WAL; until then
 * it is tried again before each transaction. */
static int s_rewind_due(hub_store_t *self)
{
    int frames = self->w.wal_frames;
    if (!self->checkpointing || frames < self->w.wal_restart)
        return 0;
    int behind = frames - atomic_load(&self->ckpt_done);
    /* copied whole by the checkpointer: the transaction starts the WAL
     * again by itself; short of S_WAL_GRACE_BYTES, the checkpointer has
     * the time to come to that */
    if (behind <= 0 || frames < self->w.wal_grace)
        return 0;
    return behind <= self->w.wal_slack || frames >= self->w.wal_force;
}

static void s_wal_rewind(hub_store_t *self)
{
    if (!s_rewind_due(self))
        return;
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(self->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) == SQLITE_OK &&
        log == done)
        self->w.wal_frames = 0; /* the next commit says the truth again */
}

/* Starts the checkpointer and turns off checkpoints in the writer's own
 * commits. Without a thread (it could not start) SQLite keeps checkpointing
 * in the commits, as by default. */
static void s_start_checkpointer(hub_store_t *self)
{
    int page = s_pragma_int(self->db, "PRAGMA page_size", 4096);
    if (page <= 0)
        page = 4096;
    self->w.wal_restart = S_WAL_RESTART_BYTES / page;
    self->w.wal_grace = S_WAL_GRACE_BYTES / page;
    self->w.wal_slack = S_WAL_REWIND_SLACK_BYTES / page;
    self->w.wal_force = S_WAL_FORCE_BYTES / page;
    if (pipe2(self->stop_pipe, O_CLOEXEC) != 0)
        return;
    if (pthread_create(&self->checkpointer, NULL, s_checkpointer, self) != 0)
        return;
    self->checkpointing = 1;
    /* after the pragma, which sets a hook of its own */
    sqlite3_exec(self->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
    sqlite3_wal_hook(self->db, s_wal_hook, self);
}

/* Opens rdb, the loop's read-only connection for delivery's reads, so
 * that they need not wait while the writer holds db. */
static int s_open_reader(hub_store_t *self, char err[HUB_ERR_LEN])
{
    if (sqlite3_open_v2(self->path, &self->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_exec(self->rdb, "PRAGMA cache_size=-2048", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(self->rdb,
                           "SELECT e.seq, e.id, coalesce(e.case_id, ''), e.received_ms, e.event, "
                           HUB_ROUTINGS_COLUMN " FROM events e" HUB_ROUTINGS_JOIN
                           " WHERE e.seq >= ?1 AND e.seq <= ?3 ORDER BY e.seq LIMIT ?2",
                           -1, SQLITE_PREPARE_PERSISTENT, &self->scan, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(self->rdb,
                           "SELECT e.seq, e.id, coalesce(e.case_id, ''), e.received_ms, e.event, "
                           HUB_ROUTINGS_COLUMN " FROM events e" HUB_ROUTINGS_JOIN " WHERE e.seq = ?1",
                           -1, SQLITE_PREPARE_PERSISTENT, &self->get, NULL) != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "store: opening a reading connection: %s",
                 self->rdb ? sqlite3_errmsg(self->rdb) : "out of memory");
        return -HUB_ESTORE;
    }
    return 0;
}

/* Starts the writer thread. Without it (it could not start) commits are
 * written on the caller's thread, in hub_store_commit_begin. */
static int s_start_writer(hub_store_t *self, char err[HUB_ERR_LEN])
{
    self->w.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->w.done_fd < 0) {
        snprintf(err, HUB_ERR_LEN, "store: eventfd: %s", strerror(errno));
        return -HUB_ESTORE;
    }
    if (pthread_mutex_init(&self->w.lock, NULL) != 0 || pthread_cond_init(&self->w.cond, NULL) != 0) {
        snprintf(err, HUB_ERR_LEN, "store: cannot set up the writer");
        return -HUB_ESTORE;
    }
    self->w.sync_ready = 1;
    if (pthread_create(&self->w.thread, NULL, s_writer, self) == 0)
        self->w.running = 1;
    else
        hub_warn("store: no writer thread (%s); commits are written on the loop", strerror(errno));
    return 0;
}

static void s_stop_writer(hub_store_t *self)
{
    if (self->w.running) {
        pthread_mutex_lock(&self->w.lock);
        self->w.stop = 1;
        pthread_cond_signal(&self->w.cond);
        pthread_mutex_unlock(&self->w.lock);
        pthread_join(self->w.thread, NULL);
        self->w.running = 0;
    }
    if (self->w.sync_ready) {
        pthread_mutex_destroy(&self->w.lock);
        pthread_cond_destroy(&self->w.cond);
        self->w.sync_ready = 0;
    }
    if (self->w.done_fd >= 0)
        close(self->w.done_fd);
    self->w.done_fd = -1;
}

/* SQLite's process-wide settings, made before it first initializes (a
 * setting made later is refused, and the default stays): no count of the
 * memory it holds, which would take one global mutex per allocation, and
 * this build of SQLite allocates for every row it writes or reads. */
static pthread_once_t s_sqlite_once = PTHREAD_ONCE_INIT;

static void s_sqlite_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

hub_store_t *hub_store_open(const char *dir, char err[HUB_ERR_LEN])
{
    pthread_once(&s_sqlite_once, s_sqlite_setup);
    hub_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "store: out of memory");
        return NULL;
    }
    self->lock_fd = -1;
    self->w.done_fd = -1;
    self->stop_pipe[0] = self->stop_pipe[1] = -1;
    self->tail = calloc(HUB_TAIL_ROWS, sizeof *self->tail);
    if (!self->tail) {
        snprintf(err, HUB_ERR_LEN, "store: out of memory");
        goto fail;
    }
    if (s_make_dir(dir, err) != 0 || s_lock_dir(self, dir, err) != 0)
        goto fail;

    char *path = self->path;
    snprintf(self->path, sizeof self->path, "%s/hub.db", dir);
    /* create the file ourselves so that it is 0600 from the start; SQLite
     * gives the -wal and -shm files the same mode */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, HUB_ERR_LEN, "cannot open database %s: %s", path, strerror(e));
        goto fail;
    }
    close(fd);
    /* the writing connection writes a commit's WAL frames in one call
     * (walbuf.h); without that VFS it writes them as SQLite does */
    const char *vfs = hub_walbuf_register() == 0 ? HUB_WALBUF_VFS : NULL;
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs) != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "cannot open database %s: %s", path,
                 self->db ? sqlite3_errmsg(self->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(self->db, 1);
    sqlite3_busy_timeout(self->db, HUB_STORE_LOCK_WAIT_MS); /* rule 14 */
    /* the page size first: it takes only on a database not yet written */
    if (s_exec(self, "PRAGMA page_size=" S_PAGE_SIZE, err) != 0 || s_exec(self, "PRAGMA journal_mode=WAL", err) != 0 ||
        s_exec(self, "PRAGMA synchronous=FULL", err) != 0 ||
        s_exec(self, "PRAGMA temp_store=MEMORY", err) != 0 || s_exec(self, "PRAGMA cache_size=-8192", err) != 0 ||
        s_exec(self, "PRAGMA journal_size_limit=" S_WAL_LIMIT, err) != 0)
        goto fail;

    int version = s_pragma_int(self->db, "PRAGMA user_version", 0);
    if (version > HUB_SCHEMA_VERSION) {
        snprintf(err, HUB_ERR_LEN,
                 "database %s has schema %d, newer than this hubd (%d): run the hubd that wrote it, or a "
                 "copy of the database from before that hubd",
                 path, version, HUB_SCHEMA_VERSION);
        goto fail;
    }
    char set_version[64];
    snprintf(set_version, sizeof set_version, "PRAGMA user_version=%d", HUB_SCHEMA_VERSION);
    if (s_exec(self, s_schema, err) != 0 || s_exec(self, hub_routings_schema, err) != 0 ||
        s_exec(self, hub_audit_schema, err) != 0 ||
        (version > 0 && version < 3 && s_dead_letters_from_events(self, err) != 0) ||
        s_exec(self, set_version, err) != 0)
        goto fail;

    if (s_prepare(self, &self->begin, "BEGIN IMMEDIATE", err) ||
        s_prepare(self, &self->commit, "COMMIT", err) || s_prepare(self, &self->rollback, "ROLLBACK", err) ||
        s_prepare(self, &self->unwind_events, "DELETE FROM events WHERE seq BETWEEN ?1 AND ?2", err) ||
        s_prepare(self, &self->find_event, "SELECT seq FROM events WHERE id = ?1", err) ||
        s_prepare(self, &self->upsert_cursor,
                  "INSERT INTO subscribers(name, topics, position, dead_letters, updated_ms) "
                  "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO UPDATE SET topics = excluded.topics, "
                  "position = excluded.position, dead_letters = excluded.dead_letters, "
                  "updated_ms = excluded.updated_ms",
                  err) ||
        s_prepare(self, &self->insert_deadline,
                  "INSERT OR IGNORE INTO deadlines(seq, slot, department, case_id, route, created_ms, due_ms) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                  err) ||
        s_prepare(self, &self->breach_deadline,
                  "UPDATE deadlines SET breached_ms = ?3, escalation_seq = ?4 WHERE seq = ?1 AND slot = ?2", err) ||
        s_prepare(self, &self->meet_deadlines,
                  "UPDATE deadlines SET met_ms = ?1, response_seq = ?2 WHERE case_id = ?3 AND department = ?4 "
                  "AND met_ms IS NULL AND seq < ?2 RETURNING seq, slot, route, created_ms, due_ms",
                  err) ||
        s_prepare(self, &self->due,
                  "SELECT seq, slot, department, coalesce(case_id, ''), route, created_ms, due_ms FROM deadlines "
                  "WHERE met_ms IS NULL AND breached_ms IS NULL AND due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
                  err) ||
        s_prepare(self, &self->next_due,
                  "SELECT coalesce(min(due_ms), 9223372036854775807) FROM deadlines "
                  "WHERE met_ms IS NULL AND breached_ms IS NULL",
                  err) ||
        s_prepare(self, &self->scan_back,
                  "SELECT e.seq, e.id, coalesce(e.case_id, ''), e.received_ms, e.event, " HUB_ROUTINGS_COLUMN
                  ", e.type, e.actor FROM events e" HUB_ROUTINGS_JOIN " WHERE e.seq <= ?1 ORDER BY e.seq DESC LIMIT ?2",
                  err) ||
        s_prepare(self, &self->deadline,
                  "SELECT due_ms, coalesce(met_ms, 0), coalesce(breached_ms, 0), coalesce(escalation_seq, 0) "
                  "FROM deadlines WHERE seq = ?1 AND slot = ?2",
                  err) ||
        s_prepare(self, &self->insert_dead,
                  "INSERT OR IGNORE INTO dead_letters(seq, subscriber, orig_seq, orig_slot, reason) "
                  "VALUES(?1, ?2, ?3, ?4, ?5)",
                  err) ||
        s_prepare(self, &self->close_dead,
                  "UPDATE dead_letters SET state = ?2, actor = ?3, at_ms = ?4, note = ?5, redrive_seq = ?6 "
                  "WHERE seq = ?1 AND state = 'open'",
                  err) ||
        s_prepare(self, &self->get_dead,
                  "SELECT " S_DEAD_COLUMNS " FROM dead_letters WHERE seq = ?1", err) ||
        s_prepare(self, &self->list_dead,
                  "SELECT " S_DEAD_COLUMNS " FROM dead_letters WHERE seq >= ?1 AND seq <= ?2 "
                  "AND (?3 IS NULL OR subscriber = ?3) AND (?4 = 0 OR state = 'open') ORDER BY seq DESC",
                  err))
        goto fail;
    self->event_rows = hub_rowbatch_new(self->db,
                                        "INSERT INTO events(seq, id, type, case_id, actor, received_ms, event, routing)",
                                        " ON CONFLICT(id) DO NOTHING", 8);
    self->audit_rows = hub_rowbatch_new(
        self->db, "INSERT INTO audit(id, at_ms, actor, action, event_id, case_id, department, seq, seq_to, detail, hash)",
        "", 11);
    if (!self->event_rows || !self->audit_rows) {
        snprintf(err, HUB_ERR_LEN, "store: out of memory");
        goto fail;
    }
    self->routings = hub_routings_new(self->db);
    if (!self->routings) {
        snprintf(err, HUB_ERR_LEN, "store: preparing the routings' statements: %s", sqlite3_errmsg(self->db));
        goto fail;
    }
    if (s_load_heads(self, err) != 0 || s_open_reader(self, err) != 0 || s_start_writer(self, err) != 0)
        goto fail;
    s_start_checkpointer(self);

    sqlite3_stmt *last = NULL;
    if (sqlite3_prepare_v2(self->db, "SELECT coalesce(max(seq), 0) FROM events", -1, &last, NULL) != SQLITE_OK ||
        sqlite3_step(last) != SQLITE_ROW) {
        snprintf(err, HUB_ERR_LEN, "store: reading the last sequence number: %s", sqlite3_errmsg(self->db));
        sqlite3_finalize(last);
        goto fail;
    }
    self->last_seq = (uint64_t)sqlite3_column_int64(last, 0);
    sqlite3_finalize(last);
    return self;
fail:
    hub_store_destroy(&self);
    return NULL;
}

static void s_tail_clear(hub_store_t *self)
{
    for (size_t i = 0; i < self->tail_count; i++) {
        s_cached_t *c = &self->tail[(self->tail_first + i) & (HUB_TAIL_ROWS - 1)];
        free(c->blob);
        c->blob = NULL;
    }
    self->tail_count = 0;
    self->tail_bytes = 0;
    self->tail_first = 0;
}

void hub_store_destroy(hub_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_store_t *self = *self_p;
    if (self->pending) {
        char err[HUB_ERR_LEN];
        hub_store_commit_end(self, 1, err);
    }
    s_stop_writer(self);
    sqlite3_stmt **stmts[] = {&self->begin,           &self->commit,          &self->rollback,
                              &self->unwind_events,   &self->find_event,      &self->upsert_cursor,
                              &self->scan,            &self->get,             &self->insert_deadline,
                              &self->breach_deadline, &self->meet_deadlines,  &self->due,
                              &self->next_due,        &self->scan_back,       &self->deadline,
                              &self->insert_dead,     &self->close_dead,      &self->get_dead,
                              &self->list_dead};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        sqlite3_finalize(*stmts[i]);
        *stmts[i] = NULL;
    }
    hub_rowbatch_destroy(&self->event_rows);
    hub_rowbatch_destroy(&self->audit_rows);
    hub_routings_destroy(&self->routings);
    if (self->checkpointing) {
        if (write(self->stop_pipe[1], "x", 1) < 0) {
            /* the thread also stops when the pipe closes */
        }
        close(self->stop_pipe[1]);
        self->stop_pipe[1] = -1;
        pthread_join(self->checkpointer, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (self->stop_pipe[i] >= 0)
            close(self->stop_pipe[i]);
    /* the reading connection first: the last one to close checkpoints
     * the WAL into the database and removes it, and only db may */
    if (self->rdb)
        sqlite3_close(self->rdb);
    if (self->db)
        sqlite3_close(self->db);
    if (self->tail) {
        s_tail_clear(self);
        free(self->tail);
    }
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    *self_p = NULL;
}

/* Reads the earliest open deadline into *due_p. Returns 0 or -HUB_ESTORE. */
static int s_read_next_due(hub_store_t *self, int64_t *due_p)
{
    int rc = sqlite3_step(self->next_due);
    if (rc == SQLITE_ROW)
        *due_p = sqlite3_column_int64(self->next_due, 0);
    sqlite3_reset(self->next_due);
    return rc == SQLITE_ROW ? 0 : -HUB_ESTORE;
}

/* Steps a statement that returns no row and resets it. */
static int s_step_done(hub_store_t *self, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    (void)self;
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int s_fail(hub_store_t *self, int rc, const char *what, char err[HUB_ERR_LEN])
{
    int primary = rc & 0xff;
    if (primary == SQLITE_FULL || (rc == SQLITE_IOERR_WRITE) || (rc == SQLITE_IOERR_FSYNC)) {
        snprintf(err, HUB_ERR_LEN, "store: %s: %s (disk full or not writable); nothing was stored, retry later",
                 what, sqlite3_errstr(rc));
        return -HUB_EUNAVAILABLE;
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        snprintf(err, HUB_ERR_LEN, "store: %s: %s (another connection holds the database); nothing was stored, "
                 "retry later", what, sqlite3_errstr(rc));
        return -HUB_EUNAVAILABLE; /* rule 14 */
    }
    /* a failure of the store's own (event_rows, audit_rows) is no SQLite
     * call's: the connection's last message would be another's */
    int own = sqlite3_extended_errcode(self->db) != rc && sqlite3_errcode(self->db) != rc;
    snprintf(err, HUB_ERR_LEN, "store: %s: %s", what, own ? sqlite3_errstr(rc) : sqlite3_errmsg(self->db));
    return -HUB_ESTORE;
}

/* Adds a committed row to the tail cache, evicting the oldest rows to stay
 * within its bounds. A failed allocation only empties the cache: rows are
 * then read from disk. */
static void s_tail_push(hub_store_t *self, const hub_store_event_t *ev)
{
    size_t id_len = strlen(ev->id), case_len = ev->case_id ? strlen(ev->case_id) : 0;
    size_t size = id_len + 1 + case_len + 1 + ev->event_len + ev->routing_len;
    if (size > HUB_TAIL_BYTES / 4) {
        s_tail_clear(self);
        return;
    }
    while (self->tail_count > 0 &&
           (self->tail_count == HUB_TAIL_ROWS || self->tail_bytes + size > HUB_TAIL_BYTES)) {
        s_cached_t *old = &self->tail[self->tail_first & (HUB_TAIL_ROWS - 1)];
        self->tail_bytes -= old->id_len + old->case_len + 2 + old->event_len + old->routing_len;
        free(old->blob);
        old->blob = NULL;
        self->tail_first++;
        self->tail_count--;
    }
    if (self->tail_count > 0 && self->tail_first + self->tail_count != ev->seq)
        s_tail_clear(self); /* not contiguous: start again */
    uint8_t *blob = malloc(size ? size : 1);
    if (!blob) {
        s_tail_clear(self);
        return;
    }
    memcpy(blob, ev->id, id_len + 1);
    if (case_len)
        memcpy(blob + id_len + 1, ev->case_id, case_len);
    blob[id_len + 1 + case_len] = '\0';
    memcpy(blob + id_len + case_len + 2, ev->event, ev->event_len);
    memcpy(blob + id_len + case_len + 2 + ev->event_len, ev->routing, ev->routing_len);
    if (self->tail_count == 0)
        self->tail_first = ev->seq;
    s_cached_t *c = &self->tail[ev->seq & (HUB_TAIL_ROWS - 1)];
    *c = (s_cached_t){ev->seq, ev->received_ms, blob, id_len, case_len, ev->event_len, ev->routing_len};
    self->tail_count++;
    self->tail_bytes += size;
}

/* Binds text, or NULL for a NULL pointer. */
static void s_bind_text(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Appends one row to the audit chain inside the open transaction: sets its
 * id and hash and moves the in-memory head (put back by the caller on
 * rollback). The row goes to audit_rows, written when they are full and
 * before the commit (s_write): its detail is copied, its other strings
 * must last until then (the batch's and the journal's do). */
static int s_audit_append(hub_store_t *self, hub_audit_row_t *row)
{
    uint8_t digest[HUB_SHA256_LEN];
    char hash[HUB_SHA256_HEX_LEN];
    row->id = self->audit_id + 1;
    hub_audit_digest(self->audit_hash, row, digest, hash);
    hub_rowbatch_t *rows = self->audit_rows;
    hub_rowbatch_int(rows, row->id);
    hub_rowbatch_int(rows, row->at_ms);
    hub_rowbatch_text(rows, row->actor, -1, 0);
    hub_rowbatch_text(rows, row->action, -1, 0);
    hub_rowbatch_text(rows, row->event_id, -1, 0);
    hub_rowbatch_text(rows, row->case_id, -1, 0);
    hub_rowbatch_text(rows, row->department, -1, 0);
    if (row->seq)
        hub_rowbatch_int(rows, row->seq);
    else
        hub_rowbatch_null(rows);
    if (row->seq_to)
        hub_rowbatch_int(rows, row->seq_to);
    else
        hub_rowbatch_null(rows);
    hub_rowbatch_text(rows, row->detail ? row->detail : "{}", -1, 1);
    hub_rowbatch_blob(rows, digest, sizeof digest, 1); /* half the bytes of its hex */
    self->audit_id = row->id;
    memcpy(self->audit_hash, hash, sizeof hash);
    return hub_rowbatch_end(rows) ? hub_rowbatch_flush(rows, NULL) : SQLITE_OK;
}

/* Rule 8: a response meets the open deadlines of its case for its
 * department that were set before it. */
static int s_meet_deadlines(hub_store_t *self, const hub_store_event_t *ev, int64_t now)
{
    if (!ev->responder || !ev->case_id || !*ev->case_id)
        return SQLITE_OK;
    sqlite3_stmt *st = self->meet_deadlines;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->seq);
    sqlite3_bind_text(st, 3, ev->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ev->responder, -1, SQLITE_STATIC);
    /* RETURNING rows are all computed before the first is returned, so the
     * audit inserts below do not disturb the update */
    struct {
        int64_t seq, slot, created_ms, due_ms;
        char route[64];
    } met[64];
    size_t nmet = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nmet == sizeof met / sizeof met[0])
            continue; /* met all the same; only the first 64 get their own row */
        met[nmet].seq = sqlite3_column_int64(st, 0);
        met[nmet].slot = sqlite3_column_int64(st, 1);
        const char *route = (const char *)sqlite3_column_text(st, 2);
        snprintf(met[nmet].route, sizeof met[nmet].route, "%s", route ? route : "");
        met[nmet].created_ms = sqlite3_column_int64(st, 3);
        met[nmet].due_ms = sqlite3_column_int64(st, 4);
        nmet++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rc;
    for (size_t i = 0; i < nmet; i++) {
        /* an answer after the deadline still ends it (time to response
         * counts it), but says how late it was */
        char detail[256], late[40] = "";
        if (now > met[i].due_ms)
            snprintf(late, sizeof late, ",\"late_ms\":%lld", (long long)(now - met[i].due_ms));
        snprintf(detail, sizeof detail,
                 "{\"slot\":%lld,\"route\":\"%s\",\"response_seq\":%llu,\"within_ms\":%lld%s}",
                 (long long)met[i].slot, met[i].route, (unsigned long long)ev->seq,
                 (long long)(now - met[i].created_ms), late);
        hub_audit_row_t row = {.at_ms = now, .actor = "hubd", .action = "deadline_met", .case_id = ev->case_id,
                               .department = ev->responder, .seq = met[i].seq, .seq_to = met[i].seq,
                               .detail = detail};
        rc = s_audit_append(self, &row);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* Gives event_rows the row of ev as seq: a shared routing as the id of
 * its row in routings, written now if new. Returns SQLITE_OK or SQLite's
 * error code (no row given then). */
static int s_event_row(hub_store_t *self, const hub_store_event_t *ev, uint64_t seq)
{
    int64_t routing_id = 0;
    if (ev->routing_shared) {
        int rc = hub_routings_id(self->routings, ev->routing, ev->routing_len, &routing_id);
        if (rc != SQLITE_OK)
            return rc;
    }
    hub_rowbatch_t *rows = self->event_rows;
    hub_rowbatch_int(rows, (int64_t)seq);
    hub_rowbatch_text(rows, ev->id, -1, 0);
    hub_rowbatch_text(rows, ev->type, -1, 0);
    hub_rowbatch_text(rows, ev->case_id && *ev->case_id ? ev->case_id : NULL, -1, 0);
    hub_rowbatch_text(rows, ev->actor, -1, 0);
    hub_rowbatch_int(rows, ev->received_ms);
    hub_rowbatch_blob(rows, ev->event, ev->event_len, 0);
    if (routing_id > 0)
        hub_rowbatch_int(rows, routing_id);
    else
        hub_rowbatch_blob(rows, ev->routing, ev->routing_len, 0);
    return SQLITE_OK;
}

/* Writes events one statement each, skipping (and marking) duplicates. */
static int s_insert_each(hub_store_t *self, hub_store_event_t *events, size_t nevents, uint64_t *next_p)
{
    int rc = SQLITE_OK;
    uint64_t next = *next_p;
    for (size_t i = 0; i < nevents && rc == SQLITE_OK; i++) {
        hub_store_event_t *ev = &events[i];
        int written = 0;
        rc = s_event_row(self, ev, next);
        if (rc != SQLITE_OK)
            break;
        hub_rowbatch_end(self->event_rows);
        rc = hub_rowbatch_flush(self->event_rows, &written);
        if (rc != SQLITE_OK)
            break;
        if (written == 1) {
            ev->seq = next++;
            ev->duplicate = 0;
            continue;
        }
        /* the id is stored already, earlier or in this very batch */
        sqlite3_bind_text(self->find_event, 1, ev->id, -1, SQLITE_STATIC);
        int found = sqlite3_step(self->find_event);
        ev->seq = found == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(self->find_event, 0) : 0;
        ev->duplicate = 1;
        sqlite3_reset(self->find_event);
        if (found != SQLITE_ROW)
            rc = found == SQLITE_DONE ? SQLITE_CORRUPT : found;
    }
    *next_p = next;
    return rc;
}

/* Writes the n events event_rows holds, the first of them events, as the
 * seqs from *next_p on. When one was a duplicate (the rows written are
 * fewer than n), the others have seqs with a gap: those rows are taken
 * back and the n events written one by one. */
static int s_flush_events(hub_store_t *self, hub_store_event_t *events, size_t n, uint64_t *next_p)
{
    int written = 0;
    int rc = hub_rowbatch_flush(self->event_rows, &written);
    if (rc != SQLITE_OK)
        return rc;
    if ((size_t)written == n) {
        for (size_t i = 0; i < n; i++) {
            events[i].seq = (*next_p)++;
            events[i].duplicate = 0;
        }
        return SQLITE_OK;
    }
    sqlite3_bind_int64(self->unwind_events, 1, (sqlite3_int64)*next_p);
    sqlite3_bind_int64(self->unwind_events, 2, (sqlite3_int64)(*next_p + n - 1));
    rc = s_step_done(self, self->unwind_events);
    return rc == SQLITE_OK ? s_insert_each(self, events, n, next_p) : rc;
}

/* Writes the batch's events, several to a statement: sets each one's seq
 * (from *next_p on, moved past them) and duplicate. */
static int s_insert_events(hub_store_t *self, hub_store_event_t *events, size_t nevents, uint64_t *next_p)
{
    size_t first = 0; /* the first event in event_rows */
    int rc = SQLITE_OK;
    for (size_t i = 0; i < nevents && rc == SQLITE_OK; i++) {
        rc = s_event_row(self, &events[i], *next_p + (i - first));
        if (rc != SQLITE_OK)
            break;
        if (hub_rowbatch_end(self->event_rows) || i + 1 == nevents) {
            rc = s_flush_events(self, events + first, i + 1 - first, next_p);
            first = i + 1;
        }
    }
    return rc;
}

/* The event an entry of the batch points at, or NULL when it points at
 * none or at a duplicate (then nothing about it is written). */
static const hub_store_event_t *s_batch_event(const hub_store_batch_t *batch, int index, int *skip_p)
{
    *skip_p = 0;
    if (index < 0 || (size_t)index >= batch->nevents)
        return NULL;
    const hub_store_event_t *ev = &batch->events[index];
    *skip_p = ev->duplicate;
    return ev;
}

/* Writes the batch in one transaction (the writer's half of a commit):
 * sets the events' seq and duplicate and the writer's last_seq and
 * next_due_ms. Returns 0 or -HUB_E* with err. */
static int s_write(hub_store_t *self, hub_store_batch_t *batch, char err[HUB_ERR_LEN])
{
    int64_t audit_id = self->audit_id;
    char audit_hash[HUB_SHA256_HEX_LEN];
    memcpy(audit_hash, self->audit_hash, sizeof audit_hash);
    s_wal_rewind(self);
    int rc = s_step_done(self, self->begin);
    if (rc != SQLITE_OK)
        return s_fail(self, rc, "beginning a transaction", err);
    int64_t now = hub_now_ms();
    uint64_t next = self->last_seq + 1;
    int skip;
    rc = s_insert_events(self, batch->events, batch->nevents, &next);
    for (size_t i = 0; i < batch->ncursors && rc == SQLITE_OK; i++) {
        const hub_store_cursor_t *c = &batch->cursors[i];
        sqlite3_stmt *st = self->upsert_cursor;
        sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->topics, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)c->position);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)c->dead_letters);
        sqlite3_bind_int64(st, 5, now);
        rc = s_step_done(self, st);
    }
    for (size_t i = 0; i < batch->ndeadlines && rc == SQLITE_OK; i++) {
        const hub_store_deadline_t *d = &batch->deadlines[i];
        const hub_store_event_t *ev = s_batch_event(batch, d->event, &skip);
        if (!ev || skip)
            continue;
        sqlite3_stmt *st = self->insert_deadline;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ev->seq);
        sqlite3_bind_int64(st, 2, d->slot);
        sqlite3_bind_text(st, 3, d->department, -1, SQLITE_STATIC);
        s_bind_text(st, 4, d->case_id && *d->case_id ? d->case_id : NULL);
        sqlite3_bind_text(st, 5, d->route, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, d->created_ms);
        sqlite3_bind_int64(st, 7, d->due_ms);
        rc = s_step_done(self, st);
    }
    for (size_t i = 0; i < batch->nbreaches && rc == SQLITE_OK; i++) {
        const hub_store_breach_t *b = &batch->breaches[i];
        const hub_store_event_t *esc = s_batch_event(batch, b->escalation, &skip);
        sqlite3_stmt *st = self->breach_deadline;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)b->seq);
        sqlite3_bind_int64(st, 2, b->slot);
        sqlite3_bind_int64(st, 3, b->breached_ms);
        if (esc)
            sqlite3_bind_int64(st, 4, (sqlite3_int64)esc->seq);
        else
            sqlite3_bind_null(st, 4);
        rc = s_step_done(self, st);
    }
    for (size_t i = 0; i < batch->ndead && rc == SQLITE_OK; i++) {
        const hub_store_dead_t *d = &batch->dead[i];
        const hub_store_event_t *ev = s_batch_event(batch, d->event, &skip);
        if (!ev || skip)
            continue;
        sqlite3_stmt *st = self->insert_dead;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ev->seq);
        sqlite3_bind_text(st, 2, d->subscriber, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)d->orig_seq);
        sqlite3_bind_int64(st, 4, d->orig_slot);
        sqlite3_bind_text(st, 5, d->reason ? d->reason : "", -1, SQLITE_STATIC);
        rc = s_step_done(self, st);
    }
    for (size_t i = 0; i < batch->ndead_actions && rc == SQLITE_OK; i++) {
        const hub_store_dead_action_t *a = &batch->dead_actions[i];
        const hub_store_event_t *redrive = s_batch_event(batch, a->redrive, &skip);
        sqlite3_stmt *st = self->close_dead;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)a->seq);
        sqlite3_bind_text(st, 2, a->state, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, a->actor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        s_bind_text(st, 5, a->note);
        if (redrive)
            sqlite3_bind_int64(st, 6, (sqlite3_int64)redrive->seq);
        else
            sqlite3_bind_null(st, 6);
        rc = s_step_done(self, st);
    }
    for (size_t i = 0; i < batch->naudit && rc == SQLITE_OK; i++) {
        hub_store_audit_t *a = &batch->audit[i];
        const hub_store_event_t *ev = s_batch_event(batch, a->event, &skip);
        if (skip)
            continue;
        if (ev) {
            a->row.seq = (int64_t)ev->seq;
            a->row.seq_to = (int64_t)ev->seq;
        }
        if (!a->row.at_ms)
            a->row.at_ms = now;
        /* a detail that names another event of the batch by seq learns it
         * only now: append "ref_key":seq inside the object */
        char detail[4096];
        const hub_store_event_t *ref = s_batch_event(batch, a->ref_event, &skip);
        size_t dlen = a->row.detail ? strlen(a->row.detail) : 0;
        if (ref && a->ref_key && dlen >= 2 && dlen + 64 < sizeof detail && a->row.detail[dlen - 1] == '}') {
            snprintf(detail, sizeof detail, "%.*s%s\"%s\":%llu}", (int)(dlen - 1), a->row.detail,
                     dlen > 2 ? "," : "", a->ref_key, (unsigned long long)ref->seq);
            a->row.detail = detail;
        }
        rc = s_audit_append(self, &a->row);
    }
    /* after the batch's own rows, so that a response is received before
     * the deadlines it meets */
    for (size_t i = 0; i < batch->nevents && rc == SQLITE_OK; i++)
        if (!batch->events[i].duplicate)
            rc = s_meet_deadlines(self, &batch->events[i], now);
    if (rc == SQLITE_OK)
        rc = hub_rowbatch_flush(self->audit_rows, NULL);
    if (rc == SQLITE_OK)
        rc = s_step_done(self, self->commit);
    if (rc != SQLITE_OK) {
        hub_rowbatch_drop(self->event_rows);
        hub_rowbatch_drop(self->audit_rows);
        int ret = s_fail(self, rc, "writing a batch", err);
        if (!sqlite3_get_autocommit(self->db))
            s_step_done(self, self->rollback);
        hub_routings_forget(self->routings); /* rows it wrote went with the transaction */
        self->audit_id = audit_id;
        memcpy(self->audit_hash, audit_hash, sizeof audit_hash);
        return ret;
    }
    self->w.last_seq = next - 1;
    if (batch->nbreaches > 0 && s_read_next_due(self, &self->w.next_due_ms) != 0)
        self->w.next_due_ms = INT64_MIN; /* unknown: looked for at the next tick */
    return 0;
}

/* The loop's half of a commit that succeeded: the rows go to the tail
 * cache, the sequence counter and the earliest deadline move. */
static void s_apply(hub_store_t *self, const hub_store_batch_t *batch)
{
    self->commits++;
    for (size_t i = 0; i < batch->nevents; i++)
        if (!batch->events[i].duplicate)
            s_tail_push(self, &batch->events[i]);
    self->last_seq = self->w.last_seq;
    /* new, met or breached deadlines move the earliest one */
    for (size_t i = 0; i < batch->ndeadlines; i++)
        if (batch->deadlines[i].due_ms < self->next_due_ms)
            self->next_due_ms = batch->deadlines[i].due_ms;
    if (batch->nbreaches > 0)
        self->next_due_ms = self->w.next_due_ms;
}

/* Says on done_fd that the batch handed over is written. */
static void s_say_written(hub_store_t *self)
{
    uint64_t one = 1;
    if (write(self->w.done_fd, &one, sizeof one) < 0) {
        /* the counter is full only if nobody ever reads it */
    }
}

/* The writer thread: writes each batch handed over, then says so on
 * done_fd. */
static void *s_writer(void *arg)
{
    hub_store_t *self = arg;
    pthread_setname_np(pthread_self(), HUB_THREAD_WRITER);
    pthread_mutex_lock(&self->w.lock);
    for (;;) {
        while (!self->w.batch && !self->w.stop)
            pthread_cond_wait(&self->w.cond, &self->w.lock);
        if (!self->w.batch)
            break;
        hub_store_batch_t *batch = self->w.batch;
        pthread_mutex_unlock(&self->w.lock);
        int rc = s_write(self, batch, self->w.err);
        pthread_mutex_lock(&self->w.lock);
        self->w.rc = rc;
        self->w.batch = NULL;
        self->w.done = 1;
        pthread_cond_broadcast(&self->w.cond);
        s_say_written(self);
    }
    pthread_mutex_unlock(&self->w.lock);
    return NULL;
}

/* Waits for the pending batch to be written and applies it. Afterwards
 * db is the loop's again. */
static void s_settle(hub_store_t *self)
{
    if (!self->pending || self->settled)
        return;
    if (self->w.running) {
        pthread_mutex_lock(&self->w.lock);
        while (!self->w.done)
            pthread_cond_wait(&self->w.cond, &self->w.lock);
        pthread_mutex_unlock(&self->w.lock);
    }
    if (self->w.rc == 0)
        s_apply(self, self->pending);
    self->settled = 1;
}

int hub_store_commit_begin(hub_store_t *self, hub_store_batch_t *batch)
{
    if (self->pending)
        return -EBUSY;
    self->pending = batch;
    self->settled = 0;
    /* rule 10: a few events are written here, unless the transaction
     * would begin by rewinding the WAL: that copy and its two flushes go
     * to the writer, so that the caller's loop does not wait for them */
    if (!self->w.running || (batch->nevents <= HUB_STORE_INLINE_EVENTS && !s_rewind_due(self))) {
        /* the writer is idle (one batch at a time), so db is free here */
        int rc = s_write(self, batch, self->w.err);
        if (self->w.running)
            pthread_mutex_lock(&self->w.lock);
        self->w.rc = rc;
        self->w.done = 1;
        if (self->w.running)
            pthread_mutex_unlock(&self->w.lock);
        s_say_written(self);
        return 0;
    }
    pthread_mutex_lock(&self->w.lock);
    self->w.done = 0;
    self->w.batch = batch;
    pthread_cond_signal(&self->w.cond);
    pthread_mutex_unlock(&self->w.lock);
    return 0;
}

int hub_store_committing(const hub_store_t *self)
{
    return self->pending != NULL;
}

int hub_store_commit_fd(const hub_store_t *self)
{
    return self->w.done_fd;
}

int hub_store_commit_end(hub_store_t *self, int wait, char err[HUB_ERR_LEN])
{
    if (!self->pending) {
        snprintf(err, HUB_ERR_LEN, "store: no commit to end");
        return -HUB_EINTERNAL;
    }
    if (!self->settled && !wait && self->w.running) {
        pthread_mutex_lock(&self->w.lock);
        int done = self->w.done;
        pthread_mutex_unlock(&self->w.lock);
        if (!done)
            return -EAGAIN;
    }
    s_settle(self);
    self->pending = NULL;
    /* done_fd stays readable from the write to here, even when a reading
     * settled the batch before: the caller polls it to come and end it */
    uint64_t count;
    if (read(self->w.done_fd, &count, sizeof count) < 0) {
        /* nothing to read: cannot be, the writer wrote before done */
    }
    if (self->w.rc != 0)
        snprintf(err, HUB_ERR_LEN, "%s", self->w.err);
    return self->w.rc;
}

int hub_store_commit_batch(hub_store_t *self, hub_store_batch_t *batch, char err[HUB_ERR_LEN])
{
    if (hub_store_commit_begin(self, batch) != 0) {
        snprintf(err, HUB_ERR_LEN, "store: a commit is under way; end it first");
        return -HUB_EINTERNAL;
    }
    return hub_store_commit_end(self, 1, err);
}

int hub_store_commit(hub_store_t *self, hub_store_event_t *events, size_t nevents, const hub_store_cursor_t *cursors,
                     size_t ncursors, char err[HUB_ERR_LEN])
{
    hub_store_batch_t batch = {.events = events, .nevents = nevents, .cursors = cursors, .ncursors = ncursors};
    return hub_store_commit_batch(self, &batch, err);
}

int64_t hub_store_next_due(const hub_store_t *self)
{
    return self->next_due_ms;
}

int hub_store_due(hub_store_t *self, int64_t now_ms, size_t max, hub_store_due_fn fn, void *arg)
{
    s_settle(self);
    sqlite3_stmt *st = self->due;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hub_store_due_t due = {
            .seq = (uint64_t)sqlite3_column_int64(st, 0),
            .slot = (uint32_t)sqlite3_column_int64(st, 1),
            .department = (const char *)sqlite3_column_text(st, 2),
            .case_id = (const char *)sqlite3_column_text(st, 3),
            .route = (const char *)sqlite3_column_text(st, 4),
            .created_ms = sqlite3_column_int64(st, 5),
            .due_ms = sqlite3_column_int64(st, 6),
        };
        n++;
        if (fn(&due, arg))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -HUB_ESTORE;
}

const char *hub_store_path(const hub_store_t *self)
{
    return self->path;
}

int64_t hub_store_audit_head(hub_store_t *self, const char **hash_p)
{
    s_settle(self);
    if (hash_p)
        *hash_p = self->audit_hash;
    return self->audit_id;
}

uint64_t hub_store_last_seq(const hub_store_t *self)
{
    return self->last_seq;
}

uint64_t hub_store_commits(const hub_store_t *self)
{
    return self->commits;
}

static void s_row_from_cache(const s_cached_t *c, hub_store_row_t *row)
{
    row->seq = c->seq;
    row->received_ms = c->received_ms;
    row->id = (const char *)c->blob;
    row->case_id = (const char *)c->blob + c->id_len + 1;
    row->event = c->blob + c->id_len + c->case_len + 2;
    row->event_len = c->event_len;
    row->routing = row->event + c->event_len;
    row->routing_len = c->routing_len;
}

static void s_row_from_stmt(sqlite3_stmt *st, hub_store_row_t *row)
{
    row->seq = (uint64_t)sqlite3_column_int64(st, 0);
    row->id = (const char *)sqlite3_column_text(st, 1);
    row->case_id = (const char *)sqlite3_column_text(st, 2);
    row->received_ms = sqlite3_column_int64(st, 3);
    row->event = sqlite3_column_blob(st, 4);
    row->event_len = (size_t)sqlite3_column_bytes(st, 4);
    row->routing = sqlite3_column_blob(st, 5);
    row->routing_len = (size_t)sqlite3_column_bytes(st, 5);
    if (!row->id)
        row->id = "";
    if (!row->case_id)
        row->case_id = "";
}

static int s_in_tail(const hub_store_t *self, uint64_t seq)
{
    return self->tail_count > 0 && seq >= self->tail_first && seq < self->tail_first + self->tail_count;
}

int hub_store_scan(hub_store_t *self, uint64_t from, size_t max, hub_store_row_fn fn, void *arg)
{
    if (from == 0)
        from = 1;
    int visited = 0;
    hub_store_row_t row;
    /* from disk until the tail cache takes over */
    if (!s_in_tail(self, from) && from <= self->last_seq) {
        sqlite3_stmt *st = self->scan;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)self->last_seq);
        int rc;
        while ((size_t)visited < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            s_row_from_stmt(st, &row);
            visited++;
            from = row.seq + 1;
            if (fn(&row, arg)) {
                sqlite3_reset(st);
                return visited;
            }
            if (s_in_tail(self, from))
                break;
        }
        sqlite3_reset(st);
        if (!s_in_tail(self, from))
            return visited;
    }
    while ((size_t)visited < max && s_in_tail(self, from)) {
        s_row_from_cache(&self->tail[from & (HUB_TAIL_ROWS - 1)], &row);
        visited++;
        from++;
        if (fn(&row, arg))
            break;
    }
    return visited;
}

int hub_store_get(hub_store_t *self, uint64_t seq, hub_store_row_fn fn, void *arg)
{
    hub_store_row_t row;
    if (s_in_tail(self, seq)) {
        s_row_from_cache(&self->tail[seq & (HUB_TAIL_ROWS - 1)], &row);
        fn(&row, arg);
        return 1;
    }
    sqlite3_stmt *st = self->get;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s_row_from_stmt(st, &row);
        fn(&row, arg);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -HUB_ESTORE;
}

int hub_store_cursors(hub_store_t *self, hub_store_cursor_fn fn, void *arg)
{
    s_settle(self);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, "SELECT name, topics, position, dead_letters FROM subscribers ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return -HUB_ESTORE;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hub_store_cursor_t c = {(const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
                                (uint64_t)sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3)};
        if (fn(&c, arg))
            break;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -HUB_ESTORE;
}

int hub_store_scan_back(hub_store_t *self, uint64_t from, size_t max, hub_store_record_fn fn, void *arg)
{
    s_settle(self);
    if (from > INT64_MAX)
        from = INT64_MAX;
    sqlite3_stmt *st = self->scan_back;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(max > INT64_MAX ? INT64_MAX : max));
    int visited = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hub_store_record_t rec;
        s_row_from_stmt(st, &rec.row);
        rec.type = (const char *)sqlite3_column_text(st, 6);
        rec.actor = (const char *)sqlite3_column_text(st, 7);
        if (!rec.type)
            rec.type = "";
        if (!rec.actor)
            rec.actor = "";
        visited++;
        if (fn(&rec, arg))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? visited : -HUB_ESTORE;
}

int hub_store_deadline_state(hub_store_t *self, uint64_t seq, uint32_t slot, hub_store_deadline_state_t *out)
{
    s_settle(self);
    sqlite3_stmt *st = self->deadline;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_int64(st, 2, slot);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->due_ms = sqlite3_column_int64(st, 0);
        out->met_ms = sqlite3_column_int64(st, 1);
        out->breached_ms = sqlite3_column_int64(st, 2);
        out->escalation_seq = (uint64_t)sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -HUB_ESTORE;
}

/* Fills dl from a row of S_DEAD_COLUMNS. */
static void s_dead_from_stmt(sqlite3_stmt *st, hub_store_dead_letter_t *dl)
{
    dl->seq = (uint64_t)sqlite3_column_int64(st, 0);
    dl->subscriber = (const char *)sqlite3_column_text(st, 1);
    dl->orig_seq = (uint64_t)sqlite3_column_int64(st, 2);
    dl->orig_slot = (uint32_t)sqlite3_column_int64(st, 3);
    dl->reason = (const char *)sqlite3_column_text(st, 4);
    dl->state = (const char *)sqlite3_column_text(st, 5);
    dl->actor = (const char *)sqlite3_column_text(st, 6);
    dl->at_ms = sqlite3_column_int64(st, 7);
    dl->note = (const char *)sqlite3_column_text(st, 8);
    dl->redrive_seq = (uint64_t)sqlite3_column_int64(st, 9);
    if (!dl->subscriber)
        dl->subscriber = "";
    if (!dl->reason)
        dl->reason = "";
    if (!dl->state)
        dl->state = "open";
    if (!dl->actor)
        dl->actor = "";
}

int hub_store_dead_letter(hub_store_t *self, uint64_t seq, hub_store_dead_letter_fn fn, void *arg)
{
    s_settle(self);
    sqlite3_stmt *st = self->get_dead;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(seq > INT64_MAX ? 0 : seq));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        hub_store_dead_letter_t dl;
        s_dead_from_stmt(st, &dl);
        fn(&dl, arg);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -HUB_ESTORE;
}

int hub_store_dead_letters(hub_store_t *self, uint64_t lo, uint64_t hi, const char *subscriber, int open_only,
                           hub_store_dead_letter_fn fn, void *arg)
{
    s_settle(self);
    sqlite3_stmt *st = self->list_dead;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(lo > INT64_MAX ? INT64_MAX : lo));
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(hi > INT64_MAX ? INT64_MAX : hi));
    s_bind_text(st, 3, subscriber);
    sqlite3_bind_int(st, 4, open_only != 0);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hub_store_dead_letter_t dl;
        s_dead_from_stmt(st, &dl);
        if (fn(&dl, arg))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -HUB_ESTORE;
}

int hub_store_open_dead_letters(hub_store_t *self, void (*fn)(const char *subscriber, uint64_t n, void *arg),
                                void *arg)
{
    s_settle(self);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT subscriber, count(*) FROM dead_letters WHERE state = 'open' GROUP BY subscriber",
                           -1, &st, NULL) != SQLITE_OK)
        return -HUB_ESTORE;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        fn(name ? name : "", (uint64_t)sqlite3_column_int64(st, 1), arg);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -HUB_ESTORE;
}
