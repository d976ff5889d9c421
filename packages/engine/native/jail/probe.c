/*
 * Feature probes. Each one runs the real operation in a child process (so a namespace or filter
 * it creates dies with the child) and reports the errno it got: doctor shows facts, not guesses.
 */
#include "probe.h"
#include "landlock.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include "seccomp_defs.h"
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


static void emit(const char *name, int err, long long value)
{
    struct line l;
    line_start(&l, "feature");
    line_str(&l, "name", name);
    line_int(&l, "ok", err == 0);
    line_int(&l, "errno", err);
    line_int(&l, "value", value);
    line_send(&l, 1);
}

/* Runs fn in a child; the child's exit code is the errno it hit (0 = worked). */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0)
        _exit(fn());
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : EFAULT;
}

static int write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : errno;
    close(fd);
    return e;
}

static int try_userns(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER) < 0)
        return errno;
    char map[64];
    /* On Ubuntu 23.10+ with the AppArmor restriction, unshare succeeds but the new namespace
     * grants no capabilities: the map write or the mount below is what fails. */
    int e = write_str("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "65534 %u 1\n", uid);
    if (e == 0)
        e = write_str("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "65534 %u 1\n", gid);
    if (e == 0)
        e = write_str("/proc/self/gid_map", map);
    return e;
}

static int try_mountns(void)
{
    int e = try_userns();
    if (e != 0)
        return e;
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) < 0)
        return errno;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount("tmpfs", "/tmp", "tmpfs", 0, "size=16k") < 0)
        return errno;
    return 0;
}

static int install_listener(unsigned long flags)
{
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = { .len = 1, .filter = &allow };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static int try_seccomp_listener(void) { return install_listener(SECCOMP_FILTER_FLAG_NEW_LISTENER) < 0 ? errno : 0; }
static int try_wait_killable(void)
{
    return install_listener(SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) < 0 ? errno : 0;
}
static int try_sync_wakeup(void)
{
    int fd = install_listener(SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (fd < 0)
        return errno;
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) < 0 ? errno : 0;
}
static int try_pidfd_getfd(void)
{
    int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pfd < 0)
        return errno;
    int fd = (int)syscall(SYS_pidfd_getfd, pfd, 0, 0);
    return fd < 0 ? errno : 0;
}

int probe_run(void)
{
    int abi = landlock_abi();
    emit("landlock", abi > 0 ? 0 : ENOSYS, abi);
    emit("userns", in_child(try_userns), 0);
    emit("namespaces_mount", in_child(try_mountns), 0);
    emit("seccomp_listener", in_child(try_seccomp_listener), 0);
    emit("seccomp_wait_killable_recv", in_child(try_wait_killable), 0);
    emit("seccomp_sync_wakeup", in_child(try_sync_wakeup), 0);
    emit("pidfd_getfd", in_child(try_pidfd_getfd), 0);
    return 0;
}
