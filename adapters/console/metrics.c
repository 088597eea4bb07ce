/*
 * metrics - Prometheus text from the hub's status (rules in metrics.h).
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct {
    const char *name; /* counter name in the status */
    const char *help; /* HELP text */
} s_known_t;

/* Rule 2: the counters the hub keeps, in the order they are listed. */
static const s_known_t s_known[] = {
    {"events_received", "Events the hub stored, by type, since hubd started."},
    {"events_rejected", "Publishes the hub refused, by event type (\"\" when unknown), since hubd started."},
    {"notifications", "Notifications routed, by topic, since hubd started."},
    {"deliveries", "Notifications sent to subscribers, by department, since hubd started."},
    {"redeliveries", "Notifications sent again after an ack timeout or a nack, by department, since hubd started."},
    {"dead_letters", "Notifications given up on (dead-lettered), by department, since hubd started."},
    {"acks", "Notifications acknowledged, by department, since hubd started."},
    {"escalations", "Escalations, by the department that did not answer in time, since hubd started."},
    {"breaches", "Response deadlines missed, by department, since hubd started."},
    {NULL, NULL},
};

typedef struct {
    hub_buf_t buf; /* the text so far */
    int failed;    /* out of memory */
} s_out_t;

static void s_printf(s_out_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_printf(s_out_t *out, const char *fmt, ...)
{
    if (out->failed)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        char *big = malloc((size_t)n + 1);
        if (!big) {
            out->failed = 1;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        out->failed = hub_buf_append(&out->buf, big, (size_t)n) < 0;
        free(big);
        return;
    }
    out->failed = hub_buf_append(&out->buf, line, (size_t)n) < 0;
}

/* 1 when name is a Prometheus metric or label name ([a-zA-Z_][a-zA-Z0-9_]*). */
static int s_is_name(const char *name)
{
    if (!name || !*name || (*name >= '0' && *name <= '9'))
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

/* Appends a label value, escaped (rule 3). */
static void s_label_value(s_out_t *out, const char *value)
{
    for (const char *p = value; *p && !out->failed; p++) {
        if (*p == '\\')
            s_printf(out, "\\\\");
        else if (*p == '"')
            s_printf(out, "\\\"");
        else if (*p == '\n')
            s_printf(out, "\\n");
        else
            out->failed = hub_buf_append(&out->buf, p, 1) < 0;
    }
}

static void s_family(s_out_t *out, const char *name, const char *type, const char *help)
{
    s_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t s_u64(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? 0 : (uint64_t)json_integer_value(v);
    if (json_is_real(v))
        return json_real_value(v) < 0 ? 0 : (uint64_t)json_real_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

static double s_double(const json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v))
        return strtod(json_string_value(v), NULL);
    return 0;
}

static const char *s_str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

/* ------------------------------------------------------------ families */

/* The samples of the counters named name (rule 1: all of them together). */
static void s_counter_samples(s_out_t *out, const json_t *counters, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(counters, i, c) {
        if (strcmp(s_str(c, "name"), name) != 0)
            continue;
        const char *label = s_str(c, "label");
        uint64_t count = s_u64(c, "count");
        if (!*label) {
            s_printf(out, "switchboard_%s_total %llu\n", name, (unsigned long long)count);
            continue;
        }
        if (!s_is_name(label))
            continue;
        s_printf(out, "switchboard_%s_total{%s=\"", name, label);
        s_label_value(out, s_str(c, "value"));
        s_printf(out, "\"} %llu\n", (unsigned long long)count);
    }
}

static void s_counters(s_out_t *out, const json_t *counters)
{
    for (const s_known_t *k = s_known; k->name; k++) {
        char family[128];
        snprintf(family, sizeof family, "switchboard_%s_total", k->name);
        s_family(out, family, "counter", k->help);
        s_counter_samples(out, counters, k->name);
    }
    /* counters this console does not know yet, each once */
    size_t i;
    const json_t *c;
    json_array_foreach(counters, i, c) {
        const char *name = s_str(c, "name");
        int seen = !s_is_name(name) || strlen(name) > 96;
        for (const s_known_t *k = s_known; k->name && !seen; k++)
            seen = strcmp(k->name, name) == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(s_str(json_array_get(counters, j), "name"), name) == 0;
        if (seen)
            continue;
        char family[128];
        snprintf(family, sizeof family, "switchboard_%s_total", name);
        s_family(out, family, "counter", "A counter of the hub since hubd started.");
        s_counter_samples(out, counters, name);
    }
}

static void s_histograms(s_out_t *out, const json_t *histograms)
{
    size_t i;
    const json_t *h;
    json_array_foreach(histograms, i, h) {
        const char *name = s_str(h, "name");
        if (!s_is_name(name) || strlen(name) > 96)
            continue;
        const json_t *bounds = json_object_get(h, "bounds");
        const json_t *buckets = json_object_get(h, "buckets");
        size_t nb = json_array_size(bounds);
        if (json_array_size(buckets) != nb + 1)
            continue; /* not as the hub promises: leave it out rather than lie */
        char family[128];
        snprintf(family, sizeof family, "switchboard_%s", name);
        const char *help = strcmp(name, "commit_batch_events") == 0 ? "Events in one commit of the hub's store."
                           : strcmp(name, "commit_seconds") == 0    ? "Time one commit of the hub's store took."
                                                                    : "A histogram of the hub since hubd started.";
        s_family(out, family, "histogram", help);
        for (size_t b = 0; b < nb; b++)
            s_printf(out, "%s_bucket{le=\"%.9g\"} %llu\n", family, s_double(json_array_get(bounds, b)),
                     (unsigned long long)s_double(json_array_get(buckets, b)));
        s_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", family,
                 (unsigned long long)s_double(json_array_get(buckets, nb)));
        s_printf(out, "%s_sum %.9g\n", family, s_double(json_object_get(h, "sum")));
        s_printf(out, "%s_count %llu\n", family, (unsigned long long)s_u64(h, "count"));
    }
}

/* One gauge family over the subscribers: key's value times scale. */
static void s_subscriber_gauge(s_out_t *out, const json_t *subscribers, const char *family, const char *help,
                               const char *key, double scale)
{
    s_family(out, family, "gauge", help);
    size_t i;
    const json_t *s;
    json_array_foreach(subscribers, i, s) {
        s_printf(out, "%s{subscriber=\"", family);
        s_label_value(out, s_str(s, "name"));
        const json_t *v = json_object_get(s, key);
        double value = json_is_boolean(v) ? (json_is_true(v) ? 1 : 0) : (double)s_u64(s, key) * scale;
        s_printf(out, "\"} %.9g\n", value);
    }
}

char *cs_metrics_render(const json_t *status, const cs_console_stats_t *stats)
{
    s_out_t out = {.buf = HUB_BUF_INIT};
    s_family(&out, "switchboard_hub_up", "gauge", "1 when the hub answered the console's status request, else 0.");
    s_printf(&out, "switchboard_hub_up %d\n", status ? 1 : 0);
    if (status) {
        s_family(&out, "switchboard_last_seq", "gauge", "The hub's last sequence number.");
        s_printf(&out, "switchboard_last_seq %llu\n", (unsigned long long)s_u64(status, "last_seq"));
        s_family(&out, "switchboard_uptime_seconds", "gauge", "Seconds since hubd started.");
        s_printf(&out, "switchboard_uptime_seconds %llu\n", (unsigned long long)s_u64(status, "uptime_s"));
        s_family(&out, "switchboard_policy_routes", "gauge", "Routes of the policy in force.");
        s_printf(&out, "switchboard_policy_routes %llu\n", (unsigned long long)s_u64(status, "routes"));
        s_counters(&out, json_object_get(status, "counters"));
        s_histograms(&out, json_object_get(status, "histograms"));
        const json_t *subs = json_object_get(status, "subscribers");
        s_subscriber_gauge(&out, subs, "switchboard_backlog", "Events after the subscriber's position.", "backlog", 1);
        s_subscriber_gauge(&out, subs, "switchboard_in_flight", "Deliveries sent and not yet acknowledged.",
                           "in_flight", 1);
        s_subscriber_gauge(&out, subs, "switchboard_oldest_unacked_seconds",
                           "Age of the oldest delivery in flight (0 when none).", "oldest_unacked_ms", 0.001);
        s_subscriber_gauge(&out, subs, "switchboard_position", "The subscriber's last acknowledged sequence number.",
                           "position", 1);
        s_subscriber_gauge(&out, subs, "switchboard_open_dead_letters",
                           "Dead letters of the subscriber neither redriven nor discarded.", "open_dead_letters", 1);
        s_subscriber_gauge(&out, subs, "switchboard_subscriber_connected", "1 while the subscriber is connected.",
                           "connected", 1);
    }
    s_family(&out, "switchboard_console_sessions", "gauge", "Login sessions of the console.");
    s_printf(&out, "switchboard_console_sessions %llu\n", (unsigned long long)stats->sessions);
    s_family(&out, "switchboard_console_logins_total", "counter", "Console logins since it started, by result.");
    s_printf(&out, "switchboard_console_logins_total{result=\"ok\"} %llu\n", (unsigned long long)stats->logins_ok);
    s_printf(&out, "switchboard_console_logins_total{result=\"failed\"} %llu\n",
             (unsigned long long)stats->logins_failed);
    s_printf(&out, "switchboard_console_logins_total{result=\"limited\"} %llu\n",
             (unsigned long long)stats->logins_limited);
    if (!out.failed)
        out.failed = hub_buf_append(&out.buf, "", 1) < 0; /* the NUL */
    if (out.failed) {
        hub_buf_fini(&out.buf);
        return NULL;
    }
    return (char *)out.buf.data;
}
