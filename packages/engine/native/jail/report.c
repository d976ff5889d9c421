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

/* What stays free at the end of every line: " cut=1" and the newline. */
#define LINE_TAIL 7

/* Whether n more bytes fit before the tail. */
static int line_fits(const struct line *l, size_t n) { return l->len + n + LINE_TAIL <= sizeof l->buf; }

/* Appends n bytes the caller checked with line_fits(). */
static void line_put(struct line *l, const char *s, size_t n)
{
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Each key=value goes in whole or not at all: a value cut short would be another value. */
static void line_left_out(struct line *l) { l->truncated = 1; }

void line_start(struct line *l, const char *type)
{
    l->len = 0;
    l->truncated = 0;
    size_t n = strlen(type);
    if (line_fits(l, n))
        line_put(l, type, n);
}

/* Encode what would break "k=v k=v\n" framing, and anything non-ASCII. */
static int line_encoded(unsigned char c) { return c <= 0x20 || c >= 0x7f || c == '%' || c == '='; }

void line_str(struct line *l, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t klen = strlen(key), vlen = 0;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        vlen += line_encoded(*p) ? 3 : 1;
    if (!line_fits(l, 2 + klen + vlen)) {
        line_left_out(l);
        return;
    }
    line_put(l, " ", 1);
    line_put(l, key, klen);
    line_put(l, "=", 1);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (line_encoded(*p)) {
            char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            line_put(l, enc, 3);
        } else {
            line_put(l, (const char *)p, 1);
        }
    }
}

void line_int(struct line *l, const char *key, long long value)
{
    char num[64];
    int n = snprintf(num, sizeof num, " %s=%lld", key, value);
    if (n <= 0 || (size_t)n >= sizeof num || !line_fits(l, (size_t)n)) {
        line_left_out(l);
        return;
    }
    line_put(l, num, (size_t)n);
}

/* The line as sent: " cut=1" when a value was left out (the tail kept room for it). */
static size_t line_finish(const struct line *l, char *out)
{
    memcpy(out, l->buf, l->len);
    size_t n = l->len;
    if (l->truncated) {
        memcpy(out + n, " cut=1", 6);
        n += 6;
    }
    return n;
}

void line_send(const struct line *l, int fd)
{
    char out[sizeof l->buf];
    size_t n = line_finish(l, out);
    out[n] = '\n';
    /* One write: atomic on pipes and one record on SEQPACKET. A failure here has nowhere left to
     * be reported; the exit code still tells mcp-j that something went wrong. */
    ssize_t r;
    do {
        r = write(fd, out, n + 1);
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
