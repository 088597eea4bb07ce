/*
 * cmd_subscribe - hubctl subscribe NAME --topic PAT [--topic PAT ...]
 *                 [--from earliest|latest|resume|SEQ] [--credit N]
 *                 [--count N] [--idle SEC]
 *
 * Receives a durable subscriber's notifications and prints each as one JSON
 * line.
 *
 * Rules:
 *   1. A notification is acknowledged only after its line was written and
 *      flushed: what was not printed is delivered again later.
 *   2. The command stops after --count notifications (exit 0); after --idle
 *      seconds with nothing new (exit 0); with --count, at the --timeout
 *      with fewer (exit 3); on SIGINT or SIGTERM (exit 0). Without --count
 *      and --idle it runs until a signal.
 *   3. Before it exits, a status round trip confirms that the acks sent
 *      have reached the hub (the hub reads one connection's frames in
 *      order), so a clean stop does not cause redeliveries.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubctl.h"

#define S_MAX_TOPICS 64         /* --topic given at most this often */
#define S_MAX_CREDIT 100000     /* --credit at most */
#define S_FLUSH_TIMEOUT_MS 2000 /* waiting for the acks' confirmation at most */

static void s_help(void)
{
    fputs("usage: hubctl subscribe NAME --topic PAT [--topic PAT ...] [--from earliest|latest|resume|SEQ]\n"
          "                        [--credit N] [--count N] [--idle SEC]\n"
          "\n"
          "Receives the notifications of the durable subscriber NAME (e.g. engineering) and\n"
          "prints each as one JSON line, acknowledging it once printed. The hub keeps NAME's\n"
          "position: a subscriber that comes back receives what it missed.\n"
          "\n"
          "options:\n"
          "  -t, --topic PAT   a topic pattern, e.g. 'engineering.*' ('*' matches any run of\n"
          "                    characters); at least one, may be repeated\n"
          "  --from WHERE      earliest, latest, resume (where NAME stopped; the default)\n"
          "                    or a sequence number (inclusive)\n"
          "  --credit N        notifications in flight at most (default 100)\n"
          "  -n, --count N     stop after N notifications; fail if fewer came within --timeout\n"
          "  --idle SEC        stop when nothing came for SEC seconds\n"
          "  --hub EP          the hub's endpoint\n"
          "  --timeout SEC     how long to wait for the hub, and for --count (default 10)\n"
          "  -h, --help        this text\n"
          "\n"
          "Without --count and --idle it runs until interrupted (Ctrl-C).\n"
          "exit codes: 0 ok, 1 refused or failed, 2 usage, 3 hub not answering or fewer than --count\n",
          stdout);
}

/* Parses --from. Returns 0, or -HUB_EINVALID. */
static int s_parse_from(const char *text, hub_from_t *from_p, uint64_t *seq_p)
{
    *seq_p = 0;
    if (strcmp(text, "earliest") == 0)
        *from_p = HUB_FROM_EARLIEST;
    else if (strcmp(text, "latest") == 0)
        *from_p = HUB_FROM_LATEST;
    else if (strcmp(text, "resume") == 0)
        *from_p = HUB_FROM_RESUME;
    else if (hubctl_parse_u64(text, 0, UINT64_MAX, seq_p) == 0)
        *from_p = HUB_FROM_SEQ;
    else
        return -HUB_EINVALID;
    return 0;
}

/* Confirms that the acks sent have reached the hub (rule 3). Any answer
 * does: a hub with security: curve refuses status to an identity that is
 * not an admin (DENIED), and that refusal too comes after the acks.
 * Returns 0 or a negative code. */
static int s_flush_acks(hub_client_t *client, int timeout_ms)
{
    char *json = NULL;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_status(client, &json, timeout_ms < S_FLUSH_TIMEOUT_MS ? timeout_ms : S_FLUSH_TIMEOUT_MS, err);
    free(json);
    return rc == -HUB_EDENIED ? 0 : rc;
}

