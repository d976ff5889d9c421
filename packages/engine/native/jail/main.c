/*
 * mcpj-jail: applies a jail plan computed by mcp-j (TypeScript) and supervises the jail.
 *
 *   mcpj-jail --plan-fd N [--control-fd N] [--fdpass-fd N]
 *   mcpj-jail --plan FILE                      (by hand, benchmarks: reports go to stderr)
 *   mcpj-jail --probe                          (kernel features, for `mcp-j doctor`)
 *
 * This process is the supervisor. It stays in the host's namespaces, creates the jail with one
 * clone (user, mount, PID, network, IPC, UTS, cgroup namespaces), writes the jail's uid/gid maps,
 * then relays the jail's reports to mcp-j, forwards signals, runs the seccomp notification loop
 * and exits with the server's status. See docs/design.md, "Process model".
 */
#include "ctl_in.h"
#include "fdpass.h"
#include "idmap.h"
#include "init.h"
#include "mem_watch.h"
#include "plan.h"
#include "probe.h"
#include "report.h"
#include "seccomp_defs.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#define JAIL_NAMESPACES (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

static void usage(void)
{
    fprintf(stderr, "usage: mcpj-jail --plan-fd N [--control-fd N] [--fdpass-fd N] | --plan FILE | --probe\n"
                    "mcpj-jail is started by mcp-j; run `mcp-j -- CMD` instead.\n");
    exit(2);
}

static int parse_fd(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || v < 0 || v > 65535)
        usage();
    return (int)v;
}

static void write_file(pid_t pid, const char *name, const char *content)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        die_step("uid_map", errno, "cannot open %s", path);
    ssize_t n = write(fd, content, strlen(content));
    if (n != (ssize_t)strlen(content))
        die_step("uid_map", n < 0 ? errno : EIO, "cannot write %s", path);
    close(fd);
}

/* clone3 with CLONE_INTO_CGROUP puts the jail into its cgroup atomically (5.7+): no instant
 * where it runs outside the limits. Without a cgroup (rlimit fallback) a plain clone does. */
static pid_t clone_jail(const struct plan *p)
{
    if (p->cgroup != NULL) {
        int cg = open(p->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cg < 0)
            die_step("cgroup", errno, "cannot open %s", p->cgroup);
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = JAIL_NAMESPACES | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cg;
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        int e = errno;
        if (pid != 0)
            close(cg);
        if (pid < 0)
            die_step(e == EPERM || e == ENOSPC || e == EUSERS ? "userns" : "clone", e, "clone3 into cgroup %s", p->cgroup);
        return pid;
    }
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(JAIL_NAMESPACES | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid < 0)
        die_step(errno == EPERM || errno == ENOSPC || errno == EUSERS ? "userns" : "clone", errno, "cannot create the jail's namespaces");
    return pid;
}

/* Forwards a socket the jail made for mcp-j (netif.c: the egress listener 'L', the redirect
 * listener 'R', the resolver 'N') over the fd-passing socket, with its tag. */
static void forward_fd(int fdpass, char tag, int fd)
{
    int r = fdpass < 0 ? -EBADF : fdpass_send(fdpass, tag, fd);
    if (r < 0)
        die_step("network", -r, "cannot hand the jail's network sockets to mcp-j");
}

/* The seccomp listener of the process that sent a "listener fd=N" record (its pid from the
 * record's credentials: SO_PASSCRED), taken with pidfd_getfd; then one byte back, which the
 * server waits for before it closes its copy (init.c says why it is not sent with SCM_RIGHTS). */
