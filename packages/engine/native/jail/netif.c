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

void netif_send_listener(uint32_t port, int sock)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        die_step("network", errno, "socket for the egress proxy");
    int one = 1;
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die_step("network", errno, "SO_REUSEADDR");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
        die_step("network", errno, "cannot bind the egress proxy to 127.0.0.1:%u", port);
    if (listen(l, 128) < 0)
        die_step("network", errno, "listen");

    int r = fdpass_send(sock, 'L', l);
    if (r < 0)
        die_step("network", -r, "cannot hand the egress listener to the supervisor");
    close(l);
}
