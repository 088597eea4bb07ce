/*
 * security - CURVE authentication and the access list, on a real hubd:
 * keys made with `hubctl keygen`, a hub.yaml with security: curve, keys:
 * and access:, and clients using libhub's key options, $HUB_KEY and
 * $HUB_SERVER_KEY, and hubctl's --key and --server-key.
 *
 * The harness's own clients (its readiness ping, its status client, the
 * hubctl it runs) find their key in the environment: each CURVE case sets
 * HUB_KEY to the "operator" identity, which the access list makes admin.
 *
 * Identities in the curve cases:
 *   support   publish: bug_report, complaint, ...       (no subscribe)
 *   finance   subscribe: finance.*
 *   operator  subscribe: *, admin, audit
 *   reader    audit (reads notifications and the policy; acts on nothing)
 *   mute      a known key that the access list does not name
 *   stranger  a key pair the hub does not know
 *
 * Only ipc:// and loopback endpoints carry traffic. The one case that makes
 * hubd listen on tcp://0.0.0.0 (to see --insecure accepted) sends it
 * nothing and stops it as soon as it says it is ready.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define S_WAIT_MS 10000  /* for what must happen */
#define S_SILENT_MS 1500 /* for what must not: a refused key's calls time out */
#define S_KEY_LEN 40     /* z85 characters of a CURVE key */

extern char **environ;

/* ---------------------------------------------------------------- keys */

/* A directory of key pairs made with hubctl keygen: DIR/NAME.key and
 * DIR/NAME.secret; DIR/clients holds the public keys the hub knows. */
typedef struct {
    char dir[HARNESS_PATH];
    char clients[HARNESS_PATH + 16];
    char server[HARNESS_PATH + 16]; /* DIR/hubd.key: the hub's public key */
    char prefix[HARNESS_PATH + 80]; /* last s_prefix */
    char config[4 * HARNESS_PATH];  /* hub.yaml for security: curve */
} s_keys_t;

static const char s_access[] =
    "access:\n"
    "  support: { publish: [bug_report, complaint, return_request, billing_question, feature_request] }\n"
    "  finance: { subscribe: [\"finance.*\"] }\n"
    "  operator: { subscribe: [\"*\"], admin: true, audit: true }\n"
    "  reader: { audit: true }\n";

/* DIR/name: a key pair's path prefix (valid until the next call). */
static const char *s_prefix(s_keys_t *k, const char *name)
{
    snprintf(k->prefix, sizeof k->prefix, "%s/%s", k->dir, name);
    return k->prefix;
}

/* Runs hubctl keygen NAME --dir DIR. Returns its exit status. */
static int s_keygen(const char *dir, const char *name, int force, harness_run_t *run)
{
    const char *args[] = {"keygen", name, "--dir", dir, force ? "--force" : NULL, NULL};
    return harness_hubctl_argv(NULL, NULL, run, args);
}

