/*
 * ident - identifiers for event ids and hub instances (UUID version 7:
 * the time, then random bits); and the names of the people a client acts
 * for.
 */
#ifndef HUB_IDENT_H_INCLUDED
#define HUB_IDENT_H_INCLUDED

#include <stddef.h>

#define HUB_ID_LEN 37 /* "xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx" and its NUL */

/* Writes a new UUIDv7 in lower-case hex to out: 48 bits of the Unix time
 * in milliseconds, 12 bits of the millisecond's fraction, 62 random bits.
 * Ids made later sort after earlier ones (to the clock's precision), so
 * that the store's index of event ids grows at its end rather than at a
 * random place per event: random ids made each commit touch a page of the
 * index per event. They are unique, not secret, and say when they were
 * made. The random bits come from getrandom(2), falling back to
 * /dev/urandom; can block only at early boot, until the kernel's pool is
 * seeded. Cannot fail: if neither source answers it mixes the clocks, the
 * pid and a counter through SHA-256. */
void hub_id_generate(char out[HUB_ID_LEN]);

/* Fills out with len bytes of the kernel's randomness: getrandom(2), or
 * /dev/urandom when the call is missing. Returns 0, or -1 when neither gave
 * len bytes (never predictable bytes instead). Can block only at early
 * boot. */
int hub_random_bytes(void *out, size_t len);

#define HUB_USER_MAX 64 /* bytes of a user name (Publish.on_behalf_of) */
#define HUB_ACTOR_LEN (HUB_USER_MAX + 1 + 128 + 1) /* "USER@IDENTITY" and its NUL */

/* 1 when user is a name a client may act for: 1 to HUB_USER_MAX of
 * [A-Za-z0-9._-] (the characters of an identity), else 0 (also for NULL). */
int hub_user_valid(const char *user);

/* The audit actor of a request: "USER@IDENTITY" when user is set (not NULL,
 * not empty), else IDENTITY; cut to fit out. Returns out. */
const char *hub_actor_compose(const char *user, const char *identity, char out[HUB_ACTOR_LEN]);

#endif
