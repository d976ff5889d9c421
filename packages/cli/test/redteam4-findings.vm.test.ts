// Red team 4: attacks on the "user scope" route (issue 11, cgroup/user-scope.ts) against a real
// `systemd --user` in the test VM (set-up: user-manager.vm-helpers.ts). The jail runs as the
// invoking user on this route, and the user manager obeys that user: what the jail can say to the
// manager, or write where the manager reads, decides the limits of this jail and of later ones.
import assert from "node:assert/strict";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { collect, waitFor, type CliResult } from "./helpers.js";
import { asUser, runAsUser, runToEnd, runtimeDir, startUserManager, USER, type UserManager } from "./user-manager.vm-helpers.js";

let manager: UserManager | undefined;
before(async () => {
  manager = await startUserManager();
});
after(async () => {
  await manager?.stop();
});
/** Every process in a cgroup and its descendants. */
function allProcs(dir: string): string[] {
  const here = readFileSync(join(dir, "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean);
  return [...here, ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => allProcs(join(dir, e.name)))];
}

/** Another user manager in place of the current one (one per user and runtime directory). */
async function restartManager(controllers?: string[]): Promise<UserManager> {
  await manager?.stop();
  manager = undefined;
  manager = await startUserManager(controllers !== undefined ? { controllers } : {});
  return manager;
}

/**
 * Runs mcp-j as the user until the server writes `marker` on stderr (the server then waits for its
 * stdin, so mcp-j does not stop it early), then closes its stdin. `during` runs while it waits.
 */
async function runUntil(args: string[], marker: RegExp, during?: (pid: number) => void | Promise<void>): Promise<CliResult> {
  const child = asUser(args);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const seen = await waitFor(() => marker.test(err) || child.exitCode !== null, 120_000);
  if (seen && during !== undefined && child.exitCode === null) await during(child.pid!);
  child.stdin?.end();
  return done;
}

/** The server's tail: says `done` and waits for its stdin to close. */
const WAIT = "sys.stderr.write('done\\n'); sys.stderr.flush(); sys.stdin.read()";
const MiB = 1 << 20;
/** Python: forks up to n children that sleep; `kids` and `err` (the errno name, or None) say how far. */
const forkUpTo = (n: number): string => `import errno, os, sys, time
kids = []
err = None
for i in range(${n}):
    try:
        p = os.fork()
    except OSError as e:
        err = errno.errorcode[e.errno]; break
    if p == 0:
        time.sleep(60); os._exit(0)
    kids.append(p)`;

// A minimal D-Bus client on the manager's private socket (what systemctl --user speaks): any server
// code can speak it, no program on the exec allowlist needed.
const DBUS_PY = `import errno, socket, struct, sys
rt = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(rt + "/systemd/private")
except OSError as e:
    sys.stderr.write("connect=%s\\n" % errno.errorcode[e.errno]); sys.stderr.flush()
    s = None
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit("eof")
        b += c
    return b
def line():
    b = b""
    while not b.endswith(b"\\r\\n"): b += recvn(1)
    return b
class W:
    def __init__(self): self.b = bytearray()
    def pad(self, n):
        while len(self.b) % n: self.b.append(0)
    def y(self, v): self.b.append(v)
    def u(self, v): self.pad(4); self.b += struct.pack("<I", v)
    def t(self, v): self.pad(8); self.b += struct.pack("<Q", v)
    def s(self, v): e = v.encode(); self.u(len(e)); self.b += e + b"\\0"
    def g(self, v): e = v.encode(); self.y(len(e)); self.b += e + b"\\0"
serial = [0]
def call(path, iface, member, sig, body):
    serial[0] += 1
    h = W(); h.y(ord("l")); h.y(1); h.y(0); h.y(1); h.u(len(body)); h.u(serial[0]); h.u(0)
    at = len(h.b) - 4; h.pad(8); start = len(h.b)
    for code, t, v in [(1, "o", path), (2, "s", iface), (3, "s", member)] + ([(8, "g", sig)] if sig else []):
        h.pad(8); h.y(code); h.g(t)
        if t == "g": h.g(v)
        else: h.s(v)
    struct.pack_into("<I", h.b, at, len(h.b) - start); h.pad(8)
    s.sendall(bytes(h.b) + bytes(body))
    while True:
        fixed = recvn(16)
        blen, ser, flen = struct.unpack_from("<III", fixed, 4)
        hlen = 16 + flen; hlen += (-hlen) % 8
        rest = recvn(hlen - 16 + blen)
        if fixed[1] in (2, 3): return fixed[1] == 2, rest[hlen - 16:]
def arr(w, align, items):
    w.u(0); at = len(w.b) - 4; w.pad(align); st = len(w.b)
    items()
    struct.pack_into("<I", w.b, at, len(w.b) - st)
def auth():
    s.sendall(b"\\0AUTH EXTERNAL\\r\\n")
    l = line()
    if l.startswith(b"DATA"): s.sendall(b"DATA\\r\\n"); l = line()
    sys.stderr.write("auth=%s\\n" % l.split(b" ")[0].decode().strip()); sys.stderr.flush()
    s.sendall(b"BEGIN\\r\\n")
def string(body):
    n = struct.unpack_from("<I", body, 0)[0]
    return body[4:4 + n].decode()
`;

/** The server asks the manager for its own unit and lifts its MemoryMax and TasksMax, then
 * allocates 200 MiB. */
const LIFT_PY = `${DBUS_PY}
if s is not None:
    auth()
    b = W(); b.u(0)
    ok, body = call("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "GetUnitByPID", "u", b.b)
    unit = string(body)
    sys.stderr.write("unit=%s\\n" % unit); sys.stderr.flush()
    b = W(); b.u(1); b.u(0); at = len(b.b) - 4; b.pad(8); st = len(b.b)
    for name in ("MemoryMax", "TasksMax"):
        b.pad(8); b.s(name); b.g("t"); b.t(2**64 - 1)
    struct.pack_into("<I", b.b, at, len(b.b) - st)
    ok, body = call(unit, "org.freedesktop.systemd1.Unit", "SetProperties", "ba(sv)", b.b)
    sys.stderr.write("lifted=%s\\n" % ok); sys.stderr.flush()
x = bytearray(200 << 20)
sys.stderr.write("allocated\\n"); sys.stderr.flush()
`;

// ---------------------------------------------------------------- findings (fail on 8462fd5)

test("held: a jail with a writable grant of ~/.config/systemd does not weaken the scope of a later jail (a drop-in for mcp-j-.scope)", async () => {
  // A user who has user units of their own: ~/.config/systemd/user exists when the manager starts.
  const config = join(USER.home, ".config");
  for (const d of [config, join(config, "systemd"), join(config, "systemd", "user")]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, USER.uid, USER.uid);
  }
  await restartManager();
  const dropin = join(config, "systemd", "user", "mcp-j-.scope.d");
  try {
    // The first server has the user's systemd configuration granted (as a dotfiles server would;
    // the whole ~/.config is refused at start, since mcp-j's servers file lives there), and leaves
    // a drop-in every later mcp-j scope of this user loads.
    const writer = await runUntil(["--rw", join(config, "systemd"), "--", "/usr/bin/python3", "-c", `import os, sys\nd = ${JSON.stringify(dropin)}\nos.makedirs(d)\nopen(d + "/lift.conf", "w").write("[Scope]\\nMemoryMax=infinity\\nTasksMax=infinity\\n")\n${WAIT}`], /done|Traceback/);
    assert.equal(writer.code, 0, writer.stderr);
    assert.ok(existsSync(join(dropin, "lift.conf")), "the first jail wrote the drop-in (inside its grant)");
    // A later, unrelated server with no grant at all: its limits are what mcp-j asked for.
    let memoryMax = "";
    let pidsMax = "";
    const r = await runUntil(["--memory", "64M", "--pids", "50", "--", "/usr/bin/python3", "-c", `import sys\nsys.stderr.write('ready\\n'); sys.stderr.flush()\nsys.stdin.readline()\nx = bytearray(200 << 20)\nsys.stderr.write('allocated\\n')`], /ready/, (pid) => {
      const [scope] = manager!.scopesOf(pid);
      assert.ok(scope !== undefined, "the later jail runs in a scope");
      // The limits are the jail's own cgroup's, in the scope (user-scope.ts).
      const jails = readdirSync(join(scope, "mcp-j"), { withFileTypes: true }).filter((e) => e.isDirectory());
      memoryMax = readFileSync(join(scope, "mcp-j", jails[0]!.name, "memory.max"), "utf8").trim();
      pidsMax = readFileSync(join(scope, "mcp-j", jails[0]!.name, "pids.max"), "utf8").trim();
    });
    assert.equal(memoryMax, String(64 * MiB), "the later jail's memory.max is the one asked for");
    assert.equal(pidsMax, "50", "the later jail's pids.max is the one asked for");
    // The kernel killed it at 64 MiB (how mcp-j reports that kill is RT4-8's).
    assert.doesNotMatch(r.stderr, /allocated/, r.stderr);
    assert.notEqual(r.code, 0, r.stderr);
  } finally {
    rmSync(join(config, "systemd"), { recursive: true, force: true });
  }
});

