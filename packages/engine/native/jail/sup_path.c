/*
 * The path operations a deny rule must cover besides open and exec (docs/design.md, "Deny rules"):
 * truncate, unlink/rmdir, rename (exchange and onto a name included), link, symlink, mkdir, mknod,
 * chmod, chown, utimes, setxattr/removexattr. The filter sends them here only when the policy has
 * deny rules (TypeScript decides): without them, Landlock and the mounts decide the same as the
 * tables would, and nothing is added.
 *
 * Each is emulated by the deputy with the *at() call on the directory it resolved, after deciding
 * on the names involved (and, for calls that follow a final symlink, on the object reached). A
 * CONTINUE would let a racing thread swap the name after the decision.
 */
#include "sup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* Where each call keeps its arguments: -1 for "not this call's". */
struct shape {
    uint8_t op;
    int8_t dfd1, path1, dfd2, path2, flags, mode;
    int32_t fixed_flags; /* flags the call implies (rmdir: AT_REMOVEDIR, lchown: NOFOLLOW) */
};

static const struct shape SHAPES[SC_COUNT] = {
    [SC_TRUNCATE] = { DP_TRUNCATE, -1, 0, -1, -1, -1, -1, 0 },
    [SC_UNLINK] = { DP_UNLINK, -1, 0, -1, -1, -1, -1, 0 },
    [SC_UNLINKAT] = { DP_UNLINK, 0, 1, -1, -1, 2, -1, 0 },
    [SC_RMDIR] = { DP_UNLINK, -1, 0, -1, -1, -1, -1, AT_REMOVEDIR },
    [SC_RENAME] = { DP_RENAME, -1, 0, -1, 1, -1, -1, 0 },
    [SC_RENAMEAT] = { DP_RENAME, 0, 1, 2, 3, -1, -1, 0 },
    [SC_RENAMEAT2] = { DP_RENAME, 0, 1, 2, 3, 4, -1, 0 },
    [SC_LINK] = { DP_LINK, -1, 0, -1, 1, -1, -1, 0 },
    [SC_LINKAT] = { DP_LINK, 0, 1, 2, 3, 4, -1, 0 },
    [SC_SYMLINK] = { DP_SYMLINK, -1, -1, -1, 1, -1, -1, 0 },  /* target (arg 0) is read raw */
    [SC_SYMLINKAT] = { DP_SYMLINK, -1, -1, 1, 2, -1, -1, 0 }, /* target (arg 0) is read raw */
    [SC_MKDIR] = { DP_MKDIR, -1, 0, -1, -1, -1, 1, 0 },
    [SC_MKDIRAT] = { DP_MKDIR, 0, 1, -1, -1, -1, 2, 0 },
    [SC_MKNOD] = { DP_MKNOD, -1, 0, -1, -1, -1, 1, 0 },
    [SC_MKNODAT] = { DP_MKNOD, 0, 1, -1, -1, -1, 2, 0 },
    [SC_CHMOD] = { DP_CHMOD, -1, 0, -1, -1, -1, 1, 0 },
    [SC_FCHMODAT] = { DP_CHMOD, 0, 1, -1, -1, -1, 2, 0 },
    [SC_FCHMODAT2] = { DP_CHMOD, 0, 1, -1, -1, 3, 2, 0 },
    [SC_CHOWN] = { DP_CHOWN, -1, 0, -1, -1, -1, -1, 0 },
    [SC_LCHOWN] = { DP_CHOWN, -1, 0, -1, -1, -1, -1, AT_SYMLINK_NOFOLLOW },
    [SC_FCHOWNAT] = { DP_CHOWN, 0, 1, -1, -1, 4, -1, 0 },
    [SC_UTIME] = { DP_UTIMES, -1, 0, -1, -1, -1, -1, 0 },
    [SC_UTIMES] = { DP_UTIMES, -1, 0, -1, -1, -1, -1, 0 },
    [SC_FUTIMESAT] = { DP_UTIMES, 0, 1, -1, -1, -1, -1, 0 },
    [SC_UTIMENSAT] = { DP_UTIMES, 0, 1, -1, -1, 3, -1, 0 },
    [SC_SETXATTR] = { DP_SETXATTR, -1, 0, -1, -1, 4, -1, 0 },
    [SC_LSETXATTR] = { DP_SETXATTR, -1, 0, -1, -1, 4, -1, 0 },
    [SC_REMOVEXATTR] = { DP_REMOVEXATTR, -1, 0, -1, -1, -1, -1, 0 },
    [SC_LREMOVEXATTR] = { DP_REMOVEXATTR, -1, 0, -1, -1, -1, -1, 0 },
};

