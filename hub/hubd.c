/*
 * hubd - the Switchboard broker: command line, signals, and the loop.
 *
 * Settings come in three layers, later ones winning: the embedded default
 * (data in ./var/hub, loopback endpoints, deploy/policy.yaml), then
 * --config FILE (hub.yaml), then the other options.
 *
 * Signals reach the loop through a pipe (the handler only writes one byte),
 * so that the loop decides when to act: SIGTERM and SIGINT stop it between
 * two turns, SIGHUP reloads the policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "delivery.h"
#include "log.h"

#ifndef HUB_VERSION
#define HUB_VERSION "0.0.0"
#endif

static int s_signal_pipe[2] = {-1, -1};

static void s_on_signal(int sig)
{
    int saved = errno;
    char cmd = sig == SIGHUP ? 'H' : 'T';
    if (write(s_signal_pipe[1], &cmd, 1) < 0) {
        /* the pipe is full: a stop or reload is already waiting */
    }
    errno = saved;
}

/* 1 when endpoint can only be reached from this machine: ipc, inproc, or
 * tcp on a loopback address. */
static int s_is_local(const char *endpoint)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0;
    const char *host = endpoint + 6;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost:", 10) == 0 || strncmp(host, "[::1]:", 6) == 0;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: hubd [OPTIONS]\n"
            "Switchboard broker: stores customer events, routes them by policy and delivers\n"
            "the notifications to the departments that subscribe.\n"
            "\n"
            "  --config FILE     hub.yaml with the settings (see deploy/hub.yaml)\n"
            "  --data DIR        data directory, database inside (default ./var/hub)\n"
            "  --endpoint EP     ZeroMQ endpoint for clients (default %s)\n"
            "  --tap EP|off      PUB endpoint for live viewing (default tcp://127.0.0.1:7201)\n"
            "  --policy FILE     routing policy (default deploy/policy.yaml)\n"
            "  --log-level L     debug, info, warn or error (default info)\n"
            "  --insecure        allow security: none on an endpoint that is not loopback\n"
            "  --help            this text\n"
            "  --version         the version\n"
            "\n"
            "With no options hubd runs the embedded default: loopback only, no keys.\n"
            "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the policy.\n",
            HUB_DEFAULT_ENDPOINT);
}

/* Copies an option's value into a config string, refusing what does not fit. */
static int s_set(char *dst, size_t size, const char *opt, const char *value)
{
    size_t n = strlen(value);
    if (n == 0 || n >= size) {
        fprintf(stderr, "hubd: %s: the value is empty or longer than %zu bytes\n", opt, size - 1);
        return -1;
    }
    memcpy(dst, value, n + 1);
    return 0;
}

/* ZeroMQ copies each batched Deliver frame (up to HUB_DELIVER_BATCH_BYTES
 * and a little more) into an allocation of its own, which its I/O thread
 * frees once sent. With glibc's defaults the heap's top went back to the
 * kernel and was faulted in again, zeroed, a page at a time, frame after
 * frame: 53,500 page faults in a 200,000-event run, 11,500 with these
 * settings. Frames come from the heap (mmap only above twice their size),
 * and up to 2 MiB free at its top is kept. */
static void s_tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, (int)(2 * HUB_DELIVER_BATCH_BYTES));
    mallopt(M_TRIM_THRESHOLD, 2 << 20);
}

