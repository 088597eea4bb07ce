/*
 * codec - the only module that packs and unpacks protobuf frames.
 *
 * Every frame on the wire is a hub.Frame carrying a protocol version. Decoding
 * tells the three kinds of bad input apart, so that the hub can answer each
 * with the right error frame: too large (over the caller's limit), malformed
 * (not a Frame at all, or a Frame with no body) and unsupported (a version
 * this build does not speak).
 */
#ifndef HUB_CODEC_H_INCLUDED
#define HUB_CODEC_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"
#include "hub.h"
#include "hub.pb-c.h"

/* Decodes a frame of len bytes. max_len of 0 means no limit.
 * Returns 0 and sets *frame_p (free it with hub_frame_free); or
 *   -HUB_ETOOLARGE    len > max_len,
 *   -HUB_EMALFORMED   not a protobuf Frame, or no body set,
 *   -HUB_EUNSUPPORTED version missing or not HUB_PROTOCOL_VERSION,
 *   -ENOMEM,
 *   -HUB_EINTERNAL    this protobuf-c allocates other than the codec's arena
 *                     expects (never seen: every test would fail),
 * and fills err with one line saying which. The frame's memory is one
 * arena: its strings and messages are not freed one by one, nor may
 * anything be hung on it that its owner should free. */
int hub_frame_decode(const void *data, size_t len, size_t max_len, Hub__Frame **frame_p, char err[HUB_ERR_LEN]);

/* Frees a frame hub_frame_decode made (only those: not with
 * protobuf-c's free_unpacked, and nothing else with this). Accepts NULL;
 * sets *frame_p to NULL. */
void hub_frame_free(Hub__Frame **frame_p);

/* Packs frame into out (which is reset first), setting its version to
 * HUB_PROTOCOL_VERSION. Returns 0 or -ENOMEM. */
int hub_frame_encode(Hub__Frame *frame, hub_buf_t *out);

/* The protocol's error code for a return code (-HUB_E..., -errno: INTERNAL). */
Hub__ErrorCode hub_error_code(int rc);

/* Packs an Error frame for return code rc into out (reset first): message
 * err (NULL or "": hub_strerror(rc)), and for -HUB_EINVALID the field err
 * names when it starts with "field: "; id (may be NULL) is the event id of
 * a refused publish. Returns 0 or -ENOMEM. */
int hub_frame_encode_error(uint64_t corr, int rc, const char *err, const char *id, hub_buf_t *out);

/* A notification acknowledged: its event's seq and its slot. */
typedef struct {
    uint64_t seq;
    uint32_t slot;
} hub_ack_ref_t;

/* Packs an Ack frame of n refs (each with its seq and slot set) for
 * subscriber name (NULL: none), with corr: the bytes hub_frame_encode
 * makes of that frame, written by hand (a subscriber acknowledges every
 * notification). out is reset first. Returns 0 or -ENOMEM. */
int hub_frame_encode_ack(uint64_t corr, const char *name, const hub_ack_ref_t *refs, size_t n, hub_buf_t *out);

/* Packs a Deliver frame whose notification's event is given already packed
 * (event, event_len: a packed hub.Event, possibly redacted): the bytes are
 * spliced in without unpacking them. event NULL: no event; an empty event
 * (event_len 0) needs a pointer all the same. n->event must be NULL. out
 * is reset first. Returns 0 or -ENOMEM. */
int hub_frame_encode_deliver(const char *name, Hub__Notification *n, const uint8_t *event, size_t event_len,
                             hub_buf_t *out);

/* A Deliver frame of several notifications (Deliver.notification, then
 * Deliver.more), built one notification at a time into body: index 0
 * starts it (body is reset, with room kept in front for the frame's head),
 * the next ones follow in order. event as for hub_frame_encode_deliver.
 * Returns 0 or -ENOMEM (body then holds what it held before). */
int hub_deliver_batch_add(hub_buf_t *body, size_t index, Hub__Notification *n, const uint8_t *event,
                          size_t event_len);

