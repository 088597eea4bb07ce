/*
 * codec - packs and unpacks hub.Frame, and splices packed events into
 * Deliver frames.
 *
 * Rules:
 * 1. Decoding sorts bad input into exactly one of: too large (checked before
 *    anything is read), malformed (protobuf-c cannot unpack it as a Frame,
 *    or it unpacks with no body) and unsupported (a version other than
 *    HUB_PROTOCOL_VERSION, or none). A frame that carries a version this
 *    build does not speak is unsupported even without a body we know: a
 *    later version may have bodies we cannot see.
 * 2. Encoding packs straight into the caller's reusable buffer: the only
 *    allocation is the buffer growing.
 * 3. A Deliver frame built by hub_frame_encode_deliver (or of a batch,
 *    hub_deliver_batch_*) is byte for byte what hub_frame_encode would
 *    produce for the same frame with the events unpacked and set:
 *    protobuf-c packs fields in field-number order, the event (field 12)
 *    is the Notification's last field, and a Deliver's notification (2)
 *    comes before the more (3) that follow it.
 * 4. Frames are read by unpack.c, and messages written by pack.c, in one
 *    pass each by their plans (plan.h). What they decline protobuf-c does
 *    (reading from an empty arena), so that every input and every message
 *    gets protobuf-c's answer. protobuf-c took 5,000 instructions to read
 *    a notification of a Deliver frame, and 3,600 to write a Publish.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "codec.h"
#include "pack.h"
#include "unpack.h"

/* Wire tags of the fields the splice writes by hand. */
#define S_TAG_LEN(field) ((uint64_t)(field) << 3 | 2) /* length-delimited */
#define S_TAG_VARINT(field) ((uint64_t)(field) << 3)  /* varint */

#define S_FRAME_VERSION 1       /* Frame.version */
#define S_FRAME_DELIVER 16      /* Frame.deliver */
#define S_DELIVER_NAME 1        /* Deliver.name */
#define S_DELIVER_NOTIFICATION 2 /* Deliver.notification */
#define S_DELIVER_MORE 3        /* Deliver.more */
#define S_NOTIFICATION_EVENT 12 /* Notification.event */

/* Decoded frames live in an arena: protobuf-c asks for every message,
 * string and array of a frame on its own (a Deliver frame is a score of
 * pieces, an Ack one per ref), and every hub and client decodes frames on
 * its busiest path. The arena takes them from chunks instead, the first
 * sized for the frame, and hub_frame_free releases the chunks whole rather
 * than walking the message. It also remembers whether an allocation
 * failed, so that a NULL from protobuf_c_message_unpack can be told apart:
 * out of memory or bad bytes.
 *
 * protobuf-c allocates the message itself first, so the frame sits at the
 * start of the first chunk's data and hub_frame_free finds the chunks from
 * it; hub_frame_decode checks that it does. */
typedef struct s_chunk {
    struct s_chunk *next; /* older chunks of the same frame */
    size_t size, used;    /* bytes of data, bytes given out */
    pthread_t owner;      /* a frame's first chunk: the thread that decoded it */
    max_align_t data[];   /* the frame comes first */
} s_chunk_t;

typedef struct {
    s_chunk_t *chunks; /* newest first; the last holds the frame */
    int failed;        /* an allocation returned NULL */
} s_arena_t;

#define S_ALIGN sizeof(max_align_t)
#define S_CHUNK_MIN 1024 /* bytes of data in a chunk at least */

static s_chunk_t *s_chunk_new(size_t size)
{
    s_chunk_t *c = malloc(sizeof *c + size);
    if (c) {
        c->next = NULL;
        c->size = size;
        c->used = 0;
    }
    return c;
}

static void s_chunks_free(s_chunk_t *c)
{
    while (c) {
        s_chunk_t *next = c->next;
        free(c);
        c = next;
    }
}

/* Each thread keeps the first chunk of the last frame it decoded and
 * freed itself, up to S_SPARE_MAX bytes, for the next frame it decodes.
 * Freed, a Deliver frame's chunk (twice its 50 KiB or so) went back to the
 * system at the top of the heap, and the next frame's copy faulted its
 * pages in again: a subscriber did that for every frame. A frame freed by
 * another thread than the one that decoded it (an application destroying
 * notifications elsewhere) is freed: that thread may never decode. The
 * spare goes when its thread ends (the key's destructor). */
#define S_SPARE_MAX (1024 * 1024)

static pthread_key_t s_spare_key;
static pthread_once_t s_spare_once = PTHREAD_ONCE_INIT;
static int s_spare_ok;

static void s_spare_destroy(void *spare)
{
    free(spare);
}

static void s_spare_init(void)
{
    s_spare_ok = pthread_key_create(&s_spare_key, s_spare_destroy) == 0;
}

/* A first chunk of at least size bytes: the thread's spare when it is
 * large enough, else a new one. */
