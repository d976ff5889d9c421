#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_report_fd = 2;

void report_set_fd(int fd) { g_report_fd = fd; }

/* Read once in main, before clone: every process of the helper inherits it. */
static int g_trace;

void trace_init(void)
{
    const char *v = getenv("MCPJ_TRACE");
    g_trace = v != NULL && strcmp(v, "1") == 0;
}

int trace_on(void) { return g_trace; }

unsigned long long trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

void trace_note(const char *phase, const char *fmt, ...)
{
    if (!g_trace)
        return;
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    char out[768];
    int n = snprintf(out, sizeof out, "mcpj-trace t=%llu pid=%d phase=%s%s%s\n", trace_now_ns(), (int)getpid(), phase,
                     detail[0] ? " " : "", detail);
    if (n <= 0)
        return;
    /* stderr, one write; nothing to do if it fails (tracing never changes what the helper does). */
    ssize_t r = write(2, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
    (void)r;
}

void trace_mark(const char *phase)
{
    if (g_trace)
        trace_note(phase, "%s", "");
}
int report_fd(void) { return g_report_fd; }

static void put(struct line *l, const char *s, size_t n)
{
    /* Keep one byte for the newline; a line that does not fit is cut, never overflowed. */
    if (l->len + n + 1 > sizeof l->buf) {
        n = sizeof l->buf - 1 - l->len;
        l->truncated = 1;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

void line_start(struct line *l, const char *type)
{
    l->len = 0;
    l->truncated = 0;
    put(l, type, strlen(type));
}

void line_str(struct line *l, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    put(l, " ", 1);
    put(l, key, strlen(key));
    put(l, "=", 1);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        /* Encode what would break "k=v k=v\n" framing, and anything non-ASCII. */
        if (*p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '=') {
            char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            put(l, enc, 3);
        } else {
            put(l, (const char *)p, 1);
        }
    }
}

void line_int(struct line *l, const char *key, long long value)
{
    char num[32];
    int n = snprintf(num, sizeof num, " %s=%lld", key, value);
    if (n > 0)
        put(l, num, (size_t)n < sizeof num ? (size_t)n : sizeof num - 1);
}

void line_send(const struct line *l, int fd)
{
    char out[sizeof l->buf];
    memcpy(out, l->buf, l->len);
    out[l->len] = '\n';
    /* One write: atomic on pipes and one record on SEQPACKET. A failure here has nowhere left to
     * be reported; the exit code still tells mcp-j that something went wrong. */
    ssize_t r;
    do {
        r = write(fd, out, l->len + 1);
    } while (r < 0 && errno == EINTR);
}

void die_step(const char *step, int err, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    struct line l;
    line_start(&l, "error");
    line_str(&l, "step", step);
    line_int(&l, "errno", err);
    line_str(&l, "detail", detail);
    line_send(&l, g_report_fd);
    _exit(EXIT_SETUP);
}
