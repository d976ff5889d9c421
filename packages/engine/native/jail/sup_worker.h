/*
 * Worker threads that act for the jail: the supervisor may run as root, but what it opens,
 * connects or binds on the jail's behalf must be done with no more rights than the jailed process
 * has. A worker thread takes the jail's identity for itself only (setfsuid/setfsgid to the jail's
 * host uid/gid, every capability dropped: all per-thread in Linux), and, unless told otherwise,
 * restricts itself with the jail's own Landlock ruleset, rebuilt from the plan's rules with the
 * paths opened under the jail's root. The loop thread hands it one job at a time and waits.
 */
#ifndef MCPJ_SUP_WORKER_H
#define MCPJ_SUP_WORKER_H

#include "plan.h"

#include <pthread.h>
#include <stdint.h>

struct sup_worker {
    pthread_t thread;
    uint32_t state; /* futex word: W_IDLE, W_POSTED, W_DONE */
    void (*fn)(void *);
    void *arg;
    /* start-up parameters and result */
    const struct plan *plan;
    int root_fd;   /* the jail's root (Landlock rule paths are opened beneath it) */
    int landlock;  /* restrict the thread with the jail's ruleset */
    int init_err;  /* 0, or the errno of the step that failed */
    const char *init_step;
    int landlock_abi;
};

/* Starts the worker and waits for its set-up. Returns 0, or -1 (w->init_err/init_step say why). */
int sup_worker_start(struct sup_worker *w, const struct plan *p, int root_fd, int landlock);
/* Runs fn(arg) on the worker thread and waits for it to finish. */
void sup_worker_run(struct sup_worker *w, void (*fn)(void *), void *arg);

#endif
