/*
 * walbuf - a SQLite VFS that writes a commit's WAL frames with one system
 * call rather than two per page.
 *
 * SQLite appends each frame of a commit to the write-ahead log as two
 * writes: the frame's 24-byte header, then the page. A batch of a thousand
 * events is some two hundred 8 KiB frames, so four hundred pwrite(2)
 * calls, and the fixed cost of a call is most of what it costs to copy a
 * page into the file's cache. This VFS wraps the default one and, for WAL
 * files only, gathers consecutive writes in a buffer.
 *
 * Rules:
 *   1. Only WAL files are wrapped. The database file and every other file
 *      are the default VFS's own, with its methods and no extra call.
 *   2. A write that continues the gathered run and fits is copied into the
 *      buffer; any other write first writes out what is gathered.
 *   3. What is gathered is written out, before the call returns:
 *        - when the page of a commit frame (a frame whose header gives the
 *          database size after the commit) has been added, so that a
 *          commit's frames are in the file before SQLite publishes them
 *          in the WAL index, where other connections read them;
 *        - before any other method on the file (read, sync, truncate,
 *          size, lock, file control, close), so that each sees the file
 *          as SQLite wrote it.
 *      So no frame of a committed transaction is ever only in memory,
 *      whatever the synchronous setting.
 *   4. The error of a gathered write is returned by the call that writes
 *      it out, which is always one of the same transaction's writes or its
 *      sync: SQLite then fails and rolls back that transaction, as it
 *      would for an error of the write itself.
 *   5. The buffer (HUB_WALBUF_BYTES) is allocated at the first write and
 *      freed when the file closes; a write larger than it goes straight
 *      to the file. It is smaller than 128 KiB: the default VFS writes at
 *      most that much in one call, and fails a write that leaves it a
 *      multiple of 128 KiB to do (SQLite's own writes are a page at most,
 *      so it never meets that).
 *
 * Safe from any thread: a file handle is used by one connection, which
 * SQLite uses from one thread at a time.
 */
#ifndef HUB_WALBUF_H_INCLUDED
#define HUB_WALBUF_H_INCLUDED

#include <stdint.h>

#define HUB_WALBUF_VFS "hub-walbuf"
#define HUB_WALBUF_BYTES (120 * 1024)

/* Registers the VFS under HUB_WALBUF_VFS (not as the default), once per
 * process; later calls return what the first did. Returns 0, or -1 when
 * SQLite has no default VFS or refused it. */
int hub_walbuf_register(void);

/* Calls made since the process started, for tests and benchmarks: writes
 * SQLite asked of WAL files, and the writes that reached them. */
typedef struct {
    uint64_t asked;
    uint64_t written;
} hub_walbuf_counts_t;

void hub_walbuf_counts(hub_walbuf_counts_t *out);

#endif
