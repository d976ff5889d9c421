// Where a jailed server's start-up goes (issue 16), from execve(mcp-j) to the server's first
// instruction, and from there to its first `tools/list` answer. Reads the phase marks mcp-j and the
// jail helper print with MCPJ_TRACE=1 (engine/src/trace.ts, native/jail/report.c), all on
// CLOCK_MONOTONIC, and puts them on one time line per run; prints the median of each step over the
// runs, with the bare server's start measured in the same run, alternated.
//
//   node bench/startup-breakdown.mjs [--runs N] [--root DIR] [--server NAME] [--json FILE]
//
// --root measures another checkout (built with `npm ci`), e.g. an export of main: same harness,
// same machine, same moment. Prints the load average: on a shared machine read the figures with it.
// Asserts nothing.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { firstToolsList, jailed, load, median, ms, root as here, runToExit, servers, timeCommand, traceLines } from "./lib/mcp-timing.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt("--runs", 9));
const root = opt("--root", here);
const only = opt("--server", null);
const bin = join(root, "packages/cli/bin/mcp-j.js");

// The steps, each from the mark before it to its own; a step whose mark is missing (an older
// build, or a phase that did not happen) is left out.
const STEPS = [
  ["node.start", "exec → Node's main()"],
  ["node.v8_started", "Node: V8 start"],
  ["node.bootstrapped", "Node: bootstrap"],
  ["cli.main", "mcp-j: module loading"],
  ["policy.profile_start", "policy: flags, layers"],
  ["policy.profile_done", "policy: profile"],
  ["policy.resolved", "policy: merge, validation, command needs"],
  ["plan.start", "resources (cgroup or rlimits)"],
  ["plan.seccomp_compiled", "plan: seccomp filter"],
  ["plan.layout", "plan: deputy filter, mounts, grants"],
  ["plan.deny_walked", "plan: deny-rule walk"],
  ["plan.compiled", "plan: Landlock, tables, environment"],
  ["jail.spawned", "spawn the helper (Node)"],
  ["helper.start", "helper: exec"],
  ["helper.plan_read", "helper: plan read"],
  ["helper.cloned", "helper: clone (namespaces)"],
  ["init.released", "helper: uid/gid maps"],
  ["init.network", "init: loopback, sockets"],
  ["init.sources_opened", "init: grants opened, identity"],
  ["init.sysctls", "init: user-namespace limits"],
  ["init.mounts_pivoted", "init: mounts, pivot_root"],
  ["init.landlock_ruleset", "init: Landlock ruleset"],
  ["deputy.landlock", "deputy: fork, prelude, Landlock"],
  ["server.cloned", "deputy: socket, clone the server"],
  ["server.landlock", "server: rlimits, cwd, Landlock"],
  ["server.execve", "server: seccomp filter, listener hand-off"],
  // After the server (for /bin/true: its whole life, then the teardown).
  ["helper.exit", "the server runs and exits; the helper leaves"],
  ["jail.exited", "mcp-j sees the helper's exit"],
  ["cli.done", "mcp-j: session teardown (pending answers, egress, cgroup, audit)"],
];

/** The steps of one traced run: ms from the mark before (spawn for the first) to each mark. */
function stepsOf(t0, stderr) {
  const marks = traceLines(stderr);
  const first = new Map();
  for (const m of marks) if (!first.has(m.phase)) first.set(m.phase, m.t);
  const steps = {};
  let prev = t0;
  for (const [phase] of STEPS) {
    const t = first.get(phase);
    if (t === undefined) continue;
    steps[phase] = ms(t - prev);
    prev = t;
  }
  const exec = first.get("server.execve");
  const counts = {};
  for (const m of marks.filter((x) => x.phase === "sup.count")) counts[m.detail.sc] = { n: Number(m.detail.n), us: Number(m.detail.us) };
  return { steps, serverStart: exec === undefined ? NaN : ms(exec - t0), counts };
}

/** One jailed run of an MCP server to its first tools/list answer. */
async function jailedRun(argv, env) {
  const r = await firstToolsList(argv, { env: { ...env, MCPJ_TRACE: "1" } });
  const s = stepsOf(r.t0, r.stderr);
  return { ...s, toolsList: r.toolsList, afterExec: r.toolsList - s.serverStart, again: r.again };
}

