/*
 * The seccomp user-notification supervisor (docs/design.md, "The supervisor"). It runs in the
 * mcpj-jail process, in the host's namespaces, driven by main.c's poll loop:
 *
 *   RECV a notification (struct zeroed, sized with SECCOMP_GET_NOTIF_SIZES; ENOENT is routine)
 *   -> the handler for its syscall copies the arguments out of the target once, checks
 *      NOTIF_ID_VALID, decides what it can on the copy (addresses, the exec allowlist's race)
 *   -> either answers at once, or posts a job to the deputy and moves on: the loop never waits for
 *      an action to finish (a FIFO, a leased file, a full listen backlog block the deputy's worker
 *      thread, not us)
 *   -> the deputy's result comes back on its socket; the notification is answered with it (an
 *      injected descriptor, a value, an error, or CONTINUE where a kernel layer decides anyway).
 *
 * The supervisor never opens, connects or binds anything for the jail itself: that is the deputy's
 * (deputy.c), which is a process of the jail with the jail's ids, Landlock domain, root and
 * namespaces, so nothing done for the jail can have more authority than the jail (docs/design.md, rule 2).
 * If this process dies, the kernel fails every notified syscall with ENOSYS; if the deputy dies,
 * we answer ENOSYS: either way the jail fails closed.
 */
#include "supervisor.h"
#include "report.h"
#include "sup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>


static int syscall_kind(int nr)
{
    switch (nr) {
    case __NR_openat: return SC_OPENAT;
    case __NR_connect: return SC_CONNECT;
    case __NR_bind: return SC_BIND;
    case __NR_execve: return SC_EXECVE;
    case __NR_execveat: return SC_EXECVEAT;
    case __NR_sendto: return SC_SENDTO;
    case __NR_sendmsg: return SC_SENDMSG;
    case __NR_sendmmsg: return SC_SENDMMSG;
    case __NR_truncate: return SC_TRUNCATE;
    case __NR_unlinkat: return SC_UNLINKAT;
    case __NR_renameat2: return SC_RENAMEAT2;
    case __NR_linkat: return SC_LINKAT;
    case __NR_symlinkat: return SC_SYMLINKAT;
    case __NR_mkdirat: return SC_MKDIRAT;
    case __NR_mknodat: return SC_MKNODAT;
    case __NR_fchmodat: return SC_FCHMODAT;
    case __NR_fchownat: return SC_FCHOWNAT;
    case __NR_utimensat: return SC_UTIMENSAT;
    case __NR_setxattr: return SC_SETXATTR;
    case __NR_lsetxattr: return SC_LSETXATTR;
    case __NR_removexattr: return SC_REMOVEXATTR;
    case __NR_lremovexattr: return SC_LREMOVEXATTR;
#ifdef __NR_fchmodat2
    case __NR_fchmodat2: return SC_FCHMODAT2;
#else
    case 452: return SC_FCHMODAT2;
#endif
#ifdef __NR_open /* the legacy path calls exist on x86_64, not on aarch64 */
    case __NR_open: return SC_OPEN;
    case __NR_creat: return SC_CREAT;
    case __NR_unlink: return SC_UNLINK;
    case __NR_rmdir: return SC_RMDIR;
    case __NR_rename: return SC_RENAME;
    case __NR_renameat: return SC_RENAMEAT;
    case __NR_link: return SC_LINK;
    case __NR_symlink: return SC_SYMLINK;
    case __NR_mkdir: return SC_MKDIR;
    case __NR_mknod: return SC_MKNOD;
    case __NR_chmod: return SC_CHMOD;
    case __NR_chown: return SC_CHOWN;
    case __NR_lchown: return SC_LCHOWN;
    case __NR_utime: return SC_UTIME;
    case __NR_utimes: return SC_UTIMES;
    case __NR_futimesat: return SC_FUTIMESAT;
#endif
    default: return -1;
    }
}

struct supervisor *supervisor_new(const struct plan *p, pid_t init_pid, int event_fd, struct dep_shared *shared)
{
    struct supervisor *s = calloc(1, sizeof *s);
    if (s == NULL)
        die_step("supervisor", ENOMEM, "out of memory");
    s->p = p;
    s->init_pid = init_pid;
    s->listener = -1;
    s->deputy = -1;
    s->shared = shared;
    char err[256];
    if (sup_tables_decode(p->sup_tables, p->sup_tables_len, &s->t, err, sizeof err) < 0)
        die_step("supervisor", EINVAL, "%s", err);
    sup_events_init(&s->ev, event_fd);
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) < 0)
        die_step("supervisor", errno, "SECCOMP_GET_NOTIF_SIZES");
    /* The kernel may know a larger struct than our headers: size by what it says. */
    size_t rq = s->sizes.seccomp_notif > sizeof *s->req ? s->sizes.seccomp_notif : sizeof *s->req;
    size_t rs = s->sizes.seccomp_notif_resp > sizeof *s->resp ? s->sizes.seccomp_notif_resp : sizeof *s->resp;
    s->sizes.seccomp_notif = (uint16_t)rq;
    s->sizes.seccomp_notif_resp = (uint16_t)rs;
    s->req = calloc(1, rq);
    s->resp = calloc(1, rs);
    s->jobbuf = malloc(DEP_MAX_JOB);
    if (s->req == NULL || s->resp == NULL || s->jobbuf == NULL)
        die_step("supervisor", ENOMEM, "supervisor set-up");
    s->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (s->timer < 0)
        die_step("supervisor", errno, "timerfd_create");
    return s;
}

