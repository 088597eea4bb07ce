/*
 * client - the session with hubd: one DEALER socket, Hello and Welcome,
 * heartbeats, reconnection, and hub_client_step, where all of the client's
 * I/O happens. The state machine and its rules are in client_int.h.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "client_int.h"
#include "clock.h"
#include "codec.h"
#include "ident.h"
#include "json.h"

#define S_DEFAULT_TIMEOUT_MS 5000   /* timeout_ms of 0 in the options */
#define S_DEFAULT_HEARTBEAT_MS 1000 /* heartbeat_ms of 0 in the options */
#define S_RECONNECT_IVL_MS 100      /* ZMQ_RECONNECT_IVL */
#define S_RECONNECT_MAX_MS 1000     /* ZMQ_RECONNECT_IVL_MAX */
#define S_DESTROY_LINGER_MS 200     /* time given to the last acks at destroy */
#define S_DRAIN_MAX 65536           /* frames handled in one go before timers run */

/* ------------------------------------------------------------- helpers */

void hub_client_errf(char err[HUB_ERR_LEN], const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, HUB_ERR_LEN, fmt, ap);
    va_end(ap);
}

uint64_t hub_client_corr(hub_client_t *self)
{
    if (++self->next_corr == 0)
        self->next_corr = 1;
    return self->next_corr;
}

int64_t hub_client_deadline(const hub_client_t *self, int timeout_ms)
{
    return hub_mono_ms() + (timeout_ms < 0 ? self->timeout_ms : timeout_ms);
}

int hub_client_error_rc(const Hub__Error *error)
{
    switch (error && error->has_code ? error->code : HUB__ERROR_CODE__ERROR_CODE_UNSPECIFIED) {
    case HUB__ERROR_CODE__ERROR_CODE_MALFORMED:
        return -HUB_EMALFORMED;
    case HUB__ERROR_CODE__ERROR_CODE_UNSUPPORTED:
        return -HUB_EUNSUPPORTED;
    case HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE:
        return -HUB_ETOOLARGE;
    case HUB__ERROR_CODE__ERROR_CODE_INVALID:
        return -HUB_EINVALID;
    case HUB__ERROR_CODE__ERROR_CODE_DENIED:
        return -HUB_EDENIED;
    case HUB__ERROR_CODE__ERROR_CODE_UNAVAILABLE:
        return -HUB_EUNAVAILABLE;
    case HUB__ERROR_CODE__ERROR_CODE_UNKNOWN_SUBSCRIBER:
        return -HUB_EUNKNOWN;
    default:
        return -HUB_EINTERNAL;
    }
}

void hub_client_error_text(const Hub__Error *error, char err[HUB_ERR_LEN])
{
    if (!err)
        return;
    const char *message = error && error->message && *error->message ? error->message
                                                                       : hub_strerror(hub_client_error_rc(error));
    /* the hub's messages start with the field already ("seq: ..."): once */
    size_t n = error && error->field ? strlen(error->field) : 0;
    int named = n > 0 && strncmp(message, error->field, n) == 0 && message[n] == ':';
    if (n > 0 && !named)
        hub_client_errf(err, "%s: %s", error->field, message);
    else
        hub_client_errf(err, "%s", message);
}

void hub_client_timeout_text(const hub_client_t *self, const char *what, int64_t waited_ms,
                             char err[HUB_ERR_LEN])
{
    if (self->curve)
        hub_client_errf(err,
                        "%s%sno answer from the hub at %s within %lld ms (is hubd running? is this client's key "
                        "known to the hub? see keys.clients; and is the server key the hub's?)",
                        what ? what : "", what ? ": " : "", self->endpoint, (long long)waited_ms);
    else
        hub_client_errf(err, "%s%sno answer from the hub at %s within %lld ms (is hubd running?)", what ? what : "",
                        what ? ": " : "", self->endpoint, (long long)waited_ms);
}

int hub_client_refused(const hub_client_t *self, char err[HUB_ERR_LEN])
{
    if (self->ready || self->hello_rc == 0)
        return 0;
    hub_client_errf(err, "hello: %s", self->hello_err);
    return self->hello_rc;
}

/* ------------------------------------------------------------- sending */

/* Sends one message without blocking. */
static int s_send_raw(hub_client_t *self, const void *data, size_t len)
{
    if (!self->sock)
        return -ENOTCONN;
    if (zmq_send(self->sock, data, len, ZMQ_DONTWAIT) < 0)
        return -errno;
    return 0;
}

