// Shared by the start-up benchmarks: start an MCP server over stdio (bare or through mcp-j), time
// the start to its first `tools/list` answer with a plain JSON-RPC client (no SDK: the client's own
// cost stays out of the figures), then close its stdin and wait for it to leave; plus the helpers
// every benchmark here uses (medians, load average, alternated runs).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildC } from "./cc.mjs";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const mcpjBin = join(root, "packages/cli/bin/mcp-j.js");

export const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
export const ms = (ns) => Number(ns) / 1e6;

/** The servers the benchmarks start: argv for the bare run, and the mcp-j flags it needs. */
export function servers() {
  const mcp = join(root, "node_modules/@modelcontextprotocol");
  const list = [
    { name: "server-everything", argv: [process.execPath, join(mcp, "server-everything/dist/index.js"), "stdio"] },
    { name: "server-memory", argv: [process.execPath, join(mcp, "server-memory/dist/index.js")], env: { MEMORY_FILE_PATH: "/tmp/mcpj-bench-memory.json" } },
    { name: "SDK 1.x example", argv: [process.execPath, join(mcp, "sdk/dist/esm/examples/server/mcpServerOutputSchema.js")] },
    { name: "python stdlib", argv: ["/usr/bin/python3", join(root, "bench/fixtures/python-stdlib-server.py")] },
  ];
  return list.filter((s) => existsSync(s.argv[0]) && existsSync(s.argv[1]));
}

/**
 * Starts argv, sends initialize, then notifications/initialized and tools/list; resolves with the
 * times (ms from spawn) of the initialize answer and the tools/list answer, the trace lines seen on
 * stderr (MCPJ_TRACE=1), and the child's exit. `traceT0` is the spawn instant on the monotonic clock.
 */
export function firstToolsList(argv, { env = {}, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    const times = {};
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${argv.join(" ")}: no tools/list answer in ${timeoutMs} ms; stderr: ${err.slice(-2000)}`));
    }, timeoutMs);
    const send = (m) => child.stdin.write(`${JSON.stringify(m)}\n`);
    child.stdin.on("error", () => {});
    child.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      let i;
      while ((i = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        let msg;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        const t = ms(process.hrtime.bigint() - t0);
        if (msg.id === 1) {
          times.initialize = t;
          send({ jsonrpc: "2.0", method: "notifications/initialized" });
          send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
        } else if (msg.id === 2) {
          times.toolsList = t;
          if (!Array.isArray(msg.result?.tools)) reject(new Error(`tools/list: ${line}`));
          // A second request on the running server: the per-message cost, without start-up.
          times.sent3 = ms(process.hrtime.bigint() - t0);
          send({ jsonrpc: "2.0", id: 3, method: "tools/list" });
        } else if (msg.id === 3) {
          times.again = t - times.sent3;
          child.stdin.end();
        }
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (times.toolsList === undefined) reject(new Error(`${argv.join(" ")} exited (${code ?? signal}) before tools/list; stderr: ${err.slice(-2000)}`));
      else resolve({ ...times, exit: ms(process.hrtime.bigint() - t0), t0, stderr: err });
    });
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "mcpj-bench", version: "1" } } });
  });
}

/** mcp-j's argv for a server: the grants it needs (its files, node_modules), then the command.
 * `bin`: another checkout's mcp-j (startup-breakdown.mjs --root). */
export function jailed(s, { flags = [], bin = mcpjBin } = {}) {
  return [process.execPath, bin, "--ro", join(root, "node_modules"), "--ro", join(root, "bench/fixtures"), ...flags, "--", ...s.argv];
}

/** Runs argv to its exit with stderr collected; resolves with the spawn instant (monotonic ns),
 * the exit instant and stderr. */
export function runToExit(argv, env = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let stderr = "";
    const c = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
    c.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    c.on("error", reject);
    c.on("exit", (code) => resolve({ t0, end: process.hrtime.bigint(), stderr, code }));
  });
}

/** Parses "mcpj-trace t=NS pid=PID phase=NAME k=v" lines. */
export function traceLines(stderr) {
  const out = [];
  for (const l of stderr.split("\n")) {
    const m = /^mcpj-trace t=(\d+) pid=(\d+) phase=(\S+)(.*)$/.exec(l);
    if (!m) continue;
    const detail = Object.fromEntries([...m[4].matchAll(/(\w+)=(\S+)/g)].map((x) => [x[1], x[2]]));
    out.push({ t: BigInt(m[1]), pid: Number(m[2]), phase: m[3], detail });
  }
  return out;
}

/** The rtime tool (lib/rtime.c). */
let rtimePath = null;
function rtime() {
  rtimePath ??= buildC("rtime");
  return rtimePath;
}

/** Wall time, CPU time (user + system of the command and every descendant it waited for: what a
 * loaded machine disturbs least) and peak RSS of one run of argv. */
export function timeCommand(argv) {
  const out = execFileSync(rtime(), argv, { encoding: "utf8" });
  const [wall, user, sys, rss, code] = out.trim().split(" ").map(Number);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  return { wall: wall / 1000, cpu: (user + sys) / 1000, maxRssKiB: rss };
}

export function readJson(p) {
  return JSON.parse(readFileSync(p, "utf8"));
}
