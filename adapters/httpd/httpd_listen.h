/*
 * httpd_listen - the address an adapter's HTTP server listens on: the
 * "HOST:PORT" text of its settings and --listen, whether an address is a
 * loopback one, and the "listening on ADDR:PORT" line that tells a
 * supervisor (or a test) where it listens once it does.
 *
 * Rules:
 *   1. A host is numeric (IPv4, or IPv6 in brackets); names are not
 *      resolved, so that what is bound is what was written.
 *   2. The "listening on" line is printed once the port is bound, shows
 *      the port bound (the kernel's choice for port 0), and is flushed at
 *      once: its reader waits on it, never on time.
 */
#ifndef HTTPD_LISTEN_H_INCLUDED
#define HTTPD_LISTEN_H_INCLUDED

#include <stddef.h>
#include <sys/socket.h>

#include "hub.h"

#define HTTPD_LISTEN_LEN 512                    /* bytes of a listen address text */
#define HTTPD_SHOWN_LEN (HTTPD_LISTEN_LEN + 16) /* bytes of httpd_listen_announce's "HOST:PORT" */

/* What an error message of httpd_listen_parse suggests instead. */
typedef struct {
    const char *example; /* a whole HOST:PORT, e.g. "127.0.0.1:8080" */
    const char *hosts;   /* numeric hosts, e.g. "127.0.0.1 or [::1]" */
} httpd_listen_hint_t;

/* Parses "HOST:PORT" (numeric IPv4 or [IPv6], port 0 to 65535) into addr
 * and *len_p. Returns 0, or -HUB_EINVALID with err saying what is wrong
 * with text, and what to write instead from hint. Does not block. */
int httpd_listen_parse(const char *text, const httpd_listen_hint_t *hint, struct sockaddr_storage *addr,
                       socklen_t *len_p, char err[HUB_ERR_LEN]);

/* 1 when addr is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x),
 * else 0 (also for NULL). */
int httpd_is_loopback(const struct sockaddr *addr);

/* Prints "listening on HOST:PORT" on standard output and flushes it
 * (rule 2): HOST as listen (a valid listen text) has it, PORT the port
 * bound. Fills shown (size bytes) with "HOST:PORT", for the log. Returns
 * shown. */
const char *httpd_listen_announce(const char *listen, int port, char *shown, size_t size);

#endif
