#ifndef MCPJ_IDMAP_H
#define MCPJ_IDMAP_H
#include "plan.h"

/* Writable grants whose owner is not the jail (a root invoker's jail runs as the host's nobody):
 * for each bind the plan marks MF_IDMAP, a detached copy of its source (open_tree) made idmapped,
 * so that the owner the plan names ("UID:GID" in the mount's data) is the jail's host uid and gid
 * through that mount and nowhere else. Runs in the supervisor, in the host's namespaces, before
 * the jail is cloned: idmapping a mount needs CAP_SYS_ADMIN in the user namespace of the
 * filesystem, the initial one for a host disk, which the jail never holds. Returns an array
 * parallel to p->mounts (-1 where a step is not idmapped), or NULL when no step is. Dies with step
 * "idmap" when the kernel or the filesystem cannot. */
int *idmap_prepare(const struct plan *p);

/* Attaches a tree idmap_prepare made at dest, an existing directory or file of the jail's staging
 * tree, and closes it. Runs in jail init. */
void idmap_attach(const struct plan_mount *m, int tree, const char *dest);

#endif
