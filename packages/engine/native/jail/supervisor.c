/*
 * The seccomp user-notification supervisor (DESIGN.md "Seccomp user notification: rules that are
 * not negotiable"). One notification at a time, from main.c's poll loop:
 *
 *   RECV (struct zeroed, sized with SECCOMP_GET_NOTIF_SIZES; ENOENT is routine)
 *   -> copy the arguments out of the target once (process_vm_readv), plus what /proc says about
 *      it (cwd, the directory fd, its pid in the jail), then NOTIF_ID_VALID: the copy belongs to
 *      a live notification, not to a recycled pid
 *   -> decide with the tables on the copy
 *   -> act on the copy ourselves and answer with the result.
 *
 * What is emulated and what is continued:
 *   openat/open/creat  EMULATED (except cases 4 and 5 below). A worker thread with the jail's
 *                      identity and its Landlock ruleset resolves the copied path beneath the jail's root (openat2
 *                      RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, O_PATH), the tables decide on the
 *                      real path it reached, and the file is then reopened through that very
 *                      O_PATH descriptor (no second name lookup to race) with the requested flags;
 *                      the fd is injected with SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND.
 *   connect/bind       EMULATED for AF_INET/AF_INET6 sockets: the socket is taken with pidfd_getfd,
 *                      the copied address validated and decided, and the worker (Landlocked like the
 *                      jail, so its TCP port rules apply) connects/binds it.
 * CONTINUE is used only where a kernel layer enforces the same rule whatever the target's memory
 * says when the kernel re-reads it:
 *   1. bind, and connect to an abstract or unnamed address, on an AF_UNIX socket (the socket's own
 *      family, read from the socket, not from the racy address): a unix socket only reaches unix
 *      addresses; a pathname bind creates a socket file (Landlock's MAKE_SOCK right decides);
 *      abstract addresses live in the jail's network namespace (plus Landlock's abstract-socket
 *      scope, ESCAPES 47). A connect to a PATHNAME is emulated (job_unix_connect): Landlock does
 *      not check it, and a host socket inside a grant must obey the tables and deny globs.
 *   2. execve/execveat allowed by the exec allowlist: Landlock grants EXECUTE per file on exactly
 *      that allowlist and every writable mount is noexec, so a path rewritten after our check
 *      still cannot start anything else (ESCAPES 38).
 *   3. execve whose arguments cannot be read at all (a non-dumpable target, e.g. the server's
 *      very first execve when mcp-j runs unprivileged): the same Landlock layer as in 2 decides,
 *      and the audit says the path was unreadable.
 *   4. openat with O_PATH, after the same decision on the copy (the kernel's ADDFD cannot pass
 *      an O_PATH file). An O_PATH descriptor gives no access to content, and Landlock does not
 *      check O_PATH opens at all: the mount namespace (what exists in the jail) is the kernel
 *      layer that decides them. Every way from such a descriptor to content comes back here and
 *      is decided on the real path: openat relative to it, /proc/self/fd/N (reopened by the
 *      Landlocked worker), execveat(AT_EMPTY_PATH). A racing thread can at most fstat a file
 *      that a deny glob hides.
 *   6. sendto with a destination inside the jail (loopback, a unix socket, any other family the
 *      filter lets through): the jail's network namespace has only lo, so whatever address the
 *      kernel re-reads nothing it sends can leave the jail. A destination outside it is refused
 *      here (and logged) before the kernel sees it; the refusal needs no race-free copy.
 *   5. a read-only open of the target's own /proc/PID files (/proc/self/status, maps, fd/...)
 *      when the policy has no deny glob: then every rule of the tables is also a Landlock rule of
 *      the jail (the tables are compiled from them), and the jail's PID namespace and read-only
 *      /proc rule are what decides, whatever path the kernel re-reads. Opened by us, these files
 *      would describe the jail from the opener's namespaces (host uids in status, uid_map), so
 *      they are left to the kernel. With deny globs, the non-Landlocked worker opens them from
 *      the jail's own procfs instead (pids right; uids in the opener's user namespace).
 * If this process dies, the kernel fails every notified syscall with ENOSYS: the jail fails closed.
 */
#include "supervisor.h"
#include "report.h"
#include "sup_events.h"
#include "sup_tables.h"
#include "sup_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include "seccomp_defs.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Debian 12's 6.1 headers lack these. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef __O_TMPFILE
#define __O_TMPFILE (O_TMPFILE & ~O_DIRECTORY)
#endif

/* What openat2 accepts (it refuses unknown bits where openat ignores them). */
#define VALID_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC | \
                          O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | __O_TMPFILE)
#define O_PATH_FLAGS (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)

struct supervisor {
    const struct plan *p;
    pid_t init_pid;
    struct sup_tables t;
    struct sup_events ev;
    struct seccomp_notif_sizes sizes;
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    int flags_set;
    int root_fd;   /* the jail's "/", -1 until a target lets us open it */
    struct sup_worker ll;   /* jail identity + the jail's Landlock ruleset */
    struct sup_worker proc; /* jail identity only: a target's own /proc/PID files (see open_own_proc) */
    int workers;
    /* Threads whose executable was checked not to be the ELF loader since the last execve
     * notification (any execve clears it): the check costs a readlink per notification otherwise. */
    pid_t not_loader[64];
    unsigned n_not_loader, next_not_loader;
};

enum { SC_OPENAT, SC_OPEN, SC_CREAT, SC_CONNECT, SC_BIND, SC_EXECVE, SC_EXECVEAT, SC_SENDTO };
static const char *const SC_NAME[] = { "openat", "open", "creat", "connect", "bind", "execve", "execveat", "sendto" };

static int syscall_kind(int nr)
{
    switch (nr) {
    case __NR_openat: return SC_OPENAT;
#ifdef __NR_open
    case __NR_open: return SC_OPEN;
#endif
#ifdef __NR_creat
    case __NR_creat: return SC_CREAT;
#endif
    case __NR_connect: return SC_CONNECT;
    case __NR_bind: return SC_BIND;
    case __NR_execve: return SC_EXECVE;
    case __NR_execveat: return SC_EXECVEAT;
    case __NR_sendto: return SC_SENDTO;
    default: return -1;
    }
}

/* ---------------------------------------------------------------- events */

struct ev {
    const char *act; /* allow, deny, fail */
    int sc;
    pid_t pid;
    const char *path;
    const char *addr;
    int port;
    int err;
    const char *why;
    const char *rule;
};

