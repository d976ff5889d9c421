// The mcp-j command as users run it: usage errors, exit codes, signals, lifetime.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { alive, collect, descendants, repoRoot, runMcpj, startMcpj, waitFor } from "./helpers.js";

test("--help lists the run options and exits 0", async () => {
  const r = await runMcpj(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--rw PATH\[:DEST\]/);
  assert.match(r.stdout, /mcp-j doctor/);
});

test("--version prints the version in the CLI's package.json (written there only) and exits 0", async () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  const r = await runMcpj(["--version"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `mcp-j ${pkg.version}\n`);
});

test("an unknown flag is a usage error (2) naming the flag, without a stack trace", async () => {
  const r = await runMcpj(["--frobnicate", "--", "/bin/true"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--frobnicate/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("no command is a usage error (2)", async () => {
  const r = await runMcpj(["--"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no command/);
});

test("a command not visible in the jail exits 127 with a hint to grant it", async () => {
  const r = await runMcpj(["--", "no-such-command-mcpj"]);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /no-such-command-mcpj: command not found inside the jail/);
  assert.match(r.stderr, /--ro/);
});

test("a grant of a missing path exits 125 and names the path", async () => {
  const r = await runMcpj(["--ro", "/no/such/path-mcpj", "--", "/bin/true"]);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /--ro \/no\/such\/path-mcpj: no such file or directory/);
});

test("the server's exit code becomes mcp-j's", async () => {
  const r = await runMcpj(["--", "/bin/sh", "-c", "exit 7"]);
  assert.equal(r.code, 7, r.stderr);
});

test("a server killed by signal N makes mcp-j exit 128+N", async () => {
  const r = await runMcpj(["--", "/bin/sh", "-c", "kill -KILL $$"]);
  assert.equal(r.code, 137, r.stderr);
});

test("SIGTERM to mcp-j reaches the server", async () => {
  // The server traps TERM and reports it on stderr, then exits 42.
  const child = startMcpj(["--allow-exec", "sleep", "--", "/bin/sh", "-c", "trap 'echo got-term >&2; exit 42' TERM; echo started >&2; while :; do sleep 0.05; done"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("started"), 10_000), "server did not start");
  child.kill("SIGTERM");
  const r = await done;
  assert.equal(r.code, 42, r.stderr);
  assert.match(r.stderr, /got-term/);
});

test("signals while mcp-j ends lose nothing: the server's exit code and the audit log's exit line", async () => {
  // An SDK client sends SIGTERM 2 s after closing mcp-j's input, when `--grace` also ends, so the
  // next signal can come just after the jail has exited. Here they come every millisecond until
  // mcp-j is gone: the first reaches the server (it exits 42); the others land in the teardown.
  const dir = mkdtempSync(join(tmpdir(), "mcpj-sigend-"));
  const log = join(dir, "audit.jsonl");
  try {
    const child = startMcpj(["--audit-log", log, "--allow-exec", "sleep", "--", "/bin/sh", "-c", "trap 'exit 42' TERM; echo started >&2; while :; do sleep 0.05; done"]);
    const done = collect(child);
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    assert.ok(await waitFor(() => err.includes("started"), 10_000), "server did not start");
    // Until the audit log's exit line, mcp-j's last write, is there: after it mcp-j owes nothing.
    // (CI's sanitizer stage once saw mcp-j end by SIGTERM here, with the flood running to the end;
    // the window was not reproduced, loaded or not, with either helper. Since then the handlers are
    // installed before the jail is spawned, which closed the one window found.)
    const written = (): boolean => existsSync(log) && readFileSync(log, "utf8").includes('"type":"exit"');
    const flood = setInterval(() => (written() ? clearInterval(flood) : child.kill("SIGTERM")), 1);
    const r = await done.finally(() => clearInterval(flood));
    assert.deepEqual({ code: r.code, signal: r.signal }, { code: 42, signal: null }, r.stderr);
    const exit = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string; code?: number }).filter((e) => e.type === "exit");
    assert.deepEqual(exit.map((e) => e.code), [42]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a signal that comes as the jail is spawned is forwarded to it, not the end of mcp-j", async () => {
  // The helper signals mcp-j the moment it starts, then becomes the real helper: the signal lands
  // while mcp-j is still setting up around the spawned jail. Its handlers used to be installed only
  // after that, so the default action ended mcp-j (20 times in 20) with the jail still starting.
  const dir = mkdtempSync(join(tmpdir(), "mcpj-sigstart-"));
  try {
    const helper = process.env.MCPJ_HELPER ?? join(repoRoot, "packages/engine/build/Release/mcpj-jail");
    const wrapper = join(dir, "helper.sh");
    writeFileSync(wrapper, `#!/bin/sh\nkill -TERM $PPID\nexec ${JSON.stringify(helper)} "$@"\n`, { mode: 0o755 });
    const log = join(dir, "audit.jsonl");
    const r = await runMcpj(["--audit-log", log, "--", "/bin/sh", "-c", "exit 7"], { env: { ...process.env, MCPJ_HELPER: wrapper } });
    assert.equal(r.signal, null, r.stderr);
    // Forwarded to the jail: the server ends by it (143) or, if it had already gone, with its own 7.
    assert.ok(r.code === 143 || r.code === 7, `exit ${r.code}: ${r.stderr}`);
    const exit = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string }).filter((e) => e.type === "exit");
    assert.equal(exit.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("client closes stdin: the server gets EOF, and one that ignores it is stopped (SIGTERM after --grace)", async () => {
  const child = startMcpj(["--grace", "200ms", "--allow-exec", "sleep", "--", "/bin/sh", "-c", "trap '' PIPE; echo server-ready >&2; while :; do sleep 0.05; done"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("server-ready"), 10_000));
  child.stdin?.end();
  const r = await done;
  assert.equal(r.code, 143, r.stderr); // 128 + SIGTERM
});

test("a server that ignores SIGTERM is killed after the second grace period (exit 137)", async () => {
  const child = startMcpj(["--grace", "200ms", "--allow-exec", "sleep", "--", "/bin/sh", "-c", "trap '' TERM; echo server-ready >&2; while :; do sleep 0.05; done"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("server-ready"), 10_000));
  child.stdin?.end();
  const r = await done;
  assert.equal(r.code, 137, r.stderr);
});

test("SIGKILL to mcp-j: the supervisor and every jail process (a daemonized grandchild too) are gone within 1 s", async () => {
  const child = startMcpj(["--allow-exec", "sleep", "--allow-exec", "setsid", "--", "/bin/sh", "-c", "(setsid sleep 60 &) ; echo server-ready >&2; sleep 60"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("server-ready"), 10_000));
  // Let the grandchild start, then look at the whole tree below mcp-j.
  assert.ok(await waitFor(() => descendants(child.pid!).length >= 4, 5_000), "expected supervisor, init, sh and sleep processes");
  const tree = descendants(child.pid!);
  child.kill("SIGKILL");
  await done;
  const gone = await waitFor(() => tree.every((p) => !alive(p)), 1_000);
  assert.ok(gone, `still alive after 1 s: ${tree.filter(alive).join(" ")}`);
});

test("doctor reports the kernel features and exits 0 on this machine", async () => {
  const r = await runMcpj(["doctor"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Landlock\s+ABI \d+/);
  assert.match(r.stdout, /user namespaces\s+ok/);
  const j = await runMcpj(["doctor", "--json"]);
  const parsed = JSON.parse(j.stdout) as { ok: boolean; features: Array<{ feature: string; detailOf?: string }> };
  assert.equal(parsed.ok, true);
  assert.ok(parsed.features.some((f) => f.feature === "seccomp user notification"));
  // Names are data: the table's indentation of detail rows is not part of them.
  for (const f of parsed.features) assert.equal(f.feature, f.feature.trim());
  assert.equal(parsed.features.find((f) => f.feature === "SYNC_WAKE_UP")?.detailOf, "seccomp user notification");
});

test("the supervisor dies under a running server: the jail is torn down, the pending request answered, mcp-j says so", async () => {
  const child = startMcpj(["--", "/usr/bin/python3", "-c", "import sys\nsys.stderr.write('server-ready\\n'); sys.stderr.flush()\nsys.stdin.read()"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("server-ready"), 10_000));
  child.stdin?.write(JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/list" }) + "\n");
  const tree = descendants(child.pid!);
  const supervisor = tree[0];
  assert.ok(supervisor !== undefined);
  process.kill(supervisor, "SIGKILL");
  const r = await done;
  assert.equal(r.code, 137);
  assert.match(r.stderr, /the jail's supervisor died \(SIGKILL\); the jail was torn down/);
  const answer = JSON.parse(r.stdout.trim()) as { id: number; error: { code: number; message: string } };
  assert.equal(answer.id, 5);
  assert.equal(answer.error.code, -32603);
  assert.ok(await waitFor(() => tree.every((p) => !alive(p)), 1_000), "every jail process is gone");
});
