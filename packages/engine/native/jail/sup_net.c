/*
 * connect, bind, sendto, sendmsg, sendmmsg.
 *
 * IP: the address is copied once and decided here (metadata endpoints by name, then the tables,
 * which mirror Landlock's TCP rules); the deputy then connects or binds the target's own socket
 * (pidfd_getfd) to our copy, so Landlock's port rules apply to the jail's domain. The network
 * namespace (only lo) is the kernel layer behind it: whatever the kernel re-reads, nothing sent
 * from the jail leaves it, which is why a datagram with an IP destination may be CONTINUEd.
 *
 * Redirection (docs/design.md, "Network"): a TCP connect() to an address the redirect table names
 * (the addresses the jail's resolver hands out for allowed names, the IP literals --allow-net
 * names) is performed by the deputy against the egress proxy's redirect listener on the jail's
 * loopback instead. When that connection has started, we report "redirect" with the socket's local
 * end and the destination the target asked for, before answering the target: the proxy takes the
 * destination from that report, never from the connection, and matches the connection by its
 * peer address and port (the 4-tuple is unique while the connection lives).
 *
 * Unix sockets: a pathname is resolved and decided by the deputy on the socket file it reached
 * (deny rules, and write permission in the tables: a read-only grant reaches no host agent), then
 * connected, bound or sent to through that very inode, so the peer sees the jail's credentials in
 * SO_PEERCRED (the deputy's: the jail's uid, gid and a jail pid). Abstract and unnamed addresses
 * reach nothing outside the jail's network namespace (and Landlock's scope, ABI 6), but they are
 * not CONTINUEd either: the kernel would read the address again, and a racing thread could make it
 * a path by then. The deputy connects or binds to our copy.
 *
 * Sends: every notified send is performed by the deputy from our copies of the address, the data
 * and the control data, never CONTINUEd. The kernel would otherwise read the call again: a racing
 * thread could give the message a name, or dup2() a unix datagram socket onto the descriptor, and
 * a datagram would reach a host socket nothing decided on. The descriptors a message passes
 * (SCM_RIGHTS) are taken from the target and passed on by the deputy; credentials
 * (SCM_CREDENTIALS) it cannot send as the target are refused with EOPNOTSUPP.
 */
#include "sup_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

struct sock {
    int fd;      /* our duplicate of the target's socket */
    int domain;  /* AF_* */
    int type;    /* SOCK_STREAM, SOCK_DGRAM, ... */
    pid_t tgid;
    long threads; /* of the target's process, when it was taken */
};

/* The target's socket sockfd. Returns 0, SUP_GONE, or -errno. */
static int take_socket(struct supervisor *s, const struct seccomp_notif *req, int sockfd, struct sock *k)
{
    struct tinfo ti;
    k->fd = -1;
    if (sup_target_info((pid_t)req->pid, &ti) < 0)
        return sup_id_valid(s->listener, req->id) ? -EBADF : SUP_GONE;
    k->tgid = ti.tgid;
    k->threads = ti.threads;
    int fd = sup_target_fd(s->listener, req->id, ti.tgid, sockfd);
    if (fd < 0)
        return fd;
    socklen_t l = sizeof k->domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &k->domain, &l) < 0) {
        close(fd);
        return -ENOTSOCK;
    }
    l = sizeof k->type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &k->type, &l) < 0) {
        close(fd);
        return -ENOTSOCK;
    }
    k->fd = fd;
    return 0;
}

/* After the address was copied (r: 0 or -errno): the socket, or the notification answered (or
 * gone). Returns 1 when k holds the socket. */
static int socket_after(struct supervisor *s, const struct seccomp_notif *req, int r, struct sock *k, struct ev *e)
{
    if (r == 0)
        r = take_socket(s, req, (int)req->data.args[0], k);
    else if (!sup_id_valid(s->listener, req->id))
        r = SUP_GONE;
    if (r < 0) {
        sup_fail(s, req->id, e, r);
        return 0;
    }
    return 1;
}

/* Whether a copied AF_UNIX address names a file: a sun_path that is there and does not start with
 * NUL (an abstract name does; an unnamed address has none). Decided on the bytes, never on the
 * printed form below, where a path may start with '@' too. */
