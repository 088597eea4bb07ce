/*
 * sqlone - the one value a test's query asks for: the first column of its
 * first row, as an integer.
 */
#ifndef HUB_TEST_SQLONE_H_INCLUDED
#define HUB_TEST_SQLONE_H_INCLUDED

#include <sqlite3.h>
#include <stdint.h>

/* The value, or -1 when the query fails or returns no row. */
static inline int64_t sqlone_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

#endif
