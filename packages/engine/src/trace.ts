// Start-up tracing (docs/design.md, "Start-up"): with MCPJ_TRACE=1 in its environment, mcp-j and
// every process of the jail helper print "mcpj-trace t=NS pid=PID phase=NAME [k=v ...]" on
// stderr, t from CLOCK_MONOTONIC in nanoseconds (process.hrtime's clock, and the helper's), so that
// bench/startup-breakdown.mjs can put them on one time line (with cpu_us, the CPU time mcp-j has
// used so far). Off, a mark is one test of a constant.
import { writeSync } from "node:fs";

export const TRACE = process.env.MCPJ_TRACE === "1";

/** A phase reached now (or at `atNs`, a process.hrtime.bigint() value taken earlier). */
export function traceMark(phase: string, detail = "", atNs?: bigint): void {
  if (!TRACE) return;
  const t = atNs ?? process.hrtime.bigint();
  const cpu = process.cpuUsage();
  try {
    writeSync(2, `mcpj-trace t=${t} pid=${process.pid} phase=${phase} cpu_us=${cpu.user + cpu.system}${detail === "" ? "" : ` ${detail}`}\n`);
  } catch {
    /* tracing never changes what mcp-j does */
  }
}

/** Node's own start-up, from performance.nodeTiming, as marks on the same clock. */
export function traceNodeStart(): void {
  if (!TRACE) return;
  const nowNs = process.hrtime.bigint();
  const nowMs = performance.now();
  const at = (ms: number): bigint => nowNs - BigInt(Math.round((nowMs - ms) * 1e6));
  const t = performance.nodeTiming;
  traceMark("node.start", "", at(t.nodeStart));
  traceMark("node.v8_started", "", at(t.v8Start));
  traceMark("node.bootstrapped", "", at(t.bootstrapComplete));
}
