/*
 * The seccomp user-notification supervisor: the hot loop that decides the syscalls the filter
 * sends to user space (openat, open, creat, connect, bind, execve, execveat) with the decision
 * tables TypeScript compiled (plan record P_SUP_TABLES, format in sup_tables.h). It runs in the
 * mcpj-jail supervisor process, in the host's namespaces, and is driven by the supervisor's poll
 * loop in main.c.
 */
#ifndef MCPJ_SUPERVISOR_H
#define MCPJ_SUPERVISOR_H
#include "plan.h"
#include <sys/types.h>

struct supervisor;

/* Prepares the decision tables. init_pid is the jail init's host pid (its /proc/PID/root is the
 * jail's root); events are written as lines to event_fd (never blocking the loop). */
struct supervisor *supervisor_new(const struct plan *p, pid_t init_pid, int event_fd);

/* Called when the listener is readable: receives and answers one notification. Returns 0, or -1
 * when the listener is finished (POLLHUP / no targets left). */
int supervisor_on_ready(struct supervisor *s, int listener);

/* Audit events waiting to be written to event_fd (poll it for POLLOUT while this is true). */
int supervisor_events_pending(const struct supervisor *s);
/* Writes queued events; block != 0 waits until all are out (before other writers use the fd and
 * before exit, so that lines never interleave and none is lost). s may be NULL. */
void supervisor_flush_events(struct supervisor *s, int block);

#endif
