/*
 * dbfile - read-only access to the hub's database for hubctl (see dbfile.h).
 */
#include "dbfile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"

#define S_BUSY_MS 5000 /* how long to wait for a file hubd holds busy */

int hubctl_db_getopt(hubctl_t *g, hubctl_db_where_t *where, const char *cmd, int argc, char **argv,
                     const struct option *options, void (*help)(void), int *exit_p)
{
    int c;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":h", options, help, exit_p)) == HUBCTL_OPT_DATA ||
           c == HUBCTL_OPT_DB) {
        if (!*optarg) {
            *exit_p = hubctl_usage_error(cmd, "%s: the value is empty", c == HUBCTL_OPT_DATA ? "--data" : "--db");
            return -1;
        }
        if (c == HUBCTL_OPT_DATA)
            where->data_dir = optarg;
        else
            where->db_file = optarg;
    }
    return c;
}

/* The path to open: --db, else --data's (or the default's) hub.db. */
static void s_path(const hubctl_db_where_t *where, char *out, size_t outlen)
{
    if (where->db_file)
        snprintf(out, outlen, "%s", where->db_file);
    else
        snprintf(out, outlen, "%s/%s", where->data_dir ? where->data_dir : HUBCTL_DEFAULT_DATA, HUBCTL_DB_NAME);
}

/* path as an SQLite URI that opens it immutable ("file:PATH?immutable=1",
 * with %, ? and # escaped). */
static void s_uri(const char *path, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "file:");
    for (const char *p = path; *p && n + 4 < outlen; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
            n += (size_t)snprintf(out + n, outlen - n, "%%%02X", (unsigned char)*p);
        else
            out[n++] = *p;
    }
    snprintf(out + n, outlen - n, "?immutable=1");
}

/* 1 when db has a table of that name, 0 when not, -1 on error. */
static int s_has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1, &stmt, NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

