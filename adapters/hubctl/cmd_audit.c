/*
 * cmd_audit - hubctl audit [filters] [--json] | hubctl audit verify
 *
 * Reads the hub's audit table (read-only, see dbfile.h), or with --remote
 * asks the hub for it (an AuditQuery). Without a
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
          "                    [--since T] [--until T] [--limit N] [--json] [--data DIR | --db FILE | --remote]\n"
          "       hubctl audit verify [--data DIR | --db FILE | --remote]\n"
          "\n"
          "Lists the hub's audit log: one row for each thing that happened (received, rejected,\n"
          "routed, delivered, acked, redelivered, dead_lettered, responded, deadline_met,\n"
          "breached, escalated, policy_loaded, subscribed, detached, authenticated, denied,\n"
          "redriven, discarded), oldest first, as a table or as JSON lines. An event's\n"
          "received row names the notifications it was routed to; routed rows follow only\n"
          "for those that do not fit it. Filters combine (all must match). Deliveries and\n"
          "acknowledgements are recorded per subscriber as a range of sequence numbers; such\n"
          "a row matches --case and --event when its range covers one of the case's or\n"
          "event's events.\n"
          "\n"
          "'audit verify' recomputes the hash chain that links every row to the one before and\n"
          "prints 'ok: N rows, head HASH', or names the first row that was altered, inserted,\n"
          "moved or removed and exits 1. Rows cut off the end leave a valid but shorter\n"
          "chain: compare the head with the one hubd logs when it starts and stops.\n"
          "\n"
          "Reads the database file directly (read-only; hubd may be running or not), or with\n"
          "--remote asks the hub at --hub (with CURVE, the identity of --key needs audit: true\n"
          "in the hub's access list); the hub sends at most 10000 rows, the last that match.\n"
          "\n"
          "options:\n"
          "  --case C          rows about case C\n"
          "  --event ID        rows about event ID\n"
          "  --actor A         rows written for client identity A (\"hubd\": the hub itself)\n"
          "  --action X        rows of one action, e.g. escalated\n"
          "  --department D    rows about department (or subscriber) D, received and routed\n"
          "                    rows that name a notification to it included\n"
          "  --since T         rows at or after T: RFC 3339 (2026-11-25T10:00:00Z) or a\n"
          "                    duration ago (90s, 30m, 2h, 7d)\n"
          "  --until T         rows before T, same forms\n"
          "  --limit N         only the last N rows that match\n"
          "  --json            one JSON object per row, detail embedded as an object\n"
          "  --data DIR        hubd's data directory (default ./var/hub; the file DIR/hub.db)\n"
          "  --db FILE         a database file, e.g. a copy\n"
          "  --remote          ask the hub at --hub ($HUB_ENDPOINT) instead of reading a file\n"
          "  -h, --help        this text\n"
          "\n"
          "exit codes: 0 ok, 1 failed or the chain is broken, 2 usage\n",
          stdout);
}

/* Prints the verdict line: on stdout when the chain holds, else on
 * stderr. Returns the exit code. */
static int s_print_verdict(int broken, const char *line)
{
    if (broken) {
        fprintf(stderr, "%s\n", line);
        return HUBCTL_FAILED;
    }
    printf("%s\n", line);
    return fflush(stdout) == 0 && !ferror(stdout) ? HUBCTL_OK : hubctl_fail("audit: cannot write to stdout");
}

static int s_verify(sqlite3 *db, const char *path)
{
    hub_audit_verdict_t verdict;
    char err[HUB_ERR_LEN] = "", line[HUB_ERR_LEN + 128];
    int rc = hub_audit_verify(db, &verdict, err);
    if (rc < 0)
        return hubctl_fail("%s: %s", path, err);
    hub_audit_verdict_line(&verdict, line, sizeof line);
    return s_print_verdict(rc != 0, line);
}

/* The cells of one row of the table; each a malloc'd string. */
typedef struct {
    char *cell[S_COLUMNS];
} s_line_t;

/* A listing being printed: JSON lines at once, table lines kept until
 * every width is known. */
typedef struct {
    int as_json;      /* --json */
    s_line_t *lines;  /* the table's rows */
    size_t n, cap;    /* rows in lines, room */
    int exit_code;    /* HUBCTL_OK until something failed */
} s_list_t;

