/*
 * store: group commit, idempotent ids, positions, the tail cache and the
 * data directory's rules, on a real SQLite file in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "check.h"
#include "rowbatch.h"
#include "storedir.h"
#include "store.h"

static char s_dir[256];

static void s_fresh_dir(void)
{
    snprintf(s_dir, sizeof s_dir, "%s/hub-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void s_remove_dir(void)
{
    storedir_remove(s_dir);
}

/* An event with the given id; event and routing bytes are arbitrary. */
static hub_store_event_t s_event(const char *id, const char *case_id)
{
    static const uint8_t event[] = {0x0a, 0x01, 'x'};
    static const uint8_t routing[] = {0x0a, 0x00};
    hub_store_event_t ev = {id, "bug_report", case_id, "test", 1000, event, sizeof event, routing, sizeof routing,
                            0, 0, NULL, 1};
    return ev;
}

typedef struct {
    uint64_t seqs[64];
    char ids[64][32];
    size_t n;
} s_rows_t;

static int s_collect(const hub_store_row_t *row, void *arg)
{
    s_rows_t *rows = arg;
    if (rows->n < 64) {
        rows->seqs[rows->n] = row->seq;
        snprintf(rows->ids[rows->n], sizeof rows->ids[0], "%s", row->id);
        rows->n++;
    }
    return 0;
}

static void test_group_commit_assigns_contiguous_seqs(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    hub_store_event_t evs[3] = {s_event("a", "CASE-1"), s_event("b", NULL), s_event("c", "")};
    CHECK_INT(hub_store_commit(store, evs, 3, NULL, 0, err), 0);
    CHECK_INT(evs[0].seq, 1);
    CHECK_INT(evs[1].seq, 2);
    CHECK_INT(evs[2].seq, 3);
    CHECK_INT(evs[0].duplicate, 0);
    CHECK_INT(hub_store_last_seq(store), 3);
    CHECK_INT(hub_store_commits(store), 1);
    hub_store_destroy(&store);
    CHECK(store == NULL);
    hub_store_destroy(&store); /* safe twice */
    s_remove_dir();
}

static void test_duplicate_id_keeps_original_seq(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    hub_store_event_t first[2] = {s_event("x", NULL), s_event("y", NULL)};
    CHECK_INT(hub_store_commit(store, first, 2, NULL, 0, err), 0);
    /* again in a later batch, and twice inside one batch */
    hub_store_event_t again[3] = {s_event("y", NULL), s_event("z", NULL), s_event("z", NULL)};
    CHECK_INT(hub_store_commit(store, again, 3, NULL, 0, err), 0);
    CHECK_INT(again[0].seq, 2);
    CHECK_INT(again[0].duplicate, 1);
    CHECK_INT(again[1].seq, 3);
    CHECK_INT(again[1].duplicate, 0);
    CHECK_INT(again[2].seq, 3);
    CHECK_INT(again[2].duplicate, 1);
    CHECK_INT(hub_store_last_seq(store), 3);
    s_rows_t rows = {0};
    CHECK_INT(hub_store_scan(store, 1, 100, s_collect, &rows), 3);
    CHECK_STR(rows.ids[2], "z");
    hub_store_destroy(&store);
    s_remove_dir();
}

/* A batch larger than one statement's rows, with duplicates of earlier
 * events and of its own in different statements' rows: the new events
 * get contiguous seqs in batch order, the duplicates the original's. */
