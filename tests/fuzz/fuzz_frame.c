/*
 * fuzz_frame - the frame decoder, and what the hub does next with a frame
 * it could read: re-encode it, print it as JSON, redact a Deliver's event.
 *
 * Contracts checked on every input:
 *   1. hub_frame_decode returns 0 or one of -HUB_ETOOLARGE, -HUB_EMALFORMED,
 *      -HUB_EUNSUPPORTED, -ENOMEM; on failure *frame_p is NULL and err holds
 *      a message. With a limit, a longer input is -HUB_ETOOLARGE and a
 *      shorter one decodes as without a limit.
 *   2. A decoded frame has a body; encoding it, decoding that and encoding
 *      again gives the same bytes, kind and corr.
 *   3. hub_message_to_json_text of a decoded frame is one valid JSON object.
 *   4. hub_redact on the input (as an Event and as a Frame) returns 0,
 *      -HUB_EMALFORMED or -ENOMEM; what it keeps is never longer than the
 *      input, and redacting it again with the same names changes nothing.
 *   5. A Deliver's event, packed, redacts cleanly: with no names it comes
 *      back whole, with names only those fields are left; and the frame
 *      spliced by hub_frame_encode_deliver (hub_deliver_batch_* when it
 *      has more) is the frame hub_frame_encode packs (when nothing outside
 *      the fields the splice writes is set).
 *   6. An event that came off the wire and passes hub_event_validate can be
 *      printed as JSON and read back by hub_event_from_json unchanged (the
 *      events of Publish, Deliver, PolicyQuery and NotificationList).
 *   7. hub_message_validate, which the hub runs on the admin frames it
 *      reads, returns 0 or -HUB_EINVALID with a reason, on any frame.
 *   8. A frame hub_frame_decode returns (read in one pass by
 *      hub_unpack_frame, or by protobuf-c where that declines) is the frame
 *      protobuf-c reads from the same bytes: protobuf-c packs the two to
 *      the same bytes.
 *   9. hub_pack (which hub_message_pack tries first) writes any frame
 *      protobuf-c read byte for byte as protobuf-c does, or declines and
 *      leaves its buffer as it was.
 *  10. The hub's walk of a Frames message (hub_gather_body, then
 *      hub_gather_next to its end without a refusal) finds the frames
 *      protobuf-c reads from the same bytes, in order; writing those
 *      frames with hub_gather_* gives the same bytes again (the walk
 *      takes only lengths in their shortest form, as they are written).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz.h"
#include "gather.h"
#include "json.h"
#include "pack.h"
#include "redact.h"

#define S_SMALL_LIMIT 64        /* a limit most inputs are over */
#define S_LARGE_LIMIT (1 << 20) /* hub.yaml's default max_frame */

static int s_decode_rc_ok(int rc)
{
    return rc == 0 || rc == -HUB_ETOOLARGE || rc == -HUB_EMALFORMED || rc == -HUB_EUNSUPPORTED || rc == -ENOMEM;
}

/* Checks rule 4 for one descriptor and one list of names. */
static void s_redact_raw(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
                         const char *const *keep, size_t nkeep)
{
    hub_buf_t once = HUB_BUF_INIT, twice = HUB_BUF_INIT;
    int rc = hub_redact(desc, data, size, keep, nkeep, &once);
    FUZZ_CHECK(rc == 0 || rc == -HUB_EMALFORMED || rc == -ENOMEM, "hub_redact returns a documented code");
    if (rc == -HUB_EMALFORMED)
        FUZZ_CHECK(once.len == 0, "a malformed input leaves out empty");
    if (rc == 0 && nkeep == 0)
        FUZZ_CHECK(once.len == size && (size == 0 || memcmp(once.data, data, size) == 0),
                   "redacting with no names copies everything");
    if (rc == 0) {
        FUZZ_CHECK(once.len <= size, "redaction never grows a message");
        rc = hub_redact(desc, once.data, once.len, keep, nkeep, &twice);
        FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "what hub_redact kept is valid wire data");
        if (rc == 0)
            FUZZ_CHECK(twice.len == once.len && (once.len == 0 || memcmp(once.data, twice.data, once.len) == 0),
                       "redacting twice keeps what redacting once kept");
    }
    hub_buf_fini(&once);
    hub_buf_fini(&twice);
}

