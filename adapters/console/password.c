/*
 * password - PBKDF2-HMAC-SHA256 hashes of console passwords (rules in
 * password.h).
 */
#include "password.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "sha256.h"

#define S_PREFIX "pbkdf2-sha256$"
#define S_BLOCK 64 /* SHA-256 block size in bytes */

/* HMAC-SHA256 with the key's pads absorbed once: PBKDF2 runs the same key
 * hundreds of thousands of times, and starting each HMAC from these two
 * states halves the work of hub_hmac_sha256 (which gives the same bytes:
 * the unit test compares them). */
typedef struct {
    hub_sha256_ctx_t inner; /* after (key ^ ipad) */
    hub_sha256_ctx_t outer; /* after (key ^ opad) */
} s_hmac_t;

static void s_hmac_init(s_hmac_t *self, const void *key, size_t keylen)
{
    uint8_t block[S_BLOCK] = {0};
    if (keylen > S_BLOCK)
        hub_sha256(key, keylen, block);
    else if (keylen > 0)
        memcpy(block, key, keylen);
    uint8_t pad[S_BLOCK];
    for (size_t i = 0; i < S_BLOCK; i++)
        pad[i] = (uint8_t)(block[i] ^ 0x36);
    hub_sha256_init(&self->inner);
    hub_sha256_update(&self->inner, pad, sizeof pad);
    for (size_t i = 0; i < S_BLOCK; i++)
        pad[i] = (uint8_t)(block[i] ^ 0x5c);
    hub_sha256_init(&self->outer);
    hub_sha256_update(&self->outer, pad, sizeof pad);
    memset(block, 0, sizeof block);
    memset(pad, 0, sizeof pad);
}

/* HMAC of two pieces of data (b may be NULL). */
static void s_hmac(const s_hmac_t *self, const void *a, size_t alen, const void *b, size_t blen,
                   uint8_t out[HUB_SHA256_LEN])
{
    hub_sha256_ctx_t ctx = self->inner;
    hub_sha256_update(&ctx, a, alen);
    if (b)
        hub_sha256_update(&ctx, b, blen);
    uint8_t inner[HUB_SHA256_LEN];
    hub_sha256_final(&ctx, inner);
    ctx = self->outer;
    hub_sha256_update(&ctx, inner, sizeof inner);
    hub_sha256_final(&ctx, out);
}

void cs_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
                      uint32_t iterations, uint8_t *out, size_t outlen)
{
    s_hmac_t mac;
    s_hmac_init(&mac, password, password_len);
    for (uint32_t block = 1; outlen > 0; block++) {
        uint8_t index[4] = {(uint8_t)(block >> 24), (uint8_t)(block >> 16), (uint8_t)(block >> 8), (uint8_t)block};
        uint8_t u[HUB_SHA256_LEN], t[HUB_SHA256_LEN];
        s_hmac(&mac, salt, salt_len, index, sizeof index, u);
        memcpy(t, u, sizeof t);
        for (uint32_t i = 1; i < iterations; i++) {
            s_hmac(&mac, u, sizeof u, NULL, 0, u);
            for (size_t k = 0; k < sizeof t; k++)
                t[k] ^= u[k];
        }
        size_t n = outlen < sizeof t ? outlen : sizeof t;
        memcpy(out, t, n);
        out += n;
        outlen -= n;
        memset(u, 0, sizeof u);
        memset(t, 0, sizeof t);
    }
    memset(&mac, 0, sizeof mac);
}

/* ------------------------------------------------------------- random */

int cs_random_bytes(void *buf, size_t len)
{
    return hub_random_bytes(buf, len);
}

/* ------------------------------------------------------------- base64 */

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void cs_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = s_b64[(v >> 18) & 63];
        out[o++] = s_b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? s_b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? s_b64[v & 63] : '=';
    }
    out[o] = '\0';
}

static int s_b64_value(char c)
{
    const char *p = c ? strchr(s_b64, c) : NULL;
    return p ? (int)(p - s_b64) : -1;
}

int cs_base64_decode(const char *text, uint8_t *out, size_t max)
{
    size_t len = strlen(text);
    if (len % 4 != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            char c = text[i + (size_t)k];
            v[k] = c == '=' ? -2 : s_b64_value(c);
        }
        /* '=' only at the end: "xx==" or "xxx=" */
        if (v[0] < 0 || v[1] < 0 || v[2] == -1 || v[3] == -1 || (!last && (v[2] < 0 || v[3] < 0))
            || (v[2] == -2 && v[3] != -2))
            return -1;
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6
                        | (uint32_t)(v[3] < 0 ? 0 : v[3]);
        size_t take = v[2] < 0 ? 1 : v[3] < 0 ? 2 : 3;
        if (n + take > max)
            return -1;
        out[n++] = (uint8_t)(bits >> 16);
        if (take > 1)
            out[n++] = (uint8_t)(bits >> 8);
        if (take > 2)
            out[n++] = (uint8_t)bits;
    }
    return (int)n;
}

