/*
 * test_deadletter - the names of dead letters and redrives, and the store's
 * dead_letters table: a dead letter's row written with its event, closed
 * once, listed newest first, counted open per subscriber, and made for the
 * dead letters of a database of schema 2 when it is first opened.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "storedir.h"
#include "codec.h"
#include "deadletter.h"
#include "store.h"

static char s_dir[256];

static void test_ids(void)
{
    char id[HUB_DEADLETTER_ID_LEN], sub[HUB_DEADLETTER_SUBSCRIBER_LEN];
    uint64_t seq = 0;
    uint32_t slot = 0;
    hub_deadletter_id("finance-mail", 1042, 3, id);
    CHECK_STR(id, "deadletter:finance-mail:1042:3");
    CHECK_INT(hub_deadletter_parse_id(id, sub, &seq, &slot), 0);
    CHECK_STR(sub, "finance-mail");
    CHECK_INT(seq, 1042);
    CHECK_INT(slot, 3);
    CHECK_INT(hub_deadletter_parse_id("deadletter:a.b_c:18446744073709551615:4294967295", sub, &seq, &slot), 0);
    CHECK(seq == UINT64_MAX && slot == UINT32_MAX);
    static const char *const bad[] = {
        "deadletter:x:1",     "deadletter::1:0",          "deadletter:x:1:0:",   "deadletter:x:a:0",
        "deadletter:x:1:-1",  "deadletter:x:1:4294967296", "escalation:1:0",      "deadletter:x:18446744073709551616:0",
        "deadletter:x::0",    "",                          "deadletter:x:1:0 ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hub_deadletter_parse_id(bad[i], sub, &seq, &slot) != -1)
            fprintf(stderr, "  parsed \"%s\"\n", bad[i]);
        CHECK_INT(hub_deadletter_parse_id(bad[i], sub, &seq, &slot), -1);
    }
    CHECK_INT(hub_deadletter_parse_id(NULL, sub, &seq, &slot), -1);
    hub_deadletter_redrive_id(77, id);
    CHECK_STR(id, "redrive:77");
}

static void test_reasons(void)
{
    char reason[256], why[256];
    hub_deadletter_reason("engineering", "HTTP 404 (not found)", "engineering.defect", 5, reason, sizeof reason);
    CHECK_STR(reason, "engineering: HTTP 404 (not found) (was engineering.defect, 5 attempts)");
    char one[256];
    hub_deadletter_reason("finance", "550 mailbox unavailable", "finance.billing_flag", 1, one, sizeof one);
    CHECK_STR(one, "finance: 550 mailbox unavailable (was finance.billing_flag, 1 attempt)");
    hub_deadletter_why(one, "finance", why, sizeof why);
    CHECK_STR(why, "550 mailbox unavailable");
    hub_deadletter_why(reason, "engineering", why, sizeof why);
    CHECK_STR(why, "HTTP 404 (not found)");
    /* the words may hold " (was " themselves: the last one closes them */
    hub_deadletter_reason("x", "a (was b", "x.y", 1, reason, sizeof reason);
    hub_deadletter_why(reason, "x", why, sizeof why);
    CHECK_STR(why, "a (was b");
    /* not a dead letter's reason: as it is */
    hub_deadletter_why("type=bug_report", "engineering", why, sizeof why);
    CHECK_STR(why, "type=bug_report");
    hub_deadletter_why("other: words (was t, 1 attempts)", "engineering", why, sizeof why);
    CHECK_STR(why, "other: words (was t, 1 attempts)");
    hub_deadletter_why(NULL, "x", why, sizeof why);
    CHECK_STR(why, "");
    hub_deadletter_why("engineering: a long reason (was t, 1 attempts)", "engineering", why, 5);
    CHECK_STR(why, "a lo");
}

/* ------------------------------------------------------------ the store */

static hub_store_t *s_open(void)
{
    char err[HUB_ERR_LEN];
    hub_store_t *store = hub_store_open(s_dir, err);
    if (!store)
        fprintf(stderr, "%s\n", err);
    return store;
}

static void s_remove_dir(void)
{
    storedir_remove(s_dir);
}

/* Stores a dead letter of subscriber for (orig_seq, 0), as the broker
 * does: its event and, with rows, its dead_letters row. Returns its seq. */
static uint64_t s_store_dead(hub_store_t *store, const char *subscriber, uint64_t orig_seq, int rows)
{
    char id[HUB_DEADLETTER_ID_LEN], topic[96], reason[256];
    hub_deadletter_id(subscriber, orig_seq, 0, id);
    snprintf(topic, sizeof topic, "deadletter.%s", subscriber);
    hub_deadletter_reason(subscriber, "refused", "sales.followup", 3, reason, sizeof reason);
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    ev.case_id = "CASE-D";
    Hub__Route route = HUB__ROUTE__INIT, *routes[] = {&route};
    route.topic = topic;
    route.name = "dead-letter";
    route.department = (char *)subscriber;
    route.kind = "deadletter";
    route.reason = reason;
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = 1;
    routing.routes = routes;
    hub_buf_t evb = HUB_BUF_INIT, rb = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&ev.base, &evb), 0);
    CHECK_INT(hub_message_pack(&routing.base, &rb), 0);
    hub_store_event_t se = {id, "dead_letter", "CASE-D", "hubd", 1000, evb.data, evb.len, rb.data, rb.len, 0, 0, NULL, 0};
    hub_store_dead_t dead = {0, subscriber, orig_seq, 0, "refused"};
    hub_store_batch_t batch = {.events = &se, .nevents = 1, .dead = &dead, .ndead = rows ? 1 : 0};
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_store_commit_batch(store, &batch, err), 0);
    hub_buf_fini(&evb);
    hub_buf_fini(&rb);
    return se.seq;
}

