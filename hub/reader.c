/*
 * reader - answers audit readings off the broker loop; see reader.h for
 * the rules it keeps.
 *
 * A request on the pair is two frames: the client's routing id, then
 * [corr: 8 bytes, little-endian][actor, NUL-terminated][packed AuditQuery].
 * One empty frame alone tells the thread to stop. An answer is two frames:
 * the routing id and the packed reply frame, ready to send.
 */
#include "reader.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <zmq.h>

#include "audit.h"
#include "buf.h"
#include "codec.h"
#include "log.h"

#define S_FRAME_SLACK 64      /* bytes of a reply frame besides its rows, at most */
#define S_SEND_TIMEOUT_MS 1000 /* an answer the loop does not take in this time is dropped */
#define S_ACTOR_MAX 200        /* bytes of the actor passed along, at most */

struct hub_reader {
    void *loop_end;       /* PAIR, the loop's end (bound) */
    void *thread_end;     /* PAIR, the thread's end (connected); only the thread uses it after start */
    sqlite3 *db;          /* read-only; only the thread uses it after start */
    size_t max_reply;     /* bytes of a reply frame at most */
    pthread_t thread;
    int started;          /* 1: the thread runs */
    atomic_int stopping;  /* 1: skip what waits, the loop is going */
    hub_buf_t request;    /* the loop's scratch for requests */
    hub_buf_t out;        /* the thread's scratch for answers */
};

/* ------------------------------------------------------------ reading */

/* The rows of a reading, as JSON text (each malloc'd). */
typedef struct {
    char **rows;
    size_t n, cap;
} s_rows_t;

/* hub_audit_row_fn: keeps the row as the JSON text hubctl audit --json
 * prints. Returns 0, or -ENOMEM. */
static int s_keep_row(const hub_audit_row_t *row, const char *hash, void *arg)
{
    s_rows_t *a = arg;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        char **more = realloc(a->rows, ncap * sizeof *more);
        if (!more)
            return -ENOMEM;
        a->rows = more;
        a->cap = ncap;
    }
    json_t *json = hub_audit_row_json(row, hash);
    char *text = json ? json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    json_decref(json);
    if (!text)
        return -ENOMEM;
    a->rows[a->n++] = text;
    return 0;
}

/* Packs into self->out the answer to q: the chain's verdict, or the last
 * rows that match (limit, default HUB_READER_DEFAULT_ROWS, at most
 * HUB_READER_MAX_ROWS), oldest first, as many as fit in one frame;
 * truncated says that more matched. A failed reading is answered with an
 * Error frame. Returns 0, or -ENOMEM when not even that could be packed. */
