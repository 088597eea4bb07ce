/*
 * test_walbuf - the WAL-gathering VFS: fewer writes, and every committed
 * frame in the file before any other connection may read it.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "storedir.h"
#include "walbuf.h"

static char s_dir[64];
static char s_db[128];

/* The database is named as the store names its own, so that
 * storedir_remove takes it and its -wal and -shm files away. */
static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/walbuf-XXXXXX");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(s_db, sizeof s_db, "%s/hub.db", s_dir);
}

static void s_teardown(void)
{
    storedir_remove(s_dir);
}

static int s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc;
}

/* A connection through walbuf (vfs 1) or the default VFS (0). */
static sqlite3 *s_open(int walbuf, const char *synchronous)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(s_db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             walbuf ? HUB_WALBUF_VFS : NULL);
    CHECK_INT(rc, SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", synchronous);
    CHECK_INT(s_exec(db, "PRAGMA page_size=8192"), SQLITE_OK);
    CHECK_INT(s_exec(db, "PRAGMA journal_mode=WAL"), SQLITE_OK);
    CHECK_INT(s_exec(db, sql), SQLITE_OK);
    return db;
}

/* The first column of the first row of sql, or -1 on an error. */
static long long s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static void s_insert(sqlite3 *db, int rows, int bytes)
{
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "INSERT INTO t(x) VALUES(randomblob(?1))", -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < rows; i++) {
        sqlite3_bind_int(st, 1, bytes);
        CHECK_INT(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

static void test_fewer_writes(void)
{
    s_setup();
    sqlite3 *w = s_open(1, "FULL");
    CHECK_INT(s_exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, x BLOB)"), SQLITE_OK);
    hub_walbuf_counts_t before, after;
    hub_walbuf_counts(&before);
    CHECK_INT(s_exec(w, "BEGIN"), SQLITE_OK);
    s_insert(w, 200, 4000); /* some 100 pages: 200 frame writes */
    CHECK_INT(s_exec(w, "COMMIT"), SQLITE_OK);
    hub_walbuf_counts(&after);
    uint64_t asked = after.asked - before.asked, written = after.written - before.written;
    CHECK(asked >= 200);
    /* 100 frames of 8216 bytes in writes of at most 120 KiB */
    CHECK(written >= 1 && written <= 10);

    sqlite3 *r = s_open(0, "FULL");
    CHECK_INT(s_int(r, "SELECT count(*) FROM t"), 200);
    CHECK_INT(s_int(r, "SELECT sum(length(x)) FROM t"), 200 * 4000);
    sqlite3_close(r);
    sqlite3_close(w);
    s_teardown();
}

static void test_commit_in_file_without_sync(void)
{
    s_setup();
    /* with synchronous=OFF nothing syncs the WAL: only rule 3's commit
     * frame puts a commit in the file before another connection reads it */
    sqlite3 *w = s_open(1, "OFF");
    sqlite3 *r = s_open(0, "FULL");
    CHECK_INT(s_exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, x BLOB)"), SQLITE_OK);
    for (int i = 1; i <= 30; i++) {
        s_insert(w, 1, 100 * i);
        CHECK_INT(s_int(r, "SELECT count(*) FROM t"), i);
        CHECK_INT(s_int(r, "SELECT sum(length(x)) FROM t"), 100LL * i * (i + 1) / 2);
    }
    sqlite3_close(r);
    sqlite3_close(w);
    s_teardown();
}

static void test_spilled_pages_read_back(void)
{
    s_setup();
    sqlite3 *w = s_open(1, "FULL");
    /* a cache of 20 pages: the transaction writes frames before its commit
     * and reads them back, and changes some of them again */
    CHECK_INT(s_exec(w, "PRAGMA cache_size=20"), SQLITE_OK);
    CHECK_INT(s_exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, x BLOB)"), SQLITE_OK);
    CHECK_INT(s_exec(w, "BEGIN"), SQLITE_OK);
    s_insert(w, 3000, 1000);
    CHECK_INT(s_int(w, "SELECT sum(length(x)) FROM t"), 3000LL * 1000);
    CHECK_INT(s_exec(w, "UPDATE t SET x = randomblob(500) WHERE id <= 100"), SQLITE_OK);
    CHECK_INT(s_int(w, "SELECT sum(length(x)) FROM t"), 2900LL * 1000 + 100 * 500);
    CHECK_INT(s_exec(w, "COMMIT"), SQLITE_OK);

    sqlite3 *r = s_open(0, "FULL");
    CHECK_INT(s_int(r, "SELECT count(*) FROM t"), 3000);
    CHECK_INT(s_int(r, "SELECT sum(length(x)) FROM t"), 2900LL * 1000 + 100 * 500);
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(r);
    sqlite3_close(w);

    /* and after the last connection closed, which copied it all into the database file */
    r = s_open(0, "FULL");
    CHECK_INT(s_int(r, "SELECT count(*) FROM t"), 3000);
    sqlite3_close(r);
    s_teardown();
}

int main(void)
{
    if (hub_walbuf_register() != 0) {
        fprintf(stderr, "walbuf: not registered\n");
        return 1;
    }
    CHECK_INT(hub_walbuf_register(), 0); /* once per process, then the same answer */
    static const check_case_t cases[] = {
        {"a commit's frames reach the file in a few writes", test_fewer_writes},
        {"without syncs, a commit is in the file before another connection reads it",
         test_commit_in_file_without_sync},
        {"a transaction larger than the cache reads back its own pages", test_spilled_pages_read_back},
        {NULL, NULL},
    };
    return check_run(cases);
}
