/*
 * metrics - the hub's status as Prometheus text exposition (format 0.0.4),
 * for GET /metrics.
 *
 * From the hub's StatusReply (hub_status JSON):
 *   counters (since hubd started)   switchboard_<name>_total{<label>="<value>"}, e.g.
 *                                   switchboard_events_received_total{type="bug_report"}
 *   histograms                      switchboard_<name>_bucket{le=...}, _sum, _count
 *   per subscriber (gauges)         switchboard_backlog, switchboard_in_flight,
 *                                   switchboard_oldest_unacked_seconds, switchboard_position,
 *                                   switchboard_open_dead_letters, switchboard_subscriber_connected
 *                                   {subscriber="..."}
 *   the hub                         switchboard_hub_up (1, or 0 when it did not answer),
 *                                   switchboard_last_seq, switchboard_uptime_seconds,
 *                                   switchboard_policy_routes
 * and the console's own: switchboard_console_sessions,
 * switchboard_console_logins_total{result="ok|failed|limited"}.
 *
 * Rules:
 *   1. Every family has its HELP and TYPE lines, once, before its samples;
 *      the samples of a family are together (the format requires it).
 *   2. The known counters are listed even while they have no samples, so
 *      that a dashboard can be built before the first event.
 *   3. Label values are escaped as the format says (\\, \", \n); names
 *      that are not Prometheus names are skipped, not mangled.
 */
#ifndef CS_METRICS_H_INCLUDED
#define CS_METRICS_H_INCLUDED

#include <stdint.h>

#include <jansson.h>

typedef struct {
    uint64_t sessions;       /* live sessions */
    uint64_t logins_ok;      /* since start */
    uint64_t logins_failed;  /* wrong user or password */
    uint64_t logins_limited; /* refused by the limiter */
} cs_console_stats_t;

/* The exposition text (the caller frees it), from the hub's status (NULL
 * when the hub did not answer: only switchboard_hub_up 0 and the
 * console's own) and the console's counts. NULL when out of memory. */
char *cs_metrics_render(const json_t *status, const cs_console_stats_t *stats);

#endif
