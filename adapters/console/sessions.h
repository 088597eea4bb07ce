/*
 * sessions - the console's login sessions, kept in memory on the server.
 *
 * A session is a random 32-byte id (64 hex digits, the sb_session cookie),
 * the user it belongs to, a random 32-byte CSRF token (64 hex digits) that
 * every changing request must echo, and the time it ends.
 *
 *        cs_sessions_create             cs_sessions_find (after expires_ms)
 *   none ------------------> live ------------------------------------> gone
 *                              |  cs_sessions_remove (logout), or evicted
 *                              +----------------------------------------> gone
 *
 * Rules:
 *   1. Ids and tokens come from the kernel's randomness (cs_random_bytes);
 *      when it gives none, no session is made.
 *   2. The table keeps only a digest of each id, and a lookup compares
 *      digests: neither a memory dump nor the time of a lookup gives an id
 *      away.
 *   3. A session ends session_ttl after its login, whatever happens in
 *      between; an expired session is never returned and is dropped when
 *      seen.
 *   4. A user holds at most CS_SESSIONS_PER_USER sessions: their next login
 *      ends their oldest, so that one user logging in again and again
 *      (or a proxy's user asking without a cookie) cannot push others out.
 *      The table holds at most CS_MAX_SESSIONS; a new login in a full table
 *      evicts the session that would end first.
 *   5. Not thread-safe: the one HTTP thread uses it (the caller's lock).
 */
#ifndef CS_SESSIONS_H_INCLUDED
#define CS_SESSIONS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "users.h"

#define CS_MAX_SESSIONS 4096    /* sessions at once (rule 4) */
#define CS_SESSIONS_PER_USER 16 /* sessions of one user at once (rule 4) */
#define CS_TOKEN_HEX 65         /* 64 hex digits and a NUL: a session id or a CSRF token */

typedef struct {
    uint8_t id_digest[32];      /* SHA-256 of the id text (rule 2) */
    char csrf[CS_TOKEN_HEX];    /* the CSRF token */
    char user[CS_NAME_LEN];     /* whose session */
    int64_t created_ms;         /* login time (wall clock) */
    int64_t expires_ms;         /* end (wall clock) */
    int via_proxy;              /* 1: made from the trusted proxy header */
} cs_session_t;

typedef struct cs_sessions cs_sessions_t;

/* An empty table whose sessions live ttl_ms. NULL when out of memory. */
cs_sessions_t *cs_sessions_new(int64_t ttl_ms);

void cs_sessions_destroy(cs_sessions_t **self_p);

/* Makes a session for user at now_ms and writes its id to id_out.
 * Returns the session (owned by the table, valid until the next call that
 * changes it) or NULL when the kernel gave no random bytes (rule 1). */
const cs_session_t *cs_sessions_create(cs_sessions_t *self, const char *user, int via_proxy, int64_t now_ms,
                                       char id_out[CS_TOKEN_HEX]);

/* The live session whose id is id (any text, e.g. a cookie value), or NULL
 * (unknown, malformed or expired: an expired one is dropped). */
const cs_session_t *cs_sessions_find(cs_sessions_t *self, const char *id, int64_t now_ms);

/* Ends the session whose id is id. Returns 1 when there was one, else 0. */
int cs_sessions_remove(cs_sessions_t *self, const char *id);

/* Ends every session of user (e.g. removed from the users file). Returns
 * how many. */
size_t cs_sessions_remove_user(cs_sessions_t *self, const char *user);

/* Live sessions (expired ones not yet dropped count too). */
size_t cs_sessions_count(const cs_sessions_t *self);

/* 1 when token (any text) is session's CSRF token, compared in constant
 * time; else 0. */
int cs_session_csrf_ok(const cs_session_t *session, const char *token);

#endif
