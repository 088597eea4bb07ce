/*
 * test_codec - frames packed and unpacked: every body kind round trips,
 * each kind of bad input gets its own code, and a Deliver frame spliced
 * from a packed event is the frame the normal path packs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"

/* Encodes frame, decodes it, encodes the result: both encodings must be
 * the same bytes and the kind must survive. */
static void s_round_trip(Hub__Frame *frame, const char *kind)
{
    hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
    char err[HUB_ERR_LEN] = "";
    frame->has_corr = 1;
    frame->corr = 0x1122334455ULL;
    CHECK_INT(hub_frame_encode(frame, &a), 0);
    Hub__Frame *got = NULL;
    CHECK_INT(hub_frame_decode(a.data, a.len, 0, &got, err), 0);
    CHECK(got != NULL);
    if (got) {
        CHECK_STR(hub_frame_kind(got), kind);
        CHECK_INT(got->version, HUB_PROTOCOL_VERSION);
        CHECK_INT(got->corr, 0x1122334455ULL);
        CHECK_INT(hub_frame_encode(got, &b), 0);
        CHECK_INT(b.len, a.len);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    }
    hub_frame_free(&got);
    CHECK(got == NULL);
    hub_buf_fini(&a);
    hub_buf_fini(&b);
}

/* Fills text (size bytes) with c, NUL-terminated: a string of size - 1. */
static void s_text_of(char *text, size_t size, char c)
{
    memset(text, c, size - 1);
    text[size - 1] = '\0';
}

/* Sets r to engineering's defect route, as a policy matched it. */
static void s_defect_route(Hub__Route *r)
{
    r->topic = "engineering.defect";
    r->name = "defect";
    r->department = "engineering";
    r->kind = "defect";
    r->reason = "type=bug_report";
}

static void test_round_trip_hello(void)
{
    Hub__Hello hello = HUB__HELLO__INIT;
    hello.client = "hubctl 0.1.0";
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_HELLO;
    f.hello = &hello;
    s_round_trip(&f, "hello");
}

static void test_round_trip_welcome(void)
{
    Hub__Welcome w = HUB__WELCOME__INIT;
    w.hub_version = "0.1.0";
    w.instance = "b5c7";
    w.identity = "client-1";
    w.has_max_frame = 1;
    w.max_frame = 1 << 20;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_WELCOME;
    f.welcome = &w;
    s_round_trip(&f, "welcome");
}

static void test_round_trip_publish(void)
{
    Hub__Customer c = HUB__CUSTOMER__INIT;
    c.id = "c-1";
    c.tier = "enterprise";
    Hub__Event__AttributesEntry e1 = HUB__EVENT__ATTRIBUTES_ENTRY__INIT, *entries[] = {&e1};
    e1.key = "region";
    e1.value = "eu";
    char *tags[] = {"rma", "urgent"};
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = "ev-1";
    ev.type = "bug_report";
    ev.customer = &c;
    ev.has_severity = 1;
    ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    ev.n_tags = 2;
    ev.tags = tags;
    ev.n_attributes = 1;
    ev.attributes = entries;
    Hub__Publish p = HUB__PUBLISH__INIT;
    p.event = &ev;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &p;
    s_round_trip(&f, "publish");
}

static void test_round_trip_publish_ack(void)
{
    Hub__PublishAck a = HUB__PUBLISH_ACK__INIT;
    a.id = "ev-1";
    a.has_seq = 1;
    a.seq = 42;
    a.has_duplicate = 1;
    a.duplicate = 1;
    a.has_notifications = 1;
    a.notifications = 3;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACK;
    f.publish_ack = &a;
    s_round_trip(&f, "publish_ack");
}

static void test_round_trip_publish_acks(void)
{
    Hub__PublishAck a = HUB__PUBLISH_ACK__INIT, b = HUB__PUBLISH_ACK__INIT;
    a.has_corr = b.has_corr = 1;
    a.corr = 7;
    b.corr = 8;
    a.has_seq = b.has_seq = 1;
    a.seq = 42;
    b.seq = 43;
    Hub__PublishAck *acks[] = {&a, &b};
    Hub__PublishAcks batch = HUB__PUBLISH_ACKS__INIT;
    batch.n_acks = 2;
    batch.acks = acks;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACKS;
    f.publish_acks = &batch;
    s_round_trip(&f, "publish_acks");
}

static void test_round_trip_subscribe(void)
{
    char *topics[] = {"engineering.*", "finance.billing_flag"};
    Hub__Subscribe s = HUB__SUBSCRIBE__INIT;
    s.name = "engineering";
    s.n_topics = 2;
    s.topics = topics;
    s.has_start = 1;
    s.start = HUB__START__START_SEQ;
    s.has_start_seq = 1;
    s.start_seq = 7;
    s.has_credit = 1;
    s.credit = 16;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_SUBSCRIBE;
    f.subscribe = &s;
    s_round_trip(&f, "subscribe");
}

static void test_round_trip_subscribed(void)
{
    Hub__Subscribed s = HUB__SUBSCRIBED__INIT;
    s.name = "engineering";
    s.has_position = 1;
    s.position = 99;
    s.has_credit = 1;
    s.credit = 16;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_SUBSCRIBED;
    f.subscribed = &s;
    s_round_trip(&f, "subscribed");
}

static void test_round_trip_deliver(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    Hub__Notification n = HUB__NOTIFICATION__INIT;
    n.has_seq = 1;
    n.seq = 5;
    n.topic = "engineering.defect";
    n.event = &ev;
    Hub__Deliver d = HUB__DELIVER__INIT;
    d.name = "engineering";
    d.notification = &n;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DELIVER;
    f.deliver = &d;
    s_round_trip(&f, "deliver");
}

static void test_round_trip_ack(void)
{
    Hub__Ref r1 = HUB__REF__INIT, r2 = HUB__REF__INIT, *refs[] = {&r1, &r2};
    r1.has_seq = r2.has_seq = 1;
    r1.seq = 5;
    r2.seq = 6;
    r2.has_slot = 1;
    r2.slot = 1;
    Hub__Ack a = HUB__ACK__INIT;
    a.name = "engineering";
    a.n_refs = 2;
    a.refs = refs;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_ACK;
    f.ack = &a;
    s_round_trip(&f, "ack");
}

