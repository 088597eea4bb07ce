/*
 * hubctl.h - what the hubctl commands share: the global options, exit codes,
 * strict number parsing, reading a whole input, usage errors and signals.
 *
 * Rules every command keeps:
 *   1. Exit codes: 0 ok, 1 rejected or failed, 2 usage, 3 timeout or the hub
 *      (or its tap) not answering.
 *   2. A usage error prints one line saying what is wrong and the hint
 *      "try: hubctl COMMAND --help" on stderr, and returns 2.
 *   3. Results go to stdout, one line each, flushed as they are produced;
 *      everything about failure goes to stderr, prefixed "hubctl: " (a
 *      policy's own "FILE:LINE: what" is printed as it is, like a compiler's).
 *   4. Numbers are parsed strictly: digits only, in range, nothing after.
 */
#ifndef HUBCTL_H_INCLUDED
#define HUBCTL_H_INCLUDED

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"

enum {
    HUBCTL_OK = 0,      /* done */
    HUBCTL_FAILED = 1,  /* rejected, or failed */
    HUBCTL_USAGE = 2,   /* the command line is wrong */
    HUBCTL_TIMEOUT = 3, /* the hub did not answer in time */
};

#define HUBCTL_DEFAULT_TIMEOUT_MS 10000            /* --timeout */
#define HUBCTL_MAX_TIMEOUT_MS (7LL * 24 * 3600 * 1000) /* --timeout, --idle at most */
#define HUBCTL_MAX_INPUT (256u << 20)              /* bytes read from one file or stdin */
#define HUBCTL_DEFAULT_TAP "tcp://127.0.0.1:7201"  /* tail, when neither --tap nor $HUB_TAP */
#define HUBCTL_TICK_MS 200                         /* longest wait before checking for a signal */

/* The global options, shared by every command. */
typedef struct {
    const char *endpoint;   /* --hub, $HUB_ENDPOINT or HUB_DEFAULT_ENDPOINT */
    int timeout_ms;         /* --timeout in ms */
    const char *key;        /* --key PREFIX; NULL: libhub reads $HUB_KEY; "": no CURVE */
    const char *server_key; /* --server-key FILE; NULL: libhub reads $HUB_SERVER_KEY */
} hubctl_t;

/* The long options every command accepts besides its own, so that
 * "hubctl status --hub EP" works as well as "hubctl --hub EP status".
 * Their getopt values; commands list HUBCTL_COMMON_OPTIONS in their table
 * and read their options with hubctl_getopt, which handles these. */
enum {
    HUBCTL_OPT_HUB = 1000,
    HUBCTL_OPT_TIMEOUT,
    HUBCTL_OPT_KEY,        /* --key */
    HUBCTL_OPT_SERVER_KEY, /* --server-key */
    HUBCTL_OPT_HELP = 'h',
};

#define HUBCTL_COMMON_OPTIONS                                                                                          \
    {"hub", required_argument, NULL, HUBCTL_OPT_HUB}, {"timeout", required_argument, NULL, HUBCTL_OPT_TIMEOUT},        \
        {"key", required_argument, NULL, HUBCTL_OPT_KEY},                                                              \
        {"server-key", required_argument, NULL, HUBCTL_OPT_SERVER_KEY}, {"help", no_argument, NULL, HUBCTL_OPT_HELP}

/* The options of the commands that receive (subscribe, tail): --count N
 * (also -n N) and --idle SEC; commands list HUBCTL_WATCH_OPTIONS and pass
 * these values to hubctl_watch_option. */
enum {
    HUBCTL_OPT_COUNT = 'n',
    HUBCTL_OPT_IDLE = 1200,
};

#define HUBCTL_WATCH_OPTIONS                                                                                           \
    {"count", required_argument, NULL, HUBCTL_OPT_COUNT}, {"idle", required_argument, NULL, HUBCTL_OPT_IDLE}

/* When a receiving command stops (set by --count, --idle and --timeout). */
typedef struct {
    uint64_t count;        /* --count N; 0: no count */
    int64_t idle_ms;       /* --idle in ms; 0: no idle stop */
    uint64_t received;     /* notifications counted so far */
    int64_t deadline;      /* with --count: when fewer than N is a timeout; else INT64_MAX */
    int64_t idle_deadline; /* with --idle: when nothing new means done; else INT64_MAX */
} hubctl_watch_t;

/* A command: argv[0] is the command's name, argv[1..] its arguments.
 * Returns the exit code. */
typedef int (*hubctl_cmd_fn)(hubctl_t *g, int argc, char **argv);

