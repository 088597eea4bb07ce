/*
 * cmd_respond - hubctl respond CASE --department D --status S [--note TEXT]
 *
 * Publishes a department's answer on a case (an event of type "response")
 * and prints the hub's acknowledgement as one JSON line, like publish.
 */
#include <stdio.h>
#include <string.h>

#include "hubctl.h"

static const char *const s_statuses[] = {"acknowledged", "in_progress", "resolved", "rejected"};

#define S_NSTATUSES (sizeof s_statuses / sizeof s_statuses[0])

static void s_help(void)
{
    fputs("usage: hubctl respond CASE --department D --status S [--note TEXT]\n"
          "\n"
          "Answers on case CASE (e.g. CASE-1042) for department D: publishes an event of\n"
          "type \"response\" with source D, which the policy routes like any other event,\n"
          "and which counts as D's response for the case's deadlines. Prints the hub's\n"
          "acknowledgement: {\"id\":\"...\",\"seq\":N,\"duplicate\":false,\"notifications\":K}.\n"
          "\n"
          "options:\n"
          "  -d, --department D   the answering department, e.g. engineering\n"
          "  -s, --status S       acknowledged, in_progress, resolved or rejected\n"
          "  --note TEXT          free text, e.g. \"fixed in 2.3.1\"\n"
          "  --hub EP             the hub's endpoint\n"
          "  --timeout SEC        how long to wait for the hub (default 10)\n"
          "  -h, --help           this text\n"
          "\n"
          "exit codes: 0 stored, 1 rejected, 2 usage, 3 hub not answering\n",
          stdout);
}

int hubctl_cmd_respond(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_NOTE = 1 };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        {"department", required_argument, NULL, 'd'},
        {"status", required_argument, NULL, 's'},
        {"note", required_argument, NULL, OPT_NOTE},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "respond";
    const char *department = NULL, *status = NULL, *note = NULL;

    int c, stop;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":hd:s:", options, s_help, &stop)) != -1) {
        switch (c) {
        case 'd':
            department = optarg;
            break;
        case 's':
            status = optarg;
            break;
        case OPT_NOTE:
            note = optarg;
            break;
        }
    }
    if (stop >= 0)
        return stop;
    if (optind >= argc)
        return hubctl_usage_error(cmd, "missing the CASE id (e.g. CASE-1042)");
    if (argc - optind > 1)
        return hubctl_usage_error(cmd, "one CASE only, got \"%s\" too (quote a --note with spaces)", argv[optind + 1]);
    const char *case_id = argv[optind];
    if (!*case_id)
        return hubctl_usage_error(cmd, "the CASE id is empty");
    if (!department || !*department)
        return hubctl_usage_error(cmd, "missing --department D (e.g. --department engineering)");
    if (!status)
        return hubctl_usage_error(cmd, "missing --status S (acknowledged, in_progress, resolved or rejected)");
    size_t i = 0;
    while (i < S_NSTATUSES && strcmp(status, s_statuses[i]) != 0)
        i++;
    if (i == S_NSTATUSES)
        return hubctl_usage_error(cmd,
                                  "--status: expected acknowledged, in_progress, resolved or rejected, got \"%s\"",
                                  status);

    hub_client_t *client = hubctl_client_new(g);
    if (!client)
        return HUBCTL_FAILED;
    hub_publish_result_t res;
    memset(&res, 0, sizeof res);
    char err[HUB_ERR_LEN] = "";
    int rc = hub_respond(client, case_id, department, status, note, &res, g->timeout_ms, err);
    int exit_code = HUBCTL_OK;
    if (rc != 0) {
        char what[160];
        snprintf(what, sizeof what, "respond %s", case_id);
        exit_code = hubctl_call_failed(g, what, rc, err);
    } else if ((rc = hubctl_print_ack(&res)) != 0) {
        exit_code = hubctl_fail("respond: stdout: %s", strerror(-rc));
    }
    hub_client_destroy(&client);
    return exit_code;
}