/* A decoded frame whose pieces take far more memory than its bytes (an
 * Ack of many refs: a few bytes each on the wire, a message each once
 * decoded) is read whole and freed whole. */
static void test_round_trip_many_refs(void)
{
    enum { S_REFS = 5000 };
    Hub__Ref *items = calloc(S_REFS, sizeof *items);
    Hub__Ref **refs = calloc(S_REFS, sizeof *refs);
    CHECK(items && refs);
    if (!items || !refs) {
        free(items);
        free(refs);
        return;
    }
    for (size_t i = 0; i < S_REFS; i++) {
        hub__ref__init(&items[i]);
        items[i].has_seq = 1;
        items[i].seq = 1000 + i;
        items[i].has_slot = 1;
        items[i].slot = (uint32_t)(i % 4);
        refs[i] = &items[i];
    }
    Hub__Ack a = HUB__ACK__INIT;
    a.name = "engineering";
    a.n_refs = S_REFS;
    a.refs = refs;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_ACK;
    f.ack = &a;
    s_round_trip(&f, "ack");
    hub_buf_t out = HUB_BUF_INIT;
    char err[HUB_ERR_LEN] = "";
    Hub__Frame *got = NULL;
    CHECK_INT(hub_frame_encode(&f, &out), 0);
    CHECK_INT(hub_frame_decode(out.data, out.len, 0, &got, err), 0);
    if (got) {
        CHECK_INT(got->ack->n_refs, S_REFS);
        CHECK_INT(got->ack->refs[S_REFS - 1]->seq, 1000 + S_REFS - 1);
        CHECK_INT(got->ack->refs[S_REFS - 1]->slot, (S_REFS - 1) % 4);
        CHECK_STR(got->ack->name, "engineering");
    }
    hub_frame_free(&got);
    hub_buf_fini(&out);
    free(items);
    free(refs);
}

/* An Ack frame of n refs (seq base + i), packed into out. */
static void s_pack_refs(size_t n, uint64_t base, hub_buf_t *out)
{
    Hub__Ref *items = calloc(n, sizeof *items);
    Hub__Ref **refs = calloc(n, sizeof *refs);
    CHECK(items && refs);
    for (size_t i = 0; items && refs && i < n; i++) {
        hub__ref__init(&items[i]);
        items[i].has_seq = 1;
        items[i].seq = base + i;
        refs[i] = &items[i];
    }
    Hub__Ack a = HUB__ACK__INIT;
    a.name = "finance";
    a.n_refs = items && refs ? n : 0;
    a.refs = refs;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_ACK;
    f.ack = &a;
    CHECK_INT(hub_frame_encode(&f, out), 0);
    free(items);
    free(refs);
}

