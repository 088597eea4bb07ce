/*
 * cmd_route - hubctl route --explain [--policy FILE] EVENT.json|-
 *             hubctl route --explain FILE EVENT.json|-
 *
 * Shows, without publishing and without a hub, how the policy routes an
 * event: one line per route, in policy order, matched or not and why
 * (hub_policy_explain), then the notifications the hub would make:
 *
 *     MATCH  defect -> engineering.defect: type=bug_report
 *     no     rma -> shipping.rma: tags: field is missing
 *   2 notifications: engineering.defect, sales.followup
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hubctl.h"
#include "json.h"
#include "policy.h"

#define S_DEFAULT_POLICY "deploy/policy.yaml"

typedef struct {
    char *topics;   /* matched topics, ", "-separated (owned) */
    size_t len;     /* bytes in topics */
    size_t matches; /* routes matched */
    int failed;     /* out of memory */
} s_explain_t;

static void s_help(void)
{
    fputs("usage: hubctl route --explain [--policy FILE] EVENT.json|-\n"
          "       hubctl route --explain FILE EVENT.json|-\n"
          "\n"
          "Explains how the policy routes an event, without publishing it and without a\n"
          "hub: for every route, in policy order, whether it matches and why, then the\n"
          "notifications the hub would make. EVENT.json holds one JSON event ('-': stdin).\n"
          "\n"
          "options:\n"
          "  --explain       explain the routing (the one mode there is)\n"
          "  --policy FILE   the policy (default: " S_DEFAULT_POLICY ")\n"
          "  -h, --help      this text\n"
          "\n"
          "exit codes: 0 explained, 1 bad policy or event, 2 usage\n",
          stdout);
}

static void s_on_route(const char *route, const char *topic, int matched, const char *why, void *arg)
{
    s_explain_t *self = arg;
    printf("  %-5s  %s -> %s: %s\n", matched ? "MATCH" : "no", route, topic, why && *why ? why : "-");
    if (!matched)
        return;
    self->matches++;
    if (self->failed)
        return;
    size_t add = strlen(topic) + 2;
    char *grown = realloc(self->topics, self->len + add + 1);
    if (!grown) {
        self->failed = 1;
        return;
    }
    self->topics = grown;
    self->len += (size_t)sprintf(self->topics + self->len, "%s%s", self->len ? ", " : "", topic);
}

int hubctl_cmd_route(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_EXPLAIN = 1, OPT_POLICY };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"policy", required_argument, NULL, OPT_POLICY},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "route";
    const char *policy_path = S_DEFAULT_POLICY;
    int explain = 0, policy_given = 0;
    int c, stop;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":h", options, s_help, &stop)) != -1) {
        switch (c) {
        case OPT_EXPLAIN:
            explain = 1;
            break;
        case OPT_POLICY:
            if (!*optarg)
                return hubctl_usage_error(cmd, "--policy: the file name is empty");
            policy_path = optarg;
            policy_given = 1;
            break;
        }
    }
    if (stop >= 0)
        return stop;
    if (!explain)
        return hubctl_usage_error(cmd, "missing --explain (route only explains; publish sends events)");
    if (optind >= argc)
        return hubctl_usage_error(cmd, "missing the EVENT.json file ('-' for stdin)");
    /* "route --explain POLICY EVENT.json" is accepted too */
    if (argc - optind == 2 && !policy_given)
        policy_path = argv[optind++];
    if (argc - optind > 1)
        return hubctl_usage_error(cmd, "one EVENT.json only, got \"%s\" too", argv[optind + 1]);
    const char *event_path = argv[optind];

    if (!policy_given && access(policy_path, F_OK) != 0)
        return hubctl_fail("route: no policy at %s (the default, relative to this directory): give --policy FILE",
                           policy_path);
    char err[HUB_ERR_LEN] = "";
    hub_policy_t *policy = hub_policy_load(policy_path, err);
    if (!policy) {
        fprintf(stderr, "%s\n", err[0] ? err : policy_path);
        return HUBCTL_FAILED;
    }
    char *text = NULL;
    size_t len = 0;
    if (hubctl_read_input(event_path, &text, &len, err) != 0) {
        hub_policy_destroy(&policy);
        return hubctl_fail("route: %s", err);
    }
    Hub__Event *event = NULL;
    int rc = hub_event_from_json(text, len, &event, err);
    free(text);
    if (rc != 0) {
        hub_policy_destroy(&policy);
        return hubctl_fail("route: %s: %s", hubctl_input_name(event_path), err[0] ? err : hub_strerror(rc));
    }

    s_explain_t self = {NULL, 0, 0, 0};
    hub_policy_explain(policy, event, s_on_route, &self);
    if (self.matches == 0)
        printf("0 notifications\n");
    else if (self.failed)
        printf("%zu notification%s\n", self.matches, self.matches == 1 ? "" : "s");
    else
        printf("%zu notification%s: %s\n", self.matches, self.matches == 1 ? "" : "s", self.topics);
    int exit_code = fflush(stdout) == 0 && !ferror(stdout) ? HUBCTL_OK : hubctl_fail("route: cannot write to stdout");
    free(self.topics);
    hub__event__free_unpacked(event, NULL);
    hub_policy_destroy(&policy);
    return exit_code;
}