/* Finishes the Deliver frame of the notifications in body (as
 * hub_deliver_batch_add built it) for subscriber name: its head goes into
 * the room kept in front of them, and *frame, *len say where the frame is
 * in body (no copy of the notifications). Returns 0, -ENOMEM, or -EINVAL
 * when body holds no notification. The body is sealed once; the next
 * notification starts it again. */
int hub_deliver_batch_seal(const char *name, hub_buf_t *body, const uint8_t **frame, size_t *len);

/* Packs any message into out (reset first). Returns 0 or -ENOMEM. */
int hub_message_pack(const ProtobufCMessage *msg, hub_buf_t *out);

/* Packs a routing into out (reset first), by hand (the hub packs one per
 * event, and protobuf-c's generic packing walks every field's descriptor
 * twice): the bytes hub_message_pack makes of it, except that a route
 * whose topic is its department "." its kind is packed without those two
 * and with names_in_topic set, which hub_routing_route and hub_route_read
 * read back whole. Returns 0 or -ENOMEM. */
int hub_routing_pack(const Hub__Routing *routing, hub_buf_t *out);

/* Short name of the frame's body ("publish", "ack", ...; "none"). */
const char *hub_frame_kind(const Hub__Frame *frame);

/* ------------------------------------------------- stored routings */

#define HUB_ROUTE_MAX_FIELDS 64 /* redaction fields read of one route */

/* One route of a stored hub.Routing, read straight from its packed bytes.
 * Strings are NUL-terminated copies in the caller's scratch ("" when the
 * route has none). */
typedef struct {
    const char *topic;
    const char *name;
    const char *department;
    const char *kind;
    const char *reason;
    const char *fields[HUB_ROUTE_MAX_FIELDS]; /* redaction: what the department sees */
    size_t nfields;                           /* 0: everything */
    int64_t respond_by_ms;                    /* 0: no deadline */
} hub_route_view_t;

/* Reads route number slot of a packed hub.Routing without allocating (the
 * delivery path reads one per notification sent). Returns 1 and fills out;
 * 0 when the routing has no such slot; -HUB_EMALFORMED when the bytes are
 * not a Routing; -HUB_ETOOLARGE when the route's strings do not fit in
 * scratch (scratch_len bytes) or it has more than HUB_ROUTE_MAX_FIELDS. */
int hub_routing_route(const uint8_t *packed, size_t len, uint32_t slot, hub_route_view_t *out, char *scratch,
                      size_t scratch_len);

/* The bytes of one route of a packed hub.Routing (inside it), as
 * hub_routing_next finds them. */
typedef struct {
    const uint8_t *data;
    size_t len;
} hub_route_bytes_t;

/* Walks the routes of a packed hub.Routing in slot order without
 * allocating: *pos is where the walk stands (0 to begin). Returns 1 with
 * the next route in *route, 0 after the last, -HUB_EMALFORMED. Reading
 * every slot of a routing so is one pass over it, where hub_routing_route
 * starts again from the first route for each slot. */
int hub_routing_next(const uint8_t *packed, size_t len, size_t *pos, hub_route_bytes_t *route);

/* Reads only the topic of a route hub_routing_next found into topic (cap
 * bytes, NUL-terminated; "" when the route has none): what a subscriber's
 * patterns are matched against, without the rest of the route. Returns 1,
 * -HUB_EMALFORMED when the bytes are not a Route, -HUB_ETOOLARGE when the
 * topic does not fit. */
int hub_route_topic(const hub_route_bytes_t *route, char *topic, size_t cap);

/* hub_routing_route for a route hub_routing_next found; same results,
 * without the search for the slot. */
int hub_route_read(const hub_route_bytes_t *route, hub_route_view_t *out, char *scratch, size_t scratch_len);

/* Fills the notification of slot of stored event seq (without its event
 * and attempt) from its route: what a department receives, and what the
 * tap shows. Strings point into route and into respond_by, which gets the
 * deadline formatted (RFC 3339) when there is one. */
void hub_notification_from_route(Hub__Notification *n, const hub_route_view_t *route, uint64_t seq, uint32_t slot,
                                 const char *event_id, const char *received_at, char respond_by[HUB_TIME_LEN]);

#endif
