/*
 * fuzz - what every fuzz target shares.
 *
 * A target is one LLVMFuzzerTestOneInput that feeds its input to a parser and
 * then checks the parser's contract on what came out. It is linked twice:
 * with libFuzzer (clang, -fsanitize=fuzzer) to search for inputs, and with
 * replay.c (any compiler) to run the seed corpus and the saved crashers as a
 * unit test. A broken contract is reported with FUZZ_CHECK, which prints
 * where and aborts, so that libFuzzer saves the input and the replay fails.
 */
#ifndef HUB_FUZZ_H_INCLUDED
#define HUB_FUZZ_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The entry point libFuzzer (or replay.c) calls with each input. Returns 0:
 * every input is worth keeping. Never blocks; frees all it allocates. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the file, line and what held false when cond is false. */
#define FUZZ_CHECK(cond, what)                                                                                         \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: contract broken: %s (%s)\n", __FILE__, __LINE__, (what), #cond);                   \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* 1 when err holds a message: not empty, and terminated within its size. */
static inline int fuzz_err_ok(const char *err, size_t size)
{
    size_t n = 0;
    while (n < size && err[n])
        n++;
    return n > 0 && n < size;
}

#endif
