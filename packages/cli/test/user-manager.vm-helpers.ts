// A real `systemd --user` for the guest user mcpjvm in the test VM, and mcp-j run as that user from
// a "login session" (user-scope.vm.test.ts, redteam4-findings.vm.test.ts). The user manager runs in
// the user's delegated cgroup, as user@UID.service would; mcp-j runs in a cgroup of root's beside it
// (a login session's scope), so detect.ts finds no route of its own and mcp-j asks the manager. The
// VM's PID 1 is not systemd, so the manager moves processes only where it may itself: from that
// "session" (their common ancestor is the user's), not from root's cgroup.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { collect, mcpjBin, repoRoot, waitFor, waitForValue, type CliResult } from "./helpers.js";

export const USER = { name: "mcpjvm", uid: 2345, home: "/home/mcpjvm" };
export const runtimeDir = `/run/user/${USER.uid}`;
/** The user's delegated subtree (scripts/vm/run.mjs made it the way systemd delegates user@UID.service). */
export const userService = `/sys/fs/cgroup/user.slice/user-${USER.uid}.slice/user@${USER.uid}.service`;
/** The user's "login session": a cgroup of root's in the user's subtree. */
export const session = `${userService}/session-1.scope`;

if (process.env.MCPJ_VM !== "1" || !existsSync("/.mcpj/as-user")) throw new Error("the user-manager VM tests run only inside the test VM (node scripts/vm/run.mjs)");

/** The cgroup directory of a process. */
export const cgroupOf = (pid: number): string | undefined => {
  const cg = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
  return cg === undefined ? undefined : join("/sys/fs/cgroup", cg);
};

export interface UserManager {
  /** The manager's own cgroup (it runs in <root>/init.scope and makes <root>/app.slice). */
  root: string;
  /** The scopes the manager made for an mcp-j of this pid. */
  scopesOf(pid: number): string[];
  stop(): Promise<void>;
}

/**
 * Starts `systemd --user` for mcpjvm (and the session cgroup mcp-j runs in). Without `controllers`
 * it runs where as-user puts it (every controller of the user's subtree); with them, in a slice of
 * its own that enables only those (a user@.service delegated fewer controllers).
 */
