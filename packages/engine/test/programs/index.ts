// The attack programs of the jail tests (ESCAPES.md): C sources next to this file, compiled with
// the system compiler by compileC() into a world-readable directory that tests grant read-only.
// Each program prints one "name=OUTCOME" line per check (OK, or the errno's name); outcomes()
// turns that into a map the tests compare with the exact outcomes ESCAPES.md lists.
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, chmodSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileC, programsDir, runJailed, type JailedResult, type RunOptions } from "../helpers/jailed.js";
import type { PolicyInput } from "../../src/policy/schema.js";

/** The C sources (this file is compiled to dist/test/programs/, the sources stay in test/programs/). */
export const programSources = fileURLToPath(new URL("../../../test/programs/", import.meta.url));

export const isRoot = process.getuid?.() === 0;
/** The host uid/gid the jail's 65534 maps to: host nobody for a root invoker, the invoker otherwise. */
export const hostUid = isRoot ? 65534 : (process.getuid?.() ?? 65534);
export const hostGid = isRoot ? 65534 : (process.getgid?.() ?? 65534);

/** Compiles test/programs/NAME.c (common.h pasted in, so the content hash covers it). */
export function program(name: string, flags: string[] = []): string {
  const common = readFileSync(join(programSources, "common.h"), "utf8");
  const src = readFileSync(join(programSources, `${name}.c`), "utf8").replace('#include "common.h"', common);
  return compileC(name, src, ["-Wno-format-truncation", ...flags]);
}

/** Parses "name=OUTCOME" lines; a name reported twice is a broken program, not a result. */
export function outcomes(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i <= 0) continue;
    const k = line.slice(0, i);
    assert.ok(!m.has(k), `the program reported ${k} twice`);
    m.set(k, line.slice(i + 1));
  }
  return m;
}

/** The outcomes of `keys`, as an object (missing ones as "<missing>"), for deepEqual against a table. */
export function pick(m: Map<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, m.get(k) ?? "<missing>"]));
}

/** Adds the programs directory to a policy's read-only grants. */
export function withPrograms(policy: PolicyInput = {}): PolicyInput {
  const fs = policy.filesystem ?? {};
  return { ...policy, filesystem: { ...fs, ro: [programsDir, ...(fs.ro ?? [])] } };
}

/** Runs a compiled program in the jail with the programs directory granted; the run must have
 * started and ended normally (a jail that failed to start is never a passing attack test). */
export async function runProgram(bin: string, args: string[] = [], o: RunOptions = {}): Promise<JailedResult & { out: Map<string, string> }> {
  const r = await runJailed([bin, ...args], { ...o, policy: withPrograms(o.policy) });
  assert.equal(r.exit.error, null, `the jail did not run the program: ${r.exit.error?.message ?? ""}\n${r.stderr}`);
  assert.ok(r.ready !== null, "the jail never reported ready");
  return { ...r, out: outcomes(r.stdout) };
}

/** Runs the fsops interpreter on the table's keys and returns the outcomes in the same shape. */
export async function fsops(table: Record<string, string>, o: RunOptions = {}): Promise<Record<string, string>> {
  const r = await runProgram(program("fsops"), Object.keys(table), o);
  return pick(r.out, Object.keys(table));
}

/** A host directory for a grant, readable (and for "rw" writable) by the jail's host identity:
 * as root the jail is host nobody, so the test's own 0700 temp dirs would be closed to it. */
export function hostDir(kind: "ro" | "rw" | "private"): string {
  const d = mkdtempSync(join(tmpdir(), `mcpj-test-${kind}-`));
  chmodSync(d, kind === "rw" ? 0o777 : kind === "ro" ? 0o755 : 0o700);
  return d;
}

export function removeDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
}

export function filesIn(d: string): string[] {
  return readdirSync(d).sort();
}

/** Why a check that belongs to the seccomp filter is skipped on a jail without one. */
export function needsSeccomp(observed: string | undefined, wanted: string): string {
  return `needs the seccomp filter (not installed by this build: ready.seccomp=false); ESCAPES wants ${wanted}, the kernel layers alone answer ${observed ?? "<missing>"}`;
}