static s_chunk_t *s_chunk_take(size_t size)
{
    pthread_once(&s_spare_once, s_spare_init);
    s_chunk_t *spare = s_spare_ok ? pthread_getspecific(s_spare_key) : NULL;
    if (!spare || spare->size < size) {
        s_chunk_t *c = s_chunk_new(size);
        if (c)
            c->owner = pthread_self();
        return c;
    }
    pthread_setspecific(s_spare_key, NULL);
    spare->next = NULL;
    spare->used = 0;
    return spare;
}

/* Frees a frame's chunks, keeping the first (c) as the thread's spare
 * when this thread decoded it, it is larger than the one kept and not over
 * S_SPARE_MAX. */
static void s_chunks_release(s_chunk_t *c)
{
    s_chunks_free(c->next);
    c->next = NULL;
    if (!pthread_equal(c->owner, pthread_self())) {
        free(c);
        return;
    }
    pthread_once(&s_spare_once, s_spare_init);
    s_chunk_t *spare = s_spare_ok ? pthread_getspecific(s_spare_key) : NULL;
    if (!s_spare_ok || c->size > S_SPARE_MAX || (spare && spare->size >= c->size) ||
        pthread_setspecific(s_spare_key, c) != 0) {
        free(c);
        return;
    }
    free(spare);
}

static void *s_alloc(void *data, size_t size)
{
    s_arena_t *arena = data;
    size = (size + S_ALIGN - 1) / S_ALIGN * S_ALIGN;
    s_chunk_t *c = arena->chunks;
    if (!c || c->size - c->used < size) {
        size_t want = c ? c->size * 2 : S_CHUNK_MIN;
        if (want < size)
            want = size;
        s_chunk_t *fresh = s_chunk_new(want);
        if (!fresh) {
            arena->failed = 1;
            return NULL;
        }
        fresh->next = c;
        arena->chunks = c = fresh;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

static void s_free(void *data, void *p)
{
    /* pieces go with their frame, in hub_frame_free */
    (void)data;
    (void)p;
}

/* The chunk a decoded frame starts: the oldest of its arena. */
static s_chunk_t *s_frame_chunk(Hub__Frame *frame)
{
    return (s_chunk_t *)((char *)frame - offsetof(s_chunk_t, data));
}

#define S_MAX_FIELD_NUMBER 536870911u /* 2^29 - 1, the largest the protobuf encoding allows */

/* 1 when msg or a message inside it kept an unknown field numbered 0 or
 * above the largest field number. protobuf-c accepts such a field inside a
 * nested message and packs it again as it came, but other readers (this
 * codec's redaction, other decoders) refuse the result: stored and
 * delivered, such an event could be read by nobody. */
static int s_has_field_zero(const ProtobufCMessage *msg, int depth)
{
    if (!msg || depth > 64)
        return 0;
    for (unsigned i = 0; i < msg->n_unknown_fields; i++)
        if (msg->unknown_fields[i].tag == 0 || msg->unknown_fields[i].tag > S_MAX_FIELD_NUMBER)
            return 1;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[f];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + field->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + field->offset);
            for (size_t k = 0; k < n; k++)
                if (s_has_field_zero(items[k], depth + 1))
                    return 1;
            continue;
        }
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + field->quantifier_offset) != field->id)
            continue;
        if (s_has_field_zero(*(ProtobufCMessage *const *)(base + field->offset), depth + 1))
            return 1;
    }
    return 0;
}