static void emit(struct supervisor *s, const struct ev *e)
{
    int allow = strcmp(e->act, "deny") != 0;
    if (allow && !(s->t.flags & SUP_F_LOG_ALLOW))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct line l;
    line_start(&l, "ev");
    line_str(&l, "act", e->act);
    line_str(&l, "sc", SC_NAME[e->sc]);
    line_int(&l, "pid", e->pid);
    if (e->path != NULL)
        line_str(&l, "path", e->path);
    if (e->addr != NULL) {
        line_str(&l, "addr", e->addr);
        line_int(&l, "port", e->port);
    }
    if (e->err != 0)
        line_int(&l, "errno", e->err);
    if (e->why != NULL)
        line_str(&l, "why", e->why);
    if (e->rule != NULL)
        line_str(&l, "rule", e->rule);
    line_int(&l, "t", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    sup_events_emit(&s->ev, &l);
}

/* ---------------------------------------------------------------- answers */

static int id_valid(int listener, uint64_t id)
{
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static void answer(struct supervisor *s, int listener, uint64_t id, int err, long long val, uint32_t flags)
{
    memset(s->resp, 0, s->sizes.seccomp_notif_resp);
    s->resp->id = id;
    s->resp->error = err ? -err : 0;
    s->resp->val = err ? 0 : val;
    s->resp->flags = flags;
    /* ENOENT: the target died or was killed meanwhile; nothing to answer. */
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, s->resp) < 0 && errno != ENOENT) {
        /* nothing sensible left to do: the kernel keeps the target waiting until the listener closes */
    }
}

static void answer_continue(struct supervisor *s, int listener, uint64_t id)
{
    answer(s, listener, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

/* Injects fd (ours, closed here) as the syscall's result. */
static void answer_fd(struct supervisor *s, int listener, uint64_t id, int fd, int cloexec)
{
    struct seccomp_notif_addfd a;
    memset(&a, 0, sizeof a);
    a.id = id;
    a.flags = SECCOMP_ADDFD_FLAG_SEND;
    a.srcfd = (uint32_t)fd;
    a.newfd_flags = cloexec ? O_CLOEXEC : 0;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 && errno != ENOENT)
        answer(s, listener, id, errno, 0, 0); /* e.g. EMFILE: the target's fd table is full */
    close(fd);
}

/* ---------------------------------------------------------------- reading the target */

/* Copies a NUL-terminated string from the target, page by page (a string may end just before an
 * unmapped page). Returns its length or -errno. */
static int read_str(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        size_t page_left = 4096 - ((addr + got) & 4095);
        size_t n = page_left < cap - got ? page_left : cap - got;
        struct iovec l = { .iov_base = buf + got, .iov_len = n };
        struct iovec r = { .iov_base = (void *)(uintptr_t)(addr + got), .iov_len = n };
        ssize_t k = process_vm_readv(pid, &l, 1, &r, 1, 0);
        if (k <= 0)
            return k == 0 || errno == EFAULT || got > 0 ? -EFAULT : -errno;
        char *z = memchr(buf + got, 0, (size_t)k);
        if (z != NULL)
            return (int)(z - buf);
        got += (size_t)k;
    }
    return -ENAMETOOLONG;
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t n)
{
    struct iovec l = { .iov_base = buf, .iov_len = n };
    struct iovec r = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
    ssize_t k = process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (k == (ssize_t)n)
        return 0;
    return k < 0 && errno != EFAULT ? -errno : -EFAULT;
}

struct tinfo {
    pid_t tgid;      /* host */
    long nstgid;     /* in the jail's PID namespace */
    long nspid;
    unsigned umask;
};

static long last_field(const char *line)
{
    const char *sp = strrchr(line, '\t');
    return sp ? strtol(sp + 1, NULL, 10) : -1;
}

