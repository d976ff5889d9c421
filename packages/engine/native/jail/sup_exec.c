/*
 * execve, execveat, and the ELF-loader race.
 *
 * An exec is decided by the deputy on the file its path reaches (a regular file, not denied, on the
 * exec allowlist) and then CONTINUEd: the kernel execs whatever the target's memory names at that
 * moment. That is safe because Landlock grants EXECUTE per file on exactly the allowlist and every
 * writable mount is noexec (ESCAPES 38): a path rewritten after our check still cannot start a file
 * outside the list. Two CONTINUEs without a decision: an execve whose arguments cannot be read at all
 * (the target is gone, or not dumpable: the server keeps itself dumpable until its first exec so
 * that this does not happen, init.c) is left to the same Landlock layer, and audited as unreadable.
 *
 * The one hole in that layer is the ELF interpreter: it must be executable for any dynamic binary to
 * start, and run as a program it maps any readable file it is given. So a thread that rewrites an
 * approved execve path to the loader gets a process running ld.so. The supervisor never approves an
 * exec of the loader itself; a process whose executable is the loader got there by that race and is
 * killed at its first notified syscall, which comes before the loader can open the binary it was
 * asked to run (ESCAPES 38, 60).
 *
 * The check reads /proc/TID/exe at every notification (about 1.3 us). It remembers nothing: an
 * earlier version kept the threads already seen as "not the loader", keyed by tid, and lost the race
 * that way, since after a CONTINUEd execve the exec'ing thread takes the thread-group leader's tid
 * and a busy leader had just been remembered (issue 10, item 3).
 */
#include "sup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>


static int read_exe(pid_t tid, char *out, size_t cap)
{
    char link[48];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)tid);
    ssize_t n = readlink(link, out, cap - 1);
    if (n <= 0)
        return -1;
    out[n] = 0;
    return 0;
}

int sup_kill_racing_loader(struct supervisor *s, const struct seccomp_notif *req, int sc)
{
    if (s->t.nloaders == 0)
        return 0;
    pid_t tid = (pid_t)req->pid;
    char exe[PATH_MAX];
    /* Unreadable: the process is gone, or we may not read it (a process that made itself not
     * dumpable; a loader started by an exec is readable, since exec resets that). */
    if (read_exe(tid, exe, sizeof exe) < 0)
        return 0;
    if (!sup_is_loader(&s->t, exe))
        return 0;
    /* Right after an exec the process has one thread, so its tid is its tgid. The pidfd is taken
     * before the validity check: a valid notification means it names the racing process. */
    int pfd = (int)syscall(SYS_pidfd_open, tid, 0);
    if (sup_id_valid(s->listener, req->id)) {
        if (pfd < 0 || syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0)
            kill(tid, SIGKILL);
        struct ev e = { .sc = sc < 0 ? SC_EXECVE : sc, .pid = tid, .path = exe, .why = "loader" };
        sup_deny(s, req->id, &e, EACCES);
    }
    if (pfd >= 0)
        close(pfd);
    return 1;
}

void sup_handle_exec(struct supervisor *s, const struct seccomp_notif *req, int sc)
{
    uint64_t id = req->id;
    pid_t tid = (pid_t)req->pid;
    int dirfd = sc == SC_EXECVEAT ? (int)req->data.args[0] : AT_FDCWD;
    uint64_t path_addr = sc == SC_EXECVEAT ? req->data.args[1] : req->data.args[0];
    int atflags = sc == SC_EXECVEAT ? (int)req->data.args[4] : 0;
    struct ev e = { .sc = sc, .pid = tid };
    static struct tpath tp;

    int r = sup_target_path(s->listener, id, tid, dirfd, path_addr, TP_INFO | ((atflags & AT_EMPTY_PATH) ? TP_EMPTY_FD : 0), &tp);
    if (r == -EPERM) {
        /* A target we may not read (see the top of this file): Landlock decides. */
        e.act = "allow";
        e.path = "?";
        e.why = "unreadable";
        sup_emit(s, &e);
        sup_answer_continue(s, id);
        return;
    }
    if (r < 0) {
        e.path = tp.raw[0] ? tp.raw : NULL;
        sup_fail(s, id, &e, r);
        return;
    }
    struct job j;
    memset(&j, 0, sizeof j);
    j.fd = -1;
    j.h.op = DOP_EXEC;
    j.h.flags = atflags;
    j.h.nspid = (int32_t)tp.ti.nstgid;
    j.p1 = tp.path;
    if (tp.empty || tp.own_fd >= 0 || tp.own_link[0]) {
        /* execveat(fd, "", AT_EMPTY_PATH), execve("/proc/self/fd/N"), "/proc/self/exe": decided on
         * what the descriptor is (a memfd or a deleted file has no jail path and is refused,
         * ESCAPES 37). */
        int fd;
        if (tp.empty)
            fd = sup_target_fd(s->listener, id, tp.ti.tgid, dirfd);
        else if (tp.own_fd >= 0)
            fd = sup_target_fd(s->listener, id, tp.ti.tgid, tp.own_fd);
        else
            fd = sup_target_link(s->listener, id, tid, tp.own_link);
        if (fd < 0) {
            sup_fail(s, id, &e, fd);
            return;
        }
        j.fd = fd;
        j.p1 = "";
    }
    sup_post(s, req, sc, ANS_CONTINUE, 0, &j, tp.path[0] ? tp.path : "(fd)", NULL, 0, tp.ti.tgid);
    if (j.fd >= 0)
        close(j.fd);
}