static int unix_is_path(const struct sockaddr_storage *ss, socklen_t len)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
    return ss->ss_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) && un->sun_path[0] != 0;
}

/* sun_path of a copied address, for events and for the deputy's path: "@name" for abstract, ""
 * for unnamed. */
static void unix_path(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t cap)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
    size_t pl = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    if (pl > sizeof un->sun_path)
        pl = sizeof un->sun_path;
    if (pl + 1 > cap)
        pl = cap - 1;
    if (pl > 0 && un->sun_path[0] == 0) {
        out[0] = '@';
        memcpy(out + 1, un->sun_path + 1, pl - 1);
        out[pl] = 0;
    } else {
        memcpy(out, un->sun_path, pl);
        out[pl] = 0;
    }
}

struct inet {
    int fam; /* 4, 6, or 0 (AF_UNSPEC) */
    uint8_t a[16];
    uint16_t port;
    char text[INET6_ADDRSTRLEN + 8];
};

/* Reads an IP address; AF_UNSPEC as IPv4 when the caller says so (udp_sendmsg does). Returns 0,
 * or -EINVAL/-EAFNOSUPPORT like the kernel. */
static int inet_of(const struct sockaddr_storage *ss, socklen_t len, int unspec_is_v4, struct inet *in)
{
    memset(in, 0, sizeof *in);
    int family = ss->ss_family;
    if ((family == AF_INET || (family == AF_UNSPEC && unspec_is_v4)) && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        memcpy(in->a, &a->sin_addr, 4);
        in->port = ntohs(a->sin_port);
        in->fam = 4;
    } else if (family == AF_INET6 && len >= 24 /* SIN6_LEN_RFC2133 */) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        memcpy(in->a, &a->sin6_addr, 16);
        in->port = ntohs(a->sin6_port);
        in->fam = 6;
    } else if (family == AF_UNSPEC) {
        return 0; /* connect(AF_UNSPEC) dissolves an association: reaches nothing */
    } else {
        return family == AF_INET || family == AF_INET6 ? -EINVAL : -EAFNOSUPPORT;
    }
    if (inet_ntop(in->fam == 4 ? AF_INET : AF_INET6, in->a, in->text, sizeof in->text) == NULL)
        snprintf(in->text, sizeof in->text, "?");
    return 0;
}

static int is_loopback(const struct inet *in)
{
    static const uint8_t one[16] = { [15] = 1 };
    static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
    if (in->fam == 4)
        return in->a[0] == 127;
    return memcmp(in->a, one, 16) == 0 || (memcmp(in->a, mapped, 12) == 0 && in->a[12] == 127);
}

/* A destination outside the jail: refused and reported (metadata endpoints by name; a datagram
 * or a UDP connect as "udp": no --allow-net entry would let it out). */
static void deny_inet(struct supervisor *s, uint64_t id, struct ev *e, const struct inet *in, int udp)
{
    const char *meta = sup_meta_name(&s->t, in->fam, in->a);
    e->addr = in->text;
    e->port = in->port;
    e->why = meta != NULL ? "metadata" : udp ? "udp" : "policy";
    e->rule = meta;
    sup_deny(s, id, e, EACCES);
}

/* A TCP connect to a redirected destination: the deputy connects the target's socket to the
 * proxy's redirect listener, on the loopback address of the socket's own family. */
static void post_redirect(struct supervisor *s, const struct seccomp_notif *req, int sc, const struct sock *k, const struct inet *in)
{
    struct sockaddr_storage to;
    memset(&to, 0, sizeof to);
    socklen_t len;
    if (k->domain == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons(s->t.redirect_port);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&to;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons(s->t.redirect_port);
        len = sizeof *a;
    }
    struct job j;
    memset(&j, 0, sizeof j);
    j.h.op = DOP_ADDR;
    j.h.sub = DNET_REDIRECT;
    j.h.payload_len = len;
    j.payload = &to;
    j.fd = k->fd;
    sup_post(s, req, sc, ANS_REDIRECT, 0, &j, NULL, in->text, in->port, k->tgid);
}