static int target_info(pid_t tid, struct tinfo *ti)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -ESRCH;
    buf[n] = 0;
    memset(ti, 0, sizeof *ti);
    ti->umask = 022;
    ti->nstgid = ti->nspid = -1;
    for (char *l = buf; l != NULL && *l; ) {
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

/* Composes the jail path the target names. Empty path (AT_EMPTY_PATH): the directory fd itself. */
static int compose(pid_t tid, int dirfd, const char *path, char *out, size_t cap)
{
    if (path[0] == '/') {
        if (strlen(path) >= cap)
            return -ENAMETOOLONG;
        strcpy(out, path);
        return 0;
    }
    char base[PATH_MAX];
    int r = base_dir(tid, dirfd, base, sizeof base);
    if (r < 0)
        return r;
    int n = path[0] ? snprintf(out, cap, "%s/%s", base, path) : snprintf(out, cap, "%s", base);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* /proc/self, /proc/thread-self and /dev/{fd,stdin,stdout,stderr} name the *caller*: resolved by
 * us they would name the supervisor (which is not in the jail's PID namespace at all). Rewrites
 * them, lexically, to the target's own /proc/PID. Returns 1 when rewritten (out is normalized). */
static int rewrite_self(const char *path, const struct tinfo *ti, char *out, size_t cap)
{
    char n[PATH_MAX];
    if (strlen(path) >= sizeof n)
        return 0;
    strcpy(n, path);
    sup_normalize(n);
    static const struct {
        const char *from, *to;
    } dev[] = { { "/dev/stdin", "/proc/self/fd/0" }, { "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
                { "/dev/fd", "/proc/self/fd" } };
    char tmp[PATH_MAX];
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) {
        size_t l = strlen(dev[i].from);
        if (strncmp(n, dev[i].from, l) == 0 && (n[l] == 0 || n[l] == '/')) {
            if ((size_t)snprintf(tmp, sizeof tmp, "%s%s", dev[i].to, n + l) >= sizeof tmp)
                return 0;
            strcpy(n, tmp);
            break;
        }
    }
    int r;
    if (strncmp(n, "/proc/self", 10) == 0 && (n[10] == 0 || n[10] == '/'))
        r = snprintf(out, cap, "/proc/%ld%s", ti->nstgid, n + 10);
    else if (strncmp(n, "/proc/thread-self", 17) == 0 && (n[17] == 0 || n[17] == '/'))
        r = snprintf(out, cap, "/proc/%ld/task/%ld%s", ti->nstgid, ti->nspid, n + 17);
    else
        return 0;
    return r > 0 && (size_t)r < cap;
}

static int needs_rewrite(const char *p)
{
    return strncmp(p, "/proc", 5) == 0 || strncmp(p, "/dev/", 5) == 0 || strstr(p, "/../") != NULL || strstr(p, "//") != NULL;
}

/* ---------------------------------------------------------------- decisions */

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

/* Decides on the real path: a deny glob (a finer rule than any kernel layer has), or rights the
 * grant does not give (the tables mirror the Landlock rules, so this refuses what Landlock would,
 * with EACCES, before anything is created or truncated). Returns 0 or EACCES with why/rule set. */
static int decide_path(const struct sup_tables *t, const char *real, uint32_t need, const char **why, const char **rule)
{
    const struct sup_glob *g = sup_path_denied(t, real);
    if (g != NULL) {
        *why = "glob";
        *rule = g->text;
        return EACCES;
    }
    uint32_t rights = sup_path_rights(t, real);
    if ((rights & need) != need) {
        *why = (rights & (SUP_R_READ | SUP_R_WRITE)) ? "readonly" : "outside";
        return EACCES;
    }
    return 0;
}

/* openat2 with RESOLVE_IN_ROOT/RESOLVE_BENEATH fails with EAGAIN when any rename or mount anywhere
 * on the system raced a ".." step (it cannot prove the step stayed inside): retry, as the man
 * page says, a bounded number of times. */
static int openat2_retry(int dfd, const char *path, struct open_how *how)
{
    int fd = -1;
    for (int i = 0; i < 64; i++) {
        fd = (int)syscall(SYS_openat2, dfd, path, how, sizeof *how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    return fd;
}

/* ---------------------------------------------------------------- worker jobs */

struct open_job {
    struct supervisor *s;
    const char *path;  /* absolute jail path, resolved beneath the jail's root */
    int reopen_fd;     /* >= 0: reopen this descriptor of ours instead (the target's /proc/self/fd/N) */
    int flags;
    mode_t mode;       /* umask already applied */
    int fd;            /* out: our descriptor, or -1 */
    int err;
    const char *why, *rule;
    char real[PATH_MAX];
};

static int dpath(int fd, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n < 0)
        return -errno;
    out[n] = 0;
    return 0;
}

static void split_parent(const char *path, char *parent, size_t cap, const char **base)
{
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/name" */
    if (n >= cap)
        n = cap - 1;
    memcpy(parent, path, n);
    parent[n] = 0;
    *base = slash + 1;
}

/* The open with O_CREAT of a name that does not exist yet: resolve its directory, decide on the
 * real directory + the name, create beneath that directory with no symlink allowed (a symlink
 * planted meanwhile makes it fail with ELOOP instead of redirecting it). */
static void job_create(struct open_job *j, int flags)
{
    char parent[PATH_MAX];
    const char *base;
    split_parent(j->path, parent, sizeof parent, &base);
    if (base[0] == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        j->err = ENOENT;
        return;
    }
    struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    int pfd = openat2_retry(j->s->root_fd, parent, &how);
    if (pfd < 0) {
        j->err = errno;
        return;
    }
    char dir[PATH_MAX];
    if (dpath(pfd, dir, sizeof dir) < 0 || (size_t)snprintf(j->real, sizeof j->real, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, base) >= sizeof j->real) {
        close(pfd);
        j->err = ENAMETOOLONG;
        return;
    }
    j->err = decide_path(&j->s->t, j->real, needed_rights(flags, 0) | SUP_R_WRITE, &j->why, &j->rule);
    if (j->err == 0) {
        struct open_how h2 = { .flags = (uint64_t)((flags & VALID_OPEN_FLAGS) | O_CLOEXEC), .mode = j->mode,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        j->fd = openat2_retry(pfd, base, &h2);
        if (j->fd < 0)
            j->err = errno;
        else
            j->why = NULL;
    }
    close(pfd);
}

static void job_open(void *arg)
{
    struct open_job *j = arg;
    struct supervisor *s = j->s;
    int flags = j->flags & VALID_OPEN_FLAGS;
    j->fd = -1;
    j->err = 0;
    j->why = j->rule = NULL;
    j->real[0] = 0;

    int o;
    if (j->reopen_fd >= 0) {
        o = j->reopen_fd;
    } else {
        /* Resolution only (O_PATH needs no permission and has no side effect). O_CREAT|O_EXCL
         * must not follow a final symlink, like the kernel. */
        uint64_t rf = O_PATH | O_CLOEXEC | (flags & (O_NOFOLLOW | O_DIRECTORY));
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
            rf |= O_NOFOLLOW;
        struct open_how how = { .flags = rf, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        o = openat2_retry(s->root_fd, j->path, &how);
        if (o < 0) {
            int e = errno;
            if (e == ENOENT && (flags & O_CREAT)) {
                job_create(j, flags);
                return;
            }
            j->err = e;
            snprintf(j->real, sizeof j->real, "%s", j->path);
            return;
        }
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
            close(o);
            j->err = EEXIST;
            snprintf(j->real, sizeof j->real, "%s", j->path);
            return;
        }
    }
    struct stat st;
    if (fstat(o, &st) < 0 || dpath(o, j->real, sizeof j->real) < 0) {
        j->err = errno;
        goto out;
    }
    if (S_ISLNK(st.st_mode) && !(flags & O_PATH)) {
        j->err = ELOOP; /* O_NOFOLLOW on a symlink */
        goto out;
    }
    /* Pipes and sockets (a reopened /proc/self/fd/N) have no path to decide on. */
    if (j->real[0] == '/') {
        j->err = decide_path(&s->t, j->real, needed_rights(flags, S_ISDIR(st.st_mode)), &j->why, &j->rule);
        if (j->err)
            goto out;
    }
    if ((flags & O_PATH) && j->reopen_fd < 0) {
        j->fd = o; /* the resolution is the answer */
        j->why = NULL;
        return;
    }
    /* Reopen the very object resolved above: no name is looked up again. The permission checks
     * (mode bits with our fsuid, Landlock with the jail's rules) happen here. */
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", o);
    int rf = (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC;
    if (flags & O_PATH)
        rf = (flags & O_PATH_FLAGS & ~O_NOFOLLOW) | O_CLOEXEC;
    /* A FIFO would block this thread (and with it the whole loop) until a peer shows up. */
    int clear_nb = S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK);
    if (clear_nb)
        rf |= O_NONBLOCK;
    j->fd = open(link, rf, j->mode);
    if (j->fd < 0) {
        j->err = errno;
    } else {
        j->why = NULL; /* the kernel agreed: nothing was refused */
    }
    if (j->fd >= 0 && clear_nb) {
        int fl = fcntl(j->fd, F_GETFL);
        if (fl >= 0)
            fcntl(j->fd, F_SETFL, fl & ~O_NONBLOCK);
    }
out:
    if (j->reopen_fd < 0)
        close(o);
}

/* A target's own /proc/PID files, read-only. The Landlocked worker cannot open /proc/PID/maps,
 * /proc/PID/fd/ and the like (Landlock forbids ptrace-class access from outside the jail's
 * domain); this worker has the jail's identity and no Landlock. It is used only for the
 * target's own process, which the kernel always lets a process inspect, and only to read (any
 * write goes through the Landlocked worker, where the jail's read-only /proc rule applies). */
struct proc_job {
    struct supervisor *s;
    const char *path; /* "/proc/<own pid in the jail>/...", normalized: the jail's own procfs */
    int flags;
    int fd, err;
};

static void job_proc(void *arg)
{
    struct proc_job *j = arg;
    struct open_how how = { .flags = (uint64_t)((j->flags & VALID_OPEN_FLAGS & ~(O_CREAT | O_TRUNC | O_PATH)) | O_CLOEXEC),
                            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    j->fd = openat2_retry(j->s->root_fd, j->path, &how);
    j->err = j->fd < 0 ? errno : 0;
}

struct exec_job {
    struct supervisor *s;
    const char *path;
    int nofollow;
    int err;
    char real[PATH_MAX];
};

static void job_exec(void *arg)
{
    struct exec_job *j = arg;
    struct open_how how = { .flags = O_PATH | O_CLOEXEC | (j->nofollow ? O_NOFOLLOW : 0), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    int o = openat2_retry(j->s->root_fd, j->path, &how);
    j->err = 0;
    if (o < 0) {
        j->err = errno;
        return;
    }
    struct stat st;
    if (fstat(o, &st) < 0 || dpath(o, j->real, sizeof j->real) < 0)
        j->err = errno;
    else if (S_ISLNK(st.st_mode))
        j->err = ELOOP;
    else if (!S_ISREG(st.st_mode))
        j->err = EACCES;
    close(o);
}

struct net_job {
    int fd, is_bind;
    struct sockaddr_storage addr;
    socklen_t len;
    int err;
};

static void job_net(void *arg)
{
    struct net_job *j = arg;
    int r = j->is_bind ? bind(j->fd, (struct sockaddr *)&j->addr, j->len) : connect(j->fd, (struct sockaddr *)&j->addr, j->len);
    j->err = r < 0 ? errno : 0;
}

/* connect() of a unix socket to a pathname: the path is resolved beneath the jail's root once, the
 * tables decide on the socket file it reached, and the socket is connected through that very
 * inode (/proc/self/fd/N of our O_PATH descriptor), so a racing thread cannot change what is
 * connected. Connecting needs write permission on the socket file: read-only grants (a host
 * agent's socket under a granted home) are refused, like deny globs. */
struct unix_job {
    struct supervisor *s;
    int fd;             /* the target's socket, taken with pidfd_getfd */
    const char *path;   /* absolute jail path */
    int err;
    const char *why, *rule;
    char real[PATH_MAX];
};

static void job_unix_connect(void *arg)
{
    struct unix_job *j = arg;
    j->err = 0;
    j->why = j->rule = NULL;
    snprintf(j->real, sizeof j->real, "%s", j->path);
    struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    int o = openat2_retry(j->s->root_fd, j->path, &how);
    if (o < 0) {
        j->err = errno;
        return;
    }
    struct stat st;
    if (fstat(o, &st) < 0 || dpath(o, j->real, sizeof j->real) < 0) {
        j->err = errno;
    } else if (!S_ISSOCK(st.st_mode)) {
        j->err = ECONNREFUSED; /* what the kernel answers for a path that is not a socket */
    } else if ((j->err = decide_path(&j->s->t, j->real, SUP_R_WRITE, &j->why, &j->rule)) == 0) {
        struct sockaddr_un via = { .sun_family = AF_UNIX };
        snprintf(via.sun_path, sizeof via.sun_path, "/proc/self/fd/%d", o);
        if (connect(j->fd, (struct sockaddr *)&via, sizeof via) < 0)
            j->err = errno;
    }
    close(o);
}

/* ---------------------------------------------------------------- set-up */

/* The jail's root, opened once from a target (or init) and verified to belong to a live
 * notification: a recycled pid could otherwise hand us a host process's root. */
static int ensure_root(struct supervisor *s, int listener, uint64_t id, pid_t tid)
{
    if (s->workers)
        return 0;
    char path[64];
    int fd = -1;
    snprintf(path, sizeof path, "/proc/%d/root", (int)s->init_pid);
    fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        /* Unprivileged, init is not dumpable and its root is closed to us; a target's is not. */
        snprintf(path, sizeof path, "/proc/%d/root", (int)tid);
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && !id_valid(listener, id)) {
            close(fd);
            return -ENOENT;
        }
    }
    if (fd < 0)
        return -EACCES;
    s->root_fd = fd;
    if (sup_worker_start(&s->ll, s->p, fd, 1) < 0)
        die_step("supervisor", s->ll.init_err, "the opener thread cannot take the jail's identity (%s)", s->ll.init_step);
    if (sup_worker_start(&s->proc, s->p, fd, 0) < 0)
        die_step("supervisor", s->proc.init_err, "the /proc opener thread cannot take the jail's identity (%s)", s->proc.init_step);
    s->workers = 1;
    return 0;
}

struct supervisor *supervisor_new(const struct plan *p, pid_t init_pid, int event_fd)
{
    struct supervisor *s = calloc(1, sizeof *s);
    if (s == NULL)
        die_step("supervisor", ENOMEM, "out of memory");
    s->p = p;
    s->init_pid = init_pid;
    s->root_fd = -1;
    char err[256];
    if (sup_tables_decode(p->sup_tables, p->sup_tables_len, &s->t, err, sizeof err) < 0)
        die_step("supervisor", EINVAL, "%s", err);
    sup_events_init(&s->ev, event_fd);
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) < 0)
        die_step("supervisor", errno, "SECCOMP_GET_NOTIF_SIZES");
    /* The kernel may know a larger struct than our headers: size by what it says. */
    size_t rq = s->sizes.seccomp_notif > sizeof *s->req ? s->sizes.seccomp_notif : sizeof *s->req;
    size_t rs = s->sizes.seccomp_notif_resp > sizeof *s->resp ? s->sizes.seccomp_notif_resp : sizeof *s->resp;
    s->sizes.seccomp_notif = (uint16_t)rq;
    s->sizes.seccomp_notif_resp = (uint16_t)rs;
    s->req = calloc(1, rq);
    s->resp = calloc(1, rs);
    if (s->req == NULL || s->resp == NULL)
        die_step("supervisor", errno ? errno : ENOMEM, "supervisor set-up");
    return s;
}

int supervisor_events_pending(const struct supervisor *s) { return s != NULL && sup_events_pending(&s->ev); }

void supervisor_flush_events(struct supervisor *s, int block)
{
    if (s != NULL)
        sup_events_flush(&s->ev, block);
}

/* ---------------------------------------------------------------- handlers */

static void deny(struct supervisor *s, int listener, uint64_t id, struct ev *e, int err)
{
    e->act = "deny";
    e->err = err;
    emit(s, e);
    answer(s, listener, id, err, 0, 0);
}

/* Matches "/proc/<own nstgid>/..." and returns the rest ("fd/3", "maps", ...), or NULL. */
static const char *own_proc_rest(const char *path, const struct tinfo *ti)
{
    char pfx[40];
    int n = snprintf(pfx, sizeof pfx, "/proc/%ld", ti->nstgid);
    if (ti->nstgid <= 0 || strncmp(path, pfx, (size_t)n) != 0 || (path[n] != '/' && path[n] != 0))
        return NULL;
    return path[n] == '/' ? path + n + 1 : path + n;
}

static void handle_open(struct supervisor *s, int listener, const struct seccomp_notif *req, int sc)
{
    uint64_t id = req->id;
    pid_t tid = (pid_t)req->pid;
    int dirfd = AT_FDCWD, flags;
    uint64_t path_addr;
    mode_t mode;
    if (sc == SC_OPENAT) {
        dirfd = (int)req->data.args[0];
        path_addr = req->data.args[1];
        flags = (int)req->data.args[2];
        mode = (mode_t)req->data.args[3];
    } else if (sc == SC_OPEN) {
        path_addr = req->data.args[0];
        flags = (int)req->data.args[1];
        mode = (mode_t)req->data.args[2];
    } else {
        path_addr = req->data.args[0];
        flags = O_CREAT | O_WRONLY | O_TRUNC;
        mode = (mode_t)req->data.args[1];
    }
    struct ev e = { .sc = sc, .pid = tid };

    /* 1. Copy everything we need from the target, once. */
    char raw[PATH_MAX];
    int n = read_str(tid, path_addr, raw, sizeof raw);
    if (n < 0) {
        if (n == -ESRCH || !id_valid(listener, id))
            return;
        e.why = n == -EPERM ? "unreadable" : NULL;
        e.act = n == -EPERM ? "deny" : "fail";
        e.err = n == -EPERM ? EACCES : -n;
        emit(s, &e);
        answer(s, listener, id, e.err, 0, 0);
        return;
    }
    if (n == 0) {
        if (id_valid(listener, id))
            answer(s, listener, id, ENOENT, 0, 0);
        return;
    }
    char path[PATH_MAX], rewritten[PATH_MAX];
    int r = compose(tid, dirfd, raw, path, sizeof path);
    struct tinfo ti = { 0, -1, -1, 022 };
    int need_info = r == 0 && needs_rewrite(path);
    if ((need_info || (flags & (O_CREAT | __O_TMPFILE))) && target_info(tid, &ti) < 0) {
        /* Gone, normally; if the notification still lives, it must not wait forever. */
        if (id_valid(listener, id))
            answer(s, listener, id, EACCES, 0, 0);
        return;
    }
    if (need_info && rewrite_self(path, &ti, rewritten, sizeof rewritten))
        strcpy(path, rewritten);
    /* 2. The copy belongs to a live notification. */
    if (!id_valid(listener, id))
        return;
    if (r < 0) {
        e.path = raw;
        e.act = "fail";
        e.err = -r;
        emit(s, &e);
        answer(s, listener, id, -r, 0, 0);
        return;
    }
    e.path = path;
    if ((r = ensure_root(s, listener, id, tid)) < 0) {
        if (r != -ENOENT)
            deny(s, listener, id, &e, EACCES);
        return;
    }

    /* 3. Decide and act. */
    int own_fd = -1;
    const char *rest = need_info ? own_proc_rest(path, &ti) : NULL;
    if (rest != NULL) {
        int fdnum;
        char tail;
        if (sscanf(rest, "fd/%d%c", &fdnum, &tail) == 1 && fdnum >= 0) {
            /* /proc/self/fd/N (and /dev/stdout...): reopen what the target's fd N refers to.
             * We take its file with pidfd_getfd and the Landlocked worker reopens it, so the
             * reopen is checked like the jail's own would be. */
            int pfd = (int)syscall(SYS_pidfd_open, ti.tgid, 0);
            /* Still valid after pidfd_open: the target was alive when the pidfd was taken, so
             * the pidfd is the target's and not a process that recycled its pid. */
            if (pfd >= 0 && !id_valid(listener, id)) {
                close(pfd);
                return;
            }
            own_fd = pfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pfd, fdnum, 0);
            if (pfd >= 0)
                close(pfd);
            if (own_fd < 0) {
                e.act = "fail";
                e.err = ENOENT;
                emit(s, &e);
                answer(s, listener, id, ENOENT, 0, 0);
                return;
            }
        } else if ((flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC | __O_TMPFILE | O_PATH))) {
            const char *why = NULL, *rule = NULL;
            int err = decide_path(&s->t, path, needed_rights(flags, 0) & ~SUP_R_DIR, &why, &rule);
            if (err == 0 && s->t.ndenies == 0) {
                /* CONTINUE case 5 (see the top of this file). */
                e.act = "allow";
                emit(s, &e);
                answer_continue(s, listener, id);
                return;
            }
            struct proc_job pj = { .s = s, .path = path, .flags = flags, .fd = -1, .err = err };
            if (err == 0)
                sup_worker_run(&s->proc, job_proc, &pj);
            e.why = why;
            e.rule = rule;
            if (err != 0 || pj.err != 0) {
                int ee = err ? err : pj.err;
                if (why == NULL && (ee == ELOOP || ee == EXDEV))
                    e.why = why = "link"; /* /proc/self/root, cwd, exe: magic links */
                if (why != NULL) {
                    deny(s, listener, id, &e, ee);
                } else {
                    e.act = ee == EACCES || ee == EPERM ? "deny" : "fail";
                    e.err = ee;
                    emit(s, &e);
                    answer(s, listener, id, ee, 0, 0);
                }
                return;
            }
            e.act = "allow";
            emit(s, &e);
            answer_fd(s, listener, id, pj.fd, flags & O_CLOEXEC);
            return;
        }
    }

    struct open_job j = { .s = s, .path = path, .reopen_fd = own_fd, .flags = flags,
                          .mode = (flags & (O_CREAT | __O_TMPFILE)) ? (mode & 07777 & ~ti.umask) : 0 };
    sup_worker_run(&s->ll, job_open, &j);
    if (own_fd >= 0)
        close(own_fd);
    if (j.real[0])
        e.path = j.real;
    e.why = j.why;
    e.rule = j.rule;
    if (j.fd >= 0) {
        e.act = "allow";
        emit(s, &e);
        if ((flags & O_PATH) && own_fd < 0) {
            /* CONTINUE case 4 (see the top of this file): ADDFD cannot pass O_PATH files. */
            close(j.fd);
            if (id_valid(listener, id))
                answer_continue(s, listener, id);
            return;
        }
        answer_fd(s, listener, id, j.fd, flags & O_CLOEXEC);
        return;
    }
    if (j.why == NULL) {
        if (j.err == ELOOP || j.err == EXDEV) {
            e.why = "link"; /* a magic link (/proc/PID/root, cwd, exe, ...) or a symlink loop */
        } else if (j.err == ENOENT && (sup_path_rights(&s->t, path) & (SUP_R_READ | SUP_R_WRITE)) == 0 && !sup_path_denied(&s->t, path)) {
            e.why = "outside"; /* outside every grant: a probe for a host file */
        } else if (j.err == ENOENT || j.err == ENOTDIR || j.err == EEXIST || j.err == EISDIR) {
            e.why = NULL;
        } else if (j.err == EACCES || j.err == EPERM || j.err == EROFS) {
            e.why = "kernel"; /* Landlock, mode bits or a read-only mount, as for the jail itself */
        }
    }
    e.act = e.why != NULL ? "deny" : "fail";
    e.err = j.err;
    emit(s, &e);
    answer(s, listener, id, j.err, 0, 0);
}

static void handle_exec(struct supervisor *s, int listener, const struct seccomp_notif *req, int sc)
{
    uint64_t id = req->id;
    pid_t tid = (pid_t)req->pid;
    int dirfd = sc == SC_EXECVEAT ? (int)req->data.args[0] : AT_FDCWD;
    uint64_t path_addr = sc == SC_EXECVEAT ? req->data.args[1] : req->data.args[0];
    int atflags = sc == SC_EXECVEAT ? (int)req->data.args[4] : 0;
    struct ev e = { .sc = sc, .pid = tid };

    char raw[PATH_MAX];
    int n = read_str(tid, path_addr, raw, sizeof raw);
    if (n == -EPERM) {
        /* CONTINUE case 3 (see the top of this file): a non-dumpable target. */
        if (!id_valid(listener, id))
            return;
        e.act = "allow";
        e.path = "?";
        e.why = "unreadable";
        emit(s, &e);
        answer_continue(s, listener, id);
        return;
    }
    if (n < 0) {
        if (n != -ESRCH && id_valid(listener, id))
            answer(s, listener, id, -n, 0, 0);
        return;
    }
    if (n == 0 && !(atflags & AT_EMPTY_PATH)) {
        if (id_valid(listener, id))
            answer(s, listener, id, ENOENT, 0, 0);
        return;
    }
    char path[PATH_MAX], rewritten[PATH_MAX];
    int r = compose(tid, dirfd, raw, path, sizeof path);
    struct tinfo ti;
    if (r == 0 && needs_rewrite(path)) {
        if (target_info(tid, &ti) < 0)
            return;
        if (rewrite_self(path, &ti, rewritten, sizeof rewritten))
            strcpy(path, rewritten);
    }
    if (!id_valid(listener, id))
        return;
    if (r < 0) {
        e.path = raw[0] ? raw : "(fd)";
        if (raw[0] == 0) {
            /* execveat(fd, "", AT_EMPTY_PATH) on something without a jail path: a memfd, a
             * deleted file (ESCAPES 37). */
            e.why = "fd";
            deny(s, listener, id, &e, EACCES);
            return;
        }
        e.act = "fail";
        e.err = -r;
        emit(s, &e);
        answer(s, listener, id, -r, 0, 0);
        return;
    }
    e.path = path;
    if ((r = ensure_root(s, listener, id, tid)) < 0) {
        if (r != -ENOENT)
            deny(s, listener, id, &e, EACCES);
        return;
    }
    struct exec_job j = { .s = s, .path = path, .nofollow = (atflags & AT_SYMLINK_NOFOLLOW) != 0 };
    sup_worker_run(&s->ll, job_exec, &j);
    if (j.err != 0) {
        if (j.err == ELOOP || j.err == EXDEV) {
            e.why = "link"; /* /proc/self/fd/N, /proc/self/exe...: refused (ESCAPES 37) */
            deny(s, listener, id, &e, EACCES);
            return;
        }
        e.act = j.err == EACCES ? "deny" : "fail";
        e.why = j.err == EACCES ? "kernel" : NULL;
        e.err = j.err;
        emit(s, &e);
        answer(s, listener, id, j.err, 0, 0);
        return;
    }
    e.path = j.real;
    if (!sup_exec_allowed(&s->t, j.real)) {
        e.why = "exec";
        deny(s, listener, id, &e, EACCES);
        return;
    }
    /* CONTINUE case 2 (see the top of this file). */
    e.act = "allow";
    emit(s, &e);
    answer_continue(s, listener, id);
}

static void format_addr(int family, const uint8_t *a, char *out, size_t cap)
{
    if (inet_ntop(family == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)cap) == NULL)
        snprintf(out, cap, "?");
}

