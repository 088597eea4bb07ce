/*
 * test_journal - audit details as the broker builds them: valid JSON
 * objects whatever the values, numbers in decimal, and a pair that does
 * not fit left out whole.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "journal.h"

static void test_detail_empty(void)
{
    hub_detail_t d;
    hub_detail_init(&d);
    CHECK_STR(hub_detail_text(&d), "{}");
}

static void test_detail_values(void)
{
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_int(&d, "slot", 0);
    hub_detail_str(&d, "route", "to-engineering");
    hub_detail_str(&d, "skipped", NULL);
    hub_detail_int(&d, "late_ms", -1500);
    hub_detail_raw(&d, "topics", "[\"a.*\"]");
    hub_detail_int(&d, "max", INT64_MAX);
    hub_detail_int(&d, "min", INT64_MIN);
    CHECK_STR(hub_detail_text(&d), "{\"slot\":0,\"route\":\"to-engineering\",\"late_ms\":-1500,\"topics\":[\"a.*\"],"
                                   "\"max\":9223372036854775807,\"min\":-9223372036854775808}");
}

static void test_detail_escapes(void)
{
    hub_detail_t d;
    hub_detail_init(&d);
    hub_detail_str(&d, "say \"hi\"", "back\\slash\ttab\x7f");
    CHECK_STR(hub_detail_text(&d), "{\"say \\\"hi\\\"\":\"back\\\\slash\\u0009tab\\u007f\"}");
    /* escapes first, last and side by side; bytes above 0x7f go as they are */
    hub_detail_init(&d);
    hub_detail_str(&d, "k", "\"caf\xc3\xa9\n\x1f\\");
    CHECK_STR(hub_detail_text(&d), "{\"k\":\"\\\"caf\xc3\xa9\\u000a\\u001f\\\\\"}");
    hub_detail_init(&d);
    hub_detail_str(&d, "empty", "");
    CHECK_STR(hub_detail_text(&d), "{\"empty\":\"\"}");
}

/* Exactly as much as fits is taken; one byte more and the pair is left
 * out, and what was there stays. */
static void test_detail_fills_up(void)
{
    char value[HUB_DETAIL_LEN];
    hub_detail_t d;
    /* {"k":"<n bytes>"} is n + 8 bytes and a NUL */
    size_t n = HUB_DETAIL_LEN - 9;
    memset(value, 'v', n);
    value[n] = '\0';
    hub_detail_init(&d);
    hub_detail_str(&d, "k", value);
    CHECK_INT(strlen(hub_detail_text(&d)), HUB_DETAIL_LEN - 1);
    hub_detail_int(&d, "more", 1);
    CHECK_INT(strlen(hub_detail_text(&d)), HUB_DETAIL_LEN - 1);

    value[n] = 'v';
    value[n + 1] = '\0';
    hub_detail_init(&d);
    hub_detail_int(&d, "a", 1);
    hub_detail_str(&d, "k", value);
    CHECK_STR(hub_detail_text(&d), "{\"a\":1}");
    /* an escape that would not fit is not cut in half either */
    memset(value, '\x01', sizeof value);
    value[HUB_DETAIL_LEN / 6] = '\0'; /* six bytes each escaped: more than the room */
    hub_detail_str(&d, "e", value);
    CHECK_STR(hub_detail_text(&d), "{\"a\":1}");
}

static const check_case_t cases[] = {
    {"detail empty", test_detail_empty},
    {"detail values", test_detail_values},
    {"detail escapes", test_detail_escapes},
    {"detail fills up", test_detail_fills_up},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
