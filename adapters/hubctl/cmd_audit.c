/*
 * cmd_audit - hubctl audit [filters] [--json] | hubctl audit verify
 *
 * Reads the hub's audit table (read-only, see dbfile.h). Without a
 * subcommand it lists the rows that pass every filter given, in id order,
 * as an aligned table or as JSON lines. Range rows (delivered, acked,
 * redelivered: one per subscriber per commit, without a case or event id)
 * pass --case / --event when their seq range covers one of that case's or
 * event's sequence numbers, so that "who received case C, and when" is
 * answered by the same filter as everything else about C.
 *
 * "audit verify" recomputes the hash chain (hub_audit_verify) and prints
 * "ok: N rows, head HASH", or "audit chain broken at row N: why" on stderr
 * and exits 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "dbfile.h"

#define S_COLUMNS 9 /* columns of the table */

static const char *const s_headers[S_COLUMNS] = {"ID",   "TIME",  "ACTOR", "ACTION", "DEPARTMENT",
                                                 "CASE", "EVENT", "SEQ",   "DETAIL"};

static void s_help(void)
{
    fputs("usage: hubctl audit [--case C] [--event ID] [--actor A] [--action X] [--department D]\n"
          "                    [--since T] [--until T] [--limit N] [--json] [--data DIR | --db FILE]\n"
          "       hubctl audit verify [--data DIR | --db FILE]\n"
          "\n"
          "Lists the hub's audit log: one row for each thing that happened (received, rejected,\n"
          "routed, delivered, acked, redelivered, dead_lettered, responded, deadline_met,\n"
          "breached, escalated, policy_loaded, subscribed, detached, authenticated, denied),\n"
          "oldest first, as a table "
          "or as JSON lines. Filters combine (all must match). Deliveries and acknowledgements\n"
          "are recorded per subscriber as a range of sequence numbers; such a row matches\n"
          "--case and --event when its range covers one of the case's or event's events.\n"
          "\n"
          "'audit verify' recomputes the hash chain that links every row to the one before and\n"
          "prints 'ok: N rows, head HASH', or names the first row that was altered, inserted,\n"
          "moved or removed and exits 1. Rows cut off the end leave a valid but shorter\n"
          "chain: compare the head with the one hubd logs when it starts and stops.\n"
          "\n"
          "Reads the database file directly (read-only; hubd may be running or not).\n"
          "\n"
          "options:\n"
          "  --case C          rows about case C\n"
          "  --event ID        rows about event ID\n"
          "  --actor A         rows written for client identity A (\"hubd\": the hub itself)\n"
          "  --action X        rows of one action, e.g. routed\n"
          "  --department D    rows about department (or subscriber) D\n"
          "  --since T         rows at or after T: RFC 3339 (2026-11-25T10:00:00Z) or a\n"
          "                    duration ago (90s, 30m, 2h, 7d)\n"
          "  --until T         rows before T, same forms\n"
          "  --limit N         only the last N rows that match\n"
          "  --json            one JSON object per row, detail embedded as an object\n"
          "  --data DIR        hubd's data directory (default ./var/hub; the file DIR/hub.db)\n"
          "  --db FILE         a database file, e.g. a copy\n"
          "  -h, --help        this text\n"
          "\n"
          "exit codes: 0 ok, 1 failed or the chain is broken, 2 usage\n",
          stdout);
}

/* 1 when action is one of HUB_AUDIT_ACTIONS. */
static int s_known_action(const char *action)
{
    size_t n = strlen(action);
    const char *p = HUB_AUDIT_ACTIONS;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, action, n) == 0)
            return 1;
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

static int s_verify(sqlite3 *db, const char *path)
{
    hub_audit_verdict_t verdict;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_audit_verify(db, &verdict, err);
    if (rc < 0)
        return hubctl_fail("%s: %s", path, err);
    if (rc == 0) {
        printf("ok: %" PRId64 " row%s, head %s\n", verdict.rows, verdict.rows == 1 ? "" : "s", verdict.head);
        return fflush(stdout) == 0 && !ferror(stdout) ? HUBCTL_OK : hubctl_fail("audit: cannot write to stdout");
    }
    /* verdict.what starts with "row N: why" or "row N is why": say it once */
    char prefix[40];
    int n = snprintf(prefix, sizeof prefix, "row %" PRId64, verdict.bad_id);
    const char *why = verdict.what;
    if (strncmp(why, prefix, (size_t)n) == 0) {
        why += n;
        if (strncmp(why, ": ", 2) == 0)
            why += 2;
        else if (strncmp(why, " is ", 4) == 0)
            why += 4;
    }
    fprintf(stderr, "audit chain broken at row %" PRId64 ": %s\n", verdict.bad_id, why);
    return HUBCTL_FAILED;
}

