/*
 * Path attacks on the deputy and the deny rules (issue 10 items 1 and 4; ESCAPES 57, 59): each
 * argument is one operation "OP ARG [ARG2]" (space-separated) and prints "OP ARG [ARG2]=OUTCOME",
 * OUTCOME being OK or the errno's name (a few operations print data). In the arguments,
 *   {pid} {tid}    become this process's pid and the calling thread's tid (as the jail sees them)
 *   {dfd:PATH}     becomes the number of a descriptor of directory PATH (O_PATH), opened once
 *   %20            becomes a space (arguments are separated by spaces)
 *   {child}        becomes the pid of a child process started by "child x" (it sleeps until the
 *                  end of the run): another jail process
 * The key printed is the argument as given (before expansion), so tests can name it.
 *   host NAME      prints "wait:NAME" and waits for a line on stdin: the test acts on the host
 *                  (creates the names "created later") and answers.
 */
#include "common.h"
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <utime.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* {dfd:PATH} descriptors, kept open for the whole run (their numbers are in the paths). */
static int dfds[64];
static char dfd_paths[64][512];
static int ndfds;
static pid_t child_pid = -1;

static int dir_fd(const char *p)
{
    for (int i = 0; i < ndfds; i++)
        if (strcmp(dfd_paths[i], p) == 0)
            return dfds[i];
    int fd = open(p, O_PATH | O_DIRECTORY);
    if (fd < 0 || ndfds == 64)
        return -1;
    snprintf(dfd_paths[ndfds], sizeof dfd_paths[0], "%s", p);
    dfds[ndfds++] = fd;
    return fd;
}

/* Expands the tokens of src into out. Returns -1 when a {dfd:...} cannot be opened. */
static int expand(const char *src, char *out, size_t cap)
{
    size_t o = 0;
    while (*src && o + 1 < cap) {
        if (strncmp(src, "{pid}", 5) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%d", (int)getpid());
            src += 5;
        } else if (strncmp(src, "{tid}", 5) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%d", (int)gettid());
            src += 5;
        } else if (strncmp(src, "{child}", 7) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%d", (int)child_pid);
            src += 7;
        } else if (strncmp(src, "{dfd:", 5) == 0) {
            const char *end = strchr(src, '}');
            if (end == NULL)
                return -1;
            char p[512];
            snprintf(p, sizeof p, "%.*s", (int)(end - src - 5), src + 5);
            int fd = dir_fd(p);
            if (fd < 0)
                return -1;
            o += (size_t)snprintf(out + o, cap - o, "%d", fd);
            src = end + 1;
        } else {
            out[o++] = *src++;
        }
    }
    out[o < cap ? o : cap - 1] = 0;
    return 0;
}

