/*
 * Landlock: the second, independent filesystem layer. The mount plan decides what exists in the
 * jail; Landlock decides what may be done with it (read-only grants readable and executable,
 * writable grants writable but never executable), and it still holds if a mount were wrong.
 */
#include "landlock.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include "landlock_defs.h"
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The ruleset attribute as of ABI 6; older kernels accept a shorter size (we pass the size that
 * matches the ABI so they do not reject unknown trailing fields). */
struct ruleset_attr_v6 {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

/* Filesystem rights each ABI knows: 1 -> bits 0..12, 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV. */
static uint64_t fs_rights_for_abi(int abi)
{
    uint64_t r = (1ULL << 13) - 1;
    if (abi >= 2) r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) r |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r;
}

/* Rights that make sense on a file (the kernel rejects directory rights on a file rule). */
#define FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
                     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

int landlock_abi(void)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

/* What the plan asks for that this ABI cannot give (PD_* bits). */
static uint32_t downgrades_for(const struct plan *p, int abi)
{
    uint32_t d = 0;
    if (abi < 2 && (p->ll_handled_fs & LANDLOCK_ACCESS_FS_REFER))
        d |= PD_LANDLOCK_REFER;
    if (abi < 3 && (p->ll_handled_fs & LANDLOCK_ACCESS_FS_TRUNCATE))
        d |= PD_LANDLOCK_TRUNCATE;
    if (abi < 4 && p->ll_handled_net != 0)
        d |= PD_LANDLOCK_NET;
    if (abi < 5 && (p->ll_handled_fs & LANDLOCK_ACCESS_FS_IOCTL_DEV))
        d |= PD_LANDLOCK_IOCTL_DEV;
    if (abi < 6 && p->ll_scoped != 0)
        d |= PD_LANDLOCK_SCOPE;
    return d;
}

static int landlock_build(const struct plan *p, int *abi_out, int *fd_out, const char **step)
{
    int abi = landlock_abi();
    *abi_out = abi;
    *fd_out = -1;
    if (abi == 0)
        return 0;

    struct ruleset_attr_v6 attr = {
        .handled_access_fs = p->ll_handled_fs & fs_rights_for_abi(abi),
        .handled_access_net = abi >= 4 ? p->ll_handled_net : 0,
        .scoped = abi >= 6 ? p->ll_scoped : 0,
    };
    size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
    int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (fd < 0) {
        *step = "ruleset";
        return -errno;
    }
    for (size_t i = 0; i < p->n_ll_fs_rules; i++) {
        const struct plan_ll_fs_rule *r = &p->ll_fs_rules[i];
        int pfd = open(r->path, O_PATH | O_CLOEXEC);
        struct stat st;
        if (pfd < 0 || fstat(pfd, &st) < 0) {
            int e = errno;
            if (pfd >= 0)
                close(pfd);
            close(fd);
            *step = r->path;
            return -e;
        }
        struct landlock_path_beneath_attr pb = {
            .allowed_access = r->access & attr.handled_access_fs & (S_ISDIR(st.st_mode) ? ~0ULL : FILE_RIGHTS),
            .parent_fd = pfd,
        };
        /* A rule with no right left after masking is legal to skip, and the kernel rejects it. */
        int rc = pb.allowed_access != 0 ? (int)syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) : 0;
        int e = errno;
        close(pfd);
        if (rc < 0) {
            close(fd);
            *step = r->path;
            return -e;
        }
    }
    for (size_t i = 0; attr.handled_access_net != 0 && i < p->n_ll_net_rules; i++) {
        struct landlock_net_port_attr np = {
            .allowed_access = p->ll_net_rules[i].access & attr.handled_access_net,
            .port = p->ll_net_rules[i].port,
        };
        if (np.allowed_access != 0 && syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_NET_PORT, &np, 0) < 0) {
            int e = errno;
            close(fd);
            *step = "network rule";
            return -e;
        }
    }
    *fd_out = fd;
    return 0;
}

int landlock_prepare(const struct plan *p, int *abi_out, uint32_t *downgrades)
{
    const char *step = "";
    int fd;
    int r = landlock_build(p, abi_out, &fd, &step);
    if (*abi_out < (int)p->ll_min_abi) {
        if (*abi_out == 0) {
            /* The kernel's own answer: ENOSYS (not built in) or EOPNOTSUPP (not enabled at boot). */
            long e = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) < 0 ? errno : ENOSYS;
            die_step("landlock", (int)e, "Landlock is not available (kernel 5.13+ with lsm=landlock needed; ABI %u required)", p->ll_min_abi);
        }
        die_step("landlock", ENOSYS, "Landlock ABI %d is below the required %u", *abi_out, p->ll_min_abi);
    }
    /* The layers this ABI lacks: taken only when the plan accepts each (TypeScript decided). */
    uint32_t d = *abi_out > 0 ? downgrades_for(p, *abi_out) : 0;
    if (d & ~p->downgrades) {
        if (fd >= 0)
            close(fd);
        die_step("downgrade", ENOSYS, "landlock=%u abi=%d", d & ~p->downgrades, *abi_out);
    }
    *downgrades |= d;
    if (r < 0)
        die_step("landlock", -r, "cannot build the ruleset (ABI %d): %s", *abi_out, step);
    return fd;
}

void landlock_enforce(int ruleset_fd)
{
    if (ruleset_fd < 0)
        return;
    /* no_new_privs is already set (restrict_self requires it without CAP_SYS_ADMIN). */
    if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0)
        die_step("landlock", errno, "cannot enforce the ruleset");
    close(ruleset_fd);
}
