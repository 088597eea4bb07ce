/*
 * outlet_retry - backoff, jitter and Retry-After (see outlet_retry.h).
 */
#include "outlet_retry.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void outlet_retry_defaults(outlet_retry_t *self)
{
    self->max_attempts = 5;
    self->initial_delay_ms = 500;
    self->max_delay_ms = 10 * 1000;
    self->max_elapsed_ms = 20 * 1000;
}

int64_t outlet_retry_backoff_ms(const outlet_retry_t *self, uint32_t failed, uint64_t rnd)
{
    int64_t cap = self->initial_delay_ms > 0 ? self->initial_delay_ms : 0;
    for (uint32_t i = 1; i < failed && cap < self->max_delay_ms; i++)
        cap *= 2;
    if (cap > self->max_delay_ms)
        cap = self->max_delay_ms;
    if (cap <= 0)
        return 0;
    return (int64_t)(rnd % ((uint64_t)cap + 1));
}

int outlet_retry_after_parse(const char *text, int64_t now_ms, int64_t *delay_ms)
{
    if (!text)
        return -1;
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'
                       || text[len - 1] == '\n'))
        len--;
    if (len == 0 || len > 64)
        return -1;
    char buf[65];
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (buf[0] >= '0' && buf[0] <= '9') {
        int64_t s = 0;
        for (const char *p = buf; *p; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            if (s > OUTLET_RETRY_AFTER_MAX / 1000)
                return -1;
            s = s * 10 + (*p - '0');
        }
        *delay_ms = s * 1000;
        return 0;
    }
    /* curl_getdate reads the three HTTP date forms of RFC 9110 */
    time_t when = curl_getdate(buf, NULL);
    if (when == (time_t)-1)
        return -1;
    int64_t ms = (int64_t)when * 1000 - now_ms;
    *delay_ms = ms > 0 ? ms : 0;
    return 0;
}

uint64_t outlet_retry_random(void)
{
    static uint64_t state;
    if (state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        if (state == 0)
            state = 0x9e3779b97f4a7c15u;
    }
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1du;
}
