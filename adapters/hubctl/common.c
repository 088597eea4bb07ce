/*
 * common - what every hubctl command shares (see hubctl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hubctl.h"

volatile sig_atomic_t hubctl_stop;

int hubctl_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("hubctl: ", stderr);
    if (cmd)
        fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\ntry: hubctl %s --help\n", cmd);
    else
        fputs("\ntry: hubctl --help\n", stderr);
    return HUBCTL_USAGE;
}

int hubctl_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("hubctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return HUBCTL_FAILED;
}

int hubctl_getopt_error(const char *cmd, int c, char **argv)
{
    /* optind has moved past the offending word in both cases. */
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return hubctl_usage_error(cmd, "option %s needs a value", word);
    if (strncmp(word, "--", 2) == 0 && strchr(word, '=') && optopt)
        return hubctl_usage_error(cmd, "option %.*s takes no value", (int)(strchr(word, '=') - word), word);
    if (optopt && optopt < 256 && strncmp(word, "--", 2) != 0)
        return hubctl_usage_error(cmd, "unknown option -%c", optopt);
    return hubctl_usage_error(cmd, "unknown option %s", word);
}

int hubctl_common_option(hubctl_t *g, const char *cmd, int c, const char *arg)
{
    if (c == HUBCTL_OPT_HUB) {
        if (!*arg)
            return hubctl_usage_error(cmd, "--hub: the endpoint is empty (e.g. tcp://127.0.0.1:7200)");
        g->endpoint = arg;
        return 0;
    }
    if (c == HUBCTL_OPT_TIMEOUT) {
        int64_t ms;
        if (hubctl_parse_seconds(arg, &ms) != 0)
            return hubctl_usage_error(cmd, "--timeout: expected seconds greater than 0 (e.g. 10 or 0.5), got \"%s\"",
                                      arg);
        g->timeout_ms = (int)ms;
        return 0;
    }
    if (c == HUBCTL_OPT_KEY) {
        g->key = arg; /* "" on purpose: no CURVE even with $HUB_KEY set */
        return 0;
    }
    if (c == HUBCTL_OPT_SERVER_KEY) {
        if (!*arg)
            return hubctl_usage_error(cmd, "--server-key: the file name is empty (e.g. /etc/switchboard/keys/hubd.key)");
        g->server_key = arg;
        return 0;
    }
    return hubctl_usage_error(cmd, "unexpected option");
}

int hubctl_getopt(hubctl_t *g, const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *options, void (*help)(void), int *exit_p)
{
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shortopts, options, NULL)) != -1) {
        switch (c) {
        case HUBCTL_OPT_HELP:
            help();
            *exit_p = HUBCTL_OK;
            return -1;
        case HUBCTL_OPT_HUB:
        case HUBCTL_OPT_TIMEOUT:
        case HUBCTL_OPT_KEY:
        case HUBCTL_OPT_SERVER_KEY:
            if (hubctl_common_option(g, cmd, c, optarg) != 0) {
                *exit_p = HUBCTL_USAGE;
                return -1;
            }
            break;
        case '?':
        case ':':
            *exit_p = hubctl_getopt_error(cmd, c, argv);
            return -1;
        default:
            return c;
        }
    }
    *exit_p = -1;
    return -1;
}

int hubctl_watch_option(hubctl_watch_t *w, const char *cmd, int c, const char *arg)
{
    if (c == HUBCTL_OPT_COUNT) {
        if (hubctl_parse_u64(arg, 1, UINT64_MAX, &w->count) != 0)
            return hubctl_usage_error(cmd, "--count: expected a whole number greater than 0, got \"%s\"", arg);
        return 0;
    }
    if (hubctl_parse_seconds(arg, &w->idle_ms) != 0)
        return hubctl_usage_error(cmd, "--idle: expected seconds greater than 0 (e.g. 2 or 0.5), got \"%s\"", arg);
    return 0;
}

void hubctl_watch_start(hubctl_watch_t *w, const hubctl_t *g, int64_t start_ms)
{
    w->received = 0;
    w->deadline = w->count ? start_ms + g->timeout_ms : INT64_MAX;
    w->idle_deadline = w->idle_ms ? hubctl_mono_ms() + w->idle_ms : INT64_MAX;
}

int64_t hubctl_watch_next(hubctl_watch_t *w)
{
    if (hubctl_stop || (w->count && w->received >= w->count))
        return 0;
    int64_t now = hubctl_mono_ms();
    if (now >= w->idle_deadline)
        return 0;
    if (now >= w->deadline)
        return -ETIMEDOUT;
    int64_t until = w->deadline < w->idle_deadline ? w->deadline : w->idle_deadline;
    return until - now < HUBCTL_TICK_MS ? until - now : HUBCTL_TICK_MS;
}

