/*
 * cmd_publish - hubctl publish [FILE|-]
 *
 * The input is one JSON event (an object, possibly pretty-printed over many
 * lines), a JSON array of events, or JSON lines (one event per line).
 * Events are pipelined (hub_publish_async) and their acks printed in input
 * order, one JSON line each.
 *
 * Rules:
 *   1. The whole input is first parsed as one JSON value. When that fails
 *      and some line holds a JSON object by itself, the input is JSON lines;
 *      otherwise the parse error (line and column) is the answer.
 *   2. A rejected event prints "hubctl: line N (id X): <reason>" on stderr
 *      (event N for an array) and the others go on; the exit code is 1 then.
 *   3. Output follows input order: an outcome is printed once every event
 *      before it has been printed.
 *   4. When the hub gives no answer for --timeout (no ack at all in that
 *      time), the command stops with exit code 3 and says how many events
 *      were left without an answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "hubctl.h"

#define S_WAIT_BATCH 64 /* outcomes collected per hub_publish_wait */

/* One event between being sent and its line being printed. */
typedef struct {
    uint64_t token;              /* hub_publish_async's; for a local rejection the last token before it */
    int sent;                    /* 1: token is its own */
    int done;                    /* 1: outcome known */
    int status;                  /* 0: stored; else a negative code */
    size_t index;                /* line number, or position in the array (1-based) */
    const char *text;            /* the event's JSON text */
    char *owned;                 /* text when it was made here (array elements); else NULL */
    hub_publish_result_t result; /* when status == 0 (and result.id maybe on failure) */
    char *err;                   /* the reason when status != 0 (owned) */
} s_item_t;

typedef enum {
    S_MODE_ONE,   /* the input is one event */
    S_MODE_ARRAY, /* a JSON array of events */
    S_MODE_LINES, /* one event per line */
} s_mode_t;

typedef struct {
    hubctl_t *g;          /* global options */
    hub_client_t *client; /* the connection */
    s_mode_t mode;        /* how the input is cut */
    s_item_t *items;      /* FIFO: [head, len) are unprinted */
    size_t head;          /* first unprinted */
    size_t len;           /* items in use */
    size_t cap;           /* items allocated */
    uint64_t last_token;  /* the last token handed out */
    int unordered;        /* 1: tokens did not increase; search linearly */
    size_t sent;          /* events handed to libhub */
    size_t stored;        /* acks printed */
    size_t rejected;      /* rejections printed */
    int write_failed;     /* stdout could not be written */
    size_t stopped_at;    /* the first event not sent after a timeout; 0: none */
} s_publish_t;

static void s_help(void)
{
    fputs("usage: hubctl publish [FILE|-]\n"
          "\n"
          "Publishes customer events to the hub and prints, in input order, one line per\n"
          "acknowledgement: {\"id\":\"...\",\"seq\":N,\"duplicate\":false,\"notifications\":K}.\n"
          "FILE (default: stdin) holds one JSON event (it may span many lines), a JSON array\n"
          "of events, or JSON lines (one event per line). An event is acknowledged only once\n"
          "the hub has stored it; an event without \"id\" gets one, so a retry is stored once.\n"
          "\n"
          "A rejected event is reported on stderr as 'hubctl: line N (id X): reason' and the\n"
          "others are still published.\n"
          "\n"
          "options:\n"
          "  --hub EP        the hub's endpoint\n"
          "  --timeout SEC   give up when the hub answers nothing for this long (default 10)\n"
          "  -h, --help      this text\n"
          "\n"
          "exit codes: 0 all stored, 1 some rejected, 2 usage, 3 hub not answering\n",
          stdout);
}

/* The event's own "id" for messages, or NULL. Parses text again: only
 * called for a rejected event. The caller frees the result. */
static char *s_event_id(const char *text)
{
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    const char *id = json_is_object(doc) ? json_string_value(json_object_get(doc, "id")) : NULL;
    char *copy = id && *id ? strdup(id) : NULL;
    json_decref(doc);
    return copy;
}

static const char *s_where_word(const s_publish_t *self)
{
    return self->mode == S_MODE_ARRAY ? "event" : "line";
}