static void handle_net(struct supervisor *s, int listener, const struct seccomp_notif *req, int sc)
{
    uint64_t id = req->id;
    pid_t tid = (pid_t)req->pid;
    int sockfd = (int)req->data.args[0];
    uint64_t addr = req->data.args[1];
    uint32_t len = (uint32_t)req->data.args[2];
    struct ev e = { .sc = sc, .pid = tid };
    struct net_job j;
    memset(&j, 0, sizeof j);
    j.is_bind = sc == SC_BIND;

    /* 1. Copy and validate the address (the kernel's own limits). */
    if (len > sizeof j.addr || len < sizeof(sa_family_t)) {
        if (id_valid(listener, id))
            answer(s, listener, id, EINVAL, 0, 0);
        return;
    }
    int r = read_mem(tid, addr, &j.addr, len);
    j.len = len;
    struct tinfo ti;
    if (r == 0 && (r = target_info(tid, &ti)) < 0) {
        if (id_valid(listener, id))
            answer(s, listener, id, EACCES, 0, 0);
        return;
    }
    if (!id_valid(listener, id))
        return;
    if (r < 0) {
        answer(s, listener, id, r == -EPERM ? EACCES : -r, 0, 0);
        return;
    }
    /* 2. The socket itself, from the target (the notification is valid: ti.tgid is ours). */
    int pfd = (int)syscall(SYS_pidfd_open, ti.tgid, 0);
    /* Still valid after pidfd_open: the pidfd is the target's, not a recycled pid's. */
    if (pfd >= 0 && !id_valid(listener, id)) {
        close(pfd);
        return;
    }
    int fd = pfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pfd, sockfd, 0);
    int gerr = errno;
    if (pfd >= 0)
        close(pfd);
    if (fd < 0) {
        answer(s, listener, id, gerr == EBADF || gerr == ESRCH ? EBADF : gerr, 0, 0);
        return;
    }
    int domain = 0;
    socklen_t dl = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0) {
        close(fd);
        answer(s, listener, id, ENOTSOCK, 0, 0);
        return;
    }
    int family = j.addr.ss_family;
    char abuf[INET6_ADDRSTRLEN + 8];
    if (domain == AF_UNIX) {
        char p[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
        const struct sockaddr_un *un = (const struct sockaddr_un *)&j.addr;
        size_t pl = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (pl > sizeof un->sun_path)
            pl = sizeof un->sun_path;
        if (pl > 0 && un->sun_path[0] == 0) {
            p[0] = '@';
            memcpy(p + 1, un->sun_path + 1, pl - 1);
            p[pl] = 0;
        } else {
            memcpy(p, un->sun_path, pl);
            p[pl] = 0;
        }
        e.path = p;
        if (!j.is_bind && family == AF_UNIX && pl > 0 && p[0] != '@' && p[0] != 0) {
            /* A connect to a pathname socket: emulated (job_unix_connect). */
            char path[PATH_MAX];
            int cr = compose(tid, AT_FDCWD, p, path, sizeof path);
            if (cr < 0 || (cr = ensure_root(s, listener, id, tid)) < 0) {
                close(fd);
                if (cr != -ENOENT)
                    deny(s, listener, id, &e, -cr == ENAMETOOLONG ? ENAMETOOLONG : EACCES);
                return;
            }
            struct unix_job u = { .s = s, .fd = fd, .path = path };
            sup_worker_run(&s->ll, job_unix_connect, &u);
            close(fd);
            e.path = u.real;
            e.err = u.err;
            e.why = u.why;
            e.rule = u.rule;
            e.act = u.err == 0 ? "allow" : u.why != NULL ? "deny" : "fail";
            emit(s, &e);
            answer(s, listener, id, u.err, 0, 0);
            return;
        }
        /* CONTINUE case 1 (see the top of this file): bind (creating a socket file is Landlock's
         * MAKE_SOCK right), abstract and unnamed addresses. */
        close(fd);
        e.act = "allow";
        emit(s, &e);
        answer_continue(s, listener, id);
        return;
    }
    if (domain != AF_INET && domain != AF_INET6) {
        close(fd);
        e.why = "family";
        deny(s, listener, id, &e, EACCES);
        return;
    }
    uint8_t a[16] = { 0 };
    int fam = 0;
    uint16_t port = 0;
    if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&j.addr;
        memcpy(a, &in->sin_addr, 4);
        port = ntohs(in->sin_port);
        fam = 4;
    } else if (family == AF_INET6 && len >= 24 /* SIN6_LEN_RFC2133 */) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&j.addr;
        memcpy(a, &in6->sin6_addr, 16);
        port = ntohs(in6->sin6_port);
        fam = 6;
    } else if (family == AF_UNSPEC && !j.is_bind) {
        fam = 0; /* dissolves a UDP association: reaches nothing */
    } else {
        close(fd);
        answer(s, listener, id, family == AF_INET || family == AF_INET6 ? EINVAL : EAFNOSUPPORT, 0, 0);
        return;
    }
    if (fam != 0) {
        format_addr(fam, a, abuf, sizeof abuf);
        e.addr = abuf;
        e.port = port;
        const char *meta = sup_meta_name(&s->t, fam, a);
        if (meta != NULL) {
            close(fd);
            e.why = "metadata";
            e.rule = meta;
            deny(s, listener, id, &e, EACCES);
            return;
        }
        int ok = j.is_bind ? sup_net_allowed(s->t.bind, s->t.nbind, fam, a, port) : sup_net_allowed(s->t.connect, s->t.nconnect, fam, a, port);
        if (!ok) {
            close(fd);
            e.why = "policy";
            deny(s, listener, id, &e, EACCES);
            return;
        }
    }
    if ((r = ensure_root(s, listener, id, tid)) < 0) {
        close(fd);
        if (r != -ENOENT)
            deny(s, listener, id, &e, EACCES);
        return;
    }
    /* 3. Act on our copy of the address, as the jail (Landlock's TCP port rules included). */
    j.fd = fd;
    sup_worker_run(&s->ll, job_net, &j);
    close(fd);
    e.err = j.err;
    e.act = j.err == 0 || j.err == EINPROGRESS ? "allow" : j.err == EACCES || j.err == EPERM ? "deny" : "fail";
    if (j.err == EACCES || j.err == EPERM)
        e.why = "kernel";
    emit(s, &e);
    answer(s, listener, id, j.err, 0, 0);
}

