/*
 * audit - the audit log of a real hub, read back with hubctl: the sample
 * bug report gets its received row, which names each department it went to
 * (an event routed to more than that row holds gets routed rows), the
 * department that takes and acknowledges it gets delivered and acked range
 * rows covering its seq, a refused publish gets a rejected row; and
 * `hubctl audit verify` holds on the log and names the first bad row of a
 * copy whose detail was edited, whose middle row was deleted or whose two
 * rows were swapped with the sqlite3 library, whether the edit sits in the
 * copy's WAL or was checkpointed into the file. Over the wire (hubctl
 * --remote, hub_audit_query) the hub sends the same rows the file holds,
 * and a long reading (a verification of a long log) does not hold up
 * publishing while it runs. Events routed alike store their list once:
 * later receipts name the first, and every reader shows the list.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "harness.h"

#define S_CASE "CASE-1042"
#define S_SAMPLE_ID "support-desk-20261123-0001"
#define S_WAIT_MS 10000

/* The sample bug report (deploy/samples), read whole; the caller frees. */
static char *s_sample(void)
{
    char path[HARNESS_PATH * 2];
    snprintf(path, sizeof path, "%s/deploy/samples/01-bug-report.json",
             harness_source_root() ? harness_source_root() : ".");
    char *text = harness_read_file(path);
    if (!text)
        fprintf(stderr, "cannot read %s\n", path);
    return text;
}

/* A string field of an audit row, "" when absent or null. */
static const char *s_str(const json_t *row, const char *key)
{
    const char *v = json_string_value(json_object_get(row, key));
    return v ? v : "";
}

/* A number field of an audit row (or of its detail), -1 when absent. */
static long long s_int(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static const json_t *s_detail(const json_t *row)
{
    return json_object_get(row, "detail");
}

/* ms since the epoch of an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.mmm]Z",
 * or -1. */
static int64_t s_time_ms(const char *text)
{
    struct tm tm = {0};
    const char *rest = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return -1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*rest == '.') {
        int frac = 0, digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*rest - '0');
        for (; digits < 3; digits++)
            frac *= 10;
        ms += frac;
    }
    return *rest == 'Z' ? ms : -1;
}

/* The notification of department dept in the event's received row,
 * checked against what the sample policy says of it: topic, route, slot,
 * seq, and respond_by for the routes with a commitment. */
static void s_check_routed(const json_t *rows, const char *dept, const char *topic, const char *route, long long slot,
                           uint64_t seq, int64_t respond_within_ms)
{
    CHECK_INT(harness_audit_count(rows, "received", dept), 1);
    const json_t *r = harness_audit_find(rows, "received", dept);
    if (!r)
        return;
    CHECK_STR(s_str(r, "event_id"), S_SAMPLE_ID);
    CHECK_STR(s_str(r, "case_id"), S_CASE);
    CHECK_INT(s_int(r, "seq"), seq);
    CHECK(json_is_null(json_object_get(r, "department"))); /* the row is the event's; its notifications name them */
    const json_t *n = NULL, *list = json_object_get(s_detail(r), "notifications");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(s_str(json_array_get(list, i), "department"), dept) == 0)
            n = json_array_get(list, i);
    CHECK(n != NULL);
    if (!n)
        return;
    CHECK_STR(s_str(n, "topic"), topic);
    CHECK_STR(s_str(n, "route"), route);
    CHECK_INT(s_int(n, "slot"), slot);
    CHECK(*s_str(n, "reason") != '\0');
    const char *respond_by = json_string_value(json_object_get(n, "respond_by"));
    if (respond_within_ms == 0) {
        CHECK(respond_by == NULL);
    } else {
        /* the deadline starts when the notification is stored */
        int64_t by = s_time_ms(respond_by);
        CHECK(by > 0);
        long long off = by - s_int(r, "at_ms") - respond_within_ms;
        CHECK(off > -1000 && off < 1000);
    }
}

/* The range row (delivered or acked) of department dept covering seq. */
static void s_check_range(const json_t *rows, const char *action, const char *dept, uint64_t seq)
{
    size_t covering = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        if (strcmp(s_str(r, "action"), action) != 0 || strcmp(s_str(r, "department"), dept) != 0)
            continue;
        long long lo = s_int(r, "seq"), hi = s_int(r, "seq_to");
        if (lo <= (long long)seq && (long long)seq <= hi) {
            covering++;
            CHECK(s_int(s_detail(r), "count") >= 1);
            CHECK(s_int(s_detail(r), "count") <= hi - lo + 1);
        }
    }
    if (covering != 1)
        fprintf(stderr, "  %zu %s rows of %s cover seq %" PRIu64 "\n", covering, action, dept, seq);
    CHECK_INT(covering, 1);
}

/* Publishes an event without a type through a bare DEALER (libhub would
 * refuse it itself); the hub must answer with an Error naming "type". */
static int s_publish_untyped(harness_t *h, const char *id, const char *case_id)
{
    harness_raw_t *raw = harness_raw_new(harness_endpoint(h));
    Hub__Frame *reply = NULL;
    int ok = 0;
    if (raw && harness_raw_hello(raw, 5000)) {
        Hub__Event ev = HUB__EVENT__INIT;
        ev.id = (char *)id;
        ev.case_id = (char *)case_id;
        ev.subject = (char *)"no type";
        Hub__Publish p = HUB__PUBLISH__INIT;
        p.event = &ev;
        Hub__Frame f = HUB__FRAME__INIT;
        f.has_version = 1;
        f.version = HUB_PROTOCOL_VERSION;
        f.has_corr = 1;
        f.corr = 7;
        f.body_case = HUB__FRAME__BODY_PUBLISH;
        f.publish = &p;
        ok = harness_raw_send_frame(raw, &f) == 0 && harness_raw_expect(raw, HUB__FRAME__BODY_ERROR, &reply, 5000) &&
             reply->error->field && strcmp(reply->error->field, "type") == 0;
    }
    if (reply)
        hub__frame__free_unpacked(reply, NULL);
    harness_raw_destroy(&raw);
    return ok ? 0 : -1;
}

