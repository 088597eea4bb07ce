/*
 * blobmap - a bounded map from byte strings to 64-bit values, in memory.
 *
 * Rules
 *   1. It holds at most max_keys keys and max_bytes of them; putting a new
 *      key past either fails and changes nothing.
 *   2. Keys are copied. Putting a key that is there replaces its value.
 *   3. Nothing is removed but by hub_blobmap_clear, which forgets all.
 *   4. The key found or put last is compared first, before any hashing:
 *      its users meet one key many times in a row (the events of a batch
 *      mostly share a routing).
 */
#ifndef HUB_BLOBMAP_H_INCLUDED
#define HUB_BLOBMAP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct hub_blobmap hub_blobmap_t;

/* An empty map (max_keys >= 1, at most 65,535). NULL when out of memory
 * or max_keys is out of range. */
hub_blobmap_t *hub_blobmap_new(size_t max_keys, size_t max_bytes);
void hub_blobmap_destroy(hub_blobmap_t **self_p);

/* 1 and *value when the len bytes of key are there, else 0. */
int hub_blobmap_get(hub_blobmap_t *self, const void *key, size_t len, int64_t *value);

/* Puts key with value (rule 2). Returns 0, or -ENOSPC (rule 1) or -ENOMEM,
 * the map unchanged. */
int hub_blobmap_put(hub_blobmap_t *self, const void *key, size_t len, int64_t value);

/* 1 when a new key of len bytes would fit (rule 1), else 0. */
int hub_blobmap_room(const hub_blobmap_t *self, size_t len);

void hub_blobmap_clear(hub_blobmap_t *self);
size_t hub_blobmap_count(const hub_blobmap_t *self);

/* The hash the map files key under (FNV-1a, 64 bits). */
uint64_t hub_blobmap_hash(const void *key, size_t len);

#endif
