/*
 * cmd_history - hubctl history CASE [--json]
 *
 * The whole life of a case from the audit log, in time order (then id):
 * its events as received, the notifications they were routed to, when each
 * department received and acknowledged them (from the per-subscriber range
 * rows that cover the case's sequence numbers), redeliveries, dead
 * letters, responses with their notes, deadlines met, breaches and
 * escalations. One line per row for people, or the rows as JSON lines
 * (the same objects as "hubctl audit --json").
 *
 * The rows come from the database file (hub_audit_read, the case filter
 * of "hubctl audit --case") or, with --remote, from the hub (an
 * AuditQuery for the case); either way they are collected, the case's
 * sequence numbers taken from them, and printed sorted by time, then id.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dbfile.h"

#define S_LINE_LEN 16384 /* bytes of one described row, a routed row's lines together (cut beyond) */
#define S_MAX_SEQS 4096 /* case sequence numbers listed per range row at most */

static void s_help(void)
{
    fputs("usage: hubctl history CASE [--json] [--data DIR | --db FILE | --remote]\n"
          "\n"
          "Shows everything that happened on case CASE (e.g. CASE-1042), in time order, from\n"
          "the hub's audit log: events received, notifications routed to departments, when\n"
          "each department received and acknowledged them, redeliveries, dead letters,\n"
          "responses with their notes, deadlines met, breaches and escalations. Times are UTC.\n"
          "\n"
          "Reads the database file directly (read-only; hubd may be running or not), or with\n"
          "--remote asks the hub at --hub (with CURVE, the identity of --key needs audit: true\n"
          "in the hub's access list; the hub sends at most 10000 rows).\n"
          "\n"
          "options:\n"
          "  --json            one JSON object per audit row (as 'hubctl audit --json')\n"
          "  --data DIR        hubd's data directory (default ./var/hub; the file DIR/hub.db)\n"
          "  --db FILE         a database file, e.g. a copy\n"
          "  --remote          ask the hub at --hub ($HUB_ENDPOINT) instead of reading a file\n"
          "  -h, --help        this text\n"
          "\n"
          "exit codes: 0 ok, 1 failed or no such case, 2 usage\n",
          stdout);
}

/* A bounded string being written. */
typedef struct {
    char text[S_LINE_LEN];
    size_t len;
} s_out_t;

static void s_add(s_out_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_add(s_out_t *out, const char *fmt, ...)
{
    if (out->len >= sizeof out->text - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out->text + out->len, sizeof out->text - out->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        out->len += (size_t)n < sizeof out->text - out->len ? (size_t)n : sizeof out->text - out->len - 1;
}

/* A detail member as text ("?" when absent): strings as they are, numbers
 * in decimal, anything else as compact JSON into buf. */
static const char *s_member(const json_t *detail, const char *key, char *buf, size_t buflen)
{
    const json_t *v = json_object_get(detail, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (!v || json_is_null(v))
        return "?";
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, buflen, "%s", text ? text : "?");
    free(text);
    return buf;
}

/* A detail member holding milliseconds as a human duration ("?" when absent). */
static const char *s_member_ms(const json_t *detail, const char *key, char *buf, size_t buflen)
{
    const json_t *v = json_object_get(detail, key);
    if (!json_is_integer(v))
        return "?";
    hubctl_format_duration(json_integer_value(v), buf, buflen);
    return buf;
}

/* A detail member holding an RFC 3339 time, for people ("?" when absent). */
static const char *s_member_time(const json_t *detail, const char *key, char *buf, size_t buflen)
{
    int64_t ms;
    const char *text = json_string_value(json_object_get(detail, key));
    if (!text)
        return "?";
    if (hub_time_parse(text, &ms) != 0)
        return text;
    hubctl_format_time(ms, buf, buflen);
    return buf;
}

/* The case's sequence numbers in [from, to], as "seq 3" or "seqs 3, 7". */
static void s_add_covered(s_out_t *out, const int64_t *seqs, size_t nseqs, int64_t from, int64_t to)
{
    size_t shown = 0;
    for (size_t i = 0; i < nseqs; i++) {
        if (seqs[i] < from || seqs[i] > to)
            continue;
        if (shown == 0) {
            size_t more = 0;
            for (size_t j = i + 1; j < nseqs; j++)
                more += seqs[j] >= from && seqs[j] <= to;
            s_add(out, "%s ", more ? "seqs" : "seq");
        }
        s_add(out, "%s%" PRId64, shown ? ", " : "", seqs[i]);
        shown++;
    }
    if (shown == 0)
        s_add(out, "seq %" PRId64, from);
}

/* One notification of a routed row: its department and its members
 * (slot, route, topic, respond_by). */
static void s_describe_routed(s_out_t *out, const char *dept, const json_t *n, int64_t seq)
{
    char a[256], b[256], c[256], d[256];
    s_add(out, "%-18s %s (route %s, seq %" PRId64 " slot %s)", dept, s_member(n, "topic", a, sizeof a),
          s_member(n, "route", b, sizeof b), seq, s_member(n, "slot", c, sizeof c));
    if (json_object_get(n, "respond_by"))
        s_add(out, ", respond by %s", s_member_time(n, "respond_by", d, sizeof d));
}

/* The notifications of a received or routed row's list, a line each,
 * each but the first after again; the first too when on_own_line. */
static void s_describe_list(s_out_t *out, const json_t *list, int64_t seq, const char *again, int on_own_line)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *n = json_array_get(list, i);
        if (i > 0 || on_own_line)
            s_add(out, "%s", again);
        s_describe_routed(out, hubctl_or_dash(json_string_value(json_object_get(n, "department"))), n, seq);
    }
}