int hub_frame_decode(const void *data, size_t len, size_t max_len, Hub__Frame **frame_p, char err[HUB_ERR_LEN])
{
    *frame_p = NULL;
    if (max_len && len > max_len) {
        snprintf(err, HUB_ERR_LEN, "frame of %zu bytes is over the limit of %zu bytes", len, max_len);
        return -HUB_ETOOLARGE;
    }
    /* the first chunk holds the frame and, mostly, all of it: the pieces
     * of a frame take about twice its bytes */
    s_arena_t arena = {s_chunk_take(len * 2 + S_CHUNK_MIN), 0};
    if (!arena.chunks) {
        snprintf(err, HUB_ERR_LEN, "out of memory decoding a frame of %zu bytes", len);
        return -ENOMEM;
    }
    s_chunk_t *first = arena.chunks;
    ProtobufCAllocator allocator = {s_alloc, s_free, &arena};
    Hub__Frame *read_frame = NULL;
    int read = hub_unpack_frame(data, len, &allocator, &read_frame);
    ProtobufCMessage *msg = read_frame ? &read_frame->base : NULL;
    if (read == 0) {
        /* declined (rule 4): protobuf-c reads it, from an empty arena */
        s_chunk_t *c = arena.chunks;
        while (c != first) {
            s_chunk_t *next = c->next;
            free(c);
            c = next;
        }
        arena.chunks = first;
        first->used = 0;
        msg = protobuf_c_message_unpack(&hub__frame__descriptor, &allocator, len, data);
    }
    if (!msg) {
        s_chunks_free(arena.chunks);
        if (arena.failed) {
            snprintf(err, HUB_ERR_LEN, "out of memory decoding a frame of %zu bytes", len);
            return -ENOMEM;
        }
        snprintf(err, HUB_ERR_LEN, "%zu bytes that are not a protobuf hub.Frame", len);
        return -HUB_EMALFORMED;
    }
    /* hub_frame_free finds the chunks from the frame (see s_frame_chunk);
     * a protobuf-c that allocated something else first would be caught
     * here, by every test, rather than freed wrongly */
    if ((void *)msg != (void *)first->data) {
        s_chunks_free(arena.chunks);
        snprintf(err, HUB_ERR_LEN, "internal: protobuf-c did not allocate the frame first");
        return -HUB_EINTERNAL;
    }
    first->next = arena.chunks == first ? NULL : arena.chunks;
    if (first->next) {
        /* keep the chain reachable from the frame's chunk: the newest
         * chunks hang after it, the oldest ends the list */
        s_chunk_t *c = arena.chunks;
        while (c->next != first)
            c = c->next;
        c->next = NULL;
    }
    Hub__Frame *frame = (Hub__Frame *)msg;
    if (read == 0 && s_has_field_zero(msg, 0)) {
        snprintf(err, HUB_ERR_LEN, "%zu bytes that are not a protobuf hub.Frame (a field numbered 0 or beyond "
                 "2^29 - 1)", len);
        hub_frame_free(&frame);
        return -HUB_EMALFORMED;
    }
    if (frame->has_version && frame->version != HUB_PROTOCOL_VERSION) {
        snprintf(err, HUB_ERR_LEN, "protocol version %u is not supported (this hub speaks version %d)",
                 (unsigned)frame->version, HUB_PROTOCOL_VERSION);
        hub_frame_free(&frame);
        return -HUB_EUNSUPPORTED;
    }
    if (frame->body_case == HUB__FRAME__BODY__NOT_SET) {
        snprintf(err, HUB_ERR_LEN, "frame has no body (hello, publish, ...)");
        hub_frame_free(&frame);
        return -HUB_EMALFORMED;
    }
    if (!frame->has_version) {
        snprintf(err, HUB_ERR_LEN, "frame has no protocol version (this hub speaks version %d)",
                 HUB_PROTOCOL_VERSION);
        hub_frame_free(&frame);
        return -HUB_EUNSUPPORTED;
    }
    *frame_p = frame;
    return 0;
}

void hub_frame_free(Hub__Frame **frame_p)
{
    if (!frame_p || !*frame_p)
        return;
    s_chunks_release(s_frame_chunk(*frame_p));
    *frame_p = NULL;
}

int hub_message_pack(const ProtobufCMessage *msg, hub_buf_t *out)
{
    hub_buf_reset(out);
    int written = hub_pack(msg, out);
    if (written != 0)
        return written < 0 ? written : 0;
    size_t size = protobuf_c_message_get_packed_size(msg);
    int rc = hub_buf_reserve(out, size);
    if (rc < 0)
        return rc;
    out->len = protobuf_c_message_pack(msg, out->data);
    return 0;
}

/* Route's field numbers (hub.proto). */
enum { S_ROUTE_TOPIC = 1, S_ROUTE_NAME, S_ROUTE_DEPARTMENT, S_ROUTE_KIND, S_ROUTE_REASON, S_ROUTE_FIELDS,
       S_ROUTE_RESPOND_BY, S_ROUTE_NAMES_IN_TOPIC };
#define S_ROUTING_ROUTES 1 /* Routing.routes */

/* Bytes of a string field (tag, length, text) of len bytes. */
static size_t s_string_size(size_t len)
{
    return 1 + hub_varint_size(len) + len;
}

/* Writes a string field of len bytes at p; returns its bytes. */
static size_t s_put_string(uint8_t *p, unsigned field, const char *text, size_t len)
{
    size_t n = 0;
    p[n++] = (uint8_t)S_TAG_LEN(field);
    n += hub_varint_put(p + n, len);
    memcpy(p + n, text, len);
    return n + len;
}

/* A route's five strings (topic, name, department, kind, reason), with
 * their lengths: NULL ones protobuf-c leaves out of a proto2 message. */
typedef struct {
    const char *text[5];
    size_t len[5];
    int names_in_topic; /* department and kind left out (Route.names_in_topic) */
    size_t body;        /* bytes of the Route message */
} s_route_bytes_t;

/* 1 when topic is department "." kind and department holds no dot: the
 * two can then be read back from the topic alone. */
static int s_names_in_topic(const s_route_bytes_t *b)
{
    const char *topic = b->text[0], *department = b->text[2], *kind = b->text[3];
    size_t ld = b->len[2], lk = b->len[3];
    return topic && department && kind && ld && lk && b->len[0] == ld + 1 + lk && !memchr(department, '.', ld) &&
           memcmp(topic, department, ld) == 0 && topic[ld] == '.' && memcmp(topic + ld + 1, kind, lk) == 0;
}

