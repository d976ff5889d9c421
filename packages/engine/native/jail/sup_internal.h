/*
 * The supervisor's own state, shared by its files (one concern each, nsjail style):
 *   supervisor.c  the loop: receive a notification and dispatch it
 *   sup_jobs.c    jobs for the deputy: post, collect the results and answer, notice notifications
 *                 that died while their job ran, fail closed when the deputy is gone
 *   sup_target.c  reading the target (memory, /proc, descriptors) with the "gone" outcome
 *   sup_answer.c  answers (error, value, CONTINUE, an injected descriptor) and audit events
 *   sup_open.c    open, openat, creat
 *   sup_path.c    the path operations deny rules must cover (unlink, rename, link, chmod, ...)
 *   sup_net.c     connect, bind, sendto, sendmsg, sendmmsg
 *   sup_exec.c    execve, execveat, and the ELF-loader race
 * The deputy (deputy.c, inside the jail) performs what these decide to do.
 */
#ifndef MCPJ_SUP_INTERNAL_H
#define MCPJ_SUP_INTERNAL_H

#include "dep_proto.h"
#include "plan.h"
#include "seccomp_defs.h"
#include "sup_events.h"
#include "sup_tables.h"
#include "sup_target.h"

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum sc {
    SC_OPENAT, SC_OPEN, SC_CREAT, SC_CONNECT, SC_BIND, SC_EXECVE, SC_EXECVEAT, SC_SENDTO, SC_SENDMSG, SC_SENDMMSG,
    SC_TRUNCATE, SC_UNLINK, SC_UNLINKAT, SC_RMDIR, SC_RENAME, SC_RENAMEAT, SC_RENAMEAT2, SC_LINK, SC_LINKAT,
    SC_SYMLINK, SC_SYMLINKAT, SC_MKDIR, SC_MKDIRAT, SC_MKNOD, SC_MKNODAT, SC_CHMOD, SC_FCHMODAT, SC_FCHMODAT2,
    SC_CHOWN, SC_LCHOWN, SC_FCHOWNAT, SC_UTIME, SC_UTIMES, SC_FUTIMESAT, SC_UTIMENSAT, SC_SETXATTR, SC_LSETXATTR,
    SC_REMOVEXATTR, SC_LREMOVEXATTR,
    SC_COUNT
};
extern const char *const SC_NAME[SC_COUNT];

/* How a notification waiting for the deputy is answered when its result comes. */
enum answer_kind {
    ANS_FD,          /* inject the descriptor the deputy opened */
    ANS_VALUE,       /* the call's value (0 or bytes sent) */
    ANS_CONTINUE,    /* allowed: the kernel performs the call (exec, O_PATH; see sup_exec.c, sup_open.c) */
    ANS_REDIRECT,    /* a connect performed against the egress proxy: report the redirect, then the value */
};

#define MAX_PENDING 256

struct pending {
    uint64_t notif;   /* 0: free */
    uint32_t gen;
    pid_t tid;
    pid_t tgid;       /* 0 when unknown */
    int sc;
    int kind;
    int cloexec;
    int cancelled;
    struct timespec since;
    char *path;       /* the path asked for, for the event (malloc'd) */
    char addr[48];
    int port;
    uint64_t aux;     /* sendmmsg: where the first message's msg_len is written back */
    int sigpipe;      /* a send without MSG_NOSIGNAL: EPIPE raises SIGPIPE in the target, as the kernel would */
    int oflags;       /* open: the flags asked for (the event's access), else -1 */
};