/* Rule 5 for a batched Deliver (notification and more, each with an
 * event, nothing the splice does not write): hub_deliver_batch_* packs
 * what hub_frame_encode packs. */
static void s_check_batch(Hub__Frame *frame)
{
    Hub__Deliver *d = frame->deliver;
    size_t count = 1 + d->n_more;
    if (frame->has_corr || frame->base.n_unknown_fields || d->base.n_unknown_fields || count > 64)
        return;
    for (size_t i = 0; i < count; i++) {
        const Hub__Notification *n = i == 0 ? d->notification : d->more[i - 1];
        if (!n->event || n->base.n_unknown_fields)
            return;
    }
    hub_buf_t whole = HUB_BUF_INIT, body = HUB_BUF_INIT, event = HUB_BUF_INIT;
    const uint8_t *batched = NULL;
    size_t batched_len = 0;
    int rc = hub_frame_encode(frame, &whole);
    for (size_t i = 0; i < count && rc == 0; i++) {
        Hub__Notification *n = i == 0 ? d->notification : d->more[i - 1];
        Hub__Event *ev = n->event;
        rc = hub_message_pack(&ev->base, &event);
        n->event = NULL;
        if (rc == 0)
            rc = hub_deliver_batch_add(&body, i, n, event.len ? event.data : (const uint8_t *)"", event.len);
        n->event = ev;
    }
    if (rc == 0 && hub_deliver_batch_seal(d->name, &body, &batched, &batched_len) == 0)
        FUZZ_CHECK(batched_len == whole.len && memcmp(batched, whole.data, whole.len) == 0,
                   "hub_deliver_batch_* packs what hub_frame_encode packs");
    hub_buf_fini(&whole);
    hub_buf_fini(&body);
    hub_buf_fini(&event);
}

/* Checks rule 5 for a Deliver frame whose notification carries an event. */
static void s_check_deliver(Hub__Frame *frame)
{
    Hub__Deliver *d = frame->deliver;
    if (!d || !d->notification || !d->notification->event)
        return;
    Hub__Notification *n = d->notification;
    Hub__Event *ev = n->event;
    hub_buf_t packed = HUB_BUF_INIT, out = HUB_BUF_INIT, whole = HUB_BUF_INIT, spliced = HUB_BUF_INIT;
    if (hub_message_pack(&ev->base, &packed) < 0)
        goto done;

    /* No names: everything, byte for byte. */
    int rc = hub_redact(&hub__event__descriptor, packed.data, packed.len, NULL, 0, &out);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "a packed event redacts");
    if (rc == 0)
        FUZZ_CHECK(out.len == packed.len && (out.len == 0 || memcmp(out.data, packed.data, out.len) == 0),
                   "redacting with no names copies everything");

    /* A department's list: only those fields are left. */
    static const char *const keep[] = {"case_id", "type", "customer.name", "severity"};
    rc = hub_redact(&hub__event__descriptor, packed.data, packed.len, keep, sizeof keep / sizeof keep[0], &out);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "a packed event redacts with names");
    if (rc == 0) {
        Hub__Event *r = hub__event__unpack(NULL, out.len, out.data);
        FUZZ_CHECK(r != NULL, "a redacted event unpacks");
        FUZZ_CHECK(!r->id && !r->source && !r->subject && !r->body && !r->product && !r->occurred_at && !r->note,
                   "fields not named are gone");
        FUZZ_CHECK(r->n_tags == 0 && r->n_attributes == 0 && !r->has_status, "repeated fields not named are gone");
        FUZZ_CHECK((r->case_id == NULL) == (ev->case_id == NULL), "case_id is kept");
        FUZZ_CHECK((r->type == NULL) == (ev->type == NULL), "type is kept");
        FUZZ_CHECK(r->has_severity == ev->has_severity, "severity is kept");
        if (r->customer) {
            FUZZ_CHECK(ev->customer != NULL, "no customer appears from nowhere");
            FUZZ_CHECK(!r->customer->id && !r->customer->tier && !r->customer->billing_status &&
                           !r->customer->account_manager,
                       "only customer.name is kept of customer");
        }
        hub__event__free_unpacked(r, NULL);
    }

    /* The splice packs the frame the ordinary encoder packs. It writes only
     * version, deliver.name and deliver.notification, with the event last. */
    if (!frame->has_corr && frame->base.n_unknown_fields == 0 && d->base.n_unknown_fields == 0 &&
        n->base.n_unknown_fields == 0 && d->n_more == 0 && hub_frame_encode(frame, &whole) == 0) {
        n->event = NULL;
        /* an empty event packs to no bytes (and no buffer): still an event */
        const uint8_t *bytes = packed.len ? packed.data : (const uint8_t *)"";
        rc = hub_frame_encode_deliver(d->name, n, bytes, packed.len, &spliced);
        n->event = ev;
        if (rc == 0)
            FUZZ_CHECK(spliced.len == whole.len && memcmp(spliced.data, whole.data, whole.len) == 0,
                       "hub_frame_encode_deliver packs what hub_frame_encode packs");
    }
    s_check_batch(frame);