static void test_duplicates_in_a_large_batch(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    /* a statement of HUB_ROWBATCH_ROWS with two duplicates in it, then
     * the smaller ones with one */
    enum { N = HUB_ROWBATCH_ROWS + 38 };
    char ids[N + 5][16];
    hub_store_event_t evs[N + 5];
    for (int i = 0; i < 5; i++) {
        snprintf(ids[i], sizeof ids[0], "old-%d", i);
        evs[i] = s_event(ids[i], NULL);
    }
    CHECK_INT(hub_store_commit(store, evs, 5, NULL, 0, err), 0);
    hub_store_event_t *batch = evs + 5;
    for (int i = 0; i < N; i++) {
        snprintf(ids[5 + i], sizeof ids[0], "new-%d", i);
        batch[i] = s_event(ids[5 + i], NULL);
    }
    char before_last[16];
    snprintf(before_last, sizeof before_last, "new-%d", N - 2);
    batch[3] = s_event("old-2", NULL);      /* stored before, seq 3 */
    batch[40] = s_event("new-10", NULL);    /* this batch's 11th */
    batch[N - 1] = s_event(before_last, NULL); /* the one just before it */
    CHECK_INT(hub_store_commit(store, batch, N, NULL, 0, err), 0);
    uint64_t next = 6;
    for (int i = 0; i < N; i++) {
        if (i == 3) {
            CHECK_INT(batch[i].duplicate, 1);
            CHECK_INT(batch[i].seq, 3);
        } else if (i == 40) {
            CHECK_INT(batch[i].duplicate, 1);
            CHECK_INT(batch[i].seq, batch[10].seq);
        } else if (i == N - 1) {
            CHECK_INT(batch[i].duplicate, 1);
            CHECK_INT(batch[i].seq, batch[N - 2].seq);
        } else {
            CHECK_INT(batch[i].duplicate, 0);
            CHECK_INT(batch[i].seq, next);
            next++;
        }
    }
    const uint64_t last = 5 + N - 3;
    CHECK_INT(hub_store_last_seq(store), last);
    hub_store_destroy(&store);
    /* from disk, after a reopen: no gap, each id at its seq */
    store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    /* scans of 64 rows: s_rows_t keeps 64 */
    for (uint64_t from = 6; from <= last; from += 64) {
        s_rows_t rows = {0};
        CHECK_INT(hub_store_scan(store, from, 64, s_collect, &rows), last - from + 1 < 64 ? last - from + 1 : 64);
        for (size_t i = 0; i < rows.n; i++) {
            size_t k = (size_t)(from - 6) + i; /* the k-th new event */
            CHECK_INT(rows.seqs[i], 6 + k);
            int at = (int)k + (k >= 3) + (k >= 39); /* batch index: past the duplicates before it */
            CHECK_STR(rows.ids[i], ids[5 + at]);
        }
    }
    CHECK_INT(hub_store_last_seq(store), last);
    hub_store_destroy(&store);
    s_remove_dir();
}

static int s_count_cursor(const hub_store_cursor_t *c, void *arg)
{
    hub_store_cursor_t *out = arg;
    if (strcmp(c->name, "engineering") == 0) {
        out->position = c->position;
        out->dead_letters = c->dead_letters;
        out->topics = strcmp(c->topics, "engineering.*") == 0 ? "ok" : "wrong";
    }
    return 0;
}

static void test_survives_reopen(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    hub_store_event_t evs[2] = {s_event("p", NULL), s_event("q", NULL)};
    hub_store_cursor_t cur = {"engineering", "engineering.*", 2, 1};
    CHECK_INT(hub_store_commit(store, evs, 2, &cur, 1, err), 0);
    hub_store_destroy(&store);

    store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    CHECK_INT(hub_store_last_seq(store), 2);
    hub_store_cursor_t got = {0};
    CHECK_INT(hub_store_cursors(store, s_count_cursor, &got), 0);
    CHECK_INT(got.position, 2);
    CHECK_INT(got.dead_letters, 1);
    CHECK_STR(got.topics, "ok");
    /* read back from disk (the tail cache is empty after a reopen) */
    s_rows_t rows = {0};
    CHECK_INT(hub_store_scan(store, 2, 10, s_collect, &rows), 1);
    CHECK_INT(rows.seqs[0], 2);
    CHECK_STR(rows.ids[0], "q");
    /* a retried publish after the restart is still a duplicate */
    hub_store_event_t retry = s_event("p", NULL);
    CHECK_INT(hub_store_commit(store, &retry, 1, NULL, 0, err), 0);
    CHECK_INT(retry.seq, 1);
    CHECK_INT(retry.duplicate, 1);
    hub_store_destroy(&store);
    s_remove_dir();
}

/* A batch handed to the writer (rule 10): while it is under way, rows
 * already ended are read as before and the new ones are not seen; a
 * reading of anything else waits for it; ending it sets the seqs and
 * moves last_seq. */
