/*
 * limiter - failed-login windows (rules in limiter.h).
 */
#include "limiter.h"

#include <stdlib.h>
#include <string.h>

#include "users.h"

typedef struct {
    char name[CS_NAME_LEN]; /* the name tried ("" when free); longer names are cut */
    int64_t start_ms;       /* first failure of the window */
    uint32_t failures;      /* failures in the window */
} s_entry_t;

struct cs_limiter {
    s_entry_t entries[CS_LOGIN_NAMES]; /* per name (rule 4) */
    s_entry_t overflow;                /* names that found no room */
    s_entry_t global;                  /* all names (rule 3) */
};

cs_limiter_t *cs_limiter_new(void)
{
    return calloc(1, sizeof(cs_limiter_t));
}

void cs_limiter_destroy(cs_limiter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static int s_live(const s_entry_t *e, int64_t now_ms)
{
    return e->failures > 0 && now_ms - e->start_ms < CS_LOGIN_WINDOW_MS;
}

/* Copies name into key, cut to CS_NAME_LEN - 1 bytes. */
static void s_key(const char *name, char key[CS_NAME_LEN])
{
    size_t len = strlen(name);
    if (len >= CS_NAME_LEN)
        len = CS_NAME_LEN - 1;
    memcpy(key, name, len);
    key[len] = '\0';
}

/* The entry of key, or NULL; *room_p (may be NULL) gets a free or passed
 * entry, or NULL when every entry holds a live window. */
static s_entry_t *s_find(cs_limiter_t *self, const char *key, int64_t now_ms, s_entry_t **room_p)
{
    s_entry_t *room = NULL;
    for (size_t i = 0; i < CS_LOGIN_NAMES; i++) {
        s_entry_t *e = &self->entries[i];
        if (e->name[0] && strcmp(e->name, key) == 0)
            return e;
        if (!room && (!e->name[0] || !s_live(e, now_ms)))
            room = e;
    }
    if (room_p)
        *room_p = room;
    return NULL;
}

/* Seconds until e's window has passed, or 0 when it allows an attempt. */
static int s_wait(const s_entry_t *e, uint32_t limit, int64_t now_ms)
{
    if (!e || !s_live(e, now_ms) || e->failures < limit)
        return 0;
    int64_t left = CS_LOGIN_WINDOW_MS - (now_ms - e->start_ms);
    return (int)((left + 999) / 1000);
}

int cs_limiter_wait_s(cs_limiter_t *self, const char *name, int64_t now_ms)
{
    char key[CS_NAME_LEN];
    s_key(name, key);
    s_entry_t *room = NULL;
    s_entry_t *e = s_find(self, key, now_ms, &room);
    if (!e && !room)
        e = &self->overflow; /* rule 4: where its failures would go */
    int global = s_wait(&self->global, CS_LOGIN_GLOBAL_FAILURES, now_ms);
    int own = s_wait(e, CS_LOGIN_FAILURES, now_ms);
    return global > own ? global : own;
}

static void s_count(s_entry_t *e, int64_t now_ms)
{
    if (!s_live(e, now_ms)) {
        e->start_ms = now_ms;
        e->failures = 0;
    }
    e->failures++;
}

void cs_limiter_failed(cs_limiter_t *self, const char *name, int64_t now_ms)
{
    char key[CS_NAME_LEN];
    s_key(name, key);
    s_entry_t *room = NULL;
    s_entry_t *e = s_find(self, key, now_ms, &room);
    if (!e && room) {
        memset(room, 0, sizeof *room);
        memcpy(room->name, key, sizeof key);
        e = room;
    }
    s_count(e ? e : &self->overflow, now_ms);
    s_count(&self->global, now_ms);
}

void cs_limiter_succeeded(cs_limiter_t *self, const char *name)
{
    char key[CS_NAME_LEN];
    s_key(name, key);
    s_entry_t *e = s_find(self, key, 0, NULL);
    if (e)
        memset(e, 0, sizeof *e);
}
