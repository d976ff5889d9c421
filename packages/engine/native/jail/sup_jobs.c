/*
 * The supervisor's jobs for the deputy: posting one for a notification (the notification waits in a
 * slot), collecting results and answering with them, noticing notifications that died while their
 * job ran (the deputy's worker is interrupted), and failing closed when the deputy is gone.
 */
#include "fdpass.h"
#include "report.h"
#include "sup_internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

/* A job running longer than this gets its notification checked (and cancelled when it is gone). */
#define SLOW_MS 100

static void arm_timer(struct supervisor *s, int on)
{
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    if (on) {
        it.it_value.tv_nsec = SLOW_MS * 1000000L;
        it.it_interval.tv_nsec = SLOW_MS * 1000000L;
    }
    if (timerfd_settime(s->timer, 0, &it, NULL) < 0)
        die_step("supervisor", errno, "timerfd_settime");
}

static void free_slot(struct supervisor *s, struct pending *sl)
{
    free(sl->path);
    sl->path = NULL;
    sl->notif = 0;
    sl->gen++;
    if (--s->npending == 0)
        arm_timer(s, 0);
}

static void report_deputy_gone(struct supervisor *s)
{
    if (s->deputy_reported)
        return;
    s->deputy_reported = 1;
    struct line l;
    line_start(&l, "ev");
    line_str(&l, "act", "fail");
    line_str(&l, "why", "deputy");
    sup_events_emit(&s->ev, &l);
}

/* The deputy is gone (killed from inside the jail, or it failed): every waiting notification and
 * every later one that needs it fails with ENOSYS, like an absent supervisor. */
static void deputy_gone(struct supervisor *s)
{
    if (s->deputy >= 0)
        close(s->deputy);
    s->deputy = -1;
    /* At the jail's end the deputy goes first or last, harmlessly: only a loss that costs a
     * notification its answer is reported. */
    if (s->npending > 0)
        report_deputy_gone(s);
    for (unsigned i = 0; i < MAX_PENDING; i++) {
        struct pending *sl = &s->slots[i];
        if (sl->notif == 0)
            continue;
        if (!sl->cancelled)
            sup_answer(s, sl->notif, ENOSYS, 0);
        free_slot(s, sl);
    }
}

/* The job's record with its descriptors: the socket or file first, then what a message passes. */
static int send_record(struct supervisor *s, const void *buf, size_t len, const struct job *j)
{
    int fds[1 + DEP_MAX_RIGHTS];
    int n = 0;
    if (j->fd >= 0)
        fds[n++] = j->fd;
    for (int i = 0; i < j->nrights && n < (int)(sizeof fds / sizeof fds[0]); i++)
        fds[n++] = j->rights[i];
    return fdpass_send_record_fds(s->deputy, buf, len, fds, n, MSG_DONTWAIT);
}

