// Attribution's cost (issue 17 "Figures"), attribution off against on in the same run:
//   a supervised open: a C loop of 100,000 open+close inside the jail, (a) without supervision,
//     (b) supervised with attribution off (the supervisor reports denials only), (c) supervised
//     with attribution on (every decision reported with its mono= stamp, decoded and placed among
//     in-flight requests in this process, as mcp-j does); the goal: (c) adds at most 15 µs an open
//   tools/call p50 through the whole product (`mcp-j --audit-log FILE -- server-filesystem`,
//     read_text_file of a small file): `audit.attribution` false vs true, rounds alternated
// Usage: node bench/attribution.bench.mjs   (after `npx tsc -b`; prints medians and ratios, asserts nothing)
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openLoop } from "./openloop.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const engine = await import(join(root, "packages/engine/dist/src/index.js"));
const { InFlightLog, monotonicNow } = await import(join(root, "packages/proxy/dist/src/index.js"));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const dir = mkdtempSync(join(tmpdir(), "mcpj-bench-attr-"));
chmodSync(dir, 0o755);
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

// ---- a supervised open ----------------------------------------------------------------------
const loop = openLoop(dir);
const target = join(dir, "target");
writeFileSync(target, "x");
chmodSync(target, 0o644);

/** One run of the loop; `mode`: off (no supervision), denials (attribution off), attributed. */
async function openRun(mode) {
  const policy = engine.PolicySchema.parse({ filesystem: { ro: [dir] } });
  const p = engine.prepareJail({ policy, command: [loop, target, "100000"], cwd: "/", env: process.env, supervise: mode !== "off", reportAllowed: mode === "attributed" });
  const jail = engine.startJail(p, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  jail.stdout.setEncoding("utf8").on("data", (d) => (out += d));
  jail.process.stderr.resume();
  // What mcp-j does with each event when attribution is on: decode it, place it among the
  // requests in flight (here three, as if a client had calls outstanding).
  const inFlight = new InFlightLog();
  for (let i = 1; i <= 3; i++) inFlight.begin({ id: i, method: "tools/call", tool: `t${i}` }, monotonicNow());
  let placed = 0;
  jail.onReport((r) => {
    if (r.type !== "event" || mode !== "attributed") return;
    const e = engine.decodeEvent(r.fields);
    if (e !== null && inFlight.at(e.mono ?? monotonicNow()).length === 3) placed++;
  });
  const exit = await jail.exited;
  if (exit.code !== 0) throw new Error(`the open loop exited ${exit.code}: ${exit.error?.message ?? ""}`);
  return { nsPerOpen: Number(out), placed };
}

const opens = { off: [], denials: [], attributed: [] };
let placed = 0;
for (let round = 0; round < 5; round++) {
  for (const mode of ["off", "denials", "attributed"]) {
    const r = await openRun(mode);
    opens[mode].push(r.nsPerOpen / 1000);
    placed = Math.max(placed, r.placed);
  }
}
const [off, den, att] = ["off", "denials", "attributed"].map((m) => median(opens[m]));
console.log("a supervised open: 100,000 open+close in a C loop inside the jail (median of 5 runs, modes alternated):");
console.log(`  without supervision                 ${off.toFixed(2)} µs/open`);
console.log(`  supervised, attribution off         ${den.toFixed(2)} µs/open   +${(den - off).toFixed(2)} µs`);
console.log(`  supervised, attribution on          ${att.toFixed(2)} µs/open   +${(att - off).toFixed(2)} µs (goal ≤ 15), ${(att / den).toFixed(3)}x attribution off`);
console.log(`  (events placed among 3 in-flight requests in the last run: ${placed})`);

// ---- tools/call p50 through mcp-j -------------------------------------------------------------
const modules = join(root, "node_modules");
const filesystem = join(modules, "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
const data = join(dir, "data");
mkdirSync(data);
chmodSync(data, 0o755);
writeFileSync(join(data, "small.txt"), "hello\n");
chmodSync(join(data, "small.txt"), 0o644);
const CALLS = Number(process.env.BENCH_CALLS ?? 400);
const WARMUP = 50;

async function callRound(attribution) {
  const policyFile = join(dir, `policy-${attribution}.json`);
  writeFileSync(policyFile, JSON.stringify({ audit: { attribution, file: join(dir, `audit-${attribution}.jsonl`) } }));
  const child = spawn(process.execPath, [join(root, "packages/cli/bin/mcp-j.js"), "--policy", policyFile, "--ro", modules, "--ro", data, "--", "node", filesystem, data], {
    stdio: ["pipe", "pipe", "ignore"],
    cwd: root,
  });
  const pending = new Map();
  let buf = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const m = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    }
  });
  let next = 1;
  const call = (method, params) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    });
  await call("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } });
  child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
  const times = [];
  for (let i = 0; i < WARMUP + CALLS; i++) {
    const t0 = process.hrtime.bigint();
    const r = await call("tools/call", { name: "read_text_file", arguments: { path: join(data, "small.txt") } });
    if (r.error !== undefined) throw new Error(JSON.stringify(r.error));
    if (i >= WARMUP) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  child.stdin.end();
  await new Promise((resolve) => child.once("exit", resolve));
  return median(times);
}

const p50 = { false: [], true: [] };
for (let round = 0; round < 3; round++) for (const a of [false, true]) p50[a].push(await callRound(a));
const [pOff, pOn] = [median(p50.false), median(p50.true)];
console.log(`tools/call p50 through mcp-j (server-filesystem read_text_file, audit log of every decision; median of 3 rounds of ${CALLS}):`);
console.log(`  attribution off   ${pOff.toFixed(0)} µs`);
console.log(`  attribution on    ${pOn.toFixed(0)} µs   ${pOn - pOff >= 0 ? "+" : ""}${(pOn - pOff).toFixed(0)} µs, ${(pOn / pOff).toFixed(3)}x`);
if (!existsSync(join(dir, "audit-true.jsonl"))) console.log("  (no audit log was written: the figures above are not comparable)");