/* 1 when frame is the Ack s_pack_refs made of n refs from base. */
static int s_refs_are(const Hub__Frame *frame, size_t n, uint64_t base)
{
    if (!frame || frame->body_case != HUB__FRAME__BODY_ACK || frame->ack->n_refs != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (frame->ack->refs[i]->seq != base + i)
            return 0;
    return strcmp(frame->ack->name, "finance") == 0;
}

static void *s_free_in_thread(void *arg)
{
    Hub__Frame *f = arg;
    hub_frame_free(&f); /* decoded by another thread: freed, not kept */
    return NULL;
}

static void *s_decode_in_thread(void *arg)
{
    hub_buf_t *packed = arg;
    char err[HUB_ERR_LEN] = "";
    Hub__Frame *f = NULL;
    int ok = hub_frame_decode(packed->data, packed->len, 0, &f, err) == 0 && s_refs_are(f, 3000, 1);
    hub_frame_free(&f); /* its chunk stays with the thread, freed when the thread ends */
    return ok ? packed : NULL;
}

/* A thread keeps the memory of the last frame it freed for the next one:
 * frames decoded after, smaller or larger, and two alive at once, each
 * keep their own content; a thread that ends frees what it kept (the
 * sanitizer's leak check sees it otherwise). */
static void test_decode_reuses_memory(void)
{
    hub_buf_t big = HUB_BUF_INIT, small = HUB_BUF_INIT, bigger = HUB_BUF_INIT;
    char err[HUB_ERR_LEN] = "";
    s_pack_refs(3000, 1, &big);
    s_pack_refs(2, 500, &small);
    s_pack_refs(9000, 7, &bigger);
    Hub__Frame *a = NULL, *b = NULL, *c = NULL;
    CHECK_INT(hub_frame_decode(big.data, big.len, 0, &a, err), 0);
    CHECK(s_refs_are(a, 3000, 1));
    hub_frame_free(&a);
    CHECK_INT(hub_frame_decode(small.data, small.len, 0, &b, err), 0);
    CHECK_INT(hub_frame_decode(big.data, big.len, 0, &a, err), 0);
    CHECK_INT(hub_frame_decode(bigger.data, bigger.len, 0, &c, err), 0);
    CHECK(s_refs_are(b, 2, 500));
    CHECK(s_refs_are(a, 3000, 1));
    CHECK(s_refs_are(c, 9000, 7));
    hub_frame_free(&a);
    hub_frame_free(&c);
    CHECK(s_refs_are(b, 2, 500));
    hub_frame_free(&b);
    CHECK_INT(hub_frame_decode(big.data, big.len, 0, &a, err), 0);
    CHECK(s_refs_are(a, 3000, 1));
    hub_frame_free(&a);

    pthread_t t;
    void *ret = NULL;
    CHECK_INT(pthread_create(&t, NULL, s_decode_in_thread, &big), 0);
    CHECK_INT(pthread_join(t, &ret), 0);
    CHECK(ret == &big);
    /* a frame decoded here and freed by another thread */
    CHECK_INT(hub_frame_decode(bigger.data, bigger.len, 0, &c, err), 0);
    CHECK(s_refs_are(c, 9000, 7));
    CHECK_INT(pthread_create(&t, NULL, s_free_in_thread, c), 0);
    CHECK_INT(pthread_join(t, NULL), 0);
    c = NULL;
    CHECK_INT(hub_frame_decode(big.data, big.len, 0, &a, err), 0);
    CHECK(s_refs_are(a, 3000, 1));
    hub_frame_free(&a);
    hub_buf_fini(&big);
    hub_buf_fini(&small);
    hub_buf_fini(&bigger);
}

/* The route protobuf-c is to pack for r beside hub_routing_pack: r itself,
 * or, when r's topic is its department "." its kind, r without those two
 * and with names_in_topic. */
static Hub__Route s_as_stored(const Hub__Route *r)
{
    Hub__Route copy = *r;
    if (r->topic && r->department && r->kind && *r->department && *r->kind && !strchr(r->department, '.')) {
        char topic[256];
        snprintf(topic, sizeof topic, "%s.%s", r->department, r->kind);
        if (strcmp(topic, r->topic) == 0) {
            copy.department = copy.kind = NULL;
            copy.has_names_in_topic = 1;
            copy.names_in_topic = 1;
        }
    }
    return copy;
}

/* hub_routing_pack writes what protobuf-c writes, byte for byte, of the
 * routing as stored (s_as_stored): strings set, empty or left out, lengths
 * of one and two bytes, redaction fields, deadlines (negative too), no
 * routes, many routes, a field it does not know; names in the topic or
 * not (a dot in the department, a topic that is not the two). */
static void test_routing_pack_equals_protobuf(void)
{
    char long_reason[300];
    s_text_of(long_reason, sizeof long_reason, 'r');
    char *fields[] = {"case_id", "", "customer.name"};
    Hub__Route routes[6];
    Hub__Route *ptrs[6];
    for (size_t i = 0; i < 6; i++) {
        hub__route__init(&routes[i]);
        ptrs[i] = &routes[i];
    }
    s_defect_route(&routes[0]);
    routes[1].topic = "finance.billing_flag";
    routes[1].reason = long_reason;
    routes[1].has_respond_by_ms = 1;
    routes[1].respond_by_ms = 1795673654514LL;
    routes[2].topic = "";
    routes[2].name = "";
    routes[2].n_fields = 3;
    routes[2].fields = fields;
    routes[3].has_respond_by_ms = 1;
    routes[3].respond_by_ms = -5;
    routes[4].department = "sales";
    routes[4].has_respond_by_ms = 1;
    routes[4].respond_by_ms = 0;
    /* routes[5]: nothing set */
    Hub__Route odd_names[4];
    Hub__Route *odd_ptrs[4];
    static const char *const names[4][3] = {
        {"a.b.c", "a.b", "c"},       /* a dot in the department: kept */
        {"a.b.c", "a", "b.c"},       /* a dot in the kind: left out */
        {"sales.call", "sales", "callback"},
        {"sales.", "sales", ""},
    };
    for (size_t i = 0; i < 4; i++) {
        hub__route__init(&odd_names[i]);
        odd_names[i].topic = (char *)names[i][0];
        odd_names[i].department = (char *)names[i][1];
        odd_names[i].kind = (char *)names[i][2];
        odd_ptrs[i] = &odd_names[i];
    }
    hub_buf_t mine = HUB_BUF_INIT, theirs = HUB_BUF_INIT;
    for (size_t set = 0; set < 2; set++) {
        Hub__Route **from = set ? odd_ptrs : ptrs;
        size_t count = set ? 4 : 6;
        for (size_t n = 0; n <= count; n++) {
            Hub__Route stored[6];
            Hub__Route *stored_ptrs[6];
            for (size_t i = 0; i < n; i++) {
                stored[i] = s_as_stored(from[i]);
                stored_ptrs[i] = &stored[i];
            }
            Hub__Routing routing = HUB__ROUTING__INIT, as_stored = HUB__ROUTING__INIT;
            routing.n_routes = as_stored.n_routes = n;
            routing.routes = from;
            as_stored.routes = stored_ptrs;
            CHECK_INT(hub_routing_pack(&routing, &mine), 0);
            CHECK_INT(hub_message_pack(&as_stored.base, &theirs), 0);
            CHECK_INT(mine.len, theirs.len);
            CHECK(mine.len == theirs.len && (mine.len == 0 || memcmp(mine.data, theirs.data, mine.len) == 0));
            /* and every route reads back as it was given */
            for (size_t i = 0; i < n; i++) {
                hub_route_view_t v;
                char scratch[1024];
                CHECK_INT(hub_routing_route(mine.data, mine.len, (uint32_t)i, &v, scratch, sizeof scratch), 1);
                CHECK_STR(v.topic, from[i]->topic ? from[i]->topic : "");
                CHECK_STR(v.department, from[i]->department ? from[i]->department : "");
                CHECK_STR(v.kind, from[i]->kind ? from[i]->kind : "");
                CHECK_STR(v.name, from[i]->name ? from[i]->name : "");
            }
        }
    }
    /* the defect route is stored 20 bytes shorter than protobuf-c packs it */
    {
        Hub__Route *one[1] = {&routes[0]};
        Hub__Routing routing = HUB__ROUTING__INIT;
        routing.n_routes = 1;
        routing.routes = one;
        CHECK_INT(hub_routing_pack(&routing, &mine), 0);
        CHECK_INT(hub_message_pack(&routing.base, &theirs), 0);
        CHECK_INT(theirs.len - mine.len, strlen("engineering") + 2 + strlen("defect") + 2 - 2);
    }
    /* more routes than it measures on the stack: protobuf-c packs them */
    Hub__Route *many[40];
    for (size_t i = 0; i < 40; i++)
        many[i] = &routes[i % 6];
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = 40;
    routing.routes = many;
    CHECK_INT(hub_routing_pack(&routing, &mine), 0);
    CHECK_INT(hub_message_pack(&routing.base, &theirs), 0);
    CHECK(mine.len == theirs.len && memcmp(mine.data, theirs.data, mine.len) == 0);
    /* a field it does not know, even beside no routes, is kept as protobuf-c keeps it */
    uint8_t five = 5;
    ProtobufCMessageUnknownField unknown = {9, PROTOBUF_C_WIRE_TYPE_VARINT, 1, &five};
    Hub__Routing odd = HUB__ROUTING__INIT;
    odd.base.n_unknown_fields = 1;
    odd.base.unknown_fields = &unknown;
    CHECK_INT(hub_routing_pack(&odd, &mine), 0);
    CHECK_INT(hub_message_pack(&odd.base, &theirs), 0);
    CHECK_INT(mine.len, 2);
    CHECK(mine.len == theirs.len && memcmp(mine.data, theirs.data, mine.len) == 0);
    hub_buf_fini(&mine);
    hub_buf_fini(&theirs);
}

/* hub_frame_encode_ack writes the bytes hub_frame_encode makes of the same
 * Ack frame: with and without a name, no refs, seqs and slots of every
 * varint length (0 and the largest too), a frame's worth of refs. */
static void test_ack_equals_encode(void)
{
    enum { N = 256 };
    static const uint64_t corrs[] = {0, 1, 300, UINT64_MAX};
    static const size_t counts[] = {0, 1, 3, N};
    hub_ack_ref_t mine[N];
    Hub__Ref refs[N], *ptrs[N];
    for (size_t i = 0; i < N; i++) {
        mine[i].seq = i == 1 ? UINT64_MAX : (uint64_t)1 << (i % 64);
        mine[i].slot = i == 2 ? UINT32_MAX : (uint32_t)(i % 3 == 0 ? 0 : i * 1000);
        hub__ref__init(&refs[i]);
        refs[i].has_seq = refs[i].has_slot = 1;
        refs[i].seq = mine[i].seq;
        refs[i].slot = mine[i].slot;
        ptrs[i] = &refs[i];
    }
    hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
    for (size_t c = 0; c < sizeof corrs / sizeof corrs[0]; c++)
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
            for (int named = 0; named <= 1; named++) {
                Hub__Ack ack = HUB__ACK__INIT;
                ack.name = named ? "engineering" : NULL;
                ack.n_refs = counts[k];
                ack.refs = ptrs;
                Hub__Frame f = HUB__FRAME__INIT;
                f.has_corr = 1;
                f.corr = corrs[c];
                f.body_case = HUB__FRAME__BODY_ACK;
                f.ack = &ack;
                CHECK_INT(hub_frame_encode(&f, &a), 0);
                CHECK_INT(hub_frame_encode_ack(corrs[c], ack.name, mine, counts[k], &b), 0);
                CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
            }
    hub_buf_fini(&a);
    hub_buf_fini(&b);
}

/* buf's varint reader takes back what its writer wrote, and refuses what
 * ends too soon or runs past ten bytes. */
static void test_varint_read_back(void)
{
    static const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t b[10];
        size_t n = hub_varint_put(b, values[i]);
        uint64_t v = 0;
        CHECK_INT(hub_varint_get(b, b + n, &v), n);
        CHECK(v == values[i]);
        CHECK_INT(hub_varint_get(b, b + n - 1, &v), 0); /* cut short */
    }
    static const uint8_t eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    uint64_t v = 0;
    CHECK_INT(hub_varint_get(eleven, eleven + sizeof eleven, &v), 0);
    static const uint8_t tenth[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x03};
    CHECK_INT(hub_varint_get(tenth, tenth + sizeof tenth, &v), 10);
    CHECK(v == (uint64_t)1 << 63); /* the bit beyond 64 dropped */
}