/* sendto(fd, buf, len, flags, dest, destlen) with dest != NULL: UDP datagrams and TCP fast open.
 * Refused with EACCES when the destination is an IP address outside the jail (the metadata
 * endpoints logged by name); everything else is CONTINUE case 6 (see the top of this file). */
static void handle_sendto(struct supervisor *s, int listener, const struct seccomp_notif *req)
{
    uint64_t id = req->id;
    pid_t tid = (pid_t)req->pid;
    uint32_t len = (uint32_t)req->data.args[5];
    struct ev e = { .sc = SC_SENDTO, .pid = tid };
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    /* The kernel's own limit (move_addr_to_kernel): larger is EINVAL, whatever the memory says. */
    if (len > sizeof ss) {
        if (id_valid(listener, id))
            answer(s, listener, id, EINVAL, 0, 0);
        return;
    }
    int r = len >= sizeof(sa_family_t) ? read_mem(tid, req->data.args[4], &ss, len) : -EINVAL;
    if (!id_valid(listener, id))
        return;
    uint8_t a[16] = { 0 };
    int fam = 0, loopback = 1;
    uint16_t port = 0;
    /* udp_sendmsg reads an AF_UNSPEC address as AF_INET (for old programs): so do we. */
    if (r == 0 && (ss.ss_family == AF_INET || ss.ss_family == AF_UNSPEC) && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        memcpy(a, &in->sin_addr, 4);
        port = ntohs(in->sin_port);
        fam = 4;
        loopback = a[0] == 127;
    } else if (r == 0 && ss.ss_family == AF_INET6 && len >= 24 /* SIN6_LEN_RFC2133 */) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        memcpy(a, &in6->sin6_addr, 16);
        port = ntohs(in6->sin6_port);
        fam = 6;
        static const uint8_t one[16] = { [15] = 1 };
        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        loopback = memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
    }
    char abuf[INET6_ADDRSTRLEN + 8];
    if (fam != 0) {
        format_addr(fam, a, abuf, sizeof abuf);
        e.addr = abuf;
        e.port = port;
    }
    if (loopback) {
        /* Unreadable or short addresses, unix sockets, loopback: the kernel answers (case 6). */
        e.act = "allow";
        emit(s, &e);
        answer_continue(s, listener, id);
        return;
    }
    const char *meta = sup_meta_name(&s->t, fam, a);
    e.why = meta != NULL ? "metadata" : "policy";
    e.rule = meta;
    deny(s, listener, id, &e, EACCES);
}