static void test_event_rows(void)
{
    hub_client_t *pub = NULL, *eng = NULL;
    json_t *rows = NULL;
    harness_run_t run = {0};
    harness_got_t got[1] = {0};
    size_t ngot = 0;
    char *sample = s_sample();
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(sample && h && harness_start(h) == 0);
    const char *eng_topics[] = {"engineering.*", NULL};
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    REQUIRE(harness_subscribe(eng, "engineering", eng_topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, sample, &res) == 0);
    CHECK_INT(res.notifications, 3);

    /* engineering takes it and acknowledges it: both are on record */
    ngot = harness_collect(eng, got, 1, 1, S_WAIT_MS);
    REQUIRE(ngot == 1);
    CHECK_INT(got[0].seq, res.seq);
    const char *by_case[] = {"--case", S_CASE, NULL};
    CHECK(harness_wait_audit(h, by_case, "acked", "engineering", 1, S_WAIT_MS));

    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    /* one received row with what the event was and where it went */
    CHECK_INT(harness_audit_count(rows, "received", NULL), 1);
    const json_t *rec = harness_audit_find(rows, "received", NULL);
    REQUIRE(rec != NULL);
    CHECK_STR(s_str(rec, "event_id"), S_SAMPLE_ID);
    CHECK_STR(s_str(rec, "case_id"), S_CASE);
    CHECK_INT(s_int(rec, "seq"), res.seq);
    CHECK_INT(s_int(rec, "seq_to"), res.seq);
    CHECK_STR(s_str(s_detail(rec), "type"), "bug_report");
    CHECK_STR(s_str(s_detail(rec), "source"), "support");
    CHECK_INT(json_array_size(json_object_get(s_detail(rec), "notifications")), 3);
    CHECK(*s_str(rec, "actor") != '\0' && strcmp(s_str(rec, "actor"), "hubd") != 0);
    CHECK(*s_str(rec, "hash") != '\0' && strlen(s_str(rec, "hash")) == 64);

    /* the received row names each notification with the topic its
     * department hears; no routed row: they all fit it */
    CHECK_INT(harness_audit_count(rows, "routed", NULL), 0);
    s_check_routed(rows, "engineering", "engineering.defect", "defect", 0, res.seq, 4 * 3600 * 1000LL);
    s_check_routed(rows, "finance", "finance.billing_flag", "billing-flag", 1, res.seq, 0);
    s_check_routed(rows, "sales", "sales.followup", "sales-followup", 2, res.seq, 0);
    CHECK_INT(harness_audit_count(rows, "received", "shipping"), 0);

    /* engineering's delivery and ack cover the seq; nobody else took it */
    s_check_range(rows, "delivered", "engineering", res.seq);
    s_check_range(rows, "acked", "engineering", res.seq);
    CHECK_INT(harness_audit_count(rows, "delivered", "finance") + harness_audit_count(rows, "delivered", "sales"), 0);
    CHECK_INT(harness_audit_count(rows, "acked", "finance") + harness_audit_count(rows, "acked", "sales"), 0);
    /* nothing about deadlines yet: 4 h to go */
    CHECK_INT(harness_audit_count(rows, "breached", NULL) + harness_audit_count(rows, "escalated", NULL), 0);

    /* in id order: received, then delivery, then ack */
    long long last_id = 0, received_at = -1, delivered_at = -1, acked_at = -1;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        long long id = s_int(r, "id");
        CHECK(id > last_id);
        last_id = id;
        const char *a = s_str(r, "action");
        if (!strcmp(a, "received"))
            received_at = id;
        else if (!strcmp(a, "delivered") && delivered_at < 0)
            delivered_at = id;
        else if (!strcmp(a, "acked") && acked_at < 0)
            acked_at = id;
    }
    CHECK(received_at > 0 && received_at < delivered_at && delivered_at < acked_at);
    json_decref(rows);

    /* the filters narrow it: finance's own rows are the received one
     * that names it */
    const char *finance[] = {"--case", S_CASE, "--department", "finance", NULL};
    REQUIRE((rows = harness_audit(h, finance)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    CHECK_INT(harness_audit_count(rows, "received", "finance"), 1);
    json_decref(rows);
    const char *by_action[] = {"--action", "received", "--department", "engineering", NULL};
    REQUIRE((rows = harness_audit(h, by_action)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    json_decref(rows);
    rows = NULL;

    /* a publish the hub refuses is on record with the reason */
    REQUIRE(s_publish_untyped(h, "bad-1042", S_CASE) == 0);
    const char *rejected[] = {"--action", "rejected", NULL};
    CHECK(harness_wait_audit(h, rejected, "rejected", NULL, 1, S_WAIT_MS));
    REQUIRE((rows = harness_audit(h, rejected)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    const json_t *rej = json_array_get(rows, 0);
    CHECK_STR(s_str(rej, "event_id"), "bad-1042");
    CHECK_STR(s_str(rej, "case_id"), S_CASE);
    CHECK_STR(s_str(s_detail(rej), "code"), "invalid");
    CHECK_HAS(s_str(s_detail(rej), "reason"), "type");
    json_decref(rows);
    rows = NULL;
    /* ... and it did not count as an event of the case */
    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    CHECK_INT(harness_audit_count(rows, "received", NULL), 1);
    CHECK_INT(harness_audit_count(rows, "rejected", NULL), 1);
    json_decref(rows);
    rows = NULL;

    /* the table: a header and one line per row */
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "audit", "--data", harness_data_dir(h), "--case", S_CASE, NULL), 0);
    CHECK_HAS(run.out, "ACTION");
    CHECK_HAS(run.out, "billing-flag");
    CHECK_HAS(run.out, "finance");
    harness_run_free(&run);

    /* the live log verifies, every row of it */
    REQUIRE((rows = harness_audit(h, NULL)) != NULL);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "audit", "verify", "--data", harness_data_dir(h), NULL), 0);
    long long n = -1;
    CHECK(sscanf(run.out, "ok: %lld rows", &n) == 1);
    CHECK(n >= (long long)json_array_size(rows) && json_array_size(rows) >= 6);
done:
    json_decref(rows);
    harness_run_free(&run);
    harness_got_free(got, ngot);
    free(sample);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    HARNESS_END(h);
}

/* ------------------------------------------------- tampered copies */

static int s_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int rc = in && out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in && ferror(in))
        rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "cannot copy %s to %s\n", from, to);
    return rc;
}

