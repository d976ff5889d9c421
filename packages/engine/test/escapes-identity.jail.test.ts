// ESCAPES.md 1–10 (identity and privilege) on the real kernel: each attack runs inside the jail
// as a C program and the test asserts the exact outcome. Runs as root and unprivileged: where the
// two differ (the host side of uid_map, supplementary groups) each case asserts its own value.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, copyFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { programsDir } from "./helpers/jailed.js";
import { prepareJail } from "../src/launch.js";
import { PolicySchema } from "../src/policy/schema.js";
import { MountOp } from "../src/jail/plan.js";
import { fsops, hostDir, hostGid, hostUid, isRoot, needsSeccomp, program, removeDir, runProgram, withPrograms } from "./programs/index.js";

type Run = Awaited<ReturnType<typeof runProgram>>;

describe("ESCAPES 1, 3, 4, 6, 7, 8: identity, namespaces, mounts (identity.c)", () => {
  let r: Run;
  before(async () => {
    r = await runProgram(program("identity"));
  });
  const seccomp = () => r.ready?.seccomp === true;

  it("1. no capability in any set, no_new_privs, uid and gid 65534", () => {
    const o = r.out;
    assert.deepEqual(
      {
        CapInh: o.get("CapInh"),
        CapPrm: o.get("CapPrm"),
        CapEff: o.get("CapEff"),
        CapBnd: o.get("CapBnd"),
        CapAmb: o.get("CapAmb"),
        NoNewPrivs: o.get("NoNewPrivs"),
        Uid: o.get("Uid"),
        Gid: o.get("Gid"),
        ids: o.get("ids"),
      },
      {
        CapInh: "0000000000000000",
        CapPrm: "0000000000000000",
        CapEff: "0000000000000000",
        CapBnd: "0000000000000000",
        CapAmb: "0000000000000000",
        NoNewPrivs: "1",
        Uid: "65534 65534 65534 65534",
        Gid: "65534 65534 65534 65534",
        ids: "65534 65534 65534 65534",
      },
    );
    // Supplementary groups: a root invoker's are dropped by the supervisor; an unprivileged
    // invoker's cannot be (setgroups is denied) and appear as the overflow gid 65534.
    const groups = (o.get("Groups") ?? "<missing>").trim();
    if (isRoot) assert.equal(groups, "");
    else {
      const n = new Set(process.getgroups?.() ?? []).size;
      assert.equal(groups, Array(n).fill("65534").join(" "));
    }
  });

  it("1. Seccomp 2 (filter mode)", (t) => {
    if (!seccomp()) return void t.skip(needsSeccomp(r.out.get("Seccomp"), "Seccomp 2"));
    assert.equal(r.out.get("Seccomp"), "2");
  });

  it(`3. uid_map/gid_map hold one line each (65534 -> host ${hostUid}/${hostGid}); setgroups reads deny`, () => {
    const o = r.out;
    assert.deepEqual(
      {
        uid_map: o.get("uid_map"),
        "uid_map.0": o.get("uid_map.0"),
        gid_map: o.get("gid_map"),
        "gid_map.0": o.get("gid_map.0"),
        setgroups: o.get("setgroups"),
        "setgroups.0": o.get("setgroups.0"),
      },
      {
        uid_map: "1 lines",
        // Root invoker: host nobody, never host root. Unprivileged: the invoker's own ids.
        "uid_map.0": `65534 ${hostUid} 1`,
        gid_map: "1 lines",
        "gid_map.0": `65534 ${hostGid} 1`,
        setgroups: "1 lines",
        "setgroups.0": "deny",
      },
    );
  });

  it("4. setresuid(0,0,0), setgroups(0,NULL) are refused", () => {
    assert.deepEqual(
      {
        // uid/gid 0 have no mapping in the jail's single-line maps: the kernel rejects the id
        // itself (EINVAL) before any permission check could answer EPERM. Stronger than EPERM:
        // there is no root to become (ESCAPES.md item 4 says EPERM; EINVAL is what this map gives).
        setresuid0: r.out.get("setresuid0"),
        setresgid0: r.out.get("setresgid0"),
        setuid0: r.out.get("setuid0"),
        setgroups0: r.out.get("setgroups0"),
      },
      { setresuid0: "EINVAL", setresgid0: "EINVAL", setuid0: "EINVAL", setgroups0: "EPERM" },
    );
  });

  it("6. unshare(CLONE_NEWNET), unshare(CLONE_NEWNS) → EPERM (no capability)", () => {
    assert.deepEqual(
      { unshare_net: r.out.get("unshare_net"), unshare_mnt: r.out.get("unshare_mnt") },
      { unshare_net: "EPERM", unshare_mnt: "EPERM" },
    );
  });

  it("6. unshare(CLONE_NEWUSER) → EPERM", (t) => {
    // A nested user namespace needs no capability: only the seccomp filter refuses it.
    if (!seccomp()) return void t.skip(needsSeccomp(r.out.get("unshare_user"), "EPERM"));
    assert.equal(r.out.get("unshare_user"), "EPERM");
  });

  it("6. clone(CLONE_NEWUSER|CLONE_NEWNET) → EPERM", (t) => {
    if (!seccomp()) return void t.skip(needsSeccomp(r.out.get("clone_user_net"), "EPERM"));
    assert.equal(r.out.get("clone_user_net"), "EPERM");
  });

  it("6. clone3 → ENOSYS", (t) => {
    if (!seccomp()) return void t.skip(needsSeccomp(r.out.get("clone3"), "ENOSYS"));
    assert.equal(r.out.get("clone3"), "ENOSYS");
  });

  const namespaces = ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"];

  it("7. setns on /proc/self/ns/* → EPERM", (t) => {
    // The kernel alone answers EINVAL for the user namespace (one is already in it) and EPERM
    // for the others (no CAP_SYS_ADMIN); the seccomp filter refuses setns outright: EPERM.
    if (!seccomp()) return void t.skip(needsSeccomp(r.out.get("setns_user"), "EPERM"));
    assert.deepEqual(
      Object.fromEntries(namespaces.map((n) => [n, r.out.get(`setns_${n}`)])),
      Object.fromEntries(namespaces.map((n) => [n, "EPERM"])),
    );
  });

  it("7. setns through a pidfd of the server itself (no path needed) → EPERM", (t) => {
    if (!seccomp()) return void t.skip(needsSeccomp(r.out.get("setns_pidfd_user"), "EPERM"));
    assert.deepEqual(
      Object.fromEntries(namespaces.map((n) => [n, r.out.get(`setns_pidfd_${n}`)])),
      Object.fromEntries(namespaces.map((n) => [n, "EPERM"])),
    );
  });

  it("8. mount, umount2('/'), pivot_root, chroot, remount of /usr read-write → EPERM", () => {
    const keys = ["mount_tmpfs", "mount_bind", "remount_usr_rw", "remount_root_rw", "umount_root", "umount_usr", "pivot_root", "chroot"];
    assert.deepEqual(
      Object.fromEntries(keys.map((k) => [k, r.out.get(k)])),
      Object.fromEntries(keys.map((k) => [k, "EPERM"])),
    );
  });

  for (const k of ["fsopen", "open_tree", "move_mount", "mount_setattr", "fspick"]) {
    it(`8. ${k} → ENOSYS`, (t) => {
      if (!seccomp()) return void t.skip(needsSeccomp(r.out.get(k), "ENOSYS"));
      assert.equal(r.out.get(k), "ENOSYS");
    });
  }

  for (const k of ["statmount", "listmount"]) {
    it(`9. ${k} → ENOSYS (statmount's root would name a bind mount's host source)`, (t) => {
      if (!seccomp()) return void t.skip(needsSeccomp(r.out.get(k), "ENOSYS"));
      assert.equal(r.out.get(k), "ENOSYS");
    });
  }

  it("UTS and network namespaces: hostname mcp-j (not settable), only lo", () => {
    assert.deepEqual(
      { hostname: r.out.get("hostname"), sethostname: r.out.get("sethostname"), interfaces: r.out.get("interfaces") },
      { hostname: "mcp-j", sethostname: "EPERM", interfaces: "lo" },
    );
  });
});

