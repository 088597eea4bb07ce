/*
 * test_rowbatch - rows written several to an INSERT: order, values of
 * every kind, copies, the statements' sizes, conflicts and misuse.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sqlone.h"
#include "rowbatch.h"

static sqlite3 *s_db(void)
{
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE t(n INTEGER PRIMARY KEY, s TEXT, b BLOB)", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

/* Rows of every count up to three statements' worth go in, in order,
 * each with its own values; copied text outlives its source. */
static void test_rows_in_order(void)
{
    enum { R = HUB_ROWBATCH_ROWS };
    static const size_t counts[] = {1, 2, 3, R - 1, R, R + 1, 2 * R + 6};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        sqlite3 *db = s_db();
        hub_rowbatch_t *rows = hub_rowbatch_new(db, "INSERT INTO t(n, s, b)", "", 3);
        CHECK(rows != NULL);
        int64_t n = 0, written = 0;
        for (size_t i = 0; i < counts[c]; i++) {
            char text[32];
            snprintf(text, sizeof text, "row %zu", i);
            hub_rowbatch_int(rows, (int64_t)i + 1);
            hub_rowbatch_text(rows, text, -1, 1); /* text changes before the flush */
            hub_rowbatch_blob(rows, &i, sizeof i, 1);
            if (hub_rowbatch_end(rows)) {
                CHECK_INT(hub_rowbatch_rows(rows), HUB_ROWBATCH_ROWS);
                int changes = -1;
                CHECK_INT(hub_rowbatch_flush(rows, &changes), SQLITE_OK);
                CHECK_INT(changes, HUB_ROWBATCH_ROWS);
                written += changes;
            }
            n++;
        }
        int changes = -1;
        CHECK_INT(hub_rowbatch_flush(rows, &changes), SQLITE_OK);
        written += changes;
        CHECK_INT(written, n);
        CHECK_INT(hub_rowbatch_rows(rows), 0);
        CHECK_INT(sqlone_int(db, "SELECT count(*) FROM t"), n);
        sqlite3_stmt *st = NULL;
        CHECK_INT(sqlite3_prepare_v2(db, "SELECT n, s, b FROM t ORDER BY rowid", -1, &st, NULL), SQLITE_OK);
        for (size_t i = 0; sqlite3_step(st) == SQLITE_ROW; i++) {
            char want[32];
            snprintf(want, sizeof want, "row %zu", i);
            CHECK_INT(sqlite3_column_int64(st, 0), i + 1);
            CHECK_STR((const char *)sqlite3_column_text(st, 1), want);
            size_t got = 0;
            CHECK_INT(sqlite3_column_bytes(st, 2), sizeof got);
            if (sqlite3_column_bytes(st, 2) == sizeof got)
                memcpy(&got, sqlite3_column_blob(st, 2), sizeof got);
            CHECK_INT(got, i);
        }
        sqlite3_finalize(st);
        hub_rowbatch_destroy(&rows);
        CHECK(rows == NULL);
        hub_rowbatch_destroy(&rows); /* safe twice */
        sqlite3_close(db);
    }
}

/* Text kept by pointer is read at the flush; NULL pointers and NULL values
 * are NULL; a blob of no bytes is a blob; text is cut at the length given. */
static void test_values(void)
{
    sqlite3 *db = s_db();
    hub_rowbatch_t *rows = hub_rowbatch_new(db, "INSERT INTO t(n, s, b)", "", 3);
    char kept[16] = "before";
    hub_rowbatch_int(rows, 1);
    hub_rowbatch_text(rows, kept, -1, 0);
    hub_rowbatch_blob(rows, "", 0, 0);
    CHECK_INT(hub_rowbatch_end(rows), 0);
    hub_rowbatch_int(rows, 2);
    hub_rowbatch_text(rows, NULL, -1, 1);
    hub_rowbatch_null(rows);
    hub_rowbatch_end(rows);
    hub_rowbatch_int(rows, 3);
    hub_rowbatch_text(rows, "abcdef", 3, 0);
    hub_rowbatch_blob(rows, "xyz", 2, 1);
    hub_rowbatch_end(rows);
    memcpy(kept, "BEFORE", 6); /* kept by pointer: read at the flush, at the length given */
    CHECK_INT(hub_rowbatch_flush(rows, NULL), SQLITE_OK);
    CHECK_INT(
        sqlone_int(db, "SELECT count(*) FROM t WHERE n = 1 AND s = 'BEFORE' AND typeof(b) = 'blob' AND length(b) = 0"), 1);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM t WHERE n = 2 AND s IS NULL AND b IS NULL"), 1);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM t WHERE n = 3 AND s = 'abc' AND b = CAST('xy' AS BLOB)"), 1);
    hub_rowbatch_destroy(&rows);
    /* copies of nothing, in a batch that has copied nothing else: text and
     * a blob of no bytes, not NULL */
    rows = hub_rowbatch_new(db, "INSERT INTO t(n, s, b)", "", 3);
    hub_rowbatch_int(rows, 4);
    hub_rowbatch_text(rows, "", -1, 1);
    hub_rowbatch_blob(rows, "", 0, 1);
    hub_rowbatch_end(rows);
    CHECK_INT(hub_rowbatch_flush(rows, NULL), SQLITE_OK);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM t WHERE n = 4 AND typeof(s) = 'text' AND s = '' AND typeof(b) = 'blob' "
                          "AND length(b) = 0"),
              1);
    hub_rowbatch_destroy(&rows);
    sqlite3_close(db);
}

