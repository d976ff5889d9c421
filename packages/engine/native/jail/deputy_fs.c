/*
 * The deputy's resolution and decisions, shared by its file jobs (deputy_open.c: open and exec;
 * deputy_paths.c: the path operations). Every path is resolved beneath the jail's root with no
 * magic links (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and the decision is made on what
 * that reached: the descriptor's real path, not the spelling the target used
 * ("/proc/PID/../../tmp/link" is decided where the link leads). The action then goes through that
 * very descriptor (a reopen of /proc/self/fd/N, or an *at() call on the resolved directory), so no
 * name is looked up again between the decision and the action, except a final component that is
 * not followed (and can only name what a non-denied name may: every way to give a denied object
 * another name is refused).
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


int dep_openat2(int dfd, const char *path, struct open_how *how)
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
    return dep_openat2(d->root, path, &how);
}

int dep_fd_path(int fd, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n < 0)
        return -errno;
    out[n] = 0;
    if (out[0] != '/') {
        out[0] = 0; /* a pipe, a socket, an anonymous inode: no jail path */
        return 0;
    }
    /* " (deleted)" is the kernel's note on a name that was unlinked, or part of a real name: only
     * the link count says which. An unlinked file is decided on the name it had (a deny glob
     * still covers it); a memfd (the jail's own memory, never named) has none. */
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof deleted - 1;
    if ((size_t)n > dl && strcmp(out + n - dl, deleted) == 0) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return -errno;
        if (st.st_nlink == 0) {
            if (strncmp(out, "/memfd:", 7) == 0)
                out[0] = 0;
            else
                out[n - dl] = 0;
        }
    }
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
int dep_dot_name(const char *base)
{
    size_t n = strcspn(base, "/");
    return (n == 1 && base[0] == '.') || (n == 2 && base[0] == '.' && base[1] == '.');
}

/* /proc/N/...: never the deputy's own; never another process's private entries (as ptrace). */
int dep_proc_check(struct deputy *d, const char *real, int nspid, struct dres *r)
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
    int e = dep_proc_check(d, real, nspid, r);
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

uint32_t dep_needed_rights(int flags, int is_dir)
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
void dep_kernel_why(struct dres *r, int err)
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
void dep_missing(struct deputy *d, const char *path, struct dres *r)
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