static void test_commit_under_way(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    hub_store_event_t a[2] = {s_event("a1", NULL), s_event("a2", NULL)};
    CHECK_INT(hub_store_commit(store, a, 2, NULL, 0, err), 0);
    CHECK_INT(hub_store_committing(store), 0);
    CHECK(hub_store_commit_fd(store) >= 0);

    /* more than a handful of events: the writer thread writes them (a
     * batch of a few is written on the caller's thread) */
    hub_store_event_t b[6] = {s_event("b1", NULL), s_event("a1", NULL), s_event("b2", NULL),
                              s_event("b3", NULL), s_event("b4", NULL), s_event("b5", NULL)};
    hub_store_cursor_t cur = {"engineering", "engineering.*", 2, 0};
    hub_store_batch_t batch = {.events = b, .nevents = 6, .cursors = &cur, .ncursors = 1};
    CHECK_INT(hub_store_commit_begin(store, &batch), 0);
    CHECK_INT(hub_store_committing(store), 1);
    CHECK_INT(hub_store_commit_begin(store, &batch), -EBUSY); /* one at a time */
    CHECK_INT(hub_store_commit_batch(store, &batch, err), -HUB_EINTERNAL);
    CHECK_HAS(err, "under way");
    CHECK_INT(hub_store_last_seq(store), 2); /* not before it ends */
    s_rows_t rows = {0};
    CHECK_INT(hub_store_scan(store, 1, 100, s_collect, &rows), 2);
    CHECK_INT(rows.seqs[1], 2);

    /* a reading of the subscribers waits for the batch and sees it */
    hub_store_cursor_t got = {0};
    CHECK_INT(hub_store_cursors(store, s_count_cursor, &got), 0);
    CHECK_INT(got.position, 2);
    CHECK_STR(got.topics, "ok");
    struct pollfd ready = {hub_store_commit_fd(store), POLLIN, 0};
    CHECK_INT(poll(&ready, 1, 0), 1); /* still says "come and end it" */
    CHECK_INT(hub_store_commit_end(store, 0, err), 0); /* written by now */
    CHECK_INT(hub_store_committing(store), 0);
    CHECK_INT(b[0].seq, 3);
    CHECK_INT(b[1].seq, 1);
    CHECK_INT(b[1].duplicate, 1);
    CHECK_INT(b[2].seq, 4);
    CHECK_INT(b[5].seq, 7);
    CHECK_INT(hub_store_last_seq(store), 7);
    rows.n = 0;
    CHECK_INT(hub_store_scan(store, 3, 100, s_collect, &rows), 5);
    CHECK_STR(rows.ids[1], "b2");
    CHECK_INT(hub_store_commit_end(store, 1, err), -HUB_EINTERNAL); /* nothing under way */

    /* waiting on the descriptor, then ending without waiting */
    hub_store_event_t c = s_event("c1", NULL);
    batch = (hub_store_batch_t){.events = &c, .nevents = 1};
    CHECK_INT(hub_store_commit_begin(store, &batch), 0);
    struct pollfd pfd = {hub_store_commit_fd(store), POLLIN, 0};
    CHECK_INT(poll(&pfd, 1, 10000), 1);
    CHECK_INT(hub_store_commit_end(store, 0, err), 0);
    CHECK_INT(c.seq, 8);
    CHECK_INT(poll(&pfd, 1, 0), 0); /* read: quiet until the next batch */

    /* a batch left under way is ended by destroy, and is stored */
    hub_store_event_t d = s_event("d1", NULL);
    batch = (hub_store_batch_t){.events = &d, .nevents = 1};
    CHECK_INT(hub_store_commit_begin(store, &batch), 0);
    hub_store_destroy(&store);
    store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    CHECK_INT(hub_store_last_seq(store), 9);
    hub_store_destroy(&store);
    s_remove_dir();
}

static int s_stop_at_two(const hub_store_row_t *row, void *arg)
{
    (*(int *)arg)++;
    return row->seq == 2;
}

static int s_get_case(const hub_store_row_t *row, void *arg)
{
    snprintf(arg, 32, "%s", row->case_id);
    return 0;
}

static void test_scan_spans_disk_and_cache(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    hub_store_event_t a[2] = {s_event("1", NULL), s_event("2", NULL)};
    CHECK_INT(hub_store_commit(store, a, 2, NULL, 0, err), 0);
    hub_store_destroy(&store);
    store = hub_store_open(s_dir, err); /* 1-2 on disk only */
    hub_store_event_t b[2] = {s_event("3", "CASE-3"), s_event("4", NULL)};
    CHECK_INT(hub_store_commit(store, b, 2, NULL, 0, err), 0); /* 3-4 cached too */
    s_rows_t rows = {0};
    CHECK_INT(hub_store_scan(store, 0, 100, s_collect, &rows), 4);
    for (size_t i = 0; i < rows.n; i++)
        CHECK_INT(rows.seqs[i], i + 1);
    rows.n = 0;
    CHECK_INT(hub_store_scan(store, 2, 2, s_collect, &rows), 2); /* max is kept */
    CHECK_INT(rows.seqs[1], 3);
    int visited = 0;
    CHECK_INT(hub_store_scan(store, 1, 100, s_stop_at_two, &visited), 2); /* fn stops it */
    CHECK_INT(hub_store_scan(store, 5, 100, s_collect, &rows), 0);      /* past the end */
    char case_id[32] = "";
    CHECK_INT(hub_store_get(store, 3, s_get_case, case_id), 1);
    CHECK_STR(case_id, "CASE-3");
    CHECK_INT(hub_store_get(store, 1, s_get_case, case_id), 1);
    CHECK_STR(case_id, "");
    CHECK_INT(hub_store_get(store, 99, s_get_case, case_id), 0);
    hub_store_destroy(&store);
    s_remove_dir();
}

