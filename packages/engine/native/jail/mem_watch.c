#include "mem_watch.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Processes followed at the most: the pids limit is far below it. */
#define MAX_PROCS 65536
/* Distinct memfd inodes counted at the most per scan (more are counted as they come). */
#define MAX_MEMFDS 4096

struct mem_watch {
    uint64_t limit;
    unsigned interval_ms;
    unsigned current_ms;
    pid_t init;
    int timer;
    unsigned tick;
    uint64_t memfd_bytes;
    pid_t *pids;
    size_t npids;
    struct {
        dev_t dev;
        ino_t ino;
    } seen[MAX_MEMFDS];
};

static void arm(struct mem_watch *w, unsigned ms)
{
    if (ms == w->current_ms)
        return;
    struct itimerspec it = { .it_interval = { ms / 1000, (long)(ms % 1000) * 1000000L } };
    it.it_value = it.it_interval;
    if (timerfd_settime(w->timer, 0, &it, NULL) < 0)
        die_step("memory", errno, "timerfd_settime");
    w->current_ms = ms;
}

struct mem_watch *mem_watch_new(uint64_t limit, unsigned interval_ms, pid_t init)
{
    struct mem_watch *w = calloc(1, sizeof *w);
    if (w == NULL || (w->pids = malloc(MAX_PROCS * sizeof *w->pids)) == NULL)
        die_step("memory", ENOMEM, "out of memory");
    w->limit = limit;
    w->interval_ms = interval_ms > 0 ? interval_ms : 50;
    w->init = init;
    w->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (w->timer < 0)
        die_step("memory", errno, "timerfd_create");
    arm(w, w->interval_ms);
    return w;
}

int mem_watch_fd(const struct mem_watch *w) { return w->timer; }

/* Reads a small /proc file into buf. Returns its length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return n;
}

/* init and its descendants: children of every thread of every process found so far. */
static void collect(struct mem_watch *w)
{
    w->npids = 0;
    w->pids[w->npids++] = w->init;
    char path[64], buf[8192];
    for (size_t i = 0; i < w->npids; i++) {
        snprintf(path, sizeof path, "/proc/%d/task", (int)w->pids[i]);
        DIR *d = opendir(path);
        if (d == NULL)
            continue; /* gone meanwhile */
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            char cpath[320];
            snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)w->pids[i], e->d_name);
            if (slurp(cpath, buf, sizeof buf) <= 0)
                continue;
            for (char *p = buf, *end; *p;) {
                long pid = strtol(p, &end, 10);
                if (end == p)
                    break;
                if (pid > 0 && w->npids < MAX_PROCS)
                    w->pids[w->npids++] = (pid_t)pid;
                p = end;
            }
        }
        closedir(d);
    }
}

/* RssAnon + VmSwap and RssShmem of one process, in bytes. */
static void process_memory(pid_t pid, uint64_t *private_bytes, uint64_t *shmem_bytes)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (slurp(path, buf, sizeof buf) <= 0)
        return;
    for (char *l = buf; l != NULL && *l;) {
        char *nl = strchr(l, '\n');
        unsigned long long kb;
        if (sscanf(l, "RssAnon: %llu", &kb) == 1 || sscanf(l, "VmSwap: %llu", &kb) == 1)
            *private_bytes += kb * 1024;
        else if (sscanf(l, "RssShmem: %llu", &kb) == 1)
            *shmem_bytes += kb * 1024;
        l = nl ? nl + 1 : NULL;
    }
}

/* What the jail's own tmpfs mounts hold, seen through one of its processes' root. Not init's:
 * until it has built the jail, its root is still the host's (whose /tmp is not the jail's), and
 * its children exist only once the jail's root is in place. */
static uint64_t tmpfs_bytes(const struct mem_watch *w)
{
    static const char *const mounts[] = { "tmp", "dev" };
    for (size_t i = 1; i < w->npids; i++) {
        uint64_t total = 0;
        int ok = 1;
        for (size_t m = 0; m < sizeof mounts / sizeof mounts[0] && ok; m++) {
            char path[64];
            struct statfs sf;
            snprintf(path, sizeof path, "/proc/%d/root/%s", (int)w->pids[i], mounts[m]);
            if (statfs(path, &sf) < 0)
                ok = 0; /* init is not ours to look into when unprivileged: the next one */
            else
                total += (uint64_t)(sf.f_blocks - sf.f_bfree) * (uint64_t)sf.f_bsize;
        }
        if (ok)
            return total;
    }
    return 0;
}

/* What the jail's memfds hold, each inode once (a memfd need not be mapped to use memory). */
static uint64_t memfd_scan(struct mem_watch *w)
{
    size_t nseen = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < w->npids; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd", (int)w->pids[i]);
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            continue;
        DIR *d = fdopendir(dfd);
        if (d == NULL) {
            close(dfd);
            continue;
        }
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            char target[64];
            ssize_t n = readlinkat(dfd, e->d_name, target, sizeof target - 1);
            if (n < 7 || memcmp(target, "/memfd:", 7) != 0)
                continue;
            struct stat st;
            if (fstatat(dfd, e->d_name, &st, 0) < 0)
                continue;
            size_t k = 0;
            while (k < nseen && !(w->seen[k].dev == st.st_dev && w->seen[k].ino == st.st_ino))
                k++;
            if (k < nseen)
                continue;
            if (nseen < MAX_MEMFDS) {
                w->seen[nseen].dev = st.st_dev;
                w->seen[nseen].ino = st.st_ino;
                nseen++;
            }
            total += (uint64_t)st.st_blocks * 512;
        }
        closedir(d);
    }
    return total;
}

int mem_watch_tick(struct mem_watch *w, uint64_t *used)
{
    uint64_t expirations;
    if (read(w->timer, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        die_step("memory", errno, "timerfd read");
    collect(w);
    uint64_t private_bytes = 0, shmem_bytes = 0;
    for (size_t i = 0; i < w->npids; i++)
        process_memory(w->pids[i], &private_bytes, &shmem_bytes);
    /* memfds: every tenth tick (a directory walk per process), remembered in between. */
    if (w->tick++ % 10 == 0)
        w->memfd_bytes = memfd_scan(w);
    /* Shared memory once: mapped (RssShmem) or held (tmpfs, memfds), whichever is larger. */
    uint64_t held = tmpfs_bytes(w) + w->memfd_bytes;
    *used = private_bytes + (shmem_bytes > held ? shmem_bytes : held);
    /* Close to the limit, look four times as often. */
    arm(w, *used > w->limit / 4 * 3 ? (w->interval_ms + 3) / 4 : w->interval_ms);
    return *used > w->limit;
}
