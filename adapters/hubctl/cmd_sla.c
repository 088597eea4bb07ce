/*
 * cmd_sla - hubctl sla [--department D] [--since T] [--json]
 *
 * How the response-time commitments (routes with respond_within) were
 * kept, per department and route, from the hub's deadlines table: one
 * deadline per notification of such a route. Each deadline counts in
 * exactly one of:
 *   met       answered by a response from the department by its due time
 *   breached  not answered by its due time (answered later or not at all)
 *   open      not answered yet, and not yet due
 * so notifications = met + breached + open. The median and 95th percentile
 * of the time to first response (met_ms - created_ms) are taken over every
 * answered deadline, late ones with their actual time included. The median
 * of an even count is the mean of the middle two; the 95th percentile is
 * the nearest rank (the smallest time that at least 95% do not exceed).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dbfile.h"

#define S_COLUMNS 8 /* columns of the table */

static const char *const s_headers[S_COLUMNS] = {"DEPARTMENT", "ROUTE", "NOTIFICATIONS", "MET",
                                                 "BREACHED",   "OPEN",  "MEDIAN",        "P95"};

static void s_help(void)
{
    fputs("usage: hubctl sla [--department D] [--since T] [--json] [--data DIR | --db FILE]\n"
          "\n"
          "Reports how response-time commitments (routes with respond_within) were kept, per\n"
          "department and route: notifications that started a deadline, how many were met\n"
          "(answered in time), breached (not answered in time) and open (not answered, not\n"
          "yet due), and the median and 95th percentile time to the department's first\n"
          "response, over every answered one (late answers count with their actual time).\n"
          "\n"
          "Reads the database file directly (read-only; hubd may be running or not).\n"
          "\n"
          "options:\n"
          "  --department D    only department D\n"
          "  --since T         only notifications from T on: RFC 3339 (2026-11-25T10:00:00Z)\n"
          "                    or a duration ago (90s, 30m, 2h, 7d)\n"
          "  --json            one JSON object per department and route (times in ms)\n"
          "  --data DIR        hubd's data directory (default ./var/hub; the file DIR/hub.db)\n"
          "  --db FILE         a database file, e.g. a copy\n"
          "  -h, --help        this text\n"
          "\n"
          "exit codes: 0 ok, 1 failed, 2 usage\n",
          stdout);
}

/* The figures of one department and route. */
typedef struct {
    char *department; /* owned */
    char *route;      /* owned */
    int64_t notifications;
    int64_t met;
    int64_t breached;
    int64_t open;
    int64_t *times; /* ms to first response of the answered ones (owned) */
    size_t ntimes;
    size_t cap;
} s_group_t;

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Median and 95th percentile of g's times (sorted here). 0 when there are
 * none, else 1. */
static int s_percentiles(s_group_t *g, int64_t *median_p, int64_t *p95_p)
{
    size_t n = g->ntimes;
    if (n == 0)
        return 0;
    qsort(g->times, n, sizeof *g->times, s_cmp_i64);
    *median_p = n % 2 ? g->times[n / 2] : g->times[n / 2 - 1] + (g->times[n / 2] - g->times[n / 2 - 1]) / 2;
    size_t rank = (n * 95 + 99) / 100; /* ceil(0.95 n), 1-based */
    *p95_p = g->times[rank - 1];
    return 1;
}

/* Adds the current row of stmt (department, route, created, due, met,
 * breached) to groups (rows come grouped). Returns 0, or -1 out of memory. */
static int s_add_row(sqlite3_stmt *stmt, s_group_t **groups_p, size_t *n_p, size_t *cap_p, int64_t now)
{
    const char *dept = hubctl_column_or_dash(stmt, 0), *route = hubctl_column_or_dash(stmt, 1);
    s_group_t *g = *n_p ? &(*groups_p)[*n_p - 1] : NULL;
    if (!g || strcmp(g->department, dept) != 0 || strcmp(g->route, route) != 0) {
        if (*n_p == *cap_p) {
            size_t ncap = *cap_p ? *cap_p * 2 : 16;
            s_group_t *more = realloc(*groups_p, ncap * sizeof *more);
            if (!more)
                return -1;
            *groups_p = more;
            *cap_p = ncap;
        }
        g = &(*groups_p)[(*n_p)++];
        memset(g, 0, sizeof *g);
        g->department = strdup(dept);
        g->route = strdup(route);
        if (!g->department || !g->route)
            return -1;
    }
    int64_t created = sqlite3_column_int64(stmt, 2), due = sqlite3_column_int64(stmt, 3);
    int answered = sqlite3_column_type(stmt, 4) != SQLITE_NULL;
    int64_t met = sqlite3_column_int64(stmt, 4);
    int marked_breached = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
    g->notifications++;
    if (answered && met <= due)
        g->met++;
    else if (answered || marked_breached || now > due)
        g->breached++;
    else
        g->open++;
    if (answered) {
        if (g->ntimes == g->cap) {
            size_t ncap = g->cap ? g->cap * 2 : 16;
            int64_t *more = realloc(g->times, ncap * sizeof *more);
            if (!more)
                return -1;
            g->times = more;
            g->cap = ncap;
        }
        g->times[g->ntimes++] = met - created;
    }
    return 0;
}

