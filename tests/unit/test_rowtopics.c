/*
 * test_rowtopics - a row's topics are read once and kept by seq; what
 * cannot be kept is refused, for the readers to read the old way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "rowtopics.h"

/* Packs a routing of n routes, route i with topic topics[i] (NULL: none). */
static void s_routing(hub_buf_t *out, const char *const *topics, size_t n)
{
    Hub__Route *routes = calloc(n, sizeof *routes);
    Hub__Route **ptrs = calloc(n, sizeof *ptrs);
    CHECK(routes && ptrs);
    for (size_t i = 0; routes && ptrs && i < n; i++) {
        hub__route__init(&routes[i]);
        routes[i].topic = (char *)topics[i];
        routes[i].name = "r";
        routes[i].reason = "type=bug_report";
        ptrs[i] = &routes[i];
    }
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = n;
    routing.routes = ptrs;
    CHECK_INT(hub_routing_pack(&routing, out), 0);
    free(routes);
    free(ptrs);
}

static void test_reads_and_keeps(void)
{
    hub_rowtopics_t *rt = hub_rowtopics_new();
    CHECK(rt != NULL);
    if (!rt)
        return;
    static const char *const topics[] = {"engineering.defect", NULL, "finance.billing_flag", "engineering.defect"};
    hub_buf_t b = HUB_BUF_INIT;
    s_routing(&b, topics, 4);
    const hub_row_routes_t *r = hub_rowtopics_row(rt, 7, b.data, b.len);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->n, 4);
        CHECK_STR(hub_rowtopics_text(rt, r->topic[0]), "engineering.defect");
        CHECK_STR(hub_rowtopics_text(rt, r->topic[1]), "");
        CHECK_STR(hub_rowtopics_text(rt, r->topic[2]), "finance.billing_flag");
        CHECK_INT(r->topic[3], r->topic[0]); /* one number per text */
        /* each route's bytes are where hub_routing_next finds them */
        size_t pos = 0;
        hub_route_bytes_t bytes;
        for (uint32_t i = 0; i < 4; i++) {
            CHECK_INT(hub_routing_next(b.data, b.len, &pos, &bytes), 1);
            CHECK(bytes.data == b.data + r->off[i] && bytes.len == r->len[i]);
        }
    }
    /* kept: asked again with other bytes of the same length, the row is
     * the one read first (a stored routing never changes) */
    uint8_t *junk = calloc(1, b.len);
    CHECK(junk != NULL);
    if (junk)
        CHECK(hub_rowtopics_row(rt, 7, junk, b.len) == r);
    /* another length is another row */
    static const char *const one[] = {"sales.followup"};
    hub_buf_t c = HUB_BUF_INIT;
    s_routing(&c, one, 1);
    r = hub_rowtopics_row(rt, 7, c.data, c.len);
    CHECK(r && r->n == 1 && strcmp(hub_rowtopics_text(rt, r->topic[0]), "sales.followup") == 0);
    /* a seq that shares its slot replaces it */
    r = hub_rowtopics_row(rt, 7 + 1024, b.data, b.len);
    CHECK(r && r->n == 4);
    r = hub_rowtopics_row(rt, 7, c.data, c.len);
    CHECK(r && r->n == 1);
    free(junk);
    hub_buf_fini(&b);
    hub_buf_fini(&c);
    hub_rowtopics_destroy(&rt);
    CHECK(rt == NULL);
}

static void test_refuses(void)
{
    hub_rowtopics_t *rt = hub_rowtopics_new();
    CHECK(rt != NULL);
    if (!rt)
        return;
    hub_buf_t b = HUB_BUF_INIT;
    const char *many[HUB_ROWTOPICS_ROUTES + 1];
    for (size_t i = 0; i <= HUB_ROWTOPICS_ROUTES; i++)
        many[i] = "engineering.defect";
    s_routing(&b, many, HUB_ROWTOPICS_ROUTES);
    CHECK(hub_rowtopics_row(rt, 1, b.data, b.len) != NULL);
    s_routing(&b, many, HUB_ROWTOPICS_ROUTES + 1);
    CHECK(hub_rowtopics_row(rt, 2, b.data, b.len) == NULL);

    char longer[300];
    memset(longer, 't', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    const char *const one_long[] = {longer};
    s_routing(&b, one_long, 1);
    CHECK(hub_rowtopics_row(rt, 3, b.data, b.len) == NULL);

    static const uint8_t bad[] = {0x0a, 0x05, 0x0a, 0x01};
    CHECK(hub_rowtopics_row(rt, 4, bad, sizeof bad) == NULL);
    CHECK(hub_rowtopics_row(rt, 4, bad, sizeof bad) == NULL); /* and again, from the mark */

    /* numbers run out: rows with new topics are refused, rows with known
     * ones still kept */
    char topic[32];
    const char *const t[] = {topic};
    size_t kept = 0;
    for (int i = 0; i < HUB_ROWTOPICS_MAX + 10; i++) {
        snprintf(topic, sizeof topic, "dept%d.kind", i);
        s_routing(&b, t, 1);
        kept += hub_rowtopics_row(rt, (uint64_t)100 + (uint64_t)i, b.data, b.len) != NULL;
    }
    CHECK_INT(kept, HUB_ROWTOPICS_MAX - 1); /* engineering.defect took one */
    s_routing(&b, many, 1);
    CHECK(hub_rowtopics_row(rt, 5000, b.data, b.len) != NULL);
    hub_buf_fini(&b);
    hub_rowtopics_destroy(&rt);
}

static const check_case_t cases[] = {
    {"reads a row once and keeps it", test_reads_and_keeps},
    {"refuses what it cannot keep", test_refuses},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
