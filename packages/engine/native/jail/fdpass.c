#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int fdpass_send_record_fds(int sock, const void *buf, size_t len, const int *fds, int n, int flags)
{
    if (n < 0 || n > 254)
        return -EINVAL;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(254 * sizeof(int))];
    } cm;
    memset(&cm, 0, sizeof cm);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (n > 0) {
        msg.msg_control = cm.buf;
        msg.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
    }
    ssize_t r;
    do
        r = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

int fdpass_send_record(int sock, const void *buf, size_t len, int fd, int flags)
{
    return fdpass_send_record_fds(sock, buf, len, &fd, fd >= 0 ? 1 : 0, flags);
}

int fdpass_send(int sock, char tag, int fd)
{
    return fdpass_send_record(sock, &tag, 1, fd, 0);
}
