/*
 * audit - see audit.h for the table and the rules of its chain.
 *
 * Canonical text of a row (what the hash covers, after the previous hash
 * and a '\n'): the columns id, at_ms, actor, action, event_id, case_id,
 * department, seq, seq_to, detail, in that order, separated by US (0x1f).
 * Numbers are written in decimal; NULL is written as RS (0x1e), so that
 * NULL and "" differ; inside text, the bytes ESC (0x1b), RS and US are
 * written as ESC followed by the byte, so that no text can pass for a
 * separator or a NULL and every row has exactly one canonical text.
 *
 * Verification reads each stored value with its SQLite type: a value whose
 * type is not the one the hub writes (text where a number belongs, a NUL
 * byte inside text, a seq of 0 rather than NULL) cannot be what was hashed,
 * and counts as altered. A hash is read as the 32 bytes the hub writes or
 * as the 64 hex digits of text that it wrote before.
 *
 * Verification stops at the first row that does not fit: verdict->rows and
 * verdict->head then describe the rows before it, the part of the chain
 * that still holds.
 */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "clock.h"

#define S_US 0x1f  /* unit separator: between columns */
#define S_RS 0x1e  /* record separator: a NULL value */
#define S_ESC 0x1b /* escapes US, RS and itself inside text */

/* The chain's starting point: the "previous hash" of row 1. */
static const char s_zero_hash[HUB_SHA256_HEX_LEN] = "0000000000000000000000000000000000000000000000000000000000000000";

const char hub_audit_schema[] = "CREATE TABLE IF NOT EXISTS audit(\n"
                                "  id INTEGER PRIMARY KEY,\n"
                                "  at_ms INTEGER NOT NULL,\n"
                                "  actor TEXT NOT NULL,\n"
                                "  action TEXT NOT NULL,\n"
                                "  event_id TEXT,\n"
                                "  case_id TEXT,\n"
                                "  department TEXT,\n"
                                "  seq INTEGER,\n"
                                "  seq_to INTEGER,\n"
                                "  detail TEXT NOT NULL,\n"
                                "  hash BLOB NOT NULL);\n"
                                /* one small index: every row written costs a b-tree insert
                                 * per index that holds it, several rows per event. A case's
                                 * history starts from the sequence numbers of its received,
                                 * escalated and dead-lettered rows (s_query_sql names those
                                 * actions literally, so that the planner may use it); only
                                 * those rows are in it, about one per event. Other filters
                                 * scan. audit_case, which held every row with a case id, is
                                 * dropped from databases that have it. */
                                "CREATE INDEX IF NOT EXISTS audit_case_seqs ON audit(case_id)"
                                " WHERE action = 'received' OR action = 'escalated' OR action = 'dead_lettered';\n"
                                "DROP INDEX IF EXISTS audit_case;\n";

/* The canonical text on its way into the hash: gathered in a buffer and
 * fed to SHA-256 in large pieces, since a row is a score of short values
 * and the chain hashes several rows per event. */
typedef struct {
    hub_sha256_ctx_t ctx;
    size_t used;        /* bytes waiting in buf */
    uint8_t buf[1024];
} s_sink_t;

static void s_put(s_sink_t *sink, const void *data, size_t len)
{
    if (sink->used + len > sizeof sink->buf) {
        hub_sha256_update(&sink->ctx, sink->buf, sink->used);
        sink->used = 0;
        if (len > sizeof sink->buf) {
            hub_sha256_update(&sink->ctx, data, len);
            return;
        }
    }
    memcpy(sink->buf + sink->used, data, len);
    sink->used += len;
}

static void s_put_byte(s_sink_t *sink, uint8_t byte)
{
    if (sink->used == sizeof sink->buf) {
        hub_sha256_update(&sink->ctx, sink->buf, sink->used);
        sink->used = 0;
    }
    sink->buf[sink->used++] = byte;
}

/* Feeds a number in decimal. */
static void s_put_int(s_sink_t *sink, int64_t value)
{
    char text[HUB_I64_TEXT];
    const char *digits = hub_i64_text(value, text);
    s_put(sink, digits, (size_t)(text + HUB_I64_TEXT - 1 - digits));
}