describe("ESCAPES 2: only descriptors 0, 1, 2, and they are the stdio mcp-j gave (fds.c)", () => {
  it("fstat 0..4096 and /proc/self/fd find 0, 1, 2 only; each is the test's own stdio", async () => {
    const r = await runProgram(program("fds"), [], { stdin: "stdin-marker\n" });
    assert.deepEqual(
      Object.fromEntries(["fstat", "procfd", "fd0", "fd1", "fd2", "stdin"].map((k) => [k, r.out.get(k)])),
      {
        fstat: "0,1,2",
        procfd: "0,1,2",
        // Node's stdio pipes are socketpairs; never a directory, never anon_inode:[seccomp notify].
        fd0: "socket socket:[N]",
        fd1: "socket socket:[N]",
        fd2: "socket socket:[N]",
        stdin: "stdin-marker",
      },
    );
    assert.match(r.stderr, /^stderr-marker$/m);
  });
});

describe("ESCAPES 5: a setuid-root binary runs with euid 65534", () => {
  let dir: string | null = null;
  after(() => {
    if (dir !== null) removeDir(dir);
  });

  it("the host's setuid-root binaries in /usr get no privilege (LD_PRELOAD probe)", async (t) => {
    // If the kernel honoured the setuid bit, the loader would run in secure mode and ignore
    // LD_PRELOAD: no "preload" line, and the test fails.
    const suidRoot = ["/usr/bin/passwd", "/usr/bin/mount", "/usr/bin/su", "/usr/bin/chsh"].filter((b) => {
      const st = statSync(b, { throwIfNoEntry: false });
      return st !== undefined && st.uid === 0 && (st.mode & 0o4000) !== 0;
    });
    if (suidRoot.length === 0) return void t.skip("no setuid-root binary in /usr/bin on this host");
    const runner = program("suid");
    const probe = program("preload", ["-shared", "-fPIC"]);
    for (const bin of suidRoot) {
      const r = await runProgram(runner, [bin, probe], { policy: { filesystem: { exec: [bin] } } });
      assert.deepEqual({ preload: r.out.get("preload"), status: r.out.get("status") }, { preload: "65534 65534 65534", status: "exit:0" }, bin);
    }
  });

  it("a setuid-root copy prepared on a read-only grant runs with ruid/euid/suid 65534", async (t) => {
    if (!isRoot) return void t.skip("only root can prepare a setuid-root file; the /usr setuid binaries cover the unprivileged run");
    dir = hostDir("ro");
    const copy = join(dir, "whoami-suid");
    copyFileSync(program("whoami"), copy);
    chownSync(copy, 0, 0);
    chmodSync(copy, 0o4755);
    const r = await runProgram(program("suid"), [copy], { policy: { filesystem: { ro: [dir], exec: [copy] } } });
    assert.deepEqual({ whoami: r.out.get("whoami"), status: r.out.get("status") }, { whoami: "65534 65534 65534", status: "exit:0" });
  });
});

