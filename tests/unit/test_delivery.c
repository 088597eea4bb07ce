/*
 * delivery: credit, order, acks and positions, redelivery, dead letters and
 * resubscription, on a real store. The send function is the broker's seam:
 * here it decodes every frame delivery hands it, so the cases check what a
 * subscriber would receive.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "storedir.h"
#include "codec.h"
#include "delivery.h"
#include "store.h"

static char s_dir[256];

typedef struct {
    uint64_t seq[256];
    uint32_t slot[256];
    uint32_t attempt[256];
    char topic[256][32];
    int has_body[256];
    size_t n;
    size_t frames;   /* Deliver frames sent */
    int fail_with; /* 0, or the code every send returns */
} s_wire_t;

static int s_send(const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len, void *arg)
{
    s_wire_t *wire = arg;
    if (wire->fail_with)
        return wire->fail_with;
    char err[HUB_ERR_LEN];
    Hub__Frame *f = NULL;
    CHECK_INT(hub_frame_decode(frame, len, 0, &f, err), 0);
    if (!f)
        return 0;
    CHECK_INT(f->body_case, HUB__FRAME__BODY_DELIVER);
    if (f->body_case == HUB__FRAME__BODY_DELIVER)
        wire->frames++;
    for (size_t i = 0; f->body_case == HUB__FRAME__BODY_DELIVER && i <= f->deliver->n_more && wire->n < 256; i++) {
        const Hub__Notification *n = i == 0 ? f->deliver->notification : f->deliver->more[i - 1];
        wire->seq[wire->n] = n->seq;
        wire->slot[wire->n] = n->slot;
        wire->attempt[wire->n] = n->attempt;
        snprintf(wire->topic[wire->n], sizeof wire->topic[0], "%s", n->topic ? n->topic : "");
        wire->has_body[wire->n] = n->event && n->event->body != NULL;
        wire->n++;
    }
    hub_frame_free(&f);
    return 0;
}

static hub_store_t *s_open(void)
{
    snprintf(s_dir, sizeof s_dir, "%s/hub-delivery-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
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

/* Stores n events, each routed to the given topics (one slot each). The
 * route to finance keeps only case_id. */
static void s_publish(hub_store_t *store, size_t n, const char *const *topics, size_t ntopics)
{
    static int counter;
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = "bug_report";
    ev.case_id = "CASE-1";
    ev.body = "secret details";
    Hub__Route routes[8];
    Hub__Route *ptrs[8];
    char *keep[] = {"case_id"};
    for (size_t i = 0; i < ntopics; i++) {
        hub__route__init(&routes[i]);
        routes[i].topic = (char *)topics[i];
        routes[i].name = "r";
        if (strncmp(topics[i], "finance.", 8) == 0) {
            routes[i].n_fields = 1;
            routes[i].fields = keep;
        }
        ptrs[i] = &routes[i];
    }
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = ntopics;
    routing.routes = ptrs;
    hub_buf_t evb = HUB_BUF_INIT, rb = HUB_BUF_INIT;
    CHECK_INT(hub_message_pack(&ev.base, &evb), 0);
    CHECK_INT(hub_message_pack(&routing.base, &rb), 0);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "ev-%d", ++counter);
        hub_store_event_t se = {id, "bug_report", "CASE-1", "test", 0, evb.data, evb.len, rb.data, rb.len, 0, 0, NULL, 1};
        char err[HUB_ERR_LEN];
        CHECK_INT(hub_store_commit(store, &se, 1, NULL, 0, err), 0);
    }
    hub_buf_fini(&evb);
    hub_buf_fini(&rb);
}

static const hub_delivery_opts_t s_opts = {1000, 3, 100, 1000, 2, NULL};

