/*
 * check.h - the unit tests' few macros. A failed check prints where and
 * what, and the test exits non-zero at the end; each file is a table of
 * named cases run by CHECK_RUN.
 */
#ifndef HUB_CHECK_H_INCLUDED
#define HUB_CHECK_H_INCLUDED

#include <stdio.h>
#include <string.h>

static int check_failures;
static const char *check_case = "";

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "%s:%d: [%s] check failed: %s\n", __FILE__, __LINE__, check_case, #cond); \
            check_failures++;                                                                        \
        }                                                                                            \
    } while (0)

#define CHECK_INT(a, b)                                                                                         \
    do {                                                                                                        \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                         \
        if (check_a_ != check_b_) {                                                                             \
            fprintf(stderr, "%s:%d: [%s] %s == %lld, expected %lld\n", __FILE__, __LINE__, check_case, #a,      \
                    check_a_, check_b_);                                                                        \
            check_failures++;                                                                                   \
        }                                                                                                       \
    } while (0)

#define CHECK_STR(a, b)                                                                                         \
    do {                                                                                                        \
        const char *check_a_ = (a), *check_b_ = (b);                                                            \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                                       \
            fprintf(stderr, "%s:%d: [%s] %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, check_case, #a,  \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                            \
            check_failures++;                                                                                   \
        }                                                                                                       \
    } while (0)

/* err contains the text */
#define CHECK_HAS(hay, needle)                                                                                  \
    do {                                                                                                        \
        const char *check_h_ = (hay), *check_n_ = (needle);                                                     \
        if (!check_h_ || !strstr(check_h_, check_n_)) {                                                         \
            fprintf(stderr, "%s:%d: [%s] \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, check_case,     \
                    check_h_ ? check_h_ : "(null)", check_n_);                                                  \
            check_failures++;                                                                                   \
        }                                                                                                       \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} check_case_t;

/* Runs every case of a NULL-terminated table; returns the exit status. */
static inline int check_run(const check_case_t *cases)
{
    int ran = 0;
    for (const check_case_t *c = cases; c->name; c++) {
        int before = check_failures;
        check_case = c->name;
        c->fn();
        printf("%s %s\n", check_failures == before ? "ok  " : "FAIL", c->name);
        ran++;
    }
    printf("%d cases, %d failed checks\n", ran, check_failures);
    return check_failures ? 1 : 0;
}

#endif
