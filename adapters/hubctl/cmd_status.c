/*
 * cmd_status - hubctl status [--json]
 *
 * Asks the hub for its state (hub_status: a StatusReply as JSON) and prints
 * it as an aligned table, or as the raw JSON line with --json. Fields the
 * hub left out (zero values) print as 0 or "-".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hubctl.h"

#define S_COLUMNS 12      /* columns of the subscriber table */
#define S_CELL_LEN 512    /* bytes of one cell (topics are cut beyond) */

static const char *const s_headers[S_COLUMNS] = {
    "NAME",        "CONNECTED", "POSITION",     "BACKLOG",           "IN_FLIGHT", "OLDEST_UNACKED",
    "CREDIT",      "DELIVERED", "ACKED",        "REDELIVERED",       "DEAD_LETTERS (OPEN)", "TOPICS",
};

static void s_help(void)
{
    fputs("usage: hubctl status [--json]\n"
          "\n"
          "Shows the hub's state: version, instance, last sequence number, events, policy,\n"
          "counters, and per durable subscriber: connected or not, position (last acknowledged\n"
          "sequence number), backlog, in flight, credit, deliveries and dead letters.\n"
          "\n"
          "options:\n"
          "  --json          print the hub's answer as one JSON line instead of a table\n"
          "  --hub EP        the hub's endpoint\n"
          "  --timeout SEC   how long to wait for the hub (default 10)\n"
          "  -h, --help      this text\n"
          "\n"
          "exit codes: 0 ok, 1 failed, 2 usage, 3 hub not answering\n",
          stdout);
}

/* A uint64 member as text: JSON number or decimal string; "0" when absent. */
static void s_number(const json_t *obj, const char *key, char *out, size_t outlen)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else if (json_is_real(v))
        snprintf(out, outlen, "%.0f", json_real_value(v));
    else
        snprintf(out, outlen, "0");
}

/* A string member, or "-" when absent or empty. */
static const char *s_string(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : "-";
}

/* "42s", "5m 06s", "1h 02m 03s", "2d 03h 04m". */
static void s_uptime(const json_t *obj, char *out, size_t outlen)
{
    char text[32];
    s_number(obj, "uptime_s", text, sizeof text);
    uint64_t s;
    if (hubctl_parse_u64(text, 0, UINT64_MAX, &s) != 0) {
        snprintf(out, outlen, "%s", text);
        return;
    }
    if (s < 60)
        snprintf(out, outlen, "%" PRIu64 "s", s);
    else if (s < 3600)
        snprintf(out, outlen, "%" PRIu64 "m %02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, outlen, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, outlen, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m", s / 86400, s / 3600 % 24, s / 60 % 60);
}

/* Fills one subscriber's cells. */
static void s_row(const json_t *sub, char cells[S_COLUMNS][S_CELL_LEN])
{
    snprintf(cells[0], S_CELL_LEN, "%s", s_string(sub, "name"));
    snprintf(cells[1], S_CELL_LEN, "%s", json_is_true(json_object_get(sub, "connected")) ? "yes" : "no");
    s_number(sub, "position", cells[2], S_CELL_LEN);
    s_number(sub, "backlog", cells[3], S_CELL_LEN);
    s_number(sub, "in_flight", cells[4], S_CELL_LEN);
    json_int_t oldest_ms = json_integer_value(json_object_get(sub, "oldest_unacked_ms"));
    if (oldest_ms > 0)
        snprintf(cells[5], S_CELL_LEN, "%.1fs", (double)oldest_ms / 1000.0);
    else
        snprintf(cells[5], S_CELL_LEN, "-");
    s_number(sub, "credit", cells[6], S_CELL_LEN);
    s_number(sub, "delivered", cells[7], S_CELL_LEN);
    s_number(sub, "acked", cells[8], S_CELL_LEN);
    s_number(sub, "redelivered", cells[9], S_CELL_LEN);
    char dead[32], open[32];
    s_number(sub, "dead_letters", dead, sizeof dead);
    s_number(sub, "open_dead_letters", open, sizeof open);
    snprintf(cells[10], S_CELL_LEN, "%s (%s)", dead, open);
    const json_t *topics = json_object_get(sub, "topics");
    size_t used = 0;
    cells[11][0] = '\0';
    if (json_is_string(topics))
        snprintf(cells[11], S_CELL_LEN, "%s", json_string_value(topics));
    for (size_t i = 0; json_is_array(topics) && i < json_array_size(topics) && used < S_CELL_LEN; i++) {
        const char *t = json_string_value(json_array_get(topics, i));
        int n = snprintf(cells[11] + used, S_CELL_LEN - used, "%s%s", i ? "," : "", t ? t : "?");
        used += n > 0 ? (size_t)n : 0;
    }
    if (!cells[11][0])
        snprintf(cells[11], S_CELL_LEN, "-");
}