static uint64_t arg(const struct seccomp_notif *req, int i) { return i < 0 ? 0 : req->data.args[i]; }

/* The times argument of utime/utimes/futimesat/utimensat as two struct timespec; NULL: now.
 * Returns the payload length (0 or 32) or -errno. */
static int read_times(pid_t tid, int sc, uint64_t addr, struct timespec ts[2])
{
    if (addr == 0)
        return 0;
    if (sc == SC_UTIME) {
        struct utimbuf u;
        int r = sup_read_mem(tid, addr, &u, sizeof u);
        if (r < 0)
            return r;
        ts[0] = (struct timespec){ .tv_sec = u.actime };
        ts[1] = (struct timespec){ .tv_sec = u.modtime };
    } else if (sc == SC_UTIMES || sc == SC_FUTIMESAT) {
        struct timeval tv[2];
        int r = sup_read_mem(tid, addr, tv, sizeof tv);
        if (r < 0)
            return r;
        for (int i = 0; i < 2; i++) {
            if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
                return -EINVAL;
            ts[i] = (struct timespec){ .tv_sec = tv[i].tv_sec, .tv_nsec = tv[i].tv_usec * 1000 };
        }
    } else {
        int r = sup_read_mem(tid, addr, ts, 2 * sizeof ts[0]);
        if (r < 0)
            return r;
    }
    return (int)(2 * sizeof ts[0]);
}

