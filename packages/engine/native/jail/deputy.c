/*
 * The deputy's loop: receive a job, run it (or hand it to a worker thread when it may block),
 * send the result. See deputy.h for what the deputy is and why it is safe to act through it.
 */
#include "deputy.h"
#include "fdpass.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void send_result(struct deputy *d, uint32_t id, const struct dres *r)
{
    size_t rl = strlen(r->real);
    unsigned char buf[sizeof(struct dep_result) + PATH_MAX];
    struct dep_result h = {
        .id = id,
        .err = r->err,
        .val = r->val,
        .why = (uint8_t)r->why,
        .has_fd = r->fd >= 0,
        .rule = (uint16_t)r->rule,
        .real_len = (uint32_t)rl,
    };
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, r->real, rl);
    int n = fdpass_send_record(d->sock, buf, sizeof h + rl, r->fd, 0);
    if (r->fd >= 0)
        close(r->fd);
    /* The supervisor is gone: so is our reason to exist. */
    if (n < 0)
        _exit(0);
    __atomic_add_fetch(&d->sh->done, 1, __ATOMIC_RELEASE);
}

static int run(struct deputy *d, const struct djob *j, struct dres *r, int may_block)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    /* What the job creates gets the target's umask (per thread: each has its own fs_struct). */
    umask(j->h.umask & 0777);
    switch (j->h.op) {
    case DOP_OPEN: return dep_open(d, j, r, may_block);
    case DOP_EXEC: return dep_exec(d, j, r);
    case DOP_PATH: return dep_path(d, j, r, may_block);
    case DOP_ADDR: return dep_addr(d, j, r, may_block);
    case DOP_UNIX: return dep_unix(d, j, r, may_block);
    case DOP_SEND: return dep_send(d, j, r, may_block);
    default:
        r->err = ENOSYS;
        return 0;
    }
}

/* The job's descriptors are closed once it has run. */
static void close_fds(struct djob *j)
{
    if (j->fd >= 0)
        close(j->fd);
    for (int i = 0; i < j->nrights; i++)
        close(j->rights[i]);
    j->fd = -1;
    j->nrights = 0;
}

/* ---------------------------------------------------------------- workers */

struct work {
    struct deputy *d;
    struct worker *w;
    struct djob *j; /* malloc'd copy */
};

static void on_cancel(int sig) { (void)sig; }

static void *worker_main(void *arg)
{
    struct work *wk = arg;
    struct deputy *d = wk->d;
    struct dres *r = malloc(sizeof *r);
    /* Our own cwd and umask: a job may fchdir/umask without touching the other threads'. */
    if (r == NULL || unshare(CLONE_FS) < 0) {
        struct dres e = { .err = r == NULL ? ENOMEM : errno, .fd = -1 };
        send_result(d, wk->j->h.id, &e);
    } else {
        run(d, wk->j, r, 1);
        send_result(d, wk->j->h.id, r);
    }
    free(r);
    close_fds(wk->j);
    pthread_mutex_lock(&d->mu);
    wk->w->id = 0;
    pthread_mutex_unlock(&d->mu);
    free(wk->j);
    free(wk);
    return NULL;
}

/* Hands a job that would block to a worker. The copy (and its descriptor) belongs to the worker. */
static int defer(struct deputy *d, const struct djob *j, size_t len)
{
    struct work *wk = malloc(sizeof *wk);
    struct djob *copy = malloc(sizeof *copy + len);
    if (wk == NULL || copy == NULL) {
        free(wk);
        free(copy);
        return -ENOMEM;
    }
    memcpy(copy, j, sizeof *copy + len);
    /* The strings point into the copy's own buffer. */
    copy->p1 = (const char *)copy->buf + (j->p1 - (const char *)j->buf);
    copy->p2 = (const char *)copy->buf + (j->p2 - (const char *)j->buf);
    copy->payload = copy->buf + (j->payload - j->buf);
    pthread_mutex_lock(&d->mu);
    struct worker *w = NULL;
    for (int i = 0; i < DEP_WORKERS && w == NULL; i++)
        if (d->workers[i].id == 0)
            w = &d->workers[i];
    if (w != NULL)
        w->id = j->h.id;
    pthread_mutex_unlock(&d->mu);
    if (w == NULL) {
        free(wk);
        free(copy);
        return -EAGAIN; /* bounded: the target gets EAGAIN rather than a wait we cannot bound */
    }
    wk->d = d;
    wk->w = w;
    wk->j = copy;
    pthread_attr_t a;
    int e = pthread_attr_init(&a);
    if (e == 0)
        e = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (e == 0)
        e = pthread_attr_setstacksize(&a, 256 << 10);
    if (e == 0)
        e = pthread_create(&w->th, &a, worker_main, wk);
    pthread_attr_destroy(&a);
    if (e != 0) {
        pthread_mutex_lock(&d->mu);
        w->id = 0;
        pthread_mutex_unlock(&d->mu);
        free(wk);
        free(copy);
        return -e;
    }
    return 0;
}

