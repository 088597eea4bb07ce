/*
 * httpd_cli - the HTTP adapters' command line (see httpd_cli.h).
 */
#include "httpd_cli.h"

#include <stdarg.h>
#include <string.h>

enum { S_OPT_HUB = 1000, S_OPT_LISTEN, S_OPT_LOG_LEVEL, S_OPT_CHECK, S_OPT_VERSION };

static const struct option s_common[] = {
    {"config", required_argument, NULL, 'c'},
    {"hub", required_argument, NULL, S_OPT_HUB},
    {"listen", required_argument, NULL, S_OPT_LISTEN},
    {"log-level", required_argument, NULL, S_OPT_LOG_LEVEL},
    {"check", no_argument, NULL, S_OPT_CHECK},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, S_OPT_VERSION},
};

#define S_NCOMMON (sizeof s_common / sizeof s_common[0])

int httpd_cli_parse(const httpd_cli_program_t *program, int argc, char **argv, httpd_cli_t *cli)
{
    struct option options[S_NCOMMON + HTTPD_CLI_MAX_EXTRA + 1];
    size_t n = 0;
    for (; n < S_NCOMMON; n++)
        options[n] = s_common[n];
    for (size_t i = 0; program->extra && program->extra[i].name && i < HTTPD_CLI_MAX_EXTRA; i++)
        options[n++] = program->extra[i];
    memset(&options[n], 0, sizeof options[n]);
    memset(cli, 0, sizeof *cli);
    opterr = 0;
    int c, which = 0;
    while ((c = getopt_long(argc, argv, ":c:h", options, &which)) != -1) {
        switch (c) {
        case 'c':
            cli->config = optarg;
            break;
        case S_OPT_HUB:
            cli->hub = optarg;
            break;
        case S_OPT_LISTEN:
            cli->listen = optarg;
            break;
        case S_OPT_LOG_LEVEL:
            cli->log_level = optarg;
            break;
        case S_OPT_CHECK:
            cli->check = 1;
            break;
        case 'h':
            program->usage(stdout);
            return HTTPD_CLI_OK;
        case S_OPT_VERSION:
            printf("%s %s (protocol %d)\n", program->name, program->version, HUB_PROTOCOL_VERSION);
            return HTTPD_CLI_OK;
        case ':':
            return httpd_cli_usage_error(program->name, "option %s needs a value", argv[optind - 1]);
        default:
            if (c >= HTTPD_CLI_EXTRA && c < HTTPD_CLI_EXTRA + HTTPD_CLI_MAX_EXTRA) {
                cli->extra[c - HTTPD_CLI_EXTRA] = options[which].has_arg == no_argument ? "" : optarg;
                break;
            }
            return httpd_cli_usage_error(program->name, "unknown option %s", argv[optind - 1]);
        }
    }
    return -1;
}

int httpd_cli_overlay(const httpd_cli_t *cli, const char *program, char *hub, size_t hub_size, char *listen,
                      size_t listen_size,
                      int (*listen_parse)(const char *text, struct sockaddr_storage *addr, socklen_t *len_p,
                                          char err[HUB_ERR_LEN]),
                      hub_log_level_t *log_level)
{
    if (cli->hub) {
        if (!strstr(cli->hub, "://") || strlen(cli->hub) >= hub_size)
            return httpd_cli_usage_error(program, "--hub \"%s\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200)",
                                         cli->hub);
        snprintf(hub, hub_size, "%s", cli->hub);
    }
    if (cli->listen) {
        struct sockaddr_storage addr;
        socklen_t len;
        char err[HUB_ERR_LEN] = "";
        if (strlen(cli->listen) >= listen_size || listen_parse(cli->listen, &addr, &len, err) < 0)
            return httpd_cli_usage_error(program, "--listen: %s", err);
        snprintf(listen, listen_size, "%s", cli->listen);
    }
    if (cli->log_level && hub_log_level_parse(cli->log_level, log_level) < 0)
        return httpd_cli_usage_error(program, "--log-level \"%s\" is not one of debug, info, warn, error",
                                     cli->log_level);
    return 0;
}

/* Prints the line "PROGRAM: what" on stderr. */
static void s_tell(const char *program, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void s_tell(const char *program, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int httpd_cli_fail(const char *program, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_tell(program, fmt, ap);
    va_end(ap);
    return HTTPD_CLI_FAILED;
}

int httpd_cli_usage_error(const char *program, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_tell(program, fmt, ap);
    va_end(ap);
    fprintf(stderr, "try: %s --help\n", program);
    return HTTPD_CLI_USAGE;
}