void sup_handle_path(struct supervisor *s, const struct seccomp_notif *req, int sc)
{
    uint64_t id = req->id;
    pid_t tid = (pid_t)req->pid;
    const struct shape *sh = &SHAPES[sc];
    struct ev e = { .sc = sc, .pid = tid };
    int flags = sh->fixed_flags | (sh->flags >= 0 ? (int)arg(req, sh->flags) : 0);
    if (sc == SC_SETXATTR || sc == SC_LSETXATTR)
        flags = (int)arg(req, 4); /* XATTR_CREATE/REPLACE: the follow mode is in b */

    /* utimensat(fd, NULL, ...) works on the descriptor itself: decided when it was opened, and
     * the pointer is a register, not memory a racing thread could change. */
    if (sc == SC_UTIMENSAT && arg(req, 1) == 0) {
        sup_answer_continue(s, id);
        return;
    }

    struct job j;
    memset(&j, 0, sizeof j);
    j.fd = -1;
    j.h.op = DOP_PATH;
    j.h.sub = sh->op;
    j.h.flags = flags;
    j.h.mode = sh->mode >= 0 ? (uint32_t)arg(req, sh->mode) & 07777 : 0;
    if (sh->op == DP_MKNOD)
        j.h.mode = (uint32_t)arg(req, sh->mode); /* the file type bits travel too */

    static struct tpath t1, t2; /* 8 KiB each: not on the stack of a loop that never recurses */
    t1.have_ti = t2.have_ti = 0;
    char target[PATH_MAX], name[256];
    unsigned char payload[DEP_MAX_PAYLOAD];
    int r = 0;
    int empty_ok = (flags & AT_EMPTY_PATH) && (sh->op == DP_CHOWN || sh->op == DP_LINK || sh->op == DP_CHMOD || sh->op == DP_UTIMES);
    int info = sh->op == DP_MKDIR || sh->op == DP_MKNOD || sh->op == DP_SYMLINK ? TP_INFO : 0;

    /* 1. The paths, copied once. For symlink the new name is path 1 and the target, a string the
     *    kernel stores as is, path 2. */
    if (sh->op == DP_SYMLINK) {
        int n = sup_read_str(tid, arg(req, 0), target, sizeof target);
        if (n < 0)
            r = n;
        else if (n == 0)
            r = -ENOENT;
        j.p2 = target;
        if (r == 0)
            r = sup_target_path(s->listener, id, tid, sh->dfd2 >= 0 ? (int)arg(req, sh->dfd2) : AT_FDCWD, arg(req, sh->path2), info, &t1);
        e.path = t1.raw[0] ? t1.raw : NULL;
        j.p1 = t1.path;
    } else if (sh->path1 >= 0) {
        r = sup_target_path(s->listener, id, tid, sh->dfd1 >= 0 ? (int)arg(req, sh->dfd1) : AT_FDCWD, arg(req, sh->path1),
                            (empty_ok ? TP_EMPTY_FD : 0) | info, &t1);
        e.path = t1.raw[0] ? t1.raw : NULL;
        j.p1 = t1.path;
        if (r == 0 && (t1.empty || t1.own_fd >= 0)) {
            /* AT_EMPTY_PATH or /proc/self/fd/N: the object is the descriptor itself, decided on
             * what it is. */
            struct tinfo ti;
            r = t1.have_ti ? 0 : sup_target_info(tid, &ti);
            if (r < 0)
                r = sup_id_valid(s->listener, id) ? -EACCES : SUP_GONE;
            else
                r = sup_target_fd(s->listener, id, t1.have_ti ? t1.ti.tgid : ti.tgid, t1.empty ? (int)arg(req, sh->dfd1) : t1.own_fd);
            if (r >= 0) {
                j.fd = r;
                r = 0;
            }
            j.p1 = "";
        }
        if (r == 0 && sh->path2 >= 0) {
            r = sup_target_path(s->listener, id, tid, sh->dfd2 >= 0 ? (int)arg(req, sh->dfd2) : AT_FDCWD, arg(req, sh->path2), info, &t2);
            e.path = t2.raw[0] ? t2.raw : e.path;
            j.p2 = t2.path;
        }
    }

    /* 2. The other arguments. */
    if (r == 0) {
        switch (sh->op) {
        case DP_TRUNCATE:
            j.h.a = arg(req, 1);
            break;
        case DP_MKNOD:
            j.h.a = arg(req, sh->mode + 1);
            break;
        case DP_CHOWN:
            j.h.a = (uint32_t)arg(req, sh->path1 + 1);
            j.h.b = (uint32_t)arg(req, sh->path1 + 2);
            break;
        case DP_UTIMES: {
            struct timespec ts[2];
            int n = read_times(tid, sc, arg(req, sh->path1 + 1), ts);
            if (n < 0) {
                r = n;
            } else {
                memcpy(payload, ts, (size_t)n);
                j.payload = payload;
                j.h.payload_len = (uint32_t)n;
            }
            break;
        }
        case DP_SETXATTR:
        case DP_REMOVEXATTR: {
            int n = sup_read_str(tid, arg(req, 1), name, sizeof name);
            if (n < 0)
                r = n == -ENAMETOOLONG ? -ERANGE : n;
            else if (n == 0)
                r = -ERANGE;
            j.p2 = name;
            j.h.b = sc == SC_LSETXATTR || sc == SC_LREMOVEXATTR;
            if (r == 0 && sh->op == DP_SETXATTR) {
                uint64_t size = arg(req, 3);
                if (size > DEP_MAX_PAYLOAD)
                    r = -E2BIG;
                else if ((r = sup_read_mem(tid, arg(req, 2), payload, (size_t)size)) == 0) {
                    j.payload = payload;
                    j.h.payload_len = (uint32_t)size;
                }
            }
            if (!sup_id_valid(s->listener, id))
                r = SUP_GONE;
            break;
        }
        default:
            break;
        }
    }
    if (r < 0) {
        if (j.fd >= 0)
            close(j.fd);
        sup_fail(s, id, &e, r);
        return;
    }
    j.h.umask = t1.have_ti ? t1.ti.umask : t2.have_ti ? t2.ti.umask : 022;
    j.h.nspid = t1.have_ti ? (int32_t)t1.ti.nstgid : -1;
    sup_post(s, req, sc, ANS_VALUE, 0, &j, j.p1[0] ? j.p1 : e.path, NULL, 0, 0);
    if (j.fd >= 0)
        close(j.fd);
}
