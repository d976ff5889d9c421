// Resource limits on a host without a usable cgroup v2 (these machines: hybrid cgroups): the
// rlimit fallback, said loudly, and the lifetime items of ESCAPES 49–55 that do not need cgroups.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { MSGQUEUE_BYTES } from "@mcp-j/engine";
import { test } from "node:test";
import { collect, runMcpj, startMcpj, UNTIL_IT_EXITS, waitFor, FORK_BOMB_PY } from "./helpers.js";

const hasCgroup2Memory = (() => {
  try {
    return readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").includes("memory");
  } catch {
    return false;
  }
})();

test("no usable cgroup v2: one stderr line says which limits are weaker; --strict refuses to start (125)", async (t) => {
  if (hasCgroup2Memory) return t.skip("this host has a cgroup v2 memory controller: the fallback is not taken here");
  const r = await runMcpj(["--", "/bin/true"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.split("\n").filter((l) => l.includes("no cgroup v2 here: memory") && l.includes("is watched by the supervisor")).length, 1);
  const strict = await runMcpj(["--strict", "--", "/bin/true"]);
  assert.equal(strict.code, 125);
  assert.match(strict.stderr, /refusing to start/);
});

test("ESCAPES 49: a fork bomb fails with EAGAIN at --pids (RLIMIT_NPROC in the jail's namespace)", async () => {
  const r = await runMcpj([
    "--pids", "40", "--", "/usr/bin/python3", "-c", FORK_BOMB_PY,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /errno=EAGAIN/);
  const forked = Number(/forked=(\d+)/.exec(r.stderr)?.[1]);
  assert.ok(forked > 0 && forked < 40, `forked ${forked}`);
});

test("ESCAPES 50, 65: without a cgroup, the supervisor watches the whole jail: processes, memfds and tmpfs together over --memory → killed, reported as an OOM kill, exit 122", async () => {
  // Three processes each well under the limit (a per-process rlimit would let them all through),
  // one of them holding its share in an unmapped memfd, another in the jail's /tmp.
  const r = await runMcpj([
    "--memory", "96M", "--tmp-size", "64M", "--", "/usr/bin/python3", "-c",
    `import os, sys, time
def child(kind):
    if os.fork() == 0:
        if kind == "anon":
            hog = bytearray(40 << 20)
            for i in range(0, len(hog), 4096): hog[i] = 1
        elif kind == "memfd":
            fd = os.memfd_create("hog", 0x0008 | os.MFD_CLOEXEC)
            for _ in range(40): os.write(fd, b"x" * (1 << 20))
        else:
            with open("/tmp/hog", "wb") as f:
                for _ in range(40): f.write(b"x" * (1 << 20))
        sys.stderr.write("holding %s\\n" % kind); sys.stderr.flush()
        time.sleep(60)
        os._exit(0)
for k in ("anon", "memfd", "tmpfs"): child(k)
time.sleep(60)
sys.stderr.write("survived\\n")`,
  ]);
  assert.equal(r.code, 122, r.stderr);
  assert.doesNotMatch(r.stderr, /survived/);
  const oom = r.stderr.split("\n").filter((l) => /out of memory/.test(l));
  assert.deepEqual(oom, ["mcp-j: the server was killed: out of memory (limit 96 MiB); raise it with --memory"]);
});

test("ESCAPES 65: without a cgroup, a shared anonymous mapping (which RLIMIT_DATA does not count) over --memory → killed, exit 122", async () => {
  // Two processes share one 120 MiB MAP_SHARED mapping: no private data, so only the watch of the
  // whole jail sees it.
  const r = await runMcpj([
    "--memory", "96M", "--", "/usr/bin/python3", "-c",
    `import mmap, os, sys, time
m = mmap.mmap(-1, 120 << 20, mmap.MAP_SHARED)
if os.fork() == 0:
    time.sleep(60); os._exit(0)
for i in range(0, len(m), 4096): m[i] = 1
sys.stderr.write("touched\\n"); sys.stderr.flush()
time.sleep(60)
sys.stderr.write("survived\\n")`,
  ]);
  assert.equal(r.code, 122, r.stderr);
  assert.doesNotMatch(r.stderr, /survived/);
  assert.deepEqual(
    r.stderr.split("\n").filter((l) => /out of memory/.test(l)),
    ["mcp-j: the server was killed: out of memory (limit 96 MiB); raise it with --memory"],
  );
});

test("ESCAPES 51: filling /tmp ends with ENOSPC at --tmp-size; fd exhaustion with EMFILE at --open-files", async () => {
  const r = await runMcpj([
    "--tmp-size", "4M", "--open-files", "64", "--", "/usr/bin/python3", "-c",
    `import errno, os, sys
try:
    with open("/tmp/fill", "wb") as f:
        while True: f.write(b"x" * 65536); f.flush()
except OSError as e:
    sys.stderr.write("fill=%s size=%d\\n" % (errno.errorcode[e.errno], os.path.getsize("/tmp/fill")))
fds = []
try:
    while True: fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    sys.stderr.write("fds=%s count=%d\\n" % (errno.errorcode[e.errno], len(fds)))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /fill=ENOSPC/);
  assert.ok(Number(/size=(\d+)/.exec(r.stderr)?.[1]) <= 4 * 1024 * 1024);
  assert.match(r.stderr, /fds=EMFILE count=6[01]/);
});

test("ESCAPES 54: the server closes stdout and keeps running: pending requests get errors, the jail is torn down", async () => {
  const child = startMcpj([
    "--", "/usr/bin/python3", "-c",
    "import os, sys, time\nsys.stdin.readline()\nos.close(1)\nsys.stderr.write('closed stdout\\n'); sys.stderr.flush()\ntime.sleep(60)",
  ]);
  const done = collect(child);
  child.stdin?.write(JSON.stringify({ jsonrpc: "2.0", id: "q1", method: "tools/list" }) + "\n");
  const r = await done;
  assert.match(r.stderr, /closed stdout/);
  assert.equal(r.code, 143, r.stderr); // stopped with SIGTERM after it closed its output
  const answer = JSON.parse(r.stdout.trim()) as { id: string; error: { code: number; message: string } };
  assert.equal(answer.id, "q1");
  assert.equal(answer.error.code, -32603);
  assert.match(answer.error.message, /closed its output/);
});

test("ESCAPES 55: the client closes stdin: the server reads EOF and leaves by itself (its own exit code)", async () => {
  const child = startMcpj(["--", "/usr/bin/python3", "-c", "import sys\nsys.stdin.read()\nsys.stderr.write('eof seen\\n')\nsys.exit(3)"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.length > 0, 10_000)); // started (the rlimit warning at least)
  child.stdin?.end();
  const r = await done;
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /eof seen/);
});

test("ESCAPES 66: inotify watches and fanotify groups stop at the jail's cap, a quarter of the host's; POSIX message queues are bounded", async () => {
  const host = (n: string): number => Math.max(1, Math.floor(Number(readFileSync(`/proc/sys/user/${n}`, "utf8")) / 4));
  const r = await runMcpj([
    ...UNTIL_IT_EXITS, "--", "/usr/bin/python3", "-c",
    `import ctypes, errno, os, resource, sys
libc = ctypes.CDLL(None, use_errno=True)
# Watches: one instance per 8,000 inodes of /usr (a watch is per inode and instance) until ENOSPC.
n, fd, per, err, seen = 0, -1, 0, None, set()
for root, dirs, files in os.walk("/usr"):
    for name in dirs + files:
        if fd < 0 or per == 8000:
            fd, per = libc.inotify_init1(0o2000000), 0
            if fd < 0:
                err = "init:" + errno.errorcode[ctypes.get_errno()]; break
        wd = libc.inotify_add_watch(fd, os.path.join(root, name).encode(), 0x100 | 0x02000000)
        if wd < 0:
            if ctypes.get_errno() == errno.ENOSPC:
                err = "ENOSPC"; break
            continue
        if (fd, wd) not in seen:  # a hard link is one inode: one watch
            seen.add((fd, wd)); n, per = n + 1, per + 1
    if err: break
sys.stderr.write("watches=%s count=%d\\n" % (err, n))
# fanotify groups (unprivileged: FAN_CLASS_NOTIF | FAN_REPORT_FID) until EMFILE.
g = 0
while True:
    if libc.fanotify_init(0x200, 0) < 0:
        sys.stderr.write("fanotify=%s count=%d\\n" % (errno.errorcode[ctypes.get_errno()], g)); break
    g += 1
    if g > 100000: break
sys.stderr.write("msgqueue=%d\\n" % resource.getrlimit(resource.RLIMIT_MSGQUEUE)[1])`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^watches=ENOSPC count=${host("max_inotify_watches")}$`, "m"), r.stderr);
  assert.match(r.stderr, new RegExp(`^fanotify=EMFILE count=${host("max_fanotify_groups")}$`, "m"), r.stderr);
  assert.match(r.stderr, new RegExp(`^msgqueue=${MSGQUEUE_BYTES}$`, "m"), r.stderr);
});

test("ESCAPES 66: inotify instances used up inside the jail leave the invoking user's own quota untouched", async () => {
  const hostMax = Number(readFileSync("/proc/sys/user/max_inotify_instances", "utf8"));
  const r = await runMcpj([
    ...UNTIL_IT_EXITS, "--", "/usr/bin/python3", "-c",
    `import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while True:
    if libc.inotify_init1(0o2000000) < 0:
        sys.stderr.write("inotify=%s count=%d\\n" % (errno.errorcode[ctypes.get_errno()], n)); break
    n += 1
    if n > 100000: break`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /inotify=EMFILE/);
  const count = Number(/count=(\d+)/.exec(r.stderr)?.[1]);
  // The jail's namespace caps it at a quarter of the host's limit (jail/userns-limits.ts).
  assert.equal(count, Math.floor(hostMax / 4), r.stderr);
  // While a jail holds all of its share, a host process of the same user still gets one.
  const child = startMcpj([
    "--", "/usr/bin/python3", "-c",
    `import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
while libc.inotify_init1(0o2000000) >= 0: pass
sys.stderr.write("holding\\n"); sys.stderr.flush()
time.sleep(60)`,
  ]);
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  try {
    assert.ok(await waitFor(() => err.includes("holding"), 20_000), err);
    const host = spawnSync("/usr/bin/python3", ["-c", "import ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.inotify_init1(0o2000000) >= 0)"], { encoding: "utf8" });
    assert.equal(host.stdout.trim(), "True", host.stderr);
  } finally {
    child.kill("SIGKILL");
  }
});
