/*
 * Sends on unix sockets as the kernel would (issue 12: Chromium's zygote; red-team finding F2).
 * For each of SOCK_STREAM, SOCK_SEQPACKET and SOCK_DGRAM socketpairs, a forked one-thread child
 * sends one byte with sendmsg(); the parent has SO_PASSCRED on its end and reports the pid the
 * kernel attached: "TYPE.creds=sender" when it is the child's, else the pid it got. A clone(2)
 * that shares the descriptor table without being a thread reports its outcome as
 * "clone_files=OUTCOME", a thread with a table of its own as "clone_thread_private_files=OUTCOME";
 * a thread (CLONE_FILES with CLONE_THREAD) still starts: "thread=OK".
 */
#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

static void creds(const char *name, int type)
{
    int sv[2], on = 1;
    if (socketpair(AF_UNIX, type, 0, sv) < 0 || setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0) {
        report(name, errname(errno));
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        char c = 'x';
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        _exit(sendmsg(sv[0], &m, 0) == 1 ? 0 : 1);
    }
    char c;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } u;
    struct iovec iov = { .iov_base = &c, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    ssize_t n = recvmsg(sv[1], &m, 0);
    int st = 0;
    waitpid(child, &st, 0);
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (n != 1 || h == NULL || h->cmsg_type != SCM_CREDENTIALS) {
        reportf(name, "no-creds(n=%zd,status=%#x)", n, st);
    } else {
        struct ucred cr;
        memcpy(&cr, CMSG_DATA(h), sizeof cr);
        if (cr.pid == child)
            report(name, "sender");
        else
            reportf(name, "pid-%d", (int)cr.pid);
    }
    close(sv[0]);
    close(sv[1]);
}

static void *nothing(void *arg)
{
    return arg;
}

int main(void)
{
    creds("stream.creds", SOCK_STREAM);
    creds("seqpacket.creds", SOCK_SEQPACKET);
    creds("dgram.creds", SOCK_DGRAM);
    errno = 0;
    long r = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, NULL);
    if (r == 0)
        _exit(0);
    if (r > 0)
        waitpid((pid_t)r, NULL, 0);
    report("clone_files", r < 0 ? errname(errno) : "OK");
    /* A thread with a descriptor table of its own: its descriptors would be decided on the
     * leader's. Refused before any stack is needed. */
    errno = 0;
    r = syscall(SYS_clone, CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, NULL, NULL, NULL, NULL);
    if (r == 0)
        _exit(0);
    report("clone_thread_private_files", r < 0 ? errname(errno) : "OK");
    pthread_t t;
    int e = pthread_create(&t, NULL, nothing, NULL);
    if (e == 0)
        pthread_join(t, NULL);
    report("thread", e == 0 ? "OK" : errname(e));
    return 0;
}
