/*
 * httpd_signals - stop signals for an adapter's main thread (see
 * httpd_signals.h).
 */
#include "httpd_signals.h"

#include <pthread.h>

void httpd_signals_block(sigset_t *set, int extra_sig)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    if (extra_sig)
        sigaddset(set, extra_sig);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int httpd_signals_wait(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}
