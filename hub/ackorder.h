/*
 * ackorder - puts a commit's acknowledged publishes in order by publisher,
 * so that each publisher gets its acks in as few PublishAcks frames as
 * possible, in the order it published.
 *
 * Rules
 *   1. Every key of one publisher (the same routing id) ends up next to
 *      the others of that publisher, in the order they were given.
 *   2. The publishers come in the order of their first key, when the
 *      keys are of at most HUB_ACKORDER_GROUPS publishers: one count per
 *      publisher and one pass, no sort (sorting a commit's thousand keys
 *      was 6% of the broker loop). With more publishers the keys are
 *      sorted (by routing id, then as given); rule 1 holds either way.
 */
#ifndef HUB_ACKORDER_H_INCLUDED
#define HUB_ACKORDER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define HUB_ACKORDER_GROUPS 64

/* A committed publish, keyed by its publisher. */
typedef struct {
    const uint8_t *rid;   /* the publisher's routing id */
    size_t rid_len;
    uint32_t entry;       /* what the caller needs of it: its entry in the batch */
    uint32_t group;       /* (internal) its publisher's place */
} hub_ack_key_t;

/* 1 when a and b are of one publisher. */
int hub_ack_same_publisher(const hub_ack_key_t *a, const hub_ack_key_t *b);

/* Orders the n keys by publisher (rules 1 and 2). keys may be reordered;
 * scratch has room for n keys. Returns where the ordered keys are: keys
 * or scratch. */
const hub_ack_key_t *hub_ack_order(hub_ack_key_t *keys, hub_ack_key_t *scratch, size_t n);

#endif
