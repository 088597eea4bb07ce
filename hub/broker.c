/*
 * broker - hubd's loop; see broker.h for the rules it keeps.
 *
 * One turn of the loop:
 *
 *   poll (router, signal pipe, the store's writer; timeout: 0 when
 *         delivery has more to send, else until the next tick)
 *   -> end the batch the writer had, if it is written (s_commit_end): acks
 *      (or error frames) to its publishers and the tap; then hand the
 *      writer the batch filled meanwhile, unless it is a few events the
 *      store would write on this thread (s_commit_next), so that the
 *      writer does not wait for the rest of the turn; then delivery of
 *      what was committed
 *   -> drain the router: every frame waiting, until the batch being filled
 *      holds max_batch publishes; publishes are decoded, validated and
 *      routed into the batch, other frames are answered or applied to
 *      delivery at once
 *   -> if the writer is free, hand it the batch (s_commit_begin): its
 *      events, and every 200 ms delivery's positions, dead letters and
 *      delivered/acked ranges, go into one transaction on the writer's
 *      thread, while this one fills the other batch and delivers
 *   -> delivery: what credit allows, to every connected subscriber, of
 *      what is committed
 *
 * Two batches take turns (s_batch_t): one fills while the writer has the
 * other; a full batch waits, and the router is not read meanwhile. A batch
 * keeps everything it needs in one arena (a hub_buf_t reused from turn to
 * turn) as offsets, since the arena may move while it grows; the store
 * sees pointers only once the batch is complete, and nothing of a batch
 * changes while the writer has it.
 *
 * Dead letters become events of their own, on the topic
 * deadletter.<subscriber>: the original event (redacted as its route said)
 * with one route, stored in the same transaction that moves the
 * subscriber's position past it. Anyone may subscribe to deadletter.* and
 * gets them with the same guarantees as any notification. A dead letter is
 * never dead-lettered again.
 *
 * Sending a dead letter back (DeadLetterAction redrive) makes one more such
 * event: the dead letter's event with one route back to the notification it
 * was, id redrive:<seq> (deadletter.h). A redrive or a discard goes into
 * the batch like a publish, with its dead_letters state and its audit row,
 * and is answered (DeadLetterDone) after the commit, like a PublishAck.
 *
 * Readings for people (AuditQuery, NotificationQuery, PolicyQuery) are
 * answered at once, on the loop, bounded by their limits (query.h).
 */
#include "broker.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include "ackorder.h"
#include "blobmap.h"
#include "buf.h"
#include "clock.h"
#include "codec.h"
#include "deadletter.h"
#include "delivery.h"
#include "gather.h"
#include "ident.h"
#include "journal.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "reader.h"
#include "query.h"
#include "store.h"

#ifndef HUB_VERSION
#define HUB_VERSION "0.0.0"
#endif

#define S_AUDIT_MAX_REPLY HUB_READER_MAX_REPLY /* bytes of a reply at most (what libhub takes in one frame) */
#define S_AUDIT_FRAME_SLACK 64                  /* bytes of a reply frame besides its items, at most */
#define S_TICK_MS 100            /* ack timeouts are checked this often */
#define S_CURSOR_FLUSH_MS 200    /* delivery's state (positions, ranges, dead letters) is written this often */
#define S_LOCAL "local"          /* the actor of every client without security */
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_MAX_KEYS 4096          /* client keys in keys.clients */
#define S_DEAD_PREFIX HUB_DEADLETTER_TOPIC_PREFIX
#define S_MAX_ID 127             /* bytes of an event id */

/* One entry of the batch; every *_off is an offset into the arena. */
typedef struct {
    size_t rid_off, rid_len;     /* publisher's routing id (0 for dead letters) */
    uint64_t corr;               /* publisher's corr */
    size_t id_off;               /* event id, NUL-terminated */
    size_t type_off;             /* event type, NUL-terminated */
    size_t case_off;             /* case id, NUL-terminated ("" when none) */
    size_t event_off, event_len; /* packed hub.Event */
    size_t routing_off, routing_len; /* packed hub.Routing */
    int routing_shared;          /* 1: no deadline in it, other events may share its row (hub_store_event_t) */
    size_t list_row;             /* its received row, when that lists the whole routing and no
                                  * earlier row does: the journal's index; SIZE_MAX otherwise */
    uint32_t nroutes;            /* notifications made of it */
    int is_dead;                 /* 1: made by the hub (dead letter, escalation), nobody to acknowledge */
    int batch_acks;              /* 1: its publisher takes PublishAcks frames */
    size_t responder_off;        /* a response: the answering department; SIZE_MAX otherwise */
    size_t actor_off;            /* who published it ("hubd" for the hub's own) */
} s_entry_t;

/* A dead letter made in the batch; strings are offsets into the arena. */
typedef struct {
    int entry;                   /* its event in the batch */
    size_t subscriber_off;       /* who gave up on the notification */
    uint64_t orig_seq;           /* the notification */
    uint32_t orig_slot;
    size_t reason_off;           /* the subscriber's words */
} s_dead_t;

/* A DeadLetterAction of the batch: written with it, answered after it. */
typedef struct {
    size_t rid_off, rid_len;     /* the client to answer (arena) */
    uint64_t corr;
    uint64_t seq;                /* the dead letter */
    const char *state;           /* "redriven" or "discarded" (a literal) */
    int redrive;                 /* the redrive's entry in the batch, or -1 */
    int write;                   /* 1: this one changes the state; 0: the same as one before it, answered alike */
    size_t actor_off;            /* who (arena) */
    size_t note_off;             /* the reason given (arena), or SIZE_MAX */
} s_action_t;

/* A count that waits for the batch to commit: what the batch stores is
 * counted only once it is stored, and not at all when it turns out to be a
 * duplicate. */
typedef struct {
    int entry;                   /* the batch's event it is about (skipped if a duplicate), or -1 */
    uint16_t counter;            /* hub_counter_t */
    uint16_t slot;               /* its value's slot (hub_metrics_slot) */
} s_bump_t;

/* Everything a batch holds until its commit has ended. Two take turns:
 * one fills while the store's writer has the other (store.h rule 10). */
typedef struct {
    s_entry_t *entries;
    size_t nentries, entries_cap;
    size_t npublishes;           /* entries that are publishes */
    hub_buf_t arena;
    hub_store_event_t *store_events; /* filled from entries at commit */
    hub_journal_t *journal;      /* audit rows, deadlines and breaches of the batch */
    s_bump_t *bumps;             /* counts waiting for the batch's commit */
    size_t nbumps, bumps_cap;
    s_dead_t *deads;             /* dead letters made in the batch */
    size_t ndeads, deads_cap;
    s_action_t *actions;         /* dead-letter actions of the batch */
    size_t nactions, actions_cap;
    hub_store_dead_t *store_deads;                /* filled from deads at commit */
    hub_store_dead_action_t *store_actions;       /* filled from actions at commit */
    hub_store_batch_t store;     /* what the store writes: points into the above */
    int with_delivery;           /* 1: it holds what hub_delivery_collect returned */
    int64_t began_us;            /* monotonic time it went to the writer */
} s_batch_t;

#define S_RATE_SLOTS 1024       /* clients whose publish rate is tracked at once */

/* A client's publish allowance (limits.max_publish_rate): a token bucket
 * that refills at the rate and holds one second of it. */
typedef struct {
    uint8_t key[64];             /* identity, or routing id without keys */
    size_t key_len;              /* 0: free slot */
    double tokens;               /* publishes allowed now */
    int64_t at_ms;               /* monotonic time tokens was computed */
} s_rate_t;

/* A client key the hub knows (keys.clients/NAME.key). */
typedef struct {
    char name[128];              /* the identity */
    uint8_t key[32];             /* CURVE public key */
} s_key_t;

/* The routing packed last (the broker's packed), when a published event's:
 * the next one routed alike reuses its bytes. Its routes are told apart by
 * their policy's strings (pointers, valid while that policy is in force:
 * a reload forgets it) and by their reasons (copied). */
#define S_LAST_ROUTES 16
typedef struct {
    int valid;
    size_t n;
    struct {
        const char *topic, *name, *department, *kind;
        char *const *fields;
        size_t nfields;
    } route[S_LAST_ROUTES];
    char reasons[1024]; /* the reasons, each with its NUL */
} s_last_routing_t;

/* Routings whose list a committed row holds, remembered (s_learn_lists). */
#define S_LISTS_MAX 1024
#define S_LISTS_BYTES (512u * 1024)

struct hub_broker {
    hub_config_t cfg;            /* settings in force */
    void *ctx;                   /* ZeroMQ context */
    void *router;                /* clients */
    void *tap;                   /* XPUB tap, or NULL */
    int tap_subscriptions;       /* distinct subscriptions on the tap: nothing is encoded for it while 0 */
    hub_store_t *store;
    hub_reader_t *reader;        /* answers audit readings on its own thread */
    hub_delivery_t *delivery;
    hub_policy_t *policy;
    char instance[HUB_ID_LEN];   /* changes at every start */
    char describe[1024];         /* hub_broker_describe */
    int64_t started_ms;          /* wall clock at start */
    int64_t last_flush_ms;       /* monotonic time delivery's state last went into a batch */
    uint64_t rejected;           /* frames refused since start */
    hub_metrics_t *metrics;      /* counters and histograms since start */
    s_batch_t batches[2];
    hub_blobmap_t *lists;        /* routing -> id of a committed received row that lists it all */
    s_last_routing_t last_routing; /* what packed holds, when a published event's */
    s_batch_t *b;                /* the batch being filled */
    s_batch_t *flight;           /* the other, while the store's writer has it; else NULL */
    const char *actor;           /* identity of the client whose frame is being handled */
    const char *audit_actor;     /* the actor its audit rows name: actor, or USER@actor (on_behalf_of) */
    char audit_actor_buf[HUB_ACTOR_LEN]; /* USER@actor */
    void *zap;                   /* ZAP handler (REP) with security: curve, else NULL */
    s_key_t *keys;               /* known client keys */
    size_t nkeys;
    s_rate_t *rates;             /* S_RATE_SLOTS, with limits.max_publish_rate */
    uint64_t throttled;          /* publishes refused for the rate */
    hub_store_cursor_t *cursors;     /* HUB_MAX_SUBSCRIBERS of them */
    hub_ack_key_t *ack_keys;       /* s_ack_batched: the committed publishes */
    hub_ack_key_t *ack_sorted;     /* ... by publisher */
    Hub__PublishAck *acks;       /* ... their acks */
    Hub__PublishAck **ack_ptrs;
    size_t acks_cap;

    /* scratch, reused */
    hub_buf_t out;               /* frames we send */
    hub_buf_t packed;            /* one packed routing */
    hub_buf_t event_buf;         /* one packed event */
    hub_match_t *matches;        /* HUB_MAX_ROUTES */
    char **notices;              /* per route of the policy: its routed members (s_notice_members) */
    size_t nnotices;
    Hub__Route *routes;          /* HUB_MAX_ROUTES */
    Hub__Route **route_ptrs;     /* HUB_MAX_ROUTES */
};

/* ------------------------------------------------------------ sending */

/* Sends [rid][frame] without blocking. Returns 0, -EHOSTUNREACH (the
 * client is gone), -EAGAIN (its queue is full) or -errno. */
static int s_send_raw(void *router, const uint8_t *rid, size_t rid_len, const uint8_t *data, size_t len)
{
    if (zmq_send(router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -zmq_errno();
    if (zmq_send(router, data, len, ZMQ_DONTWAIT) < 0)
        return -zmq_errno();
    return 0;
}

static int s_delivery_send(const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len, void *arg)
{
    hub_broker_t *self = arg;
    return s_send_raw(self->router, rid, rid_len, frame, len);
}

/* Packs and sends a reply. A reply that cannot be sent is dropped: the
 * client asks again when it does not hear back. */
static void s_reply(hub_broker_t *self, const uint8_t *rid, size_t rid_len, Hub__Frame *frame)
{
    if (hub_frame_encode(frame, &self->out) != 0) {
        hub_error("out of memory encoding a %s reply", hub_frame_kind(frame));
        return;
    }
    int rc = s_send_raw(self->router, rid, rid_len, self->out.data, self->out.len);
    if (rc < 0)
        hub_debug("reply %s not sent: %s", hub_frame_kind(frame), hub_strerror(rc));
}

/* Sends an Error frame for code rc (hub_frame_encode_error). */
static void s_reply_error(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, int rc,
                          const char *err, const char *id)
{
    if (hub_frame_encode_error(corr, rc, err, id, &self->out) != 0) {
        hub_error("out of memory encoding an error reply");
        return;
    }
    int sent = s_send_raw(self->router, rid, rid_len, self->out.data, self->out.len);
    if (sent < 0)
        hub_debug("error reply not sent: %s", hub_strerror(sent));
}

/* ------------------------------------------------------------ audit */

/* Makes the audit rows of the frame being handled name user@identity
 * (on_behalf_of; user already checked with hub_user_valid). Until the
 * next frame. */
static void s_act_for(hub_broker_t *self, const char *user)
{
    self->audit_actor = hub_actor_compose(user, self->actor, self->audit_actor_buf);
}

/* ------------------------------------------------------------ metrics */

/* Counts one of counter under value once the batch commits (see s_bump_t).
 * entry: the batch's event it is about, or -1. A count that cannot be kept
 * for lack of memory is lost (a metric, not a record). */
static void s_bump(hub_broker_t *self, int entry, hub_counter_t counter, const char *value)
{
    if (self->b->nbumps == self->b->bumps_cap) {
        size_t cap = self->b->bumps_cap ? self->b->bumps_cap * 2 : 1024;
        s_bump_t *bumps = realloc(self->b->bumps, cap * sizeof *bumps);
        if (!bumps)
            return;
        self->b->bumps = bumps;
        self->b->bumps_cap = cap;
    }
    self->b->bumps[self->b->nbumps++] =
        (s_bump_t){entry, (uint16_t)counter, (uint16_t)hub_metrics_slot(self->metrics, counter, value)};
}

/* Applies the counts of a committed batch (events holds its events as
 * stored), or drops them when the commit failed. */
static void s_bumps_done(hub_broker_t *self, s_batch_t *batch, int committed)
{
    for (size_t i = 0; committed && i < batch->nbumps; i++) {
        const s_bump_t *b = &batch->bumps[i];
        if (b->entry < 0 || !batch->store_events[b->entry].duplicate)
            hub_metrics_add(self->metrics, (hub_counter_t)b->counter, b->slot, 1);
    }
    batch->nbumps = 0;
}

/* Records an audit row for the next batch. A row that cannot be kept for
 * lack of memory is logged instead. */
static void s_audit(hub_broker_t *self, int event, const char *actor, const char *action, const char *event_id,
                    const char *case_id, const char *department, uint64_t seq, uint64_t seq_to, hub_detail_t *d)
{
    if (hub_journal_audit(self->b->journal, event, actor, action, event_id, case_id, department, seq, seq_to,
                          d ? hub_detail_text(d) : NULL) != 0)
        hub_error("audit row %s for %s lost: out of memory", action, event_id ? event_id : "-");
}

/* The "received" row of an event the hub made itself (a dead letter, an
 * escalation), so that the case's history knows its sequence number. */
static void s_audit_made(hub_broker_t *self, int entry, const char *actor, const char *id, const char *case_id,
                         const char *type)
{
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "type", type);
    hub_detail_str(&d, "source", "hubd");
    hub_detail_int(&d, "notifications", 1);
    s_audit(self, entry, actor, "received", id, case_id, NULL, 0, 0, &d);
}

static void s_audit_policy(hub_broker_t *self)
{
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "sha256", hub_policy_sha256(self->policy));
    hub_detail_int(&d, "routes", (int64_t)hub_policy_route_count(self->policy));
    hub_detail_str(&d, "path", self->cfg.policy_path);
    s_audit(self, -1, "hubd", "policy_loaded", NULL, NULL, NULL, 0, 0, &d);
}