/* A subscribe that asks for batch notifications per Deliver frame. */
static int s_subscribe_batch(hub_delivery_t *d, const char *rid, const char *name, const char *topic,
                             Hub__Start start, uint64_t start_seq, uint32_t credit, uint32_t batch)
{
    Hub__Subscribe req = HUB__SUBSCRIBE__INIT;
    req.has_batch = batch > 0;
    req.batch = batch;
    char *topics[] = {(char *)topic};
    req.name = (char *)name;
    req.n_topics = 1;
    req.topics = topics;
    req.has_start = 1;
    req.start = start;
    req.has_start_seq = start_seq > 0;
    req.start_seq = start_seq;
    req.has_credit = 1;
    req.credit = credit;
    Hub__Subscribed reply = HUB__SUBSCRIBED__INIT;
    char err[HUB_ERR_LEN] = "";
    return hub_delivery_subscribe(d, (const uint8_t *)rid, strlen(rid), &req, 0, &reply, err);
}

static int s_subscribe(hub_delivery_t *d, const char *rid, const char *name, const char *topic, Hub__Start start,
                       uint64_t start_seq, uint32_t credit)
{
    return s_subscribe_batch(d, rid, name, topic, start, start_seq, credit, 0);
}

static void s_ack(hub_delivery_t *d, const char *name, uint64_t seq, uint32_t slot)
{
    Hub__Ref ref = HUB__REF__INIT;
    ref.has_seq = 1;
    ref.seq = seq;
    ref.has_slot = 1;
    ref.slot = slot;
    Hub__Ref *refs[] = {&ref};
    Hub__Ack ack = HUB__ACK__INIT;
    ack.name = (char *)name;
    ack.n_refs = 1;
    ack.refs = refs;
    CHECK_INT(hub_delivery_ack(d, &ack), 0);
}

/* Position of name as the next batch would write it (0 when not dirty). */
static uint64_t s_position(hub_delivery_t *d, const char *name)
{
    hub_store_cursor_t out[16];
    const hub_dead_letter_t *dead;
    size_t ndead;
    size_t n = hub_delivery_collect(d, out, 16, &dead, &ndead);
    for (size_t i = 0; i < n; i++)
        if (strcmp(out[i].name, name) == 0)
            return out[i].position;
    return 0;
}

static void test_topic_patterns(void)
{
    static const struct {
        const char *pattern, *topic;
        int match;
    } table[] = {
        {"engineering.*", "engineering.defect", 1}, {"engineering.*", "finance.billing_flag", 0},
        {"*", "sales.followup", 1},                  {"*.rma", "shipping.rma", 1},
        {"*.rma", "shipping.rmax", 0},               {"sales.followup", "sales.followup", 1},
        {"sales.followup", "sales.follow", 0},       {"a*b*c", "aXXbYYc", 1},
        {"a*b*c", "aXXbYY", 0},                      {"", "x", 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        CHECK_INT(hub_topic_match(table[i].pattern, table[i].topic), table[i].match);
}

static void test_credit_bounds_in_flight(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"engineering.defect", "sales.followup"};
    s_publish(store, 10, topics, 2);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "engineering", "engineering.*", HUB__START__START_EARLIEST, 0, 3), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 3);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 3); /* nothing more without acks */
    for (size_t i = 0; i < wire.n; i++) {
        CHECK_INT(wire.seq[i], i + 1);
        CHECK_INT(wire.slot[i], 0);
        CHECK_STR(wire.topic[i], "engineering.defect");
    }
    s_ack(d, "engineering", 1, 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 4);
    CHECK_INT(wire.seq[3], 4);
    CHECK_INT(s_position(d, "engineering"), 1);
    hub_delivery_committed(d, 1);
    CHECK_INT(hub_delivery_dirty(d), 0);
    hub_delivery_destroy(&d);
    s_close(&store);
}

static void test_ack_out_of_order_moves_position_when_contiguous(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"sales.followup"};
    s_publish(store, 3, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "sales", "sales.*", HUB__START__START_EARLIEST, 0, 10), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 3);
    s_ack(d, "sales", 2, 0);
    s_ack(d, "sales", 3, 0);
    CHECK_INT(s_position(d, "sales"), 0); /* 1 is still open */
    s_ack(d, "sales", 1, 0);
    CHECK_INT(s_position(d, "sales"), 3);
    s_ack(d, "sales", 1, 0); /* an ack for something done is ignored */
    hub_delivery_destroy(&d);
    s_close(&store);
}

