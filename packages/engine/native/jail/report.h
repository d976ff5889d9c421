/*
 * Reporting: every process of the helper (supervisor, jail init, server before execve) says what
 * happened as one line per event, "TYPE key=value ...\n", values percent-encoded so a path with
 * spaces or newlines cannot break the framing. The supervisor writes them to mcp-j's control fd;
 * jail processes write them to the jail socket and the supervisor relays them, so fd 3 has a
 * single writer and lines never interleave. Without a control fd (mcpj-jail run by hand or from
 * the benchmark) the lines go to stderr.
 */
#ifndef MCPJ_REPORT_H
#define MCPJ_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#define EXIT_SETUP 125   /* like env(1)/chroot(1): the jail could not be set up */
#define EXIT_NOEXEC 126  /* the command exists but could not be executed */
#define EXIT_NOTFOUND 127

/* Room for the longest report: a path of PATH_MAX bytes, each percent-encoded (three bytes), and
 * the short fields around it. A value that still does not fit is left out whole, never cut (a cut
 * path named another file), and the line then ends in " cut=1" (mcp-j takes what it misses as
 * unknown). */
#define LINE_MAX_BYTES (3 * 4096 + 2048)

struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
    int truncated;
};

void line_start(struct line *l, const char *type);
void line_str(struct line *l, const char *key, const char *value);
void line_int(struct line *l, const char *key, long long value);
/* Sends the line with one write(): a SEQPACKET record or an atomic pipe/socket write. */
void line_send(const struct line *l, int fd);

/* The fd lines go to in this process (control fd, jail socket, or 2). */
void report_set_fd(int fd);
int report_fd(void);

/* Start-up tracing (MCPJ_TRACE=1 in the helper's environment, which mcp-j passes on when it has
 * it; bench/startup-breakdown.mjs reads the lines): "mcpj-trace t=NS pid=PID phase=NAME" on
 * stderr, t from CLOCK_MONOTONIC (the clock of Node's process.hrtime), so the lines of mcp-j and
 * of every helper process fall on one time line. Off, each mark is one test of a flag. */
void trace_init(void);
int trace_on(void);
void trace_mark(const char *phase);
/* The same line with a detail ("k=v ..."), for counts. */
__attribute__((format(printf, 2, 3))) void trace_note(const char *phase, const char *fmt, ...);
unsigned long long trace_now_ns(void);

/* Reports "error step=STEP errno=ERR detail=..." and exits EXIT_SETUP. err 0: no errno. */
__attribute__((noreturn, format(printf, 3, 4))) void die_step(const char *step, int err, const char *fmt, ...);

#endif
