// The files mcp-j itself reads or writes on the host for a run: the policy files it trusts, the
// servers file, the pin file it trusts and rewrites, the learned policy and the audit log it writes.
// None may lie where the jail can write (a writable grant): the server could put a link there that
// mcp-j follows with the user's authority, a FIFO it blocks on, or rewrite what mcp-j trusts at the
// next start (rule 1: nothing a jail can write is trusted on the host). Checked on both spellings,
// as given and as the host resolves it now, against both spellings of each grant: a link on the
// way that the jail can replace later is inside the grant as given.
import { basename, dirname, resolve } from "node:path";
import { PolicyError } from "./errors.js";
import { realOr, within } from "./profiles/common.js";
import type { ResolvedPolicy } from "./schema.js";

export interface HostFile {
  /** What it is, as the message names it: "the audit log", "the pin file". */
  readonly what: string;
  readonly path: string;
}

/** The files of this policy that mcp-j reads or writes itself (absolute paths). */
export function policyHostFiles(policy: ResolvedPolicy, cwd: string): HostFile[] {
  const out: HostFile[] = [];
  if (policy.audit.file !== undefined) out.push({ what: "the audit log", path: resolve(cwd, policy.audit.file) });
  if (policy.pin.file !== undefined) out.push({ what: "the pin file", path: resolve(cwd, policy.pin.file) });
  return out;
}

/** Throws a PolicyError naming each file that lies in a writable grant, and the grant. */
export function refuseHostFilesInGrants(policy: ResolvedPolicy, files: readonly HostFile[]): void {
  const problems: string[] = [];
  for (const f of files) {
    const spellings = [f.path, resolve(realOr(dirname(f.path)), basename(f.path)), realOr(f.path)];
    const grant = policy.filesystem.rw.find((g) => spellings.some((p) => within(p, g.path) || within(p, realOr(g.path))));
    if (grant === undefined) continue;
    problems.push(
      `${f.what} ${f.path} is inside the writable grant ${grant.path}, where the server could replace it: keep mcp-j's own files outside the --rw grants`,
    );
  }
  if (problems.length > 0) throw new PolicyError("E_POLICY", problems);
}
