// The rlimit fallback (no usable cgroup v2) and the rlimits that apply on both paths.
import type { ResourceLimits, Rlimit } from "./types.js";
import { formatBytes } from "./parse.js";

/**
 * Without a cgroup, the whole-jail limit is the supervisor's memory watch (native/jail/mem_watch.h).
 * The rlimits are only a backstop a common runtime never meets: no RLIMIT_AS (it counts
 * reservations, not use: V8 and WebAssembly reserve gigabytes they never touch, and Node 24 would
 * not start), and RLIMIT_DATA (private writable memory) at the limit plus this much, which stops a
 * single process allocating faster than the watch looks.
 */
export const DATA_HEADROOM = 1024 * 1024 * 1024;

const same = (resource: Rlimit["resource"], n: number): Rlimit => ({ resource, soft: n, hard: n });

/** POSIX message queue bytes (RLIMIT_MSGQUEUE counts per user: this keeps the jail from using up
 * the invoking user's share, ESCAPES 66). A quarter of Linux's default 800 KiB. */
export const MSGQUEUE_BYTES = 200 * 1024;

/** RLIMIT_NOFILE, RLIMIT_CORE=0 and RLIMIT_MSGQUEUE: applied on the cgroup path too. */
export function baseRlimits(limits: Pick<ResourceLimits, "openFiles">): Rlimit[] {
  return [same("NOFILE", limits.openFiles), same("CORE", 0), same("MSGQUEUE", MSGQUEUE_BYTES)];
}

/**
 * The rlimits to apply without a cgroup. soft = hard so the jail cannot raise them.
 * RLIMIT_NPROC is set by the C helper inside the jail's user namespace: since Linux 5.14 it is
 * counted per user namespace and real uid (ucounts), i.e. only the jail's own tasks (threads
 * included, like pids.max) of uid 65534 count. It does not bind a task whose real uid is host root
 * or that holds CAP_SYS_RESOURCE/CAP_SYS_ADMIN, which the jail's server never is
 * (docs/design.md, "Identity").
 */
export function fallbackRlimits(limits: ResourceLimits): Rlimit[] {
  return [
    same("DATA", limits.memoryBytes + DATA_HEADROOM),
    same("NPROC", limits.pids),
    ...baseRlimits(limits),
  ];
}

/**
 * The one short stderr line of the fallback (issue 12 item 5): which limits are weaker. Why there
 * is no cgroup, and what else differs (no cgroup.kill), is `mcp-j doctor`'s to say and the plan's
 * `reason`.
 */
export function weakerLine(limits: ResourceLimits): string {
  const cpus = limits.cpus !== undefined ? `; --cpus ${limits.cpus} is not enforced` : "";
  return `mcp-j: warning: no cgroup v2 here: memory (${formatBytes(limits.memoryBytes)}) is watched by the supervisor, pids (${limits.pids}) are counted per user${cpus} (\`mcp-j doctor\` for details, --strict to refuse)`;
}

export function validateLimits(l: ResourceLimits): void {
  const posInt = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (!posInt(l.memoryBytes) || l.memoryBytes < 4096) throw new RangeError(`memory limit must be a whole number of bytes ≥ 4096, got ${l.memoryBytes}`);
  if (!posInt(l.pids)) throw new RangeError(`pids limit must be a positive integer, got ${l.pids}`);
  if (!posInt(l.openFiles)) throw new RangeError(`open files limit must be a positive integer, got ${l.openFiles}`);
  if (l.cpus !== undefined && !(Number.isFinite(l.cpus) && l.cpus > 0 && l.cpus <= 4096)) throw new RangeError(`--cpus must be a positive number, got ${l.cpus}`);
}
