// The seccomp policy of the jail, as data. The compiler (compile.ts) turns it into BPF; the tests run
// the compiled program through an interpreter and compare every syscall against this same table; the
// doctor prints it (describe.ts). Change the policy here, nowhere else.
//
// Program shape (see compile.ts):
//   1. seccomp_data.arch != AUDIT_ARCH of the target arch  -> SECCOMP_RET_KILL_PROCESS
//      (i386 via int $0x80 on x86_64, AArch32 compat on arm64, anything else)
//   2. x86_64 only: nr & __X32_SYSCALL_BIT (0x40000000)     -> SECCOMP_RET_KILL_PROCESS
//   3. the rules below, first match by syscall number
//   4. everything else                                      -> SECCOMP_RET_ALLOW
//
// ENOSYS or EPERM, per rule:
//   ENOSYS where the honest answer is "this kernel lacks the feature" and callers are known to fall
//   back to something we *do* supervise or refuse: clone3 -> clone (glibc >= 2.34 falls back only on
//   ENOSYS), openat2 -> openat (supervised), the new mount API -> mount(2) (EPERM), io_uring -> epoll/
//   thread pools (libuv, tokio, liburing users probe io_uring_setup and treat ENOSYS as "absent").
//   EPERM where a privileged operation is refused by policy, which is what ESCAPES.md items 6-8,
//   12, 17-23 and 26 assert, and what a caller sees anyway on a host that forbids it (e.g. Docker's
//   default profile, kernel.unprivileged_bpf_disabled, vm.unprivileged_userfaultfd=0).
//   EAFNOSUPPORT for socket families: the errno the kernel gives for a family it was built without
//   (ESCAPES.md 46), so libraries that probe (AF_NETLINK in getaddrinfo, AF_VSOCK, AF_ALG) fall back.
//
// Two filters: the server's (every jail process), and the deputy's (the jail process that performs
// what the supervisor decides: docs/design.md, "The deputy"), which has no notification and may use
// openat2 and unshare(CLONE_FS). The jail's network namespace holds only `lo`, so it, not the filter,
// is the authoritative layer for IP traffic (ESCAPES.md 43); the supervisor only adds audit and the
// refusal of destinations outside the jail.
import type { Arch, ErrnoName } from "./types.js";
import { ARCHES } from "./types.js";
import { syscallNumber } from "./syscalls.js";

export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * A test on one syscall argument. Every test reads only the LOW 32 BITS of the 64-bit
 * seccomp_data.args[arg] (offset 16 + 8*arg; both arches are little-endian). That is exact, not an
 * approximation, for the arguments used here: their C prototypes are `int`/`unsigned int`
 * (socket/socketpair domain, ioctl cmd, personality, memfd_create flags) or the kernel itself takes
 * lower_32_bits() of them (clone flags), so whatever a caller puts in the high word is discarded by
 * the kernel before the syscall acts. Comparing all 64 bits would be *wrong*: ioctl(fd,
 * 0xffffffff00005412) is TIOCSTI to the kernel, and a 64-bit compare would let it through.
 */
export type ArgCondition =
  /** (low32(arg) & mask) != 0 */
  | { readonly arg: ArgIndex; readonly test: "anyBitSet"; readonly mask: number }
  /** (low32(arg) & mask) != mask */
  | { readonly arg: ArgIndex; readonly test: "notAllBitsSet"; readonly mask: number }
  /** low32(arg) is one of values */
  | { readonly arg: ArgIndex; readonly test: "in"; readonly values: readonly number[] }
  /** low32(arg) is none of values */
  | { readonly arg: ArgIndex; readonly test: "notIn"; readonly values: readonly number[] }
  /** (low32(arg) & mask) == value */
  | { readonly arg: ArgIndex; readonly test: "maskedEq"; readonly mask: number; readonly value: number }
  /** the whole 64-bit arg is not 0: for POINTER arguments, which the kernel uses in full (a
   * low-word test would miss an address such as 0x100000000) */
  | { readonly arg: ArgIndex; readonly test: "nonZero64" }
  /** any of the conditions holds */
  | { readonly test: "anyOf"; readonly of: readonly ArgCondition[] };

export type RuleAction =
  /** SECCOMP_RET_ERRNO | errno */
  | { readonly type: "errno"; readonly errno: ErrnoName }
  /** SECCOMP_RET_USER_NOTIF: the supervisor decides (ENOSYS if it is gone: fails closed) */
  | { readonly type: "notify" };