/* Acks named in one frame in any order, several slots per event, with
 * refs that are not in flight among them. */
static void s_ack_refs(hub_delivery_t *d, const char *name, const uint64_t (*refs)[2], size_t n)
{
    Hub__Ref ref[16];
    Hub__Ref *ptrs[16];
    for (size_t i = 0; i < n; i++) {
        ref[i] = (Hub__Ref)HUB__REF__INIT;
        ref[i].has_seq = ref[i].has_slot = 1;
        ref[i].seq = refs[i][0];
        ref[i].slot = (uint32_t)refs[i][1];
        ptrs[i] = &ref[i];
    }
    Hub__Ack ack = HUB__ACK__INIT;
    ack.name = (char *)name;
    ack.n_refs = n;
    ack.refs = ptrs;
    CHECK_INT(hub_delivery_ack(d, &ack), 0);
}

static void test_ack_frame_in_any_order(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"sales.a", "sales.b"};
    s_publish(store, 6, topics, 2);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "sales", "sales.*", HUB__START__START_EARLIEST, 0, 10), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 10); /* seqs 1-5, two slots each */
    static const uint64_t first[][2] = {{3, 1}, {1, 0}, {2, 1}, {9, 0}, {1, 1}, {3, 0},
                                        {2, 0}, {2, 7}, {5, 1}, {1, 0}};
    s_ack_refs(d, "sales", first, sizeof first / sizeof first[0]);
    CHECK_INT(s_position(d, "sales"), 3); /* 4 is still open */
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 12); /* seven acked, two left to send */
    CHECK_INT(wire.seq[10], 6);
    CHECK_INT(wire.seq[11], 6);
    static const uint64_t rest[][2] = {{6, 1}, {4, 1}, {5, 0}, {6, 0}, {4, 0}};
    s_ack_refs(d, "sales", rest, sizeof rest / sizeof rest[0]);
    CHECK_INT(s_position(d, "sales"), 6);
    hub_delivery_destroy(&d);
    s_close(&store);
}

static void test_redelivery_then_dead_letter(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"shipping.rma"};
    s_publish(store, 1, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "shipping", "shipping.*", HUB__START__START_EARLIEST, 0, 10), 0);
    hub_delivery_pump(d, 0);
    hub_delivery_tick(d, 500); /* not yet timed out */
    hub_delivery_pump(d, 500);
    CHECK_INT(wire.n, 1);
    hub_delivery_tick(d, 1000);
    hub_delivery_pump(d, 1000);
    CHECK_INT(wire.n, 2);
    CHECK_INT(wire.attempt[1], 2);
    hub_delivery_tick(d, 2000);
    hub_delivery_pump(d, 2000);
    CHECK_INT(wire.n, 3);
    CHECK_INT(wire.attempt[2], 3);
    hub_delivery_tick(d, 3000); /* max_attempts (3) used up */
    hub_delivery_pump(d, 3000);
    CHECK_INT(wire.n, 3);
    hub_store_cursor_t out[4];
    const hub_dead_letter_t *dead = NULL;
    size_t ndead = 0;
    size_t n = hub_delivery_collect(d, out, 4, &dead, &ndead);
    CHECK_INT(n, 1);
    CHECK_INT(out[0].position, 1);
    CHECK_INT(out[0].dead_letters, 1);
    CHECK_INT(ndead, 1);
    CHECK_STR(dead[0].subscriber, "shipping");
    CHECK_INT(dead[0].seq, 1);
    CHECK_INT(dead[0].attempts, 3);
    CHECK_HAS(dead[0].reason, "not acknowledged after 3 attempts");
    hub_delivery_committed(d, 1);
    CHECK_INT(hub_delivery_dirty(d), 0);
    hub_delivery_destroy(&d);
    s_close(&store);
}