/* ------------------------------------------------------------ keys */

/* Reads a z85 key (40 characters, an optional newline) from path into
 * z85 (41 bytes). A secret key file must not be readable by others.
 * Returns 0 or -HUB_ECONFIG with err naming the file. */
static int s_read_key(const char *path, int secret, char z85[41], char err[HUB_ERR_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, HUB_ERR_LEN, "key file %s: %s (make keys with hubctl keygen)", path, strerror(errno));
        return -HUB_ECONFIG;
    }
    struct stat st;
    char text[64];
    ssize_t n = fstat(fd, &st) == 0 ? read(fd, text, sizeof text - 1) : -1;
    close(fd);
    if (secret && (st.st_mode & 077)) {
        snprintf(err, HUB_ERR_LEN, "key file %s: readable by others; chmod 600 %s", path, path);
        return -HUB_ECONFIG;
    }
    if (n > 0 && text[n - 1] == '\n')
        n--;
    if (n != 40) {
        snprintf(err, HUB_ERR_LEN, "key file %s: expected one z85 key of 40 characters", path);
        return -HUB_ECONFIG;
    }
    memcpy(z85, text, 40);
    z85[40] = '\0';
    uint8_t raw[32];
    if (!zmq_z85_decode(raw, z85)) {
        snprintf(err, HUB_ERR_LEN, "key file %s: not a z85 key", path);
        return -HUB_ECONFIG;
    }
    return 0;
}

/* Loads every NAME.key of the clients directory; NAME is the identity.
 * Replaces the keys known so far only when all of them load. Returns 0 or
 * -HUB_ECONFIG with err. */
static int s_load_client_keys(hub_broker_t *self, char err[HUB_ERR_LEN])
{
    DIR *dir = opendir(self->cfg.client_keys);
    if (!dir) {
        snprintf(err, HUB_ERR_LEN, "keys: clients: %s: %s", self->cfg.client_keys, strerror(errno));
        return -HUB_ECONFIG;
    }
    s_key_t *keys = calloc(S_MAX_KEYS, sizeof *keys);
    size_t nkeys = 0;
    int rc = keys ? 0 : -ENOMEM;
    struct dirent *de;
    while (rc == 0 && (de = readdir(dir))) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || strcmp(de->d_name + len - 4, ".key") != 0 || de->d_name[0] == '.')
            continue;
        if (nkeys == S_MAX_KEYS || len - 4 >= sizeof keys[0].name) {
            snprintf(err, HUB_ERR_LEN, "keys: clients: %s: too many keys or a name too long", self->cfg.client_keys);
            rc = -HUB_ECONFIG;
            break;
        }
        char path[HUB_CONFIG_STR + 300], z85[41];
        snprintf(path, sizeof path, "%s/%s", self->cfg.client_keys, de->d_name);
        rc = s_read_key(path, 0, z85, err);
        if (rc == 0) {
            memcpy(keys[nkeys].name, de->d_name, len - 4);
            keys[nkeys].name[len - 4] = '\0';
            zmq_z85_decode(keys[nkeys].key, z85);
            nkeys++;
        }
    }
    closedir(dir);
    if (rc != 0) {
        free(keys);
        if (rc == -ENOMEM)
            snprintf(err, HUB_ERR_LEN, "out of memory");
        return rc;
    }
    free(self->keys);
    self->keys = keys;
    self->nkeys = nkeys;
    hub_info("security: curve, %zu client keys from %s", nkeys, self->cfg.client_keys);
    return 0;
}

/* 1 when identity still has a key in keys.clients: CURVE checks a key once
 * per connection, so a key removed (and reloaded with SIGHUP) must also
 * stop the connections it already has. */
static int s_key_known(const hub_broker_t *self, const char *identity)
{
    for (size_t i = 0; i < self->nkeys; i++)
        if (strcmp(self->keys[i].name, identity) == 0)
            return 1;
    return 0;
}

/* Sets up CURVE on the router and the ZAP handler that admits known keys. */
static int s_setup_curve(hub_broker_t *self, char err[HUB_ERR_LEN])
{
    char path[HUB_CONFIG_STR + 16], secret[41];
    snprintf(path, sizeof path, "%s.secret", self->cfg.server_key);
    int rc = s_read_key(path, 1, secret, err);
    char public[41], derived[41];
    snprintf(path, sizeof path, "%s.key", self->cfg.server_key);
    if (rc == 0)
        rc = s_read_key(path, 0, public, err);
    if (rc == 0 && (zmq_curve_public(derived, secret) != 0 || strcmp(derived, public) != 0)) {
        snprintf(err, HUB_ERR_LEN, "keys: server: %s.key and %s.secret are not one pair; make them again with "
                 "hubctl keygen", self->cfg.server_key, self->cfg.server_key);
        rc = -HUB_ECONFIG;
    }
    if (rc == 0)
        rc = s_load_client_keys(self, err);
    if (rc != 0)
        return rc;
    self->zap = zmq_socket(self->ctx, ZMQ_REP);
    int zero = 0, one = 1;
    if (!self->zap || zmq_bind(self->zap, S_ZAP_ENDPOINT) != 0) {
        snprintf(err, HUB_ERR_LEN, "cannot start the authentication handler: %s", zmq_strerror(zmq_errno()));
        return -HUB_EINTERNAL;
    }
    zmq_setsockopt(self->zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_setsockopt(self->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, secret, 41) != 0 ||
        zmq_setsockopt(self->router, ZMQ_ZAP_DOMAIN, "switchboard", 11) != 0) {
        snprintf(err, HUB_ERR_LEN, "cannot enable CURVE: %s", zmq_strerror(zmq_errno()));
        return -HUB_EINTERNAL;
    }
    memset(secret, 0, sizeof secret);
    return 0;
}

/* Answers one ZAP request (RFC 27): 200 with the identity for a known key,
 * 400 otherwise; both are audited. */
static void s_on_zap(hub_broker_t *self)
{
    enum { S_PARTS = 8 };
    zmq_msg_t parts[S_PARTS];
    int n = 0, more = 1;
    while (more && n < S_PARTS) {
        zmq_msg_init(&parts[n]);
        if (zmq_msg_recv(&parts[n], self->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&parts[n]);
            break;
        }
        more = zmq_msg_more(&parts[n]);
        n++;
    }
    while (more) { /* more parts than any request has: drop them */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        if (zmq_msg_recv(&extra, self->zap, ZMQ_DONTWAIT) < 0)
            more = 0;
        else
            more = zmq_msg_more(&extra);
        zmq_msg_close(&extra);
    }
    if (n < 2) { /* nothing to answer */
        for (int i = 0; i < n; i++)
            zmq_msg_close(&parts[i]);
        return;
    }
    const char *who = NULL;
    char address[64] = "", why[64] = "unknown client key";
    if (n >= 4)
        snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&parts[3]), (const char *)zmq_msg_data(&parts[3]));
    if (n == 7 && zmq_msg_size(&parts[5]) == 5 && memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&parts[6]) == 32) {
        for (size_t i = 0; i < self->nkeys && !who; i++)
            if (memcmp(self->keys[i].key, zmq_msg_data(&parts[6]), 32) == 0)
                who = self->keys[i].name;
    } else {
        snprintf(why, sizeof why, "not a CURVE handshake");
    }
    const char *status = who ? "200" : "400";
    zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(self->zap, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), ZMQ_SNDMORE);
    zmq_send(self->zap, status, 3, ZMQ_SNDMORE);
    zmq_send(self->zap, who ? "OK" : why, strlen(who ? "OK" : why), ZMQ_SNDMORE);
    zmq_send(self->zap, who ? who : "", who ? strlen(who) : 0, ZMQ_SNDMORE);
    zmq_send(self->zap, "", 0, 0);
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "address", address);
    if (who) {
        hub_detail_str(&d, "mechanism", "CURVE");
        s_audit(self, -1, who, "authenticated", NULL, NULL, NULL, 0, 0, &d);
    } else {
        char z85[41] = "";
        if (n == 7 && zmq_msg_size(&parts[6]) == 32)
            zmq_z85_encode(z85, zmq_msg_data(&parts[6]), 32);
        hub_detail_str(&d, "reason", why);
        hub_detail_str(&d, "key", z85[0] ? z85 : NULL);
        s_audit(self, -1, "unknown", "denied", NULL, NULL, NULL, 0, 0, &d);
        hub_warn("client at %s refused: %s", address, why);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

/* With security: curve, answers a request the access list does not allow
 * with DENIED and audits it; returns 1 then, else 0. */
static int s_denied(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, int allowed,
                    const char *what)
{
    if (!self->cfg.curve || allowed)
        return 0;
    char err[HUB_ERR_LEN];
    snprintf(err, sizeof err, "identity %s may not %s", self->actor, what);
    self->rejected++;
    hub_info("%s", err);
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "reason", err);
    s_audit(self, -1, self->audit_actor, "denied", NULL, NULL, NULL, 0, 0, &d);
    s_reply_error(self, rid, rid_len, corr, -HUB_EDENIED, err, NULL);
    return 1;
}

/* ------------------------------------------------------------ lifetime */

/* 1 when something accepts connections on the ipc:// endpoint's socket
 * file. ZeroMQ binds an ipc endpoint by replacing the file, which would cut
 * off a hub already serving there, so that is checked first. */
static int s_ipc_in_use(const char *endpoint)
{
    const char *path = endpoint + strlen("ipc://");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (*path == '@' || strlen(path) >= sizeof addr.sun_path)
        return 0;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int in_use = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return in_use;
}

/* Binds sock to endpoint; fills err with a line that says what to do. */
static int s_bind(void *sock, const char *what, const char *endpoint, char err[HUB_ERR_LEN])
{
    if (strncmp(endpoint, "ipc://", 6) == 0 && s_ipc_in_use(endpoint)) {
        snprintf(err, HUB_ERR_LEN, "cannot listen for %s on %s: another process is serving there (is another "
                 "hubd running? use --endpoint/--tap to pick others)", what, endpoint);
        return -EADDRINUSE;
    }
    if (zmq_bind(sock, endpoint) == 0)
        return 0;
    int e = zmq_errno();
    snprintf(err, HUB_ERR_LEN, "cannot listen for %s on %s: %s%s", what, endpoint, zmq_strerror(e),
             e == EADDRINUSE ? " (is another hubd running? use --endpoint/--tap to pick others)" : "");
    return -e;
}