static void s_route_measure(const Hub__Route *r, s_route_bytes_t *b)
{
    const char *text[5] = {r->topic, r->name, r->department, r->kind, r->reason};
    for (int i = 0; i < 5; i++) {
        b->text[i] = text[i];
        b->len[i] = text[i] ? strlen(text[i]) : 0;
    }
    b->names_in_topic = s_names_in_topic(b);
    if (b->names_in_topic) {
        b->text[2] = b->text[3] = NULL;
        b->len[2] = b->len[3] = 0;
    }
    b->body = b->names_in_topic ? 2 : 0;
    for (int i = 0; i < 5; i++)
        if (b->text[i])
            b->body += s_string_size(b->len[i]);
    for (size_t f = 0; f < r->n_fields; f++)
        b->body += s_string_size(strlen(r->fields[f]));
    if (r->has_respond_by_ms)
        b->body += 1 + hub_varint_size((uint64_t)r->respond_by_ms);
}

int hub_routing_pack(const Hub__Routing *routing, hub_buf_t *out)
{
    s_route_bytes_t bytes[16];
    /* protobuf-c keeps unknown fields as they came */
    if (routing->base.n_unknown_fields || routing->n_routes > sizeof bytes / sizeof bytes[0])
        return hub_message_pack(&routing->base, out);
    size_t total = 0;
    for (size_t i = 0; i < routing->n_routes; i++) {
        const Hub__Route *r = routing->routes[i];
        int plain = !r->base.n_unknown_fields && !r->has_names_in_topic;
        for (size_t f = 0; plain && f < r->n_fields; f++)
            plain = r->fields[f] != NULL;
        if (!plain)
            return hub_message_pack(&routing->base, out);
        s_route_measure(r, &bytes[i]);
        total += 1 + hub_varint_size(bytes[i].body) + bytes[i].body;
    }
    hub_buf_reset(out);
    if (total == 0)
        return 0; /* no routes: no bytes */
    int rc = hub_buf_reserve(out, total);
    if (rc < 0)
        return rc;
    uint8_t *p = out->data;
    for (size_t i = 0; i < routing->n_routes; i++) {
        const Hub__Route *r = routing->routes[i];
        const s_route_bytes_t *b = &bytes[i];
        *p++ = (uint8_t)S_TAG_LEN(S_ROUTING_ROUTES);
        p += hub_varint_put(p, b->body);
        for (int k = 0; k < 5; k++)
            if (b->text[k])
                p += s_put_string(p, S_ROUTE_TOPIC + (unsigned)k, b->text[k], b->len[k]);
        for (size_t f = 0; f < r->n_fields; f++)
            p += s_put_string(p, S_ROUTE_FIELDS, r->fields[f], strlen(r->fields[f]));
        if (r->has_respond_by_ms) {
            *p++ = (uint8_t)S_TAG_VARINT(S_ROUTE_RESPOND_BY);
            p += hub_varint_put(p, (uint64_t)r->respond_by_ms);
        }
        if (b->names_in_topic) {
            *p++ = (uint8_t)S_TAG_VARINT(S_ROUTE_NAMES_IN_TOPIC);
            *p++ = 1;
        }
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

int hub_frame_encode(Hub__Frame *frame, hub_buf_t *out)
{
    frame->has_version = 1;
    frame->version = HUB_PROTOCOL_VERSION;
    return hub_message_pack(&frame->base, out);
}

Hub__ErrorCode hub_error_code(int rc)
{
    switch (-rc) {
    case HUB_EMALFORMED:
        return HUB__ERROR_CODE__ERROR_CODE_MALFORMED;
    case HUB_EUNSUPPORTED:
        return HUB__ERROR_CODE__ERROR_CODE_UNSUPPORTED;
    case HUB_ETOOLARGE:
        return HUB__ERROR_CODE__ERROR_CODE_TOO_LARGE;
    case HUB_EINVALID:
        return HUB__ERROR_CODE__ERROR_CODE_INVALID;
    case HUB_EDENIED:
        return HUB__ERROR_CODE__ERROR_CODE_DENIED;
    case HUB_EUNAVAILABLE:
        return HUB__ERROR_CODE__ERROR_CODE_UNAVAILABLE;
    case HUB_EUNKNOWN:
        return HUB__ERROR_CODE__ERROR_CODE_UNKNOWN_SUBSCRIBER;
    default:
        return HUB__ERROR_CODE__ERROR_CODE_INTERNAL;
    }
}

#define S_FRAME_CORR 2 /* Frame.corr */
#define S_FRAME_ACK 17 /* Frame.ack */
#define S_ACK_NAME 1   /* Ack.name */
#define S_ACK_REFS 2   /* Ack.refs */
#define S_REF_SEQ 1    /* Ref.seq */
#define S_REF_SLOT 2   /* Ref.slot */

/* Bytes of one Ref's fields (both set). */
static size_t s_ref_len(const hub_ack_ref_t *r)
{
    return 1 + hub_varint_size(r->seq) + 1 + hub_varint_size(r->slot);
}

int hub_frame_encode_ack(uint64_t corr, const char *name, const hub_ack_ref_t *refs, size_t n, hub_buf_t *out)
{
    size_t name_len = name ? strlen(name) : 0;
    size_t ack_len = name ? s_string_size(name_len) : 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = s_ref_len(&refs[i]);
        ack_len += 1 + hub_varint_size(len) + len;
    }
    size_t total = 1 + hub_varint_size(HUB_PROTOCOL_VERSION) + 1 + hub_varint_size(corr) +
                   hub_varint_size(S_TAG_LEN(S_FRAME_ACK)) + hub_varint_size(ack_len) + ack_len;
    hub_buf_reset(out);
    int rc = hub_buf_reserve(out, total);
    if (rc < 0)
        return rc;
    uint8_t *p = out->data;
    p += hub_varint_put(p, S_TAG_VARINT(S_FRAME_VERSION));
    p += hub_varint_put(p, HUB_PROTOCOL_VERSION);
    p += hub_varint_put(p, S_TAG_VARINT(S_FRAME_CORR));
    p += hub_varint_put(p, corr);
    p += hub_varint_put(p, S_TAG_LEN(S_FRAME_ACK));
    p += hub_varint_put(p, ack_len);
    if (name)
        p += s_put_string(p, S_ACK_NAME, name, name_len);
    for (size_t i = 0; i < n; i++) {
        p += hub_varint_put(p, S_TAG_LEN(S_ACK_REFS));
        p += hub_varint_put(p, s_ref_len(&refs[i]));
        p += hub_varint_put(p, S_TAG_VARINT(S_REF_SEQ));
        p += hub_varint_put(p, refs[i].seq);
        p += hub_varint_put(p, S_TAG_VARINT(S_REF_SLOT));
        p += hub_varint_put(p, refs[i].slot);
    }
    out->len = (size_t)(p - out->data);
    assert(out->len == total);
    return 0;
}

int hub_frame_encode_error(uint64_t corr, int rc, const char *err, const char *id, hub_buf_t *out)
{
    Hub__Error error = HUB__ERROR__INIT;
    error.has_code = 1;
    error.code = hub_error_code(rc);
    error.message = (char *)(err && *err ? err : hub_strerror(rc));
    char field[64] = ""; /* a field name: a path like customer.tier */
    if (rc == -HUB_EINVALID && err) {
        size_t n = strcspn(err, ": ");
        if (n > 0 && n < sizeof field && err[n] == ':') {
            memcpy(field, err, n);
            field[n] = '\0';
            error.field = field;
        }
    }
    error.id = (char *)id;
    Hub__Frame frame = HUB__FRAME__INIT;
    frame.has_corr = corr != 0;
    frame.corr = corr;
    frame.body_case = HUB__FRAME__BODY_ERROR;
    frame.error = &error;
    return hub_frame_encode(&frame, out);
}

/* Notification's fields up to its event (hub.proto): varints 1, 2 and 9,
 * strings 3 to 8, 10 and 11. */
enum { S_NOTE_SEQ = 1, S_NOTE_SLOT, S_NOTE_TOPIC, S_NOTE_ROUTE, S_NOTE_REASON, S_NOTE_DEPARTMENT, S_NOTE_KIND,
       S_NOTE_RESPOND_BY, S_NOTE_ATTEMPT, S_NOTE_EVENT_ID, S_NOTE_RECEIVED_AT };

#define S_NOTE_STRINGS 8

/* The field numbers of a notification's strings, in field order. */
static const unsigned s_note_fields[S_NOTE_STRINGS] = {S_NOTE_TOPIC,      S_NOTE_ROUTE,      S_NOTE_REASON,
                                                       S_NOTE_DEPARTMENT, S_NOTE_KIND,       S_NOTE_RESPOND_BY,
                                                       S_NOTE_EVENT_ID,   S_NOTE_RECEIVED_AT};

/* The strings of a notification, in the order of s_note_fields. */
static void s_note_strings(const Hub__Notification *n, const char *text[S_NOTE_STRINGS])
{
    const char *all[S_NOTE_STRINGS] = {n->topic,      n->route,      n->reason,   n->department,
                                       n->kind,       n->respond_by, n->event_id, n->received_at};
    memcpy(text, all, sizeof all);
}

/* A notification measured for packing by hand (every delivery packs one,
 * and protobuf-c walks the descriptor of each field twice): its strings
 * with their lengths, so that measuring and writing take each strlen
 * once. A notification with unknown fields is left to protobuf-c. */
typedef struct {
    const char *text[S_NOTE_STRINGS]; /* in the order of s_note_fields */
    size_t len[S_NOTE_STRINGS];
    size_t size;                      /* bytes of it packed without its event */
} s_note_t;

static void s_note_measure(const Hub__Notification *n, s_note_t *m)
{
    if (n->base.n_unknown_fields) {
        m->size = protobuf_c_message_get_packed_size(&n->base);
        return;
    }
    s_note_strings(n, m->text);
    size_t size = 0;
    for (size_t i = 0; i < S_NOTE_STRINGS; i++)
        if (m->text[i]) {
            m->len[i] = strlen(m->text[i]);
            size += s_string_size(m->len[i]);
        }
    if (n->has_seq)
        size += 1 + hub_varint_size(n->seq);
    if (n->has_slot)
        size += 1 + hub_varint_size(n->slot);
    if (n->has_attempt)
        size += 1 + hub_varint_size(n->attempt);
    m->size = size;
}

/* Writes n without its event at p (m->size bytes, m from s_note_measure);
 * returns them. */
static size_t s_note_pack(const Hub__Notification *n, const s_note_t *m, uint8_t *p)
{
    if (n->base.n_unknown_fields)
        return protobuf_c_message_pack(&n->base, p);
    size_t at = 0, i = 0;
    if (n->has_seq) {
        p[at++] = (uint8_t)S_TAG_VARINT(S_NOTE_SEQ);
        at += hub_varint_put(p + at, n->seq);
    }
    if (n->has_slot) {
        p[at++] = (uint8_t)S_TAG_VARINT(S_NOTE_SLOT);
        at += hub_varint_put(p + at, n->slot);
    }
    for (; i < S_NOTE_STRINGS && s_note_fields[i] < S_NOTE_ATTEMPT; i++)
        if (m->text[i])
            at += s_put_string(p + at, s_note_fields[i], m->text[i], m->len[i]);
    if (n->has_attempt) {
        p[at++] = (uint8_t)S_TAG_VARINT(S_NOTE_ATTEMPT);
        at += hub_varint_put(p + at, n->attempt);
    }
    for (; i < S_NOTE_STRINGS; i++)
        if (m->text[i])
            at += s_put_string(p + at, s_note_fields[i], m->text[i], m->len[i]);
    return at;
}

/* Bytes of the notification measured in m with its event (when
 * has_event) spliced in, without the field tag and length that put it in
 * a Deliver. */
static size_t s_notification_len(const s_note_t *m, size_t event_len, int has_event)
{
    size_t len = m->size;
    if (has_event)
        len += hub_varint_size(S_TAG_LEN(S_NOTIFICATION_EVENT)) + hub_varint_size(event_len) + event_len;
    return len;
}

/* Appends field (tag, length, notification with its event) to out, which
 * has room for it (len from s_notification_len). */
static void s_put_notification(hub_buf_t *out, uint32_t field, const Hub__Notification *n, const s_note_t *m,
                               size_t len, const uint8_t *event, size_t event_len)
{
    hub_buf_append_varint(out, S_TAG_LEN(field));
    hub_buf_append_varint(out, len);
    out->len += s_note_pack(n, m, out->data + out->len);
    if (event) {
        hub_buf_append_varint(out, S_TAG_LEN(S_NOTIFICATION_EVENT));
        hub_buf_append_varint(out, event_len);
        hub_buf_append(out, event, event_len);
    }
}

/* Writes the frame's head and the Deliver's name at p: what comes before a
 * Deliver's notifications. deliver_len is the whole Deliver's length, name
 * included (from s_deliver_frame_len). Returns the bytes written. */
static size_t s_write_deliver_head(uint8_t *p, const char *name, size_t deliver_len)
{
    size_t n = 0;
    n += hub_varint_put(p + n, S_TAG_VARINT(S_FRAME_VERSION));
    n += hub_varint_put(p + n, HUB_PROTOCOL_VERSION);
    n += hub_varint_put(p + n, S_TAG_LEN(S_FRAME_DELIVER));
    n += hub_varint_put(p + n, deliver_len);
    if (name)
        n += s_put_string(p + n, S_DELIVER_NAME, name, strlen(name));
    return n;
}

/* Appends the same to out, which has room for it. */
static void s_put_deliver_head(hub_buf_t *out, const char *name, size_t deliver_len)
{
    out->len += s_write_deliver_head(out->data + out->len, name, deliver_len);
}

/* Bytes of a Deliver frame with name and body_len bytes of notifications,
 * and (deliver_len_p) of its Deliver. */
static size_t s_deliver_frame_len(const char *name, size_t body_len, size_t *deliver_len_p)
{
    size_t deliver_len = body_len;
    if (name) {
        size_t name_len = strlen(name);
        deliver_len += hub_varint_size(S_TAG_LEN(S_DELIVER_NAME)) + hub_varint_size(name_len) + name_len;
    }
    *deliver_len_p = deliver_len;
    return hub_varint_size(S_TAG_VARINT(S_FRAME_VERSION)) + hub_varint_size(HUB_PROTOCOL_VERSION) +
           hub_varint_size(S_TAG_LEN(S_FRAME_DELIVER)) + hub_varint_size(deliver_len) + deliver_len;
}

int hub_frame_encode_deliver(const char *name, Hub__Notification *n, const uint8_t *event, size_t event_len,
                             hub_buf_t *out)
{
    assert(n->event == NULL); /* the event comes packed, never both */
    hub_buf_reset(out);

    /* Sizes from the inside out, so that one reservation covers it all and
     * every length prefix is known before its bytes are written. */
    s_note_t m;
    s_note_measure(n, &m);
    size_t notification_len = s_notification_len(&m, event_len, event != NULL);
    size_t body_len = hub_varint_size(S_TAG_LEN(S_DELIVER_NOTIFICATION)) + hub_varint_size(notification_len) +
                      notification_len;
    size_t deliver_len;
    int rc = hub_buf_reserve(out, s_deliver_frame_len(name, body_len, &deliver_len));
    if (rc < 0)
        return rc;
    /* With the room reserved, the appends below cannot fail. */
    s_put_deliver_head(out, name, deliver_len);
    s_put_notification(out, S_DELIVER_NOTIFICATION, n, &m, notification_len, event, event_len);
    return 0;
}

/* Room kept in front of a batch's notifications for the frame's head: the
 * version, the Deliver's tag and length, and a subscriber name of up to
 * 63 bytes fit in it. */
#define S_HEAD_ROOM 96

int hub_deliver_batch_add(hub_buf_t *body, size_t index, Hub__Notification *n, const uint8_t *event,
                          size_t event_len)
{
    assert(n->event == NULL);
    uint32_t field = index == 0 ? S_DELIVER_NOTIFICATION : S_DELIVER_MORE;
    s_note_t m;
    s_note_measure(n, &m);
    size_t len = s_notification_len(&m, event_len, event != NULL);
    size_t need = hub_varint_size(S_TAG_LEN(field)) + hub_varint_size(len) + len;
    if (index == 0)
        hub_buf_reset(body);
    int rc = hub_buf_reserve(body, index == 0 ? S_HEAD_ROOM + need : need);
    if (rc < 0)
        return rc;
    if (index == 0)
        body->len = S_HEAD_ROOM;
    s_put_notification(body, field, n, &m, len, event, event_len);
    return 0;
}

int hub_deliver_batch_seal(const char *name, hub_buf_t *body, const uint8_t **frame, size_t *len)
{
    if (body->len <= S_HEAD_ROOM)
        return -EINVAL; /* nothing added: no frame to seal */
    size_t notes = body->len - S_HEAD_ROOM, deliver_len;
    size_t head = s_deliver_frame_len(name, notes, &deliver_len) - notes;
    if (head > S_HEAD_ROOM) {
        /* a name longer than the room allows: move the notifications up */
        int rc = hub_buf_reserve(body, head - S_HEAD_ROOM);
        if (rc < 0)
            return rc;
        memmove(body->data + head, body->data + S_HEAD_ROOM, notes);
        body->len = head + notes;
    }
    size_t at = (head > S_HEAD_ROOM ? head : S_HEAD_ROOM) - head;
    s_write_deliver_head(body->data + at, name, deliver_len);
    *frame = body->data + at;
    *len = head + notes;
    return 0;
}

const char *hub_frame_kind(const Hub__Frame *frame)
{
    if (!frame || frame->body_case == HUB__FRAME__BODY__NOT_SET)
        return "none";
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&hub__frame__descriptor, (unsigned)frame->body_case);
    return field ? field->name : "none";
}

