/*
 * The egress proxy's byte relay in native code (docs/design.md, "The relay"): once the proxy has
 * decided a connection and connected its upstream (in TypeScript), the two sockets are handed to
 * one thread that moves bytes between them with recv(2) and send(2) through one buffer of its own,
 * so no byte is copied into Node's heap or touched by JavaScript:
 *
 *   relayInit(done)               done(id, bytesAtoB, bytesBtoA, error | null), called on the JS
 *                                 thread when a relay is over (error: "ECONNRESET", "idle", ...)
 *   relayStart(fdA, fdB, idleMs, firstAtoB, firstBtoA[, dropAtoB])
 *                                 -> id: takes duplicates of both descriptors (the caller closes
 *                                 its own); the two buffers (what the caller already read from one
 *                                 side, or has to say first) are written before anything else;
 *                                 each direction ends with shutdown(SHUT_WR) of its destination at
 *                                 the source's EOF (half-close relayed); both ended, an error, or
 *                                 idleMs without a byte either way: both closed.
 *                                 dropAtoB: after firstAtoB, what A sends is read and dropped, not
 *                                 relayed (a plain-HTTP client's bytes after its one request)
 *   relayStop(id)                 ends it now (error "stopped")
 *
 * One thread for every relay (epoll, edge-triggered): on any event of a pair, both directions are
 * pumped until nothing moves, which is what edge triggering needs (a source is read until EAGAIN
 * unless its destination is full, and a direction whose destination was full waits for EPOLLOUT).
 *
 * Why recv/send and not splice(2) through a pipe: on loopback TCP, splice costs more CPU than two
 * large copies and moved about half as much (bench/egress.bench.mjs prints both yardsticks). Each
 * read takes up to RELAY_BUF bytes, so the thread wakes seldom. The bytes are peeked (MSG_PEEK),
 * sent, and only what the send took is then taken from the source (MSG_TRUNC: dropped in the
 * kernel, not copied again): what the destination cannot take yet stays in the source's kernel
 * queue, where TCP's window holds the sender back, and none of it in this process, however small
 * the window the destination's peer advertises (a window of a few bytes makes the kernel build
 * tiny packets, each with its own overhead, so a send may take a fraction of what the room in its
 * buffer promised: red team of the relay, egress-relay-memory.test.ts).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
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

/* The thread's one buffer: the most one recv takes. Large, because each wake-up of the thread
 * then moves much (loopback TCP has a few MiB ready for one read); one for all pairs, because a
 * direction is pumped from its recv to its send without yielding. */
#define RELAY_BUF (4 << 20)
/* The most a peek asks for when the destination's room is unknown or nearly none, or its last send
 * took less than it was given: the send that follows then fails with EAGAIN (which arms EPOLLOUT)
 * having cost at most this much copying. */
#define RELAY_MIN (64 * 1024)

struct dir {
    int from, to;
    unsigned char *first; /* what the caller had read or has to say: written to `to` first (malloc'd, may be NULL) */
    size_t first_len, first_off;
    unsigned long long bytes;
    int eof, shut;
    int short_send; /* the last send took less than it was given: the next peeks are RELAY_MIN */
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
static unsigned char *buf; /* RELAY_BUF bytes, the thread's */

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

/*
 * How much to peek for `to`: its send buffer less what waits in it (unsent or unacknowledged). An
 * estimate: the kernel also counts each packet's overhead, so a send may take less, and what it
 * leaves is only peeked again later. At least RELAY_MIN, so that a full destination is found by a
 * send that fails (which arms EPOLLOUT), never by this estimate alone.
 */
static size_t room(int to)
{
    int sndbuf = 0, queued = 0;
    socklen_t len = sizeof sndbuf;
    if (getsockopt(to, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) < 0 || ioctl(to, SIOCOUTQ, &queued) < 0 || sndbuf - queued < RELAY_MIN)
        return RELAY_MIN;
    return (size_t)(sndbuf - queued) < RELAY_BUF ? (size_t)(sndbuf - queued) : RELAY_BUF;
}

/*
 * Moves what can move in one direction. Returns 1 if bytes moved, 0 if not, -errno on error.
 * TCP urgent data needs nothing here: a read stops at the mark once and then reads past it, leaving
 * the urgent byte out of band, as Node's own sockets leave it; a peek and the read that follows it
 * stop and skip alike, so they agree on which bytes were sent.
 */
static int pump(struct dir *d)
{
    int moved = 0;
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
    while (!d->eof) {
        size_t take = RELAY_BUF; /* drop mode: whatever is there */
        if (!d->drop) {
            ssize_t n = recv(d->from, buf, d->short_send ? RELAY_MIN : room(d->to), MSG_PEEK | MSG_DONTWAIT);
            if (n == 0) {
                d->eof = 1;
                break;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n < 0)
                return -errno;
            ssize_t m = send(d->to, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (m < 0 && errno != EAGAIN && errno != EINTR)
                return -errno;
            if (m <= 0) {
                /* Full: this EAGAIN armed EPOLLOUT; the bytes stay in the source. */
                d->short_send = 1;
                break;
            }
            d->short_send = m < n;
            d->bytes += (unsigned long long)m;
            take = (size_t)m;
        }
        /* MSG_TRUNC: taken from the source without a copy (peeked and sent, or dropped). */
        ssize_t t = recv(d->from, NULL, take, MSG_TRUNC | MSG_DONTWAIT);
        if (t == 0 && d->drop) {
            d->eof = 1;
            break;
        }
        if (t < 0 && d->drop && (errno == EAGAIN || errno == EINTR))
            break;
        if (t < 0)
            return -errno;
        if (!d->drop && (size_t)t != take)
            return -EIO; /* this thread is the source's only reader: what was peeked is there */
        moved = 1;
    }
    if (d->eof && d->first_off == d->first_len && !d->shut) {
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
    buf = malloc(RELAY_BUF);
    if (buf == NULL)
        return throw_errno(env, "relayInit", ENOMEM);
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

static void make_dir(struct dir *d, int from, int to)
{
    memset(d, 0, sizeof *d);
    d->from = from;
    d->to = to;
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
        make_dir(&p->d[0], p->fd[0], p->fd[1]);
        make_dir(&p->d[1], p->fd[1], p->fd[0]);
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
