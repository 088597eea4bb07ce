/*
 * fuzz_routing - the readers of a stored routing (the bytes beside each
 * event in hub.db, read on every delivery and every reading from disk).
 * hubd writes them itself, but a damaged or edited database hands them any
 * bytes, and a delivery must then fail cleanly rather than crash the hub.
 *
 * Contracts checked on every input:
 *   1. hub_routing_next, hub_route_read, hub_route_topic and
 *      hub_routing_route return only their documented codes, and the walk
 *      ends: each step moves forward.
 *   2. hub_routing_route(slot i) reads what the walk's route i reads (the
 *      same code; on 1 the same strings, fields and deadline), and slot
 *      count (one past the last) is 0 when the walk ended cleanly.
 *   3. hub_route_topic, where it succeeds, gives the topic hub_route_read
 *      gives.
 *   4. When the bytes are a routing as protobuf-c packs one (it reads
 *      them, and packs what it read to the same bytes), the readers agree
 *      with it, route by route: its strings (up to a NUL byte, as a C
 *      string ends), its fields, its deadline; with names_in_topic, the
 *      department and kind it left out are the topic's halves (and a topic
 *      without a dot is malformed). Packing protobuf-c's routing again
 *      with hub_routing_pack and reading that gives the same routes.
 *      (Only such bytes: protobuf-c is lenient where the readers are not,
 *      e.g. it takes a bool in any wire type; the hub writes none of that.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz.h"

#define S_SCRATCH 65536 /* room for any input's strings: only too many fields are too large */
#define S_MAX_ROUTES 64 /* routes compared, at most */

static char s_scratch[S_SCRATCH], s_scratch2[S_SCRATCH];

static int s_read_rc_ok(int rc)
{
    return rc == 1 || rc == -HUB_EMALFORMED || rc == -HUB_ETOOLARGE;
}

/* 1 when two views read the same route. */
static int s_same_view(const hub_route_view_t *a, const hub_route_view_t *b)
{
    if (strcmp(a->topic, b->topic) || strcmp(a->name, b->name) || strcmp(a->department, b->department) ||
        strcmp(a->kind, b->kind) || strcmp(a->reason, b->reason) || a->nfields != b->nfields ||
        a->respond_by_ms != b->respond_by_ms)
        return 0;
    for (size_t i = 0; i < a->nfields; i++)
        if (strcmp(a->fields[i], b->fields[i]))
            return 0;
    return 1;
}

/* s_str: a protobuf-c string as the readers give it ("" for none). */
static const char *s_str(const char *s)
{
    return s ? s : "";
}

/* Rule 4 for one route r that protobuf-c read, against view v (read with
 * code rc). */