static void test_nack(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"engineering.defect"};
    s_publish(store, 2, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "engineering", "*", HUB__START__START_EARLIEST, 0, 10), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 2);
    Hub__Ref ref = HUB__REF__INIT;
    ref.has_seq = 1;
    ref.seq = 1;
    ref.has_slot = 1;
    Hub__Nack nack = HUB__NACK__INIT;
    nack.name = "engineering";
    nack.ref = &ref;
    nack.reason = "try later";
    CHECK_INT(hub_delivery_nack(d, &nack, 0), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 3); /* sent again at once */
    CHECK_INT(wire.seq[2], 1);
    CHECK_INT(wire.attempt[2], 2);
    ref.seq = 2;
    nack.has_dead_letter = 1;
    nack.dead_letter = 1;
    nack.reason = "HTTP 404";
    CHECK_INT(hub_delivery_nack(d, &nack, 0), 0);
    const hub_dead_letter_t *dead = NULL;
    size_t ndead = 0;
    hub_store_cursor_t out[4];
    hub_delivery_collect(d, out, 4, &dead, &ndead);
    CHECK_INT(ndead, 1);
    CHECK_STR(dead[0].reason, "HTTP 404");
    nack.name = "nobody";
    CHECK_INT(hub_delivery_nack(d, &nack, 0), -HUB_EUNKNOWN);
    hub_delivery_destroy(&d);
    s_close(&store);
}

/* What hub_delivery_ranges reports, by kind. */
typedef struct {
    uint64_t lo[4], hi[4], count[4];
} s_ranges_t;

static void s_range(const char *subscriber, hub_range_kind_t kind, uint64_t lo, uint64_t hi, uint64_t count,
                    const char *why, void *arg)
{
    s_ranges_t *r = arg;
    (void)subscriber;
    (void)why;
    r->lo[kind] = lo;
    r->hi[kind] = hi;
    r->count[kind] = count;
}

/* A batch under way holds what collect took; what happens meanwhile waits
 * for the next batch; a failed batch gives everything back. */
static void test_failed_batch_gives_state_back(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"sales.followup"};
    s_publish(store, 3, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "sales", "sales.*", HUB__START__START_EARLIEST, 0, 10), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 3);
    s_ack(d, "sales", 1, 0);
    hub_store_cursor_t out[4];
    const hub_dead_letter_t *dead = NULL;
    size_t ndead = 0;
    CHECK_INT(hub_delivery_collect(d, out, 4, &dead, &ndead), 1);
    CHECK_INT(out[0].position, 1);
    CHECK_INT(hub_delivery_dirty(d), 0); /* all of it is in the batch */
    s_ranges_t r = {0};
    hub_delivery_ranges(d, s_range, &r);
    CHECK_INT(r.count[HUB_RANGE_DELIVERED], 3);
    CHECK_INT(r.count[HUB_RANGE_ACKED], 1);

    s_ack(d, "sales", 2, 0); /* while the batch is under way */
    CHECK_INT(hub_delivery_dirty(d), 1);
    hub_delivery_committed(d, 0);
    r = (s_ranges_t){0};
    CHECK_INT(hub_delivery_collect(d, out, 4, &dead, &ndead), 1);
    CHECK_INT(out[0].position, 2);
    hub_delivery_ranges(d, s_range, &r);
    CHECK_INT(r.count[HUB_RANGE_DELIVERED], 3);
    CHECK_INT(r.lo[HUB_RANGE_ACKED], 1);
    CHECK_INT(r.hi[HUB_RANGE_ACKED], 2);
    CHECK_INT(r.count[HUB_RANGE_ACKED], 2);
    hub_delivery_committed(d, 1);
    CHECK_INT(hub_delivery_dirty(d), 0);
    r = (s_ranges_t){0};
    CHECK_INT(hub_delivery_collect(d, out, 4, &dead, &ndead), 0);
    hub_delivery_ranges(d, s_range, &r);
    CHECK_INT(r.count[HUB_RANGE_ACKED], 0);
    hub_delivery_committed(d, 1);
    hub_delivery_destroy(&d);
    s_close(&store);
}

