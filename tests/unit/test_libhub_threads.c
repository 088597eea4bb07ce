/*
 * libhub_threads: clients made, used and destroyed on several threads at
 * once share one ZeroMQ context (client.c) without a race; run under
 * ThreadSanitizer by the quick start's tsan stage. Each thread's clients
 * talk to a ROUTER of their own that answers Hello, so every client
 * reaches a session before it goes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "client_int.h"
#include "clock.h"
#include "codec.h"

#define S_THREADS 4
#define S_ROUNDS 25 /* pairs of clients that each reach a session */
#define S_QUICK 200 /* clients made and destroyed at once */

typedef struct {
    int index;
    char dir[200];
    char endpoint[256];
    char nobody[256]; /* an endpoint nobody binds */
    void *ctx;        /* the test's own context, made before the threads (one for all) */
    int failures;
} s_job_t;

/* Answers every Hello on router with a Welcome, until the client says it
 * is ready (or 2 s pass). Returns 1 when it did. */
static int s_serve(void *router, hub_client_t *c)
{
    int64_t until = hub_mono_ms() + 2000;
    while (!c->ready && hub_mono_ms() < until) {
        uint8_t rid[256], data[4096];
        int n = zmq_recv(router, rid, sizeof rid, ZMQ_DONTWAIT);
        if (n < 0) {
            if (hub_client_step(c, hub_mono_ms() + 2) != 0)
                return 0;
            continue;
        }
        int len = zmq_recv(router, data, sizeof data, 0);
        Hub__Frame *f = NULL;
        char err[HUB_ERR_LEN];
        if (len < 0 || hub_frame_decode(data, (size_t)len, 0, &f, err) != 0)
            continue;
        if (f->body_case == HUB__FRAME__BODY_HELLO) {
            Hub__Welcome w = HUB__WELCOME__INIT;
            w.instance = (char *)"threads";
            w.has_frames = 1;
            w.frames = 256;
            Hub__Frame r = HUB__FRAME__INIT;
            r.has_corr = 1;
            r.corr = f->corr;
            r.body_case = HUB__FRAME__BODY_WELCOME;
            r.welcome = &w;
            hub_buf_t out = HUB_BUF_INIT;
            if (hub_frame_encode(&r, &out) == 0) {
                zmq_send(router, rid, (size_t)n, ZMQ_SNDMORE);
                zmq_send(router, out.data, out.len, 0);
            }
            hub_buf_fini(&out);
        }
        hub_frame_free(&f);
    }
    return c->ready;
}

/* Clients made and destroyed at once on every thread, with no other
 * ZeroMQ context in the process: the last client going on one thread
 * while another makes the next one (to an endpoint nobody binds: nothing
 * to wait for). */
static void *s_quick(void *arg)
{
    s_job_t *job = arg;
    for (int i = 0; i < S_QUICK; i++) {
        char err[HUB_ERR_LEN];
        hub_options_t o = {.endpoint = job->nobody, .client_name = "quick", .timeout_ms = 100, .key = ""};
        hub_client_t *c = hub_client_new(&o, err);
        if (!c)
            job->failures++;
        hub_client_destroy(&c);
    }
    return NULL;
}

static void *s_run(void *arg)
{
    s_job_t *job = arg;
    void *router = zmq_socket(job->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(router, job->endpoint) != 0) {
        job->failures++;
        goto done;
    }
    for (int i = 0; i < S_ROUNDS; i++) {
        char err[HUB_ERR_LEN];
        hub_options_t o = {.endpoint = job->endpoint, .client_name = "threads", .timeout_ms = 2000, .key = ""};
        hub_client_t *a = hub_client_new(&o, err), *b = hub_client_new(&o, err);
        if (!a || !b || a->ctx != b->ctx || !s_serve(router, a) || !s_serve(router, b))
            job->failures++;
        hub_client_destroy(&a);
        hub_client_destroy(&b);
    }
done:
    zmq_close(router);
    return NULL;
}

/* Runs fn on S_THREADS threads, each with a job of its own (a temporary
 * directory for its endpoints; with_ctx: a context of the test's, made
 * before the threads start and ended after they stop), and checks that
 * none failed. */
static void s_on_threads(void *(*fn)(void *), int with_ctx)
{
    s_job_t jobs[S_THREADS];
    pthread_t threads[S_THREADS];
    void *ctx = with_ctx ? zmq_ctx_new() : NULL;
    for (int i = 0; i < S_THREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].ctx = ctx;
        snprintf(jobs[i].dir, sizeof jobs[i].dir, "%s/hub-threads-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(jobs[i].dir)) {
            CHECK(!"mkdtemp failed");
            return;
        }
        snprintf(jobs[i].endpoint, sizeof jobs[i].endpoint, "ipc://%s/hub.sock", jobs[i].dir);
        snprintf(jobs[i].nobody, sizeof jobs[i].nobody, "ipc://%s/nobody.sock", jobs[i].dir);
    }
    int started = 0;
    while (started < S_THREADS && pthread_create(&threads[started], NULL, fn, &jobs[started]) == 0)
        started++;
    CHECK_INT(started, S_THREADS);
    for (int i = 0; i < S_THREADS; i++) {
        if (i < started)
            pthread_join(threads[i], NULL);
        CHECK_INT(jobs[i].failures, 0);
        char path[300];
        snprintf(path, sizeof path, "%s/hub.sock", jobs[i].dir);
        unlink(path);
        rmdir(jobs[i].dir);
    }
    if (ctx)
        zmq_ctx_term(ctx);
}

static void test_quick(void)
{
    s_on_threads(s_quick, 0);
}

static void test_sessions(void)
{
    s_on_threads(s_run, 1);
}

int main(void)
{
    static const check_case_t cases[] = {
        {"clients made and destroyed on four threads at once", test_quick},
        {"clients reaching a session on four threads at once", test_sessions},
        {NULL, NULL},
    };
    return check_run(cases);
}
