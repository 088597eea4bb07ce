/*
 * api - the console's JSON endpoints that speak to the hub, through one
 * libhub client. Who the user is has been settled before (console.c): each
 * call gets the logged-in user and checks what that user may see.
 *
 *   GET  /api/inbox?department=D[&after_seq=N][&before_seq=N][&limit=N][&all=1]
 *   POST /api/answer {"department","case_id","status","note"}
 *   GET  /api/case?case_id=C | ?customer=Q
 *   GET  /api/ops[?open=1]                                   (operators)
 *   POST /api/deadletters/redrive {"seq":N} | {"all":true}    (operators)
 *   POST /api/deadletters/discard {"seq":N,"reason":"..."}    (operators)
 *   POST /api/policy/dry-run {"event":{...}}                  (operators)
 *
 * Rules:
 *   1. Every call to the hub first says whom the console acts for
 *      (hub_client_set_user), so that the hub's audit rows name
 *      "USER@IDENTITY": the person, and the console's own identity.
 *   2. A department the user does not belong to is refused (403) before
 *      the hub is asked; operators may act for any department.
 *   3. The hub's refusals keep their words: an invalid field is 400 with
 *      the hub's message, a hub that does not answer or refuses the
 *      console's identity is 502, so that a user can tell "my input" from
 *      "the system".
 *   4. Not thread-safe (libhub's client is not): the one HTTP thread calls
 *      it. Each call blocks up to the settings' hub_timeout per hub call.
 */
#ifndef CS_API_H_INCLUDED
#define CS_API_H_INCLUDED

#include <jansson.h>

#include "hub.h"
#include "reply.h"
#include "settings.h"
#include "users.h"

#define CS_CASE_ID_MAX 128     /* bytes of a case id */
#define CS_NOTE_MAX 4000       /* bytes of an answer's note */
#define CS_QUERY_MAX 128       /* bytes of a customer search */
#define CS_REASON_MAX 1000     /* bytes of a discard reason (the hub's limit) */
#define CS_INBOX_LIMIT 200     /* items of an inbox page by default */
#define CS_LIST_MAX 1000       /* items the hub gives in one answer at most */
#define CS_HISTORY_ROWS 1000   /* audit rows of a case at most */
#define CS_REDRIVE_ALL_MAX 1000 /* dead letters one "redrive all" takes */

typedef struct cs_api cs_api_t;

/* Creates the hub client (it connects in the background). settings must
 * outlive the api. Returns NULL with err (e.g. a key file that cannot be
 * read). */
cs_api_t *cs_api_new(const cs_settings_t *settings, char err[HUB_ERR_LEN]);

void cs_api_destroy(cs_api_t **self_p);

/* The endpoints (see the table above). Each fills reply; none fails
 * otherwise. */
void cs_api_inbox(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);
void cs_api_answer(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);
void cs_api_case(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);
void cs_api_ops(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);
void cs_api_redrive(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);
void cs_api_discard(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);
void cs_api_dry_run(cs_api_t *self, const cs_user_t *user, const cs_request_t *req, cs_reply_t *reply);

/* The hub's status, parsed (the caller json_decref's it), or NULL with err
 * when the hub did not answer. */
json_t *cs_api_status(cs_api_t *self, char err[HUB_ERR_LEN]);

/* 0 when the hub answers a ping within the hub timeout, else a negative
 * code. */
int cs_api_ping(cs_api_t *self);

/* The request body as a JSON object, or NULL with reply set to 400 naming
 * what is wrong (not JSON, not an object). */
json_t *cs_api_body(const cs_request_t *req, cs_reply_t *reply);

#endif
