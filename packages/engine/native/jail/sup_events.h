/*
 * The supervisor's audit events: "ev k=v ..." lines (report.h's format) queued in a bounded buffer
 * and written to mcp-j's control fd without ever blocking the notification loop. Past
 * SUP_EVENTS_SOFT queued bytes the supervisor takes no new notification (sup_events_full): the
 * jail's calls wait in the kernel until mcp-j has read what is queued, so a jail that makes calls
 * faster than mcp-j reads their reports is slowed down, and no report is lost (a lost report would
 * hide a touch from the pins, a refusal from the notes, a line from the audit log). The room above
 * it takes the events of the work already under way (at most MAX_PENDING jobs, two lines each).
 * Should the buffer still fill, an event is dropped and counted, and the count reported as soon as
 * there is room again ("ev act=dropped count=N mono=NS", mono: when the first was lost).
 */
#ifndef MCPJ_SUP_EVENTS_H
#define MCPJ_SUP_EVENTS_H

#include "report.h"

#include <stddef.h>

#define SUP_EVENTS_SOFT (256u << 10)
#define SUP_EVENTS_CAP (SUP_EVENTS_SOFT + 256u * 2u * LINE_MAX_BYTES)

struct sup_events {
    int fd;
    int is_socket; /* send(MSG_DONTWAIT) works; otherwise (stderr by hand) plain writes */
    char *buf;
    size_t len;
    unsigned long long dropped, dropped_reported;
    long long first_drop_ns; /* CLOCK_MONOTONIC of the first event lost since the last count */
};

void sup_events_init(struct sup_events *e, int fd);
/* Queues one line (l must not be sent elsewhere). Never blocks. Returns 0, or -1 when it was
 * dropped (counted). */
int sup_events_emit(struct sup_events *e, const struct line *l);
/* Queues a whole line of another process (a relayed report, ending in a newline) as is. Returns 0,
 * or -1 without room (nothing queued). */
int sup_events_emit_raw(struct sup_events *e, const char *s, size_t n);
/* Past SUP_EVENTS_SOFT: take no new notification until mcp-j has read more. */
int sup_events_full(const struct sup_events *e);
/* Writes what the fd accepts now; block != 0 waits until everything is written (exit paths). */
void sup_events_flush(struct sup_events *e, int block);
int sup_events_pending(const struct sup_events *e);

#endif
