/*
 * Issue 10 item 7 (ESCAPES 62): supervised calls that block in the kernel must not stall the
 * others. usage: stall SCENARIO ARG
 *   backlog PATH   a blocking connect() to a host listener whose backlog is full
 *   fifo PATH      an open() of a FIFO with no writer (PATH may go through /proc/<pid>/..)
 *   lease PATH     an open() for writing of a file a host process holds a lease on
 *   threads N      N threads, each in an open() of a FIFO with no writer (through /proc/self/..)
 *   truncate PATH  a truncate() of a file this program holds a lease on (a jail process may)
 *   toggle PATH    connect()s to a full listener of our own while another thread flips the socket
 *                  between blocking and non-blocking (the flag lives in the shared open file)
 * For each: the blocking call is started and seen waiting in the kernel (its thread's
 * /proc/self/task/TID/syscall), then other supervised calls are made and must complete
 * ("others=OK", or "others=STALLED" after a bound), then "wait:signal" asks the test to send
 * SIGTERM to mcp-j, which must reach us ("sigterm=OK"), then the blocking call is released where
 * that is possible and its outcome printed. A watchdog ends the program ("STALLED:<stage>", exit
 * 3) if any stage takes longer than its bound, so a stall fails the test instead of hanging it.
 */
#include "common.h"
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static volatile sig_atomic_t got_term;
static const char *volatile stage = "start";

static void on_term(int sig)
{
    (void)sig;
    static const char m[] = "sigterm=OK\n";
    if (write(1, m, sizeof m - 1) < 0)
        _exit(4);
    got_term = 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

/* Ends the program when a stage outlives its bound (20 s: far beyond what any stage takes on a
 * slow machine, far below the test's own timeout). */
static void *watchdog(void *unused)
{
    (void)unused;
    const char *seen = NULL;
    int ticks = 0;
    for (;;) {
        sleep_ms(100);
        if (stage != seen) {
            seen = stage;
            ticks = 0;
        } else if (++ticks > 200) {
            printf("STALLED:%s\n", stage);
            fflush(stdout);
            _exit(3);
        }
    }
    return NULL;
}

/* Waits until thread tid is inside syscall nr (its /proc/self/task/TID/syscall starts with the
 * number). The read is itself a supervised open: it completing is part of the test. */
static void wait_in_syscall(pid_t tid, long nr)
{
    char p[64], want[32], got[64];
    snprintf(p, sizeof p, "/proc/self/task/%d/syscall", (int)tid);
    snprintf(want, sizeof want, "%ld ", nr);
    for (;;) {
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, got, sizeof got - 1);
            close(fd);
            if (n > 0) {
                got[n] = 0;
                if (strncmp(got, want, strlen(want)) == 0)
                    return;
            }
        }
        sleep_ms(5);
    }
}

static int unix_connect(int s, const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    return connect(s, (struct sockaddr *)&a, sizeof a);
}

/* Supervised calls of every kind the jail makes all the time: open, openat, exec-free. */
static void others(void)
{
    stage = "others";
    for (int i = 0; i < 50; i++) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            printf("others=%s\n", errname(errno));
            return;
        }
        close(fd);
        fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            printf("others=%s\n", errname(errno));
            return;
        }
        close(fd);
        fd = open("/tmp/others", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
            printf("others=%s\n", errname(errno));
            return;
        }
        close(fd);
    }
    report("others", "OK");
}

/* Asks the test for SIGTERM (sent to mcp-j) and waits for it to arrive. */
static void want_signal(void)
{
    stage = "signal";
    printf("wait:signal\n");
    fflush(stdout);
    while (!got_term)
        sleep_ms(5);
}

static void host_step(const char *name)
{
    stage = name;
    printf("wait:%s\n", name);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) == 1 && c != '\n')
        ;
}

struct blocker {
    const char *path;
    long flags;
    int result; /* errno, or 0 */
    int done;
    pid_t tid;
};

