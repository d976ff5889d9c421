// Limits and lifetime beyond the smoke set, on a real cgroup v2 kernel (ESCAPES 52; issue 13,
// item 2): cpu.max throttles a CPU burn, and when the supervisor dies first mcp-j survives it and
// removes the jail's cgroup. Runs only in the test VM (scripts/vm/run.mjs), as root.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { collect, startMcpj, waitFor } from "./helpers.js";
import { jailCgroups, jailsDir, runningJail } from "./vm-helpers.js";

test("CPU burn with 16 processes is throttled to --cpus (cpu.max), and teardown leaves no cgroup", async () => {
  const child = startMcpj(["--cpus", "0.2", "--", "/usr/bin/python3", "-c", "import multiprocessing as m, time\nfor _ in range(16): m.Process(target=lambda: [0 for _ in iter(int, 1)]).start()\ntime.sleep(600)"]);
  const done = collect(child);
  // Find the jail's cgroup while it runs and read what the kernel says about throttling.
  assert.ok(await waitFor(() => jailCgroups().length === 1, 20_000), "the jail's cgroup appears");
  const dir = join(jailsDir, jailCgroups()[0]!);
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

test("SIGKILL of the supervisor: mcp-j survives it, reports it and removes the jail's cgroup", async () => {
  const { child, done, dir, supervisor } = await runningJail();
  process.kill(supervisor, "SIGKILL");
  const r = await done;
  assert.equal(r.code, 137, r.stderr);
  assert.match(r.stderr, /supervisor died \(SIGKILL\)/);
  assert.equal(existsSync(dir), false, "mcp-j removed the jail's cgroup");
  assert.deepEqual(jailCgroups(), []);
});
