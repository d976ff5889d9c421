#include "sup_target.h"
#include "seccomp_defs.h"
#include "sup_tables.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>


int sup_id_valid(int listener, uint64_t id)
{
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Page by page: a string may end just before an unmapped page. */
int sup_read_str(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        size_t page_left = 4096 - ((addr + got) & 4095);
        size_t n = page_left < cap - got ? page_left : cap - got;
        struct iovec l = { .iov_base = buf + got, .iov_len = n };
        struct iovec r = { .iov_base = (void *)(uintptr_t)(addr + got), .iov_len = n };
        ssize_t k = process_vm_readv(pid, &l, 1, &r, 1, 0);
        if (k <= 0) {
            if (k == 0 || errno == EFAULT || got > 0)
                return -EFAULT;
            return -errno;
        }
        char *z = memchr(buf + got, 0, (size_t)k);
        if (z != NULL)
            return (int)(z - buf);
        got += (size_t)k;
    }
    return -ENAMETOOLONG;
}

int sup_read_mem(pid_t pid, uint64_t addr, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    struct iovec l = { .iov_base = buf, .iov_len = n };
    struct iovec r = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
    ssize_t k = process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (k == (ssize_t)n)
        return 0;
    if (k < 0 && errno != EFAULT)
        return -errno;
    return -EFAULT;
}

static long last_field(const char *line)
{
    const char *sp = strrchr(line, '\t');
    return sp ? strtol(sp + 1, NULL, 10) : -1;
}

int sup_target_info(pid_t tid, struct tinfo *ti)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    if (n == 0)
        return -ESRCH;
    buf[n] = 0;
    memset(ti, 0, sizeof *ti);
    ti->umask = 022;
    ti->nstgid = ti->nspid = -1;
    for (char *l = buf; l != NULL && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        if (strncmp(l, "Tgid:", 5) == 0)
            ti->tgid = (pid_t)strtol(l + 5, NULL, 10);
        else if (strncmp(l, "NStgid:", 7) == 0)
            ti->nstgid = last_field(l);
        else if (strncmp(l, "NSpid:", 6) == 0)
            ti->nspid = last_field(l);
        else if (strncmp(l, "Umask:", 6) == 0)
            ti->umask = (unsigned)strtoul(l + 6, NULL, 8);
        else if (strncmp(l, "Threads:", 8) == 0)
            ti->threads = strtol(l + 8, NULL, 10);
        l = nl ? nl + 1 : NULL;
    }
    return ti->tgid > 0 ? 0 : -ESRCH;
}

/* The jail path a relative path is relative to: the target's cwd or directory fd, as the kernel
 * names it for us (d_path of a jail file is its path inside the jail: the jail's root is the root
 * of its mount namespace). */
static int base_dir(pid_t tid, int dirfd, char *out, size_t cap)
{
    char link[64];
    if (dirfd == AT_FDCWD)
        snprintf(link, sizeof link, "/proc/%d/cwd", (int)tid);
    else
        snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, dirfd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n < 0)
        return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
    out[n] = 0;
    if (out[0] != '/')
        return -ENOTDIR; /* a pipe or socket */
    if (n > 10 && strcmp(out + n - 10, " (deleted)") == 0)
        return -ENOENT;
    return 0;
}

static int starts(const char *p, const char *prefix, const char **rest)
{
    size_t l = strlen(prefix);
    if (strncmp(p, prefix, l) != 0 || (p[l] != 0 && p[l] != '/'))
        return 0;
    *rest = p + l;
    return 1;
}

/* /proc/self, /proc/thread-self and /dev/{fd,stdin,stdout,stderr} name the *caller*: resolved by
 * the deputy they would name the deputy. The test is made on the normalized spelling (a prefix
 * test on the spelling as written is what let "/proc/PID/../../tmp/link" through once); the
 * rewrite keeps the rest of the normalized path. Returns 1 when a rewrite is needed (out set),
 * 0 when not, -ENAMETOOLONG. */
