// Issue 11: an unprivileged user whose own cgroup offers nothing gets a cgroup from its systemd user
// manager (a transient scope with the limits, engine/src/cgroup/user-scope.ts) before mcp-j falls
// back to the supervisor's memory watch. In the test VM, as root: a real `systemd --user` runs for
// the guest user mcpjvm in that user's delegated cgroup, and mcp-j runs as mcpjvm in a cgroup root
// made beside it, as a login session's scope is (so detect.ts finds no route of its own). The VM's
// PID 1 is not systemd, so the user manager moves processes only where it may itself: from that
// "session" (their common ancestor is the user's), not from root's cgroup, where mcp-j falls back.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { collect, mcpjBin, repoRoot, waitFor, waitForValue, type CliResult } from "./helpers.js";

if (process.env.MCPJ_VM !== "1" || !existsSync("/.mcpj/as-user")) throw new Error("user-scope.vm.test.js runs only inside the test VM (node scripts/vm/run.mjs)");

const USER = { name: "mcpjvm", uid: 2345, home: "/home/mcpjvm" };
const runtimeDir = `/run/user/${USER.uid}`;
/** The user's "login session": a cgroup of root's in the user's subtree (scripts/vm/run.mjs made
 * that subtree the way systemd delegates user@UID.service). */
const session = `/sys/fs/cgroup/user.slice/user-${USER.uid}.slice/user@${USER.uid}.service/session-1.scope`;

let manager: ChildProcess | undefined;
/** The user manager's own cgroup (it runs in <root>/init.scope and makes <root>/app.slice). */
let managerRoot = "";
/** The cgroup as-user made for the manager, as soon as it is known (what after() cleans). */
const cgroupOf = (pid: number): string | undefined => {
  const cg = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
  return cg === undefined ? undefined : join("/sys/fs/cgroup", cg);
};
const madeBooted = !existsSync("/run/systemd/system");

before(async () => {
  // `systemd --user` runs only where the system "was booted with systemd" (/run/systemd/system).
  if (madeBooted) mkdirSync("/run/systemd/system", { recursive: true });
  mkdirSync(session);
  mkdirSync(dirname(runtimeDir), { recursive: true, mode: 0o755 });
  mkdirSync(runtimeDir, { mode: 0o700 });
  chownSync(runtimeDir, USER.uid, USER.uid);
  // as-user starts it alone in a new scope of the user's delegated subtree, as user@.service would.
  manager = spawn("/.mcpj/as-user", ["env", `XDG_RUNTIME_DIR=${runtimeDir}`, "/usr/lib/systemd/systemd", "--user", "--log-target=console"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  manager.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const socket = join(runtimeDir, "systemd", "private");
  assert.ok(await waitFor(() => existsSync(socket) && statSync(socket).isSocket(), 60_000), `the user manager listens: ${err}`);
  const pid = manager.pid!;
  managerRoot = await waitForValue(() => {
    const cg = cgroupOf(pid);
    return cg?.endsWith("/init.scope") ? dirname(cg) : undefined;
  }, 20_000, "the user manager in its init.scope");
});

after(async () => {
  if (managerRoot === "" && manager?.pid !== undefined && manager.exitCode === null) {
    const cg = cgroupOf(manager.pid);
    if (cg !== undefined) managerRoot = cg.endsWith("/init.scope") ? dirname(cg) : cg;
  }
  if (manager !== undefined && manager.exitCode === null) {
    const exited = new Promise((r) => manager!.once("exit", r));
    manager.kill("SIGTERM");
    await exited;
  }
  // What the manager made in its scope goes, deepest first (the harness removes the scope itself).
  const remove = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) remove(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      /* the scope as-user made: the harness's */
    }
  };
  if (managerRoot !== "" && existsSync(managerRoot)) for (const e of readdirSync(managerRoot, { withFileTypes: true })) if (e.isDirectory()) remove(join(managerRoot, e.name));
  if (madeBooted) rmdirSync("/run/systemd/system");
  if (existsSync(session)) {
    await waitFor(() => readFileSync(join(session, "cgroup.procs"), "utf8") === "", 20_000);
    rmdirSync(session);
  }
});


/**
 * mcp-j as mcpjvm in `cgroup` (the session, or root's own): sh moves itself there, then setpriv,
 * env and sh exec, so the pid is mcp-j's.
 */
