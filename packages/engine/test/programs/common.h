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