hub_broker_t *hub_broker_new(const hub_config_t *cfg, char err[HUB_ERR_LEN])
{
    hub_broker_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    self->started_ms = hub_now_ms();
    self->actor = S_LOCAL;
    self->audit_actor = S_LOCAL;
    if (cfg->max_publish_rate > 0 && !(self->rates = calloc(S_RATE_SLOTS, sizeof *self->rates))) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        goto fail;
    }
    self->last_flush_ms = hub_mono_ms();
    hub_id_generate(self->instance);
    self->matches = calloc(HUB_MAX_ROUTES, sizeof *self->matches);
    self->routes = calloc(HUB_MAX_ROUTES, sizeof *self->routes);
    self->route_ptrs = calloc(HUB_MAX_ROUTES, sizeof *self->route_ptrs);
    self->cursors = calloc(HUB_MAX_SUBSCRIBERS, sizeof *self->cursors);
    if (!self->matches || !self->routes || !self->route_ptrs || !self->cursors) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        goto fail;
    }

    self->b = &self->batches[0];
    self->batches[0].journal = hub_journal_new();
    self->batches[1].journal = hub_journal_new();
    self->metrics = hub_metrics_new();
    self->lists = hub_blobmap_new(S_LISTS_MAX, S_LISTS_BYTES);
    if (!self->batches[0].journal || !self->batches[1].journal || !self->metrics || !self->lists) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        goto fail;
    }
    self->policy = hub_policy_load(cfg->policy_path, err);
    if (!self->policy)
        goto fail;
    s_audit_policy(self);
    self->store = hub_store_open(cfg->data_dir, err);
    if (!self->store)
        goto fail;
    hub_delivery_opts_t opts = {cfg->ack_timeout_ms, cfg->max_attempts, cfg->default_credit, cfg->max_credit,
                                cfg->max_subs_per_client, self->metrics};
    self->delivery = hub_delivery_new(self->store, &opts, s_delivery_send, self, err);
    if (!self->delivery)
        goto fail;

    self->ctx = zmq_ctx_new();
    self->router = self->ctx ? zmq_socket(self->ctx, ZMQ_ROUTER) : NULL;
    if (!self->router) {
        snprintf(err, HUB_ERR_LEN, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* replies wait for a client that does not read them up to this many,
     * then are dropped: a flooding client costs bounded memory */
    int one = 1, zero = 0, hwm = 10000;
    /* frames up to twice the limit are read and answered with TOO_LARGE;
     * beyond that ZeroMQ drops the connection before we see them */
    int64_t maxmsg = (int64_t)cfg->max_frame * 2;
    zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (cfg->curve && s_setup_curve(self, err) != 0)
        goto fail;
    self->reader = hub_reader_new(self->ctx, hub_store_path(self->store), cfg->max_frame, err);
    if (!self->reader)
        goto fail;
    if (s_bind(self->router, "clients", cfg->endpoint, err) != 0)
        goto fail;
    if (cfg->tap[0]) {
        self->tap = zmq_socket(self->ctx, ZMQ_XPUB);
        int tap_hwm = 10000;
        if (!self->tap) {
            snprintf(err, HUB_ERR_LEN, "cannot create the tap socket: %s", zmq_strerror(zmq_errno()));
            goto fail;
        }
        zmq_setsockopt(self->tap, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(self->tap, ZMQ_SNDHWM, &tap_hwm, sizeof tap_hwm);
        if (s_bind(self->tap, "the tap", cfg->tap, err) != 0)
            goto fail;
    }
    snprintf(self->describe, sizeof self->describe,
             "hubd %s: clients on %s, tap %s, data in %s (last seq %llu), policy %s (%zu routes, sha256 %.12s)",
             HUB_VERSION, cfg->endpoint, cfg->tap[0] ? cfg->tap : "off", cfg->data_dir,
             (unsigned long long)hub_store_last_seq(self->store), cfg->policy_path,
             hub_policy_route_count(self->policy), hub_policy_sha256(self->policy));
    return self;
fail:
    hub_broker_destroy(&self);
    return NULL;
}

static void s_batch_fini(s_batch_t *b)
{
    hub_journal_destroy(&b->journal);
    free(b->bumps);
    free(b->deads);
    free(b->actions);
    free(b->store_deads);
    free(b->store_actions);
    free(b->entries);
    free(b->store_events);
    hub_buf_fini(&b->arena);
}

/* Forgets the routed members made for the routes of the policy. */
static void s_notices_drop(hub_broker_t *self)
{
    for (size_t i = 0; i < self->nnotices; i++)
        free(self->notices[i]);
    free(self->notices);
    self->notices = NULL;
    self->nnotices = 0;
}

void hub_broker_destroy(hub_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_broker_t *self = *self_p;
    hub_reader_destroy(&self->reader);
    if (self->router)
        zmq_close(self->router);
    if (self->zap)
        zmq_close(self->zap);
    free(self->keys);
    free(self->rates);
    if (self->tap)
        zmq_close(self->tap);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    hub_delivery_destroy(&self->delivery);
    hub_store_destroy(&self->store);
    hub_policy_destroy(&self->policy);
    hub_metrics_destroy(&self->metrics);
    hub_blobmap_destroy(&self->lists);
    for (int i = 0; i < 2; i++)
        s_batch_fini(&self->batches[i]);
    free(self->cursors);
    free(self->ack_keys);
    free(self->ack_sorted);
    free(self->acks);
    free(self->ack_ptrs);
    s_notices_drop(self);
    free(self->matches);
    free(self->routes);
    free(self->route_ptrs);
    hub_buf_fini(&self->out);
    hub_buf_fini(&self->packed);
    hub_buf_fini(&self->event_buf);
    free(self);
    *self_p = NULL;
}

const char *hub_broker_describe(const hub_broker_t *self)
{
    return self->describe;
}

/* ------------------------------------------------------------ the batch */

/* Copies len bytes into the arena, and a NUL after them when nul is 1.
 * Returns the offset, or SIZE_MAX when out of memory. */
static size_t s_batch_put(s_batch_t *b, const void *data, size_t len, int nul)
{
    size_t off = b->arena.len;
    if (hub_buf_reserve(&b->arena, len + 1) != 0)
        return SIZE_MAX;
    if (len)
        memcpy(b->arena.data + off, data, len);
    b->arena.len += len;
    if (nul)
        b->arena.data[b->arena.len++] = '\0';
    return off;
}

/* s_batch_put into the batch being filled. */
static size_t s_arena_put(hub_broker_t *self, const void *data, size_t len, int nul)
{
    return s_batch_put(self->b, data, len, nul);
}

static const char *s_arena_str(const s_batch_t *b, size_t off)
{
    return (const char *)b->arena.data + off;
}

static s_entry_t *s_entry_new(hub_broker_t *self)
{
    if (self->b->nentries == self->b->entries_cap) {
        size_t cap = self->b->entries_cap ? self->b->entries_cap * 2 : 256;
        s_entry_t *entries = realloc(self->b->entries, cap * sizeof *entries);
        if (!entries)
            return NULL;
        hub_store_event_t *events = realloc(self->b->store_events, cap * sizeof *events);
        if (!events) {
            self->b->entries = entries;
            return NULL;
        }
        self->b->entries = entries;
        self->b->store_events = events;
        self->b->entries_cap = cap;
    }
    s_entry_t *e = &self->b->entries[self->b->nentries];
    memset(e, 0, sizeof *e);
    return e;
}

/* 1 when routing, a published event's, is the one packed last (l). */
static int s_routing_is_last(const s_last_routing_t *l, const Hub__Routing *routing)
{
    if (!l->valid || routing->n_routes != l->n || routing->base.n_unknown_fields)
        return 0;
    const char *reason = l->reasons;
    for (size_t i = 0; i < l->n; i++) {
        const Hub__Route *r = routing->routes[i];
        if (r->has_respond_by_ms || r->has_names_in_topic || r->base.n_unknown_fields ||
            r->topic != l->route[i].topic || r->name != l->route[i].name ||
            r->department != l->route[i].department || r->kind != l->route[i].kind ||
            r->fields != l->route[i].fields || r->n_fields != l->route[i].nfields ||
            strcmp(r->reason ? r->reason : "", reason) != 0)
            return 0;
        reason += strlen(reason) + 1;
    }
    return 1;
}

/* Remembers routing as the one packed last, when it is a published
 * event's (from_policy) and fits; else forgets. */
static void s_routing_remember(s_last_routing_t *l, const Hub__Routing *routing, int from_policy)
{
    l->valid = 0;
    if (!from_policy || routing->n_routes > S_LAST_ROUTES || routing->base.n_unknown_fields)
        return;
    size_t used = 0;
    for (size_t i = 0; i < routing->n_routes; i++) {
        const Hub__Route *r = routing->routes[i];
        const char *reason = r->reason ? r->reason : "";
        size_t len = strlen(reason) + 1;
        if (r->has_respond_by_ms || r->has_names_in_topic || r->base.n_unknown_fields ||
            len > sizeof l->reasons - used)
            return;
        l->route[i].topic = r->topic;
        l->route[i].name = r->name;
        l->route[i].department = r->department;
        l->route[i].kind = r->kind;
        l->route[i].fields = r->fields;
        l->route[i].nfields = r->n_fields;
        memcpy(l->reasons + used, reason, len);
        used += len;
    }
    l->n = routing->n_routes;
    l->valid = 1;
}

/* Adds an event with its routing to the batch: rid/corr say whom to
 * acknowledge (rid NULL for none). Returns 0 or -ENOMEM (the arena is
 * then rolled back to where it was). */
static int s_batch_add(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, const char *id,
                       const char *type, const char *case_id, const uint8_t *event, size_t event_len,
                       const Hub__Routing *routing)
{
    size_t mark = self->b->arena.len;
    s_entry_t *e = s_entry_new(self);
    if (!e)
        return -ENOMEM;
    e->corr = corr;
    e->is_dead = rid == NULL;
    e->rid_len = rid_len;
    e->rid_off = s_arena_put(self, rid, rid ? rid_len : 0, 0);
    e->id_off = s_arena_put(self, id, strlen(id), 1);
    e->type_off = s_arena_put(self, type, strlen(type), 1);
    e->case_off = s_arena_put(self, case_id ? case_id : "", case_id ? strlen(case_id) : 0, 1);
    e->event_len = event_len;
    e->event_off = s_arena_put(self, event, event_len, 0);
    e->nroutes = (uint32_t)routing->n_routes;
    e->list_row = SIZE_MAX;
    e->routing_shared = rid != NULL; /* the hub's own events are few and name their cause */
    for (size_t i = 0; i < routing->n_routes && e->routing_shared; i++)
        e->routing_shared = !routing->routes[i]->has_respond_by_ms;
    e->responder_off = SIZE_MAX;
    e->actor_off = rid ? s_arena_put(self, self->audit_actor, strlen(self->audit_actor), 1)
                       : s_arena_put(self, "hubd", 4, 1);
    if (e->actor_off == SIZE_MAX || e->rid_off == SIZE_MAX || e->id_off == SIZE_MAX || e->type_off == SIZE_MAX ||
        e->case_off == SIZE_MAX || e->event_off == SIZE_MAX)
        goto nomem;
    /* a published event routed as the one before has the same bytes */
    if (!(rid && s_routing_is_last(&self->last_routing, routing))) {
        self->last_routing.valid = 0;
        if (hub_routing_pack(routing, &self->packed) != 0)
            goto nomem;
        s_routing_remember(&self->last_routing, routing, rid != NULL);
    }
    e->routing_len = self->packed.len;
    e->routing_off = s_arena_put(self, self->packed.data, self->packed.len, 0);
    if (e->routing_off == SIZE_MAX)
        goto nomem;
    for (size_t i = 0; i < routing->n_routes; i++)
        s_bump(self, (int)self->b->nentries, HUB_COUNTER_NOTIFICATIONS, routing->routes[i]->topic);
    if (rid)
        s_bump(self, (int)self->b->nentries, HUB_COUNTER_EVENTS_RECEIVED, type);
    self->b->nentries++;
    if (!e->is_dead)
        self->b->npublishes++;
    return 0;
nomem:
    self->b->arena.len = mark;
    return -ENOMEM;
}

/* Fills self->routes from the policy's matches of ev, received at now_ms.
 * The routes point into the policy and into respond_by storage of the
 * matches; valid until the next call. Returns the routing. */
static Hub__Routing s_route(hub_broker_t *self, const Hub__Event *ev, int64_t now_ms)
{
    size_t n = hub_policy_route(self->policy, ev, self->matches, HUB_MAX_ROUTES);
    for (size_t i = 0; i < n; i++) {
        const hub_match_t *m = &self->matches[i];
        Hub__Route *r = &self->routes[i];
        hub__route__init(r);
        r->topic = (char *)m->topic;
        r->name = (char *)m->route;
        r->department = (char *)m->department;
        r->kind = (char *)m->kind;
        r->reason = (char *)m->reason;
        r->n_fields = m->nfields;
        r->fields = (char **)m->fields;
        if (m->respond_within_ms > 0) {
            r->has_respond_by_ms = 1;
            r->respond_by_ms = now_ms + m->respond_within_ms;
        }
        self->route_ptrs[i] = r;
    }
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = n;
    routing.routes = self->route_ptrs;
    return routing;
}

/* Adds a notification's department, route and topic to a routed row's
 * detail d. */
static void s_notice_names(hub_detail_t *d, const char *department, const char *route, const char *topic)
{
    hub_detail_str(d, "department", department);
    hub_detail_str(d, "route", route);
    hub_detail_str(d, "topic", topic);
}

/* The members s_notice_names adds for match m, as JSON text: the same for
 * every event the route matches, so made once per route of the running
 * policy, rather than escaped anew for each notification of each event.
 * NULL when out of memory (the caller then adds them itself). */
static const char *s_notice_members(hub_broker_t *self, const hub_match_t *m)
{
    if (!self->notices) {
        size_t n = hub_policy_route_count(self->policy);
        self->notices = calloc(n ? n : 1, sizeof *self->notices);
        if (!self->notices)
            return NULL;
        self->nnotices = n;
    }
    if (m->index >= self->nnotices)
        return NULL;
    if (!self->notices[m->index]) {
        hub_detail_t d;
        hub_detail_init(&d);
        s_notice_names(&d, m->department, m->route, m->topic);
        const char *text = hub_detail_text(&d);
        self->notices[m->index] = strndup(text + 1, strlen(text) - 2); /* without the braces */
    }
    return self->notices[m->index];
}

/* The notifications of an event's audit rows, as a JSON array being
 * built: the first row is its "received" row, whose detail holds the array
 * after the event's type and source; a notification that does not fit
 * there, and those after it, go to "routed" rows (rows are cut where the
 * next notification would not fit a detail). */
typedef struct {
    char text[HUB_DETAIL_LEN - 64];
    size_t len;             /* bytes used, without the closing bracket */
    size_t count;
    size_t cap;             /* bytes the array may take in the row being built */
    size_t total;           /* the event's notifications */
    hub_detail_t *received; /* the received row's detail, until that row is journaled */
    size_t in_received;     /* notifications the received row lists (SIZE_MAX: their count instead) */
} s_routed_t;

/* Starts the rows of an event of count notifications whose received
 * detail (type and source) is d. A detail too long to hold them as well
 * (type and source of a kilobyte and more) gets no room for the list
 * (cap 0): its row gets their count, as logs written before held it, and
 * routed rows list them all. */
static void s_routed_start(s_routed_t *r, hub_detail_t *d, size_t count)
{
    /* hub_detail_raw adds ,"notifications": and the array, before "}" and the NUL */
    size_t used = d->len + strlen(",\"notifications\":") + 2;
    r->len = r->count = 0;
    r->total = count;
    r->received = d;
    r->in_received = SIZE_MAX;
    r->cap = 0;
    if (used + sizeof r->text / 2 <= HUB_DETAIL_LEN)
        r->cap = HUB_DETAIL_LEN - used < sizeof r->text ? HUB_DETAIL_LEN - used : sizeof r->text;
}

/* Journals the row being built: the received row, or a routed row when
 * it holds any. A received row that lists none has an empty array when
 * the event has no notifications and it has room, else their count (the
 * first did not fit it, or nothing would: routed rows list them, as for
 * an earlier log). */
static void s_routed_flush(hub_broker_t *self, int entry, const Hub__Event *ev, s_routed_t *r)
{
    if (r->count == 0 && !r->received)
        return;
    if (r->count == 0)
        r->text[r->len++] = '[';
    r->text[r->len] = ']';
    r->text[r->len + 1] = '\0';
    if (r->received) {
        if (r->count == 0 && (r->total > 0 || r->cap == 0)) {
            hub_detail_int(r->received, "notifications", (int64_t)r->total);
        } else {
            hub_detail_raw(r->received, "notifications", r->text);
            r->in_received = r->count;
        }
        s_audit(self, entry, self->audit_actor, "received", ev->id, ev->case_id, NULL, 0, 0, r->received);
        r->received = NULL;
    } else {
        hub_detail_t d;
        hub_detail_init(&d);
        hub_detail_raw(&d, "notifications", r->text);
        s_audit(self, entry, self->audit_actor, "routed", ev->id, ev->case_id, NULL, 0, 0, &d);
    }
    r->len = 0;
    r->count = 0;
    r->cap = sizeof r->text;
}

/* Adds one notification (a JSON object of len bytes) to the row being
 * built. */
static void s_routed_add(hub_broker_t *self, int entry, const Hub__Event *ev, s_routed_t *r, const char *object,
                         size_t len)
{
    if ((r->count > 0 || r->received) && r->len + 1 + len + 2 > r->cap)
        s_routed_flush(self, entry, ev, r);
    if (r->len + 1 + len + 2 > r->cap)
        return; /* names longer than a policy allows; the notification is still in the event's routing */
    r->text[r->len++] = r->count ? ',' : '[';
    memcpy(r->text + r->len, object, len);
    r->len += len;
    r->count++;
}

#define S_NOTICE_FAST 512 /* bytes of a routed row's notification written in one go, at most */

/* Writes the object of the notification in slot with members (as
 * s_notice_members made them), reason and respond_by (NULL: left out)
 * into out (S_NOTICE_FAST bytes), byte for byte what the details in
 * s_journal_publish make of them. Returns its length, or 0 when it is
 * longer: those then decide what to leave out. Most notifications are
 * written so: the details took 1,000 instructions for each. */
static size_t s_notice_fast(char *out, uint32_t slot, const char *members, const char *reason, const char *respond_by)
{
    char number[HUB_I64_TEXT];
    const char *digits = hub_i64_text(slot, number);
    size_t nd = strlen(digits), nm = strlen(members), n = 0;
    const size_t cap = S_NOTICE_FAST - 1; /* and "}" */
    if (8 + nd + 1 + nm > cap)
        return 0;
    memcpy(out, "{\"slot\":", 8);
    memcpy(out + 8, digits, nd);
    n = 8 + nd;
    if (nm) {
        out[n++] = ',';
        memcpy(out + n, members, nm);
        n += nm;
    }
    const char *keys[2] = {",\"reason\":", ",\"respond_by\":"}, *values[2] = {reason, respond_by};
    for (int i = 0; i < 2; i++) {
        if (!values[i])
            continue;
        size_t nk = strlen(keys[i]);
        if (n + nk > cap)
            return 0;
        memcpy(out + n, keys[i], nk);
        size_t nv = hub_detail_quote(out + n + nk, cap - n - nk, values[i]);
        if (!nv)
            return 0;
        n += nk + nv;
    }
    out[n++] = '}';
    return n;
}

/* Journals the response ev, the batch's entry: its responder and its
 * "responded" row. */
static void s_journal_response(hub_broker_t *self, int entry, const Hub__Event *ev)
{
    s_entry_t *e = &self->b->entries[entry];
    e->responder_off = s_arena_put(self, ev->source, strlen(ev->source), 1);
    char status[HUB_ENUM_NAME_LEN] = "";
    if (ev->has_status)
        hub_enum_to_name(&hub__status__descriptor, ev->status, status, sizeof status);
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "status", *status ? status : NULL);
    hub_detail_str(&d, "note", ev->note);
    s_audit(self, entry, self->audit_actor, "responded", ev->id, ev->case_id, ev->source, 0, 0, &d);
}

/* Journals what storing entry (the batch's event ev with its routing)
 * means: its received row, which lists its notifications (routed rows
 * list those that do not fit it), responded for a response and, where the
 * route has a deadline, one deadline per notification. One row per event
 * where it used to be two (received, then routed): audit rows are most of
 * what a commit writes, and the second row was an eighth of hubd's time
 * per event. */
static void s_journal_publish(hub_broker_t *self, int entry, const Hub__Event *ev, const Hub__Routing *routing,
                              int64_t now)
{
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "type", ev->type);
    hub_detail_str(&d, "source", ev->source);
    s_entry_t *e = &self->b->entries[entry];
    const uint8_t *packed = self->b->arena.data + e->routing_off;
    int64_t listed_in = 0;
    if (e->routing_shared && routing->n_routes > 0 &&
        hub_blobmap_get(self->lists, packed, e->routing_len, &listed_in) == 1) {
        hub_detail_int(&d, "notifications_as", listed_in);
        s_audit(self, entry, self->audit_actor, "received", ev->id, ev->case_id, NULL, 0, 0, &d);
        if (strcmp(ev->type, "response") == 0 && ev->source && *ev->source)
            s_journal_response(self, entry, ev);
        return;
    }
    size_t first_row = hub_journal_audit_rows(self->b->journal);
    s_routed_t routed;
    s_routed_start(&routed, &d, routing->n_routes);
    for (size_t i = 0; i < routing->n_routes; i++) {
        const Hub__Route *r = routing->routes[i];
        char respond_by[HUB_TIME_LEN];
        if (r->has_respond_by_ms) {
            hub_time_format(r->respond_by_ms, respond_by);
            if (hub_journal_deadline(self->b->journal, entry, (uint32_t)i, r->department, ev->case_id, r->name,
                                     now, r->respond_by_ms) != 0)
                hub_error("deadline of %s for %s lost: out of memory", ev->id, r->department);
        }
        /* a reason too long for a row is left out (the route names it) */
        const char *members = s_notice_members(self, &self->matches[i]);
        char fast[S_NOTICE_FAST];
        size_t len = members ? s_notice_fast(fast, (uint32_t)i, members, r->reason,
                                             r->has_respond_by_ms ? respond_by : NULL)
                             : 0;
        if (len) {
            s_routed_add(self, entry, ev, &routed, fast, len);
            continue;
        }
        for (int with_reason = 1; with_reason >= 0; with_reason--) {
            hub_detail_t n;
            hub_detail_init(&n);
            hub_detail_int(&n, "slot", (int64_t)i);
            if (members)
                hub_detail_members(&n, members);
            else
                s_notice_names(&n, r->department, r->name, r->topic);
            if (with_reason)
                hub_detail_str(&n, "reason", r->reason);
            if (r->has_respond_by_ms)
                hub_detail_str(&n, "respond_by", respond_by);
            size_t text_len = strlen(hub_detail_text(&n));
            if (text_len + 2 < sizeof routed.text || !with_reason) {
                s_routed_add(self, entry, ev, &routed, hub_detail_text(&n), text_len);
                break;
            }
        }
    }
    s_routed_flush(self, entry, ev, &routed);
    /* a list in one row, whole: later events with this routing name that row once it is committed */
    if (e->routing_shared && routing->n_routes > 0 && routed.in_received == routing->n_routes &&
        hub_journal_audit_rows(self->b->journal) == first_row + 1)
        e->list_row = first_row;
    if (strcmp(ev->type, "response") == 0 && ev->source && *ev->source)
        s_journal_response(self, entry, ev);
}