/* ------------------------------------------------- stored routings */

void hub_notification_from_route(Hub__Notification *n, const hub_route_view_t *route, uint64_t seq, uint32_t slot,
                                 const char *event_id, const char *received_at, char respond_by[HUB_TIME_LEN])
{
    hub__notification__init(n);
    n->has_seq = 1;
    n->seq = seq;
    n->has_slot = 1;
    n->slot = slot;
    n->topic = (char *)route->topic;
    n->route = *route->name ? (char *)route->name : NULL;
    n->reason = *route->reason ? (char *)route->reason : NULL;
    n->department = *route->department ? (char *)route->department : NULL;
    n->kind = *route->kind ? (char *)route->kind : NULL;
    if (route->respond_by_ms > 0) {
        hub_time_format(route->respond_by_ms, respond_by);
        n->respond_by = respond_by;
    }
    n->event_id = (char *)event_id;
    n->received_at = (char *)received_at;
}

/* Reads a varint at *p (below end), moving *p past it. Returns 0 or -1.
 * Most are one byte: delivery reads a route's dozen of them per send. */
static int s_varint(const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    if (*p < end && **p < 0x80) {
        *value = *(*p)++;
        return 0;
    }
    size_t n = hub_varint_get(*p, end, value);
    *p += n;
    return n ? 0 : -1;
}

