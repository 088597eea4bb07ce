/*
 * smtpsink - a minimal real SMTP server on a 127.0.0.1 TCP socket for the
 * mail-out tests: EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT.
 * It records every accepted message and every refused RCPT, in order.
 *
 * Rules:
 *   1. One client at a time, served by the sink's thread; several
 *      transactions per connection.
 *   2. smtpsink_refuse makes RCPT TO of one address get a reply code
 *      (550 or 450) for its next 'times' tries (times < 0: always).
 *   3. Everything is guarded by one mutex.
 */
#ifndef OUTLET_SMTPSINK_H_INCLUDED
#define OUTLET_SMTPSINK_H_INCLUDED

#include <stddef.h>

#define SMTPSINK_MAX 128 /* messages recorded at most */
#define SMTPSINK_RCPT 16 /* recipients of one message at most */

typedef struct {
    char from[256];                 /* MAIL FROM address */
    char rcpt[SMTPSINK_RCPT][256];  /* RCPT TO addresses */
    size_t nrcpt;                   /* how many */
    char *data;                     /* the message, dot-unstuffed, CRLF kept (owned) */
} smtpsink_msg_t;

typedef struct smtpsink smtpsink_t;

smtpsink_t *smtpsink_new(void);
void smtpsink_destroy(smtpsink_t **self_p);
int smtpsink_port(const smtpsink_t *self);

/* Rule 2. */
void smtpsink_refuse(smtpsink_t *self, const char *address, int code, int times);

size_t smtpsink_count(smtpsink_t *self);
/* RCPT TO replies refused so far. */
size_t smtpsink_refusals(smtpsink_t *self);
/* A copy of message i (data duplicated: smtpsink_msg_free). 0 or -1. */
int smtpsink_get(smtpsink_t *self, size_t i, smtpsink_msg_t *out);
void smtpsink_msg_free(smtpsink_msg_t *m);

/* Waits until at least n messages (or refusals) were recorded. 1 or 0. */
int smtpsink_wait(smtpsink_t *self, size_t n, int timeout_ms);
int smtpsink_wait_refusals(smtpsink_t *self, size_t n, int timeout_ms);

#endif
