/*
 * plain - the run of plain bytes, a word at a time.
 *
 * Each test below flags a word when one of its bytes matches (the usual
 * "has a zero byte" and "has a byte less than n" forms, exact for whether
 * any byte matches). A flagged word is looked at byte by byte to find
 * where the run ends.
 */
#include <stdint.h>
#include <string.h>

#include "plain.h"

#define S_ONES 0x0101010101010101ULL
#define S_HIGHS 0x8080808080808080ULL

/* The high bit of some byte of the result is set when a byte of x is 0. */
static inline uint64_t s_zero(uint64_t x)
{
    return (x - S_ONES) & ~x;
}

static inline int s_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

size_t hub_plain_run(const char *s, size_t len)
{
    size_t i = 0;
    for (; len - i >= sizeof(uint64_t); i += sizeof(uint64_t)) {
        uint64_t x;
        memcpy(&x, s + i, sizeof x);
        uint64_t hit = ((x - S_ONES * 0x20) & ~x) | s_zero(x ^ (S_ONES * '"')) | s_zero(x ^ (S_ONES * '\\')) | x;
        if (hit & S_HIGHS)
            break;
    }
    while (i < len && s_plain((unsigned char)s[i]))
        i++;
    return i;
}
