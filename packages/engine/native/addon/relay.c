/*
 * The egress proxy's byte relay in the kernel (docs/design.md, "Network"): once the proxy has
 * decided a connection and connected its upstream (in TypeScript), the two sockets are handed to
 * one thread that moves bytes between them with splice(2) through a pipe per direction, so no
 * byte is copied into Node's heap or touched by JavaScript:
 *
 *   relayInit(done)               done(id, bytesAtoB, bytesBtoA, error | null), called on the JS
 *                                 thread when a relay is over (error: "ECONNRESET", "idle", ...)
 *   relayStart(fdA, fdB, idleMs, firstAtoB, firstBtoA[, dropAtoB])
 *                                 -> id: takes duplicates of both descriptors (the caller closes
 *                                 its own); the two buffers (what the caller already read from one
 *                                 side, or has to say first) are written before anything is
 *                                 spliced; each direction ends with shutdown(SHUT_WR) of its
 *                                 destination at the source's EOF (half-close relayed); both
 *                                 ended, an error, or idleMs without a byte either way: both closed.
 *                                 dropAtoB: after firstAtoB, what A sends is read and dropped, not
 *                                 relayed (a plain-HTTP client's bytes after its one request)
 *   relayStop(id)                 ends it now (error "stopped")
 *
 * One thread for every relay (epoll, edge-triggered): on any event of a pair, both directions are
 * pumped until nothing moves, which is what edge triggering needs (a source is read until EAGAIN
 * unless its pipe is full, and a full pipe is emptied before the source is read again).
 */
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Pipe capacity asked for each direction (the kernel's pipe-max-size, 1 MiB by default, caps it
 * for unprivileged users; whatever we get is used). */
#define PIPE_BYTES (1 << 20)

struct dir {
    int from, to;
    int pipe[2];
    size_t fill, cap;
    unsigned char *first; /* written to `to` before any splice (malloc'd, may be NULL) */
    size_t first_len, first_off;
    unsigned long long bytes;
    int eof, shut;
    int drop; /* the source's bytes are read and dropped (recv MSG_TRUNC: not even copied) */
};

struct side {
    struct pair *p;
};

struct pair {
    uint32_t id;
    int fd[2];
    struct dir d[2]; /* d[0]: fd[0] -> fd[1]; d[1]: fd[1] -> fd[0] */
    struct side side[2];
    uint64_t last_ms;
    uint32_t idle_ms;
    int dead;          /* finished: freed once the current batch of events is handled */
    struct pair *next;
};

struct done {
    uint32_t id;
    double ab, ba;
    char err[32];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;
static int started;
static int ep = -1, wake = -1;
static struct pair *adds;  /* handed to the thread (under mu) */
static uint32_t *stops;    /* ids to stop (under mu) */
static size_t nstops, capstops;
static struct pair *live;  /* the thread's own */
static struct pair *graveyard; /* finished in this batch of events */
static uint32_t next_id = 1;
static napi_threadsafe_function tsfn;
static int closing; /* Node's environment is going away: the thread no longer calls into it (under mu) */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void errname(int e, char *out, size_t cap)
{
    const char *n = e == ECONNRESET ? "ECONNRESET" : e == EPIPE ? "EPIPE" : e == ETIMEDOUT ? "ETIMEDOUT" : e == ECONNREFUSED ? "ECONNREFUSED" : NULL;
    if (n != NULL)
        snprintf(out, cap, "%s", n);
    else
        snprintf(out, cap, "errno %d", e);
}

/* The pair is over: everything closed, the JS side told. */
static void finish(struct pair *p, const char *err)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[0], NULL);
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[1], NULL);
    for (int i = 0; i < 2; i++) {
        close(p->fd[i]);
        close(p->d[i].pipe[0]);
        close(p->d[i].pipe[1]);
        free(p->d[i].first);
    }
    struct done *dn = calloc(1, sizeof *dn);
    if (dn != NULL) {
        dn->id = p->id;
        dn->ab = (double)p->d[0].bytes;
        dn->ba = (double)p->d[1].bytes;
        if (err != NULL)
            snprintf(dn->err, sizeof dn->err, "%s", err);
        /* Under mu: the environment's clean-up (below) cannot release the function meanwhile. */
        pthread_mutex_lock(&mu);
        if (closing || napi_call_threadsafe_function(tsfn, dn, napi_tsfn_nonblocking) != napi_ok)
            free(dn);
        pthread_mutex_unlock(&mu);
    }
    struct pair **pp = &live;
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->next;
    if (*pp == p)
        *pp = p->next;
    /* Another event of this batch may name it: freed after the batch. */
    p->dead = 1;
    p->next = graveyard;
    graveyard = p;
}

