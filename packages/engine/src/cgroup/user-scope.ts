// The "user scope" route (issue 11): an unprivileged mcp-j on a cgroup v2 host whose own cgroup
// offers nothing (detect.ts finds no route) asks the user's systemd manager, where one runs, for a
// cgroup with the limits, as `systemd-run --user --scope` does, before falling back to the
// supervisor's memory watch.
//
// Why the helper itself is started through systemd-run: an unprivileged process may move a process
// (or clone one, CLONE_INTO_CGROUP) into a cgroup only if it can write cgroup.procs of the common
// ancestor of both cgroups. mcp-j typically runs in a login session's scope, which root owns, so
// neither mcp-j nor its helper could put the jail into a cgroup of the user manager's. The manager
// can (asking PID 1 for the move when it cannot make it itself): `systemd-run --user --scope -p
// MemoryMax=... -- HELPER` makes a transient scope with the limits, moves systemd-run into it and
// then executes the helper there, in the same process (the descriptors and the pid stay). Every
// process of the jail descends from the helper and so is in the scope too.
//
//   - The scope holds the supervisor as well (a few MiB): its memory and tasks count against the
//     limits. memory.oom.group is set once the helper is in it (the scope's files are the user's),
//     so an OOM kill takes the whole jail, supervisor included; session.ts reports that as the
//     OOM it is.
//   - systemd removes the scope when its last process exits (--collect); mcp-j never removes it.
//   - Start-up cost: one probe (`systemd-run --user --scope -- /usr/bin/true`) decides, before the
//     jail starts, whether the manager can make a scope for this process; when it cannot (no
//     manager, no PID 1 help) mcp-j falls back with the reason, as on any host without cgroup v2.
//
// The programs are the host's own (/usr/bin), never looked up in PATH; nothing of mcp-j's
// environment reaches the helper (`env -i`).
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { CgroupHandle } from "./jail-cgroup.js";
import { cgroupDirFor, parseMountInfo, v2PathFromProcCgroup } from "./parse.js";
import type { JailCgroup, ResourceLimits } from "./types.js";

const SYSTEMD_RUN = "/usr/bin/systemd-run";
const ENV = "/usr/bin/env";

/**
 * Whether this user's systemd manager can be asked for a scope, and if not, why (for doctor and the
 * fallback line); undefined for root, whose cgroups are the system's (detect.ts).
 */
export function userManager(env: NodeJS.ProcessEnv, uid = process.geteuid?.() ?? 0): { available: true; runtimeDir: string } | { available: false; reason: string } | undefined {
  if (uid === 0) return undefined;
  const dir = env.XDG_RUNTIME_DIR;
  if (dir === undefined || !isAbsolute(dir)) return { available: false, reason: "no systemd user manager (XDG_RUNTIME_DIR is not set)" };
  const socket = join(dir, "systemd", "private");
  try {
    const st = statSync(socket);
    if (!st.isSocket() || st.uid !== uid) return { available: false, reason: `no systemd user manager (${socket} is not a socket of uid ${uid})` };
  } catch {
    return { available: false, reason: `no systemd user manager (no ${socket})` };
  }
  if (!existsSync(SYSTEMD_RUN)) return { available: false, reason: `no ${SYSTEMD_RUN}` };
  return { available: true, runtimeDir: dir };
}

// systemd's tools log to the journal when their stderr is not a terminal: the reason goes to ours.
const runEnv = (runtimeDir: string): NodeJS.ProcessEnv => ({ PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_LOG_TARGET: "console" });

/** Whether the manager makes a scope for a process of ours: null when it does, else why not. */
export function probeUserScope(runtimeDir: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(SYSTEMD_RUN, ["--user", "--scope", "--quiet", "--collect", "--", "/usr/bin/true"], { stdio: ["ignore", "ignore", "pipe"], env: runEnv(runtimeDir) });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve(`systemd-run: ${e.message}`);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(null);
      else resolve(`systemd-run --user --scope failed (${signal === "SIGKILL" ? `no answer in ${timeoutMs} ms` : `exit ${code}`}): ${err.trim().split("\n")[0] || "it said nothing"}`);
    });
  });
}

/** The jail's helper inside a transient scope with the limits (see the top of this file). */
export interface UserScopePlan {
  unit: string;
  /** The command line that starts the helper in the scope, ending in `env -i`: the helper's
   * environment (NAME=VALUE), path and arguments follow. */
  wrapper: string[];
  /** The wrapper's environment (the helper's is emptied by `env -i`). */
  env: NodeJS.ProcessEnv;
  /**
   * Once the helper runs (pid: the wrapper's, which the helper keeps): its scope as the jail's
   * cgroup, and a warning when a limit asked for is not enforced there (--cpus without the cpu
   * controller). Rejects when the helper is not in the scope: the caller must then stop the jail,
   * which runs without its limits.
   */
  attach(pid: number, timeoutMs?: number): Promise<{ cgroup: JailCgroup; warning?: string }>;
}

export function userScopePlan(name: string, runtimeDir: string, limits: ResourceLimits): UserScopePlan {
  const unit = `${name}.scope`;
  const props = [`MemoryMax=${limits.memoryBytes}`, "MemorySwapMax=0", `TasksMax=${limits.pids}`];
  if (limits.cpus !== undefined) props.push(`CPUQuota=${Math.round(limits.cpus * 100)}%`);
  return {
    unit,
    wrapper: [SYSTEMD_RUN, "--user", "--scope", "--quiet", "--collect", `--unit=${unit}`, ...props.flatMap((p) => ["-p", p]), "--", ENV, "-i"],
    env: runEnv(runtimeDir),
    attach: (pid, timeoutMs = 10_000) => attachScope(pid, unit, limits, timeoutMs),
  };
}

/** The directory of `pid`'s cgroup v2, through a cgroup2 mount that shows it. */
function cgroupDirOf(pid: number): string | undefined {
  const path = v2PathFromProcCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
  if (path === undefined) return undefined;
  for (const m of parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8")).filter((e) => e.fsType === "cgroup2")) {
    const dir = cgroupDirFor(m, path);
    if (dir !== undefined && existsSync(dir)) return dir;
  }
  return undefined;
}

async function attachScope(pid: number, unit: string, limits: ResourceLimits, timeoutMs: number): Promise<{ cgroup: JailCgroup; warning?: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let dir: string | undefined;
    try {
      dir = cgroupDirOf(pid);
    } catch {
      throw new Error(`the jail's helper (pid ${pid}) ended before it was in ${unit}`);
    }
    if (dir !== undefined && dir.endsWith(`/${unit}`)) {
      // One OOM kill takes the whole jail, as memory.oom.group does on the other routes.
      writeFileSync(join(dir, "memory.oom.group"), "1");
      const cgroup = CgroupHandle.adopt(dir, limits);
      // systemd sets CPUQuota only where the user manager was given the cpu controller.
      if (limits.cpus !== undefined && !existsSync(join(dir, "cpu.max"))) return { cgroup, warning: `mcp-j: warning: --cpus ${limits.cpus} is not enforced: the systemd user manager has no cpu controller for ${unit}` };
      return { cgroup };
    }
    if (Date.now() > deadline) throw new Error(`the jail's helper was not in ${unit} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
