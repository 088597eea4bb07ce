/*
 * fuzz_policy - the routing policy parser (policy.yaml, hubctl rules check,
 * SIGHUP reload), and routing and explaining with whatever it accepts.
 *
 * Contracts checked on every input:
 *   1. hub_policy_parse returns a policy, or NULL with err
 *      "policy.yaml:..." saying what is wrong.
 *   2. A policy has at most HUB_MAX_ROUTES routes and a 64 hex digit
 *      SHA-256.
 *   3. For each of a few fixed events, hub_policy_route returns at most
 *      max matches; each topic is <department>.<kind>, each reason fits; a
 *      smaller max gives the first matches of a larger one.
 *   4. hub_policy_explain calls back once per route, in order, and says
 *      "matched" for exactly the routes hub_policy_route returned.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

#define S_NAME "policy.yaml"

/* What the explain callback saw. */
typedef struct {
    size_t calls;               /* routes explained */
    size_t matched;             /* of which matched */
    const hub_match_t *matches; /* what hub_policy_route returned */
    size_t nmatches;
} s_explained_t;

static void s_explain_fn(const char *route, const char *topic, int matched, const char *why, void *arg)
{
    s_explained_t *x = arg;
    FUZZ_CHECK(route && topic && why, "explain passes route, topic and why");
    FUZZ_CHECK(matched == 0 || matched == 1, "matched is 0 or 1");
    if (matched) {
        FUZZ_CHECK(x->matched < x->nmatches, "explain matches no more routes than routing does");
        FUZZ_CHECK(strcmp(x->matches[x->matched].route, route) == 0, "explain matches the routes routing does");
        x->matched++;
    }
    x->calls++;
}

/* The events routed through every policy: the deploy/samples kinds. */
typedef struct {
    Hub__Event ev;
    Hub__Customer customer;
    Hub__Event__AttributesEntry entry;
    Hub__Event__AttributesEntry *entries[1];
    char *tags[3];
} s_event_t;

static void s_events(s_event_t e[4])
{
    memset(e, 0, 4 * sizeof *e);
    for (int i = 0; i < 4; i++) {
        hub__event__init(&e[i].ev);
        hub__customer__init(&e[i].customer);
        hub__event__attributes_entry__init(&e[i].entry);
        e[i].entries[0] = &e[i].entry;
    }
    /* a bug report from an enterprise customer who is overdue */
    e[0].ev.type = "bug_report";
    e[0].ev.source = "support";
    e[0].ev.case_id = "CASE-1042";
    e[0].customer.tier = "enterprise";
    e[0].customer.billing_status = "overdue";
    e[0].ev.customer = &e[0].customer;
    e[0].ev.has_severity = 1;
    e[0].ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    e[0].tags[0] = "regression";
    e[0].ev.tags = e[0].tags;
    e[0].ev.n_tags = 1;
    e[0].entry.key = "ticket";
    e[0].entry.value = "ZD-58812";
    e[0].ev.attributes = e[0].entries;
    e[0].ev.n_attributes = 1;
    /* a return request tagged rma */
    e[1].ev.type = "return_request";
    e[1].tags[0] = "rma";
    e[1].tags[1] = "damaged-in-transit";
    e[1].ev.tags = e[1].tags;
    e[1].ev.n_tags = 2;
    /* engineering resolving a case */
    e[2].ev.type = "response";
    e[2].ev.source = "engineering";
    e[2].ev.has_status = 1;
    e[2].ev.status = HUB__STATUS__STATUS_RESOLVED;
    e[2].ev.note = "fixed in 2.3.1";
    /* a type and nothing else */
    e[3].ev.type = "x";
}

static void s_check_route(const hub_policy_t *p, const Hub__Event *ev, size_t nroutes)
{
    static hub_match_t all[HUB_MAX_ROUTES], few[2];
    size_t n = hub_policy_route(p, ev, all, HUB_MAX_ROUTES);
    FUZZ_CHECK(n <= nroutes, "no more matches than routes");
    for (size_t i = 0; i < n; i++) {
        const hub_match_t *m = &all[i];
        FUZZ_CHECK(m->route && m->department && m->kind && m->topic, "a match names route, department, kind, topic");
        size_t dl = strlen(m->department);
        FUZZ_CHECK(strncmp(m->topic, m->department, dl) == 0 && m->topic[dl] == '.' &&
                       strcmp(m->topic + dl + 1, m->kind) == 0,
                   "a topic is <department>.<kind>");
        FUZZ_CHECK(strlen(m->topic) < HUB_TOPIC_LEN, "a topic fits HUB_TOPIC_LEN");
        FUZZ_CHECK(memchr(m->reason, '\0', sizeof m->reason) != NULL, "a reason is terminated");
        FUZZ_CHECK(m->respond_within_ms >= 0, "a deadline is not negative");
        FUZZ_CHECK(m->nfields == 0 || m->fields != NULL, "a redaction list is there when counted");
        for (size_t k = 0; k < m->nfields; k++)
            FUZZ_CHECK(m->fields[k] != NULL, "a redaction list holds names");
        const char *up = hub_policy_escalate_to(p, m->department);
        FUZZ_CHECK(!up || *up, "escalate_to is NULL or a name");
    }
    size_t nfew = hub_policy_route(p, ev, few, 2);
    FUZZ_CHECK(nfew == (n < 2 ? n : 2), "a smaller max gives fewer matches");
    for (size_t i = 0; i < nfew; i++)
        FUZZ_CHECK(strcmp(few[i].route, all[i].route) == 0, "a smaller max gives the first matches");
    FUZZ_CHECK(hub_policy_route(p, ev, few, 0) == 0, "max 0 gives no match");

    s_explained_t x = {0, 0, all, n};
    hub_policy_explain(p, ev, s_explain_fn, &x);
    FUZZ_CHECK(x.calls == nroutes, "explain calls back once per route");
    FUZZ_CHECK(x.matched == n, "explain matches the routes routing does");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[HUB_ERR_LEN] = "";
    hub_policy_t *p = hub_policy_parse((const char *)data, size, S_NAME, err);
    if (!p) {
        FUZZ_CHECK(fuzz_err_ok(err, sizeof err), "a refused policy has a reason");
        FUZZ_CHECK(strncmp(err, S_NAME ":", strlen(S_NAME ":")) == 0, "the reason starts with the file name");
        return 0;
    }
    size_t nroutes = hub_policy_route_count(p);
    FUZZ_CHECK(nroutes <= HUB_MAX_ROUTES, "at most HUB_MAX_ROUTES routes");
    const char *sha = hub_policy_sha256(p);
    FUZZ_CHECK(sha && strlen(sha) == 64 && strspn(sha, "0123456789abcdef") == 64, "sha256 is 64 hex digits");

    s_event_t events[4];
    s_events(events);
    for (int i = 0; i < 4; i++)
        s_check_route(p, &events[i].ev, nroutes);
    FUZZ_CHECK(hub_policy_escalate_to(p, "no such department here") == NULL, "an unknown department escalates nowhere");

    hub_policy_destroy(&p);
    FUZZ_CHECK(p == NULL, "hub_policy_destroy clears the pointer");
    hub_policy_destroy(&p);
    return 0;
}
