/*
 * client_int.h - libhub's insides, shared by its files and never installed.
 *
 * A client is one DEALER socket and what has to survive losing it: the
 * publishes not yet acknowledged, the subscription, the acks not yet sent
 * and the refs already handed to the application.
 *
 * Session state machine (client.c):
 *
 *   new() --> CONNECTING --Welcome (s_on_welcome)--> READY
 *                ^   |                                 |
 *                |   +-- 3*heartbeat with no Welcome --+-- 3*heartbeat with no
 *                |       (s_reconnect: new socket)     |   answer to a probe
 *                |                                     |   (s_reconnect)
 *                +------ Heartbeat with another -------+
 *                        instance (s_send_hello, same socket)
 *
 * Rules:
 *   1. Publish, Subscribe, Ack, Nack and StatusRequest frames go out only in
 *      READY. What is asked before is kept and sent by s_on_welcome.
 *   2. Every Welcome starts a session the hub may know nothing of: it
 *      resends every pending publish (same bytes), subscribes again (with
 *      START_RESUME once the hub has confirmed the first subscribe), and
 *      sends the acks kept meanwhile.
 *   3. Timers (heartbeat probe, liveness, resends) only run inside calls,
 *      in hub_client_step; an idle client sends nothing. While calls run,
 *      a probe goes out every heartbeat_ms even under traffic: a hub that
 *      restarted may still answer publishes, and only the instance in a
 *      Heartbeat tells that the subscription must be restored.
 *   4. Nothing the hub sends can make the client assert or abort: a frame
 *      that cannot be decoded or makes no sense here is counted and dropped.
 *   5. A redelivered notification the application already received is
 *      dropped; it is acknowledged again only when the application had
 *      acknowledged it (an ack the hub lost), never on the application's
 *      behalf while it still holds it.
 *
 * Frames arriving are handled before the timers run, so that an answer
 * waiting in the socket is never mistaken for silence after the
 * application spent a while outside the library.
 */
#ifndef HUB_CLIENT_INT_H_INCLUDED
#define HUB_CLIENT_INT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "dedup.h"
#include "gather.h"
#include "hub.h"
#include "hub.pb-c.h"
#include "ident.h"
#include "keys.h"
#include "pending.h"

#define HUB_RESEND_MS 2000              /* resend a publish unacked this long */
#define HUB_CLIENT_MAX_MSG (16 << 20)   /* ZMQ_MAXMSGSIZE: bytes in one frame */
#define HUB_CLIENT_HWM 10000            /* ZMQ_SNDHWM and ZMQ_RCVHWM */
#define HUB_ACK_BATCH 256               /* refs in one Ack frame at most */
#define HUB_ACK_DELAY_MS 50             /* an ack is kept this long at most while more notifications wait */
#define HUB_DEFAULT_WINDOW 1000         /* pipelined publishes pending at once */
#define HUB_DEFAULT_CREDIT 100          /* credit asked when the caller says 0 */
#define HUB_CLIENT_BATCH 256            /* notifications per Deliver frame asked for (Subscribe.batch) */
#define HUB_CLIENT_BATCH_MAX 256        /* ... and taken at most (a frame with more is dropped) */
#define HUB_INSTANCE_LEN 128            /* bytes kept of the hub's instance */

typedef enum {
    HUB_SUB_NONE = 0, /* hub_subscribe not called */
    HUB_SUB_WANTED,   /* a Subscribe must be sent when READY */
    HUB_SUB_SENT,     /* sent, waiting for Subscribed or Error */
    HUB_SUB_ACTIVE,   /* the hub confirmed it */
    HUB_SUB_REFUSED,  /* the hub refused it: sub_rc, sub_err */
} hub_sub_state_t;

struct hub_client {
    void *ctx;                        /* ZeroMQ context, shared by the process's clients (client.c) */
    void *sock;                       /* DEALER to the hub (owned) */
    char *endpoint;                   /* hub endpoint (owned) */
    char *client_name;                /* sent in Hello (owned) */
    int timeout_ms;                   /* default call timeout */
    int heartbeat_ms;                 /* silence before a probe */
    uint64_t next_corr;               /* last corr handed out */
    int curve;                        /* 1: the socket speaks CURVE with the keys below */
    char curve_public[HUB_KEY_SIZE];  /* this client's public key, z85 */
    char curve_secret[HUB_KEY_SIZE];  /* this client's secret key, z85 (wiped at destroy) */
    char curve_server[HUB_KEY_SIZE];  /* the hub's public key, z85 */

