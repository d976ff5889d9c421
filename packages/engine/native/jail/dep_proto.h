/*
 * What the supervisor and the deputy say to each other (docs/design.md, "The deputy").
 *
 * The supervisor runs in the host's namespaces and never acts on the jail's files or sockets
 * itself: every action it performs for a jailed process (open, create, the path operations,
 * connect, bind, a datagram to a unix path) is a job for the deputy, a process *inside* the jail
 * with exactly the jail's identity, Landlock domain, root and namespaces. A job travels as one
 * SEQPACKET record on a socketpair the deputy created (so it reaches nothing else), optionally
 * with descriptors (SCM_RIGHTS): the target's socket, or the file a target's /proc/self/fd/N
 * names, first; then, for a send, the descriptors the target's message carries. The answer is one
 * record with the job's id, optionally with the descriptor the deputy opened.
 *
 * Both sides spin briefly on two counters in a shared page before they sleep in recvmsg/poll
 * (cross-CPU wake-ups cost tens of microseconds on small VMs); the counters are hints only, the
 * records on the socket are the truth.
 */
#ifndef MCPJ_DEP_PROTO_H
#define MCPJ_DEP_PROTO_H

#include <stdint.h>

/* The most data the deputy sends for a target in one call (a stream gets a partial send beyond it;
 * a datagram, EMSGSIZE). */
#define DEP_MAX_PAYLOAD (64u << 10)
/* A message's control data and the descriptors it may pass (the kernel's SCM_MAX_FD). */
#define DEP_MAX_CONTROL 4096u
#define DEP_MAX_RIGHTS 253
/* A job's payload: at most an address, control data and the data. */
#define DEP_MAX_BODY (128u + DEP_MAX_CONTROL + DEP_MAX_PAYLOAD)
/* A job: header, up to two NUL-terminated paths, payload. */
#define DEP_MAX_JOB (sizeof(struct dep_job) + 2 * 4096 + DEP_MAX_BODY)

enum dep_op {
    DOP_OPEN = 1,    /* path1, flags, mode (umask applied); fd: reopen that file instead */
    DOP_EXEC = 2,    /* path1 (empty with fd: execveat AT_EMPTY_PATH), flags: AT_SYMLINK_NOFOLLOW */
    DOP_ADDR = 3,    /* fd: the target's socket; payload: the address (decided); sub: connect, bind, redirect */
    DOP_UNIX = 4,    /* fd: the target's socket; path1: the socket path (decided here); sub: connect, bind */
    DOP_SEND = 7,    /* fd: the target's socket, then the descriptors to pass; path1: a unix socket path
                      * (decided here) or empty; payload: a bytes of address, b bytes of control data
                      * (SCM_RIGHTS slots filled with the passed descriptors, in order), the data;
                      * flags: sendmsg's */
    DOP_PATH = 5,    /* sub: one of dep_path_op */
    DOP_CANCEL = 6,  /* a = the id of the job to interrupt (its target is gone) */
};

/* DNET_REDIRECT: connect to the egress proxy's redirect listener (the payload) instead of the
 * address the target gave; the result's val is the local port the socket got, real its local
 * address (what the proxy sees as the peer: sup_net.c). */
enum dep_net_sub { DNET_CONNECT = 1, DNET_BIND = 2, DNET_REDIRECT = 4 };

/* The path operations, each emulated with the *at() call that takes the resolved directory. */
enum dep_path_op {
    DP_UNLINK = 1,   /* path1; flags: AT_REMOVEDIR for rmdir */
    DP_MKDIR = 2,    /* path1, mode */
    DP_MKNOD = 3,    /* path1, mode, a = dev */
    DP_SYMLINK = 4,  /* path1 = the new name, path2 = the link's target (a string, never resolved) */
    DP_LINK = 5,     /* path1 -> path2, flags: AT_SYMLINK_FOLLOW */
    DP_RENAME = 6,   /* path1 -> path2, flags: RENAME_* */
    DP_CHMOD = 7,    /* path1, mode, flags: AT_SYMLINK_NOFOLLOW */
    DP_CHOWN = 8,    /* path1, a = uid, b = gid (jail ids, -1 unchanged), flags: AT_SYMLINK_NOFOLLOW */
    DP_UTIMES = 9,   /* path1, payload: 2 struct timespec or empty (now), flags: AT_SYMLINK_NOFOLLOW */
    DP_TRUNCATE = 10, /* path1, a = length */
    DP_SETXATTR = 11, /* path1, path2 = name, payload = value, flags: XATTR_*, b: 1 = don't follow */
    DP_REMOVEXATTR = 12, /* path1, path2 = name, b: 1 = don't follow */
};

