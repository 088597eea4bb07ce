/*
 * libhub: its insides (dedup, pending; the rules in their headers), then
 * the client against a scripted hub: a ROUTER socket in this test, on a
 * temporary ipc endpoint, driven turn by turn from the same thread, so
 * that each case says exactly what the hub sends and checks what the
 * client answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "client_int.h"
#include "clock.h"
#include "codec.h"
#include "dedup.h"
#include "gather.h"
#include "ident.h"
#include "keys.h"
#include "pending.h"

/* ================================================================ dedup */

static void test_dedup_add_contains(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, 8), 0);
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 0);
    hub_dedup_add(&d, 1, 0);
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 1);
    CHECK_INT(hub_dedup_contains(&d, 1, 1), 0); /* the slot is part of the ref */
    CHECK_INT(hub_dedup_contains(&d, 2, 0), 0);
    hub_dedup_add(&d, 1, 1);
    CHECK_INT(hub_dedup_contains(&d, 1, 1), 1);
    CHECK_INT(d.count, 2);
    hub_dedup_fini(&d);
}

/* Rule 2: a ref is in the set once; adding it again uses no ring slot. */
static void test_dedup_add_twice(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, 2), 0);
    hub_dedup_add(&d, 5, 0);
    hub_dedup_add(&d, 5, 0);
    hub_dedup_add(&d, 5, 0);
    CHECK_INT(d.count, 1);
    hub_dedup_add(&d, 6, 0);
    CHECK_INT(hub_dedup_contains(&d, 5, 0), 1); /* not pushed out by its own copies */
    CHECK_INT(hub_dedup_contains(&d, 6, 0), 1);
    hub_dedup_fini(&d);
}

/* Rule 1: a full set forgets the ref added longest ago, looked up or not. */
static void test_dedup_fifo(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, 4), 0);
    for (uint64_t s = 1; s <= 4; s++)
        hub_dedup_add(&d, s, 0);
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 1); /* a lookup does not refresh it */
    hub_dedup_add(&d, 5, 0);
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 0);
    for (uint64_t s = 2; s <= 5; s++)
        CHECK_INT(hub_dedup_contains(&d, s, 0), 1);
    CHECK_INT(d.count, 4);
    hub_dedup_add(&d, 6, 0);
    CHECK_INT(hub_dedup_contains(&d, 2, 0), 0);
    CHECK_INT(hub_dedup_contains(&d, 6, 0), 1);
    hub_dedup_fini(&d);
}

/* Rule 3: a removed ref is gone at once; its ring slot is reused only when
 * the FIFO comes round to it. */
static void test_dedup_remove(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, 4), 0);
    for (uint64_t s = 1; s <= 4; s++)
        hub_dedup_add(&d, s, 0);
    hub_dedup_remove(&d, 2, 0);
    hub_dedup_remove(&d, 2, 0); /* absent: nothing happens */
    hub_dedup_remove(&d, 99, 0);
    CHECK_INT(hub_dedup_contains(&d, 2, 0), 0);
    CHECK_INT(d.count, 3);
    hub_dedup_add(&d, 5, 0); /* takes 1's slot: 1 is forgotten */
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 0);
    CHECK_INT(d.count, 3);
    hub_dedup_add(&d, 6, 0); /* takes 2's dead slot: nobody is forgotten */
    CHECK_INT(d.count, 4);
    CHECK_INT(hub_dedup_contains(&d, 3, 0), 1);
    CHECK_INT(hub_dedup_contains(&d, 4, 0), 1);
    CHECK_INT(hub_dedup_contains(&d, 5, 0), 1);
    CHECK_INT(hub_dedup_contains(&d, 6, 0), 1);
    /* a removed ref can come back */
    hub_dedup_remove(&d, 4, 0);
    hub_dedup_add(&d, 4, 0);
    CHECK_INT(hub_dedup_contains(&d, 4, 0), 1);
    hub_dedup_fini(&d);
}

/* Rule 4: the mark lives and goes with its ref. */
static void test_dedup_mark(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, 2), 0);
    CHECK_INT(hub_dedup_mark(&d, 1, 0), 0); /* not there: nothing to mark */
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 0);
    hub_dedup_add(&d, 1, 0);
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 0);
    CHECK_INT(hub_dedup_mark(&d, 1, 0), 1);
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 1);
    CHECK_INT(hub_dedup_marked(&d, 1, 1), 0); /* another slot */
    hub_dedup_add(&d, 1, 0); /* already there: the mark stays */
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 1);
    hub_dedup_remove(&d, 1, 0); /* removed: the mark goes */
    hub_dedup_add(&d, 1, 0);
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 0);
    hub_dedup_mark(&d, 1, 0);
    hub_dedup_add(&d, 2, 0);
    hub_dedup_add(&d, 3, 0); /* forgets 1 (FIFO), and its mark */
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 0);
    hub_dedup_add(&d, 1, 0);
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 0);
    hub_dedup_fini(&d);
    memset(&d, 0, sizeof d); /* a zeroed set marks nothing */
    CHECK_INT(hub_dedup_mark(&d, 1, 0), 0);
    CHECK_INT(hub_dedup_marked(&d, 1, 0), 0);
}

static void test_dedup_limits(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, 0), -EINVAL);
    hub_dedup_fini(&d); /* safe after a failed init */
    /* a zeroed set answers and ignores */
    memset(&d, 0, sizeof d);
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 0);
    hub_dedup_add(&d, 1, 0);
    hub_dedup_remove(&d, 1, 0);
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 0);
    hub_dedup_fini(&d);
    hub_dedup_fini(&d);
    /* capacity 1 */
    CHECK_INT(hub_dedup_init(&d, 1), 0);
    hub_dedup_add(&d, 1, 0);
    hub_dedup_add(&d, 2, 0);
    CHECK_INT(hub_dedup_contains(&d, 1, 0), 0);
    CHECK_INT(hub_dedup_contains(&d, 2, 0), 1);
    hub_dedup_fini(&d);
}

/* The real capacity over dense sequence numbers: exactly the last
 * HUB_DEDUP_CAPACITY refs are remembered. */
static void test_dedup_capacity(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, HUB_DEDUP_CAPACITY), 0);
    const uint64_t total = 3 * HUB_DEDUP_CAPACITY + 17;
    for (uint64_t s = 1; s <= total; s++)
        hub_dedup_add(&d, s, (uint32_t)(s % 3));
    CHECK_INT(d.count, HUB_DEDUP_CAPACITY);
    size_t in = 0, out = 0;
    for (uint64_t s = 1; s <= total; s++) {
        int has = hub_dedup_contains(&d, s, (uint32_t)(s % 3));
        if (s > total - HUB_DEDUP_CAPACITY)
            in += has;
        else
            out += has;
    }
    CHECK_INT(in, HUB_DEDUP_CAPACITY);
    CHECK_INT(out, 0);
    hub_dedup_fini(&d);
}

/* A subscriber's refs: rising, dense seqs of one slot. The hash keeps
 * neighbouring seqs together; the runs of occupied table slots (what a
 * probe or a deletion walks) must stay short all the same. */
static void test_dedup_dense_runs(void)
{
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, HUB_DEDUP_CAPACITY), 0);
    for (uint64_t stride = 1; stride <= 4; stride++) {
        for (uint64_t s = 1; s <= 2 * HUB_DEDUP_CAPACITY; s++)
            hub_dedup_add(&d, stride * 1000000 + s * stride, 2);
        size_t run = 0, longest = 0;
        for (size_t i = 0; i <= 2 * d.mask + 1; i++) { /* twice round: a run may wrap */
            run = d.table[i & d.mask].index ? run + 1 : 0;
            longest = run > longest ? run : longest;
        }
        CHECK(longest < 1024);
        CHECK(hub_dedup_contains(&d, stride * 1000000 + 2 * HUB_DEDUP_CAPACITY * stride, 2));
    }
    hub_dedup_fini(&d);
}

/* Random adds and removes over few refs (many collisions, many
 * backward shifts) against a plain model of the three rules. */
static void test_dedup_model(void)
{
    enum { CAP = 37, OPS = 200000 };
    struct {
        uint64_t seq;
        uint32_t slot;
        int live;
    } ring[CAP];
    memset(ring, 0, sizeof ring);
    size_t head = 0;
    hub_dedup_t d;
    CHECK_INT(hub_dedup_init(&d, CAP), 0);
    uint64_t x = 88172645463325252ULL;
    int mismatches = 0;
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t seq = (x >> 8) % 60;
        uint32_t slot = (uint32_t)((x >> 20) % 2);
        int model_has = 0;
        size_t at = 0;
        for (size_t i = 0; i < CAP; i++)
            if (ring[i].live && ring[i].seq == seq && ring[i].slot == slot)
                model_has = 1, at = i;
        if ((x & 3) == 0) {
            hub_dedup_remove(&d, seq, slot);
            if (model_has)
                ring[at].live = 0;
        }
        else {
            hub_dedup_add(&d, seq, slot);
            if (!model_has) {
                ring[head].seq = seq;
                ring[head].slot = slot;
                ring[head].live = 1;
                head = (head + 1) % CAP;
            }
        }
        size_t live = 0;
        for (size_t i = 0; i < CAP; i++)
            live += ring[i].live != 0;
        if (live != d.count)
            mismatches++;
        if (op % 97 == 0)
            for (uint64_t s = 0; s < 60; s++)
                for (uint32_t k = 0; k < 2; k++) {
                    int m = 0;
                    for (size_t i = 0; i < CAP; i++)
                        if (ring[i].live && ring[i].seq == s && ring[i].slot == k)
                            m = 1;
                    if (m != hub_dedup_contains(&d, s, k))
                        mismatches++;
                }
    }
    CHECK_INT(mismatches, 0);
    hub_dedup_fini(&d);
}

