// Host tests of the resource-limit layer. They never write under /sys/fs/cgroup: the host's cgroups
// belong to the machine (hybrid hierarchy, no cgroup v2 memory controller). Real cgroup v2
// enforcement is tested in the VM (cgroup.vm.test.ts, scripts/vm).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DATA_HEADROOM,
  cgroupDirFor,
  cpuMaxFor,
  detectCgroupV2,
  fallbackRlimits,
  formatBytes,
  kernelHasCgroupKill,
  parseControllerList,
  parseKeyedFile,
  parseMountInfo,
  parseProcCgroup,
  planResources,
  ResourceLimitUnavailableError,
  v2PathFromProcCgroup,
  validJailId,
  type ResourceLimits,
} from "../src/cgroup/index.js";

const MiB = 1024 * 1024;
const limits: ResourceLimits = { memoryBytes: 512 * MiB, pids: 256, openFiles: 1024 };

// ---- fixtures -----------------------------------------------------------------------------------
const HYBRID_MOUNTINFO = `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_PROC_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/0199bd7a0b480a896f0c4feb50378507
1:cpu:/
0::/
`;
const SYSTEMD_MOUNTINFO = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
97 30 0:40 / /mnt/with\\040space rw,relatime shared:50 - tmpfs my\\040tmp rw
`;
const V1_ONLY_MOUNTINFO = `35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
`;
const MEMORY_EVENTS = `low 0
high 0
max 17
oom 2
oom_kill 1
oom_group_kill 1
`;

// ---- parsers ------------------------------------------------------------------------------------
test("parseMountInfo: fields, optional fields, octal escapes", () => {
  const m = parseMountInfo(SYSTEMD_MOUNTINFO);
  assert.equal(m.length, 3);
  assert.deepEqual(
    { fs: m[1]!.fsType, mp: m[1]!.mountPoint, root: m[1]!.root, sopt: m[1]!.superOptions },
    { fs: "cgroup2", mp: "/sys/fs/cgroup", root: "/", sopt: ["rw", "nsdelegate", "memory_recursiveprot"] },
  );
  assert.equal(m[2]!.mountPoint, "/mnt/with space");
  assert.equal(m[2]!.source, "my tmp");
  const h = parseMountInfo(HYBRID_MOUNTINFO).filter((e) => e.fsType === "cgroup2");
  assert.deepEqual(h.map((e) => e.mountPoint), ["/sys/fs/cgroup/unified"]);
  assert.deepEqual(parseMountInfo("garbage\n\n1 2 3"), []);
});

test("parseProcCgroup / v2PathFromProcCgroup: hybrid, pure v2, v1 only", () => {
  const e = parseProcCgroup(HYBRID_PROC_CGROUP);
  assert.equal(e.length, 5);
  assert.deepEqual(e[2], { id: 4, controllers: ["memory"], path: "/process_api/0199bd7a0b480a896f0c4feb50378507" });
  assert.equal(v2PathFromProcCgroup(HYBRID_PROC_CGROUP), "/");
  assert.equal(v2PathFromProcCgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope\n"), "/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope");
  assert.equal(v2PathFromProcCgroup("4:memory:/a\n1:name=systemd:/b\n"), undefined);
  // A path may contain ':'.
  assert.equal(v2PathFromProcCgroup("0::/a:b\n"), "/a:b");
});

test("parseKeyedFile: memory.events, pids.events, cgroup.events, max", () => {
  const m = parseKeyedFile(MEMORY_EVENTS);
  assert.equal(m.get("max"), 17);
  assert.equal(m.get("oom"), 2);
  assert.equal(m.get("oom_kill"), 1);
  assert.equal(parseKeyedFile("max 3\n").get("max"), 3);
  assert.equal(parseKeyedFile("populated 1\nfrozen 0\n").get("populated"), 1);
  assert.equal(parseKeyedFile("memory.max max\n").get("memory.max"), Infinity);
  assert.deepEqual(parseControllerList("cpuset cpu io memory hugetlb pids rdma misc\n"), ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"]);
  assert.deepEqual(parseControllerList("\n"), []);
});

test("cgroupDirFor: mount roots and cgroup namespaces", () => {
  assert.equal(cgroupDirFor({ root: "/", mountPoint: "/sys/fs/cgroup" }, "/a/b"), "/sys/fs/cgroup/a/b");
  assert.equal(cgroupDirFor({ root: "/", mountPoint: "/sys/fs/cgroup" }, "/"), "/sys/fs/cgroup");
  assert.equal(cgroupDirFor({ root: "/docker/abc", mountPoint: "/sys/fs/cgroup" }, "/docker/abc/x"), "/sys/fs/cgroup/x");
  assert.equal(cgroupDirFor({ root: "/docker/abc", mountPoint: "/sys/fs/cgroup" }, "/docker/abcd"), undefined);
  assert.equal(cgroupDirFor({ root: "/docker/abc", mountPoint: "/sys/fs/cgroup" }, "/other"), undefined);
});

test("cpuMaxFor, formatBytes, kernelHasCgroupKill, validJailId", () => {
  assert.equal(cpuMaxFor(1.5), "150000 100000");
  assert.equal(cpuMaxFor(0.5), "50000 100000");
  assert.equal(cpuMaxFor(0.001), "1000 100000");
  assert.equal(formatBytes(512 * MiB), "512 MiB");
  assert.equal(formatBytes(1536 * MiB), "1.5 GiB");
  assert.equal(formatBytes(100), "100 bytes");
  assert.equal(kernelHasCgroupKill("6.1.0-56-amd64"), true);
  assert.equal(kernelHasCgroupKill("5.14.0"), true);
  assert.equal(kernelHasCgroupKill("5.10.0-28-amd64"), false);
  assert.equal(kernelHasCgroupKill("4.19.0"), false);
  assert.ok(validJailId("j-1234.abc_x"));
  for (const bad of ["", "..", ".", "a/b", "supervisor", "-x", "a b", "x".repeat(200)]) assert.equal(validJailId(bad), false, bad);
});

// ---- the rlimit fallback -------------------------------------------------------------------------
test("fallbackRlimits: no AS (reservations are not use), DATA as a backstop, NPROC, NOFILE, CORE=0, MSGQUEUE, soft = hard", () => {
  const r = fallbackRlimits(limits);
  assert.deepEqual(r, [
    { resource: "DATA", soft: 512 * MiB + DATA_HEADROOM, hard: 512 * MiB + DATA_HEADROOM },
    { resource: "NPROC", soft: 256, hard: 256 },
    { resource: "NOFILE", soft: 1024, hard: 1024 },
    { resource: "CORE", soft: 0, hard: 0 },
    { resource: "MSGQUEUE", soft: 200 * 1024, hard: 200 * 1024 },
  ]);
});

test("planResources without cgroup v2 (fixture): rlimit plan and one weaker line", async () => {
  const plan = await planResources({ ...limits, cpus: 2 }, { jailId: "t", strict: false, detect: { mountinfo: V1_ONLY_MOUNTINFO, procCgroup: "4:memory:/\n" } });
  assert.equal(plan.kind, "rlimit");
  if (plan.kind !== "rlimit") return;
  assert.deepEqual(plan.rlimits.map((r) => r.resource), ["DATA", "NPROC", "NOFILE", "CORE", "MSGQUEUE"]);
  assert.equal(
    plan.weaker,
    "mcp-j: warning: no cgroup v2 here: memory (512 MiB) is watched by the supervisor, pids (256) are counted per user; --cpus 2 is not enforced (`mcp-j doctor` for details, --strict to refuse)",
  );
  assert.ok(plan.weaker.length < 200, "one short line (issue 12 item 5)");
  assert.match(plan.reason, /no cgroup2 file system is mounted \(hybrid cgroups: memory is on cgroup v1/);
});

test("planResources --strict without cgroup v2: typed refusal", async () => {
  await assert.rejects(
    planResources(limits, { jailId: "t", strict: true, detect: { mountinfo: V1_ONLY_MOUNTINFO, procCgroup: "4:memory:/\n" } }),
    (e: unknown) => {
      assert.ok(e instanceof ResourceLimitUnavailableError);
      assert.equal(e.code, "MCPJ_NO_CGROUP_V2");
      assert.equal(e.support.usable, false);
      assert.match(e.message, /refusing to start/);
      return true;
    },
  );
});

test("planResources validates the limits", async () => {
  await assert.rejects(planResources({ ...limits, memoryBytes: 0 }, { jailId: "t", strict: false }), RangeError);
  await assert.rejects(planResources({ ...limits, pids: 1.5 }, { jailId: "t", strict: false }), RangeError);
  await assert.rejects(planResources({ ...limits, cpus: -1 }, { jailId: "t", strict: false }), RangeError);
});

// ---- detection on fake cgroup trees (regular files in a temp dir + a fixture mountinfo) -----------
type Tree = Record<string, { controllers?: string; subtree?: string; procs?: string; root?: boolean; owner?: number }>;
function fakeHierarchy(tree: Tree): { dir: string; mountinfo: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "mcpj-fakecg-"));
  for (const [rel, c] of Object.entries(tree)) {
    const d = join(dir, rel);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "cgroup.controllers"), (c.controllers ?? "") + "\n");
    writeFileSync(join(d, "cgroup.subtree_control"), (c.subtree ?? "") + "\n");
    writeFileSync(join(d, "cgroup.procs"), c.procs ?? "");
    if (!c.root) writeFileSync(join(d, "cgroup.type"), "domain\n");
    if (c.owner !== undefined) {
      for (const f of ["", "cgroup.procs", "cgroup.subtree_control"]) chownSync(join(d, f), c.owner, c.owner);
    }
  }
  return { dir, mountinfo: `26 25 0:23 / ${dir} rw,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate\n`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
const isRoot = process.geteuid?.() === 0;

test("detect: root cgroup that enables memory+pids → route own", () => {
  const f = fakeHierarchy({ ".": { root: true, controllers: "cpu memory pids", subtree: "cpu memory pids", procs: "1\n" } });
  try {
    const s = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: "0::/\n", uid: 0 });
    assert.equal(s.usable, true, s.reason);
    if (!s.usable) return;
    assert.equal(s.route, "own");
    assert.equal(s.parentDir, f.dir);
    assert.deepEqual(s.controllers, ["cpu", "memory", "pids"]);
  } finally {
    f.cleanup();
  }
});

test("detect: hybrid host's unified mount without memory → unusable with the reason", () => {
  const f = fakeHierarchy({ ".": { root: true, controllers: "hugetlb", subtree: "", procs: "1\n" } });
  try {
    const mi = HYBRID_MOUNTINFO.replace("/sys/fs/cgroup/unified", f.dir);
    const s = detectCgroupV2({ mountinfo: mi, procCgroup: HYBRID_PROC_CGROUP, uid: 0 });
    assert.equal(s.usable, false);
    assert.match(s.reason, /offers mcp-j's cgroup \/ the controllers \[hugetlb\]; memory and pids are missing/);
    assert.match(s.reason, /memory and pids are on cgroup v1/);
  } finally {
    f.cleanup();
  }
});

test("detect: root cgroup with the controllers available but not enabled → not ours to change", () => {
  const f = fakeHierarchy({ ".": { root: true, controllers: "memory pids", subtree: "" } });
  try {
    const s = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: "0::/\n", uid: 0 });
    assert.equal(s.usable, false);
    assert.match(s.reason, /does not enable memory and pids for its children/);
  } finally {
    f.cleanup();
  }
});

test("detect: root in a session scope with other processes → no internal processes, unusable", () => {
  const f = fakeHierarchy({
    ".": { root: true, controllers: "memory pids", subtree: "memory pids" },
    "user.slice": { controllers: "memory pids", subtree: "memory pids" },
    "user.slice/session-3.scope": { controllers: "memory pids", subtree: "", procs: "4242\n777\n" },
  });
  try {
    const proc = "0::/user.slice/session-3.scope\n";
    const s = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: proc, uid: 0, pid: 777, delegated: false });
    assert.equal(s.usable, false);
    assert.match(s.reason, /not marked as delegated/);
    const s2 = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: proc, uid: 0, pid: 777, delegated: true });
    assert.equal(s2.usable, false);
    assert.match(s2.reason, /holds 1 other process \(e\.g\. pid 4242\).*no internal processes/);
  } finally {
    f.cleanup();
  }
});

test("detect: root, delegated scope holding only mcp-j → route leaf", () => {
  const f = fakeHierarchy({
    ".": { root: true, controllers: "memory pids cpu", subtree: "memory pids cpu" },
    "system.slice": { controllers: "memory pids cpu", subtree: "memory pids" },
    "system.slice/run-u7.scope": { controllers: "memory pids", subtree: "", procs: "777\n" },
  });
  try {
    const s = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: "0::/system.slice/run-u7.scope\n", uid: 0, pid: 777, delegated: true });
    assert.equal(s.usable, true, s.reason);
    if (!s.usable) return;
    assert.equal(s.route, "leaf");
    assert.equal(s.parentDir, join(f.dir, "system.slice/run-u7.scope"));
    assert.deepEqual(s.controllers, ["memory", "pids"]);
  } finally {
    f.cleanup();
  }
});

test("detect: a second jail from inside mcp-j's own supervisor leaf stays on the leaf route", () => {
  const f = fakeHierarchy({
    ".": { root: true, controllers: "memory pids", subtree: "memory pids" },
    "svc.scope": { controllers: "memory pids", subtree: "memory pids" },
    "svc.scope/mcp-j": { controllers: "memory pids", subtree: "memory pids" },
    "svc.scope/mcp-j/supervisor": { controllers: "memory pids", subtree: "", procs: "777\n" },
  });
  try {
    const s = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: "0::/svc.scope/mcp-j/supervisor\n", uid: 0, pid: 777, delegated: true });
    assert.equal(s.usable && s.route, "leaf", s.reason);
    if (s.usable) assert.equal(s.parentDir, join(f.dir, "svc.scope"));
  } finally {
    f.cleanup();
  }
});

test("detect: unprivileged in a user-manager app scope → the delegated ancestor", { skip: !isRoot && "needs root to chown the fake tree" }, () => {
  const U = 1000;
  const f = fakeHierarchy({
    ".": { root: true, controllers: "memory pids cpu", subtree: "memory pids cpu" },
    "user.slice": { controllers: "memory pids cpu", subtree: "memory pids cpu" },
    "user.slice/user-1000.slice": { controllers: "memory pids cpu", subtree: "memory pids cpu" },
    "user.slice/user-1000.slice/user@1000.service": { controllers: "memory pids cpu", subtree: "memory pids cpu", owner: U },
    "user.slice/user-1000.slice/user@1000.service/app.slice": { controllers: "memory pids cpu", subtree: "", owner: U },
    "user.slice/user-1000.slice/user@1000.service/app.slice/app-term.scope": { controllers: "", subtree: "", procs: "100\n777\n", owner: U },
    "user.slice/user-1000.slice/session-2.scope": { controllers: "memory pids cpu", procs: "55\n" },
  });
  try {
    const s = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-term.scope\n", uid: U, pid: 777 });
    assert.equal(s.usable, true, s.reason);
    if (!s.usable) return;
    assert.equal(s.route, "delegated");
    assert.equal(s.parentDir, join(f.dir, "user.slice/user-1000.slice/user@1000.service"));
    assert.match(s.reason, /delegated to uid 1000/);
    // Outside the user manager (a login session scope, owned by root): nothing delegated.
    const s2 = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: "0::/user.slice/user-1000.slice/session-2.scope\n", uid: U, pid: 777 });
    assert.equal(s2.usable, false);
    assert.match(s2.reason, /not delegated to uid 1000/);
    // A delegated scope that holds only mcp-j: the leaf route, no root flag needed.
    writeFileSync(join(f.dir, "user.slice/user-1000.slice/user@1000.service/app.slice/app-term.scope/cgroup.procs"), "777\n");
    writeFileSync(join(f.dir, "user.slice/user-1000.slice/user@1000.service/app.slice/app-term.scope/cgroup.controllers"), "memory pids\n");
    const s3 = detectCgroupV2({ mountinfo: f.mountinfo, procCgroup: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-term.scope\n", uid: U, pid: 777 });
    assert.equal(s3.usable && s3.route, "leaf", s3.reason);
  } finally {
    f.cleanup();
  }
});

test("detect: no cgroup2 mount, no 0:: line, read-only mount, cgroup namespace root", () => {
  assert.match(detectCgroupV2({ mountinfo: V1_ONLY_MOUNTINFO, procCgroup: "0::/\n" }).reason, /no cgroup2 file system is mounted/);
  assert.match(detectCgroupV2({ mountinfo: SYSTEMD_MOUNTINFO, procCgroup: "4:memory:/\n" }).reason, /no "0::" line/);
  const f = fakeHierarchy({ ".": { root: true, controllers: "memory pids", subtree: "memory pids" } });
  try {
    const ro = f.mountinfo.replace(" rw,relatime", " ro,relatime");
    assert.match(detectCgroupV2({ mountinfo: ro, procCgroup: "0::/\n", uid: 0 }).reason, /read-only/);
    // A container's cgroup namespace: the mount's root is /docker/abc and "/" there is not the
    // real root (it has cgroup.type), so with processes in it, it cannot delegate.
    const g = fakeHierarchy({ ".": { controllers: "memory pids", subtree: "", procs: "1\n5\n" } });
    try {
      const mi = g.mountinfo.replace(" / ", " /docker/abc ");
      const s = detectCgroupV2({ mountinfo: mi, procCgroup: "0::/docker/abc\n", uid: 0, pid: 5, delegated: true });
      assert.equal(s.usable, false);
      assert.equal(s.ownCgroup, "/docker/abc");
      assert.match(s.reason, /other process/);
    } finally {
      g.cleanup();
    }
  } finally {
    f.cleanup();
  }
});

// ---- this host ------------------------------------------------------------------------------------
function snapshot(dir: string): string {
  // Listing + mtimes of a cgroup directory tree (read-only), to prove nothing was written.
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = statSync(p);
        out.push(`${p} ${st.mtimeMs} ${st.isDirectory() ? "d" : "f"}`);
        if (st.isDirectory() && depth < 3) walk(p, depth + 1);
      } catch {
        /* raced */
      }
    }
  };
  walk(dir, 0);
  return out.join("\n");
}

test("this host: detection and planResources take the rlimit path and write nothing to /sys/fs/cgroup", async (t) => {
  const s = detectCgroupV2();
  if (s.usable) {
    // Not a development machine of this project (those are hybrid): planResources would create a
    // cgroup here, which host tests must not do. The VM covers this path.
    t.skip(`this machine has a usable cgroup v2 (${s.reason}); covered by the VM tests`);
    return;
  }
  assert.ok(s.reason.length > 0);
  const unified = existsSync("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
  const before = snapshot(unified);
  const procBefore = readFileSync("/proc/self/cgroup", "utf8");
  const plan = await planResources(limits, { jailId: `host-${process.pid}`, strict: false });
  assert.equal(plan.kind, "rlimit");
  if (plan.kind === "rlimit") assert.equal(plan.reason, s.reason);
  await assert.rejects(planResources(limits, { jailId: `host-${process.pid}`, strict: true }), ResourceLimitUnavailableError);
  assert.equal(snapshot(unified), before, "nothing was created or changed under the cgroup2 mount");
  assert.equal(readFileSync("/proc/self/cgroup", "utf8"), procBefore, "mcp-j did not move itself");
  if (unified === "/sys/fs/cgroup/unified") {
    assert.match(s.reason, /memory/);
  }
});
