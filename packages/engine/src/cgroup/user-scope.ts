// The "user scope" route (issue 11): an unprivileged mcp-j on a cgroup v2 host whose own cgroup
// offers nothing (detect.ts finds no route) asks the user's systemd manager, where one runs, for a
// cgroup of its own, as `systemd-run --user --scope -p Delegate=yes` does, before falling back to
// the supervisor's memory watch.
//
// Why the helper itself is started through systemd-run: an unprivileged process may move a process
// (or clone one, CLONE_INTO_CGROUP) into a cgroup only if it can write cgroup.procs of the common
// ancestor of both cgroups. mcp-j typically runs in a login session's scope, which root owns, so
// neither mcp-j nor its helper could put the jail into a cgroup of the user manager's. The manager
// can (asking PID 1 for the move when it cannot make it itself): `systemd-run --user --scope -p
// Delegate=yes -- HELPER` makes a transient scope S, moves systemd-run into it and then executes the
// helper there, in the same process (the descriptors and the pid stay). The helper waits for its
// plan; meanwhile mcp-j, in S (delegated to the user: all of it is ours):
//   1. moves the helper into S/supervisor (a leaf: the "no internal processes" rule), as the
//      "leaf" route of detect.ts does with mcp-j itself;
//   2. enables memory and pids (and cpu for --cpus) in S for its children;
//   3. makes the jail's cgroup S/mcp-j/<id> with its limits, exactly as on the other routes
//      (jail-cgroup.ts), and only then sends the plan naming it: the helper clones the jail into it.
// So the limits hold for the jail alone (not the supervisor), an OOM kill takes the jail and not
// its supervisor, which reports it, and the scope lives until the supervisor is gone. mcp-j
// removes what it made; systemd removes the emptied scope (--collect).
//
// A probe before the jail starts (a scope around /bin/sh reading its own cgroup.controllers)
// decides whether the manager can make a scope for this process with the controllers the jail
// needs; when it cannot (no manager, no PID 1 help, fewer controllers delegated) mcp-j falls back
// with the reason, as on any host without cgroup v2. The programs are the host's own (/usr/bin,
// /bin), never looked up in PATH; nothing of mcp-j's environment reaches the helper (`env -i`).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { REQUIRED_CONTROLLERS, SUPERVISOR_LEAF } from "./detect.js";
import { createJailCgroup, readOr } from "./jail-cgroup.js";
import { cgroupDirFor, parseControllerList, parseKeyedFile, parseMountInfo, v2PathFromProcCgroup } from "./parse.js";
import type { CgroupEvent, JailCgroup, ResourceLimits } from "./types.js";

const SYSTEMD_RUN = "/usr/bin/systemd-run";
const ENV = "/usr/bin/env";
const SH = "/bin/sh";

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

/**
 * Whether the manager makes a delegated scope for a process of ours with every controller in
 * `required`: null when it does, else why not; `controllers` lists what the scope offers.
 */
export function probeUserScope(runtimeDir: string, required: readonly string[], timeoutMs: number): Promise<{ refused: string | null; controllers: string[] }> {
  const script = 'exec cat "/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)/cgroup.controllers"';
  return new Promise((resolve) => {
    const child = spawn(SYSTEMD_RUN, ["--user", "--scope", "--quiet", "--collect", "-p", "Delegate=yes", "--", "/bin/sh", "-c", script], { stdio: ["ignore", "pipe", "pipe"], env: runEnv(runtimeDir) });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve({ refused: `systemd-run: ${e.message}`, controllers: [] });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const controllers = parseControllerList(out);
      if (code !== 0) {
        const why = signal === "SIGKILL" ? `no answer in ${timeoutMs} ms` : `exit ${code}`;
        resolve({ refused: `systemd-run --user --scope failed (${why}): ${err.trim().split("\n")[0] || "it said nothing"}`, controllers });
        return;
      }
      const missing = required.filter((c) => !controllers.includes(c));
      resolve({ refused: missing.length > 0 ? `the systemd user manager's scopes lack the ${missing.join(" and ")} controller (they have: ${controllers.join(" ") || "none"})` : null, controllers });
    });
  });
}

/**
 * What follows the wrapper's `env -i`: the environment as NAME=VALUE words, then the program and
 * its arguments. env takes every word with a "=" before the program for one more variable, so a
 * program whose path holds one (an install under a directory named so) is started through the
 * host's /bin/sh, which execs it in the same process.
 */
export function afterEnvI(env: Readonly<Record<string, string>>, program: string, args: readonly string[]): string[] {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return program.includes("=") ? [...vars, SH, "-c", 'exec "$0" "$@"', program, ...args] : [...vars, program, ...args];
}

