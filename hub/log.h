/*
 * log - one-line log records on stderr: "2026-11-23T10:00:00.000Z hubd warn: ...".
 */
#ifndef HUB_LOG_H_INCLUDED
#define HUB_LOG_H_INCLUDED

typedef enum { HUB_LOG_DEBUG, HUB_LOG_INFO, HUB_LOG_WARN, HUB_LOG_ERROR } hub_log_level_t;

/* Sets the program name shown in records and the lowest level printed.
 * Call it once at start, before other threads log. Until then records are
 * printed as "hub" at info and above. */
void hub_log_init(const char *program, hub_log_level_t min_level);

/* Writes one record when level is at or above the minimum. The record is
 * one line: control characters in the text become spaces, and text beyond
 * HUB_LOG_LINE bytes is cut with "...". It goes out in one write(2), so
 * records from several threads or processes do not interleave. Never fails
 * (a record that cannot be written is dropped). */
void hub_log(hub_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a level name (debug, info, warn, error). Returns 0, or
 * -HUB_EINVALID when text is none of them. */
int hub_log_level_parse(const char *text, hub_log_level_t *level_p);

/* The level's name ("info"); "?" for a value out of range. */
const char *hub_log_level_name(hub_log_level_t level);

#define HUB_LOG_LINE 4096 /* bytes of one record, newline included */

#define hub_debug(...) hub_log(HUB_LOG_DEBUG, __VA_ARGS__)
#define hub_info(...) hub_log(HUB_LOG_INFO, __VA_ARGS__)
#define hub_warn(...) hub_log(HUB_LOG_WARN, __VA_ARGS__)
#define hub_error(...) hub_log(HUB_LOG_ERROR, __VA_ARGS__)

#endif