/* Validates a publish and adds it to the batch, or answers it with an
 * error frame. An event without an id gets a generated one. */
/* 1 when the client (its identity with keys, else its connection) may
 * publish once more under limits.max_publish_rate, else 0. A client that
 * floods gets UNAVAILABLE errors for what is over its rate: nothing of it
 * is stored, decoded further or queued. Slots are found by a hash of the
 * key; a client that lands on a slot taken by another starts afresh
 * there (the table never grows). */
static int s_rate_ok(hub_broker_t *self, const uint8_t *rid, size_t rid_len)
{
    uint32_t rate = self->cfg.max_publish_rate;
    if (rate == 0 || !self->rates)
        return 1;
    const uint8_t *key = self->cfg.curve ? (const uint8_t *)self->actor : rid;
    size_t len = self->cfg.curve ? strlen(self->actor) : rid_len;
    if (len > sizeof self->rates[0].key)
        len = sizeof self->rates[0].key;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 16777619u;
    s_rate_t *r = &self->rates[h & (S_RATE_SLOTS - 1)];
    int64_t now = hub_mono_ms();
    if (r->key_len != len || memcmp(r->key, key, len) != 0) {
        memcpy(r->key, key, len);
        r->key_len = len;
        r->tokens = rate;
        r->at_ms = now;
    }
    r->tokens += (double)(now - r->at_ms) * rate / 1000.0;
    if (r->tokens > rate)
        r->tokens = rate;
    r->at_ms = now;
    if (r->tokens < 1.0)
        return 0;
    r->tokens -= 1.0;
    return 1;
}

static void s_on_publish(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, Hub__Publish *pub)
{
    if (!s_rate_ok(self, rid, rid_len)) {
        char err[HUB_ERR_LEN];
        snprintf(err, sizeof err, "too many publishes from this client (limits: max_publish_rate %u a second); "
                 "slow down and publish again", self->cfg.max_publish_rate);
        if (self->throttled++ % 10000 == 0)
            hub_warn("%s: %s (%llu refused so far)", self->actor, err, (unsigned long long)self->throttled);
        self->rejected++;
        hub_metrics_count(self->metrics, HUB_COUNTER_EVENTS_REJECTED, pub->event ? pub->event->type : NULL, 1);
        s_reply_error(self, rid, rid_len, corr, -HUB_EUNAVAILABLE, err, pub->event ? pub->event->id : NULL);
        return;
    }
    char err[HUB_ERR_LEN] = "";
    char generated[HUB_ID_LEN];
    Hub__Event *ev = pub->event;
    char *given_id = ev ? ev->id : NULL; /* owned by the frame: put back before it is freed */
    int rc;
    if (pub->on_behalf_of) {
        if (!hub_user_valid(pub->on_behalf_of)) {
            snprintf(err, sizeof err, "on_behalf_of: a user name is 1 to %d letters, digits, '.', '_' or '-'",
                     HUB_USER_MAX);
            rc = -HUB_EINVALID;
            goto refuse;
        }
        s_act_for(self, pub->on_behalf_of);
    }
    if (!ev) {
        snprintf(err, sizeof err, "event: missing");
        rc = -HUB_EINVALID;
        goto refuse;
    }
    if (!ev->id || !*ev->id) {
        hub_id_generate(generated);
        ev->id = generated;
    }
    if (ev->type && *ev->type && self->cfg.curve &&
        !hub_access_may_publish(self->cfg.access, self->actor, ev->type)) {
        char what[HUB_NAME_LEN + 32]; /* written only for a refusal: every publish passes here */
        snprintf(what, sizeof what, "publish type %.64s", ev->type);
        if (s_denied(self, rid, rid_len, corr, 0, what)) {
            hub_metrics_count(self->metrics, HUB_COUNTER_EVENTS_REJECTED, ev->type, 1);
            ev->id = given_id;
            return;
        }
    }
    if (strlen(ev->id) > S_MAX_ID) {
        snprintf(err, sizeof err, "id: longer than %d bytes", S_MAX_ID);
        rc = -HUB_EINVALID;
        goto refuse;
    }
    rc = hub_event_validate(ev, err);
    if (rc != 0)
        goto refuse;
    if (hub_message_pack(&ev->base, &self->event_buf) != 0) {
        rc = -ENOMEM;
        snprintf(err, sizeof err, "out of memory");
        goto refuse;
    }
    if (self->event_buf.len > self->cfg.max_event) {
        snprintf(err, sizeof err, "event: %zu bytes, over the limit of %u", self->event_buf.len,
                 self->cfg.max_event);
        rc = -HUB_ETOOLARGE;
        goto refuse;
    }
    int64_t now = hub_now_ms();
    Hub__Routing routing = s_route(self, ev, now);
    rc = s_batch_add(self, rid, rid_len, corr, ev->id, ev->type, ev->case_id, self->event_buf.data,
                     self->event_buf.len, &routing);
    if (rc == 0)
        self->b->entries[self->b->nentries - 1].batch_acks = pub->has_batch_acks && pub->batch_acks;
    if (rc != 0) {
        snprintf(err, sizeof err, "out of memory");
        goto refuse;
    }
    s_journal_publish(self, (int)self->b->nentries - 1, ev, &routing, now);
    ev->id = given_id;
    return;
refuse:
    self->rejected++;
    hub_metrics_count(self->metrics, HUB_COUNTER_EVENTS_REJECTED, ev ? ev->type : NULL, 1);
    hub_info("publish refused: %s", err);
    hub_detail_t d;
    hub_detail_init(&d);
    char code[HUB_ENUM_NAME_LEN];
    hub_enum_to_name(&hub__error_code__descriptor, (int)hub_error_code(rc), code, sizeof code);
    hub_detail_str(&d, "code", code);
    hub_detail_str(&d, "reason", err);
    s_audit(self, -1, self->audit_actor, "rejected", ev ? ev->id : NULL, ev ? ev->case_id : NULL, NULL, 0, 0, &d);
    s_reply_error(self, rid, rid_len, corr, rc, err, ev ? ev->id : NULL);
    if (ev)
        ev->id = given_id;
}

/* Adds to the batch an event the hub makes of a stored one (a dead letter,
 * an escalation, a redrive): the stored event as it is, with one route to
 * topic that keeps the redaction of the route it came from (was, or NULL),
 * and its "received" audit row naming actor. Returns the entry's index, or
 * -1 (out of memory). */
static int s_add_made(hub_broker_t *self, const char *actor, const hub_store_row_t *row, const hub_route_view_t *was,
                      const char *id, const char *type, const char *topic, const char *name, const char *department,
                      const char *kind, const char *reason)
{
    Hub__Route route = HUB__ROUTE__INIT;
    route.topic = (char *)topic;
    route.name = (char *)name;
    route.department = (char *)department;
    route.kind = (char *)kind;
    route.reason = (char *)reason;
    if (was) {
        route.n_fields = was->nfields;
        route.fields = (char **)was->fields;
    }
    Hub__Route *routes[1] = {&route};
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = 1;
    routing.routes = routes;
    if (s_batch_add(self, NULL, 0, 0, id, type, row->case_id, row->event, row->event_len, &routing) != 0)
        return -1;
    int entry = (int)self->b->nentries - 1;
    s_audit_made(self, entry, actor, id, row->case_id, type);
    return entry;
}

/* Makes room for the record of one more dead letter (s_dead_t) and puts
 * its strings in the arena, so that once its event is in the batch nothing
 * can fail: a dead letter is never stored without its dead_letters row.
 * Returns the record to fill (entry set by the caller), or NULL. */
static s_dead_t *s_dead_prepare(hub_broker_t *self, const hub_dead_letter_t *d)
{
    if (self->b->ndeads == self->b->deads_cap) {
        size_t cap = self->b->deads_cap ? self->b->deads_cap * 2 : 16;
        s_dead_t *deads = realloc(self->b->deads, cap * sizeof *deads);
        if (deads)
            self->b->deads = deads;
        hub_store_dead_t *rows = deads ? realloc(self->b->store_deads, cap * sizeof *rows) : NULL;
        if (!rows)
            return NULL;
        self->b->store_deads = rows;
        self->b->deads_cap = cap;
    }
    s_dead_t *dead = &self->b->deads[self->b->ndeads];
    dead->entry = -1;
    dead->orig_seq = d->seq;
    dead->orig_slot = d->slot;
    dead->subscriber_off = s_arena_put(self, d->subscriber, strlen(d->subscriber), 1);
    dead->reason_off = s_arena_put(self, d->reason, strlen(d->reason), 1);
    return dead->subscriber_off == SIZE_MAX || dead->reason_off == SIZE_MAX ? NULL : dead;
}

/* Turns the dead letters delivery gave up on into events of the batch. */
typedef struct {
    hub_broker_t *self;
    const hub_dead_letter_t *dead;
    int rc;
} s_dead_ctx_t;