static void test_directory_rules(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    char sub[300];
    snprintf(sub, sizeof sub, "%s/a", s_dir);
    hub_store_t *store = hub_store_open(sub, err);
    CHECK(store != NULL);
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/hub.db", sub);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(stat(sub, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0700);

    /* a second store on the same directory is refused while the first lives */
    hub_store_t *second = hub_store_open(sub, err);
    CHECK(second == NULL);
    CHECK_HAS(err, "in use by another hubd");
    hub_store_destroy(&store);

    /* a file where the directory should be */
    snprintf(path, sizeof path, "%s/file", s_dir);
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    CHECK(hub_store_open(path, err) == NULL);
    CHECK_HAS(err, "not a directory");
    CHECK(hub_store_open("", err) == NULL);
    CHECK_HAS(err, "empty");
    unlink(path);
    storedir_remove(sub);
    s_remove_dir();
}

static void test_many_rows_evict_cache(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    enum { N = 70000 };
    hub_store_event_t *evs = calloc(N, sizeof *evs);
    char (*ids)[16] = calloc(N, sizeof *ids);
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "e%zu", i);
        evs[i] = s_event(ids[i], NULL);
    }
    CHECK_INT(hub_store_commit(store, evs, N, NULL, 0, err), 0);
    CHECK_INT(hub_store_last_seq(store), N);
    /* the oldest rows left the cache and come from disk; the scan is still in order */
    s_rows_t rows = {0};
    CHECK_INT(hub_store_scan(store, 1, 3, s_collect, &rows), 3);
    CHECK_STR(rows.ids[0], "e0");
    rows.n = 0;
    CHECK_INT(hub_store_scan(store, N - 1, 10, s_collect, &rows), 2);
    CHECK_INT(rows.seqs[1], N);
    free(evs);
    free(ids);
    hub_store_destroy(&store);
    s_remove_dir();
}

/* The path of the file name in the test's data directory. */
static const char *s_path(const char *name, char path[512])
{
    snprintf(path, 512, "%s/%s", s_dir, name);
    return path;
}

/* Bytes of the file name in the data directory, or -1. */
static long long s_file_size(const char *name)
{
    char path[512];
    struct stat st;
    return stat(s_path(name, path), &st) == 0 ? (long long)st.st_size : -1;
}

/* The WAL header's checkpoint sequence number (bytes 12-15, big-endian):
 * it moves each time the WAL is rewound. -1 without a WAL. */
static long long s_wal_rewinds(void)
{
    char path[512];
    uint8_t hdr[32];
    FILE *fp = fopen(s_path("hub.db-wal", path), "rb");
    long long seq = -1;
    if (fp && fread(hdr, 1, sizeof hdr, fp) == sizeof hdr)
        seq = (long long)hdr[12] << 24 | hdr[13] << 16 | hdr[14] << 8 | hdr[15];
    if (fp)
        fclose(fp);
    return seq;
}

/* 1 when the WAL's first frame carries the salts of its header: the log
 * has been written again from its start since it was last rewound. */
static int s_wal_starts_anew(void)
{
    char path[512];
    uint8_t hdr[32 + 24];
    FILE *fp = fopen(s_path("hub.db-wal", path), "rb");
    int anew = fp && fread(hdr, 1, sizeof hdr, fp) == sizeof hdr && memcmp(hdr + 16, hdr + 32 + 8, 8) == 0;
    if (fp)
        fclose(fp);
    return anew;
}

/* While the store is open, committed pages reach the database file, and
 * the WAL is rewound rather than left to grow with every commit: after
 * the rewind, commits write the file again from its start. Where it is
 * rewound depends on the machine: past 64 MiB the store sees to it (rule
 * 11), but whenever the checkpointer has copied all of it between two
 * commits (a slow machine, a sanitizer's build), SQLite starts it again
 * at the next one, mark or no mark. So the case checks that it is
 * rewound and reused after the large commits, not where. */
