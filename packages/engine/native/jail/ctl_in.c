#include "ctl_in.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* N from "sync N" (decimal, 1 to 18 digits), or 0 when the line is anything else. */
static long long sync_number(const char *s, size_t n)
{
    if (n < 6 || n > 5 + 18 || memcmp(s, "sync ", 5) != 0)
        return 0;
    long long v = 0;
    for (size_t i = 5; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

long long ctl_in_read(struct ctl_in *c, int fd)
{
    long long best = 0;
    for (;;) {
        /* MSG_DONTWAIT: the fd is also written with blocking sends (line_send); only this read
         * must not wait. */
        ssize_t r = recv(fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return best;
        if (r <= 0)
            return -1; /* mcp-j closed its end, or the socket failed: nothing more to read */
        c->len += (size_t)r;
        size_t start = 0;
        for (char *nl; (nl = memchr(c->buf + start, '\n', c->len - start)) != NULL; start = (size_t)(nl - c->buf) + 1) {
            long long n = c->skip ? 0 : sync_number(c->buf + start, (size_t)(nl - (c->buf + start)));
            c->skip = 0;
            if (n > best)
                best = n;
        }
        /* Keep the partial line; one that fills the buffer cannot be a request: drop it. */
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
        if (c->len == sizeof c->buf) {
            c->len = 0;
            c->skip = 1;
        }
    }
}