/* The supervisor gave up a job (its target is gone): interrupt the worker running it. */
static void cancel(struct deputy *d, uint32_t id)
{
    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < DEP_WORKERS; i++)
        if (d->workers[i].id == id)
            pthread_kill(d->workers[i].th, SIGUSR1);
    pthread_mutex_unlock(&d->mu);
}

/* ---------------------------------------------------------------- the loop */

/* Receives one job into j (of cap bytes after the header). Returns the buffer length used, 0 when
 * the supervisor is gone, -1 for a malformed record (dropped). */
static ssize_t receive(struct deputy *d, struct djob *j, size_t cap)
{
    struct iovec iov[2] = { { .iov_base = &j->h, .iov_len = sizeof j->h }, { .iov_base = j->buf, .iov_len = cap } };
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE((1 + DEP_MAX_RIGHTS) * sizeof(int))];
    } cm;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cm.b, .msg_controllen = sizeof cm.b };
    ssize_t n;
    do
        n = recvmsg(d->sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    /* The first descriptor is the job's socket or file, the rest a message's (DOP_SEND). */
    j->fd = -1;
    j->nrights = 0;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int fds[1 + DEP_MAX_RIGHTS];
        memcpy(fds, CMSG_DATA(c), (size_t)nfd * sizeof(int));
        j->fd = fds[0];
        j->nrights = nfd - 1;
        memcpy(j->rights, fds + 1, (size_t)j->nrights * sizeof(int));
    }
    size_t body = (size_t)n - (n >= (ssize_t)sizeof j->h ? sizeof j->h : (size_t)n);
    size_t need = (size_t)j->h.len1 + 1 + j->h.len2 + 1 + j->h.payload_len;
    if ((size_t)n < sizeof j->h || (msg.msg_flags & MSG_TRUNC) || body != need || j->buf[j->h.len1] != 0 ||
        j->buf[j->h.len1 + 1 + j->h.len2] != 0 || (msg.msg_flags & MSG_CTRUNC)) {
        close_fds(j);
        return -1;
    }
    j->p1 = (const char *)j->buf;
    j->p2 = (const char *)j->buf + j->h.len1 + 1;
    j->payload = j->buf + j->h.len1 + 1 + j->h.len2 + 1;
    return (ssize_t)body;
}

__attribute__((noreturn)) void deputy_main(const struct plan *p, int sock, struct dep_shared *sh)
{
    struct deputy *d = calloc(1, sizeof *d);
    struct djob *j = malloc(sizeof *j + DEP_MAX_JOB);
    struct dres *r = malloc(sizeof *r);
    if (d == NULL || j == NULL || r == NULL)
        _exit(EXIT_SETUP);
    char err[256];
    if (sup_tables_decode(p->sup_tables, p->sup_tables_len, &d->t, err, sizeof err) < 0)
        _exit(EXIT_SETUP);
    d->sock = sock;
    d->sh = sh;
    d->self = getpid();
    pthread_mutex_init(&d->mu, NULL);
    d->root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->root < 0 || unshare(CLONE_FS) < 0)
        _exit(EXIT_SETUP);

    /* Signals: SIGUSR1 interrupts a worker's blocking call (no SA_RESTART); a broken peer is an
     * error, not a death; everything else the jail might send us is ignored or blocked. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cancel;
    if (sigaction(SIGUSR1, &sa, NULL) < 0)
        _exit(EXIT_SETUP);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigfillset(&block);
    sigdelset(&block, SIGUSR1);
    if (sigprocmask(SIG_SETMASK, &block, NULL) < 0)
        _exit(EXIT_SETUP);

    uint32_t seen = __atomic_load_n(&sh->posted, __ATOMIC_ACQUIRE);
    struct dep_spinner spin = { 0 };
    for (;;) {
        /* Spin for the next job before sleeping in recvmsg (see dep_proto.h). */
        dep_spin(&spin, &sh->posted, seen);
        seen = __atomic_load_n(&sh->posted, __ATOMIC_ACQUIRE);
        ssize_t len = receive(d, j, DEP_MAX_JOB);
        if (len == 0)
            _exit(0); /* the supervisor is gone */
        if (len < 0)
            continue;
        if (j->h.op == DOP_CANCEL) {
            cancel(d, (uint32_t)j->h.a);
            continue;
        }
        int k = run(d, j, r, 0);
        if (k == DEP_DEFER) {
            int e = defer(d, j, (size_t)len);
            if (e == 0)
                continue; /* the worker owns the job and its descriptor now */
            memset(r, 0, sizeof *r);
            r->fd = -1;
            r->err = -e;
        }
        send_result(d, j->h.id, r);
        close_fds(j);
    }
}

/* Our own pid or one of our threads' tids (/proc/TID works for any thread): the deputy's /proc
 * entries are never opened for anyone. */
int dep_is_self(const struct deputy *d, long pid)
{
    if (pid == d->self)
        return 1;
    char task[64];
    snprintf(task, sizeof task, "/proc/%d/task/%ld", (int)d->self, pid);
    return faccessat(AT_FDCWD, task, F_OK, AT_EACCESS) == 0;
}
