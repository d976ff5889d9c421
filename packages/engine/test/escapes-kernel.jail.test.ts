// ESCAPES.md 11–15 and 26–28 (processes and kernel surface) on the real kernel, as root and
// unprivileged.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { programsDir, bound } from "./helpers/jailed.js";
import { filesIn, fsops, hostDir, program, removeDir, runProgram } from "./programs/index.js";

describe("ESCAPES 11, 12, 27: processes (procs.c)", () => {
  let sleeper: ChildProcess;
  let r: Awaited<ReturnType<typeof runProgram>>;
  const hostPids: number[] = [];
  before(async () => {
    // A host process of the test's own user: if the jail could see it, it could kill it.
    sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
    hostPids.push(process.pid, process.ppid, sleeper.pid!);
    r = await runProgram(program("procs"), hostPids.map(String));
  });
  after(() => {
    sleeper.kill("SIGKILL");
  });

  it("11. /proc lists only the jail's init (1), its deputy (2) and the server (3); mcp-j and the supervisor are invisible", () => {
    assert.deepEqual(
      { proc: r.out.get("proc"), self: r.out.get("self"), init_comm: r.out.get("init_comm") },
      { proc: "1,2,3", self: "3 1", init_comm: "mcpj-jail" },
    );
  });

  it("12. init: /proc/1/mem → EACCES, ptrace attach/seize → EPERM, pidfd_getfd → EPERM", () => {
    const keys = ["init_mem_rw", "init_mem_r", "ptrace_attach_init", "ptrace_seize_init", "pidfd_open_init", "pidfd_getfd_init", "pidfd_send_signal_init", "kill_init"];
    assert.deepEqual(Object.fromEntries(keys.map((k) => [k, r.out.get(k)])), {
      // init is not dumpable: the ptrace access check of /proc/1/mem fails (EACCES), and so
      // does ptrace itself and pidfd_getfd (EPERM); no capability could override it.
      init_mem_rw: "EACCES",
      init_mem_r: "EACCES",
      ptrace_attach_init: "EPERM",
      ptrace_seize_init: "EPERM",
      // No pidfd of init and no signal to it, on every kernel: the seccomp filter (Landlock's
      // signal scoping does it too from ABI 6). Without a pidfd, nothing further is tried.
      pidfd_open_init: "EPERM",
      pidfd_getfd_init: undefined,
      pidfd_send_signal_init: undefined,
      kill_init: "EPERM",
    });
  });

  it("27. kill(-1, SIGKILL) kills the jail's own processes only; host pids and F_SETOWN → ESRCH", () => {
    const expected: Record<string, string> = { kill_all: "OK", kill_all_child: "signal:9" };
    for (const p of hostPids) {
      expected[`kill_host_${p}`] = "ESRCH";
      expected[`killpg_host_${p}`] = "ESRCH";
      expected[`setown_host_${p}`] = "ESRCH";
      expected[`setown_pg_host_${p}`] = "ESRCH";
    }
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, r.out.get(k)])), expected);
    // The host process of the same user is still there.
    assert.equal(sleeper.exitCode, null);
    assert.equal(sleeper.signalCode, null);
    process.kill(sleeper.pid!, 0);
  });
});

describe("ESCAPES 13, 14, 15: devices, /proc's kernel files, cgroups", () => {
  it("13. mknod of a device → EACCES (EROFS in /dev); /dev/mem, /dev/kmsg, /dev/tty → ENOENT", async () => {
    const table = {
      // Landlock refuses MAKE_BLOCK/MAKE_CHAR everywhere (no rule grants them) and the kernel
      // checks it before vfs_mknod's CAP_MKNOD test (which would answer EPERM): EACCES.
      "mknod_blk /tmp/blk": "EACCES",
      "mknod_chr /tmp/mem": "EACCES",
      // In /dev the read-only mount answers first.
      "mknod_blk /dev/blk": "EROFS",
      // /dev holds null, zero, full, random, urandom and nothing else.
      "open_r /dev/mem": "ENOENT",
      "open_r /dev/kmem": "ENOENT",
      "open_r /dev/port": "ENOENT",
      "open_r /dev/kmsg": "ENOENT",
      "open_rw /dev/tty": "ENOENT",
      "open_rw /dev/console": "ENOENT",
      "open_rw /dev/ptmx": "ENOENT",
      "ls /dev": "list:fd,full,null,random,stderr,stdin,stdout,urandom,zero",
    };
    assert.deepEqual(await fsops(table), table);
  });

  it("14. /proc/sysrq-trigger, /proc/kcore, /proc/sys/kernel/* → ENOENT (proc subset=pid)", async (t) => {
    const table = {
      "write /proc/sysrq-trigger": "ENOENT",
      "open_r /proc/kcore": "ENOENT",
      "open_r /proc/kmsg": "ENOENT",
      "ls /proc/sys": "ENOENT",
      "ls /proc/sys/kernel": "ENOENT",
      "open_r /proc/sys/kernel/core_pattern": "ENOENT",
      "open_r /proc/sys/kernel/modprobe": "ENOENT",
      "write /proc/sys/kernel/hostname": "ENOENT",
      "open_r /proc/kallsyms": "ENOENT",
    };
    const r = await runProgram(program("fsops"), Object.keys(table));
    if (r.ready?.procSubset !== true) return void t.skip("this kernel has no proc subset=pid (5.8+): the jail's /proc shows kernel files");
    assert.deepEqual(Object.fromEntries(Object.keys(table).map((k) => [k, r.out.get(k)])), table);
  });

  it("15. no cgroup file is reachable: /sys/fs/cgroup/..., release_agent → ENOENT", async () => {
    const table = {
      // The jail's /sys is a directory of its read-only root holding the plan's CPU lists only
      // (issue 12 item 6), never the host's sysfs.
      "ls /sys": "list:devices",
      "ls /sys/devices/system/cpu": "list:online,possible,present",
      "write /sys/devices/system/cpu/online": "EACCES",
      "ls /sys/fs/cgroup": "ENOENT",
      "open_r /sys/fs/cgroup/release_agent": "ENOENT",
      "open_r /sys/fs/cgroup/memory/release_agent": "ENOENT",
      "write /sys/fs/cgroup/cgroup.procs": "ENOENT",
      "open_r /sys/kernel/notes": "ENOENT",
    };
    assert.deepEqual(await fsops(table), table);
  });
});

