/*
 * dedup - the bounded set of refs handed to the application (see dedup.h).
 */
#include "dedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t s_hash_ref(uint64_t seq, uint32_t slot)
{
    /* A subscriber's refs come in rising, nearly dense sequence numbers,
     * and so do the refs the FIFO forgets. Eight neighbouring seqs of one
     * slot share a home line of eight table slots (64 bytes), in order, so
     * that a lookup, an insert and an eviction mostly find their line
     * already cached; the lines themselves are scattered (splitmix64
     * finaliser), so that probe runs stay short. */
    uint64_t x = (seq >> 3) ^ ((uint64_t)slot << 48) ^ ((uint64_t)slot * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return ((uint32_t)x << 3) | (uint32_t)(seq & 7);
}

int hub_dedup_init(hub_dedup_t *self, size_t capacity)
{
    memset(self, 0, sizeof(*self));
    if (capacity == 0 || capacity > UINT32_MAX / 4)
        return -EINVAL;
    size_t table_size = 2;
    while (table_size < capacity * 2)
        table_size <<= 1;
    self->ring = calloc(capacity, sizeof(*self->ring));
    self->table = calloc(table_size, sizeof(*self->table));
    if (!self->ring || !self->table) {
        hub_dedup_fini(self);
        return -ENOMEM;
    }
    self->capacity = capacity;
    self->mask = table_size - 1;
    return 0;
}

void hub_dedup_fini(hub_dedup_t *self)
{
    free(self->ring);
    free(self->table);
    memset(self, 0, sizeof(*self));
}

/* Table slot holding (seq, slot), or the empty slot where it would go;
 * hash is s_hash_ref(seq, slot). */
static size_t s_find_slot(const hub_dedup_t *self, uint64_t seq, uint32_t slot, uint32_t hash)
{
    size_t i = hash & self->mask;
    while (self->table[i].index != 0) {
        if (self->table[i].hash == hash) {
            const hub_dedup_entry_t *e = &self->ring[self->table[i].index - 1];
            if (e->seq == seq && e->slot == slot)
                return i;
        }
        i = (i + 1) & self->mask;
    }
    return i;
}

/* Empties table slot i and shifts later members of its probe run back, so
 * that every member stays reachable from its home slot without tombstones. */
static void s_delete_slot(hub_dedup_t *self, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & self->mask;
        if (self->table[j].index == 0)
            break;
        size_t home = self->table[j].hash & self->mask;
        /* j's member may move to i only if its home is not in (i, j] */
        int movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            self->table[i] = self->table[j];
            i = j;
        }
    }
    self->table[i].index = 0;
}

/* The ring entry of (seq, slot), or NULL when it is not in the set. */
static hub_dedup_entry_t *s_entry(const hub_dedup_t *self, uint64_t seq, uint32_t slot)
{
    if (!self->table)
        return NULL;
    uint32_t index = self->table[s_find_slot(self, seq, slot, s_hash_ref(seq, slot))].index;
    return index ? &self->ring[index - 1] : NULL;
}

int hub_dedup_contains(const hub_dedup_t *self, uint64_t seq, uint32_t slot)
{
    return s_entry(self, seq, slot) != NULL;
}

int hub_dedup_add(hub_dedup_t *self, uint64_t seq, uint32_t slot)
{
    if (!self->table)
        return 1;
    uint32_t hash = s_hash_ref(seq, slot);
    if (self->table[s_find_slot(self, seq, slot, hash)].index != 0)
        return 0;
    hub_dedup_entry_t *e = &self->ring[self->head];
    if (self->used == self->capacity && e->live) {
        size_t old = s_find_slot(self, e->seq, e->slot, s_hash_ref(e->seq, e->slot));
        if (self->table[old].index != 0)
            s_delete_slot(self, old);
        self->count--;
    }
    e->seq = seq;
    e->slot = slot;
    e->live = 1;
    e->marked = 0;
    size_t at = s_find_slot(self, seq, slot, hash); /* the deletion may have moved the empty slot */
    self->table[at].index = (uint32_t)(self->head + 1);
    self->table[at].hash = hash;
    self->count++;
    self->head = (self->head + 1) % self->capacity;
    if (self->used < self->capacity)
        self->used++;
    return 1;
}

void hub_dedup_remove(hub_dedup_t *self, uint64_t seq, uint32_t slot)
{
    if (!self->table)
        return;
    size_t i = s_find_slot(self, seq, slot, s_hash_ref(seq, slot));
    if (self->table[i].index == 0)
        return;
    self->ring[self->table[i].index - 1].live = 0;
    s_delete_slot(self, i);
    self->count--;
}

int hub_dedup_mark(hub_dedup_t *self, uint64_t seq, uint32_t slot)
{
    hub_dedup_entry_t *e = s_entry(self, seq, slot);
    if (e)
        e->marked = 1;
    return e != NULL;
}

int hub_dedup_marked(const hub_dedup_t *self, uint64_t seq, uint32_t slot)
{
    const hub_dedup_entry_t *e = s_entry(self, seq, slot);
    return e && e->marked;
}
