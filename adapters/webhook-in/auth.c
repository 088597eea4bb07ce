/*
 * auth - bearer tokens and body signatures (rules in auth.h).
 */
#include "auth.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "sha256.h"

int wh_auth_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    uint8_t da[HUB_SHA256_LEN], db[HUB_SHA256_LEN];
    hub_sha256(a, alen, da);
    hub_sha256(b, blen, db);
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < HUB_SHA256_LEN; i++)
        diff |= (uint8_t)(da[i] ^ db[i]);
    return diff == 0;
}

const wh_source_t *wh_auth_bearer(const wh_settings_t *settings, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen(token);
    while (len > 0 && token[len - 1] == ' ')
        len--;
    const wh_source_t *found = NULL;
    for (size_t i = 0; i < settings->nsources; i++) {
        const wh_source_t *src = &settings->sources[i];
        if (src->token && wh_auth_equal(token, len, src->token, strlen(src->token)) && !found)
            found = src; /* rule 2: go on with the others */
    }
    return found;
}

int wh_auth_has_signature(const wh_settings_t *settings, wh_header_fn header, void *arg)
{
    for (size_t i = 0; i < settings->nsources; i++)
        if (settings->sources[i].secret && header(settings->sources[i].header, arg))
            return 1;
    return 0;
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a signature header value (rule 3). Returns 0 or -1. */
static int s_parse_signature(const char *value, uint8_t out[HUB_SHA256_LEN])
{
    if (strncasecmp(value, "sha256=", 7) == 0)
        value += 7;
    if (strlen(value) != 2 * HUB_SHA256_LEN)
        return -1;
    for (size_t i = 0; i < HUB_SHA256_LEN; i++) {
        int hi = s_hexval(value[2 * i]), lo = s_hexval(value[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

const wh_source_t *wh_auth_signature(const wh_settings_t *settings, wh_header_fn header, void *arg, const void *body,
                                     size_t len)
{
    const wh_source_t *found = NULL;
    for (size_t i = 0; i < settings->nsources; i++) {
        const wh_source_t *src = &settings->sources[i];
        const char *value = src->secret ? header(src->header, arg) : NULL;
        uint8_t given[HUB_SHA256_LEN];
        if (!value || s_parse_signature(value, given) < 0)
            continue;
        uint8_t expected[HUB_SHA256_LEN];
        hub_hmac_sha256(src->secret, src->secret_len, body, len, expected);
        if (wh_auth_equal(given, sizeof given, expected, sizeof expected) && !found)
            found = src;
    }
    return found;
}
