/*
 * hub-console - the Switchboard web console: departments read and answer
 * their notifications, anyone follows a case across departments,
 * operators watch the hub, re-drive dead letters and try the policy.
 *
 *   hub-console --config FILE [--listen ADDR:PORT] [--hub EP] [--insecure] [--log-level L]
 *   hub-console --config FILE --check
 *   hub-console passwd [--password-stdin] [--iterations N]
 *
 * Exit codes: 0 clean stop (SIGTERM, SIGINT) or check passed, 1 a startup
 * failure (one line on stderr), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "httpd_cli.h"
#include "httpd_listen.h"
#include "httpd_signals.h"
#include "log.h"
#include "password.h"
#include "server.h"
#include "settings.h"

#ifndef CS_VERSION
#define CS_VERSION "unknown"
#endif

#define S_PROGRAM "hub-console"

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: " S_PROGRAM " --config FILE [--listen ADDR:PORT] [--hub EP] [--insecure] [--log-level L]\n"
            "       " S_PROGRAM " --config FILE --check\n"
            "       " S_PROGRAM " passwd [--password-stdin] [--iterations N]\n"
            "\n"
            "The Switchboard web console: each department's inbox with answers, the\n"
            "board of a case across departments, and for operators the hub's\n"
            "subscribers, dead letters (re-drive, discard) and policy (dry runs).\n"
            "Every answer and action is recorded in the hub's audit log as\n"
            "USER@IDENTITY. Serves the web app, a JSON API under /api/, /metrics\n"
            "(Prometheus) and /healthz.\n"
            "\n"
            "options:\n"
            "  -c, --config FILE     settings: listen, hub, users_file, session_ttl,\n"
            "                        proxy_header, metrics; see deploy/console.yaml\n"
            "      --listen A:P      HTTP address (default: the file's listen:, else\n"
            "                        127.0.0.1:8081; port 0 takes a free port)\n"
            "      --hub EP          the hub's endpoint (default: the file's hub:, else\n"
            "                        $HUB_ENDPOINT, else %s)\n"
            "      --insecure        allow a listen address that is not loopback\n"
            "                        (plain HTTP: put a TLS proxy in front instead)\n"
            "      --log-level L     debug, info, warn or error\n"
            "      --check           load the settings and the users file, report, exit\n"
            "  -h, --help            this text\n"
            "      --version         the version\n"
            "\n"
            "passwd: reads a password from standard input (asked twice, unseen, on a\n"
            "terminal; else the first line) and prints its hash for the users file:\n"
            "pbkdf2-sha256$ITERATIONS$SALT$HASH (PBKDF2-HMAC-SHA256, 16-byte random\n"
            "salt). --iterations N: %u to %u (default %u).\n"
            "\n"
            "On start it prints \"listening on ADDR:PORT\" on standard output. SIGHUP\n"
            "reads the users file again (a file with a mistake keeps the users in\n"
            "force); SIGTERM or SIGINT stops it after the request in progress.\n",
            HUB_DEFAULT_ENDPOINT, CS_PASSWORD_MIN_ITERATIONS, CS_PASSWORD_MAX_ITERATIONS,
            CS_PASSWORD_DEFAULT_ITERATIONS);
}

/* ------------------------------------------------------------- passwd */

/* Reads one line of at most CS_PASSWORD_MAX bytes into out (without its
 * newline). prompt: shown on stderr with echo off (a terminal). Returns 0,
 * or -1 with a message on stderr. */
static int s_read_password(const char *prompt, char out[CS_PASSWORD_MAX + 2])
{
    struct termios old, quiet;
    int tty = prompt && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        quiet = old;
        quiet.c_lflag &= (tcflag_t) ~ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(out, CS_PASSWORD_MAX + 2, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got) {
        httpd_cli_fail(S_PROGRAM, "passwd: no password on standard input");
        return -1;
    }
    size_t len = strlen(out);
    int whole = len > 0 && out[len - 1] == '\n';
    if (!whole && !feof(stdin)) {
        httpd_cli_fail(S_PROGRAM, "passwd: the password is longer than %d bytes", CS_PASSWORD_MAX);
        return -1;
    }
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    if (len == 0) {
        httpd_cli_fail(S_PROGRAM, "passwd: the password is empty");
        return -1;
    }
    return 0;
}

