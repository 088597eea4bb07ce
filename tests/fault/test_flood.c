/*
 * flood - more than any client should send, from raw ZeroMQ sockets:
 *   1. 10,000 random, truncated and bit-flipped frames (a fixed seed, so a
 *      failure replays), with garbage multipart messages among them;
 *   2. 50,000 publishes from a client that never reads a reply, while
 *      another client publishes and measures how long its acks take.
 * After each: hubd is alive, answers, serves a normal publish and subscribe,
 * and its resident set stayed under a bound (printed).
 *
 * Bounds: the bad frames store nothing (or next to nothing), so hubd may
 * grow by FRAMES_RSS_KB at most. The publish flood stores 50,000 events: the
 * store keeps a tail cache of recent rows (up to 16 MiB by design) and
 * SQLite a page cache (8 MiB), and the replies nobody reads wait in
 * ZeroMQ's queue up to its high-water mark; hence PUBLISH_RSS_KB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "check.h"
#include "harness.h"

static const char *s_policy = "departments:\n"
                              "  eng: {}\n"
                              "routes:\n"
                              "  - name: to-eng\n"
                              "    match: { type: bug_report }\n"
                              "    notify: eng\n"
                              "    kind: defect\n";

static const char *s_config = "limits:\n"
                              "  max_frame: 65536\n"
                              "  max_event: 16384\n";

#define N_FRAMES 10000
#define MULTIPART_EVERY 50 /* a garbage multipart message every N frames */
#define FRAMES_RSS_KB (32 * 1024 * RSS_FACTOR)
#define N_FLOOD 50000
#define PUBLISH_RSS_KB (64 * 1024 * RSS_FACTOR)
#define N_PROBES 20       /* the other client's publishes during the flood */
#define PROBE_MAX_MS 3000 /* each answered within this */
#define FLOOD_MS 60000    /* the flood is taken in within this */

/* Built with AddressSanitizer (hubd is built the same way): freed memory
 * waits in its quarantine (256 MiB by default) before it is reused, which
 * would show as growth. hubd runs with a small quarantine then, and the
 * bounds allow for the sanitizer's own overhead. */
#if defined(__SANITIZE_ADDRESS__)
#define S_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_ASAN 1
#endif
#endif
#ifdef S_ASAN
#define ASAN_QUARANTINE_MB 16
#define RSS_FACTOR 2
#else
#define RSS_FACTOR 1
#endif

static harness_t *s_hub;

/* ------------------------------------------------------------ helpers */

static uint64_t s_rng = 0x5eedf100dULL;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

typedef struct {
    void *ctx, *sock;
} s_dealer_t;