/* Fills the cells of row. Returns 0, or -1 out of memory. */
static int s_cells(const hub_audit_row_t *row, s_line_t *line)
{
    char id[24], at[HUB_TIME_LEN], seq[48];
    snprintf(id, sizeof id, "%" PRId64, row->id);
    hub_time_format(row->at_ms, at);
    if (row->seq == 0)
        snprintf(seq, sizeof seq, "-");
    else if (row->seq_to == 0 || row->seq_to == row->seq)
        snprintf(seq, sizeof seq, "%" PRId64, row->seq);
    else
        snprintf(seq, sizeof seq, "%" PRId64 "-%" PRId64, row->seq, row->seq_to);
    const char *text[S_COLUMNS] = {
        id,
        at,
        hubctl_or_dash(row->actor),
        hubctl_or_dash(row->action),
        hubctl_or_dash(row->department),
        hubctl_or_dash(row->case_id),
        hubctl_or_dash(row->event_id),
        seq,
        hubctl_or_dash(row->detail),
    };
    for (int c = 0; c < S_COLUMNS; c++) {
        line->cell[c] = strdup(text[c]);
        if (!line->cell[c])
            return -1;
    }
    return 0;
}

/* hubctl_cell_fn over the listing's lines. */
static const char *s_cell_text(void *arg, size_t row, size_t col)
{
    const s_list_t *list = arg;
    return list->lines[row].cell[col];
}

/* Takes one row: prints it as a JSON line (json_text when the hub sent
 * it so, else made here) or keeps it for the table. Returns 0, or 1 to
 * stop (list->exit_code says why). */
static int s_take(s_list_t *list, const hub_audit_row_t *row, const char *hash, const char *json_text)
{
    if (hubctl_stop) {
        list->exit_code = HUBCTL_FAILED;
        return 1;
    }
    if (list->as_json) {
        int bad;
        if (json_text) {
            bad = hubctl_print_line(json_text) != 0;
        } else {
            json_t *json = hub_audit_row_json(row, hash);
            bad = !json || hubctl_print_json(json) != 0;
            json_decref(json);
        }
        if (bad) {
            list->exit_code = hubctl_fail("audit: cannot write to stdout");
            return 1;
        }
        return 0;
    }
    if (list->n == list->cap) {
        size_t ncap = list->cap ? list->cap * 2 : 64;
        s_line_t *more = realloc(list->lines, ncap * sizeof *more);
        if (!more) {
            list->exit_code = hubctl_fail("audit: out of memory");
            return 1;
        }
        list->lines = more;
        list->cap = ncap;
    }
    memset(&list->lines[list->n], 0, sizeof list->lines[list->n]);
    if (s_cells(row, &list->lines[list->n++]) != 0) {
        list->exit_code = hubctl_fail("audit: out of memory");
        return 1;
    }
    return 0;
}

/* hub_audit_row_fn for a local listing. */
static int s_on_row(const hub_audit_row_t *row, const char *hash, void *arg)
{
    return s_take(arg, row, hash, NULL);
}

/* Prints the table (when not JSON) and frees the listing. Returns the
 * exit code. */
static int s_list_end(s_list_t *list)
{
    if (!list->as_json && list->exit_code == HUBCTL_OK) {
        if (list->n == 0) {
            fputs("no audit rows match\n", stderr);
        } else {
            if (hubctl_print_table(s_headers, S_COLUMNS, S_COLUMNS, list->n, s_cell_text, list) != 0)
                list->exit_code = hubctl_fail("audit: out of memory");
        }
        if (fflush(stdout) != 0 || ferror(stdout))
            list->exit_code = hubctl_fail("audit: cannot write to stdout");
    }
    for (size_t r = 0; r < list->n; r++)
        for (int c = 0; c < S_COLUMNS; c++)
            free(list->lines[r].cell[c]);
    free(list->lines);
    return list->exit_code;
}

/* Runs the listing on the database. Returns the exit code. */
static int s_list(sqlite3 *db, const char *path, const hub_audit_filter_t *f, int as_json)
{
    s_list_t list = {.as_json = as_json, .exit_code = HUBCTL_OK};
    char err[HUB_ERR_LEN] = "";
    if (hub_audit_read(db, f, s_on_row, &list, err) < 0 && list.exit_code == HUBCTL_OK)
        list.exit_code = hubctl_fail("%s: %s", path, err);
    return s_list_end(&list);
}

/* The AuditQuery of a listing or a verification, as JSON. NULL when out
 * of memory. */
