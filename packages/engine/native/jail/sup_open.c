/*
 * open, openat, creat. Emulated: the deputy resolves the path in the jail (openat2 beneath the
 * jail's root, no magic links), decides on the object it reached, reopens that very object with
 * the flags asked for, and we inject the descriptor (SECCOMP_IOCTL_NOTIF_ADDFD). The target's own
 * /proc/self/fd/N is reopened from the descriptor itself (pidfd_getfd), decided on what it is.
 *
 * One CONTINUE: O_PATH, after the same decision on the copy (ADDFD cannot pass an O_PATH file:
 * fget() ignores them). An O_PATH descriptor gives no access to content, and Landlock does not
 * check O_PATH opens: the mount namespace (what exists in the jail, deny matches masked at start)
 * is the kernel layer that decides them. Every way from such a descriptor to content or to a
 * change comes back here: openat relative to it, /proc/self/fd/N, execveat(AT_EMPTY_PATH), and the
 * path operations with AT_EMPTY_PATH (sup_path.c). A racing thread can at most fstat a file that a
 * deny glob hides.
 */
#include "sup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#ifndef __O_TMPFILE
#define __O_TMPFILE (O_TMPFILE & ~O_DIRECTORY)
#endif

void sup_handle_open(struct supervisor *s, const struct seccomp_notif *req, int sc)
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
    struct tpath tp;
    int r = sup_target_path(s->listener, id, tid, dirfd, path_addr, (flags & (O_CREAT | __O_TMPFILE)) ? TP_INFO : 0, &tp);
    if (r < 0) {
        e.path = tp.raw[0] ? tp.raw : NULL;
        sup_fail(s, id, &e, r);
        return;
    }
    e.path = tp.path;
    struct job j;
    memset(&j, 0, sizeof j);
    j.fd = -1;
    j.h.op = DOP_OPEN;
    j.h.flags = flags;
    j.h.mode = mode & 07777;
    j.h.umask = tp.have_ti ? tp.ti.umask : 022;
    j.h.nspid = tp.have_ti ? (int32_t)tp.ti.nstgid : -1;
    /* A name the jail's /proc cannot hold (subset=pid): the plan's file stands in for it, opened
     * and decided like any other (read-only root, Landlock read). */
    const char *alias = sup_alias(&s->t, tp.path);
    j.p1 = alias != NULL ? alias : tp.path;
    if (tp.own_fd >= 0 || tp.own_link[0]) {
        /* The target's own descriptor or magic link: the object itself goes to the deputy. */
        int fd = tp.own_fd >= 0 ? sup_target_fd(s->listener, id, tp.ti.tgid, tp.own_fd) : sup_target_link(s->listener, id, tid, tp.own_link);
        if (fd < 0) {
            sup_fail(s, id, &e, fd == -EBADF ? -ENOENT : fd);
            return;
        }
        j.fd = fd;
    }
    sup_post(s, req, sc, (flags & O_PATH) ? ANS_CONTINUE : ANS_FD, (flags & O_CLOEXEC) != 0, &j, tp.path, NULL, 0,
             tp.have_ti ? tp.ti.tgid : 0);
    if (j.fd >= 0)
        close(j.fd);
}
