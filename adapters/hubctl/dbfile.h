/*
 * dbfile.h - what the hubctl commands that read the hub's database share:
 * audit, history and sla. They need no running hub: they open the SQLite
 * file read-only (WAL lets them read while hubd writes), found by --data
 * DIR (the hub's data directory, file DIR/hub.db) or --db FILE (any copy).
 * audit and history also read over the wire with --remote: they ask the
 * hub at --hub (an AuditQuery, hub_audit_query) instead of opening a file.
 *
 * Rules these commands keep (besides those of hubctl.h):
 *   1. The database is never written: opened with SQLITE_OPEN_READONLY.
 *   2. A missing file is named with what to do about it, never created.
 *   3. Times are printed in UTC; --since and --until take RFC 3339 or a
 *      duration back from now ("2h" = two hours ago).
 */
#ifndef HUBCTL_DBFILE_H_INCLUDED
#define HUBCTL_DBFILE_H_INCLUDED

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "hubctl.h"

#define HUBCTL_DEFAULT_DATA "./var/hub" /* --data when neither --data nor --db */
#define HUBCTL_DB_NAME "hub.db"         /* the database file in the data directory */

int hubctl_cmd_audit(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_history(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_sla(hubctl_t *g, int argc, char **argv);

/* getopt values of --data, --db and --remote; commands list
 * HUBCTL_DB_OPTIONS (and HUBCTL_REMOTE_OPTION when they can ask the hub). */
enum {
    HUBCTL_OPT_DATA = 1100,
    HUBCTL_OPT_DB,
    HUBCTL_OPT_REMOTE,
};

#define HUBCTL_REMOTE_OPTION                                                                                           \
    {                                                                                                                  \
        "remote", no_argument, NULL, HUBCTL_OPT_REMOTE                                                                 \
    }

#define HUBCTL_DB_OPTIONS                                                                                              \
    {"data", required_argument, NULL, HUBCTL_OPT_DATA},                                                                \
    {                                                                                                                  \
        "db", required_argument, NULL, HUBCTL_OPT_DB                                                                   \
    }

/* Where to find the database: the values of --data and --db, or --remote. */
typedef struct {
    const char *data_dir; /* --data, or NULL */
    const char *db_file;  /* --db, or NULL (wins over --data) */
    int remote;           /* --remote: ask the hub at --hub instead */
} hubctl_db_where_t;

/* hubctl_getopt for a command that reads the database: also handles
 * --data and --db (HUBCTL_DB_OPTIONS) and --remote (HUBCTL_REMOTE_OPTION)
 * into where; an empty value, or --remote with --data or --db, is a usage
 * error. Returns as hubctl_getopt does. */
int hubctl_db_getopt(hubctl_t *g, hubctl_db_where_t *where, const char *cmd, int argc, char **argv,
                     const struct option *options, void (*help)(void), int *exit_p);

/* Opens the database read-only and checks that it holds every table of
 * the NULL-terminated list tables; the path opened goes into path (for
 * messages). Returns the handle (close it with sqlite3_close), or NULL
 * after printing why: "no database at PATH: give --data DIR where hubd
 * keeps its data, or --db FILE", not a database, or a table missing. Does
 * not block on hubd (a busy file is waited on for a few seconds). */
sqlite3 *hubctl_db_open(const hubctl_db_where_t *where, const char *const *tables, char *path, size_t pathlen);

#define HUBCTL_REMOTE_MAX_ROWS 10000 /* rows the hub sends for one AuditQuery at most */
#define HUBCTL_DB_PATH_MAX 4096 /* bytes of a database path kept for messages */

/* Parses a --since / --until value: RFC 3339 ("2026-11-25T10:00:00Z") or a
 * duration back from now_ms ("90s", "30m", "2h", "1d"). Returns 0, or
 * HUBCTL_USAGE after printing a usage error naming option. */
int hubctl_parse_when(const char *cmd, const char *option, const char *text, int64_t now_ms, int64_t *ms_p);

/* Formats ms as a short human duration: "850ms", "42.5s", "5m 06s",
 * "1h 02m", "2d 03h"; a negative one with a leading "-". */
void hubctl_format_duration(int64_t ms, char *out, size_t outlen);

/* Formats ms since the epoch for people: "2026-11-25 10:00:00.123" (UTC). */
void hubctl_format_time(int64_t ms, char *out, size_t outlen);

/* Asks the hub at g's endpoint for an AuditQuery (query: a JSON object of
 * its fields) and sets *reply_p to the AuditReply (a new reference).
 * Returns HUBCTL_OK, or the exit code after printing why: a refusal
 * (DENIED: the hub's words) HUBCTL_FAILED, no answer HUBCTL_TIMEOUT. what
 * names the command in messages. */
int hubctl_audit_remote(const hubctl_t *g, const char *what, const json_t *query, json_t **reply_p);

/* An audit row of a reply (a JSON object as hubctl audit --json prints)
 * as a hub_audit_row_t: strings point into obj, except the detail, which
 * is its text (an object's compact JSON, put in *detail_p: free() it).
 * Returns 0, or -1 when obj is not such an object or out of memory. */
int hubctl_audit_row_from_json(const json_t *obj, hub_audit_row_t *row, const char **hash_p, char **detail_p);

/* text, or "-" when NULL or empty. */
const char *hubctl_or_dash(const char *text);

/* Column i of stmt as text, or "-" when NULL or empty. */
const char *hubctl_column_or_dash(sqlite3_stmt *stmt, int i);

/* Prints value as one compact JSON line (keys in insertion order) on
 * stdout. Returns 0, or -1 when stdout failed or out of memory. */
int hubctl_print_json(const json_t *value);

#endif
