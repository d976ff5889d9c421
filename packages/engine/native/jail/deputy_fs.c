/*
 * The deputy's file jobs: open, exec (the decision only), and the path operations. Every path is
 * resolved beneath the jail's root with no magic links (openat2 RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), and the decision is made on what that reached: the descriptor's real
 * path, not the spelling the target used ("/proc/PID/../../tmp/link" is decided where the link
 * leads). The action then goes through that very descriptor (a reopen of /proc/self/fd/N, or an
 * *at() call on the resolved directory), so no name is looked up again between the decision and
 * the action, except a final component that is not followed (and can only name what a non-denied
 * name may: every way to give a denied object another name is refused here).
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

#ifndef __O_TMPFILE
#define __O_TMPFILE (O_TMPFILE & ~O_DIRECTORY)
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* What openat2 accepts (it refuses unknown bits where openat ignores them). */
#define VALID_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC | \
                          O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | __O_TMPFILE)
#define O_PATH_FLAGS (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)

static int openat2_retry(int dfd, const char *path, struct open_how *how)
{
    /* RESOLVE_IN_ROOT/BENEATH fail with EAGAIN when a rename or mount anywhere raced a ".." step
     * (the kernel cannot prove the step stayed inside): retry a bounded number of times. */
    int fd = -1;
    for (int i = 0; i < 64; i++) {
        fd = (int)syscall(SYS_openat2, dfd, path, how, sizeof *how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    return fd < 0 ? -errno : fd;
}

int dep_resolve(const struct deputy *d, const char *path, int oflags)
{
    struct open_how how = { .flags = (uint64_t)(oflags | O_PATH | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    return openat2_retry(d->root, path, &how);
}

int dep_fd_path(int fd, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n < 0)
        return -errno;
    out[n] = 0;
    if (out[0] != '/' || (n > 10 && strcmp(out + n - 10, " (deleted)") == 0))
        out[0] = 0; /* a pipe, a socket, a memfd, a deleted file: no jail path */
    return 0;
}

int dep_parent(const struct deputy *d, const char *path, char *base, size_t base_cap, char *real, size_t real_cap)
{
    /* The last name, trailing slashes set apart: they go to the *at() call (the kernel decides
     * what "name/" means there) but not into the decision. */
    size_t n = strlen(path);
    size_t end = n;
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (n - start + 1 > base_cap)
        return -ENAMETOOLONG;
    memcpy(base, path + start, n - start);
    base[n - start] = 0;
    size_t name_len = end - start;
    if (name_len == 0)
        return -EBUSY; /* "/" itself */
    char parent[PATH_MAX];
    size_t pl = start > 1 ? start - 1 : start; /* "/a/b" -> "/a"; "/b" -> "/" */
    if (pl == 0)
        pl = 1;
    if (pl >= sizeof parent)
        return -ENAMETOOLONG;
    memcpy(parent, path, pl);
    parent[pl] = 0;
    int pfd = dep_resolve(d, parent, O_DIRECTORY);
    if (pfd < 0)
        return pfd;
    char dir[PATH_MAX];
    int r = dep_fd_path(pfd, dir, sizeof dir);
    if (r == 0 && dir[0] == 0)
        r = -ENOENT;
    if (r == 0) {
        int k = snprintf(real, real_cap, "%s/%.*s", strcmp(dir, "/") == 0 ? "" : dir, (int)name_len, base);
        if (k < 0 || (size_t)k >= real_cap)
            r = -ENAMETOOLONG;
    }
    if (r < 0) {
        close(pfd);
        return r;
    }
    return pfd;
}

/* A name "." or "..": the call is the kernel's to refuse (EINVAL, ENOTEMPTY, EEXIST, EISDIR);
 * nothing new is named, so nothing is decided. */
static int dot_name(const char *base)
{
    size_t n = strcspn(base, "/");
    return (n == 1 && base[0] == '.') || (n == 2 && base[0] == '.' && base[1] == '.');
}

/* /proc/N/...: never the deputy's own; never another process's private entries (as ptrace). */
static int proc_check(struct deputy *d, const char *real, int nspid, struct dres *r)
{
    if (strncmp(real, "/proc/", 6) != 0 || real[6] < '0' || real[6] > '9')
        return 0;
    char *end;
    long pid = strtol(real + 6, &end, 10);
    if (*end != 0 && *end != '/')
        return 0;
    const char *rest = *end == '/' ? end + 1 : end;
    if (strncmp(rest, "task/", 5) == 0) {
        const char *t = strchr(rest + 5, '/');
        rest = t != NULL ? t + 1 : "";
    }
    char name[64];
    size_t nl = strcspn(rest, "/");
    snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1), rest);
    if (dep_is_self(d, pid) || (pid != nspid && name[0] != 0 && sup_proc_private(&d->t, name))) {
        r->why = WHY_PROC;
        snprintf(r->real, sizeof r->real, "%s", real);
        return EACCES;
    }
    return 0;
}

int dep_decide(struct deputy *d, const char *real, uint32_t need, int nspid, struct dres *r)
{
    if (real[0] == 0)
        return 0; /* no path: the target's own pipe or socket, checked by the kernel on reopen */
    int e = proc_check(d, real, nspid, r);
    if (e != 0)
        return e;
    const struct sup_glob *g;
    switch (sup_decide(&d->t, real, need, &g)) {
    case SUP_OK:
        return 0;
    case SUP_GLOB:
        r->why = WHY_GLOB;
        r->rule = sup_glob_index(&d->t, g) + 1;
        return EACCES;
    case SUP_READONLY:
        r->why = WHY_READONLY;
        return EACCES;
    case SUP_OUTSIDE:
        r->why = WHY_OUTSIDE;
        return EACCES;
    }
    return EACCES;
}

static uint32_t needed_rights(int flags, int is_dir)
{
    int acc = flags & O_ACCMODE;
    uint32_t need = 0;
    if (flags & O_PATH)
        return 0;
    if (acc == O_RDONLY || acc == O_RDWR)
        need |= is_dir ? SUP_R_DIR : SUP_R_READ;
    if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC) || (flags & __O_TMPFILE) == __O_TMPFILE)
        need |= SUP_R_WRITE;
    return need;
}