/** One syscall's rule on one architecture. */
export interface FilterRule {
  readonly syscall: string;
  readonly nr: number;
  /** Id of the RuleGroup this rule comes from. */
  readonly group: string;
  /** Applied when `when` is absent, or when it holds; otherwise the syscall is ALLOWed. */
  readonly action: RuleAction;
  readonly when?: ArgCondition;
}

/** A set of syscalls sharing an action and a reason. */
export interface RuleGroup {
  readonly id: string;
  /** Syscall names; a name the architecture lacks is skipped on that architecture. */
  readonly syscalls: readonly string[];
  readonly action: RuleAction;
  readonly when?: ArgCondition;
  /** C prototype of the argument tested by `when`, for the reader. */
  readonly argument?: string;
  /** Only in the filter when FilterOptions.notify is true. */
  readonly notifyOnly?: boolean;
  /** Only when the policy has deny rules (FilterOptions.supervisePaths). */
  readonly pathsOnly?: boolean;
  /** Only when a unix socket of the host could be reached (FilterOptions.superviseSendmsg). */
  readonly sendmsgOnly?: boolean;
  /** The filters the group is part of (default: both). */
  readonly roles?: readonly FilterRole[];
  readonly reason: string;
  /** ESCAPES.md items this group is (part of) the answer to. */
  readonly escapes: readonly number[];
}

/** The server's filter (every jail process), or the deputy's (docs/design.md, "The deputy"). */
export type FilterRole = "server" | "deputy";

export interface FilterOptions {
  arch: Arch;
  /**
   * Send openat/open/creat/connect/bind/execve/execveat to the user-space supervisor with
   * SECCOMP_RET_USER_NOTIF. When false those are allowed and only the deny tables apply.
   * sendto with a destination address is notified too (refused and logged when it leaves the
   * jail). Never for the deputy, which nothing supervises.
   */
  notify: boolean;
  /** Default "server". */
  role?: FilterRole;
  /** The path operations deny rules must cover (truncate, unlink, rename, link, chmod, ...) are
   * notified too: only when the policy has deny rules, since otherwise Landlock and the mounts
   * decide exactly what the tables would. */
  supervisePaths?: boolean;
  /** sendmsg/sendmmsg are notified too: only when a grant could hold a host unix socket (their
   * destination lies in a msghdr that BPF cannot read). */
  superviseSendmsg?: boolean;
}

// Flag values (<linux/sched.h>, <asm-generic/ioctls.h>, <linux/memfd.h>, <linux/socket.h>,
// <linux/personality.h>); identical on x86_64 and aarch64.
export const CLONE_NS_FLAGS = Object.freeze({
  CLONE_NEWTIME: 0x00000080,
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
});
/** Every namespace flag; 0x7e020080. */
/** Sharing the descriptor table, and being a thread (include/uapi/linux/sched.h). */
export const CLONE_FILES = 0x00000400;
export const CLONE_THREAD = 0x00010000;

export const CLONE_NS_MASK = Object.values(CLONE_NS_FLAGS).reduce((a, b) => a | b, 0) >>> 0;

export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
export const MFD_NOEXEC_SEAL = 0x0008;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const PER_LINUX = 0x0000;
export const PER_LINUX32 = 0x0008;
/** personality(0xffffffff) only queries the current persona. */
export const PERSONALITY_QUERY = 0xffffffff;

const EPERM: RuleAction = Object.freeze({ type: "errno", errno: "EPERM" });
const ENOSYS: RuleAction = Object.freeze({ type: "errno", errno: "ENOSYS" });
const EAFNOSUPPORT: RuleAction = Object.freeze({ type: "errno", errno: "EAFNOSUPPORT" });
const NOTIFY: RuleAction = Object.freeze({ type: "notify" });

