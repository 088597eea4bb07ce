/*
 * outletproc - an outlet program (hub-webhook-out, hub-mail-out) as a child
 * process of a test, on the harness's hub, with its log in the harness
 * directory.
 *
 * Rules: nothing waits by sleeping; every wait has a deadline; a stop is
 * SIGTERM and a reaped child whose exit status is returned.
 */
#ifndef OUTLET_OUTLETPROC_H_INCLUDED
#define OUTLET_OUTLETPROC_H_INCLUDED

#include <sys/types.h>

#include "harness.h"

typedef struct {
    pid_t pid;                /* the child, 0 when not running */
    char log[HARNESS_PATH];   /* its stderr and stdout */
} outletproc_t;

/* The program named by the environment variable var (WEBHOOK_OUT,
 * MAIL_OUT); exits 77 when it is not set. */
const char *outletproc_program(const char *var);

/* Writes config_text to NAME.yaml in the harness directory and starts
 * PROGRAM --config it --hub <harness endpoint>. Returns 0 or -1. */
int outletproc_start(outletproc_t *self, harness_t *h, const char *program, const char *name,
                     const char *config_text);

/* SIGTERM, then reaps within 10 s. Returns the exit status, 128 + signal,
 * or -1 when it had to be killed. */
int outletproc_stop(outletproc_t *self);

/* Waits until the log contains needle at least 'times' times. 1 or 0. */
int outletproc_wait_log(const outletproc_t *self, const char *needle, int times, int timeout_ms);

/* How often the log contains needle. */
int outletproc_log_count(const outletproc_t *self, const char *needle);

/* Prints the log to stderr. */
void outletproc_dump(const outletproc_t *self);

/* Runs PROGRAM with args (NULL-terminated) to its end, collecting stdout
 * and stderr together into *out (the caller frees) through a file in dir.
 * Returns the exit status or -1. */
int outletproc_run(const char *dir, const char *program, char **out, const char *const *args);

#endif