/* A session that asked for batches gets what one scan finds in frames of
 * at most its batch, in order; a batch its queue refuses is owed whole and
 * sent again one by one. */
static void test_batched_frames(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"finance.billing_flag"};
    s_publish(store, 10, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN] = "";
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe_batch(d, "c1", "finance", "finance.*", HUB__START__START_EARLIEST, 0, 100, 4), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.frames, 3); /* 4 + 4 + 2 */
    CHECK_INT(wire.n, 10);
    for (size_t i = 0; i < wire.n; i++) {
        CHECK_INT(wire.seq[i], i + 1);
        CHECK_INT(wire.attempt[i], 1);
    }
    for (uint64_t seq = 1; seq <= 10; seq++)
        s_ack(d, "finance", seq, 0);

    /* the session's queue is full: the batch is owed, then resent singly */
    s_publish(store, 3, topics, 1);
    wire.fail_with = -EAGAIN;
    hub_delivery_pump(d, 0);
    wire.fail_with = 0;
    size_t before = wire.frames;
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.frames - before, 3);
    CHECK_INT(wire.n, 13);
    for (size_t i = 10; i < 13 && i < wire.n; i++) {
        CHECK_INT(wire.seq[i], i + 1);
        CHECK_INT(wire.attempt[i], 2);
    }
    hub_delivery_destroy(&d);
    s_close(&store);
}

static void test_start_positions(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"finance.billing_flag"};
    s_publish(store, 5, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "a", "finance.*", HUB__START__START_LATEST, 0, 10), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 0);
    s_publish(store, 1, topics, 1);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 1);
    CHECK_INT(wire.seq[0], 6);
    CHECK_INT(wire.has_body[0], 0); /* finance sees only case_id */
    wire.n = 0;
    CHECK_INT(s_subscribe(d, "c2", "b", "finance.*", HUB__START__START_SEQ, 4, 10), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 3);
    CHECK_INT(wire.seq[0], 4);
    hub_delivery_destroy(&d);
    s_close(&store);
}

/* What a subscriber wants of each topic is asked once and kept, until its
 * patterns change: new patterns are asked again, on rows already seen. */
static void test_new_patterns_asked_again(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"engineering.defect", "sales.followup", "shipping.rma"};
    s_publish(store, 4, topics, 3);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "a", "engineering.*", HUB__START__START_EARLIEST, 0, 100), 0);
    CHECK_INT(s_subscribe(d, "c9", "other", "*", HUB__START__START_EARLIEST, 0, 100), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 4 + 12);
    size_t eng = 0;
    for (size_t i = 0; i < wire.n; i++)
        eng += strcmp(wire.topic[i], "engineering.defect") == 0;
    CHECK_INT(eng, 4 + 4);
    wire.n = 0;
    CHECK_INT(s_subscribe(d, "c2", "a", "sales.*", HUB__START__START_SEQ, 1, 100), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 4);
    for (size_t i = 0; i < wire.n; i++) {
        CHECK_STR(wire.topic[i], "sales.followup");
        CHECK_INT(wire.slot[i], 1);
    }
    hub_delivery_destroy(&d);
    s_close(&store);
}

static void test_resume_after_disconnect(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"engineering.defect"};
    s_publish(store, 4, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "engineering", "engineering.*", HUB__START__START_EARLIEST, 0, 2), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 2);
    s_ack(d, "engineering", 1, 0);
    wire.fail_with = -EHOSTUNREACH; /* the client went away */
    hub_delivery_pump(d, 0);
    wire.fail_with = 0;
    wire.n = 0;
    /* it comes back on a new connection and resumes: 2 (in flight) again, then 3 */
    CHECK_INT(s_subscribe(d, "c9", "engineering", "engineering.*", HUB__START__START_RESUME, 0, 2), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 2);
    CHECK_INT(wire.seq[0], 2);
    CHECK_INT(wire.seq[1], 3);
    hub_store_cursor_t out[4];
    const hub_dead_letter_t *dead;
    size_t ndead;
    size_t n = hub_delivery_collect(d, out, 4, &dead, &ndead);
    CHECK_INT(n, 1);
    CHECK_INT(out[0].position, 1);
    CHECK_INT(hub_store_commit(store, NULL, 0, out, n, err), 0);
    hub_delivery_committed(d, 1);
    hub_delivery_destroy(&d);

    /* a restarted hub loads the stored position */
    wire.n = 0;
    d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "engineering", "engineering.*", HUB__START__START_RESUME, 0, 10), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 3);
    CHECK_INT(wire.seq[0], 2);
    hub_delivery_destroy(&d);
    s_close(&store);
}