int hubctl_cmd_subscribe(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_FROM = 1, OPT_CREDIT };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        HUBCTL_WATCH_OPTIONS,
        {"topic", required_argument, NULL, 't'},
        {"from", required_argument, NULL, OPT_FROM},
        {"credit", required_argument, NULL, OPT_CREDIT},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "subscribe";
    const char *topics[S_MAX_TOPICS];
    size_t ntopics = 0;
    hub_from_t from = HUB_FROM_RESUME;
    uint64_t from_seq = 0, credit = 0;
    hubctl_watch_t watch = {0};

    int c, stop;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":ht:n:", options, s_help, &stop)) != -1) {
        switch (c) {
        case 't':
            if (!*optarg)
                return hubctl_usage_error(cmd, "--topic: the pattern is empty (e.g. --topic 'engineering.*')");
            if (ntopics == S_MAX_TOPICS)
                return hubctl_usage_error(cmd, "--topic: at most %d patterns", S_MAX_TOPICS);
            topics[ntopics++] = optarg;
            break;
        case OPT_FROM:
            if (s_parse_from(optarg, &from, &from_seq) != 0)
                return hubctl_usage_error(cmd,
                                          "--from: expected earliest, latest, resume or a sequence number, got \"%s\"",
                                          optarg);
            break;
        case OPT_CREDIT:
            if (hubctl_parse_u64(optarg, 1, S_MAX_CREDIT, &credit) != 0)
                return hubctl_usage_error(cmd, "--credit: expected a whole number from 1 to %d, got \"%s\"",
                                          S_MAX_CREDIT, optarg);
            break;
        case HUBCTL_OPT_COUNT:
        case HUBCTL_OPT_IDLE:
            if (hubctl_watch_option(&watch, cmd, c, optarg) != 0)
                return HUBCTL_USAGE;
            break;
        }
    }
    if (stop >= 0)
        return stop;
    if (optind >= argc)
        return hubctl_usage_error(cmd, "missing the subscriber NAME (e.g. engineering)");
    if (argc - optind > 1)
        return hubctl_usage_error(cmd, "one subscriber NAME only, got \"%s\" too", argv[optind + 1]);
    const char *name = argv[optind];
    if (!*name)
        return hubctl_usage_error(cmd, "the subscriber NAME is empty");
    if (ntopics == 0)
        return hubctl_usage_error(cmd, "missing --topic PAT (e.g. --topic 'engineering.*')");

    int64_t start_ms = hubctl_mono_ms();
    hub_client_t *client = hubctl_client_new(g);
    if (!client)
        return HUBCTL_FAILED;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_subscribe(client, name, topics, ntopics, from, from_seq, (uint32_t)credit, g->timeout_ms, err);
    if (rc != 0) {
        char what[128];
        snprintf(what, sizeof what, "subscribe %s", name);
        int exit_code = hubctl_call_failed(g, what, rc, err);
        hub_client_destroy(&client);
        return exit_code;
    }

    int exit_code = HUBCTL_OK, refused = 0;
    hubctl_watch_start(&watch, g, start_ms);
    for (;;) {
        int64_t wait_ms = hubctl_watch_next(&watch);
        if (wait_ms == 0)
            break;
        if (wait_ms < 0) {
            char secs[32];
            hubctl_format_seconds(g->timeout_ms, secs, sizeof secs);
            fprintf(stderr, "hubctl: subscribe %s: received %" PRIu64 " of %" PRIu64 " notifications within %s (--timeout)\n",
                    name, watch.received, watch.count, secs);
            exit_code = HUBCTL_TIMEOUT;
            break;
        }

        hub_notification_t *n = NULL;
        rc = hub_receive(client, &n, (int)wait_ms);
        if (rc == 0 || (rc < 0 && (hubctl_stop || rc == -EINTR)))
            continue;
        if (rc < 0) {
            /* the hub refused the subscription on a new session: it will
             * not confirm anything on this one (rule 3 does not apply) */
            refused = rc <= -HUB_EMALFORMED;
            exit_code = hubctl_fail("subscribe %s: %s", name, hub_strerror(rc));
            break;
        }
        rc = hubctl_print_line(hub_notification_json(n));
        if (rc != 0) {
            /* not printed, so not acked: the hub delivers it again later */
            hub_notification_destroy(&n);
            /* a reader that closed the pipe (| head) has had enough */
            if (rc != -EPIPE)
                exit_code = hubctl_fail("subscribe %s: stdout: %s", name, strerror(-rc));
            break;
        }
        rc = hub_ack(client, n);
        hub_notification_destroy(&n);
        if (rc != 0) {
            exit_code = hubctl_fail("subscribe %s: ack: %s", name, hub_strerror(rc));
            break;
        }
        hubctl_watch_got(&watch);
    }

    if (watch.received > 0 && !refused && s_flush_acks(client, g->timeout_ms) != 0)
        fprintf(stderr, "hubctl: subscribe %s: the hub did not confirm the last acks; "
                        "those notifications may be delivered again\n", name);
    hub_client_destroy(&client);
    return exit_code;
}
