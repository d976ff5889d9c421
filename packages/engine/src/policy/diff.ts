// `mcp-j policy diff OLD NEW`: what changed between two effective policies, field by field. Lists
// (grants, exec, deny, hosts, tools) by entry; everything else by value.
import type { ResolvedPolicy } from "./schema.js";

export interface PolicyChange {
  /** "+" added (wider for grants and allowlists), "-" removed, "~" changed value. */
  readonly op: "+" | "-" | "~";
  readonly field: string;
  readonly value: string;
}

function entries(value: unknown): string[] | null {
  if (!Array.isArray(value)) return null;
  return value.map((v) => {
    if (typeof v === "object" && v !== null && "path" in v) {
      const g = v as { path: string; dest?: string };
      return g.dest !== undefined && g.dest !== g.path ? `${g.path}:${g.dest}` : g.path;
    }
    return typeof v === "string" ? v : JSON.stringify(v);
  });
}

function walk(a: unknown, b: unknown, field: string, out: PolicyChange[]): void {
  const la = entries(a);
  const lb = entries(b);
  if (la !== null || lb !== null) {
    const sa = new Set(la ?? []);
    const sb = new Set(lb ?? []);
    for (const x of sa) if (!sb.has(x)) out.push({ op: "-", field, value: x });
    for (const x of sb) if (!sa.has(x)) out.push({ op: "+", field, value: x });
    return;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walk(a[k], b[k], field === "" ? k : `${field}.${k}`, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push({ op: "~", field, value: `${a === undefined ? "(unset)" : JSON.stringify(a)} → ${b === undefined ? "(unset)" : JSON.stringify(b)}` });
  }
}

/** The changes from `before` to `after` (grants compared without where they came from). */
export function diffPolicies(before: ResolvedPolicy, after: ResolvedPolicy): PolicyChange[] {
  const out: PolicyChange[] = [];
  walk(before, after, "", out);
  return out;
}

export function formatPolicyDiff(changes: readonly PolicyChange[]): string {
  if (changes.length === 0) return "the policies are the same\n";
  return changes.map((c) => `${c.op} ${c.field}: ${c.value}`).join("\n") + "\n";
}
