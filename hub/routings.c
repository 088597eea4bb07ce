/*
 * routings - the routing lists events share, stored once (see routings.h).
 */
#include "routings.h"

#include <stdlib.h>
#include <string.h>

#define S_SLOTS (2 * HUB_ROUTINGS_MAX) /* hash table slots: a power of two, half full at most */
#define S_SEEN 1024                    /* hashes of lists met once (a power of two) */

const char hub_routings_schema[] = "CREATE TABLE IF NOT EXISTS routings(\n"
                                   "  id INTEGER PRIMARY KEY,\n"
                                   "  routing BLOB NOT NULL UNIQUE);\n";

typedef struct {
    uint64_t hash;
    int64_t id;
    size_t len;
    uint8_t *bytes;
} s_list_t;

struct hub_routings {
    sqlite3 *db;
    sqlite3_stmt *find;   /* a list's row by its bytes */
    sqlite3_stmt *insert; /* a new list's row */
    s_list_t lists[HUB_ROUTINGS_MAX];
    size_t count;
    size_t bytes;         /* of the lists remembered */
    uint16_t slots[S_SLOTS]; /* list index + 1; 0: empty */
    size_t last;          /* index + 1 of the list met last (0: none): a batch's events mostly share one */
    uint64_t seen[S_SEEN]; /* by hash: lists met once and not remembered (rule 2) */
};

/* FNV-1a: the lists are a few hundred bytes, met once per event, and the
 * last one met is compared first anyway. */
static uint64_t s_hash(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

hub_routings_t *hub_routings_new(sqlite3 *db)
{
    hub_routings_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    if (sqlite3_prepare_v3(db, "SELECT id FROM routings WHERE routing = ?1", -1, SQLITE_PREPARE_PERSISTENT,
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
    hub_routings_forget(self);
    sqlite3_finalize(self->find);
    sqlite3_finalize(self->insert);
    free(self);
    *self_p = NULL;
}

void hub_routings_forget(hub_routings_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->lists[i].bytes);
    self->count = 0;
    self->bytes = 0;
    self->last = 0;
    memset(self->slots, 0, sizeof self->slots);
    memset(self->seen, 0, sizeof self->seen);
}

size_t hub_routings_count(const hub_routings_t *self)
{
    return self->count;
}

static int s_same(const s_list_t *l, const uint8_t *routing, size_t len)
{
    return l->len == len && memcmp(l->bytes, routing, len) == 0;
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
    if (self->last && s_same(&self->lists[self->last - 1], routing, len)) {
        *id = self->lists[self->last - 1].id;
        return SQLITE_OK;
    }
    uint64_t hash = s_hash(routing, len);
    size_t at = (size_t)hash & (S_SLOTS - 1);
    for (; self->slots[at]; at = (at + 1) & (S_SLOTS - 1)) {
        const s_list_t *l = &self->lists[self->slots[at] - 1];
        if (l->hash == hash && s_same(l, routing, len)) {
            self->last = self->slots[at];
            *id = l->id;
            return SQLITE_OK;
        }
    }
    uint64_t *seen = &self->seen[hash & (S_SEEN - 1)];
    if (*seen != hash) {
        *seen = hash; /* rule 2: a list is shared once it is met again */
        return SQLITE_OK;
    }
    if (self->count == HUB_ROUTINGS_MAX || len > HUB_ROUTINGS_BYTES - self->bytes || len > INT32_MAX)
        return SQLITE_OK; /* rule 2 */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return SQLITE_OK; /* kept in the event's row */
    int64_t row = 0;
    int rc = s_row_id(self, routing, len, &row);
    if (rc != SQLITE_OK) {
        free(copy);
        return rc;
    }
    memcpy(copy, routing, len);
    self->lists[self->count] = (s_list_t){hash, row, len, copy};
    self->slots[at] = (uint16_t)(self->count + 1);
    self->count++;
    self->bytes += len;
    self->last = self->count;
    *id = row;
    return SQLITE_OK;
}
