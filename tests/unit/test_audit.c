/*
 * test_audit - the audit chain: its canonical hash, and verification of a
 * real database that was then tampered with through plain SQL (as someone
 * with the sqlite3 tool on the file could): an edited detail, a removed
 * row, a forged row inserted with the ids renumbered, a swapped pair of
 * rows, NULL turned into "". Each must be found at the right row.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "check.h"

#define S_ROWS 20      /* rows in the sample chain */
#define S_TEXT_ROWS 10 /* its first rows hold their hashes as an earlier hub wrote them: hex text */

static char s_dir[256];    /* temporary directory of this run */
static char s_master[300]; /* the intact database every case copies */
static int s_copies;       /* copies made so far (for their names) */

/* ----------------------------------------------------------- helpers */

/* Row i (1-based) of the sample chain: a case's life, in the shapes the hub
 * writes, with NULLs and ranges. */
static hub_audit_row_t s_sample_row(int i)
{
    static const char *const actions[] = {"received",  "routed",   "routed",    "delivered",     "acked",
                                          "responded", "breached", "escalated", "policy_loaded", "subscribed"};
    hub_audit_row_t row = {
        .id = i,
        .at_ms = 1795600000000 + (int64_t)i * 1500,
        .actor = i % 3 ? "local" : "hubd",
        .action = actions[(i - 1) % 10],
        .event_id = i % 4 == 3 ? NULL : "ev-1042",
        .case_id = i % 5 == 4 ? NULL : "CASE-1042",
        .department = i % 2 ? "engineering" : NULL,
        .seq = i % 7 == 6 ? 0 : i,
        .seq_to = i % 4 == 0 ? i + 3 : 0,
        .detail = i % 2 ? "{\"slot\":0,\"route\":\"defect\"}" : "{}",
    };
    return row;
}

/* Runs SQL on db; a failure fails the current case. */
static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "[%s] SQL failed: %s: %s\n", check_case, sql, msg ? msg : "?");
        check_failures++;
    }
    sqlite3_free(msg);
}

/* Appends row to db with its hash over prev; writes the new hash to out.
 * Rows up to S_TEXT_ROWS store it as 64 hex digits of text, as hubs before
 * did; later ones as its 32 bytes, as the store does now: a log that an
 * upgraded hub carried on. */
static void s_append(sqlite3 *db, const hub_audit_row_t *row, const char *prev, char out[HUB_SHA256_HEX_LEN])
{
    uint8_t digest[HUB_SHA256_LEN];
    hub_audit_digest(prev, row, digest, out);
    sqlite3_stmt *stmt = NULL;
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "INSERT INTO audit(id, at_ms, actor, action, event_id, case_id, department, seq,"
                                 " seq_to, detail, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                                 -1, &stmt, NULL),
              SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, row->id);
    sqlite3_bind_int64(stmt, 2, row->at_ms);
    sqlite3_bind_text(stmt, 3, row->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, row->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, row->event_id, -1, SQLITE_STATIC); /* NULL binds NULL */
    sqlite3_bind_text(stmt, 6, row->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, row->department, -1, SQLITE_STATIC);
    if (row->seq)
        sqlite3_bind_int64(stmt, 8, row->seq);
    if (row->seq_to)
        sqlite3_bind_int64(stmt, 9, row->seq_to);
    sqlite3_bind_text(stmt, 10, row->detail, -1, SQLITE_STATIC);
    if (row->id <= S_TEXT_ROWS)
        sqlite3_bind_text(stmt, 11, out, -1, SQLITE_STATIC);
    else
        sqlite3_bind_blob(stmt, 11, digest, sizeof digest, SQLITE_STATIC);
    CHECK_INT(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
}

/* The stored hash of row id, in hex, into out ("" when there is none). */
static void s_stored_hash(sqlite3 *db, int64_t id, char out[HUB_SHA256_HEX_LEN])
{
    sqlite3_stmt *stmt = NULL;
    out[0] = '\0';
    sqlite3_prepare_v2(db, "SELECT hash FROM audit WHERE id = ?", -1, &stmt, NULL);
    sqlite3_bind_int64(stmt, 1, id);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        (void)hub_audit_stored_hash(stmt, 0, out); /* "" when it is neither form */
    sqlite3_finalize(stmt);
}

