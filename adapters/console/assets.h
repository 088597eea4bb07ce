/*
 * assets - the web app's files, embedded in hub-console when it is built
 * (embed.c writes them out as C arrays), so that the program needs no
 * files at run time and serves exactly what was built.
 *
 * A file web/NAME is served at /NAME; web/index.html also at /.
 */
#ifndef CS_ASSETS_H_INCLUDED
#define CS_ASSETS_H_INCLUDED

#include <stddef.h>

typedef struct {
    const char *path;         /* URL path, e.g. "/app.js" */
    const char *content_type; /* e.g. "text/javascript; charset=utf-8" */
    const unsigned char *data; /* the file's bytes */
    size_t len;               /* bytes of data */
} cs_asset_t;

extern const cs_asset_t cs_assets[]; /* the embedded files */
extern const size_t cs_assets_count; /* entries of cs_assets */

/* The file served at path ("/" is /index.html), or NULL. */
const cs_asset_t *cs_asset_find(const char *path);

#endif