    /* session */
    int ready;                        /* 1: Welcome seen on this socket */
    uint64_t hello_corr;              /* corr of the Hello waiting for Welcome */
    int64_t hello_ms;                 /* when that Hello was sent */
    int hello_rc;                     /* the hub refused the Hello: its code */
    char hello_err[HUB_ERR_LEN];      /* and its words */
    char instance[HUB_INSTANCE_LEN];  /* hub instance from the last Welcome */
    uint32_t max_frame;               /* hub's frame limit (0: not told) */
    uint32_t hub_frames;              /* frames the hub takes in one message (Welcome.frames; < 2: none gathered) */
    hub_gather_t gather;              /* publishes gathered for one message (hub_client_gather) */
    int64_t gather_ms;                /* the stamp of the first of them */
    uint64_t sessions;                /* Welcomes received */
    int64_t last_heard_ms;            /* last frame from the hub */
    uint64_t probe_corr;              /* Heartbeat waiting for an answer; 0: none */
    int64_t probe_ms;                 /* when the last probe was sent */
    uint64_t heartbeats;              /* Heartbeat answers received */
    uint64_t frames_dropped;          /* hub frames that made no sense */
    char user[HUB_USER_MAX + 1];      /* hub_client_set_user: on_behalf_of of what it sends ("": nobody) */
    hub_buf_t out;                    /* encode buffer, reused */

    /* publishing (publish.c) */
    hub_pending_t pending;            /* unanswered publishes */
    size_t async_pending;             /* of which pipelined (not sync) */
    size_t window;                    /* pipelined publishes pending at most */
    hub_publish_outcome_t *outcomes;  /* answered pipelined publishes, FIFO ring */
    size_t out_head;                  /* ring index of the oldest */
    size_t out_len;                   /* outcomes waiting */
    size_t out_cap;                   /* ring capacity */
    uint64_t sync_corr;               /* the blocking publish in progress; 0: none */
    int sync_done;                    /* 1: sync_outcome is its answer */
    hub_publish_outcome_t sync_outcome; /* answer to the blocking publish */

    /* subscribing (subscribe.c) */
    hub_sub_state_t sub_state;        /* see hub_sub_state_t */
    char *sub_name;                   /* durable name (owned) */
    char **sub_topics;                /* patterns (owned) */
    size_t sub_ntopics;               /* entries in sub_topics */
    Hub__Start sub_start;             /* start to ask for next time */
    uint64_t sub_start_seq;           /* with HUB__START__START_SEQ */
    uint32_t sub_credit;              /* credit asked for */
    uint32_t sub_granted;             /* credit the hub granted */
    uint64_t sub_corr;                /* corr of the last Subscribe sent */
    uint64_t sub_position;            /* position the hub reported */
    int sub_rc;                       /* refusal code (HUB_SUB_REFUSED) */
    char sub_err[HUB_ERR_LEN];        /* refusal words */
    hub_notification_t **queue;       /* received, not yet handed out: FIFO ring */
    size_t q_head;                    /* ring index of the oldest */
    size_t q_len;                     /* notifications waiting */
    size_t q_cap;                     /* ring capacity */
    hub_ack_ref_t *acks;              /* refs to acknowledge, not yet sent */
    size_t n_acks;                    /* entries in acks */
    size_t acks_cap;                  /* capacity of acks */
    int64_t acks_since_ms;            /* monotonic time the oldest kept ack was kept */
    hub_dedup_t dedup;                /* refs handed to the application, marked once acknowledged */

    /* the admin request waiting (hub_status, hub_audit_query, hub_notification_query, ...: one at a time) */
    uint64_t status_corr;             /* the request waiting for its reply; 0: none */
    Hub__Frame__BodyCase status_body; /* the reply body it waits for */
    int status_done;                  /* 1: status_rc / status_json hold the answer */
    int status_rc;                    /* 0 or the hub's refusal */
    char *status_json;                /* the reply as JSON (owned) */
    char status_err[HUB_ERR_LEN];     /* refusal words */
};

/* ------------------------------------------------ client.c (the session) */

/* A fresh correlation id (>= 1). */
uint64_t hub_client_corr(hub_client_t *self);

/* The absolute monotonic deadline for a call given timeout_ms (< 0: the
 * client's default). */
int64_t hub_client_deadline(const hub_client_t *self, int timeout_ms);

/* Packs frame (version set here) and sends it without blocking.
 * Returns 0; -EAGAIN when the socket's queue is full; -ENOMEM; -errno. */
int hub_client_send(hub_client_t *self, Hub__Frame *frame);

/* Sends already packed bytes without blocking, after what is gathered
 * (so that frames leave in the order they were given). Returns as
 * hub_client_send. */
