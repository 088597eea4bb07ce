/*
 * test_ackorder - a commit's acks by publisher: each publisher's keys
 * together and in the order given (rule 1), the publishers in order of
 * their first key while they are few and sorted when they are many
 * (rule 2), for one, a few, as many as counted, and more publishers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ackorder.h"
#include "check.h"

#define S_MAX_PUBLISHERS 200
#define S_KEYS 3000

static uint8_t s_rids[S_MAX_PUBLISHERS][5];

/* n keys of publishers chosen with a fixed pseudo-random walk among
 * npub, each key's entry its index. */
static void s_keys(hub_ack_key_t *keys, size_t n, size_t npub)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        size_t p = (x >> 8) % npub;
        keys[i] = (hub_ack_key_t){s_rids[p], p % 3 == 2 ? 4 : 5, (uint32_t)i, 0};
    }
}

/* How many publishers the n keys are of. */
static size_t s_publishers(const hub_ack_key_t *keys, size_t n)
{
    size_t publishers = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && !hub_ack_same_publisher(&keys[j], &keys[i]))
            j++;
        publishers += j == i;
    }
    return publishers;
}

/* Checks rules 1 and 2 of got (the ordered keys) against given (the keys
 * as given). */
static void s_check(const hub_ack_key_t *given, const hub_ack_key_t *got, size_t n, int sorted)
{
    int seen[S_KEYS] = {0};
    size_t runs = 0, bad_order = 0, bad_publishers = 0;
    for (size_t i = 0; i < n; i++) {
        seen[got[i].entry]++;
        int new_run = i == 0 || !hub_ack_same_publisher(&got[i], &got[i - 1]);
        runs += new_run;
        if (!new_run && got[i].entry <= got[i - 1].entry)
            bad_order++; /* rule 1: in the order given */
        if (new_run && i > 0) {
            /* rule 2: the previous publisher comes first */
            if (sorted) {
                size_t len = got[i - 1].rid_len < got[i].rid_len ? got[i - 1].rid_len : got[i].rid_len;
                int c = memcmp(got[i - 1].rid, got[i].rid, len);
                bad_publishers += got[i - 1].rid_len > got[i].rid_len ||
                                  (got[i - 1].rid_len == got[i].rid_len && c > 0);
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        CHECK_INT(seen[i], 1); /* every key once */
    CHECK_INT(bad_order, 0);
    CHECK_INT(bad_publishers, 0);
    CHECK_INT(runs, s_publishers(given, n)); /* rule 1: one run per publisher */
    if (!sorted) {
        /* rule 2: the runs in the order of their publishers' first keys */
        size_t previous = 0, out_of_order = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && hub_ack_same_publisher(&got[i], &got[i - 1]))
                continue;
            size_t first = 0;
            while (!hub_ack_same_publisher(&given[first], &got[i]))
                first++;
            out_of_order += i > 0 && first <= previous;
            previous = first;
        }
        CHECK_INT(out_of_order, 0);
    }
}

static void s_case(size_t npub, size_t n)
{
    static hub_ack_key_t keys[S_KEYS], scratch[S_KEYS], given[S_KEYS];
    s_keys(keys, n, npub);
    memcpy(given, keys, n * sizeof *keys);
    const hub_ack_key_t *got = hub_ack_order(keys, scratch, n);
    int sorted = s_publishers(given, n) > HUB_ACKORDER_GROUPS;
    CHECK(got == (sorted ? keys : scratch));
    s_check(given, got, n, sorted);
}

static void test_few_publishers(void)
{
    s_case(1, 1);
    s_case(1, 100);
    s_case(2, 1000);
    s_case(7, S_KEYS);
}

static void test_as_many_as_counted(void)
{
    s_case(HUB_ACKORDER_GROUPS, S_KEYS);
}

static void test_more_publishers(void)
{
    s_case(HUB_ACKORDER_GROUPS + 1, S_KEYS);
    s_case(S_MAX_PUBLISHERS, S_KEYS);
}

static void test_no_keys(void)
{
    hub_ack_key_t keys[1], scratch[1];
    CHECK(hub_ack_order(keys, scratch, 0) == scratch);
}

static const check_case_t cases[] = {
    {"a few publishers: counted, in order of first key", test_few_publishers},
    {"as many publishers as counted", test_as_many_as_counted},
    {"more publishers: sorted", test_more_publishers},
    {"no keys", test_no_keys},
    {NULL, NULL},
};

int main(void)
{
    for (size_t p = 0; p < S_MAX_PUBLISHERS; p++)
        snprintf((char *)s_rids[p], sizeof s_rids[p], "%c%c%c%c", 'a' + (int)(p % 26), 'A' + (int)(p / 26 % 26),
                 '0' + (int)(p % 10), 'z' - (int)(p % 7));
    return check_run(cases);
}
