// Jail start-up, measured against baselines in the same run, alternated (issues 2 and 16):
//   mcp-j -- /bin/true            vs  node -e 0  (the floor for any Node CLI; goal <= 1.5x)
//   mcpj-jail --plan P /bin/true  vs  bwrap with equivalent namespaces (when installed)
// each as wall time and as CPU time (user + system of the process and every descendant it waited
// for: on a shared, loaded machine wall time mostly measures the wait for a CPU), and the peak
// memory (RSS) of mcp-j's processes while a server idles (goal: mcp-j <= 50 MiB, the C supervisor
// <= 4 MiB), with a `sleep` server and with server-everything after initialize and tools/list.
// Usage: node bench/startup.bench.mjs [runs]   (prints medians and ratios; asserts nothing)
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstToolsList, jailed, load, mcpjBin, median, root, servers, timeCommand } from "./lib/mcp-timing.mjs";

const runs = Number(process.argv[2] ?? 21);
const engine = await import(join(root, "packages/engine/dist/src/index.js"));

/** Alternates the commands, round after round (the first round warms up and is not counted). */
function race(cmds) {
  const samples = cmds.map(() => ({ wall: [], cpu: [] }));
  for (let i = 0; i < runs + 1; i++) {
    const order = i % 2 === 0 ? cmds.map((_, k) => k) : cmds.map((_, k) => cmds.length - 1 - k);
    for (const k of order) {
      const r = timeCommand(cmds[k]);
      if (i === 0) continue;
      samples[k].wall.push(r.wall);
      samples[k].cpu.push(r.cpu);
    }
  }
  return samples.map((s) => ({ wall: median(s.wall), cpu: median(s.cpu) }));
}

const hasCommand = (c) => spawnSync("sh", ["-c", `command -v ${c}`], { stdio: "ignore" }).status === 0;
const fmt = (r) => `wall ${r.wall.toFixed(1).padStart(6)} ms   cpu ${r.cpu.toFixed(1).padStart(6)} ms`;
const ratio = (a, b) => `wall ${(a.wall / b.wall).toFixed(2)}x, cpu ${(a.cpu / b.cpu).toFixed(2)}x`;

console.log(`runs: ${runs} per command, alternated (medians)   load average before: ${load()}`);
const [nodeFloor, mcpj] = race([
  [process.execPath, "-e", "0"],
  [process.execPath, mcpjBin, "--", "/bin/true"],
]);
console.log(`node -e 0            ${fmt(nodeFloor)}`);
console.log(`mcp-j -- /bin/true   ${fmt(mcpj)}   vs node -e 0: ${ratio(mcpj, nodeFloor)} (goal <= 1.5x)`);

// The helper alone: the same plan mcp-j computes, from a file.
const policy = engine.PolicySchema.parse({});
const prepared = engine.prepareJail({ policy, command: ["/bin/true"], cwd: process.cwd(), env: process.env });
const dir = mkdtempSync(join(tmpdir(), "mcpj-bench-"));
const planFile = join(dir, "plan.bin");
writeFileSync(planFile, engine.encodePlan(prepared.plan));
const helperCmd = [engine.helperPath(), "--plan", planFile];
if (hasCommand("bwrap")) {
  const bwrapCmd = ["bwrap", "--unshare-all", "--uid", "65534", "--gid", "65534", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
    "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
    "--tmpfs", "/tmp", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "/bin/true"];
  const [helper, bwrap] = race([helperCmd, bwrapCmd]);
  console.log(`mcpj-jail alone      ${fmt(helper)}`);
  console.log(`bwrap                ${fmt(bwrap)}   helper/bwrap: ${ratio(helper, bwrap)}`);
} else {
  const [helper] = race([helperCmd]);
  console.log(`mcpj-jail alone      ${fmt(helper)}`);
  console.log("bwrap                not installed (apt-get install bubblewrap to compare)");
}

// Peak memory of mcp-j's processes while a server idles: node's VmHWM, and the supervisor's (the
// helper, mcp-j's child). The jail's own processes (init, the deputy, the server) are not counted.
const hwm = (pid) => {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const childrenOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
async function idleMemory(argv, mcp) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "ignore"] });
  if (mcp) {
    // Drive it like a client: initialize and tools/list, then let it idle.
    await new Promise((resolve) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d) => {
        out += d;
        if (out.includes('"id":1') && !out.includes("sent2")) {
          out += "sent2";
          child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n${JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" })}\n`);
        }
        if (out.includes('"id":2')) resolve();
      });
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } } })}\n`);
    });
  }
  await new Promise((r) => setTimeout(r, 1500));
  const node = hwm(child.pid);
  const supervisor = childrenOf(child.pid).reduce((a, p) => a + hwm(p), 0);
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  return { node, supervisor };
}
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
const sleepMem = await idleMemory([process.execPath, mcpjBin, "--", "/bin/sleep", "30"], false);
const floorMem = timeCommand([process.execPath, "-e", "0"]).maxRssKiB;
console.log(`peak RSS, a sleep server idling:        mcp-j (node) ${mib(sleepMem.node)}, supervisor ${mib(sleepMem.supervisor)}   (node -e 0: ${mib(floorMem)}; goal: mcp-j <= 50 MiB, supervisor <= 4 MiB)`);
const everything = servers().find((s) => s.name === "server-everything");
if (everything !== undefined) {
  await firstToolsList(jailed(everything)); // its files in the page cache
  const m = await idleMemory(jailed(everything), true);
  console.log(`peak RSS, server-everything idling:     mcp-j (node) ${mib(m.node)}, supervisor ${mib(m.supervisor)}`);
}
console.log(`load average after: ${load()}`);
