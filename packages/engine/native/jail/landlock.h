#ifndef MCPJ_LANDLOCK_H
#define MCPJ_LANDLOCK_H
#include "plan.h"

/* Returns the running kernel's Landlock ABI version, 0 when Landlock is unavailable. */
int landlock_abi(void);

/* Creates the ruleset described by the plan, masked to what the running ABI knows (best effort,
 * as the kernel's samples/landlock/sandboxer.c does). Must run after the jail's root is in place:
 * rule paths are paths inside the jail. Returns the ruleset fd, or -1 when Landlock is absent and
 * the plan allows that (ll_min_abi == 0). Dies when the ABI is below the plan's minimum. */
int landlock_prepare(const struct plan *p, int *abi_out);

/* Builds the plan's ruleset (ABI-masked), its rule paths opened from our root (root_fd < 0) or
 * beneath root_fd. Returns 0 with the ruleset in *fd_out (-1 when Landlock is absent: *abi_out is
 * then 0), or -errno with *step naming what failed. The status is kept apart from the descriptor
 * so that no error can read as "no Landlock". Does not check the plan's minimum ABI. */
int landlock_build(const struct plan *p, int root_fd, int *abi_out, int *fd_out, const char **step);

/* Restricts the calling thread (and its future children) with the ruleset. */
void landlock_enforce(int ruleset_fd);

#endif
