/*
 * reply - JSON answers of the console (see reply.h).
 */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";

/* Bytes of the valid UTF-8 sequence (not a control character) at p, or 0. */
static size_t s_char_len(const unsigned char *p)
{
    if (p[0] < 0x20 || p[0] == 0x7f)
        return 0;
    if (p[0] < 0x80)
        return 1;
    size_t n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0)
        return 0;
    unsigned long cp = p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    /* no overlong forms, no surrogates, nothing beyond U+10FFFF */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int cs_text_valid(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        size_t n = s_char_len(p);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

void cs_text_clean(char *text)
{
    unsigned char *p = (unsigned char *)text;
    while (*p) {
        size_t n = s_char_len(p);
        if (n == 0) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

void cs_reply_json(cs_reply_t *reply, int status, json_t *body)
{
    free(reply->body);
    reply->body = NULL;
    reply->static_body = NULL;
    reply->content_type = NULL;
    reply->api = 1;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        reply->status = 500;
        reply->static_body = s_oom;
        reply->len = strlen(s_oom);
        return;
    }
    reply->status = status;
    reply->body = text;
    reply->len = strlen(text);
}

void cs_reply_error(cs_reply_t *reply, int status, const char *code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cs_text_clean(message);
    cs_reply_json(reply, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

void cs_reply_fini(cs_reply_t *reply)
{
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}
