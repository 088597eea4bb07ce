/*
 * rowbatch - rows written several to an INSERT (see rowbatch.h).
 *
 * The statements are kept for 1, 2, 4, ... HUB_ROWBATCH_ROWS rows: a
 * flush writes the largest that the rows left fill, so a commit's last
 * few rows take a handful of statements and no statement is made for
 * every count.
 */
#include "rowbatch.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S_SIZES 8 /* statements of 1 << 0 ... 1 << 7 rows */

_Static_assert(HUB_ROWBATCH_ROWS == 1 << (S_SIZES - 1), "one statement per power of two up to the largest");

typedef enum { S_INT, S_NULL, S_TEXT, S_BLOB } s_kind_t;

typedef struct {
    s_kind_t kind;
    int copied;      /* 1: the bytes are in copies, at offset */
    int64_t number;  /* S_INT's value */
    const void *ptr; /* the bytes, when not copied */
    size_t offset;   /* ... when copied */
    size_t len;
} s_value_t;

struct hub_rowbatch {
    sqlite3 *db;
    char *head, *tail;
    int ncols;
    s_value_t *values; /* HUB_ROWBATCH_ROWS rows of ncols */
    size_t nvalues;    /* given, of rows ended and the row under way */
    size_t rows;       /* ended */
    int failed;        /* SQLite's code for what went wrong since the last flush, or SQLITE_OK */
    char *copies;
    size_t copies_len, copies_cap;
    sqlite3_stmt *stmts[S_SIZES];
};

hub_rowbatch_t *hub_rowbatch_new(sqlite3 *db, const char *head, const char *tail, int ncols)
{
    if (ncols <= 0)
        return NULL;
    hub_rowbatch_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->db = db;
    self->ncols = ncols;
    self->head = strdup(head);
    self->tail = strdup(tail);
    self->values = calloc((size_t)HUB_ROWBATCH_ROWS * (size_t)ncols, sizeof(s_value_t));
    if (!self->head || !self->tail || !self->values)
        hub_rowbatch_destroy(&self);
    return self;
}

void hub_rowbatch_destroy(hub_rowbatch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_rowbatch_t *self = *self_p;
    for (int i = 0; i < S_SIZES; i++)
        sqlite3_finalize(self->stmts[i]);
    free(self->head);
    free(self->tail);
    free(self->values);
    free(self->copies);
    free(self);
    *self_p = NULL;
}

/* The next value's place, or NULL when the batch is full (rule 3). */
static s_value_t *s_next(hub_rowbatch_t *self)
{
    if (self->nvalues == (size_t)HUB_ROWBATCH_ROWS * (size_t)self->ncols) {
        self->failed = SQLITE_MISUSE;
        return NULL;
    }
    return &self->values[self->nvalues++];
}

void hub_rowbatch_int(hub_rowbatch_t *self, int64_t value)
{
    s_value_t *v = s_next(self);
    if (v)
        *v = (s_value_t){.kind = S_INT, .number = value};
}

void hub_rowbatch_null(hub_rowbatch_t *self)
{
    s_value_t *v = s_next(self);
    if (v)
        *v = (s_value_t){.kind = S_NULL};
}