/* ============================================================== pending */

static hub_pending_entry_t *s_entry(uint64_t corr)
{
    hub_pending_entry_t *e = calloc(1, sizeof(*e));
    e->corr = corr;
    e->frame = malloc(8);
    memcpy(e->frame, &corr, 8);
    e->frame_len = 8;
    snprintf(e->id, sizeof e->id, "ev-%llu", (unsigned long long)corr);
    return e;
}

/* Rules 2 and 3 over the whole table: the list is ordered by stamp, every
 * listed entry is found by its corr, and the count is the list's length. */
static int s_pending_ok(const hub_pending_t *p)
{
    size_t n = 0;
    const hub_pending_entry_t *prev = NULL;
    for (const hub_pending_entry_t *e = p->head; e; prev = e, e = e->next) {
        if (e->prev != prev || (prev && prev->sent_ms > e->sent_ms) || hub_pending_find(p, e->corr) != e)
            return 0;
        n++;
    }
    return n == p->count && p->tail == prev;
}

static void test_pending_basic(void)
{
    hub_pending_t p;
    CHECK_INT(hub_pending_init(&p), 0);
    CHECK(hub_pending_find(&p, 1) == NULL);
    hub_pending_entry_t *a = s_entry(1), *b = s_entry(2), *c = s_entry(3);
    CHECK_INT(hub_pending_add(&p, a), 0);
    CHECK_INT(hub_pending_add(&p, b), 0);
    CHECK_INT(hub_pending_add(&p, c), 0);
    CHECK_INT(p.count, 3);
    CHECK(hub_pending_find(&p, 2) == b);
    CHECK(hub_pending_find(&p, 4) == NULL);
    CHECK(p.head == a && p.tail == c);
    /* rule 1: the bytes stay as they were given */
    CHECK_INT(b->frame_len, 8);
    uint64_t corr;
    memcpy(&corr, b->frame, 8);
    CHECK_INT(corr, 2);
    hub_pending_take(&p, b);
    CHECK(hub_pending_find(&p, 2) == NULL);
    CHECK(b->next == NULL && b->prev == NULL);
    CHECK(a->next == c && c->prev == a);
    CHECK_INT(p.count, 2);
    CHECK(s_pending_ok(&p));
    hub_pending_entry_destroy(&b);
    CHECK(b == NULL);
    hub_pending_entry_destroy(&b);
    hub_pending_entry_destroy(NULL);
    hub_pending_fini(&p); /* frees a and c */
    hub_pending_fini(&p);
}

/* Rule 2: touching stamps and moves to the tail; the head is always the
 * one sent longest ago. */
static void test_pending_touch_order(void)
{
    hub_pending_t p;
    CHECK_INT(hub_pending_init(&p), 0);
    hub_pending_entry_t *e[4];
    for (int i = 0; i < 4; i++) {
        e[i] = s_entry((uint64_t)i + 10);
        CHECK_INT(hub_pending_add(&p, e[i]), 0);
        hub_pending_touch(&p, e[i], 100 + i);
    }
    CHECK(s_pending_ok(&p));
    hub_pending_touch(&p, e[0], 200);
    CHECK(p.head == e[1] && p.tail == e[0]);
    hub_pending_touch(&p, e[0], 201); /* already the tail */
    CHECK(p.tail == e[0]);
    CHECK_INT(e[0]->sent_ms, 201);
    hub_pending_touch(&p, e[2], 202);
    CHECK(p.head == e[1] && e[1]->next == e[3] && e[3]->next == e[0] && e[0]->next == e[2]);
    CHECK(s_pending_ok(&p));
    /* the only entry */
    hub_pending_take(&p, e[1]);
    hub_pending_take(&p, e[3]);
    hub_pending_take(&p, e[0]);
    CHECK(p.head == e[2] && p.tail == e[2]);
    hub_pending_touch(&p, e[2], 300);
    CHECK(p.head == e[2] && p.tail == e[2] && e[2]->prev == NULL && e[2]->next == NULL);
    for (int i = 0; i < 4; i++)
        if (i != 2)
            hub_pending_entry_destroy(&e[i]);
    hub_pending_fini(&p);
}

/* Growth and deletions with many entries, against a model: every entry
 * still in the table is found, every one taken is not. */
static void test_pending_many(void)
{
    enum { N = 20000 };
    hub_pending_t p;
    CHECK_INT(hub_pending_init(&p), 0);
    static hub_pending_entry_t *e[N];
    static int in[N];
    int failed_add = 0;
    for (int i = 0; i < N; i++) {
        /* corrs in a stride that lands many in the same home slots */
        e[i] = s_entry((uint64_t)i * 4096 + 1);
        if (hub_pending_add(&p, e[i]) != 0)
            failed_add++;
        hub_pending_touch(&p, e[i], i);
        in[i] = 1;
    }
    CHECK_INT(failed_add, 0);
    CHECK_INT(p.count, N);
    uint64_t x = 2463534242ULL;
    int64_t now = N;
    for (int op = 0; op < 3 * N; op++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        int i = (int)(x % N);
        if (in[i] && (x & 0x100)) {
            hub_pending_take(&p, e[i]);
            hub_pending_entry_destroy(&e[i]);
            in[i] = 0;
        }
        else if (in[i])
            hub_pending_touch(&p, e[i], ++now);
        else {
            e[i] = s_entry((uint64_t)i * 4096 + 1);
            CHECK_INT(hub_pending_add(&p, e[i]), 0);
            hub_pending_touch(&p, e[i], ++now);
            in[i] = 1;
        }
    }
    size_t live = 0;
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        const hub_pending_entry_t *f = hub_pending_find(&p, (uint64_t)i * 4096 + 1);
        live += in[i];
        if (in[i] ? f != e[i] : f != NULL)
            wrong++;
    }
    CHECK_INT(wrong, 0);
    CHECK_INT(p.count, live);
    CHECK(s_pending_ok(&p));
    hub_pending_fini(&p);
}

/* A late flush stamps the frames it sends again: the tail's run from the
 * gather's stamp on, in order. */
static void test_pending_restamp(void)
{
    hub_pending_t p;
    CHECK_INT(hub_pending_init(&p), 0);
    static const int64_t stamps[] = {10, 20, 30, 30};
    hub_pending_entry_t *e[4];
    for (int i = 0; i < 4; i++) {
        e[i] = calloc(1, sizeof *e[i]);
        e[i]->corr = (uint64_t)i + 1;
        CHECK_INT(hub_pending_add(&p, e[i]), 0);
        hub_pending_touch(&p, e[i], stamps[i]);
    }
    hub_pending_restamp(&p, 20, 50);
    CHECK_INT(e[0]->sent_ms, 10);
    CHECK_INT(e[1]->sent_ms, 50);
    CHECK_INT(e[3]->sent_ms, 50);
    CHECK(p.head == e[0] && p.tail == e[3]);
    hub_pending_restamp(&p, 60, 70); /* nothing stamped since 60 */
    CHECK_INT(e[3]->sent_ms, 50);
    hub_pending_fini(&p);
}

static void test_pending_zeroed(void)
{
    hub_pending_t p;
    memset(&p, 0, sizeof p);
    CHECK(hub_pending_find(&p, 1) == NULL);
    hub_pending_entry_t *e = s_entry(1);
    CHECK_INT(hub_pending_add(&p, e), -ENOMEM); /* not initialised: caller keeps it */
    hub_pending_entry_destroy(&e);
    hub_pending_fini(&p);
}

/* ======================================================== scripted hub */

typedef struct {
    void *ctx;
    void *router;
    char dir[200];
    char endpoint[256];
    uint8_t rid[256];      /* routing id of the last client frame */
    size_t rid_len;
    uint8_t raw[1 << 17];  /* bytes of the last client frame */
    size_t raw_len;
    const char *instance;  /* told in Welcome and Heartbeat answers */
    int silent;            /* 1: probes are not answered */
    uint32_t frames;       /* told in Welcome: frames one Frames may carry (0: not told) */
    uint32_t max_frame;    /* told in Welcome (0: not told) */
    uint64_t acked[512][2]; /* (seq, slot) of every ref in Ack frames */
    size_t n_acked;
    size_t ack_frames;     /* Ack frames seen */
} s_hub_t;

