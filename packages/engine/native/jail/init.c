/*
 * Jail init (PID 1 of the jail's PID namespace) and the server's last steps before execve.
 *
 * init does the privileged set-up while it still holds every capability of the jail's user
 * namespace (hostname, loopback, mounts, the Landlock ruleset), forks the server, then gives up
 * its own privileges and only reaps and forwards signals. When init exits, the kernel kills every
 * process left in the namespace: that is what makes "no process outlives the jail" hold.
 */
#include "init.h"
#include "deputy.h"
#include "fdpass.h"
#include "identity.h"
#include "landlock.h"
#include "mounts.h"
#include "netif.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include "seccomp_defs.h"
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


/* Re-arms the parent-death signal after a credential change (which clears it) and closes the race
 * where the parent died before it was armed. */
static void arm_pdeathsig(pid_t expected_parent, int watch_fd)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        die_step("pdeathsig", errno, "PR_SET_PDEATHSIG");
    if (expected_parent != 0 && getppid() != expected_parent)
        _exit(EXIT_SETUP);
    if (watch_fd >= 0) {
        /* init's parent lives in another PID namespace (getppid() is 0): its end of the jail
         * socket hanging up is how we see that it is gone. */
        struct pollfd pfd = { .fd = watch_fd, .events = 0 };
        if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)))
            _exit(EXIT_SETUP);
    }
}

/* close_range(3, ~0) around the descriptors still needed (each made close-on-exec: the jail socket,
 * the Landlock ruleset, the deputy's pid pipe). keep[] is sorted here; -1 entries are ignored. */
static void close_all_except(int *keep, int n)
{
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && keep[k - 1] > keep[k]; k--) {
            int t = keep[k];
            keep[k] = keep[k - 1];
            keep[k - 1] = t;
        }
    unsigned int from = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < 3)
            continue;
        if ((unsigned int)keep[i] > from && close_range(from, (unsigned int)keep[i] - 1, 0) < 0)
            die_step("close_range", errno, "close_range");
        if (fcntl(keep[i], F_SETFD, FD_CLOEXEC) < 0)
            die_step("close_range", errno, "FD_CLOEXEC");
        from = (unsigned int)keep[i] + 1;
    }
    if (close_range(from, ~0U, 0) < 0)
        die_step("close_range", errno, "close_range");
}

/* Installs a filter TypeScript compiled. The supervised server's is the very last restriction and
 * comes with a listener (jail_sock >= 0): after it, every execve is decided by the supervisor, which
 * must therefore already hold the listener. The deputy's, and an unsupervised server's, have no
 * notification. */
