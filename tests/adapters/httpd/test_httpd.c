/*
 * httpd - the HTTP server the adapters share, in process: listen
 * addresses, loopback peers, JSON content types, and a server on
 * 127.0.0.1 with a handler that says what it was given: bodies read
 * whole, a begin that answers, the body limit, the lookups.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "httpclient.h"
#include "httpd_cli.h"
#include "httpd_listen.h"
#include "httpd_server.h"
#include "httpd_settings.h"

/* ------------------------------------------------------------ addresses */

static void test_listen_parse(void)
{
    static const httpd_listen_hint_t hint = {.example = "127.0.0.1:9999", .hosts = "127.0.0.1 or [::1]"};
    static const struct {
        const char *text;
        int family; /* 0: an error containing why */
        int port;
        const char *why;
    } cases[] = {
        {"127.0.0.1:8080", AF_INET, 8080, NULL},
        {"0.0.0.0:0", AF_INET, 0, NULL},
        {"[::1]:65535", AF_INET6, 65535, NULL},
        {"[::]:80", AF_INET6, 80, NULL},
        {"127.0.0.1", 0, 0, "\"127.0.0.1\" is not HOST:PORT (like 127.0.0.1:9999)"},
        {":80", 0, 0, "is not HOST:PORT"},
        {"127.0.0.1:", 0, 0, "\"127.0.0.1:\": the port must be a number from 0 to 65535"},
        {"127.0.0.1:65536", 0, 0, "the port must be a number"},
        {"127.0.0.1:8o", 0, 0, "the port must be a number"},
        {"127.0.0.1:000080", 0, 0, "the port must be a number"},
        {"localhost:80", 0, 0, "\"localhost:80\": the host must be a numeric address (127.0.0.1 or [::1])"},
        {"::1:80", 0, 0, "the host must be a numeric address"},
        {"[127.0.0.1]:80", 0, 0, "the host must be a numeric address"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage a;
        socklen_t len = 0;
        char err[HUB_ERR_LEN] = "";
        int rc = httpd_listen_parse(cases[i].text, &hint, &a, &len, err);
        if (!cases[i].family) {
            CHECK_INT(rc, -HUB_EINVALID);
            CHECK_HAS(err, cases[i].why);
            continue;
        }
        CHECK_INT(rc, 0);
        CHECK_INT(a.ss_family, cases[i].family);
        if (cases[i].family == AF_INET) {
            CHECK_INT(len, sizeof(struct sockaddr_in));
            CHECK_INT(ntohs(((struct sockaddr_in *)&a)->sin_port), cases[i].port);
        }
        else {
            CHECK_INT(len, sizeof(struct sockaddr_in6));
            CHECK_INT(ntohs(((struct sockaddr_in6 *)&a)->sin6_port), cases[i].port);
        }
    }
    char too_long[HTTPD_LISTEN_LEN + 8];
    memset(too_long, '1', sizeof too_long - 4);
    memcpy(too_long + sizeof too_long - 4, ":80", 4);
    struct sockaddr_storage a;
    socklen_t len;
    char err[HUB_ERR_LEN];
    CHECK_INT(httpd_listen_parse(too_long, &hint, &a, &len, err), -HUB_EINVALID);
    CHECK_HAS(err, "is not HOST:PORT");
}

static void test_loopback(void)
{
    static const httpd_listen_hint_t hint = {.example = "127.0.0.1:80", .hosts = "127.0.0.1"};
    static const struct {
        const char *text;
        int loopback;
    } cases[] = {
        {"127.0.0.1:80", 1}, {"127.8.9.1:80", 1}, {"[::1]:80", 1},     {"[::ffff:127.0.0.2]:80", 1},
        {"0.0.0.0:80", 0},   {"[::]:80", 0},      {"10.1.2.3:80", 0}, {"[::ffff:10.0.0.1]:80", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage a;
        socklen_t len;
        char err[HUB_ERR_LEN];
        CHECK_INT(httpd_listen_parse(cases[i].text, &hint, &a, &len, err), 0);
        CHECK_INT(httpd_is_loopback((struct sockaddr *)&a), cases[i].loopback);
    }
    CHECK_INT(httpd_is_loopback(NULL), 0);
}

static void test_json_type(void)
{
    static const struct {
        const char *type;
        int json;
    } cases[] = {
        {"application/json", 1},
        {"Application/JSON; charset=utf-8", 1},
        {"application/vnd.example+json", 1},
        {"application/problem+json ; q=1", 1},
        {"application/+json", 0},
        {"application/jsonx", 0},
        {"text/json", 0},
        {"text/plain", 0},
        {"", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_INT(httpd_is_json_type(cases[i].type), cases[i].json);
}

static void test_header_name(void)
{
    static const struct {
        const char *name;
        int ok;
    } cases[] = {
        {"X-Signature", 1}, {"x_forwarded_user", 1}, {"Auth2", 1},     {"", 0},
        {"X Signature", 0}, {"X-Sig:", 0},           {"X-Sig\n", 0}, {"Ünicode", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_INT(httpd_is_header_name(cases[i].name), cases[i].ok);
}

/* --------------------------------------------------------- command line */

static void s_usage(FILE *out)
{
    fputs("usage: test\n", out);
}

static int s_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len_p, char err[HUB_ERR_LEN])
{
    static const httpd_listen_hint_t hint = {.example = "127.0.0.1:1", .hosts = "127.0.0.1"};
    return httpd_listen_parse(text, &hint, addr, len_p, err);
}

/* Parses argv (NULL-terminated) afresh. */
static int s_parse(const char *const *argv, httpd_cli_t *cli)
{
    static const struct option own[] = {
        {"own", required_argument, NULL, HTTPD_CLI_EXTRA},
        {"flag", no_argument, NULL, HTTPD_CLI_EXTRA + 1},
        {NULL, 0, NULL, 0},
    };
    static const httpd_cli_program_t program = {.name = "test", .version = "1", .usage = s_usage, .extra = own};
    int argc = 0;
    while (argv[argc])
        argc++;
    optind = 0; /* glibc: start over */
    return httpd_cli_parse(&program, argc, (char **)argv, cli);
}

static void test_cli(void)
{
    httpd_cli_t cli;
    const char *all[] = {"test", "-c", "f.yaml", "--hub", "tcp://127.0.0.1:1", "--listen", "127.0.0.1:2",
                         "--log-level", "debug", "--check", "--own", "v", "--flag", "operand", NULL};
    CHECK_INT(s_parse(all, &cli), -1);
    CHECK_STR(cli.config, "f.yaml");
    CHECK_STR(cli.hub, "tcp://127.0.0.1:1");
    CHECK_STR(cli.listen, "127.0.0.1:2");
    CHECK_STR(cli.log_level, "debug");
    CHECK_INT(cli.check, 1);
    CHECK_STR(cli.extra[0], "v");
    CHECK_STR(cli.extra[1], "");
    CHECK(cli.extra[2] == NULL);
    CHECK_INT(optind, 13);

    char hub[32] = "tcp://old:1", listen[32] = "127.0.0.1:3";
    hub_log_level_t level = HUB_LOG_INFO;
    CHECK_INT(httpd_cli_overlay(&cli, "test", hub, sizeof hub, listen, sizeof listen, s_listen_parse, &level), 0);
    CHECK_STR(hub, "tcp://127.0.0.1:1");
    CHECK_STR(listen, "127.0.0.1:2");
    CHECK_INT(level, HUB_LOG_DEBUG);

    static const struct {
        const char *argv[4];
        int parsed; /* what httpd_cli_parse returns */
        int overlay; /* then what httpd_cli_overlay returns */
    } cases[] = {
        {{"test", "--version", NULL}, HTTPD_CLI_OK, 0},
        {{"test", "-h", NULL}, HTTPD_CLI_OK, 0},
        {{"test", "--bogus", NULL}, HTTPD_CLI_USAGE, 0},
        {{"test", "--hub", NULL}, HTTPD_CLI_USAGE, 0},
        {{"test", "--hub", "nowhere", NULL}, -1, HTTPD_CLI_USAGE},
        {{"test", "--listen", "localhost:1", NULL}, -1, HTTPD_CLI_USAGE},
        {{"test", "--listen", "127.0.0.1:123456789012345678901234567890", NULL}, -1, HTTPD_CLI_USAGE},
        {{"test", "--log-level", "loud", NULL}, -1, HTTPD_CLI_USAGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(s_parse(cases[i].argv, &cli), cases[i].parsed);
        if (cases[i].parsed == -1)
            CHECK_INT(httpd_cli_overlay(&cli, "test", hub, sizeof hub, listen, sizeof listen, s_listen_parse, &level),
                      cases[i].overlay);
    }
    CHECK_INT(httpd_cli_fail("test", "%s", "what"), HTTPD_CLI_FAILED);
    CHECK_INT(httpd_cli_usage_error("test", "%s", "what"), HTTPD_CLI_USAGE);
}

/* -------------------------------------------------------- settings file */

static char s_seen_dir[HTTPD_DIR_LEN]; /* what the dir key saw in file->dir */

/* The keys of the test's file: name (copied), dir (notes the file's
 * directory), anything else unknown. */
static int s_on_key(httpd_settings_file_t *file, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    char *name = arg;
    if (strcmp(key, "name") == 0)
        return httpd_settings_copy(file, v, key, name, 8, 0);
    if (strcmp(key, "dir") == 0) {
        snprintf(s_seen_dir, sizeof s_seen_dir, "%s", file->dir);
        snprintf(name, 8, "%s", "dir");
        return 0;
    }
    return hub_yamldoc_error(file->doc, k, file->err, "unknown key \"%.64s\"", key);
}

static void test_settings(void)
{
    static const struct {
        const char *text;
        int rc;
        const char *listen; /* what listen holds then */
        const char *name;   /* and name */
        const char *err;    /* or what err holds */
    } cases[] = {
        {"listen: 127.0.0.1:7\nname: box\n", 0, "127.0.0.1:7", "box", NULL},
        {"name: box\n", 0, "127.0.0.1:1", "box", NULL},
        {"dir: x\n", 0, "127.0.0.1:1", "dir", NULL},
        {"listen: here\n", -HUB_ECONFIG, NULL, NULL, ":1: listen: \"here\" is not HOST:PORT (like 127.0.0.1:1)"},
        {"listen: [a]\n", -HUB_ECONFIG, NULL, NULL, ":1: listen: expected a single value, not a list"},
        {"listen:\n", -HUB_ECONFIG, NULL, NULL, ":1: listen: empty"},
        {"name: toolongforit\n", -HUB_ECONFIG, NULL, NULL, ":1: name: too long (at most 7 bytes)"},
        {"name: a\nother: 1\n", -HUB_ECONFIG, NULL, NULL, ":2: unknown key \"other\""},
        {"- a\n", -HUB_ECONFIG, NULL, NULL, ":1: not a mapping here"},
        {"[a]: 1\n", -HUB_ECONFIG, NULL, NULL, ":1: a key must be a name"},
        {"log_level: debug\n", 0, "127.0.0.1:1", "", NULL},
        {"log_level: loud\n", -HUB_ECONFIG, NULL, NULL, ":1: log_level: \"loud\" is not one of debug, info, warn, error"},
    };
    const char *tmp = getenv("TMPDIR");
    char path[HTTPD_DIR_LEN];
    snprintf(path, sizeof path, "%s/httpd-settings-XXXXXX", tmp && *tmp == '/' ? tmp : P_tmpdir);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f)
            break;
        fputs(cases[i].text, f);
        fclose(f);
        char listen[32] = "127.0.0.1:1", name[8] = "", err[HUB_ERR_LEN] = "";
        hub_log_level_t level = HUB_LOG_INFO;
        const httpd_settings_reader_t reader = {
            .not_mapping = "not a mapping here",
            .listen = listen,
            .listen_size = sizeof listen,
            .listen_parse = s_listen_parse,
            .log_level = &level,
            .on_key = s_on_key,
            .arg = name,
        };
        CHECK_INT(httpd_settings_walk(path, &reader, err), cases[i].rc);
        if (cases[i].rc == 0) {
            CHECK_STR(listen, cases[i].listen);
            CHECK_STR(name, cases[i].name);
            if (strcmp(name, "dir") == 0)
                CHECK(strncmp(path, s_seen_dir, strlen(s_seen_dir)) == 0 && path[strlen(s_seen_dir)] == '/');
            CHECK_INT(level, strstr(cases[i].text, "debug") ? HUB_LOG_DEBUG : HUB_LOG_INFO);
        }
        else {
            CHECK_HAS(err, path);
            CHECK_HAS(err, cases[i].err);
        }
    }
    char err[HUB_ERR_LEN] = "";
    const httpd_settings_reader_t none = {.not_mapping = "-", .on_key = s_on_key};
    CHECK(httpd_settings_walk("/nonexistent/settings.yaml", &none, err) < 0);
    CHECK_HAS(err, "/nonexistent/settings.yaml");
    unlink(path);
}

/* --------------------------------------------------------------- server */

#define S_MAX_BODY 64 /* the test server's body limit */

/* What the test handler counts, from the server's thread. */
static atomic_int s_begins, s_finishes;

/* Refuses /refuse and a declared body over the limit from the headers;
 * otherwise lets the body be read, with a state for finish to check. */
static int s_begin(void *arg, httpd_request_t *request)
{
    static const char refused[] = "refused";
    atomic_fetch_add(&s_begins, 1);
    unsigned long long declared = 0;
    if (strcmp(request->url, "/refuse") == 0 ||
        (httpd_declared_length(request, &declared) && declared > S_MAX_BODY)) {
        const httpd_header_t headers[] = {{"Content-Type", "text/plain"}};
        return httpd_answer(request, strcmp(request->url, "/refuse") == 0 ? 403 : 413, headers, 1, NULL, refused,
                            strlen(refused));
    }
    request->state = arg;
    return 0;
}

/* Answers "METHOD URL LEN OUTCOME BODY", with the lookups as headers. */
static int s_finish(void *arg, httpd_request_t *request)
{
    atomic_fetch_add(&s_finishes, 1);
    const char *outcome = request->outcome == HTTPD_BODY_WHOLE       ? "whole"
                          : request->outcome == HTTPD_BODY_TOO_LARGE ? "too_large"
                                                                     : "no_memory";
    char *body = NULL;
    int n = asprintf(&body, "%s %s %zu %s %s", request->method, request->url, request->body_len, outcome,
                     request->body);
    if (n < 0)
        return -1;
    const httpd_header_t headers[] = {
        {"Content-Type", "text/plain"},
        {"X-State", request->state == arg ? "kept" : "lost"},
        {"X-Query", httpd_query(request, "q")},
        {"X-Cookie", httpd_cookie(request, "c")},
        {"X-Header", httpd_header(request, "x-in")},
        {"X-Loopback", httpd_peer_loopback(request) ? "1" : "0"},
        {"X-Absent", NULL},
    };
    int rc = httpd_answer(request, 200, headers, sizeof headers / sizeof headers[0], &body, NULL, (size_t)n);
    free(body);
    return rc;
}

static httpd_server_t *s_server(const char *listen, char err[HUB_ERR_LEN])
{
    static const httpd_listen_hint_t hint = {.example = "127.0.0.1:0", .hosts = "127.0.0.1"};
    static int token;
    struct sockaddr_storage addr;
    socklen_t len;
    if (httpd_listen_parse(listen, &hint, &addr, &len, err) < 0)
        return NULL;
    const httpd_handler_t handler = {.begin = s_begin, .finish = s_finish, .arg = &token};
    return httpd_server_new(listen, &addr, S_MAX_BODY, &handler, err);
}

static void test_server(void)
{
    char err[HUB_ERR_LEN] = "";
    httpclient_res_t r = {0};
    httpd_server_t *server = s_server("127.0.0.1:0", err);
    CHECK(server != NULL);
    if (!server) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    int port = httpd_server_port(server);
    CHECK(port > 0);

    const char *in[] = {"X-In: given", "Cookie: c=crumb", NULL};
    CHECK_INT(httpclient_request(port, "GET", "/look?q=asked", in, NULL, 0, &r), 200);
    CHECK_STR(r.body, "GET /look 0 whole ");
    CHECK_STR(httpclient_header(&r, "X-State"), "kept");
    CHECK_STR(httpclient_header(&r, "X-Query"), "asked");
    CHECK_STR(httpclient_header(&r, "X-Cookie"), "crumb");
    CHECK_STR(httpclient_header(&r, "X-Header"), "given");
    CHECK_STR(httpclient_header(&r, "X-Loopback"), "1");
    CHECK_STR(httpclient_header(&r, "X-Absent"), "");
    httpclient_res_free(&r);

    /* a body at the limit is whole; in one piece or in chunks */
    char body[S_MAX_BODY + 2];
    memset(body, 'b', sizeof body - 1);
    body[S_MAX_BODY] = '\0';
    CHECK_INT(httpclient_request(port, "POST", "/echo", NULL, body, S_MAX_BODY, &r), 200);
    CHECK(r.body && strncmp(r.body, "POST /echo 64 whole bbbb", 24) == 0);
    httpclient_res_free(&r);
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    CHECK_INT(httpclient_request(port, "POST", "/echo", chunked, body, S_MAX_BODY, &r), 200);
    CHECK(r.body && strncmp(r.body, "POST /echo 64 whole bbbb", 24) == 0);
    httpclient_res_free(&r);

    /* one byte more: announced, begin refuses it; streamed, finish hears */
    body[S_MAX_BODY] = 'b';
    CHECK_INT(httpclient_request(port, "POST", "/echo", NULL, body, S_MAX_BODY + 1, &r), 413);
    httpclient_res_free(&r);
    CHECK_INT(httpclient_request(port, "POST", "/echo", chunked, body, S_MAX_BODY + 1, &r), 200);
    CHECK_STR(r.body, "POST /echo 0 too_large ");
    httpclient_res_free(&r);

    /* a begin that answers ends the request: finish is not called */
    atomic_store(&s_begins, 0);
    atomic_store(&s_finishes, 0);
    CHECK_INT(httpclient_request(port, "POST", "/refuse", NULL, "x", 1, &r), 403);
    CHECK_STR(r.body, "refused");
    CHECK_STR(httpclient_header(&r, "Content-Type"), "text/plain");
    CHECK_INT(atomic_load(&s_begins), 1);
    CHECK_INT(atomic_load(&s_finishes), 0);
    httpclient_res_free(&r);

    /* the port is taken now */
    char taken[64], err2[HUB_ERR_LEN] = "";
    snprintf(taken, sizeof taken, "127.0.0.1:%d", port);
    httpd_server_t *second = s_server(taken, err2);
    CHECK(second == NULL);
    CHECK_HAS(err2, "cannot listen on 127.0.0.1:");
    httpd_server_destroy(&second);

    httpd_server_destroy(&server);
    CHECK(server == NULL);
    httpd_server_destroy(&server); /* safe twice */
    CHECK_INT(httpd_server_port(server), 0);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        printf("libcurl cannot start: skipped\n");
        return 77;
    }
    static const check_case_t cases[] = {
        {"listen addresses", test_listen_parse},
        {"loopback addresses", test_loopback},
        {"JSON content types", test_json_type},
        {"header names", test_header_name},
        {"command line", test_cli},
        {"settings file", test_settings},
        {"server on 127.0.0.1", test_server},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    curl_global_cleanup();
    return rc;
}
