/*
 * Races against the supervisor's CONTINUE answers (red-team findings on issue 10): a CONTINUE lets
 * the kernel re-read the call's arguments (memory and descriptor table) after the decision, so a
 * racing thread can change what the call does. usage: toctou MODE PATH ATTEMPTS
 *   connect-abstract  connect() whose address flips between an abstract name (CONTINUEd: the
 *                     jail's own namespace) and PATH, a host socket in a read-only grant
 *   connect-unspec    the same with an AF_UNSPEC address (CONTINUEd) flipping to AF_UNIX PATH
 *   bind-abstract     bind() whose address flips between an abstract name and PATH, a name a deny
 *                     rule matches, in a writable grant
 *   sendto-swap       sendto(fd, ..., PATH) on a stream socket (CONTINUEd: a stream ignores the
 *                     name) while another thread dup2()s a datagram socket onto fd
 *   opath PATH OK     open(O_PATH) whose path flips between OK (allowed) and PATH (denied,
 *                     created by the host after the start); O_PATH is CONTINUEd. When a
 *                     descriptor of PATH is won, "wait:delete" asks the host to delete PATH, then
 *                     the descriptor is reopened through /proc/self/fd/N.
 *   sendmsg-flip PATH OK   sendmsg() on a datagram socket whose msg_name flips between OK (our
 *                     own socket in /tmp) and PATH (a host socket in a read-only grant): the
 *                     datagram is sent by the deputy from its copy, so the flip cannot help
 *   exchange-open DIR  DIR/l1 and DIR/l2 are symlinks to DIR/pub and DIR/secrets (denied, created
 *                     by the host after the start); a thread swaps them (renameat2 EXCHANGE)
 *                     while DIR/l1/k is read: "won" counts reads of the denied DIR/secrets/k
 * Prints "MODE.attempts=N", ".won=K" (calls the decision did not cover), ".refused=" and
 * ".other=" (how often each side of the flip was seen: proof that the race ran both ways).
 */
#include "common.h"
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static struct sockaddr_un addr;
static char pathbuf[512];
static const char *target, *allowed;
static volatile int stop;
static int swap_n = 50, stream_fd, dgram_fd;

/* A short pause between two writes; the barrier keeps the compiler from dropping the first
 * write as dead (only another thread and the supervisor read these buffers). */
static void spin(void)
{
    __asm__ volatile("" ::: "memory");
    for (volatile int i = 0; i < 30; i++)
        ;
    __asm__ volatile("" ::: "memory");
}

/* abstract "\0mcpj-nothing" <-> target */
static void *flip_abstract(void *u)
{
    (void)u;
    while (!stop) {
        memset(addr.sun_path, 0, sizeof addr.sun_path);
        memcpy(addr.sun_path + 1, "mcpj-nothing", 12);
        spin();
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s", target);
        spin();
    }
    return NULL;
}

/* AF_UNSPEC <-> AF_UNIX target (the path stays in place) */
static void *flip_family(void *u)
{
    (void)u;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", target);
    while (!stop) {
        addr.sun_family = AF_UNSPEC;
        spin();
        addr.sun_family = AF_UNIX;
        spin();
    }
    return NULL;
}

static void *flip_fd(void *u)
{
    (void)u;
    while (!stop) {
        dup2(dgram_fd, swap_n);
        spin();
        dup2(stream_fd, swap_n);
        spin();
    }
    return NULL;
}

static struct sockaddr_un addr_ok, addr_bad;
static struct msghdr flip_msg;
static void *flip_name(void *u)
{
    (void)u;
    while (!stop) {
        flip_msg.msg_name = &addr_ok;
        spin();
        flip_msg.msg_name = &addr_bad;
        spin();
    }
    return NULL;
}

static char l1[512], l2[512];
static void *flip_links(void *u)
{
    (void)u;
    while (!stop)
        syscall(SYS_renameat2, AT_FDCWD, l1, AT_FDCWD, l2, 1 << 1 /* RENAME_EXCHANGE */);
    return NULL;
}

static void *flip_path(void *u)
{
    (void)u;
    while (!stop) {
        snprintf(pathbuf, sizeof pathbuf, "%s", allowed);
        spin();
        snprintf(pathbuf, sizeof pathbuf, "%s", target);
        spin();
    }
    return NULL;
}

