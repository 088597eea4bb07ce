/*
 * httpd_signals - how an adapter's main thread waits for the signals that
 * stop it (SIGTERM, SIGINT) or ask something of it (SIGHUP), while other
 * threads (libzmq's, libmicrohttpd's) do the work.
 *
 * Rules:
 *   1. The signals are blocked before any thread starts, so that every
 *      thread inherits the mask and only sigwait in the main thread ever
 *      sees them: no handler runs in the middle of a request.
 *   2. SIGPIPE is ignored: a peer that hangs up is an error return from
 *      a write, never the end of the program.
 */
#ifndef HTTPD_SIGNALS_H_INCLUDED
#define HTTPD_SIGNALS_H_INCLUDED

#include <signal.h>

/* Fills set with SIGTERM, SIGINT and, unless 0, extra_sig (e.g. SIGHUP),
 * blocks them in the calling thread and so in every thread it starts
 * afterwards (rule 1), and ignores SIGPIPE (rule 2). Call before starting
 * any thread. Does not block. */
void httpd_signals_block(sigset_t *set, int extra_sig);

/* Waits for one of set's signals (blocked by httpd_signals_block) and
 * returns it. Blocks until one comes. */
int httpd_signals_wait(const sigset_t *set);

#endif
