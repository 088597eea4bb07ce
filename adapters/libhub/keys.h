/*
 * keys - CURVE key files: what `hubctl keygen` writes and what clients read.
 *
 * A key file holds one key in z85 text (40 characters, 32 bytes of key)
 * and an optional trailing newline; anything else is an error naming the
 * file. A key pair is two files on one path prefix: PREFIX.key (the public
 * key, mode 0644) and PREFIX.secret (the secret key, mode 0600).
 *
 * Rules:
 *   1. A secret key file that group or others may access (any bit of 0077)
 *      is refused, before its content is read, with the chmod that fixes it.
 *   2. The secret key is kept in caller buffers only; the copies made here
 *      are wiped before returning.
 *   3. A pair is checked: the public key must be the one the secret key
 *      derives, so that two files of different pairs are caught at once,
 *      not as a handshake the hub silently drops.
 */
#ifndef HUB_KEYS_H_INCLUDED
#define HUB_KEYS_H_INCLUDED

#include <stddef.h>

#include "hub.h"

#define HUB_KEY_Z85_LEN 40                 /* characters of a z85 CURVE key */
#define HUB_KEY_SIZE (HUB_KEY_Z85_LEN + 1) /* its buffer, NUL included */
#define HUB_KEY_PUBLIC_EXT ".key"          /* PREFIX.key: the public key */
#define HUB_KEY_SECRET_EXT ".secret"       /* PREFIX.secret: the secret key */

/* Reads the key file at path into key (NUL-terminated z85). With secret 1
 * the file must also be private (rule 1). Does not block beyond the file
 * system. Returns 0; -errno when the file cannot be opened or read;
 * -HUB_ECONFIG when it is not a regular file, holds something else than a
 * key and a newline, or (secret) is readable by others. err says which
 * file and what is wrong; key is cleared on failure. */
int hub_key_read(const char *path, int secret, char key[HUB_KEY_SIZE], char err[HUB_ERR_LEN]);

/* The path prefix of a pair given as a prefix, or as the name of either of
 * its files ("keys/support", "keys/support.key", "keys/support.secret" all
 * give "keys/support"). Returns the length of the prefix in path. */
size_t hub_key_prefix_len(const char *path);

/* Reads the pair PREFIX.key and PREFIX.secret (prefix as hub_key_prefix_len
 * reads it) and checks that they belong together (rule 3). Returns 0;
 * -HUB_ECONFIG or -errno with err naming the file; -ENOTSUP when this
 * libzmq has no CURVE; -ENAMETOOLONG. Keys are cleared on failure. */
int hub_key_read_pair(const char *prefix, char public_key[HUB_KEY_SIZE], char secret_key[HUB_KEY_SIZE],
                      char err[HUB_ERR_LEN]);

/* Wipes len bytes so that the compiler cannot leave the write out. */
void hub_key_wipe(void *data, size_t len);

#endif
