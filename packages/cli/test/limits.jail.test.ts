// Resource limits on a host without a usable cgroup v2 (these machines: hybrid cgroups): the
// rlimit fallback, said loudly, and the lifetime items of ESCAPES 49–55 that do not need cgroups.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { collect, runMcpj, startMcpj, waitFor, FORK_BOMB_PY } from "./helpers.js";

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
  assert.equal(r.stderr.split("\n").filter((l) => l.includes("limited per process, not for the whole jail")).length, 1);
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

test("ESCAPES 50: a memory bomb fails its allocation at --memory (RLIMIT_DATA) and mcp-j exits cleanly", async () => {
  const r = await runMcpj([
    "--memory", "64M", "--", "/usr/bin/python3", "-c",
    `import sys
hog = []
try:
    for _ in range(128):
        hog.append(bytearray(8 << 20))
    sys.stderr.write("allocated everything\\n")
except MemoryError:
    sys.stderr.write("MemoryError after %d MiB\\n" % (8 * len(hog)))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /MemoryError after \d+ MiB/);
  const mib = Number(/after (\d+) MiB/.exec(r.stderr)?.[1]);
  assert.ok(mib < 64, `allocated ${mib} MiB under a 64 MiB limit`);
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
