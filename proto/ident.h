/*
 * ident - random identifiers (UUID version 4) for event ids and hub
 * instances.
 */
#ifndef HUB_IDENT_H_INCLUDED
#define HUB_IDENT_H_INCLUDED

#define HUB_ID_LEN 37 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" and its NUL */

/* Writes a new random UUIDv4 in lower-case hex to out. Reads getrandom(2),
 * falling back to /dev/urandom; can block only at early boot, until the
 * kernel's pool is seeded. Cannot fail: if neither source answers it mixes
 * the clocks, the pid and a counter through SHA-256, which is unique but
 * not secret. */
void hub_id_generate(char out[HUB_ID_LEN]);

#endif
