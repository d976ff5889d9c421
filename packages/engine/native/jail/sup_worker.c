#include "sup_worker.h"
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { W_IDLE = 0, W_POSTED = 1, W_DONE = 2, W_INIT = 3 };

/* Spinning before sleeping saves a futex wake-up and a context switch per job. Measured on the
 * 2-vCPU development VMs (bench/openat.bench.mjs): without spinning an intercepted open costs
 * +58..86 us (cross-CPU wake-ups are slow there), with ~2000 pauses on both sides +12 us, and
 * start-up (few, spread-out opens) is about the same either way. */
#ifndef SPINS_DONE
#define SPINS_DONE 2000
#endif
#ifndef SPINS_IDLE
#define SPINS_IDLE 2000
#endif

static void futex_wait(uint32_t *word, uint32_t val)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static uint32_t load(uint32_t *w) { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }
static void store(uint32_t *w, uint32_t v) { __atomic_store_n(w, v, __ATOMIC_RELEASE); }

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static void wait_until(uint32_t *w, uint32_t want, int spins)
{
    for (int i = 0; i < spins; i++) {
        if (load(w) == want)
            return;
        cpu_relax();
    }
    for (;;) {
        uint32_t v = load(w);
        if (v == want)
            return;
        futex_wait(w, v);
    }
}

/* The jail's own Landlock ruleset, its rule paths opened beneath the jail's root: the opener is
 * then bound exactly as the jailed process is (landlock.c builds both). */
static int restrict_landlock(struct sup_worker *w)
{
    const struct plan *p = w->plan;
    const char *step = "";
    int fd;
    int r = landlock_build(p, w->root_fd, &w->landlock_abi, &fd, &step);
    if (r < 0) {
        w->init_step = "landlock ruleset";
        return r;
    }
    if (fd < 0) {
        /* No Landlock: the jail itself started, so the plan allows running without it. */
        return p->ll_min_abi == 0 ? 0 : (w->init_step = "landlock", -ENOSYS);
    }
    /* no_new_privs and Landlock domains are per thread: the loop thread keeps its rights. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, fd, 0) < 0) {
        int e = errno;
        close(fd);
        return w->init_step = "landlock restrict", -e;
    }
    close(fd);
    return 0;
}

static int take_identity(struct sup_worker *w)
{
    /* A private fs_struct: umask(0) here (the creating job applies the target's umask itself)
     * must not change the loop thread's. */
    if (unshare(CLONE_FS) < 0)
        return w->init_step = "unshare(CLONE_FS)", -errno;
    umask(0);
    /* setfsuid/setfsgid and capset are per thread at the syscall level (glibc broadcasts
     * setuid() to every thread, but not these). setfsuid reports the previous value; check. */
    setfsgid(w->plan->host_gid);
    if ((uint32_t)setfsgid((gid_t)-1) != w->plan->host_gid)
        return w->init_step = "setfsgid", -EPERM;
    setfsuid(w->plan->host_uid);
    if ((uint32_t)setfsuid((uid_t)-1) != w->plan->host_uid)
        return w->init_step = "setfsuid", -EPERM;
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return w->init_step = "capset", -errno;
    return 0;
}

static void *worker_main(void *arg)
{
    struct sup_worker *w = arg;
    int r = take_identity(w);
    if (r == 0 && w->landlock)
        r = restrict_landlock(w);
    w->init_err = -r;
    store(&w->state, W_DONE);
    futex_wake(&w->state);
    if (r < 0)
        return NULL;
    for (;;) {
        wait_until(&w->state, W_POSTED, SPINS_IDLE);
        w->fn(w->arg);
        store(&w->state, W_DONE);
        futex_wake(&w->state);
    }
    return NULL;
}

int sup_worker_start(struct sup_worker *w, const struct plan *p, int root_fd, int landlock)
{
    memset(w, 0, sizeof *w);
    w->plan = p;
    w->root_fd = root_fd;
    w->landlock = landlock;
    w->state = W_INIT;
    if ((errno = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
        w->init_err = errno;
        w->init_step = "pthread_create";
        return -1;
    }
    wait_until(&w->state, W_DONE, SPINS_DONE);
    if (w->init_err != 0) {
        pthread_join(w->thread, NULL);
        return -1;
    }
    store(&w->state, W_IDLE);
    return 0;
}

void sup_worker_run(struct sup_worker *w, void (*fn)(void *), void *arg)
{
    w->fn = fn;
    w->arg = arg;
    store(&w->state, W_POSTED);
    futex_wake(&w->state);
    wait_until(&w->state, W_DONE, SPINS_DONE);
    store(&w->state, W_IDLE);
}
