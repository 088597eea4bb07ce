/*
 * api - the console's endpoints that speak to the hub (rules in api.h).
 */
#include "api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseboard.h"
#include "log.h"

struct cs_api {
    const cs_settings_t *settings; /* not owned */
    hub_client_t *client;          /* the one hub client (owned) */
};

/* ------------------------------------------------------------ lifetime */

cs_api_t *cs_api_new(const cs_settings_t *settings, char err[HUB_ERR_LEN])
{
    cs_api_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HUB_ERR_LEN, "out of memory");
        return NULL;
    }
    self->settings = settings;
    hub_options_t opts = {
        .endpoint = settings->hub[0] ? settings->hub : NULL,
        .client_name = "hub-console",
        .timeout_ms = (int)settings->hub_timeout_ms,
        .key = settings->hub_key[0] ? settings->hub_key : NULL,
        .server_key = settings->hub_server_key[0] ? settings->hub_server_key : NULL,
    };
    self->client = hub_client_new(&opts, err);
    if (!self->client) {
        free(self);
        return NULL;
    }
    return self;
}

void cs_api_destroy(cs_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_client_destroy(&(*self_p)->client);
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------- helpers */

static int s_timeout(const cs_api_t *self)
{
    return (int)self->settings->hub_timeout_ms;
}

/* Rule 1: the hub's audit rows of what follows name user. */
static int s_act_for(cs_api_t *self, const cs_user_t *user, cs_reply_t *reply)
{
    int rc = hub_client_set_user(self->client, user->name);
    if (rc < 0)
        cs_reply_error(reply, 500, "internal", "the hub cannot act for %s: %s", user->name, hub_strerror(rc));
    return rc;
}

/* Rule 3: a hub call's failure as an answer. what names the call. */
static void s_hub_error(cs_reply_t *reply, int rc, const char *what, const char *err)
{
    const char *why = err && *err ? err : hub_strerror(rc);
    if (rc == -HUB_EINVALID || rc == -HUB_EMALFORMED || rc == -HUB_ETOOLARGE) {
        cs_reply_error(reply, 400, "invalid", "%s", why);
        return;
    }
    if (rc == -HUB_EUNKNOWN) {
        cs_reply_error(reply, 404, "not_found", "%s", why);
        return;
    }
    hub_warn("%s: the hub: %s", what, why);
    if (rc == -HUB_EDENIED)
        cs_reply_error(reply, 502, "hub_denied",
                       "the hub refused the console (%s): its identity needs audit and admin rights in the hub's "
                       "access list",
                       why);
    else if (rc == -ETIMEDOUT)
        cs_reply_error(reply, 502, "hub_unavailable", "the hub did not answer in time (%s)", why);
    else
        cs_reply_error(reply, 502, "hub", "%s", why);
}

json_t *cs_api_body(const cs_request_t *req, cs_reply_t *reply)
{
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        cs_reply_error(reply, 400, "bad_request", "body: not JSON: line %d column %d: %s", jerr.line, jerr.column,
                       jerr.text);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        cs_reply_error(reply, 400, "bad_request", "body: expected a JSON object");
        return NULL;
    }
    return body;
}

/* A string member of body: 1 with *out (borrowed) when present, 0 when
 * absent (or null) and optional; -1 with a 400 in reply otherwise. */
static int s_body_str(const json_t *body, const char *key, int required, size_t max, const char **out,
                      cs_reply_t *reply)
{
    const json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        cs_reply_error(reply, 400, "bad_request", "%s: missing", key);
        return -1;
    }
    if (!json_is_string(v)) {
        cs_reply_error(reply, 400, "bad_request", "%s: expected a string", key);
        return -1;
    }
    const char *text = json_string_value(v);
    if (strlen(text) != json_string_length(v) || !cs_text_valid(text)) {
        cs_reply_error(reply, 400, "bad_request", "%s: holds a control character", key);
        return -1;
    }
    if (required && !*text) {
        cs_reply_error(reply, 400, "bad_request", "%s: empty", key);
        return -1;
    }
    if (strlen(text) > max) {
        cs_reply_error(reply, 400, "bad_request", "%s: longer than %zu bytes", key, max);
        return -1;
    }
    *out = text;
    return 1;
}