static void s_hub_open(s_hub_t *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "%s/hub-libhub-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(h->dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(h->endpoint, sizeof h->endpoint, "ipc://%s/hub.sock", h->dir);
    h->ctx = zmq_ctx_new();
    h->router = zmq_socket(h->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(h->router, ZMQ_LINGER, &zero, sizeof zero);
    CHECK_INT(zmq_bind(h->router, h->endpoint), 0);
    h->instance = "instance-A";
}

static void s_hub_close(s_hub_t *h)
{
    zmq_close(h->router);
    zmq_ctx_term(h->ctx);
    char path[300];
    snprintf(path, sizeof path, "%s/hub.sock", h->dir);
    unlink(path);
    rmdir(h->dir);
}

static void s_hub_send_raw(s_hub_t *h, const void *data, size_t len)
{
    zmq_send(h->router, h->rid, h->rid_len, ZMQ_SNDMORE);
    zmq_send(h->router, data, len, 0);
}

static void s_hub_send(s_hub_t *h, Hub__Frame *frame)
{
    hub_buf_t buf = HUB_BUF_INIT;
    CHECK_INT(hub_frame_encode(frame, &buf), 0);
    s_hub_send_raw(h, buf.data, buf.len);
    hub_buf_fini(&buf);
}

static void s_hub_heartbeat(s_hub_t *h, uint64_t corr, const char *instance)
{
    Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
    hb.instance = (char *)instance;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = corr;
    f.body_case = HUB__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    s_hub_send(h, &f);
}

/* One client frame if there is one (waits up to wait_ms), decoded. */
static Hub__Frame *s_hub_recv(s_hub_t *h, int wait_ms)
{
    zmq_pollitem_t item = {h->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, wait_ms) <= 0)
        return NULL;
    int n = zmq_recv(h->router, h->rid, sizeof h->rid, 0);
    h->rid_len = n > 0 ? (size_t)n : 0;
    n = zmq_recv(h->router, h->raw, sizeof h->raw, 0);
    h->raw_len = n > 0 ? (size_t)n : 0;
    Hub__Frame *f = NULL;
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_frame_decode(h->raw, h->raw_len, 0, &f, err), 0);
    return f;
}

/* Notes what the hub sees on the way: answers probes (unless silent) and
 * records the refs of Ack frames. */
static void s_note(s_hub_t *h, const Hub__Frame *f)
{
    if (f->body_case == HUB__FRAME__BODY_HEARTBEAT && !h->silent)
        s_hub_heartbeat(h, f->corr, h->instance);
    h->ack_frames += f->body_case == HUB__FRAME__BODY_ACK;
    if (f->body_case == HUB__FRAME__BODY_ACK)
        for (size_t i = 0; i < f->ack->n_refs && h->n_acked < sizeof h->acked / sizeof h->acked[0]; i++) {
            h->acked[h->n_acked][0] = f->ack->refs[i]->seq;
            h->acked[h->n_acked][1] = f->ack->refs[i]->slot;
            h->n_acked++;
        }
}

static size_t s_acks_of(const s_hub_t *h, uint64_t seq, uint32_t slot);

/* Runs the client and the hub in turns until the client sends a frame of
 * kind want (returned; free it), or, with want 0, until the hub has seen an
 * ack of (seq, slot) (returns NULL). NULL after 3 s. */
static Hub__Frame *s_run(s_hub_t *h, hub_client_t *c, Hub__Frame__BodyCase want, uint64_t seq, uint32_t slot)
{
    int64_t until = hub_mono_ms() + 3000;
    while (hub_mono_ms() < until) {
        Hub__Frame *f = s_hub_recv(h, 0);
        if (!f) {
            if (want == 0 && s_acks_of(h, seq, slot) > 0)
                return NULL;
            CHECK_INT(hub_client_step(c, hub_mono_ms() + 2), 0);
            continue;
        }
        if (want != 0 && f->body_case == want)
            return f;
        s_note(h, f);
        hub_frame_free(&f);
    }
    CHECK(!"the client did not send what was expected within 3 s");
    return NULL;
}

static Hub__Frame *s_expect(s_hub_t *h, hub_client_t *c, Hub__Frame__BodyCase want)
{
    return s_run(h, c, want, 0, 0);
}

static size_t s_acks_of(const s_hub_t *h, uint64_t seq, uint32_t slot)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n_acked; i++)
        n += h->acked[i][0] == seq && h->acked[i][1] == slot;
    return n;
}

/* A client connected to h, past its Welcome. */
static hub_client_t *s_connect(s_hub_t *h, int heartbeat_ms)
{
    hub_options_t o = {.endpoint = h->endpoint, .client_name = "test", .timeout_ms = 2000, .heartbeat_ms = heartbeat_ms, .key = ""};
    char err[HUB_ERR_LEN];
    hub_client_t *c = hub_client_new(&o, err);
    CHECK(c != NULL);
    if (!c)
        exit(1);
    Hub__Frame *hello = s_expect(h, c, HUB__FRAME__BODY_HELLO);
    CHECK(hello != NULL);
    CHECK_STR(hello ? hello->hello->client : NULL, "test");
    Hub__Welcome w = HUB__WELCOME__INIT;
    w.instance = (char *)h->instance;
    w.has_frames = h->frames > 0;
    w.frames = h->frames;
    w.has_max_frame = h->max_frame > 0;
    w.max_frame = h->max_frame;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = hello ? hello->corr : 0;
    f.body_case = HUB__FRAME__BODY_WELCOME;
    f.welcome = &w;
    s_hub_send(h, &f);
    hub_frame_free(&hello);
    CHECK_INT(hub_client_ping(c, 2000), 0);
    CHECK_INT(c->ready, 1);
    return c;
}

static void s_ack_publish(s_hub_t *h, uint64_t corr, uint64_t seq)
{
    Hub__PublishAck ack = HUB__PUBLISH_ACK__INIT;
    ack.has_seq = 1;
    ack.seq = seq;
    ack.has_notifications = 1;
    ack.notifications = 2;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = corr;
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACK;
    f.publish_ack = &ack;
    s_hub_send(h, &f);
}

static void s_error(s_hub_t *h, uint64_t corr, Hub__ErrorCode code, const char *field, const char *message)
{
    Hub__Error e = HUB__ERROR__INIT;
    e.has_code = 1;
    e.code = code;
    e.field = (char *)field;
    e.message = (char *)message;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = corr;
    f.body_case = HUB__FRAME__BODY_ERROR;
    f.error = &e;
    s_hub_send(h, &f);
}

/* One Deliver frame of count notifications: seq, seq + 1, ... (slot and
 * attempt alike). */
static void s_deliver_n(s_hub_t *h, const char *name, uint64_t seq, uint32_t slot, uint32_t attempt, size_t count)
{
    Hub__Event ev = HUB__EVENT__INIT;
    ev.type = (char *)"bug_report";
    ev.case_id = (char *)"CASE-7";
    enum { S_MOST = 256 }; /* the most the hub puts in one frame */
    static Hub__Notification n[S_MOST];
    Hub__Notification *more[S_MOST];
    for (size_t i = 0; i < count && i < S_MOST; i++) {
        hub__notification__init(&n[i]);
        n[i].has_seq = n[i].has_slot = n[i].has_attempt = 1;
        n[i].seq = seq + i;
        n[i].slot = slot;
        n[i].attempt = attempt;
        n[i].topic = (char *)"engineering.defect";
        n[i].route = (char *)"defect";
        n[i].event_id = (char *)"ev-1";
        n[i].event = &ev;
        more[i] = &n[i];
    }
    Hub__Deliver d = HUB__DELIVER__INIT;
    d.name = (char *)name;
    d.notification = &n[0];
    d.n_more = count > 1 ? (count < S_MOST ? count : S_MOST) - 1 : 0;
    d.more = &more[1];
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DELIVER;
    f.deliver = &d;
    s_hub_send(h, &f);
}

static void s_deliver(s_hub_t *h, const char *name, uint64_t seq, uint32_t slot, uint32_t attempt)
{
    s_deliver_n(h, name, seq, slot, attempt, 1);
}

/* Waits (stepping) for at least one pipelined outcome. */
static int s_outcome(hub_client_t *c, hub_publish_outcome_t *o)
{
    return hub_publish_wait(c, o, 1, 2000);
}

static const char s_event[] = "{\"type\":\"bug_report\",\"case_id\":\"CASE-7\"}";

static void test_client_publish(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 1000);
    uint64_t token = 0;
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_publish_async(c, s_event, &token, err), 0);
    CHECK(token >= 1);
    CHECK_INT(hub_publish_pending(c), 1);
    Hub__Frame *p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH);
    CHECK(p != NULL);
    if (p) {
        CHECK_INT(p->corr, token);
        CHECK_STR(p->publish->event->type, "bug_report");
        CHECK_INT(strlen(p->publish->event->id), HUB_ID_LEN - 1); /* generated */
        s_ack_publish(&h, p->corr, 42);
    }
    hub_publish_outcome_t o;
    CHECK_INT(s_outcome(c, &o), 1);
    CHECK_INT(o.token, token);
    CHECK_INT(o.status, 0);
    CHECK_INT(o.result.seq, 42);
    CHECK_INT(o.result.notifications, 2);
    CHECK_STR(o.result.id, p ? p->publish->event->id : "");
    CHECK_INT(hub_publish_pending(c), 0);
    CHECK_INT(hub_publish_wait(c, &o, 1, 0), 0); /* nothing left */
    hub_frame_free(&p);

    /* refused before sending: nothing goes pending */
    CHECK_INT(hub_publish_async(c, "{\"type\":", &token, err), -HUB_EMALFORMED);
    CHECK_INT(hub_publish_async(c, "{\"subject\":\"x\"}", &token, err), -HUB_EINVALID);
    CHECK_HAS(err, "type");
    CHECK_INT(hub_respond(c, "CASE-7", "engineering", "done", NULL, NULL, 100, err), -HUB_EINVALID);
    CHECK_HAS(err, "status");
    CHECK_INT(hub_respond(c, "", "engineering", "resolved", NULL, NULL, 100, err), -HUB_EINVALID);
    CHECK_HAS(err, "case_id");
    CHECK_INT(hub_publish_pending(c), 0);
    hub_client_destroy(&c);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* One client message (waits up to wait_ms) read as the frames it holds:
 * a Frames message's, or itself. Puts the corr of each Publish in corrs
 * (at most max) and returns how many frames there were (every one must be
 * a Publish); -1 when no message came. Its size goes to *len. */
