/*
 * The deputy's path operations: unlink/rmdir, mkdir, mknod, symlink, link, rename, chmod, chown,
 * utimes, truncate, setxattr, removexattr (see deputy_fs.c for how paths are resolved and decided).
 */
#include "deputy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---------------------------------------------------------------- path operations */

/* The object a path names, followed or not: its descriptor, its real path decided. */
static int object(struct deputy *d, const struct djob *j, int follow, uint32_t need, struct dres *r)
{
    int o;
    if (j->fd >= 0) {
        o = fcntl(j->fd, F_DUPFD_CLOEXEC, 3);
        if (o < 0)
            return -errno;
    } else {
        o = dep_resolve(d, j->p1, follow ? 0 : O_NOFOLLOW);
        if (o < 0)
            return o;
    }
    int e = -dep_fd_path(o, r->real, sizeof r->real);
    if (e == 0)
        e = dep_decide(d, r->real, need, j->h.nspid, r);
    if (e != 0) {
        close(o);
        return -e;
    }
    return o;
}

/* A name in its resolved directory, decided (write access to the directory's grant). */
static int name_in_dir(struct deputy *d, const char *path, int nspid, char *base, size_t cap, struct dres *r, char *real, size_t rcap)
{
    int pfd = dep_parent(d, path, base, cap, real, rcap);
    if (pfd < 0)
        return pfd;
    if (!dep_dot_name(base)) {
        int e = dep_decide(d, real, SUP_R_WRITE, nspid, r);
        if (e != 0) {
            close(pfd);
            return -e;
        }
    }
    return pfd;
}

static int rename_op(struct deputy *d, const struct djob *j, struct dres *r)
{
    char b1[NAME_MAX + 2], b2[NAME_MAX + 2], real2[PATH_MAX];
    int p1 = name_in_dir(d, j->p1, j->h.nspid, b1, sizeof b1, r, r->real, sizeof r->real);
    if (p1 < 0)
        return -p1;
    int p2 = name_in_dir(d, j->p2, j->h.nspid, b2, sizeof b2, r, real2, sizeof real2);
    int e = p2 < 0 ? -p2 : 0;
    /* Moving a directory must not carry what a deny rule could match below it to where that rule
     * no longer reaches (a rule /ws/STAR/keys/STAR.pem: renaming keys to kk). Both ways for RENAME_EXCHANGE. */
    if (e == 0 && (sup_glob_moves_out(&d->t, r->real, real2) || ((j->h.flags & RENAME_EXCHANGE) && sup_glob_moves_out(&d->t, real2, r->real)))) {
        r->why = WHY_GLOB;
        e = EACCES;
    }
    if (e == 0 && syscall(SYS_renameat2, p1, b1, p2, b2, (unsigned)j->h.flags) < 0)
        e = errno;
    close(p1);
    if (p2 >= 0)
        close(p2);
    return e;
}

static int link_op(struct deputy *d, const struct djob *j, struct dres *r)
{
    int follow = (j->h.flags & AT_SYMLINK_FOLLOW) != 0 || j->fd >= 0;
    char b1[NAME_MAX + 2], b2[NAME_MAX + 2], real2[PATH_MAX];
    int e = 0, src = -1, sdir = -1;
    if (follow) {
        src = object(d, j, 1, 0, r); /* the object itself, wherever its name leads */
        e = src < 0 ? -src : 0;
    } else {
        sdir = dep_parent(d, j->p1, b1, sizeof b1, r->real, sizeof r->real);
        e = sdir < 0 ? -sdir : dep_decide(d, r->real, 0, j->h.nspid, r);
    }
    int ddir = e == 0 ? name_in_dir(d, j->p2, j->h.nspid, b2, sizeof b2, r, real2, sizeof real2) : -1;
    if (e == 0 && ddir < 0)
        e = -ddir;
    if (e == 0) {
        int k;
        if (follow) {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", src);
            k = linkat(AT_FDCWD, link, ddir, b2, AT_SYMLINK_FOLLOW);
        } else {
            k = linkat(sdir, b1, ddir, b2, 0);
        }
        if (k < 0)
            e = errno;
    }
    if (src >= 0)
        close(src);
    if (sdir >= 0)
        close(sdir);
    if (ddir >= 0)
        close(ddir);
    return e;
}

/* chmod, chown, utimes, truncate, setxattr, removexattr. Followed: on the object reached, through
 * its descriptor. Not followed: on the name in its resolved directory. */
/* truncate(2) of the file o holds: the kernel's truncate waits for a lease on the file to be
 * broken (lease-break-time, 45 s by default, and a jail process may hold one), so the file is
 * opened for writing without waiting, and a wait goes to a worker (DEP_DEFER). Only a regular
 * file is opened: truncate refuses the rest, and opening a device or FIFO could act on it. */