/* Keeps len bytes at data as a value of kind, or a copy of them. */
static void s_bytes(hub_rowbatch_t *self, s_kind_t kind, const void *data, size_t len, int copy)
{
    s_value_t *v = s_next(self);
    if (!v)
        return;
    *v = (s_value_t){.kind = kind, .ptr = data, .len = len};
    if (len > INT_MAX) {
        v->kind = S_NULL;
        self->failed = SQLITE_TOOBIG;
        return;
    }
    if (!copy)
        return;
    if (self->copies_len + len > self->copies_cap) {
        size_t cap = self->copies_cap ? self->copies_cap : 4096;
        while (cap < self->copies_len + len && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *copies = cap >= self->copies_len + len ? realloc(self->copies, cap) : NULL;
        if (!copies) {
            v->kind = S_NULL;
            self->failed = SQLITE_NOMEM;
            return;
        }
        self->copies = copies;
        self->copies_cap = cap;
    }
    if (len > 0)
        memcpy(self->copies + self->copies_len, data, len);
    v->copied = 1;
    v->ptr = NULL;
    v->offset = self->copies_len;
    self->copies_len += len;
}

void hub_rowbatch_text(hub_rowbatch_t *self, const char *text, int64_t len, int copy)
{
    if (!text)
        hub_rowbatch_null(self);
    else
        s_bytes(self, S_TEXT, text, len < 0 ? strlen(text) : (size_t)len, copy);
}

void hub_rowbatch_blob(hub_rowbatch_t *self, const void *data, size_t len, int copy)
{
    s_bytes(self, S_BLOB, data, len, copy);
}

int hub_rowbatch_end(hub_rowbatch_t *self)
{
    if (self->nvalues != (self->rows + 1) * (size_t)self->ncols) {
        /* a row with a value too many or too few: nothing of it is
         * written, and the flush says so */
        self->failed = SQLITE_MISUSE;
        self->nvalues = self->rows * (size_t)self->ncols;
        return self->rows == HUB_ROWBATCH_ROWS;
    }
    self->rows++;
    return self->rows == HUB_ROWBATCH_ROWS;
}

size_t hub_rowbatch_rows(const hub_rowbatch_t *self)
{
    return self->rows;
}

/* The statement for 1 << size rows, made on first use; NULL when it
 * cannot be made (*rc_p says why). */
static sqlite3_stmt *s_statement(hub_rowbatch_t *self, int size, int *rc_p)
{
    if (self->stmts[size])
        return self->stmts[size];
    size_t rows = (size_t)1 << size, ncols = (size_t)self->ncols;
    size_t cap = strlen(self->head) + strlen(self->tail) + 8 + rows * (ncols * 2 + 3);
    char *sql = malloc(cap);
    if (!sql) {
        *rc_p = SQLITE_NOMEM;
        return NULL;
    }
    size_t n = strlen(self->head);
    memcpy(sql, self->head, n);
    memcpy(sql + n, " VALUES", 7);
    n += 7;
    for (size_t r = 0; r < rows; r++) {
        sql[n++] = r ? ',' : ' ';
        sql[n++] = '(';
        for (size_t c = 0; c < ncols; c++) {
            if (c)
                sql[n++] = ',';
            sql[n++] = '?';
        }
        sql[n++] = ')';
    }
    strcpy(sql + n, self->tail);
    *rc_p = sqlite3_prepare_v3(self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &self->stmts[size], NULL);
    free(sql);
    return self->stmts[size];
}

/* Binds v as parameter i. Returns SQLite's code. */
static int s_bind(const hub_rowbatch_t *self, sqlite3_stmt *st, int i, const s_value_t *v)
{
    /* text or a blob of no bytes is that, not NULL: SQLite takes a NULL
     * pointer for NULL (and no copy of nothing has made the arena) */
    const void *bytes = v->copied ? (self->copies ? self->copies + v->offset : NULL) : v->ptr;
    if (!bytes)
        bytes = "";
    switch (v->kind) {
    case S_INT:
        return sqlite3_bind_int64(st, i, v->number);
    case S_NULL:
        return sqlite3_bind_null(st, i);
    case S_TEXT:
        return sqlite3_bind_text(st, i, bytes, (int)v->len, SQLITE_STATIC);
    case S_BLOB:
        return sqlite3_bind_blob(st, i, bytes, (int)v->len, SQLITE_STATIC);
    }
    return SQLITE_MISUSE;
}

int hub_rowbatch_flush(hub_rowbatch_t *self, int *changes_p)
{
    int rc = self->failed, changes = 0;
    size_t done = 0;
    while (rc == SQLITE_OK && done < self->rows) {
        int size = S_SIZES - 1;
        while (((size_t)1 << size) > self->rows - done)
            size--;
        sqlite3_stmt *st = s_statement(self, size, &rc);
        if (!st)
            break;
        size_t rows = (size_t)1 << size;
        const s_value_t *v = self->values + done * (size_t)self->ncols;
        for (size_t i = 0; i < rows * (size_t)self->ncols && rc == SQLITE_OK; i++)
            rc = s_bind(self, st, (int)i + 1, &v[i]);
        if (rc != SQLITE_OK)
            break;
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
            changes += sqlite3_changes(self->db);
        }
        done += rows;
    }
    hub_rowbatch_drop(self);
    if (changes_p)
        *changes_p = changes;
    return rc;
}

void hub_rowbatch_drop(hub_rowbatch_t *self)
{
    self->nvalues = 0;
    self->rows = 0;
    self->failed = SQLITE_OK;
    self->copies_len = 0;
}