/* Bytes read past the urgent mark: at most this many at a time. */
#define MARK_BYTES (64 * 1024)

/*
 * splice(2) from a TCP socket stops at urgent data (a byte the peer sent with MSG_OOB): it says
 * EAGAIN, or 0 once the peer has shut down, while bytes wait behind the mark, which would stall the
 * direction or end it early with those bytes lost. recv() reads past the mark (the urgent byte
 * itself stays out of band, as Node's own sockets leave it); what it read goes out as `first` does.
 * Called with `first` all sent and the pipe empty, so the order of bytes holds. Returns 1 if bytes
 * were read, 0 if none (not at a mark, nothing behind it yet, or the end: eof set), -errno on error.
 */
static int past_mark(struct dir *d)
{
    int at = 0;
    if (ioctl(d->from, SIOCATMARK, &at) < 0 || !at)
        return 0; /* not at a mark (or not TCP: no urgent data to be at) */
    free(d->first);
    d->first = malloc(MARK_BYTES);
    d->first_len = d->first_off = 0;
    if (d->first == NULL)
        return -ENOMEM;
    ssize_t n = recv(d->from, d->first, MARK_BYTES, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    if (n == 0) {
        d->eof = 1;
        return 0;
    }
    d->first_len = (size_t)n;
    d->eof = 0; /* splice's 0 was the mark, not the end */
    return 1;
}

/* Moves what can move in one direction. Returns 1 if bytes moved, 0 if not, -errno on error. */
static int pump(struct dir *d)
{
    int moved = 0;
again:
    while (d->first_off < d->first_len) {
        ssize_t n = send(d->to, d->first + d->first_off, d->first_len - d->first_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return moved;
        if (n < 0)
            return -errno;
        d->first_off += (size_t)n;
        d->bytes += (unsigned long long)n;
        moved = 1;
    }
    while (d->drop && !d->eof) {
        ssize_t n = recv(d->from, NULL, d->cap, MSG_TRUNC | MSG_DONTWAIT);
        if (n == 0)
            d->eof = 1;
        else if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        else if (n < 0)
            return -errno;
        else
            moved = 1;
    }
    for (;;) {
        int progress = 0;
        if (!d->drop && !d->eof && d->fill < d->cap) {
            ssize_t n = splice(d->from, NULL, d->pipe[1], NULL, d->cap - d->fill, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d->fill += (size_t)n;
                progress = 1;
            } else if (n == 0) {
                d->eof = 1;
            } else if (errno != EAGAIN && errno != EINTR) {
                return -errno;
            }
        }
        if (d->fill > 0) {
            ssize_t n = splice(d->pipe[0], NULL, d->to, NULL, d->fill, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d->fill -= (size_t)n;
                d->bytes += (unsigned long long)n;
                progress = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return -errno;
            }
        }
        if (!progress)
            break;
        moved = 1;
    }
    if (!d->drop && d->fill == 0 && !d->shut) {
        /* The source said nothing more (or its end): urgent data may be holding the rest back. */
        int r = past_mark(d);
        if (r < 0)
            return r;
        if (r > 0) {
            moved = 1;
            goto again;
        }
    }
    if (d->eof && d->fill == 0 && !d->shut) {
        /* The source ended and everything it sent is delivered: relay the half-close. */
        d->shut = 1;
        if (shutdown(d->to, SHUT_WR) < 0 && errno != ENOTCONN)
            return -errno;
    }
    return moved;
}

static void service(struct pair *p)
{
    if (p->dead)
        return;
    for (int i = 0; i < 2; i++) {
        int r = pump(&p->d[i]);
        if (r < 0) {
            char e[32];
            errname(-r, e, sizeof e);
            finish(p, e);
            return;
        }
        if (r > 0)
            p->last_ms = now_ms();
    }
    if (p->d[0].shut && p->d[1].shut)
        finish(p, NULL);
}

static void take_commands(void)
{
    uint64_t v;
    if (read(wake, &v, sizeof v) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&mu);
    struct pair *a = adds;
    adds = NULL;
    uint32_t *st = stops;
    size_t nst = nstops;
    stops = NULL;
    nstops = capstops = 0;
    pthread_mutex_unlock(&mu);
    while (a != NULL) {
        struct pair *p = a;
        a = a->next;
        p->next = live;
        live = p;
        int ok = 1;
        for (int i = 0; i < 2; i++) {
            struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = &p->side[i] };
            if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[i], &ev) < 0)
                ok = 0;
        }
        if (!ok) {
            char e[32];
            errname(errno, e, sizeof e);
            finish(p, e);
            continue;
        }
        service(p); /* bytes may be waiting already: edge triggering would not say so */
    }
    for (size_t i = 0; i < nst; i++) {
        for (struct pair *p = live; p != NULL; p = p->next) {
            if (p->id == st[i]) {
                finish(p, "stopped");
                break;
            }
        }
    }
    free(st);
}

