/*
 * Answers to notifications and the audit events that go with them. SEND and ADDFD fail with
 * ENOENT when the target died or was signalled meanwhile: that is routine and nothing is left to
 * answer. Any other failure is reported as an event (the target keeps waiting until the listener
 * closes, which is the supervisor's exit: fails closed).
 */
#include "sup_internal.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *const SC_NAME[SC_COUNT] = {
    "openat", "open", "creat", "connect", "bind", "execve", "execveat", "sendto", "sendmsg", "sendmmsg",
    "truncate", "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "mkdir", "mkdirat", "mknod", "mknodat", "chmod", "fchmodat", "fchmodat2",
    "chown", "lchown", "fchownat", "utime", "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr",
    "removexattr", "lremovexattr",
};

const char *sup_why_name(int why)
{
    switch (why) {
    case WHY_GLOB: return "glob";
    case WHY_READONLY: return "readonly";
    case WHY_OUTSIDE: return "outside";
    case WHY_KERNEL: return "kernel";
    case WHY_LINK: return "link";
    case WHY_EXEC: return "exec";
    case WHY_FD: return "fd";
    case WHY_PROC: return "proc";
    case WHY_SOCKET: return "socket";
    default: return NULL;
    }
}

/* What an open asked for, as the audit log names it (audit/schema.ts SyscallEvent.access). */
static const char *open_access(int flags)
{
    int acc = flags & O_ACCMODE;
    if (acc != O_RDONLY && (flags & O_CREAT))
        return "create";
    return acc == O_RDONLY ? "read" : acc == O_WRONLY ? "write" : "readwrite";
}

void sup_emit(struct supervisor *s, const struct ev *e)
{
    int allow = strcmp(e->act, "deny") != 0;
    if (allow && !(s->t.flags & SUP_F_LOG_ALLOW))
        return;
    /* Two clocks: the wall clock for people (t=, ms), and CLOCK_MONOTONIC in ns (mono=), the clock
     * Node's process.hrtime reads, so mcp-j can place the event between the JSON-RPC messages it
     * forwarded (attribution, docs/audit.md): the event is stamped before the call is answered,
     * so it always falls inside the request that caused it. Both are vDSO reads. */
    struct timespec ts, mono;
    clock_gettime(CLOCK_REALTIME, &ts);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    struct line l;
    line_start(&l, "ev");
    line_str(&l, "act", e->act);
    line_str(&l, "sc", SC_NAME[e->sc]);
    line_int(&l, "pid", e->pid);
    if (e->path != NULL)
        line_str(&l, "path", e->path);
    if (e->addr != NULL) {
        line_str(&l, "addr", e->addr);
        line_int(&l, "port", e->port);
    }
    if (e->err != 0)
        line_int(&l, "errno", e->err);
    if (e->why != NULL)
        line_str(&l, "why", e->why);
    if (e->rule != NULL)
        line_str(&l, "rule", e->rule);
    if (e->has_oflags)
        line_str(&l, "acc", open_access(e->oflags));
    line_int(&l, "t", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    line_int(&l, "mono", (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec);
    sup_events_emit(&s->ev, &l);
    /* A denial is on its way to mcp-j before the call returns, so before the server can answer
     * the request it served: the refusal note on that answer (attribution) sees it. Denials are
     * rare; allowed events wait for the loop's flush. */
    if (!allow)
        sup_events_flush(&s->ev, 0);
}

static void send_resp(struct supervisor *s, uint64_t id, int err, long long val, uint32_t flags)
{
    memset(s->resp, 0, s->sizes.seccomp_notif_resp);
    s->resp->id = id;
    s->resp->error = err ? -err : 0;
    s->resp->val = err ? 0 : val;
    s->resp->flags = flags;
    sup_trace_answered(s, id);
    if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, s->resp) < 0 && errno != ENOENT) {
        struct line l;
        line_start(&l, "ev");
        line_str(&l, "act", "fail");
        line_str(&l, "why", "answer");
        line_int(&l, "errno", errno);
        sup_events_emit(&s->ev, &l);
    }
}

void sup_answer(struct supervisor *s, uint64_t id, int err, long long val)
{
    send_resp(s, id, err, val, 0);
}

void sup_answer_continue(struct supervisor *s, uint64_t id)
{
    send_resp(s, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

void sup_answer_fd(struct supervisor *s, uint64_t id, int fd, int cloexec)
{
    struct seccomp_notif_addfd a;
    memset(&a, 0, sizeof a);
    a.id = id;
    a.flags = SECCOMP_ADDFD_FLAG_SEND;
    a.srcfd = (uint32_t)fd;
    a.newfd_flags = cloexec ? O_CLOEXEC : 0;
    sup_trace_answered(s, id);
    if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 && errno != ENOENT)
        sup_answer(s, id, errno, 0); /* e.g. EMFILE: the target's fd table is full */
    close(fd);
}

void sup_deny(struct supervisor *s, uint64_t id, struct ev *e, int err)
{
    e->act = "deny";
    e->err = err;
    sup_emit(s, e);
    sup_answer(s, id, err, 0);
}

void sup_finish(struct supervisor *s, uint64_t id, struct ev *e, int err, long long val)
{
    e->err = err;
    e->act = err == 0 ? "allow" : e->why != NULL ? "deny" : "fail";
    sup_emit(s, e);
    sup_answer(s, id, err, val);
}

void sup_fail(struct supervisor *s, uint64_t id, struct ev *e, int r)
{
    if (r == SUP_GONE)
        return;
    if (r == -EPERM && e->why == NULL)
        e->why = "unreadable"; /* a target whose memory we may not read (not dumpable) */
    sup_finish(s, id, e, r == -EPERM ? EACCES : -r, 0);
}
