/*
 * execveat(N, "", AT_EMPTY_PATH) by a thread whose descriptor table is its own: clone(2) with
 * CLONE_THREAD but without CLONE_FILES (the filter allows it) gives the thread a copy of the
 * table. Descriptor 100 is this program (on the exec allowlist) in the leader's table; the thread
 * puts the ELF loader at 100 in its own table and execs it with argv [ld.so, /usr/bin/true].
 *   usage: rt2-execfd private|shared LOADER
 * "shared" is the control: the thread shares the table (CLONE_FILES), so the loader is at 100 for
 * everyone. Prints "MODE.execveat=OUTCOME": the errno the thread got (EACCES: refused), or what
 * became of the process when the exec went through: "killed" (the loader ran and was SIGKILLed at
 * its first notified call), "exit-N" (it ran to the end: /usr/bin/true, off the allowlist, ran).
 */
#include "common.h"
#include <sched.h>

static const char *loader;
static int out = -1; /* the thread's report pipe (close-on-exec) */
static int shared;

static int thread_main(void *arg)
{
    (void)arg;
    int l = (int)syscall(SYS_openat, AT_FDCWD, loader, O_RDONLY | O_CLOEXEC);
    int e = 0;
    if (l < 0 || syscall(SYS_dup3, l, 100, 0) < 0) {
        e = errno;
    } else {
        char *argv[] = { "ld.so", "/usr/bin/true", NULL };
        char *envp[] = { NULL };
        syscall(SYS_execveat, 100, "", argv, envp, AT_EMPTY_PATH);
        e = errno;
    }
    (void)!write(out, &e, sizeof e);
    syscall(SYS_exit_group, 43);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    shared = strcmp(argv[1], "shared") == 0;
    loader = argv[2];
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return 3;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        out = p[1];
        int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (self < 0 || dup3(self, 100, 0) < 0)
            _exit(44);
        static char stack[256 << 10];
        int flags = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | (shared ? CLONE_FILES : 0);
        if (clone(thread_main, stack + sizeof stack, flags, NULL) < 0) {
            /* Refused: the filter does not let a thread have a table of its own. */
            char key[32];
            snprintf(key, sizeof key, "%s.clone", argv[1]);
            report(key, errname(errno));
            _exit(45);
        }
        for (;;)
            pause();
    }
    close(p[1]);
    int e = 0;
    ssize_t n = read(p[0], &e, sizeof e);
    int st = 0;
    waitpid(c, &st, 0);
    char what[64];
    if (n == (ssize_t)sizeof e)
        snprintf(what, sizeof what, "%s", errname(e));
    else if (WIFSIGNALED(st))
        snprintf(what, sizeof what, WTERMSIG(st) == SIGKILL ? "killed" : "signal-%d", WTERMSIG(st));
    else
        snprintf(what, sizeof what, "exit-%d", WEXITSTATUS(st));
    char key[32];
    snprintf(key, sizeof key, "%s.execveat", argv[1]);
    report(key, what);
    return 0;
}