/* Creates the intact database: the schema and S_ROWS chained rows. */
static int s_make_master(void)
{
    snprintf(s_dir, sizeof s_dir, "%s/hub-audit-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(s_master, sizeof s_master, "%s/master.db", s_dir);
    sqlite3 *db = NULL;
    if (sqlite3_open(s_master, &db) != SQLITE_OK)
        return -1;
    s_exec(db, hub_audit_schema);
    s_exec(db, "BEGIN");
    char prev[HUB_SHA256_HEX_LEN] = "";
    for (int i = 1; i <= S_ROWS; i++) {
        hub_audit_row_t row = s_sample_row(i);
        char hash[HUB_SHA256_HEX_LEN];
        s_append(db, &row, prev, hash);
        memcpy(prev, hash, sizeof prev);
    }
    s_exec(db, "COMMIT");
    sqlite3_close(db);
    return 0;
}

/* Opens a fresh byte-for-byte copy of the intact database. */
static sqlite3 *s_copy(void)
{
    char path[320];
    snprintf(path, sizeof path, "%s/copy-%d.db", s_dir, ++s_copies);
    FILE *in = fopen(s_master, "rb"), *out = fopen(path, "wb");
    char buf[8192];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    int ok = in && out && !ferror(in);
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    CHECK(ok);
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

/* Verifies db and checks that it breaks at bad_id with text in what. */
static void s_expect_broken(sqlite3 *db, int64_t bad_id, const char *what)
{
    hub_audit_verdict_t v;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_audit_verify(db, &v, err), 1);
    CHECK_INT(v.bad_id, bad_id);
    CHECK_HAS(v.what, what);
    CHECK_INT(v.rows, bad_id - 1);
    char expected_head[HUB_SHA256_HEX_LEN];
    s_stored_hash(db, bad_id - 1, expected_head);
    if (bad_id > 1)
        CHECK_STR(v.head, expected_head); /* the last row that held */
}

#define S_ALTERED "content does not match its hash (altered, inserted or moved)"

/* ------------------------------------------------------------- cases */

/* The canonical text is fixed: these digests were computed independently
 * from "PREV\n" + the columns joined by 0x1f, NULL as 0x1e. */
static void test_hash_known_values(void)
{
    hub_audit_row_t row = {.id = 1,
                           .at_ms = 1000,
                           .actor = "local",
                           .action = "received",
                           .event_id = "ev-1",
                           .case_id = NULL,
                           .department = "",
                           .seq = 1,
                           .seq_to = 0,
                           .detail = "{}"};
    char out[HUB_SHA256_HEX_LEN];
    hub_audit_hash(NULL, &row, out);
    CHECK_STR(out, "3c917db2e41afd3f02552492d9f4b1e0ede66be04a083aa106961745fb04fdeb");
    hub_audit_hash("", &row, out);
    CHECK_STR(out, "3c917db2e41afd3f02552492d9f4b1e0ede66be04a083aa106961745fb04fdeb");
    hub_audit_hash("0000000000000000000000000000000000000000000000000000000000000000", &row, out);
    CHECK_STR(out, "3c917db2e41afd3f02552492d9f4b1e0ede66be04a083aa106961745fb04fdeb");

    /* separators and escapes inside text are escaped with 0x1b */
    hub_audit_row_t odd = {.id = 2,
                           .at_ms = -5,
                           .actor = "a\x1f"
                                    "b",
                           .action = "\x1b\x1e",
                           .detail = "{\"k\":\"v\"}",
                           .seq = 9000000000,
                           .seq_to = 9000000001};
    hub_audit_hash("abababababababababababababababababababababababababababababababab", &odd, out);
    CHECK_STR(out, "4a1b612f9d168f0b076f6ac0b3ffc510dafca9a10ec06907eb96b8647b4a2413");
}

static void test_hash_every_column_counts(void)
{
    hub_audit_row_t base = s_sample_row(1);
    char h0[HUB_SHA256_HEX_LEN], h[HUB_SHA256_HEX_LEN];
    hub_audit_hash(NULL, &base, h0);

    struct {
        const char *name;
        hub_audit_row_t row;
    } changes[] = {
        {"id", base},      {"at_ms", base},      {"actor", base}, {"action", base}, {"event_id", base},
        {"case_id", base}, {"department", base}, {"seq", base},   {"seq_to", base}, {"detail", base},
    };
    changes[0].row.id = 2;
    changes[1].row.at_ms++;
    changes[2].row.actor = "locaL";
    changes[3].row.action = "routed";
    changes[4].row.event_id = NULL;
    changes[5].row.case_id = "CASE-1043";
    changes[6].row.department = NULL;
    changes[7].row.seq = 0;
    changes[8].row.seq_to = 1;
    changes[9].row.detail = "{ }";
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        hub_audit_hash(NULL, &changes[i].row, h);
        if (strcmp(h, h0) == 0) {
            fprintf(stderr, "[%s] changing %s does not change the hash\n", check_case, changes[i].name);
            check_failures++;
        }
    }
    /* and the previous hash counts */
    hub_audit_hash("1111111111111111111111111111111111111111111111111111111111111111", &base, h);
    CHECK(strcmp(h, h0) != 0);
    /* the same input gives the same hash */
    hub_audit_hash(NULL, &base, h);
    CHECK_STR(h, h0);
}

