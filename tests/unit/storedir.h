/*
 * storedir - removing the data directory a unit test gave hub_store_open:
 * the files the store makes there, then the directory itself.
 */
#ifndef HUB_TEST_STOREDIR_H_INCLUDED
#define HUB_TEST_STOREDIR_H_INCLUDED

#include <stdio.h>
#include <unistd.h>

static inline void storedir_remove(const char *dir)
{
    static const char *const names[] = {"hub.db", "hub.db-wal", "hub.db-shm", "hubd.lock"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

#endif
