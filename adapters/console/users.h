/*
 * users - who may use the console: the users file (YAML).
 *
 *   users:
 *     alice:
 *       password: "pbkdf2-sha256$200000$SALT$HASH"   # hub-console passwd makes it
 *       departments: [sales]                          # inboxes the user reads and answers for
 *       operator: false                               # true: ops page, dead letters, policy, any department
 *
 * Rules:
 *   1. A user name and a department name are 1 to 64 of [A-Za-z0-9._-]:
 *      the hub's own limits for identities, so that "NAME@IDENTITY" in the
 *      audit log is always accepted.
 *   2. A password is optional only when the console trusts a proxy header
 *      (settings proxy_header): such a user can only come in through the
 *      proxy. Without a proxy header every user needs one.
 *   3. A user is an operator, or has at least one department: a user who
 *      could see nothing is a mistake in the file.
 *   4. The file is read whole and checked whole: one mistake refuses it,
 *      with the file name and line.
 */
#ifndef CS_USERS_H_INCLUDED
#define CS_USERS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "password.h"

#define CS_NAME_LEN 65          /* a user or department name and its NUL */
#define CS_MAX_USERS 1000       /* users in one file */
#define CS_MAX_DEPARTMENTS 32   /* departments of one user */

typedef struct {
    char name[CS_NAME_LEN];                          /* user name */
    char departments[CS_MAX_DEPARTMENTS][CS_NAME_LEN]; /* the user's departments */
    size_t ndepartments;                             /* entries used */
    int operator;                                    /* 1: operator */
    int has_password;                                /* 0: only through the proxy header (rule 2) */
    cs_password_t password;                          /* the hash when has_password */
} cs_user_t;

typedef struct cs_users cs_users_t;

/* Loads a users file. need_password: 1 unless a proxy header is trusted
 * (rule 2). Returns the users, or NULL with err "path:LINE: what is
 * wrong". Blocks on the file system. */
cs_users_t *cs_users_load(const char *path, int need_password, char err[HUB_ERR_LEN]);

void cs_users_destroy(cs_users_t **self_p);

/* The user named name, or NULL. */
const cs_user_t *cs_users_find(const cs_users_t *self, const char *name);

size_t cs_users_count(const cs_users_t *self);

/* The highest iteration count of the users' password hashes; 0 when no
 * user has a password. */
uint32_t cs_users_max_iterations(const cs_users_t *self);

/* 1 when name is 1 to 64 of [A-Za-z0-9._-] (rule 1), else 0. */
int cs_name_valid(const char *name);

/* 1 when user may act for department: an operator, or one of the user's
 * departments. */
int cs_user_has_department(const cs_user_t *user, const char *department);

#endif