test("RT4-2: a jail with a writable grant of $XDG_RUNTIME_DIR cannot reach the user manager to lift its own scope's limits", async () => {
  const r = await runUntil(["--rw", runtimeDir, "--memory", "64M", "--", "/usr/bin/python3", "-c", `${LIFT_PY}\n${WAIT}`, runtimeDir], /done|Traceback|allocated/);
  // The manager's private socket obeys whoever has the user's uid, which the jail has outside its
  // namespace: connecting to it must be refused like a connect to a denied socket.
  assert.match(r.stderr, /connect=EACCES/, r.stderr);
  assert.doesNotMatch(r.stderr, /lifted=True/);
  assert.equal(r.code, 122, `200 MiB under --memory 64M is an OOM kill: ${r.stderr}`);
});

/** The server asks the manager to start a service that runs `cmd` (outside any jail). */
const ESCAPE_PY = (cmd: string): string => `${DBUS_PY}
if s is not None:
    auth()
    b = W(); b.s("rt4-escape.service"); b.s("fail")
    def exec_start():
        b.pad(8); b.s("ExecStart"); b.g("a(sasb)")
        def one():
            b.pad(8); b.s("/bin/sh")
            arr(b, 4, lambda: [b.s(a) for a in ("/bin/sh", "-c", ${JSON.stringify(cmd)})])
            b.u(0)
        arr(b, 8, one)
    arr(b, 8, exec_start)
    arr(b, 8, lambda: None)
    ok, body = call("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))", b.b)
    sys.stderr.write("started=%s %s\\n" % (ok, body[4:80].decode(errors="replace"))); sys.stderr.flush()
`;