sqlite3 *hubctl_db_open(const hubctl_db_where_t *where, const char *const *tables, char *path, size_t pathlen)
{
    s_path(where, path, pathlen);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            hubctl_fail("no database at %s: give --data DIR where hubd keeps its data, or --db FILE", path);
        else
            hubctl_fail("%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        hubctl_fail("%s is not a file: give --data DIR where hubd keeps its data, or --db FILE", path);
        return NULL;
    }
    /* With no -wal file beside it, no hubd has the database open: read the
     * file as it is (immutable: no locks, and no -wal or -shm file created in
     * hubd's directory, owned by whoever runs hubctl). Otherwise read it
     * through the WAL like any reader, seeing what hubd has committed. */
    char wal[4200], uri[12600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    int immutable = stat(wal, &st) != 0 && errno == ENOENT;
    if (immutable)
        s_uri(path, uri, sizeof uri);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(immutable ? uri : path, &db, SQLITE_OPEN_READONLY | (immutable ? SQLITE_OPEN_URI : 0), NULL) !=
        SQLITE_OK) {
        hubctl_fail("%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, S_BUSY_MS);
    for (const char *const *t = tables; *t; t++) {
        int has = s_has_table(db, *t);
        if (has < 0) {
            hubctl_fail("%s: cannot read it: %s", path, sqlite3_errmsg(db));
            sqlite3_close(db);
            return NULL;
        }
        if (!has) {
            hubctl_fail("%s has no %s table (not a Switchboard database, or written by an older hubd)", path, *t);
            sqlite3_close(db);
            return NULL;
        }
    }
    return db;
}

int hubctl_parse_when(const char *cmd, const char *option, const char *text, int64_t now_ms, int64_t *ms_p)
{
    if (hub_time_parse(text, ms_p) == 0)
        return 0;
    int64_t ago;
    char err[HUB_ERR_LEN];
    if (hub_duration_parse(text, &ago, err, sizeof err) == 0) {
        *ms_p = now_ms - ago;
        return 0;
    }
    return hubctl_usage_error(cmd,
                              "%s: expected an RFC 3339 time (e.g. 2026-11-25T10:00:00Z) or a duration ago "
                              "(e.g. 90s, 30m, 2h, 7d), got \"%s\"",
                              option, text);
}

void hubctl_format_duration(int64_t ms, char *out, size_t outlen)
{
    const char *sign = "";
    if (ms < 0) {
        sign = "-";
        ms = ms == INT64_MIN ? INT64_MAX : -ms;
    }
    int64_t s = ms / 1000;
    if (ms < 1000)
        snprintf(out, outlen, "%s%" PRId64 "ms", sign, ms);
    else if (s < 60)
        snprintf(out, outlen, "%s%" PRId64 ".%" PRId64 "s", sign, s, ms % 1000 / 100);
    else if (s < 3600)
        snprintf(out, outlen, "%s%" PRId64 "m %02" PRId64 "s", sign, s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, outlen, "%s%" PRId64 "h %02" PRId64 "m", sign, s / 3600, s / 60 % 60);
    else
        snprintf(out, outlen, "%s%" PRId64 "d %02" PRId64 "h", sign, s / 86400, s / 3600 % 24);
}

void hubctl_format_time(int64_t ms, char *out, size_t outlen)
{
    char rfc[HUB_TIME_LEN];
    hub_time_format(ms, rfc); /* 2026-11-25T10:00:00.123Z */
    char *t = strchr(rfc, 'T'), *z = strrchr(rfc, 'Z');
    if (t)
        *t = ' ';
    if (z)
        *z = '\0';
    snprintf(out, outlen, "%s", rfc);
}

/* Column i as a JSON string, or null. */
static json_t *s_text_or_null(sqlite3_stmt *stmt, int i)
{
    const char *text = (const char *)sqlite3_column_text(stmt, i);
    return text ? json_string(text) : json_null();
}

/* Column i as a JSON integer, or null. */
static json_t *s_int_or_null(sqlite3_stmt *stmt, int i)
{
    return sqlite3_column_type(stmt, i) == SQLITE_NULL ? json_null() : json_integer(sqlite3_column_int64(stmt, i));
}

json_t *hubctl_audit_row_json(sqlite3_stmt *stmt)
{
    json_t *row = json_object();
    if (!row)
        return NULL;
    int64_t at_ms = sqlite3_column_int64(stmt, 1);
    char at[HUB_TIME_LEN];
    hub_time_format(at_ms, at);
    const char *detail_text = (const char *)sqlite3_column_text(stmt, 9);
    json_t *detail = detail_text ? json_loads(detail_text, JSON_DECODE_ANY, NULL) : NULL;
    if (!detail)
        detail = detail_text ? json_string(detail_text) : json_null();

    int bad = json_object_set_new(row, "id", json_integer(sqlite3_column_int64(stmt, 0)));
    bad |= json_object_set_new(row, "at", json_string(at));
    bad |= json_object_set_new(row, "at_ms", json_integer(at_ms));
    bad |= json_object_set_new(row, "actor", s_text_or_null(stmt, 2));
    bad |= json_object_set_new(row, "action", s_text_or_null(stmt, 3));
    bad |= json_object_set_new(row, "event_id", s_text_or_null(stmt, 4));
    bad |= json_object_set_new(row, "case_id", s_text_or_null(stmt, 5));
    bad |= json_object_set_new(row, "department", s_text_or_null(stmt, 6));
    bad |= json_object_set_new(row, "seq", s_int_or_null(stmt, 7));
    bad |= json_object_set_new(row, "seq_to", s_int_or_null(stmt, 8));
    bad |= json_object_set_new(row, "detail", detail);
    bad |= json_object_set_new(row, "hash", s_text_or_null(stmt, 10));
    if (bad) {
        json_decref(row);
        return NULL;
    }
    return row;
}

const char *hubctl_column_or_dash(sqlite3_stmt *stmt, int i)
{
    const char *text = (const char *)sqlite3_column_text(stmt, i);
    return text && *text ? text : "-";
}

int hubctl_print_json(const json_t *value)
{
    char *line = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!line)
        return -1;
    int rc = hubctl_print_line(line);
    free(line);
    return rc == 0 ? 0 : -1;
}