static void test_hash_null_is_not_empty(void)
{
    hub_audit_row_t a = s_sample_row(1), b = a;
    char ha[HUB_SHA256_HEX_LEN], hb[HUB_SHA256_HEX_LEN];

    a.event_id = NULL, b.event_id = "";
    hub_audit_hash(NULL, &a, ha), hub_audit_hash(NULL, &b, hb);
    CHECK(strcmp(ha, hb) != 0);

    a = b = s_sample_row(1);
    a.case_id = NULL, b.case_id = "";
    hub_audit_hash(NULL, &a, ha), hub_audit_hash(NULL, &b, hb);
    CHECK(strcmp(ha, hb) != 0);

    a = b = s_sample_row(1);
    a.department = NULL, b.department = "";
    hub_audit_hash(NULL, &a, ha), hub_audit_hash(NULL, &b, hb);
    CHECK(strcmp(ha, hb) != 0);

    /* a NULL cannot be faked with the separator byte either */
    a = b = s_sample_row(1);
    a.case_id = NULL, b.case_id = "\x1e";
    hub_audit_hash(NULL, &a, ha), hub_audit_hash(NULL, &b, hb);
    CHECK(strcmp(ha, hb) != 0);
}

static void test_hash_field_boundaries_are_fixed(void)
{
    /* moving a separator from one column into another changes the hash */
    hub_audit_row_t a = s_sample_row(1), b = a;
    a.actor = "x\x1f"
              "received";
    a.action = "y";
    b.actor = "x";
    b.action = "received\x1fy";
    char ha[HUB_SHA256_HEX_LEN], hb[HUB_SHA256_HEX_LEN];
    hub_audit_hash(NULL, &a, ha);
    hub_audit_hash(NULL, &b, hb);
    CHECK(strcmp(ha, hb) != 0);
}

static void test_verify_intact(void)
{
    sqlite3 *db = s_copy();
    hub_audit_verdict_t v;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_audit_verify(db, &v, err), 0);
    CHECK_INT(v.rows, S_ROWS);
    CHECK_INT(v.bad_id, 0);
    CHECK_STR(v.what, "");
    char last[HUB_SHA256_HEX_LEN];
    s_stored_hash(db, S_ROWS, last);
    CHECK_STR(v.head, last);
    sqlite3_close(db);
}

static void test_verify_empty(void)
{
    sqlite3 *db = s_copy();
    s_exec(db, "DELETE FROM audit");
    hub_audit_verdict_t v;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_audit_verify(db, &v, err), 0);
    CHECK_INT(v.rows, 0);
    CHECK_STR(v.head, "0000000000000000000000000000000000000000000000000000000000000000");
    sqlite3_close(db);
}

static void test_verify_edited_detail(void)
{
    sqlite3 *db = s_copy();
    s_exec(db, "UPDATE audit SET detail = '{\"slot\":0,\"route\":\"other\"}' WHERE id = 7");
    s_expect_broken(db, 7, "row 7: " S_ALTERED);
    sqlite3_close(db);
}

static void test_verify_edited_time(void)
{
    sqlite3 *db = s_copy();
    s_exec(db, "UPDATE audit SET at_ms = at_ms - 3600000 WHERE id = 12");
    s_expect_broken(db, 12, "row 12: " S_ALTERED);
    sqlite3_close(db);
}

static void test_verify_null_made_empty(void)
{
    sqlite3 *db = s_copy();
    /* row 4: case_id NULL, row 2: department NULL (see s_sample_row) */
    s_exec(db, "UPDATE audit SET case_id = '' WHERE id = 4 AND case_id IS NULL");
    CHECK_INT(sqlite3_changes(db), 1);
    s_expect_broken(db, 4, "row 4: " S_ALTERED);
    sqlite3_close(db);

    db = s_copy();
    s_exec(db, "UPDATE audit SET department = '' WHERE id = 2 AND department IS NULL");
    CHECK_INT(sqlite3_changes(db), 1);
    s_expect_broken(db, 2, "row 2: " S_ALTERED);
    sqlite3_close(db);
}

/* One change made with SQL on a fresh copy, and the row it breaks. */
typedef struct {
    const char *sql;
    int64_t bad;
} s_tamper_t;

/* Makes each change on a copy of its own; each must break the chain at
 * its row, as altered. */
static void s_expect_each_altered(const s_tamper_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3 *db = s_copy();
        s_exec(db, cases[i].sql);
        CHECK_INT(sqlite3_changes(db), 1);
        s_expect_broken(db, cases[i].bad, S_ALTERED);
        sqlite3_close(db);
    }
}

static void test_verify_retyped_values(void)
{
    /* values that read back the same as numbers but are not what was hashed */
    static const s_tamper_t cases[] = {
        {"UPDATE audit SET seq = '5x' WHERE id = 5", 5},
        {"UPDATE audit SET seq = 0 WHERE id = 6 AND seq IS NULL", 6},
        {"UPDATE audit SET at_ms = CAST(at_ms AS TEXT) || 'x' WHERE id = 3", 3},
        {"UPDATE audit SET detail = CAST(detail AS BLOB) WHERE id = 8", 8},
        {"UPDATE audit SET actor = 'local' || char(0) || 'x' WHERE id = 10", 10},
        {"UPDATE audit SET hash = upper(hash) WHERE id = 9", 9},
    };
    s_expect_each_altered(cases, sizeof cases / sizeof cases[0]);
}

