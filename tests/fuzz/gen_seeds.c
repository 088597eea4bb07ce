/*
 * gen_seeds - writes the binary seeds of fuzz_frame: one packed frame of
 * every body kind, filled as the hub and libhub fill them, and a few bad
 * ones (another version, no body, no version, cut short); with a second
 * directory, the seeds of fuzz_routing too: stored routings as the hub
 * packs them, and a few it never writes.
 *
 *   gen_seeds DIR [ROUTING_DIR]
 *
 * The seeds are kept in the source tree; run this again only when
 * proto/hub.proto changes. Exit 0, or 1 when a file cannot be written.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "gather.h"

static int s_failed;

static void s_write(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "gen_seeds: cannot write %s\n", path);
        s_failed = 1;
    }
    if (f && fclose(f) != 0)
        s_failed = 1;
}

static void s_frame(const char *dir, const char *name, Hub__Frame *f)
{
    hub_buf_t b = HUB_BUF_INIT;
    f->has_corr = 1;
    f->corr = 42;
    if (hub_frame_encode(f, &b) == 0)
        s_write(dir, name, b.data, b.len);
    hub_buf_fini(&b);
}

/* Packs routes[0..n) as the hub stores them (hub_routing_pack) to name. */
static void s_routing(const char *dir, const char *name, Hub__Route **routes, size_t n)
{
    Hub__Routing routing = HUB__ROUTING__INIT;
    routing.n_routes = n;
    routing.routes = routes;
    hub_buf_t b = HUB_BUF_INIT;
    if (hub_routing_pack(&routing, &b) == 0)
        s_write(dir, name, b.data, b.len);
    hub_buf_fini(&b);
}