/* Feeds a text value (NULL as RS), escaping ESC, RS and US. */
static void s_put_text(s_sink_t *sink, const char *text)
{
    static const char specials[] = {S_ESC, S_RS, S_US, '\0'};
    if (!text) {
        s_put_byte(sink, S_RS);
        return;
    }
    for (;;) {
        size_t run = strcspn(text, specials);
        s_put(sink, text, run);
        if (!text[run])
            return;
        s_put_byte(sink, S_ESC);
        s_put_byte(sink, (uint8_t)text[run]);
        text += run + 1;
    }
}

/* Feeds a seq (0 = none, as NULL). */
static void s_put_seq(s_sink_t *sink, int64_t seq)
{
    if (seq == 0)
        s_put_byte(sink, S_RS);
    else
        s_put_int(sink, seq);
}

static void s_put_sep(s_sink_t *sink)
{
    s_put_byte(sink, S_US);
}

void hub_audit_hash(const char *prev_hex, const hub_audit_row_t *row, char out[HUB_SHA256_HEX_LEN])
{
    uint8_t digest[HUB_SHA256_LEN];
    hub_audit_digest(prev_hex, row, digest, out);
}

void hub_audit_digest(const char *prev_hex, const hub_audit_row_t *row, uint8_t digest[HUB_SHA256_LEN],
                      char hex[HUB_SHA256_HEX_LEN])
{
    s_sink_t sink;
    hub_sha256_init(&sink.ctx);
    sink.used = 0;
    const char *prev = prev_hex && *prev_hex ? prev_hex : s_zero_hash;
    s_put(&sink, prev, strlen(prev));
    s_put_byte(&sink, '\n');

    s_put_int(&sink, row->id);
    s_put_sep(&sink);
    s_put_int(&sink, row->at_ms);
    s_put_sep(&sink);
    s_put_text(&sink, row->actor);
    s_put_sep(&sink);
    s_put_text(&sink, row->action);
    s_put_sep(&sink);
    s_put_text(&sink, row->event_id);
    s_put_sep(&sink);
    s_put_text(&sink, row->case_id);
    s_put_sep(&sink);
    s_put_text(&sink, row->department);
    s_put_sep(&sink);
    s_put_seq(&sink, row->seq);
    s_put_sep(&sink);
    s_put_seq(&sink, row->seq_to);
    s_put_sep(&sink);
    s_put_text(&sink, row->detail);

    hub_sha256_update(&sink.ctx, sink.buf, sink.used);
    hub_sha256_final(&sink.ctx, digest);
    if (hex)
        hub_hex(digest, HUB_SHA256_LEN, hex);
}

int hub_audit_stored_hash(sqlite3_stmt *stmt, int col, char hex[HUB_SHA256_HEX_LEN])
{
    hex[0] = '\0';
    int type = sqlite3_column_type(stmt, col);
    if (type == SQLITE_BLOB) {
        const void *bytes = sqlite3_column_blob(stmt, col);
        if (sqlite3_column_bytes(stmt, col) != HUB_SHA256_LEN || !bytes)
            return -1;
        hub_hex(bytes, HUB_SHA256_LEN, hex);
        return 0;
    }
    if (type != SQLITE_TEXT)
        return -1;
    const char *text = (const char *)sqlite3_column_text(stmt, col);
    if (!text || sqlite3_column_bytes(stmt, col) != HUB_SHA256_HEX_LEN - 1 || strlen(text) != HUB_SHA256_HEX_LEN - 1)
        return -1;
    memcpy(hex, text, HUB_SHA256_HEX_LEN);
    return 0;
}

/* Column i of the current row as text: 0 and *text_p (NULL for a NULL
 * value when nullable), or -1 when the stored value cannot be what the hub
 * wrote (not text, or text holding a NUL byte). */
static int s_column_text(sqlite3_stmt *stmt, int i, int nullable, const char **text_p)
{
    int type = sqlite3_column_type(stmt, i);
    if (type == SQLITE_NULL && nullable) {
        *text_p = NULL;
        return 0;
    }
    if (type != SQLITE_TEXT)
        return -1;
    const char *text = (const char *)sqlite3_column_text(stmt, i);
    if (!text || (size_t)sqlite3_column_bytes(stmt, i) != strlen(text))
        return -1;
    *text_p = text;
    return 0;
}

