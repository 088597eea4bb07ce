/*
 * reply - one HTTP answer of the console as its modules build it, before
 * the server turns it into a libmicrohttpd response; and the request as
 * the server hands it to them.
 *
 * Errors are JSON: {"error": "code", "message": "human text"}, with the
 * codes and statuses listed in README "Web console".
 */
#ifndef CS_REPLY_H_INCLUDED
#define CS_REPLY_H_INCLUDED

#include <stddef.h>

#include <jansson.h>

#define CS_COOKIE_LEN 256 /* bytes of a Set-Cookie value */
#define CS_ALLOW_LEN 32   /* bytes of an Allow value */

typedef struct {
    int status;                     /* HTTP status */
    char *body;                     /* owned body (free()), or NULL */
    const void *static_body;        /* a body that outlives the reply (embedded files), or NULL */
    size_t len;                     /* bytes of the body */
    const char *content_type;       /* NULL: application/json */
    int api;                        /* 1: an API or metrics answer (Cache-Control: no-store) */
    char set_cookie[CS_COOKIE_LEN]; /* Set-Cookie value, "" for none */
    char allow[CS_ALLOW_LEN];       /* Allow value of a 405, "" for none */
    int retry_after_s;              /* > 0: Retry-After */
} cs_reply_t;

/* Looks up a request header, query argument or cookie by name; NULL when
 * absent. */
typedef const char *(*cs_lookup_fn)(void *arg, const char *name);

typedef struct {
    const char *method;    /* "GET", "POST", ... */
    const char *path;      /* URL path without the query */
    cs_lookup_fn header;   /* request headers (case-insensitive) */
    cs_lookup_fn query;    /* query arguments, decoded */
    cs_lookup_fn cookie;   /* cookies */
    void *arg;             /* for the three lookups */
    int peer_loopback;     /* 1: the peer's address is a loopback address */
    const char *body;      /* the body, NUL-terminated ("" when none) */
    size_t body_len;       /* its bytes */
} cs_request_t;

/* Sets a JSON answer: status and body (taken: the reply frees its text).
 * body NULL: a 500 "out of memory". */
void cs_reply_json(cs_reply_t *reply, int status, json_t *body);

/* Sets an error answer {"error": code, "message": formatted}. */
void cs_reply_error(cs_reply_t *reply, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 when text is valid UTF-8 without control characters (below 0x20, and
 * 0x7f), else 0: what may go into a JSON string and a log line as it is. */
int cs_text_valid(const char *text);

/* Replaces each byte of text that is not part of valid UTF-8, and each
 * control character, with '?', in place. */
void cs_text_clean(char *text);

/* Frees what the reply owns; it is empty afterwards. Safe twice. */
void cs_reply_fini(cs_reply_t *reply);

#endif
