/*
 * intake - POST /events and GET /healthz behind HTTP (rules in intake.h).
 */
#include "intake.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "sha256.h"

#define S_WAIT_BATCH 64 /* outcomes collected per hub_publish_wait */
#define S_ID_HEX 32     /* hex digits of a generated id's hash */

struct wh_intake {
    const wh_settings_t *settings; /* not owned */
    hub_client_t *client;          /* the one hub client (owned), NULL after a failed renewal */
};

/* One event of a request on its way. */
typedef struct {
    char *text;                    /* event JSON to publish (owned) */
    uint64_t token;                /* hub_publish_async's token; 0: not sent */
    int answered;                  /* 1: outcome holds the hub's answer */
    hub_publish_outcome_t outcome; /* the answer */
} s_item_t;

/* ------------------------------------------------------------- replies */

static void s_reply_json(wh_reply_t *reply, int status, json_t *body)
{
    reply->status = status;
    reply->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!reply->body) {
        reply->status = 500;
        reply->body = strdup("{\"error\":\"out of memory\"}");
    }
}

void wh_reply_error(wh_reply_t *reply, int status, const char *message)
{
    s_reply_json(reply, status, json_pack("{s:s}", "error", message));
}

/* 400-type reply naming the field and the event's index. */
static void s_reply_refused(wh_reply_t *reply, int status, const char *message, const char *field, size_t index,
                            json_t *accepted)
{
    json_t *body = json_pack("{s:s, s:s, s:I}", "error", message, "field", field, "index", (json_int_t)index);
    if (body && accepted)
        json_object_set(body, "accepted", accepted);
    s_reply_json(reply, status, body);
}

/* The field an error message names: its text up to ": " when that is a
 * dotted path, else "". */
static void s_field_of(const char *err, char field[WH_FIELD_LEN])
{
    field[0] = '\0';
    const char *colon = strstr(err, ": ");
    if (!colon || colon == err || (size_t)(colon - err) >= WH_FIELD_LEN)
        return;
    for (const char *p = err; p < colon; p++)
        if (*p == ' ' || *p == '"')
            return;
    memcpy(field, err, (size_t)(colon - err));
    field[colon - err] = '\0';
}

/* ------------------------------------------------------------ lifetime */

static hub_client_t *s_client_new(const wh_settings_t *settings, char err[HUB_ERR_LEN])
{
    hub_options_t opts = {
        .endpoint = settings->hub[0] ? settings->hub : NULL,
        .client_name = "hub-webhook-in",
        .timeout_ms = (int)settings->hub_timeout_ms,
    };
    hub_client_t *client = hub_client_new(&opts, err);
    if (client)
        hub_client_set_window(client, settings->max_events);
    return client;
}

wh_intake_t *wh_intake_new(const wh_settings_t *settings, char err[HUB_ERR_LEN])
{
    wh_intake_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    self->settings = settings;
    self->client = s_client_new(settings, err);
    if (!self->client) {
        free(self);
        return NULL;
    }
    return self;
}

void wh_intake_destroy(wh_intake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_client_destroy(&(*self_p)->client);
    free(*self_p);
    *self_p = NULL;
}

/* Rule 4: a fresh client, with nothing of an abandoned request pending. */
static void s_renew_client(wh_intake_t *self)
{
    char err[HUB_ERR_LEN] = "";
    hub_client_destroy(&self->client);
    self->client = s_client_new(self->settings, err);
    if (!self->client)
        hub_error("cannot create a new hub client: %s", err);
}

/* ------------------------------------------------------------- prepare */

/* Rule 3: "<source>-<hash of source, body and index>". */
static void s_make_id(const wh_source_t *src, const char *body, size_t len, size_t index, char *out, size_t size)
{
    hub_sha256_ctx_t ctx;
    uint8_t digest[HUB_SHA256_LEN];
    char hex[HUB_SHA256_HEX_LEN];
    char num[32];
    hub_sha256_init(&ctx);
    hub_sha256_update(&ctx, src->name, strlen(src->name) + 1);
    hub_sha256_update(&ctx, body, len);
    int n = snprintf(num, sizeof num, "%c%zu", '\0', index);
    hub_sha256_update(&ctx, num, (size_t)n);
    hub_sha256_final(&ctx, digest);
    hub_hex(digest, HUB_SHA256_LEN, hex);
    snprintf(out, size, "%s-%.*s", src->name, S_ID_HEX, hex);
}

/* Turns element 'index' of the request into event JSON text in item.
 * Returns 0, or fills reply (400) and returns -1. */