describe("ESCAPES 9: /proc/self/mountinfo", () => {
  it("lists exactly the plan's mounts, names no staging or host path, has no shared:/master: peer groups", async () => {
    const policy = withPrograms();
    const r = await runProgram(program("fsops"), ["lines /proc/self/mountinfo"]);
    const n = Number(r.out.get("lines /proc/self/mountinfo"));
    assert.ok(n > 0, "mountinfo could not be read");
    const lines = Array.from({ length: n }, (_, i) => r.out.get(`lines /proc/self/mountinfo.${i}`) ?? "");
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
    const points = lines.map((l) => l.split(" ")[4] ?? "").sort();
    const plan = prepareJail({ policy: PolicySchema.parse(policy), command: ["/usr/bin/true"], cwd: process.cwd(), env: {} }).plan;
    const planned = ["/", ...plan.mounts.filter((m) => m.op === MountOp.Bind || m.op === MountOp.Tmpfs || m.op === MountOp.Proc).map((m) => m.dest)].sort();
    assert.deepEqual(points, planned);
    for (const l of lines) {
      const optional = l.split(" - ")[0]!.split(" ").slice(6);
      assert.deepEqual(optional, [], `a propagation peer group leaks in: ${l}`);
      assert.doesNotMatch(l, /oldroot|newroot/, l);
      // The test's working directory is not granted: nothing may name it.
      assert.ok(!l.includes(process.cwd()), l);
    }
  });

  it("a PATH:DEST grant does not reveal PATH: not in mountinfo or mounts, of itself or another process, by any spelling", async (t) => {
    const dir = hostDir("ro");
    try {
      const tables = ["/proc/self/mountinfo", "/proc/1/mountinfo", "/proc/thread-self/mountinfo", "/proc/self/task/3/mountinfo", "/proc/self/mounts", "/proc/self/mountstats"];
      const ops = [...tables.map((f) => `lines ${f}`), "lines_path /proc/self/mountinfo"];
      const r = await runProgram(program("fsops"), ops, { policy: { filesystem: { ro: [`${dir}:/data`] } } });
      if (!r.ready?.seccomp) return void t.skip(needsSeccomp("the host path", "no host path (the deputy's copy of the table)"));
      for (const f of ops) assert.ok(Number(r.out.get(f)) > 0, `${f}: ${r.out.get(f)}`);
      assert.ok(!r.stdout.includes(dir), `the host path of a PATH:DEST grant is visible:\n${r.stdout}`);
      // The grant's mount is still listed, at its jail path, with "/" as its root.
      assert.match(r.stdout, /^lines \/proc\/self\/mountinfo\.\d+=\d+ \d+ \d+:\d+ \/ \/data ro,/m);
    } finally {
      removeDir(dir);
    }
  });
});

