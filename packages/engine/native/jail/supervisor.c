/*
 * Placeholder until the supervision issue lands: every notified syscall fails with ENOSYS, which is
 * exactly what the kernel does when no supervisor listens (fail closed). TypeScript does not ask
 * for notification yet (the compiled filter only returns errno/kill), so this is never reached in
 * normal use.
 */
#include "supervisor.h"
#include "report.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

struct supervisor {
    int event_fd;
};

struct supervisor *supervisor_new(const struct plan *p, pid_t init_pid, int event_fd)
{
    (void)p;
    (void)init_pid;
    struct supervisor *s = calloc(1, sizeof *s);
    if (s == NULL)
        die_step("supervisor", ENOMEM, "out of memory");
    s->event_fd = event_fd;
    return s;
}

int supervisor_on_ready(struct supervisor *s, int listener)
{
    (void)s;
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return errno == ENOENT || errno == EINTR ? 0 : -1;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.error = -ENOSYS;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
        return -1;
    return 0;
}
