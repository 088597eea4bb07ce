/*
 * caseboard - where a case stands in each department, read from the
 * case's audit rows (oldest first, as hub_audit_query gives them).
 *
 * A department's column starts with the notification routed to it
 * ("routed", or "escalated" for the backup that got an escalation) and
 * moves through
 *
 *   notified --delivered/acked--> delivered
 *       \            \
 *        +------------+--responded--> acknowledged | in_progress | resolved | rejected
 *        |            |
 *        +--breached--+--> breached --escalated--> escalated
 *
 * Rules:
 *   1. An answer wins: once a department has responded, its state is its
 *      latest response's status, even when a breach or an escalation of an
 *      earlier deadline is recorded after it (they stay visible as the
 *      "breached" / "escalated" flags).
 *   2. A notification routed to a department after its latest answer (a
 *      new event on the case) opens the column again: "notified".
 *   3. A delivered or acked row (one per subscriber per commit, over a
 *      range of sequence numbers) moves a column only when its range
 *      covers a sequence number that was routed to that department, and
 *      only from "notified".
 */
#ifndef CS_CASEBOARD_H_INCLUDED
#define CS_CASEBOARD_H_INCLUDED

#include <jansson.h>

#include "users.h"

/* The case board as JSON:
 *   {"case_id", "customer": name or id or "",
 *    "departments": [{"department", "state", "topic", "route", "respond_by" (RFC 3339 or null),
 *                     "seq", "breached", "escalated", "escalated_to", "dead_lettered",
 *                     "answered_by", "answered_at", "note"}...]   (in the order they were first routed),
 *    "history": rows}
 * rows: the audit rows as objects (borrowed; the board takes its own
 * reference). customer: from the case's notifications ("" when unknown).
 * Returns a new reference, or NULL when out of memory. */
json_t *cs_caseboard_build(const char *case_id, json_t *rows, const char *customer);

/* 1 when the case reached one of user's departments: a column of theirs
 * that was notified (routed, or told as the backup of an escalation); an
 * answer alone does not count. Operators: any board. Else 0. */
int cs_caseboard_involves(const json_t *board, const cs_user_t *user);

/* 1 when the case reached department (as above), else 0. */
int cs_caseboard_notified(const json_t *board, const char *department);

#endif