/* With a tail that lets rows be left out, the flush counts what went in. */
static void test_conflicts_counted(void)
{
    sqlite3 *db = s_db();
    CHECK_INT(sqlite3_exec(db, "INSERT INTO t(n) VALUES(2), (4)", NULL, NULL, NULL), SQLITE_OK);
    hub_rowbatch_t *rows = hub_rowbatch_new(db, "INSERT INTO t(n, s, b)", " ON CONFLICT(n) DO NOTHING", 3);
    for (int64_t n = 1; n <= 5; n++) {
        hub_rowbatch_int(rows, n);
        hub_rowbatch_text(rows, "new", -1, 0);
        hub_rowbatch_null(rows);
        hub_rowbatch_end(rows);
    }
    int changes = -1;
    CHECK_INT(hub_rowbatch_flush(rows, &changes), SQLITE_OK);
    CHECK_INT(changes, 3);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM t WHERE s = 'new'"), 3);
    hub_rowbatch_destroy(&rows);
    sqlite3_close(db);
}

/* Gives the row (n, NULL, NULL) and ends it; returns what ending said. */
static int s_row_n(hub_rowbatch_t *rows, int64_t n)
{
    hub_rowbatch_int(rows, n);
    hub_rowbatch_null(rows);
    hub_rowbatch_null(rows);
    return hub_rowbatch_end(rows);
}

/* A row with a value too few or too many, or a value past a full batch,
 * makes the next flush fail and write nothing; the batch is usable after. */
static void test_misuse(void)
{
    sqlite3 *db = s_db();
    hub_rowbatch_t *rows = hub_rowbatch_new(db, "INSERT INTO t(n, s, b)", "", 3);
    s_row_n(rows, 1);
    hub_rowbatch_int(rows, 2);
    hub_rowbatch_null(rows);
    CHECK_INT(hub_rowbatch_end(rows), 0); /* one value short */
    CHECK_INT(hub_rowbatch_rows(rows), 1);
    int changes = -1;
    CHECK_INT(hub_rowbatch_flush(rows, &changes), SQLITE_MISUSE);
    CHECK_INT(changes, 0);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM t"), 0);

    for (int64_t n = 1; n <= HUB_ROWBATCH_ROWS; n++) {
        CHECK_INT(s_row_n(rows, n), n == HUB_ROWBATCH_ROWS);
    }
    hub_rowbatch_int(rows, 99); /* full: not taken */
    CHECK_INT(hub_rowbatch_flush(rows, NULL), SQLITE_MISUSE);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM t"), 0);

    s_row_n(rows, 7);
    hub_rowbatch_drop(rows);
    CHECK_INT(hub_rowbatch_flush(rows, &changes), SQLITE_OK);
    CHECK_INT(changes, 0);
    s_row_n(rows, 8);
    CHECK_INT(hub_rowbatch_flush(rows, &changes), SQLITE_OK);
    CHECK_INT(sqlone_int(db, "SELECT n FROM t"), 8);
    hub_rowbatch_destroy(&rows);
    sqlite3_close(db);
}

/* SQLite's error of a statement that fails is the flush's. */
static void test_error_returned(void)
{
    sqlite3 *db = s_db();
    hub_rowbatch_t *rows = hub_rowbatch_new(db, "INSERT INTO t(n, s, b)", "", 3);
    for (int i = 0; i < 3; i++)
        s_row_n(rows, 5); /* the same key three times */
    CHECK_INT(hub_rowbatch_flush(rows, NULL), SQLITE_CONSTRAINT);
    hub_rowbatch_destroy(&rows);
    rows = hub_rowbatch_new(db, "INSERT INTO nowhere(n)", "", 1);
    hub_rowbatch_int(rows, 1);
    hub_rowbatch_end(rows);
    CHECK_INT(hub_rowbatch_flush(rows, NULL), SQLITE_ERROR);
    hub_rowbatch_destroy(&rows);
    CHECK(hub_rowbatch_new(db, "INSERT INTO t(n)", "", 0) == NULL);
    sqlite3_close(db);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"rows go in in order, whatever their count", test_rows_in_order},
        {"values of every kind", test_values},
        {"rows left out by a conflict are not counted", test_conflicts_counted},
        {"a row with the wrong values writes nothing", test_misuse},
        {"a failed statement's error is returned", test_error_returned},
        {NULL, NULL},
    };
    return check_run(cases);
}
