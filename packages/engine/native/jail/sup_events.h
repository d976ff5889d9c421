/*
 * The supervisor's audit events: "ev k=v ..." lines (report.h's format) queued in a bounded buffer
 * and written to mcp-j's control fd without ever blocking the notification loop. When the buffer
 * is full an event is dropped and counted; the count is reported as soon as there is room again
 * ("ev act=dropped count=N").
 */
#ifndef MCPJ_SUP_EVENTS_H
#define MCPJ_SUP_EVENTS_H

#include "report.h"

#include <stddef.h>

#define SUP_EVENTS_CAP (256u << 10)

struct sup_events {
    int fd;
    int is_socket; /* send(MSG_DONTWAIT) works; otherwise (stderr by hand) plain writes */
    char *buf;
    size_t len;
    unsigned long long dropped, dropped_reported;
};

void sup_events_init(struct sup_events *e, int fd);
/* Queues one line (l must not be sent elsewhere). Never blocks. */
void sup_events_emit(struct sup_events *e, const struct line *l);
/* Writes what the fd accepts now; block != 0 waits until everything is written (exit paths). */
void sup_events_flush(struct sup_events *e, int block);
int sup_events_pending(const struct sup_events *e);

#endif
