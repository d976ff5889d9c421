/*
 * The deputy's socket jobs, on the target's own socket (a duplicate the supervisor took with
 * pidfd_getfd): connect and bind to an address the supervisor decided (IP, or a unix address that
 * names no file: abstract, unnamed, AF_UNSPEC), or connect to the egress proxy's redirect listener
 * in its place; connect and bind to a unix path decided here on the socket file reached; and every
 * send the supervisor is notified of, from its copies of the address, the control data and the
 * data. Done by a jail process, the peer sees the jail's credentials (SO_PEERCRED,
 * SCM_CREDENTIALS), and Landlock's TCP rules and abstract-socket scope apply.
 *
 * Nothing here blocks the main thread: a connect always runs on a worker (whether it would wait
 * depends on the socket's O_NONBLOCK, which the jail shares with us and can flip at any moment), and
 * a send is tried with MSG_DONTWAIT first.
 */
#include "deputy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && !(fl & O_NONBLOCK);
}

/* The socket's local address into r->real ("127.0.0.1", "::1") and port into r->val; val stays 0
 * when it has none (the supervisor then reports nothing, and the proxy refuses the connection). */
static void local_end(int fd, struct dres *r)
{
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
        return;
    const void *a = NULL;
    if (ss.ss_family == AF_INET) {
        a = &((struct sockaddr_in *)&ss)->sin_addr;
        r->val = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        r->val = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    if (a == NULL || inet_ntop(ss.ss_family, a, r->real, sizeof r->real) == NULL)
        r->val = 0;
}

int dep_addr(struct deputy *d, const struct djob *j, struct dres *r, int may_block)
{
    (void)d;
    if (j->fd < 0 || j->h.payload_len > sizeof(struct sockaddr_storage)) {
        r->err = EINVAL;
        return 0;
    }
    struct sockaddr_storage ss;
    memcpy(&ss, j->payload, j->h.payload_len);
    int k;
    if (j->h.sub == DNET_BIND) {
        k = bind(j->fd, (struct sockaddr *)&ss, j->h.payload_len);
    } else {
        /* A connect may wait for the handshake or a full backlog: on a worker, always. */
        if (!may_block)
            return DEP_DEFER;
        k = connect(j->fd, (struct sockaddr *)&ss, j->h.payload_len);
    }
    r->err = k < 0 ? errno : 0;
    if (r->err == EACCES || r->err == EPERM)
        r->why = WHY_KERNEL;
    /* A redirect that started a connection (established, or under way on a non-blocking socket):
     * the local end it got is how the proxy will know it. A second connect() on the same socket
     * (EALREADY, EISCONN) starts nothing and reports nothing. */
    if (j->h.sub == DNET_REDIRECT && (r->err == 0 || r->err == EINPROGRESS))
        local_end(j->fd, r);
    return 0;
}

/* "/proc/self/fd/N" as a unix address: the socket file our descriptor N holds, with no second
 * lookup of the name the target gave. */
static socklen_t via_fd(struct sockaddr_un *un, int fd)
{
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    int n = snprintf(un->sun_path, sizeof un->sun_path, "/proc/self/fd/%d", fd);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

/* The socket file a path reaches, decided (connecting or sending needs write permission: a
 * read-only grant reaches no host agent's socket). Returns its O_PATH descriptor or -errno. */
static int socket_file(struct deputy *d, const struct djob *j, struct dres *r)
{
    int o = dep_resolve(d, j->p1, 0);
    if (o < 0)
        return o;
    struct stat st;
    int e = fstat(o, &st) < 0 ? errno : -dep_fd_path(o, r->real, sizeof r->real);
    /* Decided first: a denied name is refused as such, even where a mask hides the socket. */
    if (e == 0)
        e = dep_decide(d, r->real, SUP_R_WRITE, j->h.nspid, r);
    if (e == 0 && !S_ISSOCK(st.st_mode))
        e = ECONNREFUSED; /* what the kernel answers for a path that is not a socket */
    if (e != 0) {
        close(o);
        return -e;
    }
    return o;
}

static int unix_bind(struct deputy *d, const struct djob *j, struct dres *r)
{
    /* The name is created in the directory decided on: bound relative to it (our own cwd, this
     * thread's fs_struct), so a symlink planted in the path meanwhile cannot move it. */
    char base[NAME_MAX + 2];
    int pfd = dep_parent(d, j->p1, base, sizeof base, r->real, sizeof r->real);
    if (pfd < 0)
        return pfd == -EBUSY ? EADDRINUSE : -pfd;
    int e = dep_decide(d, r->real, SUP_R_WRITE, j->h.nspid, r);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    if (e == 0 && strlen(base) >= sizeof un.sun_path)
        e = EINVAL;
    if (e == 0 && fchdir(pfd) < 0)
        e = errno;
    if (e == 0) {
        memcpy(un.sun_path, base, strlen(base) + 1);
        if (bind(j->fd, (struct sockaddr *)&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(base) + 1)) < 0)
            e = errno;
        if (fchdir(d->root) < 0 && e == 0)
            e = errno;
    }
    close(pfd);
    return e;
}

int dep_unix(struct deputy *d, const struct djob *j, struct dres *r, int may_block)
{
    if (j->fd < 0) {
        r->err = EBADF;
        return 0;
    }
    int e = 0;
    if (j->h.sub == DNET_BIND) {
        e = unix_bind(d, j, r);
    } else {
        if (!may_block)
            return DEP_DEFER; /* a full backlog makes a connect wait (see the top of this file) */
        int o = socket_file(d, j, r);
        if (o < 0) {
            e = -o;
        } else {
            struct sockaddr_un un;
            socklen_t len = via_fd(&un, o);
            if (connect(j->fd, (struct sockaddr *)&un, len) < 0)
                e = errno;
            close(o);
        }
    }
    r->err = e;
    if (e == EACCES && r->why == WHY_NONE)
        r->why = WHY_KERNEL;
    return 0;
}

/* The message's control data, our copy, with each SCM_RIGHTS slot holding the descriptor passed to
 * us in its place (the target's numbers mean nothing here). Returns 0 or -errno. */
static int fill_rights(const struct djob *j, unsigned char *control, size_t len)
{
    struct msghdr m = { .msg_control = control, .msg_controllen = len };
    int used = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (used + (int)n > j->nrights)
            return -EBADF;
        memcpy(CMSG_DATA(c), j->rights + used, n * sizeof(int));
        used += (int)n;
    }
    return used == j->nrights ? 0 : -EBADF;
}

