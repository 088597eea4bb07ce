/*
 * caseboard - a case's state per department from its audit rows (rules in
 * caseboard.h).
 */
#include "caseboard.h"

#include <string.h>

#define S_MAX_SEQS 32 /* sequence numbers remembered per column (rule 3) */

/* What is known of one department while the rows are read. */
typedef struct {
    json_t *col;                  /* the column object (owned by the departments array) */
    json_int_t seqs[S_MAX_SEQS];  /* seqs routed to it */
    size_t nseqs;                 /* entries used (the oldest are kept when full) */
    json_int_t answered_seq;      /* seq of its latest response; 0: none */
    int answered;                 /* 1: it has responded (rule 1) */
} s_col_t;

typedef struct {
    json_t *departments;          /* the array of columns */
    s_col_t cols[64];                 /* bookkeeping, one per column */
    size_t ncols;                 /* entries used */
    int failed;                   /* out of memory */
} s_board_t;

static const char *s_str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

static json_int_t s_int(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static void s_set(s_board_t *b, json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        b->failed = 1;
}

/* The column of department, made (state "notified") when make is 1; NULL
 * when there is none, or no room. */
static s_col_t *s_col(s_board_t *b, const char *department, int make)
{
    if (!*department)
        return NULL;
    for (size_t i = 0; i < b->ncols; i++)
        if (strcmp(s_str(b->cols[i].col, "department"), department) == 0)
            return &b->cols[i];
    if (!make || b->ncols == sizeof b->cols / sizeof b->cols[0])
        return NULL;
    json_t *col = json_pack("{s:s, s:s, s:s, s:s, s:n, s:I, s:b, s:b, s:n, s:b, s:n, s:n, s:n}", "department",
                            department, "state", "notified", "topic", "", "route", "", "respond_by", "seq",
                            (json_int_t)0, "breached", 0, "escalated", 0, "escalated_to", "dead_lettered", 0,
                            "answered_by", "answered_at", "note");
    if (!col || json_array_append_new(b->departments, col) != 0) {
        b->failed = 1;
        return NULL;
    }
    s_col_t *c = &b->cols[b->ncols++];
    memset(c, 0, sizeof *c);
    c->col = col;
    return c;
}

static void s_add_seq(s_col_t *c, json_int_t seq)
{
    if (seq > 0 && c->nseqs < S_MAX_SEQS)
        c->seqs[c->nseqs++] = seq;
}

/* A notification for c (routed or an escalation) at seq. */
static void s_notified(s_board_t *b, s_col_t *c, json_int_t seq, const json_t *detail)
{
    s_add_seq(c, seq);
    s_set(b, c->col, "notified", json_true());
    if (*s_str(detail, "topic"))
        s_set(b, c->col, "topic", json_string(s_str(detail, "topic")));
    if (*s_str(detail, "route"))
        s_set(b, c->col, "route", json_string(s_str(detail, "route")));
    const char *respond_by = s_str(detail, "respond_by");
    s_set(b, c->col, "respond_by", *respond_by ? json_string(respond_by) : json_null());
    s_set(b, c->col, "seq", json_integer(seq));
    if (!c->answered || seq > c->answered_seq) {
        /* rule 2 */
        c->answered = 0;
        s_set(b, c->col, "state", json_string("notified"));
    }
}

/* Rule 3: a range row of subscriber department over [from, to]. */
static void s_range(s_board_t *b, const char *department, json_int_t from, json_int_t to)
{
    s_col_t *c = s_col(b, department, 0);
    if (!c || strcmp(s_str(c->col, "state"), "notified") != 0)
        return;
    if (to < from)
        to = from;
    for (size_t i = 0; i < c->nseqs; i++)
        if (c->seqs[i] >= from && c->seqs[i] <= to) {
            s_set(b, c->col, "state", json_string("delivered"));
            return;
        }
}

static void s_row(s_board_t *b, const json_t *row)
{
    const char *action = s_str(row, "action");
    const char *department = s_str(row, "department");
    const json_t *detail = json_object_get(row, "detail");
    json_int_t seq = s_int(row, "seq");
    const json_t *list = json_object_get(detail, "notifications");
    if (strcmp(action, "routed") == 0 || (strcmp(action, "received") == 0 && json_is_array(list))) {
        /* the received row lists the event's notifications (routed rows
         * those that do not fit it); a log written before has them in one
         * routed row, or in one routed row per notification, with its
         * department */
        for (size_t i = 0; i < (json_is_array(list) ? json_array_size(list) : 1); i++) {
            const json_t *n = json_is_array(list) ? json_array_get(list, i) : detail;
            s_col_t *c = s_col(b, json_is_array(list) ? s_str(n, "department") : department, 1);
            if (c)
                s_notified(b, c, seq, n);
        }
    }
    else if (strcmp(action, "delivered") == 0 || strcmp(action, "acked") == 0) {
        s_range(b, department, seq, s_int(row, "seq_to"));
    }
    else if (strcmp(action, "responded") == 0) {
        s_col_t *c = s_col(b, department, 1);
        const char *status = s_str(detail, "status");
        if (!c || !*status)
            return;
        c->answered = 1;
        c->answered_seq = seq;
        s_set(b, c->col, "state", json_string(status));
        s_set(b, c->col, "answered_by", json_string(s_str(row, "actor")));
        s_set(b, c->col, "answered_at", json_string(s_str(row, "at")));
        const char *note = s_str(detail, "note");
        s_set(b, c->col, "note", *note ? json_string(note) : json_null());
    }
    else if (strcmp(action, "breached") == 0) {
        s_col_t *c = s_col(b, department, 0);
        if (!c)
            return;
        s_set(b, c->col, "breached", json_true());
        if (!c->answered && strcmp(s_str(c->col, "state"), "escalated") != 0)
            s_set(b, c->col, "state", json_string("breached"));
    }
    else if (strcmp(action, "escalated") == 0) {
        /* department is the backup; detail.from the one that did not answer */
        s_col_t *from = s_col(b, s_str(detail, "from"), 0);
        if (from) {
            s_set(b, from->col, "escalated", json_true());
            s_set(b, from->col, "escalated_to", json_string(department));
            if (!from->answered)
                s_set(b, from->col, "state", json_string("escalated"));
        }
        s_col_t *backup = s_col(b, department, 1);
        if (backup)
            s_notified(b, backup, s_int(detail, "escalation_seq"), detail);
    }
    else if (strcmp(action, "dead_lettered") == 0) {
        s_col_t *c = s_col(b, department, 0);
        if (c)
            s_set(b, c->col, "dead_lettered", json_true());
    }
}

json_t *cs_caseboard_build(const char *case_id, json_t *rows, const char *customer)
{
    s_board_t b = {.departments = json_array()};
    if (!b.departments)
        return NULL;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (json_is_object(row))
            s_row(&b, row);
    }
    json_t *board = json_pack("{s:s, s:s, s:o, s:O}", "case_id", case_id, "customer", customer ? customer : "",
                              "departments", b.departments, "history", rows);
    if (!board || b.failed) {
        json_decref(board);
        return NULL;
    }
    return board;
}

int cs_caseboard_involves(const json_t *board, const cs_user_t *user)
{
    if (!user)
        return 0;
    if (user->operator)
        return 1;
    size_t i;
    const json_t *col;
    json_array_foreach(json_object_get(board, "departments"), i, col) {
        if (json_is_true(json_object_get(col, "notified")) && cs_user_has_department(user, s_str(col, "department")))
            return 1;
    }
    return 0;
}

int cs_caseboard_notified(const json_t *board, const char *department)
{
    size_t i;
    const json_t *col;
    json_array_foreach(json_object_get(board, "departments"), i, col) {
        if (strcmp(s_str(col, "department"), department) == 0)
            return json_is_true(json_object_get(col, "notified"));
    }
    return 0;
}
