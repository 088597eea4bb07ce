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
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dbfile.h"

#define S_LINE_LEN 2048 /* bytes of one described row (cut beyond) */
#define S_MAX_SEQS 4096 /* case sequence numbers listed per range row at most */

static void s_help(void)
{
    fputs("usage: hubctl history CASE [--json] [--data DIR | --db FILE]\n"
          "\n"
          "Shows everything that happened on case CASE (e.g. CASE-1042), in time order, from\n"
          "the hub's audit log: events received, notifications routed to departments, when\n"
          "each department received and acknowledged them, redeliveries, dead letters,\n"
          "responses with their notes, deadlines met, breaches and escalations. Times are UTC.\n"
          "\n"
          "Reads the database file directly (read-only; hubd may be running or not).\n"
          "\n"
          "options:\n"
          "  --json            one JSON object per audit row (as 'hubctl audit --json')\n"
          "  --data DIR        hubd's data directory (default ./var/hub; the file DIR/hub.db)\n"
          "  --db FILE         a database file, e.g. a copy\n"
          "  -h, --help        this text\n"
          "\n"
          "exit codes: 0 ok, 1 failed or no such case, 2 usage\n",
          stdout);
}

/* The case's sequence numbers (?1: the case, ?2: how many at most). */
static const char s_seqs_sql[] =
    "WITH " HUBCTL_CASE_SEQS " SELECT s FROM case_seqs WHERE s IS NOT NULL ORDER BY s LIMIT ?2";

/* Every row about the case (?1), in time order. */
static const char s_history_sql[] =
    "WITH " HUBCTL_CASE_SEQS " SELECT " HUBCTL_AUDIT_COLUMNS " FROM audit a"
    " WHERE a.case_id = ?1"
    "  OR (a.case_id IS NULL AND a.seq IS NOT NULL"
    "   AND EXISTS (SELECT 1 FROM case_seqs WHERE s BETWEEN a.seq AND coalesce(a.seq_to, a.seq)))"
    " ORDER BY a.at_ms, a.id";

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

/* Describes the current row for people (after its time and action). */
static void s_describe(sqlite3_stmt *stmt, const int64_t *seqs, size_t nseqs, s_out_t *out)
{
    const char *action = (const char *)sqlite3_column_text(stmt, 3);
    const char *event_id = hubctl_column_or_dash(stmt, 4);
    const char *case_id = hubctl_column_or_dash(stmt, 5);
    const char *dept = hubctl_column_or_dash(stmt, 6);
    int64_t seq = sqlite3_column_int64(stmt, 7);
    int64_t seq_to = sqlite3_column_type(stmt, 8) == SQLITE_NULL ? seq : sqlite3_column_int64(stmt, 8);
    const char *detail_text = (const char *)sqlite3_column_text(stmt, 9);
    json_t *detail = detail_text ? json_loads(detail_text, 0, NULL) : NULL;
    char a[256], b[256], c[256], d[256], e[256];

    if (!action)
        action = "?";
    if (strcmp(action, "received") == 0) {
        const json_t *count = json_object_get(detail, "notifications");
        s_add(out, "%s %s (seq %" PRId64 ") from %s, event %s, %s notification%s",
              s_member(detail, "type", a, sizeof a), case_id, seq, s_member(detail, "source", b, sizeof b), event_id,
              s_member(detail, "notifications", c, sizeof c), json_integer_value(count) == 1 ? "" : "s");
    } else if (strcmp(action, "rejected") == 0) {
        s_add(out, "event %s: %s: %s", event_id, s_member(detail, "code", a, sizeof a),
              s_member(detail, "reason", b, sizeof b));
    } else if (strcmp(action, "routed") == 0) {
        s_add(out, "%-18s %s (route %s, seq %" PRId64 " slot %s)", dept, s_member(detail, "topic", a, sizeof a),
              s_member(detail, "route", b, sizeof b), seq, s_member(detail, "slot", c, sizeof c));
        if (json_object_get(detail, "respond_by"))
            s_add(out, ", respond by %s", s_member_time(detail, "respond_by", d, sizeof d));
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
    } else {
        s_add(out, "%-18s %s", dept, detail_text ? detail_text : "");
    }
    json_decref(detail);
}

/* Reads the case's sequence numbers (sorted) into *seqs_p. Returns the
 * count, or -1 after printing why. */
static int s_case_seqs(sqlite3 *db, const char *path, const char *case_id, int64_t **seqs_p)
{
    sqlite3_stmt *stmt = NULL;
    *seqs_p = NULL;
    if (sqlite3_prepare_v2(db, s_seqs_sql, -1, &stmt, NULL) != SQLITE_OK) {
        hubctl_fail("%s: cannot read the audit table: %s", path, sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(stmt, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, S_MAX_SEQS);
    int64_t *seqs = calloc(S_MAX_SEQS, sizeof *seqs);
    int n = 0;
    while (seqs && sqlite3_step(stmt) == SQLITE_ROW)
        seqs[n++] = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (!seqs) {
        hubctl_fail("history: out of memory");
        return -1;
    }
    *seqs_p = seqs;
    return n;
}

int hubctl_cmd_history(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_JSON = 1 };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        HUBCTL_DB_OPTIONS,
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

    static const char *const tables[] = {"audit", NULL};
    char path[HUBCTL_DB_PATH_MAX];
    sqlite3 *db = hubctl_db_open(&where, tables, path, sizeof path);
    if (!db)
        return HUBCTL_FAILED;

    int64_t *seqs = NULL;
    int nseqs = s_case_seqs(db, path, case_id, &seqs);
    if (nseqs < 0) {
        sqlite3_close(db);
        return HUBCTL_FAILED;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, s_history_sql, -1, &stmt, NULL) != SQLITE_OK) {
        int rc = hubctl_fail("%s: cannot read the audit table: %s", path, sqlite3_errmsg(db));
        free(seqs);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_bind_text(stmt, 1, case_id, -1, SQLITE_STATIC);

    int exit_code = HUBCTL_OK, rows = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && !hubctl_stop) {
        if (rows++ == 0 && !as_json)
            printf("case %s (times UTC)\n", case_id);
        if (as_json) {
            json_t *row = hubctl_audit_row_json(stmt);
            int bad = !row || hubctl_print_json(row) != 0;
            json_decref(row);
            if (bad) {
                exit_code = hubctl_fail("history: cannot write to stdout");
                break;
            }
            continue;
        }
        char when[HUB_TIME_LEN];
        hubctl_format_time(sqlite3_column_int64(stmt, 1), when, sizeof when);
        s_out_t line = {.len = 0};
        s_describe(stmt, seqs, (size_t)nseqs, &line);
        printf("%s  %-13s %s\n", when, hubctl_column_or_dash(stmt, 3), line.text);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        exit_code = hubctl_fail("%s: cannot read the audit table: %s", path, sqlite3_errmsg(db));
    else if (hubctl_stop)
        exit_code = HUBCTL_FAILED;
    else if (rows == 0)
        exit_code = hubctl_fail("no case %s in the audit log of %s", case_id, path);
    if (exit_code == HUBCTL_OK && (fflush(stdout) != 0 || ferror(stdout)))
        exit_code = hubctl_fail("history: cannot write to stdout");
    sqlite3_finalize(stmt);
    free(seqs);
    sqlite3_close(db);
    return exit_code;
}