void sup_post(struct supervisor *s, const struct seccomp_notif *req, int sc, int kind, int cloexec, struct job *j,
              const char *path_for_event, const char *addr, int port, pid_t tgid)
{
    struct ev e = { .sc = sc, .pid = (pid_t)req->pid, .path = path_for_event, .addr = addr, .port = port };
    if (s->deputy < 0) {
        e.why = "deputy";
        sup_deny(s, req->id, &e, ENOSYS);
        return;
    }
    unsigned idx = 0;
    while (idx < MAX_PENDING && s->slots[idx].notif != 0)
        idx++;
    if (idx == MAX_PENDING) { /* cannot happen: the listener is not polled while the table is full */
        sup_finish(s, req->id, &e, EAGAIN, 0);
        return;
    }
    struct pending *sl = &s->slots[idx];
    size_t l1 = j->p1 ? strlen(j->p1) : 0, l2 = j->p2 ? strlen(j->p2) : 0;
    j->h.id = (sl->gen & 0xffffffu) << 8 | idx;
    j->h.len1 = (uint32_t)l1;
    j->h.len2 = (uint32_t)l2;
    size_t len = sizeof j->h + l1 + 1 + l2 + 1 + j->h.payload_len;
    if (len > DEP_MAX_JOB || j->h.payload_len > DEP_MAX_BODY || j->nrights > DEP_MAX_RIGHTS) {
        sup_finish(s, req->id, &e, ENAMETOOLONG, 0);
        return;
    }
    unsigned char *b = s->jobbuf;
    memcpy(b, &j->h, sizeof j->h);
    size_t off = sizeof j->h;
    if (l1)
        memcpy(b + off, j->p1, l1);
    b[off + l1] = 0;
    off += l1 + 1;
    if (l2)
        memcpy(b + off, j->p2, l2);
    b[off + l2] = 0;
    off += l2 + 1;
    if (j->h.payload_len)
        memcpy(b + off, j->payload, j->h.payload_len);
    int r = send_record(s, b, len, j);
    if (r < 0) {
        if (r == -EAGAIN) { /* the deputy is far behind: refuse rather than wait */
            e.why = "busy";
            sup_finish(s, req->id, &e, EAGAIN, 0);
        } else {
            deputy_gone(s);
            e.why = "deputy";
            sup_deny(s, req->id, &e, ENOSYS);
        }
        return;
    }
    sl->notif = req->id;
    sl->tid = (pid_t)req->pid;
    sl->tgid = tgid;
    sl->sc = sc;
    sl->kind = kind;
    sl->cloexec = cloexec;
    sl->cancelled = 0;
    sl->path = path_for_event ? strdup(path_for_event) : NULL;
    snprintf(sl->addr, sizeof sl->addr, "%s", addr ? addr : "");
    sl->port = port;
    sl->aux = j->aux;
    sl->sigpipe = j->sigpipe;
    sl->oflags = j->h.op == DOP_OPEN ? j->h.flags : -1;
    clock_gettime(CLOCK_MONOTONIC, &sl->since);
    if (s->npending++ == 0)
        arm_timer(s, 1);

    /* Most jobs take a few microseconds: wait for this one on the shared counter before going
     * back to poll, so neither side sleeps. */
    uint32_t done = __atomic_load_n(&s->shared->done, __ATOMIC_ACQUIRE);
    __atomic_add_fetch(&s->shared->posted, 1, __ATOMIC_RELEASE);
    dep_spin(&s->spin, &s->shared->done, done);
    sup_drain_results(s);
}

static void complete(struct supervisor *s, struct pending *sl, const struct dep_result *r, const char *real, int fd)
{
    struct ev e = { .sc = sl->sc, .pid = sl->tid, .path = real[0] ? real : sl->path, .has_oflags = sl->oflags >= 0, .oflags = sl->oflags };
    if (sl->addr[0]) {
        e.addr = sl->addr;
        e.port = sl->port;
    }
    e.why = sup_why_name(r->why);
    if (r->rule > 0 && r->rule <= s->t.ndenies)
        e.rule = s->t.denies[r->rule - 1].text;
    else if (r->why == WHY_GLOB)
        e.rule = "(path too long to match the deny rules)";
    if (sl->cancelled) {
        if (fd >= 0)
            close(fd);
        return;
    }
    if (sl->kind == ANS_REDIRECT) {
        if (fd >= 0)
            close(fd);
        sup_net_redirected(s, sl, r, real);
        return;
    }
    if (r->err != 0) {
        if (fd >= 0)
            close(fd);
        /* The deputy sent with MSG_NOSIGNAL; the target asked for the signal a broken stream
         * raises, and gets it, from us (a signal it could have raised itself). */
        if (r->err == EPIPE && sl->sigpipe && sl->tgid > 0 && sup_id_valid(s->listener, sl->notif) &&
            syscall(SYS_tgkill, sl->tgid, sl->tid, SIGPIPE) < 0 && errno != ESRCH)
            e.why = "signal";
        sup_finish(s, sl->notif, &e, r->err, 0);
        return;
    }
    switch (sl->kind) {
    case ANS_FD:
        if (fd < 0) {
            e.why = "deputy";
            sup_finish(s, sl->notif, &e, EIO, 0);
            return;
        }
        e.act = "allow";
        sup_emit(s, &e);
        sup_answer_fd(s, sl->notif, fd, sl->cloexec);
        return;
    case ANS_VALUE:
        if (fd >= 0)
            close(fd);
        if (sl->sc == SC_SENDMMSG) {
            /* One message sent: its msg_len is written back, as the kernel does, and the call
             * returns 1 (sendmmsg may send fewer messages than asked). */
            uint32_t sent = (uint32_t)r->val;
            struct iovec l = { .iov_base = &sent, .iov_len = sizeof sent };
            struct iovec rm = { .iov_base = (void *)(uintptr_t)sl->aux, .iov_len = sizeof sent };
            if (process_vm_writev(sl->tid, &l, 1, &rm, 1, 0) != (ssize_t)sizeof sent) {
                sup_finish(s, sl->notif, &e, EFAULT, 0);
                return;
            }
            sup_finish(s, sl->notif, &e, 0, 1);
            return;
        }
        sup_finish(s, sl->notif, &e, 0, r->val);
        return;
    case ANS_CONTINUE:
        if (fd >= 0)
            close(fd);
        e.act = "allow";
        sup_emit(s, &e);
        /* The kernel re-reads the arguments: valid only where a kernel layer decides the same
         * (sup_exec.c, sup_open.c say which). */
        if (sup_id_valid(s->listener, sl->notif))
            sup_answer_continue(s, sl->notif);
        return;
    }
}