static void take_listener(int jail_sock, struct supervisor *sup, const char *line, pid_t pid)
{
    int n = -1;
    if (sscanf(line, "listener fd=%d", &n) != 1 || n < 0 || pid <= 0)
        die_step("seccomp", EINVAL, "malformed listener record");
    /* ESRCH: the sender is gone before its listener could be taken (a signal mcp-j forwarded
     * during set-up ended it). Nothing of the server's ran: it runs nothing before our byte. So
     * there is nothing to supervise, and its end is reported as any exit is, not as a failure of
     * ours. */
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0 && errno == ESRCH)
        return;
    if (pfd < 0)
        die_step("seccomp", errno, "pidfd_open of the server");
    int fd = (int)syscall(SYS_pidfd_getfd, pfd, n, 0);
    if (fd < 0 && errno == ESRCH) {
        close(pfd);
        return;
    }
    if (fd < 0)
        die_step("seccomp", errno, "cannot take the listener from the server (pidfd_getfd)");
    close(pfd);
    supervisor_set_listener(sup, fd);
    trace_mark("helper.listener");
    ssize_t w;
    do
        w = send(jail_sock, "1", 1, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w != 1)
        die_step("seccomp", errno, "cannot release the server");
}

/* Reads one record from the jail socket: a report line (relayed as is), the listener's number, or
 * a descriptor (a network socket for mcp-j, forwarded; the deputy's socket, kept). Returns 0 at
 * end of stream. */
static int relay_one(int jail_sock, int control, int fdpass, struct supervisor *sup)
{
    char buf[LINE_MAX_BYTES + 1]; /* one report line (report.h), or a short tag with a descriptor */
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
    } cm;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof cm.b };
    ssize_t n = recvmsg(jail_sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 1 : 0;
    int fd = -1;
    pid_t sender = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cr;
            memcpy(&cr, CMSG_DATA(c), sizeof cr);
            sender = cr.pid;
        }
    }
    if (n == 0 && fd < 0)
        return 0;
    if (fd >= 0) {
        if (n > 0 && buf[0] == 'D' && sup != NULL)
            supervisor_set_deputy(sup, fd);
        else if (n > 0 && (buf[0] == 'L' || buf[0] == 'R' || buf[0] == 'N'))
            forward_fd(fdpass, buf[0], fd);
        if (!(n > 0 && buf[0] == 'D' && sup != NULL) && close(fd) < 0)
            die_step("supervisor", errno, "close");
        return 1;
    }
    buf[n] = 0;
    if (sup != NULL && strncmp(buf, "listener ", 9) == 0) {
        take_listener(jail_sock, sup, buf, sender);
        return 1;
    }
    /* Behind the supervisor's queued events, in the same queue: a line written straight to the
     * control fd could land inside a queued line that a blocked mcp-j has half read. */
    if (n > 0 && buf[n - 1] == '\n' && supervisor_queue_raw(sup, buf, (size_t)n) == 0)
        return 1;
    supervisor_flush_events(sup, 1);
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = write(control, buf + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0; /* mcp-j is gone: main's poll sees it hang up */
        off += (size_t)w;
    }
    return 1;
}