static int s_answer(hub_reader_t *self, uint64_t corr, const char *actor, const Hub__AuditQuery *q)
{
    char err[HUB_ERR_LEN] = "";
    Hub__AuditReply reply = HUB__AUDIT_REPLY__INIT;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = corr;
    frame.body_case = HUB__FRAME__BODY_AUDIT_REPLY;
    frame.audit_reply = &reply;

    if (q->has_verify && q->verify) {
        hub_audit_verdict_t verdict;
        int rc = hub_audit_verify(self->db, &verdict, err);
        if (rc < 0) {
            hub_error("audit verify asked by %s: %s", actor, err);
            return hub_frame_encode_error(corr, rc, err, NULL, &self->out);
        }
        char line[HUB_ERR_LEN + 128];
        hub_audit_verdict_line(&verdict, line, sizeof line);
        reply.has_verified_rows = 1;
        reply.verified_rows = (uint64_t)verdict.rows;
        reply.has_broken_at = 1;
        reply.broken_at = (uint64_t)verdict.bad_id;
        reply.verdict = line;
        hub_info("audit verify asked by %s: %s", actor, line);
        return hub_frame_encode(&frame, &self->out);
    }

    size_t limit = q->has_limit && q->limit > 0 ? q->limit : HUB_READER_DEFAULT_ROWS;
    if (limit > HUB_READER_MAX_ROWS)
        limit = HUB_READER_MAX_ROWS;
    hub_audit_filter_t f = {
        .case_id = q->case_id,
        .event_id = q->event_id,
        .actor = q->actor,
        .action = q->action,
        .department = q->department,
        .has_since = q->has_since_ms,
        .since_ms = q->since_ms,
        .has_until = q->has_until_ms,
        .until_ms = q->until_ms,
        .limit = (int64_t)limit + 1, /* one more than sent: tells whether more matched */
    };
    s_rows_t rows = {0};
    int rc = hub_audit_read(self->db, &f, s_keep_row, &rows, err);
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(err, sizeof err, "out of memory reading the audit log");
        hub_error("audit query by %s: %s", actor, err);
        rc = hub_frame_encode_error(corr, rc, err, NULL, &self->out);
    } else {
        /* the last limit rows of those that match; the oldest of limit + 1 goes */
        size_t first = rows.n > limit ? 1 : 0;
        size_t size = S_FRAME_SLACK, n = 0;
        for (size_t i = first; i < rows.n; i++, n++) {
            size_t len = strlen(rows.rows[i]);
            size_t row_size = 1 + hub_varint_size(len) + len;
            if (size + row_size > self->max_reply)
                break;
            size += row_size;
        }
        reply.rows = rows.rows + first;
        reply.n_rows = n;
        reply.has_truncated = 1;
        reply.truncated = first || first + n < rows.n;
        hub_debug("audit query by %s: %zu rows%s", actor, n, reply.truncated ? " (truncated)" : "");
        rc = hub_frame_encode(&frame, &self->out);
    }
    for (size_t i = 0; i < rows.n; i++)
        free(rows.rows[i]);
    free(rows.rows);
    return rc;
}

/* Unpacks one request and sends its answer to the loop. */
static void s_handle(hub_reader_t *self, zmq_msg_t *rid, zmq_msg_t *req)
{
    const uint8_t *data = zmq_msg_data(req);
    size_t len = zmq_msg_size(req);
    const uint8_t *nul = len > 8 ? memchr(data + 8, '\0', len - 8) : NULL;
    if (!nul) {
        hub_error("reader: a request without its header (our own bug)");
        return;
    }
    uint64_t corr = 0;
    for (int i = 7; i >= 0; i--)
        corr = corr << 8 | data[i];
    const char *actor = (const char *)data + 8;
    size_t off = (size_t)(nul - data) + 1;
    Hub__AuditQuery *q = hub__audit_query__unpack(NULL, len - off, data + off);
    int rc = q ? s_answer(self, corr, actor, q) : hub_frame_encode_error(corr, -HUB_EINTERNAL, NULL, NULL, &self->out);
    if (q)
        hub__audit_query__free_unpacked(q, NULL);
    if (rc != 0) {
        hub_error("reader: out of memory answering %s", actor);
        return;
    }
    if (zmq_send(self->thread_end, zmq_msg_data(rid), zmq_msg_size(rid), ZMQ_SNDMORE) < 0 ||
        zmq_send(self->thread_end, self->out.data, self->out.len, 0) < 0)
        hub_warn("reader: the answer to %s was dropped: %s", actor, zmq_strerror(zmq_errno()));
}

static void *s_run(void *arg)
{
    hub_reader_t *self = arg;
    pthread_setname_np(pthread_self(), HUB_THREAD_READER);
    for (;;) {
        zmq_msg_t rid, req;
        zmq_msg_init(&rid);
        zmq_msg_init(&req);
        if (zmq_msg_recv(&rid, self->thread_end, 0) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&req);
            if (zmq_errno() == EINTR)
                continue;
            break; /* the context is going */
        }
        int more = zmq_msg_more(&rid);
        if (!more) {
            zmq_msg_close(&rid);
            zmq_msg_close(&req);
            break; /* the stop message */
        }
        while (zmq_msg_recv(&req, self->thread_end, 0) < 0 && zmq_errno() == EINTR)
            ;
        if (!atomic_load(&self->stopping))
            s_handle(self, &rid, &req);
        zmq_msg_close(&rid);
        zmq_msg_close(&req);
    }
    return NULL;
}