/* "%20" -> ' ', in place. */
static void unspace(char *s)
{
    if (s == NULL)
        return;
    char *w = s;
    for (const char *r = s; *r;) {
        if (strncmp(r, "%20", 3) == 0) {
            *w++ = ' ';
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
}

static int open_flags(const char *f)
{
    int fl = 0, acc = O_RDONLY;
    for (; *f; f++) {
        switch (*f) {
        case 'r': break;
        case 'w': acc = acc == O_RDONLY ? O_WRONLY : acc; break;
        case 'W': acc = O_RDWR; break;
        case 't': fl |= O_TRUNC; break;
        case 'c': fl |= O_CREAT; break;
        case 'x': fl |= O_EXCL; break;
        case 'p': fl |= O_PATH; break;
        case 'd': fl |= O_DIRECTORY; break;
        case 'n': fl |= O_NOFOLLOW; break;
        case 'b': fl |= O_NONBLOCK; break;
        }
    }
    return fl | acc | O_CLOEXEC;
}

static void run_exec(const char *key, const char *path, int dirfd, int at_flags)
{
    char *argv[] = { (char *)path, NULL };
    exec_report(key, dirfd, path, argv, at_flags);
}

static int signal_of(const char *n)
{
    if (strcmp(n, "KILL") == 0)
        return SIGKILL;
    if (strcmp(n, "STOP") == 0)
        return SIGSTOP;
    if (strcmp(n, "TERM") == 0)
        return SIGTERM;
    return atoi(n);
}

static void stopall_timeout(int sig)
{
    (void)sig;
    kill(-1, SIGCONT);
    _exit(3);
}

static void host_step(const char *key, const char *name)
{
    printf("wait:%s\n", name);
    fflush(stdout);
    char line[64];
    size_t n = 0;
    char c;
    while (n < sizeof line - 1 && read(0, &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = 0;
    report(key, n > 0 ? line : "EOF");
}

static void op(const char *spec)
{
    char buf[8192];
    if (expand(spec, buf, sizeof buf) < 0) {
        report(spec, "BAD_TOKEN");
        return;
    }
    char *save = NULL;
    char *name = strtok_r(buf, " ", &save);
    char *a = strtok_r(NULL, " ", &save);
    char *b = strtok_r(NULL, " ", &save);
    char *c = strtok_r(NULL, " ", &save);
    unspace(a);
    unspace(b);
    unspace(c);
    if (name == NULL || a == NULL) {
        report(spec, "BAD_OP");
        return;
    }
    errno = 0;
    struct timespec ts[2] = { { 1000000, 0 }, { 1000000, 0 } };
    if (strcmp(name, "read") == 0) {
        read_report(spec, a);
    } else if (strcmp(name, "ls") == 0) {
        int fd = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            report(spec, errname(errno));
            return;
        }
        DIR *dir = fdopendir(fd);
        char names[2048] = "";
        struct dirent *de;
        int first = 1;
        while (dir != NULL && (de = readdir(dir)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "%s%s", first ? "" : ",", de->d_name);
            first = 0;
        }
        if (dir != NULL)
            closedir(dir);
        reportf(spec, "list:%s", names);
    } else if (strcmp(name, "open") == 0 && b != NULL)
        CHECK_FD(spec, open(a, open_flags(b), 0644));
    else if (strcmp(name, "openat") == 0 && b != NULL && c != NULL) {
        int d = open(a, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) {
            reportf(spec, "dir:%s", errname(errno));
            return;
        }
        CHECK_FD(spec, openat(d, b, open_flags(c), 0644));
        close(d);
    } else if (strcmp(name, "creat") == 0)
        CHECK_FD(spec, creat(a, 0644));
    else if (strcmp(name, "truncate") == 0)
        CHECK(spec, truncate(a, 0));
    else if (strcmp(name, "unlink") == 0)
        CHECK(spec, unlink(a));
    else if (strcmp(name, "unlinkat") == 0 && b != NULL)
        CHECK(spec, unlinkat(dir_fd(a), b, 0));
    else if (strcmp(name, "rmdir") == 0)
        CHECK(spec, rmdir(a));
    else if (strcmp(name, "mkdir") == 0)
        CHECK(spec, mkdir(a, 0755));
    else if (strcmp(name, "mkdirat") == 0 && b != NULL)
        CHECK(spec, mkdirat(dir_fd(a), b, 0755));
    else if (strcmp(name, "mkfifo") == 0)
        CHECK(spec, mknod(a, S_IFIFO | 0644, 0));
    else if (strcmp(name, "symlink") == 0 && b != NULL)
        CHECK(spec, symlink(a, b));
    else if (strcmp(name, "link") == 0 && b != NULL)
        CHECK(spec, link(a, b));
    else if (strcmp(name, "linkat_follow") == 0 && b != NULL)
        CHECK(spec, linkat(AT_FDCWD, a, AT_FDCWD, b, AT_SYMLINK_FOLLOW));
    else if (strcmp(name, "linkat_empty") == 0 && b != NULL) {
        /* linkat(fd, "", ..., AT_EMPTY_PATH) of an O_PATH descriptor of a */
        int fd = open(a, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        CHECK(spec, linkat(fd, "", AT_FDCWD, b, AT_EMPTY_PATH));
        close(fd);
    } else if (strcmp(name, "rename") == 0 && b != NULL)
        CHECK(spec, rename(a, b));
    else if (strcmp(name, "exchange") == 0 && b != NULL)
        CHECK(spec, syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE));
    else if (strcmp(name, "chmod") == 0)
        CHECK(spec, chmod(a, 0600));
    else if (strcmp(name, "lchmod") == 0)
        CHECK(spec, syscall(452 /* fchmodat2 */, AT_FDCWD, a, 0600, AT_SYMLINK_NOFOLLOW));
    else if (strcmp(name, "chmod_empty") == 0) {
        int fd = open(a, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        CHECK(spec, syscall(452, fd, "", 0600, AT_EMPTY_PATH));
        close(fd);
    } else if (strcmp(name, "chown") == 0)
        CHECK(spec, chown(a, getuid(), getgid()));
    else if (strcmp(name, "lchown") == 0)
        CHECK(spec, lchown(a, getuid(), getgid()));
    else if (strcmp(name, "chown_empty") == 0) {
        int fd = open(a, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        CHECK(spec, fchownat(fd, "", getuid(), getgid(), AT_EMPTY_PATH));
        close(fd);
    } else if (strcmp(name, "utimes") == 0) {
        struct timeval tv[2] = { { 1000000, 0 }, { 1000000, 0 } };
        CHECK(spec, utimes(a, tv));
    } else if (strcmp(name, "utime") == 0) {
        struct utimbuf u = { 1000000, 1000000 };
        CHECK(spec, utime(a, &u));
    } else if (strcmp(name, "lutimes") == 0)
        CHECK(spec, utimensat(AT_FDCWD, a, ts, AT_SYMLINK_NOFOLLOW));
    else if (strcmp(name, "setxattr") == 0)
        CHECK(spec, setxattr(a, "user.mcpj", "x", 1, 0));
    else if (strcmp(name, "lsetxattr") == 0)
        CHECK(spec, lsetxattr(a, "user.mcpj", "x", 1, 0));
    else if (strcmp(name, "removexattr") == 0)
        CHECK(spec, removexattr(a, "user.mcpj"));
    else if (strcmp(name, "lremovexattr") == 0)
        CHECK(spec, lremovexattr(a, "user.mcpj"));
    else if (strcmp(name, "exec") == 0)
        run_exec(spec, a, -1, 0);
    else if (strcmp(name, "execveat") == 0 && b != NULL)
        run_exec(spec, b, dir_fd(a), 0);
    else if (strcmp(name, "execveat_empty") == 0) {
        int fd = open(a, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        run_exec(spec, "", fd, AT_EMPTY_PATH);
        close(fd);
    } else if (strcmp(name, "chdir") == 0)
        CHECK(spec, chdir(a));
    else if (strcmp(name, "name_to_handle") == 0) {
        struct {
            unsigned int bytes;
            int type;
            unsigned char h[128];
        } fh = { .bytes = 128 };
        int mount_id;
        CHECK(spec, syscall(SYS_name_to_handle_at, AT_FDCWD, a, &fh, &mount_id, 0));
    } else if (strcmp(name, "bind") == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        snprintf(un.sun_path, sizeof un.sun_path, "%s", a);
        CHECK(spec, bind(s, (struct sockaddr *)&un, sizeof un));
        close(s);
    } else if (strcmp(name, "connect") == 0) {
        /* a unix stream connect; when connected, "OK:" and what the peer says */
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        snprintf(un.sun_path, sizeof un.sun_path, "%s", a);
        if (connect(s, (struct sockaddr *)&un, sizeof un) < 0) {
            report(spec, errname(errno));
        } else {
            char got[64] = "";
            ssize_t n = read(s, got, sizeof got - 1);
            got[n > 0 ? n : 0] = 0;
            reportf(spec, "OK:%s", got);
        }
        close(s);
    } else if ((strcmp(name, "sendto") == 0 || strcmp(name, "sendmsg") == 0 || strcmp(name, "sendmmsg") == 0 ||
                strcmp(name, "dconnect") == 0) &&
               b != NULL) {
        /* a unix datagram b to path a: sendto, sendmsg or sendmmsg with a name, or connect + send */
        int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        snprintf(un.sun_path, sizeof un.sun_path, "%s", a);
        struct iovec iov = { .iov_base = b, .iov_len = strlen(b) };
        struct msghdr m = { .msg_name = &un, .msg_namelen = sizeof un, .msg_iov = &iov, .msg_iovlen = 1 };
        long r;
        if (strcmp(name, "sendto") == 0)
            r = sendto(s, b, strlen(b), 0, (struct sockaddr *)&un, sizeof un);
        else if (strcmp(name, "sendmsg") == 0)
            r = sendmsg(s, &m, 0);
        else if (strcmp(name, "sendmmsg") == 0) {
            struct mmsghdr mm[1] = { { .msg_hdr = m } };
            r = sendmmsg(s, mm, 1, 0);
        } else {
            r = connect(s, (struct sockaddr *)&un, sizeof un);
            if (r == 0)
                r = send(s, b, strlen(b), 0);
        }
        report(spec, r < 0 ? errname(errno) : "OK");
        close(s);
    } else if (strcmp(name, "kill") == 0 && b != NULL) {
        CHECK(spec, kill(atoi(a), signal_of(b)));
    } else if (strcmp(name, "pidfd_signal") == 0 && b != NULL) {
        int pfd = (int)syscall(SYS_pidfd_open, atoi(a), 0);
        if (pfd < 0) {
            reportf(spec, "pidfd_open:%s", errname(errno));
            return;
        }
        CHECK(spec, syscall(SYS_pidfd_send_signal, pfd, signal_of(b), NULL, 0));
        close(pfd);
    } else if (strcmp(name, "sigio") == 0 && b != NULL) {
        /* A pipe whose I/O signal (F_SETSIG b) goes to process a (F_SETOWN): written once. */
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            report(spec, errname(errno));
            return;
        }
        if (fcntl(p[0], F_SETOWN, atoi(a)) < 0 || fcntl(p[0], F_SETSIG, signal_of(b)) < 0 ||
            fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0) {
            reportf(spec, "fcntl:%s", errname(errno));
            return;
        }
        CHECK(spec, write(p[1], "x", 1));
        close(p[0]);
        close(p[1]);
    } else if (strcmp(name, "stopall") == 0) {
        /* A child stops every process it may signal (kill(-1, SIGSTOP)), makes a supervised call,
         * and lets them all continue: "OK" when the call completed, "STALLED" when it did not
         * within a second (the deputy was stopped). */
        fflush(stdout);
        pid_t k = fork();
        if (k == 0) {
            struct sigaction sa = { .sa_handler = stopall_timeout };
            sigaction(SIGALRM, &sa, NULL);
            kill(-1, SIGSTOP);
            alarm(1);
            int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            alarm(0);
            kill(-1, SIGCONT);
            _exit(fd >= 0 ? 0 : 2);
        }
        int st = 0;
        waitpid(k, &st, 0);
        report(spec, WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "OK" : WIFEXITED(st) && WEXITSTATUS(st) == 3 ? "STALLED" : "FAILED");
    } else if (strcmp(name, "stat") == 0) {
        struct stat st;
        CHECK(spec, lstat(a, &st));
    } else if (strcmp(name, "longpath") == 0 && b != NULL) {
        /* a, then "./" b times, then the last name of a again: a long spelling of a's sibling */
        char p[4096];
        const char *slash = strrchr(a, '/');
        size_t dl = (size_t)(slash - a);
        int n = atoi(b);
        size_t o = (size_t)snprintf(p, sizeof p, "%.*s/", (int)dl, a);
        for (int i = 0; i < n && o + 2 < sizeof p; i++) {
            memcpy(p + o, "./", 2);
            o += 2;
        }
        snprintf(p + o, sizeof p - o, "%s", slash + 1);
        CHECK_FD(spec, open(p, O_RDONLY | O_CLOEXEC));
    } else if (strcmp(name, "host") == 0)
        host_step(spec, a);
    else if (strcmp(name, "child") == 0) {
        int p[2];
        if (pipe(p) < 0) {
            report(spec, errname(errno));
            return;
        }
        fflush(stdout);
        child_pid = fork();
        if (child_pid == 0) {
            char ch;
            close(p[1]);
            if (read(p[0], &ch, 1) < 0) /* until the parent exits */
                _exit(1);
            _exit(0);
        }
        close(p[0]); /* p[1] stays open: the child lives as long as we do */
        report(spec, child_pid < 0 ? errname(errno) : "OK");
    }
    else
        report(spec, "BAD_OP");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        op(argv[i]);
    return 0;
}