/* The filters of a listing. */
typedef struct {
    const char *case_id;    /* --case */
    const char *event_id;   /* --event */
    const char *actor;      /* --actor */
    const char *action;     /* --action */
    const char *department; /* --department */
    int has_since;          /* --since given */
    int64_t since_ms;       /* rows at or after */
    int has_until;          /* --until given */
    int64_t until_ms;       /* rows before */
    int64_t limit;          /* --limit, -1 for none */
} s_filter_t;

static const char s_list_sql[] =
    "WITH " HUBCTL_CASE_SEQS ","
    " event_seqs(s) AS (SELECT seq FROM audit WHERE event_id = ?2 AND action = 'received' AND seq IS NOT NULL)"
    " SELECT " HUBCTL_AUDIT_COLUMNS " FROM ("
    "  SELECT * FROM audit a WHERE"
    "   (?1 IS NULL OR a.case_id = ?1 OR (a.case_id IS NULL AND a.seq IS NOT NULL AND EXISTS"
    "     (SELECT 1 FROM case_seqs WHERE s BETWEEN a.seq AND coalesce(a.seq_to, a.seq))))"
    "   AND (?2 IS NULL OR a.event_id = ?2 OR (a.event_id IS NULL AND a.seq IS NOT NULL AND EXISTS"
    "     (SELECT 1 FROM event_seqs WHERE s BETWEEN a.seq AND coalesce(a.seq_to, a.seq))))"
    "   AND (?3 IS NULL OR a.actor = ?3)"
    "   AND (?4 IS NULL OR a.action = ?4)"
    "   AND (?5 IS NULL OR a.department = ?5)"
    "   AND (?6 IS NULL OR a.at_ms >= ?6)"
    "   AND (?7 IS NULL OR a.at_ms < ?7)"
    "  ORDER BY a.id DESC LIMIT ?8)"
    " ORDER BY id";

/* The cells of one row of the table; each a malloc'd string. */
typedef struct {
    char *cell[S_COLUMNS];
} s_line_t;

/* Fills the cells of the current row. Returns 0, or -1 out of memory. */
static int s_cells(sqlite3_stmt *stmt, s_line_t *line)
{
    char id[24], at[HUB_TIME_LEN], seq[48];
    snprintf(id, sizeof id, "%" PRId64, (int64_t)sqlite3_column_int64(stmt, 0));
    hub_time_format(sqlite3_column_int64(stmt, 1), at);
    int64_t from = sqlite3_column_int64(stmt, 7), to = sqlite3_column_int64(stmt, 8);
    if (sqlite3_column_type(stmt, 7) == SQLITE_NULL)
        snprintf(seq, sizeof seq, "-");
    else if (sqlite3_column_type(stmt, 8) == SQLITE_NULL || to == from)
        snprintf(seq, sizeof seq, "%" PRId64, from);
    else
        snprintf(seq, sizeof seq, "%" PRId64 "-%" PRId64, from, to);
    const char *text[S_COLUMNS] = {
        id,
        at,
        hubctl_column_or_dash(stmt, 2),
        hubctl_column_or_dash(stmt, 3),
        hubctl_column_or_dash(stmt, 6),
        hubctl_column_or_dash(stmt, 5),
        hubctl_column_or_dash(stmt, 4),
        seq,
        hubctl_column_or_dash(stmt, 9),
    };
    for (int c = 0; c < S_COLUMNS; c++) {
        line->cell[c] = strdup(text[c]);
        if (!line->cell[c])
            return -1;
    }
    return 0;
}

static void s_print_cell(int c, size_t width, const char *text)
{
    if (c + 1 < S_COLUMNS)
        printf("%-*s  ", (int)width, text);
    else
        printf("%s\n", text);
}

