/*
 * clock - wall and monotonic time in milliseconds, RFC 3339 timestamps and
 * human durations ("90s", "30m", "4h", "2d").
 */
#ifndef HUB_CLOCK_H_INCLUDED
#define HUB_CLOCK_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define HUB_TIME_LEN 32 /* room for "2026-11-23T10:00:00.000Z" */

/* Milliseconds since the Unix epoch (wall clock). */
int64_t hub_now_ms(void);

/* Milliseconds on a monotonic clock (for timeouts; not a date). */
int64_t hub_mono_ms(void);

/* Microseconds on the same monotonic clock (for measuring durations). */
int64_t hub_mono_us(void);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds:
 * "2026-11-23T10:00:00.000Z". Always NUL-terminates out. */
void hub_time_format(int64_t ms, char out[HUB_TIME_LEN]);

/* Parses an RFC 3339 timestamp ("2026-11-23T10:00:00Z", fractional seconds
 * and "+02:00" offsets allowed) into ms since the epoch. Returns 0, or
 * -HUB_EINVALID when the text is not one. */
int hub_time_parse(const char *text, int64_t *ms_p);

/* Parses a duration: a positive integer and one unit of s, m, h or d
 * ("90s", "30m", "4h", "2d") into milliseconds. Returns 0, or -HUB_EINVALID
 * and fills err with what is wrong. */
int hub_duration_parse(const char *text, int64_t *ms_p, char *err, size_t errlen);

#endif
