// cgroup v2 enforcement on a real kernel: runs only inside the test VM (scripts/vm/run.mjs, as root,
// cgroup2 on /sys/fs/cgroup with +memory +pids +cpu at the root). ESCAPES.md 49, 50, 52 at the
// cgroup level (no jail: children are moved into the cgroup by writing cgroup.procs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { collectOrphans, createJailCgroup, detectCgroupV2, ownedName, parseKeyedFile, parseMountInfo, planResources, selfOwner, type CgroupEvent, type JailCgroup, type ResourceLimits } from "../src/cgroup/index.js";
import { waitForValue as waitFor } from "./helpers/time.js";

const MiB = 1024 * 1024;
const CG = "/sys/fs/cgroup";
const base: ResourceLimits = { memoryBytes: 64 * MiB, pids: 64, openFiles: 256 };
const inVm =
  process.env.MCPJ_VM === "1" &&
  parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8")).some((m) => m.mountPoint === CG && m.fsType === "cgroup2");

// Never run these anywhere but in the VM: they create cgroups, and the hosts' cgroups are not ours.
// Thrown at load time, so not a single test starts.
if (!inVm) throw new Error("cgroup.vm.test.js runs only inside the test VM (node scripts/vm/run.mjs): refusing to touch this machine's cgroups");

const read = (p: string) => readFileSync(p, "utf8").trim();
const ownCgroup = () => /^0::(.*)$/m.exec(readFileSync("/proc/self/cgroup", "utf8"))![1]!;

/** A shell blocked on `read` until we say go: moved into the cgroup before it runs anything. */
function gated(script: string): { child: ChildProcess; go: () => void; out: Promise<string>; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn("/bin/sh", ["-c", `read _go; ${script}`], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, go: () => child.stdin!.write("go\n"), out: exit.then(() => out), exit };
}
function join_(cg: JailCgroup, pid: number) {
  writeFileSync(join(cg.path, "cgroup.procs"), String(pid));
  assert.ok(read(join(cg.path, "cgroup.procs")).split("\n").includes(String(pid)));
}
async function assertGone(cg: JailCgroup) {
  assert.equal(existsSync(cg.path), false, `${cg.path} removed`);
  const mcpj = join(CG, "mcp-j");
  if (existsSync(mcpj)) assert.ok(!readdirSync(mcpj).includes(cg.path.split("/").pop()!));
}

test("the VM's cgroup v2: detection takes the root subtree (route own)", () => {
  const s = detectCgroupV2();
  assert.equal(s.usable, true, s.reason);
  if (!s.usable) return;
  assert.equal(s.route, "own");
  assert.equal(s.parentDir, CG);
  for (const c of ["memory", "pids", "cpu"]) assert.ok(s.controllers.includes(c), c);
  assert.equal(s.hasKill, true);
});

test("limits are written; a child moved in shows up; teardown leaves nothing", async () => {
  const plan = await planResources({ ...base, cpus: 0.5 }, { jailId: `lim-${process.pid}`, strict: true });
  assert.equal(plan.kind, "cgroup");
  if (plan.kind !== "cgroup") return;
  const cg = plan.cgroup;
  assert.equal(cg.path, join(CG, "mcp-j", ownedName(`lim-${process.pid}`, selfOwner())));
  assert.deepEqual(plan.rlimits.map((r) => r.resource), ["NOFILE", "CORE", "MSGQUEUE"]);
  assert.equal(read(join(cg.path, "memory.max")), String(64 * MiB));
  if (existsSync(join(cg.path, "memory.swap.max"))) assert.equal(read(join(cg.path, "memory.swap.max")), "0");
  assert.equal(read(join(cg.path, "memory.oom.group")), "1");
  assert.equal(read(join(cg.path, "pids.max")), "64");
  assert.equal(read(join(cg.path, "cpu.max")), "50000 100000");
  // A process tree inside: cgroup.kill takes all of it, populated goes to 0.
  const g = gated("sleep 600 & sleep 600 & (sleep 600 &) ; echo started; wait");
  join_(cg, g.child.pid!);
  g.go();
  await waitFor(() => (read(join(cg.path, "cgroup.procs")).split("\n").length >= 4 ? true : undefined), 20000, "4 processes in the cgroup");
  assert.equal(parseKeyedFile(read(join(cg.path, "cgroup.events"))).get("populated"), 1);
  await cg.remove();
  const r = await g.exit;
  assert.equal(r.signal, "SIGKILL");
  await assertGone(cg);
  await cg.remove(); // idempotent
});