int main(int argc, char **argv)
{
    enum { O_CONFIG = 1, O_DATA, O_ENDPOINT, O_TAP, O_POLICY, O_LOG_LEVEL, O_INSECURE, O_HELP, O_VERSION };
    static const struct option options[] = {
        {"config", required_argument, NULL, O_CONFIG},     {"data", required_argument, NULL, O_DATA},
        {"endpoint", required_argument, NULL, O_ENDPOINT}, {"tap", required_argument, NULL, O_TAP},
        {"policy", required_argument, NULL, O_POLICY},     {"log-level", required_argument, NULL, O_LOG_LEVEL},
        {"insecure", no_argument, NULL, O_INSECURE},       {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *data = NULL, *endpoint = NULL, *tap = NULL, *policy = NULL, *level = NULL;
    int opt, insecure = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case O_CONFIG:
            config_path = optarg;
            break;
        case O_DATA:
            data = optarg;
            break;
        case O_ENDPOINT:
            endpoint = optarg;
            break;
        case O_TAP:
            tap = optarg;
            break;
        case O_POLICY:
            policy = optarg;
            break;
        case O_LOG_LEVEL:
            level = optarg;
            break;
        case O_INSECURE:
            insecure = 1;
            break;
        case 'h':
        case O_HELP:
            s_usage(stdout);
            return 0;
        case O_VERSION:
            printf("hubd %s\n", HUB_VERSION);
            return 0;
        default:
            fprintf(stderr, "hubd: unknown option or missing value: %s\ntry: hubd --help\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hubd: unexpected argument \"%s\"\ntry: hubd --help\n", argv[optind]);
        return 2;
    }

    hub_config_t cfg;
    hub_config_defaults(&cfg);
    char err[HUB_ERR_LEN] = "";
    if (config_path && hub_config_load(&cfg, config_path, err) != 0) {
        fprintf(stderr, "hubd: %s\n", err);
        hub_config_fini(&cfg);
        return 1;
    }
    if ((data && s_set(cfg.data_dir, sizeof cfg.data_dir, "--data", data)) ||
        (endpoint && s_set(cfg.endpoint, sizeof cfg.endpoint, "--endpoint", endpoint)) ||
        (policy && s_set(cfg.policy_path, sizeof cfg.policy_path, "--policy", policy))) {
        hub_config_fini(&cfg);
        return 2;
    }
    if (tap) {
        if (strcmp(tap, "off") == 0 || !*tap)
            cfg.tap[0] = '\0';
        else if (s_set(cfg.tap, sizeof cfg.tap, "--tap", tap)) {
            hub_config_fini(&cfg);
            return 2;
        }
    }
    if (level && hub_log_level_parse(level, &cfg.log_level) != 0) {
        fprintf(stderr, "hubd: --log-level: \"%s\" is not one of debug, info, warn, error\n", level);
        hub_config_fini(&cfg);
        return 2;
    }
    hub_log_init("hubd", cfg.log_level);
    if (!insecure && cfg.tap[0] && !s_is_local(cfg.tap)) {
        fprintf(stderr,
                "hubd: the tap %s is not a loopback or ipc endpoint: the tap has no keys and shows whole events to "
                "whoever connects. Put it on loopback, turn it off (tap: off), or give --insecure to accept the "
                "risk\n",
                cfg.tap);
        hub_config_fini(&cfg);
        return 1;
    }
    if (!cfg.curve && !insecure) {
        const char *open_ep = !s_is_local(cfg.endpoint) ? cfg.endpoint : NULL;
        if (open_ep) {
            fprintf(stderr,
                    "hubd: %s is not a loopback or ipc endpoint, and security is none: anyone who reaches it could "
                    "publish and read every department's notifications. Set security: curve in hub.yaml (see "
                    "\"Running securely\" in the README), or give --insecure to accept the risk\n",
                    open_ep);
            hub_config_fini(&cfg);
            return 1;
        }
    }

    if (pipe2(s_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        fprintf(stderr, "hubd: cannot create a pipe: %s\n", strerror(errno));
        hub_config_fini(&cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    s_tune_malloc();

    hub_broker_t *broker = hub_broker_new(&cfg, err);
    if (!broker) {
        fprintf(stderr, "hubd: %s\n", err);
        hub_config_fini(&cfg);
        return 1;
    }
    hub_info("%s", hub_broker_describe(broker));
    if (!cfg.curve)
        hub_warn("security: none: clients are not authenticated and may do everything; %s",
                 insecure ? "--insecure was given" : "listening on loopback or ipc only");
    hub_info("ready");
    int rc = hub_broker_run(broker, s_signal_pipe[0]);
    hub_broker_destroy(&broker);
    hub_config_fini(&cfg);
    close(s_signal_pipe[0]);
    close(s_signal_pipe[1]);
    return rc == 0 ? 0 : 1;
}
