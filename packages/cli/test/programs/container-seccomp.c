/*
 * container-seccomp CMD ARG...: runs CMD under a seccomp filter that refuses what a container
 * runtime's default profile refuses to a process without CAP_SYS_ADMIN (Docker's default.json,
 * which Podman and containerd follow): unshare, mount, umount2, pivot_root and setns fail with
 * EPERM, clone with any namespace flag fails with EPERM, and clone3 fails with ENOSYS (so that libc
 * falls back to clone, whose flags a filter can read). Everything else is allowed. Used to recreate
 * that restriction around mcp-j for real (issue 13, item 7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)
#define NR (offsetof(struct seccomp_data, nr))
#define ARG0_LO (offsetof(struct seccomp_data, args[0]))
#define DENY(e) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define IS(nr, skip_false) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, (skip_false))

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: container-seccomp CMD ARG...\n");
        return 2;
    }
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        ALLOW,
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
        IS(__NR_clone, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1),
        DENY(EPERM),
        ALLOW,
        IS(__NR_clone3, 1),
        DENY(ENOSYS),
        IS(__NR_unshare, 1),
        DENY(EPERM),
        IS(__NR_mount, 1),
        DENY(EPERM),
        IS(__NR_umount2, 1),
        DENY(EPERM),
        IS(__NR_pivot_root, 1),
        DENY(EPERM),
        IS(__NR_setns, 1),
        DENY(EPERM),
        ALLOW,
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        perror("container-seccomp: seccomp");
        return 2;
    }
    execvp(argv[1], argv + 1);
    perror("container-seccomp: exec");
    return 127;
}
