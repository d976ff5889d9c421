// The jail plan: plain data that mcpj-jail applies step by step. TypeScript decides everything in
// it (compile-plan.ts); the C helper holds no policy. Encoded by plan-codec.ts, decoded by
// native/jail/plan.c.

export const enum MountOp {
  Tmpfs = 1,
  Bind = 2,
  Proc = 3,
  Dir = 4,
  File = 5,
  Symlink = 6,
  RemountRo = 7,
  /** Hide what is at dest (a deny rule's match) under an empty read-only dir or file. */
  Mask = 8,
}

/** A layer the running kernel cannot give as planned, which a plan may accept (mirror of
 * native/jail/plan.h's PD_*). The helper never falls back on its own. */
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

/** A limit of the jail's user namespace, written to /proc/sys/user/NAME by init. */
export interface Sysctl {
  name: string;
  value: string;
  /** Skipped when the kernel has no such limit. */
  optional: boolean;
}

export const MountFlag = {
  rdonly: 1,
  nosuid: 2,
  nodev: 4,
  noexec: 8,
} as const;

export interface MountStep {
  op: MountOp;
  /** Host path (Bind), link target (Symlink); empty otherwise. */
  src: string;
  /** Path inside the jail. */
  dest: string;
  /** Mount options (Tmpfs, Proc) or file content (File). */
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
  /** Supervisor decision tables (opaque bytes, see supervisor tables), or null. */
  supervisorTables: Buffer | null;
  /** The deputy's seccomp program (no notification); required with supervisor tables. */
  deputySeccomp: Buffer | null;
  /** Downgrade bits the plan accepts. */
  downgrades: number;
  sysctls: Sysctl[];
}