/* Runs the listing. Returns the exit code. */
static int s_list(sqlite3 *db, const char *path, const s_filter_t *f, int as_json)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, s_list_sql, -1, &stmt, NULL) != SQLITE_OK)
        return hubctl_fail("%s: cannot read the audit table: %s", path, sqlite3_errmsg(db));
    sqlite3_bind_text(stmt, 1, f->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, f->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, f->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, f->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, f->department, -1, SQLITE_STATIC);
    if (f->has_since)
        sqlite3_bind_int64(stmt, 6, f->since_ms);
    if (f->has_until)
        sqlite3_bind_int64(stmt, 7, f->until_ms);
    sqlite3_bind_int64(stmt, 8, f->limit);

    int exit_code = HUBCTL_OK;
    s_line_t *lines = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (hubctl_stop) {
            exit_code = HUBCTL_FAILED;
            break;
        }
        if (as_json) {
            json_t *row = hubctl_audit_row_json(stmt);
            int bad = !row || hubctl_print_json(row) != 0;
            json_decref(row);
            if (bad) {
                exit_code = hubctl_fail("audit: cannot write to stdout");
                break;
            }
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            s_line_t *more = realloc(lines, ncap * sizeof *lines);
            if (!more) {
                exit_code = hubctl_fail("audit: out of memory");
                break;
            }
            lines = more;
            cap = ncap;
        }
        memset(&lines[n], 0, sizeof lines[n]);
        if (s_cells(stmt, &lines[n++]) != 0) {
            exit_code = hubctl_fail("audit: out of memory");
            break;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        exit_code = hubctl_fail("%s: cannot read the audit table: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);

    if (!as_json && exit_code == HUBCTL_OK) {
        if (n == 0) {
            fputs("no audit rows match\n", stderr);
        } else {
            size_t width[S_COLUMNS];
            for (int c = 0; c < S_COLUMNS; c++)
                width[c] = strlen(s_headers[c]);
            for (size_t r = 0; r < n; r++)
                for (int c = 0; c < S_COLUMNS; c++)
                    if (strlen(lines[r].cell[c]) > width[c])
                        width[c] = strlen(lines[r].cell[c]);
            for (int c = 0; c < S_COLUMNS; c++)
                s_print_cell(c, width[c], s_headers[c]);
            for (size_t r = 0; r < n; r++)
                for (int c = 0; c < S_COLUMNS; c++)
                    s_print_cell(c, width[c], lines[r].cell[c]);
        }
        if (fflush(stdout) != 0 || ferror(stdout))
            exit_code = hubctl_fail("audit: cannot write to stdout");
    }
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < S_COLUMNS; c++)
            free(lines[r].cell[c]);
    free(lines);
    return exit_code;
}

int hubctl_cmd_audit(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_CASE = 1, OPT_EVENT, OPT_ACTOR, OPT_ACTION, OPT_DEPARTMENT, OPT_SINCE, OPT_UNTIL, OPT_LIMIT, OPT_JSON };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        HUBCTL_DB_OPTIONS,
        {"case", required_argument, NULL, OPT_CASE},
        {"event", required_argument, NULL, OPT_EVENT},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"action", required_argument, NULL, OPT_ACTION},
        {"department", required_argument, NULL, OPT_DEPARTMENT},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "audit";
    hubctl_db_where_t where = {0};
    s_filter_t f = {.limit = -1};
    int as_json = 0, filters = 0;
    int64_t now = hub_now_ms();
    int c, stop;
    while ((c = hubctl_db_getopt(g, &where, cmd, argc, argv, options, s_help, &stop)) != -1) {
        switch (c) {
        case OPT_CASE:
            f.case_id = optarg;
            filters++;
            break;
        case OPT_EVENT:
            f.event_id = optarg;
            filters++;
            break;
        case OPT_ACTOR:
            f.actor = optarg;
            filters++;
            break;
        case OPT_ACTION:
            if (!s_known_action(optarg))
                return hubctl_usage_error(cmd, "--action: unknown action \"%s\" (one of: %s)", optarg,
                                          HUB_AUDIT_ACTIONS);
            f.action = optarg;
            filters++;
            break;
        case OPT_DEPARTMENT:
            f.department = optarg;
            filters++;
            break;
        case OPT_SINCE:
            if (hubctl_parse_when(cmd, "--since", optarg, now, &f.since_ms) != 0)
                return HUBCTL_USAGE;
            f.has_since = 1;
            filters++;
            break;
        case OPT_UNTIL:
            if (hubctl_parse_when(cmd, "--until", optarg, now, &f.until_ms) != 0)
                return HUBCTL_USAGE;
            f.has_until = 1;
            filters++;
            break;
        case OPT_LIMIT: {
            uint64_t limit;
            if (hubctl_parse_u64(optarg, 1, INT64_MAX, &limit) != 0)
                return hubctl_usage_error(cmd, "--limit: expected a whole number of rows from 1, got \"%s\"", optarg);
            f.limit = (int64_t)limit;
            filters++;
            break;
        }
        case OPT_JSON:
            as_json = 1;
            filters++;
            break;
        }
    }
    if (stop >= 0)
        return stop;
    int verify = 0;
    if (optind < argc) {
        if (strcmp(argv[optind], "verify") != 0)
            return hubctl_usage_error(cmd, "unexpected argument \"%s\" (the only subcommand is: verify)", argv[optind]);
        if (optind + 1 < argc)
            return hubctl_usage_error(cmd, "verify: unexpected argument \"%s\"", argv[optind + 1]);
        if (filters)
            return hubctl_usage_error(cmd, "verify checks the whole chain: it takes only --data or --db");
        verify = 1;
    }
    if (f.has_since && f.has_until && f.until_ms <= f.since_ms)
        return hubctl_usage_error(cmd, "--until is not after --since: no row can match");

    static const char *const tables[] = {"audit", NULL};
    char path[HUBCTL_DB_PATH_MAX];
    sqlite3 *db = hubctl_db_open(&where, tables, path, sizeof path);
    if (!db)
        return HUBCTL_FAILED;
    int exit_code = verify ? s_verify(db, path) : s_list(db, path, &f, as_json);
    sqlite3_close(db);
    return exit_code;
}