static void test_wal_is_copied_and_rewound(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    enum { BATCHES = 180, PER = 100, SIZE = 4000, AFTER = 10 }; /* 72 MB of events */
    uint8_t *blob = calloc(1, SIZE);
    hub_store_event_t evs[PER];
    char ids[PER][32];
    long long wal_max = 0;
    for (int b = 0; b < BATCHES && blob; b++) {
        for (int i = 0; i < PER; i++) {
            snprintf(ids[i], sizeof ids[i], "w%d-%d", b, i);
            blob[0] = (uint8_t)i;
            evs[i] = s_event(ids[i], NULL);
            evs[i].event = blob;
            evs[i].event_len = SIZE;
        }
        CHECK_INT(hub_store_commit(store, evs, PER, NULL, 0, err), 0);
        long long size = s_file_size("hub.db-wal");
        if (size > wal_max)
            wal_max = size;
    }
    /* small commits until it is rewound again (the checkpointer may still
     * be more than the slack behind), then AFTER more: those few write
     * far less than the file holds, so they must fit in it */
    long long first = s_wal_rewinds(), at_rewind = -1;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = 0, after = 0, waited_ms = 0;
    while (after < AFTER && waited_ms < 20000) {
        long long size = s_file_size("hub.db-wal");
        char id[32];
        snprintf(id, sizeof id, "small-%d", n++);
        hub_store_event_t ev = s_event(id, NULL);
        CHECK_INT(hub_store_commit(store, &ev, 1, NULL, 0, err), 0);
        if (at_rewind >= 0)
            after++;
        else if (s_wal_rewinds() != first)
            at_rewind = size; /* its length before the commit that rewound it */
        clock_gettime(CLOCK_MONOTONIC, &now);
        waited_ms = (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
    }
    printf("the WAL reached %lld bytes in the large commits (the mark is %d; rewound %lld times by then); "
           "then it was rewound at %lld (%d small commits, %d ms)\n",
           wal_max, 64 * 1024 * 1024, first, at_rewind, n, waited_ms);
    CHECK(at_rewind > 0);
    CHECK_INT(after, AFTER);
    CHECK(s_wal_starts_anew());                       /* written again from its start */
    CHECK(s_file_size("hub.db-wal") <= at_rewind);   /* the file is reused, not grown */
    CHECK(s_file_size("hub.db") > 32 * 1024 * 1024); /* copied while open */
    CHECK_INT(hub_store_last_seq(store), BATCHES * PER + n);
    free(blob);
    hub_store_destroy(&store);
    s_remove_dir();
}

/* The page size of s_dir's hub.db, read with a connection of its own (-1
 * when it cannot be read). */
static int s_page_size(void)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int size = -1;
    if (sqlite3_open_v2(s_path("hub.db", path), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        size = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return size;
}

/* A store on a fresh s_dir that has committed one event, "a". */
static hub_store_t *s_store_with_one(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    hub_store_event_t ev = s_event("a", NULL);
    if (store)
        CHECK_INT(hub_store_commit(store, &ev, 1, NULL, 0, err), 0);
    return store;
}

static void test_no_memory_count(void)
{
    /* the store turns SQLite's memory count off before SQLite starts (the
     * first store this process opened did): with it on, every allocation
     * takes one process-wide mutex */
    hub_store_t *store = s_store_with_one();
    sqlite3_int64 used = -1, peak = -1;
    CHECK_INT(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &peak, 0), SQLITE_OK);
    CHECK_INT(used, 0);
    hub_store_destroy(&store);
    s_remove_dir();
}

/* Rule 12: a new database gets 8 KiB pages; one an earlier hubd made with
 * SQLite's 4 KiB keeps them, and takes commits and reopens as before. */
static void test_page_size(void)
{
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = s_store_with_one();
    hub_store_destroy(&store);
    CHECK_INT(s_page_size(), 8192);
    s_remove_dir();

    s_fresh_dir();
    char path[512];
    int fd = open(s_path("hub.db", path), O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE earlier(x);", NULL, NULL,
                           NULL),
              SQLITE_OK);
    sqlite3_close(db);
    store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    hub_store_event_t evs[2] = {s_event("b", NULL), s_event("c", NULL)};
    CHECK_INT(hub_store_commit(store, evs, 2, NULL, 0, err), 0);
    CHECK_INT(evs[1].seq, 2);
    hub_store_destroy(&store);
    CHECK_INT(s_page_size(), 4096);
    store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    CHECK_INT(hub_store_last_seq(store), 2);
    hub_store_destroy(&store);
    s_remove_dir();
}

/* Another connection that holds the database's write lock for hold_ms
 * once it has said so on held[1]. */
typedef struct {
    const char *path;
    int held[2];
    int hold_ms;
    int rc;
} s_locker_t;

