/*
 * routings - the routing lists events share, stored once (see routings.h).
 */
#include "routings.h"

#include <stdlib.h>
#include <string.h>

#include "blobmap.h"

#define S_SEEN 1024 /* hashes of lists met once (a power of two) */

const char hub_routings_schema[] = "CREATE TABLE IF NOT EXISTS routings(\n"
                                   "  id INTEGER PRIMARY KEY,\n"
                                   "  routing BLOB NOT NULL UNIQUE);\n";

struct hub_routings {
    sqlite3 *db;
    sqlite3_stmt *find;    /* a list's row by its bytes */
    sqlite3_stmt *insert;  /* a new list's row */
    hub_blobmap_t *ids;    /* list -> id of its row */
    uint64_t seen[S_SEEN]; /* by hash: lists met once and not remembered (rule 2) */
};

hub_routings_t *hub_routings_new(sqlite3 *db)
{
    hub_routings_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->ids = hub_blobmap_new(HUB_ROUTINGS_MAX, HUB_ROUTINGS_BYTES);
    if (!self->ids ||
        sqlite3_prepare_v3(db, "SELECT id FROM routings WHERE routing = ?1", -1, SQLITE_PREPARE_PERSISTENT,
                           &self->find, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db, "INSERT INTO routings(routing) VALUES(?1)", -1, SQLITE_PREPARE_PERSISTENT,
                           &self->insert, NULL) != SQLITE_OK)
        hub_routings_destroy(&self);
    return self;
}

void hub_routings_destroy(hub_routings_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_routings_t *self = *self_p;
    hub_blobmap_destroy(&self->ids);
    sqlite3_finalize(self->find);
    sqlite3_finalize(self->insert);
    free(self);
    *self_p = NULL;
}

void hub_routings_forget(hub_routings_t *self)
{
    hub_blobmap_clear(self->ids);
    memset(self->seen, 0, sizeof self->seen);
}

size_t hub_routings_count(const hub_routings_t *self)
{
    return hub_blobmap_count(self->ids);
}

/* The id of routing's row, found by its bytes or written now. */
static int s_row_id(hub_routings_t *self, const uint8_t *routing, size_t len, int64_t *id)
{
    static const uint8_t none[1] = {0};
    if (len == 0)
        routing = none; /* an empty list is an empty blob, not NULL */
    sqlite3_bind_blob(self->find, 1, routing, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(self->find);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(self->find, 0);
    sqlite3_reset(self->find);
    if (rc == SQLITE_ROW)
        return SQLITE_OK;
    if (rc != SQLITE_DONE)
        return rc;
    sqlite3_bind_blob(self->insert, 1, routing, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(self->insert);
    sqlite3_reset(self->insert);
    if (rc != SQLITE_DONE)
        return rc;
    *id = sqlite3_last_insert_rowid(self->db);
    return SQLITE_OK;
}

int hub_routings_id(hub_routings_t *self, const uint8_t *routing, size_t len, int64_t *id)
{
    *id = 0;
    if (hub_blobmap_get(self->ids, routing, len, id) == 1)
        return SQLITE_OK;
    uint64_t hash = hub_blobmap_hash(routing, len);
    uint64_t *seen = &self->seen[hash & (S_SEEN - 1)];
    if (*seen != hash) {
        *seen = hash; /* rule 2: a list is shared once it is met again */
        return SQLITE_OK;
    }
    if (!hub_blobmap_room(self->ids, len) || len > INT32_MAX)
        return SQLITE_OK; /* rule 2 */
    int64_t row = 0;
    int rc = s_row_id(self, routing, len, &row);
    if (rc != SQLITE_OK)
        return rc;
    if (hub_blobmap_put(self->ids, routing, len, row) == 0)
        *id = row; /* else out of memory: the list stays in the event's row */
    return SQLITE_OK;
}
