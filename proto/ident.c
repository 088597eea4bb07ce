/*
 * ident - UUIDv7 (RFC 9562 section 5.7): the time, then bits from the
 * kernel's random source; and the user names of on_behalf_of.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ident.h"
#include "sha256.h"

int hub_random_bytes(void *out, size_t len)
{
    uint8_t *buf = out;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (got == len)
        return 0;

    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    close(fd);
    return got == len ? 0 : -1;
}

/* Last resort: unique within this host, not unpredictable. */
static void s_fill_fallback(uint8_t *buf, size_t len)
{
    static atomic_uint_fast64_t counter;
    struct {
        struct timespec real, mono;
        pid_t pid;
        uint64_t count;
        const void *stack;
    } seed;
    memset(&seed, 0, sizeof seed);
    clock_gettime(CLOCK_REALTIME, &seed.real);
    clock_gettime(CLOCK_MONOTONIC, &seed.mono);
    seed.pid = getpid();
    seed.count = atomic_fetch_add(&counter, 1);
    seed.stack = &seed;
    uint8_t digest[HUB_SHA256_LEN];
    hub_sha256(&seed, sizeof seed, digest);
    memcpy(buf, digest, len < sizeof digest ? len : sizeof digest);
}

#define S_POOL_LEN 4096 /* random bytes fetched at once: one syscall per 256 ids */

/* Takes len bytes from a per-thread pool of kernel randomness. The pool is
 * tied to the process that filled it, so a forked child never hands out
 * the ids its parent will. */
static void s_take_random(uint8_t *buf, size_t len)
{
    static _Thread_local uint8_t pool[S_POOL_LEN];
    static _Thread_local size_t left;
    static _Thread_local pid_t owner;
    pid_t pid = getpid();
    if (left < len || owner != pid) {
        if (hub_random_bytes(pool, sizeof pool) < 0) {
            left = 0;
            s_fill_fallback(buf, len);
            return;
        }
        left = sizeof pool;
        owner = pid;
    }
    memcpy(buf, pool + sizeof pool - left, len);
    memset(pool + sizeof pool - left, 0, len);
    left -= len;
}

void hub_id_generate(char out[HUB_ID_LEN])
{
    uint8_t b[16];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    /* the millisecond's fraction in 12 bits (RFC 9562 section 6.2, method
     * 3), so that ids made in the same millisecond mostly sort in order too */
    uint32_t frac = (uint32_t)(((uint64_t)(now.tv_nsec % 1000000) << 12) / 1000000);
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (40 - 8 * i)); /* 48 bits, big-endian */
    b[6] = (uint8_t)(0x70 | (frac >> 8));      /* version 7 */
    b[7] = (uint8_t)(frac & 0xff);
    s_take_random(b + 8, 8);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10; 62 random bits */

    char hex[33];
    hub_hex(b, sizeof b, hex);
    /* 8-4-4-4-12 */
    memcpy(out, hex, 8);
    out[8] = '-';
    memcpy(out + 9, hex + 8, 4);
    out[13] = '-';
    memcpy(out + 14, hex + 12, 4);
    out[18] = '-';
    memcpy(out + 19, hex + 16, 4);
    out[23] = '-';
    memcpy(out + 24, hex + 20, 12);
    out[36] = '\0';
}

int hub_user_valid(const char *user)
{
    if (!user)
        return 0;
    size_t n = 0;
    for (const char *p = user; *p; p++, n++) {
        char c = *p;
        if (n >= HUB_USER_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return n > 0;
}

const char *hub_actor_compose(const char *user, const char *identity, char out[HUB_ACTOR_LEN])
{
    if (user && *user)
        snprintf(out, HUB_ACTOR_LEN, "%s@%s", user, identity ? identity : "");
    else
        snprintf(out, HUB_ACTOR_LEN, "%s", identity ? identity : "");
    return out;
}