/* Keeps the hash a reading gives for row 12 (a row stored with bytes). */
static int s_hash_of_12(const hub_audit_row_t *row, const char *hash, void *arg)
{
    if (row->id == 12)
        snprintf(arg, HUB_SHA256_HEX_LEN, "%s", hash ? hash : "(null)");
    return 0;
}

/* A hash is stored as 32 bytes, or as the 64 hex digits of text hubs
 * wrote before; anything else is not what was written */
static void test_verify_hash_forms(void)
{
    sqlite3 *db = s_copy();
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT typeof(hash), length(hash) FROM audit WHERE id IN (?1, ?2) ORDER BY id",
                                 -1, &st, NULL),
              SQLITE_OK);
    sqlite3_bind_int(st, 1, S_TEXT_ROWS);
    sqlite3_bind_int(st, 2, S_TEXT_ROWS + 1);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "text");
    CHECK_INT(sqlite3_column_int(st, 1), 64);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "blob");
    CHECK_INT(sqlite3_column_int(st, 1), 32);
    sqlite3_finalize(st);
    /* readers get hex either way */
    char read[HUB_SHA256_HEX_LEN] = "", expected[HUB_SHA256_HEX_LEN] = "";
    hub_audit_filter_t all = {.limit = -1};
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_audit_read(db, &all, s_hash_of_12, read, err), 0);
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT lower(hex(hash)) FROM audit WHERE id = 12", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    snprintf(expected, sizeof expected, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    CHECK_INT(strlen(expected), 64);
    CHECK_STR(read, expected);
    sqlite3_close(db);

    /* the bytes written out as the text an earlier hub wrote: the same hash */
    db = s_copy();
    s_exec(db, "UPDATE audit SET hash = lower(hex(hash)) WHERE id = 15");
    CHECK_INT(sqlite3_changes(db), 1);
    hub_audit_verdict_t v;
    CHECK_INT(hub_audit_verify(db, &v, err), 0);
    CHECK_INT(v.rows, S_ROWS);
    sqlite3_close(db);

    static const s_tamper_t cases[] = {
        {"UPDATE audit SET hash = substr(hash, 1, 31) WHERE id = 14", 14},
        {"UPDATE audit SET hash = hash || x'00' WHERE id = 16", 16},
        {"UPDATE audit SET hash = hex(hash) WHERE id = 17", 17}, /* upper case: not what was written */
        {"UPDATE audit SET hash = CAST(hash AS BLOB) WHERE id = 3", 3},
        {"UPDATE audit SET hash = substr(hash, 1, 63) WHERE id = 4", 4},
        {"UPDATE audit SET hash = 42 WHERE id = 18", 18},
    };
    s_expect_each_altered(cases, sizeof cases / sizeof cases[0]);
}

static void test_verify_deleted_middle(void)
{
    sqlite3 *db = s_copy();
    s_exec(db, "DELETE FROM audit WHERE id = 9");
    s_expect_broken(db, 9, "row 9 is missing (removed)");
    sqlite3_close(db);
}

static void test_verify_deleted_first(void)
{
    sqlite3 *db = s_copy();
    s_exec(db, "DELETE FROM audit WHERE id = 1");
    s_expect_broken(db, 1, "row 1 is missing (removed)");
    sqlite3_close(db);
}

static void test_verify_deleted_and_renumbered(void)
{
    /* the gap closed by renumbering: row 9 now holds row 10's content */
    sqlite3 *db = s_copy();
    s_exec(db, "DELETE FROM audit WHERE id = 9");
    s_exec(db, "UPDATE audit SET id = -id WHERE id > 9");
    s_exec(db, "UPDATE audit SET id = -id - 1 WHERE id < 0");
    s_expect_broken(db, 9, "row 9: " S_ALTERED);
    sqlite3_close(db);
}

/* Makes room at id 5 by moving rows 5.. one up. */
static void s_make_room_at_5(sqlite3 *db)
{
    s_exec(db, "UPDATE audit SET id = -id WHERE id >= 5");
    s_exec(db, "UPDATE audit SET id = -id + 1 WHERE id < 0");
}

