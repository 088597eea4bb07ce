/*
 * test_ident - the names a client may act for (on_behalf_of) and the audit
 * actor made of one, and the random ids.
 */
#include <string.h>

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

static void test_id_generate(void)
{
    char a[HUB_ID_LEN], b[HUB_ID_LEN];
    hub_id_generate(a);
    hub_id_generate(b);
    CHECK_INT(strlen(a), HUB_ID_LEN - 1);
    CHECK(a[14] == '4');
    CHECK(strcmp(a, b) != 0);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"user names", test_user_valid},
        {"actor of user and identity", test_actor_compose},
        {"random ids", test_id_generate},
        {NULL, NULL},
    };
    return check_run(cases);
}