/* The loader race (ESCAPES 38): the ELF interpreter must be executable for any dynamic binary to
 * start, so Landlock cannot stop a thread that rewrites an approved execve path to it, and the
 * loader run as a program maps any readable binary it is given. The supervisor never approves an
 * exec of the loader itself, so a process whose executable is the loader got there by that race:
 * it is killed at its first notified syscall, which comes before the loader can open the binary
 * it was asked to run. Returns 1 when the notification's process was such a loader. */
static int kill_racing_loader(struct supervisor *s, int listener, const struct seccomp_notif *req, int sc)
{
    if (s->t.nloaders == 0)
        return 0;
    if (sc == SC_EXECVE || sc == SC_EXECVEAT) {
        /* An exec may turn any of these threads into a new program: check them all again. */
        s->n_not_loader = s->next_not_loader = 0;
    } else {
        for (unsigned i = 0; i < s->n_not_loader; i++)
            if (s->not_loader[i] == (pid_t)req->pid)
                return 0;
    }
    char link[48], exe[PATH_MAX];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)req->pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    /* Unreadable: the process is gone, or not dumpable, which a freshly executed loader is. */
    if (n <= 0)
        return 0;
    exe[n] = 0;
    if (!sup_is_loader(&s->t, exe)) {
        const unsigned cap = sizeof s->not_loader / sizeof s->not_loader[0];
        if (sc != SC_EXECVE && sc != SC_EXECVEAT) {
            s->not_loader[s->next_not_loader] = (pid_t)req->pid;
            s->next_not_loader = (s->next_not_loader + 1) % cap;
            if (s->n_not_loader < cap)
                s->n_not_loader++;
        }
        return 0;
    }
    /* Right after an exec the process has one thread, so its tid is its tgid. The pidfd is taken
     * before the validity check: a valid notification means it names the racing process. */
    int pfd = (int)syscall(SYS_pidfd_open, req->pid, 0);
    if (id_valid(listener, req->id)) {
        if (pfd >= 0 && syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0)
            kill(req->pid, SIGKILL);
        struct ev e = { .sc = sc < 0 ? SC_EXECVE : sc, .pid = req->pid, .path = exe, .why = "loader" };
        deny(s, listener, req->id, &e, EACCES);
    }
    if (pfd >= 0)
        close(pfd);
    return 1;
}

