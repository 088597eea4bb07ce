/*
 * keys - CURVE key files (see keys.h for the format and the rules).
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_READ_MAX 64 /* bytes read of a key file: enough to tell it is too long */

static const char s_z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static void s_errf(char err[HUB_ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_errf(char err[HUB_ERR_LEN], const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, HUB_ERR_LEN, fmt, ap);
    va_end(ap);
}

void hub_key_wipe(void *data, size_t len)
{
    explicit_bzero(data, len);
}

/* Checks the bytes of a key file (len of them, the file being file_size
 * bytes long) and copies the key. Returns 0 or -HUB_ECONFIG with err. */
static int s_parse(const char *path, const char *buf, size_t len, long long file_size, char key[HUB_KEY_SIZE],
                   char err[HUB_ERR_LEN])
{
    size_t n = len;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (file_size > (long long)len) {
        s_errf(err, "%s: %lld bytes long; expected a %d-character z85 key and an optional newline", path, file_size,
               HUB_KEY_Z85_LEN);
        return -HUB_ECONFIG;
    }
    if (n == 0) {
        s_errf(err, "%s: is empty; expected a %d-character z85 key (see hubctl keygen)", path, HUB_KEY_Z85_LEN);
        return -HUB_ECONFIG;
    }
    if (n == HUB_KEY_Z85_LEN + 1 && buf[HUB_KEY_Z85_LEN] == '\r' && len == n + 1) {
        s_errf(err, "%s: ends in CR LF; expected the key and a newline alone", path);
        return -HUB_ECONFIG;
    }
    const char *newline = memchr(buf, '\n', n);
    if (newline) {
        s_errf(err, "%s: holds more than one line; expected one %d-character z85 key", path, HUB_KEY_Z85_LEN);
        return -HUB_ECONFIG;
    }
    if (n != HUB_KEY_Z85_LEN) {
        s_errf(err, "%s: expected a %d-character z85 key and an optional newline, found %zu characters", path,
               HUB_KEY_Z85_LEN, n);
        return -HUB_ECONFIG;
    }
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\0' || !strchr(s_z85, buf[i])) {
            s_errf(err, "%s: character %zu (0x%02x) is not z85; expected a key as hubctl keygen writes it", path, i + 1,
                   (unsigned)(unsigned char)buf[i]);
            return -HUB_ECONFIG;
        }
    }
    memcpy(key, buf, n);
    key[n] = '\0';
    uint8_t raw[32];
    if (!zmq_z85_decode(raw, key)) {
        s_errf(err, "%s: not a valid z85 key (a group of five characters is out of range)", path);
        hub_key_wipe(key, HUB_KEY_SIZE);
        return -HUB_ECONFIG;
    }
    hub_key_wipe(raw, sizeof raw);
    return 0;
}

int hub_key_read(const char *path, int secret, char key[HUB_KEY_SIZE], char err[HUB_ERR_LEN])
{
    memset(key, 0, HUB_KEY_SIZE);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int rc = -errno;
        s_errf(err, "%s: cannot read the %s key: %s", path, secret ? "secret" : "public", strerror(errno));
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        s_errf(err, "%s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        s_errf(err, "%s: not a regular file; expected a key file (see hubctl keygen)", path);
        close(fd);
        return -HUB_ECONFIG;
    }
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        s_errf(err, "%s: the secret key may be read by group or others (mode %04o); make it private: chmod 600 %s",
               path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -HUB_ECONFIG;
    }
    char buf[S_READ_MAX];
    size_t len = 0;
    int rc = 0;
    while (len < sizeof buf) {
        ssize_t got = read(fd, buf + len, sizeof buf - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            s_errf(err, "%s: %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (rc == 0)
        rc = s_parse(path, buf, len, (long long)st.st_size, key, err);
    hub_key_wipe(buf, sizeof buf);
    return rc;
}

size_t hub_key_prefix_len(const char *path)
{
    size_t len = strlen(path);
    static const char *const exts[] = {HUB_KEY_PUBLIC_EXT, HUB_KEY_SECRET_EXT};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t ext = strlen(exts[i]);
        if (len > ext && strcmp(path + len - ext, exts[i]) == 0 && path[len - ext - 1] != '/')
            return len - ext;
    }
    return len;
}

int hub_key_read_pair(const char *prefix, char public_key[HUB_KEY_SIZE], char secret_key[HUB_KEY_SIZE],
                      char err[HUB_ERR_LEN])
{
    memset(public_key, 0, HUB_KEY_SIZE);
    memset(secret_key, 0, HUB_KEY_SIZE);
    if (!zmq_has("curve")) {
        s_errf(err, "%s: this libzmq was built without CURVE; keys cannot be used", prefix);
        return -ENOTSUP;
    }
    size_t plen = hub_key_prefix_len(prefix);
    char public_path[PATH_MAX], secret_path[PATH_MAX];
    if (plen == 0 || plen + strlen(HUB_KEY_SECRET_EXT) >= sizeof public_path) {
        s_errf(err, "key \"%.64s\": %s", prefix,
               plen == 0 ? "the path prefix is empty (e.g. /etc/switchboard/keys/support)" : "the path is too long");
        return plen == 0 ? -HUB_ECONFIG : -ENAMETOOLONG;
    }
    snprintf(public_path, sizeof public_path, "%.*s%s", (int)plen, prefix, HUB_KEY_PUBLIC_EXT);
    snprintf(secret_path, sizeof secret_path, "%.*s%s", (int)plen, prefix, HUB_KEY_SECRET_EXT);
    int rc = hub_key_read(secret_path, 1, secret_key, err);
    if (rc == 0)
        rc = hub_key_read(public_path, 0, public_key, err);
    if (rc == 0) {
        char derived[HUB_KEY_SIZE];
        if (zmq_curve_public(derived, secret_key) < 0) {
            rc = -errno;
            s_errf(err, "%s: cannot derive the public key: %s", secret_path, zmq_strerror(errno));
        } else if (strcmp(derived, public_key) != 0) {
            rc = -HUB_ECONFIG;
            s_errf(err, "%s does not belong to %s: not one key pair (run hubctl keygen again, with --force)",
                   public_path, secret_path);
        }
        hub_key_wipe(derived, sizeof derived);
    }
    if (rc < 0) {
        hub_key_wipe(public_key, HUB_KEY_SIZE);
        hub_key_wipe(secret_key, HUB_KEY_SIZE);
    }
    return rc;
}
