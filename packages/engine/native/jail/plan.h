/*
 * The plan: everything mcpj-jail does, computed by TypeScript (src/jail/plan.ts) and sent as a
 * sequence of records. The helper applies it; it decides nothing about policy itself.
 *
 * Wire format (little-endian): the 8-byte magic "MCPJPLN1", then records of
 *   u16 type, u16 zero, u32 length, <length> bytes of value
 * ending with a record of type P_END. Strings are not NUL-terminated on the wire.
 * Encoded by src/jail/codec.ts; test/codec.test.ts checks these numbers against it.
 */
#ifndef MCPJ_PLAN_H
#define MCPJ_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_MAGIC "MCPJPLN1"
#define PLAN_MAX_BYTES (16u << 20) /* a plan is small; refuse absurd input instead of allocating it */

enum plan_record {
    P_END = 0,
    P_ARG = 1,          /* argv[i] of the server, in order */
    P_ENV = 2,          /* "NAME=VALUE", the server's whole environment */
    P_EXEC = 3,         /* absolute path, inside the jail, passed to execve */
    P_CWD = 4,          /* working directory inside the jail */
    P_HOSTNAME = 5,
    P_HOST_UID = 6,     /* u32: host uid the jail uid maps to */
    P_HOST_GID = 7,     /* u32 */
    P_JAIL_UID = 8,     /* u32: uid inside the jail (65534) */
    P_JAIL_GID = 9,     /* u32 */
    P_MOUNT = 10,       /* u32 op, u32 flags, u32 mode, then src, dest, data each as u32 length + bytes */
    P_LL_MIN_ABI = 11,  /* u32: refuse to start below this Landlock ABI (0 = Landlock optional) */
    P_LL_HANDLED_FS = 12,  /* u64: filesystem rights the ruleset handles (masked by the running ABI) */
    P_LL_HANDLED_NET = 13, /* u64 */
    P_LL_SCOPED = 14,      /* u64 */
    P_LL_FS_RULE = 15,  /* u64 allowed access, then the path inside the jail */
    P_LL_NET_RULE = 16, /* u64 allowed access, u64 port */
    P_SECCOMP = 17,     /* struct sock_filter[] bytes; installed last, with a listener */
    P_RLIMIT = 18,      /* u32 resource, u64 soft, u64 hard */
    P_CGROUP = 19,      /* cgroup v2 directory the jail is cloned into */
    P_NET_LISTEN = 20,  /* u32 port: create the egress listener on 127.0.0.1:port in the jail */
    P_SUP_TABLES = 21,  /* the supervisor's decision tables (see sup_tables.h) */
    P_DEPUTY_SECCOMP = 22, /* struct sock_filter[] bytes: the deputy's filter (no notification) */
    P_DOWNGRADES = 23,  /* u32 PD_* bits: the weaker layers this plan accepts (see below) */
    P_SYSCTL = 24,      /* u32 flags (1: optional, skipped when the kernel lacks it), then the name
                         * (under /proc/sys/user/) and the value, each as u32 length + bytes */
    P_NET_DNS = 25,     /* u32 port: create the resolver's UDP socket on 127.0.0.1:port in the jail */
    P_NET_REDIRECT = 26, /* u32 port: create the egress proxy's redirect listener on the jail's
                          * loopback, IPv4 and IPv6 (sup_tables.h T_REDIRECT) */
    P_MEMORY_WATCH = 27, /* u64 limit in bytes, u32 interval in ms: the supervisor's whole-jail
                          * memory limit, where no cgroup holds one (mem_watch.h) */
};

/* Downgrades: a layer the running kernel cannot give as planned. TypeScript decides which ones a
 * plan accepts (all of them compensated by another layer, and under --strict nothing else); the
 * helper never falls back on its own: a downgrade the plan does not accept stops the start with
 * step "downgrade", and the ones taken are reported in the ready line. */
enum plan_downgrade {
    PD_PROC_SUBSET = 1,        /* /proc without subset=pid (kernel < 5.8) */
    PD_WAIT_KILLABLE = 2,      /* no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (kernel < 5.19) */
    PD_LANDLOCK_REFER = 4,     /* Landlock ABI < 2 */
    PD_LANDLOCK_TRUNCATE = 8,  /* ABI < 3 */
    PD_LANDLOCK_NET = 16,      /* ABI < 4: no TCP bind/connect rules */
    PD_LANDLOCK_IOCTL_DEV = 32, /* ABI < 5 */
    PD_LANDLOCK_SCOPE = 64,    /* ABI < 6: no abstract unix socket or signal scoping */
};

enum mount_op {
    M_TMPFS = 1,     /* dest, data = mount options */
    M_BIND = 2,      /* src (host path) -> dest; dir or file */
    M_PROC = 3,      /* dest; data = preferred options (e.g. "subset=pid"), retried without */
    M_DIR = 4,       /* mkdir dest, mode */
    M_FILE = 5,      /* create dest with data as content, mode */
    M_SYMLINK = 6,   /* symlink src -> dest */
    M_REMOUNT_RO = 7, /* make the mount at dest read-only (used for the root after it is built) */
    M_MASK = 8        /* hide what is at dest (a deny rule's match): an empty read-only directory
                       * or file mounted over it; data = "dir" or "file" */
};

enum mount_flag {
    MF_RDONLY = 1,
    MF_NOSUID = 2,
    MF_NODEV = 4,
    MF_NOEXEC = 8,
    MF_IDMAP = 16, /* M_BIND only: an idmapped bind (idmap.h); data = "UID:GID", the source's owner,
                    * who appears as the jail's host uid and gid through this mount */
};

struct plan_mount {
    uint32_t op, flags, mode;
    char *src, *dest, *data;
    size_t data_len;
};

struct plan_ll_fs_rule {
    uint64_t access;
    char *path;
};

struct plan_ll_net_rule {
    uint64_t access, port;
};

struct plan_rlimit {
    uint32_t resource;
    uint64_t soft, hard;
};

struct plan_sysctl {
    char *name, *value;
    int optional;
};

struct plan {
    char **argv; /* NULL-terminated */
    size_t argc;
    char **envp; /* NULL-terminated */
    size_t envc;
    char *exec_path, *cwd, *hostname, *cgroup;
    uint32_t host_uid, host_gid, jail_uid, jail_gid;
    struct plan_mount *mounts;
    size_t nmounts;
    uint32_t ll_min_abi;
    uint64_t ll_handled_fs, ll_handled_net, ll_scoped;
    struct plan_ll_fs_rule *ll_fs_rules;
    size_t n_ll_fs_rules;
    struct plan_ll_net_rule *ll_net_rules;
    size_t n_ll_net_rules;
    unsigned char *seccomp; /* NULL when no filter */
    size_t seccomp_len;
    struct plan_rlimit *rlimits;
    size_t nrlimits;
    uint32_t net_listen_port; /* 0: no egress listener */
    uint32_t net_dns_port;    /* 0: no resolver socket */
    uint32_t net_redirect_port; /* 0: no redirect listener */
    unsigned char *sup_tables;
    size_t sup_tables_len;
    unsigned char *deputy_seccomp;
    size_t deputy_seccomp_len;
    uint32_t downgrades;
    struct plan_sysctl *sysctls;
    size_t nsysctls;
    uint64_t mem_limit; /* 0: no watch */
    uint32_t mem_interval_ms;
};

/* Reads and validates a plan from fd. Returns 0, or -1 with a message in err. */
int plan_read(int fd, struct plan *p, char *err, size_t errlen);

#endif