/* hubctl_cell_fn over the rows s_print fills. */
static const char *s_cell_text(void *arg, size_t row, size_t col)
{
    char(*cells)[S_COLUMNS][128] = arg;
    return cells[row][col];
}

/* Prints the groups. Returns 0, or -1 when stdout failed. */
static int s_print(s_group_t *groups, size_t n, int as_json)
{
    char(*cells)[S_COLUMNS][128] = calloc(n ? n : 1, sizeof *cells);
    if (!cells)
        return -1;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        s_group_t *g = &groups[i];
        int64_t median = 0, p95 = 0;
        int any = s_percentiles(g, &median, &p95);
        if (as_json) {
            json_t *o = json_object();
            bad |= !o;
            if (o) {
                json_object_set_new(o, "department", json_string(g->department));
                json_object_set_new(o, "route", json_string(g->route));
                json_object_set_new(o, "notifications", json_integer(g->notifications));
                json_object_set_new(o, "met", json_integer(g->met));
                json_object_set_new(o, "breached", json_integer(g->breached));
                json_object_set_new(o, "open", json_integer(g->open));
                json_object_set_new(o, "responses", json_integer((json_int_t)g->ntimes));
                json_object_set_new(o, "median_ms", any ? json_integer(median) : json_null());
                json_object_set_new(o, "p95_ms", any ? json_integer(p95) : json_null());
                bad |= hubctl_print_json(o) != 0;
            }
            json_decref(o);
            continue;
        }
        snprintf(cells[i][0], 128, "%s", g->department);
        snprintf(cells[i][1], 128, "%s", g->route);
        snprintf(cells[i][2], 128, "%" PRId64, g->notifications);
        snprintf(cells[i][3], 128, "%" PRId64, g->met);
        snprintf(cells[i][4], 128, "%" PRId64, g->breached);
        snprintf(cells[i][5], 128, "%" PRId64, g->open);
        if (any) {
            hubctl_format_duration(median, cells[i][6], 128);
            hubctl_format_duration(p95, cells[i][7], 128);
        } else {
            snprintf(cells[i][6], 128, "-");
            snprintf(cells[i][7], 128, "-");
        }
    }
    if (!as_json) /* numbers and times align right */
        bad |= hubctl_print_table(s_headers, S_COLUMNS, 2, n, s_cell_text, cells) != 0;
    free(cells);
    return bad || fflush(stdout) != 0 || ferror(stdout) ? -1 : 0;
}

int hubctl_cmd_sla(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_DEPARTMENT = 1, OPT_SINCE, OPT_JSON };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        HUBCTL_DB_OPTIONS,
        {"department", required_argument, NULL, OPT_DEPARTMENT},
        {"since", required_argument, NULL, OPT_SINCE},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "sla";
    hubctl_db_where_t where = {0};
    const char *department = NULL;
    int as_json = 0, has_since = 0;
    int64_t now = hub_now_ms(), since = 0;
    int c, stop;
    while ((c = hubctl_db_getopt(g, &where, cmd, argc, argv, options, s_help, &stop)) != -1) {
        switch (c) {
        case OPT_DEPARTMENT:
            department = optarg;
            break;
        case OPT_SINCE:
            if (hubctl_parse_when(cmd, "--since", optarg, now, &since) != 0)
                return HUBCTL_USAGE;
            has_since = 1;
            break;
        case OPT_JSON:
            as_json = 1;
            break;
        }
    }
    if (stop >= 0)
        return stop;
    if (optind < argc)
        return hubctl_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);

    static const char *const tables[] = {"deadlines", NULL};
    char path[HUBCTL_DB_PATH_MAX];
    sqlite3 *db = hubctl_db_open(&where, tables, path, sizeof path);
    if (!db)
        return HUBCTL_FAILED;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT department, route, created_ms, due_ms, met_ms, breached_ms FROM deadlines"
                           " WHERE (?1 IS NULL OR department = ?1) AND (?2 IS NULL OR created_ms >= ?2)"
                           " ORDER BY department, route",
                           -1, &stmt, NULL) != SQLITE_OK) {
        int rc = hubctl_fail("%s: cannot read the deadlines table: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return rc;
    }
    sqlite3_bind_text(stmt, 1, department, -1, SQLITE_STATIC);
    if (has_since)
        sqlite3_bind_int64(stmt, 2, since);

    s_group_t *groups = NULL;
    size_t n = 0, cap = 0;
    int exit_code = HUBCTL_OK, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (s_add_row(stmt, &groups, &n, &cap, now) != 0) {
            exit_code = hubctl_fail("sla: out of memory");
            break;
        }
    }
    if (exit_code == HUBCTL_OK && rc != SQLITE_DONE)
        exit_code = hubctl_fail("%s: cannot read the deadlines table: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    if (exit_code == HUBCTL_OK) {
        if (n == 0)
            fprintf(stderr, "no response-time commitments%s%s%s (no notification of a route with respond_within)\n",
                    department ? " for " : "", department ? department : "", has_since ? " in that time" : "");
        else if (s_print(groups, n, as_json) != 0)
            exit_code = hubctl_fail("sla: cannot write to stdout");
    }
    for (size_t i = 0; i < n; i++) {
        free(groups[i].department);
        free(groups[i].route);
        free(groups[i].times);
    }
    free(groups);
    return exit_code;
}
