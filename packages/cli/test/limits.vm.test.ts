// Resource limits of a whole jail on a real cgroup v2 (issue 5; ESCAPES 49, 50, 52): runs only in
// the test VM (scripts/vm/run.mjs), as root, where mcp-j puts each jail in mcp-j/<jail-id>.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { collect, mcpjBin, runMcpj, waitFor, FORK_BOMB_PY } from "./helpers.js";

const CG = "/sys/fs/cgroup";
const inVm = process.env.MCPJ_VM === "1" && readFileSync("/proc/self/mountinfo", "utf8").includes(" /sys/fs/cgroup rw") && existsSync(`${CG}/cgroup.subtree_control`);
// Never anywhere but in the VM: these create cgroups, and the hosts' cgroups are not ours.
if (!inVm) throw new Error("limits.vm.test.js runs only inside the test VM (node scripts/vm/run.mjs)");

// The CLI's jails (12 hex digits); other VM test files create cgroups of their own beside them.
const jailCgroups = (): string[] => (existsSync(`${CG}/mcp-j`) ? readdirSync(`${CG}/mcp-j`).filter((d) => /^[0-9a-f]{12}$/.test(d)) : []);

test("memory bomb: the jail is OOM-killed at --memory, the pending request is answered, mcp-j exits 122", async () => {
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
  const child = spawn(process.execPath, [mcpjBin, "--memory", "64M", "--", "/usr/bin/python3", "-c", server], { stdio: ["pipe", "pipe", "pipe"] });
  const done = collect(child);
  child.stdin?.write(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "bomb", arguments: {} } }) + "\n");
  const r = await done;
  assert.equal(r.code, 122, r.stderr);
  assert.match(r.stderr, /out of memory \(limit 64 MiB\)/);
  const answer = JSON.parse(r.stdout.trim().split("\n")[0] ?? "{}") as { id?: number; error?: { message?: string } };
  assert.equal(answer.id, 7);
  assert.match(answer.error?.message ?? "", /killed: out of memory \(limit 64 MiB\)/);
  assert.deepEqual(jailCgroups(), [], "the jail's cgroup is removed");
});

test("fork bomb: fork fails with EAGAIN at --pids, the host and mcp-j stay responsive", async () => {
  const r = await runMcpj([
    // A long --grace: under emulation the loop can outlast the default 2 s after stdin closes.
    "--pids", "32", "--grace", "60s", "--", "/usr/bin/python3", "-c", FORK_BOMB_PY,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /errno=EAGAIN/);
  const forked = Number(/forked=(\d+)/.exec(r.stderr)?.[1]);
  assert.ok(forked > 0 && forked < 32, `forked ${forked}`);
  assert.match(r.stderr, /process limit \(32\)/);
  assert.deepEqual(jailCgroups(), []);
});

test("CPU burn with 16 threads is throttled to --cpus (cpu.max), and teardown leaves no cgroup", async () => {
  const child = spawn(
    process.execPath,
    [mcpjBin, "--cpus", "0.2", "--", "/usr/bin/python3", "-c", "import multiprocessing as m, time\nfor _ in range(16): m.Process(target=lambda: [0 for _ in iter(int, 1)]).start()\ntime.sleep(60)"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const done = collect(child);
  // Find the jail's cgroup while it runs and read what the kernel says about throttling.
  assert.ok(await waitFor(() => jailCgroups().length === 1, 20_000), "the jail's cgroup appears");
  const dir = `${CG}/mcp-j/${jailCgroups()[0]}`;
  // The jail is cloned into its cgroup only after every limit is written: once it has processes,
  // cpu.max is final.
  assert.ok(await waitFor(() => readFileSync(`${dir}/cgroup.procs`, "utf8").trim() !== "", 20_000), "the jail runs in its cgroup");
  assert.equal(readFileSync(`${dir}/cpu.max`, "utf8").trim(), "20000 100000");
  const throttled = (): number => Number(/nr_throttled (\d+)/.exec(readFileSync(`${dir}/cpu.stat`, "utf8"))?.[1] ?? 0);
  assert.ok(await waitFor(() => throttled() > 5, 30_000), "the jail was throttled");
  child.kill("SIGTERM");
  await done;
  assert.ok(await waitFor(() => jailCgroups().length === 0, 5_000), "the jail's cgroup is removed");
});