done:
    hub_buf_fini(&packed);
    hub_buf_fini(&out);
    hub_buf_fini(&whole);
    hub_buf_fini(&spliced);
}

/* Checks rule 6 for an event found in a frame. */
static void s_check_wire_event(const Hub__Event *ev)
{
    char err[HUB_ERR_LEN] = "";
    int rc = hub_event_validate(ev, err);
    FUZZ_CHECK(rc == 0 || rc == -HUB_EINVALID, "hub_event_validate returns 0 or -HUB_EINVALID");
    if (rc < 0) {
        FUZZ_CHECK(fuzz_err_ok(err, sizeof err), "a refused event has a reason");
        return;
    }
    char *text = hub_message_to_json_text(&ev->base);
    if (!text)
        return;
    Hub__Event *back = NULL;
    rc = hub_event_from_json(text, strlen(text), &back, err);
    if (rc != 0 && rc != -ENOMEM) {
        fprintf(stderr, "event JSON: %s\nerror: %s\n", text, err);
        FUZZ_CHECK(0, "a valid wire event reads back from its JSON");
    }
    if (back) {
        char *again = hub_message_to_json_text(&back->base);
        if (again)
            FUZZ_CHECK(strcmp(text, again) == 0, "an event's JSON survives a round trip");
        free(again);
        hub__event__free_unpacked(back, NULL);
    }
    free(text);
}

/* Checks rules 2 and 3 on a decoded frame. */
static void s_check_frame(Hub__Frame *frame)
{
    FUZZ_CHECK(frame->body_case != HUB__FRAME__BODY__NOT_SET, "a decoded frame has a body");
    FUZZ_CHECK(frame->has_version && frame->version == HUB_PROTOCOL_VERSION, "a decoded frame has our version");
    const char *kind = hub_frame_kind(frame);
    FUZZ_CHECK(strcmp(kind, "none") != 0, "a decoded frame's kind has a name");

    char *text = hub_message_to_json_text(&frame->base);
    if (text) {
        json_error_t jerr;
        json_t *value = json_loads(text, 0, &jerr);
        if (!value)
            fprintf(stderr, "JSON: %s\nerror: %s\n", text, jerr.text);
        FUZZ_CHECK(value && json_is_object(value), "a frame prints as one JSON object");
        json_decref(value);
        free(text);
    }

    hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
    char err[HUB_ERR_LEN] = "";
    Hub__Frame *again = NULL;
    if (hub_frame_encode(frame, &a) == 0) {
        int rc = hub_frame_decode(a.data, a.len, 0, &again, err);
        if (rc != 0 && rc != -ENOMEM)
            fprintf(stderr, "decoding the re-encoded frame: %s\n", err);
        FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "an encoded frame decodes");
        if (rc == 0) {
            FUZZ_CHECK(strcmp(hub_frame_kind(again), kind) == 0, "the kind survives a round trip");
            FUZZ_CHECK(again->has_corr == frame->has_corr && again->corr == frame->corr, "corr survives a round trip");
            if (hub_frame_encode(again, &b) == 0)
                FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
                           "encode(decode(encode(frame))) is encode(frame)");
        }
    }
    hub_frame_free(&again);
    hub_buf_fini(&a);
    hub_buf_fini(&b);

    char why[HUB_ERR_LEN] = "";
    int rc = hub_message_validate(&frame->base, 256, why);
    FUZZ_CHECK(rc == 0 || rc == -HUB_EINVALID, "hub_message_validate returns 0 or -HUB_EINVALID");
    if (rc < 0)
        FUZZ_CHECK(fuzz_err_ok(why, sizeof why), "a refused frame has a reason");

    if (frame->body_case == HUB__FRAME__BODY_PUBLISH && frame->publish->event)
        s_check_wire_event(frame->publish->event);
    if (frame->body_case == HUB__FRAME__BODY_POLICY_QUERY && frame->policy_query->event)
        s_check_wire_event(frame->policy_query->event);
    if (frame->body_case == HUB__FRAME__BODY_NOTIFICATION_LIST)
        for (size_t i = 0; i < frame->notification_list->n_items; i++) {
            const Hub__NotificationState *st = frame->notification_list->items[i];
            if (st->notification && st->notification->event)
                s_check_wire_event(st->notification->event);
        }
    if (frame->body_case == HUB__FRAME__BODY_DELIVER) {
        if (frame->deliver->notification && frame->deliver->notification->event)
            s_check_wire_event(frame->deliver->notification->event);
        s_check_deliver(frame);
    }
}

