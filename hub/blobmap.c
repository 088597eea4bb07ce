/*
 * blobmap - byte strings to 64-bit values (see blobmap.h). Open addressing
 * with linear probing over a table of at least twice max_keys slots, each
 * an index into the array of keys; no deletion, so no tombstones.
 */
#include "blobmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    int64_t value;
    size_t len;
    uint8_t *bytes;
} s_key_t;

struct hub_blobmap {
    s_key_t *keys;      /* max_keys, count used */
    size_t max_keys;
    size_t count;
    size_t max_bytes;
    size_t bytes;       /* of the keys held */
    uint16_t *slots;    /* key index + 1; 0: empty */
    size_t mask;        /* slots - 1 (a power of two) */
    size_t last;        /* index + 1 of the key met last (0: none) */
};

uint64_t hub_blobmap_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

hub_blobmap_t *hub_blobmap_new(size_t max_keys, size_t max_bytes)
{
    if (max_keys == 0 || max_keys >= UINT16_MAX)
        return NULL;
    hub_blobmap_t *self = calloc(1, sizeof *self);
    size_t nslots = 2;
    while (nslots < 2 * max_keys)
        nslots <<= 1;
    if (self) {
        self->keys = calloc(max_keys, sizeof *self->keys);
        self->slots = calloc(nslots, sizeof *self->slots);
    }
    if (!self || !self->keys || !self->slots) {
        hub_blobmap_destroy(&self);
        return NULL;
    }
    self->max_keys = max_keys;
    self->max_bytes = max_bytes;
    self->mask = nslots - 1;
    return self;
}

void hub_blobmap_destroy(hub_blobmap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_blobmap_t *self = *self_p;
    if (self->keys)
        hub_blobmap_clear(self);
    free(self->keys);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

void hub_blobmap_clear(hub_blobmap_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->keys[i].bytes);
    self->count = 0;
    self->bytes = 0;
    self->last = 0;
    memset(self->slots, 0, (self->mask + 1) * sizeof *self->slots);
}

size_t hub_blobmap_count(const hub_blobmap_t *self)
{
    return self->count;
}

static int s_same(const s_key_t *k, const void *key, size_t len)
{
    return k->len == len && (len == 0 || memcmp(k->bytes, key, len) == 0);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t s_slot(const hub_blobmap_t *self, const void *key, size_t len, uint64_t hash)
{
    size_t at = (size_t)hash & self->mask;
    while (self->slots[at]) {
        const s_key_t *k = &self->keys[self->slots[at] - 1];
        if (k->hash == hash && s_same(k, key, len))
            break;
        at = (at + 1) & self->mask;
    }
    return at;
}

int hub_blobmap_get(hub_blobmap_t *self, const void *key, size_t len, int64_t *value)
{
    if (self->last && s_same(&self->keys[self->last - 1], key, len)) {
        *value = self->keys[self->last - 1].value;
        return 1;
    }
    size_t at = s_slot(self, key, len, hub_blobmap_hash(key, len));
    if (!self->slots[at])
        return 0;
    self->last = self->slots[at];
    *value = self->keys[self->last - 1].value;
    return 1;
}

int hub_blobmap_room(const hub_blobmap_t *self, size_t len)
{
    return self->count < self->max_keys && len <= self->max_bytes - self->bytes;
}

int hub_blobmap_put(hub_blobmap_t *self, const void *key, size_t len, int64_t value)
{
    uint64_t hash = hub_blobmap_hash(key, len);
    size_t at = s_slot(self, key, len, hash);
    if (self->slots[at]) {
        self->keys[self->slots[at] - 1].value = value;
        self->last = self->slots[at];
        return 0;
    }
    if (!hub_blobmap_room(self, len))
        return -ENOSPC;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, key, len);
    self->keys[self->count] = (s_key_t){hash, value, len, copy};
    self->slots[at] = (uint16_t)(self->count + 1);
    self->count++;
    self->bytes += len;
    self->last = self->count;
    return 0;
}
