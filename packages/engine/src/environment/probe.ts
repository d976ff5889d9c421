// The kernel's real answers: `mcpj-jail --probe` tries each feature the jail uses in a throwaway
// child and prints one line per feature (native/jail/probe.c). For `mcp-j doctor`, and for the
// start-up error when a jail cannot be set up.
import { execFileSync } from "node:child_process";
import { helperPath } from "../jail/native.js";
import { parseReport } from "../jail/reports.js";

export interface ProbeResult {
  ok: boolean;
  errno: number;
  value: number;
}
export type ProbeResults = ReadonlyMap<string, ProbeResult>;

/** A feature the probe did not report counts as failed with errno 0. */
export function feature(p: ProbeResults, name: string): ProbeResult {
  return p.get(name) ?? { ok: false, errno: 0, value: 0 };
}

/** Runs the probe (throws a JailError when the helper is missing). */
export function probeKernel(): ProbeResults {
  const out = execFileSync(helperPath(), ["--probe"], { encoding: "utf8", env: {} });
  const m = new Map<string, ProbeResult>();
  for (const line of out.split("\n")) {
    const r = parseReport(line);
    if (r.type === "feature") m.set(r.name, { ok: r.ok, errno: r.errno, value: r.value });
  }
  return m;
}
