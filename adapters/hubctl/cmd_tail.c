/*
 * cmd_tail - hubctl tail [--tap EP] [--count N] [--idle SEC]
 *
 * Watches the hub's live tap: a ZeroMQ PUB socket that sends, for each
 * stored notification, [topic][packed hub.Frame with a Deliver]. The tap is
 * lossy (a slow reader misses messages; nothing is acknowledged) and meant
 * for dashboards and for watching by eye. It has no CURVE: it is for
 * loopback dashboards, so the hub's keys are not used here.
 *
 * Rules:
 *   1. Each notification is printed as one JSON line, flushed.
 *   2. A message that cannot be decoded is reported on stderr and skipped.
 *   3. It stops as subscribe does: after --count (exit 0), after --idle
 *      seconds with nothing (exit 0), with --count at the --timeout with
 *      fewer (exit 3), on SIGINT or SIGTERM (exit 0).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "codec.h"
#include "hubctl.h"
#include "json.h"

#define S_MAX_MSG (16 << 20) /* bytes in one tap message at most */

static void s_help(void)
{
    printf("usage: hubctl tail [--tap EP] [--count N] [--idle SEC]\n"
           "\n"
           "Prints the notifications the hub stores, live, as JSON lines, from its tap (a\n"
           "ZeroMQ PUB socket). The tap is lossy: for what must not be missed, use subscribe.\n"
           "\n"
           "options:\n"
           "  --tap EP        the hub's tap (default: $HUB_TAP, else %s)\n"
           "  -n, --count N   stop after N notifications; fail if fewer came within --timeout\n"
           "  --idle SEC      stop when nothing came for SEC seconds\n"
           "  --timeout SEC   with --count: how long to wait for them (default 10)\n"
           "  -h, --help      this text\n"
           "\n"
           "Without --count and --idle it runs until interrupted (Ctrl-C).\n"
           "The tap has no CURVE and no access control, even on a hub with security:\n"
           "curve: it is meant for dashboards on the hub's own machine, so keep it on\n"
           "loopback or ipc (or 'tap: off'); --key and --server-key do not apply to it.\n"
           "exit codes: 0 ok, 1 failed, 2 usage, 3 fewer than --count within --timeout\n",
           HUBCTL_DEFAULT_TAP);
}

/* Receives one message part into msg. Returns 0, or -errno. */
static int s_recv_part(void *sock, zmq_msg_t *msg)
{
    for (;;) {
        if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) >= 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

/* Handles one tap message (all its parts). Returns 1 when a notification
 * was printed, 0 when the message was skipped or none was waiting, or a
 * negative code: -ECANCELED when the reader closed stdout, another -errno
 * when stdout or the socket failed (said on stderr). */
static int s_handle_message(void *sock, const char *tap)
{
    zmq_msg_t topic, body;
    zmq_msg_init(&topic);
    zmq_msg_init(&body);
    int rc = s_recv_part(sock, &topic);
    if (rc == -EAGAIN) {
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        return 0;
    }
    if (rc != 0) {
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        hubctl_fail("tail: %s: %s", tap, zmq_strerror(-rc));
        return rc;
    }
    int parts = 1;
    if (zmq_msg_more(&topic) && s_recv_part(sock, &body) == 0) {
        parts = 2;
        int more = zmq_msg_more(&body);
        while (more) { /* drain extra parts; the message is refused below */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            more = s_recv_part(sock, &extra) == 0 && zmq_msg_more(&extra);
            parts++;
            zmq_msg_close(&extra);
        }
    }
    int printed = 0;
    if (parts != 2) {
        fprintf(stderr, "hubctl: tail: skipped a message of %d parts (expected [topic][frame])\n", parts);
    } else {
        Hub__Frame *frame = NULL;
        char err[HUB_ERR_LEN] = "";
        rc = hub_frame_decode(zmq_msg_data(&body), zmq_msg_size(&body), S_MAX_MSG, &frame, err);
        if (rc != 0) {
            fprintf(stderr, "hubctl: tail: skipped a message that does not decode: %s\n",
                    err[0] ? err : hub_strerror(rc));
        } else if (frame->body_case != HUB__FRAME__BODY_DELIVER || !frame->deliver->notification) {
            fprintf(stderr, "hubctl: tail: skipped a \"%s\" frame (expected a deliver)\n", hub_frame_kind(frame));
        } else {
            char *json = hub_message_to_json_text(&frame->deliver->notification->base);
            if (!json) {
                hubctl_fail("tail: out of memory");
                rc = -ENOMEM;
            } else {
                rc = hubctl_print_line(json);
                if (rc == -EPIPE)
                    rc = -ECANCELED; /* the reader closed the pipe (| head): stop quietly */
                else if (rc != 0)
                    hubctl_fail("tail: stdout: %s", strerror(-rc));
                else
                    printed = 1;
                free(json);
            }
            if (rc != 0) {
                hub_frame_free(&frame);
                zmq_msg_close(&topic);
                zmq_msg_close(&body);
                return rc;
            }
        }
        hub_frame_free(&frame);
    }
    zmq_msg_close(&topic);
    zmq_msg_close(&body);
    return printed;
}

int hubctl_cmd_tail(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_TAP = 1 };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        HUBCTL_WATCH_OPTIONS,
        {"tap", required_argument, NULL, OPT_TAP},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "tail";
    const char *env = getenv("HUB_TAP");
    const char *tap = env && *env ? env : HUBCTL_DEFAULT_TAP;
    hubctl_watch_t watch = {0};

    int c, stop;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":hn:", options, s_help, &stop)) != -1) {
        switch (c) {
        case OPT_TAP:
            if (!*optarg)
                return hubctl_usage_error(cmd, "--tap: the endpoint is empty (e.g. %s)", HUBCTL_DEFAULT_TAP);
            tap = optarg;
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
    if (optind < argc)
        return hubctl_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);

    int64_t start_ms = hubctl_mono_ms();
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
    if (!sock) {
        int exit_code = hubctl_fail("tail: cannot create a socket: %s", zmq_strerror(errno));
        if (ctx)
            zmq_ctx_term(ctx);
        return exit_code;
    }
    int linger = 0;
    int64_t max_msg = S_MAX_MSG;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
    zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(sock, tap) != 0) {
        int exit_code = hubctl_usage_error(cmd, "--tap: cannot connect to \"%s\": %s", tap, zmq_strerror(errno));
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return exit_code;
    }

    int exit_code = HUBCTL_OK;
    hubctl_watch_start(&watch, g, start_ms);
    for (;;) {
        int64_t wait_ms = hubctl_watch_next(&watch);
        if (wait_ms == 0)
            break;
        if (wait_ms < 0) {
            char secs[32];
            hubctl_format_seconds(g->timeout_ms, secs, sizeof secs);
            fprintf(stderr,
                    "hubctl: tail: received %" PRIu64 " of %" PRIu64 " notifications from the tap at %s within %s "
                    "(is hubd running with its tap there? see --tap and $HUB_TAP)\n",
                    watch.received, watch.count, tap, secs);
            exit_code = HUBCTL_TIMEOUT;
            break;
        }
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, (long)wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            exit_code = hubctl_fail("tail: %s", zmq_strerror(errno));
            break;
        }
        if (n == 0)
            continue;
        int rc = s_handle_message(sock, tap);
        if (rc < 0) {
            exit_code = rc == -ECANCELED ? HUBCTL_OK : HUBCTL_FAILED;
            break;
        }
        if (rc > 0)
            hubctl_watch_got(&watch);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return exit_code;
}