static long s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Runs sql on the database file path with the sqlite3 library, as someone
 * with the sqlite3 tool would. keep_wal: what it wrote stays in path-wal
 * (no checkpoint when the connection closes). Returns 0 or -1. */
static int s_sql(const char *path, const char *sql, int keep_wal)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK && keep_wal)
        rc = sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sqlite3 %s: %s: %s\n", path, sql, msg ? msg : db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_free(msg);
    if (sqlite3_close(db) != SQLITE_OK && rc == SQLITE_OK)
        rc = SQLITE_ERROR;
    return rc == SQLITE_OK ? 0 : -1;
}

/* `hubctl audit verify --db path`: the row count when it says ok, else -1. */
static long long s_verify_ok(const char *path)
{
    harness_run_t run = {0};
    long long n = -1;
    int status = harness_hubctl(NULL, NULL, &run, "audit", "verify", "--db", path, NULL);
    if (status != 0 || sscanf(run.out, "ok: %lld rows", &n) != 1) {
        fprintf(stderr, "  verify %s: exit %d: %s%s\n", path, status, run.out ? run.out : "", run.err ? run.err : "");
        n = -1;
    }
    harness_run_free(&run);
    return n;
}

/* `hubctl audit verify --db path` exits 1 naming row 'row'. */
static void s_verify_broken_at(const char *path, long long row)
{
    harness_run_t run = {0};
    char want[64];
    snprintf(want, sizeof want, "audit chain broken at row %lld:", row);
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "audit", "verify", "--db", path, NULL), 1);
    CHECK_HAS(run.err, want);
    CHECK(run.out && strstr(run.out, "ok:") == NULL);
    harness_run_free(&run);
}

/* The id of the first row of action (and department), or -1. */
static long long s_row_id(const json_t *rows, const char *action, const char *dept)
{
    const json_t *r = harness_audit_find(rows, action, dept);
    return r ? s_int(r, "id") : -1;
}

/* A fresh copy of the stopped hub's database at DIR/name. */
static const char *s_fresh_copy(harness_t *h, const char *name, char *path, size_t cap)
{
    char db[HARNESS_PATH + 16];
    snprintf(db, sizeof db, "%s/hub.db", harness_data_dir(h));
    snprintf(path, cap, "%s/%s", harness_dir(h), name);
    return s_copy_file(db, path) == 0 ? path : NULL;
}