/** The jail's helper inside a transient scope (see the top of this file). */
export interface UserScopePlan {
  unit: string;
  /** The command line that starts the helper in the scope, ending in `env -i`: the helper's
   * environment, path and arguments follow (afterEnvI). */
  wrapper: string[];
  /** The wrapper's environment (the helper's is emptied by `env -i`). */
  env: NodeJS.ProcessEnv;
  /**
   * Once the helper runs (pid: the wrapper's, which the helper keeps), steps 1 to 3 above: the
   * jail's cgroup, to name in the plan. Rejects when the helper is not in its scope or a step fails:
   * the caller then stops the helper, which has not started the jail.
   */
  attach(pid: number, timeoutMs?: number): Promise<JailCgroup>;
}

/**
 * @param controllers what the scope offers (the probe's answer): cpu is enabled for --cpus when
 * there, else the warning says it is not enforced.
 */
export function userScopePlan(o: { jailId: string; runtimeDir: string; limits: ResourceLimits; controllers: string[]; hasKill: boolean }): UserScopePlan {
  const unit = `mcp-j-${process.pid}-${o.jailId}.scope`;
  const wanted = [...REQUIRED_CONTROLLERS, ...(o.limits.cpus !== undefined && o.controllers.includes("cpu") ? ["cpu"] : [])];
  return {
    unit,
    wrapper: [SYSTEMD_RUN, "--user", "--scope", "--quiet", "--collect", `--unit=${unit}`, "-p", "Delegate=yes", "--", ENV, "-i"],
    env: runEnv(o.runtimeDir),
    attach: (pid, timeoutMs = 10_000) => attachScope({ pid, unit, jailId: o.jailId, limits: o.limits, controllers: wanted, hasKill: o.hasKill, timeoutMs }),
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

async function attachScope(o: { pid: number; unit: string; jailId: string; limits: ResourceLimits; controllers: string[]; hasKill: boolean; timeoutMs: number }): Promise<JailCgroup> {
  const deadline = Date.now() + o.timeoutMs;
  let scope: string | undefined;
  while (scope === undefined) {
    let dir: string | undefined;
    try {
      dir = cgroupDirOf(o.pid);
    } catch {
      throw new Error(`the jail's helper (pid ${o.pid}) ended before it was in ${o.unit}`);
    }
    if (dir !== undefined && dir.endsWith(`/${o.unit}`)) scope = dir;
    else if (Date.now() > deadline) throw new Error(`the jail's helper was not in ${o.unit} within ${o.timeoutMs} ms`);
    else await new Promise((r) => setTimeout(r, 5));
  }
  const leaf = join(scope, SUPERVISOR_LEAF);
  try {
    mkdirSync(leaf);
    writeFileSync(join(leaf, "cgroup.procs"), String(o.pid));
    writeFileSync(join(scope, "cgroup.subtree_control"), o.controllers.map((c) => `+${c}`).join(" "));
  } catch (e) {
    throw new Error(`preparing ${scope}: ${(e as Error).message}`);
  }
  const jail = await createJailCgroup({ route: "own", parentDir: scope, jailId: o.jailId, limits: o.limits, controllers: o.controllers, hasKill: o.hasKill });
  // systemd removes the scope, the jail's cgroup with it, as soon as the supervisor has exited,
  // which can be before mcp-j reads the last counters. The scope's parent (the manager's slice)
  // stays, and its memory.events counts the kills of every cgroup under it: if the jail's own
  // file is gone, a kill counted there since the jail started is the jail's OOM kill.
  const parentEvents = join(dirname(scope), "memory.events");
  const killsInParent = (): number => parseKeyedFile(readOr(parentEvents)).get("oom_kill") ?? 0;
  const before = killsInParent();
  const listeners: Array<(e: CgroupEvent) => void> = [];
  let killSeen = false;
  return {
    path: jail.path,
    onEvent: (cb) => {
      listeners.push(cb);
      jail.onEvent((e) => {
        if (e.type === "oom_kill") killSeen = true;
        cb(e);
      });
    },
    check: () => {
      jail.check();
      if (killSeen || existsSync(jail.path)) return;
      const after = killsInParent();
      if (after <= before) return;
      killSeen = true;
      for (const cb of listeners) cb({ type: "oom_kill", count: after - before, limitBytes: o.limits.memoryBytes });
    },
    kill: () => jail.kill(),
    // The supervisor has exited by now (its leaf is empty); systemd removes the scope once it is.
    remove: async () => {
      await jail.remove();
      try {
        rmdirSync(leaf);
      } catch {
        /* still busy a moment, or gone with the scope: systemd removes the rest */
      }
    },
  };
}