static void *open_blocker(void *arg)
{
    struct blocker *b = arg;
    b->tid = gettid();
    int fd = open(b->path, (int)b->flags | O_CLOEXEC);
    b->result = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *connect_blocker(void *arg)
{
    struct blocker *b = arg;
    b->tid = gettid();
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    b->result = unix_connect(s, b->path) < 0 ? errno : 0;
    __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *truncate_blocker(void *arg)
{
    struct blocker *b = arg;
    b->tid = gettid();
    b->result = truncate(b->path, 0) < 0 ? errno : 0;
    __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static pid_t start(void *(*f)(void *), struct blocker *b)
{
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 << 10);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, f, b) != 0) {
        printf("pthread_create=%s\n", errname(errno));
        _exit(2);
    }
    pthread_attr_destroy(&a);
    while (__atomic_load_n(&b->tid, __ATOMIC_ACQUIRE) == 0)
        sleep_ms(1);
    return b->tid;
}

static void wait_done(struct blocker *b, const char *name)
{
    stage = name;
    while (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
        sleep_ms(5);
    report(name, b->result ? errname(b->result) : "OK");
}

/* toggle: connecting threads, each with a socket of its own, and one thread that flips every one
 * of those sockets between blocking and non-blocking for ever. */
#define TOGGLERS 24
static volatile int toggle_fds[TOGGLERS];
static const char *toggle_path;
static void *toggler(void *unused)
{
    (void)unused;
    /* All non-blocking, then all blocking: each socket spends half its time in each state. */
    for (int flags = 0;; flags ^= O_NONBLOCK)
        for (int i = 0; i < TOGGLERS; i++) {
            int s = toggle_fds[i];
            if (s > 0)
                fcntl(s, F_SETFL, flags);
        }
    return NULL;
}

/* One supervised open, given two seconds (in a thread: it may never return). */
static volatile int probe_done;
static void *probe_open(void *unused)
{
    (void)unused;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    probe_done = fd >= 0 ? 1 : 2;
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int probe_ok(void)
{
    pthread_t t;
    probe_done = 0;
    if (pthread_create(&t, NULL, probe_open, NULL) != 0)
        return 0;
    pthread_detach(t);
    for (int i = 0; i < 200 && probe_done == 0; i++)
        sleep_ms(10);
    return probe_done == 1;
}

static void *toggle_connector(void *arg)
{
    long i = (long)arg;
    for (;;) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        toggle_fds[i] = s;
        unix_connect(s, toggle_path);
        toggle_fds[i] = 0;
        close(s);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGIO, SIG_IGN);
    pthread_t w;
    pthread_create(&w, NULL, watchdog, NULL);
    const char *sc = argv[1], *arg = argv[2];
    static struct blocker b;
    b.path = arg;

    if (strcmp(sc, "backlog") == 0) {
        stage = "start";
        wait_in_syscall(start(connect_blocker, &b), SYS_connect);
        others();
        want_signal();
        report("blocked", __atomic_load_n(&b.done, __ATOMIC_ACQUIRE) ? "no" : "yes");
    } else if (strcmp(sc, "fifo") == 0) {
        if (mkfifo("/tmp/fifo", 0600) < 0)
            return 2;
        b.flags = O_RDONLY;
        wait_in_syscall(start(open_blocker, &b), SYS_openat);
        others();
        want_signal();
        /* A writer releases the reader. */
        int wfd = open("/tmp/fifo", O_WRONLY | O_CLOEXEC);
        report("writer", wfd < 0 ? errname(errno) : "OK");
        wait_done(&b, "fifo");
    } else if (strcmp(sc, "lease") == 0) {
        b.flags = O_WRONLY;
        wait_in_syscall(start(open_blocker, &b), SYS_openat);
        others();
        want_signal();
        report("blocked", __atomic_load_n(&b.done, __ATOMIC_ACQUIRE) ? "no" : "yes");
        host_step("release");
        wait_done(&b, "lease");
    } else if (strcmp(sc, "threads") == 0) {
        int n = atoi(arg);
        if (mkfifo("/tmp/fifo", 0600) < 0)
            return 2;
        struct blocker *bs = calloc((size_t)n, sizeof *bs);
        stage = "threads";
        for (int i = 0; i < n; i++) {
            bs[i].path = "/proc/self/../../tmp/fifo";
            bs[i].flags = O_RDONLY;
            start(open_blocker, &bs[i]);
        }
        /* Each thread is waiting in openat, or already refused (a bound on the deputy's workers). */
        for (int i = 0; i < n; i++) {
            stage = "threads-waiting";
            for (;;) {
                if (__atomic_load_n(&bs[i].done, __ATOMIC_ACQUIRE))
                    break;
                char p[64], got[64];
                snprintf(p, sizeof p, "/proc/self/task/%d/syscall", (int)bs[i].tid);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                ssize_t k = fd >= 0 ? read(fd, got, sizeof got - 1) : -1;
                if (fd >= 0)
                    close(fd);
                if (k > 0) {
                    got[k] = 0;
                    if (atol(got) == SYS_openat && strncmp(got, "running", 7) != 0)
                        break;
                }
                sleep_ms(2);
            }
        }
        others();
        want_signal();
        /* An open for reading and writing never waits for a peer: it must work even while the
         * deputy's workers are all busy with the waiting readers. */
        int rw = open("/tmp/fifo", O_RDWR | O_CLOEXEC);
        report("writer_rdwr", rw < 0 ? errname(errno) : "OK");
        /* A non-blocking writer (there are readers: it opens at once) releases every reader. */
        int wfd = open("/tmp/fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        report("writer", wfd < 0 ? errname(errno) : "OK");
        int ok = 0, refused = 0, other = 0;
        stage = "threads-done";
        for (int i = 0; i < n; i++) {
            while (!__atomic_load_n(&bs[i].done, __ATOMIC_ACQUIRE))
                sleep_ms(2);
            if (bs[i].result == 0)
                ok++;
            else if (bs[i].result == EAGAIN)
                refused++;
            else
                other++;
        }
        printf("opened=%d\nrefused=%d\nother=%d\n", ok, refused, other);
    } else if (strcmp(sc, "truncate") == 0) {
        int fd = open(arg, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1)
            return 2;
        close(fd);
        int lfd = open(arg, O_RDONLY | O_CLOEXEC);
        if (lfd < 0 || fcntl(lfd, F_SETLEASE, F_RDLCK) < 0) {
            printf("lease=%s\n", errname(errno));
            return 0;
        }
        report("lease", "OK");
        wait_in_syscall(start(truncate_blocker, &b), SYS_truncate);
        others();
        want_signal();
        if (fcntl(lfd, F_SETLEASE, F_UNLCK) < 0)
            return 2;
        wait_done(&b, "truncate");
    } else if (strcmp(sc, "toggle") == 0) {
        /* Our own listener, its queue full (backlog 0: one connection fills it). */
        int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof a.sun_path, "%s", arg);
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 0) < 0)
            return 2;
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (unix_connect(c, arg) < 0)
            return 2;
        /* Attempts in children that live two seconds each: a connect that a deputy worker waits
         * in is cancelled when its process dies; one the deputy's own loop waits in is not. */
        toggle_path = arg;
        stage = "toggle";
        for (int k = 0; k < 10; k++) {
            fflush(stdout);
            pid_t p = fork();
            if (p == 0) {
                alarm(2); /* SIGALRM ends the child even while its calls wait */
                pthread_t t;
                pthread_create(&t, NULL, toggler, NULL);
                for (long i = 0; i < TOGGLERS; i++)
                    pthread_create(&t, NULL, toggle_connector, (void *)i);
                for (;;)
                    pause();
            }
            waitpid(p, NULL, 0);
            if (!probe_ok())
                break; /* the attack worked: others() below shows it */
        }
        others();
        want_signal();
    } else {
        return 2;
    }
    stage = "end";
    fflush(stdout);
    _exit(0);
}
