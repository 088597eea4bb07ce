/*
 * settings - hub-webhook-in's configuration: defaults, then the YAML file
 * (--config), then command-line options.
 *
 *   listen: 127.0.0.1:8080        HTTP address (IPv4, or [IPv6]:port); port 0: any free port
 *   hub: tcp://127.0.0.1:7200     hubd's endpoint (default: $HUB_ENDPOINT, else this)
 *   hub_timeout: 5s               wait this long for the hub's acks, then 503
 *   retry_after: 10s              Retry-After sent with a 503
 *   max_body: 1048576             bytes in one request body (413 above)
 *   max_events: 1000              events in one request (413 above)
 *   log_level: info
 *   sources:                      who may post; at least one
 *     - name: support             becomes the event's source when it has none
 *       token_file: support.token       Authorization: Bearer <token>
 *     - name: helpdesk
 *       hmac_secret_file: helpdesk.secret  HMAC-SHA256 of the body, hex, in
 *       signature_header: X-Signature      this header ("sha256=<hex>" or "<hex>")
 *       mapping: mappings/helpdesk.yaml    payload -> event (mapping.h)
 *
 * A source has exactly one credential: token, token_file, hmac_secret or
 * hmac_secret_file (at least 16 bytes; a file's trailing newline is
 * dropped). Relative file names are relative to the configuration file's
 * directory, so that the file can be used from any working directory.
 */
#ifndef WH_SETTINGS_H_INCLUDED
#define WH_SETTINGS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hub.h"
#include "log.h"
#include "mapping.h"

#define WH_NAME_LEN 64          /* bytes of a source name */
#define WH_HEADER_LEN 64        /* bytes of a header name */
#define WH_MAX_SOURCES 32       /* sources in one configuration */
#define WH_MIN_SECRET 16        /* bytes a token or HMAC secret has at least */
#define WH_MAX_SECRET 1024      /* and at most */
#define WH_STR_LEN 512          /* bytes of an endpoint, address or path */

typedef struct {
    char name[WH_NAME_LEN];     /* the source's name */
    char *token;                /* bearer token (owned), or NULL */
    char *secret;               /* HMAC secret (owned), or NULL */
    size_t secret_len;          /* bytes of secret */
    char header[WH_HEADER_LEN]; /* signature header (HMAC sources) */
    wh_mapping_t *mapping;      /* payload -> event (owned), or NULL: payloads are events */
} wh_source_t;

typedef struct {
    char listen[WH_STR_LEN];    /* "127.0.0.1:8080" */
    char hub[WH_STR_LEN];       /* hub endpoint; "" for $HUB_ENDPOINT or libhub's default */
    int64_t hub_timeout_ms;     /* ack wait before 503 */
    int64_t retry_after_ms;     /* Retry-After of a 503 */
    size_t max_body;            /* bytes of a request body */
    size_t max_events;          /* events in one request */
    hub_log_level_t log_level;  /* lowest level logged */
    wh_source_t sources[WH_MAX_SOURCES]; /* who may post */
    size_t nsources;            /* entries used */
} wh_settings_t;

/* The defaults: 127.0.0.1:8080, 5 s, 1 MiB, 1000 events, no sources. */
void wh_settings_init(wh_settings_t *self);

/* Frees the sources' secrets and mappings. Safe twice. */
void wh_settings_fini(wh_settings_t *self);

/* Overlays the file's keys on self and loads the secret files and
 * mappings it names. Returns 0; -HUB_ECONFIG or -errno with err
 * "path:LINE: what is wrong". Blocks on the file system. */
int wh_settings_load(wh_settings_t *self, const char *path, char err[HUB_ERR_LEN]);

/* Parses "HOST:PORT" (IPv4 or [IPv6], numeric) into addr, as
 * httpd_listen_parse does, with this program's examples in err. Returns 0
 * or -HUB_EINVALID with err. */
int wh_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len_p, char err[HUB_ERR_LEN]);

#endif