static int s_dealer_open(s_dealer_t *d, int sndhwm)
{
    d->ctx = zmq_ctx_new();
    d->sock = d->ctx ? zmq_socket(d->ctx, ZMQ_DEALER) : NULL;
    if (!d->sock)
        return -1;
    int linger = 0, timeout = 5000;
    zmq_setsockopt(d->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d->sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(d->sock, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    return zmq_connect(d->sock, harness_endpoint(s_hub));
}

static void s_dealer_close(s_dealer_t *d)
{
    if (d->sock)
        zmq_close(d->sock);
    if (d->ctx)
        zmq_ctx_term(d->ctx);
    d->sock = d->ctx = NULL;
}

/* Packs a frame into a new buffer; *len_p gets its size. */
static uint8_t *s_pack(Hub__Frame *f, size_t *len_p)
{
    size_t len = hub__frame__get_packed_size(f);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf)
        hub__frame__pack(f, buf);
    *len_p = len;
    return buf;
}

typedef struct {
    size_t replies, errors, other;
} s_replies_t;

/* Reads every reply waiting (for up to timeout_ms for the first);
 * returns 1 when one with body 'want' and corr came. */
static int s_drain(void *sock, s_replies_t *r, int timeout_ms, Hub__Frame__BodyCase want, uint64_t corr)
{
    int found = 0;
    zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
    while (zmq_poll(&item, 1, timeout_ms) > 0) {
        timeout_ms = 0;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        Hub__Frame *f = hub__frame__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        r->replies++;
        if (f && f->body_case == HUB__FRAME__BODY_ERROR)
            r->errors++;
        else
            r->other++;
        if (f && f->body_case == want && f->corr == corr)
            found = 1;
        if (f)
            hub__frame__free_unpacked(f, NULL);
        zmq_msg_close(&msg);
    }
    return found;
}

/* Sends a heartbeat (again every 500 ms) until the hub answers it. */
static int s_alive_on(void *sock, s_replies_t *r, uint64_t corr, int timeout_ms)
{
    Hub__Frame f = HUB__FRAME__INIT;
    Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
    f.has_version = 1;
    f.version = HUB_PROTOCOL_VERSION;
    f.has_corr = 1;
    f.corr = corr;
    f.body_case = HUB__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    size_t len = 0;
    uint8_t *buf = s_pack(&f, &len);
    int64_t deadline = harness_now_ms() + timeout_ms;
    int ok = 0;
    while (buf && !ok && harness_now_ms() < deadline) {
        if (zmq_send(sock, buf, len, 0) != (int)len)
            break;
        int64_t until = harness_now_ms() + 500;
        while (!ok && harness_now_ms() < until)
            ok = s_drain(sock, r, 50, HUB__FRAME__BODY_HEARTBEAT, corr);
    }
    free(buf);
    return ok;
}

/* Frames a client could send, packed: what the flood truncates and flips. */
#define N_TEMPLATES 7
typedef struct {
    uint8_t *data[N_TEMPLATES];
    size_t len[N_TEMPLATES];
} s_templates_t;

static int s_templates(s_templates_t *t)
{
    Hub__Frame f;
    Hub__Hello hello = HUB__HELLO__INIT;
    Hub__Publish pub = HUB__PUBLISH__INIT;
    Hub__Event ev = HUB__EVENT__INIT;
    Hub__Subscribe sub = HUB__SUBSCRIBE__INIT;
    Hub__Ack ack = HUB__ACK__INIT;
    Hub__Nack nack = HUB__NACK__INIT;
    Hub__Ref ref = HUB__REF__INIT;
    Hub__Ref *refs[] = {&ref};
    Hub__StatusRequest sr = HUB__STATUS_REQUEST__INIT;
    char *topics[] = {(char *)"junk.*"};
    hello.client = (char *)"flood";
    ev.id = (char *)"flood-template";
    ev.type = (char *)"noise";
    ev.source = (char *)"flood";
    ev.subject = (char *)"a subject long enough to be cut in many places";
    ev.case_id = (char *)"CASE-FLOOD";
    pub.event = &ev;
    sub.name = (char *)"junk";
    sub.n_topics = 1;
    sub.topics = topics;
    ref.has_seq = 1;
    ref.seq = 987654321;
    ack.name = (char *)"junk";
    ack.n_refs = 1;
    ack.refs = refs;
    nack.name = (char *)"junk";
    nack.ref = &ref;
    nack.reason = (char *)"flood";
    for (size_t k = 0; k < N_TEMPLATES; k++) {
        hub__frame__init(&f);
        f.has_version = 1;
        f.version = HUB_PROTOCOL_VERSION;
        f.has_corr = 1;
        f.corr = 1000 + k;
        switch (k) {
        case 0:
            f.body_case = HUB__FRAME__BODY_HELLO;
            f.hello = &hello;
            break;
        case 1:
        case 2:
            f.body_case = HUB__FRAME__BODY_PUBLISH;
            f.publish = &pub;
            break;
        case 3:
            f.body_case = HUB__FRAME__BODY_SUBSCRIBE;
            f.subscribe = &sub;
            break;
        case 4:
            f.body_case = HUB__FRAME__BODY_ACK;
            f.ack = &ack;
            break;
        case 5:
            f.body_case = HUB__FRAME__BODY_NACK;
            f.nack = &nack;
            break;
        default:
            f.body_case = HUB__FRAME__BODY_STATUS_REQUEST;
            f.status_request = &sr;
            break;
        }
        if (!(t->data[k] = s_pack(&f, &t->len[k])))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- cases */

static void test_bad_frames(void)
{
    s_dealer_t d = {0};
    s_templates_t t = {{0}, {0}};
    s_replies_t r = {0};
    uint8_t buf[1024];
    REQUIRE(s_templates(&t) == 0);
    REQUIRE(s_dealer_open(&d, 1000) == 0);
    json_t *st = harness_status(s_hub);
    REQUIRE(st != NULL);
    uint64_t rejected0 = harness_status_u64(st, "rejected");
    json_decref(st);
    long rss0 = harness_rss_kb(s_hub), peak = rss0;
    size_t kinds[4] = {0}, multipart = 0, send_failed = 0;
    int64_t t0 = harness_now_ms();
    for (size_t i = 0; i < N_FRAMES; i++) {
        size_t len = 0, kind = (size_t)(s_rand() % 4);
        size_t k = (size_t)(s_rand() % N_TEMPLATES);
        switch (kind) {
        case 0: /* random bytes */
            len = (size_t)(s_rand() % 512);
            for (size_t b = 0; b < len; b++)
                buf[b] = (uint8_t)s_rand();
            break;
        case 1: /* a frame cut short */
            len = (size_t)(s_rand() % t.len[k]);
            memcpy(buf, t.data[k], len);
            break;
        case 2: /* a frame with a few bytes changed */
            len = t.len[k];
            memcpy(buf, t.data[k], len);
            for (int n = 1 + (int)(s_rand() % 4); n > 0; n--)
                buf[s_rand() % len] ^= (uint8_t)(1 + s_rand() % 255);
            break;
        default: /* a plausible start, then noise */
            len = 2 + (size_t)(s_rand() % 256);
            buf[0] = 0x08; /* version: 1 */
            buf[1] = 0x01;
            for (size_t b = 2; b < len; b++)
                buf[b] = (uint8_t)s_rand();
            break;
        }
        kinds[kind]++;
        send_failed += zmq_send(d.sock, buf, len, 0) != (int)len;
        if (i % MULTIPART_EVERY == 0) {
            int parts = 2 + (int)(s_rand() % 4);
            for (int p = 0; p < parts; p++) {
                size_t plen = (size_t)(s_rand() % 64);
                for (size_t b = 0; b < plen; b++)
                    buf[b] = (uint8_t)s_rand();
                send_failed += zmq_send(d.sock, buf, plen, p + 1 < parts ? ZMQ_SNDMORE : 0) != (int)plen;
            }
            multipart++;
        }
        if (i % 64 == 63) {
            s_drain(d.sock, &r, 0, HUB__FRAME__BODY_ERROR, UINT64_MAX);
            long rss = harness_rss_kb(s_hub);
            if (rss > peak)
                peak = rss;
        }
    }
    CHECK_INT(send_failed, 0);
    CHECK(s_alive_on(d.sock, &r, 777777, 15000));
    int64_t took = harness_now_ms() - t0;
    CHECK(harness_alive(s_hub));
    st = harness_status(s_hub);
    REQUIRE(st != NULL);
    uint64_t rejected = harness_status_u64(st, "rejected") - rejected0;
    json_decref(st);
    long rss1 = harness_rss_kb(s_hub);
    if (rss1 > peak)
        peak = rss1;
    printf("%d frames (%zu random, %zu cut short, %zu changed, %zu noise after a header) and %zu multipart "
           "messages in %lld ms: %zu replies (%zu errors), hub counted %llu rejected\n",
           N_FRAMES, kinds[0], kinds[1], kinds[2], kinds[3], multipart, (long long)took, r.replies, r.errors,
           (unsigned long long)rejected);
    printf("hubd RSS: %ld kB before, %ld kB after, %ld kB at most seen (bound: %d kB more than before)\n", rss0, rss1,
           peak, FRAMES_RSS_KB);
    CHECK(rss0 > 0);
    CHECK(peak < rss0 + FRAMES_RSS_KB);
    /* most of it cannot be read or is refused */
    CHECK(rejected >= N_FRAMES / 2);
    CHECK(r.errors >= N_FRAMES / 2);
done:
    s_dealer_close(&d);
    for (size_t k = 0; k < N_TEMPLATES; k++)
        free(t.data[k]);
}

static void test_unread_publishes(void)
{
    s_dealer_t d = {0};
    hub_client_t *other = NULL;
    int64_t lat[N_PROBES] = {0};
    json_t *st = harness_status(s_hub);
    REQUIRE(st != NULL);
    uint64_t events0 = harness_status_u64(st, "events"), rejected0 = harness_status_u64(st, "rejected");
    json_decref(st);
    REQUIRE((other = harness_client(s_hub, "other")) != NULL);
    REQUIRE(hub_client_ping(other, 5000) == 0);
    long rss0 = harness_rss_kb(s_hub), peak = rss0;
    REQUIRE(s_dealer_open(&d, N_FLOOD * 2) == 0);

    /* all of it queued at once; never a recv on this socket */
    Hub__Frame f = HUB__FRAME__INIT;
    Hub__Publish pub = HUB__PUBLISH__INIT;
    Hub__Event ev = HUB__EVENT__INIT;
    char id[32];
    ev.id = id;
    ev.type = (char *)"noise";
    ev.source = (char *)"flood";
    pub.event = &ev;
    f.has_version = 1;
    f.version = HUB_PROTOCOL_VERSION;
    f.has_corr = 1;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &pub;
    size_t sent = 0;
    int64_t t0 = harness_now_ms();
    for (size_t i = 0; i < N_FLOOD; i++) {
        uint8_t buf[256];
        snprintf(id, sizeof id, "flood-%05zu", i);
        f.corr = i + 1;
        size_t len = hub__frame__pack(&f, buf);
        if (zmq_send(d.sock, buf, len, ZMQ_DONTWAIT) != (int)len)
            break;
        sent++;
    }
    CHECK_INT(sent, N_FLOOD);

    /* meanwhile, another client is served in time */
    int64_t worst = 0;
    size_t answered = 0;
    for (size_t k = 0; k < N_PROBES; k++) {
        char probe[160];
        snprintf(probe, sizeof probe, "{\"id\":\"probe-%zu\",\"type\":\"noise\",\"source\":\"other\"}", k);
        hub_publish_result_t res;
        char err[HUB_ERR_LEN] = "";
        int64_t p0 = harness_now_ms();
        int rc = hub_publish(other, probe, &res, 10000, err);
        lat[k] = harness_now_ms() - p0;
        if (rc != 0)
            fprintf(stderr, "probe-%zu: %s: %s\n", k, hub_strerror(rc), err);
        answered += rc == 0;
        if (lat[k] > worst)
            worst = lat[k];
        long rss = harness_rss_kb(s_hub);
        if (rss > peak)
            peak = rss;
    }
    int64_t probes_done = harness_now_ms() - t0;

    /* the hub takes the whole flood in: stored, or refused */
    uint64_t events = 0, rejected = 0;
    int64_t deadline = harness_now_ms() + FLOOD_MS;
    for (;;) {
        st = harness_status(s_hub);
        if (st) {
            events = harness_status_u64(st, "events") - events0;
            rejected = harness_status_u64(st, "rejected") - rejected0;
            json_decref(st);
        }
        long rss = harness_rss_kb(s_hub);
        if (rss > peak)
            peak = rss;
        if (events + rejected >= N_FLOOD + N_PROBES || harness_now_ms() >= deadline)
            break;
        harness_pause();
    }
    int64_t took = harness_now_ms() - t0;
    long rss1 = harness_rss_kb(s_hub);
    if (rss1 > peak)
        peak = rss1;
    /* what waited for the flooder all along */
    s_replies_t r = {0};
    s_drain(d.sock, &r, 1000, HUB__FRAME__BODY_ERROR, UINT64_MAX);
    printf("%d unread publishes taken in within %lld ms: %llu stored, %llu refused; %zu replies were waiting "
           "(%zu errors)\n",
           N_FLOOD, (long long)took, (unsigned long long)(events - answered), (unsigned long long)rejected, r.replies,
           r.errors);
    printf("the other client meanwhile: %zu of %d publishes acked, slowest %lld ms, all within %lld ms\n", answered,
           N_PROBES, (long long)worst, (long long)probes_done);
    printf("hubd RSS: %ld kB before, %ld kB after, %ld kB at most seen (bound: %d kB more than before)\n", rss0, rss1,
           peak, PUBLISH_RSS_KB);
    CHECK(events + rejected >= N_FLOOD + N_PROBES);
    CHECK_INT(answered, N_PROBES);
    CHECK(worst < PROBE_MAX_MS);
    CHECK(peak < rss0 + PUBLISH_RSS_KB);
    CHECK(r.replies <= N_FLOOD);
    CHECK(harness_alive(s_hub));
done:
    s_dealer_close(&d);
    hub_client_destroy(&other);
}

/* After all of it: a normal publish and subscribe. */
static void test_still_serving(void)
{
    hub_client_t *pub = NULL, *sub = NULL;
    harness_got_t got[1] = {0};
    size_t n = 0;
    CHECK(harness_alive(s_hub));
    REQUIRE((pub = harness_client(s_hub, "publisher")) != NULL);
    REQUIRE((sub = harness_client(s_hub, "eng")) != NULL);
    const char *topics[] = {"eng.*", NULL};
    REQUIRE(harness_subscribe(sub, "eng", topics, HUB_FROM_LATEST, 0, 10) == 0);
    hub_publish_result_t res;
    REQUIRE(harness_publish(pub, "{\"id\":\"after-flood\",\"type\":\"bug_report\",\"case_id\":\"CASE-1\"}", &res) == 0);
    CHECK_INT(res.notifications, 1);
    CHECK_INT(res.duplicate, 0);
    n = harness_collect(sub, got, 1, 1, 10000);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(got[0].event_id, "after-flood");
    CHECK(harness_wait_sub(s_hub, sub, "eng", "in_flight", 0, 5000));
    printf("hubd RSS at the end: %ld kB\n", harness_rss_kb(s_hub));
done:
    harness_got_free(got, n);
    hub_client_destroy(&pub);
    hub_client_destroy(&sub);
}

/* A client over limits.max_publish_rate gets UNAVAILABLE errors for the
 * excess, which is neither stored nor queued; a client that reads its
 * replies sees them and slows down (libhub resends them later). */
#define RATE 200
#define N_RATE_FLOOD 1000

static void test_rate_limit(void)
{
    static const char *config = "limits:\n"
                                "  max_publish_rate: 200\n";
    harness_opts_t o = {.policy_text = s_policy, .config_text = config};
    s_dealer_t d = {0};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h != NULL);
    REQUIRE(harness_start(h) == 0);
    harness_t *saved = s_hub;
    s_hub = h; /* s_dealer_open connects to s_hub */
    int opened = s_dealer_open(&d, N_RATE_FLOOD * 2);
    s_hub = saved;
    REQUIRE(opened == 0);
    Hub__Frame f = HUB__FRAME__INIT;
    Hub__Publish pub = HUB__PUBLISH__INIT;
    Hub__Event ev = HUB__EVENT__INIT;
    char id[32];
    ev.id = id;
    ev.type = (char *)"bug_report";
    pub.event = &ev;
    f.has_version = 1;
    f.version = HUB_PROTOCOL_VERSION;
    f.has_corr = 1;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &pub;
    for (size_t i = 0; i < N_RATE_FLOOD; i++) {
        uint8_t buf[256];
        snprintf(id, sizeof id, "rate-%05zu", i);
        f.corr = i + 1;
        size_t len = hub__frame__pack(&f, buf);
        CHECK_INT(zmq_send(d.sock, buf, len, 0), (int)len);
    }
    /* every publish is answered: an ack or a rate error */
    size_t acks = 0, rate_errors = 0, other = 0;
    int64_t deadline = harness_now_ms() + 20000;
    zmq_pollitem_t item = {.socket = d.sock, .events = ZMQ_POLLIN};
    while (acks + rate_errors + other < N_RATE_FLOOD && harness_now_ms() < deadline &&
           zmq_poll(&item, 1, 1000) > 0) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, d.sock, 0) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        Hub__Frame *r = hub__frame__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        if (r && r->body_case == HUB__FRAME__BODY_PUBLISH_ACK)
            acks++;
        else if (r && r->body_case == HUB__FRAME__BODY_ERROR &&
                 r->error->code == HUB__ERROR_CODE__ERROR_CODE_UNAVAILABLE && r->error->message &&
                 strstr(r->error->message, "max_publish_rate"))
            rate_errors++;
        else
            other++;
        if (r)
            hub__frame__free_unpacked(r, NULL);
        zmq_msg_close(&msg);
    }
    printf("max_publish_rate %d: %zu acked, %zu refused for the rate, %zu other\n", RATE, acks, rate_errors, other);
    CHECK_INT(acks + rate_errors, N_RATE_FLOOD);
    CHECK_INT(other, 0);
    CHECK(acks >= RATE / 2);           /* the first second's allowance went through */
    CHECK(rate_errors >= N_RATE_FLOOD / 2); /* and most of the rest was refused */
    json_t *st = harness_status(h);
    REQUIRE(st != NULL);
    CHECK_INT(harness_status_u64(st, "events"), acks); /* nothing refused was stored */
    json_decref(st);
    CHECK_INT(harness_stop(h), 0);
done:
    s_dealer_close(&d);
    if (h)
        harness_destroy(&h, 0);
}