/* hubctl_cell_fn over the rows s_row filled. */
static const char *s_cell_text(void *arg, size_t row, size_t col)
{
    char (*cells)[S_COLUMNS][S_CELL_LEN] = arg;
    return cells[row][col];
}

/* Prints the table. Returns 0, or -1 when stdout failed. */
static int s_print_table(const json_t *doc)
{
    char sha[16], uptime[32], last_seq[32], events[32], routes[32], rejected[32], commits[32];
    snprintf(sha, sizeof sha, "%.12s", s_string(doc, "policy_sha256"));
    s_uptime(doc, uptime, sizeof uptime);
    s_number(doc, "last_seq", last_seq, sizeof last_seq);
    s_number(doc, "events", events, sizeof events);
    s_number(doc, "routes", routes, sizeof routes);
    s_number(doc, "rejected", rejected, sizeof rejected);
    s_number(doc, "commits", commits, sizeof commits);
    printf("hub version      %s\n", s_string(doc, "hub_version"));
    printf("instance         %s\n", s_string(doc, "instance"));
    printf("last seq         %s\n", last_seq);
    printf("events           %s\n", events);
    printf("policy sha256    %s\n", sha);
    printf("routes           %s\n", routes);
    printf("rejected frames  %s\n", rejected);
    printf("commits          %s\n", commits);
    printf("uptime           %s\n", uptime);
    if (json_object_get(doc, "data_dir"))
        printf("data dir         %s\n", s_string(doc, "data_dir"));
    putchar('\n');

    const json_t *subs = json_object_get(doc, "subscribers");
    size_t n = json_is_array(subs) ? json_array_size(subs) : 0;
    if (n == 0) {
        puts("no subscribers");
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
    }
    char (*cells)[S_COLUMNS][S_CELL_LEN] = calloc(n, sizeof *cells);
    if (!cells)
        return -1;
    for (size_t r = 0; r < n; r++)
        s_row(json_array_get(subs, r), cells[r]);
    int rc = hubctl_print_table(s_headers, S_COLUMNS, S_COLUMNS, n, s_cell_text, cells);
    free(cells);
    return rc == 0 && fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

int hubctl_cmd_status(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_JSON = 1 };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "status";
    int as_json = 0, exit_code;
    int c;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":h", options, s_help, &exit_code)) != -1)
        if (c == OPT_JSON)
            as_json = 1;
    if (exit_code >= 0)
        return exit_code;
    if (optind < argc)
        return hubctl_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);

    hub_client_t *client = hubctl_client_new(g);
    if (!client)
        return HUBCTL_FAILED;
    char *json = NULL;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_status(client, &json, g->timeout_ms, err);
    hub_client_destroy(&client);
    if (rc != 0)
        return hubctl_call_failed(g, "status", rc, err);

    exit_code = HUBCTL_OK;
    if (as_json) {
        if (hubctl_print_line(json) != 0)
            exit_code = hubctl_fail("status: cannot write to stdout");
    } else {
        json_error_t jerr;
        json_t *doc = json_loads(json, 0, &jerr);
        if (!json_is_object(doc))
            exit_code = hubctl_fail("status: the hub's answer is not a JSON object (%s); try --json", jerr.text);
        else if (s_print_table(doc) != 0)
            exit_code = hubctl_fail("status: cannot write to stdout");
        json_decref(doc);
    }
    free(json);
    return exit_code;
}