int main(int argc, char **argv)
{
    trace_init();
    trace_mark("helper.start");
    int plan_fd = -1, control = -1, fdpass = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--probe") == 0)
            return probe_run();
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--plan-fd") == 0) {
            plan_fd = parse_fd(argv[++i]);
        } else if (strcmp(argv[i], "--control-fd") == 0) {
            control = parse_fd(argv[++i]);
        } else if (strcmp(argv[i], "--fdpass-fd") == 0) {
            fdpass = parse_fd(argv[++i]);
        } else if (strcmp(argv[i], "--plan") == 0) {
            plan_fd = open(argv[++i], O_RDONLY | O_CLOEXEC);
            if (plan_fd < 0) {
                fprintf(stderr, "mcpj-jail: cannot open plan %s: %s\n", argv[i], strerror(errno));
                return EXIT_SETUP;
            }
        } else {
            usage();
        }
    }
    if (plan_fd < 0)
        usage();
    if (control < 0)
        control = 2;
    report_set_fd(control);
    /* Our descriptors must not leak into the jail (init closes what it does not need, but a
     * descriptor that is close-on-exec from the start cannot be forgotten). */
    if (fcntl(control, F_SETFD, FD_CLOEXEC) < 0 || (fdpass >= 0 && fcntl(fdpass, F_SETFD, FD_CLOEXEC) < 0))
        die_step("supervisor", errno, "FD_CLOEXEC");

    struct plan p;
    char err[256];
    if (plan_read(plan_fd, &p, err, sizeof err) < 0)
        die_step("plan", 0, "%s", err);
    if (plan_fd != control)
        close(plan_fd);
    trace_mark("helper.plan_read");

    /* If mcp-j dies, so do we (and with us the jail, see below). Checked against the parent we
     * were started by, in case it died before the signal was armed. */
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        die_step("pdeathsig", errno, "PR_SET_PDEATHSIG");
    if (getppid() != parent)
        return EXIT_SETUP;

    /* A root invoker's supplementary groups (gid 0 among them) would otherwise follow the jail:
     * setgroups is denied inside, so this is the last chance to drop them. */
    if (geteuid() == 0 && setgroups(0, NULL) < 0)
        die_step("identity", errno, "cannot drop supplementary groups");

    /* The jail socket carries init's and the server's reports and descriptors to us. SEQPACKET
     * keeps records whole. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        die_step("supervisor", errno, "socketpair");
    /* Each record comes with its sender's pid (in our namespace): the listener is taken from it. */
    int on = 1;
    if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0)
        die_step("supervisor", errno, "SO_PASSCRED");
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0)
        die_step("supervisor", errno, "pipe");

    /* Idmapped grants are made here, in the host's namespaces, where a root invoker holds the
     * authority over the file system they need; the jail inherits them and attaches them. Before
     * SIGCHLD is blocked and read from the signalfd: each reaps a short-lived child of its own. */
    int *trees = idmap_prepare(&p);

    /* Block the signals we handle before clone: init inherits the mask and collects them with
     * sigwaitinfo, and none arriving during set-up is lost. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        die_step("supervisor", errno, "sigprocmask");
    int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0)
        die_step("supervisor", errno, "signalfd");

    /* The page the supervisor and the deputy spin on (dep_proto.h): shared memory made before
     * clone reaches the deputy through init; the server's copy is gone at its execve. */
    struct dep_shared *shared = NULL;
    if (p.sup_tables != NULL) {
        shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
            die_step("supervisor", errno, "mmap");
    }

    pid_t init = clone_jail(&p);
    if (init != 0)
        trace_mark("helper.cloned");
    if (init == 0) {
        close(sv[0]);
        close(sync[1]);
        close(sigfd);
        jail_init(&p, sync[0], sv[1], shared, trees);
    }
    for (size_t i = 0; trees != NULL && i < p.nmounts; i++)
        if (trees[i] >= 0 && close(trees[i]) < 0)
            die_step("idmap", errno, "close");
    free(trees);
    close(sv[1]);
    close(sync[0]);

    /* The jail's identity: jail uid/gid -> the invoker's ids (unprivileged) or host nobody (root;
     * never host root, who owns every root-owned file the jail could reach). setgroups is denied
     * first: the kernel requires it before an unprivileged gid_map, and it keeps the jail from
     * dropping the groups that deny it access. */
    char map[64];
    write_file(init, "setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", p.jail_uid, p.host_uid);
    write_file(init, "uid_map", map);
    snprintf(map, sizeof map, "%u %u 1\n", p.jail_gid, p.host_gid);
    write_file(init, "gid_map", map);
    if (write(sync[1], "1", 1) != 1)
        die_step("supervisor", errno, "cannot release the jail");
    close(sync[1]);
    trace_mark("helper.maps_written");

    /* We must not hold the server's stdin/stdout: EOF has to travel between mcp-j and the server. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
        die_step("supervisor", errno, "cannot detach from the server's stdio");
    if (devnull > 1)
        close(devnull);

    struct supervisor *sup = shared != NULL ? supervisor_new(&p, init, control, shared) : NULL;
    /* The whole-jail memory limit when no cgroup holds one (mem_watch.h). */
    struct mem_watch *mem = p.mem_limit > 0 ? mem_watch_new(p.mem_limit, p.mem_interval_ms, init) : NULL;
    int status = 0, jail_open = 1;
    /* mcp-j's requests after the plan (ctl_in.h): read while its end is open. */
    struct ctl_in ctl = { .len = 0 };
    int ctl_open = control != 2;
    long long sync_owed = 0; /* a "synced" that found no room in the event queue yet */
    for (;;) {
        struct pollfd fds[8] = {
            { .fd = sigfd, .events = POLLIN },
            { .fd = jail_open ? sv[0] : -1, .events = POLLIN },
            /* POLLHUP: mcp-j is gone. POLLOUT only while supervisor events wait to be written
             * (the event path never blocks the notification loop, see sup_events.h). */
            { .fd = control != 2 ? control : -1, .events = (short)((supervisor_events_pending(sup) ? POLLOUT : 0) | (ctl_open ? POLLIN : 0)) },
            { .fd = -1 },
        };
        supervisor_pollfds(sup, fds + 4);
        fds[7] = (struct pollfd){ .fd = mem != NULL ? mem_watch_fd(mem) : -1, .events = POLLIN };
        if (poll(fds, 8, -1) < 0) {
            if (errno == EINTR)
                continue;
            die_step("supervisor", errno, "poll");
        }
        if (fds[2].revents & POLLOUT)
            supervisor_flush_events(sup, 0);
        if (ctl_open && (fds[2].revents & POLLIN)) {
            long long n = ctl_in_read(&ctl, control);
            if (n < 0)
                ctl_open = 0;
            else if (n > 0)
                sync_owed = n;
        }
        if (sync_owed > 0) {
            /* Behind every event queued so far: those of the calls the server has answered. Never
             * dropped: without room it is queued on a later turn (mcp-j waits for it). */
            struct line l;
            line_start(&l, "synced");
            line_int(&l, "n", sync_owed);
            if (supervisor_queue_line(sup, &l, control) == 0)
                sync_owed = 0;
        }
        if (fds[1].revents) {
            if (relay_one(sv[0], control, fdpass, sup) == 0)
                jail_open = 0;
        }
        if (sup != NULL)
            supervisor_on_poll(sup, fds + 4);
        uint64_t used;
        if ((fds[7].revents & POLLIN) && mem_watch_tick(mem, &used)) {
            /* Over the limit: the jail goes, as a cgroup's OOM kill would take it, and mcp-j is told
             * first (it answers pending requests with the cause and exits 122). */
            struct line l;
            line_start(&l, "memory");
            line_int(&l, "used", (long long)used);
            line_int(&l, "limit", (long long)p.mem_limit);
            /* Behind the queued events (one queue: lines never interleave), and out before the kill. */
            if (supervisor_queue_line(sup, &l, control) < 0) {
                supervisor_flush_events(sup, 1);
                line_send(&l, control);
            }
            supervisor_flush_events(sup, 1);
            if (kill(init, SIGKILL) < 0 && errno != ESRCH)
                die_step("memory", errno, "cannot kill the jail");
            mem = NULL; /* once */
        }
        if (fds[2].revents & (POLLHUP | POLLERR)) {
            /* mcp-j is gone: take the jail down with us (init's death kills its namespace). */
            kill(init, SIGKILL);
            supervisor_trace_summary(sup);
            return EXIT_SETUP;
        }
        if (fds[0].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo != SIGCHLD) {
                    kill(init, (int)si.ssi_signo);
                    continue;
                }
                if (waitpid(init, &status, WNOHANG) == init) {
                    /* Relay what init said last (its "exit" line) before leaving, after the
                     * supervisor's pending events. */
                    supervisor_flush_events(sup, 1);
                    while (jail_open && relay_one(sv[0], control, fdpass, sup) > 0) {
                        struct pollfd pf = { .fd = sv[0], .events = POLLIN };
                        if (poll(&pf, 1, 0) <= 0)
                            break;
                    }
                    supervisor_trace_summary(sup);
                    trace_mark("helper.exit");
                    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
                }
            }
        }
    }
}
