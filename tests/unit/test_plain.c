/*
 * test_plain - the run of plain bytes ends where a byte-by-byte scan ends
 * it, for every byte value at every position of texts around a word long.
 */
#include <string.h>

#include "check.h"
#include "plain.h"

static size_t s_by_bytes(const unsigned char *s, size_t len)
{
    size_t i = 0;
    for (; i < len; i++) {
        unsigned char c = s[i];
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
            break;
    }
    return i;
}

static void test_every_byte_everywhere(void)
{
    unsigned char text[40];
    int wrong = 0;
    for (size_t len = 0; len <= 33; len++)
        for (size_t at = 0; at < len; at++)
            for (int c = 0; c < 256; c++) {
                memset(text, 'a' + (int)(len % 26), sizeof text);
                text[at] = (unsigned char)c;
                if (at + 3 < len)
                    text[at + 3] = '"'; /* a second stop after the first */
                if (hub_plain_run((const char *)text, len) != s_by_bytes(text, len))
                    wrong++;
            }
    CHECK_INT(wrong, 0);
}

static void test_runs(void)
{
    CHECK_INT(hub_plain_run("", 0), 0);
    CHECK_INT(hub_plain_run("plain text, all of it", 21), 21);
    CHECK_INT(hub_plain_run("0123456789abcdef\"x", 18), 16);
    CHECK_INT(hub_plain_run("0123456789abcdef\\x", 18), 16);
    CHECK_INT(hub_plain_run("caf\xc3\xa9 au lait", 13), 3); /* UTF-8: the reader checks it */
    CHECK_INT(hub_plain_run("tab\there", 8), 3);
    CHECK_INT(hub_plain_run("del\x7f", 4), 4);
    CHECK_INT(hub_plain_run("a\0b", 3), 1);
}

static const check_case_t cases[] = {
    {"every byte everywhere", test_every_byte_everywhere},
    {"runs", test_runs},
    {NULL, NULL},
};

int main(void)
{
    return check_run(cases);
}