/* A query argument that is a whole number: 1 with *out, 0 when absent, -1
 * with a 400 in reply. */
static int s_query_u64(const cs_request_t *req, const char *name, uint64_t *out, cs_reply_t *reply)
{
    const char *text = req->query(req->arg, name);
    *out = 0;
    if (!text)
        return 0;
    size_t len = strlen(text);
    if (len == 0 || len > 19 || strspn(text, "0123456789") != len) {
        cs_reply_error(reply, 400, "bad_request", "%s: expected a whole number", name);
        return -1;
    }
    *out = strtoull(text, NULL, 10);
    if (*out > (uint64_t)INT64_MAX) {
        cs_reply_error(reply, 400, "bad_request", "%s: %s is out of range", name, text);
        return -1;
    }
    return 1;
}

/* 1 when the query argument name is "1" or "true". */
static int s_query_flag(const cs_request_t *req, const char *name)
{
    const char *text = req->query(req->arg, name);
    return text && (strcmp(text, "1") == 0 || strcmp(text, "true") == 0);
}

/* Checks a case id (from a query or a body): 0, or -1 with a 400. */
static int s_check_case_id(const char *case_id, cs_reply_t *reply)
{
    if (!case_id || !*case_id) {
        cs_reply_error(reply, 400, "bad_request", "case_id: missing");
        return -1;
    }
    if (strlen(case_id) > CS_CASE_ID_MAX || !cs_text_valid(case_id)) {
        cs_reply_error(reply, 400, "bad_request", "case_id: must be text of at most %d bytes", CS_CASE_ID_MAX);
        return -1;
    }
    return 0;
}

/* Rule 2 for a department named by the request: 0, or -1 with a 400/403. */
static int s_check_department(const cs_user_t *user, const char *department, cs_reply_t *reply)
{
    if (!department || !*department) {
        cs_reply_error(reply, 400, "bad_request", "department: missing");
        return -1;
    }
    if (!cs_name_valid(department)) {
        cs_reply_error(reply, 400, "bad_request", "department: must be 1 to 64 letters, digits, '.', '_' or '-'");
        return -1;
    }
    if (!cs_user_has_department(user, department)) {
        cs_reply_error(reply, 403, "forbidden", "%s is not in department %s", user->name, department);
        return -1;
    }
    return 0;
}

static int s_require_operator(const cs_user_t *user, cs_reply_t *reply)
{
    if (user->operator)
        return 0;
    cs_reply_error(reply, 403, "forbidden", "%s is not an operator", user->name);
    return -1;
}

/* A libhub reading: JSON query in, JSON answer out (hub_audit_query,
 * hub_notification_query). */
typedef int (*s_reading_fn)(hub_client_t *client, const char *query_json, char **reply_json_p, int timeout_ms,
                            char err[HUB_ERR_LEN]);

/* Sends query (taken) through fn and returns the hub's answer as a JSON
 * object, or NULL with reply set: 500 when out of memory, the hub's
 * refusal (s_hub_error, naming what), 502 when the answer is not an
 * object. */
static json_t *s_ask(cs_api_t *self, s_reading_fn fn, json_t *query, const char *what, cs_reply_t *reply)
{
    char *text = query ? json_dumps(query, JSON_COMPACT) : NULL;
    json_decref(query);
    if (!text) {
        cs_reply_json(reply, 500, NULL);
        return NULL;
    }
    char *answer = NULL;
    char err[HUB_ERR_LEN] = "";
    int rc = fn(self->client, text, &answer, s_timeout(self), err);
    free(text);
    if (rc < 0) {
        s_hub_error(reply, rc, what, err);
        return NULL;
    }
    json_t *parsed = json_loads(answer, 0, NULL);
    free(answer);
    if (!json_is_object(parsed)) {
        json_decref(parsed);
        cs_reply_error(reply, 502, "hub", "%s: the hub's answer is not a JSON object", what);
        return NULL;
    }
    return parsed;
}