describe("ESCAPES 26: terminals (tty.c)", () => {
  it("no controlling terminal; TIOCSTI/TIOCLINUX on every fd → EPERM (seccomp), TIOCSCTTY → ENOTTY", async () => {
    const r = await runProgram(program("tty"));
    const seccomp = r.ready?.seccomp === true;
    const expected: Record<string, string> = { tty_nr: "0", session_leader: "yes", open_dev_tty: "ENOENT" };
    for (const fd of [0, 1, 2]) {
      expected[`isatty${fd}`] = "no";
      // The filter refuses these two ioctls whatever the descriptor; without it the kernel
      // answers ENOTTY on a pipe (both are listed by ESCAPES 26).
      expected[`tiocsti${fd}`] = seccomp ? "EPERM" : "ENOTTY";
      expected[`tioclinux${fd}`] = seccomp ? "EPERM" : "ENOTTY";
      expected[`tiocsctty${fd}`] = "ENOTTY";
    }
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, r.out.get(k)])), expected);
  });

  it("stdin is mcp-j's controlling terminal: TIOCSTI and TIOCSCTTY → EPERM, nothing injected", async (t) => {
    // mcp-j started from a terminal (the pty is the controlling terminal of its session) passes
    // it to the server as stdin. The server's setsid took it out of that session: TIOCSTI on a
    // terminal that is not one's own needs CAP_SYS_ADMIN.
    const legacy = spawnSync("cat", ["/proc/sys/dev/tty/legacy_tiocsti"], { encoding: "utf8" }).stdout.trim();
    if (legacy === "0") return void t.skip("dev.tty.legacy_tiocsti=0: the kernel refuses TIOCSTI outright (EIO) on this host");
    const dir = hostDir("private");
    try {
      const launch = new URL("../src/launch.js", import.meta.url).href;
      const schema = new URL("../src/policy/schema.js", import.meta.url).href;
      const driver = join(dir, "driver.mjs");
      writeFileSync(
        driver,
        `import { prepareJail, startJail } from ${JSON.stringify(launch)};
import { PolicySchema } from ${JSON.stringify(schema)};
const policy = PolicySchema.parse({ filesystem: { ro: [${JSON.stringify(programsDir)}] } });
const jail = startJail(prepareJail({ policy, command: [${JSON.stringify(program("tty"))}], cwd: "/", env: {} }), { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
process.exit((await jail.exited).code);
`,
      );
      // python3 gives node a pty as stdin, made the controlling terminal of node's new session;
      // afterwards it reads the pty's input queue: a successful TIOCSTI would have left "x" there.
      const py = `
import fcntl, os, pty, subprocess, sys, termios
m, s = pty.openpty()
def pre():
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
p = subprocess.run([sys.argv[1], sys.argv[2]], stdin=s, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=pre)
sys.stdout.write(p.stdout.decode())
sys.stderr.write(p.stderr.decode())
os.set_blocking(s, False)
try:
    got = os.read(s, 100)
    print("injected=" + repr(got))
except BlockingIOError:
    print("injected=nothing")
print("rc=%d" % p.returncode)
`;
      const res = spawnSync("/usr/bin/python3", ["-c", py, process.execPath, driver], { encoding: "utf8", timeout: bound(60_000) });
      const out = new Map(res.stdout.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
      const expected = {
        rc: "0",
        isatty0: "yes",
        tty_nr: "0",
        session_leader: "yes",
        tiocsti0: "EPERM",
        tiocsctty0: "EPERM",
        // The seccomp filter refuses TIOCLINUX outright.
        tioclinux0: "EPERM",
        injected: "nothing",
      };
      assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, out.get(k)])), expected, res.stderr);
    } finally {
      removeDir(dir);
    }
  });
});

describe("ESCAPES 28: core dumps (core.c)", () => {
  const cores = (d: string) => readdirSync(d).filter((f) => f.startsWith("core"));
  let rw: string;
  before(() => {
    rw = hostDir("rw");
  });
  after(() => removeDir(rw));

  for (const where of ["the jail's /tmp", "a --rw grant"]) {
    it(`RLIMIT_CORE cannot be raised; a crash leaves no core file (cwd: ${where})`, async () => {
      const before = cores(process.cwd());
      const policy = where === "a --rw grant" ? { filesystem: { rw: [rw], cwd: rw } } : {};
      const r = await runProgram(program("core"), [], { policy });
      const keys = ["raise_core_limit", "raise_core_limit_1m", "core_limit", "crash", "core_files", "cwd"];
      assert.deepEqual(Object.fromEntries(keys.map((k) => [k, r.out.get(k)])), {
        // The hard limit is 0 and raising a hard limit needs CAP_SYS_RESOURCE.
        raise_core_limit: "EPERM",
        raise_core_limit_1m: "EPERM",
        core_limit: "0 0",
        crash: "signal:6 core:no",
        core_files: "",
        cwd: where === "a --rw grant" ? rw : "/tmp",
      });
      assert.deepEqual(filesIn(rw), []);
      assert.deepEqual(cores(process.cwd()), before);
    });
  }
});
