/*
 * httpclient - HTTP exchanges for the tests (see httpclient.h).
 */
#include "httpclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* Appends n bytes to *buf (NUL-terminated). Returns n, or 0 when out of
 * memory (which ends the transfer). */
static size_t s_append(char **buf, size_t *len, const char *data, size_t n)
{
    char *grown = realloc(*buf, *len + n + 1);
    if (!grown)
        return 0;
    *buf = grown;
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return n;
}

static size_t s_on_body(char *data, size_t size, size_t n, void *arg)
{
    httpclient_res_t *res = arg;
    return s_append(&res->body, &res->len, data, size * n);
}

static size_t s_on_header(char *data, size_t size, size_t n, void *arg)
{
    httpclient_res_t *res = arg;
    return s_append(&res->headers, &res->hlen, data, size * n);
}

long httpclient_request(int port, const char *method, const char *path, const char *const *headers, const char *body,
                        size_t len, httpclient_res_t *res)
{
    memset(res, 0, sizeof *res);
    CURL *curl = curl_easy_init();
    if (!curl)
        return 0;
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)HTTPCLIENT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, res);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, res);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    }
    else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);
    else
        fprintf(stderr, "%s %s: %s\n", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    if (res->body)
        res->json = json_loads(res->body, 0, NULL);
    return res->status;
}

const char *httpclient_header(const httpclient_res_t *res, const char *name)
{
    static char value[512];
    value[0] = '\0';
    size_t nlen = strlen(name);
    for (const char *line = res->headers; line && *line;) {
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            snprintf(value, sizeof value, "%.*s", (int)strcspn(v, "\r\n"), v);
            return value;
        }
        const char *next = strchr(line, '\n');
        line = next ? next + 1 : NULL;
    }
    return value;
}

void httpclient_res_free(httpclient_res_t *res)
{
    free(res->body);
    free(res->headers);
    json_decref(res->json);
    memset(res, 0, sizeof *res);
}
