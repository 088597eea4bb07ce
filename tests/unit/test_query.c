/*
 * test_query - readings for people on a real store: the customer filter's
 * comparison, the answer a notification gets, and the bounds (limit,
 * window, bytes) that say "truncated".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "storedir.h"
#include "codec.h"
#include "query.h"
#include "store.h"

static char s_dir[256];

static hub_store_t *s_open(void)
{
    snprintf(s_dir, sizeof s_dir, "%s/hub-query-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    char err[HUB_ERR_LEN];
    hub_store_t *store = hub_store_open(s_dir, err);
    if (!store) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return store;
}

static void s_close(hub_store_t **store)
{
    hub_store_destroy(store);
    storedir_remove(s_dir);
}

/* Stores one event of type on case_id from source, routed to department
 * (topic department.kind; none when NULL), stored by actor. */
static void s_store(hub_store_t *store, const char *type, const char *case_id, const char *source,
                    const char *customer, int status, const char *department, const char *actor)
{
    static int counter;
    Hub__Customer c = HUB__CUSTOMER__INIT;
    c.name = (char *)customer;
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = (char *)type;
    ev.case_id = (char *)case_id;
    ev.source = (char *)source;
    ev.customer = customer ? &c : NULL;
    ev.body = "details";
    ev.has_status = status != 0;
    ev.status = (Hub__Status)status;
    char topic[64];
    Hub__Route route = HUB__ROUTE__INIT, *routes[] = {&route};
    if (department) {
        snprintf(topic, sizeof topic, "%s.k", department);
        route.topic = topic;
        route.name = "r";
        route.department = (char *)department;
        route.kind = "k";
    }
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = department ? 1 : 0;
    routing.routes = routes;
    hub_buf_t evb = HUB_BUF_INIT, rb = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&ev.base, &evb), 0);
    CHECK_INT(hub_message_pack(&routing.base, &rb), 0);
    char id[32];
    snprintf(id, sizeof id, "ev-%d", ++counter);
    static const uint8_t none[1] = {0}; /* an empty routing is stored as an empty blob, not NULL */
    hub_store_event_t se = {id,      type,   case_id,          actor, 1000 * counter, evb.data, evb.len,
                            rb.len ? rb.data : none, rb.len, 0, 0, NULL, 1};
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_store_commit(store, &se, 1, NULL, 0, err), 0);
    hub_buf_fini(&evb);
    hub_buf_fini(&rb);
}

/* Runs q; returns the result (the caller destroys it) or NULL. */
static hub_query_result_t *s_run(hub_store_t *store, const Hub__NotificationQuery *q, size_t max_bytes)
{
    hub_query_result_t *res = NULL;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_query_notifications(store, q, max_bytes, &res, err), 0);
    CHECK(res != NULL);
    return res;
}

static void test_contains(void)
{
    CHECK_INT(hub_query_contains("Acme Corp", "acme"), 1);
    CHECK_INT(hub_query_contains("Acme Corp", "CORP"), 1);
    CHECK_INT(hub_query_contains("Acme Corp", "e C"), 1);
    CHECK_INT(hub_query_contains("Acme Corp", "Acme Corp"), 1);
    CHECK_INT(hub_query_contains("Acme Corp", "Acme Corp."), 0);
    CHECK_INT(hub_query_contains("Acme Corp", "acne"), 0);
    CHECK_INT(hub_query_contains("Acme", ""), 1);
    CHECK_INT(hub_query_contains("", ""), 1);
    CHECK_INT(hub_query_contains("", "a"), 0);
    CHECK_INT(hub_query_contains(NULL, "a"), 0);
    CHECK_INT(hub_query_contains("aaab", "aab"), 1);
    /* only ASCII letters fold; other bytes compare as they are */
    CHECK_INT(hub_query_contains("\xc3\x89lise", "\xc3\xa9lise"), 0);
    CHECK_INT(hub_query_contains("\xc3\x89lise", "\xc3\x89LISE"), 1);
}

/* Rule 3: the latest response from the department after the notification,
 * with its actor; one from another department or before it does not
 * count. */
