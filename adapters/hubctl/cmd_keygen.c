/*
 * cmd_keygen - hubctl keygen NAME [--dir DIR] [--force]
 *
 * Writes a new CURVE key pair for identity NAME: DIR/NAME.key (the public
 * key, z85 and a newline, mode 0644) and DIR/NAME.secret (the secret key,
 * mode 0600). The hub knows a client by its NAME.key in keys.clients; a
 * client uses its pair with --key DIR/NAME (or $HUB_KEY). The hub has a
 * pair like any client; clients are given its NAME.key as --server-key.
 *
 * Rules:
 *   1. Never overwrite without --force: with an existing NAME.key or
 *      NAME.secret nothing is written. The check and the write are one
 *      step (link(2) fails on an existing name), so that two runs at once
 *      cannot both win.
 *   2. A key file appears whole or not at all: each is written to a
 *      temporary file in DIR (created 0600), given its mode, synced, then
 *      linked (or, with --force, renamed) into place.
 *   3. The secret key leaves memory as soon as it is written: buffers are
 *      wiped.
 *   4. NAME is an identity: letters, digits, '_', '-' and '.', at most
 *      HUBCTL_KEYGEN_NAME_MAX bytes, not starting with '.' or '-'.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "hubctl.h"
#include "keys.h" /* the key file format (constants only: libhub exports no key calls) */

#define HUBCTL_KEYGEN_NAME_MAX 64 /* bytes of an identity */

static void s_help(void)
{
    printf("usage: hubctl keygen NAME [--dir DIR] [--force]\n"
           "\n"
           "Writes a new CURVE key pair for the identity NAME (no hub needed):\n"
           "  DIR/NAME.key      the public key, mode 0644: give it to the other side\n"
           "  DIR/NAME.secret   the secret key, mode 0600: keep it where it is used\n"
           "Each holds one 40-character z85 key and a newline.\n"
           "\n"
           "For a client, copy NAME.key into the hub's keys.clients directory (hub.yaml):\n"
           "the hub then knows the client as identity NAME, which the access list and the\n"
           "audit log use; run the client with --key DIR/NAME (or HUB_KEY=DIR/NAME).\n"
           "For the hub (e.g. 'hubctl keygen hubd --dir /etc/switchboard/keys'), point\n"
           "keys.server at DIR/NAME and give clients DIR/NAME.key as --server-key (or\n"
           "HUB_SERVER_KEY).\n"
           "\n"
           "options:\n"
           "  --dir DIR    where to write the files (default: the current directory;\n"
           "               it must exist)\n"
           "  --force      replace an existing pair (whoever used the old one must be\n"
           "               given the new one; the hub needs a SIGHUP or restart)\n"
           "  -h, --help   this text\n"
           "\n"
           "NAME: letters, digits, '_', '-' and '.', at most %d characters, not starting\n"
           "with '.' or '-'.\n"
           "exit codes: 0 written, 1 failed (e.g. the pair exists), 2 usage\n",
           HUBCTL_KEYGEN_NAME_MAX);
}

/* Rule 4. Returns NULL when name is a good identity, else what is wrong. */
static const char *s_name_problem(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return "the name is empty";
    if (len > HUBCTL_KEYGEN_NAME_MAX)
        return "the name is too long";
    if (name[0] == '.' || name[0] == '-')
        return "the name may not start with '.' or '-'";
    for (const char *p = name; *p; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                 ch == '-' || ch == '.';
        if (!ok)
            return "the name may hold only letters, digits, '_', '-' and '.'";
    }
    size_t ext = strlen(HUB_KEY_PUBLIC_EXT), sext = strlen(HUB_KEY_SECRET_EXT);
    if ((len > ext && strcmp(name + len - ext, HUB_KEY_PUBLIC_EXT) == 0) ||
        (len > sext && strcmp(name + len - sext, HUB_KEY_SECRET_EXT) == 0))
        return "give the name without .key or .secret";
    return NULL;
}

/* Writes "key\n" to a new temporary file in dir with the given mode, synced
 * (rule 2). Returns 0 and fills tmp_path; or -errno with err. */
static int s_write_temp(const char *dir, const char *key, mode_t mode, char *tmp_path, size_t tmp_len,
                        char err[HUB_ERR_LEN])
{
    snprintf(tmp_path, tmp_len, "%s/.keygen-XXXXXX", dir);
    int fd = mkstemp(tmp_path); /* 0600, whatever the umask */
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, HUB_ERR_LEN, "%s: cannot create a file there: %s", dir, strerror(errno));
        tmp_path[0] = '\0';
        return rc;
    }
    char line[HUB_KEY_SIZE + 1];
    int n = snprintf(line, sizeof line, "%s\n", key);
    int rc = 0;
    size_t done = 0;
    while (done < (size_t)n) {
        ssize_t w = write(fd, line + done, (size_t)n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = -errno;
            break;
        }
        done += (size_t)w;
    }
    explicit_bzero(line, sizeof line);
    if (rc == 0 && fchmod(fd, mode) < 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        snprintf(err, HUB_ERR_LEN, "%s: cannot write a key file there: %s", dir, strerror(-rc));
        unlink(tmp_path);
        tmp_path[0] = '\0';
    }
    return rc;
}

