// Seccomp supervision cost (issue 7 "Figures"), against baselines in the same run:
//   µs per intercepted openat: a C loop of 100,000 open+close inside the jail, supervised vs the
//     same jail with the filter but no user notification (supervise: false)
//   start-up: python3 -c "import json, email, http.client, asyncio" and node -e 0, jailed with
//     supervision vs jailed without
// Usage: node bench/openat.bench.mjs [runs]   (prints medians and ratios; asserts nothing)
import { chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openLoop as buildOpenLoop } from "./openloop.mjs";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const runs = Number(process.argv[2] ?? 15);
const engine = await import(join(root, "packages/engine/dist/src/index.js"));

const dir = join(tmpdir(), `mcpj-bench-${process.getuid?.() ?? 0}`);
mkdirSync(dir, { recursive: true });
chmodSync(dir, 0o755);
const loop = buildOpenLoop(dir);

async function jailed(command, { supervise, verbosity = "denials" }) {
  const policy = engine.PolicySchema.parse({ filesystem: { ro: [dir] }, audit: { verbosity } });
  const t0 = process.hrtime.bigint();
  const p = engine.prepareJail({ policy, command, cwd: "/", env: process.env, supervise });
  const jail = engine.startJail(p, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  jail.stdout.setEncoding("utf8").on("data", (d) => (out += d));
  jail.process.stderr.setEncoding("utf8").on("data", (d) => (err += d));
  let events = 0;
  jail.onReport((r) => r.type === "event" && events++);
  const exit = await jail.exited;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (exit.code !== 0) throw new Error(`${command.join(" ")} exited ${exit.code}: ${exit.error?.message ?? ""} ${err}`);
  return { ms, out, events };
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function openLoop(supervise, verbosity) {
  const samples = [];
  for (let i = 0; i < 5; i++) samples.push(Number((await jailed([loop, "/etc/passwd", "100000"], { supervise, verbosity })).out));
  return median(samples) / 1000; // µs
}

async function startup(command, supervise) {
  const samples = [];
  for (let i = 0; i < runs + 2; i++) {
    const r = await jailed(command, { supervise });
    if (i >= 2) samples.push(r.ms);
  }
  return median(samples);
}

const off = await openLoop(false);
const on = await openLoop(true, "denials");
const onAudit = await openLoop(true, "decisions");
console.log("openat, 100,000 open+close in a C loop inside the jail (median of 5 runs):");
console.log(`  without supervision        ${off.toFixed(2)} µs/open`);
console.log(`  supervised (audit denials) ${on.toFixed(2)} µs/open   +${(on - off).toFixed(2)} µs, ${(on / off).toFixed(2)}x`);
console.log(`  supervised (every decision audited) ${onAudit.toFixed(2)} µs/open   +${(onAudit - off).toFixed(2)} µs, ${(onAudit / off).toFixed(2)}x`);

const py = ["/usr/bin/python3", "-c", "import json, email, http.client, asyncio"];
const nd = [process.execPath, "-e", "0"];
for (const [name, cmd] of [["python3 imports", py], ["node -e 0", nd]]) {
  const a = await startup(cmd, false);
  const b = await startup(cmd, true);
  console.log(`start-up ${name} (jailed, median of ${runs}): without ${a.toFixed(1)} ms, supervised ${b.toFixed(1)} ms, ratio ${(b / a).toFixed(3)}x`);
}
