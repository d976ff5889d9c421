// The compatibility suite's servers (packages/cli/test/compat/servers.ts): for each, whether it works
// through mcp-j with no flags beyond its data directory, and the time from starting the command to the answer of the first tools/list, through mcp-j against the
// bare server, runs interleaved in the same process (median of N, default 5). Prints a Markdown
// table; asserts nothing. Needs the built tree (npm install): node bench/compat.bench.mjs [runs]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const runs = Number(process.argv[2] ?? 5);
const { COMPAT_SERVERS, dataDirFor } = await import(join(root, "packages/cli/dist/test/compat/servers.js"));
const { connectCommand, connectMcpj } = await import(join(root, "packages/cli/dist/test/mcp-client.js"));

const parent = mkdtempSync(join(tmpdir(), "mcpj-compat-bench-"));
const envFlags = (s, dir) => Object.entries(s.env?.(dir) ?? {}).flatMap(([k, v]) => ["--env", `${k}=${v}`]);

/** Milliseconds from spawn to the tools/list answer; then the tool call when `exercise`. */
async function once(connect, s, dir, exercise) {
  const t0 = performance.now();
  const c = await connect();
  try {
    await c.client.listTools();
    const ms = performance.now() - t0;
    if (exercise) await s.exercise(c.client, dir);
    return ms;
  } finally {
    await c.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
let noFlags = 0;
for (const s of COMPAT_SERVERS) {
  const why = s.unavailable?.() ?? null;
  if (why !== null) {
    rows.push(`| ${s.name} | not run: ${why} | | | |`);
    continue;
  }
  const dir = dataDirFor(parent, s.name);
  s.setup?.(dir);
  const bareEnv = { ...process.env, ...(s.env?.(dir) ?? {}) };
  const [cmd, ...args] = s.command(dir);
  const bare = () => connectCommand(cmd, args, { env: bareEnv });
  const jailed = () => connectMcpj([...s.flags(dir), ...envFlags(s, dir)], s.command(dir));
  // Works with the data directory alone? (a real tool call, not only the listing)
  try {
    await once(jailed, s, dir, true);
    noFlags++;
  } catch (e) {
    rows.push(`| ${s.name} | no: ${String(e.message).split("\n")[0].slice(0, 80)} | | | |`);
    continue;
  }
  const b = [];
  const j = [];
  for (let i = 0; i < runs; i++) {
    b.push(await once(bare, s, dir, false));
    j.push(await once(jailed, s, dir, i === 0));
  }
  const mb = median(b);
  const mj = median(j);
  rows.push(`| ${s.name} | yes | ${mb.toFixed(0)} | ${mj.toFixed(0)} | ${(mj / mb).toFixed(2)}× (+${(mj - mb).toFixed(0)} ms) |`);
  process.stderr.write(`${s.name}: bare ${mb.toFixed(0)} ms, mcp-j ${mj.toFixed(0)} ms\n`);
}
rmSync(parent, { recursive: true, force: true });

const who = process.getuid?.() === 0 ? "root" : `uid ${process.getuid?.()}`;
console.log(`\nCompatibility suite as ${who}: ${noFlags} of ${COMPAT_SERVERS.length} work with no flags beyond the data directory; time to the first tools/list, median of ${runs}, same run:\n`);
console.log("| server | no extra flags | bare (ms) | mcp-j (ms) | ratio |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(r);
