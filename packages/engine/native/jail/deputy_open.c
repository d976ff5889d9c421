/*
 * The deputy's open and exec jobs (see deputy_fs.c for how paths are resolved and decided).
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

/* What openat2 accepts (it refuses unknown bits where openat ignores them). */
#define VALID_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC | \
                          O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | __O_TMPFILE)

/* ---------------------------------------------------------------- open */

/* O_CREAT of a name that does not exist yet: resolve its directory, decide on the real directory
 * + the name, create beneath that directory with no symlink allowed (a symlink planted meanwhile
 * makes it fail with ELOOP instead of redirecting it). */
static int create(struct deputy *d, const struct djob *j, int flags, struct dres *r, int may_block)
{
    char base[NAME_MAX + 2];
    int pfd = dep_parent(d, j->p1, base, sizeof base, r->real, sizeof r->real);
    if (pfd < 0) {
        r->err = pfd == -EBUSY ? EISDIR : -pfd;
        return 0;
    }
    if (dep_dot_name(base) || strchr(base, '/') != NULL) {
        r->err = EISDIR;
    } else if ((r->err = dep_decide(d, r->real, dep_needed_rights(flags, 0) | SUP_R_WRITE, j->h.nspid, r)) == 0) {
        /* On the main thread the name must still be absent (O_EXCL): one made meanwhile could be a
         * FIFO, whose open would wait for a peer. It is then opened again from the start on a
         * worker, where waiting is allowed. */
        int excl = !may_block && !(flags & O_EXCL);
        struct open_how how = { .flags = (uint64_t)((flags & VALID_OPEN_FLAGS) | O_CLOEXEC | (excl ? O_EXCL : 0)), .mode = j->h.mode,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = dep_openat2(pfd, base, &how);
        if (fd == -EEXIST && excl) {
            close(pfd);
            return DEP_DEFER;
        }
        if (fd < 0)
            r->err = -fd;
        else
            r->fd = fd;
    }
    close(pfd);
    return 0;
}

int dep_open(struct deputy *d, const struct djob *j, struct dres *r, int may_block)
{
    int flags = j->h.flags & VALID_OPEN_FLAGS;
    int o;
    if (j->fd >= 0) {
        o = j->fd; /* the target's own /proc/self/fd/N: the file itself */
    } else {
        /* Resolution only (O_PATH needs no permission and has no side effect). O_CREAT|O_EXCL
         * must not follow a final symlink, like the kernel. */
        int rf = flags & (O_NOFOLLOW | O_DIRECTORY);
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
            rf |= O_NOFOLLOW;
        /* Another process's private /proc entry is refused as such before anything is resolved
         * (the kernel's own refusal would name a ptrace check or a magic link). */
        char norm[PATH_MAX];
        snprintf(norm, sizeof norm, "%s", j->p1);
        sup_normalize(norm);
        if ((r->err = dep_proc_check(d, norm, j->h.nspid, r)) != 0)
            return 0;
        o = dep_resolve(d, j->p1, rf);
        if (o < 0) {
            if (o == -ENOENT && (flags & O_CREAT)) {
                if (create(d, j, flags, r, may_block) == DEP_DEFER)
                    return DEP_DEFER;
                dep_kernel_why(r, r->err);
                return 0;
            }
            r->err = -o;
            dep_missing(d, j->p1, r);
            dep_kernel_why(r, r->err);
            return 0;
        }
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
            close(o);
            r->err = EEXIST;
            return 0;
        }
    }
    struct stat st;
    int e = 0;
    if (fstat(o, &st) < 0)
        e = errno;
    else
        e = -dep_fd_path(o, r->real, sizeof r->real);
    if (e == 0 && S_ISLNK(st.st_mode) && !(flags & O_PATH))
        e = ELOOP; /* O_NOFOLLOW on a symlink */
    if (e == 0)
        e = dep_decide(d, r->real, dep_needed_rights(flags, S_ISDIR(st.st_mode)), j->h.nspid, r);
    if (e == 0 && (flags & O_PATH)) {
        /* Decided: the kernel performs it (sup_open.c says why that is safe). */
        if (o != j->fd)
            close(o);
        return 0;
    }
    /* A FIFO opened for reading or for writing alone waits for a peer, a leased file for the lease
     * to break: not on the main thread. O_RDWR and O_NONBLOCK opens of a FIFO never wait. */
    int fifo = e == 0 && S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK) && (flags & O_ACCMODE) != O_RDWR;
    if (fifo && !may_block) {
        if (o != j->fd)
            close(o);
        return DEP_DEFER;
    }
    if (e == 0) {
        /* Reopen the very object resolved above: no name is looked up again. The permission
         * checks (mode bits, Landlock) happen here, with the jail's identity and domain. */
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", o);
        int rf = (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC;
        int nb = !may_block && !(flags & O_NONBLOCK);
        int fd = open(link, rf | (nb ? O_NONBLOCK : 0), j->h.mode);
        if (fd < 0 && nb && (errno == EWOULDBLOCK || errno == EAGAIN)) {
            if (o != j->fd)
                close(o);
            return DEP_DEFER; /* a lease: wait for it on a worker */
        }
        if (fd < 0) {
            e = errno;
        } else if (nb) {
            int fl = fcntl(fd, F_GETFL);
            if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
                e = errno;
                close(fd);
                fd = -1;
            }
        }
        if (fd >= 0) {
            /* Opened and allowed: a mount table is handed over without its host paths. */
            int c = dep_mounts_copy(r->real, fd);
            if (c != fd) {
                close(fd);
                fd = c < 0 ? -1 : c;
                e = c < 0 ? -c : 0;
            }
        }
        r->fd = fd;
    }
    r->err = e;
    if (e != 0)
        dep_kernel_why(r, e);
    if (o != j->fd)
        close(o);
    return 0;
}

/* ---------------------------------------------------------------- exec */

int dep_exec(struct deputy *d, const struct djob *j, struct dres *r)
{
    int o = j->fd;
    if (o < 0) {
        o = dep_resolve(d, j->p1, (j->h.flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0);
        if (o < 0) {
            r->err = -o;
            if (r->err == ELOOP || r->err == EXDEV) {
                r->why = WHY_LINK; /* /proc/self/fd/N, /proc/self/exe...: refused (ESCAPES 37) */
                r->err = EACCES;
            } else {
                dep_kernel_why(r, r->err);
            }
            return 0;
        }
    }
    struct stat st;
    int e = fstat(o, &st) < 0 ? errno : -dep_fd_path(o, r->real, sizeof r->real);
    if (e == 0 && r->real[0] == 0) {
        r->why = WHY_FD; /* a memfd or a deleted file: nothing on the allowlist (ESCAPES 37) */
        e = EACCES;
    } else if (e == 0 && S_ISLNK(st.st_mode)) {
        e = ELOOP;
    } else if (e == 0 && !S_ISREG(st.st_mode)) {
        e = EACCES;
        r->why = WHY_KERNEL;
    } else if (e == 0) {
        e = dep_decide(d, r->real, 0, j->h.nspid, r);
        if (e == 0 && !sup_exec_allowed(&d->t, r->real)) {
            r->why = WHY_EXEC;
            e = EACCES;
        }
    }
    if (o != j->fd)
        close(o);
    r->err = e;
    return 0;
}
