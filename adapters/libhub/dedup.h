/*
 * dedup - a bounded set of notification refs (seq, slot), the ones libhub
 * has handed to the application, so that a redelivery of one of them is
 * recognised and dropped.
 *
 * Rules:
 *   1. The set holds at most its capacity; adding to a full set forgets the
 *      ref added longest ago (FIFO), whether or not it was looked up since.
 *   2. A ref is in the set at most once: adding a member changes nothing.
 *   3. Removing a ref (a nack: the application wants it again) makes room
 *      only when the FIFO reaches its slot; until then the slot is dead.
 *   4. A ref can be marked (the application acknowledged it); the mark
 *      lives and goes with the ref: adding it again keeps it, removing it
 *      or forgetting it drops it.
 *
 * Open addressing with linear probing and backward-shift deletion over a
 * table of twice the capacity (rounded up to a power of two), so lookups
 * stay short and no tombstones build up. Each table slot keeps its ref's
 * hash beside the ring index, so that probing and deleting compare and
 * move table slots without reading the ring (a subscriber adds every
 * notification, and the ring is a megabyte). Eight neighbouring
 * sequence numbers share a cache line of the table, so that the rising
 * refs a subscriber sees mostly touch lines already cached. What the
 * application acknowledged is a mark on the same entry (rule 4), not a
 * second set: an ack finds the line its receive just touched. Internal
 * to libhub.
 */
#ifndef HUB_DEDUP_H_INCLUDED
#define HUB_DEDUP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define HUB_DEDUP_CAPACITY 65536 /* refs remembered per client (see hub.h) */

typedef struct {
    uint64_t seq; /* the event's sequence number */
    uint32_t slot; /* which of its notifications */
    uint16_t live;  /* 0: removed or never used */
    uint16_t marked; /* rule 4 */
} hub_dedup_entry_t;

typedef struct {
    uint32_t index; /* ring index + 1; 0: empty */
    uint32_t hash;  /* low bits of the ref's hash */
} hub_dedup_slot_t;

typedef struct {
    hub_dedup_entry_t *ring; /* FIFO of added refs, capacity entries */
    size_t capacity;         /* ring size: the most refs remembered */
    size_t head;             /* next ring slot to fill (oldest when full) */
    size_t used;             /* ring slots filled so far (<= capacity) */
    hub_dedup_slot_t *table; /* ring index + 1 and hash per table slot */
    size_t mask;             /* table size - 1 (table size a power of two) */
    size_t count;            /* live refs */
} hub_dedup_t;

/* Prepares an empty set remembering at most capacity refs (>= 1).
 * Returns 0 or -ENOMEM (self is then empty and safe to _fini). */
int hub_dedup_init(hub_dedup_t *self, size_t capacity);

/* Frees the memory. Safe on a zeroed or already finished set. */
void hub_dedup_fini(hub_dedup_t *self);

/* 1 when (seq, slot) is in the set, else 0. */
int hub_dedup_contains(const hub_dedup_t *self, uint64_t seq, uint32_t slot);

/* Adds (seq, slot), forgetting the oldest ref when full. Never fails.
 * Returns 1 when it was not in the set, 0 when it was (nothing changes). */
int hub_dedup_add(hub_dedup_t *self, uint64_t seq, uint32_t slot);

/* Forgets (seq, slot) if it is there. */
void hub_dedup_remove(hub_dedup_t *self, uint64_t seq, uint32_t slot);

/* Marks (seq, slot) if it is there (rule 4). Returns 1 when it was there. */
int hub_dedup_mark(hub_dedup_t *self, uint64_t seq, uint32_t slot);

/* 1 when (seq, slot) is there and marked, else 0. */
int hub_dedup_marked(const hub_dedup_t *self, uint64_t seq, uint32_t slot);

#endif
