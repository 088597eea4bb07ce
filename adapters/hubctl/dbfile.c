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
#include "store.h"

#define S_BUSY_MS 5000 /* how long to wait for a file hubd holds busy */

int hubctl_db_getopt(hubctl_t *g, hubctl_db_where_t *where, const char *cmd, int argc, char **argv,
                     const struct option *options, void (*help)(void), int *exit_p)
{
    int c;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":h", options, help, exit_p)) == HUBCTL_OPT_DATA ||
           c == HUBCTL_OPT_DB || c == HUBCTL_OPT_REMOTE) {
        if (c == HUBCTL_OPT_REMOTE) {
            where->remote = 1;
            continue;
        }
        if (!*optarg) {
            *exit_p = hubctl_usage_error(cmd, "%s: the value is empty", c == HUBCTL_OPT_DATA ? "--data" : "--db");
            return -1;
        }
        if (c == HUBCTL_OPT_DATA)
            where->data_dir = optarg;
        else
            where->db_file = optarg;
    }
    if (c == -1 && *exit_p < 0 && where->remote && (where->data_dir || where->db_file)) {
        *exit_p = hubctl_usage_error(cmd, "--remote asks the hub: it takes no %s", where->db_file ? "--db" : "--data");
        return -1;
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

/* The schema the database is marked with (PRAGMA user_version; 0 when
 * unmarked or unreadable: the table checks then speak). */
static int s_schema(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    int schema = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        schema = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return schema;
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
    int schema = s_schema(db);
    if (schema > HUB_SCHEMA_VERSION) {
        hubctl_fail("%s has schema %d, newer than this hubctl reads (%d): use the hubctl of the hubd that wrote it",
                    path, schema, HUB_SCHEMA_VERSION);
        sqlite3_close(db);
        return NULL;
    }
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

int hubctl_audit_remote(const hubctl_t *g, const char *what, const json_t *query, json_t **reply_p)
{
    *reply_p = NULL;
    char *text = json_dumps(query, JSON_COMPACT);
    if (!text)
        return hubctl_fail("%s: out of memory", what);
    hub_client_t *client = hubctl_client_new(g);
    if (!client) {
        free(text);
        return HUBCTL_FAILED;
    }
    char err[HUB_ERR_LEN] = "";
    char *answer = NULL;
    int rc = hub_audit_query(client, text, &answer, g->timeout_ms, err);
    free(text);
    hub_client_destroy(&client);
    if (rc < 0) /* err says "audit: <the hub's words>": what says the first part */
        return hubctl_call_failed(g, what, rc, strncmp(err, "audit: ", 7) == 0 ? err + 7 : err);
    json_error_t jerr;
    json_t *reply = json_loads(answer, 0, &jerr);
    free(answer);
    const json_t *rows = json_object_get(reply, "rows"); /* absent when none */
    if (!json_is_object(reply) || (rows && !json_is_array(rows))) {
        json_decref(reply);
        return hubctl_fail("%s: the hub's answer is not an audit reply", what);
    }
    *reply_p = reply;
    return HUBCTL_OK;
}

/* A member of obj as text: a string's value, NULL when null or absent.
 * Returns 0, or -1 when it is something else. */
static int s_member_text(const json_t *obj, const char *key, const char **text_p)
{
    const json_t *v = json_object_get(obj, key);
    *text_p = json_string_value(v);
    return !v || json_is_null(v) || json_is_string(v) ? 0 : -1;
}

/* A member of obj as a number: 0 when null or absent. Returns 0 or -1. */
static int s_member_int(const json_t *obj, const char *key, int64_t *value_p)
{
    const json_t *v = json_object_get(obj, key);
    *value_p = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
    return !v || json_is_null(v) || json_is_integer(v) ? 0 : -1;
}

int hubctl_audit_row_from_json(const json_t *obj, hub_audit_row_t *row, const char **hash_p, char **detail_p)
{
    memset(row, 0, sizeof *row);
    *detail_p = NULL;
    if (!json_is_object(obj) || s_member_int(obj, "id", &row->id) != 0 ||
        s_member_int(obj, "at_ms", &row->at_ms) != 0 || s_member_text(obj, "actor", &row->actor) != 0 ||
        s_member_text(obj, "action", &row->action) != 0 || s_member_text(obj, "event_id", &row->event_id) != 0 ||
        s_member_text(obj, "case_id", &row->case_id) != 0 ||
        s_member_text(obj, "department", &row->department) != 0 || s_member_int(obj, "seq", &row->seq) != 0 ||
        s_member_int(obj, "seq_to", &row->seq_to) != 0 || s_member_text(obj, "hash", hash_p) != 0)
        return -1;
    const json_t *detail = json_object_get(obj, "detail");
    if (json_is_string(detail)) {
        row->detail = json_string_value(detail); /* the stored text was not JSON */
    } else if (detail && !json_is_null(detail)) {
        *detail_p = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (!*detail_p)
            return -1;
        row->detail = *detail_p;
    }
    return 0;
}

const char *hubctl_or_dash(const char *text)
{
    return text && *text ? text : "-";
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
