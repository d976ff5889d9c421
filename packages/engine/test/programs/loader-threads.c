/*
 * ESCAPES 60 (issue 10 item 3): the exec allowlist against the ELF-loader race, with every thread
 * arrangement. One attempt is one child process that races: a flipping thread rewrites an execve
 * path between this program (on the exec allowlist) and the ELF loader (executable only for the
 * kernel's sake) while an exec'ing thread execve()s it with argv = [self, /usr/bin/sh, -c, echo
 * PWNED, ...]. What the kernel starts tells the outcome of the attempt:
 *   this program again      it sees RACE_CHILD=1 and exits 42 ("self": the race was not won)
 *   the loader, killed      SIGKILL before it opened sh ("killed": won, and stopped in time)
 *   the loader, not killed  it runs sh, which is not on the allowlist and prints PWNED ("pwned")
 *
 * usage: loader-threads ARRANGEMENT ATTEMPTS   (SELF and LOADER in the environment)
 *   leader  the thread-group leader execs, one thread flips (the plain race)
 *   thread  a thread that is not the leader execs; the leader is busy with notified calls
 *   many    eight threads exec at once, two flip, the leader and four more threads are busy
 *   stale   descriptor 100 is the loader; a thread execveat(100, "", AT_EMPTY_PATH)s it while a
 *           child whose descriptor 100 is this program made the supervisor's last exec before
 *           (red-team finding F12: the decision followed that child); refused with EACCES, the
 *           attempt exits 43 ("refused")
 *   decoy   a thread that is not the leader execs (with long arguments, which the kernel copies
 *           after the CONTINUE and before it kills the other threads); the leader meanwhile makes
 *           execs the supervisor allows and the kernel refuses (EFAULT), each followed by notified
 *           calls; one attempt in a few dozen wins the race this way
 * Prints "ARRANGEMENT.attempts=N", ".self=", ".killed=", ".pwned=", ".refused=", ".other=" (attempts
 * that ended otherwise; each on stderr with its status).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char path[2][256];
static const char *self;
static const char *loader;
static volatile int started;
static int attempt_out = -1; /* the write end of the attempt's output pipe (main's copy) */
static char *child_argv[32] = { NULL, "/usr/bin/sh", "-c", "echo PWNED", NULL };
static char *child_envp[] = { "RACE_CHILD=1", "PATH=/usr/bin", NULL };

/* Flips path[arg] between the allowed program and the loader for ever (the attempt ends by an exec
 * or by its alarm). A short sleep between flips leaves the CPUs to the other threads. */
static void *flipper(void *arg)
{
    char *p = path[(long)arg];
    struct timespec ts = { 0, 10000 };
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
    for (;;) {
        strcpy(p, self);
        nanosleep(&ts, NULL);
        strcpy(p, loader);
        nanosleep(&ts, NULL);
        started = 1;
    }
    return NULL;
}

static void *execer(void *arg)
{
    char *p = path[(long)arg];
    while (!started)
        ;
    for (;;)
        execve(p, child_argv, child_envp);
    return NULL;
}

static void null_open(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
}

/* Notified calls all the time, so the supervisor sees (and may remember) this thread while an
 * exec is in flight. */
static void *busy(void *unused)
{
    (void)unused;
    for (;;)
        null_open();
    return NULL;
}

/* An exec of this program, which the supervisor allows, with an argv the kernel cannot read:
 * execve fails with EFAULT after the CONTINUE. */
static void failing_exec(void)
{
    syscall(SYS_execve, self, (char **)8, child_envp);
}

static void *decoy(void *unused)
{
    (void)unused;
    while (!started)
        ;
    for (;;) {
        failing_exec();
        for (int i = 0; i < 40; i++)
            null_open();
    }
    return NULL;
}

/* stale: descriptor 100 of this process is the loader (O_PATH); execveat(100, "", AT_EMPTY_PATH).
 * Refused (it is the loader): the attempt ends with 43. */
static void *fd_execer(void *unused)
{
    (void)unused;
    syscall(SYS_execveat, 100, "", child_argv, child_envp, AT_EMPTY_PATH);
    _exit(errno == EACCES ? 43 : 44);
    return NULL;
}

static void spawn(void *(*f)(void *), long arg)
{
    pthread_t t;
    int e;
    /* The threads of the attempt before may not all be reaped yet (the jail's pids limit). */
    for (int tries = 0; (e = pthread_create(&t, NULL, f, (void *)arg)) == EAGAIN && tries < 10000; tries++)
        sched_yield();
    if (e != 0)
        _exit(90);
}

