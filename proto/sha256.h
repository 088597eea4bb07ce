/*
 * sha256 - SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the audit
 * chain and the policy hash. No external crypto library.
 */
#ifndef HUB_SHA256_H_INCLUDED
#define HUB_SHA256_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define HUB_SHA256_LEN 32     /* bytes in a digest */
#define HUB_SHA256_HEX_LEN 65 /* room for a digest in hex and its NUL */

typedef struct {
    uint32_t state[8];  /* running hash */
    uint64_t bytes;     /* message length so far */
    uint8_t block[64];  /* pending input */
    size_t used;        /* bytes pending in block */
} hub_sha256_ctx_t;

/* Starts a digest. Cannot fail. */
void hub_sha256_init(hub_sha256_ctx_t *ctx);

/* Feeds len bytes (data may be NULL when len is 0). Cannot fail. */
void hub_sha256_update(hub_sha256_ctx_t *ctx, const void *data, size_t len);

/* Writes the digest to out and wipes ctx; init it again to reuse it. */
void hub_sha256_final(hub_sha256_ctx_t *ctx, uint8_t out[HUB_SHA256_LEN]);

/* One-shot digest of len bytes. */
void hub_sha256(const void *data, size_t len, uint8_t out[HUB_SHA256_LEN]);

/* HMAC-SHA-256 of data under key (any length; longer than a block is hashed
 * first, as RFC 2104 says). */
void hub_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[HUB_SHA256_LEN]);

/* Writes n bytes as 2n lower-case hex digits and a NUL to out (2n+1 bytes). */
void hub_hex(const uint8_t *bytes, size_t n, char *out);

#endif