static int s_hub_recv_publishes(s_hub_t *h, int wait_ms, uint64_t *corrs, size_t max, size_t *len)
{
    zmq_pollitem_t item = {h->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, wait_ms) <= 0)
        return -1;
    int n = zmq_recv(h->router, h->rid, sizeof h->rid, 0);
    h->rid_len = n > 0 ? (size_t)n : 0;
    n = zmq_recv(h->router, h->raw, sizeof h->raw, 0);
    h->raw_len = n > 0 ? (size_t)n : 0;
    *len = h->raw_len;
    const uint8_t *body = h->raw, *frame;
    size_t body_len = h->raw_len, frame_len, pos = 0;
    int gathered = hub_gather_body(h->raw, h->raw_len, &body, &body_len);
    int count = 0;
    char err[HUB_ERR_LEN];
    for (;;) {
        if (gathered) {
            int rc = hub_gather_next(body, body_len, &pos, &frame, &frame_len, err);
            CHECK(rc >= 0);
            if (rc != 1)
                break;
        } else if (count == 0) {
            frame = h->raw;
            frame_len = h->raw_len;
        } else
            break;
        Hub__Frame *f = NULL;
        CHECK_INT(hub_frame_decode(frame, frame_len, 0, &f, err), 0);
        CHECK_INT(f ? f->body_case : 0, HUB__FRAME__BODY_PUBLISH);
        if ((size_t)count < max)
            corrs[count] = f ? f->corr : 0;
        count++;
        hub_frame_free(&f);
    }
    return count;
}

/* A client connected to h, which tells it frames and max_frame in its
 * Welcome, that has published n events (tokens) and then waited once. */
static hub_client_t *s_published(s_hub_t *h, uint32_t frames, uint32_t max_frame, int n, uint64_t *tokens)
{
    h->frames = frames;
    h->max_frame = max_frame;
    hub_client_t *c = s_connect(h, 1000);
    char err[HUB_ERR_LEN];
    for (int i = 0; i < n; i++)
        CHECK_INT(hub_publish_async(c, s_event, &tokens[i], err), 0);
    CHECK_INT(hub_client_step(c, hub_mono_ms()), 0);
    return c;
}

/* Pipelined publishes go out gathered in Frames messages when the hub
 * takes them: a full one at once, the rest when the caller waits, before
 * any other frame, within the hub's frame limit; one at a time when the
 * hub does not say it takes them. */
static void test_client_gathers(void)
{
    enum { N = 70 };
    s_hub_t h;
    s_hub_open(&h);
    h.frames = 256;
    hub_client_t *c = s_connect(&h, 1000);
    char err[HUB_ERR_LEN];
    uint64_t tokens[N], corrs[N];
    size_t len;
    for (int i = 0; i < N; i++)
        CHECK_INT(hub_publish_async(c, s_event, &tokens[i], err), 0);
    CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), HUB_GATHER_FRAMES);
    for (int i = 0; i < HUB_GATHER_FRAMES; i++)
        CHECK_INT(corrs[i], tokens[i]);
    CHECK_INT(s_hub_recv_publishes(&h, 100, corrs, N, &len), -1); /* the rest wait for a wait */
    CHECK_INT(hub_client_step(c, hub_mono_ms()), 0);
    CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), N - HUB_GATHER_FRAMES);
    for (int i = 0; i < N - HUB_GATHER_FRAMES; i++)
        CHECK_INT(corrs[i], tokens[HUB_GATHER_FRAMES + i]);

    /* another frame leaves after the publishes gathered before it */
    for (int i = 0; i < 3; i++)
        CHECK_INT(hub_publish_async(c, s_event, &tokens[i], err), 0);
    Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
    Hub__Frame probe = HUB__FRAME__INIT;
    probe.has_corr = 1;
    probe.corr = 999999;
    probe.body_case = HUB__FRAME__BODY_HEARTBEAT;
    probe.heartbeat = &hb;
    CHECK_INT(hub_client_send(c, &probe), 0);
    CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), 3);
    CHECK_INT(corrs[2], tokens[2]);
    Hub__Frame *f = s_hub_recv(&h, 2000);
    CHECK_INT(f ? f->corr : 0, 999999);
    hub_frame_free(&f);
    hub_client_destroy(&c);

    /* a small frame limit: several messages, none over it, all of them */
    c = s_published(&h, 256, 600, 20, tokens);
    int got = 0, messages = 0, n;
    while (got < 20 && (n = s_hub_recv_publishes(&h, 2000, corrs, N, &len)) > 0) {
        CHECK(len <= 600);
        CHECK_INT(corrs[0], tokens[got]);
        got += n;
        messages++;
    }
    CHECK_INT(got, 20);
    CHECK(messages > 1 && messages < 20);
    hub_client_destroy(&c);

    /* a hub that takes fewer than 64 in one message gets as many */
    c = s_published(&h, 5, 0, 12, tokens);
    CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), 5);
    CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), 5);
    CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), 2);
    CHECK_INT(corrs[1], tokens[11]);

    /* hub_publish_wait sends what is gathered even when an outcome waits
     * and it returns at once */
    s_ack_publish(&h, corrs[1], 7);
    hub_publish_outcome_t o;
    CHECK_INT(s_outcome(c, &o), 1); /* 11's outcome... */
    s_ack_publish(&h, corrs[0], 6);
    for (int64_t until = hub_mono_ms() + 3000; hub_publish_pending(c) == 11 && hub_mono_ms() < until;)
        CHECK_INT(hub_client_step(c, hub_mono_ms() + 2), 0); /* ...and 10's, read but not yet taken */
    CHECK_INT(hub_publish_pending(c), 10);
    CHECK_INT(hub_publish_async(c, s_event, &tokens[0], err), 0);
    CHECK_INT(hub_publish_wait(c, &o, 1, 0), 1);
    CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), 1);
    CHECK_INT(corrs[0], tokens[0]);
    hub_client_destroy(&c);

    /* a hub that does not say it takes Frames: a message per publish */
    c = s_published(&h, 0, 0, 3, tokens);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(s_hub_recv_publishes(&h, 2000, corrs, N, &len), 1);
        CHECK_INT(corrs[0], tokens[i]);
    }
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* The clients of a process share one ZeroMQ context: one goes, the others
 * go on; after the last, a new client makes a new one; a forked child
 * makes its own rather than touch its parent's. */
