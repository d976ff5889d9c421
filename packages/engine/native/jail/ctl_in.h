/*
 * What mcp-j sends on the control fd once the plan is read. One request: "sync N\n", asking to be
 * told when every report made before it has reached the control fd. The answer, "synced n=N", goes
 * through the supervisor's event queue (sup_events.h), after the events queued before it, so when
 * mcp-j reads it, it has read them all. Attribution waits for it before it forwards a tool call's
 * result (docs/audit.md): the supervisor reports a call's decisions before it answers them, but
 * they may still be queued here, or in the socket behind the server's answer, when mcp-j reads that
 * answer from the server's pipe.
 */
#ifndef MCPJ_CTL_IN_H
#define MCPJ_CTL_IN_H

#include <stddef.h>

struct ctl_in {
    char buf[128];
    size_t len;
    int skip; /* inside a line that overflowed buf: dropped up to its newline */
};

/* Reads what the control fd holds now (never blocks). Returns the highest N of the whole "sync N"
 * lines read (0: none), or -1 once mcp-j has closed its end (nothing more will come). Other lines
 * are ignored; a line longer than the buffer is dropped. */
long long ctl_in_read(struct ctl_in *c, int fd);

#endif
