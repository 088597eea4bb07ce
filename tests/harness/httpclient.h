/*
 * httpclient - one HTTP exchange with a server under test on 127.0.0.1
 * (hub-webhook-in, hub-console, or one a test runs in process), through
 * libcurl: the status, the body (and its JSON), the response headers.
 *
 * Rules:
 *   1. Every exchange has a deadline (HTTPCLIENT_TIMEOUT_S); a test never
 *      hangs on a server that does not answer.
 *   2. A failed exchange is status 0 with the reason on stderr; the
 *      caller's checks say what was expected.
 *
 * Typical case:
 *
 *     httpclient_res_t r;
 *     const char *headers[] = {"Content-Type: application/json", NULL};
 *     CHECK_INT(httpclient_request(port, "POST", "/events", headers, body, strlen(body), &r), 202);
 *     CHECK_STR(httpclient_header(&r, "Cache-Control"), "no-store");
 *     httpclient_res_free(&r);
 */
#ifndef HUB_HTTPCLIENT_H_INCLUDED
#define HUB_HTTPCLIENT_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#define HTTPCLIENT_TIMEOUT_S 30 /* one exchange at most */

typedef struct {
    long status;   /* HTTP status; 0 when the exchange failed */
    char *body;    /* response body, NUL-terminated (owned), or NULL when empty */
    size_t len;    /* its bytes */
    char *headers; /* every response header line (owned) */
    size_t hlen;   /* their bytes */
    json_t *json;  /* body parsed, NULL when not JSON */
} httpclient_res_t;

/* One request to http://127.0.0.1:PORT/PATH. method is "GET", "POST"
 * (body, len bytes; NULL is an empty body) or any other (sent as it is,
 * without a body); headers are "Name: value" lines, NULL-terminated (may
 * be NULL). Fills res (free it with httpclient_res_free, also after a
 * failure). Returns the status, 0 on failure (rule 2). Blocks up to
 * HTTPCLIENT_TIMEOUT_S. */
long httpclient_request(int port, const char *method, const char *path, const char *const *headers, const char *body,
                        size_t len, httpclient_res_t *res);

/* The value of response header name, case-insensitive; "" when absent.
 * A static buffer: valid until the next call. */
const char *httpclient_header(const httpclient_res_t *res, const char *name);

/* Frees what res holds and empties it. Safe twice. */
void httpclient_res_free(httpclient_res_t *res);

#endif