describe("ESCAPES 10: nothing can be created under a read-only grant or its submounts", () => {
  it("in /usr, the read-only root, /etc, a --ro grant: open(O_CREAT) → EACCES, mkdir/symlink/unlink → EROFS", async () => {
    const p = programsDir;
    const table = {
      // open(O_CREAT): the supervisor's openat emulation decides on its tables, which mirror the
      // Landlock rules, and refuses a create outside the writable grants with EACCES before
      // anything is created (supervisor.c decide_path) — the read-only mount (EROFS) is not reached.
      "creat /usr/x": "EACCES",
      "creat /usr/bin/x": "EACCES",
      "creat /x": "EACCES",
      "creat /etc/x": "EACCES",
      [`creat ${p}/x`]: "EACCES",
      // Every other way of creating reaches the kernel: the read-only mount answers first.
      "mkdir /usr/x": "EROFS",
      "mkdir /x": "EROFS",
      "symlink /tmp /etc/x": "EROFS",
      [`mkdir ${p}/x`]: "EROFS",
      [`symlink /tmp ${p}/x`]: "EROFS",
      [`unlink ${program("fsops")}`]: "EROFS",
      // /dev's tmpfs is remounted read-only once its device binds are in place; an open(O_CREAT)
      // is refused by the supervisor before it reaches the mount.
      "creat /dev/x": "EACCES",
      "mkdir /dev/x": "EROFS",
    };
    assert.deepEqual(await fsops(table), table);
  });

  it("submounts of a --ro grant are read-only too (the host's /dev/shm, /dev/pts...)", async (t) => {
    // The host's /dev holds writable submounts (/dev/shm is a world-writable tmpfs). A recursive
    // bind brings them along: each must be read-only in the jail.
    const subs = [
      ...new Set(
        readFileSync("/proc/self/mountinfo", "utf8")
          .split("\n")
          .map((l) => l.split(" ")[4] ?? "")
          .filter((m) => m.startsWith("/dev/") && !m.includes("\\")),
      ),
    ];
    if (subs.length === 0) return void t.skip("the host's /dev has no submount to test with");
    const table: Record<string, string> = {};
    for (const s of subs) table[`mkdir /hostdev${s.slice(4)}/mcpj-x`] = "EROFS";
    table["mkdir /hostdev/mcpj-x"] = "EROFS";
    table["creat /hostdev/mcpj-x"] = "EACCES"; // the supervisor, as above
    // nodev: a device node reached through a grant cannot be opened.
    table["open_r /hostdev/null"] = "EACCES";
    assert.deepEqual(await fsops(table, { policy: { filesystem: { ro: ["/dev:/hostdev"] } } }), table);
  });
});
