/*
 * auth - who is posting: a bearer token or an HMAC-SHA256 signature of the
 * raw body, checked against the configured sources.
 *
 * Rules:
 *   1. Secrets are compared in constant time: both sides are hashed and the
 *      digests compared without an early exit, so neither the content nor
 *      the length of a secret shows in the time an answer takes.
 *   2. Every source is checked, also after a match, so that the time does
 *      not tell which source (or how many) exist.
 *   3. A signature is "sha256=<64 hex digits>" or the bare hex digits, in
 *      either case; anything else never matches.
 */
#ifndef WH_AUTH_H_INCLUDED
#define WH_AUTH_H_INCLUDED

#include <stddef.h>

#include "settings.h"

/* 1 when a and b hold the same bytes (rule 1), else 0. */
int wh_auth_equal(const void *a, size_t alen, const void *b, size_t blen);

/* The source whose token is the one in an "Authorization: Bearer <token>"
 * header value, or NULL (no header, another scheme, or no match). */
const wh_source_t *wh_auth_bearer(const wh_settings_t *settings, const char *authorization);

/* Looks up a request header by name (case-insensitive); NULL when absent. */
typedef const char *(*wh_header_fn)(const char *name, void *arg);

/* 1 when at least one HMAC source's signature header is in the request. */
int wh_auth_has_signature(const wh_settings_t *settings, wh_header_fn header, void *arg);

/* The HMAC source whose signature header holds a valid signature of body
 * (len bytes), or NULL. */
const wh_source_t *wh_auth_signature(const wh_settings_t *settings, wh_header_fn header, void *arg, const void *body,
                                     size_t len);

#endif
