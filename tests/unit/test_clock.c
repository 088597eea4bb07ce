/*
 * test_clock - RFC 3339 timestamps both ways, calendar edges, and
 * durations with every way they are refused.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "hub.h"

#define S_2026_11_23_10H 1795428000000LL /* 2026-11-23T10:00:00Z in ms */

typedef struct {
    const char *name;   /* the case */
    const char *text;   /* a timestamp */
    int code;           /* expected return */
    int64_t ms;         /* expected value when code is 0 */
} s_time_t;

static void test_time_parse(void)
{
    static const s_time_t cases[] = {
        {"UTC", "2026-11-23T10:00:00Z", 0, S_2026_11_23_10H},
        {"lower-case t and z", "2026-11-23t10:00:00z", 0, S_2026_11_23_10H},
        {"space for T", "2026-11-23 10:00:00Z", 0, S_2026_11_23_10H},
        {"milliseconds", "2026-11-23T10:00:00.250Z", 0, S_2026_11_23_10H + 250},
        {"one fraction digit", "2026-11-23T10:00:00.5Z", 0, S_2026_11_23_10H + 500},
        {"microseconds cut to ms", "2026-11-23T10:00:00.123999Z", 0, S_2026_11_23_10H + 123},
        {"positive offset", "2026-11-23T12:00:00+02:00", 0, S_2026_11_23_10H},
        {"negative offset", "2026-11-23T04:30:00-05:30", 0, S_2026_11_23_10H},
        {"zero offset", "2026-11-23T10:00:00+00:00", 0, S_2026_11_23_10H},
        {"offset across midnight", "2026-11-24T00:30:00+14:30", 0, S_2026_11_23_10H},
        {"epoch", "1970-01-01T00:00:00Z", 0, 0},
        {"before the epoch", "1969-12-31T23:59:59Z", 0, -1000},
        {"year 1", "0001-01-01T00:00:00Z", 0, -62135596800000LL},
        {"year 9999", "9999-12-31T23:59:59Z", 0, 253402300799000LL},
        {"leap day 2024", "2024-02-29T00:00:00Z", 0, 1709164800000LL},
        {"leap day 2000", "2000-02-29T12:34:56Z", 0, 951827696000LL},
        {"leap second", "2016-12-31T23:59:60Z", 0, 1483228800000LL},
        {"no leap day 2026", "2026-02-29T00:00:00Z", -HUB_EINVALID, 0},
        {"no leap day 1900", "1900-02-29T00:00:00Z", -HUB_EINVALID, 0},
        {"no leap day 2100", "2100-02-29T00:00:00Z", -HUB_EINVALID, 0},
        {"April 31", "2026-04-31T00:00:00Z", -HUB_EINVALID, 0},
        {"month 13", "2026-13-01T00:00:00Z", -HUB_EINVALID, 0},
        {"month 0", "2026-00-01T00:00:00Z", -HUB_EINVALID, 0},
        {"day 0", "2026-11-00T00:00:00Z", -HUB_EINVALID, 0},
        {"hour 24", "2026-11-23T24:00:00Z", -HUB_EINVALID, 0},
        {"minute 60", "2026-11-23T10:60:00Z", -HUB_EINVALID, 0},
        {"second 61", "2026-11-23T10:00:61Z", -HUB_EINVALID, 0},
        {"no zone", "2026-11-23T10:00:00", -HUB_EINVALID, 0},
        {"date only", "2026-11-23", -HUB_EINVALID, 0},
        {"no seconds", "2026-11-23T10:00Z", -HUB_EINVALID, 0},
        {"one-digit month", "2026-1-23T10:00:00Z", -HUB_EINVALID, 0},
        {"empty fraction", "2026-11-23T10:00:00.Z", -HUB_EINVALID, 0},
        {"offset without colon", "2026-11-23T10:00:00+0200", -HUB_EINVALID, 0},
        {"offset hour 24", "2026-11-23T10:00:00+24:00", -HUB_EINVALID, 0},
        {"offset minute 60", "2026-11-23T10:00:00+01:60", -HUB_EINVALID, 0},
        {"trailing text", "2026-11-23T10:00:00Z ", -HUB_EINVALID, 0},
        {"words", "yesterday", -HUB_EINVALID, 0},
        {"empty", "", -HUB_EINVALID, 0},
        {"slashes", "2026/11/23T10:00:00Z", -HUB_EINVALID, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_time_t *c = &cases[i];
        check_case = c->name;
        int64_t ms = -42;
        CHECK_INT(hub_time_parse(c->text, &ms), c->code);
        if (c->code == 0)
            CHECK_INT(ms, c->ms);
        else
            CHECK_INT(ms, -42); /* untouched on failure */
    }
    check_case = "time parse";
    int64_t ms;
    CHECK_INT(hub_time_parse(NULL, &ms), -HUB_EINVALID);
}

static void test_time_format(void)
{
    char out[HUB_TIME_LEN];
    hub_time_format(0, out);
    CHECK_STR(out, "1970-01-01T00:00:00.000Z");
    hub_time_format(S_2026_11_23_10H + 7, out);
    CHECK_STR(out, "2026-11-23T10:00:00.007Z");
    hub_time_format(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999Z");
    hub_time_format(1709164800000LL + 86399999, out);
    CHECK_STR(out, "2024-02-29T23:59:59.999Z");
    hub_time_format(253402300799999LL, out);
    CHECK_STR(out, "9999-12-31T23:59:59.999Z");
    /* beyond RFC 3339's years: still terminated within HUB_TIME_LEN */
    hub_time_format(INT64_MAX, out);
    CHECK(strlen(out) < HUB_TIME_LEN);
    hub_time_format(INT64_MIN, out);
    CHECK(strlen(out) < HUB_TIME_LEN);
}

static void test_time_round_trip(void)
{
    static const int64_t values[] = {
        0, 1, 999, 1000, -1, -1001, S_2026_11_23_10H, 951827696123LL, 1709164800000LL,
        -62135596800000LL, 253402300799999LL, 4102444800000LL /* 2100-01-01 */,
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char out[HUB_TIME_LEN];
        int64_t back = 0;
        hub_time_format(values[i], out);
        CHECK_INT(hub_time_parse(out, &back), 0);
        CHECK_INT(back, values[i]);
    }
    /* every day of a leap year and a common year formats and parses back */
    for (int64_t day = 0; day < 2 * 366; day++) {
        int64_t ms = 1704067200000LL /* 2024-01-01 */ + day * 86400000LL + 45296789; /* 12:34:56.789 */
        char out[HUB_TIME_LEN];
        int64_t back = 0;
        hub_time_format(ms, out);
        if (hub_time_parse(out, &back) != 0 || back != ms) {
            CHECK_STR(out, "a time that parses back");
            break;
        }
    }
}

typedef struct {
    const char *name;   /* the case */
    const char *text;   /* a duration */
    int code;           /* expected return */
    int64_t ms;         /* expected value when code is 0 */
    const char *err;    /* expected text in err */
} s_duration_t;

static void test_duration_parse(void)
{
    static const s_duration_t cases[] = {
        {"seconds", "90s", 0, 90000, ""},
        {"minutes", "30m", 0, 1800000, ""},
        {"hours", "4h", 0, 14400000, ""},
        {"days", "2d", 0, 172800000, ""},
        {"leading zeros", "007s", 0, 7000, ""},
        {"largest days", "106751991167d", 0, 106751991167LL * 86400000, ""},
        {"empty", "", -HUB_EINVALID, 0, "empty duration (use a positive number"},
        {"negative", "-5s", -HUB_EINVALID, 0, "duration \"-5s\" is not positive"},
        {"zero", "0h", -HUB_EINVALID, 0, "duration \"0h\" is not positive"},
        {"no number", "h", -HUB_EINVALID, 0, "duration \"h\" does not start with a number"},
        {"leading space", " 4h", -HUB_EINVALID, 0, "does not start with a number"},
        {"no unit", "90", -HUB_EINVALID, 0, "duration \"90\" has no unit"},
        {"unknown unit", "5w", -HUB_EINVALID, 0, "duration \"5w\" has an unknown unit"},
        {"space before unit", "5 h", -HUB_EINVALID, 0, "has an unknown unit"},
        {"two units", "1h30m", -HUB_EINVALID, 0, "duration \"1h30m\" has text after its unit"},
        {"fraction", "1.5h", -HUB_EINVALID, 0, "has an unknown unit"},
        {"number too large", "99999999999999999999s", -HUB_EINVALID, 0, "is too large"},
        {"product too large", "106751991168d", -HUB_EINVALID, 0, "duration \"106751991168d\" is too large"},
        {"control characters quoted", "5\x01", -HUB_EINVALID, 0, "duration \"5?\" has an unknown unit"},
        {"long text cut", "1234567890123456789012345678901234567890x", -HUB_EINVALID, 0,
         "\"12345678901234567890123456789012...\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_duration_t *c = &cases[i];
        check_case = c->name;
        int64_t ms = -42;
        char err[HUB_ERR_LEN] = "";
        CHECK_INT(hub_duration_parse(c->text, &ms, err, sizeof err), c->code);
        if (c->code == 0) {
            CHECK_INT(ms, c->ms);
            CHECK_STR(err, "");
        } else {
            CHECK_INT(ms, -42);
            CHECK_HAS(err, c->err);
        }
    }
    check_case = "duration parse";
    int64_t ms;
    char err[HUB_ERR_LEN] = "";
    CHECK_INT(hub_duration_parse(NULL, &ms, err, sizeof err), -HUB_EINVALID);
    CHECK_HAS(err, "empty duration");
    /* err is optional */
    CHECK_INT(hub_duration_parse("5x", &ms, NULL, 0), -HUB_EINVALID);
    /* a short err is cut, not overrun */
    char small[8];
    memset(small, 'z', sizeof small);
    CHECK_INT(hub_duration_parse("5x", &ms, small, sizeof small), -HUB_EINVALID);
    CHECK_INT(strlen(small), sizeof small - 1);
}

static void test_clocks(void)
{
    int64_t now = hub_now_ms();
    CHECK(now > 1704067200000LL); /* after 2024-01-01 */
    int64_t a = hub_mono_ms(), b = hub_mono_ms();
    CHECK(a >= 0);
    CHECK(b >= a);
}

static const check_case_t cases[] = {
    {"time parse", test_time_parse},
    {"time format", test_time_format},
    {"time round trip", test_time_round_trip},
    {"duration parse", test_duration_parse},
    {"clocks", test_clocks},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