static void test_verify_inserted_forged(void)
{
    /* a forged row with a made-up hash is caught where it stands */
    sqlite3 *db = s_copy();
    s_make_room_at_5(db);
    s_exec(db, "INSERT INTO audit VALUES(5, 1795600007000, 'local', 'responded', 'ev-9', 'CASE-1042',"
               " 'engineering', 3, 3, '{\"status\":\"resolved\"}', '" /* hash of nothing in particular */
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')");
    s_expect_broken(db, 5, "row 5: " S_ALTERED);
    sqlite3_close(db);

    /* one whose hash was computed correctly over row 4 still breaks the
     * chain at the next row: the old row 5, now numbered 6 */
    db = s_copy();
    s_make_room_at_5(db);
    char prev[HUB_SHA256_HEX_LEN], forged_hash[HUB_SHA256_HEX_LEN];
    s_stored_hash(db, 4, prev);
    hub_audit_row_t forged = {.id = 5,
                              .at_ms = 1795600007000,
                              .actor = "local",
                              .action = "responded",
                              .event_id = "ev-9",
                              .case_id = "CASE-1042",
                              .department = "engineering",
                              .seq = 3,
                              .seq_to = 3,
                              .detail = "{\"status\":\"resolved\"}"};
    s_append(db, &forged, prev, forged_hash);
    s_expect_broken(db, 6, "row 6: " S_ALTERED);
    sqlite3_close(db);
}

static void test_verify_inserted_before_first(void)
{
    sqlite3 *db = s_copy();
    s_exec(db, "INSERT INTO audit VALUES(0, 1, 'local', 'received', NULL, NULL, NULL, NULL, NULL, '{}', 'x')");
    s_expect_broken(db, 1, "comes before it (inserted)");
    sqlite3_close(db);
}

/* Swaps every column but id between rows a and b (hashes included). */
static void s_swap(sqlite3 *db, int a, int b)
{
    char sql[1024];
    s_exec(db, "DROP TABLE IF EXISTS temp.pair");
    snprintf(sql, sizeof sql, "CREATE TEMP TABLE pair AS SELECT * FROM audit WHERE id IN (%d, %d)", a, b);
    s_exec(db, sql);
    snprintf(sql, sizeof sql,
             "UPDATE audit SET (at_ms, actor, action, event_id, case_id, department, seq, seq_to, detail, hash) ="
             " (SELECT at_ms, actor, action, event_id, case_id, department, seq, seq_to, detail, hash FROM pair"
             "  WHERE pair.id = CASE audit.id WHEN %d THEN %d ELSE %d END) WHERE id IN (%d, %d)",
             a, b, a, a, b);
    s_exec(db, sql);
    CHECK_INT(sqlite3_changes(db), 2);
}

static void test_verify_swapped(void)
{
    static const struct {
        int a, b;
    } pairs[] = {{4, 11}, {4, 5}, {1, 2}, {19, 20}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        sqlite3 *db = s_copy();
        s_swap(db, pairs[i].a, pairs[i].b);
        char msg[80];
        snprintf(msg, sizeof msg, "row %d: %s", pairs[i].a, S_ALTERED);
        s_expect_broken(db, pairs[i].a, msg);
        sqlite3_close(db);
    }
}

static void test_verify_cut_tail_is_not_seen(void)
{
    /* rule 3 of audit.h: the chain alone cannot tell that the last rows
     * were cut off; the head it reports is the one to compare */
    sqlite3 *db = s_copy();
    char head19[HUB_SHA256_HEX_LEN];
    s_stored_hash(db, S_ROWS - 1, head19);
    s_exec(db, "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)");
    hub_audit_verdict_t v;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_audit_verify(db, &v, err), 0);
    CHECK_INT(v.rows, S_ROWS - 1);
    CHECK_STR(v.head, head19);
    sqlite3_close(db);
}

static void test_verify_no_table(void)
{
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    hub_audit_verdict_t v;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_audit_verify(db, &v, err), -HUB_ESTORE);
    CHECK_HAS(err, "no such table: audit");
    sqlite3_close(db);
}

static void test_schema_is_idempotent(void)
{
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    s_exec(db, hub_audit_schema);
    s_exec(db, hub_audit_schema);
    sqlite3_stmt *stmt = NULL;
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit'"
                                 " AND name = 'audit_case_seqs'",
                                 -1, &stmt, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(stmt), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(stmt, 0), 1);
    sqlite3_finalize(stmt);
    /* NOT NULL where audit.h says so */
    char *msg = NULL;
    CHECK(sqlite3_exec(db, "INSERT INTO audit(id, at_ms, actor, action, detail) VALUES(1, 1, 'a', 'b', NULL)", NULL,
                       NULL, &msg) != SQLITE_OK);
    sqlite3_free(msg);
    sqlite3_close(db);
}

/* A database made before the index held only the rows a case's history
 * starts from loses its index of every row with a case id. */
static void test_schema_drops_old_index(void)
{
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    s_exec(db, hub_audit_schema);
    s_exec(db, "CREATE INDEX audit_case ON audit(case_id) WHERE case_id IS NOT NULL");
    s_exec(db, hub_audit_schema);
    sqlite3_stmt *stmt = NULL;
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master"
                                 " WHERE type = 'index' AND tbl_name = 'audit' ORDER BY name)",
                                 -1, &stmt, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(stmt), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(stmt, 0), "audit_case_seqs");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* ----------------------------------------------------------- reading */

