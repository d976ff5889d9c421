// Time to the first `tools/list` answer (what a user feels when the client starts a server), jailed
// through mcp-j against the same server started bare, in the same run, alternated (issue 16: goal
// ≤ 1.25x each): server-everything, server-memory, the MCP SDK 1.x's stdio example server, and a
// Python server on the standard library alone (bench/fixtures). The client is a plain JSON-RPC
// writer (bench/lib/mcp-timing.mjs): initialize, notifications/initialized, tools/list.
//
//   node bench/tools-list.bench.mjs [runs] [server name]
//
// Prints medians and ratios, the supervised notifications of one traced start of each, and the
// load average. Asserts nothing.
import { firstToolsList, jailed, load, median, servers, traceLines } from "./lib/mcp-timing.mjs";

const runs = Number(process.argv[2] ?? 11);
const only = process.argv[3];
console.log(`runs: ${runs} per side, alternated (medians)   load average before: ${load()}`);
for (const s of servers().filter((x) => only === undefined || x.name === only)) {
  const bare = [];
  const jail = [];
  for (let i = 0; i < runs + 1; i++) {
    // Alternate which side goes first; the first round warms the page cache and is not counted.
    const order = i % 2 === 0 ? ["bare", "jail"] : ["jail", "bare"];
    for (const side of order) {
      const r = side === "bare" ? await firstToolsList(s.argv, { env: s.env ?? {} }) : await firstToolsList(jailed(s), { env: s.env ?? {} });
      if (i > 0) (side === "bare" ? bare : jail).push(r.toolsList);
    }
  }
  const traced = await firstToolsList(jailed(s), { env: { ...(s.env ?? {}), MCPJ_TRACE: "1" } });
  const counts = traceLines(traced.stderr)
    .filter((m) => m.phase === "sup.count")
    .map((m) => `${m.detail.sc} ${m.detail.n}`)
    .join(", ");
  const b = median(bare);
  const j = median(jail);
  console.log(
    `${s.name.padEnd(18)} bare ${b.toFixed(0).padStart(5)} ms   jailed ${j.toFixed(0).padStart(5)} ms   +${(j - b).toFixed(0)} ms   ${(j / b).toFixed(2)}x (goal <= 1.25x)   supervised: ${counts || "none"}`,
  );
}
console.log(`load average after: ${load()}`);