static int rewrite_self(const char *norm, const struct tinfo *ti, char *out, size_t cap)
{
    static const struct {
        const char *from, *to;
    } dev[] = { { "/dev/stdin", "/proc/self/fd/0" },
                { "/dev/stdout", "/proc/self/fd/1" },
                { "/dev/stderr", "/proc/self/fd/2" },
                { "/dev/fd", "/proc/self/fd" } };
    char n[PATH_MAX];
    const char *rest;
    snprintf(n, sizeof n, "%s", norm);
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) {
        if (starts(n, dev[i].from, &rest)) {
            char tmp[PATH_MAX];
            if ((size_t)snprintf(tmp, sizeof tmp, "%s%s", dev[i].to, rest) >= sizeof tmp)
                return -ENAMETOOLONG;
            memcpy(n, tmp, sizeof n);
            break;
        }
    }
    int r;
    if (starts(n, "/proc/self", &rest))
        r = snprintf(out, cap, "/proc/%ld%s", ti->nstgid, rest);
    else if (starts(n, "/proc/thread-self", &rest))
        r = snprintf(out, cap, "/proc/%ld/task/%ld%s", ti->nstgid, ti->nspid, rest);
    else
        return 0;
    return r > 0 && (size_t)r < cap ? 1 : -ENAMETOOLONG;
}

/* The target's own magic links under /proc/<own tgid>/ (or .../task/<tid>/), which the deputy
 * may not follow (RESOLVE_NO_MAGICLINKS): each is turned into what the kernel would reach.
 *   fd/N        the descriptor itself (tp->own_fd)
 *   fd/N/REST   REST beneath the directory fd N names
 *   cwd/REST    REST beneath the cwd;   root/REST   REST beneath the jail's root
 *   exe, ns/X   the object only the kernel can name (tp->own_link)
 * Returns 0 (tp->path may be rewritten), or -errno. */
static int own_proc(pid_t tid, const char *norm, struct tpath *tp)
{
    char pfx[64];
    const char *rest;
    snprintf(pfx, sizeof pfx, "/proc/%ld", tp->ti.nstgid);
    if (tp->ti.nstgid <= 0 || !starts(norm, pfx, &rest))
        return 0;
    char task[64];
    snprintf(task, sizeof task, "/task/%ld", tp->ti.nspid);
    const char *after;
    if (starts(rest, task, &after))
        rest = after;
    char base[PATH_MAX];
    const char *tail = NULL;
    int r = 0;
    if (starts(rest, "/root", &tail)) {
        snprintf(base, sizeof base, "/");
    } else if (starts(rest, "/cwd", &tail)) {
        r = base_dir(tid, AT_FDCWD, base, sizeof base);
    } else if (strncmp(rest, "/fd/", 4) == 0) {
        char *end;
        long fd = strtol(rest + 4, &end, 10);
        /* Only the canonical spelling: "/fd/007" or "/fd/+3" are other names the kernel refuses. */
        char canon[32];
        snprintf(canon, sizeof canon, "/fd/%ld", fd);
        if (end == rest + 4 || fd < 0 || fd > INT_MAX || strncmp(rest, canon, strlen(canon)) != 0 || (*end != 0 && *end != '/'))
            return 0;
        if (*end == 0) {
            tp->own_fd = (int)fd;
            return 0;
        }
        tail = end;
        r = base_dir(tid, (int)fd, base, sizeof base);
    } else if (strcmp(rest, "/exe") == 0 || (strncmp(rest, "/ns/", 4) == 0 && strchr(rest + 4, '/') == NULL)) {
        snprintf(tp->own_link, sizeof tp->own_link, "%s", rest + 1);
        return 0;
    } else {
        return 0;
    }
    if (r < 0)
        return r;
    int k = snprintf(tp->path, sizeof tp->path, "%s%s", strcmp(base, "/") == 0 ? "" : base, tail);
    if (tp->path[0] == 0)
        snprintf(tp->path, sizeof tp->path, "/");
    return k < 0 || (size_t)k >= sizeof tp->path ? -ENAMETOOLONG : 0;
}

int sup_target_path(int listener, uint64_t id, pid_t tid, int dirfd, uint64_t addr, int flags, struct tpath *tp)
{
    /* 1. The argument, copied once. */
    char raw[PATH_MAX];
    int n = sup_read_str(tid, addr, raw, sizeof raw);
    if (n < 0) {
        tp->raw[0] = tp->path[0] = 0;
        tp->own_fd = -1;
        tp->have_ti = 0;
        if (!sup_id_valid(listener, id))
            return SUP_GONE;
        return n == -ESRCH ? SUP_GONE : n;
    }
    return sup_target_compose(listener, id, tid, dirfd, raw, flags, tp);
}

