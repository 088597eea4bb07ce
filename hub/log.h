/*
 * log - one-line log records on stderr: "2026-11-23T10:00:00.000Z hubd warn: ...".
 */
#ifndef HUB_LOG_H_INCLUDED
#define HUB_LOG_H_INCLUDED

typedef enum { HUB_LOG_DEBUG, HUB_LOG_INFO, HUB_LOG_WARN, HUB_LOG_ERROR } hub_log_level_t;

/* Sets the program name shown in records and the lowest level printed. */
void hub_log_init(const char *program, hub_log_level_t min_level);

void hub_log(hub_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hub_debug(...) hub_log(HUB_LOG_DEBUG, __VA_ARGS__)
#define hub_info(...) hub_log(HUB_LOG_INFO, __VA_ARGS__)
#define hub_warn(...) hub_log(HUB_LOG_WARN, __VA_ARGS__)
#define hub_error(...) hub_log(HUB_LOG_ERROR, __VA_ARGS__)

#endif
