/*
 * sessions - the login session table (rules in sessions.h).
 */
#include "sessions.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"
#include "sha256.h"

struct cs_sessions {
    cs_session_t *slots; /* CS_MAX_SESSIONS entries; expires_ms 0: free */
    size_t count;        /* slots in use */
    int64_t ttl_ms;      /* lifetime of a session */
};

cs_sessions_t *cs_sessions_new(int64_t ttl_ms)
{
    cs_sessions_t *self = calloc(1, sizeof *self);
    if (self)
        self->slots = calloc(CS_MAX_SESSIONS, sizeof *self->slots);
    if (!self || !self->slots) {
        free(self);
        return NULL;
    }
    self->ttl_ms = ttl_ms;
    return self;
}

void cs_sessions_destroy(cs_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    memset((*self_p)->slots, 0, CS_MAX_SESSIONS * sizeof *(*self_p)->slots);
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

#ifndef NDEBUG
/* Rule 4 and the count: debug builds check them after every change. */
static void s_check_invariants(const cs_sessions_t *self)
{
    size_t used = 0;
    for (size_t i = 0; i < CS_MAX_SESSIONS; i++) {
        const cs_session_t *s = &self->slots[i];
        if (s->expires_ms == 0)
            continue;
        used++;
        assert(s->user[0] != '\0');
        assert(strlen(s->csrf) == CS_TOKEN_HEX - 1);
        assert(s->expires_ms > s->created_ms);
    }
    assert(used == self->count);
    assert(self->count <= CS_MAX_SESSIONS);
}
#else
#define s_check_invariants(self) ((void)(self))
#endif

static void s_drop(cs_sessions_t *self, cs_session_t *slot)
{
    memset(slot, 0, sizeof *slot);
    self->count--;
}

/* 1 when a and b (32 bytes each) are equal, without an early exit. */
static int s_equal32(const uint8_t *a, const uint8_t *b)
{
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < 32; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

/* Writes 32 random bytes as hex. Returns 0 or -1 (rule 1). */
static int s_random_hex(char out[CS_TOKEN_HEX])
{
    uint8_t bytes[32];
    if (cs_random_bytes(bytes, sizeof bytes) < 0)
        return -1;
    hub_hex(bytes, sizeof bytes, out);
    memset(bytes, 0, sizeof bytes);
    return 0;
}

const cs_session_t *cs_sessions_create(cs_sessions_t *self, const char *user, int via_proxy, int64_t now_ms,
                                       char id_out[CS_TOKEN_HEX])
{
    cs_session_t fresh = {0};
    if (s_random_hex(id_out) < 0 || s_random_hex(fresh.csrf) < 0)
        return NULL;
    hub_sha256(id_out, strlen(id_out), fresh.id_digest);
    snprintf(fresh.user, sizeof fresh.user, "%s", user);
    fresh.created_ms = now_ms;
    fresh.expires_ms = now_ms + self->ttl_ms;
    fresh.via_proxy = via_proxy;
    /* the user's own oldest when they have CS_SESSIONS_PER_USER already;
     * else a free slot, else an expired one, else the one that ends first
     * (rule 4) */
    cs_session_t *slot = NULL, *first = NULL, *own_oldest = NULL;
    size_t own = 0;
    for (size_t i = 0; i < CS_MAX_SESSIONS; i++) {
        cs_session_t *s = &self->slots[i];
        if (s->expires_ms != 0 && s->expires_ms <= now_ms)
            s_drop(self, s);
        if (s->expires_ms == 0) {
            if (!slot)
                slot = s;
            continue;
        }
        if (strcmp(s->user, fresh.user) == 0) {
            own++;
            if (!own_oldest || s->expires_ms < own_oldest->expires_ms)
                own_oldest = s;
        }
        if (!first || s->expires_ms < first->expires_ms)
            first = s;
    }
    if (own >= CS_SESSIONS_PER_USER) {
        s_drop(self, own_oldest);
        slot = own_oldest;
    }
    else if (!slot) {
        s_drop(self, first);
        slot = first;
    }
    *slot = fresh;
    self->count++;
    memset(&fresh, 0, sizeof fresh);
    s_check_invariants(self);
    return slot;
}

/* The slot of id, expired or not, or NULL. */
static cs_session_t *s_slot(cs_sessions_t *self, const char *id)
{
    if (!id || strlen(id) != CS_TOKEN_HEX - 1 || strspn(id, "0123456789abcdef") != CS_TOKEN_HEX - 1)
        return NULL;
    uint8_t digest[32];
    hub_sha256(id, CS_TOKEN_HEX - 1, digest);
    cs_session_t *found = NULL;
    for (size_t i = 0; i < CS_MAX_SESSIONS; i++) {
        cs_session_t *s = &self->slots[i];
        if (s->expires_ms != 0 && s_equal32(s->id_digest, digest))
            found = s;
    }
    return found;
}

const cs_session_t *cs_sessions_find(cs_sessions_t *self, const char *id, int64_t now_ms)
{
    cs_session_t *s = s_slot(self, id);
    if (s && s->expires_ms <= now_ms) {
        s_drop(self, s); /* rule 3 */
        s = NULL;
    }
    return s;
}

int cs_sessions_remove(cs_sessions_t *self, const char *id)
{
    cs_session_t *s = s_slot(self, id);
    if (!s)
        return 0;
    s_drop(self, s);
    s_check_invariants(self);
    return 1;
}

size_t cs_sessions_remove_user(cs_sessions_t *self, const char *user)
{
    size_t n = 0;
    for (size_t i = 0; i < CS_MAX_SESSIONS; i++) {
        cs_session_t *s = &self->slots[i];
        if (s->expires_ms != 0 && strcmp(s->user, user) == 0) {
            s_drop(self, s);
            n++;
        }
    }
    s_check_invariants(self);
    return n;
}

size_t cs_sessions_count(const cs_sessions_t *self)
{
    return self ? self->count : 0;
}

int cs_session_csrf_ok(const cs_session_t *session, const char *token)
{
    if (!session || !token)
        return 0;
    uint8_t a[32], b[32];
    hub_sha256(token, strlen(token), a);
    hub_sha256(session->csrf, strlen(session->csrf), b);
    return s_equal32(a, b);
}