int hub_client_send_bytes(hub_client_t *self, const void *data, size_t len);

/* Gathers a packed frame (a publish) to go out with the next ones in one
 * Frames message (gather.h): the message leaves when it holds
 * HUB_GATHER_FRAMES, when one more would pass HUB_GATHER_BYTES or the
 * hub's frame limit, and at the next hub_client_step or other send, so
 * a frame waits no longer than the caller takes to wait for anything.
 * Sent alone when the hub takes no Frames. now is the stamp its pending
 * entry got: frames that leave later are stamped again when they do.
 * Returns as hub_client_send (an error of frames gathered before it
 * included). */
int hub_client_gather(hub_client_t *self, const uint8_t *frame, size_t len, int64_t now);

/* Sends what is gathered, if anything. Returns as hub_client_send; what
 * could not be sent is dropped (publishes go again with the resend timer). */
int hub_client_flush(hub_client_t *self);

/* One round of I/O: sends kept acks, runs the timers, waits until a frame
 * arrives, a timer falls due or the deadline passes, and handles every frame
 * that arrived. Blocks until then. Returns 0, or a negative code when the
 * client cannot go on (-ENOMEM, -ETERM). */
int hub_client_step(hub_client_t *self, int64_t deadline);

/* When the hub refused this session's Hello (and no Welcome came since):
 * its code, with its words copied to err (may be NULL). Else 0. Calls
 * waiting for the hub give up with it rather than wait for their deadline. */
int hub_client_refused(const hub_client_t *self, char err[HUB_ERR_LEN]);

/* The hub's refusal as a return code (-HUB_E...). */
int hub_client_error_rc(const Hub__Error *error);

/* The hub's refusal as text: "field: message", or the message alone
 * (also when the message starts with "field:" already). */
void hub_client_error_text(const Hub__Error *error, char err[HUB_ERR_LEN]);

/* "what: no answer from the hub at EP within N ms (is hubd running?)";
 * with CURVE it also asks whether the hub knows this client's key. */
void hub_client_timeout_text(const hub_client_t *self, const char *what, int64_t waited_ms,
                             char err[HUB_ERR_LEN]);

/* Fills err like snprintf when err is not NULL. */
void hub_client_errf(char err[HUB_ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ publish.c */

int hub_publish_init(hub_client_t *self);
void hub_publish_fini(hub_client_t *self);

/* Sends every pending publish again (a new session began). */
void hub_publish_on_welcome(hub_client_t *self);

/* Handles a PublishAck; ignores one whose corr is not pending. */
void hub_publish_on_ack(hub_client_t *self, uint64_t corr, const Hub__PublishAck *ack);

/* Handles an Error answering corr. Returns 1 when corr was a pending
 * publish, else 0. */
int hub_publish_on_error(hub_client_t *self, uint64_t corr, const Hub__Error *error);

/* Resends publishes unacked for HUB_RESEND_MS (READY only). */
void hub_publish_on_timer(hub_client_t *self, int64_t now_ms);

/* When the next resend falls due, or INT64_MAX. */
int64_t hub_publish_next_due(const hub_client_t *self);

/* ---------------------------------------------------------- subscribe.c */

int hub_subscribe_init(hub_client_t *self);
void hub_subscribe_fini(hub_client_t *self);

/* Subscribes again after a new session began; sends kept acks. */
void hub_subscribe_on_welcome(hub_client_t *self);

/* Handles Subscribed for corr. */
void hub_subscribe_on_subscribed(hub_client_t *self, uint64_t corr, const Hub__Subscribed *sub);

/* Handles a Deliver frame; takes ownership of *frame_p (sets it NULL). */
void hub_subscribe_on_deliver(hub_client_t *self, Hub__Frame **frame_p);

/* Handles an Error answering corr. Returns 1 when it was about the
 * subscription, else 0. */
int hub_subscribe_on_error(hub_client_t *self, uint64_t corr, const Hub__Error *error);

/* Sends the Subscribe when one is wanted, then the acks kept (READY only;
 * acks once a Subscribe is out). Never blocks. */
void hub_subscribe_flush_acks(hub_client_t *self);

/* ------------------------------------------------------- notification.c */

/* Wraps the count notifications of a Deliver frame (its notification,
 * then count - 1 of its more) into out; they share the frame, which goes
 * with the last of them. Takes ownership of *frame_p and clears it on
 * success. Returns 0, or -ENOMEM (the caller still owns the frame). */
int hub_notification_wrap(Hub__Frame **frame_p, hub_notification_t **out, size_t count);

#endif
