/*
 * walbuf - one write per commit for the WAL (see walbuf.h for the rules).
 *
 * A wrapped WAL file is an s_file_t followed, in the memory SQLite gives
 * xOpen, by the default VFS's own file object, which does the I/O.
 */
#include "walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define S_WAL_HEADER 32   /* bytes of the WAL's own header, at offset 0 */
#define S_FRAME_HEADER 24 /* bytes of a frame's header, before its page */

typedef struct {
    sqlite3_file base;   /* SQLite's view: methods = s_methods */
    sqlite3_file *real;  /* the default VFS's file, just after this struct */
    uint8_t *buf;        /* HUB_WALBUF_BYTES, or NULL before the first write */
    size_t len;          /* bytes gathered */
    sqlite3_int64 start; /* file offset of buf[0] */
    int commit_page;     /* 1: the next write is the page of a commit frame */
} s_file_t;

static sqlite3_vfs *s_real;
static sqlite3_vfs s_vfs;
static sqlite3_io_methods s_methods;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_registered = -1;
static atomic_uint_fast64_t s_asked, s_written;

static sqlite3_file *s_real_file(sqlite3_file *f)
{
    return ((s_file_t *)f)->real;
}

/* Rule 3: writes out what is gathered. */
static int s_flush(s_file_t *self)
{
    if (self->len == 0)
        return SQLITE_OK;
    size_t len = self->len;
    self->len = 0;
    atomic_fetch_add_explicit(&s_written, 1, memory_order_relaxed);
    return self->real->pMethods->xWrite(self->real, self->buf, (int)len, self->start);
}

static int s_write(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset)
{
    s_file_t *self = (s_file_t *)f;
    atomic_fetch_add_explicit(&s_asked, 1, memory_order_relaxed);
    size_t n = (size_t)amount;
    int commit_page = self->commit_page;
    /* a frame header's bytes 4-7: the database size in pages after the
     * commit, zero for every frame but a commit's last */
    const uint8_t *b = data;
    self->commit_page =
        n == S_FRAME_HEADER && offset >= S_WAL_HEADER && (b[4] | b[5] | b[6] | b[7]) != 0;

    int continues = self->len > 0 && offset == self->start + (sqlite3_int64)self->len;
    if (!continues || self->len + n > HUB_WALBUF_BYTES) {
        int rc = s_flush(self);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (!self->buf && n < HUB_WALBUF_BYTES) {
        self->buf = malloc(HUB_WALBUF_BYTES);
        if (!self->buf)
            return SQLITE_IOERR_NOMEM;
    }
    if (n >= HUB_WALBUF_BYTES) {
        atomic_fetch_add_explicit(&s_written, 1, memory_order_relaxed);
        return self->real->pMethods->xWrite(self->real, data, amount, offset);
    }
    if (self->len == 0)
        self->start = offset;
    memcpy(self->buf + self->len, data, n);
    self->len += n;
    return commit_page ? s_flush(self) : SQLITE_OK;
}

static int s_close(sqlite3_file *f)
{
    s_file_t *self = (s_file_t *)f;
    int rc = s_flush(self);
    int rc_close = self->real->pMethods->xClose(self->real);
    free(self->buf);
    self->buf = NULL;
    return rc != SQLITE_OK ? rc : rc_close;
}

/* Rule 3: every other method writes out what is gathered first. */
#define S_FLUSH_FIRST(f)                           \
    do {                                           \
        int flush_rc = s_flush((s_file_t *)(f));   \
        if (flush_rc != SQLITE_OK)                 \
            return flush_rc;                       \
    } while (0)

static int s_read(sqlite3_file *f, void *data, int amount, sqlite3_int64 offset)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xRead(s_real_file(f), data, amount, offset);
}

static int s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xTruncate(s_real_file(f), size);
}

static int s_sync(sqlite3_file *f, int flags)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xSync(s_real_file(f), flags);
}

static int s_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xFileSize(s_real_file(f), size);
}

static int s_lock(sqlite3_file *f, int level)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xLock(s_real_file(f), level);
}

static int s_unlock(sqlite3_file *f, int level)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xUnlock(s_real_file(f), level);
}

static int s_check_reserved(sqlite3_file *f, int *out)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xCheckReservedLock(s_real_file(f), out);
}