/* Prints one finished item. */
static void s_print_item(s_publish_t *self, s_item_t *item)
{
    if (item->status == 0) {
        if (!self->write_failed) {
            int rc = hubctl_print_ack(&item->result);
            if (rc != 0) {
                hubctl_fail("publish: stdout: %s", strerror(-rc));
                self->write_failed = 1;
            }
        }
        self->stored++;
        return;
    }
    char *id = item->result.id[0] ? strdup(item->result.id) : s_event_id(item->text);
    const char *err = item->err && *item->err ? item->err : hub_strerror(item->status);
    /* In JSON lines each event is a one-line document: "line 1 column 7"
     * from the parser means column 7 of this line. */
    if (self->mode == S_MODE_LINES && strncmp(err, "line 1 ", 7) == 0)
        err += 7;
    if (id)
        fprintf(stderr, "hubctl: %s %zu (id %s): %s\n", s_where_word(self), item->index, id, err);
    else
        fprintf(stderr, "hubctl: %s %zu: %s\n", s_where_word(self), item->index, err);
    free(id);
    self->rejected++;
}

/* Prints the finished items at the head of the queue, in order. */
static void s_print_ready(s_publish_t *self)
{
    while (self->head < self->len && self->items[self->head].done) {
        s_item_t *item = &self->items[self->head++];
        s_print_item(self, item);
        free(item->owned);
        free(item->err);
        item->owned = NULL;
        item->err = NULL;
    }
    if (self->head == self->len)
        self->head = self->len = 0;
}

/* Appends an item. Returns it, or NULL on ENOMEM. */
static s_item_t *s_push(s_publish_t *self)
{
    if (self->len == self->cap && self->head > 0) {
        memmove(self->items, self->items + self->head, (self->len - self->head) * sizeof *self->items);
        self->len -= self->head;
        self->head = 0;
    }
    if (self->len == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        s_item_t *items = realloc(self->items, cap * sizeof *items);
        if (!items)
            return NULL;
        self->items = items;
        self->cap = cap;
    }
    s_item_t *item = &self->items[self->len++];
    memset(item, 0, sizeof *item);
    return item;
}

/* The unfinished item sent with token, or NULL. */
static s_item_t *s_find(s_publish_t *self, uint64_t token)
{
    if (self->unordered) {
        for (size_t i = self->head; i < self->len; i++)
            if (self->items[i].sent && self->items[i].token == token)
                return &self->items[i];
        return NULL;
    }
    /* tokens never decrease along the queue: the first item >= token */
    size_t lo = self->head, hi = self->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->items[mid].token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < self->len && self->items[lo].sent && self->items[lo].token == token)
        return &self->items[lo];
    return NULL;
}

/* Records outcomes that arrived within timeout_ms. Returns how many. */
static int s_collect(s_publish_t *self, int timeout_ms)
{
    hub_publish_outcome_t out[S_WAIT_BATCH];
    int n = hub_publish_wait(self->client, out, S_WAIT_BATCH, timeout_ms);
    for (int i = 0; i < n; i++) {
        s_item_t *item = s_find(self, out[i].token);
        if (!item || item->done)
            continue; /* not ours: cannot happen with one client per command */
        item->done = 1;
        item->status = out[i].status;
        item->result = out[i].result;
        if (out[i].status != 0)
            item->err = strdup(out[i].err);
    }
    if (n > 0)
        s_print_ready(self);
    return n > 0 ? n : 0;
}

/* Sends one event; a local rejection becomes a finished item. Returns 0,
 * -ETIMEDOUT when the window stayed full for the timeout, -EINTR when a
 * signal stopped the wait, or -ENOMEM. */