/* Column i as a number: 0 and *value_p, or -1 when it is not an integer
 * (for a seq, NULL reads as 0 and a stored 0 is refused). */
static int s_column_int(sqlite3_stmt *stmt, int i, int is_seq, int64_t *value_p)
{
    int type = sqlite3_column_type(stmt, i);
    if (is_seq && type == SQLITE_NULL) {
        *value_p = 0;
        return 0;
    }
    if (type != SQLITE_INTEGER)
        return -1;
    *value_p = sqlite3_column_int64(stmt, i);
    if (is_seq && *value_p == 0)
        return -1;
    return 0;
}

/* Reads the current row into row and its stored hash. Returns 0, or -1
 * when a value has a type the hub never writes. */
static int s_read_row(sqlite3_stmt *stmt, hub_audit_row_t *row, char hash[HUB_SHA256_HEX_LEN])
{
    memset(row, 0, sizeof *row);
    if (s_column_int(stmt, 1, 0, &row->at_ms) != 0 || s_column_text(stmt, 2, 0, &row->actor) != 0 ||
        s_column_text(stmt, 3, 0, &row->action) != 0 || s_column_text(stmt, 4, 1, &row->event_id) != 0 ||
        s_column_text(stmt, 5, 1, &row->case_id) != 0 || s_column_text(stmt, 6, 1, &row->department) != 0 ||
        s_column_int(stmt, 7, 1, &row->seq) != 0 || s_column_int(stmt, 8, 1, &row->seq_to) != 0 ||
        s_column_text(stmt, 9, 0, &row->detail) != 0 || hub_audit_stored_hash(stmt, 10, hash) != 0)
        return -1;
    row->id = sqlite3_column_int64(stmt, 0); /* INTEGER PRIMARY KEY: always an integer */
    return 0;
}

/* What a reading needs to put a list in place of a reference (rule 5). */
typedef struct {
    sqlite3 *db;
    sqlite3_stmt *find; /* a received row's detail by id, made when first needed */
    int64_t id;         /* the row whose list is in list (0: none) */
    hub_buf_t list;     /* its notifications array, NUL-terminated */
    hub_buf_t detail;   /* the detail read, the list in place of the reference */
} s_lists_t;

#define S_REF_KEY "\"notifications_as\":"
#define S_LIST_KEY "\"notifications\":["

/* Where in row's detail its reference member begins (the key's quote),
 * with the id it names, when row is a receipt whose detail's last member
 * is "notifications_as":ID; else NULL. */
static const char *s_reference(const hub_audit_row_t *row, int64_t *id)
{
    const char *detail = row->detail;
    if (!detail || strcmp(row->action, "received") != 0)
        return NULL;
    size_t len = strlen(detail), digits = 0;
    if (len < 2 || detail[len - 1] != '}')
        return NULL;
    while (digits < len - 1 && detail[len - 2 - digits] >= '0' && detail[len - 2 - digits] <= '9')
        digits++;
    size_t key_len = strlen(S_REF_KEY);
    if (digits == 0 || digits > 18 || len - 1 - digits < key_len + 1)
        return NULL;
    const char *key = detail + len - 1 - digits - key_len;
    if (memcmp(key, S_REF_KEY, key_len) != 0 || (key[-1] != ',' && key[-1] != '{'))
        return NULL;
    *id = 0;
    for (size_t i = 0; i < digits; i++)
        *id = *id * 10 + (key[key_len + i] - '0');
    return *id > 0 ? key : NULL;
}

/* Makes l->list the notifications array that received row id lists as
 * its last member. Returns 0, or -1 when there is no such row or list. */
