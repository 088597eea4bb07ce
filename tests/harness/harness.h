/*
 * harness - the real hubd under test, for the integration and fault suites.
 *
 * A harness is one private directory (mkdtemp) holding hubd's data, its
 * ipc:// endpoints, its policy, its config and its log, and the hubd process
 * started on them. Tests drive it with the real clients: libhub in process,
 * hubctl as a child process, and a raw DEALER for frames no client would
 * send.
 *
 * Rules:
 *   1. Nothing waits by sleeping: readiness is a successful ping, a stop is
 *      a reaped child, a condition is polled until a deadline.
 *   2. Every wait has a deadline; a test never hangs.
 *   3. Only ipc:// endpoints inside the harness directory; the directory is
 *      removed by harness_destroy (set HARNESS_KEEP=1 to keep it).
 *   4. The program under test comes from the environment the build sets:
 *      HUBD, HUBCTL, HUB_SOURCE_ROOT. A test without HUBD exits 77.
 *
 * Typical case:
 *
 *     harness_t *h = HARNESS_NEW(NULL);      // sample policy, default config
 *     REQUIRE(h && harness_start(h) == 0);
 *     hub_client_t *c = harness_client(h, "publisher");
 *     ...
 *   done:
 *     hub_client_destroy(&c);
 *     HARNESS_END(h);                        // stops hubd (exit 0 checked),
 *                                            // prints its log on failure
 */
#ifndef HUB_HARNESS_H_INCLUDED
#define HUB_HARNESS_H_INCLUDED

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef HARNESS_NO_CHECK
#include "check.h"
#endif
#include "hub.h"
#include "hub.pb-c.h"

#define HARNESS_READY_MS 10000 /* hubd must answer a ping within this */
#define HARNESS_STOP_MS 10000  /* hubd must exit within this after SIGTERM */
#define HARNESS_CTL_MS 30000   /* a hubctl run is killed after this */
#define HARNESS_POLL_MS 20     /* pause between two looks at a condition */
#define HARNESS_PATH 256       /* bytes of a path or endpoint */

/* A check that the rest of a case depends on: on failure, records it and
 * jumps to the case's 'done:' label, where the case cleans up. cond is
 * evaluated once (it often has effects: a publish, a start). */
#define REQUIRE(cond)                                                                                                  \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: [%s] required: %s\n", __FILE__, __LINE__, check_case, #cond);                      \
            check_failures++;                                                                                          \
            goto done;                                                                                                 \
        }                                                                                                              \
    } while (0)

/* ------------------------------------------------------------ the hub */

typedef struct harness harness_t;

typedef struct {
    const char *policy_text;       /* NULL: the sample deploy/policy.yaml */
    const char *config_text;       /* NULL: no --config; else written to hub.yaml */
    const char *const *extra_args; /* more hubd arguments, NULL-terminated; may be NULL */
    const char *endpoint;          /* NULL: ipc://DIR/hub.sock (e.g. another harness's) */
    const char *data_dir;          /* NULL: DIR/data (e.g. another harness's) */
} harness_opts_t;

/* Exits 77 (skipped) with a reason when HUBD is not set or not executable;
 * also ignores SIGPIPE. Call first in main. */
void harness_require(void);

/* Creates the directory and writes the policy (and hub.yaml). Does not start
 * hubd. Returns NULL with a message on stderr on failure. Use HARNESS_NEW,
 * which remembers the failures counted so far, so that HARNESS_END prints
 * hubd's log only when this case failed. */
harness_t *harness_new(const harness_opts_t *opts, int failures_now);
#define HARNESS_NEW(opts) harness_new((opts), check_failures)

/* Stops hubd if it runs (SIGTERM; a non-zero exit or a hang is reported on
 * stderr and counted in the return), prints the tail of hubd.log when
 * failures_now is above the count given to harness_new, removes the
 * directory and frees the harness. Returns the number of problems found
 * (0 when hubd stopped cleanly or was not running). Accepts NULL. */
int harness_destroy(harness_t **self_p, int failures_now);
#define HARNESS_END(h) check_failures += harness_destroy(&(h), check_failures)

/* Starts hubd and waits until it answers a ping (HARNESS_READY_MS). Returns
 * 0; -1 when it could not be spawned, exited, or never answered (the log
 * tail is printed then). */
int harness_start(harness_t *self);

/* SIGTERM, then reaps hubd within HARNESS_STOP_MS. Returns its exit status
 * (0 on a clean stop), 128 + signal when a signal ended it, or -1 when it
 * did not stop in time (it is SIGKILLed then). */
int harness_stop(harness_t *self);

/* SIGKILL and reap. Returns 0, or -1 when hubd was not running. */
int harness_kill(harness_t *self);

/* Sends a signal (e.g. SIGHUP). Returns 0 or -1. */
int harness_signal(harness_t *self, int sig);