test("ESCAPES 50: memory bomb (touch 1 GiB, memory.max 64M) is OOM-killed; oom_kill event via fs.watch", async (t) => {
  // Poll disabled (60 s): the event must come from fs.watch (kernfs notifies memory.events).
  const plan = await planResources(base, { jailId: `mem-${process.pid}`, strict: true, pollMs: 60_000 });
  assert.equal(plan.kind, "cgroup");
  if (plan.kind !== "cgroup") return;
  const cg = plan.cgroup;
  const events: CgroupEvent[] = [];
  cg.onEvent((e) => events.push(e));
  const bomb = `const a = []; for (let i = 0; i < 1024; i++) { const b = Buffer.allocUnsafe(1 << 20); b.fill(i & 255); a.push(b); } console.log("survived", a.length);`;
  const g = gated(`exec ${JSON.stringify(process.execPath)} -e '${bomb}'`);
  join_(cg, g.child.pid!);
  const t0 = Date.now();
  g.go();
  const r = await g.exit;
  assert.equal(r.signal, "SIGKILL", `killed, not ${JSON.stringify(r)}`);
  assert.doesNotMatch(await g.out, /survived/);
  const kill = await waitFor(() => events.find((e) => e.type === "oom_kill"), 10000, "an oom_kill event");
  assert.ok(kill.count >= 1);
  assert.equal(kill.limitBytes, 64 * MiB);
  assert.ok(events.some((e) => e.type === "memory_max"), "memory_max seen too");
  const mem = parseKeyedFile(read(join(cg.path, "memory.events")));
  assert.ok((mem.get("oom_kill") ?? 0) >= 1);
  t.diagnostic(`memory bomb killed after ${Date.now() - t0} ms; events: ${events.map((e) => `${e.type}=${e.count}`).join(" ")}`);
  await cg.remove();
  await assertGone(cg);
});

test("ESCAPES 49: fork bomb stops at pids.max with EAGAIN; pids_max event via the poll", async (t) => {
  const plan = await planResources({ ...base, pids: 24 }, { jailId: `fork-${process.pid}`, strict: true, useWatch: false, pollMs: 50 });
  assert.equal(plan.kind, "cgroup");
  if (plan.kind !== "cgroup") return;
  const cg = plan.cgroup;
  const events: CgroupEvent[] = [];
  cg.onEvent((e) => events.push(e));
  // Node itself holds several tasks (threads count against pids.max); it spawns sleepers until a
  // spawn fails, and reports the errno.
  const bomb = `const { spawn } = require("child_process"); let n = 0; const next = () => { const c = spawn("/bin/sleep", ["600"], { stdio: "ignore" }); c.on("error", (e) => { console.log(JSON.stringify({ n, code: e.code })); process.exit(0); }); c.on("spawn", () => { n++; if (n > 200) { console.log(JSON.stringify({ n, code: "none" })); process.exit(0); } next(); }); }; next();`;
  const g = gated(`exec ${JSON.stringify(process.execPath)} -e '${bomb}'`);
  join_(cg, g.child.pid!);
  g.go();
  const r = await g.exit;
  const res = JSON.parse((await g.out).trim().split("\n").pop()!) as { n: number; code: string };
  assert.equal(r.code, 0);
  assert.equal(res.code, "EAGAIN", `fork failed with ${res.code} after ${res.n}`);
  assert.ok(res.n > 0 && res.n < 24, `spawned ${res.n}`);
  const ev = await waitFor(() => events.find((e) => e.type === "pids_max"), 5000, "a pids_max event");
  assert.equal(ev.limitPids, 24);
  assert.ok(Number(read(join(cg.path, "pids.current"))) <= 24);
  t.diagnostic(`fork bomb: ${res.n} sleepers then ${res.code}; pids.events max=${ev.count}`);
  // The sleepers were orphaned to init when node exited; teardown still gets every one.
  assert.ok(cg.path && read(join(cg.path, "cgroup.procs")).split("\n").length >= res.n);
  await cg.remove();
  await assertGone(cg);
});

