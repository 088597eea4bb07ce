/*
 * password - the console's password hashes: PBKDF2-HMAC-SHA256 (RFC 8018)
 * over proto/sha256.h, kept in the users file as
 *
 *     pbkdf2-sha256$ITERATIONS$SALT$HASH
 *
 * with SALT (16 bytes) and HASH (32 bytes) in standard base64 with its '='
 * padding (RFC 4648 section 4).
 *
 * Rules:
 *   1. A hash is made with a fresh 16-byte salt from the kernel and at
 *      least CS_PASSWORD_MIN_ITERATIONS iterations; a users file holding
 *      fewer is refused, so a weak hash never goes unnoticed.
 *   2. A password is checked by recomputing the hash and comparing all 32
 *      bytes without an early exit.
 *   3. Passwords are at most CS_PASSWORD_MAX bytes, so that the work of a
 *      check does not grow with what a client sends.
 */
#ifndef CS_PASSWORD_H_INCLUDED
#define CS_PASSWORD_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

#define CS_PASSWORD_MIN_ITERATIONS 100000u     /* rule 1 */
#define CS_PASSWORD_MAX_ITERATIONS 10000000u   /* a check takes seconds beyond this */
#define CS_PASSWORD_DEFAULT_ITERATIONS 600000u /* hub-console passwd without --iterations */
#define CS_PASSWORD_SALT_LEN 16                /* bytes of salt */
#define CS_PASSWORD_HASH_LEN 32                /* bytes of derived key */
#define CS_PASSWORD_MAX 1024                   /* bytes of a password (rule 3) */
#define CS_PASSWORD_TEXT_LEN 128               /* room for "pbkdf2-sha256$...$...$..." and its NUL */

typedef struct {
    uint32_t iterations;                /* PBKDF2 iteration count */
    uint8_t salt[CS_PASSWORD_SALT_LEN]; /* the salt */
    uint8_t hash[CS_PASSWORD_HASH_LEN]; /* PBKDF2(password, salt, iterations) */
} cs_password_t;

/* PBKDF2-HMAC-SHA256: writes outlen bytes derived from the password and
 * salt to out. Cannot fail; takes time in proportion to iterations (and
 * outlen / 32). */
void cs_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
                      uint32_t iterations, uint8_t *out, size_t outlen);

/* Hashes a password with a new salt (rule 1). iterations from
 * CS_PASSWORD_MIN_ITERATIONS to CS_PASSWORD_MAX_ITERATIONS. Writes the
 * text form to out (CS_PASSWORD_TEXT_LEN bytes). Returns 0; -HUB_EINVALID
 * with err for an empty or too long password or iterations out of range;
 * -EIO when the kernel gave no random bytes. */
int cs_password_hash(const char *password, uint32_t iterations, char out[CS_PASSWORD_TEXT_LEN],
                     char err[HUB_ERR_LEN]);

/* Parses the text form into hash. Returns 0, or -HUB_EINVALID with err
 * saying which part is wrong. */
int cs_password_parse(const char *text, cs_password_t *hash, char err[HUB_ERR_LEN]);

/* 1 when password (len bytes) is the one hash was made of, else 0 (also
 * for a password over CS_PASSWORD_MAX). Takes the hash's iterations of
 * work either way (rule 2). */
int cs_password_check(const cs_password_t *hash, const char *password, size_t len);

/* Fills buf with len bytes of the kernel's randomness (getrandom(2),
 * else /dev/urandom), for salts, session ids and tokens. Returns 0, or -1
 * when neither gave len bytes: never predictable bytes instead. Can block
 * only at early boot. */
int cs_random_bytes(void *buf, size_t len);

/* Standard base64 with padding of n bytes; out holds 4 * ((n + 2) / 3) + 1
 * bytes. */
void cs_base64_encode(const uint8_t *in, size_t n, char *out);

/* Decodes standard base64 (padding required when the length needs it, no
 * whitespace). Returns the number of bytes written to out (at most max),
 * or -1 when text is not base64 or decodes to more than max bytes. */
int cs_base64_decode(const char *text, uint8_t *out, size_t max);

#endif