static int s_prepare(const wh_source_t *src, const json_t *element, const char *body, size_t len, size_t index,
                     s_item_t *item, wh_reply_t *reply)
{
    char err[HUB_ERR_LEN] = "";
    char field[WH_FIELD_LEN] = "";
    json_t *event = NULL;
    if (src->mapping) {
        int rc = wh_mapping_apply(src->mapping, element, &event, field, err);
        if (rc < 0) {
            s_reply_refused(reply, rc == -ENOMEM ? 500 : 400, err, field, index, NULL);
            return -1;
        }
    }
    else if (json_is_object(element)) {
        event = json_deep_copy(element);
    }
    else {
        s_reply_refused(reply, 400, "an event must be a JSON object", "", index, NULL);
        return -1;
    }
    if (!event) {
        wh_reply_error(reply, 500, "out of memory");
        return -1;
    }
    const json_t *source = json_object_get(event, "source");
    if (!source || json_is_null(source) || (json_is_string(source) && json_string_length(source) == 0))
        json_object_set_new(event, "source", json_string(src->name));
    const json_t *id = json_object_get(event, "id");
    if (!id || json_is_null(id) || (json_is_string(id) && json_string_length(id) == 0)) {
        char made[WH_NAME_LEN + S_ID_HEX + 2];
        s_make_id(src, body, len, index, made, sizeof made);
        json_object_set_new(event, "id", json_string(made));
    }
    Hub__Event *ev = NULL;
    int rc = hub_event_from_json_value(event, &ev, err);
    if (ev)
        hub__event__free_unpacked(ev, NULL);
    if (rc < 0) {
        json_decref(event);
        s_field_of(err, field);
        const char *from = src->mapping && field[0] ? wh_mapping_source_of(src->mapping, field) : NULL;
        if (from) {
            /* name what the sender sent, and what it became */
            char message[HUB_ERR_LEN];
            snprintf(message, sizeof message, "%s (mapped to %s", from, err);
            char *colon = strstr(message + strlen(from), ": ");
            if (colon && strlen(message) + 1 < sizeof message) {
                memmove(colon + 1, colon, strlen(colon) + 1);
                colon[0] = ')';
            }
            s_reply_refused(reply, 400, message, from, index, NULL);
        }
        else {
            s_reply_refused(reply, rc == -ENOMEM ? 500 : 400, err, field, index, NULL);
        }
        return -1;
    }
    item->text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    if (!item->text) {
        wh_reply_error(reply, 500, "out of memory");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- publish */

/* The item sent with token, by binary search (tokens grow with the index). */
static s_item_t *s_find(s_item_t *items, size_t sent, uint64_t token)
{
    size_t lo = 0, hi = sent;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (items[mid].token == token)
            return &items[mid];
        if (items[mid].token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < sent; i++) /* the corr counter wrapped: rare */
        if (items[i].token == token)
            return &items[i];
    return NULL;
}

/* HTTP status for a publish the hub (or libhub) refused. */
static int s_status_for(int rc)
{
    switch (rc) {
    case -HUB_EINVALID:
    case -HUB_EMALFORMED:
        return 400;
    case -HUB_ETOOLARGE:
        return 413;
    case -HUB_EDENIED:
        return 403;
    case -ENOMEM:
        return 500;
    default:
        return 502;
    }
}

/* Sends every item and collects the answers until all came or the hub
 * timeout passed. Returns how many were sent; *failed_rc and failed_err
 * tell why item 'sent' could not be (0 when all were). */
static size_t s_publish(wh_intake_t *self, s_item_t *items, size_t n, int *failed_rc, char failed_err[HUB_ERR_LEN])
{
    size_t sent = 0;
    *failed_rc = 0;
    for (; sent < n; sent++) {
        int rc = hub_publish_async(self->client, items[sent].text, &items[sent].token, failed_err);
        if (rc < 0) {
            *failed_rc = rc;
            break;
        }
    }
    int64_t deadline = hub_mono_ms() + self->settings->hub_timeout_ms;
    size_t answered = 0;
    while (answered < sent) {
        int64_t left = deadline - hub_mono_ms();
        if (left <= 0)
            break;
        hub_publish_outcome_t out[S_WAIT_BATCH];
        int got = hub_publish_wait(self->client, out, S_WAIT_BATCH, (int)left);
        if (got < 0)
            break;
        for (int i = 0; i < got; i++) {
            s_item_t *item = s_find(items, sent, out[i].token);
            if (item && !item->answered) {
                item->outcome = out[i];
                item->answered = 1;
                answered++;
            }
        }
    }
    return sent;
}

static json_t *s_accepted_entry(const s_item_t *item, size_t index, int with_index)
{
    const hub_publish_result_t *r = &item->outcome.result;
    json_t *entry = json_pack("{s:s, s:I, s:b, s:I}", "id", r->id, "seq", (json_int_t)r->seq, "duplicate",
                              r->duplicate, "notifications", (json_int_t)r->notifications);
    if (entry && with_index)
        json_object_set_new(entry, "index", json_integer((json_int_t)index));
    return entry;
}

/* ------------------------------------------------------------ requests */

void wh_intake_post(wh_intake_t *self, const wh_source_t *src, const char *body, size_t len, wh_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
    json_error_t jerr;
    memset(&jerr, 0, sizeof jerr);
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!doc) {
        char message[HUB_ERR_LEN];
        snprintf(message, sizeof message, "body: not JSON: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        s_reply_refused(reply, 400, message, "", 0, NULL);
        hub_warn("%s: 400 %s", src->name, message);
        return;
    }
    size_t n = json_is_array(doc) ? json_array_size(doc) : 1;
    if (n == 0 || n > self->settings->max_events) {
        char message[HUB_ERR_LEN];
        if (n == 0)
            snprintf(message, sizeof message, "body: an empty list: nothing to publish");
        else
            snprintf(message, sizeof message, "body: %zu events, more than the limit of %zu in one request", n,
                     self->settings->max_events);
        wh_reply_error(reply, n == 0 ? 400 : 413, message);
        hub_warn("%s: %d %s", src->name, reply->status, message);
        json_decref(doc);
        return;
    }
    s_item_t *items = calloc(n, sizeof *items);
    if (!items) {
        wh_reply_error(reply, 500, "out of memory");
        json_decref(doc);
        return;
    }
    /* rule 1: all of them first */
    size_t prepared = 0;
    for (; prepared < n; prepared++) {
        const json_t *element = json_is_array(doc) ? json_array_get(doc, prepared) : doc;
        if (s_prepare(src, element, body, len, prepared, &items[prepared], reply) < 0)
            break;
    }
    json_decref(doc);
    if (prepared < n) {
        hub_warn("%s: %d %s", src->name, reply->status, reply->body ? reply->body : "");
        goto done;
    }
    if (!self->client)
        s_renew_client(self);
    if (!self->client) {
        wh_reply_error(reply, 503, "the hub client could not be created: see the log");
        reply->retry_after_s = (int)((self->settings->retry_after_ms + 999) / 1000);
        goto done;
    }

    int failed_rc = 0;
    char failed_err[HUB_ERR_LEN] = "";
    size_t sent = s_publish(self, items, n, &failed_rc, failed_err);
    size_t answered = 0, refused = n;
    for (size_t i = 0; i < sent; i++) {
        answered += (size_t)items[i].answered;
        if (items[i].answered && items[i].outcome.status != 0 && refused == n)
            refused = i;
    }
    if (answered < sent) {
        /* rule 4 */
        char message[HUB_ERR_LEN];
        snprintf(message, sizeof message,
                 "the hub did not acknowledge %zu of %zu events within %" PRId64 " ms: send the same request again",
                 sent - answered, n, self->settings->hub_timeout_ms);
        s_reply_json(reply, 503, json_pack("{s:s, s:I}", "error", message, "unacknowledged", (json_int_t)(sent - answered)));
        reply->retry_after_s = (int)((self->settings->retry_after_ms + 999) / 1000);
        hub_warn("%s: 503 %s", src->name, message);
        s_renew_client(self);
        goto done;
    }
    json_t *accepted = json_array();
    int partial = refused < n || failed_rc < 0;
    for (size_t i = 0; accepted && i < sent; i++)
        if (items[i].outcome.status == 0)
            json_array_append_new(accepted, s_accepted_entry(&items[i], i, partial));
    if (!accepted) {
        wh_reply_error(reply, 500, "out of memory");
        goto done;
    }
    if (refused < n || failed_rc < 0) {
        size_t index = refused < n ? refused : sent;
        int rc = refused < n ? items[refused].outcome.status : failed_rc;
        const char *why = refused < n ? items[refused].outcome.err : failed_err;
        char field[WH_FIELD_LEN];
        s_field_of(why, field);
        s_reply_refused(reply, s_status_for(rc), why, field, index, accepted);
        hub_warn("%s: %d event %zu: %s (%zu of %zu stored)", src->name, reply->status, index, why,
                 json_array_size(accepted), n);
    }
    else {
        s_reply_json(reply, 202, json_pack("{s:O}", "accepted", accepted));
        hub_info("%s: 202, %zu event%s stored (seq %" PRIu64 "%s)", src->name, n, n == 1 ? "" : "s",
                 items[0].outcome.result.seq, n > 1 ? "..." : "");
    }
    json_decref(accepted);
done:
    for (size_t i = 0; i < n; i++)
        free(items[i].text);
    free(items);
}

void wh_intake_health(wh_intake_t *self, wh_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
    if (!self->client)
        s_renew_client(self);
    int rc = self->client ? hub_client_ping(self->client, (int)self->settings->hub_timeout_ms) : -ENOMEM;
    if (rc == 0) {
        s_reply_json(reply, 200, json_pack("{s:s, s:s}", "status", "ok", "hub", "reachable"));
        return;
    }
    char message[HUB_ERR_LEN];
    if (rc == -ETIMEDOUT)
        snprintf(message, sizeof message, "no answer from the hub at %s within %" PRId64 " ms",
                 hub_client_endpoint(self->client), self->settings->hub_timeout_ms);
    else
        snprintf(message, sizeof message, "%s", hub_strerror(rc));
    s_reply_json(reply, 503, json_pack("{s:s, s:s, s:s}", "status", "degraded", "hub", "unreachable", "error", message));
    reply->retry_after_s = (int)((self->settings->retry_after_ms + 999) / 1000);
}