/* Whether the hub's audit log has a row of action for department on
 * case_id: 1 yes, 0 no, -1 with reply set when the hub could not say. */
static int s_case_has_row(cs_api_t *self, const char *case_id, const char *department, const char *action,
                          cs_reply_t *reply)
{
    json_t *query = json_pack("{s:s, s:s, s:s, s:i}", "case_id", case_id, "department", department, "action",
                              action, "limit", 1);
    json_t *parsed = s_ask(self, hub_audit_query, query, "case", reply);
    if (!parsed)
        return -1;
    int found = json_array_size(json_object_get(parsed, "rows")) > 0;
    json_decref(parsed);
    return found;
}

/* Whether case_id reached department: an event of it routed to the
 * department (named by its received row, or by a routed row: those that
 * did not fit it, and every log written before), or an escalation told to
 * it as the backup. 1 yes, 0 no, -1 with reply set. */
static int s_case_reached(cs_api_t *self, const char *case_id, const char *department, cs_reply_t *reply)
{
    static const char *const actions[] = {"received", "routed", "escalated"};
    int found = 0;
    for (size_t i = 0; found == 0 && i < sizeof actions / sizeof actions[0]; i++)
        found = s_case_has_row(self, case_id, department, actions[i], reply);
    return found;
}

/* A department answers only on a case that reached it (s_case_reached).
 * Operators may answer for any department. Returns 0, or -1 with reply
 * set (404 as for a case that does not exist, so that nobody learns of
 * cases that are not theirs). */
