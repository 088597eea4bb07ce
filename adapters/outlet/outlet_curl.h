/*
 * outlet_curl - the libcurl handling the outlets share: one easy handle
 * kept for the program's life (so that a connection is reused), and what
 * every transfer sets alike: no signals, the adapter's timeouts, an abort
 * as soon as a stop is asked for, and an error buffer for the reason.
 *
 * Rules:
 *   1. A transfer in flight is aborted when outlet_stopping() turns 1; it
 *      then ends with CURLE_ABORTED_BY_CALLBACK (never acked: outlet_run.h).
 *   2. Every transfer starts from a reset handle: nothing of the last one's
 *      options is left over.
 */
#ifndef OUTLET_CURL_H_INCLUDED
#define OUTLET_CURL_H_INCLUDED

#include <curl/curl.h>
#include <stdint.h>

#include "hub.h"

/* Starts libcurl and makes the handle. Returns it, or NULL with err
 * "libcurl could not start". Does not block. */
CURL *outlet_curl_new(char err[HUB_ERR_LEN]);

/* Frees the handle and stops libcurl. Accepts NULL; sets *curl_p = NULL. */
void outlet_curl_destroy(CURL **curl_p);

/* Resets c for a new transfer (rule 2) and sets what every transfer has:
 * no signals, timeout_ms for the whole transfer and connect_timeout_ms for
 * connecting, the abort at a stop (rule 1), and errbuf (CURL_ERROR_SIZE
 * bytes, emptied) for the reason of a failure. The caller sets the rest. */
void outlet_curl_prepare(CURL *c, int64_t timeout_ms, int64_t connect_timeout_ms, char *errbuf);

/* Performs the transfer prepared on c. Returns curl's result and sets
 * *code_p to the last response code (HTTP status or SMTP reply; 0 when
 * none came); c no longer refers to the error buffer afterwards. Blocks up
 * to the timeout given to outlet_curl_prepare. */
CURLcode outlet_curl_perform(CURL *c, long *code_p);

#endif
