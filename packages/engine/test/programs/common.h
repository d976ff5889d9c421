/*
 * Shared by the attack programs of the jail tests (the test suite pastes it in place of the
 * `#include "common.h"` line before compiling). Every check prints one line, `name=OUTCOME`, where
 * OUTCOME is OK for a call that succeeded or the errno's name (EPERM, ENOENT...) for one that
 * failed; the tests assert the exact outcome ESCAPES.md lists.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((unused)) static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n != NULL ? n : "E_UNKNOWN";
}

__attribute__((unused)) static void report(const char *name, const char *value)
{
    printf("%s=%s\n", name, value);
    fflush(stdout);
}

static void reportf(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static void reportf(const char *name, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    report(name, buf);
}

/* Runs a call returning < 0 (or MAP_FAILED) with errno on failure and reports its outcome. */
#define CHECK(name, expr)                                            \
    do {                                                             \
        errno = 0;                                                   \
        long check_rc_ = (long)(expr);                               \
        report((name), check_rc_ < 0 ? errname(errno) : "OK");      \
    } while (0)

/* Like CHECK for open-like calls: closes the descriptor it got. */
#define CHECK_FD(name, expr)                                         \
    do {                                                             \
        errno = 0;                                                   \
        int check_fd_ = (int)(expr);                                 \
        report((name), check_fd_ < 0 ? errname(errno) : "OK");      \
        if (check_fd_ >= 0)                                          \
            close(check_fd_);                                        \
    } while (0)

/* Opens path and reports "data:" and its first line (at most 255 bytes), or the errno. */
__attribute__((unused)) static void read_report(const char *key, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        report(key, errname(errno));
        return;
    }
    char d[256] = "";
    ssize_t n = read(fd, d, sizeof d - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        reportf(key, "read:%s", errname(e));
        return;
    }
    d[n] = 0;
    d[strcspn(d, "\n")] = 0;
    reportf(key, "data:%s", d);
}

/* fork + exec: OK when the program ran and exited 0, else the errno the exec failed with (or
 * "exit:N", "signal:N"). dirfd >= 0: execveat(dirfd, path, ..., at_flags). The program's own
 * output goes to stderr so it cannot fake a report line. */
__attribute__((unused)) static void exec_report(const char *key, int dirfd, const char *path, char *const argv[], int at_flags)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        report(key, errname(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        dup2(2, 1);
        char *envp[] = { NULL };
        if (dirfd >= 0)
            syscall(SYS_execveat, dirfd, path, argv, envp, at_flags);
        else
            execve(path, argv, envp);
        int e = errno;
        if (write(pfd[1], &e, sizeof e) < 0)
            _exit(126);
        _exit(126);
    }
    close(pfd[1]);
    int e = 0;
    ssize_t n = read(pfd[0], &e, sizeof e);
    close(pfd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (n == (ssize_t)sizeof e)
        report(key, errname(e));
    else if (WIFEXITED(status))
        reportf(key, WEXITSTATUS(status) == 0 ? "OK" : "exit:%d", WEXITSTATUS(status));
    else
        reportf(key, "signal:%d", WTERMSIG(status));
}

/* Runs one check in a child process, so that an attack that succeeds (a new user namespace, a
 * chroot) cannot change the outcome of the checks after it. */
#define ISOLATED(name, expr)                                         \
    do {                                                             \
        fflush(stdout);                                              \
        pid_t iso_pid_ = fork();                                     \
        if (iso_pid_ == 0) {                                         \
            CHECK((name), (expr));                                   \
            _exit(0);                                                \
        }                                                            \
        if (iso_pid_ < 0)                                            \
            reportf((name), "fork:%s", errname(errno));              \
        else                                                         \
            waitpid(iso_pid_, NULL, 0);                              \
    } while (0)