int supervisor_on_ready(struct supervisor *s, int listener)
{
    if (!s->flags_set) {
        /* 6.6+: wake the target on our CPU when we answer (fewer migrations); older kernels
         * refuse the ioctl, which is fine. */
        s->flags_set = 1;
        uint64_t f = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
        (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, f);
    }
    memset(s->req, 0, s->sizes.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, s->req) < 0) {
        if (errno == ENOENT || errno == EINTR || errno == EAGAIN)
            return 0;
        return -1;
    }
    const struct seccomp_notif *req = s->req;
    int sc = syscall_kind(req->data.nr);
    if (kill_racing_loader(s, listener, req, sc)) {
        sup_events_flush(&s->ev, 0);
        return 0;
    }
    switch (sc) {
    case SC_OPENAT:
    case SC_OPEN:
    case SC_CREAT:
        handle_open(s, listener, req, sc);
        break;
    case SC_EXECVE:
    case SC_EXECVEAT:
        handle_exec(s, listener, req, sc);
        break;
    case SC_CONNECT:
    case SC_BIND:
        handle_net(s, listener, req, sc);
        break;
    case SC_SENDTO:
        handle_sendto(s, listener, req);
        break;
    default:
        /* A syscall the filter should not have sent us: refuse like an absent supervisor. */
        answer(s, listener, req->id, ENOSYS, 0, 0);
    }
    sup_events_flush(&s->ev, 0);
    return 0;
}