static void check_idle(void)
{
    uint64_t now = now_ms();
    struct pair *p = live;
    while (p != NULL) {
        struct pair *next = p->next;
        if (!p->dead && p->idle_ms > 0 && now - p->last_ms >= p->idle_ms)
            finish(p, "idle");
        p = next;
    }
}

static void *run(void *arg)
{
    (void)arg;
    struct epoll_event evs[64];
    uint64_t last_check = now_ms();
    for (;;) {
        int n = epoll_wait(ep, evs, 64, 1000);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                take_commands();
                continue;
            }
            struct side *s = evs[i].data.ptr;
            if (!s->p->dead)
                service(s->p);
        }
        if (now_ms() - last_check >= 1000) {
            last_check = now_ms();
            check_idle();
        }
        while (graveyard != NULL) {
            struct pair *p = graveyard;
            graveyard = p->next;
            free(p);
        }
    }
    return NULL;
}

static napi_value throw_errno(napi_env env, const char *what, int err)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
    napi_throw_error(env, "ERR_MCPJ_NATIVE", msg);
    return NULL;
}

static void call_js(napi_env env, napi_value cb, void *ctx, void *data)
{
    (void)ctx;
    struct done *dn = data;
    if (env != NULL && cb != NULL) {
        napi_value argv[4], undef;
        napi_get_undefined(env, &undef);
        napi_create_uint32(env, dn->id, &argv[0]);
        napi_create_double(env, dn->ab, &argv[1]);
        napi_create_double(env, dn->ba, &argv[2]);
        if (dn->err[0] != 0)
            napi_create_string_utf8(env, dn->err, NAPI_AUTO_LENGTH, &argv[3]);
        else
            napi_get_null(env, &argv[3]);
        napi_call_function(env, undef, cb, 4, argv, NULL);
    }
    free(dn);
}

/* Node's environment is torn down (process exit): from here the thread only closes what ends. */
static void env_gone(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    closing = 1;
    napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
    pthread_mutex_unlock(&mu);
}

napi_value relay_init(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], name;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayInit(done: function)");
        return NULL;
    }
    if (started) {
        napi_throw_error(env, "ERR_MCPJ_NATIVE", "relayInit: already initialised");
        return NULL;
    }
    napi_create_string_utf8(env, "mcpj relay", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &tsfn) != napi_ok)
        return NULL;
    /* The relays do not keep the process alive: their sockets' owners do. */
    napi_unref_threadsafe_function(env, tsfn);
    if (napi_add_env_cleanup_hook(env, env_gone, NULL) != napi_ok)
        return NULL;
    ep = epoll_create1(EPOLL_CLOEXEC);
    wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ep < 0 || wake < 0)
        return throw_errno(env, "relayInit", errno);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev) < 0)
        return throw_errno(env, "relayInit: epoll_ctl", errno);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&thread, &at, run, NULL);
    pthread_attr_destroy(&at);
    if (e != 0)
        return throw_errno(env, "relayInit: pthread_create", e);
    started = 1;
    return NULL;
}

static void poke(void)
{
    uint64_t one = 1;
    if (write(wake, &one, sizeof one) < 0) {
        /* the counter is full: the thread has commands to read anyway */
    }
}

static int make_dir(struct dir *d, int from, int to)
{
    memset(d, 0, sizeof *d);
    d->from = from;
    d->to = to;
    if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    (void)fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_BYTES);
    int cap = fcntl(d->pipe[1], F_GETPIPE_SZ);
    d->cap = cap > 0 ? (size_t)cap : 65536;
    return 0;
}

