/*
 * journal - see journal.h.
 *
 * Strings are copied into blocks of S_BLOCK bytes (a larger string gets a
 * block of its own); blocks are kept across turns and reused, so a steady
 * load stops allocating once it has seen its largest turn.
 */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define S_BLOCK (64 * 1024)

typedef struct s_block {
    struct s_block *next;
    size_t size, used;
    char data[];
} s_block_t;

struct hub_journal {
    s_block_t *blocks;          /* in use, newest first */
    s_block_t *spare;           /* emptied by reset, reused first */
    hub_store_audit_t *audit;
    size_t naudit, audit_cap;
    hub_store_deadline_t *deadlines;
    size_t ndeadlines, deadlines_cap;
    hub_store_breach_t *breaches;
    size_t nbreaches, breaches_cap;
};

/* ------------------------------------------------------------ details */

void hub_detail_init(hub_detail_t *d)
{
    d->text[0] = '{';
    d->text[1] = '}';
    d->text[2] = '\0';
    d->len = 1;
}

/* 1 for a byte that goes into a JSON string as it is. */
static inline int s_plain(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\' && c != 0x7f;
}

/* Writes s as a JSON string (quotes included) to out, at most cap bytes.
 * Returns the bytes written, or 0 when it does not fit. Runs of plain
 * bytes are copied whole: most values have nothing to escape. */
static size_t s_escape(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (cap < 2)
        return 0;
    out[o++] = '"';
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        const unsigned char *run = p;
        while (s_plain(*p))
            p++;
        size_t n = (size_t)(p - run);
        if (o + n + 1 > cap) /* and the closing quote */
            return 0;
        memcpy(out + o, run, n);
        o += n;
        unsigned char c = *p;
        if (!c)
            break;
        size_t need = c == '"' || c == '\\' ? 2 : 6;
        if (o + need + 1 > cap)
            return 0;
        out[o++] = '\\';
        if (need == 2) {
            out[o++] = (char)c;
        } else {
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
        p++;
    }
    out[o++] = '"';
    return o;
}

/* Appends ,"key":<value text> when it fits, else nothing. Written in
 * place after the object's text (several details per event): what does not
 * fit is cut off again by putting the closing brace back. */
static void s_detail_put(hub_detail_t *d, const char *key, const char *value, int quote)
{
    char *out = d->text + d->len;
    size_t cap = sizeof d->text - d->len - 2; /* room for "}" and the NUL */
    size_t n = 0;
    if (d->len > 1 && cap > 0)
        out[n++] = ',';
    size_t k = s_escape(out + n, cap - n, key);
    if (k && n + k < cap) {
        n += k;
        out[n++] = ':';
        if (quote) {
            size_t v = s_escape(out + n, cap - n, value);
            n = v ? n + v : 0;
        } else {
            size_t v = strlen(value);
            if (n + v <= cap) {
                memcpy(out + n, value, v);
                n += v;
            } else {
                n = 0;
            }
        }
    } else {
        n = 0;
    }
    d->len += n;
    d->text[d->len] = '}';
    d->text[d->len + 1] = '\0';
}

void hub_detail_str(hub_detail_t *d, const char *key, const char *value)
{
    if (value)
        s_detail_put(d, key, value, 1);
}

void hub_detail_int(hub_detail_t *d, const char *key, int64_t value)
{
    char text[HUB_I64_TEXT];
    s_detail_put(d, key, hub_i64_text(value, text), 0);
}

void hub_detail_raw(hub_detail_t *d, const char *key, const char *json)
{
    if (json)
        s_detail_put(d, key, json, 0);
}

void hub_detail_members(hub_detail_t *d, const char *members)
{
    size_t len = strlen(members);
    size_t cap = sizeof d->text - d->len - 2; /* room for "}" and the NUL */
    size_t comma = d->len > 1;
    if (len == 0 || comma + len > cap)
        return;
    char *out = d->text + d->len;
    if (comma)
        *out++ = ',';
    memcpy(out, members, len);
    d->len += comma + len;
    d->text[d->len] = '}';
    d->text[d->len + 1] = '\0';
}

const char *hub_detail_text(hub_detail_t *d)
{
    return d->text;
}

size_t hub_detail_quote(char *out, size_t cap, const char *s)
{
    return s_escape(out, cap, s);
}

/* ------------------------------------------------------------ journal */

hub_journal_t *hub_journal_new(void)
{
    return calloc(1, sizeof(hub_journal_t));
}

static void s_free_blocks(s_block_t *b)
{
    while (b) {
        s_block_t *next = b->next;
        free(b);
        b = next;
    }
}

void hub_journal_destroy(hub_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_journal_t *self = *self_p;
    s_free_blocks(self->blocks);
    s_free_blocks(self->spare);
    free(self->audit);
    free(self->deadlines);
    free(self->breaches);
    free(self);
    *self_p = NULL;
}

