#ifndef MCPJ_INIT_H
#define MCPJ_INIT_H
#include "plan.h"

/* The jail's PID 1, right after clone: waits for the supervisor to write the uid/gid maps (it
 * reads one byte from sync_fd), builds the jail, forks the server, then reaps and forwards
 * signals until the server exits, and exits with its status. Reports on jail_sock. */
__attribute__((noreturn)) void jail_init(const struct plan *p, int sync_fd, int jail_sock);

#endif