static void test_verify_copies(void)
{
    hub_client_t *pub = NULL, *eng = NULL;
    json_t *rows = NULL;
    harness_got_t got[4] = {0};
    size_t ngot = 0;
    char *sample = s_sample();
    char sql[1024], db[HARNESS_PATH + 16], wal[HARNESS_PATH + 32], copy[HARNESS_PATH + 32], copy_wal[HARNESS_PATH + 48];
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(sample && h && harness_start(h) == 0);
    const char *eng_topics[] = {"engineering.*", NULL};
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    REQUIRE(harness_subscribe(eng, "engineering", eng_topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE(harness_publish(pub, sample, NULL) == 0);
    REQUIRE(harness_publish(pub,
                            "{\"id\":\"v-2\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-2\","
                            "\"customer\":{\"id\":\"C-2\",\"tier\":\"business\",\"billing_status\":\"current\"},"
                            "\"subject\":\"slow search\"}",
                            NULL) == 0);
    ngot = harness_collect(eng, got, 2, 1, S_WAIT_MS);
    REQUIRE(ngot == 2);
    const char *no_filter[] = {NULL};
    REQUIRE(harness_wait_audit(h, no_filter, "acked", "engineering", 1, S_WAIT_MS));

    /* 1. a copy taken while hubd runs: the file and its WAL */
    snprintf(db, sizeof db, "%s/hub.db", harness_data_dir(h));
    snprintf(wal, sizeof wal, "%s-wal", db);
    snprintf(copy, sizeof copy, "%s/live-copy.db", harness_dir(h));
    snprintf(copy_wal, sizeof copy_wal, "%s-wal", copy);
    REQUIRE((rows = harness_audit(h, NULL)) != NULL);
    long long live_rows = (long long)json_array_size(rows);
    long long edited = s_row_id(rows, "received", "finance");
    json_decref(rows);
    rows = NULL;
    CHECK(s_file_size(wal) > 0); /* what hubd committed is (still) in the WAL */
    REQUIRE(s_copy_file(db, copy) == 0 && s_copy_file(wal, copy_wal) == 0);
    CHECK_INT(s_verify_ok(copy), live_rows);
    /* an edit that stays in the copy's WAL, then the same copy checkpointed */
    REQUIRE(edited > 1);
    snprintf(sql, sizeof sql, "UPDATE audit SET detail = replace(detail, 'finance', 'nobody') WHERE id = %lld", edited);
    REQUIRE(s_sql(copy, sql, 1) == 0);
    CHECK(s_file_size(copy_wal) > 0);
    s_verify_broken_at(copy, edited);
    REQUIRE(s_sql(copy, "PRAGMA wal_checkpoint(TRUNCATE)", 0) == 0);
    CHECK(s_file_size(copy_wal) <= 0);
    s_verify_broken_at(copy, edited);

    /* 2. a clean stop checkpoints the WAL: hub.db alone holds every row */
    hub_client_destroy(&eng);
    hub_client_destroy(&pub);
    REQUIRE(harness_stop(h) == 0);
    CHECK(s_file_size(wal) <= 0);
    REQUIRE((rows = harness_audit(h, NULL)) != NULL);
    long long total = (long long)json_array_size(rows);
    CHECK(total >= live_rows && total >= 6);
    REQUIRE(s_fresh_copy(h, "stopped-copy.db", copy, sizeof copy) != NULL);
    CHECK_INT(s_verify_ok(copy), total);

    /* an edited detail: the engineering notification's topic */
    long long named = s_row_id(rows, "received", "engineering");
    REQUIRE(named > 1);
    REQUIRE(s_fresh_copy(h, "edited.db", copy, sizeof copy) != NULL);
    snprintf(sql, sizeof sql,
             "UPDATE audit SET detail = replace(detail, 'engineering.defect', 'engineering.ignore') WHERE id = %lld",
             named);
    REQUIRE(s_sql(copy, sql, 0) == 0);
    s_verify_broken_at(copy, named);

    /* a deleted row in the middle */
    long long middle = total / 2;
    REQUIRE(s_fresh_copy(h, "deleted.db", copy, sizeof copy) != NULL);
    snprintf(sql, sizeof sql, "DELETE FROM audit WHERE id = %lld", middle);
    REQUIRE(s_sql(copy, sql, 0) == 0);
    s_verify_broken_at(copy, middle);

    /* two rows swapped, hashes and all: the sample's received row and the
     * row before it */
    long long b = s_row_id(rows, "received", "finance"), a = b - 1;
    REQUIRE(a > 1);
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (s_int(json_array_get(rows, i), "id") == a)
            CHECK(strcmp(s_str(json_array_get(rows, i), "action"), "received") != 0);
    REQUIRE(s_fresh_copy(h, "swapped.db", copy, sizeof copy) != NULL);
    snprintf(sql, sizeof sql,
             "CREATE TEMP TABLE pair AS SELECT * FROM audit WHERE id IN (%lld, %lld);"
             "UPDATE audit SET (at_ms, actor, action, event_id, case_id, department, seq, seq_to, detail, hash) = "
             "(SELECT at_ms, actor, action, event_id, case_id, department, seq, seq_to, detail, hash FROM pair "
             "WHERE pair.id = CASE audit.id WHEN %lld THEN %lld ELSE %lld END) WHERE id IN (%lld, %lld);",
             a, b, a, b, a, a, b);
    REQUIRE(s_sql(copy, sql, 0) == 0);
    s_verify_broken_at(copy, a);

    /* a database a later hubd marked newer is not read as if it were ours */
    REQUIRE(s_fresh_copy(h, "newer.db", copy, sizeof copy) != NULL);
    REQUIRE(s_sql(copy, "PRAGMA user_version=99", 0) == 0);
    harness_run_t newer = {0};
    CHECK_INT(harness_hubctl(NULL, NULL, &newer, "audit", "verify", "--db", copy, NULL), 1);
    CHECK_HAS(newer.err, "has schema 99, newer than this hubctl reads");
    CHECK(newer.out && strstr(newer.out, "ok:") == NULL);
    harness_run_free(&newer);

    /* the original was left alone */
    snprintf(copy, sizeof copy, "%s/hub.db", harness_data_dir(h));
    CHECK_INT(s_verify_ok(copy), total);
done:
    json_decref(rows);
    harness_got_free(got, ngot);
    free(sample);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    HARNESS_END(h);
}

/* ------------------------------------------------- over the wire */

/* The last n lines of text (a pointer into it). */
static const char *s_last_lines(const char *text, size_t n)
{
    size_t len = strlen(text);
    const char *p = text + len;
    if (p > text && p[-1] == '\n')
        p--;
    while (p > text) {
        if (p[-1] == '\n' && --n == 0)
            break;
        p--;
    }
    return p;
}

/* hubctl audit / history / audit verify with --remote print what they
 * print from the file; hub_audit_query answers with the same objects,
 * keeps to the limit and says truncated, and refuses a bad query. */
static void test_remote(void)
{
    hub_client_t *pub = NULL, *eng = NULL;
    harness_run_t local = {0}, remote = {0};
    harness_got_t got[1] = {0};
    size_t ngot = 0;
    char *sample = s_sample(), *reply = NULL;
    json_t *obj = NULL;
    char err[HUB_ERR_LEN] = "";
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(sample && h && harness_start(h) == 0);
    const char *dir = harness_data_dir(h);
    const char *eng_topics[] = {"engineering.*", NULL};
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    REQUIRE(harness_subscribe(eng, "engineering", eng_topics, HUB_FROM_RESUME, 0, 10) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, sample, &res) == 0);
    ngot = harness_collect(eng, got, 1, 1, S_WAIT_MS);
    REQUIRE(ngot == 1);
    const char *by_case[] = {"--case", S_CASE, NULL};
    REQUIRE(harness_wait_audit(h, by_case, "acked", "engineering", 1, S_WAIT_MS));

    /* the case's rows, JSON and table: byte for byte what the file gives */
    CHECK_INT(harness_hubctl(h, NULL, &local, "audit", "--data", dir, "--case", S_CASE, "--json", NULL), 0);
    CHECK_INT(harness_hubctl(h, NULL, &remote, "audit", "--remote", "--case", S_CASE, "--json", NULL), 0);
    CHECK(harness_count_lines(local.out) >= 3); /* received, delivered, acked */
    CHECK_STR(remote.out, local.out);
    harness_run_free(&local);
    harness_run_free(&remote);
    CHECK_INT(harness_hubctl(h, NULL, &local, "audit", "--data", dir, "--case", S_CASE, NULL), 0);
    CHECK_INT(harness_hubctl(h, NULL, &remote, "audit", "--remote", "--case", S_CASE, NULL), 0);
    CHECK_HAS(remote.out, "billing-flag");
    CHECK_STR(remote.out, local.out);
    harness_run_free(&local);
    harness_run_free(&remote);

    /* --limit: the last rows that match, oldest first */
    CHECK_INT(harness_hubctl(h, NULL, &local, "audit", "--data", dir, "--case", S_CASE, "--json", NULL), 0);
    CHECK_INT(harness_hubctl(h, NULL, &remote, "audit", "--remote", "--case", S_CASE, "--limit", "2", "--json", NULL),
              0);
    CHECK_INT(harness_count_lines(remote.out), 2);
    CHECK_STR(remote.out, s_last_lines(local.out, 2));
    harness_run_free(&local);
    harness_run_free(&remote);

    /* the case's history, for people and as JSON */
    CHECK_INT(harness_hubctl(h, NULL, &local, "history", S_CASE, "--data", dir, NULL), 0);
    CHECK_INT(harness_hubctl(h, NULL, &remote, "history", S_CASE, "--remote", NULL), 0);
    CHECK_HAS(remote.out, "received");
    CHECK_STR(remote.out, local.out);
    /* the notifications its received row names: a line each */
    size_t routed_lines = 0;
    for (const char *p = local.out; (p = strstr(p, " routed ")) != NULL; p++)
        routed_lines++;
    CHECK_INT(routed_lines, 3);
    CHECK_HAS(local.out, "finance            finance.billing_flag (route billing-flag, seq");
    harness_run_free(&local);
    harness_run_free(&remote);
    CHECK_INT(harness_hubctl(h, NULL, &local, "history", S_CASE, "--json", "--data", dir, NULL), 0);
    CHECK_INT(harness_hubctl(h, NULL, &remote, "history", S_CASE, "--json", "--remote", NULL), 0);
    CHECK_STR(remote.out, local.out);
    harness_run_free(&local);
    harness_run_free(&remote);
    CHECK_INT(harness_hubctl(h, NULL, &remote, "history", "CASE-NONE", "--remote", NULL), 1);
    CHECK_HAS(remote.err, "no case CASE-NONE");
    harness_run_free(&remote);

    /* the chain, verified by the hub */
    CHECK_INT(harness_hubctl(h, NULL, &remote, "audit", "verify", "--remote", NULL), 0);
    long long n = -1;
    CHECK(sscanf(remote.out, "ok: %lld rows, head ", &n) == 1);
    CHECK(n >= 5); /* policy_loaded, subscribed, received, delivered, acked */
    harness_run_free(&remote);
    /* --remote and a file do not mix */
    CHECK_INT(harness_hubctl(h, NULL, &remote, "audit", "--remote", "--data", dir, NULL), 2);
    harness_run_free(&remote);

    /* libhub: the reply as JSON, rows as the objects hubctl prints */
    CHECK_INT(hub_audit_query(pub, "{\"case_id\":\"" S_CASE "\",\"action\":\"received\",\"limit\":2}", &reply,
                              S_WAIT_MS, err),
              0);
    REQUIRE(reply && (obj = json_loads(reply, 0, NULL)) != NULL);
    CHECK_INT(json_array_size(json_object_get(obj, "rows")), 1); /* one received row for the event */
    CHECK(json_is_false(json_object_get(obj, "truncated")));
    json_t *row = json_loads(json_string_value(json_array_get(json_object_get(obj, "rows"), 0)), 0, NULL);
    CHECK_STR(s_str(row, "action"), "received");
    CHECK_STR(s_str(row, "case_id"), S_CASE);
    const json_t *list = json_object_get(json_object_get(row, "detail"), "notifications");
    CHECK_INT(json_array_size(list), 3);
    CHECK_STR(s_str(json_array_get(list, 2), "department"), "sales"); /* the last of the three */
    json_decref(row);
    json_decref(obj);
    obj = NULL;
    free(reply);
    reply = NULL;
    /* more rows than the limit: the last ones, and truncated says so */
    CHECK_INT(hub_audit_query(pub, "{\"case_id\":\"" S_CASE "\",\"limit\":2}", &reply, S_WAIT_MS, err), 0);
    REQUIRE(reply && (obj = json_loads(reply, 0, NULL)) != NULL);
    CHECK_INT(json_array_size(json_object_get(obj, "rows")), 2);
    CHECK(json_is_true(json_object_get(obj, "truncated")));
    json_decref(obj);
    obj = NULL;
    free(reply);
    reply = NULL;
    CHECK_INT(hub_audit_query(pub, "{\"verify\":true}", &reply, S_WAIT_MS, err), 0);
    REQUIRE(reply && (obj = json_loads(reply, 0, NULL)) != NULL);
    CHECK(json_integer_value(json_object_get(obj, "verified_rows")) >= 5);
    CHECK_INT(json_integer_value(json_object_get(obj, "broken_at")), 0);
    CHECK_HAS(json_string_value(json_object_get(obj, "verdict")), "ok: ");
    free(reply);
    reply = NULL;
    /* a query libhub or the hub cannot take */
    CHECK_INT(hub_audit_query(pub, "{\"case\":\"x\"}", &reply, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "case");
    CHECK_INT(hub_audit_query(pub, "{\"action\":\"eaten\"}", &reply, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "unknown action");
    CHECK_INT(hub_audit_query(pub, "{\"verify\":true,\"case_id\":\"x\"}", &reply, S_WAIT_MS, err), -HUB_EINVALID);
    CHECK_HAS(err, "verify");
    CHECK(reply == NULL);
done:
    json_decref(obj);
    free(reply);
    harness_run_free(&local);
    harness_run_free(&remote);
    harness_got_free(got, ngot);
    free(sample);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    HARNESS_END(h);
}

/* A hub that verified in its loop would acknowledge at most the one or two
 * publishes that reach it before the verification's query does; one that
 * verifies on a reader acknowledges them throughout (a hundred or more
 * here). The threshold sits between the two, far from both, so that how
 * fast this machine hashes does not decide the test. */
#define S_LONG_EVENTS 40000 /* events behind the long reading: about 4 audit rows each */
#define S_LONG_MIN_ACKS 6    /* publishes acknowledged while it runs, at least */

typedef struct {
    hub_client_t *client;
    int rc;
    char *reply;
    char err[HUB_ERR_LEN];
    atomic_int done;
} s_verifier_t;

static void *s_verify(void *arg)
{
    s_verifier_t *v = arg;
    v->rc = hub_audit_query(v->client, "{\"verify\": true}", &v->reply, 120000, v->err);
    atomic_store(&v->done, 1);
    return NULL;
}

/* A verification of a log of some 160,000 rows is asked for by one
 * client while another publishes one event after another, each waiting
 * for its ack: the publisher's events keep being acknowledged while the
 * verification runs (a hub that read in its loop would acknowledge none
 * of those that arrive after the verification until it is over). */
static void test_long_reading(void)
{
    hub_client_t *pub = NULL, *auditor = NULL;
    s_verifier_t v = {0};
    atomic_init(&v.done, 0);
    char err[HUB_ERR_LEN] = "";
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    REQUIRE((auditor = harness_client(h, "auditor")) != NULL);
    REQUIRE(hub_client_ping(auditor, S_WAIT_MS) == 0);
    hub_client_set_window(pub, 2000);
    char ev[256];
    size_t sent = 0, stored = 0;
    hub_publish_outcome_t out[256];
    while (stored < S_LONG_EVENTS) {
        while (sent < S_LONG_EVENTS && hub_publish_pending(pub) < 2000) {
            snprintf(ev, sizeof ev,
                     "{\"id\":\"long-%zu\",\"type\":\"bug_report\",\"case_id\":\"CASE-%zu\","
                     "\"customer\":{\"tier\":\"enterprise\",\"billing_status\":\"overdue\"}}",
                     sent, sent % 500);
            uint64_t token;
            REQUIRE(hub_publish_async(pub, ev, &token, err) == 0);
            sent++;
        }
        int n = hub_publish_wait(pub, out, 256, S_WAIT_MS);
        REQUIRE(n > 0);
        for (int i = 0; i < n; i++)
            REQUIRE(out[i].status == 0);
        stored += (size_t)n;
    }

    v.client = auditor;
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, s_verify, &v) == 0);
    size_t acked = 0;
    for (size_t i = 0; i < 100000 && !atomic_load(&v.done); i++) {
        snprintf(ev, sizeof ev, "{\"id\":\"during-%zu\",\"type\":\"complaint\",\"case_id\":\"CASE-D\"}", i);
        hub_publish_result_t res;
        if (harness_publish(pub, ev, &res) != 0)
            break;
        if (!atomic_load(&v.done))
            acked++;
    }
    pthread_join(thread, NULL);
    CHECK_INT(v.rc, 0);
    if (v.rc != 0)
        fprintf(stderr, "verify: %s\n", v.err);
    CHECK(v.reply && strstr(v.reply, "\"verdict\":\"ok:") != NULL);
    fprintf(stderr, "%zu publishes acknowledged while the verification ran\n", acked);
    CHECK(acked >= S_LONG_MIN_ACKS);
done:
    free(v.reply);
    hub_client_destroy(&auditor);
    hub_client_destroy(&pub);
    HARNESS_END(h);
}

#define S_WIDE 30 /* departments of test_wide_routing's policy: more than a received row names */

/* The slots of the notifications that rows (in id order) name for event
 * id, in that order, into slots (S_WIDE); returns how many, and sets
 * *listed to how many the received row itself named (-1: it gave a count). */
static size_t s_wide_slots(const json_t *rows, long long slots[S_WIDE], long long *listed)
{
    size_t n = 0;
    *listed = -1;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        const json_t *list = json_object_get(s_detail(r), "notifications");
        if (strcmp(s_str(r, "action"), "received") == 0 && json_is_array(list))
            *listed = (long long)json_array_size(list);
        for (size_t k = 0; k < json_array_size(list) && n < S_WIDE; k++)
            slots[n++] = s_int(json_array_get(list, k), "slot");
    }
    return n;
}