void hubctl_watch_got(hubctl_watch_t *w)
{
    w->received++;
    if (w->idle_ms)
        w->idle_deadline = hubctl_mono_ms() + w->idle_ms;
}

/* 1 when the client will use a key: --key, else a non-empty $HUB_KEY. */
static int s_uses_key(const hubctl_t *g)
{
    const char *key = g->key ? g->key : getenv("HUB_KEY");
    return key && *key;
}

/* 1 when a key or a server key is given, by option or environment. */
static int s_uses_keys(const hubctl_t *g)
{
    if (g->key && !*g->key)
        return 0; /* --key '': CURVE off, the server key is ignored */
    const char *server_key = g->server_key ? g->server_key : getenv("HUB_SERVER_KEY");
    return s_uses_key(g) || (server_key && *server_key);
}

int hubctl_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *value_p)
{
    if (!text || !*text)
        return -HUB_EINVALID;
    uint64_t value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -HUB_EINVALID;
        unsigned digit = (unsigned)(*p - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return -HUB_EINVALID;
        value = value * 10 + digit;
    }
    if (value < min || value > max)
        return -HUB_EINVALID;
    *value_p = value;
    return 0;
}

int hubctl_parse_seconds(const char *text, int64_t *ms_p)
{
    if (!text || !*text)
        return -HUB_EINVALID;
    const char *dot = strchr(text, '.');
    size_t whole_len = dot ? (size_t)(dot - text) : strlen(text);
    if (whole_len == 0 || whole_len > 9)
        return -HUB_EINVALID;
    char whole[16];
    memcpy(whole, text, whole_len);
    whole[whole_len] = '\0';
    uint64_t seconds;
    if (hubctl_parse_u64(whole, 0, UINT64_MAX, &seconds) != 0)
        return -HUB_EINVALID;
    int64_t ms = (int64_t)seconds * 1000;
    if (dot) {
        const char *frac = dot + 1;
        size_t frac_len = strlen(frac);
        if (frac_len == 0 || frac_len > 3)
            return -HUB_EINVALID;
        int64_t scale = 100;
        for (const char *p = frac; *p; p++, scale /= 10) {
            if (*p < '0' || *p > '9')
                return -HUB_EINVALID;
            ms += (*p - '0') * scale;
        }
    }
    if (ms < 1 || ms > HUBCTL_MAX_TIMEOUT_MS)
        return -HUB_EINVALID;
    *ms_p = ms;
    return 0;
}

int64_t hubctl_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hubctl_format_seconds(int64_t ms, char *out, size_t outlen)
{
    if (ms % 1000 == 0)
        snprintf(out, outlen, "%" PRId64 " s", ms / 1000);
    else {
        char frac[8];
        snprintf(frac, sizeof frac, "%03" PRId64, ms % 1000);
        /* drop trailing zeros: 0.500 -> 0.5 */
        for (size_t i = strlen(frac); i > 1 && frac[i - 1] == '0'; i--)
            frac[i - 1] = '\0';
        snprintf(out, outlen, "%" PRId64 ".%s s", ms / 1000, frac);
    }
}

const char *hubctl_input_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "stdin" : path;
}

