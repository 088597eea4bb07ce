/*
 * startup - hubd's command line and what it refuses: --help and --version,
 * a bad hub.yaml, a data directory or an endpoint another hubd already
 * serves. A refusal is one line "hubd: ..." on stderr and exit 1, and the
 * hubd that was there first keeps serving.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static void test_help_version(void)
{
    harness_run_t run = {0};
    const char *help[] = {"--help", NULL};
    CHECK_INT(harness_hubd_run(help, &run), 0);
    CHECK_HAS(run.out, "--policy");
    CHECK_HAS(run.out, "--endpoint");
    harness_run_free(&run);
    const char *version[] = {"--version", NULL};
    CHECK_INT(harness_hubd_run(version, &run), 0);
    CHECK_HAS(run.out, "0.");
    harness_run_free(&run);
    const char *bogus[] = {"--frobnicate", NULL};
    CHECK(harness_hubd_run(bogus, &run) != 0);
    CHECK_HAS(run.err, "frobnicate");
    harness_run_free(&run);
}

static void test_bad_config(void)
{
    harness_opts_t o = {.config_text = "delivery:\n  ack_timeout: soon\n"};
    harness_t *h = HARNESS_NEW(&o);
    REQUIRE(h != NULL);
    fprintf(stderr, "(a hubd refusing to start is expected here)\n");
    CHECK(harness_start(h) != 0);
    CHECK_INT(harness_stop(h), 1);
    char *log = harness_read_file(harness_log_path(h));
    CHECK_HAS(log, "hubd: ");
    CHECK_HAS(log, "hub.yaml:2");
    CHECK_HAS(log, "ack_timeout");
    free(log);
done:
    HARNESS_END(h);
}

/* The instance of the hub answering at a's endpoint, through a new client
 * ("" when none answers). */
static void s_instance(harness_t *a, char *out, size_t cap)
{
    out[0] = '\0';
    hub_client_t *c = harness_client(a, "probe");
    char *text = NULL;
    char err[HUB_ERR_LEN];
    if (c && hub_status(c, &text, 3000, err) == 0) {
        json_t *st = json_loads(text, 0, NULL);
        snprintf(out, cap, "%s", harness_status_str(st, "instance"));
        json_decref(st);
    }
    free(text);
    hub_client_destroy(&c);
}

static void test_data_dir_in_use(void)
{
    harness_t *a = HARNESS_NEW(NULL), *b = NULL;
    char data[HARNESS_PATH + 8], before[128], after[128];
    REQUIRE(a && harness_start(a) == 0);
    s_instance(a, before, sizeof before);
    snprintf(data, sizeof data, "%s/data", harness_dir(a));
    harness_opts_t o = {.data_dir = data};
    REQUIRE((b = HARNESS_NEW(&o)) != NULL);
    fprintf(stderr, "(a hubd refusing to start is expected here)\n");
    CHECK(harness_start(b) != 0);
    CHECK_INT(harness_stop(b), 1);
    char *log = harness_read_file(harness_log_path(b));
    CHECK_HAS(log, "hubd: ");
    CHECK_HAS(log, "in use");
    free(log);
    s_instance(a, after, sizeof after);
    CHECK(before[0] != '\0');
    CHECK_STR(after, before);
done:
    HARNESS_END(b);
    HARNESS_END(a);
}

/* ipc:// endpoints are files: binding one another hubd serves would take
 * it over (and remove it on exit), leaving the first hubd unreachable. */
static void test_endpoint_in_use(void)
{
    harness_t *a = HARNESS_NEW(NULL), *b = NULL;
    char before[128], during[128], after[128];
    REQUIRE(a && harness_start(a) == 0);
    s_instance(a, before, sizeof before);
    REQUIRE(before[0] != '\0');
    harness_opts_t o = {.endpoint = harness_endpoint(a)};
    REQUIRE((b = HARNESS_NEW(&o)) != NULL);
    fprintf(stderr, "(a hubd refusing to start is expected here)\n");
    harness_start(b); /* a ping may be answered by a: the result says nothing */
    int64_t deadline = harness_now_ms() + 5000;
    while (harness_alive(b) && harness_now_ms() < deadline)
        harness_pause();
    /* whoever answers at the endpoint is still a */
    s_instance(a, during, sizeof during);
    CHECK_STR(during, before);
    CHECK(!harness_alive(b));
    CHECK_INT(harness_stop(b), 1);
    HARNESS_END(b);
    /* a still answers on its endpoint */
    s_instance(a, after, sizeof after);
    CHECK_STR(after, before);
done:
    HARNESS_END(b);
    HARNESS_END(a);
}

/* Whether one of pid's threads goes by name. */
static int s_has_thread(pid_t pid, const char *name)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        char comm[32] = "";
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/comm", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof comm, f)) {
            comm[strcspn(comm, "\n")] = '\0';
            found = strcmp(comm, name) == 0;
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

/* An operator sees what each of hubd's threads does (ps -L, top -H, perf). */
static void test_thread_names(void)
{
    harness_t *h = HARNESS_NEW(NULL);
    REQUIRE(h && harness_start(h) == 0);
    pid_t pid = harness_pid(h);
    CHECK(s_has_thread(pid, "hubd"));
    CHECK(s_has_thread(pid, "hubd-writer"));
    CHECK(s_has_thread(pid, "hubd-checkpoint"));
    CHECK(s_has_thread(pid, "hubd-reader"));
    CHECK(!s_has_thread(pid, "hubd-nosuch"));
done:
    HARNESS_END(h);
}

int main(void)
{
    harness_require();
    static const check_case_t cases[] = {
        {"--help, --version, an unknown option", test_help_version},
        {"a bad hub.yaml: exit 1 naming file, line and key", test_bad_config},
        {"a data directory in use: refused, the first hubd serves on", test_data_dir_in_use},
        {"an ipc endpoint in use: refused, the first hubd serves on", test_endpoint_in_use},
        {"hubd's threads go by what they do", test_thread_names},
        {NULL, NULL},
    };
    return check_run(cases);
}