test("ESCAPES 52: cpu.max throttles a busy loop", async () => {
  const plan = await planResources({ ...base, cpus: 0.2 }, { jailId: `cpu-${process.pid}`, strict: true });
  assert.equal(plan.kind, "cgroup");
  if (plan.kind !== "cgroup") return;
  const cg = plan.cgroup;
  assert.equal(read(join(cg.path, "cpu.max")), "20000 100000");
  const g = gated("while :; do :; done");
  join_(cg, g.child.pid!);
  const t0 = process.hrtime.bigint();
  g.go();
  const stat = () => parseKeyedFile(read(join(cg.path, "cpu.stat")));
  await waitFor(() => ((stat().get("nr_throttled") ?? 0) >= 5 ? true : undefined), 30000, "5 throttled periods");
  const wallUsec = Number((process.hrtime.bigint() - t0) / 1000n);
  // A ratio, not a duration: CPU time over wall time stays near the 0.2 quota (a whole CPU would
  // be 1.0), however slow this machine is.
  const usage = stat().get("usage_usec") ?? 0;
  assert.ok(usage / wallUsec < 0.5, `usage ${usage} µs over ${wallUsec} µs of wall time`);
  await cg.remove();
  assert.equal((await g.exit).signal, "SIGKILL");
  await assertGone(cg);
});

test("a jail id that exists is refused (never reuse a cgroup mcp-j did not create)", async () => {
  const id = `dup-${process.pid}`;
  const a = await planResources(base, { jailId: id, strict: true });
  assert.equal(a.kind, "cgroup");
  await assert.rejects(planResources(base, { jailId: id, strict: true }), /already exists/);
  const b = await planResources(base, { jailId: id, strict: false });
  assert.equal(b.kind, "rlimit");
  if (b.kind === "rlimit") assert.match(b.weaker, /already exists/);
  if (a.kind === "cgroup") {
    await a.cgroup.remove();
    await assertGone(a.cgroup);
  }
});