static int s_check_reached(cs_api_t *self, const cs_user_t *user, const char *case_id, const char *department,
                           cs_reply_t *reply)
{
    if (user->operator)
        return 0;
    int found = s_case_reached(self, case_id, department, reply);
    if (found < 0)
        return -1;
    if (found == 0) {
        cs_reply_error(reply, 404, "not_found", "no case %s for %s in the hub's audit log", case_id, department);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- endpoints */

void cs_api_answer(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply)
{
    json_t *body = cs_api_body(req, reply);
    if (!body)
        return;
    const char *department = NULL, *case_id = NULL, *status = NULL, *note = NULL;
    if (s_body_str(body, "department", 1, CS_NAME_LEN, &department, reply) < 0
        || s_body_str(body, "case_id", 1, CS_CASE_ID_MAX, &case_id, reply) < 0
        || s_body_str(body, "status", 1, 32, &status, reply) < 0
        || s_body_str(body, "note", 0, CS_NOTE_MAX, &note, reply) < 0
        || s_check_department(user, department, reply) < 0 || s_check_case_id(case_id, reply) < 0)
        goto done;
    if (strcmp(status, "acknowledged") != 0 && strcmp(status, "in_progress") != 0 && strcmp(status, "resolved") != 0
        && strcmp(status, "rejected") != 0) {
        cs_reply_error(reply, 400, "bad_request",
                       "status: \"%.32s\" is not one of acknowledged, in_progress, resolved, rejected", status);
        goto done;
    }
    if (s_act_for(self, user, reply) < 0 || s_check_reached(self, user, case_id, department, reply) < 0)
        goto done;
    hub_publish_result_t res;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_respond(self->client, case_id, department, status, note, &res, s_timeout(self), err);
    if (rc < 0) {
        s_hub_error(reply, rc, "answer", err);
        goto done;
    }
    hub_info("%s answered %s for %s: %s (seq %" PRIu64 ")", user->name, case_id, department, status, res.seq);
    cs_reply_json(reply, 200, json_pack("{s:I, s:s, s:I}", "seq", (json_int_t)res.seq, "id", res.id,
                                        "notifications", (json_int_t)res.notifications));
done:
    json_decref(body);
}

/* The case's audit rows (oldest first) as objects, or NULL with reply set.
 * *truncated_p: the hub had more. */
static json_t *s_case_rows(cs_api_t *self, const char *case_id, int *truncated_p, cs_reply_t *reply)
{
    json_t *parsed = s_ask(self, hub_audit_query, json_pack("{s:s, s:i}", "case_id", case_id, "limit", CS_HISTORY_ROWS),
                           "case", reply);
    if (!parsed)
        return NULL;
    json_t *rows = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(parsed, "rows"), i, row) {
        json_t *obj = json_is_string(row) ? json_loads(json_string_value(row), 0, NULL) : json_incref(row);
        if (obj && json_array_append_new(rows, obj) != 0)
            break;
    }
    *truncated_p = json_is_true(json_object_get(parsed, "truncated"));
    json_decref(parsed);
    if (!rows)
        cs_reply_json(reply, 500, NULL);
    return rows;
}

/* The customer of an event as people know it: its name, else its id, else
 * "" (also when the department's view leaves it out). */
static const char *s_customer_of(const json_t *event)
{
    const json_t *customer = json_object_get(event, "customer");
    const char *name = json_string_value(json_object_get(customer, "name"));
    if (name && *name)
        return name;
    const char *id = json_string_value(json_object_get(customer, "id"));
    return id ? id : "";
}

static json_t *s_notifications(cs_api_t *self, json_t *query, const char *what, cs_reply_t *reply);

/* Writes the case's customer to out, from the notifications of the case
 * the user may see (an operator: any). Best effort: "" when the hub does
 * not say. */
static void s_case_customer(cs_api_t *self, const cs_user_t *user, const char *case_id, char *out, size_t size)
{
    out[0] = '\0';
    size_t rounds = user->operator ? 1 : user->ndepartments;
    for (size_t i = 0; i < rounds && !out[0]; i++) {
        json_t *query = json_pack("{s:s, s:i}", "case_id", case_id, "limit", 20);
        if (query && !user->operator)
            json_object_set_new(query, "department", json_string(user->departments[i]));
        cs_reply_t ignored = {0};
        json_t *list = s_notifications(self, query, "case", &ignored);
        cs_reply_fini(&ignored);
        size_t k;
        const json_t *item;
        json_array_foreach(json_object_get(list, "items"), k, item) {
            const char *customer = s_customer_of(json_object_get(json_object_get(item, "notification"), "event"));
            if (*customer) {
                snprintf(out, size, "%s", customer);
                break;
            }
        }
        json_decref(list);
    }
}

/* Adds the cases of list's items to cases (an object by case id). */
static void s_add_cases(json_t *cases, const json_t *list)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(list, "items"), i, item) {
        const json_t *n = json_object_get(item, "notification");
        const json_t *event = json_object_get(n, "event");
        const char *case_id = json_string_value(json_object_get(event, "case_id"));
        if (!case_id || !*case_id)
            continue;
        json_int_t seq = json_integer_value(json_object_get(n, "seq"));
        json_t *c = json_object_get(cases, case_id);
        if (!c) {
            c = json_pack("{s:s, s:s, s:I, s:s, s:s}", "case_id", case_id, "customer", s_customer_of(event), "last_seq",
                          seq, "type", "", "subject", "");
            if (!c || json_object_set_new(cases, case_id, c) != 0)
                continue;
        }
        if (seq > json_integer_value(json_object_get(c, "last_seq")))
            json_object_set_new(c, "last_seq", json_integer(seq));
        /* the newest event that shows them: items come newest first */
        const char *type = json_string_value(json_object_get(event, "type"));
        const char *subject = json_string_value(json_object_get(event, "subject"));
        if (type && !*json_string_value(json_object_get(c, "type")))
            json_object_set_new(c, "type", json_string(type));
        if (subject && !*json_string_value(json_object_get(c, "subject")))
            json_object_set_new(c, "subject", json_string(subject));
        if (!*json_string_value(json_object_get(c, "customer")) && *s_customer_of(event))
            json_object_set_new(c, "customer", json_string(s_customer_of(event)));
    }
}