static void test_answers(void)
{
    hub_store_t *store = s_open();
    s_store(store, "response", "CASE-1", "engineering", NULL, 1, NULL, "early"); /* 1: before the event */
    s_store(store, "bug_report", "CASE-1", "support", "Acme", 0, "engineering", "local");  /* 2 */
    s_store(store, "bug_report", "CASE-2", "support", "Acme", 0, "engineering", "local");  /* 3 */
    s_store(store, "response", "CASE-1", "finance", NULL, 3, NULL, "x");                  /* 4: another dept */
    s_store(store, "response", "CASE-1", "engineering", NULL, 2, NULL, "alice@console");   /* 5 */
    s_store(store, "response", "CASE-1", "engineering", NULL, 3, NULL, "bob@console");     /* 6: the latest */
    Hub__NotificationQuery q = HUB__NOTIFICATION_QUERY__INIT;
    hub_query_result_t *res = s_run(store, &q, 1 << 20);
    Hub__NotificationList *list = res ? hub_query_list(res) : NULL;
    CHECK(list && list->n_items == 2);
    if (list && list->n_items == 2) {
        CHECK_INT(list->last_seq, 6);
        CHECK_INT(list->truncated, 0);
        const Hub__NotificationState *st = list->items[1];
        CHECK_INT(st->notification->seq, 2);
        CHECK_STR(st->answer, "resolved");
        CHECK_STR(st->answered_by, "bob@console");
        CHECK_INT(st->answered_at_ms, 6000);
        CHECK_STR(list->items[0]->answer, ""); /* CASE-2: nobody answered */
        CHECK(list->items[0]->answered_by == NULL);
    }
    hub_query_result_destroy(&res);

    /* open only leaves out what its department resolved */
    q.has_open_only = q.open_only = 1;
    res = s_run(store, &q, 1 << 20);
    list = res ? hub_query_list(res) : NULL;
    CHECK(list && list->n_items == 1 && list->items[0]->notification->seq == 3);
    hub_query_result_destroy(&res);

    /* the window is the newest events: with 4, event 2 is out of sight */
    q.has_open_only = q.open_only = 0;
    q.has_window = 1;
    q.window = 4;
    res = s_run(store, &q, 1 << 20);
    list = res ? hub_query_list(res) : NULL;
    CHECK(list && list->n_items == 1 && list->items[0]->notification->seq == 3);
    hub_query_result_destroy(&res);
    s_close(&store);
}

/* Rule 1: at most limit items, and no more than fit in max_bytes; either
 * way truncated. */
static void test_bounds(void)
{
    hub_store_t *store = s_open();
    for (int i = 0; i < 20; i++)
        s_store(store, "bug_report", "CASE-9", "support", "Initech", 0, "sales", "local");
    Hub__NotificationQuery q = HUB__NOTIFICATION_QUERY__INIT;
    hub_query_result_t *res = s_run(store, &q, 1 << 20);
    Hub__NotificationList *list = res ? hub_query_list(res) : NULL;
    CHECK(list && list->n_items == 20 && !list->truncated);
    hub_query_result_destroy(&res);

    q.has_limit = 1;
    q.limit = 5;
    res = s_run(store, &q, 1 << 20);
    list = res ? hub_query_list(res) : NULL;
    CHECK(list && list->n_items == 5 && list->truncated);
    if (list && list->n_items == 5)
        CHECK_INT(list->items[0]->notification->seq, 20);
    hub_query_result_destroy(&res);

    /* a budget of a few items: what is sent fits it */
    q.has_limit = 0;
    hub_buf_t packed = HUB_BUF_INIT;
    res = s_run(store, &q, 1000);
    list = res ? hub_query_list(res) : NULL;
    CHECK(list && list->n_items > 0 && list->n_items < 20 && list->truncated);
    if (list) {
        CHECK_INT(hub_message_pack(&list->base, &packed), 0);
        CHECK(packed.len <= 1000);
    }
    hub_buf_fini(&packed);
    hub_query_result_destroy(&res);
    res = s_run(store, &q, 10); /* not even one: none, and truncated */
    list = res ? hub_query_list(res) : NULL;
    CHECK(list && list->n_items == 0 && list->truncated);
    hub_query_result_destroy(&res);
    s_close(&store);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"contains, ASCII case-insensitive", test_contains},
        {"answers", test_answers},
        {"bounds", test_bounds},
        {NULL, NULL},
    };
    return check_run(cases);
}