void sup_net_redirected(struct supervisor *s, const struct pending *sl, const struct dep_result *r, const char *local)
{
    struct ev e = { .sc = sl->sc, .pid = sl->tid, .addr = sl->addr, .port = sl->port };
    e.why = sup_why_name(r->why);
    if (r->err != 0 && r->err != EINPROGRESS) {
        sup_finish(s, sl->notif, &e, r->err, 0);
        return;
    }
    /* Reported before the target learns that its connect went through (or is under way): the
     * proxy may accept the connection before or after this line reaches mcp-j, and waits for it.
     * A socket without a local end is not reported: the proxy refuses what it cannot match. */
    if (r->val > 0 && r->val <= 65535 && local[0] != 0) {
        struct line l;
        line_start(&l, "redirect");
        line_str(&l, "src", local);
        line_int(&l, "sport", r->val);
        line_str(&l, "addr", sl->addr);
        line_int(&l, "port", sl->port);
        line_int(&l, "pid", sl->tid);
        sup_events_emit(&s->ev, &l);
        sup_events_flush(&s->ev, 0); /* the proxy is waiting for it: now, not after the loop's turn */
    }
    e.act = "allow";
    e.why = "redirect";
    sup_emit(s, &e);
    sup_answer(s, sl->notif, r->err, 0);
}

/* A pathname unix address, composed against the target's cwd: fills j's path (tp holds it). */
static int unix_target(struct supervisor *s, const struct seccomp_notif *req, int sc, const char *sun, int info, struct tpath *tp)
{
    struct ev e = { .sc = sc, .pid = (pid_t)req->pid, .path = sun };
    int r = sup_target_compose(s->listener, req->id, (pid_t)req->pid, AT_FDCWD, sun, info ? TP_INFO : 0, tp);
    if (r < 0) {
        sup_fail(s, req->id, &e, r);
        return 0;
    }
    return 1;
}

/* connect or bind to a unix path: a job for the deputy, which decides on the socket file. */
static void post_unix(struct supervisor *s, const struct seccomp_notif *req, int sc, struct sock *k, const char *sun, int sub)
{
    static struct tpath tp;
    if (!unix_target(s, req, sc, sun, sub == DNET_BIND, &tp))
        return;
    struct job j;
    memset(&j, 0, sizeof j);
    j.h.op = DOP_UNIX;
    j.h.sub = (uint16_t)sub;
    j.h.umask = tp.have_ti ? tp.ti.umask : 022;
    j.p1 = tp.path;
    j.fd = k->fd;
    sup_post(s, req, sc, ANS_VALUE, 0, &j, tp.path, NULL, 0, k->tgid);
}