/* The kernel's reasons for a refusal, named for the audit when we did not refuse ourselves. */
static void kernel_why(struct dres *r, int err)
{
    if (r->why != WHY_NONE)
        return;
    if (err == ELOOP || err == EXDEV)
        r->why = WHY_LINK; /* a magic link (/proc/PID/root, cwd, exe, ...) or a symlink loop */
    else if (err == EACCES || err == EPERM || err == EROFS)
        r->why = WHY_KERNEL; /* Landlock, mode bits or a read-only mount, as for the jail itself */
}

/* For the audit: the name a path's final symlinks lead to (a few hops), when that is a denied
 * name masked at start (which then answered for itself with EACCES or looks absent). */
static int symlink_to_denied(struct deputy *d, const char *path, struct dres *r)
{
    char cur[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", path);
    for (int hop = 0; hop < 8; hop++) {
        int o = dep_resolve(d, cur, O_NOFOLLOW);
        if (o < 0)
            return 0;
        struct stat st;
        char target[PATH_MAX], at[PATH_MAX];
        ssize_t n = -1;
        if (fstat(o, &st) == 0 && S_ISLNK(st.st_mode) && dep_fd_path(o, at, sizeof at) == 0 && at[0] == '/')
            n = readlinkat(o, "", target, sizeof target - 1);
        close(o);
        if (n <= 0)
            return 0;
        target[n] = 0;
        size_t dl = (size_t)(strrchr(at, '/') - at);
        if (target[0] == '/') {
            memcpy(cur, target, (size_t)n + 1);
        } else {
            if (dl + 1 + (size_t)n >= sizeof cur)
                return 0;
            memmove(cur, at, dl);
            cur[dl] = '/';
            memcpy(cur + dl + 1, target, (size_t)n + 1);
        }
        sup_normalize(cur);
        const struct sup_glob *g = sup_path_denied(&d->t, cur);
        if (g != NULL) {
            r->why = WHY_GLOB;
            r->rule = sup_glob_index(&d->t, g) + 1;
            snprintf(r->real, sizeof r->real, "%s", cur);
            return 1;
        }
    }
    return 0;
}

/* A path that reached nothing (ENOENT, ENOTDIR, or EACCES on the way: a masked directory has
 * mode 0). A denied name is refused as such (EACCES), whether it was masked at start or never
 * existed: the same answer and the same event either way. Outside every grant, the event says
 * so. */
static void missing(struct deputy *d, const char *path, struct dres *r)
{
    if (r->err != ENOENT && r->err != ENOTDIR && r->err != EACCES)
        return;
    char norm[PATH_MAX];
    snprintf(norm, sizeof norm, "%s", path);
    sup_normalize(norm);
    const struct sup_glob *g = sup_path_denied(&d->t, norm);
    if (g != NULL) {
        r->why = WHY_GLOB;
        r->rule = sup_glob_index(&d->t, g) + 1;
        r->err = EACCES;
        snprintf(r->real, sizeof r->real, "%s", norm);
    } else if (symlink_to_denied(d, norm, r)) {
        r->err = EACCES;
    } else if (r->err != EACCES && (sup_path_rights(&d->t, norm) & (SUP_R_READ | SUP_R_WRITE)) == 0) {
        r->why = WHY_OUTSIDE; /* a probe for a host file */
        snprintf(r->real, sizeof r->real, "%s", norm);
    }
}

/* ---------------------------------------------------------------- open */

/* O_CREAT of a name that does not exist yet: resolve its directory, decide on the real directory
 * + the name, create beneath that directory with no symlink allowed (a symlink planted meanwhile
 * makes it fail with ELOOP instead of redirecting it). */
static void create(struct deputy *d, const struct djob *j, int flags, struct dres *r)
{
    char base[NAME_MAX + 2];
    int pfd = dep_parent(d, j->p1, base, sizeof base, r->real, sizeof r->real);
    if (pfd < 0) {
        r->err = pfd == -EBUSY ? EISDIR : -pfd;
        return;
    }
    if (dot_name(base) || strchr(base, '/') != NULL) {
        r->err = EISDIR;
    } else if ((r->err = dep_decide(d, r->real, needed_rights(flags, 0) | SUP_R_WRITE, j->h.nspid, r)) == 0) {
        struct open_how how = { .flags = (uint64_t)((flags & VALID_OPEN_FLAGS) | O_CLOEXEC), .mode = j->h.mode,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = openat2_retry(pfd, base, &how);
        if (fd < 0)
            r->err = -fd;
        else
            r->fd = fd;
    }
    close(pfd);
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
        if ((r->err = proc_check(d, norm, j->h.nspid, r)) != 0)
            return 0;
        o = dep_resolve(d, j->p1, rf);
        if (o < 0) {
            if (o == -ENOENT && (flags & O_CREAT)) {
                create(d, j, flags, r);
                kernel_why(r, r->err);
                return 0;
            }
            r->err = -o;
            missing(d, j->p1, r);
            kernel_why(r, r->err);
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
        e = dep_decide(d, r->real, needed_rights(flags, S_ISDIR(st.st_mode)), j->h.nspid, r);
    if (e == 0 && (flags & O_PATH)) {
        /* Decided: the kernel performs it (sup_open.c says why that is safe). */
        if (o != j->fd)
            close(o);
        return 0;
    }
    /* A FIFO waits for a peer, a leased file for the lease to break: not on the main thread. */
    int fifo = e == 0 && S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK);
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
        r->fd = fd;
    }
    r->err = e;
    if (e != 0)
        kernel_why(r, e);
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
                kernel_why(r, r->err);
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
    if (!dot_name(base)) {
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
static int attr_op(struct deputy *d, const struct djob *j, struct dres *r)
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
    case DP_TRUNCATE: k = truncate(via, (off_t)j->h.a); break;
    case DP_SETXATTR: k = setxattr(via, j->p2, j->payload, j->h.payload_len, j->h.flags); break;
    case DP_REMOVEXATTR: k = removexattr(via, j->p2); break;
    default: k = -1; errno = EINVAL;
    }
    int e = k < 0 ? errno : 0;
    close(o);
    return e;
}

int dep_path(struct deputy *d, const struct djob *j, struct dres *r)
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
        e = attr_op(d, j, r);
    }
    r->err = e;
    if (e != 0)
        kernel_why(r, e);
    return 0;
}
