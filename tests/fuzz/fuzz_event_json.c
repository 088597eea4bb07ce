/*
 * fuzz_event_json - the JSON event parser publishers feed (hubctl publish,
 * the webhook adapter), and the round trips an accepted event goes through.
 *
 * Contracts checked on every input:
 *   1. hub_event_from_json returns 0, -HUB_EMALFORMED, -HUB_EINVALID or
 *      -ENOMEM; on failure *event_p is NULL and err holds a message.
 *   2. An accepted event passes hub_event_validate.
 *   3. Packed, unpacked and packed again, it gives the same bytes, and the
 *      unpacked copy still validates.
 *   4. Printed as JSON and read back, it is the same event (same packed
 *      bytes, an enum set to its zero value counting as unset, as JSON
 *      leaves it out) and prints the same text.
 *   5. Its packed bytes redact cleanly and what is kept unpacks.
 *   6. Whatever path reads it (the flat reader, the fast jansson values,
 *      jansson itself), the answer is jansson's: the same code, the same
 *      message, the same event.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz.h"
#include "json.h"
#include "redact.h"

/* Packs ev into out; 0 or -ENOMEM. */
static int s_pack(const Hub__Event *ev, hub_buf_t *out)
{
    return hub_message_pack(&ev->base, out);
}

static void s_check_pack(const hub_buf_t *packed)
{
    char err[HUB_ERR_LEN] = "";
    Hub__Event *copy = hub__event__unpack(NULL, packed->len, packed->data);
    FUZZ_CHECK(copy != NULL, "a packed event unpacks");
    FUZZ_CHECK(hub_event_validate(copy, err) == 0, "an unpacked accepted event still validates");
    hub_buf_t again = HUB_BUF_INIT;
    if (s_pack(copy, &again) == 0)
        FUZZ_CHECK(again.len == packed->len && memcmp(again.data, packed->data, again.len) == 0,
                   "pack(unpack(pack(event))) is pack(event)");
    hub_buf_fini(&again);
    hub__event__free_unpacked(copy, NULL);
}

static void s_check_json(const Hub__Event *ev, const hub_buf_t *packed)
{
    char err[HUB_ERR_LEN] = "";
    char *text = hub_message_to_json_text(&ev->base);
    if (!text)
        return;
    Hub__Event *back = NULL;
    int rc = hub_event_from_json(text, strlen(text), &back, err);
    if (rc != 0 && rc != -ENOMEM)
        fprintf(stderr, "printed: %s\nerror: %s\n", text, err);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "an accepted event reads back from the JSON it prints");
    if (back) {
        /* JSON leaves out an enum's zero value ("unspecified"), which the
         * parser accepts and keeps as set: compare with those unset. */
        Hub__Event *norm = hub__event__unpack(NULL, packed->len, packed->data);
        FUZZ_CHECK(norm != NULL, "a packed event unpacks");
        if (norm->has_severity && norm->severity == 0)
            norm->has_severity = 0;
        if (norm->has_status && norm->status == 0)
            norm->has_status = 0;
        hub_buf_t again = HUB_BUF_INIT, expect = HUB_BUF_INIT;
        if (s_pack(back, &again) == 0 && s_pack(norm, &expect) == 0)
            FUZZ_CHECK(again.len == expect.len && memcmp(again.data, expect.data, again.len) == 0,
                       "the event read back from its JSON packs the same bytes");
        hub_buf_fini(&again);
        hub_buf_fini(&expect);
        hub__event__free_unpacked(norm, NULL);
        char *text2 = hub_message_to_json_text(&back->base);
        if (text2)
            FUZZ_CHECK(strcmp(text, text2) == 0, "the event read back prints the same JSON");
        free(text2);
        hub__event__free_unpacked(back, NULL);
    }
    free(text);
}

static void s_check_redact(const hub_buf_t *packed)
{
    static const char *const keep[] = {"case_id", "customer", "type", "severity", "subject", "attributes"};
    hub_buf_t out = HUB_BUF_INIT;
    int rc = hub_redact(&hub__event__descriptor, packed->data, packed->len, keep, sizeof keep / sizeof keep[0], &out);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "an accepted event's bytes redact");
    if (rc == 0) {
        Hub__Event *r = hub__event__unpack(NULL, out.len, out.data);
        FUZZ_CHECK(r != NULL, "a redacted event unpacks");
        FUZZ_CHECK(!r->body && !r->product && !r->id && r->n_tags == 0, "fields not named are gone");
        hub__event__free_unpacked(r, NULL);
    }
    hub_buf_fini(&out);
}

/* Contract 6: reads data with jansson and compares with rc, err, ev. */
static void s_check_jansson(const uint8_t *data, size_t size, int rc, const char *err, const Hub__Event *ev)
{
    json_error_t jerr;
    json_t *value = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!value) {
        FUZZ_CHECK(rc == -HUB_EMALFORMED || rc == -ENOMEM, "what jansson cannot read is malformed");
        return;
    }
    char err2[HUB_ERR_LEN] = "";
    Hub__Event *ev2 = NULL;
    int rc2 = hub_event_from_json_value(value, &ev2, err2);
    json_decref(value);
    if (rc2 != -ENOMEM && rc != -ENOMEM) {
        FUZZ_CHECK(rc == rc2, "the text is read as jansson reads it");
        if (rc < 0 && rc == rc2)
            FUZZ_CHECK(strcmp(err, err2) == 0, "a refusal says what jansson's reading says");
        hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
        if (ev && ev2 && s_pack(ev, &a) == 0 && s_pack(ev2, &b) == 0)
            FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0, "the same event as jansson's reading");
        hub_buf_fini(&a);
        hub_buf_fini(&b);
    }
    hub__event__free_unpacked(ev2, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[HUB_ERR_LEN] = "";
    static Hub__Event sentinel = HUB__EVENT__INIT;
    Hub__Event *ev = &sentinel; /* hub_event_from_json must overwrite it */
    int rc = hub_event_from_json((const char *)data, size, &ev, err);
    FUZZ_CHECK(rc == 0 || rc == -HUB_EMALFORMED || rc == -HUB_EINVALID || rc == -ENOMEM,
               "hub_event_from_json returns a documented code");
    FUZZ_CHECK((rc == 0) == (ev != NULL), "*event_p is set exactly on success");
    s_check_jansson(data, size, rc, err, rc == 0 ? ev : NULL);
    if (rc < 0) {
        FUZZ_CHECK(fuzz_err_ok(err, sizeof err), "a refused event has a reason");
        return 0;
    }
    FUZZ_CHECK(hub_event_validate(ev, err) == 0, "an accepted event validates");
    FUZZ_CHECK(ev->type && *ev->type, "an accepted event has a type");

    hub_buf_t packed = HUB_BUF_INIT;
    if (s_pack(ev, &packed) == 0) {
        s_check_pack(&packed);
        s_check_json(ev, &packed);
        s_check_redact(&packed);
    }
    hub_buf_fini(&packed);
    hub__event__free_unpacked(ev, NULL);
    return 0;
}
