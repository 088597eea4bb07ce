/*
 * errors - hub_strerror: text for Switchboard's own codes and for -errno.
 */
#include <limits.h>
#include <string.h>

#include "hub.h"

/* Indexed by code - HUB_EMALFORMED. */
static const char *const s_hub_texts[] = {
    "malformed frame or document",               /* HUB_EMALFORMED */
    "unsupported protocol version or feature",   /* HUB_EUNSUPPORTED */
    "too large",                                 /* HUB_ETOOLARGE */
    "invalid field",                             /* HUB_EINVALID */
    "denied",                                    /* HUB_EDENIED */
    "hub unavailable, retry later",              /* HUB_EUNAVAILABLE */
    "unknown subscriber, event or case",         /* HUB_EUNKNOWN */
    "protocol error: unexpected frame",          /* HUB_EPROTO */
    "configuration error",                       /* HUB_ECONFIG */
    "store (database) error",                    /* HUB_ESTORE */
    "internal error (a bug: please report it)",  /* HUB_EINTERNAL */
};

#define S_NTEXTS (sizeof s_hub_texts / sizeof s_hub_texts[0])

_Static_assert(S_NTEXTS == HUB_EINTERNAL - HUB_EMALFORMED + 1, "one text per HUB_E code");

const char *hub_strerror(int code)
{
    if (code == 0)
        return "success";
    if (code == INT_MIN)
        return "unknown error";
    if (code < 0)
        code = -code;
    if (code >= HUB_EMALFORMED && (unsigned)(code - HUB_EMALFORMED) < S_NTEXTS)
        return s_hub_texts[code - HUB_EMALFORMED];
    /* strerrordesc_np is thread-safe and returns NULL for unknown codes,
     * unlike strerror which formats into a shared buffer. */
    const char *text = strerrordesc_np(code);
    return text ? text : "unknown error";
}