static void test_silent_session_is_taken_for_gone(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"sales.followup"};
    s_publish(store, 3, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_opts_t opts = s_opts;
    opts.ack_timeout_ms = 60000; /* so that only silence matters here */
    hub_delivery_t *d = hub_delivery_new(store, &opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "sales", "sales.*", HUB__START__START_EARLIEST, 0, 2), 0);
    hub_delivery_pump(d, 0);
    CHECK_INT(wire.n, 2);
    hub_delivery_heard(d, (const uint8_t *)"c1", 2, 10000);
    hub_delivery_tick(d, 20000); /* heard 10 s ago: still there */
    s_ack(d, "sales", 1, 0);
    hub_delivery_pump(d, 20000);
    CHECK_INT(wire.n, 3);
    hub_delivery_tick(d, 10000 + HUB_SILENCE_MS); /* silent too long: gone */
    s_ack(d, "sales", 2, 0);
    hub_delivery_pump(d, 10000 + HUB_SILENCE_MS);
    CHECK_INT(wire.n, 3); /* nothing is sent to a session taken for gone */
    hub_delivery_heard(d, (const uint8_t *)"c1", 2, 40000);
    hub_delivery_pump(d, 40000);
    CHECK_INT(wire.n, 4); /* back: what it was owed is sent again */
    CHECK_INT(wire.seq[3], 3);
    CHECK_INT(wire.attempt[3], 2);
    hub_delivery_destroy(&d);
    s_close(&store);
}

static void test_subscribe_refusals(void)
{
    hub_store_t *store = s_open();
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_delivery_t *d = hub_delivery_new(store, &s_opts, s_send, &wire, err);
    CHECK_INT(s_subscribe(d, "c1", "bad name", "x.*", HUB__START__START_RESUME, 0, 1), -HUB_EINVALID);
    CHECK_INT(s_subscribe(d, "c1", "ok", "bad pattern!", HUB__START__START_RESUME, 0, 1), -HUB_EINVALID);
    CHECK_INT(s_subscribe(d, "c1", "", "x.*", HUB__START__START_RESUME, 0, 1), -HUB_EINVALID);
    Hub__Subscribe req = HUB__SUBSCRIBE__INIT;
    req.name = "ok";
    Hub__Subscribed reply = HUB__SUBSCRIBED__INIT;
    CHECK_INT(hub_delivery_subscribe(d, (const uint8_t *)"c1", 2, &req, 0, &reply, err), -HUB_EINVALID);
    CHECK_HAS(err, "topics");
    /* one connection may hold two names (s_opts), not three */
    CHECK_INT(s_subscribe(d, "c7", "one", "x.*", HUB__START__START_RESUME, 0, 1), 0);
    CHECK_INT(s_subscribe(d, "c7", "two", "x.*", HUB__START__START_RESUME, 0, 1), 0);
    CHECK_INT(s_subscribe(d, "c7", "three", "x.*", HUB__START__START_RESUME, 0, 1), -HUB_ETOOLARGE);
    CHECK_INT(s_subscribe(d, "c8", "three", "x.*", HUB__START__START_RESUME, 0, 1), 0);
    CHECK_INT(s_subscribe(d, "c7", "one", "y.*", HUB__START__START_RESUME, 0, 1), 0); /* again: not more */
    hub_delivery_destroy(&d);
    s_close(&store);
}

