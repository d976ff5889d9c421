/* ESCAPES 1, 3, 4, 6, 7, 8: identity, privileges, namespaces and mounts as seen from inside. */
#include "common.h"
#include <grp.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/utsname.h>

static void dump_file(const char *key, const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        report(key, errname(errno));
        return;
    }
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = 0;
        /* Collapse the columns' padding: "65534 1001 1". */
        char out[512], *w = out;
        for (char *tok = strtok(line, " \t"); tok != NULL; tok = strtok(NULL, " \t"))
            w += snprintf(w, (size_t)(out + sizeof out - w), "%s%s", w == out ? "" : " ", tok);
        *w = 0;
        char k[128];
        snprintf(k, sizeof k, "%s.%d", key, n++);
        report(k, out);
    }
    reportf(key, "%d lines", n);
    fclose(f);
}

/* A child in new namespaces: reports whether the kernel created it. */
static long clone_ns(unsigned long flags)
{
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    return pid;
}

static long clone3_plain(void)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    return pid;
}

int main(void)
{
    /* 1. /proc/self/status */
    FILE *f = fopen("/proc/self/status", "re");
    char line[512];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        static const char *keys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Uid", "Gid", "Groups" };
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = 0;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            if (strcmp(line, keys[i]) != 0)
                continue;
            char *v = colon + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = 0;
            for (char *t = v; *t; t++)
                if (*t == '\t')
                    *t = ' ';
            reportf(keys[i], "%s", v);
        }
    }
    if (f != NULL)
        fclose(f);
    reportf("ids", "%d %d %d %d", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());

    /* 3. maps */
    dump_file("uid_map", "/proc/self/uid_map");
    dump_file("gid_map", "/proc/self/gid_map");
    dump_file("setgroups", "/proc/self/setgroups");

    /* 4. regaining root */
    ISOLATED("setresuid0", setresuid(0, 0, 0));
    ISOLATED("setresgid0", setresgid(0, 0, 0));
    ISOLATED("setgroups0", setgroups(0, NULL));
    ISOLATED("setuid0", setuid(0));

    /* 6. new namespaces */
    ISOLATED("unshare_user", unshare(CLONE_NEWUSER));
    ISOLATED("unshare_net", unshare(CLONE_NEWNET));
    ISOLATED("unshare_mnt", unshare(CLONE_NEWNS));
    ISOLATED("clone_user_net", clone_ns(CLONE_NEWUSER | CLONE_NEWNET));
    ISOLATED("clone3", clone3_plain());

    /* 7. setns: through /proc/self/ns/X (when that opens at all), and through a pidfd of our own
     *    process (5.8+), which needs no path. */
    static const char *ns[] = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time" };
    static const int nsflag[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME };
    int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char path[64], key[64];
        snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(key, sizeof key, "setns_%s", ns[i]);
        if (fd < 0) {
            reportf(key, "open:%s", errname(errno));
        } else {
            ISOLATED(key, setns(fd, 0));
            close(fd);
        }
        snprintf(key, sizeof key, "setns_pidfd_%s", ns[i]);
        if (self < 0)
            reportf(key, "pidfd_open:%s", errname(errno));
        else
            ISOLATED(key, setns(self, nsflag[i]));
    }

    /* 8. the mount table */
    ISOLATED("mount_tmpfs", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
    ISOLATED("mount_bind", mount("/usr", "/tmp", NULL, MS_BIND, NULL));
    ISOLATED("remount_usr_rw", mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL));
    ISOLATED("remount_root_rw", mount(NULL, "/", NULL, MS_REMOUNT, NULL));
    ISOLATED("umount_root", umount2("/", MNT_DETACH));
    ISOLATED("umount_usr", umount2("/usr", 0));
    ISOLATED("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
    ISOLATED("chroot", chroot("/tmp"));
    ISOLATED("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
    ISOLATED("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/usr", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    ISOLATED("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/usr", AT_FDCWD, "/tmp", 0));
    struct mount_attr attr = { .attr_clr = MOUNT_ATTR_RDONLY };
    ISOLATED("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/usr", 0, &attr, sizeof attr));
    ISOLATED("fspick", syscall(SYS_fspick, AT_FDCWD, "/usr", FSPICK_CLOEXEC));

    /* 9. the mount table by syscall (6.8+): statmount's root names a bind mount's host source. The
     * request is a valid one for the root mount, so a kernel that has the call answers it. */
    struct { uint32_t size, spare; uint64_t mnt_id, param, mnt_ns_id; } req = { 32, 0, 0x1 /* LSMT_ROOT */, 0x8 /* STATMOUNT_MNT_ROOT */, 0 };
    char smbuf[4096];
    uint64_t ids[64];
    ISOLATED("statmount", syscall(457 /* SYS_statmount */, &req, smbuf, sizeof smbuf, 0));
    ISOLATED("listmount", syscall(458 /* SYS_listmount */, &req, ids, 64, 0));

    /* UTS and network namespaces */
    struct utsname u;
    if (uname(&u) == 0)
        report("hostname", u.nodename);
    CHECK("sethostname", sethostname("x", 1));
    /* The interfaces of our network namespace, from /proc/self/net/dev (no netlink needed). */
    FILE *nd = fopen("/proc/self/net/dev", "re");
    char names[256] = "", l[512];
    int ln = 0;
    while (nd != NULL && fgets(l, sizeof l, nd) != NULL) {
        if (ln++ < 2)
            continue; /* two header lines */
        char *colon = strchr(l, ':');
        if (colon == NULL)
            continue;
        *colon = 0;
        char *nm = l + strspn(l, " ");
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? "," : "", nm);
    }
    report("interfaces", nd != NULL ? names : errname(errno));
    if (nd != NULL)
        fclose(nd);
    return 0;
}