static void attempt(const char *arrangement)
{
    strcpy(path[0], self);
    strcpy(path[1], self);
    /* A bound that survives execve: an attempt that hangs ends with SIGALRM ("other"). */
    alarm(20);
    if (strcmp(arrangement, "leader") == 0) {
        spawn(flipper, 0);
        execer((void *)0);
    } else if (strcmp(arrangement, "thread") == 0) {
        spawn(flipper, 0);
        spawn(execer, 0);
        busy(NULL);
    } else if (strcmp(arrangement, "many") == 0) {
        spawn(flipper, 0);
        spawn(flipper, 1);
        for (long i = 0; i < 8; i++)
            spawn(execer, i % 2);
        for (int i = 0; i < 4; i++)
            spawn(busy, 0);
        busy(NULL);
    } else if (strcmp(arrangement, "stale") == 0) {
        /* Our descriptor 100 is the loader. A child's descriptor 100 is this (allowed) program;
         * the child makes an execve first (it fails), so that the supervisor's last exec target
         * is the child, then makes notified calls. Our execveat(100, "", AT_EMPTY_PATH) calls
         * follow. */
        int lfd = open(loader, O_PATH);
        if (lfd < 0 || dup2(lfd, 100) < 0)
            _exit(96);
        int ready[2];
        if (pipe(ready) < 0)
            _exit(96);
        pid_t q = fork();
        if (q == 0) {
            /* Not the attempt's output pipe: the parent reads it to its end. */
            close(1);
            close(attempt_out);
            int sfd = open(self, O_PATH);
            if (sfd < 0 || dup2(sfd, 100) < 0)
                _exit(97);
            char *nav[] = { "x", NULL };
            execve("/nonexistent-mcpj-test", nav, child_envp);
            if (write(ready[1], "r", 1) != 1)
                _exit(98);
            /* Notified calls until the attempt process is gone (we are then reparented). */
            pid_t parent = getppid();
            while (getppid() == parent)
                null_open();
            _exit(0);
        }
        char c;
        if (q < 0 || read(ready[0], &c, 1) != 1)
            _exit(99);
        spawn(fd_execer, 0);
        busy(NULL);
    } else if (strcmp(arrangement, "decoy") == 0) {
        /* 15 arguments of 100 kB: about 1.5 MB for the kernel to copy (under the 2 MB a default
         * 8 MB stack limit allows). */
        for (int i = 0; i < 15; i++) {
            size_t n = 100000;
            child_argv[4 + i] = malloc(n + 1);
            if (child_argv[4 + i] == NULL)
                _exit(92);
            memset(child_argv[4 + i], 'y', n);
            child_argv[4 + i][n] = 0;
        }
        spawn(flipper, 0);
        spawn(execer, 0);
        decoy(NULL);
    }
    _exit(91);
}

int main(int argc, char **argv)
{
    if (getenv("RACE_CHILD") != NULL)
        return 42; /* this program again: the attempt ended without winning the race */
    self = getenv("SELF");
    loader = getenv("LOADER");
    if (argc < 3 || self == NULL || loader == NULL) {
        fprintf(stderr, "usage: SELF=path LOADER=path loader-threads leader|thread|many|stale|decoy ATTEMPTS\n");
        return 2;
    }
    child_argv[0] = (char *)self;
    const char *arr = argv[1];
    long n = atol(argv[2]), nself = 0, nkilled = 0, npwned = 0, nrefused = 0, nother = 0;
    for (long i = 0; i < n; i++) {
        int out[2];
        if (pipe2(out, O_CLOEXEC) < 0)
            return 2;
        fflush(stdout);
        pid_t p = fork();
        if (p < 0)
            return 2;
        if (p == 0) {
            attempt_out = out[1];
            dup2(out[1], 1); /* whatever runs writes here: sh would write PWNED */
            attempt(arr);
        }
        close(out[1]);
        char buf[256];
        size_t got = 0;
        ssize_t k;
        while (got < sizeof buf - 1 && (k = read(out[0], buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)k;
        buf[got] = 0;
        close(out[0]);
        int st = 0;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR)
            ;
        if (strstr(buf, "PWNED") != NULL) {
            npwned++;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 42) {
            nself++;
        } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
            nkilled++;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 43) {
            nrefused++;
        } else {
            nother++;
            fprintf(stderr, "attempt %ld: status %#x\n", i, st);
        }
    }
    printf("%s.attempts=%ld\n%s.self=%ld\n%s.killed=%ld\n%s.pwned=%ld\n%s.refused=%ld\n%s.other=%ld\n", arr, n, arr, nself, arr,
           nkilled, arr, npwned, arr, nrefused, arr, nother);
    return 0;
}