int hubctl_read_input(const char *path, char **data_p, size_t *len_p, char err[HUB_ERR_LEN])
{
    const char *name = hubctl_input_name(path);
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, HUB_ERR_LEN, "%s: %s", name, strerror(errno));
        return rc;
    }
    size_t cap = (size_t)64 << 10, len = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > HUBCTL_MAX_INPUT) {
            snprintf(err, HUB_ERR_LEN, "%s: too large (%lld bytes; at most %u)", name, (long long)st.st_size,
                     HUBCTL_MAX_INPUT);
            if (fd != STDIN_FILENO)
                close(fd);
            return -HUB_ETOOLARGE;
        }
        cap = (size_t)st.st_size + 1;
    }
    char *data = malloc(cap + 1);
    int rc = 0;
    while (data) {
        if (len == cap) {
            if (cap >= HUBCTL_MAX_INPUT) {
                snprintf(err, HUB_ERR_LEN, "%s: too large (more than %u bytes)", name, HUBCTL_MAX_INPUT);
                rc = -HUB_ETOOLARGE;
                break;
            }
            size_t bigger = cap * 2 > HUBCTL_MAX_INPUT ? HUBCTL_MAX_INPUT : cap * 2;
            char *grown = realloc(data, bigger + 1);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap = bigger;
        }
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR && !hubctl_stop)
            continue;
        if (n < 0) {
            rc = -errno;
            snprintf(err, HUB_ERR_LEN, "%s: %s", name, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    if (!data) {
        snprintf(err, HUB_ERR_LEN, "%s: out of memory", name);
        return -ENOMEM;
    }
    if (rc == 0 && memchr(data, '\0', len)) {
        snprintf(err, HUB_ERR_LEN, "%s: holds a NUL byte at offset %zu (not JSON text)", name,
                 (size_t)((char *)memchr(data, '\0', len) - data));
        rc = -HUB_EMALFORMED;
    }
    if (rc != 0) {
        free(data);
        return rc;
    }
    data[len] = '\0';
    *data_p = data;
    *len_p = len;
    return 0;
}

hub_client_t *hubctl_client_new(const hubctl_t *g)
{
    char err[HUB_ERR_LEN] = "";
    hub_options_t opts = {
        .endpoint = g->endpoint,
        .client_name = "hubctl",
        .timeout_ms = g->timeout_ms,
        .key = g->key,
        .server_key = g->server_key,
    };
    hub_client_t *client = hub_client_new(&opts, err);
    /* libhub words a bad endpoint 'endpoint "EP": ...'; its other refusals
     * are about the key files and name them */
    if (!client && strncmp(err, "endpoint ", 9) == 0)
        hubctl_fail("cannot use the hub's endpoint: %s (expected e.g. %s or ipc:///path/to/socket; see --hub)", err,
                    HUB_DEFAULT_ENDPOINT);
    else if (!client && err[0] && s_uses_keys(g) && !strstr(err, "$HUB_"))
        hubctl_fail("%s (see --key, --server-key, $HUB_KEY and $HUB_SERVER_KEY)", err);
    else if (!client && err[0])
        hubctl_fail("%s", err);
    else if (!client)
        hubctl_fail("cannot create a client for %s: out of memory", g->endpoint);
    return client;
}

/* err without a leading "NAME: " when what starts with NAME: libhub names
 * the call in some reasons ("status: ...", "subscribe: ..."), and what
 * names it already ("status", "subscribe eng"). */
static const char *s_without_call_name(const char *what, const char *err)
{
    size_t len = strcspn(what, " ");
    if (len > 0 && strncmp(err, what, len) == 0 && err[len] == ':' && err[len + 1] == ' ')
        return err + len + 2;
    return err;
}

int hubctl_call_failed(const hubctl_t *g, const char *what, int rc, const char *err)
{
    if (rc == -ETIMEDOUT) {
        char secs[32];
        hubctl_format_seconds(g->timeout_ms, secs, sizeof secs);
        fprintf(stderr,
                "hubctl: %s: no answer from the hub at %s within %s (is hubd running there? "
                "see --hub, $HUB_ENDPOINT and --timeout)\n",
                what, g->endpoint, secs);
        if (s_uses_key(g))
            fputs("hubctl: with CURVE a hub that does not know this client's key does not answer at all: "
                  "is this client's key known to the hub? see keys.clients in hub.yaml; and is --server-key "
                  "($HUB_SERVER_KEY) the hub's public key?\n",
                  stderr);
        return HUBCTL_TIMEOUT;
    }
    return hubctl_fail("%s: %s", what, err && *err ? s_without_call_name(what, err) : hub_strerror(rc));
}

int hubctl_print_line(const char *line)
{
    errno = 0;
    if (fputs(line, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
        int rc = errno ? -errno : -EIO;
        clearerr(stdout);
        return rc;
    }
    return 0;
}

/* Prints column c of a row: padded to width (left or right), the last one
 * ends the line. */
static void s_table_cell(size_t c, size_t ncols, size_t right_from, size_t width, const char *text)
{
    int right = c >= right_from;
    if (c + 1 < ncols)
        printf(right ? "%*s  " : "%-*s  ", (int)width, text);
    else if (right)
        printf("%*s\n", (int)width, text);
    else
        printf("%s\n", text);
}

int hubctl_print_table(const char *const *headers, size_t ncols, size_t right_from, size_t nrows, hubctl_cell_fn cell,
                       void *arg)
{
    size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
    if (!width)
        return -ENOMEM;
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(headers[c]);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            size_t len = strlen(cell(arg, r, c));
            if (len > width[c])
                width[c] = len;
        }
    for (size_t c = 0; c < ncols; c++)
        s_table_cell(c, ncols, right_from, width[c], headers[c]);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++)
            s_table_cell(c, ncols, right_from, width[c], cell(arg, r, c));
    free(width);
    return 0;
}

int hubctl_print_ack(const hub_publish_result_t *res)
{
    json_t *id = json_string(res->id);
    char *id_text = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
    json_decref(id);
    if (!id_text)
        return -ENOMEM;
    char line[1024]; /* an id of 127 bytes escaped as \uXXXX fits */
    snprintf(line, sizeof line, "{\"id\":%s,\"seq\":%" PRIu64 ",\"duplicate\":%s,\"notifications\":%" PRIu32 "}",
             id_text, res->seq, res->duplicate ? "true" : "false", res->notifications);
    free(id_text);
    return hubctl_print_line(line);
}

static void s_on_signal(int sig)
{
    hubctl_stop = sig;
}

void hubctl_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking poll returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