static int s_by_last_seq(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "last_seq"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "last_seq"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* GET /api/case?customer=Q: the cases of the notifications the user may see
 * whose customer id or name contains Q, newest first. */
static void s_customer_search(cs_api_t *self, const cs_user_t *user, const char *q, cs_reply_t *reply)
{
    if (!*q || strlen(q) > CS_QUERY_MAX || !cs_text_valid(q)) {
        cs_reply_error(reply, 400, "bad_request", "customer: must be text of 1 to %d bytes", CS_QUERY_MAX);
        return;
    }
    json_t *cases = json_object();
    int truncated = 0;
    size_t rounds = user->operator ? 1 : user->ndepartments;
    for (size_t i = 0; i < rounds && cases; i++) {
        json_t *query = json_pack("{s:s, s:i}", "customer", q, "limit", CS_LIST_MAX);
        if (query && !user->operator)
            json_object_set_new(query, "department", json_string(user->departments[i]));
        json_t *list = s_notifications(self, query, "customer search", reply);
        if (!list) {
            json_decref(cases);
            return;
        }
        truncated |= json_is_true(json_object_get(list, "truncated"));
        s_add_cases(cases, list);
        json_decref(list);
    }
    size_t n = json_object_size(cases), k = 0;
    json_t **sorted = calloc(n ? n : 1, sizeof *sorted);
    json_t *array = json_array();
    if (!cases || !sorted || !array) {
        free(sorted);
        json_decref(cases);
        json_decref(array);
        cs_reply_json(reply, 500, NULL);
        return;
    }
    const char *key;
    json_t *c;
    json_object_foreach(cases, key, c) {
        sorted[k++] = c;
    }
    qsort(sorted, n, sizeof *sorted, s_by_last_seq);
    for (k = 0; k < n; k++)
        json_array_append(array, sorted[k]);
    free(sorted);
    json_decref(cases);
    cs_reply_json(reply, 200, json_pack("{s:s, s:o, s:b}", "customer", q, "cases", array, "truncated", truncated));
}

void cs_api_case(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply)
{
    const char *customer_query = req->query(req->arg, "customer");
    if (customer_query && !req->query(req->arg, "case_id")) {
        if (s_act_for(self, user, reply) == 0)
            s_customer_search(self, user, customer_query, reply);
        return;
    }
    const char *case_id = req->query(req->arg, "case_id");
    if (s_check_case_id(case_id, reply) < 0 || s_act_for(self, user, reply) < 0)
        return;
    int truncated = 0;
    json_t *rows = s_case_rows(self, case_id, &truncated, reply);
    if (!rows)
        return;
    if (json_array_size(rows) == 0) {
        json_decref(rows);
        cs_reply_error(reply, 404, "not_found", "no case %s in the hub's audit log", case_id);
        return;
    }
    json_t *board = cs_caseboard_build(case_id, rows, "");
    json_decref(rows);
    if (!board) {
        cs_reply_json(reply, 500, NULL);
        return;
    }
    int involved = cs_caseboard_involves(board, user);
    for (size_t i = 0; !involved && truncated && i < user->ndepartments; i++) {
        /* a long case: the rows read may have lost the one that reached the
         * user's department; ask the log itself */
        cs_reply_t probe = {0};
        involved = s_case_reached(self, case_id, user->departments[i], &probe) > 0;
        cs_reply_fini(&probe);
    }
    if (!involved) {
        /* the same answer as for a case that does not exist: a user learns
         * nothing of cases that never reached them */
        json_decref(board);
        cs_reply_error(reply, 404, "not_found", "no case %s in the hub's audit log", case_id);
        return;
    }
    char customer[256];
    s_case_customer(self, user, case_id, customer, sizeof customer);
    json_object_set_new(board, "customer", json_string(customer));
    json_object_set_new(board, "truncated", json_boolean(truncated));
    cs_reply_json(reply, 200, board);
}

/* Asks the hub for notifications (query: a NotificationQuery object, taken)
 * and returns its NotificationList parsed, or NULL with reply set. */
static json_t *s_notifications(cs_api_t *self, json_t *query, const char *what, cs_reply_t *reply)
{
    json_t *list = s_ask(self, hub_notification_query, query, what, reply);
    if (!list)
        return NULL;
    if (!json_is_array(json_object_get(list, "items")))
        json_object_set_new(list, "items", json_array());
    return list;
}

void cs_api_inbox(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply)
{
    const char *department = req->query(req->arg, "department");
    uint64_t after = 0, before = 0, limit = 0;
    if (s_check_department(user, department, reply) < 0 || s_query_u64(req, "after_seq", &after, reply) < 0
        || s_query_u64(req, "before_seq", &before, reply) < 0 || s_query_u64(req, "limit", &limit, reply) < 0
        || s_act_for(self, user, reply) < 0)
        return;
    if (limit == 0)
        limit = CS_INBOX_LIMIT;
    if (limit > CS_LIST_MAX)
        limit = CS_LIST_MAX;
    json_t *query = json_pack("{s:s, s:b, s:I}", "department", department, "open_only", !s_query_flag(req, "all"),
                              "limit", (json_int_t)limit);
    if (query && after)
        json_object_set_new(query, "after_seq", json_integer((json_int_t)after));
    if (query && before)
        json_object_set_new(query, "before_seq", json_integer((json_int_t)before));
    json_t *list = s_notifications(self, query, "inbox", reply);
    if (!list)
        return;
    cs_reply_json(reply, 200,
                  json_pack("{s:s, s:I, s:O, s:b}", "department", department, "last_seq",
                            json_integer_value(json_object_get(list, "last_seq")), "items",
                            json_object_get(list, "items"), "truncated",
                            json_is_true(json_object_get(list, "truncated"))));
    json_decref(list);
}

/* The policy in force (and a dry run of event_json when not NULL), parsed,
 * or NULL with reply set. */
static json_t *s_policy(cs_api_t *self, const char *event_json, cs_reply_t *reply)
{
    char *answer = NULL;
    char err[HUB_ERR_LEN] = "";
    int rc = hub_policy_query(self->client, event_json, &answer, s_timeout(self), err);
    if (rc < 0) {
        s_hub_error(reply, rc, "policy", err);
        return NULL;
    }
    json_t *policy = json_loads(answer, 0, NULL);
    free(answer);
    if (!json_is_object(policy)) {
        json_decref(policy);
        cs_reply_error(reply, 502, "hub", "policy: the hub's answer is not a JSON object");
        return NULL;
    }
    return policy;
}

/* The open dead letters (all: every one), newest first, or NULL with reply
 * set. */
static json_t *s_dead_letters(cs_api_t *self, int all, size_t limit, cs_reply_t *reply)
{
    json_t *query = json_pack("{s:b, s:b, s:I}", "dead_letters", 1, "open_only", !all, "limit", (json_int_t)limit);
    return s_notifications(self, query, "dead letters", reply);
}

void cs_api_ops(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply)
{
    if (s_require_operator(user, reply) < 0 || s_act_for(self, user, reply) < 0)
        return;
    char err[HUB_ERR_LEN] = "";
    char *text = NULL;
    int rc = hub_status(self->client, &text, s_timeout(self), err);
    if (rc < 0) {
        s_hub_error(reply, rc, "status", err);
        return;
    }
    json_t *status = json_loads(text, 0, NULL);
    free(text);
    /* every dead letter with its state (the page hides the handled ones on
     * request), or the open ones only with open=1 */
    json_t *dead = status ? s_dead_letters(self, !s_query_flag(req, "open"), CS_LIST_MAX, reply) : NULL;
    json_t *policy = dead ? s_policy(self, NULL, reply) : NULL;
    if (!status)
        cs_reply_error(reply, 502, "hub", "status: the hub's answer is not JSON");
    if (status && dead && policy) {
        /* the policy without what only a dry run fills */
        json_t *shown = json_pack("{s:O?, s:O?, s:O?, s:O?}", "sha256", json_object_get(policy, "sha256"), "path",
                                  json_object_get(policy, "path"), "routes", json_object_get(policy, "routes"),
                                  "source", json_object_get(policy, "source"));
        cs_reply_json(reply, 200,
                      json_pack("{s:O, s:O, s:b, s:o}", "status", status, "dead_letters",
                                json_object_get(dead, "items"), "dead_letters_truncated",
                                json_is_true(json_object_get(dead, "truncated")), "policy", shown));
    }
    json_decref(status);
    json_decref(dead);
    json_decref(policy);
}

/* One dead-letter action. Returns 0 and fills *redrive_seq_p, or the hub's
 * code with err. */
static int s_dead_letter(cs_api_t *self, uint64_t seq, const char *action, const char *reason,
                         uint64_t *redrive_seq_p, char err[HUB_ERR_LEN])
{
    *redrive_seq_p = 0;
    return hub_dead_letter_action(self->client, seq, action, reason, redrive_seq_p, s_timeout(self), err);
}

/* A dead-letter action refused: the hub says INVALID for an unknown seq
 * and for one already acted on the other way; the console tells them
 * apart by the hub's words (404, 409), so that the page can say which. */
static void s_dead_letter_error(cs_reply_t *reply, int rc, const char *what, const char *err)
{
    if (rc == -HUB_EINVALID && strstr(err, "is not a dead letter"))
        cs_reply_error(reply, 404, "not_found", "%s", err);
    else if (rc == -HUB_EINVALID && strstr(err, "cannot be"))
        cs_reply_error(reply, 409, "conflict", "%s", err);
    else
        s_hub_error(reply, rc, what, err);
}

/* The "seq" of a body: 1 with *seq, 0 when absent, -1 with a 400. */
static int s_body_seq(const json_t *body, uint64_t *seq, cs_reply_t *reply)
{
    const json_t *v = json_object_get(body, "seq");
    *seq = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        cs_reply_error(reply, 400, "bad_request", "seq: expected a positive whole number (the dead letter's seq)");
        return -1;
    }
    *seq = (uint64_t)json_integer_value(v);
    return 1;
}