/* Puts the temporary file in place (rule 1 without force). Returns 0 or
 * -errno with err. The temporary name is removed either way. */
static int s_install(const char *tmp_path, const char *path, int force, char err[HUB_ERR_LEN])
{
    int rc = 0;
    if (force) {
        if (rename(tmp_path, path) < 0)
            rc = -errno;
    } else {
        if (link(tmp_path, path) < 0)
            rc = -errno;
        unlink(tmp_path);
    }
    if (rc == -EEXIST)
        snprintf(err, HUB_ERR_LEN, "%s: appeared while the pair was written; nothing replaced", path);
    else if (rc < 0)
        snprintf(err, HUB_ERR_LEN, "%s: %s", path, strerror(-rc));
    if (rc < 0 && force)
        unlink(tmp_path);
    return rc;
}

/* Syncs the directory so that the new names survive a crash. Best effort. */
static void s_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int hubctl_cmd_keygen(hubctl_t *g, int argc, char **argv)
{
    enum { OPT_DIR = 3000, OPT_FORCE };
    static const struct option options[] = {
        HUBCTL_COMMON_OPTIONS,
        {"dir", required_argument, NULL, OPT_DIR},
        {"force", no_argument, NULL, OPT_FORCE},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "keygen";
    const char *dir = ".";
    int force = 0;
    int c, stop;
    while ((c = hubctl_getopt(g, cmd, argc, argv, ":h", options, s_help, &stop)) != -1) {
        switch (c) {
        case OPT_DIR:
            if (!*optarg)
                return hubctl_usage_error(cmd, "--dir: the directory is empty (e.g. /etc/switchboard/keys)");
            dir = optarg;
            break;
        case OPT_FORCE:
            force = 1;
            break;
        }
    }
    if (stop >= 0)
        return stop;
    if (optind >= argc)
        return hubctl_usage_error(cmd, "missing the NAME of the identity (e.g. support, or hubd for the hub)");
    if (optind + 1 < argc)
        return hubctl_usage_error(cmd, "unexpected argument \"%s\" (one NAME per run)", argv[optind + 1]);
    const char *name = argv[optind];
    const char *problem = s_name_problem(name);
    if (problem)
        return hubctl_usage_error(cmd, "NAME \"%.80s\": %s", name, problem);

    struct stat st;
    if (stat(dir, &st) < 0)
        return hubctl_fail("keygen: --dir %s: %s%s", dir, strerror(errno),
                           errno == ENOENT ? " (create it first, e.g. mkdir -p DIR)" : "");
    if (!S_ISDIR(st.st_mode))
        return hubctl_fail("keygen: --dir %s: not a directory", dir);

    char public_path[PATH_MAX], secret_path[PATH_MAX];
    if (snprintf(public_path, sizeof public_path, "%s/%s%s", dir, name, HUB_KEY_PUBLIC_EXT) >=
            (int)sizeof public_path ||
        snprintf(secret_path, sizeof secret_path, "%s/%s%s", dir, name, HUB_KEY_SECRET_EXT) >= (int)sizeof secret_path)
        return hubctl_fail("keygen: --dir %s: the path is too long", dir);
    if (!force) {
        const char *paths[] = {public_path, secret_path};
        for (size_t i = 0; i < 2; i++)
            if (lstat(paths[i], &st) == 0)
                return hubctl_fail("keygen: %s exists; nothing written (use --force to replace the pair: whoever "
                                   "uses the old key must then be given the new one)",
                                   paths[i]);
    }
    if (!zmq_has("curve"))
        return hubctl_fail("keygen: this libzmq was built without CURVE; no keys can be made");

    char public_key[HUB_KEY_SIZE], secret_key[HUB_KEY_SIZE];
    if (zmq_curve_keypair(public_key, secret_key) < 0)
        return hubctl_fail("keygen: cannot make a key pair: %s", zmq_strerror(errno));

    char err[HUB_ERR_LEN] = "";
    char tmp_secret[PATH_MAX] = "", tmp_public[PATH_MAX] = "";
    int rc = s_write_temp(dir, secret_key, 0600, tmp_secret, sizeof tmp_secret, err);
    if (rc == 0)
        rc = s_write_temp(dir, public_key, 0644, tmp_public, sizeof tmp_public, err);
    explicit_bzero(secret_key, sizeof secret_key);
    int secret_installed = 0;
    if (rc == 0) {
        rc = s_install(tmp_secret, secret_path, force, err);
        tmp_secret[0] = '\0';
        secret_installed = rc == 0;
    }
    if (rc == 0) {
        rc = s_install(tmp_public, public_path, force, err);
        tmp_public[0] = '\0';
    }
    if (tmp_secret[0])
        unlink(tmp_secret);
    if (tmp_public[0])
        unlink(tmp_public);
    if (rc < 0) {
        if (secret_installed && !force)
            unlink(secret_path); /* rule 1: a half pair of our own is not left behind */
        return hubctl_fail("keygen: %s", err);
    }
    s_sync_dir(dir);

    char line[2 * PATH_MAX + 200];
    snprintf(line, sizeof line, "identity %s: public key %s (0644), secret key %s (0600)", name, public_path,
             secret_path);
    if (hubctl_print_line(line) != 0)
        return hubctl_fail("keygen: cannot write to stdout");
    return HUBCTL_OK;
}