/* Reads every result the deputy has sent. */
void sup_drain_results(struct supervisor *s)
{
    while (s->deputy >= 0) {
        unsigned char buf[sizeof(struct dep_result) + PATH_MAX];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } cm;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof cm.b };
        ssize_t n = recvmsg(s->deputy, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            deputy_gone(s);
            return;
        }
        int fd = -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
        struct dep_result r;
        if ((size_t)n < sizeof r) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        memcpy(&r, buf, sizeof r);
        char real[PATH_MAX];
        size_t rl = r.real_len < sizeof real - 1 && sizeof r + r.real_len <= (size_t)n ? r.real_len : 0;
        memcpy(real, buf + sizeof r, rl);
        real[rl] = 0;
        struct pending *sl = &s->slots[r.id & 0xff];
        if (sl->notif == 0 || (sl->gen & 0xffffffu) != r.id >> 8) {
            if (fd >= 0)
                close(fd); /* a result for a slot that was already given up */
            continue;
        }
        complete(s, sl, &r, real, fd);
        free_slot(s, sl);
    }
}

/* Jobs that run long (a FIFO with no peer, a blocking connect): if their notification died (the
 * target was killed), the deputy's thread is interrupted. Repeated every tick until it answers. */
void sup_check_slow(struct supervisor *s)
{
    uint64_t ticks;
    if (read(s->timer, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        die_step("supervisor", errno, "timerfd read");
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (unsigned i = 0; i < MAX_PENDING && s->deputy >= 0; i++) {
        struct pending *sl = &s->slots[i];
        if (sl->notif == 0)
            continue;
        long ms = (now.tv_sec - sl->since.tv_sec) * 1000 + (now.tv_nsec - sl->since.tv_nsec) / 1000000;
        if (ms < SLOW_MS)
            continue;
        if (!sl->cancelled && sup_id_valid(s->listener, sl->notif))
            continue;
        sl->cancelled = 1;
        struct dep_job h;
        memset(&h, 0, sizeof h);
        h.op = DOP_CANCEL;
        h.a = (sl->gen & 0xffffffu) << 8 | i;
        unsigned char b[sizeof h + 2];
        memcpy(b, &h, sizeof h);
        b[sizeof h] = b[sizeof h + 1] = 0;
        struct job none = { .fd = -1 };
        int r = send_record(s, b, sizeof b, &none);
        if (r < 0 && r != -EAGAIN)
            deputy_gone(s);
    }
}
