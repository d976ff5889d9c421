/*
 * The host's side of the red-team tests (issue 10 items 2, 6, 7): run by the TEST on the host,
 * never inside a jail. One mode per run; it prints "ready" once set up, one line per event, and
 * ends when its stdin closes (the test's end) or on "quit".
 *   stream PATH    a unix stream listener: for each connection, "peer uid=U gid=G pid=P comm=C
 *                  ruid=R" (SO_PEERCRED, and the peer process's name and real uid from /proc),
 *                  then it writes "hello" and closes.
 *   dgram PATH     a unix datagram socket with SO_PASSCRED: for each datagram, "dgram data=D
 *                  uid=U gid=G pid=P comm=C".
 *   backlog PATH   a unix stream listener with backlog 0 that never accepts, its queue filled by
 *                  our own non-blocking connects: a blocking connect() to it waits.
 *   lease FILE     holds a read lease on FILE (F_SETLEASE): an open for writing by anyone else
 *                  waits until the lease is given up ("release" on stdin) or times out.
 * The socket is made mode 0777 (the jail is host nobody when the tests run as root).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what)
{
    printf("error %s: %s\n", what, strerrorname_np(errno));
    fflush(stdout);
    exit(1);
}

/* "comm" and the real uid of a process, from /proc (empty when unreadable). */
static void describe(pid_t pid, char *comm, size_t cc, long *ruid)
{
    char p[64];
    comm[0] = 0;
    *ruid = -1;
    snprintf(p, sizeof p, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(p, "re");
    if (f != NULL) {
        if (fgets(comm, (int)cc, f) != NULL)
            comm[strcspn(comm, "\n")] = 0;
        fclose(f);
    }
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    f = fopen(p, "re");
    if (f != NULL) {
        char line[256];
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "Uid:", 4) == 0)
                *ruid = strtol(line + 4, NULL, 10);
        fclose(f);
    }
}

static int unix_socket(int type, const char *path, struct sockaddr_un *a)
{
    int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
    unlink(path);
    if (bind(s, (struct sockaddr *)a, sizeof *a) < 0)
        die("bind");
    if (chmod(path, 0777) < 0)
        die("chmod");
    return s;
}

/* Reads a line from stdin if one is there: 1 for "quit" or EOF, 2 for "release", 0 otherwise. */
static int control(void)
{
    char buf[64];
    ssize_t n = read(0, buf, sizeof buf - 1);
    if (n <= 0)
        return 1;
    buf[n] = 0;
    if (strncmp(buf, "release", 7) == 0)
        return 2;
    return strncmp(buf, "quit", 4) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGIO, SIG_IGN); /* a lease break is announced with SIGIO */
    const char *mode = argv[1], *path = argv[2];
    struct sockaddr_un a;
    int s = -1;
    if (strcmp(mode, "stream") == 0 || strcmp(mode, "backlog") == 0) {
        s = unix_socket(SOCK_STREAM, path, &a);
        if (listen(s, strcmp(mode, "backlog") == 0 ? 0 : 64) < 0)
            die("listen");
        if (strcmp(mode, "backlog") == 0) {
            /* Fill the queue: connects succeed until it is full, then EAGAIN. */
            int filled = 0;
            for (int i = 0; i < 64; i++) {
                int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
                    if (errno != EAGAIN)
                        die("connect");
                    close(c);
                    break;
                }
                filled++;
            }
            printf("filled %d\n", filled);
        }
    } else if (strcmp(mode, "dgram") == 0) {
        s = unix_socket(SOCK_DGRAM, path, &a);
        int one = 1;
        if (setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
            die("SO_PASSCRED");
    } else if (strcmp(mode, "lease") == 0) {
        s = open(path, O_RDONLY | O_CLOEXEC);
        if (s < 0)
            die("open");
        if (fcntl(s, F_SETLEASE, F_RDLCK) < 0)
            die("F_SETLEASE");
    } else {
        return 2;
    }
    printf("ready\n");
    fflush(stdout);

    for (;;) {
        struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = s, .events = POLLIN } };
        int listen_too = strcmp(mode, "stream") == 0 || strcmp(mode, "dgram") == 0;
        if (poll(p, listen_too ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (p[0].revents) {
            int c = control();
            if (c == 1)
                return 0;
            if (c == 2 && strcmp(mode, "lease") == 0) {
                if (fcntl(s, F_SETLEASE, F_UNLCK) < 0)
                    die("F_UNLCK");
                printf("released\n");
                fflush(stdout);
            }
        }
        if (!listen_too || !(p[1].revents & POLLIN))
            continue;
        char comm[64];
        long ruid;
        if (strcmp(mode, "stream") == 0) {
            int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0)
                continue;
            struct ucred cr;
            socklen_t l = sizeof cr;
            if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
                die("SO_PEERCRED");
            describe(cr.pid, comm, sizeof comm, &ruid);
            printf("peer uid=%u gid=%u pid=%d comm=%s ruid=%ld\n", cr.uid, cr.gid, (int)cr.pid, comm, ruid);
            fflush(stdout);
            if (write(c, "hello", 5) < 0) {
                /* the peer left first: nothing to say */
            }
            close(c);
        } else {
            char data[512];
            union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(struct ucred))];
            } cm;
            struct iovec iov = { .iov_base = data, .iov_len = sizeof data - 1 };
            struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof cm.b };
            ssize_t n = recvmsg(s, &m, 0);
            if (n < 0)
                continue;
            data[n] = 0;
            struct ucred cr = { .pid = -1, .uid = (uid_t)-1, .gid = (gid_t)-1 };
            struct cmsghdr *h = CMSG_FIRSTHDR(&m);
            if (h != NULL && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS)
                memcpy(&cr, CMSG_DATA(h), sizeof cr);
            describe(cr.pid, comm, sizeof comm, &ruid);
            printf("dgram data=%s uid=%u gid=%u pid=%d comm=%s ruid=%ld\n", data, cr.uid, cr.gid, (int)cr.pid, comm, ruid);
            fflush(stdout);
        }
    }
}
