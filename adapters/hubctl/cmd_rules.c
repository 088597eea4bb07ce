/*
 * cmd_rules - hubctl rules check FILE...
 *
 * Validates policy files in-process (hub_policy_load: no hub needed), as a
 * review step before a policy is deployed and the hub told to reload it.
 * A good file prints "ok: FILE: N routes, sha256 HEX"; a bad one prints
 * the policy's own error, "FILE:LINE: what is wrong", on stderr, the way a
 * compiler does, so that editors can jump to it.
 */
#include <stdio.h>
#include <string.h>

#include "hubctl.h"
#include "policy.h"

static void s_help(void)
{
    fputs("usage: hubctl rules check FILE...\n"
          "\n"
          "Validates routing policy files (e.g. deploy/policy.yaml) without a hub: prints\n"
          "'ok: FILE: N routes, sha256 HEX' for a good one, 'FILE:LINE: what is wrong' on\n"
          "stderr for a bad one. The sha256 is the one the hub records when it loads it.\n"
          "\n"
          "options:\n"
          "  -h, --help   this text\n"
          "\n"
          "exit codes: 0 all good, 1 some file is wrong, 2 usage\n",
          stdout);
}

int hubctl_cmd_rules(hubctl_t *g, int argc, char **argv)
{
    static const struct option options[] = {HUBCTL_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    const char *cmd = "rules";
    int stop;
    while (hubctl_getopt(g, cmd, argc, argv, ":h", options, s_help, &stop) != -1)
        ; /* no options of its own */
    if (stop >= 0)
        return stop;
    if (optind >= argc)
        return hubctl_usage_error(cmd, "missing what to do: rules check FILE");
    if (strcmp(argv[optind], "check") != 0)
        return hubctl_usage_error(cmd, "unknown subcommand \"%s\" (expected: check FILE)", argv[optind]);
    if (optind + 1 >= argc)
        return hubctl_usage_error(cmd, "check: missing the policy FILE (e.g. deploy/policy.yaml)");

    int exit_code = HUBCTL_OK;
    for (int i = optind + 1; i < argc; i++) {
        char err[HUB_ERR_LEN] = "";
        hub_policy_t *policy = hub_policy_load(argv[i], err);
        if (!policy) {
            fprintf(stderr, "%s\n", err[0] ? err : argv[i]);
            exit_code = HUBCTL_FAILED;
            continue;
        }
        size_t routes = hub_policy_route_count(policy);
        printf("ok: %s: %zu route%s, sha256 %s\n", argv[i], routes, routes == 1 ? "" : "s", hub_policy_sha256(policy));
        hub_policy_destroy(&policy);
    }
    if (fflush(stdout) != 0)
        exit_code = hubctl_fail("rules: cannot write to stdout");
    return exit_code;
}