/* Describes row for people (after its time and action). A routed row
 * lists its notifications one per line, and so does a received row that
 * lists them: each after again (the next line's time, and "routed"). */
static void s_describe(const hub_audit_row_t *row, const int64_t *seqs, size_t nseqs, const char *again,
                       s_out_t *out)
{
    const char *action = row->action;
    const char *event_id = hubctl_or_dash(row->event_id);
    const char *case_id = hubctl_or_dash(row->case_id);
    const char *dept = hubctl_or_dash(row->department);
    int64_t seq = row->seq;
    int64_t seq_to = row->seq_to == 0 ? seq : row->seq_to;
    const char *detail_text = row->detail;
    json_t *detail = detail_text ? json_loads(detail_text, 0, NULL) : NULL;
    char a[256], b[256], c[256], d[256], e[256];

    if (!action)
        action = "?";
    if (strcmp(action, "received") == 0) {
        const json_t *list = json_object_get(detail, "notifications");
        s_add(out, "%s %s (seq %" PRId64 ") from %s, event %s", s_member(detail, "type", a, sizeof a), case_id, seq,
              s_member(detail, "source", b, sizeof b), event_id);
        if (!json_is_array(list)) /* the count: a log written before, or an event the hub made */
            s_add(out, ", %s notification%s", s_member(detail, "notifications", c, sizeof c),
                  json_integer_value(list) == 1 ? "" : "s");
        /* its notifications, a line each, as routed rows have them (those
         * that did not fit follow in routed rows) */
        s_describe_list(out, list, seq, again, 1);
    } else if (strcmp(action, "rejected") == 0) {
        s_add(out, "event %s: %s: %s", event_id, s_member(detail, "code", a, sizeof a),
              s_member(detail, "reason", b, sizeof b));
    } else if (strcmp(action, "routed") == 0) {
        const json_t *list = json_object_get(detail, "notifications");
        if (!json_is_array(list)) /* a log written before: one row per notification */
            s_describe_routed(out, dept, detail, seq);
        s_describe_list(out, list, seq, again, 0);
    } else if (strcmp(action, "delivered") == 0 || strcmp(action, "acked") == 0) {
        s_add(out, "%-18s ", dept);
        s_add_covered(out, seqs, nseqs, seq, seq_to);
        if (seq_to != seq)
            s_add(out, " (in a batch of %s, seqs %" PRId64 "-%" PRId64 ")", s_member(detail, "count", a, sizeof a), seq,
                  seq_to);
    } else if (strcmp(action, "redelivered") == 0) {
        s_add(out, "%-18s seq %" PRId64 " slot %s, attempt %s", dept, seq, s_member(detail, "slot", a, sizeof a),
              s_member(detail, "attempt", b, sizeof b));
    } else if (strcmp(action, "dead_lettered") == 0) {
        s_add(out, "%-18s seq %" PRId64 " slot %s after %s attempts (%s) -> %s (seq %s)", dept, seq,
              s_member(detail, "slot", a, sizeof a), s_member(detail, "attempts", b, sizeof b),
              s_member(detail, "reason", c, sizeof c), s_member(detail, "topic", d, sizeof d),
              s_member(detail, "dead_seq", e, sizeof e));
    } else if (strcmp(action, "responded") == 0) {
        s_add(out, "%-18s %s (seq %" PRId64 ")", dept, s_member(detail, "status", a, sizeof a), seq);
        const char *note = json_string_value(json_object_get(detail, "note"));
        if (note && *note)
            s_add(out, ": \"%s\"", note);
    } else if (strcmp(action, "deadline_met") == 0) {
        s_add(out, "%-18s route %s (seq %" PRId64 ") answered by seq %s after %s", dept,
              s_member(detail, "route", a, sizeof a), seq, s_member(detail, "response_seq", b, sizeof b),
              s_member_ms(detail, "within_ms", c, sizeof c));
        if (json_object_get(detail, "late_ms"))
            s_add(out, ", %s late", s_member_ms(detail, "late_ms", d, sizeof d));
    } else if (strcmp(action, "breached") == 0) {
        s_add(out, "%-18s route %s (seq %" PRId64 "): no response by %s, %s late", dept,
              s_member(detail, "route", a, sizeof a), seq, s_member_time(detail, "due", b, sizeof b),
              s_member_ms(detail, "late_ms", c, sizeof c));
    } else if (strcmp(action, "escalated") == 0) {
        s_add(out, "%-18s from %s, route %s (seq %" PRId64 "), %s late -> %s (seq %s)", dept,
              s_member(detail, "from", a, sizeof a), s_member(detail, "route", b, sizeof b), seq,
              s_member_ms(detail, "late_ms", c, sizeof c), s_member(detail, "topic", d, sizeof d),
              s_member(detail, "escalation_seq", e, sizeof e));
    } else if (strcmp(action, "redriven") == 0 || strcmp(action, "discarded") == 0) {
        s_add(out, "%-18s dead letter seq %" PRId64 " (was seq %s slot %s)", dept, seq,
              s_member(detail, "orig_seq", a, sizeof a), s_member(detail, "orig_slot", b, sizeof b));
        if (json_object_get(detail, "redrive_seq"))
            s_add(out, " -> seq %s", s_member(detail, "redrive_seq", c, sizeof c));
        const char *reason = json_string_value(json_object_get(detail, "reason"));
        if (reason && *reason)
            s_add(out, ": \"%s\"", reason);
    } else {
        s_add(out, "%-18s %s", dept, detail_text ? detail_text : "");
    }
    json_decref(detail);
}

