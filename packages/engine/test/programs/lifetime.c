/*
 * Lifetime and exit codes. argv[1] is the mode:
 *   exit N        exit with code N
 *   raise N       kill itself with signal N (default disposition)
 *   trap          report "ready", wait for SIGTERM/SIGINT/SIGHUP, report it, exit 7
 *   wait          report "ready", wait with every signal at its default disposition
 *   daemon        start a daemonized grandchild (double fork, setsid, stdio closed, every
 *                 catchable termination signal ignored), report it, exit 0
 *   daemon-wait   the same, then wait forever (the test kills mcp-j or the supervisor)
 *   daemon-stdin  the same, then exit 0 at the end of stdin (the test decides when)
 * Every mode first reports the PID namespace ("ns=pid:[N]"), which the test uses to find
 * whatever is left of the jail on the host.
 */
#include "common.h"

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
    got = sig;
}

static void ignore_termination(void)
{
    int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_IGN);
}

static void daemonize(void)
{
    int p[2];
    if (pipe(p) < 0)
        exit(3);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        setsid();
        pid_t b = fork();
        if (b == 0) {
            ignore_termination();
            pid_t me = getpid();
            if (write(p[1], &me, sizeof me) != sizeof me)
                _exit(1);
            close(p[0]);
            close(p[1]);
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (chdir("/") < 0)
                _exit(1);
            for (;;)
                pause();
        }
        _exit(0);
    }
    close(p[1]);
    pid_t d = 0;
    if (read(p[0], &d, sizeof d) != sizeof d)
        exit(4);
    close(p[0]);
    waitpid(a, NULL, 0);
    reportf("daemon", "%d", (int)d);
}

int main(int argc, char **argv)
{
    char ns[64];
    ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    ns[n > 0 ? n : 0] = 0;
    report("ns", ns);
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "exit") == 0 && argc > 2)
        return atoi(argv[2]);
    if (strcmp(argv[1], "raise") == 0 && argc > 2) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        pause();
        return 99;
    }
    if (strcmp(argv[1], "trap") == 0) {
        sigset_t none;
        sigemptyset(&none);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        report("ready", "1");
        while (got == 0)
            pause();
        reportf("got", "%d", (int)got);
        return 7;
    }
    if (strcmp(argv[1], "wait") == 0) {
        report("ready", "1");
        for (;;)
            pause();
    }
    if (strcmp(argv[1], "daemon") == 0) {
        daemonize();
        return 0;
    }
    if (strcmp(argv[1], "daemon-stdin") == 0) {
        daemonize();
        char b[256];
        while (read(0, b, sizeof b) > 0)
            ;
        return 0;
    }
    if (strcmp(argv[1], "daemon-wait") == 0) {
        daemonize();
        ignore_termination();
        for (;;)
            pause();
    }
    return 2;
}