static void test_round_trip_nack(void)
{
    Hub__Ref r = HUB__REF__INIT;
    r.has_seq = 1;
    r.seq = 5;
    Hub__Nack n = HUB__NACK__INIT;
    n.name = "engineering";
    n.ref = &r;
    n.reason = "handler failed";
    n.has_dead_letter = 1;
    n.dead_letter = 1;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_NACK;
    f.nack = &n;
    s_round_trip(&f, "nack");
}

static void test_round_trip_error(void)
{
    Hub__Error e = HUB__ERROR__INIT;
    e.has_code = 1;
    e.code = HUB__ERROR_CODE__ERROR_CODE_INVALID;
    e.message = "type: missing";
    e.field = "type";
    e.id = "ev-1";
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_ERROR;
    f.error = &e;
    s_round_trip(&f, "error");
}

static void test_round_trip_heartbeat(void)
{
    Hub__Heartbeat h = HUB__HEARTBEAT__INIT;
    h.instance = "b5c7";
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &h;
    s_round_trip(&f, "heartbeat");
}

static void test_round_trip_status_request(void)
{
    Hub__StatusRequest s = HUB__STATUS_REQUEST__INIT;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_STATUS_REQUEST;
    f.status_request = &s;
    s_round_trip(&f, "status_request");
}

static void test_round_trip_status_reply(void)
{
    Hub__SubscriberStatus sub = HUB__SUBSCRIBER_STATUS__INIT, *subs[] = {&sub};
    sub.name = "engineering";
    sub.has_connected = 1;
    sub.connected = 1;
    sub.has_backlog = 1;
    sub.backlog = 12;
    Hub__StatusReply s = HUB__STATUS_REPLY__INIT;
    s.hub_version = "0.1.0";
    s.has_last_seq = 1;
    s.last_seq = UINT64_MAX;
    s.n_subscribers = 1;
    s.subscribers = subs;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_STATUS_REPLY;
    f.status_reply = &s;
    s_round_trip(&f, "status_reply");
}

static void test_encode_sets_version(void)
{
    Hub__Heartbeat h = HUB__HEARTBEAT__INIT;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_version = 1;
    f.version = 7;
    f.body_case = HUB__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &h;
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_frame_encode(&f, &out), 0);
    CHECK_INT(f.version, HUB_PROTOCOL_VERSION);
    /* version 1 (08 01), heartbeat 20 empty (a2 01 00) */
    static const uint8_t want[] = {0x08, 0x01, 0xa2, 0x01, 0x00};
    CHECK_INT(out.len, sizeof want);
    CHECK(out.len == sizeof want && memcmp(out.data, want, sizeof want) == 0);
    hub_buf_fini(&out);
}