/* One row of the case, collected. */
typedef struct {
    json_t *json; /* as hubctl audit --json prints it */
    char *detail; /* the detail as stored (local) or as sent */
    int64_t id, at_ms;
} s_row_t;

/* The rows of the case, collected. */
typedef struct {
    s_row_t *rows;
    size_t n, cap;
    int failed; /* out of memory */
} s_rows_t;

/* Keeps a row: json (taken over, also on failure) and its detail text.
 * Returns 0, or -1 out of memory. */
static int s_keep(s_rows_t *rows, json_t *json, const char *detail)
{
    if (rows->n == rows->cap) {
        size_t ncap = rows->cap ? rows->cap * 2 : 64;
        s_row_t *more = realloc(rows->rows, ncap * sizeof *more);
        if (!more) {
            json_decref(json);
            return -1;
        }
        rows->rows = more;
        rows->cap = ncap;
    }
    char *copy = detail ? strdup(detail) : NULL;
    if (!json || (detail && !copy)) {
        json_decref(json);
        free(copy);
        return -1;
    }
    s_row_t *r = &rows->rows[rows->n++];
    r->json = json;
    r->detail = copy;
    r->id = json_integer_value(json_object_get(json, "id"));
    r->at_ms = json_integer_value(json_object_get(json, "at_ms"));
    return 0;
}

