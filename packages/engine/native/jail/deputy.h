/*
 * The deputy: the process that performs, inside the jail, what the supervisor decided to do for a
 * jailed process (docs/design.md, "The deputy"; the protocol is in dep_proto.h).
 *
 * It is forked by jail init before the server, drops to the jail's identity exactly as the server
 * does (same uid, gid, no groups, no capabilities, no_new_privs), is restricted by the jail's
 * Landlock ruleset, and runs in the jail's mount, PID, network, IPC and UTS namespaces with the
 * jail's root as its root. The server is created from it and restricted by the same ruleset once
 * more, so the deputy's Landlock domain is the parent of every jail process's: the kernel applies
 * to each of its actions exactly the jail's file and TCP rules, and jail processes can neither
 * signal (Landlock scope, ABI 6) nor ptrace it (Landlock, not dumpable, and the seccomp filter).
 *
 * What a jail process could make it do is bounded by what it may do itself: every path is resolved
 * beneath the jail's root without magic links, and decided on the object reached, never on the
 * spelling. Its own /proc entries are refused, so its descriptors (the socket to the supervisor)
 * cannot be reached through it.
 *
 * Jobs that may block (a FIFO without a peer, a file with a lease, a blocking connect or send) run on
 * a worker thread; the main thread never waits for them, and a job whose notification died is
 * interrupted (SIGUSR1, handled without SA_RESTART).
 */
#ifndef MCPJ_DEPUTY_H
#define MCPJ_DEPUTY_H

#include "dep_proto.h"
#include "plan.h"
#include "sup_tables.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/types.h>

/* Older C library headers lack these (the kernel has had them since 3.11 and 2.6.39). */
#ifndef __O_TMPFILE
#define __O_TMPFILE (O_TMPFILE & ~O_DIRECTORY)
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

#define DEP_WORKERS 64

struct deputy;

/* One job as received (the strings point into buf). */
struct djob {
    struct dep_job h;
    const char *p1, *p2;
    const unsigned char *payload;
    int fd;
    int nrights;                 /* DOP_SEND: the descriptors the message passes */
    int rights[DEP_MAX_RIGHTS];
    unsigned char buf[];
};

/* One result to send. */
struct dres {
    int err;
    long long val;
    int why;
    int rule;   /* deny glob index + 1 */
    int fd;     /* to send, or -1 */
    char real[PATH_MAX];
};

/* A job that would block: run it again on a worker thread, where blocking is allowed. */
#define DEP_DEFER (-100001)

struct deputy {
    struct sup_tables t;
    int sock;
    int root;   /* the jail's "/" (O_PATH): every resolution is beneath it */
    pid_t self; /* our pid in the jail: our own /proc entries are refused */
    struct dep_shared *sh;
    pthread_mutex_t mu;
    struct worker {
        uint32_t id; /* the job it runs, 0 when idle */
        pthread_t th;
    } workers[DEP_WORKERS];
};

/* Runs the deputy's loop on sock until the supervisor closes it. Never returns. */
__attribute__((noreturn)) void deputy_main(const struct plan *p, int sock, struct dep_shared *sh);

/* The jobs (deputy_fs.c, deputy_net.c). may_block: 0 on the main thread (return DEP_DEFER
 * instead of blocking), 1 on a worker. Return 0 when r is filled, or DEP_DEFER. */
int dep_open(struct deputy *d, const struct djob *j, struct dres *r, int may_block);
int dep_exec(struct deputy *d, const struct djob *j, struct dres *r);
int dep_path(struct deputy *d, const struct djob *j, struct dres *r, int may_block);
int dep_addr(struct deputy *d, const struct djob *j, struct dres *r, int may_block);
int dep_send(struct deputy *d, const struct djob *j, struct dres *r, int may_block);
int dep_unix(struct deputy *d, const struct djob *j, struct dres *r, int may_block);

/* Shared helpers (deputy_fs.c). */
/* openat2(root, path, flags | O_PATH-ish, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), retried on EAGAIN. */
int dep_resolve(const struct deputy *d, const char *path, int oflags);
/* The jail path of our descriptor fd (absolute), or -errno; "" for objects without one. */
int dep_fd_path(int fd, char *out, size_t cap);
/* The directory of path, resolved, and the last name in it. real = that directory's real path +
 * "/" + the name (what is decided). Returns the directory's descriptor or -errno. */
int dep_parent(const struct deputy *d, const char *path, char *base, size_t base_cap, char *real, size_t real_cap);
/* Decides an object or a name reached at real (SUP_R_* needed): 0, or EACCES with r->why/rule
 * set. nspid is the target's own pid (its /proc/PID is not another process's). */
int dep_decide(struct deputy *d, const char *real, uint32_t need, int nspid, struct dres *r);
/* Is pid the deputy itself or one of its threads? */
int dep_is_self(const struct deputy *d, long pid);
/* openat2, retried on EAGAIN (a rename or mount raced a ".." step). Returns the fd or -errno. */
struct open_how;
int dep_openat2(int dfd, const char *path, struct open_how *how);
/* "." or ".." as the last name: the kernel's to refuse, nothing to decide. */
int dep_dot_name(const char *base);
/* Another process's private /proc entry, or the deputy's own: EACCES (r->why set), else 0. */
int dep_proc_check(struct deputy *d, const char *real, int nspid, struct dres *r);
/* The SUP_R_* rights an open with these flags needs. */
uint32_t dep_needed_rights(int flags, int is_dir);
/* Names the kernel's refusal for the audit when we did not refuse ourselves. */
void dep_kernel_why(struct dres *r, int err);
/* A path that reached nothing: a denied name is refused as such (see deputy_fs.c). */
void dep_missing(struct deputy *d, const char *path, struct dres *r);

/* deputy_mounts.c: for a /proc mount table opened at `real`, a copy without host paths (fd is
 * closed by the caller); any other file: fd itself. Returns an fd or -errno. */
int dep_mounts_copy(const char *real, int fd);
/* The rewrite itself (kind 'i' mountinfo, 'm' mounts); malloc'd, NULL when out of memory. */
char *dep_mounts_rewrite(int kind, const char *text, size_t len, size_t *outlen);

#endif