/* Ids a reading visits, "1 2 4", into a string. */
typedef struct {
    char ids[256];
    size_t len;
} s_ids_t;

static int s_collect_id(const hub_audit_row_t *row, const char *hash, void *arg)
{
    s_ids_t *ids = arg;
    CHECK(hash != NULL && strlen(hash) == 64);
    ids->len += (size_t)snprintf(ids->ids + ids->len, sizeof ids->ids - ids->len, "%s%lld", ids->len ? " " : "",
                                 (long long)row->id);
    return 0;
}

/* A small log of two cases: range rows cover case A's event (seq 1) and
 * its escalation (seq 4), or case B's (seq 2), or nobody's. */
static sqlite3 *s_reading_db(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return NULL;
    s_exec(db, hub_audit_schema);
    static const struct {
        const char *actor, *action, *event_id, *case_id, *department;
        int64_t seq, seq_to;
        const char *detail;
    } rows[] = {
        {"support", "received", "ev-a", "CASE-A", NULL, 1, 1, "{\"type\":\"bug_report\"}"},
        {"support", "routed", "ev-a", "CASE-A", "eng", 1, 1, "{\"slot\":0}"},
        {"support", "received", "ev-b", "CASE-B", NULL, 2, 2, "{}"},
        {"eng", "delivered", NULL, NULL, "eng", 1, 2, "{\"count\":2}"},
        {"eng", "acked", NULL, NULL, "eng", 2, 2, "{\"count\":1}"},
        {"fin", "delivered", NULL, NULL, "fin", 3, 3, "{\"count\":1}"},
        {"hubd", "escalated", "ev-a", "CASE-A", "oncall", 1, 1, "{\"escalation_seq\":4}"},
        {"oncall", "delivered", NULL, NULL, "oncall", 4, 4, "not json"},
    };
    char prev[HUB_SHA256_HEX_LEN] = "", hash[HUB_SHA256_HEX_LEN];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hub_audit_row_t row = {
            .id = (int64_t)i + 1,
            .at_ms = 1795600000000 + (int64_t)i * 1000,
            .actor = rows[i].actor,
            .action = rows[i].action,
            .event_id = rows[i].event_id,
            .case_id = rows[i].case_id,
            .department = rows[i].department,
            .seq = rows[i].seq,
            .seq_to = rows[i].seq_to,
            .detail = rows[i].detail,
        };
        s_append(db, &row, prev, hash);
        memcpy(prev, hash, sizeof prev);
    }
    return db;
}

static void test_read_filters(void)
{
    sqlite3 *db = s_reading_db();
    CHECK(db != NULL);
    if (!db)
        return;
    static const struct {
        const char *name;
        hub_audit_filter_t f;
        const char *ids;
    } cases[] = {
        {"everything", {.limit = -1}, "1 2 3 4 5 6 7 8"},
        {"case: its rows and the ranges covering its events", {.case_id = "CASE-A", .limit = -1}, "1 2 4 7 8"},
        {"event: its rows and the ranges covering it", {.event_id = "ev-b", .limit = -1}, "3 4 5"},
        {"limit: the last rows that match, oldest first", {.case_id = "CASE-A", .limit = 2}, "7 8"},
        {"actor", {.actor = "hubd", .limit = -1}, "7"},
        {"action and department", {.action = "delivered", .department = "eng", .limit = -1}, "4"},
        {"since: at or after", {.has_since = 1, .since_ms = 1795600006000, .limit = -1}, "7 8"},
        {"until: before", {.has_until = 1, .until_ms = 1795600002000, .limit = -1}, "1 2"},
        {"nothing matches", {.case_id = "CASE-Z", .limit = -1}, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_ids_t ids = {.len = 0};
        char err[HUB_ERR_LEN] = "";
        CHECK_INT(hub_audit_read(db, &cases[i].f, s_collect_id, &ids, err), 0);
        if (strcmp(ids.ids, cases[i].ids) != 0)
            fprintf(stderr, "  %s: got \"%s\"\n", cases[i].name, ids.ids);
        CHECK_STR(ids.ids, cases[i].ids);
    }
    sqlite3_close(db);
}

static int s_stop_at_two(const hub_audit_row_t *row, const char *hash, void *arg)
{
    (*(int *)arg)++;
    return row->id == 2 ? 1 : row->id == 3 ? -HUB_EINVALID : 0;
}

/* fn's 1 stops quietly, a negative code comes back; no table is an error */
static void test_read_stops_and_fails(void)
{
    sqlite3 *db = s_reading_db();
    CHECK(db != NULL);
    if (!db)
        return;
    hub_audit_filter_t all = {.limit = -1}, from3 = {.action = "received", .case_id = "CASE-B", .limit = -1};
    int calls = 0;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_audit_read(db, &all, s_stop_at_two, &calls, err), 0);
    CHECK_INT(calls, 2);
    calls = 0;
    CHECK_INT(hub_audit_read(db, &from3, s_stop_at_two, &calls, err), -HUB_EINVALID);
    CHECK_INT(calls, 1);
    sqlite3_close(db);
    db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    CHECK_INT(hub_audit_read(db, &all, s_stop_at_two, &calls, err), -HUB_ESTORE);
    CHECK_HAS(err, "audit");
    sqlite3_close(db);
}