int hubctl_cmd_publish(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_subscribe(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_respond(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_tail(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_status(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_rules(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_route(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_keygen(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_deadletters(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_redrive(hubctl_t *g, int argc, char **argv);
int hubctl_cmd_discard(hubctl_t *g, int argc, char **argv);

/* ------------------------------------------------------------ common.c */

/* Prints "hubctl: CMD: <message>" and "try: hubctl CMD --help" on stderr.
 * Returns HUBCTL_USAGE. cmd may be NULL for the global options. */
int hubctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "hubctl: <message>" on stderr. Returns HUBCTL_FAILED. */
int hubctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Turns what getopt_long returned for a bad option ('?' or ':', with the
 * option string starting with ':') into a usage error. Returns HUBCTL_USAGE. */
int hubctl_getopt_error(const char *cmd, int c, char **argv);

/* Handles an option of HUBCTL_COMMON_OPTIONS other than --help. Returns 0,
 * or HUBCTL_USAGE after printing why. */
int hubctl_common_option(hubctl_t *g, const char *cmd, int c, const char *arg);

/* getopt_long over a command's arguments (optind must be 0 or 1 at the
 * first call, as main leaves it), doing what every command does alike:
 * --help prints help() and stops with HUBCTL_OK, an option of
 * HUBCTL_COMMON_OPTIONS goes to hubctl_common_option, an unknown option or
 * a missing value is a usage error. shortopts must start with ':'.
 * Returns the next of the command's own options (> 0), or -1 when there is
 * none left; then *exit_p is -1 to go on with the command, or the exit
 * code to return now (HUBCTL_OK after --help, HUBCTL_USAGE). */
int hubctl_getopt(hubctl_t *g, const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *options, void (*help)(void), int *exit_p);

/* Handles HUBCTL_OPT_COUNT or HUBCTL_OPT_IDLE for cmd. Returns 0, or
 * HUBCTL_USAGE after printing why. */
int hubctl_watch_option(hubctl_watch_t *w, const char *cmd, int c, const char *arg);

/* Sets the deadlines once the command is ready to receive: the --count
 * deadline runs from start_ms (the command's start), --idle from now. */
void hubctl_watch_start(hubctl_watch_t *w, const hubctl_t *g, int64_t start_ms);

/* What to do next: returns how many ms to wait for a notification (at
 * most HUBCTL_TICK_MS, so that a signal is seen), 0 when done (--count
 * reached, --idle passed, or a signal), or -ETIMEDOUT when the --timeout
 * passed with fewer than --count (the caller says so and exits 3). */
int64_t hubctl_watch_next(hubctl_watch_t *w);

/* Counts one notification received (and restarts the --idle wait). */
void hubctl_watch_got(hubctl_watch_t *w);

/* Parses a whole decimal number in [min, max]: digits only, no sign, no
 * spaces, no base prefix, no overflow. Returns 0, or -HUB_EINVALID. */
int hubctl_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *value_p);

/* Parses seconds, whole or with up to three decimals ("10", "0.5"), into
 * milliseconds in [1, HUBCTL_MAX_TIMEOUT_MS]. Returns 0, or -HUB_EINVALID. */
int hubctl_parse_seconds(const char *text, int64_t *ms_p);

/* Milliseconds on a monotonic clock, for deadlines. */
int64_t hubctl_mono_ms(void);

/* Formats milliseconds as seconds for messages: "10 s", "0.5 s". */
void hubctl_format_seconds(int64_t ms, char *out, size_t outlen);

/* Reads a whole file, or stdin when path is "-", up to HUBCTL_MAX_INPUT
 * bytes. Returns 0 and sets *data_p (NUL-terminated, the caller frees it)
 * and *len_p; or a negative code with err saying what and which file
 * (-errno, -HUB_ETOOLARGE, -HUB_EMALFORMED when it holds a NUL byte). */
int hubctl_read_input(const char *path, char **data_p, size_t *len_p, char err[HUB_ERR_LEN]);

/* The name to show for an input path: "stdin" for "-". */
const char *hubctl_input_name(const char *path);

/* Creates a client for g's endpoint, timeout and keys. Returns NULL after
 * printing why (a bad key file is named). */
hub_client_t *hubctl_client_new(const hubctl_t *g);

/* Reports a failed call to the hub and returns the exit code: for
 * -ETIMEDOUT "no answer from the hub at EP within N s (is hubd running?)"
 * (with a key in use, also whether the hub knows it) and HUBCTL_TIMEOUT;
 * else "what: err" (or the code's text when err is empty) and
 * HUBCTL_FAILED. */
int hubctl_call_failed(const hubctl_t *g, const char *what, int rc, const char *err);

/* The text of a table's cell (row, col); never NULL. */
typedef const char *(*hubctl_cell_fn)(void *arg, size_t row, size_t col);

/* Prints a table on stdout: the ncols headers, then nrows rows of cells
 * from cell(arg, row, col). Each column is as wide as its widest cell, two
 * spaces apart; columns before right_from are aligned left, the others
 * right (right_from >= ncols: all left, and the last column is not padded).
 * Does not flush. Returns 0, or -ENOMEM. */
int hubctl_print_table(const char *const *headers, size_t ncols, size_t right_from, size_t nrows, hubctl_cell_fn cell,
                       void *arg);

/* Prints a publish acknowledgement as one JSON line on stdout and flushes.
 * Returns 0, or -errno when stdout cannot be written. */
int hubctl_print_ack(const hub_publish_result_t *res);

/* Writes line and a newline to stdout and flushes. Returns 0, or -errno
 * when stdout cannot be written (a closed pipe, a full disk). */
int hubctl_print_line(const char *line);

/* Catches SIGINT and SIGTERM (setting hubctl_stop, without restarting the
 * interrupted call) and ignores SIGPIPE, so that a closed stdout is an
 * error to report rather than a silent death. */
void hubctl_catch_signals(void);

/* Set to the signal number when SIGINT or SIGTERM arrived. */
extern volatile sig_atomic_t hubctl_stop;

#endif