static void test_client_shared_context(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *a = s_connect(&h, 1000), *b = s_connect(&h, 1000);
    CHECK(a->ctx != NULL && a->ctx == b->ctx);
    void *parent_ctx = a->ctx;
    pid_t child = fork();
    if (child == 0) {
        /* an endpoint nobody binds: the child's Hello must not reach h */
        char err[HUB_ERR_LEN], nobody[300];
        snprintf(nobody, sizeof nobody, "ipc://%s/nobody.sock", h.dir);
        hub_options_t o = {.endpoint = nobody, .client_name = "child", .timeout_ms = 100, .key = ""};
        hub_client_t *c = hub_client_new(&o, err);
        int ok = c && c->ctx && c->ctx != parent_ctx;
        hub_client_destroy(&c);
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    hub_client_destroy(&a);
    char err[HUB_ERR_LEN];
    uint64_t token;
    CHECK_INT(hub_publish_async(b, s_event, &token, err), 0);
    Hub__Frame *p = s_expect(&h, b, HUB__FRAME__BODY_PUBLISH);
    CHECK_INT(p ? p->corr : 0, token);
    hub_frame_free(&p);
    hub_client_destroy(&b);

    hub_client_t *c = s_connect(&h, 1000);
    CHECK(c->ctx != NULL);
    CHECK_INT(hub_publish_async(c, s_event, &token, err), 0);
    p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH);
    CHECK_INT(p ? p->corr : 0, token);
    hub_frame_free(&p);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* The hub's refusals become codes and "field: message"; UNAVAILABLE keeps
 * the publish pending for a resend of the same bytes. */
static void test_client_refusals(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 1000);
    char err[HUB_ERR_LEN];
    uint64_t token;
    hub_publish_outcome_t o;

    CHECK_INT(hub_publish_async(c, s_event, &token, err), 0);
    Hub__Frame *p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH);
    s_error(&h, p ? p->corr : 0, HUB__ERROR_CODE__ERROR_CODE_INVALID, "customer.tier", "expected a string");
    CHECK_INT(s_outcome(c, &o), 1);
    CHECK_INT(o.status, -HUB_EINVALID);
    CHECK_STR(o.err, "customer.tier: expected a string");
    CHECK_STR(o.result.id, p ? p->publish->event->id : "");
    hub_frame_free(&p);

    CHECK_INT(hub_publish_async(c, s_event, &token, err), 0);
    p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH);
    uint8_t first[4096];
    size_t first_len = h.raw_len;
    memcpy(first, h.raw, h.raw_len);
    s_error(&h, p ? p->corr : 0, HUB__ERROR_CODE__ERROR_CODE_UNAVAILABLE, NULL, "store busy");
    hub_frame_free(&p);
    CHECK_INT(hub_publish_wait(c, &o, 1, 50), 0);
    CHECK_INT(hub_publish_pending(c), 1);
    p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH); /* after HUB_RESEND_MS */
    CHECK(p != NULL);
    CHECK_INT(h.raw_len, first_len);
    CHECK(memcmp(h.raw, first, first_len) == 0);
    s_error(&h, p ? p->corr : 0, HUB__ERROR_CODE__ERROR_CODE_DENIED, NULL, NULL);
    hub_frame_free(&p);
    CHECK_INT(s_outcome(c, &o), 1);
    CHECK_INT(o.status, -HUB_EDENIED);
    CHECK_STR(o.err, "denied"); /* no words: the code's text */

    /* each code maps */
    static const struct {
        Hub__ErrorCode code;
        int rc;
    } map[] = {
        {HUB__ERROR_CODE__ERROR_CODE_MALFORMED, -HUB_EMALFORMED},
        {HUB__ERROR_CODE__ERROR_CODE_UNSUPPORTED, -HUB_EUNSUPPORTED},
        {HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE, -HUB_ETOOLARGE},
        {HUB__ERROR_CODE__ERROR_CODE_UNKNOWN_SUBSCRIBER, -HUB_EUNKNOWN},
        {HUB__ERROR_CODE__ERROR_CODE_INTERNAL, -HUB_EINTERNAL},
        {HUB__ERROR_CODE__ERROR_CODE_UNSPECIFIED, -HUB_EINTERNAL},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        Hub__Error e = HUB__ERROR__INIT;
        e.has_code = 1;
        e.code = map[i].code;
        CHECK_INT(hub_client_error_rc(&e), map[i].rc);
    }
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* Rule 4 of the session: garbage from the hub is counted and dropped. */
static void test_client_garbage(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 1000);
    uint64_t dropped = c->frames_dropped;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    s_hub_send_raw(&h, junk, sizeof junk);
    s_hub_send_raw(&h, "", 0);
    zmq_send(h.router, h.rid, h.rid_len, ZMQ_SNDMORE); /* two parts */
    zmq_send(h.router, "a", 1, ZMQ_SNDMORE);
    zmq_send(h.router, "b", 1, 0);
    Hub__Frame f = HUB__FRAME__INIT;
    Hub__Welcome w = HUB__WELCOME__INIT;
    f.body_case = HUB__FRAME__BODY_WELCOME; /* a Welcome nobody asked for */
    f.welcome = &w;
    s_hub_send(&h, &f);
    s_ack_publish(&h, 987654, 1);                                           /* unknown corr */
    s_deliver(&h, "someone-else", 1, 0, 1);                                 /* not subscribed */
    s_error(&h, 0, HUB__ERROR_CODE__ERROR_CODE_MALFORMED, NULL, "garbled"); /* about nothing */
    Hub__Frame g = HUB__FRAME__INIT;
    Hub__Hello hello = HUB__HELLO__INIT;
    g.body_case = HUB__FRAME__BODY_HELLO; /* a client's frame */
    g.hello = &hello;
    s_hub_send(&h, &g);
    uint8_t v2[] = {0x08, 0x02, 0x10, 0x01, 0xa2, 0x01, 0x00}; /* version 2, heartbeat */
    s_hub_send_raw(&h, v2, sizeof v2);

    /* the client still works */
    uint64_t token;
    char err[HUB_ERR_LEN];
    CHECK_INT(hub_publish_async(c, s_event, &token, err), 0);
    Hub__Frame *p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH);
    s_ack_publish(&h, p ? p->corr : 0, 5);
    hub_frame_free(&p);
    hub_publish_outcome_t o;
    CHECK_INT(s_outcome(c, &o), 1);
    CHECK_INT(o.status, 0);
    CHECK_INT(c->frames_dropped - dropped, 8); /* all but the ack: a late answer */
    CHECK_INT(c->ready, 1);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* A Heartbeat answer from another instance: the hub restarted. The client
 * says Hello again and, on Welcome, resends the pending publish (same
 * bytes) and subscribes again with START_RESUME. */
static void test_client_restart(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 50);
    char err[HUB_ERR_LEN];
    const char *topics[] = {"engineering.*"};
    /* the first Subscribe goes out with the caller's start */
    CHECK_INT(hub_subscribe(c, "eng", topics, 1, HUB_FROM_EARLIEST, 0, 10, 0, err), -ETIMEDOUT);
    Hub__Frame *s = s_expect(&h, c, HUB__FRAME__BODY_SUBSCRIBE);
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(s->subscribe->name, "eng");
        CHECK_INT(s->subscribe->start, HUB__START__START_EARLIEST);
        CHECK_INT(s->subscribe->credit, 10);
        Hub__Subscribed ok = HUB__SUBSCRIBED__INIT;
        Hub__Frame f = HUB__FRAME__INIT;
        f.has_corr = 1;
        f.corr = s->corr;
        f.body_case = HUB__FRAME__BODY_SUBSCRIBED;
        f.subscribed = &ok;
        s_hub_send(&h, &f);
    }
    hub_frame_free(&s);
    uint64_t token;
    CHECK_INT(hub_publish_async(c, s_event, &token, err), 0);
    Hub__Frame *p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH);
    CHECK(p != NULL);
    for (int64_t until = hub_mono_ms() + 3000; c->sub_state != HUB_SUB_ACTIVE && hub_mono_ms() < until;)
        CHECK_INT(hub_client_step(c, hub_mono_ms() + 2), 0);
    CHECK_INT(c->sub_state, HUB_SUB_ACTIVE);
    uint8_t first[4096];
    size_t first_len = h.raw_len;
    memcpy(first, h.raw, h.raw_len);
    hub_frame_free(&p);

    h.instance = "instance-B"; /* the next probe's answer says so */
    Hub__Frame *hello = s_expect(&h, c, HUB__FRAME__BODY_HELLO);
    CHECK(hello != NULL);
    CHECK_INT(c->ready, 0);
    Hub__Welcome w = HUB__WELCOME__INIT;
    w.instance = (char *)"instance-B";
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = hello ? hello->corr : 0;
    f.body_case = HUB__FRAME__BODY_WELCOME;
    f.welcome = &w;
    s_hub_send(&h, &f);
    hub_frame_free(&hello);
    p = s_expect(&h, c, HUB__FRAME__BODY_PUBLISH);
    CHECK(p != NULL);
    CHECK_INT(h.raw_len, first_len);
    CHECK(memcmp(h.raw, first, first_len) == 0);
    s = s_expect(&h, c, HUB__FRAME__BODY_SUBSCRIBE);
    CHECK(s != NULL);
    CHECK_INT(s ? (int)s->subscribe->start : -1, HUB__START__START_RESUME);
    CHECK_INT(c->sessions, 2);
    s_ack_publish(&h, p ? p->corr : 0, 9);
    hub_frame_free(&p);
    hub_frame_free(&s);
    hub_publish_outcome_t o;
    CHECK_INT(s_outcome(c, &o), 1);
    CHECK_INT(o.result.seq, 9);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* A hub that stops answering: after 3 heartbeats without a word the client
 * drops its socket and says Hello from a new one (a new routing id). */
static void test_client_silent_hub(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 30);
    uint8_t rid[256];
    size_t rid_len = h.rid_len;
    memcpy(rid, h.rid, rid_len);
    h.silent = 1;
    Hub__Frame *hello = s_expect(&h, c, HUB__FRAME__BODY_HELLO);
    CHECK(hello != NULL);
    CHECK(h.rid_len != rid_len || memcmp(h.rid, rid, rid_len) != 0);
    hub_frame_free(&hello);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

static void s_subscribed(s_hub_t *h, hub_client_t *c)
{
    char err[HUB_ERR_LEN];
    const char *topics[] = {"engineering.*"};
    CHECK_INT(hub_subscribe(c, "eng", topics, 1, HUB_FROM_RESUME, 0, 0, 0, err), -ETIMEDOUT);
    Hub__Frame *s = s_expect(h, c, HUB__FRAME__BODY_SUBSCRIBE);
    CHECK(s != NULL);
    CHECK_INT(s ? s->subscribe->credit : 0, HUB_DEFAULT_CREDIT);
    /* as many notifications a frame as the hub sends at most */
    CHECK(s && s->subscribe->has_batch);
    CHECK_INT(s ? s->subscribe->batch : 0, 256);
    Hub__Subscribed ok = HUB__SUBSCRIBED__INIT;
    Hub__Frame f = HUB__FRAME__INIT;
    f.has_corr = 1;
    f.corr = s ? s->corr : 0;
    f.body_case = HUB__FRAME__BODY_SUBSCRIBED;
    f.subscribed = &ok;
    s_hub_send(h, &f);
    hub_frame_free(&s);
}