/* The counters delivery keeps (metrics.h, by subscriber name) and the
 * status of a subscriber: acked, and the age of its oldest delivery in
 * flight, counted from its first send. */
static void test_metrics_and_status(void)
{
    hub_store_t *store = s_open();
    const char *topics[] = {"shipping.rma"};
    s_publish(store, 3, topics, 1);
    s_wire_t wire = {0};
    char err[HUB_ERR_LEN];
    hub_metrics_t *m = hub_metrics_new();
    hub_delivery_opts_t opts = s_opts;
    opts.metrics = m;
    hub_delivery_t *d = hub_delivery_new(store, &opts, s_send, &wire, err);
    CHECK(m && d);
    CHECK_INT(s_subscribe(d, "c1", "shipping", "shipping.*", HUB__START__START_EARLIEST, 0, 10), 0);
    hub_delivery_pump(d, 100);
    CHECK_INT(wire.n, 3);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_DELIVERIES, "shipping"), 3);
    s_ack(d, "shipping", 1, 0);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_ACKS, "shipping"), 1);
    s_ack(d, "shipping", 1, 0); /* already done: not counted again */
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_ACKS, "shipping"), 1);

    Hub__StatusReply reply = HUB__STATUS_REPLY__INIT;
    CHECK_INT(hub_delivery_status(d, &reply, 350), 0);
    CHECK_INT(reply.n_subscribers, 1);
    if (reply.n_subscribers == 1) {
        CHECK_INT(reply.subscribers[0]->acked, 1);
        CHECK_INT(reply.subscribers[0]->oldest_unacked_ms, 250);
    }
    hub_delivery_status_free(&reply);

    /* seq 2 is sent again at 1100: its age still counts from 100 */
    hub_delivery_tick(d, 1100);
    hub_delivery_pump(d, 1100);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_REDELIVERIES, "shipping"), 2);
    CHECK_INT(hub_delivery_status(d, &reply, 1200), 0);
    if (reply.n_subscribers == 1)
        CHECK_INT(reply.subscribers[0]->oldest_unacked_ms, 1100);
    hub_delivery_status_free(&reply);

    Hub__Ref ref = HUB__REF__INIT;
    ref.has_seq = 1;
    ref.seq = 2;
    Hub__Nack nack = HUB__NACK__INIT;
    nack.name = (char *)"shipping";
    nack.ref = &ref;
    nack.has_dead_letter = 1;
    nack.dead_letter = 1;
    CHECK_INT(hub_delivery_nack(d, &nack, 1300), 0);
    CHECK_INT(hub_metrics_get(m, HUB_COUNTER_DEAD_LETTERS, "shipping"), 1);
    s_ack(d, "shipping", 3, 0);
    CHECK_INT(hub_delivery_status(d, &reply, 1400), 0);
    if (reply.n_subscribers == 1) {
        CHECK_INT(reply.subscribers[0]->acked, 2);
        CHECK_INT(reply.subscribers[0]->oldest_unacked_ms, 0); /* nothing in flight */
    }
    hub_delivery_status_free(&reply);
    hub_delivery_destroy(&d);
    hub_metrics_destroy(&m);
    s_close(&store);
}

static const check_case_t cases[] = {
    {"topic patterns", test_topic_patterns},
    {"credit bounds in flight", test_credit_bounds_in_flight},
    {"acks out of order", test_ack_out_of_order_moves_position_when_contiguous},
    {"one ack frame in any order, several slots, unknown refs", test_ack_frame_in_any_order},
    {"redelivery then dead letter", test_redelivery_then_dead_letter},
    {"nack", test_nack},
    {"a failed batch gives state back", test_failed_batch_gives_state_back},
    {"batched frames", test_batched_frames},
    {"start positions", test_start_positions},
    {"new patterns are asked again", test_new_patterns_asked_again},
    {"resume after disconnect", test_resume_after_disconnect},
    {"silent session is taken for gone", test_silent_session_is_taken_for_gone},
    {"subscribe refusals", test_subscribe_refusals},
    {"metrics and status", test_metrics_and_status},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
