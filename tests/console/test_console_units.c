/*
 * console units - hub-console's modules without HTTP or a hub: password
 * hashes (PBKDF2 against the published test vectors), settings and users
 * files with their error messages, sessions, the login limiter, the case
 * board and the metrics text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "caseboard.h"
#include "check.h"
#include "limiter.h"
#include "metrics.h"
#include "password.h"
#include "reply.h"
#include "sessions.h"
#include "settings.h"
#include "sha256.h"
#include "users.h"

static char s_dir[] = "/tmp/console-units-XXXXXX";

/* Writes text to DIR/name; returns the path (static buffer). */
static const char *s_write(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static void s_hex_of(const uint8_t *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", bytes[i]);
}

/* ------------------------------------------------------------ password */

static void test_pbkdf2_vectors(void)
{
    static const struct {
        const char *password, *salt;
        uint32_t iterations;
        size_t len;
        const char *hex;
    } v[] = {
        /* RFC 7914 section 11 */
        {"passwd", "salt", 1, 64,
         "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30"
         "bd509112041d3a19783"},
        {"Password", "NaCl", 80000, 64,
         "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d"
         "078478f62b397f33c8d"},
        /* the widely published PBKDF2-HMAC-SHA256 vectors */
        {"password", "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
        {"password", "salt", 2, 32, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"},
        {"password", "salt", 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t out[64];
        char hex[129];
        cs_pbkdf2_sha256(v[i].password, strlen(v[i].password), v[i].salt, strlen(v[i].salt), v[i].iterations, out,
                         v[i].len);
        s_hex_of(out, v[i].len, hex);
        CHECK_STR(hex, v[i].hex);
    }
    /* one iteration is HMAC(P, S || INT(1)): the same bytes as hub_hmac_sha256 */
    uint8_t a[32], b[32];
    const char key[] = "a key longer than one sha-256 block, so that it is hashed first by both sides ....";
    cs_pbkdf2_sha256(key, strlen(key), "NaCl", 4, 1, a, sizeof a);
    hub_hmac_sha256(key, strlen(key), "NaCl\0\0\0\1", 8, b);
    CHECK(memcmp(a, b, 32) == 0);
}

static void test_base64(void)
{
    char out[16];
    cs_base64_encode((const uint8_t *)"f", 1, out);
    CHECK_STR(out, "Zg==");
    cs_base64_encode((const uint8_t *)"fo", 2, out);
    CHECK_STR(out, "Zm8=");
    cs_base64_encode((const uint8_t *)"foob", 4, out);
    CHECK_STR(out, "Zm9vYg==");
    uint8_t back[8];
    CHECK_INT(cs_base64_decode("Zm9vYmFy", back, sizeof back), 6);
    CHECK(memcmp(back, "foobar", 6) == 0);
    CHECK_INT(cs_base64_decode("Zm8=", back, sizeof back), 2);
    CHECK_INT(cs_base64_decode("Zm8", back, sizeof back), -1);        /* length */
    CHECK_INT(cs_base64_decode("Zm=8", back, sizeof back), -1);       /* '=' inside */
    CHECK_INT(cs_base64_decode("Zm9v====", back, sizeof back), -1);   /* padding not at the end */
    CHECK_INT(cs_base64_decode("Zm9vYmFy", back, 5), -1);             /* too long for out */
    CHECK_INT(cs_base64_decode("Zm9v!mFy", back, sizeof back), -1);   /* not base64 */
}

static void test_password_hash_and_check(void)
{
    char text[CS_PASSWORD_TEXT_LEN], again[CS_PASSWORD_TEXT_LEN], err[HUB_ERR_LEN];
    CHECK_INT(cs_password_hash("correct horse", CS_PASSWORD_MIN_ITERATIONS, text, err), 0);
    CHECK_INT(cs_password_hash("correct horse", CS_PASSWORD_MIN_ITERATIONS, again, err), 0);
    CHECK(strncmp(text, "pbkdf2-sha256$100000$", 21) == 0);
    CHECK(strcmp(text, again) != 0); /* a fresh salt each time */
    cs_password_t h;
    CHECK_INT(cs_password_parse(text, &h, err), 0);
    CHECK_INT(h.iterations, CS_PASSWORD_MIN_ITERATIONS);
    CHECK_INT(cs_password_check(&h, "correct horse", 13), 1);
    CHECK_INT(cs_password_check(&h, "correct hors", 12), 0);
    CHECK_INT(cs_password_check(&h, "correct horsf", 13), 0);
    char *long_pw = malloc(CS_PASSWORD_MAX + 2);
    memset(long_pw, 'x', CS_PASSWORD_MAX + 1);
    long_pw[CS_PASSWORD_MAX + 1] = '\0';
    CHECK_INT(cs_password_check(&h, long_pw, CS_PASSWORD_MAX + 1), 0);
    CHECK_INT(cs_password_hash(long_pw, CS_PASSWORD_MIN_ITERATIONS, text, err), -HUB_EINVALID);
    free(long_pw);
    CHECK_INT(cs_password_hash("", CS_PASSWORD_MIN_ITERATIONS, text, err), -HUB_EINVALID);
    CHECK_INT(cs_password_hash("x", 1000, text, err), -HUB_EINVALID);
    CHECK_HAS(err, "iterations");
}

static void test_password_parse_errors(void)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"plain-password", "must start with \"pbkdf2-sha256$\""},
        {"pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "iterations"},
        {"pbkdf2-sha256$x$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "iterations"},
        {"pbkdf2-sha256$100000$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "salt"},
        {"pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==$AAAA", "hash"},
        {"pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==", "expected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cs_password_t h;
        char err[HUB_ERR_LEN] = "";
        CHECK_INT(cs_password_parse(bad[i].text, &h, err), -HUB_EINVALID);
        CHECK_HAS(err, bad[i].why);
    }
}

static void test_text(void)
{
    CHECK_INT(cs_text_valid("CASE-1042"), 1);
    CHECK_INT(cs_text_valid("Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6"), 1);
    CHECK_INT(cs_text_valid("tab\there"), 0);
    CHECK_INT(cs_text_valid("del\x7f"), 0);
    CHECK_INT(cs_text_valid("\xc3"), 0);             /* cut short */
    CHECK_INT(cs_text_valid("\xc0\xaf"), 0);         /* overlong '/' */
    CHECK_INT(cs_text_valid("\xed\xa0\x80"), 0);     /* a surrogate */
    CHECK_INT(cs_text_valid("\xf4\x90\x80\x80"), 0); /* beyond U+10FFFF */
    char text[] = "ok\xff\nend\xc3";
    cs_text_clean(text);
    CHECK_STR(text, "ok??end?");
    cs_reply_t reply = {0};
    cs_reply_error(&reply, 400, "bad_request", "field \"%s\": bad", "x\xffy");
    CHECK_INT(reply.status, 400);
    CHECK_HAS(reply.body, "x?y");
    cs_reply_fini(&reply);
    cs_reply_fini(&reply); /* safe twice */
}

/* ------------------------------------------------------------ settings */

static void test_settings_load(void)
{
    const char *path = s_write("console.yaml", "listen: 127.0.0.1:0\n"
                                               "hub: { endpoint: ipc:///tmp/x.sock, key: keys/console,\n"
                                               "       server_key: /k/hubd.key }\n"
                                               "users_file: users.yaml\n"
                                               "proxy_header: X-Forwarded-User\n"
                                               "public_host: switchboard.example.com\n"
                                               "session_ttl: 2h\n"
                                               "secure_cookies: true\n"
                                               "metrics: operator\n");
    cs_settings_t s;
    cs_settings_init(&s);
    CHECK_STR(s.listen, "127.0.0.1:8081");
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(cs_settings_load(&s, path, err), 0);
    CHECK_STR(s.listen, "127.0.0.1:0");
    CHECK_STR(s.hub, "ipc:///tmp/x.sock");
    char want[300];
    snprintf(want, sizeof want, "%s/keys/console", s_dir);
    CHECK_STR(s.hub_key, want);
    CHECK_STR(s.hub_server_key, "/k/hubd.key");
    snprintf(want, sizeof want, "%s/users.yaml", s_dir);
    CHECK_STR(s.users_file, want);
    CHECK_STR(s.proxy_header, "X-Forwarded-User");
    CHECK_STR(s.public_host, "switchboard.example.com");
    CHECK_INT(s.session_ttl_ms, 2LL * 3600 * 1000);
    CHECK_INT(s.secure_cookies, 1);
    CHECK_INT(s.metrics, CS_METRICS_OPERATOR);
}

static void test_settings_errors(void)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"listen: localhost:80\n", "console.yaml:1: listen: \"localhost:80\": the host must be a numeric address"},
        {"listen: 127.0.0.1\n", "console.yaml:1: listen: \"127.0.0.1\" is not HOST:PORT"},
        {"users_file: u.yaml\nlisten: 127.0.0.1:99999\n", "console.yaml:2: listen"},
        {"hub: 127.0.0.1:7200\n", "hub: \"127.0.0.1:7200\" is not a ZeroMQ endpoint"},
        {"hub: { endpont: tcp://x:1 }\n", "hub: unknown key \"endpont\""},
        {"session_ttl: 10s\n", "session_ttl: \"10s\" is out of range"},
        {"session_ttl: soon\n", "console.yaml:1: session_ttl"},
        {"secure_cookies: maybe\n", "secure_cookies: expected true or false"},
        {"metrics: public\n", "metrics: \"public\" is not one of open, operator"},
        {"proxy_header: \"X User\"\n", "proxy_header: \"X User\" is not a header name"},
        {"public_host: https://x.example\n", "public_host: \"https://x.example\" is not a host name"},
        {"users_fil: u.yaml\n", "console.yaml:1: unknown key \"users_fil\""},
        {"- a\n- b\n", "expected a mapping of settings"},
        {"listen: [1, 2]\n", "listen: expected a single value, not a list"},
        {"listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", "console.yaml:2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = s_write("console.yaml", bad[i].text);
        cs_settings_t s;
        cs_settings_init(&s);
        char err[HUB_ERR_LEN] = "";
        CHECK_INT(cs_settings_load(&s, path, err), -HUB_ECONFIG);
        CHECK_HAS(err, bad[i].why);
    }
    cs_settings_t s;
    cs_settings_init(&s);
    char err[HUB_ERR_LEN] = "";
    CHECK(cs_settings_load(&s, "/nonexistent/console.yaml", err) < 0);
    CHECK_HAS(err, "/nonexistent/console.yaml");
}

/* --------------------------------------------------------------- users */

static const char s_hash[] =
    "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

static void test_users_load(void)
{
    char text[2048];
    snprintf(text, sizeof text,
             "users:\n"
             "  alice: { password: \"%s\", departments: [sales, finance] }\n"
             "  root:\n"
             "    password: \"%s\"\n"
             "    operator: true\n"
             "  sso-only: { departments: [shipping] }\n",
             s_hash, s_hash);
    const char *path = s_write("users.yaml", text);
    char err[HUB_ERR_LEN] = "";
    cs_users_t *users = cs_users_load(path, 0, err);
    CHECK(users != NULL);
    CHECK_INT(cs_users_count(users), 3);
    const cs_user_t *alice = cs_users_find(users, "alice");
    CHECK(alice && alice->ndepartments == 2 && !alice->operator && alice->has_password);
    CHECK_INT(cs_user_has_department(alice, "finance"), 1);
    CHECK_INT(cs_user_has_department(alice, "engineering"), 0);
    const cs_user_t *root = cs_users_find(users, "root");
    CHECK(root && root->operator);
    CHECK_INT(cs_user_has_department(root, "anything"), 1);
    const cs_user_t *sso = cs_users_find(users, "sso-only");
    CHECK(sso && !sso->has_password);
    CHECK(cs_users_find(users, "bob") == NULL);
    CHECK_INT(cs_users_max_iterations(users), 100000);
    cs_users_destroy(&users);
    CHECK(users == NULL);
    cs_users_destroy(&users); /* safe twice */

    /* without a proxy header every user needs a password (rule 2) */
    users = cs_users_load(path, 1, err);
    CHECK(users == NULL);
    CHECK_HAS(err, "users.yaml:6: users: sso-only: no password");
}

static void test_users_errors(void)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"users: {}\n", "users.yaml:1: users: expected a mapping of at least one user"},
        {"people: {}\n", "unknown key \"people\" (known: users)"},
        {"users:\n  \"al ice\": { departments: [x] }\n", "users.yaml:2: users: \"al ice\": a user name must be"},
        {"users:\n  a: { password: \"secret\", departments: [x] }\n", "users.yaml:2: users: a: not a password hash"},
        {"users:\n  a: { password: \"H\", departments: [x], admin: true }\n",
         "users.yaml:2: users: a: unknown key \"admin\""},
        {"users:\n  a: { password: \"H\" }\n", "users: a: no departments and not an operator"},
        {"users:\n  a: { password: \"H\", departments: sales }\n", "users: a: departments: expected a list"},
        {"users:\n  a: { password: \"H\", departments: [sales, sales] }\n", "\"sales\" is listed twice"},
        {"users:\n  a: { password: \"H\", departments: [\"sa les\"] }\n", "departments: \"sa les\" must be"},
        {"users:\n  a: { password: \"H\", operator: sometimes }\n", "operator: expected true or false"},
        {"users:\n  a: { password: \"H\", operator: true }\n  a: { password: \"H\", operator: true }\n",
         "users.yaml:3"},
        {"users: [a, b]\n", "users: expected a mapping"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        /* "H" stands for a valid hash */
        const char *h = strstr(bad[i].text, "\"H\"");
        size_t n = 0;
        for (const char *p = bad[i].text; *p && n + sizeof s_hash + 4 < sizeof text;) {
            if (p == h || (h && strncmp(p, "\"H\"", 3) == 0)) {
                n += (size_t)snprintf(text + n, sizeof text - n, "\"%s\"", s_hash);
                p += 3;
            }
            else
                text[n++] = *p++;
        }
        text[n] = '\0';
        const char *path = s_write("users.yaml", text);
        char err[HUB_ERR_LEN] = "";
        cs_users_t *users = cs_users_load(path, 1, err);
        CHECK(users == NULL);
        CHECK_HAS(err, bad[i].why);
        cs_users_destroy(&users);
    }
}

/* ------------------------------------------------------------ sessions */

static void test_sessions(void)
{
    cs_sessions_t *t = cs_sessions_new(60000);
    char id[CS_TOKEN_HEX], id2[CS_TOKEN_HEX];
    const cs_session_t *s = cs_sessions_create(t, "alice", 0, 1000, id);
    CHECK(s != NULL);
    CHECK_INT(strlen(id), 64);
    CHECK_INT(strspn(id, "0123456789abcdef"), 64);
    CHECK_INT(strlen(s->csrf), 64);
    CHECK(strcmp(s->csrf, id) != 0);
    char csrf[CS_TOKEN_HEX];
    snprintf(csrf, sizeof csrf, "%s", s->csrf);
    CHECK(cs_sessions_create(t, "bob", 0, 1000, id2) != NULL);
    CHECK(strcmp(id, id2) != 0);
    CHECK_INT(cs_sessions_count(t), 2);
    s = cs_sessions_find(t, id, 2000);
    CHECK(s && strcmp(s->user, "alice") == 0);
    CHECK_INT(cs_session_csrf_ok(s, csrf), 1);
    CHECK_INT(cs_session_csrf_ok(s, "0"), 0);
    CHECK_INT(cs_session_csrf_ok(s, NULL), 0);
    CHECK(cs_sessions_find(t, "nope", 2000) == NULL);
    CHECK(cs_sessions_find(t, NULL, 2000) == NULL);
    char upper[CS_TOKEN_HEX];
    snprintf(upper, sizeof upper, "%s", id);
    upper[0] = upper[0] == 'a' ? 'b' : 'a';
    CHECK(cs_sessions_find(t, upper, 2000) == NULL);
    /* expiry (rule 3) */
    CHECK(cs_sessions_find(t, id, 1000 + 60000) == NULL);
    CHECK_INT(cs_sessions_count(t), 1);
    CHECK_INT(cs_sessions_remove(t, id2), 1);
    CHECK_INT(cs_sessions_remove(t, id2), 0);
    CHECK_INT(cs_sessions_count(t), 0);
    /* a user's 17th login ends their own oldest session (rule 4) */
    char own_first[CS_TOKEN_HEX], own_last[CS_TOKEN_HEX], other[CS_TOKEN_HEX];
    CHECK(cs_sessions_create(t, "other", 0, 3000, other) != NULL);
    for (int i = 0; i < CS_SESSIONS_PER_USER + 1; i++)
        CHECK(cs_sessions_create(t, "busy", 0, 3001 + i, i == 0 ? own_first : own_last) != NULL);
    CHECK_INT(cs_sessions_count(t), CS_SESSIONS_PER_USER + 1);
    CHECK(cs_sessions_find(t, own_first, 4000) == NULL);
    CHECK(cs_sessions_find(t, own_last, 4000) != NULL);
    CHECK(cs_sessions_find(t, other, 4000) != NULL);
    CHECK_INT(cs_sessions_remove_user(t, "busy"), CS_SESSIONS_PER_USER);
    CHECK_INT(cs_sessions_remove_user(t, "other"), 1);
    CHECK_INT(cs_sessions_count(t), 0);
    /* a full table evicts the session that ends first (rule 4) */
    char first[CS_TOKEN_HEX], last[CS_TOKEN_HEX], name[32];
    for (int i = 0; i < CS_MAX_SESSIONS; i++) {
        snprintf(name, sizeof name, "u%d", i);
        CHECK(cs_sessions_create(t, name, 0, 5000 + i, i == 0 ? first : last) != NULL);
    }
    CHECK_INT(cs_sessions_count(t), CS_MAX_SESSIONS);
    CHECK(cs_sessions_create(t, "late", 0, 10000 + CS_MAX_SESSIONS, id) != NULL);
    CHECK_INT(cs_sessions_count(t), CS_MAX_SESSIONS);
    CHECK(cs_sessions_find(t, first, 10000 + CS_MAX_SESSIONS) == NULL);
    CHECK(cs_sessions_find(t, last, 10000 + CS_MAX_SESSIONS) != NULL);
    CHECK(cs_sessions_find(t, id, 10000 + CS_MAX_SESSIONS) != NULL);
    CHECK_INT(cs_sessions_remove_user(t, "u1"), 1);
    CHECK_INT(cs_sessions_count(t), CS_MAX_SESSIONS - 1);
    cs_sessions_destroy(&t);
    CHECK(t == NULL);
}

/* ------------------------------------------------------------- limiter */

static void test_limiter(void)
{
    cs_limiter_t *l = cs_limiter_new();
    int64_t now = 1000000;
    for (int i = 0; i < CS_LOGIN_FAILURES; i++) {
        CHECK_INT(cs_limiter_wait_s(l, "alice", now), 0);
        cs_limiter_failed(l, "alice", now);
    }
    int wait = cs_limiter_wait_s(l, "alice", now);
    CHECK(wait > 0 && wait <= CS_LOGIN_WINDOW_MS / 1000);
    CHECK_INT(cs_limiter_wait_s(l, "bob", now), 0); /* per name */
    CHECK(cs_limiter_wait_s(l, "alice", now + CS_LOGIN_WINDOW_MS - 1) > 0);
    CHECK_INT(cs_limiter_wait_s(l, "alice", now + CS_LOGIN_WINDOW_MS), 0); /* the window passed */
    /* a success clears the name */
    for (int i = 0; i < CS_LOGIN_FAILURES - 1; i++)
        cs_limiter_failed(l, "carol", now);
    cs_limiter_succeeded(l, "carol");
    cs_limiter_failed(l, "carol", now);
    CHECK_INT(cs_limiter_wait_s(l, "carol", now), 0);
    /* the console-wide window (rule 3) */
    char name[32];
    for (int i = 0; i < CS_LOGIN_GLOBAL_FAILURES; i++) {
        snprintf(name, sizeof name, "guess%d", i);
        cs_limiter_failed(l, name, now + 1);
    }
    CHECK(cs_limiter_wait_s(l, "dave", now + 2) > 0);
    CHECK_INT(cs_limiter_wait_s(l, "dave", now + 1 + CS_LOGIN_WINDOW_MS), 0);
    cs_limiter_destroy(&l);
    CHECK(l == NULL);
}

/* ----------------------------------------------------------- caseboard */

static json_t *s_rows(const char *text)
{
    json_error_t jerr;
    json_t *rows = json_loads(text, 0, &jerr);
    if (!rows)
        fprintf(stderr, "rows: %s\n", jerr.text);
    return rows;
}

static const char *s_state(const json_t *board, const char *department)
{
    size_t i;
    const json_t *col;
    json_array_foreach(json_object_get(board, "departments"), i, col) {
        if (strcmp(json_string_value(json_object_get(col, "department")), department) == 0)
            return json_string_value(json_object_get(col, "state"));
    }
    return NULL;
}

static const json_t *s_column(const json_t *board, const char *department)
{
    size_t i;
    const json_t *col;
    json_array_foreach(json_object_get(board, "departments"), i, col) {
        if (strcmp(json_string_value(json_object_get(col, "department")), department) == 0)
            return col;
    }
    return NULL;
}

static void test_caseboard(void)
{
    json_t *rows = s_rows(
        "[{\"action\":\"received\",\"seq\":1,\"actor\":\"support\",\"detail\":{\"type\":\"bug_report\"}},"
        " {\"action\":\"routed\",\"department\":\"engineering\",\"seq\":1,\"detail\":{\"slot\":0,\"route\":\"defect\","
        "\"topic\":\"engineering.defect\",\"respond_by\":\"2026-11-25T16:55:50.644Z\"}},"
        " {\"action\":\"routed\",\"department\":\"finance\",\"seq\":1,"
        "\"detail\":{\"slot\":1,\"route\":\"billing-flag\","
        "\"topic\":\"finance.billing_flag\"}},"
        " {\"action\":\"routed\",\"department\":\"sales\",\"seq\":1,\"detail\":{\"slot\":2,\"route\":\"followup\","
        "\"topic\":\"sales.followup\"}},"
        " {\"action\":\"routed\",\"department\":\"shipping\",\"seq\":1,\"detail\":{\"slot\":3,\"route\":\"rma\","
        "\"topic\":\"shipping.rma\",\"respond_by\":\"2026-11-25T16:55:50.644Z\"}},"
        " {\"action\":\"delivered\",\"department\":\"finance\",\"seq\":1,\"seq_to\":1},"
        " {\"action\":\"delivered\",\"department\":\"sales\",\"seq\":2,\"seq_to\":9},"
        " {\"action\":\"delivered\",\"department\":\"engineering\",\"seq\":1,\"seq_to\":1},"
        " {\"action\":\"breached\",\"department\":\"engineering\",\"seq\":1},"
        " {\"action\":\"escalated\",\"department\":\"engineering-oncall\",\"seq\":1,"
        "\"detail\":{\"from\":\"engineering\","
        "\"topic\":\"engineering-oncall.escalation\",\"escalation_seq\":5}},"
        " {\"action\":\"delivered\",\"department\":\"engineering-oncall\",\"seq\":5,\"seq_to\":5},"
        " {\"action\":\"responded\",\"department\":\"shipping\",\"seq\":4,\"actor\":\"sid@console\","
        "\"at\":\"2026-11-25T16:55:49Z\",\"detail\":{\"status\":\"in_progress\"}},"
        " {\"action\":\"breached\",\"department\":\"shipping\",\"seq\":1},"
        " {\"action\":\"responded\",\"department\":\"engineering\",\"seq\":6,\"actor\":\"alice@console\","
        "\"at\":\"2026-11-25T16:56:00Z\",\"detail\":{\"status\":\"resolved\",\"note\":\"fixed in 2.3.1\"}},"
        " {\"action\":\"routed\",\"department\":\"sales\",\"seq\":6,\"detail\":{\"slot\":0,\"route\":\"case-update\","
        "\"topic\":\"sales.case_update\"}},"
        " {\"action\":\"responded\",\"department\":\"finance\",\"seq\":7,\"actor\":\"fin@console\","
        "\"detail\":{\"status\":\"acknowledged\"}},"
        " {\"action\":\"routed\",\"department\":\"finance\",\"seq\":8,\"detail\":{\"route\":\"billing-flag\","
        "\"topic\":\"finance.billing_flag\"}}]");
    CHECK(rows != NULL);
    json_t *board = cs_caseboard_build("CASE-1042", rows, "Acme Corp");
    CHECK(board != NULL);
    if (!board) {
        json_decref(rows);
        return;
    }
    CHECK_STR(json_string_value(json_object_get(board, "case_id")), "CASE-1042");
    CHECK_STR(json_string_value(json_object_get(board, "customer")), "Acme Corp");
    CHECK_INT(json_array_size(json_object_get(board, "history")), json_array_size(rows));
    /* rule 1: the answer wins over the breach and the escalation before it */
    CHECK_STR(s_state(board, "engineering"), "resolved");
    const json_t *eng = s_column(board, "engineering");
    CHECK(json_is_true(json_object_get(eng, "breached")));
    CHECK(json_is_true(json_object_get(eng, "escalated")));
    CHECK_STR(json_string_value(json_object_get(eng, "escalated_to")), "engineering-oncall");
    CHECK_STR(json_string_value(json_object_get(eng, "answered_by")), "alice@console");
    CHECK_STR(json_string_value(json_object_get(eng, "note")), "fixed in 2.3.1");
    CHECK_STR(json_string_value(json_object_get(eng, "respond_by")), "2026-11-25T16:55:50.644Z");
    /* ... also when the breach is recorded after the answer */
    CHECK_STR(s_state(board, "shipping"), "in_progress");
    /* the backup that got the escalation, delivered through its seq */
    CHECK_STR(s_state(board, "engineering-oncall"), "delivered");
    CHECK_STR(json_string_value(json_object_get(s_column(board, "engineering-oncall"), "topic")),
              "engineering-oncall.escalation");
    /* rule 3: sales' delivered range 2..9 does not cover seq 1; then the case
     * update (seq 6) was routed to it and nothing delivered it yet */
    CHECK_STR(s_state(board, "sales"), "notified");
    CHECK_STR(json_string_value(json_object_get(s_column(board, "sales"), "topic")), "sales.case_update");
    /* rule 2: a notification after the answer opens the column again */
    CHECK_STR(s_state(board, "finance"), "notified");
    cs_user_t user = {.name = "sam", .ndepartments = 1};
    snprintf(user.departments[0], CS_NAME_LEN, "sales");
    CHECK_INT(cs_caseboard_involves(board, &user), 1);
    snprintf(user.departments[0], CS_NAME_LEN, "legal");
    CHECK_INT(cs_caseboard_involves(board, &user), 0);
    user.operator = 1;
    CHECK_INT(cs_caseboard_involves(board, &user), 1);
    json_decref(board);
    json_decref(rows);
}

/* The columns both layouts below give engineering and finance: the
 * notification with its deadline, and a delivery that covers finance's;
 * a finance user is involved. */
static void s_check_listed(const json_t *board)
{
    CHECK_STR(s_state(board, "engineering"), "notified");
    CHECK_STR(json_string_value(json_object_get(s_column(board, "engineering"), "respond_by")),
              "2026-11-25T16:55:50.644Z");
    CHECK_STR(s_state(board, "finance"), "delivered");
    CHECK_STR(json_string_value(json_object_get(s_column(board, "finance"), "topic")), "finance.billing_flag");
    cs_user_t user = {.name = "fin", .ndepartments = 1};
    snprintf(user.departments[0], CS_NAME_LEN, "finance");
    CHECK_INT(cs_caseboard_involves(board, &user), 1);
}

/* The case board of CASE-7 built from rows_text (a JSON array of audit
 * rows): departments columns, the first two as s_check_listed has them.
 * The caller frees it; NULL when it was not built. */
static json_t *s_board_listed(const char *rows_text, size_t departments)
{
    json_t *rows = s_rows(rows_text);
    json_t *board = cs_caseboard_build("CASE-7", rows, NULL);
    json_decref(rows);
    CHECK(board != NULL);
    if (board) {
        CHECK_INT(json_array_size(json_object_get(board, "departments")), departments);
        s_check_listed(board);
    }
    return board;
}

/* The received row as hubd writes it now: the event's notifications
 * listed in its detail, those that do not fit in a routed row after it; an
 * event the hub made (an escalation) has the count in its received row,
 * which names no department. Each department gets its column. */
static void test_caseboard_received_list(void)
{
    json_t *board = s_board_listed(
        "[{\"action\":\"received\",\"seq\":3,\"actor\":\"support\",\"detail\":{\"type\":\"bug_report\","
        "   \"source\":\"support\",\"notifications\":["
        "   {\"slot\":0,\"department\":\"engineering\",\"route\":\"defect\",\"topic\":\"engineering.defect\","
        "    \"respond_by\":\"2026-11-25T16:55:50.644Z\"},"
        "   {\"slot\":1,\"department\":\"finance\",\"route\":\"billing-flag\",\"topic\":\"finance.billing_flag\"}]}},"
        " {\"action\":\"routed\",\"department\":null,\"seq\":3,\"detail\":{\"notifications\":["
        "   {\"slot\":2,\"department\":\"sales\",\"route\":\"followup\",\"topic\":\"sales.followup\"}]}},"
        " {\"action\":\"received\",\"seq\":5,\"actor\":\"hubd\",\"detail\":{\"type\":\"escalation\","
        "   \"source\":\"hubd\",\"notifications\":1}},"
        " {\"action\":\"delivered\",\"department\":\"finance\",\"seq\":2,\"seq_to\":4,\"detail\":{\"count\":3}}]",
        3);
    if (board) {
        CHECK_STR(s_state(board, "sales"), "notified");
        CHECK_STR(json_string_value(json_object_get(s_column(board, "sales"), "route")), "followup");
    }
    json_decref(board);
}

/* A routed row as hubd wrote it before its received row listed them: one
 * per event, its notifications listed in detail (the received row has
 * their count); each department gets its column. */
static void test_caseboard_routed_list(void)
{
    json_t *board = s_board_listed(
        "[{\"action\":\"received\",\"seq\":3,\"actor\":\"support\",\"detail\":{\"type\":\"bug_report\"}},"
        " {\"action\":\"routed\",\"department\":null,\"seq\":3,\"detail\":{\"notifications\":["
        "   {\"slot\":0,\"department\":\"engineering\",\"route\":\"defect\",\"topic\":\"engineering.defect\","
        "    \"respond_by\":\"2026-11-25T16:55:50.644Z\"},"
        "   {\"slot\":1,\"department\":\"finance\",\"route\":\"billing-flag\",\"topic\":\"finance.billing_flag\"}]}},"
        " {\"action\":\"delivered\",\"department\":\"finance\",\"seq\":2,\"seq_to\":4,\"detail\":{\"count\":3}}]",
        2);
    json_decref(board);
}

/* -------------------------------------------------------------- metrics */

static void test_metrics(void)
{
    json_t *status = s_rows(
        "{\"last_seq\":42,\"uptime_s\":7,\"routes\":6,"
        " \"counters\":[{\"name\":\"events_received\",\"label\":\"type\",\"value\":\"bug_report\",\"count\":3},"
        "   {\"name\":\"deliveries\",\"label\":\"department\",\"value\":\"sales\",\"count\":2},"
        "   {\"name\":\"events_received\",\"label\":\"type\",\"value\":\"we\\\"ird\\\\\\n\",\"count\":1},"
        "   {\"name\":\"new_thing\",\"label\":\"\",\"count\":9},"
        "   {\"name\":\"bad name!\",\"label\":\"x\",\"value\":\"y\",\"count\":9}],"
        " \"histograms\":[{\"name\":\"commit_seconds\",\"bounds\":[0.001,0.01],\"buckets\":[1,3,4],\"sum\":0.5,"
        "   \"count\":4}, {\"name\":\"broken\",\"bounds\":[1],\"buckets\":[1]}],"
        " \"subscribers\":[{\"name\":\"sales\",\"backlog\":5,\"in_flight\":2,\"oldest_unacked_ms\":1500,"
        "   \"connected\":true,\"position\":37}]}");
    cs_console_stats_t stats = {.sessions = 2, .logins_ok = 3, .logins_failed = 1};
    char *text = cs_metrics_render(status, &stats);
    CHECK(text != NULL);
    if (!text) {
        json_decref(status);
        return;
    }
    CHECK_HAS(text, "switchboard_hub_up 1\n");
    CHECK_HAS(text, "# TYPE switchboard_events_received_total counter\n"
                    "switchboard_events_received_total{type=\"bug_report\"} 3\n"
                    "switchboard_events_received_total{type=\"we\\\"ird\\\\\\n\"} 1\n");
    CHECK_HAS(text, "switchboard_deliveries_total{department=\"sales\"} 2\n");
    CHECK_HAS(text, "# HELP switchboard_breaches_total "); /* rule 2: known, no samples yet */
    CHECK_HAS(text, "# TYPE switchboard_new_thing_total counter\nswitchboard_new_thing_total 9\n");
    CHECK(strstr(text, "bad name") == NULL);
    CHECK_HAS(text, "# TYPE switchboard_commit_seconds histogram\n"
                    "switchboard_commit_seconds_bucket{le=\"0.001\"} 1\n"
                    "switchboard_commit_seconds_bucket{le=\"0.01\"} 3\n"
                    "switchboard_commit_seconds_bucket{le=\"+Inf\"} 4\n"
                    "switchboard_commit_seconds_sum 0.5\n"
                    "switchboard_commit_seconds_count 4\n");
    CHECK(strstr(text, "switchboard_broken") == NULL);
    CHECK_HAS(text, "switchboard_backlog{subscriber=\"sales\"} 5\n");
    CHECK_HAS(text, "switchboard_in_flight{subscriber=\"sales\"} 2\n");
    CHECK_HAS(text, "switchboard_oldest_unacked_seconds{subscriber=\"sales\"} 1.5\n");
    CHECK_HAS(text, "switchboard_subscriber_connected{subscriber=\"sales\"} 1\n");
    CHECK_HAS(text, "switchboard_last_seq 42\n");
    CHECK_HAS(text, "switchboard_console_sessions 2\n");
    CHECK_HAS(text, "switchboard_console_logins_total{result=\"failed\"} 1\n");
    /* rule 1: each family's HELP once */
    const char *first = strstr(text, "# HELP switchboard_events_received_total");
    CHECK(first && !strstr(first + 1, "# HELP switchboard_events_received_total"));
    free(text);
    json_decref(status);

    text = cs_metrics_render(NULL, &stats);
    CHECK_HAS(text, "switchboard_hub_up 0\n");
    CHECK(text && !strstr(text, "switchboard_backlog"));
    free(text);
}

int main(void)
{
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    static const check_case_t cases[] = {
        {"pbkdf2 test vectors", test_pbkdf2_vectors},
        {"base64", test_base64},
        {"password hash and check", test_password_hash_and_check},
        {"password hash parse errors", test_password_parse_errors},
        {"text checks for JSON and logs", test_text},
        {"settings load", test_settings_load},
        {"settings errors", test_settings_errors},
        {"users load", test_users_load},
        {"users errors", test_users_errors},
        {"sessions", test_sessions},
        {"login limiter", test_limiter},
        {"case board", test_caseboard},
        {"case board, a received row listing its notifications", test_caseboard_received_list},
        {"case board, a routed row listing its notifications", test_caseboard_routed_list},
        {"metrics text", test_metrics},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    char path[256];
    snprintf(path, sizeof path, "%s/console.yaml", s_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/users.yaml", s_dir);
    unlink(path);
    if (rmdir(s_dir) != 0)
        fprintf(stderr, "could not remove %s\n", s_dir);
    return rc;
}