/* Rule 9. */
static void s_check_pack(const ProtobufCMessage *msg)
{
    hub_buf_t mine = HUB_BUF_INIT;
    if (hub_buf_append(&mine, "x", 1) < 0)
        return;
    int rc = hub_pack(msg, &mine);
    FUZZ_CHECK(rc == 1 || rc == 0 || rc == -ENOMEM, "hub_pack returns a documented code");
    if (rc == 1) {
        size_t size = protobuf_c_message_get_packed_size(msg);
        uint8_t *theirs = malloc(size ? size : 1);
        if (theirs) {
            FUZZ_CHECK(protobuf_c_message_pack(msg, theirs) == size, "protobuf-c packs what it measured");
            FUZZ_CHECK(mine.len == size + 1 && memcmp(mine.data + 1, theirs, size) == 0,
                       "hub_pack writes what protobuf-c writes");
        }
        free(theirs);
    } else {
        FUZZ_CHECK(mine.len == 1 && mine.data[0] == 'x', "a declined hub_pack leaves its buffer as it was");
    }
    hub_buf_fini(&mine);
}

/* Rules 8 and 9, for the frame hub_frame_decode made of data (or NULL). */
static void s_check_protobuf(const Hub__Frame *frame, const uint8_t *data, size_t size)
{
    Hub__Frame *theirs = hub__frame__unpack(NULL, size, data);
    if (theirs)
        s_check_pack(&theirs->base);
    if (frame) {
        FUZZ_CHECK(theirs != NULL, "what hub_frame_decode reads, protobuf-c reads");
        size_t n = protobuf_c_message_get_packed_size(&frame->base);
        size_t m = protobuf_c_message_get_packed_size(&theirs->base);
        uint8_t *a = malloc(n ? n : 1), *b = malloc(m ? m : 1);
        if (a && b) {
            FUZZ_CHECK(protobuf_c_message_pack(&frame->base, a) == n && protobuf_c_message_pack(&theirs->base, b) == m,
                       "protobuf-c packs what it measured");
            FUZZ_CHECK(n == m && (n == 0 || memcmp(a, b, n) == 0), "hub_frame_decode reads what protobuf-c reads");
        }
        free(a);
        free(b);
    }
    if (theirs)
        hub__frame__free_unpacked(theirs, NULL);
}

