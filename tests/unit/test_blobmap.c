/*
 * test_blobmap - byte strings to values: found again whichever was met
 * last, replaced, bounded by count and by bytes, cleared.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "blobmap.h"
#include "check.h"

static int64_t s_get(hub_blobmap_t *map, const char *key)
{
    int64_t v = -1;
    return hub_blobmap_get(map, key, strlen(key), &v) == 1 ? v : -1;
}

/* Keys are told apart by every byte and by length; a value is found
 * whether its key was met last or not; putting again replaces. */
static void test_found_and_replaced(void)
{
    hub_blobmap_t *map = hub_blobmap_new(16, 1024);
    CHECK(map != NULL);
    CHECK_INT(s_get(map, "a"), -1);
    CHECK_INT(hub_blobmap_put(map, "abc", 3, 1), 0);
    CHECK_INT(hub_blobmap_put(map, "abd", 3, 2), 0);
    CHECK_INT(hub_blobmap_put(map, "ab", 2, 3), 0);
    CHECK_INT(hub_blobmap_put(map, "", 0, 4), 0);
    CHECK_INT(s_get(map, "abc"), 1);
    CHECK_INT(s_get(map, "abc"), 1); /* met last */
    CHECK_INT(s_get(map, "abd"), 2);
    CHECK_INT(s_get(map, "ab"), 3);
    CHECK_INT(s_get(map, ""), 4);
    CHECK_INT(s_get(map, "abcd"), -1);
    CHECK_INT(hub_blobmap_put(map, "abc", 3, 9), 0);
    CHECK_INT(s_get(map, "abc"), 9);
    CHECK_INT(hub_blobmap_count(map), 4);
    /* a key's bytes are copied */
    char key[8] = "xyz";
    CHECK_INT(hub_blobmap_put(map, key, 3, 5), 0);
    memcpy(key, "qqq", 3);
    CHECK_INT(s_get(map, "xyz"), 5);
    CHECK_INT(s_get(map, "qqq"), -1);
    hub_blobmap_destroy(&map);
    CHECK(map == NULL);
    hub_blobmap_destroy(&map);
}

/* Past max_keys or max_bytes a new key is refused and nothing changes;
 * keys that are there can still be replaced; clear forgets all. */
static void test_bounds_and_clear(void)
{
    CHECK(hub_blobmap_new(0, 10) == NULL);
    CHECK(hub_blobmap_new(UINT16_MAX, 10) == NULL);
    hub_blobmap_t *map = hub_blobmap_new(300, 1 << 20);
    char key[16];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        CHECK_INT(hub_blobmap_put(map, key, strlen(key), i), 0);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        CHECK_INT(s_get(map, key), i);
    }
    CHECK_INT(hub_blobmap_room(map, 1), 0);
    CHECK_INT(hub_blobmap_put(map, "one more", 8, 1), -ENOSPC);
    CHECK_INT(s_get(map, "one more"), -1);
    CHECK_INT(hub_blobmap_put(map, "key-7", 5, 70), 0);
    CHECK_INT(s_get(map, "key-7"), 70);
    hub_blobmap_clear(map);
    CHECK_INT(hub_blobmap_count(map), 0);
    CHECK_INT(s_get(map, "key-7"), -1);
    CHECK_INT(hub_blobmap_put(map, "key-7", 5, 7), 0);
    CHECK_INT(s_get(map, "key-7"), 7);
    hub_blobmap_destroy(&map);

    map = hub_blobmap_new(8, 10);
    CHECK_INT(hub_blobmap_room(map, 10), 1);
    CHECK_INT(hub_blobmap_room(map, 11), 0);
    CHECK_INT(hub_blobmap_put(map, "123456", 6, 1), 0);
    CHECK_INT(hub_blobmap_put(map, "12345", 5, 2), -ENOSPC);
    CHECK_INT(hub_blobmap_put(map, "1234", 4, 3), 0);
    CHECK_INT(hub_blobmap_count(map), 2);
    CHECK_INT(s_get(map, "12345"), -1);
    hub_blobmap_destroy(&map);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"keys found and replaced", test_found_and_replaced},
        {"bounds and clear", test_bounds_and_clear},
        {NULL, NULL},
    };
    return check_run(cases);
}
