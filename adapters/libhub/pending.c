/*
 * pending - unanswered publishes by corr, in send order (see pending.h).
 */
#include "pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_MIN_TABLE 64 /* slots in a new table */

static size_t s_hash_corr(uint64_t corr)
{
    return (size_t)((corr * 0x9e3779b97f4a7c15ULL) >> 17);
}

int hub_pending_init(hub_pending_t *self)
{
    memset(self, 0, sizeof(*self));
    self->table = calloc(S_MIN_TABLE, sizeof(*self->table));
    if (!self->table)
        return -ENOMEM;
    self->mask = S_MIN_TABLE - 1;
    return 0;
}

void hub_pending_fini(hub_pending_t *self)
{
    hub_pending_entry_t *e = self->head;
    while (e) {
        hub_pending_entry_t *next = e->next;
        hub_pending_entry_destroy(&e);
        e = next;
    }
    free(self->table);
    memset(self, 0, sizeof(*self));
}

static size_t s_find_slot(const hub_pending_t *self, uint64_t corr)
{
    size_t i = s_hash_corr(corr) & self->mask;
    while (self->table[i] && self->table[i]->corr != corr)
        i = (i + 1) & self->mask;
    return i;
}

/* Doubles the table. Returns 0 or -ENOMEM (the table is unchanged then). */
static int s_grow_table(hub_pending_t *self)
{
    size_t old_size = self->mask + 1;
    hub_pending_entry_t **old = self->table;
    hub_pending_entry_t **table = calloc(old_size * 2, sizeof(*table));
    if (!table)
        return -ENOMEM;
    self->table = table;
    self->mask = old_size * 2 - 1;
    for (size_t i = 0; i < old_size; i++)
        if (old[i])
            self->table[s_find_slot(self, old[i]->corr)] = old[i];
    free(old);
    return 0;
}

int hub_pending_add(hub_pending_t *self, hub_pending_entry_t *entry)
{
    if (!self->table)
        return -ENOMEM;
    if ((self->count + 1) * 2 > self->mask + 1) {
        int rc = s_grow_table(self);
        if (rc < 0)
            return rc;
    }
    self->table[s_find_slot(self, entry->corr)] = entry;
    self->count++;
    entry->next = NULL;
    entry->prev = self->tail;
    if (self->tail)
        self->tail->next = entry;
    else
        self->head = entry;
    self->tail = entry;
    return 0;
}

hub_pending_entry_t *hub_pending_find(const hub_pending_t *self, uint64_t corr)
{
    if (!self->table || self->count == 0)
        return NULL;
    return self->table[s_find_slot(self, corr)];
}

static void s_unlink(hub_pending_t *self, hub_pending_entry_t *entry)
{
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        self->head = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    else
        self->tail = entry->prev;
    entry->prev = entry->next = NULL;
}

void hub_pending_take(hub_pending_t *self, hub_pending_entry_t *entry)
{
    size_t i = s_find_slot(self, entry->corr);
    if (self->table[i] != entry)
        return;
    /* backward-shift deletion: keep every probe run unbroken */
    size_t j = i;
    for (;;) {
        j = (j + 1) & self->mask;
        if (!self->table[j])
            break;
        size_t home = s_hash_corr(self->table[j]->corr) & self->mask;
        int movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            self->table[i] = self->table[j];
            i = j;
        }
    }
    self->table[i] = NULL;
    self->count--;
    s_unlink(self, entry);
}

void hub_pending_touch(hub_pending_t *self, hub_pending_entry_t *entry, int64_t now_ms)
{
    entry->sent_ms = now_ms;
    if (self->tail == entry)
        return;
    s_unlink(self, entry);
    entry->prev = self->tail;
    self->tail->next = entry;
    self->tail = entry;
}

void hub_pending_restamp(hub_pending_t *self, int64_t since_ms, int64_t now_ms)
{
    for (hub_pending_entry_t *e = self->tail; e && e->sent_ms >= since_ms; e = e->prev)
        e->sent_ms = now_ms;
}

void hub_pending_entry_destroy(hub_pending_entry_t **entry_p)
{
    if (!entry_p || !*entry_p)
        return;
    free((*entry_p)->frame);
    free(*entry_p);
    *entry_p = NULL;
}
