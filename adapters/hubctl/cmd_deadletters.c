/*
 * cmd_deadletters - the dead letters, and what an operator does with them:
 *
 *   hubctl deadletters [--all] [--subscriber NAME] [--limit N] [--json]
 *   hubctl redrive SEQ [--reason TEXT]
 *   hubctl discard SEQ --reason TEXT
 *
 * deadletters asks the hub for its dead letters (a NotificationQuery with
 * dead_letters, through hub_notification_query) and prints them as a table,
 * newest first, or as JSON lines; redrive and discard send a
 * DeadLetterAction (hub_dead_letter_action) and print the hub's answer as
 * one JSON line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hubctl.h"

#define S_COLUMNS 7       /* columns of the table */
#define S_CELL_LEN 512    /* bytes of one cell (a reason is cut beyond) */
#define S_MAX_LIMIT 1000  /* --limit at most (the hub's own bound) */

static const char *const s_headers[S_COLUMNS] = {"SEQ", "STATE", "SUBSCRIBER", "CASE", "WAS", "BY", "REASON"};

static void s_help_list(void)
{
    fputs("usage: hubctl deadletters [--all] [--subscriber NAME] [--limit N] [--json]\n"
          "\n"
          "Lists the hub's dead letters, newest first: the notifications a subscriber gave\n"
          "up on (nacked for good, or not acknowledged after the last attempt). Each is an\n"
          "event of its own on deadletter.<subscriber>; SEQ is its sequence number, WAS the\n"
          "notification it was (seq/slot), REASON the subscriber's words. Open ones are\n"
          "waiting for someone: 'hubctl redrive SEQ' sends one back to its subscriber,\n"
          "'hubctl discard SEQ --reason TEXT' closes it.\n"
          "\n"
          "options:\n"
          "  --all               also those already redriven or discarded (STATE, BY)\n"
          "  --subscriber NAME   only those dead-lettered from this durable subscriber\n"
          "  -n, --limit N       at most N (default 100, at most 1000)\n"
          "  --json              one JSON object per dead letter instead of a table\n"
          "  --hub EP            the hub's endpoint\n"
          "  --timeout SEC       how long to wait for the hub (default 10)\n"
          "  -h, --help          this text\n"
          "\n"
          "The hub looks through its newest 100,000 events. With security: curve the\n"
          "client's identity needs audit: true in the hub's access list.\n"
          "\n"
          "exit codes: 0 ok, 1 failed or refused, 2 usage, 3 hub not answering\n",
          stdout);
}

static void s_help_redrive(void)
{
    fputs("usage: hubctl redrive SEQ [--reason TEXT]\n"
          "\n"
          "Sends dead letter SEQ (as 'hubctl deadletters' lists it) back to the subscriber\n"
          "it was dead-lettered from: the hub stores a new event with the same content,\n"
          "routed once more to the notification's topic, route and department, which the\n"
          "subscriber receives like any other. Prints the hub's answer:\n"
          "{\"seq\":SEQ,\"state\":\"redriven\",\"redrive_seq\":N}. Asked again for the same\n"
          "dead letter, the hub answers the same and stores nothing more. The audit log\n"
          "gets a row \"redriven\" with who asked.\n"
          "\n"
          "options:\n"
          "  --reason TEXT   why, for the audit log (at most 1000 bytes)\n"
          "  --hub EP        the hub's endpoint\n"
          "  --timeout SEC   how long to wait for the hub (default 10)\n"
          "  -h, --help      this text\n"
          "\n"
          "With security: curve the client's identity needs admin: true.\n"
          "\n"
          "exit codes: 0 done, 1 refused (not a dead letter, discarded already, not\n"
          "allowed), 2 usage, 3 hub not answering\n",
          stdout);
}

static void s_help_discard(void)
{
    fputs("usage: hubctl discard SEQ --reason TEXT\n"
          "\n"
          "Closes dead letter SEQ (as 'hubctl deadletters' lists it) without sending it\n"
          "again: it stays in the log, marked discarded, with the reason and who gave it\n"
          "(an audit row \"discarded\"). Prints the hub's answer:\n"
          "{\"seq\":SEQ,\"state\":\"discarded\"}. Asked again, the same answer.\n"
          "\n"
          "options:\n"
          "  --reason TEXT   why (required, at most 1000 bytes)\n"
          "  --hub EP        the hub's endpoint\n"
          "  --timeout SEC   how long to wait for the hub (default 10)\n"
          "  -h, --help      this text\n"
          "\n"
          "With security: curve the client's identity needs admin: true.\n"
          "\n"
          "exit codes: 0 done, 1 refused (not a dead letter, redriven already, not\n"
          "allowed), 2 usage, 3 hub not answering\n",
          stdout);
}