/* ------------------------------------------------------------- hashes */

int cs_password_hash(const char *password, uint32_t iterations, char out[CS_PASSWORD_TEXT_LEN],
                     char err[HUB_ERR_LEN])
{
    size_t len = strlen(password);
    if (len == 0 || len > CS_PASSWORD_MAX) {
        snprintf(err, HUB_ERR_LEN, "password: must be 1 to %d bytes long", CS_PASSWORD_MAX);
        return -HUB_EINVALID;
    }
    if (iterations < CS_PASSWORD_MIN_ITERATIONS || iterations > CS_PASSWORD_MAX_ITERATIONS) {
        snprintf(err, HUB_ERR_LEN, "iterations: must be from %u to %u", CS_PASSWORD_MIN_ITERATIONS,
                 CS_PASSWORD_MAX_ITERATIONS);
        return -HUB_EINVALID;
    }
    cs_password_t h = {.iterations = iterations};
    if (cs_random_bytes(h.salt, sizeof h.salt) < 0) {
        snprintf(err, HUB_ERR_LEN, "no random bytes from the kernel for the salt");
        return -EIO;
    }
    cs_pbkdf2_sha256(password, len, h.salt, sizeof h.salt, iterations, h.hash, sizeof h.hash);
    char salt[4 * ((CS_PASSWORD_SALT_LEN + 2) / 3) + 1];
    char hash[4 * ((CS_PASSWORD_HASH_LEN + 2) / 3) + 1];
    cs_base64_encode(h.salt, sizeof h.salt, salt);
    cs_base64_encode(h.hash, sizeof h.hash, hash);
    snprintf(out, CS_PASSWORD_TEXT_LEN, S_PREFIX "%u$%s$%s", iterations, salt, hash);
    memset(&h, 0, sizeof h);
    return 0;
}

int cs_password_parse(const char *text, cs_password_t *hash, char err[HUB_ERR_LEN])
{
    memset(hash, 0, sizeof *hash);
    if (strncmp(text, S_PREFIX, strlen(S_PREFIX)) != 0) {
        snprintf(err, HUB_ERR_LEN, "not a password hash: it must start with \"" S_PREFIX
                                   "\" (make one with: hub-console passwd)");
        return -HUB_EINVALID;
    }
    const char *p = text + strlen(S_PREFIX);
    size_t digits = strspn(p, "0123456789");
    unsigned long long iterations = 0;
    if (digits > 0 && digits <= 9 && p[digits] == '$')
        iterations = strtoull(p, NULL, 10);
    if (iterations < CS_PASSWORD_MIN_ITERATIONS || iterations > CS_PASSWORD_MAX_ITERATIONS) {
        snprintf(err, HUB_ERR_LEN, "password hash: the iterations must be a number from %u to %u",
                 CS_PASSWORD_MIN_ITERATIONS, CS_PASSWORD_MAX_ITERATIONS);
        return -HUB_EINVALID;
    }
    hash->iterations = (uint32_t)iterations;
    p += digits + 1;
    const char *dollar = strchr(p, '$');
    char salt[64];
    if (!dollar || (size_t)(dollar - p) >= sizeof salt) {
        snprintf(err, HUB_ERR_LEN, "password hash: expected pbkdf2-sha256$ITERATIONS$SALT$HASH");
        return -HUB_EINVALID;
    }
    memcpy(salt, p, (size_t)(dollar - p));
    salt[dollar - p] = '\0';
    if (cs_base64_decode(salt, hash->salt, sizeof hash->salt) != CS_PASSWORD_SALT_LEN) {
        snprintf(err, HUB_ERR_LEN, "password hash: the salt must be %d bytes in base64", CS_PASSWORD_SALT_LEN);
        return -HUB_EINVALID;
    }
    if (cs_base64_decode(dollar + 1, hash->hash, sizeof hash->hash) != CS_PASSWORD_HASH_LEN) {
        snprintf(err, HUB_ERR_LEN, "password hash: the hash must be %d bytes in base64", CS_PASSWORD_HASH_LEN);
        return -HUB_EINVALID;
    }
    return 0;
}

int cs_password_check(const cs_password_t *hash, const char *password, size_t len)
{
    int too_long = len > CS_PASSWORD_MAX;
    uint8_t got[CS_PASSWORD_HASH_LEN];
    /* rule 3: an over-long password costs the same as any other, and fails */
    cs_pbkdf2_sha256(password, too_long ? 0 : len, hash->salt, sizeof hash->salt, hash->iterations, got, sizeof got);
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < sizeof got; i++)
        diff |= (uint8_t)(got[i] ^ hash->hash[i]);
    memset(got, 0, sizeof got);
    return diff == 0 && !too_long;
}
