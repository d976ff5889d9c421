#ifndef MCPJ_IDENTITY_H
#define MCPJ_IDENTITY_H
#include "plan.h"

/* Becomes the jail's unprivileged identity for good: securebits locked, every capability dropped
 * (bounding, ambient, then permitted/effective/inheritable), uid/gid = the plan's jail ids. The
 * caller re-arms PR_SET_PDEATHSIG afterwards (a credential change clears it). */
void identity_drop(const struct plan *p);

/* Takes the jail's uid/gid right after the maps are written, keeping every capability of the
 * namespace. Until then a root invoker's process is host uid 0, which is not mapped inside, and
 * the kernel refuses to create files (EOVERFLOW) on the jail's own tmpfs as an unmapped user. */
void identity_assume(const struct plan *p);

#endif