/* 1 while the hubd process lives (reaps it when it has exited). */
int harness_alive(harness_t *self);

/* hubd's resident set in kB from /proc/PID/status, or -1. */
long harness_rss_kb(const harness_t *self);

/* Rewrites the policy file (for a reload). Returns 0 or -1. */
int harness_write_policy(harness_t *self, const char *text);

/* Writes a file in the harness directory; returns its path (static buffer
 * of the harness, valid until the next call) or NULL. */
const char *harness_write_file(harness_t *self, const char *name, const char *text);

const char *harness_dir(const harness_t *self);
const char *harness_endpoint(const harness_t *self);
const char *harness_tap(const harness_t *self);
const char *harness_policy_path(const harness_t *self);
const char *harness_log_path(const harness_t *self);
pid_t harness_pid(const harness_t *self);

/* Current size of hubd.log in bytes (0 when absent). */
long harness_log_size(const harness_t *self);

/* Waits until hubd.log, from byte offset 'from' on, contains 'needle'
 * (case-insensitive). Returns 1, or 0 at the deadline. */
int harness_wait_log(const harness_t *self, long from, const char *needle, int timeout_ms);

/* Prints the last lines of hubd.log to stderr. */
void harness_dump_log(const harness_t *self);

/* Source tree root ($HUB_SOURCE_ROOT) or NULL. */
const char *harness_source_root(void);

/* Reads a whole file; the caller frees. NULL on failure. */
char *harness_read_file(const char *path);

/* Milliseconds on the monotonic clock. */
int64_t harness_now_ms(void);

/* Pauses between two looks at a condition (HARNESS_POLL_MS or less). */
void harness_pause(void);

/* ---------------------------------------------------------- libhub side */

/* A libhub client on the harness endpoint with short heartbeats (200 ms)
 * and a 10 s call timeout. NULL (message on stderr) on failure. */
hub_client_t *harness_client(harness_t *self, const char *name);

/* The hub's status, parsed (the caller json_decref's it). Asked through
 * 'via' when given (a subscriber's own client: its kept acks go out first,
 * on the same socket, so the status counts them), else through a client
 * the harness keeps. NULL with a message on stderr on failure. */
json_t *harness_status_via(harness_t *self, hub_client_t *via);
#define harness_status(self) harness_status_via((self), NULL)

/* A number field of the status (top level), 0 when absent. */
uint64_t harness_status_u64(const json_t *status, const char *key);

/* A string field of the status, "" when absent. */
const char *harness_status_str(const json_t *status, const char *key);

/* A number field of subscriber 'name' in the status: 1 and *out when the
 * subscriber is listed (an absent field counts as 0), else 0. */
int harness_sub_u64(const json_t *status, const char *name, const char *key, uint64_t *out);

/* Waits until subscriber 'name' has field key == value (asking through
 * 'via' as harness_status_via). Returns 1, or 0 at the deadline (prints the
 * last value seen). */
int harness_wait_sub(harness_t *self, hub_client_t *via, const char *name, const char *key, uint64_t value,
                     int timeout_ms);

/* The same for key >= value. */
int harness_wait_sub_ge(harness_t *self, hub_client_t *via, const char *name, const char *key, uint64_t value,
                        int timeout_ms);

/* Waits until the status top-level number key == value. Returns 1 or 0. */
int harness_wait_status(harness_t *self, const char *key, uint64_t value, int timeout_ms);

/* Publishes one event and waits for its ack (10 s). Returns 0 and fills res
 * (may be NULL), or the hub_publish code with a message on stderr. */
int harness_publish(hub_client_t *c, const char *json, hub_publish_result_t *res);

/* One received notification, copied. */
typedef struct {
    uint64_t seq;
    uint32_t slot;
    uint32_t attempt;
    char topic[160];
    char route[64];
    char event_id[128];
    char case_id[64];
    char *json; /* whole notification (owned; harness_got_free) */
} harness_got_t;

/* Receives up to 'want' notifications into out (room for want), acking each
 * when ack is 1, until 'want' came or timeout_ms passed. Returns how many. */
size_t harness_collect(hub_client_t *c, harness_got_t *out, size_t want, int ack, int timeout_ms);

void harness_got_free(harness_got_t *got, size_t n);

/* Subscribes c (topics NULL-terminated) and waits for the answer. Returns
 * hub_subscribe's code; prints it on failure. */
int harness_subscribe(hub_client_t *c, const char *name, const char *const *topics, hub_from_t from, uint64_t from_seq,
                      uint32_t credit);

/* ------------------------------------------------------------- hubctl */

typedef struct {
    int status; /* exit code; 128 + signal; -1 when it could not run */
    char *out;  /* stdout (owned, NUL-terminated) */
    char *err;  /* stderr (owned, NUL-terminated) */
} harness_run_t;