/** Module loading by group, unbundled: each group imported in a fresh Node, one after another. */
function moduleGroups() {
  const url = (p) => pathToFileURL(join(root, p)).href;
  const groups = [
    ["node -e 0", ""],
    ["+ zod", `await import(${JSON.stringify(url("node_modules/zod/index.js"))});`],
    ["+ @mcp-j/proxy", `await import(${JSON.stringify(url("packages/proxy/dist/src/index.js"))});`],
    ["+ @mcp-j/engine/core", `await import(${JSON.stringify(url("packages/engine/dist/src/core.js"))});`],
    ["+ the CLI (unbundled)", `await import(${JSON.stringify(url("packages/cli/dist/src/main.js"))});`],
  ];
  const out = [];
  let code = "";
  for (const [name, add] of groups) {
    code += add;
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(timeCommand([process.execPath, "--input-type=module", "-e", code || "0"]).cpu);
    out.push([name, median(samples)]);
  }
  const bundled = [];
  for (let i = 0; i < runs; i++) bundled.push(timeCommand([process.execPath, bin, "--version"]).cpu);
  out.push(["mcp-j --version (as installed: bundle when built)", median(bundled)]);
  return out;
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1).padStart(8) : "       -");
console.log(`mcp-j start-up breakdown: ${root}`);
console.log(`runs: ${runs} (medians)   load average before: ${load()}`);
const report = { root, runs, loadBefore: load(), targets: {} };

const targets = [{ name: "/bin/true (no MCP)", argv: ["/bin/true"], env: {}, noMcp: true }, ...servers()].filter((s) => only === null || s.name === only);
for (const s of targets) {
  const jailedRuns = [];
  const bare = [];
  for (let i = 0; i < runs + 1; i++) {
    // The first run of each warms the page cache and is not counted.
    if (s.noMcp) {
      // No JSON-RPC: the server's first instruction and mcp-j's exit are all there is.
      const r = await runToExit([process.execPath, bin, "--", "/bin/true"], { MCPJ_TRACE: "1" });
      if (i > 0) jailedRuns.push({ ...stepsOf(r.t0, r.stderr), total: ms(r.end - r.t0) });
      continue;
    }
    const j = await jailedRun(jailed(s, { bin }), s.env ?? {});
    const b = await firstToolsList(s.argv, { env: s.env ?? {} });
    if (i === 0) continue;
    jailedRuns.push(j);
    bare.push(b);
  }
  console.log(`\n== ${s.name}`);
  const rows = [];
  for (const [phase, label] of STEPS) {
    const v = jailedRuns.map((r) => r.steps[phase]).filter((x) => x !== undefined);
    if (v.length === 0) continue;
    rows.push([label, median(v)]);
    console.log(`${fmt(median(v))} ms  ${label}`);
  }
  const serverStart = median(jailedRuns.map((r) => r.serverStart));
  console.log(`${fmt(serverStart)} ms  = the server's first instruction (from execve of mcp-j)`);
  const t = { steps: Object.fromEntries(rows), serverStart };
  if (s.noMcp) {
    t.total = median(jailedRuns.map((r) => r.total));
    console.log(`${fmt(t.total)} ms  = mcp-j exits`);
  } else {
    t.afterExec = median(jailedRuns.map((r) => r.afterExec));
    t.toolsList = median(jailedRuns.map((r) => r.toolsList));
    t.bareToolsList = median(bare.map((r) => r.toolsList));
    t.again = median(jailedRuns.map((r) => r.again));
    t.bareAgain = median(bare.map((r) => r.again));
    const sc = {};
    for (const r of jailedRuns) for (const [k, v] of Object.entries(r.counts)) (sc[k] ??= []).push(v);
    t.notifications = Object.fromEntries(Object.entries(sc).map(([k, v]) => [k, { n: median(v.map((x) => x.n)), ms: median(v.map((x) => x.us)) / 1000 }]));
    console.log(`${fmt(t.afterExec)} ms  server's first instruction → first tools/list answer (the server's own start, supervised)`);
    console.log(`${fmt(t.toolsList)} ms  = first tools/list answer, jailed`);
    console.log(`${fmt(t.bareToolsList)} ms    the same, bare (same run, alternated): ratio ${(t.toolsList / t.bareToolsList).toFixed(2)}x`);
    for (const [k, v] of Object.entries(t.notifications)) {
      console.log(`         supervised ${k}: ${v.n} notifications, ${v.ms.toFixed(1)} ms from RECV to answer (summed; the server's threads overlap)`);
    }
    console.log(`${fmt(t.again)} ms  a second tools/list on the running server, jailed (bare ${t.bareAgain.toFixed(1)} ms): the proxy's per-message cost`);
  }
  report.targets[s.name] = t;
}

console.log("\n== module loading, CPU time (user+sys) of a fresh Node that imports each group in turn");
const groups = moduleGroups();
for (const [name, cpu] of groups) console.log(`${fmt(cpu)} ms  ${name}`);
report.moduleGroups = Object.fromEntries(groups);
report.loadAfter = load();
console.log(`\nload average after: ${report.loadAfter}`);
const json = opt("--json", null);
if (json !== null) writeFileSync(json, JSON.stringify(report, null, 2));

