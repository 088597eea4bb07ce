/*
 * rowtopics - the topics of the routes of recent rows, each row's read
 * once for all the subscribers that scan it.
 *
 * Every subscriber looks at every row's routes to find the ones its
 * patterns match: with four departments, sixteen topics read out of the
 * packed routing per event, and as many pattern matches. Here a row's
 * topics are read once and kept, as small numbers naming distinct topic
 * texts (a policy has a few dozen), with where each route's bytes are in
 * the routing; a subscriber keeps whether it wants each topic number.
 *
 * Rules:
 *   1. A row is known by its seq and its routing's length: a stored
 *      event's routing never changes.
 *   2. Rows are kept in a table indexed by seq (the newest of a seq's slot
 *      wins): subscribers scan the same rows at about the same time.
 *   3. A topic keeps its number for the table's life (also one numbered
 *      for a row that then could not be kept). When HUB_ROWTOPICS_MAX
 *      distinct topics have been seen (policies reloaded many times), a row
 *      with a new one is not kept, and its readers read it as before.
 *   4. A row that cannot be kept (more than HUB_ROWTOPICS_ROUTES routes, a
 *      topic longer than HUB_TOPIC_LEN, bytes that are not a Routing) is
 *      marked so, and read as before by every subscriber (which reports
 *      what is wrong with it).
 */
#ifndef HUB_ROWTOPICS_H_INCLUDED
#define HUB_ROWTOPICS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define HUB_ROWTOPICS_ROUTES 16 /* routes of a row kept, at most */
#define HUB_ROWTOPICS_MAX 256   /* distinct topics numbered, at most */

typedef struct hub_rowtopics hub_rowtopics_t;

/* One row's routes: route number slot is the topic numbered topic[slot],
 * its bytes at off[slot] in the routing, len[slot] long. */
typedef struct {
    uint32_t n;
    uint16_t topic[HUB_ROWTOPICS_ROUTES];
    uint32_t off[HUB_ROWTOPICS_ROUTES];
    uint32_t len[HUB_ROWTOPICS_ROUTES];
} hub_row_routes_t;

/* NULL on ENOMEM. */
hub_rowtopics_t *hub_rowtopics_new(void);

void hub_rowtopics_destroy(hub_rowtopics_t **self_p);

/* The routes of row seq, whose routing is len bytes at routing: kept, or
 * read now and kept. NULL when the row cannot be kept (rules 3 and 4). */
const hub_row_routes_t *hub_rowtopics_row(hub_rowtopics_t *self, uint64_t seq, const uint8_t *routing, size_t len);

/* The text of topic number id ("" for a route without a topic). */
const char *hub_rowtopics_text(const hub_rowtopics_t *self, uint16_t id);

#endif