int hub_client_flush(hub_client_t *self)
{
    if (hub_gather_count(&self->gather) == 0)
        return 0;
    const uint8_t *msg;
    size_t len;
    hub_gather_seal(&self->gather, &msg, &len);
    int rc = s_send_raw(self, msg, len);
    hub_gather_reset(&self->gather);
    int64_t now = hub_mono_ms();
    if (now > self->gather_ms)
        hub_pending_restamp(&self->pending, self->gather_ms, now);
    return rc;
}

int hub_client_send_bytes(hub_client_t *self, const void *data, size_t len)
{
    (void)hub_client_flush(self);
    return s_send_raw(self, data, len);
}

int hub_client_gather(hub_client_t *self, const uint8_t *frame, size_t len, int64_t now)
{
    if (self->hub_frames < 2)
        return hub_client_send_bytes(self, frame, len);
    size_t most = self->max_frame && self->max_frame < HUB_GATHER_BYTES ? self->max_frame : HUB_GATHER_BYTES;
    int rc = 0;
    if (hub_gather_count(&self->gather) > 0 && hub_gather_size_with(&self->gather, len) > most)
        rc = hub_client_flush(self);
    if (hub_gather_count(&self->gather) == 0)
        self->gather_ms = now;
    if (hub_gather_add(&self->gather, frame, len) != 0)
        return hub_client_send_bytes(self, frame, len);
    size_t limit = self->hub_frames < HUB_GATHER_FRAMES ? self->hub_frames : HUB_GATHER_FRAMES;
    if (hub_gather_count(&self->gather) >= limit) {
        int sent = hub_client_flush(self);
        rc = rc ? rc : sent;
    }
    return rc;
}

int hub_client_send(hub_client_t *self, Hub__Frame *frame)
{
    int rc = hub_frame_encode(frame, &self->out);
    if (rc < 0)
        return rc;
    return hub_client_send_bytes(self, self->out.data, self->out.len);
}

/* Sends a Hello on the current socket and starts waiting for its Welcome.
 * The client is CONNECTING afterwards, whether or not the send worked: the
 * liveness timer retries on a new socket. */
static void s_send_hello(hub_client_t *self, int64_t now)
{
    Hub__Hello hello = HUB__HELLO__INIT;
    hello.client = self->client_name;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = hub_client_corr(self);
    frame.body_case = HUB__FRAME__BODY_HELLO;
    frame.hello = &hello;
    self->ready = 0;
    self->hub_frames = 0;
    hub_gather_reset(&self->gather); /* pending publishes go again after the Welcome */
    self->hello_corr = frame.corr;
    self->hello_ms = now;
    self->hello_rc = 0;
    self->hello_err[0] = '\0';
    self->probe_corr = 0;
    (void)hub_client_send(self, &frame);
}

/* Sends a Heartbeat probe. Returns as hub_client_send. */
static int s_send_probe(hub_client_t *self, int64_t now)
{
    Hub__Heartbeat heartbeat = HUB__HEARTBEAT__INIT;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = hub_client_corr(self);
    frame.body_case = HUB__FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &heartbeat;
    self->probe_corr = frame.corr;
    self->probe_ms = now;
    return hub_client_send(self, &frame);
}

/* Makes sock a CURVE client with the client's keys. Must come before
 * zmq_connect: the options apply to connections made afterwards. Returns 0,
 * or -1 with errno set. */
static int s_set_curve(const hub_client_t *self, void *sock)
{
    /* z85 keys are given as 41 bytes, the terminating NUL included */
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, self->curve_server, HUB_KEY_SIZE) < 0
        || zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, self->curve_public, HUB_KEY_SIZE) < 0
        || zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->curve_secret, HUB_KEY_SIZE) < 0)
        return -1;
    return 0;
}

/* Opens the DEALER socket (CURVE when the client has keys: on every new
 * socket, reconnections included) and connects it. Returns 0 or -errno (the
 * client then has no socket). */
static int s_open(hub_client_t *self)
{
    void *sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!sock)
        return -errno;
    int zero = 0, hwm = HUB_CLIENT_HWM, ivl = S_RECONNECT_IVL_MS, ivl_max = S_RECONNECT_MAX_MS;
    int64_t max_msg = HUB_CLIENT_MAX_MSG;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) < 0
        || zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0
        || zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0
        || zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg) < 0
        || zmq_setsockopt(sock, ZMQ_IMMEDIATE, &zero, sizeof zero) < 0
        || zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) < 0
        || zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) < 0
        || (self->curve && s_set_curve(self, sock) < 0) || zmq_connect(sock, self->endpoint) < 0) {
        int rc = -errno;
        zmq_close(sock);
        return rc;
    }
    self->sock = sock;
    return 0;
}

