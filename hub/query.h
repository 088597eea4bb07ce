/*
 * query - readings of the store for people: notifications as their
 * departments see them, with the state of the answers, and dead letters
 * with theirs (NotificationQuery).
 *
 * Rules
 *   1. Bounded: a reading looks at most at the newest `window` events (at
 *      most HUB_QUERY_MAX_WINDOW), keeps at most `limit` items (at most
 *      HUB_QUERY_MAX_LIMIT) and no more than fit in max_bytes once packed;
 *      `truncated` says that more matched. It runs on the broker's loop
 *      and holds it up for as long as it reads.
 *   2. An item is one notification (seq, slot) as its department receives
 *      it: redacted as its route says. A filter on the customer looks at
 *      that redacted event, so a department never finds a notification by
 *      a field it may not see.
 *   3. The answer of a notification is the latest response (an event of
 *      type "response") on its case from its department that came after
 *      it, within the window; answered_by is the actor that published it.
 *      breached and escalated come from the deadlines table.
 *   4. Newest first: by seq descending, a seq's notifications by slot.
 */
#ifndef HUB_QUERY_H_INCLUDED
#define HUB_QUERY_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "hub.pb-c.h"
#include "store.h"

#define HUB_QUERY_DEFAULT_LIMIT 100
#define HUB_QUERY_MAX_LIMIT 1000
#define HUB_QUERY_DEFAULT_WINDOW 10000
#define HUB_QUERY_MAX_WINDOW 100000
#define HUB_QUERY_MAX_STRING 256 /* bytes of a NotificationQuery filter */

/* A reading's answer: list is the NotificationList to send; the rest owns
 * what it points at. */
typedef struct hub_query_result hub_query_result_t;

/* Reads the notifications q asks for (rules 1-4; q->dead_letters is not
 * handled here) from store, whose last seq is the window's top. q must be
 * validated (hub_message_validate). Returns 0 and sets *result_p (free
 * with hub_query_result_destroy); -ENOMEM; -HUB_ESTORE with err. Blocks on
 * the disk. */
int hub_query_notifications(hub_store_t *store, const Hub__NotificationQuery *q, size_t max_bytes,
                            hub_query_result_t **result_p, char err[HUB_ERR_LEN]);

/* Reads the dead letters q asks for (q->dead_letters; rules 1, 2, 4, where
 * department is the subscriber they were dead-lettered from and open_only
 * leaves out those redriven or discarded) from store's dead_letters, with
 * their state. Returns as hub_query_notifications. */
int hub_query_dead_letters(hub_store_t *store, const Hub__NotificationQuery *q, size_t max_bytes,
                           hub_query_result_t **result_p, char err[HUB_ERR_LEN]);

/* The NotificationList of a result (owned by it). */
Hub__NotificationList *hub_query_list(hub_query_result_t *self);

void hub_query_result_destroy(hub_query_result_t **self_p);

/* 1 when needle occurs in hay, comparing ASCII letters without regard to
 * case (other bytes as they are); an empty needle occurs in anything. NULL
 * hay: 0. */
int hub_query_contains(const char *hay, const char *needle);

#endif