static int s_copy(const char *from, const char *to)
{
    char *text = harness_read_file(from);
    if (!text)
        return -1;
    FILE *f = fopen(to, "w");
    int rc = f && fputs(text, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

/* Makes the pairs: hubd (the hub's), every name of known (its public key
 * copied to clients/) and of unknown (kept away from the hub), and the
 * curve hub.yaml. Returns 0 or -1 (message on stderr). */
static int s_keys_make(s_keys_t *k, const char *const *known, const char *const *unknown)
{
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "%s/hub-sec-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(k->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(k->clients, sizeof k->clients, "%s/clients", k->dir);
    snprintf(k->server, sizeof k->server, "%s/hubd.key", k->dir);
    if (mkdir(k->clients, 0755) != 0) {
        perror("mkdir");
        return -1;
    }
    harness_run_t run = {0};
    int rc = s_keygen(k->dir, "hubd", 0, &run);
    harness_run_free(&run);
    for (size_t i = 0; rc == 0 && known && known[i]; i++) {
        rc = s_keygen(k->dir, known[i], 0, &run);
        if (rc != 0)
            fprintf(stderr, "keygen %s: %s\n", known[i], run.err ? run.err : "");
        harness_run_free(&run);
        char from[HARNESS_PATH + 96], to[HARNESS_PATH + 96];
        snprintf(from, sizeof from, "%s/%s.key", k->dir, known[i]);
        snprintf(to, sizeof to, "%s/%s.key", k->clients, known[i]);
        if (rc == 0)
            rc = s_copy(from, to);
    }
    for (size_t i = 0; rc == 0 && unknown && unknown[i]; i++) {
        rc = s_keygen(k->dir, unknown[i], 0, &run);
        harness_run_free(&run);
    }
    if (rc != 0) {
        fprintf(stderr, "could not make the key pairs in %s\n", k->dir);
        return -1;
    }
    snprintf(k->config, sizeof k->config, "security: curve\nkeys:\n  server: %s/hubd\n  clients: %s\n%s", k->dir,
             k->clients, s_access);
    return 0;
}

static int s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes the key directory; clears the key variables of the environment. */
static void s_keys_remove(s_keys_t *k)
{
    unsetenv("HUB_KEY");
    unsetenv("HUB_SERVER_KEY");
    if (k->dir[0] && !getenv("HARNESS_KEEP"))
        nftw(k->dir, s_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A hub with security: curve and the access list above, started. The
 * harness's own clients authenticate as operator (environment). */
static harness_t *s_curve_hub(s_keys_t *k, int failures_now)
{
    harness_opts_t o = {.config_text = k->config};
    harness_t *h = harness_new(&o, failures_now);
    setenv("HUB_KEY", s_prefix(k, "operator"), 1);
    setenv("HUB_SERVER_KEY", k->server, 1);
    if (h && harness_start(h) != 0)
        fprintf(stderr, "the curve hub did not start\n");
    return h;
}

/* A libhub client on h as identity name (its key pair in k), or without
 * any key when name is NULL. server: the hub's public key file to use
 * (NULL: the right one). */
static hub_client_t *s_client(harness_t *h, s_keys_t *k, const char *name, const char *server, int timeout_ms,
                              char err[HUB_ERR_LEN])
{
    hub_options_t o = {
        .endpoint = harness_endpoint(h),
        .client_name = name ? name : "keyless",
        .timeout_ms = timeout_ms,
        .heartbeat_ms = 200,
        .key = name ? s_prefix(k, name) : "",
        .server_key = server ? server : k->server,
    };
    hub_client_t *c = hub_client_new(&o, err);
    if (!c)
        fprintf(stderr, "hub_client_new(%s): %s\n", name ? name : "keyless", err);
    return c;
}

static const char s_bug[] = "{\"id\":\"sec-1\",\"type\":\"bug_report\",\"source\":\"support\",\"case_id\":\"CASE-S1\","
                            "\"customer\":{\"id\":\"C-1\",\"tier\":\"free\",\"billing_status\":\"current\"},"
                            "\"severity\":\"high\",\"subject\":\"export crashes\"}";

static const char s_overdue[] =
    "{\"id\":\"sec-2\",\"type\":\"complaint\",\"source\":\"support\",\"case_id\":\"CASE-S2\","
    "\"customer\":{\"id\":\"C-2\",\"tier\":\"free\",\"billing_status\":\"overdue\"},"
    "\"severity\":\"medium\",\"subject\":\"invoice twice\"}";

/* The mode bits of path, or -1. */
static int s_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* The text of a one-line key file without its newline ("" when it is not
 * 40 characters and a newline). */
static void s_key_text(const char *path, char out[S_KEY_LEN + 1])
{
    out[0] = '\0';
    char *text = harness_read_file(path);
    if (text && strlen(text) == S_KEY_LEN + 1 && text[S_KEY_LEN] == '\n')
        snprintf(out, S_KEY_LEN + 1, "%.*s", S_KEY_LEN, text);
    free(text);
}

/* ---------------------------------------------------------------- cases */

/* keygen writes NAME.key 0644 and NAME.secret 0600 whatever the umask,
 * refuses to overwrite, replaces with --force, and libhub reads the pair. */
static void test_keygen(void)
{
    s_keys_t k;
    harness_run_t run = {0};
    char pub[S_KEY_LEN + 1], sec[S_KEY_LEN + 1], pub2[S_KEY_LEN + 1], sec2[S_KEY_LEN + 1];
    char key_path[HARNESS_PATH + 32], secret_path[HARNESS_PATH + 32];
    REQUIRE(s_keys_make(&k, NULL, NULL) == 0);
    snprintf(key_path, sizeof key_path, "%s/support.key", k.dir);
    snprintf(secret_path, sizeof secret_path, "%s/support.secret", k.dir);

    mode_t old_umask = umask(0077); /* the modes are set, not left to the umask */
    int rc = s_keygen(k.dir, "support", 0, &run);
    umask(old_umask);
    CHECK_INT(rc, 0);
    CHECK_HAS(run.out, "support.key");
    harness_run_free(&run);
    CHECK_INT(s_mode(key_path), 0644);
    CHECK_INT(s_mode(secret_path), 0600);
    s_key_text(key_path, pub);
    s_key_text(secret_path, sec);
    CHECK_INT(strlen(pub), S_KEY_LEN);
    CHECK_INT(strlen(sec), S_KEY_LEN);
    CHECK(strcmp(pub, sec) != 0);

    /* again: refused, nothing changed */
    CHECK_INT(s_keygen(k.dir, "support", 0, &run), 1);
    CHECK_HAS(run.err, "exists");
    CHECK_HAS(run.err, "--force");
    harness_run_free(&run);
    s_key_text(key_path, pub2);
    s_key_text(secret_path, sec2);
    CHECK_STR(pub2, pub);
    CHECK_STR(sec2, sec);
    /* only the secret left: still refused (a pair is replaced whole) */
    char moved[HARNESS_PATH + 32];
    snprintf(moved, sizeof moved, "%s/support.moved", k.dir);
    CHECK_INT(rename(key_path, moved), 0);
    CHECK_INT(s_keygen(k.dir, "support", 0, &run), 1);
    CHECK_HAS(run.err, "support.secret exists");
    harness_run_free(&run);
    CHECK_INT(s_mode(key_path), -1);
    CHECK_INT(rename(moved, key_path), 0);

    /* --force: a new pair, same modes */
    CHECK_INT(s_keygen(k.dir, "support", 1, &run), 0);
    harness_run_free(&run);
    s_key_text(key_path, pub2);
    s_key_text(secret_path, sec2);
    CHECK_INT(strlen(pub2), S_KEY_LEN);
    CHECK(strcmp(pub2, pub) != 0);
    CHECK(strcmp(sec2, sec) != 0);
    CHECK_INT(s_mode(key_path), 0644);
    CHECK_INT(s_mode(secret_path), 0600);

    /* names that are not identities are usage errors */
    CHECK_INT(s_keygen(k.dir, "../escape", 0, &run), 2);
    harness_run_free(&run);
    CHECK_INT(s_keygen(k.dir, "a/b", 0, &run), 2);
    harness_run_free(&run);

    /* libhub takes the pair; a secret others may read is refused */
    char err[HUB_ERR_LEN] = "";
    hub_options_t o = {
        .endpoint = "ipc:///nonexistent/hub.sock", .key = s_prefix(&k, "support"), .server_key = k.server};
    hub_client_t *c = hub_client_new(&o, err);
    CHECK(c != NULL);
    hub_client_destroy(&c);
    CHECK_INT(chmod(secret_path, 0644), 0);
    c = hub_client_new(&o, err);
    CHECK(c == NULL);
    hub_client_destroy(&c);
    CHECK_HAS(err, "chmod 600 ");
    CHECK_HAS(err, secret_path);
done:
    harness_run_free(&run);
    s_keys_remove(&k);
}

/* A known key publishes; the audit row of the event names its identity,
 * whatever name the client gives itself. */
static void test_known_key(void)
{
    s_keys_t k;
    harness_t *h = NULL;
    hub_client_t *c = NULL;
    json_t *rows = NULL;
    harness_run_t run = {0};
    char err[HUB_ERR_LEN] = "";
    const char *known[] = {"support", "operator", NULL};
    REQUIRE(s_keys_make(&k, known, NULL) == 0);
    REQUIRE((h = s_curve_hub(&k, check_failures)) != NULL && harness_alive(h));
    REQUIRE((c = s_client(h, &k, "support", NULL, S_WAIT_MS, err)) != NULL);
    hub_publish_result_t res;
    CHECK_INT(hub_publish(c, s_bug, &res, S_WAIT_MS, err), 0);
    CHECK(res.seq >= 1);

    const char *by_case[] = {"--case", "CASE-S1", NULL};
    REQUIRE(harness_wait_audit(h, by_case, "received", NULL, 1, S_WAIT_MS));
    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    const json_t *row = harness_audit_find(rows, "received", NULL);
    CHECK_STR(row ? json_string_value(json_object_get(row, "actor")) : NULL, "support");

    /* hubctl with --key and --server-key before the command */
    const char *args[] = {"--key", s_prefix(&k, "support"), "--server-key", k.server, "publish", NULL};
    CHECK_INT(harness_hubctl_argv(h, s_overdue, &run, args), 0);
    CHECK_HAS(run.out, "\"id\":\"sec-2\"");
    harness_run_free(&run);
    const char *by_case2[] = {"--case", "CASE-S2", NULL};
    REQUIRE(harness_wait_audit(h, by_case2, "received", NULL, 1, S_WAIT_MS));
    json_decref(rows);
    REQUIRE((rows = harness_audit(h, by_case2)) != NULL);
    row = harness_audit_find(rows, "received", NULL);
    CHECK_STR(row ? json_string_value(json_object_get(row, "actor")) : NULL, "support");
done:
    json_decref(rows);
    harness_run_free(&run);
    hub_client_destroy(&c);
    HARNESS_END(h);
    s_keys_remove(&k);
}

/* A key the hub does not know gets no answer at all, and the hub goes on
 * serving the others; a client without keys cannot talk to it either. */
static void test_unknown_and_no_key(void)
{
    s_keys_t k;
    harness_t *h = NULL;
    hub_client_t *stranger = NULL, *keyless = NULL, *support = NULL, *wrong_server = NULL;
    harness_raw_t *raw = NULL;
    harness_run_t run = {0};
    char err[HUB_ERR_LEN] = "";
    const char *known[] = {"support", "operator", NULL};
    const char *unknown[] = {"stranger", NULL};
    REQUIRE(s_keys_make(&k, known, unknown) == 0);
    REQUIRE((h = s_curve_hub(&k, check_failures)) != NULL && harness_alive(h));

    REQUIRE((stranger = s_client(h, &k, "stranger", NULL, S_SILENT_MS, err)) != NULL);
    CHECK_INT(hub_client_ping(stranger, S_SILENT_MS), -ETIMEDOUT);
    hub_publish_result_t res;
    CHECK_INT(hub_publish(stranger, s_bug, &res, S_SILENT_MS, err), -ETIMEDOUT);
    CHECK_HAS(err, "is this client's key known to the hub? see keys.clients");

    /* a known key pointed at the wrong server key: no handshake either */
    char wrong[HARNESS_PATH + 32];
    snprintf(wrong, sizeof wrong, "%s/stranger.key", k.dir);
    REQUIRE((wrong_server = s_client(h, &k, "support", wrong, S_SILENT_MS, err)) != NULL);
    CHECK_INT(hub_client_ping(wrong_server, S_SILENT_MS), -ETIMEDOUT);

    /* no keys at all: libhub in clear, and a raw DEALER */
    REQUIRE((keyless = s_client(h, &k, NULL, NULL, S_SILENT_MS, err)) != NULL);
    CHECK_INT(hub_client_ping(keyless, S_SILENT_MS), -ETIMEDOUT);
    CHECK_INT(hub_publish(keyless, s_bug, &res, S_SILENT_MS, err), -ETIMEDOUT);
    REQUIRE((raw = harness_raw_new(harness_endpoint(h))) != NULL);
    CHECK_INT(harness_raw_hello(raw, S_SILENT_MS), 0);

    /* hubctl with the unknown key: exit 3 and the hint */
    const char *args[] = {"--key", s_prefix(&k, "stranger"), "status", "--timeout", "1", NULL};
    CHECK_INT(harness_hubctl_argv(h, NULL, &run, args), 3);
    CHECK_HAS(run.err, "keys.clients");
    harness_run_free(&run);

    /* the hub serves a known client all along */
    CHECK(harness_alive(h));
    REQUIRE((support = s_client(h, &k, "support", NULL, S_WAIT_MS, err)) != NULL);
    CHECK_INT(hub_publish(support, s_bug, &res, S_WAIT_MS, err), 0);
    json_t *st = harness_status(h); /* operator, through the environment */
    CHECK(st != NULL);
    json_decref(st);
    /* and nothing the refused clients sent was stored */
    const char *by_case[] = {"--case", "CASE-S1", NULL};
    json_t *rows = harness_audit(h, by_case);
    CHECK_INT(harness_audit_count(rows, "received", NULL), 1);
    json_decref(rows);
done:
    harness_run_free(&run);
    harness_raw_destroy(&raw);
    hub_client_destroy(&stranger);
    hub_client_destroy(&wrong_server);
    hub_client_destroy(&keyless);
    hub_client_destroy(&support);
    HARNESS_END(h);
    s_keys_remove(&k);
}

/* 1 when rows (a JSON array) hold a "denied" row whose text mentions
 * needle. */
static int s_denied_row_has(const json_t *rows, const char *needle)
{
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *action = json_string_value(json_object_get(row, "action"));
        if (!action || strcmp(action, "denied") != 0)
            continue;
        char *text = json_dumps(row, 0);
        int found = text && strstr(text, needle);
        free(text);
        if (found)
            return 1;
    }
    return 0;
}

/* The access list: support may publish bug_report but not response,
 * finance may subscribe to finance.* but not engineering.*, status needs
 * admin, reading the audit log over the wire needs audit, an identity not
 * listed may only say hello. Each denial is an Error DENIED naming what
 * was denied and an audit row with the identity. */
static void test_access(void)
{
    s_keys_t k;
    harness_t *h = NULL;
    hub_client_t *support = NULL, *finance = NULL, *finance2 = NULL, *mute = NULL, *op = NULL;
    json_t *rows = NULL;
    harness_run_t run = {0};
    harness_got_t got[1] = {{0}};
    size_t ngot = 0;
    char err[HUB_ERR_LEN] = "";
    hub_publish_result_t res;
    const char *known[] = {"support", "finance", "operator", "mute", NULL};
    REQUIRE(s_keys_make(&k, known, NULL) == 0);
    REQUIRE((h = s_curve_hub(&k, check_failures)) != NULL && harness_alive(h));
    REQUIRE((support = s_client(h, &k, "support", NULL, S_WAIT_MS, err)) != NULL);
    REQUIRE((finance = s_client(h, &k, "finance", NULL, S_WAIT_MS, err)) != NULL);

    /* subscribe: finance.* yes */
    const char *fin_topics[] = {"finance.*"};
    CHECK_INT(hub_subscribe(finance, "finance", fin_topics, 1, HUB_FROM_EARLIEST, 0, 10, S_WAIT_MS, err), 0);

    /* publish: bug_report and complaint yes; the finance flag reaches finance */
    CHECK_INT(hub_publish(support, s_bug, &res, S_WAIT_MS, err), 0);
    CHECK_INT(hub_publish(support, s_overdue, &res, S_WAIT_MS, err), 0);
    ngot = harness_collect(finance, got, 1, 1, S_WAIT_MS);
    CHECK_INT(ngot, 1);
    CHECK_STR(ngot ? got[0].topic : NULL, "finance.billing_flag");

    /* publish: response no */
    err[0] = '\0';
    CHECK_INT(hub_respond(support, "CASE-S1", "engineering", "resolved", NULL, &res, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "support");
    CHECK_HAS(err, "may not publish");
    CHECK_HAS(err, "response");

    /* subscribe: engineering.* no (a second connection: one subscription each) */
    REQUIRE((finance2 = s_client(h, &k, "finance", NULL, S_WAIT_MS, err)) != NULL);
    const char *eng_topics[] = {"engineering.*"};
    err[0] = '\0';
    CHECK_INT(hub_subscribe(finance2, "finance-eng", eng_topics, 1, HUB_FROM_EARLIEST, 0, 10, S_WAIT_MS, err),
              -HUB_EDENIED);
    CHECK_HAS(err, "finance");
    CHECK_HAS(err, "may not subscribe");
    CHECK_HAS(err, "engineering.*");

    /* nor take another department's durable name, even for its own topics */
    hub_client_t *finance3 = s_client(h, &k, "finance", NULL, S_WAIT_MS, err);
    REQUIRE(finance3 != NULL);
    err[0] = '\0';
    CHECK_INT(hub_subscribe(finance3, "engineering", fin_topics, 1, HUB_FROM_LATEST, 0, 10, S_WAIT_MS, err),
              -HUB_EDENIED);
    CHECK_HAS(err, "subscriber name engineering");
    hub_client_destroy(&finance3);

    /* status: admin only */
    char *json = NULL;
    err[0] = '\0';
    CHECK_INT(hub_status(support, &json, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "may not ask for status");
    free(json);
    json = NULL;
    REQUIRE((op = s_client(h, &k, "operator", NULL, S_WAIT_MS, err)) != NULL);
    CHECK_INT(hub_status(op, &json, S_WAIT_MS, err), 0);
    CHECK(json != NULL);
    free(json);
    json = NULL;
    const char *st_args[] = {"--key", s_prefix(&k, "support"), "status", NULL};
    CHECK_INT(harness_hubctl_argv(h, NULL, &run, st_args), 1);
    CHECK_HAS(run.err, "may not ask for status");
    harness_run_free(&run);
    const char *st_op[] = {"status", NULL}; /* operator through $HUB_KEY */
    CHECK_INT(harness_hubctl_argv(h, NULL, &run, st_op), 0);
    harness_run_free(&run);

    /* the audit log over the wire: audit: true only */
    err[0] = '\0';
    CHECK_INT(hub_audit_query(support, "{}", &json, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "support may not read the audit log");
    CHECK(json == NULL);
    const char *au_args[] = {"--key", s_prefix(&k, "support"), "audit", "--remote", NULL};
    CHECK_INT(harness_hubctl_argv(h, NULL, &run, au_args), 1);
    CHECK_HAS(run.err, "may not read the audit log");
    CHECK(run.out && *run.out == '\0');
    harness_run_free(&run);
    const char *hist_args[] = {"--key", s_prefix(&k, "finance"), "history", "CASE-S1", "--remote", NULL};
    CHECK_INT(harness_hubctl_argv(h, NULL, &run, hist_args), 1);
    CHECK_HAS(run.err, "finance may not read the audit log");
    harness_run_free(&run);
    const char *au_op[] = {"audit", "--remote", "--case", "CASE-S1", "--json", NULL}; /* operator */
    CHECK_INT(harness_hubctl_argv(h, NULL, &run, au_op), 0);
    CHECK_HAS(run.out, "\"action\":\"received\"");
    CHECK_HAS(run.out, "\"actor\":\"support\"");
    harness_run_free(&run);
    CHECK_INT(hub_audit_query(op, "{\"verify\":true}", &json, S_WAIT_MS, err), 0);
    CHECK_HAS(json, "\"broken_at\":0");
    free(json);
    json = NULL;

    /* an identity not in the access list: hello yes, anything else no */
    REQUIRE((mute = s_client(h, &k, "mute", NULL, S_WAIT_MS, err)) != NULL);
    CHECK_INT(hub_client_ping(mute, S_WAIT_MS), 0);
    err[0] = '\0';
    CHECK_INT(hub_publish(mute, s_bug, &res, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "mute");

    /* the denials are audit rows with the identity */
    const char *by_support[] = {"--actor", "support", NULL};
    CHECK(harness_wait_audit(h, by_support, "denied", NULL, 5, S_WAIT_MS));
    REQUIRE((rows = harness_audit(h, by_support)) != NULL);
    CHECK(s_denied_row_has(rows, "response"));
    CHECK(s_denied_row_has(rows, "status"));
    CHECK(s_denied_row_has(rows, "read the audit log"));
    json_decref(rows);
    const char *by_finance[] = {"--actor", "finance", NULL};
    CHECK(harness_wait_audit(h, by_finance, "denied", NULL, 3, S_WAIT_MS));
    REQUIRE((rows = harness_audit(h, by_finance)) != NULL);
    CHECK(s_denied_row_has(rows, "engineering.*"));
    CHECK(s_denied_row_has(rows, "read the audit log"));
    json_decref(rows);
    const char *by_mute[] = {"--actor", "mute", NULL};
    CHECK(harness_wait_audit(h, by_mute, "denied", NULL, 1, S_WAIT_MS));
    /* the denied publishes were not stored */
    const char *by_action[] = {"--action", "received", NULL};
    REQUIRE((rows = harness_audit(h, by_action)) != NULL);
    CHECK_INT(harness_audit_count(rows, "received", NULL), 2);
done:
    json_decref(rows);
    harness_got_free(got, ngot);
    harness_run_free(&run);
    hub_client_destroy(&support);
    hub_client_destroy(&finance);
    hub_client_destroy(&finance2);
    hub_client_destroy(&mute);
    hub_client_destroy(&op);
    HARNESS_END(h);
    s_keys_remove(&k);
}

/* What a web console asks: notifications and the policy need audit, a
 * dead-letter action needs admin; a denial is audited with the user the
 * client acts for (USER@IDENTITY), as is what it publishes. */
static void test_admin_frames(void)
{
    s_keys_t k;
    harness_t *h = NULL;
    hub_client_t *support = NULL, *reader = NULL, *op = NULL, *finance = NULL;
    hub_notification_t *n = NULL;
    json_t *rows = NULL;
    harness_run_t run = {0};
    char err[HUB_ERR_LEN] = "";
    char *json = NULL;
    hub_publish_result_t res;
    const char *known[] = {"support", "finance", "operator", "reader", NULL};
    REQUIRE(s_keys_make(&k, known, NULL) == 0);
    REQUIRE((h = s_curve_hub(&k, check_failures)) != NULL && harness_alive(h));
    REQUIRE((support = s_client(h, &k, "support", NULL, S_WAIT_MS, err)) != NULL);
    REQUIRE((reader = s_client(h, &k, "reader", NULL, S_WAIT_MS, err)) != NULL);
    REQUIRE((op = s_client(h, &k, "operator", NULL, S_WAIT_MS, err)) != NULL);
    REQUIRE((finance = s_client(h, &k, "finance", NULL, S_WAIT_MS, err)) != NULL);

    /* support publishes for alice: the actor is alice@support */
    REQUIRE(hub_client_set_user(support, "alice") == 0);
    CHECK_INT(hub_publish(support, s_overdue, &res, S_WAIT_MS, err), 0);
    const char *by_case[] = {"--case", "CASE-S2", NULL};
    REQUIRE((rows = harness_audit(h, by_case)) != NULL);
    const json_t *rec = harness_audit_find(rows, "received", NULL);
    CHECK_STR(rec ? json_string_value(json_object_get(rec, "actor")) : NULL, "alice@support");
    json_decref(rows);
    rows = NULL;

    /* a dead letter for the operator to act on */
    const char *fin_topics[] = {"finance.*"};
    REQUIRE(hub_subscribe(finance, "finance", fin_topics, 1, HUB_FROM_EARLIEST, 0, 10, S_WAIT_MS, err) == 0);
    REQUIRE(hub_receive(finance, &n, S_WAIT_MS) == 1);
    CHECK_INT(hub_nack(finance, n, "ledger closed", 1), 0);
    hub_notification_destroy(&n);

    /* support: none of it */
    CHECK_INT(hub_notification_query(support, "{}", &json, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "identity support may not read notifications");
    CHECK_INT(hub_policy_query(support, NULL, &json, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "identity support may not read the policy");
    CHECK_INT(hub_dead_letter_action(support, 3, "discard", "x", NULL, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "identity support may not act on dead letters");
    CHECK(json == NULL);
    const char *dl_args[] = {"--key", s_prefix(&k, "support"), "deadletters", NULL};
    CHECK_INT(harness_hubctl_argv(h, NULL, &run, dl_args), 1);
    CHECK_HAS(run.err, "may not read notifications");
    harness_run_free(&run);

    /* reader: reads, acts on nothing */
    uint64_t dead_seq = 0;
    int64_t deadline = harness_now_ms() + S_WAIT_MS;
    while (!dead_seq && harness_now_ms() < deadline) {
        CHECK_INT(hub_notification_query(reader, "{\"dead_letters\":true}", &json, S_WAIT_MS, err), 0);
        json_t *list = json ? json_loads(json, 0, NULL) : NULL;
        const json_t *item = json_array_get(json_object_get(list, "items"), 0);
        const json_t *seq = json_object_get(json_object_get(item, "notification"), "seq");
        dead_seq = json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : 0;
        json_decref(list);
        free(json);
        json = NULL;
        if (!dead_seq)
            harness_pause();
    }
    REQUIRE(dead_seq > 0);
    CHECK_INT(hub_policy_query(reader, s_bug, &json, S_WAIT_MS, err), 0);
    CHECK_HAS(json, "\"dry_run\":true");
    free(json);
    json = NULL;
    CHECK_INT(hub_dead_letter_action(reader, dead_seq, "redrive", NULL, NULL, S_WAIT_MS, err), -HUB_EDENIED);
    CHECK_HAS(err, "identity reader may not act on dead letters");

    /* the operator acts, for bob */
    REQUIRE(hub_client_set_user(op, "bob") == 0);
    uint64_t redrive_seq = 0;
    CHECK_INT(hub_dead_letter_action(op, dead_seq, "redrive", NULL, &redrive_seq, S_WAIT_MS, err), 0);
    CHECK(redrive_seq > dead_seq);

    /* denials on record, with the user where there was one */
    REQUIRE(hub_client_set_user(support, "carol") == 0);
    CHECK_INT(hub_dead_letter_action(support, dead_seq, "discard", "x", NULL, S_WAIT_MS, err), -HUB_EDENIED);
    /* a denial is answered at once, its row written with the loop's next commit */
    const char *by_carol[] = {"--actor", "carol@support", NULL};
    CHECK(harness_wait_audit(h, by_carol, "denied", NULL, 1, S_WAIT_MS));
    const char *denied[] = {"--action", "denied", NULL};
    REQUIRE((rows = harness_audit(h, denied)) != NULL);
    CHECK(s_denied_row_has(rows, "support may not read notifications"));
    CHECK(s_denied_row_has(rows, "support may not read the policy"));
    CHECK(s_denied_row_has(rows, "reader may not act on dead letters"));
    CHECK(s_denied_row_has(rows, "carol@support"));
    json_decref(rows);
    const char *redriven[] = {"--action", "redriven", NULL};
    REQUIRE((rows = harness_audit(h, redriven)) != NULL);
    CHECK_INT(json_array_size(rows), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 0), "actor")), "bob@operator");
done:
    free(json);
    json_decref(rows);
    hub_notification_destroy(&n);
    harness_run_free(&run);
    hub_client_destroy(&support);
    hub_client_destroy(&reader);
    hub_client_destroy(&op);
    hub_client_destroy(&finance);
    HARNESS_END(h);
    s_keys_remove(&k);
}

/* A client key removed from keys.clients and the hub told to reload
 * (SIGHUP) admits no new connection with that key. (A connection made
 * before the reload is not checked here: CURVE authenticates once per
 * connection.) */
static void test_revoke(void)
{
    s_keys_t k;
    harness_t *h = NULL;
    hub_client_t *before = NULL, *after = NULL;
    char err[HUB_ERR_LEN] = "";
    hub_publish_result_t res;
    const char *known[] = {"support", "operator", NULL};
    REQUIRE(s_keys_make(&k, known, NULL) == 0);
    REQUIRE((h = s_curve_hub(&k, check_failures)) != NULL && harness_alive(h));
    REQUIRE((before = s_client(h, &k, "support", NULL, S_WAIT_MS, err)) != NULL);
    CHECK_INT(hub_publish(before, s_bug, &res, S_WAIT_MS, err), 0);

    char path[HARNESS_PATH + 32];
    snprintf(path, sizeof path, "%s/support.key", k.clients);
    CHECK_INT(unlink(path), 0);
    long from = harness_log_size(h);
    CHECK_INT(harness_signal(h, SIGHUP), 0);
    CHECK(harness_wait_log(h, from, "1 client keys", S_WAIT_MS)); /* operator's alone */
    REQUIRE((after = s_client(h, &k, "support", NULL, S_SILENT_MS, err)) != NULL);
    CHECK_INT(hub_client_ping(after, S_SILENT_MS), -ETIMEDOUT);
    CHECK(harness_alive(h));
done:
    hub_client_destroy(&before);
    hub_client_destroy(&after);
    HARNESS_END(h);
    s_keys_remove(&k);
}

/* A free TCP port on loopback, or 0. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* security: none on a non-loopback tcp endpoint: refused with a clear
 * message, unless --insecure (then it starts and warns). A loopback tcp
 * endpoint is accepted with the warning alone. */
static void test_insecure(void)
{
    harness_t *h = NULL, *lo = NULL;
    harness_run_t run = {0};
    char *log = NULL;
    pid_t pid = -1;
    int port = s_free_port();
    REQUIRE(port > 0);
    REQUIRE((h = HARNESS_NEW(NULL)) != NULL);
    char open_ep[64];
    snprintf(open_ep, sizeof open_ep, "tcp://0.0.0.0:%d", port);

    /* refused: nothing is bound, the message says why and what to do */
    const char *args[] = {"--data", harness_data_dir(h), "--endpoint",           open_ep, "--tap",
                          "off",    "--policy",          harness_policy_path(h), NULL};
    CHECK_INT(harness_hubd_run(args, &run), 1);
    CHECK_HAS(run.err, "hubd: ");
    CHECK_HAS(run.err, open_ep);
    CHECK_HAS(run.err, "not a loopback");
    CHECK_HAS(run.err, "security: curve");
    CHECK_HAS(run.err, "--insecure");
    harness_run_free(&run);

    /* with --insecure: it starts and warns; stopped once ready, no traffic */
    const char *hubd = getenv("HUBD");
    const char *argv[] = {hubd,  "--data",   harness_data_dir(h),    "--endpoint", open_ep, "--tap",
                          "off", "--policy", harness_policy_path(h), "--insecure", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, harness_log_path(h), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    int rc = posix_spawn(&pid, hubd, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    CHECK(harness_wait_log(h, 0, "ready", S_WAIT_MS));
    kill(pid, SIGTERM);
    int status = -1;
    int64_t deadline = harness_now_ms() + HARNESS_STOP_MS;
    while (waitpid(pid, &status, WNOHANG) == 0 && harness_now_ms() < deadline)
        harness_pause();
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        CHECK(!"hubd did not stop within HARNESS_STOP_MS");
    }
    pid = -1;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    log = harness_read_file(harness_log_path(h));
    CHECK_HAS(log, "security: none");
    CHECK_HAS(log, "--insecure");

    /* loopback tcp without --insecure: starts, with the warning */
    char lo_ep[64];
    snprintf(lo_ep, sizeof lo_ep, "tcp://127.0.0.1:%d", port);
    harness_opts_t o = {.endpoint = lo_ep};
    REQUIRE((lo = HARNESS_NEW(&o)) != NULL);
    CHECK_INT(harness_start(lo), 0);
    CHECK(harness_wait_log(lo, 0, "security: none", S_WAIT_MS));
done:
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    free(log);
    harness_run_free(&run);
    HARNESS_END(lo);
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    unsetenv("HUB_KEY");
    unsetenv("HUB_SERVER_KEY");
    static const check_case_t cases[] = {
        {"keygen: 0644 and 0600, no overwrite without --force", test_keygen},
        {"a known key publishes; the audit actor is its identity", test_known_key},
        {"an unknown key or no key gets no answer; others are served", test_unknown_and_no_key},
        {"access: publish, subscribe, status and the unlisted, denied and audited", test_access},
        {"admin frames: audit reads, admin acts, users on record", test_admin_frames},
        {"a revoked key admits no new connection after SIGHUP", test_revoke},
        {"security: none refuses a non-loopback endpoint unless --insecure", test_insecure},
        {NULL, NULL},
    };
    return check_run(cases);
}