/* A copy of s that stays put until reset; NULL stays NULL. Sets *failed
 * when out of memory. */
static const char *s_copy(hub_journal_t *self, const char *s, int *failed)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    s_block_t *b = self->blocks;
    if (!b || b->size - b->used < n) {
        if (self->spare && self->spare->size >= n) {
            b = self->spare;
            self->spare = b->next;
            b->used = 0;
        } else {
            size_t size = n > S_BLOCK ? n : S_BLOCK;
            b = malloc(sizeof *b + size);
            if (!b) {
                *failed = 1;
                return NULL;
            }
            b->size = size;
            b->used = 0;
        }
        b->next = self->blocks;
        self->blocks = b;
    }
    char *copy = b->data + b->used;
    memcpy(copy, s, n);
    b->used += n;
    return copy;
}

/* Makes room for one more element in *array. Returns 0 or -ENOMEM. */
static int s_grow(void **array, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t new_cap = *cap ? *cap * 2 : 64;
    void *grown = realloc(*array, new_cap * size);
    if (!grown)
        return -ENOMEM;
    *array = grown;
    *cap = new_cap;
    return 0;
}

int hub_journal_audit(hub_journal_t *self, int event, const char *actor, const char *action, const char *event_id,
                      const char *case_id, const char *department, uint64_t seq, uint64_t seq_to,
                      const char *detail)
{
    if (s_grow((void **)&self->audit, self->naudit, &self->audit_cap, sizeof *self->audit) != 0)
        return -ENOMEM;
    int failed = 0;
    hub_store_audit_t *a = &self->audit[self->naudit];
    memset(a, 0, sizeof *a);
    a->event = event;
    a->ref_event = -1;
    a->row.actor = s_copy(self, actor, &failed);
    a->row.action = action; /* a literal of the caller's */
    a->row.event_id = s_copy(self, event_id && *event_id ? event_id : NULL, &failed);
    a->row.case_id = s_copy(self, case_id && *case_id ? case_id : NULL, &failed);
    a->row.department = s_copy(self, department, &failed);
    a->row.seq = (int64_t)seq;
    a->row.seq_to = (int64_t)(seq_to ? seq_to : seq);
    a->row.detail = s_copy(self, detail ? detail : "{}", &failed);
    if (failed)
        return -ENOMEM;
    self->naudit++;
    return 0;
}

size_t hub_journal_audit_rows(const hub_journal_t *self)
{
    return self->naudit;
}

void hub_journal_refer(hub_journal_t *self, int event, const char *key)
{
    if (self->naudit == 0)
        return;
    self->audit[self->naudit - 1].ref_event = event;
    self->audit[self->naudit - 1].ref_key = key;
}

int hub_journal_deadline(hub_journal_t *self, int event, uint32_t slot, const char *department, const char *case_id,
                         const char *route, int64_t created_ms, int64_t due_ms)
{
    if (s_grow((void **)&self->deadlines, self->ndeadlines, &self->deadlines_cap, sizeof *self->deadlines) != 0)
        return -ENOMEM;
    int failed = 0;
    hub_store_deadline_t *d = &self->deadlines[self->ndeadlines];
    d->event = event;
    d->slot = slot;
    d->department = s_copy(self, department, &failed);
    d->case_id = s_copy(self, case_id, &failed);
    d->route = s_copy(self, route, &failed);
    d->created_ms = created_ms;
    d->due_ms = due_ms;
    if (failed)
        return -ENOMEM;
    self->ndeadlines++;
    return 0;
}

int hub_journal_breach(hub_journal_t *self, uint64_t seq, uint32_t slot, int64_t breached_ms, int escalation)
{
    if (s_grow((void **)&self->breaches, self->nbreaches, &self->breaches_cap, sizeof *self->breaches) != 0)
        return -ENOMEM;
    self->breaches[self->nbreaches++] = (hub_store_breach_t){seq, slot, breached_ms, escalation};
    return 0;
}

int hub_journal_pending(const hub_journal_t *self)
{
    return self->naudit > 0 || self->ndeadlines > 0 || self->nbreaches > 0;
}

void hub_journal_fill(hub_journal_t *self, hub_store_batch_t *batch)
{
    batch->audit = self->audit;
    batch->naudit = self->naudit;
    batch->deadlines = self->deadlines;
    batch->ndeadlines = self->ndeadlines;
    batch->breaches = self->breaches;
    batch->nbreaches = self->nbreaches;
}

void hub_journal_reset(hub_journal_t *self)
{
    self->naudit = self->ndeadlines = self->nbreaches = 0;
    while (self->blocks) {
        s_block_t *b = self->blocks;
        self->blocks = b->next;
        b->next = self->spare;
        self->spare = b;
    }
}