static int s_list_of(s_lists_t *l, int64_t id)
{
    if (l->id == id)
        return 0;
    l->id = 0;
    if (!l->find && sqlite3_prepare_v2(l->db, "SELECT detail FROM audit WHERE id = ?1 AND action = 'received'", -1,
                                       &l->find, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(l->find, 1, id);
    int rc = -1;
    const char *detail = sqlite3_step(l->find) == SQLITE_ROW ? (const char *)sqlite3_column_text(l->find, 0) : NULL;
    size_t len = detail ? strlen(detail) : 0;
    const char *list = NULL;
    for (const char *p = detail; p && (p = strstr(p, S_LIST_KEY)) != NULL; p++)
        if (p > detail && (p[-1] == ',' || p[-1] == '{'))
            list = p + strlen(S_LIST_KEY) - 1;
    if (list && len >= 2 && strcmp(detail + len - 2, "]}") == 0) {
        hub_buf_reset(&l->list);
        size_t n = (size_t)(detail + len - 1 - list);
        if (hub_buf_append(&l->list, list, n) == 0 && hub_buf_append(&l->list, "", 1) == 0) {
            l->id = id;
            rc = 0;
        }
    }
    sqlite3_reset(l->find);
    return rc;
}

/* row's detail with the list it refers to in place of the reference, or
 * as stored when it refers to none or to a row that lists none. */
static const char *s_with_list(s_lists_t *l, const hub_audit_row_t *row)
{
    int64_t id = 0;
    const char *key = s_reference(row, &id);
    if (!key || s_list_of(l, id) != 0)
        return row->detail;
    hub_buf_reset(&l->detail);
    const char *list_key = S_LIST_KEY;
    if (hub_buf_append(&l->detail, row->detail, (size_t)(key - row->detail)) != 0 ||
        hub_buf_append(&l->detail, list_key, strlen(list_key) - 1) != 0 ||
        hub_buf_append(&l->detail, l->list.data, l->list.len - 1) != 0 || hub_buf_append(&l->detail, "}", 2) != 0)
        return row->detail;
    return (const char *)l->detail.data;
}

int hub_audit_verify(sqlite3 *db, hub_audit_verdict_t *verdict, char err[HUB_ERR_LEN])
{
    memset(verdict, 0, sizeof *verdict);
    memcpy(verdict->head, s_zero_hash, sizeof verdict->head);

    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, at_ms, actor, action, event_id, case_id, department, seq, seq_to, detail, hash"
                           " FROM audit ORDER BY id",
                           -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "audit: cannot read the audit table: %s", sqlite3_errmsg(db));
        return -HUB_ESTORE;
    }

    s_lists_t lists = {.db = db, .list = HUB_BUF_INIT, .detail = HUB_BUF_INIT};
    int64_t expected = 1;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(stmt, 0);
        if (id > expected) {
            verdict->bad_id = expected;
            snprintf(verdict->what, sizeof verdict->what, "row %" PRId64 " is missing (removed)", expected);
            break;
        }
        if (id < expected) { /* only an id below 1 can come first in id order */
            verdict->bad_id = expected;
            snprintf(verdict->what, sizeof verdict->what,
                     "row %" PRId64 ": a row with id %" PRId64 " comes before it (inserted)", expected, id);
            break;
        }
        hub_audit_row_t row;
        char stored[HUB_SHA256_HEX_LEN] = "", computed[HUB_SHA256_HEX_LEN] = "";
        int readable = s_read_row(stmt, &row, stored) == 0;
        if (readable)
            hub_audit_hash(verdict->head, &row, computed);
        if (!readable || strcmp(stored, computed) != 0) {
            verdict->bad_id = id;
            snprintf(verdict->what, sizeof verdict->what,
                     "row %" PRId64 ": content does not match its hash (altered, inserted or moved)", id);
            break;
        }
        /* rule 5: a reference names an earlier receipt that lists its notifications */
        int64_t ref = 0;
        if (s_reference(&row, &ref) &&
            (ref >= id || s_list_of(&lists, ref) != 0)) {
            verdict->bad_id = id;
            snprintf(verdict->what, sizeof verdict->what,
                     "row %" PRId64 ": its notifications are named as those of row %" PRId64
                     ", which lists none before it (a reference hubd does not write)",
                     id, ref);
            break;
        }
        memcpy(verdict->head, computed, sizeof verdict->head);
        verdict->rows++;
        expected++;
    }
    sqlite3_finalize(lists.find);
    hub_buf_fini(&lists.list);
    hub_buf_fini(&lists.detail);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(err, HUB_ERR_LEN, "audit: cannot read row %" PRId64 ": %s", expected, sqlite3_errmsg(db));
        sqlite3_finalize(stmt);
        return -HUB_ESTORE;
    }
    sqlite3_finalize(stmt);
    return verdict->bad_id ? 1 : 0;
}

