/*
 * outlet_curl - libcurl as the outlets use it (see outlet_curl.h).
 */
#include "outlet_curl.h"

#include <stdio.h>

#include "outlet_run.h"

CURL *outlet_curl_new(char err[HUB_ERR_LEN])
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, HUB_ERR_LEN, "libcurl could not start");
        return NULL;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        curl_global_cleanup();
        snprintf(err, HUB_ERR_LEN, "libcurl could not start");
    }
    return curl;
}

void outlet_curl_destroy(CURL **curl_p)
{
    if (!curl_p || !*curl_p)
        return;
    curl_easy_cleanup(*curl_p);
    curl_global_cleanup();
    *curl_p = NULL;
}

/* Aborts the transfer once a stop is asked for (rule 1). */
static int s_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)arg;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return outlet_stopping();
}

void outlet_curl_prepare(CURL *c, int64_t timeout_ms, int64_t connect_timeout_ms, char *errbuf)
{
    errbuf[0] = '\0';
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

CURLcode outlet_curl_perform(CURL *c, long *code_p)
{
    CURLcode cc = curl_easy_perform(c);
    *code_p = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code_p);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    return cc;
}