/* Rule 10. */
static void s_check_gather(const uint8_t *data, size_t size)
{
    const uint8_t *body, *frame;
    size_t body_len, frame_len, pos = 0, count = 0;
    if (!hub_gather_body(data, size, &body, &body_len))
        return;
    char err[HUB_ERR_LEN] = "";
    int rc;
    while ((rc = hub_gather_next(body, body_len, &pos, &frame, &frame_len, err)) == 1)
        count++;
    FUZZ_CHECK(rc == 0 || fuzz_err_ok(err, sizeof err), "a refused walk has a reason");
    if (rc != 0)
        return;
    Hub__Frame *pb = hub__frame__unpack(NULL, size, data);
    FUZZ_CHECK(pb != NULL, "a message the walk reads whole is a Frame protobuf-c reads");
    if (!pb)
        return;
    FUZZ_CHECK(pb->body_case == HUB__FRAME__BODY_FRAMES && pb->frames->n_frame == count,
               "the walk finds as many frames as protobuf-c");
    hub_gather_t g = HUB_GATHER_INIT;
    pos = 0;
    for (size_t i = 0; hub_gather_next(body, body_len, &pos, &frame, &frame_len, err) == 1; i++) {
        if (pb->body_case == HUB__FRAME__BODY_FRAMES && i < pb->frames->n_frame)
            FUZZ_CHECK(pb->frames->frame[i].len == frame_len &&
                           (frame_len == 0 || memcmp(pb->frames->frame[i].data, frame, frame_len) == 0),
                       "the walk finds the frames protobuf-c reads");
        if (hub_gather_add(&g, frame, frame_len) != 0)
            break;
    }
    if (count > 1 && hub_gather_count(&g) == count) {
        const uint8_t *msg;
        size_t len;
        hub_gather_seal(&g, &msg, &len);
        FUZZ_CHECK(len == size && memcmp(msg, data, size) == 0, "gathering the frames again gives the same bytes");
    }
    hub_gather_fini(&g);
    hub__frame__free_unpacked(pb, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[HUB_ERR_LEN] = "";
    static Hub__Frame sentinel = HUB__FRAME__INIT;
    Hub__Frame *frame = &sentinel; /* hub_frame_decode must overwrite it */
    int unlimited = hub_frame_decode(data, size, 0, &frame, err);
    FUZZ_CHECK(s_decode_rc_ok(unlimited) && unlimited != -HUB_ETOOLARGE, "hub_frame_decode returns a documented code");
    FUZZ_CHECK((unlimited == 0) == (frame != NULL), "*frame_p is set exactly on success");
    if (unlimited < 0)
        FUZZ_CHECK(fuzz_err_ok(err, sizeof err), "a refused frame has a reason");

    Hub__Frame *limited = NULL;
    int rc = hub_frame_decode(data, size, S_SMALL_LIMIT, &limited, err);
    if (size > S_SMALL_LIMIT)
        FUZZ_CHECK(rc == -HUB_ETOOLARGE && limited == NULL, "a frame over the limit is -HUB_ETOOLARGE");
    else if (unlimited != -ENOMEM && rc != -ENOMEM)
        FUZZ_CHECK(rc == unlimited, "a frame within the limit decodes as without one");
    hub_frame_free(&limited);
    rc = hub_frame_decode(data, size, S_LARGE_LIMIT, &limited, err);
    if (size <= S_LARGE_LIMIT && unlimited != -ENOMEM && rc != -ENOMEM)
        FUZZ_CHECK(rc == unlimited, "a frame within the large limit decodes as without one");
    hub_frame_free(&limited);

    s_check_protobuf(unlimited == 0 ? frame : NULL, data, size);
    if (frame)
        s_check_frame(frame);
    hub_frame_free(&frame);
    FUZZ_CHECK(frame == NULL, "hub_frame_free clears the pointer");
    s_check_gather(data, size);

    /* The redaction walk on raw bytes, which protobuf-c never saw first. */
    static const char *const event_keep[] = {"case_id", "customer.name", "customer.tier", "tags", "attributes"};
    static const char *const frame_keep[] = {"version", "deliver.name", "deliver.notification.event.customer",
                                             "deliver.notification.event.type", "publish.event.customer.id"};
    s_redact_raw(&hub__event__descriptor, data, size, NULL, 0);
    s_redact_raw(&hub__event__descriptor, data, size, event_keep, sizeof event_keep / sizeof event_keep[0]);
    s_redact_raw(&hub__frame__descriptor, data, size, frame_keep, sizeof frame_keep / sizeof frame_keep[0]);
    return 0;
}