static void install_seccomp(const unsigned char *prog_bytes, size_t len, int jail_sock, uint32_t downgrades)
{
    struct sock_fprog prog = { .len = (unsigned short)(len / 8), .filter = (struct sock_filter *)prog_bytes };
    if (jail_sock < 0) {
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
            die_step("seccomp", errno, "cannot install the filter");
        return;
    }
    unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    /* The supervisor takes the listener from us with pidfd_getfd (below): that needs us dumpable
     * until the execve, which recomputes it. Nothing of the server's runs before then. */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
        die_step("seccomp", errno, "PR_SET_DUMPABLE");
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (listener < 0 && errno == EINVAL && (downgrades & PD_WAIT_KILLABLE)) {
        /* WAIT_KILLABLE_RECV is 5.19+; without it a signal during a notified syscall restarts it
         * (a downgrade the plan accepted: reported). */
        flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        if (listener >= 0) {
            struct line l;
            line_start(&l, "downgrade");
            line_int(&l, "downgrades", PD_WAIT_KILLABLE);
            line_send(&l, jail_sock);
        }
    } else if (listener < 0 && errno == EINVAL) {
        die_step("downgrade", EINVAL, "seccomp=wait_killable_recv");
    }
    if (listener < 0)
        die_step("seccomp", errno, "cannot install the filter with a user-notification listener (kernel 5.0+ needed)");
    /* From here every notified syscall waits for a supervisor that has the listener, and sendmsg
     * may be one of them: so the listener is not sent (SCM_RIGHTS needs sendmsg). Its number goes
     * in a report line (send, a plain write: never notified), the supervisor takes it with
     * pidfd_getfd from the process that sent the line (SO_PASSCRED gives it our pid), and says so
     * with one byte back; we wait for that byte (read: never notified) before we close our copy. */
    struct line l;
    line_start(&l, "listener");
    line_int(&l, "fd", listener);
    line_send(&l, jail_sock);
    char ack;
    ssize_t n;
    do
        n = read(jail_sock, &ack, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        die_step("seccomp", n < 0 ? errno : EPIPE, "the supervisor did not take the listener");
    /* docs/design.md, rule S6: a listener left in the jail is a complete bypass. */
    if (close(listener) < 0)
        die_step("seccomp", errno, "cannot close the listener");
}

/* What every process of the jail goes through before it runs anything of the server's: the
 * signal mask back to normal, the rlimits (while hard limits can still be lowered for good), the
 * jail's identity with no capability, the parent-death signal re-armed after it, only the
 * descriptors in keep[], and no_new_privs (Landlock requires it without CAP_SYS_ADMIN). */
/* The plan's rlimits: all of them, or all but RLIMIT_DATA (data != 0: only that one). */
static void apply_rlimits(const struct plan *p, int data)
{
    for (size_t i = 0; i < p->nrlimits; i++) {
        if ((p->rlimits[i].resource == RLIMIT_DATA) != (data != 0))
            continue;
        struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
        if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
            die_step("rlimit", errno, "setrlimit(%u)", p->rlimits[i].resource);
    }
}

static void jail_process_prelude(const struct plan *p, int *keep, int nkeep, int with_data)
{
    /* Signals were blocked in the supervisor before clone so none is lost during set-up. */
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        die_step("signals", errno, "sigprocmask");
    apply_rlimits(p, 0);
    if (with_data)
        apply_rlimits(p, 1);
    identity_drop(p);
    arm_pdeathsig(1, -1);
    /* A new session: no controlling terminal, so TIOCSTI has no terminal to inject into. */
    if (setsid() < 0)
        die_step("setsid", errno, "setsid");
    /* Only stdin, stdout, stderr cross into the server; the rest stays until execve at most. */
    close_all_except(keep, nkeep);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die_step("no_new_privs", errno, "PR_SET_NO_NEW_PRIVS");
}

/* The server's last steps: its working directory, the jail's Landlock ruleset (once more when
 * the deputy already applied it, so the deputy's domain is the parent of the server's), the
 * filter with its listener, execve. */
__attribute__((noreturn)) static void server_exec(const struct plan *p, int ruleset, int jail_sock)
{
    const char *cwd = p->cwd ? p->cwd : "/";
    if (chdir(cwd) < 0)
        die_step("cwd", errno, "cannot enter the working directory %s", cwd);
    landlock_enforce(ruleset);
    trace_mark("server.landlock");
    if (p->seccomp != NULL)
        install_seccomp(p->seccomp, p->seccomp_len, p->sup_tables != NULL ? jail_sock : -1, p->downgrades);
    trace_mark("server.execve");

    execve(p->exec_path, p->argv, p->envp);
    int e = errno;
    struct line l;
    line_start(&l, "exec_failed");
    line_int(&l, "errno", e);
    line_str(&l, "path", p->exec_path);
    line_send(&l, jail_sock);
    _exit(e == ENOENT || e == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

/* The deputy (deputy.h), then the server made from it. Runs in init's child; reports the
 * server's pid to init on pid_pipe (the server is init's child: CLONE_PARENT). */
__attribute__((noreturn)) static void deputy_exec(const struct plan *p, int ruleset, int jail_sock, int pid_pipe, struct dep_shared *sh)
{
    /* A second handle on the ruleset: enforcing closes one, and the server enforces it again. */
    int again = ruleset >= 0 ? fcntl(ruleset, F_DUPFD_CLOEXEC, 3) : -1;
    if (ruleset >= 0 && again < 0)
        die_step("landlock", errno, "dup");
    int keep[] = { jail_sock, ruleset, again, pid_pipe };
    /* RLIMIT_DATA is the server's memory backstop (the whole-jail limit is a cgroup's or the
     * supervisor's watch); the deputy is our code, its memory bounded by what it does, and a
     * sanitizer build's allocator reserves more than that backstop: the server gets it below. */
    jail_process_prelude(p, keep, 4, 0);
    landlock_enforce(ruleset);
    trace_mark("deputy.landlock");

    /* The deputy's socket to the supervisor: made here, so that only the deputy and the
     * supervisor ever hold it. */
    int ds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ds) < 0)
        die_step("deputy", errno, "socketpair");
    int r = fdpass_send(jail_sock, 'D', ds[0]);
    if (r < 0)
        die_step("deputy", -r, "cannot hand the deputy's socket to the supervisor");
    if (close(ds[0]) < 0)
        die_step("deputy", errno, "close");

    /* The server: a sibling of ours for init (CLONE_PARENT: init reaps it and sends it the
     * signals), a child of our Landlock domain. */
    pid_t server = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), NULL, NULL, NULL, NULL);
    if (server < 0)
        die_step("fork", errno, "cannot start the server process");
    if (server == 0) {
        trace_mark("server.cloned");
        if (close(ds[1]) < 0 || close(pid_pipe) < 0)
            die_step("deputy", errno, "close");
        arm_pdeathsig(1, -1);
        /* A session of its own, not the deputy's (kill(0, ...) in the server must not reach us). */
        if (setsid() < 0)
            die_step("setsid", errno, "setsid");
        apply_rlimits(p, 1);
        server_exec(p, again, jail_sock);
    }
    if ((again >= 0 && close(again) < 0) || close(jail_sock) < 0)
        die_step("deputy", errno, "close");
    /* We must not hold the server's stdio: EOF has to travel between mcp-j and the server. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
        die_step("deputy", errno, "cannot detach from the server's stdio");
    if (devnull > 2 && close(devnull) < 0)
        die_step("deputy", errno, "close");
    if (write(pid_pipe, &server, sizeof server) != (ssize_t)sizeof server || close(pid_pipe) < 0)
        die_step("deputy", errno, "cannot tell init the server's pid");

    /* Nothing of the jail may read or write our memory or descriptors (ptrace is refused to a
     * process that is not dumpable and has no capability), and the filter comes last. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NAME, "mcpj-deputy", 0, 0, 0) < 0)
        die_step("deputy", errno, "prctl");
    if (p->deputy_seccomp == NULL)
        die_step("deputy", EINVAL, "the plan has supervisor tables but no deputy filter");
    install_seccomp(p->deputy_seccomp, p->deputy_seccomp_len, -1, 0);
    deputy_main(p, ds[1], sh);
}

void jail_init(const struct plan *p, int sync_fd, int jail_sock, struct dep_shared *sh, const int *trees)
{
    report_set_fd(jail_sock);
    /* Nothing of the supervisor's crosses into the jail: not mcp-j's control socket, not the
     * fd-passing socket. Only stdio, the sync pipe, the jail socket and the idmapped grants'
     * trees (attached by mounts_build) stay. */
    int *keep = malloc((2 + p->nmounts) * sizeof *keep);
    if (keep == NULL)
        die_step("init", ENOMEM, "out of memory");
    int nkeep = 0;
    keep[nkeep++] = sync_fd;
    keep[nkeep++] = jail_sock;
    for (size_t i = 0; trees != NULL && i < p->nmounts; i++)
        if (trees[i] >= 0)
            keep[nkeep++] = trees[i];
    close_all_except(keep, nkeep);
    free(keep);

    /* Wait until the supervisor has written our uid/gid maps: until then we have no identity in
     * this namespace. EOF means the supervisor died: give up quietly. */
    char b;
    ssize_t r;
    do {
        r = read(sync_fd, &b, 1);
    } while (r < 0 && errno == EINTR);
    if (r != 1)
        _exit(EXIT_SETUP);
    close(sync_fd);
    arm_pdeathsig(0, jail_sock);
    trace_mark("init.released");

    if (p->hostname != NULL && sethostname(p->hostname, strlen(p->hostname)) < 0)
        die_step("hostname", errno, "sethostname");

    /* The network namespace starts with lo down; loopback inside the jail is allowed. */
    netif_loopback_up();
    netif_send_sockets(p, jail_sock);
    trace_mark("init.network");

    /* Open the grants as the invoker, then become the jail's user (keeping the namespace's
     * capabilities for the set-up): files the jail creates on its tmpfs need a mapped owner. */
    int *src_fds = mounts_open_sources(p, trees);
    identity_assume(p);
    arm_pdeathsig(0, jail_sock);
    trace_mark("init.sources_opened");

    /* Limits of the jail's user namespace (/proc/sys/user/, per namespace): no nested user
     * namespaces whatever happens to the seccomp filter (creating one needs no capability, and a
     * namespace the jail owns would hand it mount and network powers over its own copies), and
     * caps on the per-user kernel objects (inotify, fanotify) so that what the jail uses is not
     * taken from the invoking user's own quota. Written while /proc is still the host's procfs
     * (the jail's own /proc has no sys/), like bubblewrap's --disable-userns. */
    for (size_t i = 0; i < p->nsysctls; i++) {
        const struct plan_sysctl *c = &p->sysctls[i];
        char path[256];
        snprintf(path, sizeof path, "/proc/sys/user/%s", c->name);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && c->optional)
            continue; /* the kernel has no such limit (and no such object class to cap) */
        size_t n = strlen(c->value);
        if (fd < 0 || write(fd, c->value, n) != (ssize_t)n)
            die_step("sysctl", errno, "cannot set %s", path);
        if (close(fd) < 0)
            die_step("sysctl", errno, "cannot set %s", path);
    }

    trace_mark("init.sysctls");
    int proc_subset = 0;
    mounts_build(p, src_fds, &proc_subset);
    free(src_fds);
    trace_mark("init.mounts_pivoted");

    /* The ruleset is built here, where the jail's paths resolve, and enforced by the server only:
     * init must stay able to reap and signal. */
    int abi = 0;
    uint32_t downgrades = proc_subset ? 0 : PD_PROC_SUBSET;
    int ruleset = landlock_prepare(p, &abi, &downgrades);
    trace_mark("init.landlock_ruleset");

    pid_t server;
    if (p->sup_tables != NULL) {
        /* Supervised: the deputy first, which starts the server and tells us its pid. */
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
            die_step("fork", errno, "pipe");
        pid_t deputy = fork();
        if (deputy < 0)
            die_step("fork", errno, "cannot start the deputy");
        if (deputy == 0) {
            close(pp[0]);
            deputy_exec(p, ruleset, jail_sock, pp[1], sh);
        }
        if (close(pp[1]) < 0)
            die_step("fork", errno, "close");
        ssize_t n;
        do
            n = read(pp[0], &server, sizeof server);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof server)
            _exit(EXIT_SETUP); /* the deputy reported why it failed */
        close(pp[0]);
    } else {
        server = fork();
        if (server < 0)
            die_step("fork", errno, "cannot start the server process");
        if (server == 0) {
            int keep[] = { jail_sock, ruleset };
            jail_process_prelude(p, keep, 2, 1);
            server_exec(p, ruleset, jail_sock);
        }
    }

    if (ruleset >= 0)
        close(ruleset);
    /* init must not hold the server's stdio: the server closing stdout has to reach mcp-j as EOF. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
        die_step("init", errno, "cannot detach init from the server's stdio");
    if (devnull > 2)
        close(devnull);

    identity_drop(p);
    arm_pdeathsig(0, jail_sock);
    /* Not dumpable: the server cannot open /proc/1/mem or ptrace init (ESCAPES 12). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die_step("init", errno, "prctl");

    struct line l;
    trace_mark("init.ready");
    line_start(&l, "ready");
    line_int(&l, "landlock_abi", abi);
    line_int(&l, "proc_subset", proc_subset);
    line_int(&l, "downgrades", downgrades);
    line_int(&l, "seccomp", p->seccomp != NULL);
    line_send(&l, jail_sock);

    /* Reap everything; forward termination signals to the server; leave when the server is gone. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(server, sig);
            continue;
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid != server)
                continue;
            line_start(&l, "exit");
            if (WIFSIGNALED(status))
                line_int(&l, "signal", WTERMSIG(status));
            else
                line_int(&l, "code", WEXITSTATUS(status));
            line_send(&l, jail_sock);
            /* Exiting kills every other process of the namespace (daemonized grandchildren too). */
            _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
        }
    }
}
