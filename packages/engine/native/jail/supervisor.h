/*
 * The seccomp user-notification supervisor: decides the syscalls the filter sends to user space
 * with the tables TypeScript compiled (plan record P_SUP_TABLES, format in sup_tables.h), and has
 * the deputy (deputy.c, inside the jail) perform what it allows. It runs in the mcpj-jail
 * supervisor process, in the host's namespaces, driven by main.c's poll loop.
 */
#ifndef MCPJ_SUPERVISOR_H
#define MCPJ_SUPERVISOR_H

#include "report.h"
#include "dep_proto.h"
#include "plan.h"

#include <poll.h>
#include <sys/types.h>

struct supervisor;

/* Prepares the decision tables. init_pid is the jail init's host pid; events are written as
 * lines to event_fd (never blocking the loop); shared is the page both sides spin on. */
struct supervisor *supervisor_new(const struct plan *p, pid_t init_pid, int event_fd, struct dep_shared *shared);
/* The deputy's socket ('D' from the jail) and the seccomp listener ('S'). */
void supervisor_set_deputy(struct supervisor *s, int fd);
void supervisor_set_listener(struct supervisor *s, int fd);

/* The three descriptors to poll (listener, deputy, timer); fd -1 where there is nothing. */
int supervisor_pollfds(const struct supervisor *s, struct pollfd fds[3]);
/* Handles what poll reported on them. Returns -1 once the listener is finished (no target left). */
int supervisor_on_poll(struct supervisor *s, const struct pollfd fds[3]);

/* Audit events waiting to be written to event_fd (poll it for POLLOUT while this is true). */
int supervisor_events_pending(const struct supervisor *s);
/* Writes queued events; block != 0 waits until all are out (before other writers use the fd and
 * before exit, so that lines never interleave and none is lost). s may be NULL. */
void supervisor_flush_events(struct supervisor *s, int block);
/* Queues a line behind the events queued before it (they leave in order). s may be NULL: the line
 * is then sent at once (there is no queue to be behind). -1: no room (try again later). */
int supervisor_queue_line(struct supervisor *s, const struct line *l, int fd);
/* The same for a whole line of another process (a relayed report, newline included). -1: no
 * supervisor, or no room (write it out after flushing the queue). */
int supervisor_queue_raw(struct supervisor *s, const char *buf, size_t n);
/* With MCPJ_TRACE=1: one trace line per notified syscall (count, total µs from RECV to answer). */
void supervisor_trace_summary(const struct supervisor *s);

#endif
