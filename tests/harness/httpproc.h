/*
 * httpproc - an HTTP adapter program under test (hub-webhook-in,
 * hub-console) as a child process: started on a free port, stopped with
 * SIGTERM, its log shown when the case failed.
 *
 * Rules:
 *   1. Nothing waits by sleeping: readiness is the program's first line on
 *      standard output, "listening on 127.0.0.1:PORT" (so it is started
 *      with --listen 127.0.0.1:0 or a config saying so); a stop is a
 *      reaped child.
 *   2. Every wait has a deadline (HTTPPROC_START_MS, HTTPPROC_STOP_MS);
 *      a program that misses one is reported, and killed.
 *
 * Typical case:
 *
 *     httpproc_t p;
 *     const char *argv[] = {program, "--config", config, "--listen", "127.0.0.1:0", NULL};
 *     REQUIRE(httpproc_start(&p, "hub-webhook-in", argv, log_path) == 0);
 *     ... requests to p.port ...
 *   done:
 *     HTTPPROC_END(p, before); // stops it (exit 0 checked), prints its log on failure
 */
#ifndef HUB_HTTPPROC_H_INCLUDED
#define HUB_HTTPPROC_H_INCLUDED

#include <sys/types.h>

#include "harness.h"

#define HTTPPROC_START_MS 10000 /* the program must say where it listens within this */
#define HTTPPROC_STOP_MS 10000  /* and exit within this after SIGTERM */

typedef struct {
    pid_t pid;              /* the child, 0 when not running */
    int port;               /* where it listens */
    const char *name;       /* for messages, e.g. "hub-console" (not owned) */
    char log[HARNESS_PATH]; /* its stderr */
} httpproc_t;

/* Starts argv (argv[0] the program's path; NULL-terminated) with standard
 * input from /dev/null and standard error appended to log_path, and waits
 * for its "listening on" line (rule 1). name (a string that outlives self)
 * names it in messages. Returns 0 with self->pid and self->port set; -1
 * with the reason on stderr (a program that started is stopped then, its
 * log left for httpproc_end). Blocks up to HTTPPROC_START_MS. */
int httpproc_start(httpproc_t *self, const char *name, const char *const *argv, const char *log_path);

/* SIGTERM and reap. Returns the exit status, 128 + signal, or -1 when it
 * was not running or did not stop in time (it is killed then, and that is
 * said on stderr). Blocks up to HTTPPROC_STOP_MS. */
int httpproc_stop(httpproc_t *self);

/* Ends a case's use of the program: stops it if it runs (a status other
 * than 0 is reported and counted), and prints its log when failures_now
 * (plus that count) is above failures_before. Returns the number of
 * problems found (0 or 1). Use HTTPPROC_END. */
int httpproc_end(httpproc_t *self, int failures_before, int failures_now);
#define HTTPPROC_END(p, before) check_failures += httpproc_end(&(p), (before), check_failures)

#endif