/* ------------------------------------------------------------ context */

/* The clients of a process share one ZeroMQ context, so that one I/O
 * thread serves all their sockets (a process with a publisher and four
 * subscribers ran five, each woken for its own socket's every message);
 * the last client to go terminates it. A child forked with clients alive
 * does not touch its parent's context: it makes its own. */
static pthread_mutex_t s_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static void *s_ctx;         /* the shared context, or NULL (under s_ctx_lock) */
static size_t s_ctx_users;  /* clients holding it */
static pid_t s_ctx_pid;     /* the process that made it */
static pthread_once_t s_ctx_once = PTHREAD_ONCE_INIT;

/* A fork waits for the lock and lets it go on both sides, so that a child
 * forked while another thread held it can still make clients. */
static void s_ctx_lock_take(void)
{
    pthread_mutex_lock(&s_ctx_lock);
}

static void s_ctx_lock_give(void)
{
    pthread_mutex_unlock(&s_ctx_lock);
}

static void s_ctx_setup(void)
{
    (void)pthread_atfork(s_ctx_lock_take, s_ctx_lock_give, s_ctx_lock_give);
}

/* The shared context, for one more client; NULL with errno when none can
 * be made. */
static void *s_ctx_take(void)
{
    pthread_once(&s_ctx_once, s_ctx_setup);
    pthread_mutex_lock(&s_ctx_lock);
    if (s_ctx && s_ctx_pid != getpid()) {
        s_ctx = NULL; /* the parent's: left alone, as the parent's clients are */
        s_ctx_users = 0;
    }
    if (!s_ctx) {
        s_ctx = zmq_ctx_new();
        s_ctx_pid = getpid();
    }
    if (s_ctx)
        s_ctx_users++;
    void *ctx = s_ctx;
    int saved = errno;
    pthread_mutex_unlock(&s_ctx_lock);
    errno = saved;
    return ctx;
}

/* A client gives the context back (its socket closed); the last one
 * terminates it, which waits for what sockets still linger to send. The
 * lock is held meanwhile: a context made while another is terminated
 * races inside libzmq's transports (OpenPGM's process-wide set-up, seen
 * by ThreadSanitizer), so a client made then waits for the end (at most
 * the linger, 200 ms). */
static void s_ctx_give(void *ctx)
{
    pthread_mutex_lock(&s_ctx_lock);
    if (ctx == s_ctx && s_ctx_pid == getpid() && --s_ctx_users == 0) {
        s_ctx = NULL;
        zmq_ctx_term(ctx);
    }
    pthread_mutex_unlock(&s_ctx_lock);
}

/* Drops the socket (and whatever it still queued) and starts over on a new
 * one, which the hub sees as a new client: Hello, then Welcome restores the
 * session (rule 2). */
static void s_reconnect(hub_client_t *self, int64_t now)
{
    if (self->sock) {
        zmq_close(self->sock);
        self->sock = NULL;
    }
    (void)s_open(self);
    s_send_hello(self, now);
}

/* ------------------------------------------------------------ receiving */

static void s_on_welcome(hub_client_t *self, const Hub__Welcome *welcome, int64_t now)
{
    self->ready = 1;
    self->hello_corr = 0;
    self->hello_rc = 0;
    self->sessions++;
    if (welcome->instance)
        snprintf(self->instance, sizeof self->instance, "%s", welcome->instance);
    self->max_frame = welcome->has_max_frame ? welcome->max_frame : 0;
    self->hub_frames = welcome->has_frames ? welcome->frames : 0;
    self->probe_corr = 0;
    self->probe_ms = now;
    hub_publish_on_welcome(self);
    hub_subscribe_on_welcome(self);
}

static void s_on_heartbeat(hub_client_t *self, uint64_t corr, const Hub__Heartbeat *heartbeat, int64_t now)
{
    if (corr == 0 || corr > self->next_corr) {
        self->frames_dropped++; /* not an answer to any probe of ours */
        return;
    }
    if (corr != self->probe_corr)
        return; /* an earlier probe's answer, overtaken by a newer probe */
    self->probe_corr = 0;
    self->heartbeats++;
    const char *instance = heartbeat->instance ? heartbeat->instance : "";
    if (self->ready && *instance && strncmp(instance, self->instance, sizeof self->instance - 1) != 0)
        s_send_hello(self, now); /* the hub restarted: it knows nothing of us */
}