#define S_LISTED                                                                                                   \
    "{\"type\":\"bug_report\",\"source\":\"support\",\"notifications\":[{\"slot\":0,\"department\":\"engineering\","  \
    "\"route\":\"defect\",\"topic\":\"engineering.defect\",\"reason\":\"type=bug_report\"}]}"

/* Details a reading hands out, by id (1 - 8). */
static int s_collect_detail(const hub_audit_row_t *row, const char *hash, void *arg)
{
    char(*details)[512] = arg;
    if (row->id >= 1 && row->id <= 8)
        snprintf(details[row->id - 1], 512, "%s", row->detail);
    return 0;
}

/* A received row naming an earlier row's list (rule 5) is read with that
 * list; references that lead nowhere, to a row without a list, from a
 * row that is not a receipt, or that only look like one are read as
 * stored; the department filter follows the reference; the chain holds. */
static void test_read_list_references(void)
{
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    s_exec(db, hub_audit_schema);
    static const struct {
        const char *action, *detail, *read_as;
    } rows[] = {
        {"received", S_LISTED, S_LISTED},
        {"received", "{\"type\":\"bug_report\",\"source\":\"support\",\"notifications_as\":1}", S_LISTED},
        {"received", "{\"type\":\"x\",\"notifications_as\":99}", NULL},
        {"received", "{\"notifications_as\":3}", NULL},
        {"routed", "{\"notifications_as\":1}", NULL},
        {"received", "{\"type\":\"a\\\"notifications_as\\\":1\"}", NULL},
        {"received", "{\"type\":\"bug_report\",\"source\":\"support\",\"notifications_as\":1}", S_LISTED},
        {"received", "{\"notifications_as\":1}",
         "{\"notifications\":[{\"slot\":0,\"department\":\"engineering\",\"route\":\"defect\","
         "\"topic\":\"engineering.defect\",\"reason\":\"type=bug_report\"}]}"},
    };
    char prev[HUB_SHA256_HEX_LEN] = "", hash[HUB_SHA256_HEX_LEN];
    for (size_t i = 0; i < 8; i++) {
        hub_audit_row_t row = {.id = (int64_t)i + 1, .at_ms = 1795600000000, .actor = "support",
                               .action = rows[i].action, .event_id = "ev", .seq = (int64_t)i + 1,
                               .seq_to = (int64_t)i + 1, .detail = rows[i].detail};
        s_append(db, &row, prev, hash);
        memcpy(prev, hash, sizeof prev);
    }
    char details[8][512];
    char err[HUB_ERR_LEN] = "";
    hub_audit_filter_t all = {.limit = -1};
    CHECK_INT(hub_audit_read(db, &all, s_collect_detail, details, err), 0);
    for (size_t i = 0; i < 8; i++)
        CHECK_STR(details[i], rows[i].read_as ? rows[i].read_as : rows[i].detail);
    json_t *parsed = json_loads(details[1], 0, NULL);
    CHECK(json_array_size(json_object_get(parsed, "notifications")) == 1);
    json_decref(parsed);

    s_ids_t ids = {.len = 0};
    hub_audit_filter_t eng = {.department = "engineering", .limit = -1};
    CHECK_INT(hub_audit_read(db, &eng, s_collect_id, &ids, err), 0);
    CHECK_STR(ids.ids, "1 2 7 8");
    ids = (s_ids_t){.len = 0};
    hub_audit_filter_t fin = {.department = "finance", .limit = -1};
    CHECK_INT(hub_audit_read(db, &fin, s_collect_id, &ids, err), 0);
    CHECK_STR(ids.ids, "");

    /* the chain holds, but a reference to a row that lists nothing is
     * not one hubd writes: verify names the first */
    hub_audit_verdict_t v;
    CHECK_INT(hub_audit_verify(db, &v, err), 1);
    CHECK_INT(v.rows, 2);
    CHECK_INT(v.bad_id, 3);
    char line[HUB_ERR_LEN + 64];
    hub_audit_verdict_line(&v, line, sizeof line);
    CHECK_STR(line, "audit chain broken at row 3: its notifications are named as those of row 99, which lists none "
                    "before it (a reference hubd does not write)");
    sqlite3_close(db);
}

/* A log whose references are all to earlier receipts that list
 * notifications verifies; one naming a later row does not. */
