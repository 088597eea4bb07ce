/*
 * deadletter - see deadletter.h for the names.
 */
#include "deadletter.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void hub_deadletter_id(const char *subscriber, uint64_t seq, uint32_t slot, char out[HUB_DEADLETTER_ID_LEN])
{
    snprintf(out, HUB_DEADLETTER_ID_LEN, "deadletter:%s:%" PRIu64 ":%" PRIu32, subscriber, seq, slot);
}

/* Reads decimal digits at *p up to stop (a character or '\0'), at most
 * max. Returns 0 and moves *p past them, or -1. */
static int s_number(const char **p, char stop, uint64_t max, uint64_t *value_p)
{
    const char *s = *p;
    uint64_t value = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (value > (max - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    if (*s != stop)
        return -1;
    *p = s;
    *value_p = value;
    return 0;
}

int hub_deadletter_parse_id(const char *id, char subscriber[HUB_DEADLETTER_SUBSCRIBER_LEN], uint64_t *seq_p,
                            uint32_t *slot_p)
{
    static const char prefix[] = "deadletter:";
    if (!id || strncmp(id, prefix, sizeof prefix - 1) != 0)
        return -1;
    const char *name = id + sizeof prefix - 1;
    const char *colon = strchr(name, ':');
    if (!colon || colon == name || (size_t)(colon - name) >= HUB_DEADLETTER_SUBSCRIBER_LEN)
        return -1;
    const char *p = colon + 1;
    uint64_t seq, slot;
    if (s_number(&p, ':', UINT64_MAX, &seq) != 0)
        return -1;
    p++;
    if (s_number(&p, '\0', UINT32_MAX, &slot) != 0)
        return -1;
    memcpy(subscriber, name, (size_t)(colon - name));
    subscriber[colon - name] = '\0';
    *seq_p = seq;
    *slot_p = (uint32_t)slot;
    return 0;
}

void hub_deadletter_reason(const char *subscriber, const char *why, const char *topic, uint32_t attempts, char *out,
                           size_t outlen)
{
    snprintf(out, outlen, "%s: %s (was %s, %" PRIu32 " attempt%s)", subscriber, why, topic && *topic ? topic : "?",
             attempts, attempts == 1 ? "" : "s");
}

void hub_deadletter_why(const char *reason, const char *subscriber, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    const char *why = reason ? reason : "";
    size_t n = strlen(why);
    size_t sub = subscriber ? strlen(subscriber) : 0;
    const char *was = NULL;
    /* the last " (was " closes what the subscriber said */
    for (const char *p = strstr(why, " (was "); p; p = strstr(p + 1, " (was "))
        was = p;
    if (sub > 0 && strncmp(why, subscriber, sub) == 0 && why[sub] == ':' && why[sub + 1] == ' ' && was &&
        was >= why + sub + 2 && n > 0 && why[n - 1] == ')') {
        why += sub + 2;
        n = (size_t)(was - why);
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, why, n);
    out[n] = '\0';
}

void hub_deadletter_redrive_id(uint64_t seq, char out[HUB_DEADLETTER_ID_LEN])
{
    snprintf(out, HUB_DEADLETTER_ID_LEN, "redrive:%" PRIu64, seq);
}