static void s_check_against_protobuf(const Hub__Route *r, int rc, const hub_route_view_t *v)
{
    if (r->n_fields > HUB_ROUTE_MAX_FIELDS) {
        FUZZ_CHECK(rc == -HUB_ETOOLARGE, "more fields than a view holds is too large");
        return;
    }
    const char *department = s_str(r->department), *kind = s_str(r->kind);
    char dept_buf[S_SCRATCH / 4], kind_buf[S_SCRATCH / 4];
    if (r->has_names_in_topic && r->names_in_topic) {
        const char *topic = s_str(r->topic), *dot = strchr(topic, '.');
        if (!dot) {
            FUZZ_CHECK(rc == -HUB_EMALFORMED, "names_in_topic on a topic without a dot is malformed");
            return;
        }
        if (!*department) {
            size_t n = (size_t)(dot - topic);
            if (n >= sizeof dept_buf)
                return; /* room: a view may then be too large */
            memcpy(dept_buf, topic, n);
            dept_buf[n] = '\0';
            department = dept_buf;
        }
        if (!*kind) {
            if (strlen(dot + 1) >= sizeof kind_buf)
                return;
            strcpy(kind_buf, dot + 1);
            kind = kind_buf;
        }
    }
    FUZZ_CHECK(rc == 1, "a route protobuf-c reads, the readers read");
    FUZZ_CHECK(!strcmp(v->topic, s_str(r->topic)) && !strcmp(v->name, s_str(r->name)) &&
                   !strcmp(v->department, department) && !strcmp(v->kind, kind) &&
                   !strcmp(v->reason, s_str(r->reason)),
               "the route's strings are protobuf-c's");
    FUZZ_CHECK(v->nfields == r->n_fields, "the route's fields are protobuf-c's");
    for (size_t i = 0; i < r->n_fields; i++)
        FUZZ_CHECK(!strcmp(v->fields[i], s_str(r->fields[i])), "each field is protobuf-c's");
    FUZZ_CHECK(v->respond_by_ms == (r->has_respond_by_ms ? r->respond_by_ms : 0), "the deadline is protobuf-c's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* rules 1-3: the walk, and each route read again by its slot */
    hub_route_view_t by_slot;
    size_t pos = 0, slots = 0;
    int end_rc;
    for (;;) {
        hub_route_bytes_t route;
        size_t before = pos;
        end_rc = hub_routing_next(data, size, &pos, &route);
        FUZZ_CHECK(end_rc == 1 || end_rc == 0 || end_rc == -HUB_EMALFORMED, "hub_routing_next's codes");
        if (end_rc != 1)
            break;
        FUZZ_CHECK(pos > before && pos <= size, "the walk moves forward, inside the input");
        FUZZ_CHECK(route.data >= data && route.data + route.len <= data + size, "a route lies inside the input");
        hub_route_view_t v;
        int rc = hub_route_read(&route, &v, s_scratch, sizeof s_scratch);
        FUZZ_CHECK(s_read_rc_ok(rc), "hub_route_read's codes");
        char topic[256];
        int trc = hub_route_topic(&route, topic, sizeof topic);
        FUZZ_CHECK(s_read_rc_ok(trc), "hub_route_topic's codes");
        if (rc == 1 && trc == 1)
            FUZZ_CHECK(!strcmp(topic, v.topic), "hub_route_topic reads hub_route_read's topic");
        int src = hub_routing_route(data, size, (uint32_t)slots, &by_slot, s_scratch2, sizeof s_scratch2);
        FUZZ_CHECK(src == rc, "a slot reads as the walk's route");
        if (rc == 1)
            FUZZ_CHECK(s_same_view(&v, &by_slot), "a slot reads the walk's strings");
        slots++;
    }
    if (end_rc == 0) {
        int rc = hub_routing_route(data, size, (uint32_t)slots, &by_slot, s_scratch2, sizeof s_scratch2);
        FUZZ_CHECK(rc == 0, "one slot past the last is no route");
    }

    /* rule 4: against protobuf-c, then packed again by hand and read back */
    Hub__Routing *routing = hub__routing__unpack(NULL, size, data);
    if (!routing)
        return 0;
    hub_buf_t canonical = HUB_BUF_INIT;
    int same = hub_message_pack(&routing->base, &canonical) == 0 && canonical.len == size &&
               (size == 0 || memcmp(canonical.data, data, size) == 0);
    hub_buf_fini(&canonical);
    if (!same) {
        hub__routing__free_unpacked(routing, NULL);
        return 0;
    }
    FUZZ_CHECK(end_rc == 0 && slots == routing->n_routes, "the walk finds protobuf-c's routes");
    size_t n = routing->n_routes < S_MAX_ROUTES ? routing->n_routes : S_MAX_ROUTES;
    hub_buf_t again = HUB_BUF_INIT;
    int prc = hub_routing_pack(routing, &again);
    FUZZ_CHECK(prc == 0 || prc == -ENOMEM, "hub_routing_pack's codes");
    for (size_t i = 0; i < n; i++) {
        hub_route_view_t v;
        int rc = hub_routing_route(data, size, (uint32_t)i, &v, s_scratch, sizeof s_scratch);
        s_check_against_protobuf(routing->routes[i], rc, &v);
        if (prc != 0 || rc != 1)
            continue;
        hub_route_view_t w;
        int arc = hub_routing_route(again.data, again.len, (uint32_t)i, &w, s_scratch2, sizeof s_scratch2);
        FUZZ_CHECK(arc == 1 && s_same_view(&v, &w), "packed again by hand, a route reads the same");
    }
    hub_buf_fini(&again);
    hub__routing__free_unpacked(routing, NULL);
    return 0;
}
