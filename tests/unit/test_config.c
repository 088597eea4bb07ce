/*
 * test_config - hub.yaml: the embedded default, every key, and the errors
 * a typo or a wrong value gives, with their lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"

/* Parses text over the defaults as "hub.yaml"; returns the code. */
static int s_parse(hub_config_t *config, const char *text, char err[HUB_ERR_LEN])
{
    hub_config_defaults(config);
    err[0] = '\0';
    return hub_config_parse(config, text, strlen(text), "hub.yaml", err);
}

static void s_check_defaults(const hub_config_t *c)
{
    CHECK_STR(c->endpoint, "tcp://127.0.0.1:7200");
    CHECK_STR(c->tap, "tcp://127.0.0.1:7201");
    CHECK_STR(c->data_dir, "./var/hub");
    CHECK_STR(c->policy_path, "deploy/policy.yaml");
    CHECK_INT(c->log_level, HUB_LOG_INFO);
    CHECK_INT(c->ack_timeout_ms, 30000);
    CHECK_INT(c->max_attempts, 5);
    CHECK_INT(c->default_credit, 100);
    CHECK_INT(c->max_credit, 10000);
    CHECK_INT(c->max_frame, 1048576);
    CHECK_INT(c->max_event, 262144);
    CHECK_INT(c->max_batch, 4096);
}

static void test_defaults(void)
{
    hub_config_t c;
    hub_config_defaults(&c);
    s_check_defaults(&c);
    CHECK_STR(c.endpoint, HUB_DEFAULT_ENDPOINT);

    /* a file of comments only is an empty document: an error, not defaults */
    char err[HUB_ERR_LEN];
    CHECK_INT(s_parse(&c, "# nothing\n", err), -HUB_ECONFIG);
    CHECK_STR(err, "hub.yaml:1: empty document");
    /* a key left out keeps its default; empty sections are fine */
    CHECK_INT(s_parse(&c, "delivery:\nlimits: ~\n", err), 0);
    s_check_defaults(&c);
}

static void test_every_key(void)
{
    static const char text[] = "endpoint: ipc:///run/switchboard/hub\n"
                               "tap: tcp://0.0.0.0:7301\n"
                               "data: /var/lib/switchboard\n"
                               "policy: /etc/switchboard/policy.yaml\n"
                               "log_level: debug\n"
                               "delivery:\n"
                               "  ack_timeout: 2m\n"
                               "  max_attempts: 1000\n"
                               "  default_credit: 1\n"
                               "  max_credit: 1000000\n"
                               "limits:\n"
                               "  max_frame: 268435456\n"
                               "  max_event: 1\n"
                               "  max_batch: 1000000\n";
    hub_config_t c;
    char err[HUB_ERR_LEN];
    CHECK_INT(s_parse(&c, text, err), 0);
    CHECK_STR(err, "");
    CHECK_STR(c.endpoint, "ipc:///run/switchboard/hub");
    CHECK_STR(c.tap, "tcp://0.0.0.0:7301");
    CHECK_STR(c.data_dir, "/var/lib/switchboard");
    CHECK_STR(c.policy_path, "/etc/switchboard/policy.yaml");
    CHECK_INT(c.log_level, HUB_LOG_DEBUG);
    CHECK_INT(c.ack_timeout_ms, 120000);
    CHECK_INT(c.max_attempts, 1000);
    CHECK_INT(c.default_credit, 1);
    CHECK_INT(c.max_credit, 1000000);
    CHECK_INT(c.max_frame, 268435456);
    CHECK_INT(c.max_event, 1);
    CHECK_INT(c.max_batch, 1000000);
}

static void test_log_levels_and_tap(void)
{
    static const struct {
        const char *text;
        hub_log_level_t level;
    } levels[] = {
        {"log_level: debug\n", HUB_LOG_DEBUG},
        {"log_level: info\n", HUB_LOG_INFO},
        {"log_level: warn\n", HUB_LOG_WARN},
        {"log_level: error\n", HUB_LOG_ERROR},
    };
    hub_config_t c;
    char err[HUB_ERR_LEN];
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        CHECK_INT(s_parse(&c, levels[i].text, err), 0);
        CHECK_INT(c.log_level, levels[i].level);
    }
    /* the tap can be turned off */
    static const char *const off[] = {"tap: off\n", "tap: \"\"\n", "tap:\n", "tap: ~\n"};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        CHECK_INT(s_parse(&c, off[i], err), 0);
        CHECK_STR(c.tap, "");
    }
}

