/*
 * httpproc - HTTP adapter programs under test (see httpproc.h).
 */
#define HARNESS_NO_CHECK
#include "httpproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Reads from fd until a whole line, a full line buffer, an end or the
 * deadline. */
static void s_read_line(int fd, char *line, size_t size, int64_t deadline)
{
    size_t len = 0;
    line[0] = '\0';
    while (!strchr(line, '\n') && len + 1 < size) {
        int64_t left = deadline - harness_now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t got = read(fd, line + len, size - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        line[len] = '\0';
    }
}

int httpproc_start(httpproc_t *self, const char *name, const char *const *argv, const char *log_path)
{
    memset(self, 0, sizeof *self);
    self->name = name;
    snprintf(self->log, sizeof self->log, "%s", log_path);
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, self->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int rc = posix_spawn(&self->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
        fprintf(stderr, "cannot start %s: %s\n", argv[0], strerror(rc));
        self->pid = 0;
        close(out[0]);
        return -1;
    }
    char line[256];
    s_read_line(out[0], line, sizeof line, harness_now_ms() + HTTPPROC_START_MS);
    close(out[0]);
    if (sscanf(line, "listening on 127.0.0.1:%d", &self->port) != 1 || self->port <= 0) {
        fprintf(stderr, "%s did not say where it listens (got \"%s\")\n", name, line);
        httpproc_stop(self);
        return -1;
    }
    return 0;
}

int httpproc_stop(httpproc_t *self)
{
    if (self->pid <= 0)
        return -1;
    kill(self->pid, SIGTERM);
    int64_t deadline = harness_now_ms() + HTTPPROC_STOP_MS;
    int status = 0;
    for (;;) {
        pid_t got = waitpid(self->pid, &status, WNOHANG);
        if (got == self->pid)
            break;
        if (got < 0 && errno != EINTR)
            return -1;
        if (harness_now_ms() >= deadline) {
            kill(self->pid, SIGKILL);
            waitpid(self->pid, &status, 0);
            self->pid = 0;
            fprintf(stderr, "%s did not stop within %d ms of SIGTERM\n", self->name, HTTPPROC_STOP_MS);
            return -1;
        }
        harness_pause();
    }
    self->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int httpproc_end(httpproc_t *self, int failures_before, int failures_now)
{
    int problems = 0;
    if (self->pid > 0) {
        int status = httpproc_stop(self);
        if (status != 0) {
            fprintf(stderr, "%s stopped with status %d, expected 0\n", self->name, status);
            problems++;
        }
    }
    if (failures_now + problems > failures_before && self->log[0]) {
        char *text = harness_read_file(self->log);
        fprintf(stderr, "--- %s log:\n%s---\n", self->name, text ? text : "(none)\n");
        free(text);
    }
    return problems;
}
