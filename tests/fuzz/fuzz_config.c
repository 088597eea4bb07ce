/*
 * fuzz_config - hubd's settings parser (hub.yaml).
 *
 * Contracts checked on every input:
 *   1. hub_config_parse returns 0, or -HUB_ECONFIG / -errno with err
 *      "hub.yaml:..." saying what is wrong.
 *   2. What it accepts keeps every documented range and relation
 *      (deploy/hub.yaml): strings terminated, max_attempts 1..1000,
 *      max_credit 1..1000000, default_credit <= max_credit, max_frame
 *      1024..268435456, max_event <= max_frame, max_batch 1..1000000, a
 *      positive ack_timeout, a known log level.
 *   3. Parsing is a pure overlay: the same text over the result of parsing
 *      it changes nothing.
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define S_NAME "hub.yaml"

static int s_terminated(const char *s)
{
    return memchr(s, '\0', HUB_CONFIG_STR) != NULL;
}

static int s_same(const hub_config_t *a, const hub_config_t *b)
{
    return strcmp(a->endpoint, b->endpoint) == 0 && strcmp(a->tap, b->tap) == 0 &&
           strcmp(a->data_dir, b->data_dir) == 0 && strcmp(a->policy_path, b->policy_path) == 0 &&
           a->log_level == b->log_level && a->ack_timeout_ms == b->ack_timeout_ms &&
           a->max_attempts == b->max_attempts && a->default_credit == b->default_credit &&
           a->max_credit == b->max_credit && a->max_frame == b->max_frame && a->max_event == b->max_event &&
           a->max_batch == b->max_batch && a->max_subs_per_client == b->max_subs_per_client &&
           a->max_publish_rate == b->max_publish_rate && a->curve == b->curve &&
           strcmp(a->server_key, b->server_key) == 0 && strcmp(a->client_keys, b->client_keys) == 0 &&
           hub_access_count(a->access) == hub_access_count(b->access);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[HUB_ERR_LEN] = "";
    hub_config_t c, again;
    memset(&c, 0, sizeof c);
    hub_config_defaults(&c);
    int rc = hub_config_parse(&c, (const char *)data, size, S_NAME, err);
    FUZZ_CHECK(rc == 0 || rc == -HUB_ECONFIG || (rc < 0 && rc > -HUB_EMALFORMED),
               "hub_config_parse returns 0, -HUB_ECONFIG or -errno");
    if (rc < 0) {
        FUZZ_CHECK(fuzz_err_ok(err, sizeof err), "a refused config has a reason");
        if (rc == -HUB_ECONFIG)
            FUZZ_CHECK(strncmp(err, S_NAME ":", strlen(S_NAME ":")) == 0, "the reason starts with the file name");
        hub_config_fini(&c); /* what was loaded before the error */
        return 0;
    }
    FUZZ_CHECK(s_terminated(c.endpoint) && s_terminated(c.tap) && s_terminated(c.data_dir) &&
                   s_terminated(c.policy_path),
               "strings are terminated");
    FUZZ_CHECK(c.max_attempts >= 1 && c.max_attempts <= 1000, "max_attempts in 1..1000");
    FUZZ_CHECK(c.max_credit >= 1 && c.max_credit <= 1000000, "max_credit in 1..1000000");
    FUZZ_CHECK(c.default_credit <= c.max_credit, "default_credit <= max_credit");
    FUZZ_CHECK(c.max_frame >= 1024 && c.max_frame <= 268435456u, "max_frame in 1024..268435456");
    FUZZ_CHECK(c.max_event >= 1 && c.max_event <= c.max_frame, "max_event in 1..max_frame");
    FUZZ_CHECK(c.max_batch >= 1 && c.max_batch <= 1000000, "max_batch in 1..1000000");
    FUZZ_CHECK(c.ack_timeout_ms > 0, "ack_timeout is positive");
    FUZZ_CHECK(c.log_level == HUB_LOG_DEBUG || c.log_level == HUB_LOG_INFO || c.log_level == HUB_LOG_WARN ||
                   c.log_level == HUB_LOG_ERROR,
               "log_level is a known level");

    memcpy(&again, &c, sizeof c);
    again.access = NULL; /* owned by c; the second parse loads its own */
    rc = hub_config_parse(&again, (const char *)data, size, S_NAME, err);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "text that parsed once parses again");
    if (rc == 0)
        FUZZ_CHECK(s_same(&c, &again), "parsing the same text again changes nothing");
    hub_config_fini(&again);
    hub_config_fini(&c);
    return 0;
}