static void host_step(const char *name)
{
    printf("wait:%s\n", name);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) == 1 && c != '\n')
        ;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *mode = argv[1];
    target = argv[2];
    long n = atol(argv[3]), won = 0, refused = 0, other = 0, i;
    allowed = argc > 4 ? argv[4] : NULL;
    addr.sun_family = AF_UNIX;
    pthread_t t;
    void *(*flipper)(void *) = strcmp(mode, "connect-unspec") == 0 ? flip_family
                             : strcmp(mode, "sendto-swap") == 0   ? flip_fd
                             : strcmp(mode, "opath") == 0         ? flip_path
                             : strcmp(mode, "sendmsg-flip") == 0  ? flip_name
                             : strcmp(mode, "exchange-open") == 0 ? flip_links
                                                                  : flip_abstract;
    struct stat want;
    if (strcmp(mode, "sendto-swap") == 0) {
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s", target);
        stream_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        dgram_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        dup2(stream_fd, swap_n);
    }
    if (strcmp(mode, "opath") == 0) {
        host_step("create");
        if (stat(target, &want) < 0) /* stat is not supervised: the inode to recognize */
            return 2;
        snprintf(pathbuf, sizeof pathbuf, "%s", allowed);
    }
    int ok_sock = -1, dsock = -1;
    char k1[600] = "";
    if (strcmp(mode, "sendmsg-flip") == 0) {
        /* Our own receiver in /tmp: the datagrams the flip sends there are read and dropped. */
        addr_ok.sun_family = addr_bad.sun_family = AF_UNIX;
        snprintf(addr_ok.sun_path, sizeof addr_ok.sun_path, "%s", allowed);
        snprintf(addr_bad.sun_path, sizeof addr_bad.sun_path, "%s", target);
        ok_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (bind(ok_sock, (struct sockaddr *)&addr_ok, sizeof addr_ok) < 0)
            return 2;
        dsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        flip_msg.msg_name = &addr_ok;
        flip_msg.msg_namelen = sizeof addr_ok;
    }
    if (strcmp(mode, "exchange-open") == 0) {
        char p[600];
        snprintf(l1, sizeof l1, "%s/l1", target);
        snprintf(l2, sizeof l2, "%s/l2", target);
        snprintf(p, sizeof p, "%s/pub", target);
        if (symlink(p, l1) < 0)
            return 2;
        snprintf(p, sizeof p, "%s/secrets", target);
        if (symlink(p, l2) < 0)
            return 2;
        snprintf(k1, sizeof k1, "%s/k", l1);
        host_step("create");
    }
    pthread_create(&t, NULL, flipper, NULL);
    int opath_fd = -1;
    for (i = 0; i < n; i++) {
        if (strcmp(mode, "connect-abstract") == 0 || strcmp(mode, "connect-unspec") == 0) {
            int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            int r = connect(s, (struct sockaddr *)&addr, sizeof addr);
            close(s);
            if (r == 0)
                won++;
            else if (errno == EACCES)
                refused++; /* the supervisor saw the path */
            else
                other++; /* it saw the abstract name or AF_UNSPEC: CONTINUE */
        } else if (strcmp(mode, "bind-abstract") == 0) {
            int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            int r = bind(s, (struct sockaddr *)&addr, sizeof addr);
            int e = errno; /* before lstat() sets its own */
            close(s);
            struct stat st;
            if (lstat(target, &st) == 0)
                won++;
            else if (r < 0 && e == EACCES)
                refused++;
            else
                other++;
        } else if (strcmp(mode, "sendto-swap") == 0) {
            ssize_t r = sendto(swap_n, "PWNED", 5, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr, sizeof addr);
            if (r == 5)
                won++;
            else if (errno == EACCES)
                refused++; /* the supervisor saw the datagram socket */
            else
                other++; /* a stream: CONTINUE, and the stream refused the name */
        } else if (strcmp(mode, "sendmsg-flip") == 0) {
            struct iovec iov = { .iov_base = "PWNED", .iov_len = 5 };
            flip_msg.msg_iov = &iov;
            flip_msg.msg_iovlen = 1;
            ssize_t r = sendmsg(dsock, &flip_msg, MSG_DONTWAIT);
            int e = errno;
            char drain[16];
            while (recv(ok_sock, drain, sizeof drain, MSG_DONTWAIT) > 0)
                ;
            if (r == 5)
                other++; /* sent: where is for the host to say */
            else if (e == EACCES)
                refused++;
        } else if (strcmp(mode, "exchange-open") == 0) {
            int fd = open(k1, O_RDONLY | O_CLOEXEC);
            char d[16] = "";
            if (fd >= 0) {
                ssize_t r = read(fd, d, sizeof d - 1);
                d[r > 0 ? r : 0] = 0;
                close(fd);
            }
            if (fd >= 0 && strncmp(d, "SECRET", 6) == 0)
                won++;
            else if (fd >= 0)
                other++;
            else if (errno == EACCES)
                refused++;
        } else {
            int fd = open(pathbuf, O_PATH | O_CLOEXEC);
            struct stat st;
            if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == want.st_ino && st.st_dev == want.st_dev) {
                won++;
                opath_fd = fd;
                break;
            }
            if (fd >= 0) {
                other++;
                close(fd);
            } else {
                refused++;
            }
        }
        if (won > 0 && strcmp(mode, "sendmsg-flip") != 0)
            break;
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("%s.attempts=%ld\n%s.won=%ld\n%s.refused=%ld\n%s.other=%ld\n", mode, i, mode, won, mode, refused, mode, other);
    fflush(stdout);
    if (opath_fd >= 0) {
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", opath_fd);
        CHECK_FD("reopen", open(p, O_RDONLY | O_CLOEXEC));
        host_step("delete");
        read_report("reopen_deleted", p);
    }
    return 0;
}
