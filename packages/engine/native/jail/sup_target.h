/*
 * Reading the target of a notification: its memory (process_vm_readv), what /proc says about it,
 * the jail path a path argument names, and its descriptors (pidfd_getfd). Everything here is a
 * copy taken once; the supervisor decides and acts on the copy, never on the target's memory
 * again (docs/design.md, rule S1).
 *
 * Every function that reads the target ends with SECCOMP_IOCTL_NOTIF_ID_VALID and says so in its
 * result: SUP_GONE means the notification died meanwhile (the target was killed, or its pid now
 * belongs to someone else) and must not be answered; any other negative value is -errno to answer
 * with. Keeping "gone" apart from -ENOENT is what makes every live notification get an answer.
 */
#ifndef MCPJ_SUP_TARGET_H
#define MCPJ_SUP_TARGET_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

/* Not an errno (they are below 4096): the notification is gone, answer nothing. */
#define SUP_GONE (-100000)

struct tinfo {
    pid_t tgid;  /* host */
    long nstgid; /* in the jail's PID namespace */
    long nspid;
    unsigned umask;
    long threads; /* threads in its process (Threads:), 0 when unknown */
};

struct tpath {
    char raw[PATH_MAX];  /* as the target wrote it */
    char path[PATH_MAX]; /* the absolute jail path it names: composed with the cwd or directory fd,
                          * /proc/self, /proc/thread-self and /dev/std{in,out,err}, /dev/fd rewritten
                          * to the target's own /proc/PID; otherwise as written (the deputy resolves
                          * "..", symlinks included, like the kernel would) */
    int own_fd;          /* >= 0: the path names the target's own descriptor N (/proc/self/fd/N) */
    char own_link[32];   /* "exe" or "ns/NAME": the path names one of the target's own magic links,
                          * whose object only the kernel can reach (sup_target_link) */
    int empty;           /* "" with TP_EMPTY_FD: the directory fd itself, not composed */
    struct tinfo ti;     /* valid when have_ti */
    int have_ti;
};

enum {
    TP_INFO = 2,     /* read the target's status (umask, pids) even when the path does not need it */
    TP_EMPTY_FD = 4, /* "" is the directory fd itself (AT_EMPTY_PATH): tp->empty, nothing composed */
};

/* Copies the NUL-terminated string at addr. Returns its length or -errno. */
int sup_read_str(pid_t pid, uint64_t addr, char *buf, size_t cap);
/* Copies n bytes at addr. Returns 0 or -errno. */
int sup_read_mem(pid_t pid, uint64_t addr, void *buf, size_t n);
/* Tgid, pids in the jail and umask of a thread, from /proc/TID/status. Returns 0 or -errno. */
int sup_target_info(pid_t tid, struct tinfo *ti);

/* The jail path the (dirfd, path at addr) arguments name, then ID_VALID. Returns 0, SUP_GONE,
 * or -errno to answer with (EFAULT, ENAMETOOLONG, ENOENT for an empty path, EBADF, ...). */
int sup_target_path(int listener, uint64_t id, pid_t tid, int dirfd, uint64_t addr, int flags, struct tpath *tp);

/* The same for a path already copied (a unix socket's sun_path). */
int sup_target_compose(int listener, uint64_t id, pid_t tid, int dirfd, const char *raw, int flags, struct tpath *tp);

/* A duplicate of the target's descriptor fd (pidfd_getfd, checked to belong to the live
 * notification). Returns the descriptor, SUP_GONE, or -errno (EBADF: no such descriptor). */
int sup_target_fd(int listener, uint64_t id, pid_t tgid, int fd);

/* An O_PATH descriptor of what the target's own magic link /proc/TID/LINK leads to (exe, ns/NAME):
 * no access to content, which the deputy reopens with the jail's rights and decides on. Returns
 * the descriptor, SUP_GONE, or -errno. */
int sup_target_link(int listener, uint64_t id, pid_t tid, const char *link);

/* SECCOMP_IOCTL_NOTIF_ID_VALID */
int sup_id_valid(int listener, uint64_t id);

#endif
