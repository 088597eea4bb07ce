/*
 * reader - answers audit readings (AuditQuery frames) off the broker loop.
 *
 * A case's history or a verification of the whole chain reads the audit
 * table, which grows by several rows per event: on a long log that takes
 * seconds, and the loop must not stop publishing for it. The reader is a
 * thread of its own with its own read-only SQLite connection (WAL: it
 * reads the last commit while the loop writes the next), and talks to the
 * loop only in ZeroMQ messages over an inproc PAIR socket:
 *
 *   loop -> reader   [client routing id][request]    hub_reader_ask
 *   reader -> loop   [client routing id][frame]      hub_reader_take
 *
 * Rules
 *   1. The loop checks access and the request's fields before it asks;
 *      the reader only reads and answers (an AuditReply, or an Error frame
 *      when the reading fails).
 *   2. A reading sees every commit made before it was asked, so a client
 *      that was acknowledged finds its rows.
 *   3. The reader holds no broker state; the loop sends every answer, so
 *      the ROUTER socket stays the loop's alone.
 *   4. Requests wait in the socket's queue (at most HUB_READER_QUEUE); past
 *      that hub_reader_ask refuses and the client is told to retry.
 */
#ifndef HUB_READER_H_INCLUDED
#define HUB_READER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "hub.h"
#include "hub.pb-c.h"

#define HUB_READER_QUEUE 64              /* readings waiting for the reader at most */
#define HUB_READER_DEFAULT_ROWS 1000     /* rows of an AuditQuery that names no limit */
#define HUB_READER_MAX_ROWS 10000        /* rows of an AuditQuery at most */
#define HUB_READER_MAX_REPLY (16u << 20) /* bytes of an AuditReply at most (what libhub takes in one frame) */
#define HUB_THREAD_READER "hubd-reader"  /* the name its thread goes by (ps -L, top -H) */

typedef struct hub_reader hub_reader_t;

/* Opens a read-only connection to the database file db_path and starts
 * the thread, with ctx as the ZeroMQ context of the pair. Replies are at
 * most max_reply bytes (capped at HUB_READER_MAX_REPLY). Returns NULL and
 * fills err when the file cannot be opened or the thread cannot start. */
hub_reader_t *hub_reader_new(void *ctx, const char *db_path, size_t max_reply, char err[HUB_ERR_LEN]);

/* Stops the thread (after the reading in progress) and closes all.
 * Requests not answered yet are dropped: their clients time out and ask
 * again. Accepts NULL; sets *self_p to NULL. */
void hub_reader_destroy(hub_reader_t **self_p);

/* The loop's end of the pair: readable when an answer waits. */
void *hub_reader_socket(hub_reader_t *self);

/* Passes a checked AuditQuery of the client rid (corr: its correlation
 * id; actor: who asked, for the log) to the reader. Does not block.
 * Returns 0; -EAGAIN when HUB_READER_QUEUE requests already wait; -ENOMEM
 * or another -errno. */
int hub_reader_ask(hub_reader_t *self, const uint8_t *rid, size_t rid_len, uint64_t corr, const char *actor,
                   const Hub__AuditQuery *q);

/* Takes one answer that waits, without blocking: the client's routing id
 * into rid and the packed reply frame into frame (both initialised by the
 * caller, who sends them on and closes them). Returns 1, or 0 when none
 * waits. */
int hub_reader_take(hub_reader_t *self, zmq_msg_t *rid, zmq_msg_t *frame);

#endif