/* hub_audit_row_fn of a local reading. */
static int s_on_row(const hub_audit_row_t *row, const char *hash, void *arg)
{
    s_rows_t *rows = arg;
    if (hubctl_stop)
        return 1;
    if (s_keep(rows, hub_audit_row_json(row, hash), row->detail) != 0) {
        rows->failed = 1;
        return 1;
    }
    return 0;
}

static void s_rows_free(s_rows_t *rows)
{
    for (size_t i = 0; i < rows->n; i++) {
        json_decref(rows->rows[i].json);
        free(rows->rows[i].detail);
    }
    free(rows->rows);
}

/* Time order, then id. */
static int s_by_time(const void *pa, const void *pb)
{
    const s_row_t *a = pa, *b = pb;
    if (a->at_ms != b->at_ms)
        return a->at_ms < b->at_ms ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int s_by_value(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return a < b ? -1 : a > b;
}

/* The case's sequence numbers, sorted, without repeats, at most
 * S_MAX_SEQS: its received events, its escalation notifications and its
 * dead letters (what range rows are matched against). Returns the count
 * (seqs holds S_MAX_SEQS). */
static size_t s_case_seqs(const s_rows_t *rows, const char *case_id, int64_t *seqs)
{
    size_t n = 0;
    for (size_t i = 0; i < rows->n && n < S_MAX_SEQS; i++) {
        const json_t *r = rows->rows[i].json;
        const char *action = json_string_value(json_object_get(r, "action"));
        const char *c = json_string_value(json_object_get(r, "case_id"));
        if (!action || !c || strcmp(c, case_id) != 0)
            continue;
        const json_t *v = NULL;
        if (strcmp(action, "received") == 0)
            v = json_object_get(r, "seq");
        else if (strcmp(action, "escalated") == 0)
            v = json_object_get(json_object_get(r, "detail"), "escalation_seq");
        else if (strcmp(action, "dead_lettered") == 0)
            v = json_object_get(json_object_get(r, "detail"), "dead_seq");
        if (json_is_integer(v))
            seqs[n++] = json_integer_value(v);
    }
    qsort(seqs, n, sizeof *seqs, s_by_value);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || seqs[kept - 1] != seqs[i])
            seqs[kept++] = seqs[i];
    return kept;
}

/* Collects the case's rows from the hub. Returns the exit code. */
static int s_remote(hubctl_t *g, const char *case_id, s_rows_t *rows)
{
    json_t *query = json_pack("{s:s, s:i}", "case_id", case_id, "limit", HUBCTL_REMOTE_MAX_ROWS), *reply = NULL;
    if (!query)
        return hubctl_fail("history: out of memory");
    int exit_code = hubctl_audit_remote(g, "history", query, &reply);
    json_decref(query);
    if (exit_code != HUBCTL_OK)
        return exit_code;
    const json_t *list = json_object_get(reply, "rows");
    for (size_t i = 0; i < json_array_size(list) && exit_code == HUBCTL_OK; i++) {
        const char *text = json_string_value(json_array_get(list, i));
        json_t *obj = text ? json_loads(text, 0, NULL) : NULL;
        hub_audit_row_t row;
        const char *hash = NULL;
        char *detail = NULL;
        if (hubctl_audit_row_from_json(obj, &row, &hash, &detail) != 0) {
            json_decref(obj);
            exit_code = hubctl_fail("history: row %zu of the hub's answer is not an audit row", i + 1);
        } else if (s_keep(rows, obj, row.detail) != 0) {
            exit_code = hubctl_fail("history: out of memory");
        }
        free(detail);
    }
    if (exit_code == HUBCTL_OK && json_is_true(json_object_get(reply, "truncated")))
        fprintf(stderr, "hubctl: history: the case has more audit rows than the hub sends (%zu); see hubctl audit "
                        "--remote --case with --since and --until\n",
                json_array_size(list));
    json_decref(reply);
    return exit_code;
}

