/*
 * ackorder - a commit's acks in order by publisher (see ackorder.h).
 */
#include "ackorder.h"

#include <stdlib.h>
#include <string.h>

int hub_ack_same_publisher(const hub_ack_key_t *a, const hub_ack_key_t *b)
{
    return a->rid_len == b->rid_len && memcmp(a->rid, b->rid, a->rid_len) == 0;
}

/* Rule 2's count and pass: 0, or -1 with more publishers than it counts
 * (out is then untouched). */
static int s_group(hub_ack_key_t *keys, hub_ack_key_t *out, size_t n)
{
    const hub_ack_key_t *first[HUB_ACKORDER_GROUPS];
    size_t count[HUB_ACKORDER_GROUPS], ngroups = 0;
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (ngroups == 0 || !hub_ack_same_publisher(&keys[i], first[last])) {
            uint32_t g = 0;
            while (g < ngroups && !hub_ack_same_publisher(&keys[i], first[g]))
                g++;
            if (g == ngroups) {
                if (ngroups == HUB_ACKORDER_GROUPS)
                    return -1;
                first[ngroups] = &keys[i];
                count[ngroups++] = 0;
            }
            last = g;
        }
        keys[i].group = last;
        count[last]++;
    }
    size_t at = 0;
    for (size_t g = 0; g < ngroups; g++) {
        size_t c = count[g];
        count[g] = at; /* where the group starts */
        at += c;
    }
    for (size_t i = 0; i < n; i++)
        out[count[keys[i].group]++] = keys[i];
    return 0;
}

/* qsort order: by publisher (routing id), then as given. */
static int s_by_publisher(const void *pa, const void *pb)
{
    const hub_ack_key_t *a = pa, *b = pb;
    if (a->rid_len != b->rid_len)
        return a->rid_len < b->rid_len ? -1 : 1;
    int c = memcmp(a->rid, b->rid, a->rid_len);
    if (c != 0)
        return c;
    return a->group < b->group ? -1 : a->group > b->group;
}

const hub_ack_key_t *hub_ack_order(hub_ack_key_t *keys, hub_ack_key_t *scratch, size_t n)
{
    if (s_group(keys, scratch, n) == 0)
        return scratch;
    for (size_t i = 0; i < n; i++)
        keys[i].group = (uint32_t)i; /* the order given, for the sort */
    qsort(keys, n, sizeof *keys, s_by_publisher);
    return keys;
}