test("RT4-3: a jail with a writable grant of $XDG_RUNTIME_DIR cannot have the user manager run a program outside the jail", async () => {
  const marker = join(USER.home, "rt4-escaped");
  rmSync(marker, { force: true });
  try {
    const r = await runUntil(["--rw", runtimeDir, "--", "/usr/bin/python3", "-c", `${ESCAPE_PY(`id -u > ${marker}`)}\n${WAIT}`, runtimeDir], /done|Traceback/);
    // A started unit writes at once; bounded, the marker must never appear.
    const escaped = await waitFor(() => existsSync(marker) && readFileSync(marker, "utf8").endsWith("\n"), 5_000);
    assert.equal(escaped, false, `a program outside the jail ran as uid ${escaped ? readFileSync(marker, "utf8").trim() : ""}: ${r.stderr}`);
    assert.match(r.stderr, /connect=EACCES/, r.stderr);
    assert.doesNotMatch(r.stderr, /started=True/, r.stderr);
  } finally {
    rmSync(marker, { force: true });
  }
});

test("RT4-4: --cpus 0.004 (valid: at least the kernel's 1 ms per 100 ms on the other routes) starts the jail in its scope, at the kernel's minimum", async () => {
  // The jail is throttled to 1 ms per 100 ms: its start takes long, so stdin stays open until it runs.
  let cpuMax = "";
  const r = await runUntil(["--cpus", "0.004", "--", "/bin/sh", "-c", "echo ready >&2; read x"], /ready/, (pid) => {
    const [scope] = manager!.scopesOf(pid);
    assert.ok(scope !== undefined, "the jail runs in a scope");
    const jails = readdirSync(join(scope, "mcp-j"), { withFileTypes: true }).filter((e) => e.isDirectory());
    cpuMax = readFileSync(join(scope, "mcp-j", jails[0]!.name, "cpu.max"), "utf8").trim();
  });
  // (How it ends is not this test's: throttled so, it outlives the 200 ms a server that closed its
  // output gets, and is killed.)
  assert.match(r.stderr, /^ready$/m);
  assert.equal(cpuMax, "1000 100000");
  assert.doesNotMatch(r.stderr, /cannot start the jail in a systemd user scope|not enforced/);
});