function asUser(args: string[], o: { env?: Record<string, string>; cgroup?: string } = {}): ChildProcess {
  const env = o.env ?? { XDG_RUNTIME_DIR: runtimeDir };
  const vars = Object.entries({ HOME: USER.home, USER: USER.name, PATH: "/usr/bin:/bin", MCPJ_TEST_TIME_SCALE: process.env.MCPJ_TEST_TIME_SCALE ?? "1", ...env }).map(([k, v]) => `${k}=${v}`);
  const cmd = ["/usr/bin/setpriv", `--reuid=${USER.uid}`, `--regid=${USER.uid}`, "--init-groups", "env", "-i", ...vars, process.execPath, mcpjBin, ...args];
  return spawn("/bin/sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', join(o.cgroup ?? session, ""), ...cmd], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
}
const run = async (args: string[], o: { env?: Record<string, string>; cgroup?: string } = {}): Promise<CliResult> => {
  const child = asUser(args, o);
  child.stdin?.end();
  return collect(child);
};

const scopesOf = (pid: number): string[] => {
  const slice = join(managerRoot, "app.slice");
  return existsSync(slice) ? readdirSync(slice).filter((d) => d.startsWith(`mcp-j-${pid}-`) && d.endsWith(".scope")).map((d) => join(slice, d)) : [];
};

test("doctor as a user with a systemd user manager names the user-scope route, and without one says why it falls back", async () => {
  const r = await run(["doctor"]);
  assert.match(r.stdout, /cgroup v2 \(memory, pids\)\s+usable \(user scope: each jail asks the systemd user manager for one\)/, r.stdout + r.stderr);
  const none = await run(["doctor"], { env: {} });
  assert.match(none.stdout, /cgroup v2 \(memory, pids\)\s+not usable .*no systemd user manager \(XDG_RUNTIME_DIR is not set\)/, none.stdout + none.stderr);
});

test("the jail runs in a transient scope of the user manager with its limits; the scope is gone after the jail", async () => {
  const child = asUser(["--memory", "64M", "--pids", "50", "--cpus", "0.5", "--", "/usr/bin/python3", "-c", "import sys, time\nsys.stderr.write('server-ready\\n'); sys.stderr.flush()\ntime.sleep(600)"]);
  child.stdin?.end();
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("server-ready"), 60_000), `the server started: ${err}`);
  assert.doesNotMatch(err, /no cgroup v2 here/, "no fallback line");
  const [scope] = scopesOf(child.pid!);
  assert.ok(scope !== undefined, `a scope mcp-j-${child.pid}-*.scope in ${managerRoot}/app.slice: ${err}`);
  // The helper (the supervisor) and the whole jail are in it, under the limits asked for.
  const pids = readFileSync(join(scope, "cgroup.procs"), "utf8").trim().split("\n");
  assert.ok(pids.some((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "mcpj-jail"), "the supervisor is in the scope");
  assert.ok(pids.some((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("time.sleep(600)")), "the server is in the scope");
  assert.equal(readFileSync(join(scope, "memory.max"), "utf8").trim(), String(64 << 20));
  assert.equal(readFileSync(join(scope, "memory.swap.max"), "utf8").trim(), "0");
  assert.equal(readFileSync(join(scope, "pids.max"), "utf8").trim(), "50");
  assert.equal(readFileSync(join(scope, "memory.oom.group"), "utf8").trim(), "1");
  // The VM's user subtree has the cpu controller (as user@.service is given it): CPUQuota holds.
  assert.equal(readFileSync(join(scope, "cpu.max"), "utf8").trim(), "50000 100000");
  child.kill("SIGTERM");
  const r = await done;
  assert.equal(r.code, 143, r.stderr);
  assert.ok(await waitFor(() => !existsSync(scope), 20_000), `systemd removed ${scope}`);
});

test("over its memory limit the whole jail is killed by the kernel in its scope (exit 122), and the scope goes", async () => {
  const child = asUser(["--memory", "64M", "--", "/usr/bin/python3", "-c", "x = bytearray(512 << 20)"]);
  child.stdin?.end();
  const r = await collect(child);
  assert.equal(r.code, 122, r.stderr);
  assert.match(r.stderr, /the server was killed: out of memory \(limit 64 MiB\)/);
  assert.doesNotMatch(r.stderr, /no cgroup v2 here|supervisor died/);
  assert.ok(await waitFor(() => scopesOf(child.pid!).length === 0, 20_000), "systemd removed the scope");
});

test("where the user manager cannot make a scope for mcp-j, it falls back and says why; --strict refuses", async () => {
  // From root's cgroup the manager cannot move systemd-run (the common ancestor is root's).
  const r = await run(["--memory", "64M", "--", "/bin/true"], { cgroup: "/sys/fs/cgroup" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no cgroup v2 here: memory \(64 MiB\) is watched by the supervisor/);
  const strict = await run(["--strict", "--", "/bin/true"], { cgroup: "/sys/fs/cgroup" });
  assert.equal(strict.code, 125, strict.stderr);
  assert.match(strict.stderr, /no usable cgroup v2 \(.*systemd-run --user --scope failed \(exit 1\): .+\); refusing to start/);
});