int main(void)
{
    harness_require();
#ifdef S_ASAN
    {
        const char *was = getenv("ASAN_OPTIONS");
        char opts[1024];
        snprintf(opts, sizeof opts, "%s%squarantine_size_mb=%d", was ? was : "", was && *was ? ":" : "",
                 ASAN_QUARANTINE_MB);
        setenv("ASAN_OPTIONS", opts, 1);
        printf("AddressSanitizer build: hubd runs with ASAN_OPTIONS=%s; bounds x%d\n", opts, RSS_FACTOR);
    }
#endif
    harness_opts_t o = {.policy_text = s_policy, .config_text = s_config};
    s_hub = HARNESS_NEW(&o);
    if (!s_hub || harness_start(s_hub) != 0) {
        fprintf(stderr, "cannot start hubd\n");
        if (s_hub)
            harness_destroy(&s_hub, 1);
        return 1;
    }
    /* the cases share one hub, in this order; the last checks it serves */
    static const check_case_t cases[] = {
        {"10,000 random and cut frames, garbage multipart: refused, memory bounded", test_bad_frames},
        {"50,000 publishes never read: others served, memory bounded", test_unread_publishes},
        {"still serving: publish and subscribe", test_still_serving},
        {"a client over its publish rate gets errors, nothing stored", test_rate_limit},
        {NULL, NULL},
    };
    int rc = check_run(cases);
    int problems = harness_destroy(&s_hub, rc ? 1 : 0);
    return rc || problems ? 1 : 0;
}