static void *s_hold_lock(void *arg)
{
    s_locker_t *l = arg;
    sqlite3 *db = NULL;
    l->rc = sqlite3_open(l->path, &db);
    if (l->rc == SQLITE_OK)
        l->rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (write(l->held[1], "x", 1) != 1)
        l->rc = -1;
    if (l->rc == SQLITE_OK) {
        struct timespec ts = {l->hold_ms / 1000, (long)(l->hold_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* the length of the hold is the case itself */
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return NULL;
}

/* Runs a commit of one event while another connection holds the write
 * lock for hold_ms; returns the commit's result. */
static int s_commit_while_locked(hub_store_t *store, const char *id, int hold_ms, char err[HUB_ERR_LEN])
{
    char path[512];
    s_locker_t l = {.path = s_path("hub.db", path), .hold_ms = hold_ms};
    pthread_t th;
    CHECK_INT(pipe(l.held), 0);
    CHECK_INT(pthread_create(&th, NULL, s_hold_lock, &l), 0);
    char c;
    CHECK_INT(read(l.held[0], &c, 1), 1); /* the lock is taken (or failed: l.rc says) */
    hub_store_event_t ev = s_event(id, NULL);
    int rc = hub_store_commit(store, &ev, 1, NULL, 0, err);
    pthread_join(th, NULL);
    CHECK_INT(l.rc, SQLITE_OK);
    close(l.held[0]);
    close(l.held[1]);
    return rc;
}

/* A commit that finds the write lock taken waits for it (rule 14); one
 * that waits in vain is "unavailable", stores nothing, and the next one
 * goes through. */
static void test_commit_waits_for_the_lock(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    if (!store)
        return;
    CHECK_INT(s_commit_while_locked(store, "w1", 100, err), 0);
    CHECK_INT(hub_store_last_seq(store), 1);
    CHECK_INT(s_commit_while_locked(store, "w2", HUB_STORE_LOCK_WAIT_MS + 500, err), -HUB_EUNAVAILABLE);
    CHECK_HAS(err, "retry later");
    CHECK_INT(hub_store_last_seq(store), 1);
    hub_store_event_t ev = s_event("w2", NULL);
    CHECK_INT(hub_store_commit(store, &ev, 1, NULL, 0, err), 0);
    CHECK_INT(ev.seq, 2);
    hub_store_destroy(&store);
    s_remove_dir();
}

/* The routings seqs 1 - 6 were stored with, as s_routing_rows gives them. */
static const char *const s_routings[6] = {"defect", "defect", "defect", "defect", "billing", ""};

/* Collects each row's routing by seq (1 - 6) as text. */
static int s_routing_of(const hub_store_row_t *row, void *arg)
{
    char(*seen)[16] = arg;
    if (row->seq >= 1 && row->seq <= 6 && row->routing_len < 16)
        snprintf(seen[row->seq - 1], 16, "%.*s", (int)row->routing_len, (const char *)row->routing);
    return 0;
}

static int s_routing_record(const hub_store_record_t *rec, void *arg)
{
    return s_routing_of(&rec->row, arg);
}

/* "integer" or "blob" for each of seqs 1 - 6, joined by spaces. */
static void s_routing_types(char out[128])
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(out, 128, "?");
    if (sqlite3_open(s_path("hub.db", path), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT group_concat(typeof(routing), ' ') FROM (SELECT routing FROM events ORDER BY seq)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, 128, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Events whose routing is the same share its row in routings from the
 * second on; one with a deadline (not shared), one met once and an empty
 * one keep theirs; every reading gives each its own routing back, from
 * the cache and from disk. */
static void test_shared_routings(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    hub_store_event_t evs[6];
    char ids[6][8];
    for (int i = 0; i < 6; i++) {
        snprintf(ids[i], sizeof ids[i], "r%d", i + 1);
        evs[i] = s_event(ids[i], NULL);
        evs[i].routing = (const uint8_t *)s_routings[i];
        evs[i].routing_len = strlen(s_routings[i]);
    }
    evs[3].routing_shared = 0; /* a deadline in it */
    CHECK_INT(hub_store_commit(store, evs, 4, NULL, 0, err), 0);
    CHECK_INT(hub_store_commit(store, evs + 4, 2, NULL, 0, err), 0);
    char types[128];
    s_routing_types(types);
    CHECK_STR(types, "blob integer integer blob blob blob");
    for (int pass = 0; pass < 2; pass++) { /* the tail cache, then disk */
        char seen[6][16];
        memset(seen, '?', sizeof seen);
        CHECK_INT(hub_store_scan(store, 1, 10, s_routing_of, seen), 6);
        for (int i = 0; i < 6; i++)
            CHECK_STR(seen[i], s_routings[i]);
        memset(seen, '?', sizeof seen);
        for (uint64_t seq = 1; seq <= 6; seq++)
            CHECK_INT(hub_store_get(store, seq, s_routing_of, seen), 1);
        for (int i = 0; i < 6; i++)
            CHECK_STR(seen[i], s_routings[i]);
        memset(seen, '?', sizeof seen);
        CHECK_INT(hub_store_scan_back(store, 6, 10, s_routing_record, seen), 6);
        for (int i = 0; i < 6; i++)
            CHECK_STR(seen[i], s_routings[i]);
        hub_store_destroy(&store);
        store = hub_store_open(s_dir, err);
        CHECK(store != NULL);
    }
    /* reopened, the map finds the row by its bytes: no second row */
    hub_store_event_t more[2] = {s_event("r7", NULL), s_event("r8", NULL)};
    for (int i = 0; i < 2; i++) {
        more[i].routing = (const uint8_t *)"defect";
        more[i].routing_len = 6;
    }
    CHECK_INT(hub_store_commit(store, more, 2, NULL, 0, err), 0);
    hub_store_destroy(&store);
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_open(s_path("hub.db", path), &db), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT (SELECT count(*) FROM routings), (SELECT count(DISTINCT routing) FROM events "
                                 "WHERE typeof(routing) = 'integer'), (SELECT typeof(routing) FROM events WHERE seq = 8)",
                                 -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 1);
    CHECK_INT(sqlite3_column_int(st, 1), 1);
    CHECK_STR((const char *)sqlite3_column_text(st, 2), "integer");
    sqlite3_finalize(st);
    sqlite3_close(db);
    s_remove_dir();
}

/* Rule 7: audit rows of batches of every size form one chain in batch
 * order; a duplicate event's rows are left out, and a detail that names
 * another event of the batch gets that event's seq. */
static void test_audit_rows_chain_across_batches(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "";
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    /* around the HUB_ROWBATCH_ROWS rows the store writes with one statement */
    enum { R = HUB_ROWBATCH_ROWS, LAST = 2 * R + 6 };
    static const size_t sizes[] = {1, 7, 8, 9, 16, 17, 3, R - 1, R, R + 1, LAST};
    int64_t expected = 0;
    char ids[40][16];
    char details[LAST + 1][48];
    int n_ids = 0;
    for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++) {
        /* two events; the second is the first one again (a duplicate) in
         * every batch after the first */
        snprintf(ids[n_ids], sizeof ids[0], "ev-%zu", b);
        hub_store_event_t evs[2] = {s_event(ids[n_ids], "CASE-1"), s_event(b ? "ev-0" : "ev-first", NULL)};
        n_ids++;
        hub_store_audit_t audit[LAST + 1];
        size_t naudit = sizes[b] + 1;
        for (size_t i = 0; i < naudit; i++) {
            snprintf(details[i], sizeof details[0], "{\"batch\":%zu,\"row\":%zu}", b, i);
            audit[i] = (hub_store_audit_t){
                .event = i == naudit - 1 ? 1 : 0, /* the last row is about the second event */
                .row = {.actor = "test", .action = "received", .event_id = ids[n_ids - 1], .detail = details[i]},
                .ref_event = i == 2 || i == 4 ? 0 : -1,
                .ref_key = i == 2 || i == 4 ? "ref_seq" : NULL,
            };
        }
        hub_store_batch_t batch = {.events = evs, .nevents = 2, .audit = audit, .naudit = naudit};
        CHECK_INT(hub_store_commit_batch(store, &batch, err), 0);
        expected += (int64_t)naudit - (b ? 1 : 0);
        const char *head = NULL;
        CHECK_INT(hub_store_audit_head(store, &head), expected);
    }
    hub_store_destroy(&store);

    char path[512];
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(s_path("hub.db", path), &db), SQLITE_OK);
    hub_audit_verdict_t v;
    CHECK_INT(hub_audit_verify(db, &v, err), 0);
    CHECK_INT(v.rows, expected);
    /* in batch order, with the seq named where asked */
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT detail, seq FROM audit WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, 2 + 3); /* batch 0 has 2 rows; batch 1's third */
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "{\"batch\":1,\"row\":2,\"ref_seq\":3}");
    CHECK_INT(sqlite3_column_int64(st, 1), 3);
    sqlite3_reset(st);
    /* batches 0 to 4 keep 2 + 7 + 8 + 9 + 16 rows; two of batch 5's
     * first rows name a seq */
    for (int row = 2; row <= 4; row += 2) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, 42 + row + 1);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        char want[64];
        snprintf(want, sizeof want, "{\"batch\":5,\"row\":%d,\"ref_seq\":7}", row);
        CHECK_STR((const char *)sqlite3_column_text(st, 0), want);
    }
    /* the last batch's rows, written by two statements of R rows, then
     * 4 + 2: each has its own detail */
    int64_t last_first = expected - LAST + 1;
    for (int64_t row = 0; row < LAST; row++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, last_first + row);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        char want[64];
        if (row == 2 || row == 4)
            snprintf(want, sizeof want, "{\"batch\":10,\"row\":%d,\"ref_seq\":%d}", (int)row, 12);
        else
            snprintf(want, sizeof want, "{\"batch\":10,\"row\":%d}", (int)row);
        CHECK_STR((const char *)sqlite3_column_text(st, 0), want);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    s_remove_dir();
}

