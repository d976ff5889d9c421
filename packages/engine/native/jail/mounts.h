#ifndef MCPJ_MOUNTS_H
#define MCPJ_MOUNTS_H
#include "plan.h"

/* Opens every bind source (O_PATH), while the process still has the invoker's own identity: a
 * root invoker's grant under /root must be reachable although the jail then runs as nobody.
 * An idmapped bind's source is the tree the supervisor prepared (trees, from idmap_prepare; may be
 * NULL). Returns an array parallel to p->mounts (-1 where the step is not a bind). */
int *mounts_open_sources(const struct plan *p, const int *trees);

/* Builds the jail's filesystem from the plan's mount operations and pivots into it. Runs in the
 * jail's fresh user+mount namespace, before any privilege is dropped. Dies on any failure.
 * Sets *proc_subset to 1 when /proc was mounted with the plan's preferred options. */
void mounts_build(const struct plan *p, const int *src_fds, int *proc_subset);

#endif