/* A copy of a Buffer argument (NULL, 0 for an empty one); -1 when it is not a Buffer. */
static int copy_buffer(napi_env env, napi_value v, unsigned char **out, size_t *len)
{
    bool is;
    void *data;
    *out = NULL;
    *len = 0;
    if (napi_is_buffer(env, v, &is) != napi_ok || !is || napi_get_buffer_info(env, v, &data, len) != napi_ok)
        return -1;
    if (*len == 0)
        return 0;
    *out = malloc(*len);
    if (*out == NULL)
        return -1;
    memcpy(*out, data, *len);
    return 0;
}

napi_value relay_start(napi_env env, napi_callback_info info)
{
    size_t argc = 6;
    napi_value argv[6];
    int32_t a, b;
    uint32_t idle;
    bool drop = false;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || napi_get_value_int32(env, argv[0], &a) != napi_ok ||
        napi_get_value_int32(env, argv[1], &b) != napi_ok || napi_get_value_uint32(env, argv[2], &idle) != napi_ok ||
        (argc > 5 && napi_get_value_bool(env, argv[5], &drop) != napi_ok)) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayStart(fdA: number, fdB: number, idleMs: number, firstAtoB: Buffer, firstBtoA: Buffer, dropAtoB?: boolean)");
        return NULL;
    }
    unsigned char *first[2];
    size_t first_len[2];
    if (copy_buffer(env, argv[3], &first[0], &first_len[0]) < 0) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayStart: firstAtoB must be a Buffer");
        return NULL;
    }
    if (copy_buffer(env, argv[4], &first[1], &first_len[1]) < 0) {
        free(first[0]);
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayStart: firstBtoA must be a Buffer");
        return NULL;
    }
    struct pair *p = started ? calloc(1, sizeof *p) : NULL;
    if (p == NULL) {
        free(first[0]);
        free(first[1]);
        if (!started) {
            napi_throw_error(env, "ERR_MCPJ_NATIVE", "relayStart: call relayInit first");
            return NULL;
        }
        return throw_errno(env, "relayStart", ENOMEM);
    }
    p->fd[0] = fcntl(a, F_DUPFD_CLOEXEC, 0);
    p->fd[1] = p->fd[0] >= 0 ? fcntl(b, F_DUPFD_CLOEXEC, 0) : -1;
    int e = p->fd[1] < 0 ? errno : 0;
    int fl0 = e == 0 ? fcntl(p->fd[0], F_GETFL) : -1, fl1 = e == 0 ? fcntl(p->fd[1], F_GETFL) : -1;
    if (e == 0 && (fl0 < 0 || fl1 < 0 || fcntl(p->fd[0], F_SETFL, fl0 | O_NONBLOCK) < 0 || fcntl(p->fd[1], F_SETFL, fl1 | O_NONBLOCK) < 0))
        e = errno;
    if (e == 0) {
        int r = make_dir(&p->d[0], p->fd[0], p->fd[1]);
        if (r == 0) {
            r = make_dir(&p->d[1], p->fd[1], p->fd[0]);
            if (r < 0) {
                close(p->d[0].pipe[0]);
                close(p->d[0].pipe[1]);
            }
        }
        e = -r;
    }
    if (e != 0) {
        if (p->fd[0] >= 0)
            close(p->fd[0]);
        if (p->fd[1] >= 0)
            close(p->fd[1]);
        free(p);
        free(first[0]);
        free(first[1]);
        return throw_errno(env, "relayStart", e);
    }
    for (int i = 0; i < 2; i++) {
        p->d[i].first = first[i];
        p->d[i].first_len = first_len[i];
    }
    p->d[0].drop = drop;
    p->side[0].p = p->side[1].p = p;
    p->idle_ms = idle;
    p->last_ms = now_ms();
    pthread_mutex_lock(&mu);
    uint32_t id = p->id = next_id++;
    p->next = adds;
    adds = p; /* the thread's from here: p may be gone by the time we return */
    pthread_mutex_unlock(&mu);
    poke();
    napi_value out;
    napi_create_uint32(env, id, &out);
    return out;
}

napi_value relay_stop(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    uint32_t id;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayStop(id: number)");
        return NULL;
    }
    if (!started)
        return NULL;
    pthread_mutex_lock(&mu);
    if (nstops == capstops) {
        size_t nc = capstops ? capstops * 2 : 16;
        uint32_t *ns = realloc(stops, nc * sizeof *ns);
        if (ns == NULL) {
            pthread_mutex_unlock(&mu);
            return throw_errno(env, "relayStop", ENOMEM);
        }
        stops = ns;
        capstops = nc;
    }
    stops[nstops++] = id;
    pthread_mutex_unlock(&mu);
    poke();
    return NULL;
}