void sup_handle_net(struct supervisor *s, const struct seccomp_notif *req, int sc)
{
    uint64_t id = req->id;
    int is_bind = sc == SC_BIND;
    uint32_t len = (uint32_t)req->data.args[2];
    struct ev e = { .sc = sc, .pid = (pid_t)req->pid };

    /* 1. The address, copied once, within the kernel's own limits. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int r = 0;
    if (len > sizeof ss || len < sizeof(sa_family_t))
        r = -EINVAL;
    else
        r = sup_read_mem((pid_t)req->pid, req->data.args[1], &ss, len);
    struct sock k = { .fd = -1 };
    if (!socket_after(s, req, r, &k, &e))
        return;

    /* 2. Unix sockets: pathnames are decided by the deputy; abstract and unnamed addresses (and
     *    AF_UNSPEC) reach only the jail's network namespace, and the deputy uses our copy of them
     *    (step 4). */
    char sun[sizeof(((struct sockaddr_un *)0)->sun_path) + 2] = ""; /* e.path may point here until step 4 */
    if (k.domain == AF_UNIX) {
        unix_path(&ss, len, sun, sizeof sun);
        if (unix_is_path(&ss, len)) {
            post_unix(s, req, sc, &k, sun, is_bind ? DNET_BIND : DNET_CONNECT);
            close(k.fd);
            return;
        }
        e.path = sun;
    } else if (k.domain != AF_INET && k.domain != AF_INET6) {
        close(k.fd);
        e.why = "family";
        sup_deny(s, id, &e, EACCES);
        return;
    }

    /* 3. IP: decided on the copy. */
    struct inet in;
    memset(&in, 0, sizeof in);
    r = k.domain == AF_UNIX ? 0 : inet_of(&ss, len, 0, &in);
    if (r < 0 || (is_bind && in.fam == 0 && k.domain != AF_UNIX)) {
        close(k.fd);
        sup_finish(s, id, &e, r < 0 ? -r : EAFNOSUPPORT, 0);
        return;
    }
    if (in.fam != 0) {
        e.addr = in.text;
        e.port = in.port;
        uint16_t proto = k.type == SOCK_STREAM ? SUP_P_TCP : k.type == SOCK_DGRAM ? SUP_P_UDP : 0;
        const char *meta = sup_meta_name(&s->t, in.fam, in.a);
        int ok = is_bind ? sup_net_allowed(s->t.bind, s->t.nbind, in.fam, in.a, in.port, proto)
                         : sup_net_allowed(s->t.connect, s->t.nconnect, in.fam, in.a, in.port, proto);
        /* The jail's own services (the proxy, the resolver) first; then what goes through the
         * proxy. Metadata endpoints never: TypeScript leaves out of the meta table only an
         * address the user allowed by its exact value. */
        if (meta == NULL && !ok && !is_bind && proto == SUP_P_TCP && s->t.redirect_port != 0 &&
            sup_net_allowed(s->t.redirect, s->t.nredirect, in.fam, in.a, in.port, SUP_P_TCP)) {
            post_redirect(s, req, sc, &k, &in);
            close(k.fd);
            return;
        }
        if (meta != NULL || !ok) {
            close(k.fd);
            deny_inet(s, id, &e, &in, !is_bind && proto == SUP_P_UDP);
            return;
        }
    }

    /* 4. The deputy acts on our copy of the address, as the jail. */
    struct job j;
    memset(&j, 0, sizeof j);
    j.h.op = DOP_ADDR;
    j.h.sub = is_bind ? DNET_BIND : DNET_CONNECT;
    j.h.payload_len = len;
    j.payload = &ss;
    j.fd = k.fd;
    sup_post(s, req, sc, ANS_VALUE, 0, &j, e.path, in.fam ? in.text : NULL, in.port, k.tgid);
    close(k.fd);
}

/* Gathers the iovecs' bytes from the target into out, up to DEP_MAX_PAYLOAD: beyond it, the first
 * DEP_MAX_PAYLOAD bytes when partial (a stream may send less than asked), else -EMSGSIZE. Returns
 * the length or -errno. */
static int gather(pid_t tid, uint64_t iov_addr, uint64_t iovlen, unsigned char *out, int partial)
{
    if (iovlen > 1024)
        return -EMSGSIZE; /* UIO_MAXIOV */
    struct iovec iov[1024];
    int r = iovlen > 0 ? sup_read_mem(tid, iov_addr, iov, (size_t)iovlen * sizeof iov[0]) : 0;
    if (r < 0)
        return r;
    size_t total = 0;
    for (uint64_t i = 0; i < iovlen && total < DEP_MAX_PAYLOAD; i++) {
        size_t n = iov[i].iov_len;
        if (n > DEP_MAX_PAYLOAD - total) {
            if (!partial)
                return -EMSGSIZE;
            n = DEP_MAX_PAYLOAD - total;
        }
        r = sup_read_mem(tid, (uint64_t)(uintptr_t)iov[i].iov_base, out + total, n);
        if (r < 0)
            return r;
        total += n;
    }
    return (int)total;
}

/* The descriptors a message's control data passes (SCM_RIGHTS), taken from the target in order,
 * and its other contents checked: credentials are refused (-EOPNOTSUPP: the deputy cannot send
 * them as the target). Returns the count or -errno; on error nothing stays open. */
