// Benchmark: tools/call round trips against server-everything's `echo`: direct stdio (the baseline),
// through the proxy in-process (between this client and the child's pipes; no jail), and through
// the whole product (`mcp-j -- server`: jail, supervisor and proxy), measured in the same run, with
// "fwd" (bench/forwarder.mjs: a process that copies bytes and nothing else) as the floor for any
// proxy in a process of its own: the gap between fwd and mcp-j is what mcp-j itself costs.
//   node bench/proxy.bench.mjs            (after `npx tsc -b`)
//   BENCH_ROUNDS=5 node bench/proxy.bench.mjs
// Every figure is printed next to the direct baseline measured in the same run, as a ratio; the
// rounds alternate the modes so drift in machine load affects all alike. The goals (issue 14):
// p50 added ≤ 30 µs for small messages, ≥ 85% of direct throughput at 2,000 in flight, ≥ 80% for
// 1 MiB and 4 MiB messages. The last lines say, per mode, which goals the run met.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { startProxy } = await import(join(root, "packages/proxy/dist/src/index.js"));
const require = createRequire(import.meta.url);
const everything = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = 2000;
const WARMUP = 300;

/** A bare JSON-RPC client on a pair of streams: no SDK, so its own cost does not hide the proxy's. */
class RawClient {
  #pending = new Map();
  #chunks = [];
  #nextId = 1;
  constructor(input, output) {
    this.output = output;
    input.on("data", (chunk) => this.#onData(chunk));
  }
  #onData(chunk) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      let line = chunk.subarray(start, nl);
      if (this.#chunks.length > 0) {
        this.#chunks.push(line);
        line = Buffer.concat(this.#chunks);
        this.#chunks = [];
      }
      this.#onLine(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.#chunks.push(chunk.subarray(start));
  }
  #onLine(line) {
    const message = JSON.parse(line.toString("utf8"));
    if (message.id === undefined || message.method !== undefined) return; // notifications, server requests
    const resolve = this.#pending.get(message.id);
    if (resolve === undefined) return;
    this.#pending.delete(message.id);
    resolve(message);
  }
  request(method, params) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (m) => (m.error ? reject(new Error(m.error.message)) : resolve(m.result)));
      this.output.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    });
  }
  notify(method) {
    this.output.write(`${JSON.stringify({ jsonrpc: "2.0", method })}\n`);
  }
}

const mcpj = join(dirname(fileURLToPath(import.meta.url)), "..", "packages", "cli", "bin", "mcp-j.js");
const modules = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules");
const forwarder = join(dirname(fileURLToPath(import.meta.url)), "forwarder.mjs");

async function connect(mode) {
  // "mcpj": the whole product, the server in the jail behind mcp-j's proxy, over real pipes.
  // "fwd": a process that only copies bytes both ways: what any proxy in its own process costs.
  const argv =
    mode === "mcpj"
      ? [mcpj, "--ro", modules, "--deny-tool", "get-env", "--", "node", everything, "stdio"]
      : mode === "fwd"
        ? [forwarder, process.execPath, everything, "stdio"]
        : [everything, "stdio"];
  const child = spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "pipe"] });
  child.stderr.resume();
  let client;
  if (mode !== "proxy") {
    client = new RawClient(child.stdout, child.stdin);
  } else {
    const toProxy = new PassThrough();
    const fromProxy = new PassThrough();
    startProxy({ input: toProxy, output: fromProxy }, { input: child.stdin, output: child.stdout }, { tools: { allow: [], deny: ["get-env"] } });
    client = new RawClient(fromProxy, toProxy);
  }
  await client.request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } });
  client.notify("notifications/initialized");
  const close = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin.end();
    child.kill();
    await exited;
  };
  return { client, close };
}

const echo = (client, message) => client.request("tools/call", { name: "echo", arguments: { message } });
const now = () => process.hrtime.bigint();
const us = (ns) => Number(ns) / 1000;

async function sequential(client) {
  for (let i = 0; i < WARMUP; i++) await echo(client, "warm");
  const samples = [];
  const t0 = now();
  for (let i = 0; i < CALLS; i++) {
    const s = now();
    await echo(client, `m${i}`);
    samples.push(us(now() - s));
  }
  return { samples, seconds: Number(now() - t0) / 1e9 };
}