static int s_dead_row(const hub_store_row_t *row, void *arg)
{
    s_dead_ctx_t *ctx = arg;
    hub_broker_t *self = ctx->self;
    const hub_dead_letter_t *d = ctx->dead;
    hub_route_view_t was;
    char scratch[4096];
    if (hub_routing_route(row->routing, row->routing_len, d->slot, &was, scratch, sizeof scratch) != 1) {
        ctx->rc = -HUB_EMALFORMED;
        return 1;
    }
    if (strncmp(was.topic, S_DEAD_PREFIX, strlen(S_DEAD_PREFIX)) == 0) {
        hub_warn("dead letter %s of %s given up on; it is not dead-lettered again", row->id, d->subscriber);
        return 1;
    }
    char topic[HUB_TOPIC_LEN + 16], id[HUB_DEADLETTER_ID_LEN], reason[768];
    snprintf(topic, sizeof topic, S_DEAD_PREFIX "%s", d->subscriber);
    hub_deadletter_id(d->subscriber, d->seq, d->slot, id);
    hub_deadletter_reason(d->subscriber, d->reason, was.topic, d->attempts, reason, sizeof reason);
    s_dead_t *dead = s_dead_prepare(self, d);
    int entry = dead ? s_add_made(self, "hubd", row, &was, id, "dead_letter", topic, "dead-letter", d->subscriber,
                                  "deadletter", reason)
                     : -1;
    if (entry < 0) {
        ctx->rc = -ENOMEM;
        return 1;
    }
    dead->entry = entry;
    self->b->ndeads++;
    hub_detail_t dd;
    hub_detail_init(&dd);
    hub_detail_int(&dd, "slot", d->slot);
    hub_detail_int(&dd, "attempts", d->attempts);
    hub_detail_str(&dd, "reason", d->reason);
    hub_detail_str(&dd, "topic", topic);
    s_audit(self, -1, "hubd", "dead_lettered", row->id, row->case_id, d->subscriber, row->seq, row->seq, &dd);
    hub_journal_refer(self->b->journal, entry, "dead_seq");
    return 1;
}

static void s_add_dead_letters(hub_broker_t *self, const hub_dead_letter_t *dead, size_t ndead)
{
    for (size_t i = 0; i < ndead; i++) {
        const hub_dead_letter_t *d = &dead[i];
        s_dead_ctx_t ctx = {self, d, 0};
        int found = hub_store_get(self->store, d->seq, s_dead_row, &ctx);
        if (found <= 0 || ctx.rc != 0)
            hub_error("dead letter %s %llu/%u could not be stored as an event: %s", d->subscriber,
                      (unsigned long long)d->seq, d->slot, found <= 0 ? "event not found" : hub_strerror(ctx.rc));
    }
}

/* ------------------------------------------------------------ deadlines */

typedef struct {
    hub_broker_t *self;
    const hub_store_due_t *due;
    int64_t now;
} s_due_ctx_t;

/* Breaches one past-due deadline of the stored event row: records the
 * breach and, when the department has a backup, escalates to it with a new
 * event on <escalate_to>.escalation carrying the original event (redacted
 * as the original route said). */
static int s_due_row(const hub_store_row_t *row, void *arg)
{
    s_due_ctx_t *ctx = arg;
    hub_broker_t *self = ctx->self;
    const hub_store_due_t *due = ctx->due;
    int64_t late_ms = ctx->now - due->due_ms;
    const char *backup = hub_policy_escalate_to(self->policy, due->department);
    hub_route_view_t view;
    char scratch[4096];
    const hub_route_view_t *was =
        hub_routing_route(row->routing, row->routing_len, due->slot, &view, scratch, sizeof scratch) == 1 ? &view
                                                                                                         : NULL;
    char due_at[HUB_TIME_LEN];
    hub_time_format(due->due_ms, due_at);
    int escalation = -1;
    char topic[HUB_TOPIC_LEN + 16] = "";
    if (backup) {
        char id[256], reason[512];
        snprintf(topic, sizeof topic, "%s.escalation", backup);
        snprintf(id, sizeof id, "escalation:%llu:%u", (unsigned long long)due->seq, due->slot);
        snprintf(reason, sizeof reason, "%s did not answer %s by %s (route %s); %lld s late", due->department,
                 *due->case_id ? due->case_id : row->id, due_at, due->route, (long long)(late_ms / 1000));
        escalation =
            s_add_made(self, "hubd", row, was, id, "escalation", topic, due->route, backup, "escalation", reason);
        if (escalation < 0)
            hub_error("escalation of %s lost: out of memory", id);
    }
    if (hub_journal_breach(self->b->journal, due->seq, due->slot, ctx->now, escalation) != 0) {
        hub_error("breach of %llu/%u not recorded: out of memory", (unsigned long long)due->seq, due->slot);
    } else {
        hub_warn("%s did not answer %s within its commitment (route %s, due %s)%s%s", due->department,
                 *due->case_id ? due->case_id : row->id, due->route, due_at, backup ? "; escalated to " : "",
                 backup ? backup : "");
        hub_detail_t d;
        hub_detail_init(&d);
        hub_detail_int(&d, "slot", due->slot);
        hub_detail_str(&d, "route", due->route);
        hub_detail_str(&d, "due", due_at);
        hub_detail_int(&d, "late_ms", late_ms);
        s_audit(self, -1, "hubd", "breached", row->id, row->case_id, due->department, due->seq, due->seq, &d);
        s_bump(self, -1, HUB_COUNTER_BREACHES, due->department);
        if (escalation >= 0) {
            hub_detail_init(&d);
            hub_detail_str(&d, "from", due->department);
            hub_detail_str(&d, "route", due->route);
            hub_detail_str(&d, "topic", topic);
            hub_detail_int(&d, "late_ms", late_ms);
            s_audit(self, -1, "hubd", "escalated", row->id, row->case_id, backup, due->seq, due->seq, &d);
            s_bump(self, -1, HUB_COUNTER_ESCALATIONS, due->department);
            hub_journal_refer(self->b->journal, escalation, "escalation_seq");
        }
    }
    return 1;
}

static int s_on_due(const hub_store_due_t *due, void *arg)
{
    s_due_ctx_t ctx = *(s_due_ctx_t *)arg;
    ctx.due = due;
    if (hub_store_get(ctx.self->store, due->seq, s_due_row, &ctx) <= 0)
        hub_error("deadline on %llu/%u: its event cannot be read", (unsigned long long)due->seq, due->slot);
    return 0;
}

/* Breaches and escalates every deadline past due (at most a bounded number
 * per turn; the rest in the next ones). */
static void s_check_deadlines(hub_broker_t *self)
{
    int64_t now = hub_now_ms();
    if (now < hub_store_next_due(self->store))
        return;
    s_due_ctx_t ctx = {self, NULL, now};
    if (hub_store_due(self->store, now, 256, s_on_due, &ctx) < 0)
        hub_error("reading due deadlines failed");
}

