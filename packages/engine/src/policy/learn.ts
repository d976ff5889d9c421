// Learn mode's output: the least-privilege policy for what a server actually used during a run,
// never wider than the grants it ran with. Each entry is the generalized form of what was touched
// under one of those grants (footprint/generalize.ts), with a comment naming the tools that needed
// it; a section at the end says what each tool touched. The result is a JSON-with-comments policy
// file (`mcp-j --profile none --policy FILE -- CMD`).
import { existsSync, realpathSync, statSync } from "node:fs";
import { posix } from "node:path";
import { generalize, within } from "../footprint/generalize.js";
import { IDLE, type FootprintRecorder } from "../footprint/record.js";
import type { Refusal } from "../footprint/remedy.js";
import { splitGrant } from "./resolve.js";
import type { Grant, Policy, ResolvedGrant, ResolvedPolicy } from "./schema.js";

/** A grant as the jail shows it: where it appears inside, and the host path behind it. */
export interface GrantView {
  readonly jail: string;
  readonly host: string;
  readonly writable: boolean;
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** Where each grant appears in the jail (its dest, else its real path) and its host path. */
export function grantViews(policy: { filesystem: { ro: ReadonlyArray<Grant | ResolvedGrant>; rw: ReadonlyArray<Grant | ResolvedGrant> } }): GrantView[] {
  const view = (grant: Grant | ResolvedGrant, writable: boolean): GrantView => {
    const g = typeof grant === "string" ? splitGrant(grant) : grant;
    const host = real(g.path);
    return { jail: g.dest ?? host, host, writable };
  };
  return [...policy.filesystem.ro.map((g) => view(g, false)), ...policy.filesystem.rw.map((g) => view(g, true))];
}

/** The host path of a jail path under a grant (null when under none). The deepest grant wins. */
function toHost(path: string, views: readonly GrantView[]): string | null {
  const v = views.filter((g) => within(path, g.jail)).sort((a, b) => b.jail.length - a.jail.length)[0];
  if (v === undefined) return null;
  return v.jail === "/" ? posix.join(v.host, path) : v.host + path.slice(v.jail.length);
}

export interface LearnInput {
  policy: Policy | ResolvedPolicy;
  command: readonly string[];
  recorder: FootprintRecorder;
  /** What the jail refused, with the labels in flight (a learn run refuses what the grants do not allow). */
  refusals: ReadonlyArray<{ refusal: Refusal; labels: readonly string[] }>;
  /** ISO time of the run, for the header. */
  when: string;
}

export interface LearnedPolicy {
  ro: string[];
  rw: string[];
  exec: string[];
  net: string[];
  text: string;
}

const MAX_LABELS_SHOWN = 6;

/** Text from the server's side (tool names, file names) as it may appear in a comment: JSON-escaped,
 * so a newline in a name cannot end the comment and write policy. */
function safe(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function labelList(labels: Iterable<string>): string {
  const all = [...new Set(labels)];
  const sorted = (all.length === 0 ? [IDLE] : all).sort((a, b) => (a === IDLE ? 1 : b === IDLE ? -1 : a.localeCompare(b)));
  const shown = sorted.slice(0, MAX_LABELS_SHOWN).map(safe).join(", ");
  return sorted.length > MAX_LABELS_SHOWN ? `${shown} and ${sorted.length - MAX_LABELS_SHOWN} more` : shown;
}

/** The labels of every raw touch inside `entry`. */
function labelsWithin(entry: string, touches: Map<string, Set<string>>, exact = false): Set<string> {
  const out = new Set<string>();
  for (const [t, labels] of touches) if (exact ? t === entry : within(t, entry)) for (const l of labels) out.add(l);
  return out;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function learnPolicy(input: LearnInput): LearnedPolicy {
  const views = grantViews(input.policy);
  const roots = views.map((v) => v.jail);
  const rwRoots = views.filter((v) => v.writable).map((v) => v.jail);
  const reads = input.recorder.touches("read");
  const writes = input.recorder.touches("write");
  const execs = input.recorder.touches("exec");
  const nets = input.recorder.touches("net");

  // A written path gives its directory (creating, renaming and removing entries are changes to the
  // directory), or itself when it is a directory; only under writable grants.
  const writeDirs = new Map<string, Set<string>>();
  for (const [p, labels] of writes) {
    const host = toHost(p, views);
    const dir = host !== null && isDirectory(host) ? p : posix.dirname(p);
    if (!rwRoots.some((r) => within(dir, r))) continue;
    const set = writeDirs.get(dir) ?? new Set<string>();
    for (const l of labels) set.add(l);
    writeDirs.set(dir, set);
  }
  const rwJail = generalize(writeDirs.keys(), rwRoots);
  const roJail = generalize(reads.keys(), roots).filter((p) => !rwJail.some((w) => within(p, w)));
  // Only what exists on the host can be granted (a file read then removed is gone).
  const host = (jailPaths: string[]) =>
    jailPaths.flatMap((p) => {
      const h = toHost(p, views);
      return h !== null && existsSync(h) ? [{ jail: p, host: h }] : [];
    });
  const ro = host(roJail);
  const rw = host(rwJail);
  const exec = [...execs.keys()].map((p) => toHost(p, views) ?? p).sort();
  const net = [...nets.keys()].sort();

  const L: string[] = [];
  L.push(`// mcp-j learned policy, ${input.when}: what this server used during a learn run, never wider`);
  L.push("// than the grants it was given.");
  L.push(`// Run it with: mcp-j --profile none --policy THIS_FILE -- ${input.command.map(safe).join(" ")}`);
  L.push(`// (--profile none: nothing inferred from the command; everything the server needs is below.)`);
  L.push("{");
  L.push('  "filesystem": {');
  const list = (key: string, entries: Array<{ value: string; comment: string }>, last: boolean): void => {
    if (entries.length === 0) {
      L.push(`    ${JSON.stringify(key)}: []${last ? "" : ","}`);
      return;
    }
    L.push(`    ${JSON.stringify(key)}: [`);
    entries.forEach((e, i) => L.push(`      ${JSON.stringify(e.value)}${i < entries.length - 1 ? "," : ""} // ${e.comment}`));
    L.push(`    ]${last ? "" : ","}`);
  };
  list("ro", ro.map((e) => ({ value: e.host, comment: `read by ${labelList(labelsWithin(e.jail, reads))}` })), false);
  list("rw", rw.map((e) => ({ value: e.host, comment: `written by ${labelList([...labelsWithin(e.jail, writes), ...labelsWithin(e.jail, reads)])}` })), false);
  list("exec", [...execs.keys()].sort().map((p) => ({ value: toHost(p, views) ?? p, comment: `run by ${labelList(labelsWithin(p, execs, true))}` })), false);
  L.push(`    "deny": ${JSON.stringify(input.policy.filesystem.deny)}${input.policy.filesystem.cwd !== undefined ? "," : ""}`);
  if (input.policy.filesystem.cwd !== undefined) L.push(`    "cwd": ${JSON.stringify(input.policy.filesystem.cwd)}`);
  L.push("  },");
  L.push('  "network": {');
  L.push(net.length === 0 ? '    "allow": []' : '    "allow": [');
  if (net.length > 0) {
    net.forEach((n, i) => L.push(`      ${JSON.stringify(n)}${i < net.length - 1 ? "," : ""} // contacted by ${labelList(nets.get(n) ?? [])}`));
    L.push("    ]");
  }
  L.push("  },");
  L.push(`  "env": ${JSON.stringify(input.policy.env)},`);
  L.push(`  "tools": ${JSON.stringify(input.policy.tools)}`);
  L.push("}");
  L.push("//");
  L.push("// Per tool: what each touched during the run ((idle): outside any request; other names are methods).");
  for (const label of input.recorder.labels()) {
    const fp = input.recorder.footprint(label, roots);
    L.push(`// ${safe(label)}:`);
    for (const kind of ["read", "write", "exec", "net"] as const) if (fp[kind].length > 0) L.push(`//   ${kind}: ${fp[kind].map(safe).join(" ")}`);
  }
  if (input.refusals.length > 0) {
    L.push("//");
    L.push("// Refused during the run (outside the grants; add only what the server really needs):");
    const seen = new Set<string>();
    for (const { refusal: r, labels } of input.refusals) {
      const key = `${r.action} ${safe(r.target)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      L.push(`//   ${key} (${safe(r.reason)}) by ${labelList(labels)}${r.allow !== null ? `: ${safe(r.allow)}` : ""}`);
    }
  }
  return { ro: ro.map((e) => e.host), rw: rw.map((e) => e.host), exec, net, text: L.join("\n") + "\n" };
}
