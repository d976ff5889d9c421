// Public types of the resource-limit layer (docs/design.md, "Resources"; issue 5).
import type { UserScopePlan } from "./user-scope.js";

/** What the user asked for (`--memory`, `--pids`, `--cpus`, and the open-file cap). */
export interface ResourceLimits {
  /** memory.max of the jail (cgroup) / RLIMIT_DATA (fallback). Default in the CLI: 512 MiB. */
  memoryBytes: number;
  /** pids.max of the jail (cgroup) / RLIMIT_NPROC in the jail's user namespace (fallback). Default 256. */
  pids: number;
  /** cpu.max as a number of CPUs ("F*100000 100000"); undefined = no CPU limit. */
  cpus?: number;
  /** RLIMIT_NOFILE, applied on both paths. */
  openFiles: number;
}

export interface Rlimit {
  resource: "AS" | "DATA" | "NPROC" | "NOFILE" | "CORE" | "MSGQUEUE";
  soft: number;
  hard: number;
}

export type CgroupEvent = {
  /** oom_kill: a process was OOM-killed (with memory.oom.group=1 the whole jail is); oom: the
   * cgroup hit its limit and reclaim failed; memory_max: the cgroup hit memory.max (reclaim ran);
   * pids_max: a fork/clone failed at pids.max. */
  type: "oom_kill" | "oom" | "memory_max" | "pids_max";
  /** The counter's value in memory.events / pids.events (cumulative since the cgroup was made). */
  count: number;
  limitBytes?: number;
  limitPids?: number;
};

export interface JailCgroup {
  /** Absolute path of the jail's cgroup directory (what the C helper opens for CLONE_INTO_CGROUP). */
  readonly path: string;
  onEvent(cb: (e: CgroupEvent) => void): void;
  /** Reads the event counters now and emits what went up since the last read: called once the
   * jail has exited, so an OOM kill is known before the exit is reported, whatever fs.watch or the
   * poll have delivered so far. */
  check(): void;
  /** Kills every process in the cgroup (cgroup.kill, or SIGKILL each pid on kernels < 5.14) and
   * waits until cgroup.events says `populated 0`. */
  kill(): Promise<void>;
  /** kill() if needed, stop watching, rmdir the jail cgroup and the `mcp-j` directory when it is
   * empty (and, on the supervisor-leaf route, undo what mcp-j changed). Idempotent. */
  remove(): Promise<void>;
}

export type ResourcePlan =
  | {
      /** No cgroup of our own: the helper starts in a transient scope of the user's systemd
       * manager, and the jail's cgroup, with the limits, is made there around it (user-scope.ts). */
      kind: "scope";
      scope: UserScopePlan;
      rlimits: Rlimit[];
      warning?: string;
    }
  | {
      kind: "cgroup";
      cgroup: JailCgroup;
      /** RLIMIT_NOFILE and RLIMIT_CORE still apply on the cgroup path. */
      rlimits: Rlimit[];
      /** Set when a requested limit cannot be enforced even with the cgroup (e.g. --cpus without the
       * cpu controller): one stderr line. */
      warning?: string;
    }
  | {
      kind: "rlimit";
      rlimits: Rlimit[];
      /** The one short stderr line. */
      weaker: string;
      /** Why no cgroup v2 could be used (doctor and the audit log say it; the line does not). */
      reason: string;
    };

/** How the jail cgroup would be placed. See detect.ts for the rules. */
export type CgroupRoute =
  /** Our own cgroup already delegates the controllers to children (only possible for the root
   * cgroup, which is exempt from the no-internal-processes rule): `<own>/mcp-j/<jail>`. */
  | "own"
  /** Our own cgroup is delegated to us, mcp-j is its only process and it does not yet enable the
   * controllers: mcp-j moves itself into `<own>/mcp-j/supervisor`, enables them in `<own>` and
   * `<own>/mcp-j`, and undoes that when the last jail is removed. */
  | "leaf"
  /** Unprivileged: the nearest ancestor of our cgroup, inside the subtree delegated to our uid,
   * that already enables the controllers: `<ancestor>/mcp-j/<jail>`. */
  | "delegated";

export type CgroupSupport =
  | {
      usable: true;
      route: CgroupRoute;
      /** The cgroup2 mount point, e.g. /sys/fs/cgroup. */
      mountPoint: string;
      /** mcp-j's own cgroup as in /proc/self/cgroup ("0::/path"). */
      ownCgroup: string;
      /** Directory under which `mcp-j/<jail-id>` is created. */
      parentDir: string;
      /** Controllers available to the jail's cgroup (memory and pids at least). */
      controllers: string[];
      /** Whether cgroup.kill exists (Linux 5.14+); otherwise teardown kills pid by pid. */
      hasKill: boolean;
      /** For `mcp-j doctor`: which path and why. */
      reason: string;
    }
  | {
      usable: false;
      /** For `mcp-j doctor` and the fallback's stderr line: why not. */
      reason: string;
      mountPoint?: string;
      ownCgroup?: string;
      controllers?: string[];
    };