static void test_encode_reuses_buffer(void)
{
    Hub__Hello hello = HUB__HELLO__INIT;
    char big[1000];
    s_text_of(big, sizeof big, 'x');
    hello.client = big;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_HELLO;
    f.hello = &hello;
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_frame_encode(&f, &out), 0);
    size_t first = out.len, cap = out.cap;
    uint8_t *data = out.data;
    hello.client = "small";
    CHECK_INT(hub_frame_encode(&f, &out), 0);
    CHECK(out.len < first);
    CHECK(out.data == data); /* no new allocation */
    CHECK_INT(out.cap, cap);
    Hub__Frame *got = NULL;
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_frame_decode(out.data, out.len, 0, &got, err), 0);
    if (got)
        CHECK_STR(got->hello->client, "small");
    hub_frame_free(&got);
    hub_buf_fini(&out);
}

/* ----------------------------------------------------------- rejections */

typedef struct {
    const char *name;       /* what the bytes are */
    const uint8_t *data;    /* the frame */
    size_t len;             /* its bytes */
    size_t max_len;         /* the limit given to decode */
    int code;               /* the expected return */
    const char *err_has;    /* text the error must contain */
} s_reject_t;

static void test_decode_rejections(void)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t truncated[] = {0x08, 0x01, 0xa2, 0x01, 0x05, 0x0a}; /* heartbeat says 5 bytes */
    static const uint8_t bad_wire_type[] = {0x0f, 0x01};                     /* field 1, wire type 7 */
    static const uint8_t no_body[] = {0x08, 0x01, 0x10, 0x05};               /* version 1, corr 5 */
    static const uint8_t v0[] = {0x08, 0x00, 0xa2, 0x01, 0x00};
    static const uint8_t v2[] = {0x08, 0x02, 0xa2, 0x01, 0x00};
    static const uint8_t v2_no_body[] = {0x08, 0x02};
    static const uint8_t no_version[] = {0xa2, 0x01, 0x00};
    static const uint8_t ok[] = {0x08, 0x01, 0xa2, 0x01, 0x00};
    static const uint8_t text[] = "hello, hub";
    const s_reject_t cases[] = {
        {"garbage", garbage, sizeof garbage, 0, -HUB_EMALFORMED, "not a protobuf hub.Frame"},
        {"truncated body", truncated, sizeof truncated, 0, -HUB_EMALFORMED, "not a protobuf"},
        {"bad wire type", bad_wire_type, sizeof bad_wire_type, 0, -HUB_EMALFORMED, "not a protobuf"},
        {"plain text", text, sizeof text - 1, 0, -HUB_EMALFORMED, "not a protobuf"},
        {"empty", (const uint8_t *)"", 0, 0, -HUB_EMALFORMED, "no body"},
        {"no body", no_body, sizeof no_body, 0, -HUB_EMALFORMED, "no body"},
        {"version 0", v0, sizeof v0, 0, -HUB_EUNSUPPORTED, "version 0 is not supported"},
        {"version 2", v2, sizeof v2, 0, -HUB_EUNSUPPORTED, "version 2 is not supported"},
        {"version 2 without a body", v2_no_body, sizeof v2_no_body, 0, -HUB_EUNSUPPORTED, "version 2"},
        {"no version", no_version, sizeof no_version, 0, -HUB_EUNSUPPORTED, "no protocol version"},
        {"too large", ok, sizeof ok, sizeof ok - 1, -HUB_ETOOLARGE, "5 bytes is over the limit of 4"},
        {"too large garbage", garbage, sizeof garbage, 2, -HUB_ETOOLARGE, "over the limit"},
        {"at the limit", ok, sizeof ok, sizeof ok, 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_reject_t *c = &cases[i];
        char err[HUB_ERR_LEN] = "";
        Hub__Frame *frame = (Hub__Frame *)&err; /* must be overwritten */
        int rc = hub_frame_decode(c->data, c->len, c->max_len, &frame, err);
        check_case = c->name;
        CHECK_INT(rc, c->code);
        CHECK_HAS(err, c->err_has);
        CHECK(strchr(err, '\n') == NULL);
        if (rc < 0)
            CHECK(frame == NULL);
        else
            CHECK(frame != NULL);
        hub_frame_free(&frame);
    }
    check_case = "decode rejections";
}

static void test_free_null(void)
{
    Hub__Frame *frame = NULL;
    hub_frame_free(&frame);
    hub_frame_free(NULL);
    CHECK(frame == NULL);
}

/* ----------------------------------------------------------- deliver splice */

/* A notification with every field set but the event. */
static void s_notification(Hub__Notification *n)
{
    hub__notification__init(n);
    n->has_seq = 1;
    n->seq = 300;
    n->has_slot = 1;
    n->slot = 2;
    n->topic = "engineering.defect";
    n->route = "defect";
    n->reason = "type=bug_report";
    n->department = "engineering";
    n->kind = "defect";
    n->respond_by = "2026-11-23T14:00:00.000Z";
    n->has_attempt = 1;
    n->attempt = 1;
    n->event_id = "ev-1";
    n->received_at = "2026-11-23T10:00:00.000Z";
}

/* Packs a Deliver frame of n for name the normal way (protobuf-c). */
static int s_encode_deliver(const char *name, Hub__Notification *n, hub_buf_t *out)
{
    Hub__Deliver d = HUB__DELIVER__INIT;
    d.name = (char *)name;
    d.notification = n;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DELIVER;
    f.deliver = &d;
    return hub_frame_encode(&f, out);
}

/* Splices packed ev into a Deliver and checks it against the normal path:
 * same bytes, and it decodes to the same event. */