/* Commits one event with n (at most 4) audit rows about it. */
static void s_commit_audited(hub_store_t *store, const char *id, size_t n)
{
    char err[HUB_ERR_LEN] = "";
    hub_store_event_t ev = s_event(id, "CASE-9");
    hub_store_audit_t audit[4];
    if (n > 4)
        n = 4;
    for (size_t i = 0; i < n; i++)
        audit[i] = (hub_store_audit_t){
            .row = {.actor = "test", .action = "received", .event_id = id, .detail = "{}"}, .ref_event = -1};
    hub_store_batch_t batch = {.events = &ev, .nevents = 1, .audit = audit, .naudit = n};
    CHECK_INT(hub_store_commit_batch(store, &batch, err), 0);
}

/* The store writes each row's hash as its 32 bytes, and goes on from a log
 * whose hashes an earlier hub wrote as 64 hex digits of text. */
static void test_audit_hashes_as_bytes(void)
{
    s_fresh_dir();
    char err[HUB_ERR_LEN] = "", path[512];
    hub_store_t *store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    s_commit_audited(store, "ev-a", 3);
    hub_store_destroy(&store);

    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(s_path("hub.db", path), &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit WHERE typeof(hash) = 'blob' AND length(hash) = 32",
                                 -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    /* as an earlier hub left it */
    CHECK_INT(sqlite3_exec(db, "UPDATE audit SET hash = lower(hex(hash))", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_changes(db), 3);
    sqlite3_close(db);

    store = hub_store_open(s_dir, err);
    CHECK(store != NULL);
    s_commit_audited(store, "ev-b", 2);
    const char *head = NULL;
    CHECK_INT(hub_store_audit_head(store, &head), 5);
    char head_hex[HUB_SHA256_HEX_LEN];
    snprintf(head_hex, sizeof head_hex, "%s", head);
    hub_store_destroy(&store);

    CHECK_INT(sqlite3_open(s_path("hub.db", path), &db), SQLITE_OK);
    hub_audit_verdict_t v;
    CHECK_INT(hub_audit_verify(db, &v, err), 0);
    CHECK_INT(v.rows, 5);
    CHECK_STR(v.head, head_hex);
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT group_concat(typeof(hash) || length(hash), ' ') FROM audit", -1, &st,
                                 NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "text64 text64 text64 blob32 blob32");
    sqlite3_finalize(st);
    /* marked as this schema, which an earlier hubd refuses to open */
    CHECK_INT(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), HUB_SCHEMA_VERSION);
    sqlite3_finalize(st);
    /* and one a later hubd marked newer is refused, untouched */
    char sql[64], refusal[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", HUB_SCHEMA_VERSION + 1);
    snprintf(refusal, sizeof refusal, "schema %d, newer than this hubd (%d)", HUB_SCHEMA_VERSION + 1,
             HUB_SCHEMA_VERSION);
    CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    CHECK(hub_store_open(s_dir, err) == NULL);
    CHECK_HAS(err, refusal);
    CHECK_INT(sqlite3_open(s_path("hub.db", path), &db), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM audit), (SELECT user_version FROM pragma_user_version)",
                                 -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 5);
    CHECK_INT(sqlite3_column_int(st, 1), HUB_SCHEMA_VERSION + 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    s_remove_dir();
}

static const check_case_t cases[] = {
    {"group commit assigns contiguous seqs", test_group_commit_assigns_contiguous_seqs},
    {"duplicate id keeps original seq", test_duplicate_id_keeps_original_seq},
    {"duplicates in a large batch", test_duplicates_in_a_large_batch},
    {"events and positions survive reopen", test_survives_reopen},
    {"scan spans disk and cache", test_scan_spans_disk_and_cache},
    {"events that share a routing name its row", test_shared_routings},
    {"a commit waits for the write lock, or is unavailable", test_commit_waits_for_the_lock},
    {"data directory rules", test_directory_rules},
    {"many rows evict the cache", test_many_rows_evict_cache},
    {"a commit under way", test_commit_under_way},
    {"the WAL is copied and rewound", test_wal_is_copied_and_rewound},
    {"new databases get 8 KiB pages, earlier ones keep theirs", test_page_size},
    {"audit rows chain across batches of every size", test_audit_rows_chain_across_batches},
    {"audit hashes are stored as bytes, after hex ones of an earlier hub", test_audit_hashes_as_bytes},
    {"SQLite keeps no count of its memory (no process-wide mutex per allocation)", test_no_memory_count},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