/* Sends every notification of the committed entry to the tap. */
static void s_tap(hub_broker_t *self, const hub_store_event_t *ev)
{
    if (!self->tap || ev->duplicate || self->tap_subscriptions == 0)
        return;
    char received_at[HUB_TIME_LEN], respond_by[HUB_TIME_LEN], scratch[4096];
    hub_time_format(ev->received_ms, received_at);
    hub_route_view_t route;
    hub_route_bytes_t bytes;
    size_t pos = 0;
    for (uint32_t slot = 0; hub_routing_next(ev->routing, ev->routing_len, &pos, &bytes) == 1 &&
                            hub_route_read(&bytes, &route, scratch, sizeof scratch) == 1;
         slot++) {
        Hub__Notification n;
        hub_notification_from_route(&n, &route, ev->seq, slot, ev->id, received_at, respond_by);
        if (hub_frame_encode_deliver("", &n, ev->event, ev->event_len, &self->out) != 0)
            break;
        if (zmq_send(self->tap, route.topic, strlen(route.topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(self->tap, self->out.data, self->out.len, ZMQ_DONTWAIT) < 0)
            break; /* lossy by design */
    }
}

/* One audit row per subscriber and kind of what delivery did since the
 * last batch (hub_range_fn). */
static void s_audit_range(const char *subscriber, hub_range_kind_t kind, uint64_t lo, uint64_t hi, uint64_t count,
                          const char *why, void *arg)
{
    hub_broker_t *self = arg;
    static const char *const actions[] = {"delivered", "acked", "redelivered", "detached"};
    hub_detail_t d;
    hub_detail_init(&d);
    if (kind == HUB_RANGE_GONE)
        hub_detail_str(&d, "reason", why);
    else
        hub_detail_int(&d, "count", (int64_t)count);
    s_audit(self, -1, "hubd", actions[kind], NULL, NULL, subscriber, lo, hi, &d);
}

/* Points b's store batch at its dead letters and dead-letter actions. */
static void s_fill_dead(s_batch_t *b)
{
    for (size_t i = 0; i < b->ndeads; i++) {
        const s_dead_t *d = &b->deads[i];
        b->store_deads[i] = (hub_store_dead_t){d->entry, s_arena_str(b, d->subscriber_off), d->orig_seq,
                                               d->orig_slot, s_arena_str(b, d->reason_off)};
    }
    size_t n = 0;
    for (size_t i = 0; i < b->nactions; i++) {
        const s_action_t *a = &b->actions[i];
        if (!a->write)
            continue;
        b->store_actions[n++] = (hub_store_dead_action_t){a->seq, a->state, s_arena_str(b, a->actor_off),
                                                          a->note_off != SIZE_MAX ? s_arena_str(b, a->note_off)
                                                                                  : NULL,
                                                          a->redrive};
    }
    b->store.dead = b->store_deads;
    b->store.ndead = b->ndeads;
    b->store.dead_actions = b->store_actions;
    b->store.ndead_actions = n;
}

/* Sends a DeadLetterDone for dead letter seq. */
static void s_reply_done(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, uint64_t seq,
                         const char *state, uint64_t redrive_seq)
{
    Hub__DeadLetterDone done = HUB__DEAD_LETTER_DONE__INIT;
    done.has_seq = 1;
    done.seq = seq;
    done.state = (char *)state;
    done.has_redrive_seq = redrive_seq > 0;
    done.redrive_seq = redrive_seq;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = corr;
    frame.body_case = HUB__FRAME__BODY_DEAD_LETTER_DONE;
    frame.dead_letter_done = &done;
    s_reply(self, rid, rid_len, &frame);
}

/* Answers the dead-letter actions of batch b, which committed (rc 0) or
 * failed (rc, err). */
static void s_answer_actions(hub_broker_t *self, const s_batch_t *b, int rc, const char *err)
{
    for (size_t i = 0; i < b->nactions; i++) {
        const s_action_t *a = &b->actions[i];
        const uint8_t *rid = b->arena.data + a->rid_off;
        if (rc != 0) {
            s_reply_error(self, rid, a->rid_len, a->corr, rc, err, NULL);
            continue;
        }
        uint64_t redrive_seq = a->redrive >= 0 ? b->store_events[a->redrive].seq : 0;
        hub_info("dead letter %llu %s by %s%s", (unsigned long long)a->seq, a->state, s_arena_str(b, a->actor_off),
                 a->write ? "" : " (again)");
        s_reply_done(self, rid, a->rid_len, a->corr, a->seq, a->state, redrive_seq);
    }
}

/* The ack of b's committed entry i. */
static void s_ack_of(const s_batch_t *b, size_t i, Hub__PublishAck *ack)
{
    const hub_store_event_t *ev = &b->store_events[i];
    hub__publish_ack__init(ack);
    ack->id = (char *)ev->id;
    ack->has_seq = 1;
    ack->seq = ev->seq;
    ack->has_duplicate = 1;
    ack->duplicate = ev->duplicate != 0;
    ack->has_notifications = 1;
    ack->notifications = b->entries[i].nroutes;
}

#define S_ACKS_PER_FRAME 1024 /* acks in one PublishAcks frame at most */

/* Acknowledges the committed publishes of b whose publishers take
 * PublishAcks: one frame per publisher (of up to S_ACKS_PER_FRAME), in
 * the order of its publishes. */
static void s_ack_batched(hub_broker_t *self, s_batch_t *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nentries; i++)
        n += !b->entries[i].is_dead && b->entries[i].batch_acks;
    if (n == 0)
        return;
    if (n > self->acks_cap) {
        hub_ack_key_t *keys = realloc(self->ack_keys, n * sizeof *keys);
        hub_ack_key_t *sorted = keys ? realloc(self->ack_sorted, n * sizeof *sorted) : NULL;
        Hub__PublishAck *acks = sorted ? realloc(self->acks, n * sizeof *acks) : NULL;
        Hub__PublishAck **ptrs = acks ? realloc(self->ack_ptrs, n * sizeof *ptrs) : NULL;
        if (keys)
            self->ack_keys = keys;
        if (sorted)
            self->ack_sorted = sorted;
        if (acks)
            self->acks = acks;
        if (ptrs)
            self->ack_ptrs = ptrs;
        if (!ptrs) {
            /* no room to batch them: one frame each, as to any client */
            for (size_t i = 0; i < b->nentries; i++)
                b->entries[i].batch_acks = 0;
            return;
        }
        self->acks_cap = n;
    }
    n = 0;
    for (size_t i = 0; i < b->nentries; i++) {
        const s_entry_t *e = &b->entries[i];
        if (!e->is_dead && e->batch_acks)
            self->ack_keys[n++] = (hub_ack_key_t){b->arena.data + e->rid_off, e->rid_len, (uint32_t)i, 0};
    }
    const hub_ack_key_t *keys = hub_ack_order(self->ack_keys, self->ack_sorted, n);
    for (size_t from = 0, to; from < n; from = to) {
        const hub_ack_key_t *first = &keys[from];
        for (to = from; to < n && to - from < S_ACKS_PER_FRAME; to++) {
            const hub_ack_key_t *k = &keys[to];
            if (!hub_ack_same_publisher(k, first))
                break;
            s_ack_of(b, k->entry, &self->acks[to]);
            self->acks[to].has_corr = 1;
            self->acks[to].corr = b->entries[k->entry].corr;
            self->ack_ptrs[to] = &self->acks[to];
        }
        Hub__PublishAcks batch = HUB__PUBLISH_ACKS__INIT;
        batch.n_acks = to - from;
        batch.acks = &self->ack_ptrs[from];
        Hub__Frame frame = HUB__FRAME__INIT;
        frame.body_case = HUB__FRAME__BODY_PUBLISH_ACKS;
        frame.publish_acks = &batch;
        s_reply(self, first->rid, first->rid_len, &frame);
    }
}

/* Hands the batch being filled to the store's writer; the other batch
 * fills meanwhile. With with_delivery, the batch also takes the state
 * delivery has waiting (positions, dead letters, the ranges of what was
 * delivered and acknowledged): every S_CURSOR_FLUSH_MS, not with every
 * batch, since at a low rate those rows would outnumber the events'.
 * Nothing may be under way. */
static void s_commit_begin(hub_broker_t *self, int with_delivery)
{
    size_t ncursors = 0;
    if (with_delivery) {
        const hub_dead_letter_t *dead = NULL;
        size_t ndead = 0;
        ncursors = hub_delivery_collect(self->delivery, self->cursors, HUB_MAX_SUBSCRIBERS, &dead, &ndead);
        s_add_dead_letters(self, dead, ndead);
        hub_delivery_ranges(self->delivery, s_audit_range, self);
        self->last_flush_ms = hub_mono_ms();
    }

    s_batch_t *b = self->b;
    b->with_delivery = with_delivery;
    int64_t now = hub_now_ms();
    for (size_t i = 0; i < b->nentries; i++) {
        const s_entry_t *e = &b->entries[i];
        const char *case_id = s_arena_str(b, e->case_off);
        b->store_events[i] = (hub_store_event_t){
            .id = s_arena_str(b, e->id_off),
            .type = s_arena_str(b, e->type_off),
            .case_id = *case_id ? case_id : NULL,
            .actor = s_arena_str(b, e->actor_off),
            .received_ms = now,
            .event = b->arena.data + e->event_off,
            .event_len = e->event_len,
            .routing = b->arena.data + e->routing_off,
            .routing_len = e->routing_len,
            .routing_shared = e->routing_shared,
            .responder = e->responder_off != SIZE_MAX ? s_arena_str(b, e->responder_off) : NULL,
        };
    }
    b->store = (hub_store_batch_t){.events = b->store_events, .nevents = b->nentries, .cursors = self->cursors,
                                   .ncursors = ncursors};
    hub_journal_fill(b->journal, &b->store);
    s_fill_dead(b);
    b->began_us = hub_mono_us();
    hub_store_commit_begin(self->store, &b->store);
    self->flight = b;
    self->b = b == &self->batches[0] ? &self->batches[1] : &self->batches[0];
}

/* Remembers, for each routing listed whole by a received row of the
 * committed batch b, that row's id: the received rows of later events
 * with the same routing name it ("notifications_as") rather than list it
 * again. Past the map's bounds they list it, as before. */
static void s_learn_lists(hub_broker_t *self, s_batch_t *b)
{
    for (size_t i = 0; i < b->nentries; i++) {
        const s_entry_t *e = &b->entries[i];
        if (e->list_row == SIZE_MAX || e->list_row >= b->store.naudit)
            continue;
        int64_t id = b->store.audit[e->list_row].row.id; /* 0: not written (a duplicate) */
        int64_t known = 0;
        if (id > 0 && hub_blobmap_get(self->lists, b->arena.data + e->routing_off, e->routing_len, &known) == 0)
            (void)hub_blobmap_put(self->lists, b->arena.data + e->routing_off, e->routing_len, id);
    }
}

/* Ends the batch the writer has (waiting for it when wait is 1), then
 * acknowledges or refuses each publish. Returns 0, the store's error, or
 * -EAGAIN when wait is 0 and the batch is not written yet. */
static int s_commit_end(hub_broker_t *self, int wait)
{
    s_batch_t *b = self->flight;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_store_commit_end(self->store, wait, err);
    if (rc == -EAGAIN)
        return rc;
    int64_t took_us = hub_mono_us() - b->began_us;
    self->flight = NULL;
    if (rc == 0)
        s_learn_lists(self, b);
    hub_journal_reset(b->journal);
    s_bumps_done(self, b, rc == 0);
    if (b->with_delivery)
        hub_delivery_committed(self->delivery, rc == 0);
    if (rc == 0) {
        hub_metrics_observe(self->metrics, HUB_HISTOGRAM_COMMIT_BATCH_EVENTS, (double)b->nentries);
        hub_metrics_observe(self->metrics, HUB_HISTOGRAM_COMMIT_SECONDS, (double)took_us / 1e6);
    } else {
        /* dead letters, ranges and due deadlines wait for the next batch;
         * publishers are told to retry */
        hub_error("commit of %zu events failed: %s", b->nentries, err);
    }
    if (rc == 0)
        s_ack_batched(self, b);
    for (size_t i = 0; i < b->nentries; i++) {
        const s_entry_t *e = &b->entries[i];
        if (e->is_dead || (rc == 0 && e->batch_acks))
            continue;
        const hub_store_event_t *ev = &b->store_events[i];
        const uint8_t *rid = b->arena.data + e->rid_off;
        if (rc != 0) {
            s_reply_error(self, rid, e->rid_len, e->corr, rc, err, ev->id);
            continue;
        }
        Hub__PublishAck ack;
        s_ack_of(b, i, &ack);
        Hub__Frame frame = HUB__FRAME__INIT;
        frame.has_corr = 1;
        frame.corr = e->corr;
        frame.body_case = HUB__FRAME__BODY_PUBLISH_ACK;
        frame.publish_ack = &ack;
        s_reply(self, rid, e->rid_len, &frame);
    }
    s_answer_actions(self, b, rc, err);
    if (rc == 0)
        for (size_t i = 0; i < b->nentries; i++)
            s_tap(self, &b->store_events[i]);
    b->nentries = 0;
    b->npublishes = 0;
    b->ndeads = 0;
    b->nactions = 0;
    hub_buf_reset(&b->arena);
    return rc;
}

/* 1 when the batch being filled holds something to write. */
static int s_batch_waiting(const hub_broker_t *self)
{
    return self->b->nentries > 0 || self->b->nactions > 0 || hub_journal_pending(self->b->journal);
}

/* Hands the writer the batch being filled if nothing is under way and it
 * holds something to write, or delivery's state is due (every
 * S_CURSOR_FLUSH_MS, and when stopping). */
static void s_commit_next(hub_broker_t *self, int64_t now, int stop)
{
    int flush_delivery =
        hub_delivery_dirty(self->delivery) && (stop || now - self->last_flush_ms >= S_CURSOR_FLUSH_MS);
    if (!self->flight && (s_batch_waiting(self) || flush_delivery))
        s_commit_begin(self, flush_delivery);
}

/* Commits the batch being filled and waits for it (what was under way
 * first). Returns 0 or the store's error. */
static int s_commit(hub_broker_t *self)
{
    if (self->flight)
        s_commit_end(self, 1);
    s_commit_begin(self, 1);
    return s_commit_end(self, 1);
}

/* ------------------------------------------------------------ requests */

/* Sets the open dead letters of one subscriber in a StatusReply. */
static void s_status_open_dead(const char *subscriber, uint64_t n, void *arg)
{
    Hub__StatusReply *reply = arg;
    for (size_t i = 0; i < reply->n_subscribers; i++)
        if (strcmp(reply->subscribers[i]->name, subscriber) == 0)
            reply->subscribers[i]->open_dead_letters = n;
}

static void s_on_status(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr)
{
    if (s_denied(self, rid, rid_len, corr, hub_access_is_admin(self->cfg.access, self->actor), "ask for status"))
        return;
    Hub__StatusReply reply = HUB__STATUS_REPLY__INIT;
    reply.hub_version = HUB_VERSION;
    reply.instance = self->instance;
    reply.has_last_seq = 1;
    reply.last_seq = hub_store_last_seq(self->store);
    reply.has_events = 1;
    reply.events = reply.last_seq;
    reply.policy_sha256 = (char *)hub_policy_sha256(self->policy);
    reply.has_routes = 1;
    reply.routes = (uint32_t)hub_policy_route_count(self->policy);
    reply.has_rejected = 1;
    reply.rejected = self->rejected;
    reply.has_commits = 1;
    reply.commits = hub_store_commits(self->store);
    reply.data_dir = self->cfg.data_dir;
    reply.has_uptime_s = 1;
    reply.uptime_s = (uint64_t)((hub_now_ms() - self->started_ms) / 1000);
    if (hub_delivery_status(self->delivery, &reply, hub_mono_ms()) != 0 ||
        hub_metrics_status(self->metrics, &reply) != 0) {
        hub_delivery_status_free(&reply);
        s_reply_error(self, rid, rid_len, corr, -ENOMEM, "out of memory", NULL);
        return;
    }
    for (size_t i = 0; i < reply.n_subscribers; i++)
        reply.subscribers[i]->has_open_dead_letters = 1;
    if (hub_store_open_dead_letters(self->store, s_status_open_dead, &reply) != 0)
        hub_error("status: the open dead letters could not be read");
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = corr;
    frame.body_case = HUB__FRAME__BODY_STATUS_REPLY;
    frame.status_reply = &reply;
    s_reply(self, rid, rid_len, &frame);
    hub_delivery_status_free(&reply);
    hub_metrics_status_free(&reply);
}

static void s_on_subscribe(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr,
                           const Hub__Subscribe *req)
{
    char err[HUB_ERR_LEN] = "";
    /* a durable name holds a department's position: with keys, only its
     * own identity (NAME, or NAME-anything / NAME.anything) or an admin may
     * take it, or one department could consume another's notifications */
    if (self->cfg.curve && req->name) {
        size_t n = strlen(self->actor);
        int own = strncmp(req->name, self->actor, n) == 0 &&
                  (req->name[n] == '\0' || req->name[n] == '-' || req->name[n] == '.');
        char what[HUB_NAME_LEN * 2 + 64];
        snprintf(what, sizeof what, "use the subscriber name %.64s (its names are %s and %s-...)", req->name,
                 self->actor, self->actor);
        if (s_denied(self, rid, rid_len, corr, own || hub_access_is_admin(self->cfg.access, self->actor), what))
            return;
    }
    for (size_t i = 0; i < req->n_topics; i++) {
        char what[HUB_MAX_PATTERN + 32];
        snprintf(what, sizeof what, "subscribe to %.128s", req->topics[i]);
        if (s_denied(self, rid, rid_len, corr,
                     hub_access_may_subscribe(self->cfg.access, self->actor, req->topics[i]), what))
            return;
    }
    Hub__Subscribed sub = HUB__SUBSCRIBED__INIT;
    int rc = hub_delivery_subscribe(self->delivery, rid, rid_len, req, hub_mono_ms(), &sub, err);
    if (rc != 0) {
        self->rejected++;
        hub_info("subscribe refused: %s", err);
        s_reply_error(self, rid, rid_len, corr, rc, err, NULL);
        return;
    }
    hub_detail_t d;
    hub_detail_init(&d);
    char topics[HUB_DETAIL_LEN / 2] = "[";
    size_t used = 1;
    for (size_t i = 0; i < req->n_topics && used + HUB_MAX_PATTERN + 4 < sizeof topics; i++)
        used += (size_t)snprintf(topics + used, sizeof topics - used, "%s\"%s\"", i ? "," : "", req->topics[i]);
    snprintf(topics + used, sizeof topics - used, "]");
    hub_detail_raw(&d, "topics", topics); /* patterns hold no character JSON must escape */
    static const char *const starts[] = {"resume", "earliest", "latest", "seq"};
    unsigned start = req->has_start && req->start <= HUB__START__START_SEQ ? (unsigned)req->start : 0;
    hub_detail_str(&d, "start", starts[start]);
    hub_detail_int(&d, "position", (int64_t)sub.position);
    hub_detail_int(&d, "credit", sub.credit);
    s_audit(self, -1, self->actor, "subscribed", NULL, NULL, sub.name, 0, 0, &d);
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = corr;
    frame.body_case = HUB__FRAME__BODY_SUBSCRIBED;
    frame.subscribed = &sub;
    s_reply(self, rid, rid_len, &frame);
}

/* ------------------------------------------------------------ audit queries */

/* Answers an AuditQuery: with security: curve only an identity with
 * audit: true may; without, any local client. The fields are checked
 * here; the reading itself (reader.h) runs on the reader's thread, which
 * sends the answer back through the loop, so that a long reading (a
 * case's history on a long log, a verification of the whole chain) does
 * not hold up publishing. */
static void s_on_audit(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr,
                       const Hub__AuditQuery *q)
{
    if (s_denied(self, rid, rid_len, corr, hub_access_may_audit(self->cfg.access, self->actor), "read the audit log"))
        return;
    char err[HUB_ERR_LEN] = "";
    int filtered = q->case_id || q->event_id || q->actor || q->action || q->department || q->has_since_ms ||
                   q->has_until_ms || q->has_limit;
    if (q->has_verify && q->verify && filtered) {
        self->rejected++;
        s_reply_error(self, rid, rid_len, corr, -HUB_EINVALID,
                      "verify: checks the whole chain, give no filters with it", NULL);
        return;
    }
    if (q->action && !hub_audit_action_known(q->action)) {
        self->rejected++;
        snprintf(err, sizeof err, "action: unknown action \"%.40s\" (see hubctl audit --help)", q->action);
        s_reply_error(self, rid, rid_len, corr, -HUB_EINVALID, err, NULL);
        return;
    }
    int rc = hub_reader_ask(self->reader, rid, rid_len, corr, self->actor, q);
    if (rc == -EAGAIN) {
        s_reply_error(self, rid, rid_len, corr, -HUB_EUNAVAILABLE,
                      "the audit log is busy with other readings; ask again in a moment", NULL);
    } else if (rc < 0) {
        hub_error("audit query by %s not passed to the reader: %s", self->actor, hub_strerror(rc));
        s_reply_error(self, rid, rid_len, corr, rc, NULL, NULL);
    }
}

/* ------------------------------------------------------------ notification queries */

/* The bytes a reply may take: the frame limit, and no more than libhub
 * takes in one frame. */
static size_t s_reply_budget(const hub_broker_t *self)
{
    return self->cfg.max_frame < S_AUDIT_MAX_REPLY ? self->cfg.max_frame : S_AUDIT_MAX_REPLY;
}

/* Refuses a request whose strings or enums are not what the hub reads
 * (hub_message_validate). Returns 1 when it did, else 0. */
static int s_invalid(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr,
                     const ProtobufCMessage *msg, size_t max_len)
{
    char err[HUB_ERR_LEN] = "";
    if (hub_message_validate(msg, max_len, err) == 0)
        return 0;
    self->rejected++;
    hub_info("%s refused: %s", msg->descriptor->short_name, err);
    s_reply_error(self, rid, rid_len, corr, -HUB_EINVALID, err, NULL);
    return 1;
}

/* Answers a NotificationQuery (query.h): with security: curve only an
 * identity with audit: true may. Runs on the loop: blocks it for as long
 * as the reading takes, which the query's window bounds. */
static void s_on_notification_query(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr,
                                    const Hub__NotificationQuery *q)
{
    if (s_denied(self, rid, rid_len, corr, hub_access_may_audit(self->cfg.access, self->actor),
                 "read notifications"))
        return;
    if (s_invalid(self, rid, rid_len, corr, &q->base, HUB_QUERY_MAX_STRING))
        return;
    char err[HUB_ERR_LEN] = "";
    int64_t began = hub_mono_ms();
    hub_query_result_t *result = NULL;
    int rc = q->has_dead_letters && q->dead_letters
                 ? hub_query_dead_letters(self->store, q, s_reply_budget(self), &result, err)
                 : hub_query_notifications(self->store, q, s_reply_budget(self), &result, err);
    if (rc < 0) {
        hub_error("notification query by %s: %s", self->actor, err);
        s_reply_error(self, rid, rid_len, corr, rc, err, NULL);
        return;
    }
    Hub__NotificationList *list = hub_query_list(result);
    hub_debug("notification query by %s: %zu items%s in %lld ms", self->actor, list->n_items,
              list->truncated ? " (truncated)" : "", (long long)(hub_mono_ms() - began));
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = corr;
    frame.body_case = HUB__FRAME__BODY_NOTIFICATION_LIST;
    frame.notification_list = list;
    s_reply(self, rid, rid_len, &frame);
    hub_query_result_destroy(&result);
}

/* ------------------------------------------------------------ the policy */

/* Answers a PolicyQuery: the policy in force (its sha256, path, text and
 * route count) and, with an event, the notifications it would make of it
 * now (a dry run: nothing is stored or audited). With security: curve only
 * an identity with audit: true may ask. A text too large for one reply
 * frame is left out (the log says so). */
static void s_on_policy_query(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr,
                              const Hub__PolicyQuery *q)
{
    if (s_denied(self, rid, rid_len, corr, hub_access_may_audit(self->cfg.access, self->actor),
                 "read the policy"))
        return;
    char err[HUB_ERR_LEN] = "";
    Hub__PolicyReply reply = HUB__POLICY_REPLY__INIT;
    Hub__Routing routing = HUB__ROUTING__INIT;
    if (q->event) {
        int rc = hub_event_validate(q->event, err);
        if (rc != 0) {
            char field[HUB_ERR_LEN + 8];
            snprintf(field, sizeof field, "event.%s", err);
            self->rejected++;
            hub_info("policy dry run refused: %s", field);
            s_reply_error(self, rid, rid_len, corr, rc, field, NULL);
            return;
        }
        routing = s_route(self, q->event, hub_now_ms());
        reply.has_dry_run = 1;
        reply.dry_run = 1;
        reply.n_matches = routing.n_routes;
        reply.matches = routing.routes;
    }
    size_t source_len = 0;
    reply.sha256 = (char *)hub_policy_sha256(self->policy);
    reply.path = self->cfg.policy_path;
    reply.source = (char *)hub_policy_source(self->policy, &source_len);
    reply.has_routes = 1;
    reply.routes = (uint32_t)hub_policy_route_count(self->policy);
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = 1;
    frame.corr = corr;
    frame.body_case = HUB__FRAME__BODY_POLICY_REPLY;
    frame.policy_reply = &reply;
    if (protobuf_c_message_get_packed_size(&frame.base) + S_AUDIT_FRAME_SLACK > s_reply_budget(self)) {
        hub_warn("policy text of %zu bytes left out of the reply to %s: over one frame (limits: max_frame)",
                 source_len, self->actor);
        reply.source = NULL;
    }
    s_reply(self, rid, rid_len, &frame);
}

/* ------------------------------------------------------------ dead-letter actions */

#define S_MAX_NOTE 1000 /* bytes of the reason given for a dead-letter action */

/* What is known of a dead letter when an action on it comes in: its row,
 * or this turn's action on it (the batch is not written yet). */
typedef struct {
    char subscriber[HUB_DEADLETTER_SUBSCRIBER_LEN];
    uint64_t orig_seq;
    uint32_t orig_slot;
    char state[16];              /* open, redriven, discarded */
    char actor[HUB_ACTOR_LEN];   /* who acted on it */
    uint64_t redrive_seq;
} s_dl_known_t;

static int s_dl_known(const hub_store_dead_letter_t *dl, void *arg)
{
    s_dl_known_t *k = arg;
    snprintf(k->subscriber, sizeof k->subscriber, "%s", dl->subscriber);
    k->orig_seq = dl->orig_seq;
    k->orig_slot = dl->orig_slot;
    snprintf(k->state, sizeof k->state, "%s", dl->state);
    snprintf(k->actor, sizeof k->actor, "%s", dl->actor);
    k->redrive_seq = dl->redrive_seq;
    return 1;
}

/* Adds an action to the batch, to be written (write 1) and answered after
 * its commit. Returns it, or NULL when out of memory. */
static s_action_t *s_action_add(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, uint64_t seq,
                                const char *state, int redrive, int write, const char *note)
{
    if (self->b->nactions == self->b->actions_cap) {
        size_t cap = self->b->actions_cap ? self->b->actions_cap * 2 : 16;
        s_action_t *actions = realloc(self->b->actions, cap * sizeof *actions);
        if (actions)
            self->b->actions = actions;
        hub_store_dead_action_t *rows = actions ? realloc(self->b->store_actions, cap * sizeof *rows) : NULL;
        if (!rows)
            return NULL;
        self->b->store_actions = rows;
        self->b->actions_cap = cap;
    }
    s_action_t *a = &self->b->actions[self->b->nactions];
    *a = (s_action_t){.rid_len = rid_len, .corr = corr, .seq = seq, .state = state, .redrive = redrive,
                      .write = write, .note_off = SIZE_MAX};
    a->rid_off = s_arena_put(self, rid, rid_len, 0);
    a->actor_off = s_arena_put(self, self->audit_actor, strlen(self->audit_actor), 1);
    if (note)
        a->note_off = s_arena_put(self, note, strlen(note), 1);
    if (a->rid_off == SIZE_MAX || a->actor_off == SIZE_MAX || (note && a->note_off == SIZE_MAX))
        return NULL;
    self->b->nactions++;
    return a;
}

/* What a redrive needs of the stored events. */
typedef struct {
    hub_broker_t *self;
    const s_dl_known_t *known;
    uint64_t seq;                /* the dead letter */
    const char *note;            /* the reason given, or NULL */
    const char *want;            /* "redriven" or "discarded" */
    hub_route_view_t orig;       /* redrive: the route of the notification it was */
    char orig_scratch[4096];
    int entry;                   /* redrive: its entry in the batch; -1 */
    int rc;                      /* 0, or why it could not be done */
} s_dl_ctx_t;

static int s_dl_orig_row(const hub_store_row_t *row, void *arg)
{
    s_dl_ctx_t *ctx = arg;
    if (hub_routing_route(row->routing, row->routing_len, ctx->known->orig_slot, &ctx->orig, ctx->orig_scratch,
                          sizeof ctx->orig_scratch) != 1)
        ctx->rc = -HUB_EMALFORMED;
    return 1;
}

/* Does the action on the dead letter's stored event row: the redrive's
 * event (one route back to the original topic, redacted as the dead letter
 * is, no deadline), the audit row "redriven" or "discarded" naming the
 * actor. All of it goes with the next commit. */
static int s_dl_row(const hub_store_row_t *row, void *arg)
{
    s_dl_ctx_t *ctx = arg;
    hub_broker_t *self = ctx->self;
    const s_dl_known_t *k = ctx->known;
    char scratch[4096];
    hub_route_view_t dead;
    if (hub_routing_route(row->routing, row->routing_len, 0, &dead, scratch, sizeof scratch) != 1) {
        ctx->rc = -HUB_EMALFORMED;
        return 1;
    }
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "reason", ctx->note);
    hub_detail_int(&d, "orig_seq", (int64_t)k->orig_seq);
    hub_detail_int(&d, "orig_slot", k->orig_slot);
    if (strcmp(ctx->want, "redriven") == 0) {
        char id[HUB_DEADLETTER_ID_LEN], reason[HUB_ACTOR_LEN + 96];
        hub_deadletter_redrive_id(ctx->seq, id);
        snprintf(reason, sizeof reason, "redriven from dead letter %llu by %s", (unsigned long long)ctx->seq,
                 self->audit_actor);
        ctx->entry = s_add_made(self, self->audit_actor, row, &dead, id, "redrive", ctx->orig.topic,
                                ctx->orig.name, ctx->orig.department, ctx->orig.kind, reason);
        if (ctx->entry < 0) {
            ctx->rc = -ENOMEM;
            return 1;
        }
        s_audit(self, -1, self->audit_actor, "redriven", row->id, row->case_id, k->subscriber, ctx->seq, ctx->seq,
                &d);
        hub_journal_refer(self->b->journal, ctx->entry, "redrive_seq");
    } else {
        s_audit(self, -1, self->audit_actor, "discarded", row->id, row->case_id, k->subscriber, ctx->seq, ctx->seq,
                &d);
    }
    return 1;
}