/* ------------------------------------------------------------ reading */

int hub_audit_action_known(const char *action)
{
    if (!action)
        return 0;
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

/* The sequence numbers of the events of a case (?1): the case's received
 * events, its escalation notifications and its dead letters, as the
 * common table expression case_seqs(s); and those of an event (?2) as
 * event_seqs(s). A range row (delivered, acked, redelivered: no case or
 * event id of its own) concerns the case or event when its [seq, seq_to]
 * covers one of them. ?8 is the row limit (-1: none): the last rows that
 * match, then put back in id order. */
static const char s_query_sql[] =
    "WITH case_seqs(s) AS (SELECT seq FROM audit WHERE case_id = ?1 AND action = 'received' AND seq IS NOT NULL"
    " UNION SELECT json_extract(detail, '$.escalation_seq') FROM audit WHERE case_id = ?1"
    " AND action = 'escalated' AND json_valid(detail)"
    " UNION SELECT json_extract(detail, '$.dead_seq') FROM audit WHERE case_id = ?1"
    " AND action = 'dead_lettered' AND json_valid(detail)),"
    " event_seqs(s) AS (SELECT seq FROM audit WHERE event_id = ?2 AND action = 'received' AND seq IS NOT NULL)"
    " SELECT id, at_ms, actor, action, event_id, case_id, department, seq, seq_to, detail, hash FROM ("
    "  SELECT * FROM audit a WHERE"
    "   (?1 IS NULL OR a.case_id = ?1 OR (a.case_id IS NULL AND a.seq IS NOT NULL AND EXISTS"
    "     (SELECT 1 FROM case_seqs WHERE s BETWEEN a.seq AND coalesce(a.seq_to, a.seq))))"
    "   AND (?2 IS NULL OR a.event_id = ?2 OR (a.event_id IS NULL AND a.seq IS NOT NULL AND EXISTS"
    "     (SELECT 1 FROM event_seqs WHERE s BETWEEN a.seq AND coalesce(a.seq_to, a.seq))))"
    "   AND (?3 IS NULL OR a.actor = ?3)"
    "   AND (?4 IS NULL OR a.action = ?4)"
    "   AND (?5 IS NULL OR a.department = ?5 OR (a.action IN ('received', 'routed') AND a.department IS NULL"
    "     AND instr(a.detail, '\"department\":\"' || ?5 || '\"') > 0)"
    "    OR (a.action = 'received' AND a.department IS NULL AND instr(a.detail, '\"notifications_as\":') > 0"
    "     AND EXISTS (SELECT 1 FROM audit l WHERE l.action = 'received' AND l.id ="
    "       CASE WHEN json_valid(a.detail) THEN json_extract(a.detail, '$.notifications_as') END"
    "       AND instr(l.detail, '\"department\":\"' || ?5 || '\"') > 0)))"
    "   AND (?6 IS NULL OR a.at_ms >= ?6)"
    "   AND (?7 IS NULL OR a.at_ms < ?7)"
    "  ORDER BY a.id DESC LIMIT ?8)"
    " ORDER BY id";

int hub_audit_read(sqlite3 *db, const hub_audit_filter_t *f, hub_audit_row_fn fn, void *arg, char err[HUB_ERR_LEN])
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, s_query_sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "audit: cannot read the audit table: %s", sqlite3_errmsg(db));
        return -HUB_ESTORE;
    }
    sqlite3_bind_text(stmt, 1, f->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, f->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, f->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, f->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, f->department, -1, SQLITE_STATIC);
    if (f->has_since)
        sqlite3_bind_int64(stmt, 6, f->since_ms);
    if (f->has_until)
        sqlite3_bind_int64(stmt, 7, f->until_ms);
    sqlite3_bind_int64(stmt, 8, f->limit < 0 ? -1 : f->limit);

    s_lists_t lists = {.db = db, .list = HUB_BUF_INIT, .detail = HUB_BUF_INIT};
    int rc, stop = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        hub_audit_row_t row = {
            .id = sqlite3_column_int64(stmt, 0),
            .at_ms = sqlite3_column_int64(stmt, 1),
            .actor = (const char *)sqlite3_column_text(stmt, 2),
            .action = (const char *)sqlite3_column_text(stmt, 3),
            .event_id = (const char *)sqlite3_column_text(stmt, 4),
            .case_id = (const char *)sqlite3_column_text(stmt, 5),
            .department = (const char *)sqlite3_column_text(stmt, 6),
            .seq = sqlite3_column_int64(stmt, 7),
            .seq_to = sqlite3_column_int64(stmt, 8),
            .detail = (const char *)sqlite3_column_text(stmt, 9),
        };
        row.detail = s_with_list(&lists, &row);
        char hash[HUB_SHA256_HEX_LEN];
        int has_hash = hub_audit_stored_hash(stmt, 10, hash) == 0;
        stop = fn(&row, has_hash ? hash : NULL, arg);
        if (stop != 0)
            break;
    }
    if (stop == 0 && rc != SQLITE_DONE) {
        snprintf(err, HUB_ERR_LEN, "audit: cannot read the audit table: %s", sqlite3_errmsg(db));
        stop = -HUB_ESTORE;
    }
    sqlite3_finalize(stmt);
    sqlite3_finalize(lists.find);
    hub_buf_fini(&lists.list);
    hub_buf_fini(&lists.detail);
    return stop < 0 ? stop : 0;
}

