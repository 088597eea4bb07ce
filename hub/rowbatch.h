/*
 * rowbatch - rows of one table gathered and written several to an INSERT
 * statement.
 *
 * A statement that inserts one row pays, for every row, what has nothing
 * to do with the row: opening the table's and its indexes' cursors, finding
 * the place in each b-tree from its root, closing them, resetting. One
 * statement for 128 rows pays it once: a commit's thousand audit rows
 * cost a quarter less so (32 rows a statement gave most of that; 128
 * gave 4.4% more events/s under load than 32, 256 no more than 128).
 *
 * Rules
 *   1. A row is given one value per column, in the order of the columns the
 *      batch was made with, then ended with hub_rowbatch_end.
 *   2. Text and blobs are kept by pointer, and must stay as they are until
 *      the rows are written; given with copy set, they are copied.
 *   3. Rows are written only by hub_rowbatch_flush, in the order they were
 *      given, by statements of HUB_ROWBATCH_ROWS rows or fewer (made once,
 *      on first use, and kept). hub_rowbatch_end says when the batch is
 *      full, and a full batch takes no more rows until flushed.
 *   4. A flush forgets the rows, written or not; so does hub_rowbatch_drop.
 *      What a failed flush wrote is the caller's to roll back. A row given
 *      with a value too many or too few, or a value given to a full
 *      batch, is not kept, and the next flush writes nothing and fails.
 *   5. The batch uses its connection only in hub_rowbatch_flush and
 *      hub_rowbatch_destroy, from the thread that calls them.
 */
#ifndef HUB_ROWBATCH_H_INCLUDED
#define HUB_ROWBATCH_H_INCLUDED

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HUB_ROWBATCH_ROWS 128 /* rows of the largest statement */

typedef struct hub_rowbatch hub_rowbatch_t;

/* A batch for the statement head "VALUES(?, ...), ..." tail, head naming
 * the table and its ncols columns ("INSERT INTO t(a, b)"), tail what
 * follows the rows ("" or, say, " ON CONFLICT(a) DO NOTHING"; not a
 * RETURNING clause: a statement that returns rows counts as failed). NULL
 * when out of memory. */
hub_rowbatch_t *hub_rowbatch_new(sqlite3 *db, const char *head, const char *tail, int ncols);
void hub_rowbatch_destroy(hub_rowbatch_t **self_p);

/* The values of a row (rule 1). Text of len bytes, or up to its NUL with
 * len -1; a NULL pointer is NULL. */
void hub_rowbatch_int(hub_rowbatch_t *self, int64_t value);
void hub_rowbatch_null(hub_rowbatch_t *self);
void hub_rowbatch_text(hub_rowbatch_t *self, const char *text, int64_t len, int copy);
void hub_rowbatch_blob(hub_rowbatch_t *self, const void *data, size_t len, int copy);

/* Ends a row. Returns 1 when the batch is full (rule 3), else 0. */
int hub_rowbatch_end(hub_rowbatch_t *self);

/* Rows given and not yet written. */
size_t hub_rowbatch_rows(const hub_rowbatch_t *self);

/* Writes the rows given (rule 3). Returns SQLITE_OK, or SQLite's code of
 * the statement or binding that failed (SQLITE_NOMEM when a copy or a
 * statement could not be made, SQLITE_MISUSE when a row had the wrong
 * number of values, SQLITE_TOOBIG for a value of 2 GiB or more);
 * *changes_p (may be NULL) is the number of rows the statements inserted. */
int hub_rowbatch_flush(hub_rowbatch_t *self, int *changes_p);

/* Forgets the rows given, writing nothing. */
void hub_rowbatch_drop(hub_rowbatch_t *self);

#endif
