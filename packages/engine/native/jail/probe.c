/*
 * Feature probes. Each one runs the real operation in a child process (so a namespace or filter
 * it creates dies with the child) and reports the errno it got: doctor shows facts, not guesses.
 */
#include "probe.h"
#include "landlock_defs.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include "seccomp_defs.h"
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
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

/* A fresh proc mount, as the jail's init makes it: in new user, mount and PID namespaces, by PID 1
 * of the new PID namespace. A container that masks parts of its /proc (runc's masked and read-only
 * paths: binds and tmpfs over /proc files) makes the kernel refuse it with EPERM, because the new
 * proc would reveal what those mounts hide. */
static int mount_proc_as_init(void)
{
    if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=16k") < 0)
        return errno;
    if (mkdir("/tmp/proc", 0755) < 0)
        return errno;
    return mount("proc", "/tmp/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? errno : 0;
}

static int try_proc_mount(void)
{
    int e = try_mountns();
    if (e != 0)
        return e;
    return in_child(mount_proc_as_init); /* the first child of the new PID namespace is its PID 1 */
}

/* clone3 with the jail's namespace flags (the call mcp-j makes when the jail gets a cgroup): the
 * default seccomp profiles of container runtimes answer it with ENOSYS. */
static int try_clone3_namespaces(void)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0)
        return errno;
    if (pid == 0)
        _exit(0);
    int st;
    return waitpid((pid_t)pid, &st, 0) < 0 ? errno : 0;
}

/* Landlock's own answer: the ABI version, or the errno that says why not (ENOSYS: the kernel was
 * built without Landlock; EOPNOTSUPP: built in but not enabled at boot, i.e. missing from lsm=). */
static void probe_landlock(void)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    emit("landlock", abi < 0 ? errno : 0, abi < 0 ? 0 : abi);
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
    probe_landlock();
    emit("userns", in_child(try_userns), 0);
    emit("namespaces_mount", in_child(try_mountns), 0);
    emit("proc_mount", in_child(try_proc_mount), 0);
    emit("clone3_namespaces", in_child(try_clone3_namespaces), 0);
    emit("seccomp_listener", in_child(try_seccomp_listener), 0);
    emit("seccomp_wait_killable_recv", in_child(try_wait_killable), 0);
    emit("seccomp_sync_wakeup", in_child(try_sync_wakeup), 0);
    emit("pidfd_getfd", in_child(try_pidfd_getfd), 0);
    return 0;
}