static void s_check_splice(const char *name, Hub__Event *ev)
{
    hub_buf_t packed = HUB_BUF_INIT, spliced = HUB_BUF_INIT, normal = HUB_BUF_INIT;
    Hub__Notification n;
    s_notification(&n);
    if (ev)
        CHECK_INT(hub_message_pack(&ev->base, &packed), 0);
    CHECK_INT(hub_frame_encode_deliver(name, &n, ev ? packed.data : NULL, packed.len, &spliced), 0);
    CHECK(n.event == NULL);

    n.event = ev;
    CHECK_INT(s_encode_deliver(name, &n, &normal), 0);
    CHECK_INT(spliced.len, normal.len);
    CHECK(spliced.len == normal.len && memcmp(spliced.data, normal.data, normal.len) == 0);

    char err[HUB_ERR_LEN];
    Hub__Frame *got = NULL;
    CHECK_INT(hub_frame_decode(spliced.data, spliced.len, 0, &got, err), 0);
    if (got) {
        CHECK_STR(hub_frame_kind(got), "deliver");
        if (name)
            CHECK_STR(got->deliver->name, name);
        else
            CHECK(got->deliver->name == NULL);
        Hub__Notification *gn = got->deliver->notification;
        CHECK(gn != NULL);
        if (gn) {
            CHECK_INT(gn->seq, 300);
            CHECK_INT(gn->slot, 2);
            CHECK_STR(gn->respond_by, "2026-11-23T14:00:00.000Z");
            CHECK_STR(gn->received_at, "2026-11-23T10:00:00.000Z");
            if (ev) {
                CHECK(gn->event != NULL);
                hub_buf_t again = HUB_BUF_INIT;
                if (gn->event) {
                    CHECK_INT(hub_message_pack(&gn->event->base, &again), 0);
                    CHECK(again.len == packed.len && memcmp(again.data, packed.data, packed.len) == 0);
                }
                hub_buf_fini(&again);
            } else {
                CHECK(gn->event == NULL);
            }
        }
    }
    hub_frame_free(&got);
    hub_buf_fini(&packed);
    hub_buf_fini(&spliced);
    hub_buf_fini(&normal);
}

static void test_deliver_splice_equals_encode(void)
{
    Hub__Customer c = HUB__CUSTOMER__INIT;
    c.name = "Ada";
    c.tier = "enterprise";
    char *tags[] = {"rma"};
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = "ev-1";
    ev.type = "bug_report";
    ev.customer = &c;
    ev.n_tags = 1;
    ev.tags = tags;
    ev.has_severity = 1;
    ev.severity = HUB__SEVERITY__SEVERITY_CRITICAL;
    ev.occurred_at = "2026-11-23T10:00:00Z";
    s_check_splice("engineering", &ev);
}

/* Every notification, whichever of its fields are set (all 2^11 ways,
 * with values of one and several varint bytes, and empty strings), is
 * packed into a Deliver as protobuf-c packs it. */
static void test_deliver_fields_equal_encode(void)
{
    hub_buf_t spliced = HUB_BUF_INIT, normal = HUB_BUF_INIT;
    int same = 0;
    for (unsigned mask = 0; mask < (1u << 11); mask++) {
        Hub__Notification n = HUB__NOTIFICATION__INIT;
        int big = mask & 1;
        n.has_seq = (mask >> 0) & 1;
        n.seq = big ? 1ULL << 40 : 5;
        n.has_slot = (mask >> 1) & 1;
        n.slot = big ? 300 : 0;
        n.topic = (mask >> 2) & 1 ? "engineering.defect" : NULL;
        n.route = (mask >> 3) & 1 ? "" : NULL;
        n.reason = (mask >> 4) & 1 ? "type=bug_report" : NULL;
        n.department = (mask >> 5) & 1 ? "engineering" : NULL;
        n.kind = (mask >> 6) & 1 ? "defect" : NULL;
        n.respond_by = (mask >> 7) & 1 ? "2026-11-23T14:00:00.000Z" : NULL;
        n.has_attempt = (mask >> 8) & 1;
        n.attempt = big ? 200 : 1;
        n.event_id = (mask >> 9) & 1 ? "ev-1" : NULL;
        n.received_at = (mask >> 10) & 1 ? "2026-11-23T10:00:00.000Z" : NULL;
        CHECK_INT(hub_frame_encode_deliver("sales", &n, NULL, 0, &spliced), 0);
        CHECK_INT(s_encode_deliver("sales", &n, &normal), 0);
        same += spliced.len == normal.len && memcmp(spliced.data, normal.data, normal.len) == 0;
    }
    CHECK_INT(same, 1 << 11);
    hub_buf_fini(&spliced);
    hub_buf_fini(&normal);
}

/* A batched Deliver (hub_deliver_batch_*) for subscriber name is what
 * protobuf-c packs for the same frame with notification and more set, and
 * decodes back in order. */
static void s_check_batch(const char *name)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = "ev-1";
    ev.type = "bug_report";
    hub_buf_t packed = HUB_BUF_INIT, body = HUB_BUF_INIT, normal = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&ev.base, &packed), 0);
    enum { N = 3 };
    Hub__Notification n[N];
    for (size_t i = 0; i < N; i++) {
        s_notification(&n[i]);
        n[i].seq = 300 + i;
        CHECK_INT(hub_deliver_batch_add(&body, i, &n[i], packed.data, packed.len), 0);
    }
    size_t whole = body.len;
    CHECK_INT(hub_deliver_batch_add(&body, 0, &n[0], packed.data, packed.len), 0); /* index 0 starts again */
    CHECK(body.len < whole);
    for (size_t i = 1; i < N; i++)
        CHECK_INT(hub_deliver_batch_add(&body, i, &n[i], packed.data, packed.len), 0);
    CHECK_INT(body.len, whole);
    const uint8_t *batched = NULL;
    size_t batched_len = 0;
    CHECK_INT(hub_deliver_batch_seal(name, &body, &batched, &batched_len), 0);

    Hub__Notification *more[N - 1];
    for (size_t i = 0; i < N; i++) {
        n[i].event = &ev;
        if (i > 0)
            more[i - 1] = &n[i];
    }
    Hub__Deliver d = HUB__DELIVER__INIT;
    d.name = (char *)name;
    d.notification = &n[0];
    d.n_more = N - 1;
    d.more = more;
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DELIVER;
    f.deliver = &d;
    CHECK_INT(hub_frame_encode(&f, &normal), 0);
    CHECK_INT(batched_len, normal.len);
    CHECK(batched && batched_len == normal.len && memcmp(batched, normal.data, normal.len) == 0);

    char err[HUB_ERR_LEN];
    Hub__Frame *got = NULL;
    CHECK_INT(hub_frame_decode(batched, batched_len, 0, &got, err), 0);
    if (got) {
        CHECK_INT(got->deliver->notification->seq, 300);
        CHECK_INT(got->deliver->n_more, N - 1);
        for (size_t i = 0; i + 1 < N && i < got->deliver->n_more; i++) {
            CHECK_INT(got->deliver->more[i]->seq, 301 + i);
            CHECK_STR(got->deliver->more[i]->event->id, "ev-1");
        }
    }
    hub_frame_free(&got);
    hub_buf_fini(&packed);
    hub_buf_fini(&body);
    hub_buf_fini(&normal);
}