/* The answer to the admin request waiting (a StatusReply, AuditReply,
 * NotificationList, ..., kept as JSON). */
static void s_on_admin_reply(hub_client_t *self, uint64_t corr, Hub__Frame__BodyCase body,
                             const ProtobufCMessage *reply)
{
    if (corr == 0 || corr != self->status_corr || body != self->status_body) {
        self->frames_dropped++;
        return;
    }
    free(self->status_json);
    self->status_json = hub_message_to_json_text(reply);
    self->status_rc = self->status_json ? 0 : -ENOMEM;
    self->status_done = 1;
    self->status_corr = 0;
}

static void s_on_error(hub_client_t *self, uint64_t corr, const Hub__Error *error, int64_t now)
{
    if (corr == 0) {
        self->frames_dropped++; /* about a frame the hub could not read */
        return;
    }
    if (corr == self->hello_corr) {
        self->hello_rc = hub_client_error_rc(error);
        hub_client_error_text(error, self->hello_err);
        return;
    }
    if (hub_publish_on_error(self, corr, error) || hub_subscribe_on_error(self, corr, error))
        return;
    if (corr == self->status_corr) {
        self->status_rc = hub_client_error_rc(error);
        hub_client_error_text(error, self->status_err);
        self->status_done = 1;
        self->status_corr = 0;
        return;
    }
    if (corr == self->probe_corr) {
        /* a hub that refuses our probe does not know this session */
        self->probe_corr = 0;
        s_send_hello(self, now);
        return;
    }
    self->frames_dropped++;
}

/* Decodes and dispatches one frame from the hub. */
static void s_handle(hub_client_t *self, const void *data, size_t len, int64_t now)
{
    Hub__Frame *frame = NULL;
    char err[HUB_ERR_LEN];
    self->last_heard_ms = now;
    if (hub_frame_decode(data, len, HUB_CLIENT_MAX_MSG, &frame, err) < 0) {
        self->frames_dropped++;
        return;
    }
    uint64_t corr = frame->has_corr ? frame->corr : 0;
    switch (frame->body_case) {
    case HUB__FRAME__BODY_WELCOME:
        if (corr != 0 && corr == self->hello_corr && frame->welcome)
            s_on_welcome(self, frame->welcome, now);
        else
            self->frames_dropped++;
        break;
    case HUB__FRAME__BODY_HEARTBEAT:
        if (frame->heartbeat)
            s_on_heartbeat(self, corr, frame->heartbeat, now);
        break;
    case HUB__FRAME__BODY_PUBLISH_ACK:
        if (frame->publish_ack)
            hub_publish_on_ack(self, corr, frame->publish_ack);
        break;
    case HUB__FRAME__BODY_PUBLISH_ACKS:
        for (size_t i = 0; frame->publish_acks && i < frame->publish_acks->n_acks; i++) {
            const Hub__PublishAck *ack = frame->publish_acks->acks[i];
            hub_publish_on_ack(self, ack->has_corr ? ack->corr : 0, ack);
        }
        break;
    case HUB__FRAME__BODY_SUBSCRIBED:
        if (frame->subscribed)
            hub_subscribe_on_subscribed(self, corr, frame->subscribed);
        break;
    case HUB__FRAME__BODY_DELIVER:
        hub_subscribe_on_deliver(self, &frame);
        break;
    case HUB__FRAME__BODY_ERROR:
        if (frame->error)
            s_on_error(self, corr, frame->error, now);
        break;
    case HUB__FRAME__BODY_STATUS_REPLY:
        if (frame->status_reply)
            s_on_admin_reply(self, corr, frame->body_case, &frame->status_reply->base);
        break;
    case HUB__FRAME__BODY_AUDIT_REPLY:
        if (frame->audit_reply)
            s_on_admin_reply(self, corr, frame->body_case, &frame->audit_reply->base);
        break;
    case HUB__FRAME__BODY_NOTIFICATION_LIST:
        if (frame->notification_list)
            s_on_admin_reply(self, corr, frame->body_case, &frame->notification_list->base);
        break;
    case HUB__FRAME__BODY_DEAD_LETTER_DONE:
        if (frame->dead_letter_done)
            s_on_admin_reply(self, corr, frame->body_case, &frame->dead_letter_done->base);
        break;
    case HUB__FRAME__BODY_POLICY_REPLY:
        if (frame->policy_reply)
            s_on_admin_reply(self, corr, frame->body_case, &frame->policy_reply->base);
        break;
    default:
        self->frames_dropped++;
        break;
    }
    hub_frame_free(&frame);
}