struct dep_job {
    uint32_t id;
    uint16_t op;
    uint16_t sub;
    int32_t flags;
    uint32_t mode;
    uint32_t len1, len2, payload_len; /* string lengths without their NUL; payload bytes */
    int32_t nspid;   /* the target's pid in the jail (its own /proc/PID is not another process's) */
    uint32_t umask;  /* the target's umask, for what the job creates */
    uint64_t a, b;
};

/* Why a job was refused: carried to the supervisor's event ("why=..."). */
enum dep_why {
    WHY_NONE = 0,
    WHY_GLOB,      /* a deny glob matched the object reached (rule = its index + 1) */
    WHY_READONLY,  /* the grant does not give the right asked for */
    WHY_OUTSIDE,   /* no grant covers the object */
    WHY_KERNEL,    /* the kernel refused (Landlock, mode bits, a read-only mount) */
    WHY_LINK,      /* a magic link or a symlink loop */
    WHY_EXEC,      /* not on the exec allowlist */
    WHY_FD,        /* execveat of a descriptor without a jail path (memfd, deleted file) */
    WHY_PROC,      /* another process's private /proc entry, or the deputy's own */
    WHY_SOCKET,    /* control data the deputy cannot send as the target (credentials) */
};

struct dep_result {
    uint32_t id;
    int32_t err;      /* 0 or an errno */
    int64_t val;      /* the call's value when it is not a descriptor (bytes sent) */
    uint8_t why;      /* enum dep_why */
    uint8_t has_fd;   /* a descriptor rides with the record */
    uint16_t rule;    /* deny glob index + 1, 0 for none */
    uint32_t real_len; /* bytes of the path reached, which follow (no NUL) */
};

/* The shared page: hints for spinning, nothing else. */
struct dep_shared {
    uint32_t posted;  /* jobs the supervisor sent */
    uint32_t done;    /* results the deputy sent */
};

/* Spinning before sleeping saves two cross-CPU wake-ups per job (about 20-40 us each on an idle
 * 2-vCPU VM) when the other side is running on the other CPU. When it is not (a loaded machine:
 * other processes hold the CPUs, the deputy waits for one), a spin only takes the CPU it waits
 * for: measured with the machine's two CPUs busy (load 8-15, other processes running), a notified
 * open cost 125-375 us with a fixed spin of 4000 pauses (a pause is 50-70 ns there), 55-290 us with
 * none, 45-70 us with the spin below (alternated runs of a loop of opens in a jail).
 * So each side's spin adapts to what its waits take: a wait the spin saw end sets the next spins to
 * twice its length (never shorter than they were); a spin that runs out halves them (down to
 * DEP_SPINS_MIN, a few microseconds). One wait in DEP_SPINS_PROBE spins the full DEP_SPINS, so that
 * a machine that became idle is noticed (on a loaded one that costs a few microseconds a wait). */
#ifndef DEP_SPINS
#define DEP_SPINS 4000
#endif
#define DEP_SPINS_MIN 32
#define DEP_SPINS_PROBE 64

struct dep_spinner {
    int budget;      /* 0: not started */
    unsigned waits;
};

/* Waits (a bounded spin) until *counter is no longer seen. */
static inline void dep_spin(struct dep_spinner *sp, const uint32_t *counter, uint32_t seen)
{
    if (sp->budget < DEP_SPINS_MIN)
        sp->budget = DEP_SPINS_MIN;
    int limit = sp->waits++ % DEP_SPINS_PROBE == 0 ? DEP_SPINS : sp->budget;
    for (int i = 0; i < limit; i++) {
        if (__atomic_load_n(counter, __ATOMIC_ACQUIRE) != seen) {
            int want = 2 * i + DEP_SPINS_MIN;
            if (want > sp->budget)
                sp->budget = want > DEP_SPINS ? DEP_SPINS : want;
            return;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield");
#endif
    }
    sp->budget = sp->budget / 2 < DEP_SPINS_MIN ? DEP_SPINS_MIN : sp->budget / 2;
}

#endif
