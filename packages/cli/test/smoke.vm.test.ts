// The smoke set on a real cgroup v2 kernel (issue 13; ESCAPES 49, 50, 53): an MCP round trip with
// a write grant, the memory and pids limits, and nothing of a jail's cgroup left after mcp-j itself
// was SIGKILLed (limits.vm.test.ts has the rest: cpu.max, the supervisor killed). Runs only in the
// test VM (scripts/vm/run.mjs), as root (jails in /sys/fs/cgroup/mcp-j) and as the guest's
// unprivileged user (`/.mcpj/as-user`: jails in the subtree delegated to it), on every kernel CI boots.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { alive, bound, collect, FORK_BOMB_PY, mcpjBin, repoRoot, runMcpj, startMcpj, waitFor } from "./helpers.js";
import { jailCgroups, jailsDir, populated, runningJail, support } from "./vm-helpers.js";

const count = (text: string, re: RegExp): number => text.split("\n").filter((l) => re.test(l)).length;

test(`the jails of uid ${process.getuid?.()} go where detection says (${support.route}: ${jailsDir})`, () => {
  assert.equal(support.route, process.getuid?.() === 0 ? "own" : "delegated", support.reason);
});

test("MCP round trip with a write grant: server-filesystem writes through --rw, the host sees the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mcpj-smoke-"));
  // A root invoker's jail runs as the host's nobody (docs/design.md, "Identity"): the grant must let it in.
  chmodSync(dir, 0o777);
  const modules = join(repoRoot, "node_modules");
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [mcpjBin, "--grace", `${bound(2000)}ms`, "--ro", modules, "--rw", dir, "--", "node", join(modules, "@modelcontextprotocol", "server-filesystem", "dist", "index.js"), dir],
    stderr: "pipe",
    cwd: repoRoot,
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "mcpj-smoke", version: "1.0.0" });
  // The SDK's 60 s request timeout, scaled like every other bound (the VM emulates its CPUs).
  const timeout = { timeout: bound(60_000) };
  try {
    await client.connect(transport, timeout);
    const tools = (await client.listTools(undefined, timeout)).tools.map((t) => t.name);
    assert.ok(tools.includes("write_file"), `tools: ${tools.join(",")}; stderr: ${err}`);
    const r = await client.callTool({ name: "write_file", arguments: { path: join(dir, "hello.txt"), content: "written in the jail" } }, undefined, timeout);
    assert.notEqual(r.isError, true, JSON.stringify(r));
    assert.equal(readFileSync(join(dir, "hello.txt"), "utf8"), "written in the jail");
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(await waitFor(() => jailCgroups().length === 0, 5_000), `the jail's cgroup is removed: ${jailCgroups().join(" ")}`);
});

test("memory bomb: OOM-killed at --memory, one report, the pending request answered, exit 122", async () => {
  // A JSON-RPC server that allocates 1 GiB when called.
  const server = `import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("method") == "tools/call":
        hog = []
        for _ in range(128):  # 1 GiB in 8 MiB chunks (one big allocation would just fail)
            hog.append(bytearray(8 << 20))
            for i in range(0, 8 << 20, 4096): hog[-1][i] = 1
`;
  const child = startMcpj(["--memory", "64M", "--", "/usr/bin/python3", "-c", server]);
  const done = collect(child);
  child.stdin?.write(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "bomb", arguments: {} } }) + "\n");
  const r = await done;
  assert.equal(r.code, 122, r.stderr);
  // One accurate line per OOM event (the kernel counts one kill per process of the group), and
  // nothing after it blaming the supervisor.
  assert.equal(count(r.stderr, /^mcp-j: the server was killed: out of memory \(limit 64 MiB\); raise it with --memory$/), 1, r.stderr);
  assert.doesNotMatch(r.stderr, /supervisor died/);
  const answer = JSON.parse(r.stdout.trim().split("\n")[0] ?? "{}") as { id?: number; error?: { message?: string } };
  assert.equal(answer.id, 7);
  assert.match(answer.error?.message ?? "", /killed: out of memory \(limit 64 MiB\)/);
  assert.deepEqual(jailCgroups(), [], "the jail's cgroup is removed");
});

test("fork bomb: fork fails with EAGAIN at --pids, reported once, the host and mcp-j stay responsive", async () => {
  const r = await runMcpj(["--pids", "32", "--", "/usr/bin/python3", "-c", FORK_BOMB_PY]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /errno=EAGAIN/);
  const forked = Number(/forked=(\d+)/.exec(r.stderr)?.[1]);
  assert.ok(forked > 0 && forked < 32, `forked ${forked}`);
  assert.equal(count(r.stderr, /^mcp-j: the server hit its process limit \(32\); raise it with --pids$/), 1, r.stderr);
  assert.deepEqual(jailCgroups(), []);
});

test("ESCAPES 53: SIGKILL of mcp-j: the jail dies with it, and the next start collects its cgroup", async () => {
  const { child, done, dir, supervisor } = await runningJail();
  child.kill("SIGKILL");
  await done;
  assert.ok(await waitFor(() => !alive(supervisor) && !populated(dir), 1_000), "every process of the jail is gone");
  // The next mcp-j under the same parent removes what the dead one could not.
  const next = await runMcpj(["--", "/usr/bin/python3", "-c", "pass"]);
  assert.equal(next.code, 0, next.stderr);
  assert.equal(existsSync(dir), false, `${dir} is collected by the next start`);
  assert.deepEqual(jailCgroups(), []);
});