struct supervisor {
    const struct plan *p;
    pid_t init_pid;
    struct sup_tables t;
    struct sup_events ev;
    struct seccomp_notif_sizes sizes;
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    int listener;
    int flags_set;
    int deputy;              /* our end of the deputy's socket, -1 when gone */
    int deputy_reported;     /* its loss was reported */
    struct dep_shared *shared;
    struct dep_spinner spin; /* how long to spin for a result (dep_proto.h) */
    unsigned char *jobbuf;   /* DEP_MAX_JOB bytes */
    struct pending slots[MAX_PENDING];
    unsigned npending;
    int timer;               /* timerfd: notifications whose job runs long are checked */
    /* start-up tracing (report.h; only with MCPJ_TRACE=1): notifications by syscall, and the time
     * from RECV to the answer, matched by id in a small ring */
    unsigned long long tr_n[SC_COUNT], tr_ns[SC_COUNT];
    struct { uint64_t id; unsigned long long t; int sc; } tr_recv[64];
};

/* Tracing: a notification received, and answered (sup_answer.c). */
void sup_trace_answered(struct supervisor *s, uint64_t id);

/* ---- answers and events (sup_answer.c) */

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
    int has_oflags; /* open, once posted: the flags asked for, reported as acc= */
    int oflags;
};

void sup_emit(struct supervisor *s, const struct ev *e);
void sup_answer(struct supervisor *s, uint64_t id, int err, long long val);
void sup_answer_continue(struct supervisor *s, uint64_t id);
/* Injects fd (ours, closed here) as the call's result. */
void sup_answer_fd(struct supervisor *s, uint64_t id, int fd, int cloexec);
/* Refuses with err and reports it (act=deny). */
void sup_deny(struct supervisor *s, uint64_t id, struct ev *e, int err);
/* Answers err (0 allowed) and reports it: deny when e->why is set, else allow/fail. */
void sup_finish(struct supervisor *s, uint64_t id, struct ev *e, int err, long long val);
const char *sup_why_name(int why);

/* ---- jobs for the deputy (supervisor.c) */

struct job {
    struct dep_job h;
    const char *p1, *p2;
    const void *payload;
    int fd;       /* sent along when >= 0 (not closed) */
    const int *rights; /* then these (a message's SCM_RIGHTS), not closed */
    int nrights;
    uint64_t aux; /* kept with the notification (struct pending.aux), not sent */
    int sigpipe;  /* kept with the notification (struct pending.sigpipe), not sent */
};

/* Sends the job and records the notification as waiting for it. Takes ownership of nothing; the
 * caller closes j->fd. When the deputy is gone the notification is answered (fails closed). */
void sup_post(struct supervisor *s, const struct seccomp_notif *req, int sc, int kind, int cloexec, struct job *j,
              const char *path_for_event, const char *addr, int port, pid_t tgid);

/* Reads every result the deputy has sent, answering their notifications (sup_jobs.c). */
void sup_drain_results(struct supervisor *s);
/* The timer fired: jobs whose notification died are interrupted (sup_jobs.c). */
void sup_check_slow(struct supervisor *s);

/* ---- handlers */
void sup_handle_open(struct supervisor *s, const struct seccomp_notif *req, int sc);
void sup_handle_path(struct supervisor *s, const struct seccomp_notif *req, int sc);
void sup_handle_net(struct supervisor *s, const struct seccomp_notif *req, int sc);
void sup_handle_send(struct supervisor *s, const struct seccomp_notif *req, int sc);
void sup_handle_exec(struct supervisor *s, const struct seccomp_notif *req, int sc);
/* Returns 1 when the notification's process was a loader started by the exec race (killed). */
int sup_kill_racing_loader(struct supervisor *s, const struct seccomp_notif *req, int sc);
/* An allowed execve was CONTINUEd: the loader check must look at this process again. */

/* The deputy's result for a redirected connect (sup_net.c): the redirect is reported (local end
 * local, the destination the target asked for), then the target answered. */
void sup_net_redirected(struct supervisor *s, const struct pending *sl, const struct dep_result *r, const char *local);

/* Common failure handling of the handlers: SUP_GONE → nothing; -errno → answer it. */
void sup_fail(struct supervisor *s, uint64_t id, struct ev *e, int r);

#endif
