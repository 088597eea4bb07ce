/*
 * test_ident - the names a client may act for (on_behalf_of) and the audit
 * actor made of one, and the ids (UUIDv7).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ident.h"

static void test_user_valid(void)
{
    static const struct {
        const char *user;
        int valid;
    } cases[] = {
        {"alice", 1},
        {"a", 1},
        {"Bob.Smith_2-x", 1},
        {"0123456789012345678901234567890123456789012345678901234567890123", 1}, /* 64 */
        {"01234567890123456789012345678901234567890123456789012345678901234", 0}, /* 65 */
        {"", 0},
        {"alice@console", 0},
        {"al ice", 0},
        {"alice\n", 0},
        {"al/ice", 0},
        {"\xc3\xa9lise", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (hub_user_valid(cases[i].user) != cases[i].valid)
            fprintf(stderr, "  user \"%s\"\n", cases[i].user);
        CHECK_INT(hub_user_valid(cases[i].user), cases[i].valid);
    }
    CHECK_INT(hub_user_valid(NULL), 0);
}

static void test_actor_compose(void)
{
    char out[HUB_ACTOR_LEN];
    CHECK_STR(hub_actor_compose("alice", "console", out), "alice@console");
    CHECK_STR(hub_actor_compose("alice", "local", out), "alice@local");
    CHECK_STR(hub_actor_compose(NULL, "console", out), "console");
    CHECK_STR(hub_actor_compose("", "console", out), "console");
    /* the longest user and identity fit whole */
    char user[HUB_USER_MAX + 1], identity[128];
    memset(user, 'u', HUB_USER_MAX);
    user[HUB_USER_MAX] = '\0';
    memset(identity, 'i', sizeof identity - 1);
    identity[sizeof identity - 1] = '\0';
    hub_actor_compose(user, identity, out);
    CHECK_INT(strlen(out), HUB_USER_MAX + 1 + sizeof identity - 1);
    CHECK(out[HUB_USER_MAX] == '@');
}

/* The Unix time in milliseconds an id says it was made at (its first 48
 * bits), or -1. */
static long long s_id_ms(const char *id)
{
    char hex[13];
    if (strlen(id) != HUB_ID_LEN - 1 || id[8] != '-')
        return -1;
    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    return strtoll(hex, NULL, 16);
}

static long long s_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int s_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_id_generate(void)
{
    char a[HUB_ID_LEN], b[HUB_ID_LEN];
    long long before = s_now_ms();
    hub_id_generate(a);
    hub_id_generate(b);
    long long after = s_now_ms();
    CHECK_INT(strlen(a), HUB_ID_LEN - 1);
    CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    CHECK(a[14] == '7');                                /* version 7 */
    CHECK(strchr("89ab", a[19]) != NULL);               /* variant 10 */
    CHECK(s_id_ms(a) >= before && s_id_ms(a) <= after); /* it says when */
    CHECK(strcmp(a, b) != 0);

    /* a thousand in a row: all different */
    enum { N = 1000 };
    static char ids[N][HUB_ID_LEN];
    for (int i = 0; i < N; i++)
        hub_id_generate(ids[i]);
    qsort(ids, N, sizeof ids[0], s_cmp_id);
    int same = 0;
    for (int i = 1; i < N; i++)
        same += strcmp(ids[i - 1], ids[i]) == 0;
    CHECK_INT(same, 0);
}

static void test_ids_sort_by_time(void)
{
    /* an id made in a later millisecond sorts after: twenty times, so that
     * random ids (half the time in order) cannot pass */
    int in_order = 0, rounds = 0;
    for (int i = 0; i < 20; i++) {
        char a[HUB_ID_LEN], b[HUB_ID_LEN];
        hub_id_generate(a);
        long long until = s_id_ms(a) + 2, deadline = s_now_ms() + 1000;
        while (s_now_ms() < until && s_now_ms() < deadline)
            ; /* the clock's next milliseconds are the condition */
        hub_id_generate(b);
        if (s_id_ms(b) <= s_id_ms(a))
            continue; /* the clock was stepped back meanwhile */
        rounds++;
        in_order += strcmp(a, b) < 0;
    }
    CHECK(rounds > 0);
    CHECK_INT(in_order, rounds);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"user names", test_user_valid},
        {"actor of user and identity", test_actor_compose},
        {"ids: UUIDv7, unique, saying when", test_id_generate},
        {"ids made later sort after", test_ids_sort_by_time},
        {NULL, NULL},
    };
    return check_run(cases);
}