/* Duplicates are dropped; re-acked only when the application had acked. */
static void test_client_duplicates(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 1000);
    s_subscribed(&h, c);
    hub_notification_t *n = NULL;
    s_deliver(&h, "eng", 1, 0, 1);
    s_deliver(&h, "eng", 1, 0, 2);
    s_deliver(&h, "eng", 2, 0, 1);
    CHECK_INT(hub_receive(c, &n, 2000), 1);
    CHECK_INT(c->sub_state, HUB_SUB_ACTIVE);
    CHECK_INT(hub_notification_seq(n), 1);
    CHECK_INT(hub_notification_attempt(n), 1);
    CHECK_STR(hub_notification_topic(n), "engineering.defect");
    CHECK_STR(hub_notification_route(n), "defect");
    CHECK_STR(hub_notification_event_id(n), "ev-1");
    CHECK_STR(hub_notification_case_id(n), "CASE-7");
    CHECK_HAS(hub_notification_json(n), "\"seq\":1");
    CHECK_HAS(hub_notification_json(n), "\"case_id\":\"CASE-7\"");
    CHECK_INT(hub_ack(c, n), 0);
    hub_notification_destroy(&n);
    CHECK_INT(hub_receive(c, &n, 2000), 1); /* (1,0) again is dropped */
    CHECK_INT(hub_notification_seq(n), 2);
    s_deliver(&h, "eng", 2, 0, 2); /* the application still holds it */
    hub_notification_t *again = NULL;
    CHECK_INT(hub_receive(c, &again, 100), 0);
    CHECK(again == NULL);
    CHECK_INT(hub_ack(c, n), 0);
    hub_notification_destroy(&n);
    s_deliver(&h, "eng", 3, 1, 1); /* a marker: its ack comes after (2,0)'s */
    CHECK_INT(hub_receive(c, &n, 2000), 1);
    CHECK_INT(hub_notification_slot(n), 1);
    CHECK_INT(hub_ack(c, n), 0);
    hub_notification_destroy(&n);
    s_run(&h, c, 0, 3, 1);
    CHECK_INT(s_acks_of(&h, 1, 0), 2); /* the application's, then the re-ack */
    CHECK_INT(s_acks_of(&h, 2, 0), 1); /* the application's only */
    CHECK_INT(s_acks_of(&h, 3, 1), 1);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* A Deliver frame of several notifications: each handed out in order, on
 * its own, and their acks leave together rather than one per receive;
 * then a frame of as many as the hub puts in one. */
static void test_client_batch(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 1000);
    s_subscribed(&h, c);
    s_deliver_n(&h, "eng", 1, 0, 1, 4);
    hub_notification_t *n = NULL, *first = NULL;
    for (uint64_t seq = 1; seq <= 4; seq++) {
        CHECK_INT(hub_receive(c, &n, 2000), 1);
        CHECK_INT(hub_notification_seq(n), seq);
        CHECK_STR(hub_notification_event_id(n), "ev-1");
        CHECK_INT(hub_ack(c, n), 0);
        if (seq == 1)
            first = n; /* kept past the others: the frame they share stays */
        else
            hub_notification_destroy(&n);
    }
    CHECK_STR(hub_notification_topic(first), "engineering.defect");
    hub_notification_destroy(&first);
    s_run(&h, c, 0, 4, 0);
    CHECK_INT(h.n_acked, 4);
    CHECK(h.ack_frames <= 2); /* one, unless the 50 ms limit struck in between */

    /* a frame as full as the hub makes them (256 notifications, the
     * batch libhub asks for) is taken whole, in order */
    s_deliver_n(&h, "eng", 5, 0, 1, 256);
    uint64_t got = 0;
    while (got < 256 && hub_receive(c, &n, 2000) == 1) {
        CHECK_INT(hub_notification_seq(n), 5 + got);
        CHECK_INT(hub_ack(c, n), 0);
        hub_notification_destroy(&n);
        got++;
    }
    CHECK_INT(got, 256);
    s_run(&h, c, 0, 260, 0);
    CHECK_INT(h.n_acked, 260);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* A nack goes to the hub, and the redelivery it asks for is handed out. */
