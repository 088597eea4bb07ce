/*
 * config - hubd's settings: defaults (the embedded default of the README),
 * then hub.yaml, then command-line options, in that order.
 *
 * hub.yaml keys (all optional):
 *   endpoint: tcp://127.0.0.1:7200     ROUTER endpoint for clients
 *   tap: tcp://127.0.0.1:7201          PUB tap for live viewing ("" or off: none)
 *   data: ./var/hub                    data directory (database inside)
 *   policy: deploy/policy.yaml         routing policy
 *   log_level: info                    debug, info, warn, error
 *   delivery:
 *     ack_timeout: 30s                 redeliver when not acked within
 *     max_attempts: 5                  then dead-letter
 *     default_credit: 100              when a subscriber asks for 0
 *     max_credit: 10000
 *   limits:
 *     max_frame: 1048576               bytes in one frame
 *     max_event: 262144                bytes of one packed event
 *     max_batch: 4096                  publishes in one group commit (the last
 *                                      message read may pass it by the publishes
 *                                      of its Frames)
 *     max_subscriptions_per_client: 16 subscriber names one connection may hold
 *     max_publish_rate: 50000          publishes a second per client, 0: no limit
 *   security: none                     none, or curve (keys and access below)
 *   keys:
 *     server: /etc/switchboard/keys/hubd      hubd's pair: hubd.key and hubd.secret
 *     clients: /etc/switchboard/keys/clients  NAME.key per client identity
 *   access:                            who may do what (access.h)
 *     support: { publish: [bug_report] }
 */
#ifndef HUB_CONFIG_H_INCLUDED
#define HUB_CONFIG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "hub.h"
#include "log.h"

#define HUB_CONFIG_STR 512 /* bytes of one path or endpoint */

typedef struct {
    char endpoint[HUB_CONFIG_STR];    /* ROUTER endpoint */
    char tap[HUB_CONFIG_STR];         /* PUB tap endpoint; "" for none */
    char data_dir[HUB_CONFIG_STR];    /* data directory */
    char policy_path[HUB_CONFIG_STR]; /* policy file */
    hub_log_level_t log_level;        /* lowest level logged */
    int64_t ack_timeout_ms;           /* redelivery after this long unacked */
    uint32_t max_attempts;            /* deliveries before dead-letter */
    uint32_t default_credit;          /* credit when a subscriber asks 0 */
    uint32_t max_credit;              /* credit is capped here */
    uint32_t max_frame;               /* bytes in one frame (ZMQ_MAXMSGSIZE) */
    uint32_t max_event;               /* bytes of a packed event */
    uint32_t max_batch;               /* publishes per group commit */
    uint32_t max_subs_per_client;     /* subscriber names one connection may hold */
    uint32_t max_publish_rate;        /* publishes a second per client (0: no limit) */
    int curve;                        /* 1: security: curve */
    char server_key[HUB_CONFIG_STR];  /* path prefix of hubd's key pair */
    char client_keys[HUB_CONFIG_STR]; /* directory of client public keys */
    hub_access_t *access;             /* owned; NULL when not given */
} hub_config_t;

/* The embedded default: loopback endpoints, ./var/hub, deploy/policy.yaml. */
void hub_config_defaults(hub_config_t *self);

/* Frees what the settings own (the access list). Safe twice. */
void hub_config_fini(hub_config_t *self);

/* Overlays the keys of a hub.yaml file on self. Returns 0, or -HUB_ECONFIG /
 * -errno with err "hub.yaml:LINE: what is wrong" (self may be partly
 * changed then). */
int hub_config_load(hub_config_t *self, const char *path, char err[HUB_ERR_LEN]);

/* The same from text (len bytes) named 'name' in messages. Does not block. */
int hub_config_parse(hub_config_t *self, const char *text, size_t len, const char *name, char err[HUB_ERR_LEN]);

#endif