/* Answers a DeadLetterAction: with security: curve only an identity with
 * admin: true may. A redrive stores a new event (id "redrive:<seq>") that
 * the subscriber receives like any notification; a discard closes the dead
 * letter. Either is written with its audit row in the next commit and
 * answered after it; asked again, it is answered alike and nothing more is
 * written; asked the other way round, it is refused. */
static void s_on_dead_letter_action(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr,
                                    const Hub__DeadLetterAction *a)
{
    if (a->on_behalf_of && hub_user_valid(a->on_behalf_of))
        s_act_for(self, a->on_behalf_of); /* a denial names the user too */
    if (s_denied(self, rid, rid_len, corr, hub_access_is_admin(self->cfg.access, self->actor),
                 "act on dead letters"))
        return;
    if (s_invalid(self, rid, rid_len, corr, &a->base, S_MAX_NOTE))
        return;
    char err[HUB_ERR_LEN] = "";
    int rc = -HUB_EINVALID;
    int redrive = a->action && strcmp(a->action, "redrive") == 0;
    int discard = a->action && strcmp(a->action, "discard") == 0;
    if (a->on_behalf_of && !hub_user_valid(a->on_behalf_of)) {
        snprintf(err, sizeof err, "on_behalf_of: a user name is 1 to %d letters, digits, '.', '_' or '-'",
                 HUB_USER_MAX);
        goto refuse;
    }
    if (!redrive && !discard) {
        snprintf(err, sizeof err, "action: \"%.40s\" is neither redrive nor discard", a->action ? a->action : "");
        goto refuse;
    }
    if (!a->has_seq || a->seq == 0) {
        snprintf(err, sizeof err, "seq: missing (the dead letter's own seq, as hubctl deadletters lists it)");
        goto refuse;
    }
    if (discard && (!a->reason || !*a->reason)) {
        snprintf(err, sizeof err, "reason: a discard needs a reason (1 to %d bytes)", S_MAX_NOTE);
        goto refuse;
    }
    const char *want = redrive ? "redriven" : "discarded";
    s_dl_known_t known = {0};
    const s_action_t *pending = NULL;
    for (size_t i = 0; i < self->b->nactions; i++)
        if (self->b->actions[i].seq == a->seq)
            pending = &self->b->actions[i];
    int found = hub_store_dead_letter(self->store, a->seq, s_dl_known, &known);
    if (found < 0) {
        rc = found;
        snprintf(err, sizeof err, "store: reading dead letter %llu failed", (unsigned long long)a->seq);
        hub_error("%s", err);
        s_reply_error(self, rid, rid_len, corr, rc, err, NULL);
        return;
    }
    if (found == 0) {
        snprintf(err, sizeof err, "seq: %llu is not a dead letter (hubctl deadletters lists them)",
                 (unsigned long long)a->seq);
        goto refuse;
    }
    if (pending) {
        snprintf(known.state, sizeof known.state, "%s", pending->state);
        snprintf(known.actor, sizeof known.actor, "%s", s_arena_str(self->b, pending->actor_off));
    }
    if (strcmp(known.state, want) == 0) {
        /* done before: the same answer, nothing more written */
        if (!pending)
            s_reply_done(self, rid, rid_len, corr, a->seq, want, known.redrive_seq);
        else if (!s_action_add(self, rid, rid_len, corr, a->seq, want, pending->redrive, 0, NULL))
            s_reply_error(self, rid, rid_len, corr, -ENOMEM, "out of memory", NULL);
        return;
    }
    if (strcmp(known.state, "open") != 0) {
        snprintf(err, sizeof err, "seq: dead letter %llu was %s by %s; it cannot be %s now",
                 (unsigned long long)a->seq, known.state, *known.actor ? known.actor : "someone", want);
        goto refuse;
    }
    s_dl_ctx_t ctx = {.self = self, .known = &known, .seq = a->seq, .note = a->reason, .want = want, .entry = -1};
    if (redrive) {
        int orig = hub_store_get(self->store, known.orig_seq, s_dl_orig_row, &ctx);
        if (orig <= 0 || ctx.rc != 0) {
            rc = orig < 0 ? orig : -HUB_EINTERNAL;
            snprintf(err, sizeof err, "seq: the notification %llu/%u that dead letter %llu was cannot be read",
                     (unsigned long long)known.orig_seq, known.orig_slot, (unsigned long long)a->seq);
            hub_error("%s", err);
            s_reply_error(self, rid, rid_len, corr, rc, err, NULL);
            return;
        }
    }
    /* room for the answer first: once the event and audit rows are in the
     * batch, nothing may fail */
    if (!s_action_add(self, rid, rid_len, corr, a->seq, want, -1, 1, a->reason)) {
        s_reply_error(self, rid, rid_len, corr, -ENOMEM, "out of memory", NULL);
        return;
    }
    s_action_t *action = &self->b->actions[self->b->nactions - 1];
    int got = hub_store_get(self->store, a->seq, s_dl_row, &ctx);
    if (got <= 0 || ctx.rc != 0) {
        self->b->nactions--;
        rc = got < 0 ? got : ctx.rc == -ENOMEM ? -ENOMEM : -HUB_EINTERNAL;
        snprintf(err, sizeof err, "seq: dead letter %llu cannot be %s: %s", (unsigned long long)a->seq, want,
                 got <= 0 ? "its event cannot be read" : hub_strerror(ctx.rc));
        hub_error("%s", err);
        s_reply_error(self, rid, rid_len, corr, rc, err, NULL);
        return;
    }
    action->redrive = ctx.entry;
    return;
refuse:
    self->rejected++;
    hub_info("dead-letter action refused: %s", err);
    s_reply_error(self, rid, rid_len, corr, rc, err, NULL);
}

static void s_on_frame(hub_broker_t *self, const uint8_t *rid, size_t rid_len, const uint8_t *data, size_t len,
                       int inner);

/* Refuses a Frames message, or a frame inside one, for err. */
static void s_frames_refused(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, int rc,
                             const char *err)
{
    self->rejected++;
    hub_info("frames refused: %s", err);
    s_reply_error(self, rid, rid_len, corr, rc, err, NULL);
}

/* 1 when a Frames message holds a count of frames the hub takes; else
 * refuses it (none is handled) and returns 0. */
