/*
 * deadletter - the names the hub gives dead letters and their redrives,
 * made and read back in one place.
 *
 * A notification a subscriber gave up on becomes an event of its own
 * (broker.h), with:
 *   id      "deadletter:<subscriber>:<seq>:<slot>"  (the notification it was)
 *   topic   "deadletter.<subscriber>"
 *   reason  "<subscriber>: <why> (was <topic>, <n> attempts)"
 * and sending it back (a redrive) makes one more, with:
 *   id      "redrive:<seq of the dead letter>"      (so doing it twice stores it once)
 *   reason  "redriven from dead letter <seq> by <actor>"
 * Subscriber names hold no ':' (letters, digits, '.', '_', '-').
 */
#ifndef HUB_DEADLETTER_H_INCLUDED
#define HUB_DEADLETTER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define HUB_DEADLETTER_TOPIC_PREFIX "deadletter."
#define HUB_DEADLETTER_ID_LEN 128 /* room for either id and its NUL */
#define HUB_DEADLETTER_SUBSCRIBER_LEN 64 /* a subscriber name and its NUL */

/* The id of the dead letter of notification (seq, slot) of subscriber. */
void hub_deadletter_id(const char *subscriber, uint64_t seq, uint32_t slot, char out[HUB_DEADLETTER_ID_LEN]);

/* Reads such an id back. Returns 0 and fills subscriber, *seq_p and
 * *slot_p; -1 when id is not the id of a dead letter (nothing filled). */
int hub_deadletter_parse_id(const char *id, char subscriber[HUB_DEADLETTER_SUBSCRIBER_LEN], uint64_t *seq_p,
                            uint32_t *slot_p);

/* The reason of a dead letter's route (cut to outlen). */
void hub_deadletter_reason(const char *subscriber, const char *why, const char *topic, uint32_t attempts, char *out,
                           size_t outlen);

/* The subscriber's why of such a reason, or the reason itself when it is
 * not one (cut to outlen). */
void hub_deadletter_why(const char *reason, const char *subscriber, char *out, size_t outlen);

/* The id of the redrive of dead letter seq. */
void hub_deadletter_redrive_id(uint64_t seq, char out[HUB_DEADLETTER_ID_LEN]);

#endif
