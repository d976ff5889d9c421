/*
 * Jail init (PID 1 of the jail's PID namespace) and the server's last steps before execve.
 *
 * init does the privileged set-up while it still holds every capability of the jail's user
 * namespace (hostname, loopback, mounts, the Landlock ruleset), forks the server, then gives up
 * its own privileges and only reaps and forwards signals. When init exits, the kernel kills every
 * process left in the namespace: that is what makes "no process outlives the jail" hold.
 */
#include "init.h"
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

/* close_range(3, ~0) around the two descriptors still needed until execve (both close-on-exec:
 * the jail socket and the Landlock ruleset, which landlock_enforce closes). */
static void close_all_except(int a, int b)
{
    int keep[2] = { a < b ? a : b, a < b ? b : a };
    unsigned int from = 3;
    for (int i = 0; i < 2; i++) {
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

/* Installs the filter TypeScript compiled. It is the very last restriction: after it, every
 * execve is decided by the supervisor, which must therefore already hold the listener. */
static void install_seccomp(const struct plan *p, int jail_sock)
{
    struct sock_fprog prog = { .len = (unsigned short)(p->seccomp_len / 8), .filter = (struct sock_filter *)p->seccomp };
    unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (listener < 0 && errno == EINVAL) {
        /* WAIT_KILLABLE_RECV is 5.19+; without it a signal during a notified syscall restarts it. */
        flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    }
    if (listener < 0)
        die_step("seccomp", errno, "cannot install the filter with a user-notification listener (kernel 5.0+ needed)");
    int r = fdpass_send(jail_sock, 'S', listener);
    if (r < 0)
        die_step("seccomp", -r, "cannot hand the listener to the supervisor");
    /* DESIGN rule 6: a listener left in the jail is a complete bypass. */
    if (close(listener) < 0)
        die_step("seccomp", errno, "cannot close the listener");
}

__attribute__((noreturn)) static void server_exec(const struct plan *p, int ruleset, int jail_sock)
{
    /* Signals were blocked in the supervisor before clone so none is lost during set-up; the
     * server starts with a clean mask like any process. */
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        die_step("signals", errno, "sigprocmask");

    /* rlimits while we may still lower hard limits for good. */
    for (size_t i = 0; i < p->nrlimits; i++) {
        struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
        if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
            die_step("rlimit", errno, "setrlimit(%u)", p->rlimits[i].resource);
    }

    identity_drop(p);
    arm_pdeathsig(1, -1);

    /* A new session: no controlling terminal, so TIOCSTI has no terminal to inject into. */
    if (setsid() < 0)
        die_step("setsid", errno, "setsid");

    /* Only stdin, stdout, stderr cross into the server. The jail socket stays until execve (to
     * report an exec failure), marked close-on-exec. */
    close_all_except(jail_sock, ruleset);

    const char *cwd = p->cwd ? p->cwd : "/";
    if (chdir(cwd) < 0)
        die_step("cwd", errno, "cannot enter the working directory %s", cwd);

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die_step("no_new_privs", errno, "PR_SET_NO_NEW_PRIVS");
    landlock_enforce(ruleset);
    if (p->seccomp != NULL)
        install_seccomp(p, jail_sock);

    execve(p->exec_path, p->argv, p->envp);
    int e = errno;
    struct line l;
    line_start(&l, "exec_failed");
    line_int(&l, "errno", e);
    line_str(&l, "path", p->exec_path);
    line_send(&l, jail_sock);
    _exit(e == ENOENT || e == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

void jail_init(const struct plan *p, int sync_fd, int jail_sock)
{
    report_set_fd(jail_sock);
    /* Nothing of the supervisor's crosses into the jail: not mcp-j's control socket, not the
     * fd-passing socket. Only stdio, the sync pipe and the jail socket stay. */
    close_all_except(sync_fd, jail_sock);

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

    if (p->hostname != NULL && sethostname(p->hostname, strlen(p->hostname)) < 0)
        die_step("hostname", errno, "sethostname");

    /* The network namespace starts with lo down; loopback inside the jail is allowed. */
    netif_loopback_up();
    if (p->net_listen_port != 0)
        netif_send_listener(p->net_listen_port, jail_sock);

    /* Open the grants as the invoker, then become the jail's user (keeping the namespace's
     * capabilities for the set-up): files the jail creates on its tmpfs need a mapped owner. */
    int *src_fds = mounts_open_sources(p);
    identity_assume(p);
    arm_pdeathsig(0, jail_sock);

    /* No nested user namespaces, whatever happens to the seccomp filter: creating one needs no
     * capability, and a namespace the jail owns would hand it mount and network powers over its
     * own copies. The limit is per user namespace; ours is set to 0 while /proc is still the
     * host's procfs (the jail's own /proc has no sys/), like bubblewrap's --disable-userns. */
    int uf = open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
    if (uf < 0 || write(uf, "0\n", 2) != 2)
        die_step("userns", errno, "cannot forbid nested user namespaces (max_user_namespaces)");
    close(uf);

    int proc_subset = 0;
    mounts_build(p, src_fds, &proc_subset);
    free(src_fds);

    /* The ruleset is built here, where the jail's paths resolve, and enforced by the server only:
     * init must stay able to reap and signal. */
    int abi = 0;
    int ruleset = landlock_prepare(p, &abi);

    pid_t server = fork();
    if (server < 0)
        die_step("fork", errno, "cannot start the server process");
    if (server == 0)
        server_exec(p, ruleset, jail_sock);

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
    line_start(&l, "ready");
    line_int(&l, "landlock_abi", abi);
    line_int(&l, "proc_subset", proc_subset);
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