export async function startUserManager(o: { controllers?: string[] } = {}): Promise<UserManager> {
  // `systemd --user` runs only where the system "was booted with systemd" (/run/systemd/system).
  const madeBooted = !existsSync("/run/systemd/system");
  if (madeBooted) mkdirSync("/run/systemd/system", { recursive: true });
  mkdirSync(session);
  mkdirSync(dirname(runtimeDir), { recursive: true, mode: 0o755 });
  if (!existsSync(runtimeDir)) {
    mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, USER.uid, USER.uid);
  }
  const managerCmd = ["env", `XDG_RUNTIME_DIR=${runtimeDir}`, "/usr/lib/systemd/systemd", "--user", "--log-target=console"];
  let slice: string | undefined;
  let manager: ChildProcess;
  if (o.controllers === undefined) {
    // as-user starts it alone in a new scope of the user's delegated subtree, as user@.service would.
    manager = spawn("/.mcpj/as-user", managerCmd, { stdio: ["ignore", "ignore", "pipe"] });
  } else {
    slice = join(userService, "mcpj-test-manager.slice");
    const own = join(slice, "manager.scope");
    mkdirSync(slice);
    writeFileSync(join(slice, "cgroup.subtree_control"), o.controllers.map((c) => `+${c}`).join(" "));
    mkdirSync(own);
    for (const f of ["", ...readdirSync(own)]) chownSync(join(own, f), USER.uid, USER.uid);
    const cmd = ["/usr/bin/setpriv", `--reuid=${USER.uid}`, `--regid=${USER.uid}`, "--init-groups", "env", `HOME=${USER.home}`, `USER=${USER.name}`, ...managerCmd.slice(1)];
    manager = spawn("/bin/sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', own, ...cmd], { stdio: ["ignore", "ignore", "pipe"], cwd: "/" });
  }
  let err = "";
  manager.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  let root = "";
  const stop = async (): Promise<void> => {
    if (root === "" && manager.pid !== undefined && manager.exitCode === null) {
      const cg = cgroupOf(manager.pid);
      if (cg !== undefined) root = cg.endsWith("/init.scope") ? dirname(cg) : cg;
    }
    if (manager.exitCode === null && manager.signalCode === null) {
      const exited = new Promise((r) => manager.once("exit", r));
      manager.kill("SIGTERM");
      await exited;
    }
    // What the manager made in its cgroup goes, deepest first (as-user's own scope is the harness's).
    const remove = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) remove(join(dir, e.name));
      try {
        rmdirSync(dir);
      } catch {
        /* the scope as-user made: the harness's */
      }
    };
    if (root !== "" && existsSync(root)) for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) remove(join(root, e.name));
    if (slice !== undefined && existsSync(slice)) remove(slice);
    if (madeBooted) rmdirSync("/run/systemd/system");
    if (existsSync(session)) {
      await waitFor(() => readFileSync(join(session, "cgroup.procs"), "utf8") === "", 20_000);
      rmdirSync(session);
    }
  };
  try {
    const socket = join(runtimeDir, "systemd", "private");
    assert.ok(await waitFor(() => existsSync(socket) && statSync(socket).isSocket(), 60_000), `the user manager listens: ${err}`);
    const pid = manager.pid!;
    root = await waitForValue(() => {
      const cg = cgroupOf(pid);
      return cg?.endsWith("/init.scope") ? dirname(cg) : undefined;
    }, 20_000, "the user manager in its init.scope");
  } catch (e) {
    await stop();
    throw e;
  }
  const scopesOf = (mcpj: number): string[] => {
    const apps = join(root, "app.slice");
    return existsSync(apps) ? readdirSync(apps).filter((d) => d.startsWith(`mcp-j-${mcpj}-`) && d.endsWith(".scope")).map((d) => join(apps, d)) : [];
  };
  return { root, scopesOf, stop };
}

export interface AsUserOptions {
  /** mcp-j's environment beyond HOME, USER, PATH (default: XDG_RUNTIME_DIR of the manager). */
  env?: Record<string, string>;
  /** The cgroup mcp-j runs in (default: the session). */
  cgroup?: string;
}

/**
 * mcp-j as mcpjvm in `cgroup` (the session, or root's own): sh moves itself there, then setpriv,
 * env and sh exec, so the pid is mcp-j's.
 */
export function asUser(args: string[], o: AsUserOptions = {}): ChildProcess {
  const env = o.env ?? { XDG_RUNTIME_DIR: runtimeDir };
  const vars = Object.entries({ HOME: USER.home, USER: USER.name, PATH: "/usr/bin:/bin", MCPJ_TEST_TIME_SCALE: process.env.MCPJ_TEST_TIME_SCALE ?? "1", ...env }).map(([k, v]) => `${k}=${v}`);
  const cmd = ["/usr/bin/setpriv", `--reuid=${USER.uid}`, `--regid=${USER.uid}`, "--init-groups", "env", "-i", ...vars, process.execPath, mcpjBin, ...args];
  return spawn("/bin/sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', join(o.cgroup ?? session, ""), ...cmd], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
}

/** mcp-j as mcpjvm with its stdin closed at once (a server that needs no client). */
export const runAsUser = async (args: string[], o: AsUserOptions = {}): Promise<CliResult> => {
  const child = asUser(args, o);
  child.stdin?.end();
  return collect(child);
};

/**
 * mcp-j as mcpjvm with its stdin open until it exits: for a server that ends by itself (killed at
 * its memory limit), so that no client's end starts mcp-j's stop (SIGTERM after --grace) first.
 */
export const runToEnd = async (args: string[], o: AsUserOptions = {}): Promise<CliResult & { pid: number }> => {
  const child = asUser(args, o);
  const r = await collect(child);
  child.stdin?.destroy();
  return { ...r, pid: child.pid ?? 0 };
};