static void test_client_nack(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_client_t *c = s_connect(&h, 1000);
    s_subscribed(&h, c);
    hub_notification_t *n = NULL;
    s_deliver(&h, "eng", 4, 0, 1);
    CHECK_INT(hub_receive(c, &n, 2000), 1);
    CHECK_INT(hub_nack(c, n, "endpoint down", 0), 0);
    hub_notification_destroy(&n);
    Hub__Frame *f = s_expect(&h, c, HUB__FRAME__BODY_NACK);
    CHECK(f != NULL);
    if (f) {
        CHECK_STR(f->nack->name, "eng");
        CHECK_INT(f->nack->ref->seq, 4);
        CHECK_STR(f->nack->reason, "endpoint down");
        CHECK_INT(f->nack->dead_letter, 0);
    }
    hub_frame_free(&f);
    s_deliver(&h, "eng", 4, 0, 2);
    CHECK_INT(hub_receive(c, &n, 2000), 1);
    CHECK_INT(hub_notification_attempt(n), 2);
    hub_notification_destroy(&n);
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* Calls that cannot reach a hub say so, and keep the event's id. */
static void test_client_no_hub(void)
{
    char dir[200], ep[256], err[HUB_ERR_LEN];
    snprintf(dir, sizeof dir, "%s/hub-libhub-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(ep, sizeof ep, "ipc://%s/nobody.sock", dir);
    hub_options_t o = {.endpoint = ep, .timeout_ms = 100, .heartbeat_ms = 20, .key = ""};
    hub_client_t *c = hub_client_new(&o, err);
    CHECK(c != NULL);
    CHECK_STR(hub_client_endpoint(c), ep);
    hub_publish_result_t r;
    CHECK_INT(hub_publish(c, s_event, &r, 100, err), -ETIMEDOUT);
    CHECK_HAS(err, "no answer from the hub at ipc://");
    CHECK_HAS(err, "is hubd running?");
    CHECK_INT(strlen(r.id), HUB_ID_LEN - 1);
    CHECK_INT(hub_publish_pending(c), 0); /* the call gave up on it */
    CHECK_INT(hub_client_ping(c, 50), -ETIMEDOUT);
    char *json = NULL;
    CHECK_INT(hub_status(c, &json, 50, err), -ETIMEDOUT);
    CHECK(json == NULL);
    hub_notification_t *n = NULL;
    CHECK_INT(hub_receive(c, &n, 10), -EINVAL); /* not subscribed */
    hub_client_destroy(&c);
    rmdir(dir);

    o.endpoint = "no-such-transport://x";
    CHECK(hub_client_new(&o, err) == NULL);
    CHECK_HAS(err, "no-such-transport://x");
}

/* A hub that refuses the Hello: calls give up with its code at once. */
static void test_client_hello_refused(void)
{
    s_hub_t h;
    s_hub_open(&h);
    hub_options_t o = {.endpoint = h.endpoint, .timeout_ms = 2000, .heartbeat_ms = 1000, .key = ""};
    char err[HUB_ERR_LEN];
    hub_client_t *c = hub_client_new(&o, err);
    Hub__Frame *hello = s_expect(&h, c, HUB__FRAME__BODY_HELLO);
    s_error(&h, hello ? hello->corr : 0, HUB__ERROR_CODE__ERROR_CODE_DENIED, NULL, "unknown key");
    hub_frame_free(&hello);
    CHECK_INT(hub_client_ping(c, 2000), -HUB_EDENIED);
    hub_publish_result_t r;
    CHECK_INT(hub_publish(c, s_event, &r, 2000, err), -HUB_EDENIED);
    CHECK_HAS(err, "unknown key");
    hub_client_destroy(&c);
    s_hub_close(&h);
}

/* ================================================================ keys */

/* A temporary directory for key files, removed with what it holds. */
typedef struct {
    char dir[200];
    char path[400]; /* the last path made by s_kpath */
} s_kdir_t;

static void s_kdir_open(s_kdir_t *k)
{
    snprintf(k->dir, sizeof k->dir, "%s/hub-keys-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(k->dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static const char *s_kpath(s_kdir_t *k, const char *name)
{
    snprintf(k->path, sizeof k->path, "%s/%s", k->dir, name);
    return k->path;
}

/* Writes len bytes to DIR/name with mode; returns the path. */
static const char *s_kwrite(s_kdir_t *k, const char *name, const void *data, size_t len, mode_t mode)
{
    const char *path = s_kpath(k, name);
    unlink(path);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_INT(fwrite(data, 1, len, f), len);
        fclose(f);
    }
    CHECK_INT(chmod(path, mode), 0);
    return path;
}

static void s_kdir_close(s_kdir_t *k)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", k->dir);
    CHECK_INT(system(cmd), 0);
}

/* A fresh pair written as DIR/name.key (0644) and DIR/name.secret (0600). */
static void s_kpair(s_kdir_t *k, const char *name, char pub[HUB_KEY_SIZE], char sec[HUB_KEY_SIZE])
{
    CHECK_INT(zmq_curve_keypair(pub, sec), 0);
    char file[128], line[HUB_KEY_SIZE + 1];
    snprintf(file, sizeof file, "%s.key", name);
    snprintf(line, sizeof line, "%s\n", pub);
    s_kwrite(k, file, line, strlen(line), 0644);
    snprintf(file, sizeof file, "%s.secret", name);
    snprintf(line, sizeof line, "%s\n", sec);
    s_kwrite(k, file, line, strlen(line), 0600);
}

/* The key file format: 40 z85 characters and an optional newline; every
 * other content is refused with the file's name and what is wrong. */
static void test_keys_format(void)
{
    static const char good[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    char longer[200];
    memset(longer, 'a', sizeof longer);
    static const struct {
        const char *name;
        const char *text;  /* NULL: 'longer' */
        size_t len;        /* 0: strlen(text) */
        int rc;
        const char *err;   /* expected in err after the path */
    } cases[] = {
        {"newline", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n", 0, 0, NULL},
        {"bare", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 0, 0, NULL},
        {"empty", "", 0, -HUB_ECONFIG, ": is empty"},
        {"only-newline", "\n", 0, -HUB_ECONFIG, ": is empty"},
        {"short", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\n", 0, -HUB_ECONFIG, "found 39 characters"},
        {"long", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf77\n", 0, -HUB_ECONFIG, "found 41 characters"},
        {"trailing-space", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 \n", 0, -HUB_ECONFIG, "found 41 characters"},
        {"crlf", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\r\n", 0, -HUB_ECONFIG, "CR LF"},
        {"two-newlines", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n\n", 0, -HUB_ECONFIG, "more than one line"},
        {"two-keys", "rq:rM>}U?@Lns47E1%kR\nrq:rM>}U?@Lns47E1%kR\n", 0, -HUB_ECONFIG, "more than one line"},
        {"bad-char", "rq:rM ]U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n", 0, -HUB_ECONFIG, "character 6 (0x20) is not z85"},
        {"quote", "\"q:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n", 0, -HUB_ECONFIG, "character 1 (0x22) is not z85"},
        {"nul", "rq:rM>}U?@Lns47E1%kR\0o@n%FcmmsL/@{H8]yf7\n", 41, -HUB_ECONFIG, "character 21 (0x00) is not z85"},
        {"out-of-range", "########################################", 0, -HUB_ECONFIG, "out of range"},
        {"huge", NULL, sizeof longer, -HUB_ECONFIG, ": 200 bytes long"},
    };
    s_kdir_t k;
    s_kdir_open(&k);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text = cases[i].text ? cases[i].text : longer;
        size_t len = cases[i].len ? cases[i].len : strlen(text);
        const char *path = s_kwrite(&k, "k.key", text, len, 0644);
        char key[HUB_KEY_SIZE], err[HUB_ERR_LEN] = "";
        int rc = hub_key_read(path, 0, key, err);
        if (rc != cases[i].rc)
            fprintf(stderr, "  case \"%s\": %s\n", cases[i].name, err);
        CHECK_INT(rc, cases[i].rc);
        if (cases[i].rc == 0) {
            CHECK_STR(key, good);
        } else {
            CHECK_STR(key, ""); /* nothing of a refused file is kept */
            CHECK_HAS(err, path);
            CHECK_HAS(err, cases[i].err);
        }
    }
    char key[HUB_KEY_SIZE], err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_key_read(s_kpath(&k, "missing.key"), 0, key, err), -ENOENT);
    CHECK_HAS(err, "missing.key: cannot read the public key");
    CHECK_INT(hub_key_read(k.dir, 0, key, err), -HUB_ECONFIG);
    CHECK_HAS(err, "not a regular file");
    s_kdir_close(&k);
}

/* Rule 1: a secret key file open to group or others is refused, with the
 * command that fixes it; a public key file may be world-readable. */
static void test_keys_secret_mode(void)
{
    static const char text[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n";
    static const struct {
        mode_t mode;
        int rc;
    } cases[] = {
        {0600, 0}, {0400, 0}, {0644, -HUB_ECONFIG}, {0640, -HUB_ECONFIG}, {0604, -HUB_ECONFIG}, {0620, -HUB_ECONFIG},
    };
    s_kdir_t k;
    s_kdir_open(&k);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = s_kwrite(&k, "c.secret", text, strlen(text), cases[i].mode);
        char key[HUB_KEY_SIZE], err[HUB_ERR_LEN] = "";
        CHECK_INT(hub_key_read(path, 1, key, err), cases[i].rc);
        if (cases[i].rc < 0) {
            char fix[500], mode[32];
            snprintf(fix, sizeof fix, "chmod 600 %s", path);
            snprintf(mode, sizeof mode, "(mode %04o)", (unsigned)cases[i].mode);
            CHECK_HAS(err, fix);
            CHECK_HAS(err, mode);
            CHECK_STR(key, "");
        }
        CHECK_INT(hub_key_read(path, 0, key, err), 0); /* read as public: no such rule */
    }
    s_kdir_close(&k);
}

/* A pair is read by its prefix or by either file's name, and must be one
 * pair (rule 3). */
static void test_keys_pair(void)
{
    static const struct {
        const char *path;
        size_t prefix;
    } prefixes[] = {
        {"keys/support", 12}, {"keys/support.key", 12}, {"keys/support.secret", 12},
        {"support.key.key", 11}, {"keys/.key", 9}, {".secret", 7}, {"", 0},
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        CHECK_INT(hub_key_prefix_len(prefixes[i].path), prefixes[i].prefix);

    s_kdir_t k;
    s_kdir_open(&k);
    char pub[HUB_KEY_SIZE], sec[HUB_KEY_SIZE], other_pub[HUB_KEY_SIZE], other_sec[HUB_KEY_SIZE];
    s_kpair(&k, "support", pub, sec);
    s_kpair(&k, "other", other_pub, other_sec);
    const char *names[] = {"support", "support.key", "support.secret"};
    for (size_t i = 0; i < 3; i++) {
        char p[HUB_KEY_SIZE], s[HUB_KEY_SIZE], err[HUB_ERR_LEN] = "";
        CHECK_INT(hub_key_read_pair(s_kpath(&k, names[i]), p, s, err), 0);
        CHECK_STR(p, pub);
        CHECK_STR(s, sec);
    }
    char p[HUB_KEY_SIZE], s[HUB_KEY_SIZE], err[HUB_ERR_LEN] = "";
    /* support.key replaced by other's public key: not one pair */
    char line[HUB_KEY_SIZE + 1];
    snprintf(line, sizeof line, "%s\n", other_pub);
    s_kwrite(&k, "support.key", line, strlen(line), 0644);
    CHECK_INT(hub_key_read_pair(s_kpath(&k, "support"), p, s, err), -HUB_ECONFIG);
    CHECK_HAS(err, "support.key does not belong to");
    CHECK_HAS(err, "support.secret");
    CHECK_STR(p, "");
    CHECK_STR(s, "");
    /* a missing half is named */
    unlink(s_kpath(&k, "other.key"));
    CHECK_INT(hub_key_read_pair(s_kpath(&k, "other"), p, s, err), -ENOENT);
    CHECK_HAS(err, "other.key: cannot read the public key");
    CHECK_INT(hub_key_read_pair(s_kpath(&k, "nobody"), p, s, err), -ENOENT);
    CHECK_HAS(err, "nobody.secret: cannot read the secret key");
    CHECK_INT(hub_key_read_pair("", p, s, err), -HUB_ECONFIG);
    CHECK_HAS(err, "prefix is empty");
    s_kdir_close(&k);
}

/* hub_client_new reads the keys from its options or the environment, and
 * fails with the file's name when one is wrong. */
static void test_client_key_options(void)
{
    s_kdir_t k;
    s_kdir_open(&k);
    char pub[HUB_KEY_SIZE], sec[HUB_KEY_SIZE], hub_pub[HUB_KEY_SIZE], hub_sec[HUB_KEY_SIZE];
    s_kpair(&k, "support", pub, sec);
    s_kpair(&k, "hubd", hub_pub, hub_sec);
    char prefix[400], server[400], err[HUB_ERR_LEN] = "";
    snprintf(prefix, sizeof prefix, "%s/support", k.dir);
    snprintf(server, sizeof server, "%s/hubd.key", k.dir);
    unsetenv("HUB_KEY");
    unsetenv("HUB_SERVER_KEY");

    hub_options_t o = {.endpoint = "ipc:///nonexistent/hub.sock", .key = prefix, .server_key = server};
    hub_client_t *c = hub_client_new(&o, err);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->curve, 1);
        CHECK_STR(c->curve_public, pub);
        CHECK_STR(c->curve_secret, sec);
        CHECK_STR(c->curve_server, hub_pub);
    }
    hub_client_destroy(&c);

    o.server_key = NULL; /* and no $HUB_SERVER_KEY */
    CHECK(hub_client_new(&o, err) == NULL);
    CHECK_HAS(err, "without the hub's public key");
    CHECK_HAS(err, "HUB_SERVER_KEY");

    o.key = NULL; /* no $HUB_KEY either */
    o.server_key = server;
    CHECK(hub_client_new(&o, err) == NULL);
    CHECK_HAS(err, "without a client key");

    o.server_key = prefix; /* a prefix is not a file */
    o.key = prefix;
    CHECK(hub_client_new(&o, err) == NULL);
    CHECK_HAS(err, "support: cannot read the public key");

    /* the environment, when the options say nothing */
    o.key = o.server_key = NULL;
    setenv("HUB_KEY", prefix, 1);
    setenv("HUB_SERVER_KEY", server, 1);
    c = hub_client_new(&o, err);
    CHECK(c != NULL);
    CHECK(c && c->curve == 1);
    hub_client_destroy(&c);
    /* "" turns CURVE off whatever the environment says */
    o.key = "";
    c = hub_client_new(&o, err);
    CHECK(c && c->curve == 0);
    hub_client_destroy(&c);
    o.key = NULL;
    /* a secret key others may read stops the client */
    char secret[400];
    snprintf(secret, sizeof secret, "%s/support.secret", k.dir);
    CHECK_INT(chmod(secret, 0644), 0);
    CHECK(hub_client_new(&o, err) == NULL);
    CHECK_HAS(err, "chmod 600 ");
    CHECK_HAS(err, secret);
    CHECK_INT(chmod(secret, 0600), 0);
    setenv("HUB_KEY", "", 1); /* empty: no CURVE; a server key alone is refused */
    CHECK(hub_client_new(&o, err) == NULL);
    CHECK_HAS(err, "without a client key");
    unsetenv("HUB_KEY");
    unsetenv("HUB_SERVER_KEY");
    s_kdir_close(&k);
}

/* The scripted hub as a CURVE server (no ZAP handler: any client key is
 * accepted; the handshake itself needs the right server key). */
static void s_hub_open_curve(s_hub_t *h, const char *server_secret)
{
    s_hub_open(h);
    zmq_close(h->router); /* again, with CURVE set before bind */
    h->router = zmq_socket(h->ctx, ZMQ_ROUTER);
    int zero = 0, one = 1;
    zmq_setsockopt(h->router, ZMQ_LINGER, &zero, sizeof zero);
    CHECK_INT(zmq_setsockopt(h->router, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    CHECK_INT(zmq_setsockopt(h->router, ZMQ_CURVE_SECRETKEY, server_secret, HUB_KEY_SIZE), 0);
    CHECK_INT(zmq_bind(h->router, h->endpoint), 0);
}

/* With keys the DEALER speaks CURVE, on its first socket and on the new
 * one made after a silent spell; without them, or with the wrong server
 * key, a CURVE hub hears nothing and calls time out with the key hint. */
static void test_client_curve(void)
{
    s_kdir_t k;
    s_kdir_open(&k);
    char pub[HUB_KEY_SIZE], sec[HUB_KEY_SIZE], hub_pub[HUB_KEY_SIZE], hub_sec[HUB_KEY_SIZE];
    char x_pub[HUB_KEY_SIZE], x_sec[HUB_KEY_SIZE];
    s_kpair(&k, "support", pub, sec);
    s_kpair(&k, "hubd", hub_pub, hub_sec);
    s_kpair(&k, "impostor", x_pub, x_sec);
    char prefix[400], server[400], wrong_server[400], err[HUB_ERR_LEN] = "";
    snprintf(prefix, sizeof prefix, "%s/support", k.dir);
    snprintf(server, sizeof server, "%s/hubd.key", k.dir);
    snprintf(wrong_server, sizeof wrong_server, "%s/impostor.key", k.dir);
    s_hub_t h;
    s_hub_open_curve(&h, hub_sec);

    hub_options_t o = {.endpoint = h.endpoint, .client_name = "test", .timeout_ms = 2000, .heartbeat_ms = 300,
                       .key = prefix, .server_key = server};
    hub_client_t *c = hub_client_new(&o, err);
    CHECK(c != NULL);
    if (c) {
        Hub__Frame *hello = s_expect(&h, c, HUB__FRAME__BODY_HELLO);
        CHECK(hello != NULL);
        Hub__Welcome w = HUB__WELCOME__INIT;
        w.instance = (char *)h.instance;
        Hub__Frame f = HUB__FRAME__INIT;
        f.has_corr = 1;
        f.corr = hello ? hello->corr : 0;
        f.body_case = HUB__FRAME__BODY_WELCOME;
        f.welcome = &w;
        s_hub_send(&h, &f);
        hub_frame_free(&hello);
        CHECK_INT(hub_client_ping(c, 2000), 0);
        /* a silent hub: the client's new socket says Hello over CURVE too */
        h.silent = 1;
        hello = s_expect(&h, c, HUB__FRAME__BODY_HELLO);
        CHECK(hello != NULL);
        hub_frame_free(&hello);
    }
    hub_client_destroy(&c);
    s_hub_close(&h); /* a fresh hub for each of the next two: no frame left over */

    /* without keys: nothing reaches the hub */
    s_hub_open_curve(&h, hub_sec);
    o.endpoint = h.endpoint;
    o.key = "";
    o.timeout_ms = 300;
    c = hub_client_new(&o, err);
    CHECK(c != NULL);
    CHECK_INT(hub_client_ping(c, 300), -ETIMEDOUT);
    Hub__Frame *none = s_hub_recv(&h, 0);
    CHECK(none == NULL);
    hub_frame_free(&none);
    hub_client_destroy(&c);
    s_hub_close(&h);

    /* the wrong server key: the handshake fails; the error says what to check */
    s_hub_open_curve(&h, hub_sec);
    o.endpoint = h.endpoint;
    o.key = prefix;
    o.server_key = wrong_server;
    c = hub_client_new(&o, err);
    CHECK(c != NULL);
    hub_publish_result_t r;
    CHECK_INT(hub_publish(c, s_event, &r, 300, err), -ETIMEDOUT);
    CHECK_HAS(err, "is this client's key known to the hub? see keys.clients");
    none = s_hub_recv(&h, 0);
    CHECK(none == NULL);
    hub_frame_free(&none);
    hub_client_destroy(&c);
    s_hub_close(&h);
    s_kdir_close(&k);
}

/* The hub's refusal as a person reads it: the field once, whether or not
 * the hub's message starts with it; the user a client acts for. */
static void test_error_text(void)
{
    char err[HUB_ERR_LEN];
    Hub__Error e = HUB__ERROR__INIT;
    e.has_code = 1;
    e.code = HUB__ERROR_CODE__ERROR_CODE_INVALID;
    e.field = "seq";
    e.message = "seq: 4 is not a dead letter";
    hub_client_error_text(&e, err);
    CHECK_STR(err, "seq: 4 is not a dead letter");
    e.message = "4 is not a dead letter";
    hub_client_error_text(&e, err);
    CHECK_STR(err, "seq: 4 is not a dead letter");
    e.message = "sequence 4 is not a dead letter"; /* starts like it, but is not it */
    hub_client_error_text(&e, err);
    CHECK_STR(err, "seq: sequence 4 is not a dead letter");
    e.field = NULL;
    hub_client_error_text(&e, err);
    CHECK_STR(err, "sequence 4 is not a dead letter");
    e.message = NULL;
    hub_client_error_text(&e, err);
    CHECK_STR(err, hub_strerror(-HUB_EINVALID));
    CHECK_INT(hub_client_error_rc(&e), -HUB_EINVALID);
}

static void test_set_user(void)
{
    char err[HUB_ERR_LEN];
    hub_options_t o = {.endpoint = "ipc:///nonexistent/switchboard-test.sock", .key = ""};
    hub_client_t *c = hub_client_new(&o, err);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_INT(hub_client_set_user(c, "alice"), 0);
    CHECK_STR(c->user, "alice");
    CHECK_INT(hub_client_set_user(c, "not a name"), -HUB_EINVALID);
    CHECK_STR(c->user, "alice"); /* unchanged */
    CHECK_INT(hub_client_set_user(c, ""), 0);
    CHECK_STR(c->user, "");
    CHECK_INT(hub_client_set_user(c, "bob"), 0);
    CHECK_INT(hub_client_set_user(c, NULL), 0);
    CHECK_STR(c->user, "");
    CHECK_INT(hub_client_set_user(NULL, "x"), -EINVAL);
    hub_client_destroy(&c);
}

static const check_case_t cases[] = {
    {"dedup: add and contains", test_dedup_add_contains},
    {"dedup: rule 2, a ref is in once", test_dedup_add_twice},
    {"dedup: rule 1, full set forgets the oldest", test_dedup_fifo},
    {"dedup: dense refs keep probe runs short", test_dedup_dense_runs},
    {"dedup: rule 3, removal and dead slots", test_dedup_remove},
    {"dedup: rule 4, marks", test_dedup_mark},
    {"dedup: limits and zeroed sets", test_dedup_limits},
    {"dedup: exact capacity over dense seqs", test_dedup_capacity},
    {"dedup: random ops against a model", test_dedup_model},
    {"pending: add, find, take", test_pending_basic},
    {"pending: rule 2, touch keeps send order", test_pending_touch_order},
    {"pending: growth and deletions against a model", test_pending_many},
    {"pending: zeroed table", test_pending_zeroed},
    {"pending: a late flush stamps again", test_pending_restamp},
    {"client: publish, ack, local refusals", test_client_publish},
    {"client: pipelined publishes gathered into Frames", test_client_gathers},
    {"client: one ZeroMQ context per process", test_client_shared_context},
    {"client: hub refusals and UNAVAILABLE resend", test_client_refusals},
    {"client: garbage from the hub is dropped", test_client_garbage},
    {"client: hub restart restores the session", test_client_restart},
    {"client: silent hub means a new socket", test_client_silent_hub},
    {"client: duplicates dropped, re-acked when acked", test_client_duplicates},
    {"client: a batched Deliver frame", test_client_batch},
    {"client: nack and redelivery", test_client_nack},
    {"client: no hub", test_client_no_hub},
    {"client: hello refused", test_client_hello_refused},
    {"client: error text names the field once", test_error_text},
    {"client: the user it acts for", test_set_user},
    {"keys: file format", test_keys_format},
    {"keys: rule 1, a secret key must be private", test_keys_secret_mode},
    {"keys: rule 3, prefixes and pairs", test_keys_pair},
    {"client: key options and environment", test_client_key_options},
    {"client: CURVE on every socket, refused without", test_client_curve},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