/* A string member, or "-" when absent or empty. */
static const char *s_string(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : "-";
}

/* An integer member (a JSON number or a decimal string), 0 when absent. */
static uint64_t s_u64(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return (uint64_t)json_integer_value(v);
    uint64_t value = 0;
    if (json_is_string(v))
        hubctl_parse_u64(json_string_value(v), 0, UINT64_MAX, &value);
    return value;
}

/* Fills one dead letter's cells; control characters of the reason become
 * spaces, so a row stays one line. */
static void s_row(const json_t *item, char cells[S_COLUMNS][S_CELL_LEN])
{
    const json_t *n = json_object_get(item, "notification");
    const json_t *ev = json_object_get(n, "event");
    snprintf(cells[0], S_CELL_LEN, "%" PRIu64, s_u64(n, "seq"));
    const char *state = s_string(item, "dead_letter_state");
    if (strcmp(state, "redriven") == 0 && s_u64(item, "redrive_seq") > 0)
        snprintf(cells[1], S_CELL_LEN, "redriven as %" PRIu64, s_u64(item, "redrive_seq"));
    else
        snprintf(cells[1], S_CELL_LEN, "%s", state);
    snprintf(cells[2], S_CELL_LEN, "%s", s_string(item, "subscriber"));
    snprintf(cells[3], S_CELL_LEN, "%s", s_string(ev, "case_id"));
    snprintf(cells[4], S_CELL_LEN, "%" PRIu64 "/%" PRIu64, s_u64(item, "orig_seq"), s_u64(item, "orig_slot"));
    snprintf(cells[5], S_CELL_LEN, "%s", s_string(item, "dead_letter_by"));
    snprintf(cells[6], S_CELL_LEN, "%s", s_string(item, "dead_letter_reason"));
    for (char *p = cells[6]; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* hubctl_cell_fn over the rows s_row filled. */
static const char *s_cell_text(void *arg, size_t row, size_t col)
{
    char (*cells)[S_COLUMNS][S_CELL_LEN] = arg;
    return cells[row][col];
}

/* Prints the items as a table. Returns 0, or -1 when stdout failed. */
static int s_print_table(const json_t *items, int all)
{
    size_t n = json_array_size(items);
    if (n == 0) {
        puts(all ? "no dead letters" : "no open dead letters (--all lists those redriven or discarded too)");
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
    }
    char (*cells)[S_COLUMNS][S_CELL_LEN] = calloc(n, sizeof *cells);
    if (!cells)
        return -1;
    for (size_t r = 0; r < n; r++)
        s_row(json_array_get(items, r), cells[r]);
    int rc = hubctl_print_table(s_headers, S_COLUMNS, S_COLUMNS, n, s_cell_text, cells);
    free(cells);
    return rc == 0 && fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

/* Prints each item as one JSON line. Returns 0, or -1 when stdout failed. */
static int s_print_json(const json_t *items)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        char *line = json_dumps(json_array_get(items, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
        int rc = line ? hubctl_print_line(line) : -1;
        free(line);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int hubctl_cmd_deadletters(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_ALL = 1, OPT_SUBSCRIBER, OPT_JSON };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        {"all", no_argument, NULL, OPT_ALL},
        {"subscriber", required_argument, NULL, OPT_SUBSCRIBER},
        {"limit", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "deadletters";
    int all = 0, as_json = 0, exit_code, c;
    const char *subscriber = NULL;
    uint64_t limit = 0;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":hn:", options, s_help_list, &exit_code)) != -1) {
        if (c == OPT_ALL)
            all = 1;
        else if (c == OPT_JSON)
            as_json = 1;
        else if (c == OPT_SUBSCRIBER)
            subscriber = optarg;
        else if (c == 'n' && hubctl_parse_u64(optarg, 1, S_MAX_LIMIT, &limit) != 0)
            return hubctl_usage_error(cmd, "--limit: expected a whole number from 1 to %d, got \"%s\"", S_MAX_LIMIT,
                                      optarg);
    }
    if (exit_code >= 0)
        return exit_code;
    if (optind < argc)
        return hubctl_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
    if (subscriber && !*subscriber)
        return hubctl_usage_error(cmd, "--subscriber: the name is empty");

    json_t *query = json_pack("{s:b, s:b, s:i}", "dead_letters", 1, "open_only", !all, "window", 100000);
    if (query && subscriber)
        json_object_set_new(query, "department", json_string(subscriber));
    if (query && limit)
        json_object_set_new(query, "limit", json_integer((json_int_t)limit));
    char *query_text = query ? json_dumps(query, JSON_COMPACT) : NULL;
    json_decref(query);
    if (!query_text)
        return hubctl_fail("%s: out of memory", cmd);
    hub_client_t *client = hubctl_client_new(g);
    if (!client) {
        free(query_text);
        return HUBCTL_FAILED;
    }
    char *reply = NULL;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_notification_query(client, query_text, &reply, g->timeout_ms, err);
    hub_client_destroy(&client);
    free(query_text);
    if (rc != 0)
        return hubctl_call_failed(g, cmd, rc, err);

    json_error_t jerr;
    json_t *doc = json_loads(reply, 0, &jerr);
    free(reply);
    const json_t *items = json_object_get(doc, "items");
    exit_code = HUBCTL_OK;
    if (!json_is_object(doc))
        exit_code = hubctl_fail("%s: the hub's answer is not a JSON object (%s)", cmd, jerr.text);
    else if ((as_json ? s_print_json(items) : s_print_table(items, all)) != 0)
        exit_code = hubctl_fail("%s: cannot write to stdout", cmd);
    else if (json_is_true(json_object_get(doc, "truncated")))
        fprintf(stderr, "hubctl: %s: more dead letters than listed; narrow with --subscriber, or raise --limit\n",
                cmd);
    json_decref(doc);
    return exit_code;
}

/* redrive and discard: SEQ, --reason, then the call. */
static int s_act(hubctl_t *g, int argc, char **argv, const char *cmd, const char *action, void (*help)(void))
{
    enum { OPT_REASON = 1 };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        {"reason", required_argument, NULL, OPT_REASON},
        {NULL, 0, NULL, 0},
    };
    const char *reason = NULL;
    int exit_code, c;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":h", options, help, &exit_code)) != -1)
        if (c == OPT_REASON)
            reason = optarg;
    if (exit_code >= 0)
        return exit_code;
    if (optind >= argc)
        return hubctl_usage_error(cmd, "missing the dead letter's SEQ (hubctl deadletters lists them)");
    if (argc - optind > 1)
        return hubctl_usage_error(cmd, "one SEQ only, got \"%s\" too (quote a --reason with spaces)",
                                  argv[optind + 1]);
    uint64_t seq;
    if (hubctl_parse_u64(argv[optind], 1, UINT64_MAX, &seq) != 0)
        return hubctl_usage_error(cmd, "SEQ: expected a sequence number, got \"%s\"", argv[optind]);
    if (strcmp(action, "discard") == 0 && (!reason || !*reason))
        return hubctl_usage_error(cmd, "missing --reason TEXT (why it is discarded, for the audit log)");
    if (reason && strlen(reason) > 1000)
        return hubctl_usage_error(cmd, "--reason: at most 1000 bytes, got %zu", strlen(reason));

    hub_client_t *client = hubctl_client_new(g);
    if (!client)
        return HUBCTL_FAILED;
    uint64_t redrive_seq = 0;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_dead_letter_action(client, seq, action, reason, &redrive_seq, g->timeout_ms, err);
    hub_client_destroy(&client);
    if (rc != 0) {
        char what[64];
        snprintf(what, sizeof what, "%s %" PRIu64, cmd, seq);
        return hubctl_call_failed(g, what, rc, err);
    }
    char line[160];
    if (redrive_seq)
        snprintf(line, sizeof line, "{\"seq\":%" PRIu64 ",\"state\":\"redriven\",\"redrive_seq\":%" PRIu64 "}", seq,
                 redrive_seq);
    else
        snprintf(line, sizeof line, "{\"seq\":%" PRIu64 ",\"state\":\"%s\"}", seq,
                 strcmp(action, "redrive") == 0 ? "redriven" : "discarded");
    if (hubctl_print_line(line) != 0)
        return hubctl_fail("%s: cannot write to stdout", cmd);
    return HUBCTL_OK;
}

int hubctl_cmd_redrive(hubctl_t *g, int argc, char **argv)
{
    return s_act(g, argc, argv, "redrive", "redrive", s_help_redrive);
}

int hubctl_cmd_discard(hubctl_t *g, int argc, char **argv)
{
    return s_act(g, argc, argv, "discard", "discard", s_help_discard);
}