/* Runs $HUBCTL --hub <endpoint> ARGS... (NULL-terminated), with HUB_TAP set
 * to the harness tap, feeding stdin_text (NULL: empty), and collects its
 * output. self may be NULL (no --hub). Returns the exit status as in
 * run->status. Kills it after HARNESS_CTL_MS. */
int harness_hubctl(harness_t *self, const char *stdin_text, harness_run_t *run, ...);
int harness_hubctl_argv(harness_t *self, const char *stdin_text, harness_run_t *run, const char *const *args);

void harness_run_free(harness_run_t *run);

/* Runs $HUBD with exactly these arguments (NULL-terminated; e.g. --help)
 * and collects its output; killed after HARNESS_CTL_MS. Returns its exit
 * status as in run->status. */
int harness_hubd_run(const char *const *args, harness_run_t *run);

/* A hubctl running in the background (e.g. tail while the test publishes). */
typedef struct harness_ctl harness_ctl_t;

/* Starts $HUBCTL as harness_hubctl_argv does, without waiting. stdin_text
 * (may be NULL) must live until harness_ctl_finish. NULL on failure. */
harness_ctl_t *harness_ctl_spawn(harness_t *self, const char *stdin_text, const char *const *args);

/* Waits up to timeout_ms for it to exit (collecting its output meanwhile).
 * Returns 1 when it has exited, 0 when it still runs. */
int harness_ctl_exited(harness_ctl_t *ctl, int timeout_ms);

/* Collects its output until it exits (killing it after timeout_ms), fills
 * run and frees the handle. Returns run->status. */
int harness_ctl_finish(harness_ctl_t **ctl_p, harness_run_t *run, int timeout_ms);

/* The process id of a background hubctl (e.g. to SIGKILL it mid-run). */
pid_t harness_ctl_pid(const harness_ctl_t *ctl);

/* Collects what it printed for up to timeout_ms (0: what is there now) and
 * returns its stdout so far (owned by ctl, valid until the next call on
 * it); "" when nothing yet. */
const char *harness_ctl_output(harness_ctl_t *ctl, int timeout_ms);

/* Counts the lines of text (a last line without newline counts). */
size_t harness_count_lines(const char *text);

/* ----------------------------------------------------------- raw DEALER */

typedef struct harness_raw harness_raw_t;

/* A bare DEALER connected to endpoint, for frames libhub would not send.
 * NULL on failure. */
harness_raw_t *harness_raw_new(const char *endpoint);
void harness_raw_destroy(harness_raw_t **self_p);

/* Sends len bytes as one message. Returns 0 or -1. */
int harness_raw_send(harness_raw_t *self, const void *data, size_t len);

/* Packs frame as it is (the version is NOT set here) and sends it. */
int harness_raw_send_frame(harness_raw_t *self, Hub__Frame *frame);

/* Receives one frame within timeout_ms. Returns 1 and sets *frame_p (free
 * with hub__frame__free_unpacked(f, NULL)); 0 on timeout; -1 when what came
 * is not a Frame. */
int harness_raw_recv(harness_raw_t *self, Hub__Frame **frame_p, int timeout_ms);

/* Receives frames until one of body 'kind' (HUB__FRAME__BODY_...) comes,
 * dropping others. Returns 1 with *frame_p, or 0 at the deadline. */
int harness_raw_expect(harness_raw_t *self, Hub__Frame__BodyCase kind, Hub__Frame **frame_p, int timeout_ms);

/* Says Hello and waits for Welcome. Returns 1 or 0. */
int harness_raw_hello(harness_raw_t *self, int timeout_ms);

/* ------------------------------------------------------------- audit */

/* hubd's data directory (--data): DIR/data or the one given in the opts. */
const char *harness_data_dir(const harness_t *self);

/* Runs `hubctl audit --data DATA --json FILTERS...` (filters NULL-terminated
 * or NULL; e.g. "--case", "CASE-1") and returns its rows, in its order, as a
 * JSON array (the caller json_decref's it). NULL with a message on stderr
 * when hubctl fails or prints a line that is not a JSON object. */
json_t *harness_audit(harness_t *self, const char *const *filters);

/* Rows of such an array whose action is 'action' and, when department is
 * not NULL, which are about 'department': its department, or for a row
 * that lists notifications (received, routed) one of its notifications'. */
size_t harness_audit_count(const json_t *rows, const char *action, const char *department);

/* What row says of department: its detail when the row's department is
 * department, the notification of the row's detail that names it (a
 * received or routed row's list), else NULL (borrowed from row). */
const json_t *harness_audit_about(const json_t *row, const char *department);

/* The first such row (borrowed from rows), or NULL. */
json_t *harness_audit_find(const json_t *rows, const char *action, const char *department);

/* Waits until harness_audit(filters) holds at least n rows of action (and
 * department, when not NULL). Returns 1, or 0 at the deadline (printing the
 * count last seen). */
int harness_wait_audit(harness_t *self, const char *const *filters, const char *action, const char *department,
                       size_t n, int timeout_ms);

#endif