int hubctl_cmd_history(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_JSON = 1 };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        HUBCTL_DB_OPTIONS,
        HUBCTL_REMOTE_OPTION,
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "history";
    hubctl_db_where_t where = {0};
    int as_json = 0;
    int c, stop;
    while ((c = hubctl_db_getopt(g, &where, cmd, argc, argv, options, s_help, &stop)) != -1) {
        switch (c) {
        case OPT_JSON:
            as_json = 1;
            break;
        }
    }
    if (stop >= 0)
        return stop;
    if (optind >= argc)
        return hubctl_usage_error(cmd, "missing the CASE (e.g. hubctl history CASE-1042)");
    if (optind + 1 < argc)
        return hubctl_usage_error(cmd, "unexpected argument \"%s\" (one CASE at a time)", argv[optind + 1]);
    const char *case_id = argv[optind];
    if (!*case_id)
        return hubctl_usage_error(cmd, "the CASE is empty");

    s_rows_t rows = {0};
    int exit_code = HUBCTL_OK;
    char where_text[HUBCTL_DB_PATH_MAX + 32];
    if (where.remote) {
        snprintf(where_text, sizeof where_text, "the hub at %s", g->endpoint);
        exit_code = s_remote(g, case_id, &rows);
    } else {
        static const char *const tables[] = {"audit", NULL};
        char path[HUBCTL_DB_PATH_MAX];
        sqlite3 *db = hubctl_db_open(&where, tables, path, sizeof path);
        if (!db)
            return HUBCTL_FAILED;
        snprintf(where_text, sizeof where_text, "%s", path);
        hub_audit_filter_t f = {.case_id = case_id, .limit = -1};
        char err[HUB_ERR_LEN] = "";
        if (hub_audit_read(db, &f, s_on_row, &rows, err) < 0)
            exit_code = hubctl_fail("%s: %s", path, err);
        else if (rows.failed)
            exit_code = hubctl_fail("history: out of memory");
        sqlite3_close(db);
    }
    int64_t *seqs = calloc(S_MAX_SEQS, sizeof *seqs);
    if (exit_code == HUBCTL_OK && !seqs)
        exit_code = hubctl_fail("history: out of memory");
    if (exit_code != HUBCTL_OK) {
        free(seqs);
        s_rows_free(&rows);
        return exit_code;
    }
    size_t nseqs = s_case_seqs(&rows, case_id, seqs);
    if (rows.n > 1) /* qsort wants a real array, even of nothing */
        qsort(rows.rows, rows.n, sizeof *rows.rows, s_by_time);

    for (size_t i = 0; i < rows.n && !hubctl_stop; i++) {
        if (i == 0 && !as_json)
            printf("case %s (times UTC)\n", case_id);
        if (as_json) {
            if (hubctl_print_json(rows.rows[i].json) != 0) {
                exit_code = hubctl_fail("history: cannot write to stdout");
                break;
            }
            continue;
        }
        hub_audit_row_t row;
        const char *hash = NULL;
        char *detail = NULL;
        if (hubctl_audit_row_from_json(rows.rows[i].json, &row, &hash, &detail) != 0) {
            exit_code = hubctl_fail("history: out of memory");
            break;
        }
        row.detail = rows.rows[i].detail; /* as stored, not as re-encoded */
        char when[HUB_TIME_LEN];
        hubctl_format_time(row.at_ms, when, sizeof when);
        s_out_t line = {.len = 0};
        char again[HUB_TIME_LEN + 32];
        snprintf(again, sizeof again, "\n%s  %-13s ", when, "routed");
        s_describe(&row, seqs, nseqs, again, &line);
        printf("%s  %-13s %s\n", when, hubctl_or_dash(row.action), line.text);
        free(detail);
    }
    if (exit_code == HUBCTL_OK && hubctl_stop)
        exit_code = HUBCTL_FAILED;
    else if (exit_code == HUBCTL_OK && rows.n == 0)
        exit_code = hubctl_fail("no case %s in the audit log of %s", case_id, where_text);
    if (exit_code == HUBCTL_OK && (fflush(stdout) != 0 || ferror(stdout)))
        exit_code = hubctl_fail("history: cannot write to stdout");
    free(seqs);
    s_rows_free(&rows);
    return exit_code;
}
