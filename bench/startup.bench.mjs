// Jail start-up, measured against baselines in the same run (issue 2 "Figures"):
//   mcp-j -- /bin/true          vs  node -e 0  (the floor for any Node CLI)
//   mcpj-jail --plan P /bin/true  vs  bwrap with equivalent namespaces (when installed)
// and the peak memory (RSS) of mcp-j's own processes while a server idles.
// Usage: node bench/startup.bench.mjs [runs]   (prints medians and ratios; asserts nothing)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const runs = Number(process.argv[2] ?? 30);
const mcpj = join(root, "packages/cli/bin/mcp-j.js");
const engine = await import(join(root, "packages/engine/dist/src/index.js"));

function time(cmd, args, opts = {}) {
  const samples = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], ...opts });
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    if (i >= 2) samples.push(dt); // two warm-up runs
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length / 2)], p90: samples[Math.floor(samples.length * 0.9)] };
}

function hasCommand(c) {
  return spawnSync("sh", ["-c", `command -v ${c}`], { stdio: "ignore" }).status === 0;
}

const fmt = (r) => `p50 ${r.p50.toFixed(1)} ms  p90 ${r.p90.toFixed(1)} ms`;
const results = {};
results.nodeFloor = time(process.execPath, ["-e", "0"]);
results.mcpj = time(process.execPath, [mcpj, "--", "/bin/true"]);

// The helper alone: the same plan mcp-j computes, from a file.
const policy = engine.PolicySchema.parse({});
const prepared = engine.prepareJail({ policy, command: ["/bin/true"], cwd: process.cwd(), env: process.env });
const dir = mkdtempSync(join(tmpdir(), "mcpj-bench-"));
const planFile = join(dir, "plan.bin");
writeFileSync(planFile, engine.encodePlan(prepared.plan));
results.helper = time(engine.helperPath(), ["--plan", planFile]);

if (hasCommand("bwrap")) {
  results.bwrap = time("bwrap", [
    "--unshare-all", "--uid", "65534", "--gid", "65534", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
    "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
    "--tmpfs", "/tmp", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "/bin/true",
  ]);
}

// Peak memory of mcp-j's processes (node + supervisor) while a server idles: a `sleep` server.
async function idleMemory() {
  const child = spawn(process.execPath, [mcpj, "--", "/bin/sleep", "30"], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((r) => setTimeout(r, 1500));
  const rss = (pid) => {
    try {
      return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  const children = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const node = rss(child.pid);
  const helperPids = children(child.pid);
  const helper = helperPids.reduce((a, p) => a + rss(p), 0);
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  return { nodeKiB: node, supervisorKiB: helper };
}
results.memory = await idleMemory();

console.log(`runs: ${runs}`);
console.log(`node -e 0            ${fmt(results.nodeFloor)}`);
console.log(`mcp-j -- /bin/true   ${fmt(results.mcpj)}   ratio vs node -e 0: ${(results.mcpj.p50 / results.nodeFloor.p50).toFixed(2)}x (goal <= 1.5x)`);
console.log(`mcpj-jail alone      ${fmt(results.helper)}`);
if (results.bwrap) {
  console.log(`bwrap                ${fmt(results.bwrap)}   helper/bwrap: ${(results.helper.p50 / results.bwrap.p50).toFixed(2)}x (goal <= 1.5x)`);
} else {
  console.log("bwrap                not installed (apt-get install bubblewrap to compare)");
}
console.log(`peak RSS while a server idles: mcp-j (node) ${results.memory.nodeKiB} KiB, mcpj-jail supervisor ${results.memory.supervisorKiB} KiB`);
