/*
 * routings - the routing lists that events share, each stored once.
 *
 * The events of a type mostly go to the same departments by the same routes
 * for the same reasons: their packed hub.Routing is the same, byte for byte.
 * Such a list is a row of the routings table, and the event's row holds its
 * id (an integer where the list's bytes were). A list that holds something
 * of its event alone (a route's deadline, respond_by_ms) stays in the
 * event's row, as every list did before schema 5; readers take both forms
 * through HUB_ROUTINGS_COLUMN and HUB_ROUTINGS_JOIN.
 *
 * Rules
 *   1. hub_routings_id gives a list's id, writing its row in the caller's
 *      open transaction the first time the map meets the list since it was
 *      made (a row written earlier is found by its bytes).
 *   2. A list gets an id the second time the map meets it, so that a list
 *      some value of its event made (a route's reason names the values
 *      that matched) does not take a row of its own; the map remembers at
 *      most HUB_ROUTINGS_MAX lists and HUB_ROUTINGS_BYTES of them. A list
 *      met for the first time (as far as the map can tell), or once the
 *      map is full, gets no id (0): the caller stores it in the event's
 *      row.
 *   3. After the caller's transaction rolls back it calls
 *      hub_routings_forget: ids that transaction made went with it.
 *   4. The map uses its connection only in hub_routings_id and
 *      hub_routings_destroy, from the thread that calls them.
 */
#ifndef HUB_ROUTINGS_H_INCLUDED
#define HUB_ROUTINGS_H_INCLUDED

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HUB_ROUTINGS_MAX 1024            /* lists the map remembers at most */
#define HUB_ROUTINGS_BYTES (512u * 1024) /* their bytes at most */

/* The table, for the schema: one row per list, found by its bytes. */
extern const char hub_routings_schema[];

/* In a SELECT from events aliased e: the list of the event, whichever way
 * its row holds it; the FROM clause names HUB_ROUTINGS_JOIN after e. */
#define HUB_ROUTINGS_COLUMN "coalesce(r.routing, e.routing)"
#define HUB_ROUTINGS_JOIN " LEFT JOIN routings r ON r.id = e.routing"

typedef struct hub_routings hub_routings_t;

/* A map writing through db, whose schema has the table. NULL when out of
 * memory or when its statements cannot be made (db's error says why). */
hub_routings_t *hub_routings_new(sqlite3 *db);
void hub_routings_destroy(hub_routings_t **self_p);

/* Sets *id to the id of the len bytes of routing (rule 1), or to 0 when
 * the map is full (rule 2). Returns SQLITE_OK or SQLite's error code. */
int hub_routings_id(hub_routings_t *self, const uint8_t *routing, size_t len, int64_t *id);

/* Forgets every list (rule 3): each is looked up again when next met. */
void hub_routings_forget(hub_routings_t *self);

/* Lists remembered. */
size_t hub_routings_count(const hub_routings_t *self);

#endif