static json_t *s_query(const hub_audit_filter_t *f, int verify)
{
    json_t *q = json_object();
    int bad = !q;
    if (q && verify)
        bad |= json_object_set_new(q, "verify", json_true());
    const char *const keys[] = {"case_id", "event_id", "actor", "action", "department"};
    const char *const values[] = {f->case_id, f->event_id, f->actor, f->action, f->department};
    for (size_t i = 0; q && i < sizeof keys / sizeof keys[0]; i++)
        if (values[i])
            bad |= json_object_set_new(q, keys[i], json_string(values[i]));
    if (q && f->has_since)
        bad |= json_object_set_new(q, "since_ms", json_integer(f->since_ms));
    if (q && f->has_until)
        bad |= json_object_set_new(q, "until_ms", json_integer(f->until_ms));
    /* no --limit: as many as the hub sends at most */
    if (q && !verify)
        bad |= json_object_set_new(q, "limit", json_integer(f->limit < 0 || f->limit > HUBCTL_REMOTE_MAX_ROWS
                                                                 ? HUBCTL_REMOTE_MAX_ROWS
                                                                 : f->limit));
    if (bad) {
        json_decref(q);
        return NULL;
    }
    return q;
}

/* audit or audit verify, asking the hub. Returns the exit code. */
static int s_remote(hubctl_t *g, const hub_audit_filter_t *f, int verify, int as_json)
{
    json_t *query = s_query(f, verify), *reply = NULL;
    if (!query)
        return hubctl_fail("audit: out of memory");
    int exit_code = hubctl_audit_remote(g, verify ? "audit verify" : "audit", query, &reply);
    json_decref(query);
    if (exit_code != HUBCTL_OK)
        return exit_code;
    if (verify) {
        const char *line = json_string_value(json_object_get(reply, "verdict"));
        json_int_t broken = json_integer_value(json_object_get(reply, "broken_at"));
        exit_code = line ? s_print_verdict(broken != 0, line) : hubctl_fail("audit verify: the hub sent no verdict");
        json_decref(reply);
        return exit_code;
    }
    s_list_t list = {.as_json = as_json, .exit_code = HUBCTL_OK};
    const json_t *rows = json_object_get(reply, "rows");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const char *text = json_string_value(json_array_get(rows, i));
        json_t *obj = text ? json_loads(text, 0, NULL) : NULL;
        hub_audit_row_t row;
        const char *hash = NULL;
        char *detail = NULL;
        int stop;
        if (hubctl_audit_row_from_json(obj, &row, &hash, &detail) != 0) {
            list.exit_code = hubctl_fail("audit: row %zu of the hub's answer is not an audit row", i + 1);
            stop = 1;
        } else {
            stop = s_take(&list, &row, hash, text);
        }
        free(detail);
        json_decref(obj);
        if (stop)
            break;
    }
    if (list.exit_code == HUBCTL_OK && json_is_true(json_object_get(reply, "truncated")))
        fprintf(stderr,
                "hubctl: audit: more rows match than the hub sent (%zu): narrow the filters, e.g. --since, "
                "--until, --limit\n",
                json_array_size(rows));
    json_decref(reply);
    return s_list_end(&list);
}

int hubctl_cmd_audit(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_CASE = 1, OPT_EVENT, OPT_ACTOR, OPT_ACTION, OPT_DEPARTMENT, OPT_SINCE, OPT_UNTIL, OPT_LIMIT, OPT_JSON };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        HUBCTL_DB_OPTIONS,
        HUBCTL_REMOTE_OPTION,
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
    hub_audit_filter_t f = {.limit = -1};
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
            if (!hub_audit_action_known(optarg))
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
            return hubctl_usage_error(cmd, "verify checks the whole chain: it takes only --data, --db or --remote");
        verify = 1;
    }
    if (f.has_since && f.has_until && f.until_ms <= f.since_ms)
        return hubctl_usage_error(cmd, "--until is not after --since: no row can match");

    if (where.remote)
        return s_remote(g, &f, verify, as_json);

    static const char *const tables[] = {"audit", NULL};
    char path[HUBCTL_DB_PATH_MAX];
    sqlite3 *db = hubctl_db_open(&where, tables, path, sizeof path);
    if (!db)
        return HUBCTL_FAILED;
    int exit_code = verify ? s_verify(db, path) : s_list(db, path, &f, as_json);
    sqlite3_close(db);
    return exit_code;
}