static int s_passwd(int argc, char **argv)
{
    enum { OPT_STDIN = 1000, OPT_ITERATIONS };
    static const struct option options[] = {
        {"password-stdin", no_argument, NULL, OPT_STDIN},
        {"iterations", required_argument, NULL, OPT_ITERATIONS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int from_stdin = 0;
    unsigned long iterations = CS_PASSWORD_DEFAULT_ITERATIONS;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_STDIN:
            from_stdin = 1;
            break;
        case OPT_ITERATIONS: {
            char *end = NULL;
            errno = 0;
            iterations = strtoul(optarg, &end, 10);
            if (errno || !*optarg || *end || iterations < CS_PASSWORD_MIN_ITERATIONS
                || iterations > CS_PASSWORD_MAX_ITERATIONS)
                return httpd_cli_usage_error(S_PROGRAM, "passwd: --iterations \"%s\": a number from %u to %u", optarg,
                                     CS_PASSWORD_MIN_ITERATIONS, CS_PASSWORD_MAX_ITERATIONS);
            break;
        }
        case 'h':
            printf("usage: " S_PROGRAM " passwd [--password-stdin] [--iterations N]\n"
                   "\n"
                   "Reads a password and prints its hash for the users file (password:).\n"
                   "On a terminal it asks twice without showing it; otherwise, or with\n"
                   "--password-stdin, it reads the first line of standard input.\n"
                   "  --iterations N   PBKDF2 iterations, %u to %u (default %u)\n",
                   CS_PASSWORD_MIN_ITERATIONS, CS_PASSWORD_MAX_ITERATIONS, CS_PASSWORD_DEFAULT_ITERATIONS);
            return HTTPD_CLI_OK;
        case ':':
            return httpd_cli_usage_error(S_PROGRAM, "passwd: option %s needs a value", argv[optind - 1]);
        default:
            return httpd_cli_usage_error(S_PROGRAM, "passwd: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return httpd_cli_usage_error(S_PROGRAM, "passwd: unexpected argument \"%s\"", argv[optind]);
    char password[CS_PASSWORD_MAX + 2], again[CS_PASSWORD_MAX + 2];
    int ask = !from_stdin && isatty(STDIN_FILENO);
    int status = HTTPD_CLI_OK;
    if (s_read_password(ask ? "Password: " : NULL, password) < 0)
        status = HTTPD_CLI_FAILED;
    else if (ask && s_read_password("Again: ", again) < 0)
        status = HTTPD_CLI_FAILED;
    else if (ask && strcmp(password, again) != 0)
        status = httpd_cli_fail(S_PROGRAM, "passwd: the two passwords differ");
    if (status == HTTPD_CLI_OK) {
        char hash[CS_PASSWORD_TEXT_LEN], err[HUB_ERR_LEN];
        if (cs_password_hash(password, (uint32_t)iterations, hash, err) < 0)
            status = httpd_cli_fail(S_PROGRAM, "passwd: %s", err);
        else
            printf("%s\n", hash);
    }
    memset(password, 0, sizeof password);
    memset(again, 0, sizeof again);
    return status;
}

/* --------------------------------------------------------------- serve */

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "passwd") == 0)
        return s_passwd(argc - 1, argv + 1);

    static const struct option own[] = {
        {"insecure", no_argument, NULL, HTTPD_CLI_EXTRA},
        {NULL, 0, NULL, 0},
    };
    static const httpd_cli_program_t program = {
        .name = S_PROGRAM, .version = CS_VERSION, .usage = s_usage, .extra = own};
    httpd_cli_t cli;
    int exit_now = httpd_cli_parse(&program, argc, argv, &cli);
    if (exit_now >= 0)
        return exit_now;
    const char *config = cli.config;
    int insecure = cli.extra[0] != NULL;
    if (optind < argc)
        return httpd_cli_usage_error(S_PROGRAM, "unexpected argument \"%s\"", argv[optind]);
    if (!config)
        return httpd_cli_usage_error(S_PROGRAM, "--config FILE is needed: it names the users file");

    cs_settings_t settings;
    cs_settings_init(&settings);
    char err[HUB_ERR_LEN] = "";
    int status = HTTPD_CLI_OK;
    cs_console_t *console = NULL;
    cs_server_t *server = NULL;
    if (cs_settings_load(&settings, config, err) < 0)
        return httpd_cli_fail(S_PROGRAM, "%s", err);
    int usage = httpd_cli_overlay(&cli, S_PROGRAM, settings.hub, sizeof settings.hub, settings.listen,
                                  sizeof settings.listen, cs_listen_parse, &settings.log_level);
    if (usage != HTTPD_CLI_OK)
        return usage;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (!settings.users_file[0])
        return httpd_cli_fail(S_PROGRAM, "%s: users_file: not set: nobody could log in (see deploy/console-users.yaml)",
                              config);
    if (cs_listen_parse(settings.listen, &addr, &addr_len, err) < 0)
        return httpd_cli_fail(S_PROGRAM, "listen: %s", err);
    if (!httpd_is_loopback((struct sockaddr *)&addr) && !insecure)
        return httpd_cli_fail(S_PROGRAM,
                              "listen %s is not a loopback address: the console speaks plain HTTP. Keep it on "
                              "127.0.0.1 behind a TLS proxy, or pass --insecure",
                              settings.listen);
    if (cli.check) {
        cs_users_t *users = cs_users_load(settings.users_file, settings.proxy_header[0] == '\0', err);
        if (!users)
            return httpd_cli_fail(S_PROGRAM, "%s", err);
        size_t n = cs_users_count(users);
        printf("ok: %zu user%s, listen %s, hub %s, sessions end after %llds\n", n, n == 1 ? "" : "s",
               settings.listen, settings.hub[0] ? settings.hub : "(default)",
               (long long)(settings.session_ttl_ms / 1000));
        cs_users_destroy(&users);
        return HTTPD_CLI_OK;
    }
    hub_log_init(S_PROGRAM, settings.log_level);

    sigset_t wanted;
    httpd_signals_block(&wanted, SIGHUP); /* before libzmq and libmicrohttpd start threads */

    console = cs_console_new(&settings, err);
    if (!console) {
        status = httpd_cli_fail(S_PROGRAM, "%s", err);
        goto done;
    }
    server = cs_server_new(&settings, console, err);
    if (!server) {
        status = httpd_cli_fail(S_PROGRAM, "%s", err);
        goto done;
    }
    char shown[HTTPD_SHOWN_LEN];
    httpd_listen_announce(settings.listen, cs_server_port(server), shown, sizeof shown);
    hub_info("listening on %s, %zu users, hub %s%s", shown, cs_console_user_count(console),
             settings.hub[0] ? settings.hub : "(default)", settings.proxy_header[0] ? ", trusting the proxy" : "");
    for (;;) {
        int sig = httpd_signals_wait(&wanted);
        if (sig == SIGHUP) {
            if (cs_console_reload_users(console, err) == 0)
                hub_info("users file read again: %zu users", cs_console_user_count(console));
            else
                hub_error("users file not read again, the users in force stay: %s", err);
            continue;
        }
        hub_info("stopping (%s)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
done:
    cs_server_destroy(&server);
    cs_console_destroy(&console);
    return status;
}