static int s_file_control(sqlite3_file *f, int op, void *arg)
{
    S_FLUSH_FIRST(f);
    return s_real_file(f)->pMethods->xFileControl(s_real_file(f), op, arg);
}

static int s_sector_size(sqlite3_file *f)
{
    return s_real_file(f)->pMethods->xSectorSize(s_real_file(f));
}

static int s_device_characteristics(sqlite3_file *f)
{
    return s_real_file(f)->pMethods->xDeviceCharacteristics(s_real_file(f));
}

/* Rule 1: a WAL file gets s_methods over the default VFS's file; any
 * other file is opened by the default VFS into SQLite's memory as is. */
static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return s_real->xOpen(s_real, name, f, flags, out_flags);
    s_file_t *self = (s_file_t *)f;
    memset(self, 0, sizeof(*self));
    self->real = (sqlite3_file *)(self + 1);
    int rc = s_real->xOpen(s_real, name, self->real, flags, out_flags);
    /* SQLite calls xClose only when pMethods is set, so it stays NULL
     * when the default VFS could not open the file */
    if (rc == SQLITE_OK && self->real->pMethods)
        self->base.pMethods = &s_methods;
    else if (self->real->pMethods)
        self->real->pMethods->xClose(self->real);
    return rc;
}

/* The rest of the VFS is the default one's, called with its own object. */
static int s_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return s_real->xDelete(s_real, name, sync_dir);
}

static int s_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return s_real->xAccess(s_real, name, flags, out);
}

static int s_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return s_real->xFullPathname(s_real, name, n, out);
}

static void *s_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return s_real->xDlOpen(s_real, name);
}

static void s_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    s_real->xDlError(s_real, n, msg);
}

static void (*s_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void)
{
    (void)vfs;
    return s_real->xDlSym(s_real, handle, symbol);
}

static void s_dl_close(sqlite3_vfs *vfs, void *handle)
{
    (void)vfs;
    s_real->xDlClose(s_real, handle);
}

static int s_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_real->xRandomness(s_real, n, out);
}

static int s_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return s_real->xSleep(s_real, us);
}

static int s_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return s_real->xCurrentTime(s_real, out);
}

static int s_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_real->xGetLastError ? s_real->xGetLastError(s_real, n, out) : 0;
}

static int s_current_time_i64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    if (s_real->iVersion >= 2 && s_real->xCurrentTimeInt64)
        return s_real->xCurrentTimeInt64(s_real, out);
    double days;
    int rc = s_real->xCurrentTime(s_real, &days);
    *out = (sqlite3_int64)(days * 86400000.0);
    return rc;
}

static void s_register(void)
{
    s_real = sqlite3_vfs_find(NULL);
    if (!s_real)
        return;
    s_methods = (sqlite3_io_methods){
        .iVersion = 1,
        .xClose = s_close,
        .xRead = s_read,
        .xWrite = s_write,
        .xTruncate = s_truncate,
        .xSync = s_sync,
        .xFileSize = s_file_size,
        .xLock = s_lock,
        .xUnlock = s_unlock,
        .xCheckReservedLock = s_check_reserved,
        .xFileControl = s_file_control,
        .xSectorSize = s_sector_size,
        .xDeviceCharacteristics = s_device_characteristics,
    };
    s_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(s_file_t) + s_real->szOsFile,
        .mxPathname = s_real->mxPathname,
        .zName = HUB_WALBUF_VFS,
        .xOpen = s_open,
        .xDelete = s_delete,
        .xAccess = s_access,
        .xFullPathname = s_full_pathname,
        .xDlOpen = s_dl_open,
        .xDlError = s_dl_error,
        .xDlSym = s_dl_sym,
        .xDlClose = s_dl_close,
        .xRandomness = s_randomness,
        .xSleep = s_sleep,
        .xCurrentTime = s_current_time,
        .xGetLastError = s_last_error,
        .xCurrentTimeInt64 = s_current_time_i64,
    };
    s_registered = sqlite3_vfs_register(&s_vfs, 0) == SQLITE_OK ? 0 : -1;
}

int hub_walbuf_register(void)
{
    pthread_once(&s_once, s_register);
    return s_registered;
}

void hub_walbuf_counts(hub_walbuf_counts_t *out)
{
    out->asked = atomic_load_explicit(&s_asked, memory_order_relaxed);
    out->written = atomic_load_explicit(&s_written, memory_order_relaxed);
}
