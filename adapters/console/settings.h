/*
 * settings - hub-console's configuration: defaults, then the YAML file
 * (--config), then command-line options.
 *
 *   listen: 127.0.0.1:8081        HTTP address (IPv4, or [IPv6]:port); port 0: any free port.
 *                                 Only a loopback address unless --insecure.
 *   hub:                          the hub, as libhub reaches it (a bare endpoint is short for
 *     endpoint: tcp://127.0.0.1:7200   { endpoint: ... }); "" or absent: $HUB_ENDPOINT, else
 *     key: ""                          libhub's default; key: this client's CURVE key pair
 *     server_key: ""                   (path prefix), server_key: the hub's public key file;
 *                                      "" or absent: $HUB_KEY / $HUB_SERVER_KEY
 *   hub_timeout: 5s               longest wait for one hub call (then 502)
 *   users_file: console-users.yaml    who may log in (users.h); required
 *   proxy_header: ""              e.g. X-Forwarded-User: trust it for the user, from loopback peers only
 *   public_host: ""               the host name browsers reach the console by through a proxy
 *                                 (e.g. switchboard.example.com); requests for any other Host
 *                                 than it and the loopback names are refused (DNS rebinding)
 *   session_ttl: 8h               a session ends this long after its login
 *   secure_cookies: false         true: the session cookie also carries Secure (behind TLS)
 *   metrics: open                 open: GET /metrics without login; operator: operators only
 *   log_level: info
 *
 * Relative file names (users_file, hub.key, hub.server_key) are relative to
 * the configuration file's directory, so that the file can be used from any
 * working directory.
 */
#ifndef CS_SETTINGS_H_INCLUDED
#define CS_SETTINGS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hub.h"
#include "log.h"

#define CS_STR_LEN 512        /* bytes of an endpoint, address or path */
#define CS_HEADER_LEN 64      /* bytes of a header name */
#define CS_MIN_TTL_MS 60000LL /* session_ttl at least a minute */
#define CS_MAX_TTL_MS (30LL * 24 * 3600 * 1000) /* and at most 30 days */

typedef enum {
    CS_METRICS_OPEN = 0,  /* GET /metrics without a login */
    CS_METRICS_OPERATOR,  /* only with an operator's session */
} cs_metrics_access_t;

typedef struct {
    char listen[CS_STR_LEN];       /* "127.0.0.1:8081" */
    char hub[CS_STR_LEN];          /* hub endpoint; "": $HUB_ENDPOINT or libhub's default */
    char hub_key[CS_STR_LEN];      /* CURVE key pair prefix; "": $HUB_KEY */
    char hub_server_key[CS_STR_LEN]; /* the hub's public key file; "": $HUB_SERVER_KEY */
    int64_t hub_timeout_ms;        /* one hub call at most */
    char users_file[CS_STR_LEN];   /* resolved path of the users file; "" until set */
    char proxy_header[CS_HEADER_LEN]; /* trusted user header; "": none */
    char public_host[CS_STR_LEN];  /* the name behind a proxy; "": loopback names only */
    int64_t session_ttl_ms;        /* session lifetime */
    int secure_cookies;            /* 1: Secure on the cookie */
    cs_metrics_access_t metrics;   /* who may read /metrics */
    hub_log_level_t log_level;     /* lowest level logged */
} cs_settings_t;

/* The defaults: 127.0.0.1:8081, hub from the environment, 5 s, 8 h, open
 * metrics, no users file. */
void cs_settings_init(cs_settings_t *self);

/* Overlays the file's keys on self. Returns 0; -HUB_ECONFIG or -errno with
 * err "path:LINE: what is wrong". Blocks on the file system. */
int cs_settings_load(cs_settings_t *self, const char *path, char err[HUB_ERR_LEN]);

/* Parses "HOST:PORT" (numeric IPv4 or [IPv6]) into addr, as
 * httpd_listen_parse does, with this program's examples in err. Returns 0
 * or -HUB_EINVALID with err. */
int cs_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len_p, char err[HUB_ERR_LEN]);

#endif