static int s_send(s_publish_t *self, size_t index, const char *text, char *owned)
{
    s_item_t *item = s_push(self);
    if (!item) {
        free(owned);
        return -ENOMEM;
    }
    item->index = index;
    item->text = text;
    item->owned = owned;
    char err[HUB_ERR_LEN] = "";
    uint64_t token = 0;
    int rc = hub_publish_async(self->client, text, &token, err);
    if (rc == -ETIMEDOUT || rc == -EINTR || (rc < 0 && hubctl_stop)) {
        free(item->owned);
        self->len--; /* not sent: forget it */
        self->stopped_at = index;
        return rc == -ETIMEDOUT ? rc : -EINTR;
    }
    if (rc == 0) {
        if (token <= self->last_token)
            self->unordered = 1;
        self->last_token = token;
        item->token = token;
        item->sent = 1;
        self->sent++;
    } else {
        item->token = self->last_token;
        item->done = 1;
        item->status = rc;
        item->err = strdup(err);
    }
    /* take what has arrived meanwhile, without waiting */
    s_collect(self, 0);
    s_print_ready(self);
    return 0;
}

/* Is there anything but white space in text[0..len)? */
static int s_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
            return 0;
    return 1;
}

/* Does some non-blank line of data hold a JSON object by itself? */
static int s_looks_like_lines(const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (!s_blank(p, n)) {
            json_t *doc = json_loadb(p, n, 0, NULL);
            int object = json_is_object(doc);
            json_decref(doc);
            if (object)
                return 1;
        }
        p += n + 1;
    }
    return 0;
}

