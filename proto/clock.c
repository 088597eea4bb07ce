/*
 * clock - time in milliseconds, RFC 3339 timestamps and durations.
 *
 * Calendar arithmetic is done here (proleptic Gregorian, days from
 * 1970-01-01) rather than with timegm/gmtime_r, so that parsing does not
 * depend on the process's time zone or locale and any int64 works.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hub.h"

int64_t hub_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hub_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hub_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int64_t s_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The civil date of a day count (H. Hinnant's civil_from_days). */
static void s_civil_from_days(int64_t z, int64_t *y_p, unsigned *m_p, unsigned *d_p)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *y_p = (int64_t)yoe + era * 400 + (m <= 2);
    *m_p = m;
    *d_p = d;
}

static int s_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned s_days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_is_leap(y) ? 29 : days[m - 1];
}

void hub_time_format(int64_t ms, char out[HUB_TIME_LEN])
{
    /* floor division, so that times before 1970 format correctly */
    int64_t secs = ms / 1000, milli = ms % 1000;
    if (milli < 0) {
        milli += 1000;
        secs -= 1;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int64_t y;
    unsigned m, d;
    s_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        /* years outside 0000-9999 do not fit RFC 3339; format wide, then cut */
        char wide[96];
        snprintf(wide, sizeof wide, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60), (int)milli);
        snprintf(out, HUB_TIME_LEN, "%.*s", HUB_TIME_LEN - 1, wide);
        return;
    }
    /* by hand: every delivery carries two of these */
    unsigned parts[7] = {(unsigned)y, m, d, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
                         (unsigned)milli};
    static const int widths[7] = {4, 2, 2, 2, 2, 2, 3};
    static const char seps[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    char *o = out;
    for (int i = 0; i < 7; i++) {
        for (int k = widths[i] - 1; k >= 0; k--) {
            o[k] = (char)('0' + parts[i] % 10);
            parts[i] /= 10;
        }
        o += widths[i];
        *o++ = seps[i];
    }
    *o = '\0';
}

/* Reads exactly n digits at *p into *value and advances. Returns 0 or -1. */
static int s_read_digits(const char **p, int n, unsigned *value)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *value = v;
    return 0;
}

int hub_time_parse(const char *text, int64_t *ms_p)
{
    if (!text)
        return -HUB_EINVALID;
    const char *p = text;
    unsigned year, month, day, hour, minute, second, milli = 0;

    /* full-date: YYYY-MM-DD */
    if (s_read_digits(&p, 4, &year) < 0 || *p++ != '-' || s_read_digits(&p, 2, &month) < 0 || *p++ != '-' ||
        s_read_digits(&p, 2, &day) < 0)
        return -HUB_EINVALID;
    if (month < 1 || month > 12 || day < 1 || day > s_days_in_month(year, month))
        return -HUB_EINVALID;

    /* "T" (RFC 3339 also allows "t" and, in its note, a space) */
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -HUB_EINVALID;
    p++;

    /* partial-time: HH:MM:SS[.frac] */
    if (s_read_digits(&p, 2, &hour) < 0 || *p++ != ':' || s_read_digits(&p, 2, &minute) < 0 || *p++ != ':' ||
        s_read_digits(&p, 2, &second) < 0)
        return -HUB_EINVALID;
    if (hour > 23 || minute > 59 || second > 60) /* 60: a leap second */
        return -HUB_EINVALID;
    if (*p == '.') {
        p++;
        int ndigits = 0;
        while (*p >= '0' && *p <= '9') {
            if (ndigits < 3)
                milli = milli * 10 + (unsigned)(*p - '0');
            ndigits++;
            p++;
        }
        if (ndigits == 0)
            return -HUB_EINVALID;
        for (int i = ndigits; i < 3; i++)
            milli *= 10;
    }

    /* time-offset: Z or +HH:MM / -HH:MM */
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        unsigned oh, om;
        if (s_read_digits(&p, 2, &oh) < 0 || *p++ != ':' || s_read_digits(&p, 2, &om) < 0)
            return -HUB_EINVALID;
        if (oh > 23 || om > 59)
            return -HUB_EINVALID;
        offset_min = sign * (int64_t)(oh * 60 + om);
    } else {
        return -HUB_EINVALID;
    }
    if (*p != '\0')
        return -HUB_EINVALID;

    int64_t days = s_days_from_civil(year, month, day);
    int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    *ms_p = secs * 1000 + milli;
    return 0;
}

int hub_duration_parse(const char *text, int64_t *ms_p, char *err, size_t errlen)
{
    static const char *const usage = "(use a positive number and one unit of s, m, h or d, e.g. \"4h\")";
    char quoted[40];
    if (!text || !*text) {
        if (err && errlen)
            snprintf(err, errlen, "empty duration %s", usage);
        return -HUB_EINVALID;
    }
    snprintf(quoted, sizeof quoted, "%.32s%s", text, strlen(text) > 32 ? "..." : "");
    for (char *q = quoted; *q; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            *q = '?';
    }

    const char *p = text;
    if (*p == '-') {
        if (err && errlen)
            snprintf(err, errlen, "duration \"%s\" is not positive %s", quoted, usage);
        return -HUB_EINVALID;
    }
    if (*p < '0' || *p > '9') {
        if (err && errlen)
            snprintf(err, errlen, "duration \"%s\" does not start with a number %s", quoted, usage);
        return -HUB_EINVALID;
    }
    int64_t value = 0;
    while (*p >= '0' && *p <= '9') {
        int digit = *p - '0';
        if (value > (INT64_MAX - digit) / 10) {
            if (err && errlen)
                snprintf(err, errlen, "duration \"%s\" is too large", quoted);
            return -HUB_EINVALID;
        }
        value = value * 10 + digit;
        p++;
    }
    int64_t unit_ms;
    switch (*p) {
    case 's':
        unit_ms = 1000;
        break;
    case 'm':
        unit_ms = 60 * 1000;
        break;
    case 'h':
        unit_ms = 3600 * 1000;
        break;
    case 'd':
        unit_ms = 86400 * 1000;
        break;
    case '\0':
        if (err && errlen)
            snprintf(err, errlen, "duration \"%s\" has no unit %s", quoted, usage);
        return -HUB_EINVALID;
    default:
        if (err && errlen)
            snprintf(err, errlen, "duration \"%s\" has an unknown unit %s", quoted, usage);
        return -HUB_EINVALID;
    }
    if (p[1] != '\0') {
        if (err && errlen)
            snprintf(err, errlen, "duration \"%s\" has text after its unit %s", quoted, usage);
        return -HUB_EINVALID;
    }
    if (value == 0) {
        if (err && errlen)
            snprintf(err, errlen, "duration \"%s\" is not positive %s", quoted, usage);
        return -HUB_EINVALID;
    }
    if (value > INT64_MAX / unit_ms) {
        if (err && errlen)
            snprintf(err, errlen, "duration \"%s\" is too large", quoted);
        return -HUB_EINVALID;
    }
    *ms_p = value * unit_ms;
    return 0;
}