/* Handles every frame waiting in the socket, without blocking. Returns how
 * many, or -ETERM / -ENOMEM when the client cannot go on. */
static int s_drain(hub_client_t *self)
{
    int handled = 0;
    zmq_msg_t msg;
    if (zmq_msg_init(&msg) < 0)
        return -ENOMEM;
    int64_t now = hub_mono_ms();
    while (self->sock && handled < S_DRAIN_MAX) {
        if (zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT) < 0) {
            if (errno == EINTR)
                continue;
            int rc = errno == ETERM ? -ETERM : 0;
            zmq_msg_close(&msg);
            return rc < 0 ? rc : handled;
        }
        handled++;
        if (zmq_msg_more(&msg)) {
            /* the hub sends one part per message: drop the whole message */
            self->frames_dropped++;
            while (zmq_msg_more(&msg) && zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT) >= 0) {
            }
            continue;
        }
        s_handle(self, zmq_msg_data(&msg), zmq_msg_size(&msg), now);
    }
    zmq_msg_close(&msg);
    return handled;
}

/* ---------------------------------------------------------------- timers */

static int64_t s_min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* When the next session timer falls due. */
static int64_t s_next_due(const hub_client_t *self)
{
    int64_t hb = self->heartbeat_ms;
    if (!self->ready)
        return self->hello_ms + 3 * hb;
    int64_t due = self->probe_corr ? self->probe_ms + 3 * hb : self->probe_ms + hb;
    return s_min64(due, hub_publish_next_due(self));
}

/* Heartbeat, liveness and resend timers (rule 3). */
static void s_run_timers(hub_client_t *self, int64_t now)
{
    int64_t hb = self->heartbeat_ms;
    if (!self->ready) {
        if (now - self->hello_ms >= 3 * hb)
            s_reconnect(self, now);
        return;
    }
    if (self->probe_corr && now - self->probe_ms >= 3 * hb) {
        if (self->last_heard_ms < self->probe_ms) {
            s_reconnect(self, now); /* not a word since the probe: the link is dead */
            return;
        }
        self->probe_corr = 0; /* the hub talks but this answer got lost: probe again */
    }
    if (!self->probe_corr && now - self->probe_ms >= hb)
        (void)s_send_probe(self, now);
    hub_publish_on_timer(self, now);
}

