/*
 * The jail's network namespace: lo brought up, and the sockets mcp-j serves from the host side,
 * made here so that they live in the jail's namespace (the jail reaches them on its own loopback,
 * and nothing else): the egress proxy's listener, the resolver's UDP socket, the proxy's redirect
 * listener (docs/design.md, "Network"). Each is sent over the jail socket with a one-byte tag
 * (SCM_RIGHTS) and closed here; the supervisor forwards it to mcp-j with the same tag.
 */
#include "netif.h"
#include "fdpass.h"
#include "report.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

void netif_loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die_step("network", errno, "socket for configuring lo");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        die_step("network", errno, "cannot read the flags of lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        die_step("network", errno, "cannot bring lo up");
    close(s);
}

static void send_socket(int sock, char tag, int fd, const char *what)
{
    int r = fdpass_send(sock, tag, fd);
    if (r < 0)
        die_step("network", -r, "cannot hand the %s to the supervisor", what);
    close(fd);
}

static void check_port(uint32_t port, const char *what)
{
    if (port == 0 || port > 65535)
        die_step("network", EINVAL, "bad port %u for the %s", port, what);
}

/* A TCP listener on 127.0.0.1:port. */
static int listen_v4(uint32_t port, const char *what)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        die_step("network", errno, "socket for the %s", what);
    int one = 1;
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die_step("network", errno, "SO_REUSEADDR");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
        die_step("network", errno, "cannot bind the %s to 127.0.0.1:%u", what, port);
    return l;
}

/* The redirect listener: on the IPv6 wildcard with IPv4 mapped in (the namespace has only lo, so
 * that is 127.0.0.1 and ::1), so that the deputy can connect a socket of either family to it.
 * A kernel without IPv6 has no IPv6 sockets to redirect: 127.0.0.1 then. */
static int listen_dual(uint32_t port, const char *what)
{
    int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 && errno == EAFNOSUPPORT)
        return listen_v4(port, what);
    if (l < 0)
        die_step("network", errno, "socket for the %s", what);
    int one = 1, zero = 0;
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0)
        die_step("network", errno, "options of the %s", what);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT };
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
        die_step("network", errno, "cannot bind the %s to port %u", what, port);
    return l;
}

void netif_send_sockets(const struct plan *p, int sock)
{
    /* Made before the identity change: a port below 1024 (the resolver's 53) needs the
     * namespace's CAP_NET_BIND_SERVICE, which no jail process has later. Not SO_REUSEPORT, and
     * the UDP socket not SO_REUSEADDR either: nothing in the jail can bind beside them. */
    if (p->net_listen_port != 0) {
        check_port(p->net_listen_port, "egress proxy");
        int l = listen_v4(p->net_listen_port, "egress proxy");
        if (listen(l, 128) < 0)
            die_step("network", errno, "listen");
        send_socket(sock, 'L', l, "egress listener");
    }
    if (p->net_redirect_port != 0) {
        check_port(p->net_redirect_port, "redirect listener");
        int l = listen_dual(p->net_redirect_port, "redirect listener");
        if (listen(l, 512) < 0)
            die_step("network", errno, "listen");
        send_socket(sock, 'R', l, "redirect listener");
    }
    if (p->net_dns_port != 0) {
        check_port(p->net_dns_port, "resolver");
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (u < 0)
            die_step("network", errno, "socket for the resolver");
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->net_dns_port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(u, (struct sockaddr *)&a, sizeof a) < 0)
            die_step("network", errno, "cannot bind the resolver to 127.0.0.1:%u", p->net_dns_port);
        send_socket(sock, 'N', u, "resolver socket");
    }
}