// ---------------------------------------------------------------- attacks that held

test("held: without a grant the jail cannot see the user manager's socket (ENOENT)", async () => {
  const r = await runUntil(["--", "/usr/bin/python3", "-c", `${DBUS_PY}\n${WAIT}`, runtimeDir], /done|Traceback/);
  assert.match(r.stderr, /connect=ENOENT/, r.stderr);
});

test("held: a read-only grant of $XDG_RUNTIME_DIR refuses the connect to the manager (EACCES)", async () => {
  const r = await runUntil(["--ro", runtimeDir, "--", "/usr/bin/python3", "-c", `${DBUS_PY}\n${WAIT}`, runtimeDir], /done|Traceback/);
  assert.match(r.stderr, /connect=EACCES/, r.stderr);
});

test("held: nothing of mcp-j's environment reaches the supervisor or the server in the scope", async () => {
  let supervisorEnv = "";
  let found = false;
  const r = await runUntil(["--", "/usr/bin/python3", "-c", `import os, sys\nsys.stderr.write('env=%s\\n' % sorted(k for k in os.environ if k.startswith('RT4')))\n${WAIT}`], /done/, (pid) => {
    const [scope] = manager!.scopesOf(pid);
    assert.ok(scope !== undefined);
    for (const p of allProcs(scope)) {
      if (readFileSync(`/proc/${p}/comm`, "utf8").trim() !== "mcpj-jail") continue;
      found = true;
      supervisorEnv += readFileSync(`/proc/${p}/environ`, "utf8");
    }
  });
  // asUser passes only HOME, USER, PATH, XDG_RUNTIME_DIR, MCPJ_TEST_TIME_SCALE to mcp-j.
  assert.ok(found, "the supervisor is in the scope");
  assert.doesNotMatch(supervisorEnv, /XDG_RUNTIME_DIR|HOME=|PATH=|SYSTEMD_LOG_TARGET/, `the supervisor's environment: ${JSON.stringify(supervisorEnv)}`);
  assert.equal(r.code, 0, r.stderr);
});

test("held: a jail that uses up TasksMax gets EAGAIN, and the supervisor still answers its calls", async () => {
  // Supervised calls with the process table full: an open (the deputy does it).
  const probe = `${forkUpTo(200)}
fd = os.open(sys.executable, os.O_RDONLY)
os.close(fd)
sys.stderr.write("forked=%d errno=%s opened\\n" % (len(kids), err)); sys.stderr.flush()
for p in kids: os.kill(p, 9)
${WAIT}`;
  const r = await runUntil(["--pids", "30", "--", "/usr/bin/python3", "-c", probe], /done|Traceback/);
  const m = /forked=(\d+) errno=(\w+) opened/.exec(r.stderr);
  assert.ok(m !== null, r.stderr);
  assert.equal(m[2], "EAGAIN");
  assert.ok(Number(m[1]) < 30, `at most pids.max processes: ${m[1]}`);
  assert.equal(r.code, 0, r.stderr);
});

