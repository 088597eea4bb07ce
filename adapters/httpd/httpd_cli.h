/*
 * httpd_cli - the command line the HTTP adapters share (hub-webhook-in,
 * hub-console): the options every one takes, their checks, and how a
 * mistake is told.
 *
 *   -c, --config FILE   --hub EP   --listen ADDR:PORT   --log-level L
 *   --check   -h, --help   --version   and the program's own options
 *
 * Rules:
 *   1. Exit codes: 0 a clean stop, --help, --version or a passed check;
 *      1 a failure (one line "PROGRAM: what" on stderr); 2 a usage
 *      mistake (that line, then "try: PROGRAM --help").
 *   2. The command line goes over the settings file: --hub, --listen and
 *      --log-level replace what the file said, once checked like it.
 */
#ifndef HTTPD_CLI_H_INCLUDED
#define HTTPD_CLI_H_INCLUDED

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "hub.h"
#include "log.h"

enum { HTTPD_CLI_OK = 0, HTTPD_CLI_FAILED = 1, HTTPD_CLI_USAGE = 2 }; /* rule 1 */

#define HTTPD_CLI_EXTRA 1100  /* the val of a program's first own option */
#define HTTPD_CLI_MAX_EXTRA 4 /* a program's own options at most */

/* What the command line said. */
typedef struct {
    const char *config;                     /* --config FILE, or NULL */
    const char *hub;                        /* --hub EP, or NULL */
    const char *listen;                     /* --listen ADDR:PORT, or NULL */
    const char *log_level;                  /* --log-level L, or NULL */
    int check;                              /* 1: --check */
    const char *extra[HTTPD_CLI_MAX_EXTRA]; /* the program's own options by val - HTTPD_CLI_EXTRA: the
                                               value, "" for one without, NULL when not given */
} httpd_cli_t;

/* The program the command line is for. */
typedef struct {
    const char *name;           /* "hub-console" */
    const char *version;        /* its version */
    void (*usage)(FILE *out);   /* prints its --help text */
    const struct option *extra; /* its own options, vals from HTTPD_CLI_EXTRA on, ending with a NULL
                                   name; NULL for none */
} httpd_cli_program_t;

/* Parses argv into cli (global optind is left at the first operand).
 * Returns -1 to go on; else the exit status to return at once: 0 after
 * printing --help or --version, 2 after telling a usage mistake (rule 1).
 * Does not block. */
int httpd_cli_parse(const httpd_cli_program_t *program, int argc, char **argv, httpd_cli_t *cli);

/* Puts --hub, --listen and --log-level over the settings (rule 2): hub
 * (hub_size bytes) must be a ZeroMQ endpoint, listen (listen_size bytes)
 * must pass listen_parse, log_level a level's name. Returns 0, or 2 after
 * telling the mistake (the settings may then be partly changed). */
int httpd_cli_overlay(const httpd_cli_t *cli, const char *program, char *hub, size_t hub_size, char *listen,
                      size_t listen_size,
                      int (*listen_parse)(const char *text, struct sockaddr_storage *addr, socklen_t *len_p,
                                          char err[HUB_ERR_LEN]),
                      hub_log_level_t *log_level);

/* Prints "PROGRAM: what" on stderr. Returns 1 (HTTPD_CLI_FAILED). */
int httpd_cli_fail(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "PROGRAM: what" and "try: PROGRAM --help" on stderr. Returns 2
 * (HTTPD_CLI_USAGE). */
int httpd_cli_usage_error(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
