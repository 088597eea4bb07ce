/*
 * redact - keep only some fields of a packed message, working on the wire
 * bytes (no unpacking), so that a department sees only what its route's
 * `fields:` allows.
 */
#ifndef HUB_REDACT_H_INCLUDED
#define HUB_REDACT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hub.h"
#include "hub.pb-c.h"

/* Copies into out (reset first) the fields of the packed message (of type
 * desc) named by keep: top-level names ("customer") or dotted paths into
 * sub-messages ("customer.name" keeps only that field of customer). Names
 * that do not resolve keep nothing. nkeep of 0 copies everything.
 * Returns 0; -HUB_EMALFORMED when packed is not valid wire data; -ENOMEM. */
int hub_redact(const ProtobufCMessageDescriptor *desc, const uint8_t *packed, size_t len,
               const char *const *keep, size_t nkeep, hub_buf_t *out);

#endif