test("held: SIGKILL of mcp-j leaves no jail process and no scope behind", async () => {
  const child = asUser(["--", "/usr/bin/python3", "-c", "import os, sys, time\nif os.fork() == 0:\n    os.setsid(); time.sleep(600)\nsys.stderr.write('ready\\n'); sys.stderr.flush(); time.sleep(600)"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("ready"), 120_000), err);
  const [scope] = manager!.scopesOf(child.pid!);
  assert.ok(scope !== undefined);
  const procs = allProcs(scope);
  assert.ok(procs.length >= 4, `supervisor, init, deputy, server, daemon: ${procs.join(" ")}`);
  child.kill("SIGKILL");
  await done;
  const gone = (p: string): boolean => {
    try {
      return readFileSync(`/proc/${p}/stat`, "utf8").includes(") Z");
    } catch {
      return true; // no such process
    }
  };
  assert.ok(await waitFor(() => procs.every(gone), 20_000), "every jail process is gone");
  assert.ok(await waitFor(() => !existsSync(scope), 20_000), `systemd removed ${scope}`);
});

test("RT4-8: an OOM kill in the scope is reported as the OOM it is: exit 122 and an audited oom_kill, every time", async () => {
  // systemd removes the emptied scope (--collect) while mcp-j still reads its memory.events: a race.
  // Observed on 8462fd5: 1 run in 2 says "the jail's supervisor died (SIGKILL)", exit 137. Five
  // runs make the loss near-certain there; each must be reported as the OOM.
  const log = join(USER.home, "rt4-audit.jsonl");
  try {
    for (let i = 0; i < 5; i++) {
      rmSync(log, { force: true });
      const r = await runToEnd(["--audit-log", log, "--memory", "64M", "--", "/usr/bin/python3", "-c", "x = bytearray(512 << 20)"]);
      assert.equal(r.code, 122, `run ${i + 1}: ${r.stderr}`);
      assert.match(r.stderr, /the server was killed: out of memory \(limit 64 MiB\)/);
      const events = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      const start = events.find((e) => e.type === "jail.start");
      assert.equal((start?.layers as Record<string, unknown> | undefined)?.resources, "cgroup v2 (user scope)", JSON.stringify(start));
      assert.ok(events.some((e) => e.type === "limit" && e.limit === "memory" && e.event === "oom_kill" && e.value === 64 * MiB), JSON.stringify(events));
    }
  } finally {
    rmSync(log, { force: true });
  }
});

// ---------------------------------------------------------------- a manager given fewer controllers

test("RT4-5: where the user manager has no pids controller, --pids still bounds the jail (or mcp-j says it does not)", async () => {
  await restartManager(["memory", "cpu"]);
  const r = await runUntil(["--pids", "20", "--memory", "256M", "--", "/usr/bin/python3", "-c", `${forkUpTo(60)}
sys.stderr.write("forked=%d errno=%s\\n" % (len(kids), err)); sys.stderr.flush()
${WAIT}`], /done|Traceback/);
  const m = /forked=(\d+) errno=(\w+)/.exec(r.stderr);
  assert.ok(m !== null, r.stderr);
  const warned = /pids .*not enforced|pids .*counted per user/.test(r.stderr);
  assert.ok(warned || (m[2] === "EAGAIN" && Number(m[1]) < 20), `--pids 20: forked ${m[1]} processes (${m[2]}), no warning: ${r.stderr}`);
});

test("RT4-6: where the user manager has no memory controller, mcp-j falls back with the reason instead of refusing every start", async () => {
  await restartManager(["pids", "cpu"]);
  const r = await runAsUser(["--memory", "64M", "--", "/bin/true"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /memory \(64 MiB\) is watched by the supervisor/);
});

test("RT4-7: the fail-closed path (helper not in its scope, --strict) refuses with one line and exit 125, not a stack trace", async () => {
  // Still the manager without the memory controller: the scope has no memory.oom.group.
  const r = await runAsUser(["--strict", "--memory", "64M", "--", "/bin/true"]);
  assert.doesNotMatch(r.stderr, /Unhandled 'error' event|ECONNRESET|node:internal/, r.stderr);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /memory/);
});