/* The sample deploy/hub.yaml holds every key at its default. */
static void test_sample_file(void)
{
    char path[1024];
#ifdef SOURCE_ROOT
    snprintf(path, sizeof path, "%s/deploy/hub.yaml", SOURCE_ROOT);
#else
    const char *root = getenv("HUB_SOURCE_ROOT");
    const char *file = __FILE__;
    const char *tail = strstr(file, "tests/unit/test_config.c");
    if (root && *root)
        snprintf(path, sizeof path, "%s/deploy/hub.yaml", root);
    else
        snprintf(path, sizeof path, "%.*sdeploy/hub.yaml", tail ? (int)(tail - file) : 0, file);
#endif
    /* start from other values everywhere: the file must set every key */
    hub_config_t c;
    char err[HUB_ERR_LEN] = "";
    int rc = s_parse(&c,
                     "endpoint: ipc://x\ntap: off\ndata: d\npolicy: p\nlog_level: error\n"
                     "delivery: { ack_timeout: 1s, max_attempts: 1, default_credit: 1, max_credit: 1 }\n"
                     "limits: { max_frame: 1024, max_event: 1, max_batch: 1 }\n",
                     err);
    CHECK_INT(rc, 0);
    CHECK_INT(c.max_frame, 1024);
    rc = hub_config_load(&c, path, err);
    CHECK_INT(rc, 0);
    if (rc < 0)
        fprintf(stderr, "  %s\n", err);
    s_check_defaults(&c);

    CHECK_INT(hub_config_load(&c, "no/such/hub.yaml", err), -ENOENT);
    CHECK_STR(err, "no/such/hub.yaml: No such file or directory");
}