static int truncate_fd(int o, off_t len, int may_block)
{
    struct stat st;
    if (fstat(o, &st) < 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    char via[64];
    snprintf(via, sizeof via, "/proc/self/fd/%d", o);
    int f = open(via, O_WRONLY | O_CLOEXEC | O_NOCTTY | (may_block ? 0 : O_NONBLOCK));
    if (f < 0)
        return !may_block && (errno == EWOULDBLOCK || errno == EAGAIN) ? DEP_DEFER : errno;
    int e = ftruncate(f, len) < 0 ? errno : 0;
    close(f);
    return e;
}

static int attr_op(struct deputy *d, const struct djob *j, struct dres *r, int may_block)
{
    int nofollow = (j->h.flags & AT_SYMLINK_NOFOLLOW) != 0 || ((j->h.sub == DP_SETXATTR || j->h.sub == DP_REMOVEXATTR) && j->h.b);
    if (j->h.sub == DP_TRUNCATE)
        nofollow = 0;
    const struct timespec *ts = j->h.payload_len == 2 * sizeof(struct timespec) ? (const struct timespec *)j->payload : NULL;
    uint32_t need = j->h.sub == DP_TRUNCATE ? SUP_R_WRITE : 0; /* the rest: deny rules; rights are the kernel's */
    int k;
    if (nofollow && j->fd < 0) {
        char base[NAME_MAX + 2];
        int pfd = dep_parent(d, j->p1, base, sizeof base, r->real, sizeof r->real);
        if (pfd < 0)
            return -pfd;
        int e = dep_decide(d, r->real, need, j->h.nspid, r);
        if (e != 0) {
            close(pfd);
            return e;
        }
        char via[PATH_MAX];
        snprintf(via, sizeof via, "/proc/self/fd/%d/%s", pfd, base);
        switch (j->h.sub) {
        case DP_CHMOD: k = (int)syscall(452 /* fchmodat2 */, pfd, base, j->h.mode, AT_SYMLINK_NOFOLLOW); break;
        case DP_CHOWN: k = fchownat(pfd, base, (uid_t)j->h.a, (gid_t)j->h.b, AT_SYMLINK_NOFOLLOW); break;
        case DP_UTIMES: k = utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW); break;
        case DP_SETXATTR: k = lsetxattr(via, j->p2, j->payload, j->h.payload_len, j->h.flags); break;
        case DP_REMOVEXATTR: k = lremovexattr(via, j->p2); break;
        default: k = -1; errno = EINVAL;
        }
        e = k < 0 ? errno : 0;
        close(pfd);
        return e;
    }
    int o = object(d, j, 1, need, r);
    if (o < 0)
        return -o;
    char via[64];
    snprintf(via, sizeof via, "/proc/self/fd/%d", o);
    switch (j->h.sub) {
    case DP_CHMOD: k = fchmodat(AT_FDCWD, via, j->h.mode, 0); break;
    case DP_CHOWN: k = fchownat(o, "", (uid_t)j->h.a, (gid_t)j->h.b, AT_EMPTY_PATH); break;
    case DP_UTIMES: k = utimensat(AT_FDCWD, via, ts, 0); break;
    case DP_TRUNCATE: {
        int e = truncate_fd(o, (off_t)j->h.a, may_block);
        close(o);
        return e;
    }
    case DP_SETXATTR: k = setxattr(via, j->p2, j->payload, j->h.payload_len, j->h.flags); break;
    case DP_REMOVEXATTR: k = removexattr(via, j->p2); break;
    default: k = -1; errno = EINVAL;
    }
    int e = k < 0 ? errno : 0;
    close(o);
    return e;
}

int dep_path(struct deputy *d, const struct djob *j, struct dres *r, int may_block)
{
    char base[NAME_MAX + 2];
    int e = 0;
    switch (j->h.sub) {
    case DP_UNLINK:
    case DP_MKDIR:
    case DP_MKNOD:
    case DP_SYMLINK: {
        int pfd = name_in_dir(d, j->p1, j->h.nspid, base, sizeof base, r, r->real, sizeof r->real);
        if (pfd < 0) {
            e = pfd == -EBUSY ? (j->h.sub == DP_UNLINK ? EBUSY : EEXIST) : -pfd;
            break;
        }
        int k;
        if (j->h.sub == DP_UNLINK)
            k = unlinkat(pfd, base, j->h.flags & AT_REMOVEDIR);
        else if (j->h.sub == DP_MKDIR)
            k = mkdirat(pfd, base, j->h.mode);
        else if (j->h.sub == DP_MKNOD)
            k = mknodat(pfd, base, j->h.mode, (dev_t)j->h.a);
        else
            k = symlinkat(j->p2, pfd, base);
        if (k < 0)
            e = errno;
        close(pfd);
        break;
    }
    case DP_RENAME:
        e = rename_op(d, j, r);
        break;
    case DP_LINK:
        e = link_op(d, j, r);
        break;
    default:
        e = attr_op(d, j, r, may_block);
        if (e == DEP_DEFER)
            return DEP_DEFER;
    }
    r->err = e;
    if (e != 0)
        dep_kernel_why(r, e);
    return 0;
}
