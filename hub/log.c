/*
 * log - one-line log records on stderr.
 *
 *   2026-11-23T10:00:00.123Z hubd info: listening on tcp://127.0.0.1:7200
 *
 * Rules:
 *   1. One record is one line: control characters in the text (a newline
 *      sent by a peer, say) are turned into spaces, so that nobody can forge
 *      a record by putting a line break into an event.
 *   2. One record is one write(2), so records of several threads or
 *      processes sharing stderr never interleave.
 *   3. Logging never fails the caller: a record that cannot be written is
 *      dropped.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hub.h"

#define S_PROGRAM_LEN 32 /* bytes of the program name kept */

static char s_program[S_PROGRAM_LEN] = "hub";
static hub_log_level_t s_min_level = HUB_LOG_INFO;

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

void hub_log_init(const char *program, hub_log_level_t min_level)
{
    if (program && *program) {
        const char *slash = strrchr(program, '/');
        snprintf(s_program, sizeof s_program, "%s", slash && slash[1] ? slash + 1 : program);
    }
    s_min_level = min_level;
}

int hub_log_level_parse(const char *text, hub_log_level_t *level_p)
{
    if (!text)
        return -HUB_EINVALID;
    for (size_t i = 0; i < sizeof s_level_names / sizeof s_level_names[0]; i++) {
        if (strcmp(text, s_level_names[i]) == 0) {
            *level_p = (hub_log_level_t)i;
            return 0;
        }
    }
    return -HUB_EINVALID;
}

const char *hub_log_level_name(hub_log_level_t level)
{
    if ((int)level < 0 || (size_t)level >= sizeof s_level_names / sizeof s_level_names[0])
        return "?";
    return s_level_names[level];
}

/* Writes all of buf to stderr, retrying on EINTR and short writes. */
static void s_write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

void hub_log(hub_log_level_t level, const char *fmt, ...)
{
    if (level < s_min_level)
        return;
    int saved_errno = errno; /* callers log and then look at errno */

    char line[HUB_LOG_LINE];
    char stamp[HUB_TIME_LEN];
    hub_time_format(hub_now_ms(), stamp);
    int head = snprintf(line, sizeof line, "%s %s %s: ", stamp, s_program, hub_log_level_name(level));
    if (head < 0 || (size_t)head >= sizeof line)
        head = 0;

    /* The text goes after the head; one byte stays free for the newline. */
    size_t room = sizeof line - (size_t)head - 1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + head, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t len = (size_t)head + ((size_t)n < room ? (size_t)n : room - 1);
    if ((size_t)n >= room)
        memcpy(line + len - 3, "...", 3);

    for (size_t i = (size_t)head; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            line[i] = ' ';
    }
    line[len++] = '\n';
    s_write_all(line, len);
    errno = saved_errno;
}