typedef struct {
    char subscriber[64], state[16], actor[64], reason[64], note[64];
    uint64_t seqs[16], orig_seq, redrive_seq;
    size_t n;
} s_seen_t;

static int s_on_dead(const hub_store_dead_letter_t *dl, void *arg)
{
    s_seen_t *seen = arg;
    if (seen->n < 16)
        seen->seqs[seen->n] = dl->seq;
    seen->n++;
    snprintf(seen->subscriber, sizeof seen->subscriber, "%s", dl->subscriber);
    snprintf(seen->state, sizeof seen->state, "%s", dl->state);
    snprintf(seen->actor, sizeof seen->actor, "%s", dl->actor);
    snprintf(seen->reason, sizeof seen->reason, "%s", dl->reason);
    snprintf(seen->note, sizeof seen->note, "%s", dl->note ? dl->note : "(none)");
    seen->orig_seq = dl->orig_seq;
    seen->redrive_seq = dl->redrive_seq;
    return 0;
}

static void s_on_open(const char *subscriber, uint64_t n, void *arg)
{
    uint64_t *counts = arg;
    if (strcmp(subscriber, "sales") == 0)
        counts[0] = n;
    else if (strcmp(subscriber, "finance") == 0)
        counts[1] = n;
}

static void test_store_rows(void)
{
    snprintf(s_dir, sizeof s_dir, "%s/hub-dead-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        check_failures++;
        return;
    }
    hub_store_t *store = s_open();
    if (!store) {
        check_failures++;
        return;
    }
    uint64_t a = s_store_dead(store, "sales", 10, 1);
    uint64_t b = s_store_dead(store, "sales", 11, 1);
    uint64_t c = s_store_dead(store, "finance", 12, 1);
    s_seen_t seen = {0};
    CHECK_INT(hub_store_dead_letter(store, a, s_on_dead, &seen), 1);
    CHECK_STR(seen.subscriber, "sales");
    CHECK_STR(seen.state, "open");
    CHECK_STR(seen.actor, "");
    CHECK_STR(seen.reason, "refused");
    CHECK_INT(seen.orig_seq, 10);
    CHECK_INT(hub_store_dead_letter(store, 999, s_on_dead, &seen), 0);

    /* closed once: a second action on it changes nothing */
    hub_store_dead_action_t act = {b, "discarded", "alice@console", "duplicate", -1};
    hub_store_batch_t batch = {.dead_actions = &act, .ndead_actions = 1};
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_store_commit_batch(store, &batch, err), 0);
    hub_store_dead_action_t again = {b, "redriven", "bob", NULL, -1};
    batch.dead_actions = &again;
    CHECK_INT(hub_store_commit_batch(store, &batch, err), 0);
    memset(&seen, 0, sizeof seen);
    CHECK_INT(hub_store_dead_letter(store, b, s_on_dead, &seen), 1);
    CHECK_STR(seen.state, "discarded");
    CHECK_STR(seen.actor, "alice@console");
    CHECK_STR(seen.note, "duplicate");
    CHECK_INT(seen.redrive_seq, 0);

    /* listed newest first; by subscriber; open only */
    memset(&seen, 0, sizeof seen);
    CHECK_INT(hub_store_dead_letters(store, 1, 100, NULL, 0, s_on_dead, &seen), 0);
    CHECK_INT(seen.n, 3);
    CHECK(seen.seqs[0] == c && seen.seqs[1] == b && seen.seqs[2] == a);
    memset(&seen, 0, sizeof seen);
    CHECK_INT(hub_store_dead_letters(store, 1, 100, "sales", 1, s_on_dead, &seen), 0);
    CHECK_INT(seen.n, 1);
    CHECK_INT(seen.seqs[0], a);
    memset(&seen, 0, sizeof seen);
    CHECK_INT(hub_store_dead_letters(store, b, c - 1, NULL, 0, s_on_dead, &seen), 0);
    CHECK_INT(seen.n, 1);
    uint64_t open[2] = {0, 0};
    CHECK_INT(hub_store_open_dead_letters(store, s_on_open, open), 0);
    CHECK_INT(open[0], 1);
    CHECK_INT(open[1], 1);

    /* schema 2: dead letters stored without rows get them when opened */
    uint64_t d = s_store_dead(store, "shipping", 13, 0);
    hub_store_destroy(&store);
    sqlite3 *db = NULL;
    char path[300];
    snprintf(path, sizeof path, "%s/hub.db", s_dir);
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "DELETE FROM dead_letters WHERE subscriber = 'sales'; PRAGMA user_version=2", NULL,
                           NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    CHECK((store = s_open()) != NULL);
    if (store) {
        memset(&seen, 0, sizeof seen);
        CHECK_INT(hub_store_dead_letter(store, d, s_on_dead, &seen), 1);
        CHECK_STR(seen.subscriber, "shipping");
        CHECK_STR(seen.reason, "refused");
        CHECK_INT(seen.orig_seq, 13);
        CHECK_STR(seen.state, "open");
        memset(&seen, 0, sizeof seen);
        CHECK_INT(hub_store_dead_letter(store, a, s_on_dead, &seen), 1); /* made again from its event */
        CHECK_STR(seen.state, "open");
        memset(&seen, 0, sizeof seen);
        CHECK_INT(hub_store_dead_letter(store, c, s_on_dead, &seen), 1); /* kept as it was */
        CHECK_STR(seen.subscriber, "finance");
    }
    hub_store_destroy(&store);
    s_remove_dir();
}

int main(void)
{
    static const check_case_t cases[] = {
        {"ids", test_ids},
        {"reasons", test_reasons},
        {"store rows", test_store_rows},
        {NULL, NULL},
    };
    return check_run(cases);
}
