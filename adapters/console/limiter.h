/*
 * limiter - how many failed logins the console takes: per user name, and
 * in all.
 *
 * Rules:
 *   1. A name that failed CS_LOGIN_FAILURES times within CS_LOGIN_WINDOW_MS
 *      of its first failure is refused, without a password check, until
 *      that window has passed. A successful login clears the name.
 *   2. Any name counts, known or not, so that the answers do not tell
 *      which users exist.
 *   3. Every failure also counts in a console-wide window: more than
 *      CS_LOGIN_GLOBAL_FAILURES in CS_LOGIN_WINDOW_MS refuse every login
 *      until it has passed. Each password check costs a PBKDF2 run on the
 *      one HTTP thread: this bounds the time guessers can take from
 *      everyone else.
 *   4. The table is bounded (CS_LOGIN_NAMES). A name is forgotten only
 *      once its window has passed; when the table is full of live windows,
 *      new names share one overflow entry, which is limited like a name.
 *   5. Not thread-safe: the one HTTP thread uses it.
 */
#ifndef CS_LIMITER_H_INCLUDED
#define CS_LIMITER_H_INCLUDED

#include <stdint.h>

#define CS_LOGIN_FAILURES 5           /* failures of one name per window (rule 1) */
#define CS_LOGIN_WINDOW_MS 60000      /* the window */
#define CS_LOGIN_GLOBAL_FAILURES 60   /* failures of all names per window (rule 3): each costs a password hash on the one HTTP thread */
#define CS_LOGIN_NAMES 4096           /* names remembered (rule 4) */

typedef struct cs_limiter cs_limiter_t;

/* NULL when out of memory. */
cs_limiter_t *cs_limiter_new(void);

void cs_limiter_destroy(cs_limiter_t **self_p);

/* 0 when a login attempt for name may go on at now_ms (monotonic ms);
 * else the seconds until it may (>= 1). */
int cs_limiter_wait_s(cs_limiter_t *self, const char *name, int64_t now_ms);

/* Counts a failed attempt for name. */
void cs_limiter_failed(cs_limiter_t *self, const char *name, int64_t now_ms);

/* Forgets name's failures (after a successful login). */
void cs_limiter_succeeded(cs_limiter_t *self, const char *name);

#endif