static void s_routing_seeds(const char *dir)
{
    char *keep[] = {"case_id", "customer.name", "severity"};
    Hub__Route r[4];
    Hub__Route *ptrs[4] = {&r[0], &r[1], &r[2], &r[3]};
    for (int i = 0; i < 4; i++)
        hub__route__init(&r[i]);
    r[0].topic = "engineering.defect", r[0].name = "defects", r[0].department = "engineering";
    r[0].kind = "defect", r[0].reason = "type=bug_report";
    r[0].has_respond_by_ms = 1, r[0].respond_by_ms = 1795609800123;
    r[1].topic = "finance.billing_flag", r[1].name = "overdue", r[1].department = "finance";
    r[1].kind = "billing_flag", r[1].reason = "customer.billing_status=overdue";
    r[1].n_fields = 3, r[1].fields = keep;
    r[2].topic = "deadletter.engineering", r[2].name = "dead-letter", r[2].reason = "max attempts"; /* no names */
    r[3].topic = "a.b.c", r[3].department = "a.b", r[3].kind = "c"; /* a dot in the department: kept */
    s_routing(dir, "one_route.bin", ptrs, 1);
    s_routing(dir, "four_routes.bin", ptrs, 4);
    s_routing(dir, "none.bin", ptrs, 0);
    /* what the hub never writes: names_in_topic on a topic without a dot, a route cut short */
    static const uint8_t no_dot[] = {0x0a, 0x09, 0x0a, 0x05, 's', 'a', 'l', 'e', 's', 0x40, 0x01};
    static const uint8_t cut[] = {0x0a, 0x20, 0x0a, 0x05, 's', '.', 'c', 'a', 'l'};
    s_write(dir, "bad_no_dot.bin", no_dot, sizeof no_dot);
    s_write(dir, "bad_cut.bin", cut, sizeof cut);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: gen_seeds DIR [ROUTING_DIR]\n");
        return 2;
    }
    if (argc == 3)
        s_routing_seeds(argv[2]);
    const char *dir = argv[1];

    Hub__Customer c = HUB__CUSTOMER__INIT;
    c.id = "ACME-7";
    c.name = "Acme Corp";
    c.tier = "enterprise";
    c.billing_status = "overdue";
    c.account_manager = "dana";
    Hub__Event__AttributesEntry a1 = HUB__EVENT__ATTRIBUTES_ENTRY__INIT, a2 = HUB__EVENT__ATTRIBUTES_ENTRY__INIT;
    Hub__Event__AttributesEntry *attrs[] = {&a1, &a2};
    a1.key = "ticket";
    a1.value = "ZD-58812";
    a2.key = "order_id";
    a2.value = "SO-88121";
    char *tags[] = {"regression", "rma"};
    Hub__Event ev = HUB__EVENT__INIT;
    ev.id = "support-desk-20261123-0001";
    ev.type = "bug_report";
    ev.source = "support";
    ev.case_id = "CASE-1042";
    ev.customer = &c;
    ev.has_severity = 1;
    ev.severity = HUB__SEVERITY__SEVERITY_HIGH;
    ev.subject = "Export crashes on large files";
    ev.body = "Exporting any project over about 2 GB to CSV stops at 87%.";
    ev.product = "exporter 2.3";
    ev.n_tags = 2;
    ev.tags = tags;
    ev.n_attributes = 2;
    ev.attributes = attrs;
    ev.occurred_at = "2026-11-23T10:00:00Z";

    Hub__Hello hello = HUB__HELLO__INIT;
    hello.client = "hubctl 0.1.0";
    Hub__Frame f = HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_HELLO;
    f.hello = &hello;
    s_frame(dir, "hello.bin", &f);

    Hub__Welcome w = HUB__WELCOME__INIT;
    w.hub_version = "0.1.0";
    w.instance = "6f1c2a";
    w.identity = "support";
    w.has_max_frame = 1;
    w.max_frame = 1048576;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_WELCOME;
    f.welcome = &w;
    s_frame(dir, "welcome.bin", &f);

    Hub__Publish pub = HUB__PUBLISH__INIT;
    pub.event = &ev;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &pub;
    s_frame(dir, "publish.bin", &f);
    pub.on_behalf_of = "alice";
    s_frame(dir, "publish_on_behalf.bin", &f);
    pub.on_behalf_of = NULL;

    Hub__PublishAck pa = HUB__PUBLISH_ACK__INIT;
    pa.id = ev.id;
    pa.has_seq = 1;
    pa.seq = 1042;
    pa.has_duplicate = 1;
    pa.has_notifications = 1;
    pa.notifications = 3;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACK;
    f.publish_ack = &pa;
    s_frame(dir, "publish_ack.bin", &f);
    /* the acks of one commit for a client that asked: a publish with
     * batch_acks, then what comes back */
    pub.has_batch_acks = 1;
    pub.batch_acks = 1;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &pub;
    s_frame(dir, "publish_batch_acks.bin", &f);
    Hub__PublishAck pb = pa;
    pa.has_corr = pb.has_corr = 1;
    pa.corr = 1;
    pb.corr = 2;
    pb.seq = 1043;
    Hub__PublishAck *pas[] = {&pa, &pb};
    Hub__PublishAcks acks = HUB__PUBLISH_ACKS__INIT;
    acks.n_acks = 2;
    acks.acks = pas;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH_ACKS;
    f.publish_acks = &acks;
    s_frame(dir, "publish_acks.bin", &f);

    char *topics[] = {"engineering.*", "finance.billing_flag"};
    Hub__Subscribe sub = HUB__SUBSCRIBE__INIT;
    sub.name = "engineering";
    sub.n_topics = 2;
    sub.topics = topics;
    sub.has_start = 1;
    sub.start = HUB__START__START_SEQ;
    sub.has_start_seq = 1;
    sub.start_seq = 7;
    sub.has_credit = 1;
    sub.credit = 100;
    sub.has_batch = 1;
    sub.batch = 128;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_SUBSCRIBE;
    f.subscribe = &sub;
    s_frame(dir, "subscribe.bin", &f);

    Hub__Subscribed sd = HUB__SUBSCRIBED__INIT;
    sd.name = "engineering";
    sd.has_position = 1;
    sd.position = 6;
    sd.has_credit = 1;
    sd.credit = 100;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_SUBSCRIBED;
    f.subscribed = &sd;
    s_frame(dir, "subscribed.bin", &f);

    Hub__Notification n = HUB__NOTIFICATION__INIT;
    n.has_seq = 1;
    n.seq = 1042;
    n.has_slot = 1;
    n.slot = 1;
    n.topic = "finance.billing_flag";
    n.route = "billing-flag";
    n.reason = "type=bug_report, customer.billing_status=overdue";
    n.department = "finance";
    n.kind = "billing_flag";
    n.respond_by = "2026-11-23T14:00:00Z";
    n.has_attempt = 1;
    n.attempt = 1;
    n.event_id = ev.id;
    n.received_at = "2026-11-23T10:00:01Z";
    n.event = &ev;
    Hub__Deliver d = HUB__DELIVER__INIT;
    d.name = "finance";
    d.notification = &n;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DELIVER;
    f.deliver = &d;
    f.has_corr = 0;
    hub_buf_t b = HUB_BUF_INIT;
    if (hub_frame_encode(&f, &b) == 0) /* as the hub sends it: corr 0 */
        s_write(dir, "deliver.bin", b.data, b.len);
    /* the tap's form: no subscriber name */
    d.name = "";
    if (hub_frame_encode(&f, &b) == 0)
        s_write(dir, "deliver_tap.bin", b.data, b.len);
    /* a batch: the same notification twice more */
    Hub__Notification *more[] = {&n, &n};
    d.name = "finance";
    d.n_more = 2;
    d.more = more;
    if (hub_frame_encode(&f, &b) == 0)
        s_write(dir, "deliver_batch.bin", b.data, b.len);
    hub_buf_fini(&b);

    Hub__Ref r1 = HUB__REF__INIT, r2 = HUB__REF__INIT, *refs[] = {&r1, &r2};
    r1.has_seq = r2.has_seq = 1;
    r1.seq = 1041;
    r2.seq = 1042;
    r2.has_slot = 1;
    r2.slot = 1;
    Hub__Ack ack = HUB__ACK__INIT;
    ack.name = "finance";
    ack.n_refs = 2;
    ack.refs = refs;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_ACK;
    f.ack = &ack;
    s_frame(dir, "ack.bin", &f);

    Hub__Nack nack = HUB__NACK__INIT;
    nack.name = "finance";
    nack.ref = &r2;
    nack.reason = "mail server refused";
    nack.has_dead_letter = 1;
    nack.dead_letter = 1;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_NACK;
    f.nack = &nack;
    s_frame(dir, "nack.bin", &f);

    Hub__Error e = HUB__ERROR__INIT;
    e.has_code = 1;
    e.code = HUB__ERROR_CODE__ERROR_CODE_INVALID;
    e.message = "customer.tier: expected a string, got a number";
    e.field = "customer.tier";
    e.id = ev.id;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_ERROR;
    f.error = &e;
    s_frame(dir, "error.bin", &f);

    Hub__Heartbeat hb = HUB__HEARTBEAT__INIT;
    hb.instance = "6f1c2a";
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    s_frame(dir, "heartbeat.bin", &f);

    Hub__StatusRequest sr = HUB__STATUS_REQUEST__INIT;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_STATUS_REQUEST;
    f.status_request = &sr;
    s_frame(dir, "status_request.bin", &f);

    Hub__SubscriberStatus ss = HUB__SUBSCRIBER_STATUS__INIT, *subs[] = {&ss};
    ss.name = "engineering";
    ss.n_topics = 1;
    ss.topics = topics;
    ss.has_connected = 1;
    ss.connected = 1;
    ss.has_position = ss.has_backlog = ss.has_in_flight = ss.has_credit = 1;
    ss.position = 1000;
    ss.backlog = 42;
    ss.in_flight = 3;
    ss.credit = 100;
    ss.has_delivered = ss.has_redelivered = ss.has_dead_letters = 1;
    ss.delivered = 1003;
    ss.redelivered = 2;
    ss.dead_letters = 1;
    ss.has_acked = ss.has_oldest_unacked_ms = ss.has_open_dead_letters = 1;
    ss.acked = 1000;
    ss.oldest_unacked_ms = 1250;
    ss.open_dead_letters = 1;
    Hub__StatusReply st = HUB__STATUS_REPLY__INIT;
    st.hub_version = "0.1.0";
    st.instance = "6f1c2a";
    st.has_last_seq = st.has_events = st.has_routes = st.has_rejected = st.has_commits = st.has_uptime_s = 1;
    st.last_seq = 1042;
    st.events = 1042;
    st.policy_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    st.routes = 6;
    st.n_subscribers = 1;
    st.subscribers = subs;
    st.rejected = 5;
    st.commits = 900;
    st.data_dir = "./var/hub";
    st.uptime_s = 3600;
    Hub__Counter c1 = HUB__COUNTER__INIT, c2 = HUB__COUNTER__INIT, *counters[] = {&c1, &c2};
    c1.name = "events_received";
    c1.label = "type";
    c1.value = "bug_report";
    c1.has_count = 1;
    c1.count = 1042;
    c2.name = "deliveries";
    c2.label = "department";
    c2.value = "other";
    c2.has_count = 1;
    c2.count = 7;
    st.n_counters = 2;
    st.counters = counters;
    double bounds[] = {0.001, 0.01, 0.1};
    uint64_t buckets[] = {800, 890, 899, 900};
    Hub__Histogram hist = HUB__HISTOGRAM__INIT, *hists[] = {&hist};
    hist.name = "commit_seconds";
    hist.n_bounds = 3;
    hist.bounds = bounds;
    hist.n_buckets = 4;
    hist.buckets = buckets;
    hist.has_sum = hist.has_count = 1;
    hist.sum = 1.75;
    hist.count = 900;
    st.n_histograms = 1;
    st.histograms = hists;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_STATUS_REPLY;
    f.status_reply = &st;
    s_frame(dir, "status_reply.bin", &f);

    Hub__AuditQuery aq = HUB__AUDIT_QUERY__INIT;
    aq.case_id = "CASE-1042";
    aq.action = "routed";
    aq.has_since_ms = aq.has_limit = 1;
    aq.since_ms = 1763892000000;
    aq.limit = 100;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_AUDIT_QUERY;
    f.audit_query = &aq;
    s_frame(dir, "audit_query.bin", &f);

    char *rows[] = {"{\"id\":1,\"action\":\"received\"}"};
    Hub__AuditReply ar = HUB__AUDIT_REPLY__INIT;
    ar.n_rows = 1;
    ar.rows = rows;
    ar.has_truncated = 1;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_AUDIT_REPLY;
    f.audit_reply = &ar;
    s_frame(dir, "audit_reply.bin", &f);

    Hub__NotificationQuery nq = HUB__NOTIFICATION_QUERY__INIT;
    nq.department = "finance";
    nq.case_id = "CASE-1042";
    nq.customer = "acme";
    nq.has_dead_letters = nq.has_open_only = nq.has_limit = nq.has_before_seq = nq.has_after_seq = 1;
    nq.has_window = 1;
    nq.open_only = 1;
    nq.limit = 50;
    nq.before_seq = 2000;
    nq.after_seq = 1000;
    nq.window = 10000;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_NOTIFICATION_QUERY;
    f.notification_query = &nq;
    s_frame(dir, "notification_query.bin", &f);

    n.has_attempt = 0;
    Hub__NotificationState ns = HUB__NOTIFICATION_STATE__INIT, dl = HUB__NOTIFICATION_STATE__INIT;
    Hub__NotificationState *items[] = {&ns, &dl};
    ns.notification = &n;
    ns.answer = "resolved";
    ns.answer_note = "fixed in 2.3.1";
    ns.answered_by = "alice@console";
    ns.has_answered_at_ms = ns.has_breached = ns.has_escalated = 1;
    ns.answered_at_ms = 1763892000000;
    ns.breached = 1;
    dl.notification = &n;
    dl.subscriber = "finance";
    dl.dead_letter_reason = "mail server refused";
    dl.dead_letter_state = "redriven";
    dl.dead_letter_by = "operator";
    dl.has_redrive_seq = dl.has_orig_seq = dl.has_orig_slot = 1;
    dl.redrive_seq = 1050;
    dl.orig_seq = 1042;
    dl.orig_slot = 1;
    Hub__NotificationList nl = HUB__NOTIFICATION_LIST__INIT;
    nl.n_items = 2;
    nl.items = items;
    nl.has_last_seq = nl.has_truncated = 1;
    nl.last_seq = 1050;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_NOTIFICATION_LIST;
    f.notification_list = &nl;
    s_frame(dir, "notification_list.bin", &f);

    Hub__DeadLetterAction da = HUB__DEAD_LETTER_ACTION__INIT;
    da.has_seq = 1;
    da.seq = 1043;
    da.action = "discard";
    da.reason = "customer withdrew the request";
    da.on_behalf_of = "alice";
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DEAD_LETTER_ACTION;
    f.dead_letter_action = &da;
    s_frame(dir, "dead_letter_action.bin", &f);

    Hub__DeadLetterDone dd = HUB__DEAD_LETTER_DONE__INIT;
    dd.has_seq = dd.has_redrive_seq = 1;
    dd.seq = 1043;
    dd.state = "redriven";
    dd.redrive_seq = 1050;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_DEAD_LETTER_DONE;
    f.dead_letter_done = &dd;
    s_frame(dir, "dead_letter_done.bin", &f);

    Hub__PolicyQuery pq = HUB__POLICY_QUERY__INIT;
    pq.event = &ev;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_POLICY_QUERY;
    f.policy_query = &pq;
    s_frame(dir, "policy_query.bin", &f);

    char *fields[] = {"case_id", "customer"};
    Hub__Route route = HUB__ROUTE__INIT, *matches[] = {&route};
    route.topic = "finance.billing_flag";
    route.name = "billing-flag";
    route.department = "finance";
    route.kind = "billing_flag";
    route.reason = "type=bug_report, customer.billing_status=overdue";
    route.n_fields = 2;
    route.fields = fields;
    route.has_respond_by_ms = 1;
    route.respond_by_ms = 1763906400000;
    Hub__PolicyReply pr = HUB__POLICY_REPLY__INIT;
    pr.sha256 = st.policy_sha256;
    pr.path = "deploy/policy.yaml";
    pr.source = "departments:\n  finance: {}\nroutes:\n  - name: billing-flag\n";
    pr.has_routes = pr.has_dry_run = 1;
    pr.routes = 1;
    pr.dry_run = 1;
    pr.n_matches = 1;
    pr.matches = matches;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_POLICY_REPLY;
    f.policy_reply = &pr;
    s_frame(dir, "policy_reply.bin", &f);

    /* Bad ones, by hand. */
    static const uint8_t version2[] = {0x08, 0x02, 0x52, 0x00};                         /* version 2, hello {} */
    static const uint8_t no_body[] = {0x08, 0x01, 0x10, 0x2a};                          /* version 1, corr 42 */
    static const uint8_t no_version[] = {0x52, 0x02, 0x0a, 0x00};                       /* hello { client "" } */
    static const uint8_t bad_wire[] = {0x0f, 0xff, 0xff, 0xff, 0xff};                   /* wire type 7 */
    static const uint8_t long_len[] = {0x08, 0x01, 0x62, 0xff, 0xff, 0xff, 0xff, 0x0f}; /* publish of 4 GiB */
    s_write(dir, "bad_version2.bin", version2, sizeof version2);
    s_write(dir, "bad_no_body.bin", no_body, sizeof no_body);
    s_write(dir, "bad_no_version.bin", no_version, sizeof no_version);
    s_write(dir, "bad_wire_type.bin", bad_wire, sizeof bad_wire);
    s_write(dir, "bad_length.bin", long_len, sizeof long_len);
    s_write(dir, "empty.bin", (const uint8_t *)"", 0);

    /* A publish cut short in the middle of its event. */
    b = (hub_buf_t)HUB_BUF_INIT;
    f = (Hub__Frame)HUB__FRAME__INIT;
    f.body_case = HUB__FRAME__BODY_PUBLISH;
    f.publish = &pub;
    if (hub_frame_encode(&f, &b) == 0)
        s_write(dir, "bad_truncated.bin", b.data, b.len / 2);

    /* Publishes gathered as libhub gathers them, and such a message inside
     * another (which the hub refuses). */
    hub_gather_t g = HUB_GATHER_INIT, outer = HUB_GATHER_INIT;
    for (int i = 0; i < 3; i++) {
        hub_buf_reset(&b);
        if (hub_frame_encode(&f, &b) == 0)
            hub_gather_add(&g, b.data, b.len);
    }
    const uint8_t *msg;
    size_t len;
    hub_gather_seal(&g, &msg, &len);
    s_write(dir, "frames.bin", msg, len);
    hub_gather_add(&outer, msg, len);
    hub_gather_add(&outer, b.data, b.len);
    hub_gather_seal(&outer, &msg, &len);
    s_write(dir, "frames_nested.bin", msg, len);
    hub_gather_fini(&g);
    hub_gather_fini(&outer);
    hub_buf_fini(&b);
    return s_failed;
}