static int s_frames_count_ok(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, size_t count)
{
    if (count == 0) {
        s_frames_refused(self, rid, rid_len, corr, -HUB_EINVALID, "frames: no frame in the message");
        return 0;
    }
    if (count > HUB_GATHER_HUB_FRAMES) {
        char err[HUB_ERR_LEN];
        snprintf(err, sizeof err, "frames: %zu in one message, over the limit of %d", count, HUB_GATHER_HUB_FRAMES);
        s_frames_refused(self, rid, rid_len, corr, -HUB_ETOOLARGE, err);
        return 0;
    }
    return 1;
}

/* The frames of a Frames message in the form gather.h writes: each
 * handled as if it came alone, once all of them are found whole (a body
 * that is not is left to the decoder: returns 0 then, 1 when handled). */
static int s_on_gathered(hub_broker_t *self, const uint8_t *rid, size_t rid_len, const uint8_t *body, size_t len)
{
    char err[HUB_ERR_LEN] = "";
    const uint8_t *frame;
    size_t frame_len, pos = 0, count = 0;
    int rc;
    while ((rc = hub_gather_next(body, len, &pos, &frame, &frame_len, err)) == 1)
        count++;
    if (rc < 0)
        return 0;
    if (s_frames_count_ok(self, rid, rid_len, 0, count))
        for (pos = 0; hub_gather_next(body, len, &pos, &frame, &frame_len, err) == 1;)
            s_on_frame(self, rid, rid_len, frame, frame_len, 1);
    return 1;
}

/* Refuses a Frames message inside another: none of its frames is handled. */
static void s_frames_nested(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr)
{
    s_frames_refused(self, rid, rid_len, corr, -HUB_EINVALID, "frames: a Frames inside a Frames is not taken");
}

/* A Frames message the decoder read (any form protobuf takes): its frames,
 * each handled as if it came alone. */
static void s_on_frames(hub_broker_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr,
                        const Hub__Frames *frames, int inner)
{
    if (inner) {
        s_frames_nested(self, rid, rid_len, corr);
        return;
    }
    if (!s_frames_count_ok(self, rid, rid_len, corr, frames->n_frame))
        return;
    for (size_t i = 0; i < frames->n_frame; i++)
        s_on_frame(self, rid, rid_len, frames->frame[i].data, frames->frame[i].len, 1);
}

/* Handles one message of a client: a frame (publishes go to the batch),
 * or (not inner) a Frames of several. inner: it came inside a Frames. */
static void s_on_frame(hub_broker_t *self, const uint8_t *rid, size_t rid_len, const uint8_t *data, size_t len,
                       int inner)
{
    char err[HUB_ERR_LEN] = "";
    const uint8_t *body;
    size_t body_len;
    /* over max_frame, the decoder refuses it as it would any frame */
    if ((!self->cfg.max_frame || len <= self->cfg.max_frame) && hub_gather_body(data, len, &body, &body_len)) {
        if (inner) {
            s_frames_nested(self, rid, rid_len, 0);
            return;
        }
        if (s_on_gathered(self, rid, rid_len, body, body_len))
            return;
    }
    Hub__Frame *frame = NULL;
    int rc = hub_frame_decode(data, len, self->cfg.max_frame, &frame, err);
    if (rc != 0) {
        self->rejected++;
        hub_info("frame of %zu bytes refused: %s", len, err);
        s_reply_error(self, rid, rid_len, 0, rc, err, NULL);
        return;
    }
    uint64_t corr = frame->has_corr ? frame->corr : 0;
    switch (frame->body_case) {
    case HUB__FRAME__BODY_HELLO: {
        Hub__Welcome welcome = HUB__WELCOME__INIT;
        welcome.hub_version = HUB_VERSION;
        welcome.instance = self->instance;
        welcome.identity = (char *)self->actor;
        welcome.has_max_frame = 1;
        welcome.max_frame = self->cfg.max_frame;
        welcome.has_frames = 1;
        welcome.frames = HUB_GATHER_HUB_FRAMES;
        Hub__Frame reply = HUB__FRAME__INIT;
        reply.has_corr = 1;
        reply.corr = corr;
        reply.body_case = HUB__FRAME__BODY_WELCOME;
        reply.welcome = &welcome;
        s_reply(self, rid, rid_len, &reply);
        break;
    }
    case HUB__FRAME__BODY_HEARTBEAT: {
        hub_delivery_heard(self->delivery, rid, rid_len, hub_mono_ms());
        Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
        hb.instance = self->instance;
        Hub__Frame reply = HUB__FRAME__INIT;
        reply.has_corr = 1;
        reply.corr = corr;
        reply.body_case = HUB__FRAME__BODY_HEARTBEAT;
        reply.heartbeat = &hb;
        s_reply(self, rid, rid_len, &reply);
        break;
    }
    case HUB__FRAME__BODY_PUBLISH:
        s_on_publish(self, rid, rid_len, corr, frame->publish);
        break;
    case HUB__FRAME__BODY_SUBSCRIBE:
        s_on_subscribe(self, rid, rid_len, corr, frame->subscribe);
        break;
    case HUB__FRAME__BODY_ACK:
        hub_delivery_heard(self->delivery, rid, rid_len, hub_mono_ms());
        if (hub_delivery_ack(self->delivery, frame->ack) != 0)
            s_reply_error(self, rid, rid_len, corr, -HUB_EUNKNOWN, "name: no such subscriber", NULL);
        break;
    case HUB__FRAME__BODY_NACK:
        hub_delivery_heard(self->delivery, rid, rid_len, hub_mono_ms());
        if (hub_delivery_nack(self->delivery, frame->nack, hub_mono_ms()) != 0)
            s_reply_error(self, rid, rid_len, corr, -HUB_EUNKNOWN, "name: no such subscriber", NULL);
        break;
    case HUB__FRAME__BODY_STATUS_REQUEST:
        s_on_status(self, rid, rid_len, corr);
        break;
    case HUB__FRAME__BODY_AUDIT_QUERY:
        s_on_audit(self, rid, rid_len, corr, frame->audit_query);
        break;
    case HUB__FRAME__BODY_NOTIFICATION_QUERY:
        s_on_notification_query(self, rid, rid_len, corr, frame->notification_query);
        break;
    case HUB__FRAME__BODY_DEAD_LETTER_ACTION:
        s_on_dead_letter_action(self, rid, rid_len, corr, frame->dead_letter_action);
        break;
    case HUB__FRAME__BODY_POLICY_QUERY:
        s_on_policy_query(self, rid, rid_len, corr, frame->policy_query);
        break;
    case HUB__FRAME__BODY_FRAMES:
        s_on_frames(self, rid, rid_len, corr, frame->frames, inner);
        break;
    default:
        self->rejected++;
        /* the client's mistake, named as a field: INVALID, not INTERNAL */
        snprintf(err, sizeof err, "body: a %s frame is not something a client sends", hub_frame_kind(frame));
        hub_info("frame refused: %s", err);
        s_reply_error(self, rid, rid_len, corr, -HUB_EINVALID, err, NULL);
        break;
    }
    hub_frame_free(&frame);
}

/* Reads every message waiting on the router, up to max_batch publishes.
 * Returns 1 when it stopped because the batch is full, else 0. */
static int s_drain(hub_broker_t *self)
{
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    int full = 0;
    while (!(full = self->b->npublishes >= self->cfg.max_batch)) {
        if (zmq_msg_recv(&rid, self->router, ZMQ_DONTWAIT) < 0)
            break;
        int parts = 1, extra = 0;
        while (zmq_msg_more(parts == 1 ? &rid : &body)) {
            if (zmq_msg_recv(&body, self->router, ZMQ_DONTWAIT) < 0)
                break;
            if (++parts > 2)
                extra = 1;
        }
        const uint8_t *r = zmq_msg_data(&rid);
        size_t rlen = zmq_msg_size(&rid);
        if (parts != 2 || extra) {
            self->rejected++;
            hub_info("message of %d parts refused", parts - 1);
            s_reply_error(self, r, rlen, 0, -HUB_EMALFORMED, "a message is exactly one frame", NULL);
            continue;
        }
        const char *user = self->cfg.curve ? zmq_msg_gets(&body, "User-Id") : NULL;
        self->actor = user && *user ? user : S_LOCAL;
        self->audit_actor = self->actor;
        if (self->cfg.curve && !s_key_known(self, self->actor))
            s_denied(self, r, rlen, 0, 0, "act: its key is no longer known (removed from keys.clients)");
        else
            s_on_frame(self, r, rlen, zmq_msg_data(&body), zmq_msg_size(&body), 0);
        self->actor = S_LOCAL;
        self->audit_actor = S_LOCAL;
    }
    zmq_msg_close(&rid);
    zmq_msg_close(&body);
    return full;
}

/* Reads the tap's subscription messages (XPUB: first byte 1 subscribe,
 * 0 unsubscribe; repeated subscriptions to one prefix come once). */
static void s_tap_subscriptions(hub_broker_t *self)
{
    uint8_t msg[256];
    int n;
    while ((n = zmq_recv(self->tap, msg, sizeof msg, ZMQ_DONTWAIT)) > 0) {
        if (msg[0] == 1)
            self->tap_subscriptions++;
        else if (msg[0] == 0 && self->tap_subscriptions > 0)
            self->tap_subscriptions--;
    }
}

static void s_reload(hub_broker_t *self)
{
    char err[HUB_ERR_LEN] = "";
    if (self->cfg.curve && s_load_client_keys(self, err) != 0)
        hub_error("client keys not reloaded, keeping the %zu known: %s", self->nkeys, err);
    hub_policy_t *policy = hub_policy_load(self->cfg.policy_path, err);
    if (!policy) {
        hub_error("policy reload failed, keeping the running policy (sha256 %.12s): %s",
                  hub_policy_sha256(self->policy), err);
        return;
    }
    /* nothing kept in a batch points into the policy: its journal and arena hold copies */
    s_notices_drop(self);
    self->last_routing.valid = 0; /* its pointers were the old policy's */
    hub_policy_destroy(&self->policy);
    self->policy = policy;
    s_audit_policy(self);
    hub_info("policy reloaded from %s: %zu routes, sha256 %s", self->cfg.policy_path,
             hub_policy_route_count(policy), hub_policy_sha256(policy));
}

/* Sends the audit readings the reader has answered to their clients (at
 * most as many as may wait); one that cannot be sent is dropped, as any
 * reply (the client asks again). */
static void s_forward_readings(hub_broker_t *self)
{
    zmq_msg_t rid, frame;
    zmq_msg_init(&rid);
    zmq_msg_init(&frame);
    for (int i = 0; i < HUB_READER_QUEUE && hub_reader_take(self->reader, &rid, &frame); i++) {
        int rc = s_send_raw(self->router, zmq_msg_data(&rid), zmq_msg_size(&rid), zmq_msg_data(&frame),
                            zmq_msg_size(&frame));
        if (rc < 0)
            hub_debug("audit reply not sent: %s", hub_strerror(rc));
    }
    zmq_msg_close(&rid);
    zmq_msg_close(&frame);
}

int hub_broker_run(hub_broker_t *self, int signal_fd)
{
    const char *head = NULL;
    int64_t rows = hub_store_audit_head(self->store, &head);
    hub_info("audit log: %lld rows, head %s", (long long)rows, rows ? head : "-");
    int64_t next_tick = hub_mono_ms() + S_TICK_MS;
    int more = 1, stop = 0, full = 0;
    while (!stop) {
        int64_t now = hub_mono_ms();
        /* a full batch waits for the writer: then only the writer's word
         * (and the rest but the router) wakes the loop */
        int wait_writer = full && self->flight;
        long timeout = (more || full) && !wait_writer ? 0 : (long)(next_tick > now ? next_tick - now : 0);
        zmq_pollitem_t items[6] = {{self->router, 0, wait_writer ? 0 : ZMQ_POLLIN, 0},
                                   {self->tap, self->tap ? 0 : -1, self->tap ? ZMQ_POLLIN : 0, 0},
                                   {self->zap, self->zap ? 0 : -1, self->zap ? ZMQ_POLLIN : 0, 0},
                                   {hub_reader_socket(self->reader), 0, ZMQ_POLLIN, 0},
                                   {NULL, hub_store_commit_fd(self->store), self->flight ? ZMQ_POLLIN : 0, 0},
                                   {NULL, signal_fd, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, signal_fd >= 0 ? 6 : 5, timeout);
        if (n < 0 && zmq_errno() != EINTR) {
            hub_error("poll failed: %s", zmq_strerror(zmq_errno()));
            return -zmq_errno();
        }
        if (n > 0 && (items[1].revents & ZMQ_POLLIN))
            s_tap_subscriptions(self);
        if (n > 0 && (items[2].revents & ZMQ_POLLIN))
            s_on_zap(self);
        if (n > 0 && (items[3].revents & ZMQ_POLLIN))
            s_forward_readings(self);
        if (n > 0 && signal_fd >= 0 && (items[5].revents & ZMQ_POLLIN)) {
            char cmds[16];
            ssize_t got = read(signal_fd, cmds, sizeof cmds);
            for (ssize_t i = 0; i < got; i++) {
                if (cmds[i] == 'T')
                    stop = 1;
                else if (cmds[i] == 'H')
                    s_reload(self);
            }
        }
        /* what was just committed goes out before anything new is read,
         * so that a subscriber gets it before whatever its answers cause
         * (a nack's redelivery comes after the later ones it had) */
        if (self->flight && s_commit_end(self, 0) != -EAGAIN) {
            /* the writer is free: what it would write on its thread goes to
             * it now, not after this turn's delivery and reading (it would
             * wait for them idle); a few events it would write here, which
             * would hold back the delivery of what was just committed */
            if (self->b->nentries > HUB_STORE_INLINE_EVENTS)
                s_commit_next(self, now, stop);
            hub_delivery_pump(self->delivery, hub_mono_ms());
        }
        full = self->b->npublishes >= self->cfg.max_batch || s_drain(self);
        now = hub_mono_ms();
        if (now >= next_tick) {
            hub_delivery_tick(self->delivery, now);
            s_check_deadlines(self);
            next_tick = now + S_TICK_MS;
        }
        s_commit_next(self, now, stop);
        more = hub_delivery_pump(self->delivery, now);
    }
    if (self->flight)
        s_commit_end(self, 1);
    if (s_batch_waiting(self) || hub_delivery_dirty(self->delivery))
        s_commit(self);
    rows = hub_store_audit_head(self->store, &head);
    hub_info("stopped: last seq %llu, %llu commits; audit log %lld rows, head %s",
             (unsigned long long)hub_store_last_seq(self->store), (unsigned long long)hub_store_commits(self->store),
             (long long)rows, rows ? head : "-");
    return 0;
}