async function inFlight(client) {
  await Promise.all(Array.from({ length: WARMUP }, () => echo(client, "warm")));
  const samples = [];
  const t0 = now();
  await Promise.all(
    Array.from({ length: CALLS }, (_, i) => {
      const s = now();
      return echo(client, `m${i}`).then(() => samples.push(us(now() - s)));
    }),
  );
  return { samples, seconds: Number(now() - t0) / 1e9 };
}

function large(bytes, count) {
  const message = "a".repeat(bytes);
  return async (client) => {
    await echo(client, message); // warm-up
    const samples = [];
    const t0 = now();
    for (let i = 0; i < count; i++) {
      const s = now();
      const result = await echo(client, message);
      if (result.content[0].text.length !== bytes + "Echo: ".length) throw new Error("short echo");
      samples.push(us(now() - s));
    }
    return { samples, seconds: Number(now() - t0) / 1e9, bytes: bytes * count };
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarize(runs) {
  const samples = runs.flatMap((r) => r.samples).sort((a, b) => a - b);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const bytes = runs.reduce((s, r) => s + (r.bytes ?? 0), 0);
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    perSecond: samples.length / seconds,
    mbPerSecond: bytes / 2 ** 20 / seconds,
  };
}

const scenarios = [
  ["tools/call echo, 2,000 sequential", sequential],
  ["tools/call echo, 2,000 in flight", inFlight],
  ["echo 1 MiB message (x20)", large(2 ** 20, 20)],
  ["echo 4 MiB message (x8)", large(4 * 2 ** 20, 8)],
];

console.log(`proxy bench: node ${process.version}, ${ROUNDS} alternating rounds per mode, server-everything over stdio`);
const fmt = (n, d = 0) => n.toFixed(d).padStart(9);
const goals = { proxy: [], fwd: [], "mcp-j": [] };
for (const [name, run] of scenarios) {
  const results = { direct: [], proxy: [], fwd: [], mcpj: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 === 0 ? ["direct", "proxy", "fwd", "mcpj"] : ["mcpj", "fwd", "proxy", "direct"]) {
      const { client, close } = await connect(mode);
      results[mode].push(await run(client));
      await close();
    }
  }
  const d = summarize(results.direct);
  const p = summarize(results.proxy);
  const f = summarize(results.fwd);
  const j = summarize(results.mcpj);
  const isLarge = name.startsWith("echo");
  console.log(`\n${name}`);
  console.log(`            p50 µs    p99 µs     calls/s${isLarge ? "     MiB/s" : ""}`);
  for (const [label, s] of [["direct", d], ["proxy", p], ["fwd", f], ["mcp-j", j]]) {
    console.log(`  ${label.padEnd(7)}${fmt(s.p50, 1)} ${fmt(s.p99, 1)}  ${fmt(s.perSecond, 0)}${isLarge ? ` ${fmt(s.mbPerSecond, 1)}` : ""}`);
  }
  for (const [label, s] of [["proxy", p], ["fwd", f], ["mcp-j", j]]) {
    const throughput = isLarge ? s.mbPerSecond / d.mbPerSecond : s.perSecond / d.perSecond;
    const added = s.p50 - d.p50;
    console.log(`  ${label} vs direct: p50 ${added >= 0 ? "+" : ""}${added.toFixed(1)} µs, p99 ${s.p99 - d.p99 >= 0 ? "+" : ""}${(s.p99 - d.p99).toFixed(1)} µs, throughput ${(throughput * 100).toFixed(1)}% of direct`);
    if (name.includes("sequential")) goals[label].push(`p50 added ${added.toFixed(1)} µs (goal ≤ 30): ${added <= 30 ? "met" : "NOT met"}`);
    else if (name.includes("in flight")) goals[label].push(`2,000 in flight ${(throughput * 100).toFixed(1)}% (goal ≥ 85%): ${throughput >= 0.85 ? "met" : "NOT met"}`);
    else goals[label].push(`${name.slice(5, 10).trim()} ${(throughput * 100).toFixed(1)}% (goal ≥ 80%): ${throughput >= 0.8 ? "met" : "NOT met"}`);
  }
}
console.log("\ngoals");
for (const [label, lines] of Object.entries(goals)) console.log(`  ${label.padEnd(6)} ${lines.join("; ")}`);
