#ifndef MCPJ_LANDLOCK_H
#define MCPJ_LANDLOCK_H
#include "plan.h"

#include <stdint.h>

/* Returns the running kernel's Landlock ABI version, 0 when Landlock is unavailable. */
int landlock_abi(void);

/* Creates the ruleset described by the plan, masked to what the running ABI knows (the fall-through
 * of the kernel's samples/landlock/sandboxer.c), but only as far as the plan accepts: each right
 * the ABI lacks is a downgrade (PD_LANDLOCK_*), added to *downgrades when the plan's P_DOWNGRADES
 * has it, fatal (step "downgrade") otherwise. Must run after the jail's root is in place: rule
 * paths are paths inside the jail. Returns the ruleset fd, or -1 when Landlock is absent and the
 * plan allows that (ll_min_abi == 0). Dies when the ABI is below the plan's minimum. */
int landlock_prepare(const struct plan *p, int *abi_out, uint32_t *downgrades);

/* Restricts the calling thread (and its future children) with the ruleset, and closes it. */
void landlock_enforce(int ruleset_fd);

#endif