/* text as a JSON string, or null. */
static json_t *s_text_or_null(const char *text)
{
    return text ? json_string(text) : json_null();
}

/* seq as a JSON integer, or null for none. */
static json_t *s_seq_or_null(int64_t seq)
{
    return seq ? json_integer(seq) : json_null();
}

json_t *hub_audit_row_json(const hub_audit_row_t *r, const char *hash)
{
    json_t *row = json_object();
    if (!row)
        return NULL;
    char at[HUB_TIME_LEN];
    hub_time_format(r->at_ms, at);
    json_t *detail = r->detail ? json_loads(r->detail, JSON_DECODE_ANY, NULL) : NULL;
    if (!detail)
        detail = s_text_or_null(r->detail);

    int bad = json_object_set_new(row, "id", json_integer(r->id));
    bad |= json_object_set_new(row, "at", json_string(at));
    bad |= json_object_set_new(row, "at_ms", json_integer(r->at_ms));
    bad |= json_object_set_new(row, "actor", s_text_or_null(r->actor));
    bad |= json_object_set_new(row, "action", s_text_or_null(r->action));
    bad |= json_object_set_new(row, "event_id", s_text_or_null(r->event_id));
    bad |= json_object_set_new(row, "case_id", s_text_or_null(r->case_id));
    bad |= json_object_set_new(row, "department", s_text_or_null(r->department));
    bad |= json_object_set_new(row, "seq", s_seq_or_null(r->seq));
    bad |= json_object_set_new(row, "seq_to", s_seq_or_null(r->seq_to));
    bad |= json_object_set_new(row, "detail", detail);
    bad |= json_object_set_new(row, "hash", s_text_or_null(hash));
    if (bad) {
        json_decref(row);
        return NULL;
    }
    return row;
}

void hub_audit_verdict_line(const hub_audit_verdict_t *verdict, char *out, size_t outlen)
{
    if (verdict->bad_id == 0) {
        snprintf(out, outlen, "ok: %" PRId64 " row%s, head %s", verdict->rows, verdict->rows == 1 ? "" : "s",
                 verdict->head);
        return;
    }
    /* verdict->what starts with "row N: why" or "row N is why": say it once */
    char prefix[40];
    int n = snprintf(prefix, sizeof prefix, "row %" PRId64, verdict->bad_id);
    const char *why = verdict->what;
    if (strncmp(why, prefix, (size_t)n) == 0) {
        why += n;
        if (strncmp(why, ": ", 2) == 0)
            why += 2;
        else if (strncmp(why, " is ", 4) == 0)
            why += 4;
    }
    snprintf(out, outlen, "audit chain broken at row %" PRId64 ": %s", verdict->bad_id, why);
}