static const char *s_json_kind(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* The line of the first character that is not white space (1-based). */
static size_t s_first_line(const char *data, size_t len)
{
    size_t line = 1;
    for (size_t i = 0; i < len && s_blank(data + i, 1); i++)
        if (data[i] == '\n')
            line++;
    return line;
}

/* Feeds every event of the input to s_send. Returns 0, -ETIMEDOUT, -EINTR
 * (a signal stopped it) or -ENOMEM. */
static int s_send_all(s_publish_t *self, char *data, size_t len, json_t *doc)
{
    int rc = 0;
    if (self->mode == S_MODE_ONE)
        return s_send(self, s_first_line(data, len), data, NULL);
    if (self->mode == S_MODE_ARRAY) {
        for (size_t i = 0; i < json_array_size(doc) && rc == 0; i++) {
            if (hubctl_stop) {
                self->stopped_at = i + 1;
                return -EINTR;
            }
            json_t *event = json_array_get(doc, i);
            char *text = json_dumps(event, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!text)
                return -ENOMEM;
            rc = s_send(self, i + 1, text, text);
        }
        return rc;
    }
    char *p = data, *end = data + len;
    for (size_t line = 1; p < end && rc == 0; line++) {
        if (hubctl_stop) {
            self->stopped_at = line;
            return -EINTR;
        }
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        p[n] = '\0'; /* the buffer is NUL-terminated at len, so this is in bounds */
        if (!s_blank(p, n))
            rc = s_send(self, line, p, NULL);
        p += n + 1;
    }
    return rc;
}

/* Waits for every sent event's outcome. Returns 0, -ETIMEDOUT when the hub
 * answered nothing for the timeout, or -EINTR. */
static int s_drain(s_publish_t *self)
{
    int64_t last_progress = hubctl_mono_ms();
    while (self->head < self->len) {
        if (hubctl_stop)
            return -EINTR;
        if (s_collect(self, HUBCTL_TICK_MS) > 0)
            last_progress = hubctl_mono_ms();
        else if (hubctl_mono_ms() - last_progress >= self->g->timeout_ms)
            return -ETIMEDOUT;
    }
    return 0;
}

int hubctl_cmd_publish(hubctl_t *g, int argc, char **argv)
{
    static const struct option options[] = {HUBCTL_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    const char *cmd = "publish";
    int stop;
    while (hubctl_getopt(g, cmd, argc, argv, ":h", options, s_help, &stop) != -1)
        ; /* no options of its own */
    if (stop >= 0)
        return stop;
    if (argc - optind > 1)
        return hubctl_usage_error(cmd, "one input at most (FILE or - for stdin), got \"%s\" too", argv[optind + 1]);
    const char *path = optind < argc ? argv[optind] : "-";
    const char *name = hubctl_input_name(path);

    if (strcmp(path, "-") == 0 && isatty(STDIN_FILENO))
        fputs("hubctl: reading events from stdin (end with Ctrl-D)\n", stderr);
    char *data = NULL;
    size_t len = 0;
    char err[HUB_ERR_LEN] = "";
    if (hubctl_read_input(path, &data, &len, err) != 0)
        return hubctl_fail("publish: %s", err);
    if (s_blank(data, len)) {
        free(data);
        return hubctl_fail("publish: %s: no events (the input is empty)", name);
    }

    s_publish_t self = {.g = g, .mode = S_MODE_LINES};
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_DECODE_ANY, &jerr);
    if (json_is_object(doc))
        self.mode = S_MODE_ONE;
    else if (json_is_array(doc))
        self.mode = S_MODE_ARRAY;
    else if (doc) {
        int rc = hubctl_fail("publish: %s: expected a JSON event (an object), an array of events or JSON lines, got %s",
                             name, s_json_kind(doc));
        json_decref(doc);
        free(data);
        return rc;
    } else if (!s_looks_like_lines(data, len)) {
        free(data);
        return hubctl_fail("publish: %s: not JSON: line %d column %d: %s", name, jerr.line, jerr.column, jerr.text);
    }
    if (self.mode == S_MODE_ARRAY && json_array_size(doc) == 0) {
        json_decref(doc);
        free(data);
        return hubctl_fail("publish: %s: no events (the array is empty)", name);
    }

    self.client = hubctl_client_new(g);
    if (!self.client) {
        json_decref(doc);
        free(data);
        return HUBCTL_FAILED;
    }
    int rc = s_send_all(&self, data, len, doc);
    if (rc == 0)
        rc = s_drain(&self);
    /* print what is complete even when stopping early, skipping the
     * events still unanswered */
    s_print_ready(&self);
    for (size_t i = self.head; i < self.len; i++)
        if (self.items[i].done)
            s_print_item(&self, &self.items[i]);

    int exit_code = self.rejected || self.write_failed ? HUBCTL_FAILED : HUBCTL_OK;
    size_t unanswered = 0;
    for (size_t i = self.head; i < self.len; i++)
        unanswered += !self.items[i].done;
    char deferred[HUB_ERR_LEN] = "";
    if (rc == -ETIMEDOUT && hub_publish_deferred(self.client, deferred) < 0) {
        /* the hub answers, but cannot store now: say what it said */
        exit_code = hubctl_fail("publish: the hub cannot store events now: %s", deferred);
        if (self.stopped_at)
            fprintf(stderr, "hubctl: publish: stopped before %s %zu (not sent, nor what follows)\n",
                    s_where_word(&self), self.stopped_at);
        fprintf(stderr, "hubctl: publish: %zu of %zu events sent are not stored; publish them again later "
                "(an event with an \"id\" is stored once however often it is published)\n",
                unanswered, self.sent);
    } else if (rc == -ETIMEDOUT) {
        exit_code = hubctl_call_failed(g, "publish", rc, NULL);
        if (self.stopped_at)
            fprintf(stderr, "hubctl: publish: stopped before %s %zu (not sent, nor what follows)\n",
                    s_where_word(&self), self.stopped_at);
        fprintf(stderr,
                "hubctl: publish: %zu of %zu events sent got no answer: they may or may not be stored "
                "(an event with an \"id\" is stored once however often it is published)\n",
                unanswered, self.sent);
    } else if (rc == -EINTR) {
        if (self.stopped_at)
            fprintf(stderr, "hubctl: publish: stopped before %s %zu (not sent, nor what follows)\n",
                    s_where_word(&self), self.stopped_at);
        exit_code = hubctl_fail("publish: interrupted; %zu events sent were not acknowledged", unanswered);
    } else if (rc < 0) {
        exit_code = hubctl_fail("publish: %s", hub_strerror(rc));
    } else if (self.rejected) {
        fprintf(stderr, "hubctl: publish: %zu stored, %zu rejected\n", self.stored, self.rejected);
    }

    for (size_t i = self.head; i < self.len; i++) {
        free(self.items[i].owned);
        free(self.items[i].err);
    }
    free(self.items);
    hub_client_destroy(&self.client);
    json_decref(doc);
    free(data);
    return exit_code;
}