static int take_rights(struct supervisor *s, uint64_t id, pid_t tgid, unsigned char *control, size_t len, int *fds)
{
    struct msghdr m = { .msg_control = control, .msg_controllen = len };
    int n = 0, r = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL && r == 0; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_len < CMSG_LEN(0) || (unsigned char *)c + c->cmsg_len > control + len) {
            r = -EINVAL;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            r = -EOPNOTSUPP;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k && r == 0; i++) {
                int tfd;
                memcpy(&tfd, CMSG_DATA(c) + i * sizeof(int), sizeof tfd);
                if (n == DEP_MAX_RIGHTS)
                    r = -ETOOMANYREFS;
                else if ((r = sup_target_fd(s->listener, id, tgid, tfd)) >= 0)
                    fds[n++] = r, r = 0;
            }
        }
    }
    if (r < 0) {
        while (n > 0)
            close(fds[--n]);
        return r;
    }
    return n;
}

void sup_handle_send(struct supervisor *s, const struct seccomp_notif *req, int sc)
{
    uint64_t id = req->id;
    pid_t tid = (pid_t)req->pid;
    struct ev e = { .sc = sc, .pid = tid };
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t namelen = 0;
    uint64_t data = 0, iov = 0, iovlen = 0, controllen = 0, datalen = 0, msgcontrol = 0;
    int flags = 0, r = 0, named = 0;
    uint64_t msglen_addr = sc == SC_SENDMMSG ? req->data.args[1] + offsetof(struct mmsghdr, msg_len) : 0;

    /* 1. The destination and the data's whereabouts, copied once. For sendmmsg, the first
     *    message only: sendmmsg may send fewer messages than asked, and says how many. */
    if (sc == SC_SENDTO) {
        data = req->data.args[1];
        datalen = req->data.args[2];
        flags = (int)req->data.args[3];
        namelen = (socklen_t)req->data.args[5];
        named = req->data.args[4] != 0;
        if (namelen > sizeof ss)
            r = -EINVAL;
        else if (named && namelen > 0)
            r = sup_read_mem(tid, req->data.args[4], &ss, namelen);
    } else {
        struct msghdr m;
        if (sc == SC_SENDMMSG && req->data.args[2] == 0) {
            sup_answer(s, id, 0, 0);
            return;
        }
        r = sup_read_mem(tid, req->data.args[1], &m, sizeof m);
        if (r == 0) {
            flags = (int)(sc == SC_SENDMMSG ? req->data.args[3] : req->data.args[2]);
            named = m.msg_name != NULL && m.msg_namelen > 0;
            namelen = m.msg_namelen;
            iov = (uint64_t)(uintptr_t)m.msg_iov;
            iovlen = m.msg_iovlen;
            controllen = m.msg_control != NULL ? m.msg_controllen : 0;
            msgcontrol = (uint64_t)(uintptr_t)m.msg_control;
            if (named && namelen > sizeof ss)
                r = -EINVAL;
            else if (named)
                r = sup_read_mem(tid, (uint64_t)(uintptr_t)m.msg_name, &ss, namelen);
        }
    }
    /* The control data, copied once (its descriptors are taken below). */
    static unsigned char control[DEP_MAX_CONTROL];
    if (r == 0 && controllen > DEP_MAX_CONTROL)
        r = -ENOBUFS;
    else if (r == 0 && controllen > 0)
        r = sup_read_mem(tid, msgcontrol, control, (size_t)controllen);
    struct sock k = { .fd = -1 };
    if (!socket_after(s, req, r, &k, &e))
        return;
    int stream = k.type == SOCK_STREAM;
    if (k.domain == AF_UNIX && (k.type == SOCK_STREAM || k.type == SOCK_SEQPACKET) && k.threads == 1) {
        /* A unix stream or seqpacket socket sends only to the peer a supervised connect (or
         * socketpair) gave it: a name is refused or ignored, so nothing in memory can redirect it.
         * What could is another socket put at this descriptor number before the kernel reads it
         * again, and only a task sharing the descriptor table can: none, when the process has one
         * thread (it is here, in this call) and the filter refuses CLONE_FILES without
         * CLONE_THREAD (seccomp/policy.ts, "clone"). So the kernel sends it, as the sender: a
         * receiver with SO_PASSCRED gets the sender's pid (Chromium's zygote needs it), which a
         * send by the deputy would replace with the deputy's (rule S1, CONTINUE 4). */
        close(k.fd);
        e.act = "allow";
        sup_emit(s, &e);
        sup_answer_continue(s, id);
        return;
    }

    /* 2. The destination, decided on the copy: a unix path by the deputy, on the socket file it
     *    reaches; an abstract or unnamed one stays in the jail's network namespace; an IP one
     *    outside the jail is refused. A TCP fast open connects, and is refused whatever the address:
     *    only the deputy connects the jail's sockets (the redirect listener, whose connections must
     *    all come from it, is on the jail's loopback). */
    char sun[sizeof(((struct sockaddr_un *)0)->sun_path) + 2] = "";
    static struct tpath tp;
    const char *path = "";
    if (named && k.domain == AF_UNIX && ss.ss_family == AF_UNIX) {
        unix_path(&ss, namelen, sun, sizeof sun);
        e.path = sun[0] ? sun : NULL;
        if (unix_is_path(&ss, namelen)) {
            if (!unix_target(s, req, sc, sun, 0, &tp)) {
                close(k.fd);
                return;
            }
            path = tp.path;
            e.path = tp.path;
            named = 0; /* the deputy names the file it decided on */
        }
    } else if (named && (k.domain == AF_INET || k.domain == AF_INET6)) {
        struct inet in;
        if (inet_of(&ss, namelen, k.type == SOCK_DGRAM, &in) == 0 && in.fam != 0) {
            int fastopen = stream && (flags & MSG_FASTOPEN);
            if (!is_loopback(&in) || fastopen) {
                close(k.fd);
                deny_inet(s, id, &e, &in, k.type == SOCK_DGRAM);
                return;
            }
        }
    }

    /* 3. The data, copied once (a stream takes a partial send; a message is whole or EMSGSIZE),
     *    and the descriptors the message passes. */
    static unsigned char body[DEP_MAX_BODY];
    size_t off = named ? namelen : 0;
    if (named)
        memcpy(body, &ss, namelen);
    memcpy(body + off, control, (size_t)controllen);
    off += (size_t)controllen;
    int n;
    if (sc == SC_SENDTO) {
        size_t want = datalen > DEP_MAX_PAYLOAD && stream ? DEP_MAX_PAYLOAD : (size_t)datalen;
        n = datalen > DEP_MAX_PAYLOAD && !stream ? -EMSGSIZE : want > 0 ? sup_read_mem(tid, data, body + off, want) : 0;
        if (n == 0)
            n = (int)want;
    } else {
        n = gather(tid, iov, iovlen, body + off, stream);
    }
    int rights[DEP_MAX_RIGHTS];
    int nrights = 0;
    if (n >= 0 && controllen > 0) {
        nrights = take_rights(s, id, k.tgid, control, (size_t)controllen, rights);
        if (nrights < 0) {
            if (nrights == -EOPNOTSUPP)
                e.why = "socket";
            n = nrights;
            nrights = 0;
        }
    }
    if (n >= 0 && !sup_id_valid(s->listener, id))
        n = SUP_GONE;
    if (n < 0) {
        close(k.fd);
        for (int i = 0; i < nrights; i++)
            close(rights[i]);
        sup_fail(s, id, &e, n);
        return;
    }

    /* 4. The deputy sends it, as the jail. */
    struct job j;
    memset(&j, 0, sizeof j);
    j.h.op = DOP_SEND;
    j.h.flags = flags;
    j.h.a = named ? namelen : 0;
    j.h.b = controllen;
    j.h.payload_len = (uint32_t)(off + (size_t)n);
    j.payload = body;
    j.p1 = path;
    j.fd = k.fd;
    j.rights = rights;
    j.nrights = nrights;
    j.aux = msglen_addr;
    j.sigpipe = !(flags & MSG_NOSIGNAL);
    sup_post(s, req, sc, ANS_VALUE, 0, &j, e.path, NULL, 0, k.tgid);
    close(k.fd);
    for (int i = 0; i < nrights; i++)
        close(rights[i]);
}
