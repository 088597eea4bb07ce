/*
 * outlet_run - command line, subscription and the delivery loop (see
 * outlet_run.h for the rules and the state machine).
 */
#include "outlet_run.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "outlet_retry.h"

#ifndef OUTLET_VERSION
#define OUTLET_VERSION "0.0.0"
#endif

#define S_RECEIVE_MS 500        /* hub_receive waits this long between looks at the stop flag */
#define S_SUBSCRIBE_MS 5000     /* one subscribe attempt */
#define S_FLUSH_MS 2000         /* confirming the acks at a stop */
#define S_WAIT_SLICE_MS 100     /* a backoff wait looks at the stop flag this often */

static volatile sig_atomic_t s_stop;

int outlet_stopping(void)
{
    return s_stop != 0;
}

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* No SA_RESTART: a blocking poll returns EINTR and the loop looks at the flag. */
static void s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void outlet_one_line(const char *text, size_t len, size_t max, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    if (!text)
        len = 0;
    if (len > max)
        len = max;
    if (len > outlen - 1)
        len = outlen - 1;
    /* do not end inside a UTF-8 sequence */
    if (len > 0 && len < strnlen(text, len + 1)) {
        size_t cut = len;
        while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
            cut--;
        len = cut;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\0')
            break;
        out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[o] = '\0';
}

/* Waits ms, or less when a stop is asked for. Returns 0, or -1 on a stop. */
static int s_wait(int64_t ms)
{
    int64_t end = hub_mono_ms() + ms;
    for (;;) {
        if (s_stop)
            return -1;
        int64_t left = end - hub_mono_ms();
        if (left <= 0)
            return 0;
        if (left > S_WAIT_SLICE_MS)
            left = S_WAIT_SLICE_MS;
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The log line's common part: "seq 12/0 eng.defect case CASE-1 event ev-1". */
static void s_describe(const hub_notification_t *n, char *out, size_t len)
{
    const char *case_id = hub_notification_case_id(n);
    snprintf(out, len, "seq %" PRIu64 "/%u %s%s%s event %s (hub attempt %u)", hub_notification_seq(n),
             hub_notification_slot(n), hub_notification_topic(n), *case_id ? " case " : "", case_id,
             hub_notification_event_id(n), hub_notification_attempt(n));
}

/* Settles one notification (rules 1-4, 6). */
static void s_handle(const outlet_adapter_t *ad, const outlet_config_t *cfg, hub_client_t *client,
                     const hub_notification_t *n)
{
    char what[512];
    s_describe(n, what, sizeof what);
    const char *text = hub_notification_json(n);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    if (!doc) {
        /* nothing to render from: let the hub try again later */
        hub_error("%s: cannot read the notification (out of memory?); nacked", what);
        (void)hub_nack(client, n, "outlet: cannot read the notification", 0);
        return;
    }
    int64_t start = hub_mono_ms();
    for (uint32_t tries = 1;; tries++) {
        outlet_result_t res;
        memset(&res, 0, sizeof res);
        res.retry_after_ms = -1;
        ad->deliver(ad->arg, n, doc, &res);
        int64_t took = hub_mono_ms() - start;
        if (res.outcome == OUTLET_DELIVERED) {
            int rc = hub_ack(client, n);
            if (rc < 0)
                hub_warn("%s: delivered but the ack failed: %s", what, hub_strerror(rc));
            hub_info("delivered %s in %" PRId64 " ms, %u %s: %s", what, took, tries, tries == 1 ? "try" : "tries",
                     res.detail);
            break;
        }
        if (s_stop) {
            hub_info("abandoned %s at stop, not acked (the hub delivers it again): %s", what, res.detail);
            break;
        }
        if (res.outcome == OUTLET_REJECTED) {
            int rc = hub_nack(client, n, res.detail, 1);
            hub_warn("dead-lettered %s after %u %s: %s%s", what, tries, tries == 1 ? "try" : "tries", res.detail,
                     rc < 0 ? " (the nack failed; the hub will redeliver)" : "");
            break;
        }
        int64_t delay = res.retry_after_ms >= 0 ? res.retry_after_ms
                                                : outlet_retry_backoff_ms(&cfg->retry, tries, outlet_retry_random());
        if (delay > OUTLET_RETRY_AFTER_MAX)
            delay = cfg->retry.max_delay_ms;
        if (tries >= cfg->retry.max_attempts || took + delay > cfg->retry.max_elapsed_ms) {
            char reason[OUTLET_DETAIL_LEN + 64];
            snprintf(reason, sizeof reason, "%u tries: %s", tries, res.detail);
            int rc = hub_nack(client, n, reason, 0);
            hub_warn("gave up on %s after %u %s in %" PRId64 " ms, nacked for the hub to redeliver: %s%s", what,
                     tries, tries == 1 ? "try" : "tries", took, res.detail, rc < 0 ? " (the nack failed)" : "");
            break;
        }
        hub_warn("retrying %s in %" PRId64 " ms%s (try %u of %u): %s", what, delay,
                 res.retry_after_ms >= 0 ? " as Retry-After asks" : "", tries + 1, cfg->retry.max_attempts,
                 res.detail);
        if (s_wait(delay) < 0) {
            hub_info("abandoned %s at stop, not acked (the hub delivers it again): %s", what, res.detail);
            break;
        }
    }
    json_decref(doc);
}

/* Subscribes, trying again while the hub does not answer. Returns 0, 1 on
 * a stop, or -1 after logging why it cannot. */
static int s_subscribe(const outlet_adapter_t *ad, const outlet_config_t *cfg, hub_client_t *client)
{
    int warned = 0;
    while (!s_stop) {
        char err[HUB_ERR_LEN] = "";
        int rc = hub_subscribe(client, cfg->name, (const char *const *)cfg->topics, cfg->ntopics, cfg->from,
                               cfg->from_seq, cfg->credit, S_SUBSCRIBE_MS, err);
        if (rc == 0)
            return 0;
        if (rc == -ETIMEDOUT || rc == -EINTR || rc == -HUB_EUNAVAILABLE) {
            if (!warned && rc != -EINTR)
                hub_warn("the hub at %s does not answer yet; still trying", hub_client_endpoint(client));
            warned = 1;
            continue;
        }
        fprintf(stderr, "%s: subscribe as \"%s\": %s\n", ad->program, cfg->name, *err ? err : hub_strerror(rc));
        return -1;
    }
    return 1;
}

static void s_help(const outlet_adapter_t *ad)
{
    printf("usage: %s --config FILE [--hub EP] [--log-level LEVEL] [--check]\n\n%s\n"
           "options:\n"
           "  -c, --config FILE    the outlet's YAML config (required)\n"
           "  --hub EP             the hub's endpoint (overrides the config's hub: and $HUB_ENDPOINT)\n"
           "  --log-level LEVEL    debug, info, warn or error (overrides log_level:)\n"
           "  --check              load and check the config, print \"ok\" and exit\n"
           "  -h, --help           this text\n"
           "  --version            the version\n"
           "\n"
           "SIGTERM or SIGINT stops it cleanly: the current send is finished or abandoned\n"
           "(never acknowledged unless delivered). exit codes: 0 stopped, 1 failed, 2 usage\n",
           ad->program, ad->summary);
}

int outlet_main(int argc, char **argv, const outlet_adapter_t *ad)
{
    enum { OPT_HUB = 1, OPT_LOG, OPT_CHECK, OPT_VERSION };
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},  {"hub", required_argument, NULL, OPT_HUB},
        {"log-level", required_argument, NULL, OPT_LOG}, {"check", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *hub = NULL, *level_text = NULL;
    int check_only = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case OPT_HUB:
            if (!strstr(optarg, "://")) {
                fprintf(stderr, "%s: --hub: \"%s\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200)\n",
                        ad->program, optarg);
                return 2;
            }
            hub = optarg;
            break;
        case OPT_LOG:
            level_text = optarg;
            break;
        case OPT_CHECK:
            check_only = 1;
            break;
        case 'h':
            s_help(ad);
            return 0;
        case OPT_VERSION:
            printf("%s %s\n", ad->program, OUTLET_VERSION);
            return 0;
        case ':':
            fprintf(stderr, "%s: %s needs a value (see --help)\n", ad->program, argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "%s: unknown option \"%s\" (see --help)\n", ad->program, argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", ad->program, argv[optind]);
        return 2;
    }
    if (!config_path) {
        fprintf(stderr, "%s: --config FILE is required (see --help)\n", ad->program);
        return 2;
    }
    hub_log_level_t level = HUB_LOG_INFO;
    if (level_text && hub_log_level_parse(level_text, &level) != 0) {
        fprintf(stderr, "%s: --log-level: expected debug, info, warn or error, got \"%s\"\n", ad->program,
                level_text);
        return 2;
    }

    outlet_config_t cfg;
    char err[HUB_ERR_LEN] = "";
    int status = 1;
    hub_client_t *client = NULL;
    int rc = outlet_config_load(&cfg, config_path, ad->known, ad->section, ad->arg, err);
    if (rc == 0)
        rc = ad->prepare(ad->arg, config_path, err);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", ad->program, err);
        goto done;
    }
    if (check_only) {
        printf("ok: %s\n", config_path);
        status = 0;
        goto done;
    }
    hub_log_init(ad->program, level_text ? level : cfg.log_level);
    s_install_signals();

    hub_options_t o = {.endpoint = hub ? hub : cfg.hub, .client_name = ad->program};
    client = hub_client_new(&o, err);
    if (!client) {
        fprintf(stderr, "%s: %s\n", ad->program, err);
        goto done;
    }
    hub_info("starting: hub %s, subscriber \"%s\", %zu topic pattern%s, credit %u", hub_client_endpoint(client),
             cfg.name, cfg.ntopics, cfg.ntopics == 1 ? "" : "s", cfg.credit);
    rc = s_subscribe(ad, &cfg, client);
    if (rc < 0)
        goto done;
    if (rc == 0)
        hub_info("subscribed as \"%s\"", cfg.name);
    while (!s_stop) {
        hub_notification_t *n = NULL;
        rc = hub_receive(client, &n, S_RECEIVE_MS);
        if (rc == 1) {
            s_handle(ad, &cfg, client, n);
            hub_notification_destroy(&n);
        } else if (rc < 0 && rc != -EINTR && rc != -ETIMEDOUT) {
            fprintf(stderr, "%s: receive: %s\n", ad->program, hub_strerror(rc));
            goto done;
        }
    }
    /* rule 5: the hub reads one connection's frames in order, so an answer
     * to a status request means the acks before it have arrived */
    char *json = NULL;
    rc = hub_status(client, &json, S_FLUSH_MS, err);
    free(json);
    if (rc < 0)
        hub_warn("stopping without confirmation of the last acks: %s", *err ? err : hub_strerror(rc));
    hub_info("stopped");
    status = 0;
done:
    hub_client_destroy(&client);
    ad->cleanup(ad->arg);
    outlet_config_fini(&cfg);
    return status;
}