void cs_api_redrive(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply)
{
    if (s_require_operator(user, reply) < 0)
        return;
    json_t *body = cs_api_body(req, reply);
    if (!body)
        return;
    uint64_t seq = 0;
    const json_t *all = json_object_get(body, "all");
    int has_seq = s_body_seq(body, &seq, reply);
    if (has_seq < 0 || s_act_for(self, user, reply) < 0)
        goto done;
    if (all && !json_is_boolean(all)) {
        cs_reply_error(reply, 400, "bad_request", "all: expected true or false");
        goto done;
    }
    if (has_seq == json_is_true(all)) {
        cs_reply_error(reply, 400, "bad_request", "give either \"seq\": N or \"all\": true");
        goto done;
    }
    char err[HUB_ERR_LEN] = "";
    uint64_t redrive_seq = 0;
    if (has_seq) {
        int rc = s_dead_letter(self, seq, "redrive", NULL, &redrive_seq, err);
        if (rc < 0) {
            s_dead_letter_error(reply, rc, "redrive", err);
            goto done;
        }
        hub_info("%s re-drove dead letter %" PRIu64 " as %" PRIu64, user->name, seq, redrive_seq);
        cs_reply_json(reply, 200,
                      json_pack("{s:[{s:I, s:I}], s:[]}", "redriven", "seq", (json_int_t)seq, "redrive_seq",
                                (json_int_t)redrive_seq, "failed"));
        goto done;
    }
    /* all: the open ones, oldest first, each on its own: one that fails
     * (acted on meanwhile) does not stop the others */
    json_t *list = s_dead_letters(self, 0, CS_REDRIVE_ALL_MAX, reply);
    if (!list)
        goto done;
    json_t *redriven = json_array(), *failed = json_array();
    const json_t *items = json_object_get(list, "items");
    for (size_t i = json_array_size(items); i-- > 0 && redriven && failed;) {
        json_int_t dl = json_integer_value(json_object_get(json_object_get(json_array_get(items, i), "notification"),
                                                           "seq"));
        if (dl <= 0)
            continue;
        int rc = s_dead_letter(self, (uint64_t)dl, "redrive", NULL, &redrive_seq, err);
        if (rc == 0)
            json_array_append_new(redriven, json_pack("{s:I, s:I}", "seq", dl, "redrive_seq", (json_int_t)redrive_seq));
        else
            json_array_append_new(failed, json_pack("{s:I, s:s}", "seq", dl, "message", err));
        if (rc == -ETIMEDOUT)
            break; /* the hub is not answering: do not wait for each of the rest */
    }
    hub_info("%s re-drove %zu dead letters (%zu failed)", user->name, json_array_size(redriven),
             json_array_size(failed));
    cs_reply_json(reply, 200,
                  json_pack("{s:o, s:o, s:b}", "redriven", redriven, "failed", failed, "truncated",
                            json_is_true(json_object_get(list, "truncated"))));
    json_decref(list);
done:
    json_decref(body);
}

