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

/* Restricts the calling thread (and its future children) with the ruleset. */
void landlock_enforce(int ruleset_fd);

#endif