/* Skips the value of a field of wire type wt at *p. Returns 0 or -1. */
static int s_skip(const uint8_t **p, const uint8_t *end, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return s_varint(p, end, &v);
    case 1:
        if (end - *p < 8)
            return -1;
        *p += 8;
        return 0;
    case 2:
        if (s_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
            return -1;
        *p += v;
        return 0;
    case 5:
        if (end - *p < 4)
            return -1;
        *p += 4;
        return 0;
    default:
        return -1;
    }
}

/* Copies len bytes and a NUL into scratch. Returns the copy or NULL. */
static const char *s_copy_str(const uint8_t *data, size_t len, char *scratch, size_t cap, size_t *used)
{
    if (len >= cap - *used)
        return NULL;
    char *copy = scratch + *used;
    memcpy(copy, data, len);
    copy[len] = '\0';
    *used += len + 1;
    return copy;
}

/* Fills out from the bytes of one packed hub.Route. */
static int s_read_route(const uint8_t *p, const uint8_t *end, hub_route_view_t *out, char *scratch, size_t cap)
{
    size_t used = 0;
    /* not memset: fields[] is most of the view and only nfields count */
    out->topic = out->name = out->department = out->kind = out->reason = "";
    out->nfields = 0;
    out->respond_by_ms = 0;
    int names_in_topic = 0;
    while (p < end) {
        uint64_t key, n;
        if (s_varint(&p, end, &key) < 0 || (key >> 3) == 0)
            return -HUB_EMALFORMED;
        unsigned id = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        if ((id == S_ROUTE_RESPOND_BY || id == S_ROUTE_NAMES_IN_TOPIC) && wt == 0) {
            if (s_varint(&p, end, &n) < 0)
                return -HUB_EMALFORMED;
            if (id == S_ROUTE_RESPOND_BY)
                out->respond_by_ms = (int64_t)n;
            else
                names_in_topic = n != 0;
            continue;
        }
        if (id < 1 || id > 6 || wt != 2) {
            if (s_skip(&p, end, wt) < 0)
                return -HUB_EMALFORMED;
            continue;
        }
        if (s_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
            return -HUB_EMALFORMED;
        const char *text = s_copy_str(p, (size_t)n, scratch, cap, &used);
        p += n;
        if (!text)
            return -HUB_ETOOLARGE;
        switch (id) {
        case 1:
            out->topic = text;
            break;
        case 2:
            out->name = text;
            break;
        case 3:
            out->department = text;
            break;
        case 4:
            out->kind = text;
            break;
        case 5:
            out->reason = text;
            break;
        default:
            if (out->nfields == HUB_ROUTE_MAX_FIELDS)
                return -HUB_ETOOLARGE;
            out->fields[out->nfields++] = text;
            break;
        }
    }
    if (names_in_topic) { /* what the route left out, from its topic */
        const char *dot = strchr(out->topic, '.');
        if (!dot)
            return -HUB_EMALFORMED;
        size_t ld = (size_t)(dot - out->topic);
        if (!*out->department && !(out->department = s_copy_str((const uint8_t *)out->topic, ld, scratch, cap, &used)))
            return -HUB_ETOOLARGE;
        if (!*out->kind && !(out->kind = s_copy_str((const uint8_t *)dot + 1, strlen(dot + 1), scratch, cap, &used)))
            return -HUB_ETOOLARGE;
    }
    return 1;
}

int hub_routing_next(const uint8_t *packed, size_t len, size_t *pos, hub_route_bytes_t *route)
{
    if (*pos > len)
        return -HUB_EMALFORMED;
    const uint8_t *p = packed + *pos, *end = packed + len;
    while (p < end) {
        uint64_t key, n;
        if (s_varint(&p, end, &key) < 0 || (key >> 3) == 0)
            return -HUB_EMALFORMED;
        if (key != ((1u << 3) | 2)) { /* not a route: skip it */
            if (s_skip(&p, end, (unsigned)(key & 7)) < 0)
                return -HUB_EMALFORMED;
            continue;
        }
        if (s_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
            return -HUB_EMALFORMED;
        route->data = p;
        route->len = (size_t)n;
        *pos = (size_t)(p + n - packed);
        return 1;
    }
    *pos = len;
    return 0;
}

int hub_route_topic(const hub_route_bytes_t *route, char *topic, size_t cap)
{
    if (cap == 0)
        return -HUB_ETOOLARGE;
    const uint8_t *p = route->data, *end = route->data + route->len;
    topic[0] = '\0';
    while (p < end) {
        uint64_t key, n;
        if (s_varint(&p, end, &key) < 0 || (key >> 3) == 0)
            return -HUB_EMALFORMED;
        if (key != ((1u << 3) | 2)) { /* not the topic: skip it */
            if (s_skip(&p, end, (unsigned)(key & 7)) < 0)
                return -HUB_EMALFORMED;
            continue;
        }
        if (s_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
            return -HUB_EMALFORMED;
        if (n >= cap)
            return -HUB_ETOOLARGE;
        memcpy(topic, p, (size_t)n);
        topic[n] = '\0';
        p += n; /* a later topic field wins, as when the route is read whole */
    }
    return 1;
}

int hub_route_read(const hub_route_bytes_t *route, hub_route_view_t *out, char *scratch, size_t scratch_len)
{
    if (scratch_len == 0)
        return -HUB_ETOOLARGE;
    return s_read_route(route->data, route->data + route->len, out, scratch, scratch_len);
}

/* Finds route number slot of a packed hub.Routing. */
static int s_find_route(const uint8_t *packed, size_t len, uint32_t slot, hub_route_bytes_t *route)
{
    size_t pos = 0;
    int found;
    uint32_t index = 0;
    while ((found = hub_routing_next(packed, len, &pos, route)) == 1 && index++ != slot)
        ;
    return found;
}

int hub_routing_route(const uint8_t *packed, size_t len, uint32_t slot, hub_route_view_t *out, char *scratch,
                      size_t scratch_len)
{
    hub_route_bytes_t route;
    int found = s_find_route(packed, len, slot, &route);
    return found == 1 ? hub_route_read(&route, out, scratch, scratch_len) : found;
}
