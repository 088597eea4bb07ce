/*
 * replay - runs a fuzz target's LLVMFuzzerTestOneInput on saved inputs,
 * without libFuzzer, so that any compiler replays the seed corpus and the
 * crashers as a unit test.
 *
 *   replay_<target> PATH...
 *
 * Each PATH is a file or a directory whose files (not its subdirectories,
 * nor names starting with '.') are run, in name order. A PATH that does not
 * exist is an error; an empty directory is fine. A broken contract aborts
 * inside the target, which fails the test with the file named just before.
 * Exit 0 when every input ran, 1 when a file could not be read, 2 on usage.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define S_MAX_INPUT (16u * 1024 * 1024) /* bytes of the largest input replayed */

/* Reads a whole file into a malloc'd buffer. Returns 0 and sets *data_p and
 * *size_p (the caller frees *data_p), or -errno. */
static int s_read_file(const char *path, uint8_t **data_p, size_t *size_p)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    uint8_t *data = NULL;
    size_t size = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (size == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > S_MAX_INPUT) {
                rc = -EFBIG;
                break;
            }
            uint8_t *n = realloc(data, ncap);
            if (!n) {
                rc = -ENOMEM;
                break;
            }
            data = n;
            cap = ncap;
        }
        size_t got = fread(data + size, 1, cap - size, f);
        size += got;
        if (got == 0) {
            if (ferror(f))
                rc = -EIO;
            break;
        }
    }
    fclose(f);
    if (rc < 0) {
        free(data);
        return rc;
    }
    *data_p = data;
    *size_p = size;
    return 0;
}

/* Runs one file. Returns 0, or 1 when it could not be read. */
static int s_run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = s_read_file(path, &data, &size);
    if (rc < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(-rc));
        return 1;
    }
    printf("replay: %s (%zu bytes)\n", path, size);
    fflush(stdout);
    /* a copy of exactly size bytes, so that an over-read is caught by the
     * sanitizers as it would be under libFuzzer */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        fprintf(stderr, "replay: %s: out of memory\n", path);
        return 1;
    }
    if (size)
        memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

static int s_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the files of a directory in name order. Returns the failures, and
 * sets *count_p to the files run. */
static int s_run_dir(const char *dir, size_t *count_p)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int failed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *path = malloc(len);
        if (!path) {
            failed++;
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *names);
            if (!nn) {
                free(path);
                failed++;
                break;
            }
            names = nn;
            cap = ncap;
        }
        names[n++] = path;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, s_compare);
    for (size_t i = 0; i < n; i++) {
        failed += s_run_file(names[i]);
        free(names[i]);
    }
    free(names);
    *count_p += n;
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH...\n", argv[0]);
        return 2;
    }
    size_t count = 0;
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            failed++;
        } else if (S_ISDIR(st.st_mode)) {
            failed += s_run_dir(argv[i], &count);
        } else {
            failed += s_run_file(argv[i]);
            count++;
        }
    }
    printf("replay: %zu inputs, %d unreadable\n", count, failed);
    return failed ? 1 : 0;
}