/** The policy, in the order describeRules() prints it. A syscall appears in at most one group. */
export const RULE_GROUPS: readonly RuleGroup[] = Object.freeze([
  {
    id: "io_uring",
    syscalls: ["io_uring_setup", "io_uring_enter", "io_uring_register"],
    action: ENOSYS,
    reason:
      "io_uring operations bypass seccomp (IORING_OP_OPENAT opened a file the filter denied); ENOSYS reads as " +
      "'kernel without io_uring' and libuv/tokio/liburing users fall back to epoll and thread pools",
    escapes: [16],
  },
  {
    id: "clone3",
    syscalls: ["clone3"],
    action: ENOSYS,
    reason:
      "its flags live in a struct in target memory the filter cannot read, so namespace flags could not be " +
      "refused; glibc (>= 2.34) falls back to clone(2), whose flags the filter checks, only on ENOSYS",
    escapes: [6],
  },
  {
    id: "openat2",
    syscalls: ["openat2"],
    action: ENOSYS,
    roles: ["server"],
    reason:
      "its flags and resolve mode live in struct open_how in target memory and the supervisor emulates " +
      "openat only; on ENOSYS libc and programs use openat, which is supervised",
    escapes: [29, 30, 31],
  },
  {
    id: "new-mount-api",
    syscalls: ["fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "open_tree_attr", "move_mount", "mount_setattr"],
    action: ENOSYS,
    reason:
      "the fd-based mount API (open_tree also hands out O_PATH fds without an openat); ENOSYS makes libmount " +
      "fall back to mount(2), which is EPERM",
    escapes: [8],
  },
  {
    id: "mount-info",
    syscalls: ["statmount", "listmount"],
    action: ENOSYS,
    reason:
      "statmount's mnt_root is a bind mount's source path in its host filesystem; on ENOSYS libmount and " +
      "findmnt read /proc/self/mountinfo, which the deputy hands over without host paths",
    escapes: [9],
  },
  {
    id: "kernel-attack-surface",
    syscalls: ["bpf", "perf_event_open", "userfaultfd"],
    action: EPERM,
    reason: "large kernel attack surface with a history of privilege escalations; no MCP server needs them",
    escapes: [18, 19],
  },
  {
    id: "keyrings",
    syscalls: ["keyctl", "add_key", "request_key"],
    action: EPERM,
    reason:
      "the session keyring is inherited from the invoker (Kerberos tickets, fscrypt/ecryptfs keys) and keyrings are " +
      "only partly namespaced; keyctl also has a long CVE history",
    escapes: [20],
  },
  {
    id: "cross-process",
    syscalls: ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"],
    action: EPERM,
    reason: "reading, writing or stealing from other processes' memory and descriptors (the jail init among them)",
    escapes: [12, 17],
  },
  {
    id: "file-handles",
    syscalls: ["name_to_handle_at", "open_by_handle_at"],
    action: EPERM,
    reason: "open_by_handle_at opens by inode handle, bypassing paths, the mount namespace and the supervisor ('shocker')",
    escapes: [21],
  },
  {
    id: "mounts",
    syscalls: ["mount", "umount2", "pivot_root", "chroot"],
    action: EPERM,
    reason: "the jail's mount plan is final; no remounts (e.g. /usr read-write), no new roots",
    escapes: [8],
  },
  {
    id: "namespaces",
    syscalls: ["unshare", "setns"],
    action: EPERM,
    roles: ["server"],
    reason: "no new or foreign namespaces (a new user namespace would hand out capabilities inside it)",
    escapes: [6, 7],
  },
  {
    id: "namespaces-deputy",
    syscalls: ["unshare"],
    action: EPERM,
    when: { arg: 0, test: "anyBitSet", mask: CLONE_NS_MASK },
    argument: "int flags",
    roles: ["deputy"],
    reason: "the deputy unshares its threads' cwd and umask (CLONE_FS) and nothing else",
    escapes: [6],
  },
  {
    id: "setns-deputy",
    syscalls: ["setns"],
    action: EPERM,
    roles: ["deputy"],
    reason: "no foreign namespaces",
    escapes: [7],
  },
  {
    id: "landlock",
    syscalls: ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"],
    action: ENOSYS,
    reason:
      "a jail process that sandboxed itself further with Landlock would get its supervised calls performed " +
      "by the deputy with the jail's rights, not its own: refused as absent, so such a program knows it is " +
      "not sandboxed by its own rules (the jail's rules still apply)",
    escapes: [57],
  },
  {
    id: "signal-init",
    syscalls: ["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open"],
    action: EPERM,
    when: { arg: 0, test: "in", values: [1] },
    argument: "pid_t pid (tgid for tgkill and rt_tgsigqueueinfo)",
    roles: ["server"],
    reason:
      "no signal to the jail's init (pid 1), on every kernel: Landlock's signal scope does it from ABI 6, this " +
      "does it below (the PID namespace already drops signals init has no handler for)",
    escapes: [12, 27],
  },
  {
    id: "xattr-at",
    syscalls: ["setxattrat", "removexattrat", "file_setattr"],
    action: ENOSYS,
    roles: ["server"],
    reason:
      "their arguments live in structs in target memory, so deny rules could not be applied to them; on ENOSYS " +
      "programs use setxattr/removexattr/ioctl, which are supervised when there are deny rules",
    escapes: [59],
  },
  {
    id: "clone-namespaces",
    syscalls: ["clone"],
    action: EPERM,
    when: {
      test: "anyOf",
      of: [
        { arg: 0, test: "anyBitSet", mask: CLONE_NS_MASK },
        { arg: 0, test: "maskedEq", mask: CLONE_FILES | CLONE_THREAD, value: CLONE_FILES },
        { arg: 0, test: "maskedEq", mask: CLONE_FILES | CLONE_THREAD, value: CLONE_THREAD },
      ],
    },
    argument:
      "unsigned long clone_flags (arg0 on both arches; the kernel uses lower_32_bits(). CLONE_NEWTIME (0x80) " +
      "overlaps the exit-signal byte of clone(2), so exit signals >= 128, which no program passes, are refused too)",
    reason:
      "clone(2) with any CLONE_NEW* flag would create namespaces; a process sharing another's descriptor table " +
      "(CLONE_FILES without CLONE_THREAD) could swap a socket under a send the supervisor let the kernel perform " +
      "for a one-thread process (native/jail/sup_net.c), and a thread with a table of its own (CLONE_THREAD " +
      "without CLONE_FILES) would have its descriptors decided on the leader's (the supervisor takes them " +
      "from the process); plain fork/vfork/thread creation is allowed",
    escapes: [6, 57],
  },
  {
    id: "system-admin",
    syscalls: [
      "kexec_load",
      "kexec_file_load",
      "init_module",
      "finit_module",
      "delete_module",
      "reboot",
      "swapon",
      "swapoff",
      "syslog",
      "acct",
      "settimeofday",
      "clock_settime",
      "clock_adjtime",
      "adjtimex",
      "quotactl",
      "quotactl_fd",
      "lookup_dcookie",
      "vhangup",
      "iopl",
      "ioperm",
    ],
    action: EPERM,
    reason:
      "host-wide administration (kernel code, power, swap, kernel log, accounting, the clock, quotas, I/O ports); " +
      "adjtimex/clock_adjtime are refused even for read-only queries, as the mode lives in target memory",
    escapes: [22],
  },
  {
    id: "legacy",
    syscalls: ["uselib", "_sysctl", "create_module", "get_kernel_syms", "query_module", "nfsservctl"],
    action: EPERM,
    reason: "obsolete interfaces (uselib maps a file as a library without an openat); most are gone from current kernels",
    escapes: [22],
  },
  {
    id: "personality",
    syscalls: ["personality"],
    action: EPERM,
    when: { arg: 0, test: "notIn", values: [PER_LINUX, PER_LINUX32, PERSONALITY_QUERY] },
    argument: "unsigned int persona",
    reason:
      "only PER_LINUX, PER_LINUX32 (uname reports a 32-bit machine, nothing else) and the 0xffffffff query; " +
      "READ_IMPLIES_EXEC would make every readable mapping executable, ADDR_NO_RANDOMIZE disables ASLR",
    escapes: [23],
  },
  {
    id: "tty-injection",
    syscalls: ["ioctl"],
    action: EPERM,
    when: { arg: 1, test: "in", values: [TIOCSTI, TIOCLINUX] },
    argument: "unsigned int cmd (the kernel truncates the 64-bit register; high bits are ignored)",
    reason: "TIOCSTI pushes input into a terminal's queue and TIOCLINUX can paste on a console: both type commands into a shell outside the jail",
    escapes: [26],
  },
  {
    id: "socket-families",
    syscalls: ["socket", "socketpair"],
    action: EAFNOSUPPORT,
    when: { arg: 0, test: "notIn", values: [AF_UNIX, AF_INET, AF_INET6] },
    argument: "int domain",
    reason: "only AF_UNIX, AF_INET, AF_INET6: no AF_PACKET, AF_NETLINK, AF_VSOCK, AF_ALG, ... (kernel surface, host reach via vsock)",
    escapes: [46],
  },
  {
    id: "memfd-noexec",
    syscalls: ["memfd_create"],
    action: EPERM,
    when: { arg: 1, test: "notAllBitsSet", mask: MFD_NOEXEC_SEAL },
    argument: "unsigned int flags",
    reason:
      "W^X for files: a memfd must be created with MFD_NOEXEC_SEAL so it can never be executed " +
      "(kernels before 6.3 do not know the flag: memfd_create then fails everywhere, which is the safe side)",
    escapes: [37],
  },
  {
    id: "supervised",
    syscalls: ["openat", "open", "creat", "connect", "bind", "execve", "execveat"],
    action: NOTIFY,
    notifyOnly: true,
    reason:
      "decided by the supervisor on a copy of the arguments and emulated (openat2 from the jail root + ADDFD, " +
      "pidfd_getfd + connect/bind on a copied address); creat (x86_64) is open(O_CREAT|O_WRONLY|O_TRUNC) and " +
      "must not bypass it; if the supervisor is gone these fail with ENOSYS (fail closed)",
    escapes: [29, 30, 31, 32, 33, 37, 38, 39, 40, 41, 47, 48],
  },
  {
    id: "supervised-paths",
    syscalls: [
      "truncate", "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
      "symlinkat", "mkdir", "mkdirat", "mknod", "mknodat", "chmod", "fchmodat", "fchmodat2", "chown", "lchown",
      "fchownat", "utime", "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr", "removexattr", "lremovexattr",
    ],
    action: NOTIFY,
    notifyOnly: true,
    pathsOnly: true,
    reason:
      "deny rules cover every call that takes a path inside a grant, not only open and exec: the deputy performs " +
      "each on the directory it resolved, after deciding on the names involved (only with deny rules: " +
      "otherwise Landlock and the mounts decide exactly what the tables would)",
    escapes: [59],
  },
  {
    id: "supervised-sendmsg",
    syscalls: ["sendmsg", "sendmmsg"],
    action: NOTIFY,
    notifyOnly: true,
    sendmsgOnly: true,
    reason:
      "a datagram to a unix path (or to a connected unix datagram socket, whose message may be given a name by a " +
      "racing thread) gets the decision connect() would, and is sent by the deputy; other sockets are CONTINUEd " +
      "(a stream ignores the name, and IP stays in the network namespace)",
    escapes: [61],
  },
  {
    id: "supervised-sendto",
    syscalls: ["sendto"],
    action: NOTIFY,
    when: { arg: 4, test: "nonZero64" },
    argument: "const struct sockaddr *dest_addr",
    notifyOnly: true,
    reason:
      "a sendto that names a destination (UDP, TCP fast open) is refused and logged by the supervisor when the " +
      "destination is outside the jail, and sent by the deputy when it is a unix path; a plain send on a connected " +
      "socket (dest_addr NULL, a register, not memory) is not notified",
    escapes: [43, 44],
  },
] satisfies RuleGroup[]);

/** Syscalls named by the policy that an architecture does not have (so are not in its filter). */
export function absentSyscalls(arch: Arch): string[] {
  return RULE_GROUPS.flatMap((g) => g.syscalls).filter((s) => syscallNumber(arch, s) === undefined);
}

/**
 * The rules of the filter for one architecture: one entry per syscall the architecture has, sorted by
 * syscall number. Every syscall not listed is allowed (after the architecture prelude).
 */
export function filterRules(options: FilterOptions): FilterRule[] {
  if (!ARCHES.includes(options.arch)) throw new Error(`seccomp: unsupported architecture ${String(options.arch)}`);
  const rules: FilterRule[] = [];
  const seen = new Map<number, string>();
  const role = options.role ?? "server";
  for (const g of RULE_GROUPS) {
    if (!(g.roles ?? ["server", "deputy"]).includes(role)) continue;
    if (g.notifyOnly && (!options.notify || role === "deputy")) continue;
    if (g.pathsOnly && !options.supervisePaths) continue;
    if (g.sendmsgOnly && !options.superviseSendmsg) continue;
    for (const syscall of g.syscalls) {
      const nr = syscallNumber(options.arch, syscall);
      if (nr === undefined) continue;
      const prev = seen.get(nr);
      if (prev !== undefined) throw new Error(`seccomp: ${syscall} (${nr}) is in two rule groups (${prev}, ${g.id})`);
      seen.set(nr, g.id);
      rules.push({ syscall, nr, group: g.id, action: g.action, ...(g.when ? { when: g.when } : {}) });
    }
  }
  return rules.sort((a, b) => a.nr - b.nr);
}

/** The policy of every architecture, for docs and tests. */
export function allFilterRules(notify: boolean): Record<Arch, FilterRule[]> {
  return { x86_64: filterRules({ arch: "x86_64", notify }), aarch64: filterRules({ arch: "aarch64", notify }) };
}