test("leaf route: a delegated cgroup holding only mcp-j; undone at teardown", async () => {
  // The test plays the service manager: it makes a cgroup and "delegates" it (root: the flag).
  const svc = join(CG, `svc-${process.pid}`);
  mkdirSync(svc);
  try {
    const mod = fileURLToPath(new URL("../src/cgroup/index.js", import.meta.url));
    const script = `
      const fs = require("fs");
      const own = () => /^0::(.*)$/m.exec(fs.readFileSync("/proc/self/cgroup", "utf8"))[1];
      fs.writeFileSync(${JSON.stringify(join(svc, "cgroup.procs"))}, String(process.pid));
      import(${JSON.stringify(mod)}).then(async (m) => {
        const out = { before: own() };
        const d = m.detectCgroupV2({ delegated: true });
        out.route = d.route; out.reason = d.reason;
        const plan = await m.planResources({ memoryBytes: 64 << 20, pids: 32, openFiles: 64 }, { jailId: "j1", strict: true, delegated: true });
        out.kind = plan.kind; out.path = plan.cgroup.path; out.during = own();
        // A second jail of the same mcp-j: detection now sees the "own" route (X enables the
        // controllers and mcp-j is no longer in X); the last removal undoes the leaf set-up.
        const plan2 = await m.planResources({ memoryBytes: 64 << 20, pids: 32, openFiles: 64 }, { jailId: "j2", strict: true, delegated: true });
        out.path2 = plan2.cgroup.path;
        out.svcSubtree = fs.readFileSync(${JSON.stringify(join(svc, "cgroup.subtree_control"))}, "utf8").trim();
        out.pidsMax = fs.readFileSync(plan.cgroup.path + "/pids.max", "utf8").trim();
        await plan.cgroup.remove();
        out.afterFirst = own();
        await plan2.cgroup.remove();
        out.after = own();
        out.svcSubtreeAfter = fs.readFileSync(${JSON.stringify(join(svc, "cgroup.subtree_control"))}, "utf8").trim();
        out.left = fs.readdirSync(${JSON.stringify(svc)}, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
        console.log(JSON.stringify(out));
      }).catch((e) => { console.log(JSON.stringify({ error: String(e && e.stack || e) })); });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await new Promise((r) => child.on("exit", r));
    const res = JSON.parse(out.trim().split("\n").pop()!);
    assert.equal(res.error, undefined, res.error);
    const name = `/svc-${process.pid}`;
    assert.equal(res.before, name);
    assert.equal(res.route, "leaf", res.reason);
    assert.equal(res.kind, "cgroup");
    const owned = (id: string) => new RegExp(`^${join(svc, "mcp-j", id)}\\.\\d+-\\d+-\\d+$`);
    assert.match(res.path, owned("j1"));
    assert.equal(res.during, `${name}/mcp-j/supervisor`);
    assert.match(res.path2, owned("j2"));
    assert.equal(res.afterFirst, `${name}/mcp-j/supervisor`, "still in the leaf while a jail remains");
    assert.match(res.svcSubtree, /memory/);
    assert.equal(res.pidsMax, "32");
    assert.equal(res.after, name, "mcp-j moved back into its own cgroup");
    assert.equal(res.svcSubtreeAfter, "", "subtree_control restored");
    assert.deepEqual(res.left, [], "no mcp-j or supervisor cgroup left");

    // The same cgroup with another process in it: refused, with the reason, nothing written.
    const other = spawn("/bin/sleep", ["600"], { stdio: "ignore" });
    await new Promise((r) => other.on("spawn", r));
    writeFileSync(join(svc, "cgroup.procs"), String(other.pid));
    const s = detectCgroupV2({ cgroupRoot: svc, delegated: true });
    assert.equal(s.usable, false);
    assert.match(s.reason, /other process.*no internal processes/);
    other.kill("SIGKILL");
    await new Promise((r) => other.on("exit", r));
    assert.equal(ownCgroup(), "/", "the test runner itself never moved");
  } finally {
    // Clean up even after a failure (without hiding it): leftovers deepest first.
    await waitFor(() => (parseKeyedFile(read(join(svc, "cgroup.events"))).get("populated") === 0 ? true : undefined), 5000, "svc empty").catch(() => undefined);
    const rmTree = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rmTree(join(d, e.name));
      try { rmdirSync(d); } catch { /* reported by the assertions */ }
    };
    rmTree(svc);
  }
});

test("teardown without cgroup.kill (kernels < 5.14): freeze, SIGKILL pid by pid", async () => {
  const cg = await createJailCgroup({ route: "own", parentDir: CG, jailId: `nokill-${process.pid}`, limits: base, controllers: ["memory", "pids"], hasKill: false });
  // A shell that keeps forking while we kill: the freeze stops it from escaping the loop.
  const g = gated("while :; do sleep 600 & sleep 0.01; done");
  join_(cg, g.child.pid!);
  g.go();
  await waitFor(() => (read(join(cg.path, "cgroup.procs")).split("\n").length >= 6 ? true : undefined), 20000, "the shell to fork");
  await cg.kill();
  assert.equal(parseKeyedFile(read(join(cg.path, "cgroup.events"))).get("populated"), 0);
  assert.equal(read(join(cg.path, "cgroup.procs")), "");
  assert.equal((await g.exit).signal, "SIGKILL");
  await cg.remove();
  await assertGone(cg);
});

test("orphans: a jail cgroup whose mcp-j is gone is collected (killed first if populated); a live owner's and a foreign one stay", async () => {
  const mcpj = join(CG, "mcp-j");
  // A real process, then killed: its pid, start time and pid namespace name the dead owner.
  const gone = spawn("/bin/sleep", ["600"]);
  await new Promise((r) => gone.on("spawn", r));
  const deadOwner = selfOwner(gone.pid!);
  gone.kill("SIGKILL");
  await new Promise((r) => gone.on("exit", r));
  assert.ok(deadOwner.startTime > 0, "the owner's start time was read while it ran");
  const dir = (name: string) => join(mcpj, name);
  const empty = ownedName(`dead-${process.pid}`, deadOwner);
  const busy = ownedName(`busy-${process.pid}`, deadOwner);
  const live = ownedName(`live-${process.pid}`, selfOwner());
  const foreign = ownedName(`foreign-${process.pid}`, { ...deadOwner, pidNs: deadOwner.pidNs + 1 });
  const unowned = `plain-${process.pid}`;
  // An orphaned jail still running: a sleeper inside the dead owner's cgroup.
  const g = gated("exec sleep 600");
  try {
    mkdirSync(mcpj, { recursive: true });
    for (const n of [empty, busy, live, foreign, unowned]) mkdirSync(dir(n));
    writeFileSync(join(dir(busy), "cgroup.procs"), String(g.child.pid));
    g.go();
    const removed = await collectOrphans(mcpj);
    assert.deepEqual(removed.sort(), [dir(busy), dir(empty)].sort());
    assert.equal((await g.exit).signal, "SIGKILL", "the orphaned jail's process was killed");
    for (const n of [live, foreign, unowned]) assert.ok(existsSync(dir(n)), `${n} stays`);
  } finally {
    g.child.kill("SIGKILL");
    for (const n of [empty, busy, live, foreign, unowned]) try { rmdirSync(dir(n)); } catch { /* gone */ }
    try { rmdirSync(mcpj); } catch { /* other jails */ }
  }
});
