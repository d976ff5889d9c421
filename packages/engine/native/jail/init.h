#ifndef MCPJ_INIT_H
#define MCPJ_INIT_H
#include "dep_proto.h"
#include "plan.h"

/* The jail's PID 1, right after clone: waits for the supervisor to write the uid/gid maps (it
 * reads one byte from sync_fd), builds the jail, forks the deputy and the server (the deputy only
 * when the plan is supervised; sh is the page it shares with the supervisor), then reaps and forwards
 * signals until the server exits, and exits with its status. Reports on jail_sock. trees: the
 * idmapped grants the supervisor prepared (idmap.h), or NULL. */
__attribute__((noreturn)) void jail_init(const struct plan *p, int sync_fd, int jail_sock, struct dep_shared *sh, const int *trees);

#endif
