/*
 * outletproc - outlet programs as children of a test (see outletproc.h).
 */
#define HARNESS_NO_CHECK
#include "outletproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *outletproc_program(const char *var)
{
    const char *p = getenv(var);
    if (!p || !*p || access(p, X_OK) != 0) {
        printf("skipped: $%s does not name the program under test\n", var);
        exit(77);
    }
    return p;
}

static pid_t s_spawn(const char *program, const char *const *args, const char *out_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        signal(SIGPIPE, SIG_DFL);
        size_t n = 0;
        while (args[n])
            n++;
        char **argv = calloc(n + 2, sizeof(*argv));
        if (!argv)
            _exit(126);
        argv[0] = (char *)program;
        for (size_t i = 0; i < n; i++)
            argv[i + 1] = (char *)args[i];
        execv(program, argv);
        _exit(127);
    }
    return pid;
}

int outletproc_start(outletproc_t *self, harness_t *h, const char *program, const char *name,
                     const char *config_text)
{
    memset(self, 0, sizeof *self);
    char file[128];
    snprintf(file, sizeof file, "%s.yaml", name);
    const char *cfg = harness_write_file(h, file, config_text);
    if (!cfg)
        return -1;
    char cfg_path[HARNESS_PATH];
    snprintf(cfg_path, sizeof cfg_path, "%s", cfg);
    snprintf(self->log, sizeof self->log, "%s/%s.log", harness_dir(h), name);
    const char *args[] = {"--config", cfg_path, "--hub", harness_endpoint(h), NULL};
    self->pid = s_spawn(program, args, self->log);
    return self->pid > 0 ? 0 : -1;
}

int outletproc_stop(outletproc_t *self)
{
    if (self->pid <= 0)
        return -1;
    kill(self->pid, SIGTERM);
    int64_t end = harness_now_ms() + 10000;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(self->pid, &st, WNOHANG);
        if (r == self->pid) {
            self->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (harness_now_ms() >= end) {
            fprintf(stderr, "outletproc: %d did not stop within 10 s of SIGTERM; killing it\n", (int)self->pid);
            kill(self->pid, SIGKILL);
            waitpid(self->pid, &st, 0);
            self->pid = 0;
            return -1;
        }
        harness_pause();
    }
}

int outletproc_log_count(const outletproc_t *self, const char *needle)
{
    char *text = harness_read_file(self->log);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

int outletproc_wait_log(const outletproc_t *self, const char *needle, int times, int timeout_ms)
{
    int64_t end = harness_now_ms() + timeout_ms;
    while (outletproc_log_count(self, needle) < times) {
        if (harness_now_ms() >= end)
            return 0;
        harness_pause();
    }
    return 1;
}

void outletproc_dump(const outletproc_t *self)
{
    char *text = harness_read_file(self->log);
    fprintf(stderr, "---- %s\n%s---- end\n", self->log, text ? text : "(none)\n");
    free(text);
}

int outletproc_run(const char *dir, const char *program, char **out, const char *const *args)
{
    char path[HARNESS_PATH];
    snprintf(path, sizeof path, "%s/run-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    pid_t pid = s_spawn(program, args, path);
    int st = 0, status = -1;
    if (pid > 0 && waitpid(pid, &st, 0) == pid)
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    *out = harness_read_file(path);
    unlink(path);
    return status;
}