static void test_verify_list_references(void)
{
    static const char *const details[2][3] = {
        {S_LISTED, "{\"type\":\"bug_report\",\"notifications_as\":1}", "{\"notifications_as\":1}"},
        {S_LISTED, "{\"type\":\"bug_report\",\"notifications_as\":3}", S_LISTED},
    };
    for (int log = 0; log < 2; log++) {
        sqlite3 *db = NULL;
        CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
        s_exec(db, hub_audit_schema);
        char prev[HUB_SHA256_HEX_LEN] = "", hash[HUB_SHA256_HEX_LEN];
        for (int i = 0; i < 3; i++) {
            hub_audit_row_t row = {.id = i + 1, .at_ms = 1795600000000, .actor = "support", .action = "received",
                                   .event_id = "ev", .seq = i + 1, .seq_to = i + 1, .detail = details[log][i]};
            s_append(db, &row, prev, hash);
            memcpy(prev, hash, sizeof prev);
        }
        hub_audit_verdict_t v;
        char err[HUB_ERR_LEN] = "";
        CHECK_INT(hub_audit_verify(db, &v, err), log == 0 ? 0 : 1);
        CHECK_INT(v.bad_id, log == 0 ? 0 : 2);
        CHECK_INT(v.rows, log == 0 ? 3 : 1);
        sqlite3_close(db);
    }
}

/* Row JSON: what hubctl audit --json prints */
static void test_row_json(void)
{
    hub_audit_row_t row = {.id = 7, .at_ms = 1795600000123, .actor = "hubd", .action = "delivered",
                           .department = "eng", .seq = 3, .detail = "{\"count\":1}"};
    json_t *j = hub_audit_row_json(&row, "abc");
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    CHECK_STR(text, "{\"id\":7,\"at\":\"2026-11-25T09:46:40.123Z\",\"at_ms\":1795600000123,\"actor\":\"hubd\","
                    "\"action\":\"delivered\",\"event_id\":null,\"case_id\":null,\"department\":\"eng\",\"seq\":3,"
                    "\"seq_to\":null,\"detail\":{\"count\":1},\"hash\":\"abc\"}");
    free(text);
    json_decref(j);
    row.detail = "not json";
    j = hub_audit_row_json(&row, "abc");
    CHECK_STR(json_string_value(json_object_get(j, "detail")), "not json");
    json_decref(j);

    hub_audit_verdict_t v = {.rows = 1, .head = "ff"};
    char line[HUB_ERR_LEN + 64];
    hub_audit_verdict_line(&v, line, sizeof line);
    CHECK_STR(line, "ok: 1 row, head ff");
    v.bad_id = 4;
    snprintf(v.what, sizeof v.what, "row 4 is missing (removed)");
    hub_audit_verdict_line(&v, line, sizeof line);
    CHECK_STR(line, "audit chain broken at row 4: missing (removed)");
    CHECK(hub_audit_action_known("escalated") && !hub_audit_action_known("escalate") && !hub_audit_action_known(""));
}

int main(void)
{
    if (s_make_master() != 0) {
        fprintf(stderr, "test_audit: cannot create a database in a temporary directory\n");
        return 1;
    }
    static const check_case_t cases[] = {
        {"hash_known_values", test_hash_known_values},
        {"hash_every_column_counts", test_hash_every_column_counts},
        {"hash_null_is_not_empty", test_hash_null_is_not_empty},
        {"hash_field_boundaries_are_fixed", test_hash_field_boundaries_are_fixed},
        {"schema_is_idempotent", test_schema_is_idempotent},
        {"schema_drops_old_index", test_schema_drops_old_index},
        {"verify_intact", test_verify_intact},
        {"verify_empty", test_verify_empty},
        {"verify_edited_detail", test_verify_edited_detail},
        {"verify_edited_time", test_verify_edited_time},
        {"verify_null_made_empty", test_verify_null_made_empty},
        {"verify_retyped_values", test_verify_retyped_values},
        {"verify_hash_forms", test_verify_hash_forms},
        {"verify_deleted_middle", test_verify_deleted_middle},
        {"verify_deleted_first", test_verify_deleted_first},
        {"verify_deleted_and_renumbered", test_verify_deleted_and_renumbered},
        {"verify_inserted_forged", test_verify_inserted_forged},
        {"verify_inserted_before_first", test_verify_inserted_before_first},
        {"verify_swapped", test_verify_swapped},
        {"verify_cut_tail_is_not_seen", test_verify_cut_tail_is_not_seen},
        {"verify_no_table", test_verify_no_table},
        {"read_filters", test_read_filters},
        {"read_stops_and_fails", test_read_stops_and_fails},
        {"read_list_references", test_read_list_references},
        {"verify_list_references", test_verify_list_references},
        {"row_json", test_row_json},
        {NULL, NULL},
    };
    int status = check_run(cases);

    /* clean up the copies and the directory */
    char path[320];
    for (int i = 1; i <= s_copies; i++) {
        snprintf(path, sizeof path, "%s/copy-%d.db", s_dir, i);
        unlink(path);
    }
    unlink(s_master);
    rmdir(s_dir);
    return status;
}