/* The head goes into the room kept for it; a name longer than the room
 * (names are shorter, but the codec does not rely on it) moves the
 * notifications up; no name at all leaves it out. */
static void test_deliver_batch_equals_encode(void)
{
    char long_name[300];
    s_text_of(long_name, sizeof long_name, 'n');
    s_check_batch("engineering");
    s_check_batch(long_name);
    s_check_batch(NULL);
    /* nothing added: nothing to seal */
    hub_buf_t empty = HUB_BUF_INIT;
    const uint8_t *frame = NULL;
    size_t len = 0;
    CHECK_INT(hub_deliver_batch_seal("engineering", &empty, &frame, &len), -EINVAL);
    hub_buf_fini(&empty);
}

static void test_deliver_splice_tap_name(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    s_check_splice("", &ev); /* the tap's deliver has name "" */
}

static void test_deliver_splice_no_name(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "complaint";
    s_check_splice(NULL, &ev);
}

static void test_deliver_splice_no_event(void)
{
    s_check_splice("engineering", NULL);
}

static void test_deliver_splice_large_event(void)
{
    /* lengths over 127 and 16383 bytes take 2 and 3 varint bytes */
    size_t len = 20000;
    char *body = malloc(len + 1);
    CHECK(body != NULL);
    if (!body)
        return;
    memset(body, 'b', len);
    body[len] = '\0';
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    ev.body = body;
    s_check_splice("engineering", &ev);
    free(body);
}

/* ----------------------------------------------------------- misc */

static void test_message_pack(void)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "return_request";
    ev.has_status = 1;
    ev.status = HUB__STATUS__STATUS_RESOLVED;
    hub_buf_t out = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&ev.base, &out), 0);
    CHECK_INT(out.len, hub__event__get_packed_size(&ev));
    Hub__Event *got = hub__event__unpack(NULL, out.len, out.data);
    CHECK(got != NULL);
    if (got) {
        CHECK_STR(got->type, "return_request");
        CHECK_INT(got->status, HUB__STATUS__STATUS_RESOLVED);
    }
    hub__event__free_unpacked(got, NULL);
    /* an empty message packs to nothing, and the buffer is reset */
    Hub__StatusRequest s = HUB__STATUS_REQUEST__INIT;
    CHECK_INT(hub_message_pack(&s.base, &out), 0);
    CHECK_INT(out.len, 0);
    hub_buf_fini(&out);
}

static void test_frame_kind(void)
{
    Hub__Frame f = HUB__FRAME__INIT;
    CHECK_STR(hub_frame_kind(&f), "none");
    CHECK_STR(hub_frame_kind(NULL), "none");
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACK;
    CHECK_STR(hub_frame_kind(&f), "publish_ack");
    f.body_case = HUB__FRAME__BODY_STATUS_REPLY;
    CHECK_STR(hub_frame_kind(&f), "status_reply");
}

/* A publish whose event holds a field numbered 0 (found by the frame
 * fuzzer): protobuf-c unpacks it, but packs it again into bytes nobody can
 * decode, so the hub would have stored an event no subscriber can read. */
static void test_decode_refuses_field_zero(void)
{
    static const uint8_t frame[] = {0x08, 0x01, 0x62, 0x08, 0x0a, 0x06, 0x12, 0x01, 0x61, 0x80, 0x00, 0x00};
    Hub__Frame *f = NULL;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_frame_decode(frame, sizeof frame, 0, &f, err), -HUB_EMALFORMED);
    CHECK(f == NULL);
    CHECK_HAS(err, "numbered 0");
}

/* The delivery path reads stored routings without unpacking them; what it
 * reads must be what protobuf-c packed. */
