/*
 * hubctl - the Switchboard command line: global options, dispatch, usage.
 *
 *   hubctl [--hub EP] [--timeout SEC] [--key PREFIX] [--server-key FILE]
 *          COMMAND [ARGS...]
 *
 * Each command lives in a cmd_*.c file and parses its own options with
 * getopt_long (hubctl_getopt); the global options are accepted there too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbfile.h"
#include "hubctl.h"

#ifndef HUBCTL_VERSION
#define HUBCTL_VERSION "unknown"
#endif

typedef struct {
    const char *name;    /* as typed */
    hubctl_cmd_fn fn;    /* runs it */
    const char *summary; /* one line for the usage text */
} s_command_t;

static const s_command_t s_commands[] = {
    {"publish", hubctl_cmd_publish, "publish events (one JSON event, a JSON array or JSON lines)"},
    {"subscribe", hubctl_cmd_subscribe, "receive a durable subscriber's notifications as JSON lines"},
    {"respond", hubctl_cmd_respond, "answer on a case for a department"},
    {"tail", hubctl_cmd_tail, "watch the hub's live tap (lossy) as JSON lines"},
    {"status", hubctl_cmd_status, "the hub's state: subscribers, positions, backlog, dead letters"},
    {"deadletters", hubctl_cmd_deadletters, "the dead letters, open ones or --all, with their state"},
    {"redrive", hubctl_cmd_redrive, "redrive SEQ: send a dead letter back to its subscriber"},
    {"discard", hubctl_cmd_discard, "discard SEQ --reason TEXT: close a dead letter without sending it"},
    {"rules", hubctl_cmd_rules, "rules check FILE: validate a policy file (no hub needed)"},
    {"route", hubctl_cmd_route, "route --explain: which routes an event matches, and why (no hub needed)"},
    {"audit", hubctl_cmd_audit, "the audit log, filtered; audit verify: check its hash chain (reads the database)"},
    {"history", hubctl_cmd_history, "history CASE: everything on a case, in time order (reads the database)"},
    {"sla", hubctl_cmd_sla, "response-time commitments kept, per department and route (reads the database)"},
    {"keygen", hubctl_cmd_keygen, "keygen NAME: write a CURVE key pair NAME.key and NAME.secret (no hub needed)"},
};

#define S_NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

static void s_usage(FILE *out)
{
    fputs("usage: hubctl [--hub EP] [--timeout SEC] [--key PREFIX] [--server-key FILE] COMMAND [ARGS...]\n"
          "\n"
          "Talks to hubd, the Switchboard notification hub.\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < S_NCOMMANDS; i++)
        fprintf(out, "  %-11s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out,
            "\n"
            "global options (also accepted after the command):\n"
            "  --hub EP        the hub's endpoint (default: $HUB_ENDPOINT, else %s)\n"
            "  --timeout SEC   how long to wait for the hub (default: %d)\n"
            "  -h, --help      this text; 'hubctl COMMAND --help' for a command's\n"
            "  --version       hubctl's version\n"
            "\n"
            "keys, for a hub with security: curve (also accepted after the command):\n"
            "  --key PREFIX        this client's key pair PREFIX.key and PREFIX.secret, as\n"
            "                      'hubctl keygen' writes them (default: $HUB_KEY; '' for\n"
            "                      none); the hub acts for it as identity NAME of NAME.key\n"
            "  --server-key FILE   the hub's public key, e.g. /etc/switchboard/keys/hubd.key\n"
            "                      (default: $HUB_SERVER_KEY)\n"
            "  A hub that does not know the key does not answer: calls time out (exit 3).\n"
            "  The tap ('hubctl tail') has no CURVE: it is for loopback dashboards.\n"
            "\n"
            "exit codes: 0 ok, 1 rejected or failed, 2 usage, 3 timeout (hub not answering)\n",
            HUB_DEFAULT_ENDPOINT, HUBCTL_DEFAULT_TIMEOUT_MS / 1000);
}

static const s_command_t *s_command_find(const char *name)
{
    for (size_t i = 0; i < S_NCOMMANDS; i++)
        if (strcmp(s_commands[i].name, name) == 0)
            return &s_commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    enum { OPT_VERSION = 2000 };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *env = getenv("HUB_ENDPOINT");
    hubctl_t g = {
        .endpoint = env && *env ? env : HUB_DEFAULT_ENDPOINT,
        .timeout_ms = HUBCTL_DEFAULT_TIMEOUT_MS,
    };

    opterr = 0;
    int c;
    /* '+': stop at the command; what follows is the command's. */
    while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
        switch (c) {
        case HUBCTL_OPT_HELP:
            s_usage(stdout);
            return HUBCTL_OK;
        case OPT_VERSION:
            printf("hubctl %s (protocol %d)\n", HUBCTL_VERSION, HUB_PROTOCOL_VERSION);
            return HUBCTL_OK;
        case HUBCTL_OPT_HUB:
        case HUBCTL_OPT_TIMEOUT:
        case HUBCTL_OPT_KEY:
        case HUBCTL_OPT_SERVER_KEY:
            if (hubctl_common_option(&g, NULL, c, optarg) != 0)
                return HUBCTL_USAGE;
            break;
        default:
            return hubctl_getopt_error(NULL, c, argv);
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return HUBCTL_USAGE;
    }

    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        if (optind + 1 >= argc) {
            s_usage(stdout);
            return HUBCTL_OK;
        }
        const s_command_t *cmd = s_command_find(argv[optind + 1]);
        if (!cmd)
            return hubctl_usage_error(NULL, "unknown command \"%s\"", argv[optind + 1]);
        char *help_argv[] = {(char *)cmd->name, (char *)"--help", NULL};
        optind = 0;
        return cmd->fn(&g, 2, help_argv);
    }
    const s_command_t *cmd = s_command_find(name);
    if (!cmd)
        return hubctl_usage_error(NULL, "unknown command \"%s\"", name);

    hubctl_catch_signals();
    int cmd_argc = argc - optind;
    char **cmd_argv = argv + optind;
    optind = 0; /* glibc: 0 restarts getopt for the command's own options */
    return cmd->fn(&g, cmd_argc, cmd_argv);
}