void cs_api_discard(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply)
{
    if (s_require_operator(user, reply) < 0)
        return;
    json_t *body = cs_api_body(req, reply);
    if (!body)
        return;
    uint64_t seq = 0;
    const char *reason = NULL;
    int has_seq = s_body_seq(body, &seq, reply);
    if (has_seq < 0 || s_body_str(body, "reason", 0, CS_REASON_MAX, &reason, reply) < 0
        || s_act_for(self, user, reply) < 0)
        goto done;
    if (!has_seq) {
        cs_reply_error(reply, 400, "bad_request", "seq: missing (the dead letter's seq)");
        goto done;
    }
    if (!reason || !*reason) {
        cs_reply_error(reply, 400, "bad_request", "reason: missing: say why the dead letter is given up");
        goto done;
    }
    char err[HUB_ERR_LEN] = "";
    uint64_t ignored = 0;
    int rc = s_dead_letter(self, seq, "discard", reason, &ignored, err);
    if (rc < 0) {
        s_dead_letter_error(reply, rc, "discard", err);
        goto done;
    }
    hub_info("%s discarded dead letter %" PRIu64, user->name, seq);
    cs_reply_json(reply, 200, json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "state", "discarded"));
done:
    json_decref(body);
}

void cs_api_dry_run(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply)
{
    if (s_require_operator(user, reply) < 0)
        return;
    json_t *body = cs_api_body(req, reply);
    if (!body)
        return;
    const json_t *event = json_object_get(body, "event");
    if (!json_is_object(event)) {
        cs_reply_error(reply, 400, "bad_request", "event: expected a JSON object (an event as publish takes it)");
        json_decref(body);
        return;
    }
    char *text = json_dumps(event, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        cs_reply_json(reply, 500, NULL);
        return;
    }
    json_t *policy = s_act_for(self, user, reply) == 0 ? s_policy(self, text, reply) : NULL;
    free(text);
    if (policy)
        cs_reply_json(reply, 200, policy);
}

json_t *cs_api_status(cs_api_t *self, char err[HUB_ERR_LEN])
{
    char *text = NULL;
    int rc = hub_status(self->client, &text, s_timeout(self), err);
    if (rc < 0)
        return NULL;
    json_t *status = json_loads(text, 0, NULL);
    free(text);
    if (!status)
        snprintf(err, HUB_ERR_LEN, "the hub's status is not JSON");
    return status;
}

int cs_api_ping(cs_api_t *self)
{
    return hub_client_ping(self->client, s_timeout(self));
}