void supervisor_set_deputy(struct supervisor *s, int fd) { s->deputy = fd; }

void supervisor_set_listener(struct supervisor *s, int fd) { s->listener = fd; }

int supervisor_events_pending(const struct supervisor *s) { return s != NULL && sup_events_pending(&s->ev); }

void supervisor_flush_events(struct supervisor *s, int block)
{
    if (s != NULL)
        sup_events_flush(&s->ev, block);
}

int supervisor_queue_line(struct supervisor *s, const struct line *l, int fd)
{
    if (s == NULL) {
        line_send(l, fd);
        return 0;
    }
    int r = sup_events_emit(&s->ev, l);
    sup_events_flush(&s->ev, 0);
    return r;
}

int supervisor_queue_raw(struct supervisor *s, const char *buf, size_t n)
{
    if (s == NULL || sup_events_emit_raw(&s->ev, buf, n) < 0)
        return -1;
    sup_events_flush(&s->ev, 0);
    return 0;
}

void sup_trace_answered(struct supervisor *s, uint64_t id)
{
    if (!trace_on() || s->tr_recv[id % 64].id != id)
        return;
    int sc = s->tr_recv[id % 64].sc;
    s->tr_n[sc]++;
    s->tr_ns[sc] += trace_now_ns() - s->tr_recv[id % 64].t;
    s->tr_recv[id % 64].id = 0;
}

void supervisor_trace_summary(const struct supervisor *s)
{
    if (s == NULL || !trace_on())
        return;
    for (int i = 0; i < SC_COUNT; i++)
        if (s->tr_n[i] > 0)
            trace_note("sup.count", "sc=%s n=%llu us=%llu", SC_NAME[i], s->tr_n[i], s->tr_ns[i] / 1000);
}

/* ---------------------------------------------------------------- the loop's entry points */

int supervisor_pollfds(const struct supervisor *s, struct pollfd fds[3])
{
    fds[0] = (struct pollfd){ .fd = -1 };
    fds[1] = (struct pollfd){ .fd = -1 };
    fds[2] = (struct pollfd){ .fd = -1 };
    if (s == NULL)
        return 3;
    /* A full table, or a full event queue (mcp-j reads reports slower than the jail makes
     * them), stops us from receiving: the kernel keeps the rest queued (backpressure). */
    if (s->listener >= 0 && s->npending < MAX_PENDING && !sup_events_full(&s->ev))
        fds[0] = (struct pollfd){ .fd = s->listener, .events = POLLIN };
    if (s->deputy >= 0)
        fds[1] = (struct pollfd){ .fd = s->deputy, .events = POLLIN };
    fds[2] = (struct pollfd){ .fd = s->timer, .events = POLLIN };
    return 3;
}

static void on_notification(struct supervisor *s)
{
    if (!s->flags_set) {
        /* 6.6+: wake the target on our CPU when we answer (fewer migrations); older kernels
         * refuse the ioctl, which only costs speed. */
        s->flags_set = 1;
        uint64_t f = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
        (void)ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, f);
    }
    memset(s->req, 0, s->sizes.seccomp_notif);
    if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, s->req) < 0) {
        if (errno == ENOENT || errno == EINTR || errno == EAGAIN)
            return;
        /* The listener is finished: no target is left behind the filter. */
        close(s->listener);
        s->listener = -1;
        return;
    }
    const struct seccomp_notif *req = s->req;
    int sc = syscall_kind(req->data.nr);
    if (trace_on() && sc >= 0) {
        static int seen;
        if (!seen++)
            trace_mark("sup.first_notification");
        s->tr_recv[req->id % 64].id = req->id;
        s->tr_recv[req->id % 64].t = trace_now_ns();
        s->tr_recv[req->id % 64].sc = sc;
    }
    if (sup_kill_racing_loader(s, req, sc))
        return;
    switch (sc) {
    case SC_OPENAT:
    case SC_OPEN:
    case SC_CREAT:
        sup_handle_open(s, req, sc);
        break;
    case SC_EXECVE:
    case SC_EXECVEAT:
        sup_handle_exec(s, req, sc);
        break;
    case SC_CONNECT:
    case SC_BIND:
        sup_handle_net(s, req, sc);
        break;
    case SC_SENDTO:
    case SC_SENDMSG:
    case SC_SENDMMSG:
        sup_handle_send(s, req, sc);
        break;
    case -1:
        /* A syscall the filter should not have sent us: refuse like an absent supervisor. */
        sup_answer(s, req->id, ENOSYS, 0);
        break;
    default:
        sup_handle_path(s, req, sc);
    }
}

int supervisor_on_poll(struct supervisor *s, const struct pollfd fds[3])
{
    if (fds[1].fd >= 0 && fds[1].revents)
        sup_drain_results(s);
    if (fds[0].fd >= 0 && (fds[0].revents & POLLIN))
        on_notification(s);
    else if (fds[0].fd >= 0 && (fds[0].revents & (POLLHUP | POLLERR))) {
        /* No target left behind the filter (docs/design.md, rule S5). */
        close(s->listener);
        s->listener = -1;
    }
    if (fds[2].revents & POLLIN)
        sup_check_slow(s);
    sup_events_flush(&s->ev, 0);
    return s->listener >= 0 ? 0 : -1;
}