int hub_client_step(hub_client_t *self, int64_t deadline)
{
    (void)hub_client_flush(self); /* the caller waits now: nothing gathered waits with it */
    int handled = s_drain(self);
    if (handled < 0)
        return handled;
    int64_t now = hub_mono_ms();
    s_run_timers(self, now);
    hub_subscribe_flush_acks(self);
    if (handled > 0)
        return 0; /* the caller looks at what arrived before waiting again */

    int64_t wake = s_min64(deadline, s_next_due(self));
    int64_t wait_ms = wake - now;
    if (wait_ms <= 0)
        return 0;
    if (wait_ms > INT_MAX)
        wait_ms = INT_MAX;
    zmq_pollitem_t item = {self->sock, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(self->sock ? &item : NULL, self->sock ? 1 : 0, (long)wait_ms);
    if (n < 0)
        return errno == EINTR ? -EINTR : errno == ETERM ? -ETERM : -errno;
    if (n > 0) {
        handled = s_drain(self);
        if (handled < 0)
            return handled;
    }
    return 0;
}

/* ------------------------------------------------------------ public API */

/* The key options, or their environment fallbacks: NULL means "not set". */
static const char *s_option_or_env(const char *option, const char *env_name)
{
    const char *value = option ? option : getenv(env_name);
    return value && *value ? value : NULL;
}

/* Reads the client's key pair and the hub's public key when a key is set
 * (see hub_options_t). Returns 0 (self->curve tells whether CURVE is on);
 * or a negative code with err naming the file or the option. */
static int s_load_keys(hub_client_t *self, const hub_options_t *o, char err[HUB_ERR_LEN])
{
    if (o->key && !*o->key)
        return 0; /* CURVE off on purpose, whatever the environment says */
    const char *key = s_option_or_env(o->key, "HUB_KEY");
    const char *server_key = s_option_or_env(o->server_key, "HUB_SERVER_KEY");
    if (!key && !server_key)
        return 0;
    if (!key) {
        hub_client_errf(err,
                        "server key %s given without a client key: set the client's key pair too (key option or "
                        "$HUB_KEY, a path prefix: PREFIX.key and PREFIX.secret)",
                        server_key);
        return -HUB_ECONFIG;
    }
    if (!server_key) {
        hub_client_errf(err,
                        "client key %s given without the hub's public key: set it too (server_key option or "
                        "$HUB_SERVER_KEY, e.g. /etc/switchboard/keys/hubd.key)",
                        key);
        return -HUB_ECONFIG;
    }
    int rc = hub_key_read_pair(key, self->curve_public, self->curve_secret, err);
    if (rc == 0)
        rc = hub_key_read(server_key, 0, self->curve_server, err);
    if (rc < 0)
        return rc;
    self->curve = 1;
    return 0;
}

hub_client_t *hub_client_new(const hub_options_t *opts, char err[HUB_ERR_LEN])
{
    hub_options_t o = {0};
    if (opts)
        o = *opts;
    const char *endpoint = o.endpoint;
    if (!endpoint || !*endpoint)
        endpoint = getenv("HUB_ENDPOINT");
    if (!endpoint || !*endpoint)
        endpoint = HUB_DEFAULT_ENDPOINT;

    hub_client_t *self = calloc(1, sizeof(*self));
    if (!self) {
        hub_client_errf(err, "out of memory");
        return NULL;
    }
    self->endpoint = strdup(endpoint);
    self->client_name = strdup(o.client_name && *o.client_name ? o.client_name : "libhub");
    self->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : S_DEFAULT_TIMEOUT_MS;
    self->heartbeat_ms = o.heartbeat_ms > 0 ? o.heartbeat_ms : S_DEFAULT_HEARTBEAT_MS;
    if (!self->endpoint || !self->client_name || hub_publish_init(self) < 0 || hub_subscribe_init(self) < 0) {
        hub_client_errf(err, "out of memory");
        hub_client_destroy(&self);
        return NULL;
    }
    if (s_load_keys(self, &o, err) < 0) {
        hub_client_destroy(&self);
        return NULL;
    }
    self->ctx = s_ctx_take();
    if (!self->ctx) {
        hub_client_errf(err, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        hub_client_destroy(&self);
        return NULL;
    }
    int rc = s_open(self);
    if (rc < 0) {
        hub_client_errf(err, "endpoint \"%s\": %s", self->endpoint, zmq_strerror(-rc));
        hub_client_destroy(&self);
        return NULL;
    }
    s_send_hello(self, hub_mono_ms());
    return self;
}

void hub_client_destroy(hub_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_client_t *self = *self_p;
    if (self->sock) {
        if (self->ready) {
            /* best effort: give the last acks a moment to leave, both those
             * kept here and those already handed to ZeroMQ but not yet
             * written (with a linger of 0 those would be dropped) */
            int linger = S_DESTROY_LINGER_MS;
            zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
            (void)hub_client_flush(self);
            if (self->n_acks > 0)
                hub_subscribe_flush_acks(self);
        }
        zmq_close(self->sock);
    }
    if (self->ctx)
        s_ctx_give(self->ctx);
    hub_publish_fini(self);
    hub_subscribe_fini(self);
    free(self->status_json);
    free(self->endpoint);
    free(self->client_name);
    hub_buf_fini(&self->out);
    hub_gather_fini(&self->gather);
    hub_key_wipe(self->curve_secret, sizeof self->curve_secret);
    free(self);
    *self_p = NULL;
}

int hub_client_ping(hub_client_t *self, int timeout_ms)
{
    if (!self)
        return -EINVAL;
    int64_t deadline = hub_client_deadline(self, timeout_ms);
    /* a live session answers a probe; a new one answers with a Welcome */
    uint64_t sessions = self->sessions, heartbeats = self->heartbeats;
    int probed = 0;
    for (;;) {
        if (self->sessions != sessions)
            return 0;
        if (self->ready && !probed) {
            (void)s_send_probe(self, hub_mono_ms());
            probed = 1;
        }
        if (probed && self->heartbeats != heartbeats)
            return 0;
        int rc = hub_client_refused(self, NULL);
        if (rc < 0)
            return rc;
        if (hub_mono_ms() >= deadline)
            return -ETIMEDOUT;
        rc = hub_client_step(self, deadline);
        if (rc < 0)
            return rc;
        if (!self->ready)
            probed = 0; /* the session was lost: wait for the next Welcome */
    }
}

const char *hub_client_endpoint(const hub_client_t *self)
{
    return self ? self->endpoint : "";
}

int hub_client_set_user(hub_client_t *self, const char *user)
{
    if (!self)
        return -EINVAL;
    if (!user || !*user) {
        self->user[0] = '\0';
        return 0;
    }
    if (!hub_user_valid(user))
        return -HUB_EINVALID;
    snprintf(self->user, sizeof self->user, "%s", user);
    return 0;
}

/* Sends the admin request frame (its corr is set here; sent again in a
 * new session) and waits for its answer as JSON (reply: the body
 * expected). what names the call in err. Returns as hub_status. */
static int s_admin_call(hub_client_t *self, Hub__Frame *frame, Hub__Frame__BodyCase reply, const char *what,
                        char **json_p, int timeout_ms, char err[HUB_ERR_LEN])
{
    int64_t start = hub_mono_ms();
    int64_t deadline = hub_client_deadline(self, timeout_ms);
    uint64_t sent_in = 0; /* session the request went out in; 0: not sent */
    self->status_done = 0;
    self->status_corr = 0;
    self->status_body = reply;
    for (;;) {
        if (self->ready && sent_in != self->sessions) {
            /* rule 1: only in READY; a new session has not seen the request */
            frame->has_corr = 1;
            frame->corr = hub_client_corr(self);
            if (hub_client_send(self, frame) == 0) {
                self->status_corr = frame->corr;
                sent_in = self->sessions;
            }
        }
        if (self->status_done) {
            self->status_done = 0;
            if (self->status_rc < 0) {
                hub_client_errf(err, "%s: %s", what, self->status_err);
                return self->status_rc;
            }
            *json_p = self->status_json;
            self->status_json = NULL;
            return 0;
        }
        int rc = hub_client_refused(self, err);
        if (rc < 0) {
            self->status_corr = 0;
            return rc;
        }
        int64_t now = hub_mono_ms();
        if (now >= deadline) {
            hub_client_timeout_text(self, NULL, now - start, err);
            self->status_corr = 0;
            return -ETIMEDOUT;
        }
        rc = hub_client_step(self, deadline);
        if (rc < 0) {
            hub_client_errf(err, "%s: %s", what, hub_strerror(rc));
            self->status_corr = 0;
            return rc;
        }
    }
}

int hub_status(hub_client_t *self, char **json_p, int timeout_ms, char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (!self || !json_p)
        return -EINVAL;
    *json_p = NULL;
    Hub__StatusRequest request = HUB__STATUS_REQUEST__INIT;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.body_case = HUB__FRAME__BODY_STATUS_REQUEST;
    frame.status_request = &request;
    return s_admin_call(self, &frame, HUB__FRAME__BODY_STATUS_REPLY, "status", json_p, timeout_ms, err);
}

/* Fills a query message (allocated here for desc) from query_json and
 * sends it as the frame body (frame->body_case and the body pointer set by
 * set_body), waiting for reply. what names the call in err. Returns as
 * hub_audit_query. */
static int s_query_call(hub_client_t *self, const char *query_json, const ProtobufCMessageDescriptor *desc,
                        Hub__Frame__BodyCase body, Hub__Frame__BodyCase reply, const char *what,
                        char **reply_json_p, int timeout_ms, char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (!self || !reply_json_p)
        return -EINVAL;
    *reply_json_p = NULL;
    json_error_t jerr;
    json_t *obj = json_loads(query_json && *query_json ? query_json : "{}", 0, &jerr);
    if (!obj) {
        hub_client_errf(err, "%s: the query is not JSON: line %d column %d: %s", what, jerr.line, jerr.column,
                        jerr.text);
        return -HUB_EINVALID;
    }
    /* hub_json_to_message fills a message as unpacking would: free it so */
    ProtobufCMessage *query = malloc(desc->sizeof_message);
    if (!query) {
        json_decref(obj);
        hub_client_errf(err, "%s: out of memory", what);
        return -ENOMEM;
    }
    desc->message_init(query);
    char why[HUB_ERR_LEN] = "";
    int rc = json_is_object(obj) ? hub_json_to_message(obj, query, why) : -HUB_EINVALID;
    json_decref(obj);
    if (rc == 0) {
        Hub__Frame frame = HUB__FRAME__INIT;
        frame.body_case = body;
        /* every body of the oneof shares one place in the frame */
        frame.audit_query = (Hub__AuditQuery *)query;
        rc = s_admin_call(self, &frame, reply, what, reply_json_p, timeout_ms, err);
    } else if (rc == -ENOMEM) {
        hub_client_errf(err, "%s: out of memory", what);
    } else {
        hub_client_errf(err, "%s: query: %s", what, *why ? why : "not a JSON object");
    }
    protobuf_c_message_free_unpacked(query, NULL);
    return rc;
}

int hub_audit_query(hub_client_t *self, const char *query_json, char **reply_json_p, int timeout_ms,
                    char err[HUB_ERR_LEN])
{
    return s_query_call(self, query_json, &hub__audit_query__descriptor, HUB__FRAME__BODY_AUDIT_QUERY,
                        HUB__FRAME__BODY_AUDIT_REPLY, "audit", reply_json_p, timeout_ms, err);
}

int hub_notification_query(hub_client_t *self, const char *query_json, char **reply_json_p, int timeout_ms,
                           char err[HUB_ERR_LEN])
{
    return s_query_call(self, query_json, &hub__notification_query__descriptor,
                        HUB__FRAME__BODY_NOTIFICATION_QUERY, HUB__FRAME__BODY_NOTIFICATION_LIST, "notifications",
                        reply_json_p, timeout_ms, err);
}

int hub_dead_letter_action(hub_client_t *self, uint64_t seq, const char *action, const char *reason,
                           uint64_t *redrive_seq_p, int timeout_ms, char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (redrive_seq_p)
        *redrive_seq_p = 0;
    if (!self)
        return -EINVAL;
    if (!action || (strcmp(action, "redrive") != 0 && strcmp(action, "discard") != 0)) {
        hub_client_errf(err, "action: \"%s\" is neither redrive nor discard", action ? action : "");
        return -HUB_EINVALID;
    }
    if (seq == 0) {
        hub_client_errf(err, "seq: 0 is no dead letter's seq");
        return -HUB_EINVALID;
    }
    if (strcmp(action, "discard") == 0 && (!reason || !*reason)) {
        hub_client_errf(err, "reason: a discard needs a reason");
        return -HUB_EINVALID;
    }
    Hub__DeadLetterAction request = HUB__DEAD_LETTER_ACTION__INIT;
    request.has_seq = 1;
    request.seq = seq;
    request.action = (char *)action;
    request.reason = reason && *reason ? (char *)reason : NULL;
    request.on_behalf_of = self->user[0] ? self->user : NULL;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.body_case = HUB__FRAME__BODY_DEAD_LETTER_ACTION;
    frame.dead_letter_action = &request;
    char *json = NULL;
    int rc = s_admin_call(self, &frame, HUB__FRAME__BODY_DEAD_LETTER_DONE, action, &json, timeout_ms, err);
    if (rc == 0 && redrive_seq_p) {
        json_t *done = json_loads(json, 0, NULL);
        json_t *value = json_object_get(done, "redrive_seq");
        *redrive_seq_p = json_is_integer(value) ? (uint64_t)json_integer_value(value) : 0;
        json_decref(done);
    }
    free(json);
    return rc;
}

int hub_policy_query(hub_client_t *self, const char *event_json, char **reply_json_p, int timeout_ms,
                     char err[HUB_ERR_LEN])
{
    if (err)
        err[0] = '\0';
    if (!self || !reply_json_p)
        return -EINVAL;
    *reply_json_p = NULL;
    Hub__Event *ev = NULL;
    if (event_json && *event_json) {
        char why[HUB_ERR_LEN] = "";
        int rc = hub_event_from_json(event_json, strlen(event_json), &ev, why);
        if (rc < 0) {
            hub_client_errf(err, "policy: the event: %s", why);
            return rc;
        }
    }
    Hub__PolicyQuery query = HUB__POLICY_QUERY__INIT;
    query.event = ev;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.body_case = HUB__FRAME__BODY_POLICY_QUERY;
    frame.policy_query = &query;
    int rc = s_admin_call(self, &frame, HUB__FRAME__BODY_POLICY_REPLY, "policy", reply_json_p, timeout_ms, err);
    if (ev)
        hub__event__free_unpacked(ev, NULL);
    return rc;
}