int sup_target_compose(int listener, uint64_t id, pid_t tid, int dirfd, const char *raw, int flags, struct tpath *tp)
{
    tp->own_fd = -1;
    tp->own_link[0] = 0;
    tp->have_ti = 0;
    tp->empty = 0;
    tp->path[0] = 0;
    snprintf(tp->raw, sizeof tp->raw, "%s", raw);
    size_t n = strlen(tp->raw);
    int err = 0;
    if (n == 0 && (flags & TP_EMPTY_FD)) {
        /* The descriptor is the caller's: whoever takes it needs the caller's process, read here
         * like for any other path (a stale one would name another process's descriptor). */
        tp->empty = 1;
        if ((flags & TP_INFO) && sup_target_info(tid, &tp->ti) < 0)
            err = -EACCES;
        else
            tp->have_ti = (flags & TP_INFO) != 0;
        if (!sup_id_valid(listener, id))
            return SUP_GONE;
        return err;
    }
    if (n == 0)
        err = -ENOENT;

    /* 2. The jail path it names: absolute as written, or composed with the base directory. */
    if (err == 0) {
        if (tp->raw[0] == '/') {
            memcpy(tp->path, tp->raw, n + 1);
        } else {
            char base[PATH_MAX];
            err = base_dir(tid, dirfd, base, sizeof base);
            if (err == 0) {
                int k = snprintf(tp->path, sizeof tp->path, "%s/%s", strcmp(base, "/") == 0 ? "" : base, tp->raw);
                if (k < 0 || (size_t)k >= sizeof tp->path)
                    err = -ENAMETOOLONG;
            }
        }
    }

    /* 3. Names of the caller itself, decided on the normalized spelling. */
    if (err == 0) {
        char norm[PATH_MAX];
        memcpy(norm, tp->path, sizeof norm);
        sup_normalize(norm);
        int procish = strncmp(norm, "/proc", 5) == 0 || strncmp(norm, "/dev/", 5) == 0;
        /* A path through the caller's own /proc or /dev names that ".." then leaves: the deputy
         * must not resolve them (they would name the deputy), so it gets the normalized path. */
        if (!procish && (strstr(tp->path, "/proc/") != NULL || strstr(tp->path, "/dev/") != NULL))
            memcpy(tp->path, norm, sizeof tp->path);
        if (procish || (flags & TP_INFO)) {
            if (sup_target_info(tid, &tp->ti) < 0)
                err = sup_id_valid(listener, id) ? -EACCES : SUP_GONE;
            else
                tp->have_ti = 1;
        }
        if (err == 0 && procish) {
            char rewritten[PATH_MAX];
            int r = rewrite_self(norm, &tp->ti, rewritten, sizeof rewritten);
            if (r < 0) {
                err = r;
            } else if (r == 1) {
                memcpy(norm, rewritten, sizeof norm);
                memcpy(tp->path, norm, sizeof tp->path);
            }
            if (err == 0)
                err = own_proc(tid, norm, tp);
        }
    }

    /* 4. The copy belongs to a live notification (docs/design.md, rule S2), whatever the outcome. */
    if (!sup_id_valid(listener, id))
        return SUP_GONE;
    return err;
}

int sup_target_link(int listener, uint64_t id, pid_t tid, const char *link)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)tid, link);
    int fd = open(path, O_PATH | O_CLOEXEC);
    int e = errno;
    /* Checked after the open: a valid notification means the pid was the target's. */
    if (!sup_id_valid(listener, id)) {
        if (fd >= 0)
            close(fd);
        return SUP_GONE;
    }
    return fd >= 0 ? fd : -e;
}

int sup_target_fd(int listener, uint64_t id, pid_t tgid, int fd)
{
    int pfd = (int)syscall(SYS_pidfd_open, tgid, 0);
    if (pfd < 0)
        return sup_id_valid(listener, id) ? -ESRCH : SUP_GONE;
    /* Still valid after pidfd_open: the target was alive when the pidfd was taken, so the pidfd
     * is the target's and not a process that recycled its pid. */
    if (!sup_id_valid(listener, id)) {
        close(pfd);
        return SUP_GONE;
    }
    int got = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
    int e = errno;
    close(pfd);
    if (got < 0)
        return e == ESRCH ? SUP_GONE : -EBADF;
    return got;
}
