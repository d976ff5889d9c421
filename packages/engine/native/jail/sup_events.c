#include "sup_events.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void sup_events_init(struct sup_events *e, int fd)
{
    memset(e, 0, sizeof *e);
    e->fd = fd;
    struct stat st;
    e->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    e->buf = malloc(SUP_EVENTS_CAP);
    if (e->buf == NULL)
        die_step("supervisor", ENOMEM, "out of memory");
}

/* Appends s (n bytes), then `tail` if not NULL, then the newline: all of it, or nothing. */
static int append(struct sup_events *e, const char *s, size_t n, const char *tail)
{
    size_t t = tail != NULL ? strlen(tail) : 0;
    if (SUP_EVENTS_CAP - e->len < n + t + 1)
        return -1;
    memcpy(e->buf + e->len, s, n);
    memcpy(e->buf + e->len + n, tail != NULL ? tail : "", t);
    e->buf[e->len + n + t] = '\n';
    e->len += n + t + 1;
    return 0;
}

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int sup_events_emit(struct sup_events *e, const struct line *l)
{
    if (e->dropped > e->dropped_reported) {
        char msg[128];
        int n = snprintf(msg, sizeof msg, "ev act=dropped count=%llu mono=%lld", e->dropped - e->dropped_reported, e->first_drop_ns);
        if (append(e, msg, (size_t)n, NULL) < 0)
            goto drop;
        e->dropped_reported = e->dropped;
    }
    /* A line with a value left out says so (report.h), as line_send would. */
    if (append(e, l->buf, l->len, l->truncated ? " cut=1" : NULL) == 0)
        return 0;
drop:
    if (e->dropped == e->dropped_reported)
        e->first_drop_ns = mono_ns();
    e->dropped++;
    return -1;
}

int sup_events_emit_raw(struct sup_events *e, const char *s, size_t n)
{
    if (n == 0 || SUP_EVENTS_CAP - e->len < n)
        return -1;
    memcpy(e->buf + e->len, s, n);
    e->len += n;
    return 0;
}

int sup_events_full(const struct sup_events *e) { return e->len >= SUP_EVENTS_SOFT; }

int sup_events_pending(const struct sup_events *e) { return e->len > 0; }

void sup_events_flush(struct sup_events *e, int block)
{
    size_t off = 0;
    while (off < e->len) {
        ssize_t w;
        if (e->is_socket)
            w = send(e->fd, e->buf + off, e->len - off, MSG_NOSIGNAL | (block ? 0 : MSG_DONTWAIT));
        else
            w = write(e->fd, e->buf + off, e->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && block) {
            struct pollfd p = { .fd = e->fd, .events = POLLOUT };
            if (poll(&p, 1, 1000) <= 0)
                break;
            continue;
        }
        if (w <= 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                off = e->len; /* mcp-j is gone: nobody to tell */
            break;
        }
        off += (size_t)w;
    }
    memmove(e->buf, e->buf + off, e->len - off);
    e->len -= off;
}