static void test_routing_route_reads_what_was_packed(void)
{
    Hub__Route r[3];
    Hub__Route *ptrs[3];
    char *keep[] = {"case_id", "customer.name"};
    for (int i = 0; i < 3; i++) {
        hub__route__init(&r[i]);
        ptrs[i] = &r[i];
    }
    s_defect_route(&r[0]);
    r[0].has_respond_by_ms = 1;
    r[0].respond_by_ms = 1795609800123;
    r[1].topic = "finance.billing_flag";
    r[1].n_fields = 2;
    r[1].fields = keep;
    r[2].topic = "sales.followup"; /* no name, kind, reason */
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = 3;
    routing.routes = ptrs;
    hub_buf_t buf = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&routing.base, &buf), 0);

    hub_route_view_t v;
    char scratch[512];
    CHECK_INT(hub_routing_route(buf.data, buf.len, 0, &v, scratch, sizeof scratch), 1);
    CHECK_STR(v.topic, "engineering.defect");
    CHECK_STR(v.name, "defect");
    CHECK_STR(v.department, "engineering");
    CHECK_STR(v.kind, "defect");
    CHECK_STR(v.reason, "type=bug_report");
    CHECK_INT(v.respond_by_ms, 1795609800123);
    CHECK_INT(v.nfields, 0);
    CHECK_INT(hub_routing_route(buf.data, buf.len, 1, &v, scratch, sizeof scratch), 1);
    CHECK_STR(v.topic, "finance.billing_flag");
    CHECK_INT(v.nfields, 2);
    CHECK_STR(v.fields[1], "customer.name");
    CHECK_INT(v.respond_by_ms, 0);
    CHECK_INT(hub_routing_route(buf.data, buf.len, 2, &v, scratch, sizeof scratch), 1);
    CHECK_STR(v.name, "");
    CHECK_INT(hub_routing_route(buf.data, buf.len, 3, &v, scratch, sizeof scratch), 0);
    CHECK_INT(hub_routing_route(buf.data, 0, 0, &v, scratch, sizeof scratch), 0);
    /* cut short, and too little room */
    CHECK_INT(hub_routing_route(buf.data, buf.len - 3, 2, &v, scratch, sizeof scratch), -HUB_EMALFORMED);
    CHECK_INT(hub_routing_route(buf.data, buf.len, 0, &v, scratch, 8), -HUB_ETOOLARGE);
    static const uint8_t junk[] = {0x0f, 0xff, 0xff};
    CHECK_INT(hub_routing_route(junk, sizeof junk, 0, &v, scratch, sizeof scratch), -HUB_EMALFORMED);
    /* names_in_topic on a topic that is not two halves; and no room for the halves */
    static const uint8_t no_dot[] = {0x0a, 0x09, 0x0a, 0x05, 's', 'a', 'l', 'e', 's', 0x40, 0x01};
    CHECK_INT(hub_routing_route(no_dot, sizeof no_dot, 0, &v, scratch, sizeof scratch), -HUB_EMALFORMED);
    static const uint8_t halves[] = {0x0a, 0x09, 0x0a, 0x05, 's', '.', 'c', 'a', 'l', 0x40, 0x01};
    CHECK_INT(hub_routing_route(halves, sizeof halves, 0, &v, scratch, sizeof scratch), 1);
    CHECK_STR(v.department, "s");
    CHECK_STR(v.kind, "cal");
    CHECK_INT(hub_routing_route(halves, sizeof halves, 0, &v, scratch, 8), -HUB_ETOOLARGE);
    /* a view read again forgets the fields of the route read before */
    CHECK_INT(hub_routing_route(buf.data, buf.len, 1, &v, scratch, sizeof scratch), 1);
    CHECK_INT(hub_routing_route(buf.data, buf.len, 0, &v, scratch, sizeof scratch), 1);
    CHECK_INT(v.nfields, 0);

    /* walked in one pass (as delivery reads a row): each route's topic
     * alone, as delivery matches it, and the same route read whole */
    static const char *const topics[] = {"engineering.defect", "finance.billing_flag", "sales.followup"};
    char topic[32];
    size_t pos = 0;
    hub_route_bytes_t rb;
    for (uint32_t slot = 0; slot < 3; slot++) {
        CHECK_INT(hub_routing_next(buf.data, buf.len, &pos, &rb), 1);
        CHECK_INT(hub_route_topic(&rb, topic, sizeof topic), 1);
        CHECK_STR(topic, topics[slot]);
        CHECK_INT(hub_route_read(&rb, &v, scratch, sizeof scratch), 1);
        CHECK_STR(v.topic, topics[slot]);
    }
    CHECK_INT(hub_routing_next(buf.data, buf.len, &pos, &rb), 0);
    CHECK_INT(pos, buf.len);
    /* cut short: the third route is not whole */
    pos = 0;
    for (int i = 0; i < 2; i++)
        CHECK_INT(hub_routing_next(buf.data, buf.len - 3, &pos, &rb), 1);
    CHECK_INT(hub_routing_next(buf.data, buf.len - 3, &pos, &rb), -HUB_EMALFORMED);
    pos = 0;
    CHECK_INT(hub_routing_next(buf.data, buf.len, &pos, &rb), 1);
    CHECK_INT(hub_route_topic(&rb, topic, 8), -HUB_ETOOLARGE);
    CHECK_INT(hub_route_read(&rb, &v, scratch, 8), -HUB_ETOOLARGE);
    pos = 0;
    CHECK_INT(hub_routing_next(junk, sizeof junk, &pos, &rb), -HUB_EMALFORMED);
    pos = buf.len + 1;
    CHECK_INT(hub_routing_next(buf.data, buf.len, &pos, &rb), -HUB_EMALFORMED);
    r[1].topic = NULL; /* a route without a topic reads as "" */
    CHECK_INT(hub_message_pack(&routing.base, &buf), 0);
    pos = 0;
    for (int i = 0; i < 2; i++)
        CHECK_INT(hub_routing_next(buf.data, buf.len, &pos, &rb), 1);
    CHECK_INT(hub_route_topic(&rb, topic, sizeof topic), 1);
    CHECK_STR(topic, "");
    hub_buf_fini(&buf);
}

static const check_case_t cases[] = {
    {"routing route reads what was packed", test_routing_route_reads_what_was_packed},
    {"decode refuses a field numbered 0", test_decode_refuses_field_zero},
    {"round trip hello", test_round_trip_hello},
    {"round trip welcome", test_round_trip_welcome},
    {"round trip publish", test_round_trip_publish},
    {"round trip publish_ack", test_round_trip_publish_ack},
    {"round trip publish_acks", test_round_trip_publish_acks},
    {"round trip subscribe", test_round_trip_subscribe},
    {"round trip subscribed", test_round_trip_subscribed},
    {"round trip deliver", test_round_trip_deliver},
    {"round trip ack", test_round_trip_ack},
    {"round trip ack of many refs", test_round_trip_many_refs},
    {"decode reuses memory", test_decode_reuses_memory},
    {"routing pack equals protobuf-c", test_routing_pack_equals_protobuf},
    {"ack frame equals encode", test_ack_equals_encode},
    {"varint read back", test_varint_read_back},
    {"round trip nack", test_round_trip_nack},
    {"round trip error", test_round_trip_error},
    {"round trip heartbeat", test_round_trip_heartbeat},
    {"round trip status_request", test_round_trip_status_request},
    {"round trip status_reply", test_round_trip_status_reply},
    {"encode sets the version", test_encode_sets_version},
    {"encode reuses the buffer", test_encode_reuses_buffer},
    {"decode rejections", test_decode_rejections},
    {"free accepts NULL", test_free_null},
    {"deliver splice equals encode", test_deliver_splice_equals_encode},
    {"deliver batch equals encode", test_deliver_batch_equals_encode},
    {"deliver fields equal encode", test_deliver_fields_equal_encode},
    {"deliver splice, tap name", test_deliver_splice_tap_name},
    {"deliver splice, no name", test_deliver_splice_no_name},
    {"deliver splice, no event", test_deliver_splice_no_event},
    {"deliver splice, large event", test_deliver_splice_large_event},
    {"message pack", test_message_pack},
    {"frame kind", test_frame_kind},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
