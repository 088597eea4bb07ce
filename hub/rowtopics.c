/*
 * rowtopics - see rowtopics.h for the rules.
 */
#include "rowtopics.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "policy.h"

#define S_ROWS 1024                         /* rows kept: a power of two (rule 2) */
#define S_NAMES (2 * HUB_ROWTOPICS_MAX)     /* slots of the index of texts: a power of two */
#define S_UNKEPT UINT32_MAX                 /* n of a row that cannot be kept (rule 4) */

typedef struct {
    uint64_t seq;     /* 0: empty */
    size_t len;       /* the routing's bytes */
    hub_row_routes_t routes;
} s_row_t;

struct hub_rowtopics {
    s_row_t rows[S_ROWS];
    char texts[HUB_ROWTOPICS_MAX][HUB_TOPIC_LEN];
    size_t ntexts;
    uint16_t index[S_NAMES]; /* text number + 1, by hash; 0: empty */
};

hub_rowtopics_t *hub_rowtopics_new(void)
{
    return calloc(1, sizeof(hub_rowtopics_t));
}

void hub_rowtopics_destroy(hub_rowtopics_t **self_p)
{
    if (!self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static size_t s_hash(const char *text)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h & (S_NAMES - 1);
}

/* The number of text, given one when new. -1 when the numbers are all
 * taken (rule 3). */
static int s_number(hub_rowtopics_t *self, const char *text)
{
    size_t h = s_hash(text);
    for (;; h = (h + 1) & (S_NAMES - 1)) {
        uint16_t at = self->index[h];
        if (at == 0)
            break;
        if (strcmp(self->texts[at - 1], text) == 0)
            return at - 1;
    }
    if (self->ntexts == HUB_ROWTOPICS_MAX)
        return -1;
    strcpy(self->texts[self->ntexts], text); /* shorter than HUB_TOPIC_LEN: hub_route_topic's cap */
    self->index[h] = (uint16_t)(++self->ntexts);
    return (int)self->ntexts - 1;
}

/* Reads the routes of a row into r: 1, or 0 when it cannot be kept. */
static int s_read(hub_rowtopics_t *self, const uint8_t *routing, size_t len, hub_row_routes_t *r)
{
    hub_route_bytes_t bytes;
    char topic[HUB_TOPIC_LEN];
    size_t pos = 0;
    int found;
    r->n = 0;
    while ((found = hub_routing_next(routing, len, &pos, &bytes)) == 1) {
        if (r->n == HUB_ROWTOPICS_ROUTES || hub_route_topic(&bytes, topic, sizeof topic) != 1)
            return 0;
        int id = s_number(self, topic);
        if (id < 0)
            return 0;
        r->topic[r->n] = (uint16_t)id;
        r->off[r->n] = (uint32_t)(bytes.data - routing);
        r->len[r->n] = (uint32_t)bytes.len;
        r->n++;
    }
    return found == 0;
}

const hub_row_routes_t *hub_rowtopics_row(hub_rowtopics_t *self, uint64_t seq, const uint8_t *routing, size_t len)
{
    s_row_t *row = &self->rows[seq & (S_ROWS - 1)];
    if (row->seq != seq || row->len != len || seq == 0) {
        row->seq = seq;
        row->len = len;
        if (len > UINT32_MAX || !s_read(self, routing, len, &row->routes))
            row->routes.n = S_UNKEPT;
    }
    return row->routes.n == S_UNKEPT ? NULL : &row->routes;
}

const char *hub_rowtopics_text(const hub_rowtopics_t *self, uint16_t id)
{
    return id < self->ntexts ? self->texts[id] : "";
}
