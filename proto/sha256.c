/*
 * sha256 - SHA-256 as FIPS 180-4 section 6.2 describes it, HMAC as RFC 2104.
 *
 * Every audit row is hashed, several per event, so the block function
 * matters: on x86-64 processors with the SHA extensions the rounds run on
 * them (chosen once, at the first block), elsewhere in portable C. Both
 * give the same digests; the unit tests check them against each other.
 */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define S_HAVE_SHANI 1
#endif

static const uint32_t s_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t s_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void s_compress_portable(uint32_t state[8], const uint8_t block[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 | (uint32_t)block[4 * t + 2] << 8 |
               (uint32_t)block[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = s_rotr(w[t - 15], 7) ^ s_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = s_rotr(w[t - 2], 17) ^ s_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (s_rotr(e, 6) ^ s_rotr(e, 11) ^ s_rotr(e, 25)) + ((e & f) ^ (~e & g)) + s_k[t] + w[t];
        uint32_t t2 = (s_rotr(a, 2) ^ s_rotr(a, 13) ^ s_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

#ifdef S_HAVE_SHANI
/* The same block function on the SHA extensions. The state is kept as the
 * two halves the instructions want, ABEF and CDGH; each step of the loop is
 * four rounds, and from the fifth step on it also extends the message
 * schedule by four words (W[t] from W[t-16], W[t-15], W[t-7], W[t-2]). */
__attribute__((target("sha,sse4.1,ssse3"))) static void s_compress_shani(uint32_t state[8], const uint8_t block[64])
{
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1); /* CDAB */
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B); /* EFGH */
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);                                      /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);                                            /* CDGH */
    const __m128i abef = state0, cdgh = state1;
    __m128i w[4];
    /* unrolled, w stays in registers rather than on the stack */
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
        if (g < 4) {
            w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * g)), byteswap);
        } else {
            __m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g - 3) & 3]);
            x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g - 1) & 3], w[(g - 2) & 3], 4));
            w[g & 3] = _mm_sha256msg2_epu32(x, w[(g - 1) & 3]);
        }
        __m128i msg = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&s_k[4 * g]));
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
        state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(msg, 0x0E));
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
    tmp = _mm_shuffle_epi32(state0, 0x1B);    /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1); /* DCHG */
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, state1, 0xF0)); /* DCBA */
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(state1, tmp, 8));   /* HGFE */
}

static int s_cpu_has_shani(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29))) /* SHA */
        return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c & (1u << 19)) && (c & (1u << 9)); /* SSE4.1, SSSE3 */
}
#endif

/* The block function of this processor, chosen at the first call. Choosing
 * twice in two threads is harmless: both choose the same. */
static void s_compress(uint32_t state[8], const uint8_t block[64])
{
#ifdef S_HAVE_SHANI
    static int choice; /* 0: not chosen, 1: portable, 2: SHA extensions */
    if (choice == 0)
        choice = s_cpu_has_shani() && !getenv("HUB_SHA256_PORTABLE") ? 2 : 1;
    if (choice == 2) {
        s_compress_shani(state, block);
        return;
    }
#endif
    s_compress_portable(state, block);
}

void hub_sha256_init(hub_sha256_ctx_t *ctx)
{
    static const uint32_t initial[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(ctx->state, initial, sizeof initial);
    ctx->bytes = 0;
    ctx->used = 0;
}

void hub_sha256_update(hub_sha256_ctx_t *ctx, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len == 0)
        return;
    ctx->bytes += len;
    if (ctx->used > 0) {
        size_t take = 64 - ctx->used;
        if (take > len)
            take = len;
        memcpy(ctx->block + ctx->used, p, take);
        ctx->used += take;
        p += take;
        len -= take;
        if (ctx->used < 64)
            return;
        s_compress(ctx->state, ctx->block);
        ctx->used = 0;
    }
    while (len >= 64) {
        s_compress(ctx->state, p);
        p += 64;
        len -= 64;
    }
    if (len > 0) {
        memcpy(ctx->block, p, len);
        ctx->used = len;
    }
}

void hub_sha256_final(hub_sha256_ctx_t *ctx, uint8_t out[HUB_SHA256_LEN])
{
    uint64_t bits = ctx->bytes * 8;
    ctx->block[ctx->used++] = 0x80;
    if (ctx->used > 56) {
        memset(ctx->block + ctx->used, 0, 64 - ctx->used);
        s_compress(ctx->state, ctx->block);
        ctx->used = 0;
    }
    memset(ctx->block + ctx->used, 0, 56 - ctx->used);
    for (int i = 0; i < 8; i++)
        ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    s_compress(ctx->state, ctx->block);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(ctx->state[i] >> 24);
        out[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
        out[4 * i + 3] = (uint8_t)ctx->state[i];
    }
    memset(ctx, 0, sizeof *ctx);
}

void hub_sha256(const void *data, size_t len, uint8_t out[HUB_SHA256_LEN])
{
    hub_sha256_ctx_t ctx;
    hub_sha256_init(&ctx);
    hub_sha256_update(&ctx, data, len);
    hub_sha256_final(&ctx, out);
}

void hub_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[HUB_SHA256_LEN])
{
    uint8_t k[64] = {0};
    if (keylen > sizeof k)
        hub_sha256(key, keylen, k);
    else if (keylen > 0)
        memcpy(k, key, keylen);

    uint8_t pad[64];
    uint8_t inner[HUB_SHA256_LEN];
    hub_sha256_ctx_t ctx;

    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k[i] ^ 0x36;
    hub_sha256_init(&ctx);
    hub_sha256_update(&ctx, pad, sizeof pad);
    hub_sha256_update(&ctx, data, len);
    hub_sha256_final(&ctx, inner);

    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k[i] ^ 0x5c;
    hub_sha256_init(&ctx);
    hub_sha256_update(&ctx, pad, sizeof pad);
    hub_sha256_update(&ctx, inner, sizeof inner);
    hub_sha256_final(&ctx, out);

    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
}

void hub_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    out[2 * n] = '\0';
}
