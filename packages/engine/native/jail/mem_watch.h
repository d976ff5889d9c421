/*
 * The whole-jail memory limit where no cgroup v2 controller can be had (docs/design.md,
 * "Resources"): the supervisor adds up what the jail's processes use, at a short interval, and
 * kills the jail when it is over the plan's limit. Per-process rlimits stay only as a generous
 * backstop (an address-space limit cannot tell reservations from use, and does not see a jail of
 * many processes, or memory in a memfd).
 *
 * What is counted, for every process of the jail (init's descendants, found through
 * /proc/PID/task/TID/children): anonymous resident memory and swap (/proc/PID/status RssAnon,
 * VmSwap), plus shared memory counted once: the larger of the processes' RssShmem and what the
 * jail's own tmpfs (/tmp, /dev) and its memfds hold (statfs; the memfds are found in /proc/PID/fd
 * every tenth tick, each inode once). Page cache of the host's files (/usr, the grants) is not the
 * jail's to pay for, as with the rlimits; cgroup v2 charges it, which is why that path is preferred.
 */
#ifndef MCPJ_MEM_WATCH_H
#define MCPJ_MEM_WATCH_H

#include <stdint.h>
#include <sys/types.h>

struct mem_watch;

/* limit: bytes; interval_ms: the period while the jail is below 3/4 of it (a quarter of it above). */
struct mem_watch *mem_watch_new(uint64_t limit, unsigned interval_ms, pid_t init);
/* The timer to poll. */
int mem_watch_fd(const struct mem_watch *w);
/* Called when the timer fires: returns 1 when the jail is over its limit (*used says by how much). */
int mem_watch_tick(struct mem_watch *w, uint64_t *used);

#endif
