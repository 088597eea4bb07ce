/*
 * outlet_retry - when to try a delivery again: exponential backoff with
 * full jitter, bounded by attempts and elapsed time, and the Retry-After
 * a server may ask for.
 *
 * Rules:
 *   1. Before attempt k+1 (k >= 1 failed attempts) the outlet waits a
 *      uniformly random time in [0, min(max_delay, initial_delay * 2^(k-1))]
 *      ("full jitter": outlets that failed together do not retry together).
 *   2. A server's Retry-After replaces that delay (it knows best), capped at
 *      max_delay only when it is absurd (over OUTLET_RETRY_AFTER_MAX).
 *   3. The outlet gives up (and nacks, so that the hub's redelivery and
 *      dead-letter take over) after max_attempts attempts, or when the next
 *      wait would end after max_elapsed from the first attempt.
 *   4. Keep max_elapsed below the hub's ack_timeout (30 s by default): a
 *      notification held longer than that is delivered again by the hub,
 *      and counted as an attempt there.
 */
#ifndef OUTLET_RETRY_H_INCLUDED
#define OUTLET_RETRY_H_INCLUDED

#include <stdint.h>

#define OUTLET_RETRY_AFTER_MAX (3600 * 1000) /* ms: a Retry-After beyond is not believed */

typedef struct {
    uint32_t max_attempts;    /* attempts per delivery before giving up (>= 1) */
    int64_t initial_delay_ms; /* backoff base */
    int64_t max_delay_ms;     /* backoff cap */
    int64_t max_elapsed_ms;   /* give up when the next try would start later than this */
} outlet_retry_t;

/* The defaults: 5 attempts, 500 ms, 10 s, 20 s. */
void outlet_retry_defaults(outlet_retry_t *self);

/* The wait before the next attempt after 'failed' failed attempts (>= 1),
 * with rnd a random 64-bit number (rule 1). Never negative. */
int64_t outlet_retry_backoff_ms(const outlet_retry_t *self, uint32_t failed, uint64_t rnd);

/* Parses a Retry-After value: delay-seconds ("120") or an HTTP date
 * ("Wed, 21 Oct 2026 07:28:00 GMT", or the obsolete RFC 850 and asctime
 * forms), now_ms being the wall clock in ms since the epoch. Returns 0
 * and sets *delay_ms (0 for a date in the past), or -1 when the text is
 * neither. */
int outlet_retry_after_parse(const char *text, int64_t now_ms, int64_t *delay_ms);

/* A random 64-bit number for the jitter (not for secrets). */
uint64_t outlet_retry_random(void);

#endif
