/*
 * test_routings - routing lists that events share, each stored once: when
 * a list gets its row, the map's bounds, a map made anew over the same
 * table, and what a rolled-back transaction takes with it.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sqlone.h"
#include "routings.h"

static sqlite3 *s_db(void)
{
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, hub_routings_schema, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

/* The id the map gives the list text, with its return code checked. */
static int64_t s_id(hub_routings_t *map, const char *text)
{
    int64_t id = -1;
    CHECK_INT(hub_routings_id(map, (const uint8_t *)text, strlen(text), &id), SQLITE_OK);
    return id;
}

/* 1 when the row id holds exactly text. */
static int s_row_holds(sqlite3 *db, int64_t id, const char *text)
{
    sqlite3_stmt *st = NULL;
    int same = 0;
    if (sqlite3_prepare_v2(db, "SELECT routing FROM routings WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            same = (size_t)sqlite3_column_bytes(st, 0) == strlen(text) &&
                   memcmp(sqlite3_column_blob(st, 0), text, strlen(text)) == 0;
    }
    sqlite3_finalize(st);
    return same;
}

/* A list gets a row the second time it is met, and the same id after
 * that, whether it was met last or before another. */
static void test_second_meeting(void)
{
    sqlite3 *db = s_db();
    hub_routings_t *map = hub_routings_new(db);
    CHECK(map != NULL);
    CHECK_INT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(s_id(map, "engineering.defect"), 0);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM routings"), 0);
    int64_t a = s_id(map, "engineering.defect");
    CHECK(a > 0);
    CHECK_INT(s_id(map, "engineering.defect"), a);
    CHECK_INT(s_id(map, "finance.billing"), 0);
    int64_t b = s_id(map, "finance.billing");
    CHECK(b > 0 && b != a);
    CHECK_INT(s_id(map, "engineering.defect"), a); /* not the last met: found by its hash */
    CHECK_INT(s_id(map, "finance.billing"), b);
    CHECK_INT(s_id(map, "engineering.defec"), 0); /* a prefix is another list */
    CHECK_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM routings"), 2);
    CHECK(s_row_holds(db, a, "engineering.defect"));
    CHECK(s_row_holds(db, b, "finance.billing"));
    CHECK_INT(hub_routings_count(map), 2);
    /* an empty list is a row too: an empty blob, not NULL */
    CHECK_INT(s_id(map, ""), 0);
    int64_t empty = s_id(map, "");
    CHECK(empty > 0);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT typeof(routing) = 'blob' AND length(routing) = 0 FROM routings WHERE id = %lld",
             (long long)empty);
    CHECK_INT(sqlone_int(db, sql), 1);
    hub_routings_destroy(&map);
    CHECK(map == NULL);
    hub_routings_destroy(&map); /* safe twice */
    sqlite3_close(db);
}

/* A map made anew (a restart) finds the rows written before by their
 * bytes and writes none again. */
static void test_new_map_finds_rows(void)
{
    sqlite3 *db = s_db();
    hub_routings_t *map = hub_routings_new(db);
    s_id(map, "sales.followup");
    int64_t a = s_id(map, "sales.followup");
    hub_routings_destroy(&map);
    map = hub_routings_new(db);
    CHECK_INT(s_id(map, "sales.followup"), 0);
    CHECK_INT(s_id(map, "sales.followup"), a);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM routings"), 1);
    hub_routings_destroy(&map);
    sqlite3_close(db);
}

/* Past HUB_ROUTINGS_MAX lists, or HUB_ROUTINGS_BYTES, a list gets no id
 * and no row; those remembered keep theirs. */
static void test_bounds(void)
{
    sqlite3 *db = s_db();
    hub_routings_t *map = hub_routings_new(db);
    CHECK_INT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    char text[32];
    int64_t first = 0;
    for (int i = 0; i < HUB_ROUTINGS_MAX; i++) {
        snprintf(text, sizeof text, "list-%d", i);
        s_id(map, text);
        int64_t id = s_id(map, text);
        if (id <= 0)
            break;
        first = first ? first : id;
    }
    CHECK_INT(hub_routings_count(map), HUB_ROUTINGS_MAX);
    CHECK_INT(s_id(map, "one more"), 0);
    CHECK_INT(s_id(map, "one more"), 0);
    CHECK_INT(s_id(map, "list-0"), first);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM routings"), HUB_ROUTINGS_MAX);
    CHECK_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    hub_routings_destroy(&map);

    map = hub_routings_new(db);
    size_t big_len = HUB_ROUTINGS_BYTES + 1;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    memset(big, 'x', big_len);
    int64_t id = -1;
    for (int i = 0; i < 2; i++) {
        CHECK_INT(hub_routings_id(map, big, big_len, &id), SQLITE_OK);
        CHECK_INT(id, 0);
    }
    CHECK_INT(hub_routings_count(map), 0);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM routings"), HUB_ROUTINGS_MAX); /* no row for it */
    free(big);
    hub_routings_destroy(&map);
    sqlite3_close(db);
}

/* The rows a rolled-back transaction wrote are gone; after
 * hub_routings_forget the map writes them again rather than hand out ids
 * of rows that are not there. */
static void test_forget_after_rollback(void)
{
    sqlite3 *db = s_db();
    hub_routings_t *map = hub_routings_new(db);
    CHECK_INT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    s_id(map, "shipping.rma");
    CHECK(s_id(map, "shipping.rma") > 0);
    CHECK_INT(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    hub_routings_forget(map);
    CHECK_INT(hub_routings_count(map), 0);
    CHECK_INT(sqlone_int(db, "SELECT count(*) FROM routings"), 0);
    CHECK_INT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(s_id(map, "shipping.rma"), 0); /* met once, as far as the map knows */
    int64_t id = s_id(map, "shipping.rma");
    CHECK(id > 0);
    CHECK_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    CHECK(s_row_holds(db, id, "shipping.rma"));
    hub_routings_destroy(&map);
    sqlite3_close(db);
}

/* A table it cannot write: the error comes back, nothing is remembered. */
static void test_error_returned(void)
{
    sqlite3 *db = s_db();
    hub_routings_t *map = hub_routings_new(db);
    CHECK_INT(sqlite3_exec(db, "CREATE TRIGGER no BEFORE INSERT ON routings BEGIN SELECT RAISE(ABORT, 'no'); END",
                           NULL, NULL, NULL),
              SQLITE_OK);
    int64_t id = -1;
    const uint8_t list[] = "tap.all";
    CHECK_INT(hub_routings_id(map, list, sizeof list, &id), SQLITE_OK);
    CHECK_INT(hub_routings_id(map, list, sizeof list, &id), SQLITE_CONSTRAINT);
    CHECK_INT(id, 0);
    CHECK_INT(hub_routings_count(map), 0);
    hub_routings_destroy(&map);
    /* and a database without the table has no map */
    sqlite3 *bare = NULL;
    CHECK_INT(sqlite3_open(":memory:", &bare), SQLITE_OK);
    CHECK(hub_routings_new(bare) == NULL);
    sqlite3_close(bare);
    sqlite3_close(db);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"a list gets its row when met again", test_second_meeting},
        {"a new map finds the rows by their bytes", test_new_map_finds_rows},
        {"past its bounds a list gets no id", test_bounds},
        {"after a rollback the map forgets", test_forget_after_rollback},
        {"an error is returned and nothing kept", test_error_returned},
        {NULL, NULL},
    };
    return check_run(cases);
}