static void test_errors(void)
{
    char long_path[HUB_CONFIG_STR + 32];
    snprintf(long_path, sizeof long_path, "data: %0*d\n", HUB_CONFIG_STR, 0);
    static const struct {
        const char *name;
        const char *text;
        const char *err;
    } cases[] = {
        /* unknown keys, with their lines */
        {"unknown top key", "endpoint: tcp://127.0.0.1:7200\n\nendpiont: x\n", "hub.yaml:3: unknown key \"endpiont\""},
        {"unknown delivery key", "delivery:\n  max_attempts: 3\n  ack_timout: 30s\n",
         "hub.yaml:3: delivery: unknown key \"ack_timout\""},
        {"unknown limits key", "log_level: info\nlimits:\n  max_frames: 2048\n",
         "hub.yaml:3: limits: unknown key \"max_frames\""},
        {"key not a name", "[a]: 1\n", "hub.yaml:1: a key must be a name"},
        {"root a list", "- endpoint\n", "hub.yaml:1: expected a mapping of settings (endpoint: ..., data: ...)"},
        {"section a list", "delivery: [1]\n", "hub.yaml:1: delivery: expected a mapping of settings"},
        {"section a scalar", "limits: 5\n", "hub.yaml:1: limits: expected a mapping of settings"},
        /* ranges */
        {"max_attempts 0", "delivery:\n  max_attempts: 0\n",
         "hub.yaml:2: delivery: max_attempts: expected a whole number from 1 to 1000, got \"0\""},
        {"max_attempts over", "delivery:\n  max_attempts: 1001\n",
         "hub.yaml:2: delivery: max_attempts: expected a whole number from 1 to 1000, got \"1001\""},
        {"max_attempts negative", "delivery:\n  max_attempts: -1\n",
         "hub.yaml:2: delivery: max_attempts: expected a whole number from 1 to 1000, got \"-1\""},
        {"max_attempts not a number", "delivery:\n  max_attempts: five\n",
         "hub.yaml:2: delivery: max_attempts: expected a whole number from 1 to 1000, got \"five\""},
        {"max_attempts fraction", "delivery:\n  max_attempts: 1.5\n",
         "hub.yaml:2: delivery: max_attempts: expected a whole number from 1 to 1000, got \"1.5\""},
        {"max_attempts huge", "delivery:\n  max_attempts: 99999999999\n",
         "hub.yaml:2: delivery: max_attempts: expected a whole number from 1 to 1000, got \"99999999999\""},
        {"max_attempts a list", "delivery:\n  max_attempts: [1]\n",
         "hub.yaml:2: delivery: max_attempts: expected a single value, not a list"},
        {"max_credit over", "delivery:\n  max_credit: 1000001\n",
         "hub.yaml:2: delivery: max_credit: expected a whole number from 1 to 1000000, got \"1000001\""},
        {"default_credit 0", "delivery:\n  default_credit: 0\n",
         "hub.yaml:2: delivery: default_credit: expected a whole number from 1 to 1000000, got \"0\""},
        {"max_frame under", "limits:\n  max_frame: 1023\n",
         "hub.yaml:2: limits: max_frame: expected a whole number from 1024 to 268435456, got \"1023\""},
        {"max_batch 0", "limits:\n  max_batch: 0\n",
         "hub.yaml:2: limits: max_batch: expected a whole number from 1 to 1000000, got \"0\""},
        {"ack_timeout no unit", "delivery:\n  ack_timeout: 30\n", "hub.yaml:2: delivery: ack_timeout: *"},
        {"ack_timeout a mapping", "delivery:\n  ack_timeout: { s: 1 }\n",
         "hub.yaml:2: delivery: ack_timeout: expected a single value, not a mapping"},
        /* relations: the line of the one written last */
        {"default_credit over max_credit", "delivery:\n  max_credit: 10\n  default_credit: 11\n",
         "hub.yaml:3: delivery: default_credit (11) is over max_credit (10)"},
        {"max_credit under default_credit", "delivery:\n  default_credit: 11\n  max_credit: 10\n",
         "hub.yaml:3: delivery: default_credit (11) is over max_credit (10)"},
        {"max_credit under the default credit", "delivery:\n  max_credit: 99\n",
         "hub.yaml:2: delivery: default_credit (100) is over max_credit (99)"},
        {"default_credit over the default max", "delivery:\n  default_credit: 10001\n",
         "hub.yaml:2: delivery: default_credit (10001) is over max_credit (10000)"},
        {"max_event over max_frame", "limits:\n  max_event: 4096\n  max_frame: 2048\n",
         "hub.yaml:3: limits: max_event (4096) is over max_frame (2048)"},
        {"max_event over the default frame", "limits:\n  max_event: 2000000\n",
         "hub.yaml:2: limits: max_event (2000000) is over max_frame (1048576)"},
        /* endpoints */
        {"endpoint without scheme", "endpoint: 127.0.0.1:7200\n",
         "hub.yaml:1: endpoint: \"127.0.0.1:7200\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200 or "
         "ipc:///run/switchboard/hub)"},
        {"endpoint without address", "endpoint: tcp://\n",
         "hub.yaml:1: endpoint: \"tcp://\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200 or "
         "ipc:///run/switchboard/hub)"},
        {"endpoint without transport", "endpoint: ://x\n",
         "hub.yaml:1: endpoint: \"://x\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200 or "
         "ipc:///run/switchboard/hub)"},
        {"endpoint empty", "endpoint: \"\"\n", "hub.yaml:1: endpoint: empty"},
        {"endpoint off", "endpoint: off\n",
         "hub.yaml:1: endpoint: \"off\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200 or "
         "ipc:///run/switchboard/hub)"},
        {"endpoint a list", "endpoint: [a, b]\n", "hub.yaml:1: endpoint: expected a single value, not a list"},
        {"tap bad", "\ntap: localhost\n",
         "hub.yaml:2: tap: \"localhost\" is not a ZeroMQ endpoint (like tcp://127.0.0.1:7200 or "
         "ipc:///run/switchboard/hub)"},
        {"data empty", "data: ''\n", "hub.yaml:1: data: empty"},
        {"policy a mapping", "policy: { a: b }\n", "hub.yaml:1: policy: expected a single value, not a mapping"},
        /* log level */
        {"log_level unknown", "log_level: verbose\n",
         "hub.yaml:1: log_level: \"verbose\" is not one of debug, info, warn, error"},
        {"log_level upper case", "log_level: INFO\n",
         "hub.yaml:1: log_level: \"INFO\" is not one of debug, info, warn, error"},
        /* what the YAML loader refuses */
        {"duplicate key", "data: a\ndata: b\n", "hub.yaml:2: duplicate key \"data\" (first on line 1)"},
        {"syntax error", "delivery:\n  max_attempts: [1\n", "hub.yaml:3: *"},
    };
    hub_config_t c;
    char err[HUB_ERR_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case = cases[i].name;
        CHECK_INT(s_parse(&c, cases[i].text, err), -HUB_ECONFIG);
        size_t len = strlen(cases[i].err);
        if (cases[i].err[len - 1] == '*') {
            if (strncmp(err, cases[i].err, len - 1) != 0) {
                fprintf(stderr, "[%s] \"%s\" does not start with \"%.*s\"\n", cases[i].name, err, (int)len - 1,
                        cases[i].err);
                check_failures++;
            }
        } else {
            CHECK_STR(err, cases[i].err);
        }
    }
    check_case = "long path";
    CHECK_INT(s_parse(&c, long_path, err), -HUB_ECONFIG);
    CHECK_STR(err, "hub.yaml:1: data: too long (512 bytes, at most 511)");
    CHECK_INT(strlen(long_path), 6 + HUB_CONFIG_STR + 1);
    check_case = "errors";
}

static const check_case_t cases[] = {
    {"the embedded default", test_defaults},
    {"every key", test_every_key},
    {"log levels; the tap turned off", test_log_levels_and_tap},
    {"deploy/hub.yaml is the default, written out", test_sample_file},
    {"errors name the file, the line and the key", test_errors},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