/* An event routed to more departments than its received row can name: the
 * received row names the first ones, routed rows after it the others, each
 * once and in slot order; the department filter and the case's history
 * find them all. An event whose source leaves its received row no room
 * gets their count there, and routed rows name them all. */
static void test_wide_routing(void)
{
    char policy[8192], source[1601], ev[2048];
    hub_client_t *pub = NULL;
    json_t *rows = NULL;
    harness_run_t run = {0};
    harness_t *h = NULL;
    size_t len = (size_t)snprintf(policy, sizeof policy, "departments:\n");
    for (int i = 0; i < S_WIDE; i++)
        len += (size_t)snprintf(policy + len, sizeof policy - len, "  dept-%02d: {}\n", i);
    len += (size_t)snprintf(policy + len, sizeof policy - len, "routes:\n");
    for (int i = 0; i < S_WIDE; i++)
        len += (size_t)snprintf(policy + len, sizeof policy - len,
                                "  - name: route-to-department-number-%02d\n"
                                "    match: { type: wide }\n"
                                "    notify: dept-%02d\n"
                                "    kind: wide\n",
                                i, i);
    REQUIRE(len < sizeof policy);
    harness_opts_t o = {.policy_text = policy};
    h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, "{\"id\":\"wide-1\",\"type\":\"wide\",\"case_id\":\"CASE-WIDE\"}", &res) == 0);
    CHECK_INT(res.notifications, S_WIDE);

    const char *by_event[] = {"--event", "wide-1", NULL};
    REQUIRE((rows = harness_audit(h, by_event)) != NULL);
    long long slots[S_WIDE], listed = 0;
    CHECK_INT(s_wide_slots(rows, slots, &listed), S_WIDE);
    for (long long i = 0; i < S_WIDE; i++)
        CHECK_INT(slots[i], i);
    CHECK(listed > 0 && listed < S_WIDE);
    CHECK(harness_audit_count(rows, "routed", NULL) >= 1);
    CHECK_INT(harness_audit_count(rows, "received", "dept-00"), 1);
    CHECK_INT(harness_audit_count(rows, "routed", "dept-29"), 1);
    const json_t *last = harness_audit_about(harness_audit_find(rows, "routed", "dept-29"), "dept-29");
    CHECK_STR(s_str(last, "route"), "route-to-department-number-29");
    CHECK_STR(s_str(last, "topic"), "dept-29.wide");
    json_decref(rows);
    const char *first_dept[] = {"--event", "wide-1", "--department", "dept-00", NULL};
    REQUIRE((rows = harness_audit(h, first_dept)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    CHECK_INT(harness_audit_count(rows, "received", NULL), 1);
    json_decref(rows);
    const char *last_dept[] = {"--event", "wide-1", "--department", "dept-29", NULL};
    REQUIRE((rows = harness_audit(h, last_dept)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    CHECK_INT(harness_audit_count(rows, "routed", NULL), 1);
    json_decref(rows);
    rows = NULL;
    /* a line per notification in the history, each department once */
    CHECK_INT(harness_hubctl(h, NULL, &run, "history", "CASE-WIDE", "--data", harness_data_dir(h), NULL), 0);
    size_t lines = 0;
    for (const char *p = run.out; p && (p = strstr(p, " routed ")) != NULL; p++)
        lines++;
    CHECK_INT(lines, S_WIDE);
    CHECK_HAS(run.out, "dept-00            dept-00.wide (route route-to-department-number-00, seq");
    CHECK_HAS(run.out, "dept-29            dept-29.wide (route route-to-department-number-29, seq");
    harness_run_free(&run);

    /* a source of 1,600 bytes: the received row has the count */
    memset(source, 's', sizeof source - 1);
    source[sizeof source - 1] = '\0';
    snprintf(ev, sizeof ev, "{\"id\":\"wide-2\",\"type\":\"wide\",\"case_id\":\"CASE-WIDE\",\"source\":\"%s\"}", source);
    REQUIRE(harness_publish(pub, ev, &res) == 0);
    const char *second[] = {"--event", "wide-2", NULL};
    REQUIRE((rows = harness_audit(h, second)) != NULL);
    CHECK_INT(s_wide_slots(rows, slots, &listed), S_WIDE);
    for (long long i = 0; i < S_WIDE; i++)
        CHECK_INT(slots[i], i);
    CHECK_INT(listed, -1);
    const json_t *rec = harness_audit_find(rows, "received", NULL);
    CHECK(rec && s_int(s_detail(rec), "notifications") == S_WIDE);
    CHECK_INT(strlen(s_str(s_detail(rec), "source")), sizeof source - 1);
    CHECK(harness_audit_count(rows, "routed", NULL) >= 2);
    json_decref(rows);

    /* an event no route takes: its received row lists nothing */
    REQUIRE(harness_publish(pub, "{\"id\":\"none-1\",\"type\":\"other\",\"case_id\":\"CASE-NONE\"}", &res) == 0);
    CHECK_INT(res.notifications, 0);
    const char *none[] = {"--event", "none-1", NULL};
    REQUIRE((rows = harness_audit(h, none)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    rec = harness_audit_find(rows, "received", NULL);
    const json_t *list = rec ? json_object_get(s_detail(rec), "notifications") : NULL;
    CHECK(json_is_array(list) && json_array_size(list) == 0);
    CHECK_INT(harness_hubctl(h, NULL, &run, "history", "CASE-NONE", "--data", harness_data_dir(h), NULL), 0);
    CHECK_HAS(run.out, "received      other CASE-NONE (seq");
    CHECK(run.out && strstr(run.out, " routed ") == NULL);
    harness_run_free(&run);
    CHECK(harness_hubctl(NULL, NULL, &run, "audit", "verify", "--data", harness_data_dir(h), NULL) == 0);
done:
    harness_run_free(&run);
    json_decref(rows);
    hub_client_destroy(&pub);
    HARNESS_END(h);
}

/* The stored detail of event id's received row, into out ("" when none),
 * and that row's id. */
static long long s_stored_receipt(harness_t *h, const char *id, char *out, size_t cap)
{
    char path[HARNESS_PATH * 2];
    snprintf(path, sizeof path, "%s/hub.db", harness_data_dir(h));
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long row = -1;
    out[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT id, detail FROM audit WHERE action = 'received' AND event_id = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            row = sqlite3_column_int64(st, 0);
            snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 1));
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return row;
}

/* Events routed alike, one commit each: the first received row lists the
 * notifications, the later ones name it ("notifications_as") and are read
 * back, from the file and over the wire, with the list in place; the
 * department filter and the history follow the reference; after a crash
 * the hub lists a routing once more before it names it again; an event
 * with a deadline lists its own. The log verifies. */
static void test_routing_listed_once(void)
{
    static const char policy[] = "departments:\n"
                                 "  eng: {}\n"
                                 "  fin: {}\n"
                                 "routes:\n"
                                 "  - name: to-eng\n"
                                 "    match: { type: [alike, timed] }\n"
                                 "    notify: eng\n"
                                 "    kind: alike\n"
                                 "  - name: to-fin\n"
                                 "    match: { type: alike }\n"
                                 "    notify: fin\n"
                                 "    kind: alike\n"
                                 "  - name: timed\n"
                                 "    match: { type: timed }\n"
                                 "    notify: fin\n"
                                 "    kind: timed\n"
                                 "    respond_within: 1h\n"
                                 "  - name: tiered\n"
                                 "    match:\n"
                                 "      type: tiered\n"
                                 "      customer.tier: [gold, silver]\n"
                                 "    notify: eng\n"
                                 "    kind: tiered\n";
    hub_client_t *pub = NULL, *eng = NULL;
    json_t *rows = NULL;
    harness_run_t run = {0}, remote = {0};
    harness_got_t got[4] = {0};
    size_t ngot = 0;
    char detail[4096], ev[256], ref[64];
    harness_opts_t o = {.policy_text = policy};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    hub_publish_result_t res;
    for (int i = 1; i <= 3; i++) {
        snprintf(ev, sizeof ev, "{\"id\":\"alike-%d\",\"type\":\"alike\",\"case_id\":\"CASE-ALIKE\"}", i);
        REQUIRE(harness_publish(pub, ev, &res) == 0);
        CHECK_INT(res.notifications, 2);
    }
    long long first = s_stored_receipt(h, "alike-1", detail, sizeof detail);
    CHECK(first > 0);
    CHECK_HAS(detail, "\"notifications\":[{\"slot\":0");
    snprintf(ref, sizeof ref, ",\"notifications_as\":%lld}", first);
    for (int i = 2; i <= 3; i++) {
        snprintf(ev, sizeof ev, "alike-%d", i);
        CHECK(s_stored_receipt(h, ev, detail, sizeof detail) > first);
        CHECK_HAS(detail, ref);
        CHECK(strstr(detail, "\"notifications\"") == NULL);
    }

    /* read back with the list: the same notifications as the first */
    const char *by_case[] = {"--case", "CASE-ALIKE", "--action", "received", NULL};
    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    CHECK_INT(json_array_size(rows), 3);
    const json_t *list1 = json_object_get(s_detail(json_array_get(rows, 0)), "notifications");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *list = json_object_get(s_detail(json_array_get(rows, i)), "notifications");
        CHECK_INT(json_array_size(list), 2);
        CHECK(json_equal(list, list1));
        CHECK_STR(s_str(harness_audit_about(json_array_get(rows, i), "fin"), "topic"), "fin.alike");
    }
    json_decref(rows);
    rows = NULL;
    const char *fin[] = {"--department", "fin", "--action", "received", NULL};
    REQUIRE((rows = harness_audit(h, fin)) != NULL);
    CHECK_INT(json_array_size(rows), 3);
    json_decref(rows);
    rows = NULL;
    CHECK_INT(harness_hubctl(h, NULL, &run, "audit", "--data", harness_data_dir(h), "--case", "CASE-ALIKE", "--json",
                             NULL),
              0);
    CHECK_INT(harness_hubctl(h, NULL, &remote, "audit", "--remote", "--case", "CASE-ALIKE", "--json", NULL), 0);
    CHECK_STR(remote.out, run.out);
    CHECK(run.out && strstr(run.out, "notifications_as") == NULL);
    harness_run_free(&run);
    harness_run_free(&remote);
    CHECK_INT(harness_hubctl(h, NULL, &run, "history", "CASE-ALIKE", "--data", harness_data_dir(h), NULL), 0);
    size_t lines = 0;
    for (const char *p = run.out; p && (p = strstr(p, "fin.alike (route to-fin")) != NULL; p++)
        lines++;
    CHECK_INT(lines, 3);
    harness_run_free(&run);

    /* a crash: the first receipt after it lists the routing again, the
     * next names that one */
    hub_client_destroy(&pub);
    REQUIRE(harness_kill(h) == 0 && harness_start(h) == 0);
    REQUIRE((pub = harness_client(h, "support")) != NULL);
    for (int i = 4; i <= 5; i++) {
        snprintf(ev, sizeof ev, "{\"id\":\"alike-%d\",\"type\":\"alike\",\"case_id\":\"CASE-ALIKE\"}", i);
        REQUIRE(harness_publish(pub, ev, &res) == 0);
    }
    long long fourth = s_stored_receipt(h, "alike-4", detail, sizeof detail);
    CHECK_HAS(detail, "\"notifications\":[");
    snprintf(ref, sizeof ref, ",\"notifications_as\":%lld}", fourth);
    s_stored_receipt(h, "alike-5", detail, sizeof detail);
    CHECK_HAS(detail, ref);

    /* a routing with a deadline is its event's own: listed every time */
    for (int i = 1; i <= 2; i++) {
        snprintf(ev, sizeof ev, "{\"id\":\"timed-%d\",\"type\":\"timed\",\"case_id\":\"CASE-ALIKE\"}", i);
        REQUIRE(harness_publish(pub, ev, &res) == 0);
        snprintf(ev, sizeof ev, "timed-%d", i);
        s_stored_receipt(h, ev, detail, sizeof detail);
        CHECK_HAS(detail, "\"respond_by\"");
        CHECK(strstr(detail, "notifications_as") == NULL);
    }
    /* the same route for different reasons, one after the other: each
     * event's notification carries its own reason, and so does its row */
    static const char *const tiers[] = {"gold", "gold", "silver", "gold"};
    REQUIRE((eng = harness_client(h, "engineering")) != NULL);
    const char *eng_topics[] = {"eng.tiered", NULL};
    REQUIRE(harness_subscribe(eng, "eng", eng_topics, HUB_FROM_LATEST, 0, 10) == 0);
    for (int i = 0; i < 4; i++) {
        snprintf(ev, sizeof ev,
                 "{\"id\":\"tiered-%d\",\"type\":\"tiered\",\"case_id\":\"CASE-TIER\","
                 "\"customer\":{\"tier\":\"%s\"}}",
                 i, tiers[i]);
        REQUIRE(harness_publish(pub, ev, &res) == 0);
    }
    ngot = harness_collect(eng, got, 4, 1, S_WAIT_MS);
    REQUIRE(ngot == 4);
    for (int i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof want, "customer.tier=%s", tiers[i]);
        snprintf(ev, sizeof ev, "tiered-%d", i);
        CHECK_STR(got[i].event_id, ev);
        CHECK_HAS(got[i].json, want);
        s_stored_receipt(h, ev, detail, sizeof detail);
        rows = NULL;
        const char *by_event[] = {"--event", ev, "--action", "received", NULL};
        REQUIRE((rows = harness_audit(h, by_event)) != NULL);
        CHECK_HAS(s_str(harness_audit_about(json_array_get(rows, 0), "eng"), "reason"), want);
        json_decref(rows);
        rows = NULL;
    }
    CHECK_INT(harness_hubctl(NULL, NULL, &run, "audit", "verify", "--data", harness_data_dir(h), NULL), 0);
    CHECK_HAS(run.out, "ok: ");
done:
    harness_run_free(&run);
    harness_run_free(&remote);
    harness_got_free(got, ngot);
    json_decref(rows);
    hub_client_destroy(&pub);
    hub_client_destroy(&eng);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"an event's rows: received naming each department, delivered and acked, rejected", test_event_rows},
        {"audit verify names the edited, deleted or swapped row of a copy, WAL or not", test_verify_copies},
        {"over the wire: the same rows, history and verdict as from the file", test_remote},
        {"a long reading does not hold up publishing", test_long_reading},
        {"an event routed to more departments than its received row names", test_wide_routing},
        {"events routed alike: the first receipt lists them, the others name it", test_routing_listed_once},
        {NULL, NULL},
    };
    return check_run(cases);
}
