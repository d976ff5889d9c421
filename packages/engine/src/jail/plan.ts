// The jail plan: plain data that mcpj-jail applies step by step, the supervisor's decision tables
// included. TypeScript decides everything in it (compile-plan.ts, supervisor/tables.ts); the C
// helper holds no policy. Encoded by codec.ts, decoded by native/jail/plan.c and sup_tables.c. The
// numbers below are part of the wire format (test/codec.test.ts checks them against the headers).

/** Mount steps (plan.h enum mount_op). */
export const MountOp = {
  Tmpfs: 1,
  Bind: 2,
  Proc: 3,
  Dir: 4,
  File: 5,
  Symlink: 6,
  RemountRo: 7,
  /** Hide what is at dest (a deny rule's match) under an empty read-only dir or file, mode 0. */
  Mask: 8,
} as const;
export type MountOp = (typeof MountOp)[keyof typeof MountOp];

/** A layer the running kernel cannot give as planned, which a plan may accept (plan.h enum
 * plan_downgrade; the helper never falls back on its own). What each means is in downgrades.ts. */
export const Downgrade = {
  procSubset: 1,
  waitKillable: 2,
  landlockRefer: 4,
  landlockTruncate: 8,
  landlockNet: 16,
  landlockIoctlDev: 32,
  landlockScope: 64,
} as const;
export type DowngradeName = keyof typeof Downgrade;

/** A limit of the jail's own user namespace, written to /proc/sys/user/NAME by init. */
export interface Sysctl {
  name: string;
  value: string;
  /** Skipped when the kernel has no such limit. */
  optional: boolean;
}

/** plan.h enum mount_flag. */
export const MountFlag = {
  rdonly: 1,
  nosuid: 2,
  nodev: 4,
  noexec: 8,
  /** Bind only: an idmapped bind (native/jail/idmap.c); data is "UID:GID", the source's owner, who
   * appears as the jail's host uid and gid through this mount and nowhere else. */
  idmap: 16,
} as const;

export interface MountStep {
  op: MountOp;
  /** Host path (Bind), link target (Symlink); empty otherwise. */
  src: string;
  /** Path inside the jail. */
  dest: string;
  /** Mount options (Tmpfs, Proc), file content (File), the owner "UID:GID" (an idmapped Bind). */
  data: string;
  flags: number;
  mode: number;
}

export interface LandlockFsRule {
  /** Path inside the jail. */
  path: string;
  access: bigint;
}

export interface LandlockNetRule {
  port: number;
  access: bigint;
}

export interface Rlimit {
  resource: "AS" | "DATA" | "NPROC" | "NOFILE" | "CORE" | "FSIZE" | "MSGQUEUE";
  soft: number;
  hard: number;
}

export interface JailPlan {
  argv: string[];
  env: string[];
  /** Absolute path inside the jail given to execve. */
  execPath: string;
  cwd: string;
  hostname: string;
  hostUid: number;
  hostGid: number;
  jailUid: number;
  jailGid: number;
  mounts: MountStep[];
  landlock: {
    minAbi: number;
    handledFs: bigint;
    handledNet: bigint;
    scoped: bigint;
    fsRules: LandlockFsRule[];
    netRules: LandlockNetRule[];
  };
  /** Compiled seccomp program (struct sock_filter[]), or null for none. */
  seccomp: Buffer | null;
  rlimits: Rlimit[];
  /** cgroup v2 directory to clone the jail into, or null (rlimit fallback). */
  cgroup: string | null;
  /** Port of the egress proxy listener created inside the jail, 0 for none. */
  netListenPort: number;
  /** Port of the resolver's UDP socket on the jail's 127.0.0.1, 0 for none. */
  netDnsPort: number;
  /** Port of the egress proxy's redirect listener on the jail's loopback, 0 for none. */
  netRedirectPort: number;
  /** The supervisor's decision tables, or null (no supervisor). */
  supervisorTables: SupervisorTables | null;
  /** The deputy's seccomp program (no notification); required with supervisor tables. */
  deputySeccomp: Buffer | null;
  /** Downgrade bits the plan accepts. */
  downgrades: number;
  sysctls: Sysctl[];
  /** The supervisor's whole-jail memory limit, where no cgroup holds one; null: none. */
  memoryWatch: MemoryWatch | null;
}

export interface MemoryWatch {
  limitBytes: number;
  /** How often the jail's use is added up (a quarter of it near the limit). */
  intervalMs: number;
}

/** The supervisor's coarse rights on a path (sup_tables.h enum sup_rights). */
export const PathRight = { read: 1, write: 2, dir: 4 } as const;

/** Transport protocols of a network rule (sup_tables.h enum sup_protocols); none set: any. */
export const Protocol = { tcp: 1, udp: 2 } as const;

export interface NetRule {
  /** An IP literal (v4 or v6). */
  address: string;
  prefix: number;
  ports: [number, number];
  /** Protocol bits; absent: any. */
  protocols?: number;
}

export interface MetaAddress {
  address: string;
  name: string;
}

/** What the C supervisor decides from (sup_tables.h); compiled by supervisor/tables.ts. */
export interface SupervisorTables {
  /** Report allowed decisions too, not only denials. */
  logAllow: boolean;
  /** PathRight bits of the longest rule covering a path: a mirror of the Landlock rules. */
  paths: { path: string; rights: number }[];
  /** Absolute globs over jail paths. */
  deny: string[];
  /** Real jail paths execve may name. */
  exec: string[];
  /** ELF interpreters: executable for the kernel's sake, never as a program (the exec race). */
  loaders: string[];
  connect: NetRule[];
  bind: NetRule[];
  /** TCP destinations whose connect() goes to the egress proxy's redirect listener instead. */
  redirect: NetRule[];
  /** The redirect listener's port on the jail's loopback (0: no redirection). */
  redirectPort: number;
  /** Addresses refused and logged by name. */
  meta: MetaAddress[];
  /** /proc/PID entries private to their process (another process's are refused, as ptrace is). */
  procPrivate: readonly string[];
  /** Opens of `from` open `to` instead (sup_tables.h T_ALIAS). */
  aliases: { from: string; to: string }[];
}
