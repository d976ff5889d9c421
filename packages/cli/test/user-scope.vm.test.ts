// Issue 11: an unprivileged user whose own cgroup offers nothing gets a cgroup from its systemd user
// manager (a transient scope with the limits, engine/src/cgroup/user-scope.ts) before mcp-j falls
// back to the supervisor's memory watch. In the test VM, as root: a real `systemd --user` runs for
// the guest user mcpjvm in that user's delegated cgroup, and mcp-j runs as mcpjvm in a cgroup root
// made beside it, as a login session's scope is (so detect.ts finds no route of its own; the set-up
// is user-manager.vm-helpers.ts).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { collect, waitFor } from "./helpers.js";
import { asUser, runAsUser as run, runToEnd, startUserManager, type UserManager } from "./user-manager.vm-helpers.js";

let manager: UserManager | undefined;
before(async () => {
  manager = await startUserManager();
});
after(async () => {
  await manager?.stop();
});
const scopesOf = (pid: number): string[] => manager!.scopesOf(pid);

test("doctor as a user with a systemd user manager names the user-scope route, and without one says why it falls back", async () => {
  const r = await run(["doctor"]);
  assert.match(r.stdout, /cgroup v2 \(memory, pids\)\s+usable \(user scope: each jail asks the systemd user manager for one\)/, r.stdout + r.stderr);
  const none = await run(["doctor"], { env: {} });
  assert.match(none.stdout, /cgroup v2 \(memory, pids\)\s+not usable .*no systemd user manager \(XDG_RUNTIME_DIR is not set\)/, none.stdout + none.stderr);
});

test("the jail runs in a transient scope of the user manager, in a cgroup of its own with its limits; the scope is gone after the jail", async () => {
  const child = asUser(["--memory", "64M", "--pids", "50", "--cpus", "0.5", "--", "/usr/bin/python3", "-c", "import sys, time\nsys.stderr.write('server-ready\\n'); sys.stderr.flush()\ntime.sleep(600)"]);
  // The client's input stays open while the test looks: a closed one stops the server after the
  // grace period (2 s), which Python's start under emulation can take (then it never says ready).
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("server-ready"), 60_000), `the server started: ${err}`);
  assert.doesNotMatch(err, /no cgroup v2 here/, "no fallback line");
  const [scope] = scopesOf(child.pid!);
  assert.ok(scope !== undefined, `a scope mcp-j-${child.pid}-*.scope in ${manager!.root}/app.slice: ${err}`);
  // The supervisor alone in the scope's leaf; the jail in mcp-j/<id>, under the limits asked for.
  const procs = (dir: string): string[] => readFileSync(join(dir, "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean);
  assert.deepEqual(procs(scope), []);
  assert.deepEqual(procs(join(scope, "supervisor")).map((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim()), ["mcpj-jail"]);
  const jails = readdirSync(join(scope, "mcp-j"), { withFileTypes: true }).filter((e) => e.isDirectory());
  assert.equal(jails.length, 1);
  const jail = join(scope, "mcp-j", jails[0]!.name);
  assert.ok(procs(jail).some((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("time.sleep(600)")), "the server is in the jail's cgroup");
  assert.equal(readFileSync(join(jail, "memory.max"), "utf8").trim(), String(64 << 20));
  assert.equal(readFileSync(join(jail, "memory.swap.max"), "utf8").trim(), "0");
  assert.equal(readFileSync(join(jail, "pids.max"), "utf8").trim(), "50");
  assert.equal(readFileSync(join(jail, "memory.oom.group"), "utf8").trim(), "1");
  // The VM's user subtree has the cpu controller (as user@.service is given it).
  assert.equal(readFileSync(join(jail, "cpu.max"), "utf8").trim(), "50000 100000");
  child.kill("SIGTERM");
  const r = await done;
  assert.equal(r.code, 143, r.stderr);
  assert.ok(await waitFor(() => !existsSync(scope), 20_000), `systemd removed ${scope}`);
});

test("over its memory limit the whole jail is killed by the kernel (exit 122, audited), its supervisor survives to say so, and the scope goes", async () => {
  // Every time: the supervisor is outside the jail's cgroup, so the scope outlives the OOM kill.
  for (let i = 0; i < 3; i++) {
    const r = await runToEnd(["--memory", "64M", "--", "/usr/bin/python3", "-c", "x = bytearray(512 << 20)"]);
    assert.equal(r.code, 122, r.stderr);
    assert.match(r.stderr, /the server was killed: out of memory \(limit 64 MiB\)/);
    assert.doesNotMatch(r.stderr, /no cgroup v2 here|supervisor died/);
    assert.ok(await waitFor(() => manager!.scopesOf(r.pid).length === 0, 20_000), "systemd removed the scope");
  }
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