/* ------------------------------------------------------------ lifetime */

hub_reader_t *hub_reader_new(void *ctx, const char *db_path, size_t max_reply, char err[HUB_ERR_LEN])
{
    hub_reader_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    atomic_init(&self->stopping, 0);
    self->max_reply = max_reply < HUB_READER_MAX_REPLY ? max_reply : HUB_READER_MAX_REPLY;
    self->request = (hub_buf_t)HUB_BUF_INIT;
    self->out = (hub_buf_t)HUB_BUF_INIT;
    if (sqlite3_open_v2(db_path, &self->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, HUB_ERR_LEN, "audit reader: cannot open %s: %s", db_path,
                 self->db ? sqlite3_errmsg(self->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(self->db, 1000);

    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://hub-reader-%p", (void *)self);
    int linger = 0, hwm = HUB_READER_QUEUE, timeout = S_SEND_TIMEOUT_MS;
    self->loop_end = zmq_socket(ctx, ZMQ_PAIR);
    self->thread_end = zmq_socket(ctx, ZMQ_PAIR);
    if (!self->loop_end || !self->thread_end || zmq_setsockopt(self->loop_end, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(self->thread_end, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(self->loop_end, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(self->thread_end, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(self->thread_end, ZMQ_SNDTIMEO, &timeout, sizeof timeout) ||
        zmq_bind(self->loop_end, endpoint) || zmq_connect(self->thread_end, endpoint)) {
        snprintf(err, HUB_ERR_LEN, "audit reader: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        snprintf(err, HUB_ERR_LEN, "audit reader: cannot start its thread");
        goto fail;
    }
    self->started = 1;
    return self;
fail:
    hub_reader_destroy(&self);
    return NULL;
}

void hub_reader_destroy(hub_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_reader_t *self = *self_p;
    if (self->started) {
        atomic_store(&self->stopping, 1);
        /* blocks while the queue is full: the thread empties it, skipping */
        while (zmq_send(self->loop_end, "", 0, 0) < 0 && zmq_errno() == EINTR)
            ;
        pthread_join(self->thread, NULL);
    }
    if (self->loop_end)
        zmq_close(self->loop_end);
    if (self->thread_end)
        zmq_close(self->thread_end);
    sqlite3_close(self->db);
    hub_buf_fini(&self->request);
    hub_buf_fini(&self->out);
    free(self);
    *self_p = NULL;
}

void *hub_reader_socket(hub_reader_t *self)
{
    return self->loop_end;
}

/* ------------------------------------------------------------ the loop's side */

int hub_reader_ask(hub_reader_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, const char *actor,
                   const Hub__AuditQuery *q)
{
    size_t actor_len = strnlen(actor, S_ACTOR_MAX);
    size_t packed = hub__audit_query__get_packed_size(q);
    hub_buf_reset(&self->request);
    if (hub_buf_reserve(&self->request, 8 + actor_len + 1 + packed) != 0)
        return -ENOMEM;
    uint8_t *p = self->request.data;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(corr >> (8 * i));
    memcpy(p + 8, actor, actor_len);
    p[8 + actor_len] = '\0';
    hub__audit_query__pack(q, p + 8 + actor_len + 1);
    size_t len = 8 + actor_len + 1 + packed;
    if (zmq_send(self->loop_end, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -zmq_errno();
    /* a PAIR takes a message whole: the second part cannot be refused once the first was taken */
    while (zmq_send(self->loop_end, p, len, 0) < 0) {
        if (zmq_errno() != EINTR)
            return -zmq_errno();
    }
    return 0;
}

int hub_reader_take(hub_reader_t *self, zmq_msg_t *rid, zmq_msg_t *frame)
{
    if (zmq_msg_recv(rid, self->loop_end, ZMQ_DONTWAIT) < 0)
        return 0;
    /* the frame is the second part of the same message: already here */
    while (zmq_msg_recv(frame, self->loop_end, 0) < 0)
        if (zmq_errno() != EINTR)
            return 0;
    return 1;
}