int dep_send(struct deputy *d, const struct djob *j, struct dres *r, int may_block)
{
    size_t namelen = (size_t)j->h.a, controllen = (size_t)j->h.b;
    if (j->fd < 0 || namelen > sizeof(struct sockaddr_storage) || controllen > DEP_MAX_CONTROL ||
        namelen + controllen > j->h.payload_len) {
        r->err = EINVAL;
        return 0;
    }
    struct sockaddr_storage name;
    unsigned char control[DEP_MAX_CONTROL];
    memcpy(&name, j->payload, namelen);
    memcpy(control, j->payload + namelen, controllen);
    struct iovec iov = { .iov_base = (void *)(j->payload + namelen + controllen), .iov_len = j->h.payload_len - namelen - controllen };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    int e = fill_rights(j, control, controllen);
    if (controllen > 0) {
        m.msg_control = control;
        m.msg_controllen = controllen;
    }
    /* To a unix path: the socket file decided on, by our descriptor of it (no second lookup). */
    int o = -1;
    struct sockaddr_un un;
    if (e == 0 && j->p1[0] != 0) {
        o = socket_file(d, j, r);
        if (o < 0) {
            e = -o;
        } else {
            m.msg_name = &un;
            m.msg_namelen = via_fd(&un, o);
        }
    } else if (namelen > 0) {
        m.msg_name = &name;
        m.msg_namelen = (socklen_t)namelen;
    }
    if (e == 0) {
        /* Never a signal for us (the supervisor raises SIGPIPE in the target); on the main thread
         * never a wait: a call that would wait goes to a worker with the target's own flags. */
        int flags = j->h.flags | MSG_NOSIGNAL | (may_block ? 0 : MSG_DONTWAIT);
        ssize_t n = sendmsg(j->fd, &m, flags);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !may_block && !(j->h.flags & MSG_DONTWAIT) && blocking(j->fd)) {
            if (o >= 0)
                close(o);
            return DEP_DEFER;
        }
        if (n < 0)
            e = errno;
        else
            r->val = n;
    }
    if (o >= 0)
        close(o);
    r->err = e;
    if (e == EACCES && r->why == WHY_NONE)
        r->why = WHY_KERNEL;
    return 0;
}
