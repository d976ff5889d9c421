// The files mcp-j itself reads or writes on the host for a run: the policy files it trusts, the
// servers file, the pin file it trusts and rewrites, the learned policy and the audit log it writes.
// None may lie where the jail can write (a writable grant): the server could put a link there that
// mcp-j follows with the user's authority, a FIFO it blocks on, or rewrite what mcp-j trusts at the
// next start (rule 1: nothing a jail can write is trusted on the host). Checked on both spellings,
// as given and as the host resolves it now, against both spellings of each grant: a link on the
// way that the jail can replace later is inside the grant as given.
import { basename, dirname, join, relative, resolve } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { PolicyError } from "./errors.js";
import { parseConfigText } from "./jsonc.js";
import { mapPathFields, refIsFile } from "./paths.js";
import { absolutizePaths } from "./resolve.js";
import { listNamedServers, loadNamedServer, serversConfigPath, type NamedServer, type NamedServerOptions } from "./servers.js";
import { realOr, within } from "./profiles/common.js";
import type { ResolvedPolicy } from "./schema.js";

export interface HostFile {
  /** What it is, as the message names it: "the audit log", "the pin file". */
  readonly what: string;
  readonly path: string;
  /** A directory: a grant inside it is refused too. */
  readonly dir?: boolean;
}

/** mcp-j itself: the command's package (from its entry point, bin/mcp-j.js), the engine's (the
 * native helper), the Node that runs them. A jail that could write there would run its code on the
 * host at mcp-j's next start. */
export function installHostFiles(entryPoint: string | undefined, engine: string): HostFile[] {
  const out: HostFile[] = [{ what: "the mcp-j engine", path: realOr(engine), dir: true }];
  const entry = entryPoint === undefined ? undefined : realOr(entryPoint);
  if (entry !== undefined && basename(entry) === "mcp-j.js") out.push({ what: "the mcp-j command", path: dirname(dirname(entry)), dir: true });
  out.push({ what: "the node program", path: realOr(process.execPath) });
  return out;
}

/** The files of this policy that mcp-j reads or writes itself (absolute paths). */
export function policyHostFiles(policy: ResolvedPolicy, cwd: string): HostFile[] {
  const out: HostFile[] = [];
  if (policy.audit.file !== undefined) out.push({ what: "the audit log", path: resolve(cwd, policy.audit.file) });
  if (policy.pin.file !== undefined) out.push({ what: "the pin file", path: resolve(cwd, policy.pin.file) });
  for (const s of policy.env.secrets) if (s.fromFile !== undefined) out.push({ what: `the file of the secret ${s.name}`, path: resolve(cwd, s.fromFile) });
  return out;
}

/**
 * The servers file (`mcp-j run`'s; the default one for any run: a jail that could write it would
 * decide the next `mcp-j run`'s policy) and every file it names for any of its servers: their
 * policy files and what those extend, their pin files, audit logs and secrets' files. One server's
 * jail must not rewrite another's policy. An entry that cannot be read is left out (its own run
 * says why).
 */
export function serversHostFiles(opts: NamedServerOptions): HostFile[] {
  const env = opts.env ?? process.env;
  const serversFile = serversConfigPath(opts).path;
  const out: HostFile[] = [{ what: "the servers file", path: serversFile }];
  const seen = new Set<string>();
  const ownFiles = (raw: Record<string, unknown>, baseDir: string, who: string): void => {
    mapPathFields(absolutizePaths(raw, baseDir, env), (v, kind, at) => {
      if (typeof v !== "string") return v;
      if (kind === "path" && at[0] !== "filesystem") out.push({ what: `${who}'s ${at.filter((k) => typeof k === "string").join(".")}`, path: v });
      if (kind === "ref" && refIsFile(v)) policyFile(v, who);
      return v;
    });
  };
  const policyFile = (file: string, who: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    out.push({ what: `${who}'s policy file`, path: file });
    try {
      const data = parseConfigText(readFileSync(file, "utf8"), file);
      if (typeof data === "object" && data !== null && !Array.isArray(data)) ownFiles(data as Record<string, unknown>, dirname(file), who);
    } catch {
      /* unreadable: that server's own run says so */
    }
  };
  let names: string[] = [];
  try {
    names = existsSync(serversFile) ? listNamedServers(opts) : [];
  } catch {
    /* unreadable: `mcp-j run` says so */
  }
  for (const name of names) {
    let server: NamedServer;
    try {
      server = loadNamedServer(name, opts);
    } catch {
      continue;
    }
    if (server.policyFile !== undefined) policyFile(server.policyFile, `server ${name}`);
    if (server.policy !== undefined) ownFiles(server.policy as Record<string, unknown>, dirname(serversFile), `server ${name}`);
  }
  return out;
}

/** Grants (and exec paths) spelled under a writable grant that the host resolves through a link
 * in it: the jail could point that link anywhere before the next start, and mcp-j would mount (or
 * run) what it names. One problem line per such grant. */
function linkedUnderWritable(policy: ResolvedPolicy): string[] {
  const problems: string[] = [];
  const paths = [...policy.filesystem.ro.map((g) => g.path), ...policy.filesystem.rw.map((g) => g.path), ...policy.filesystem.exec.filter((e) => e.includes("/"))];
  for (const path of paths) {
    for (const w of policy.filesystem.rw) {
      if (path === w.path || !within(path, w.path)) continue;
      const real = realOr(path);
      const expected = join(realOr(w.path), relative(w.path, path));
      if (real !== expected) {
        problems.push(`${path} lies in the writable grant ${w.path} and leads through a link there to ${real}: the server could point it elsewhere; grant the real path, or keep it out of the --rw grants`);
      }
    }
  }
  return problems;
}

/** Throws a PolicyError naming each file that lies in a writable grant, and the grant. */
export function refuseHostFilesInGrants(policy: ResolvedPolicy, files: readonly HostFile[]): void {
  const problems = linkedUnderWritable(policy);
  for (const f of files) {
    const spellings = [f.path, resolve(realOr(dirname(f.path)), basename(f.path)), realOr(f.path)];
    const grant = policy.filesystem.rw.find(
      (g) => spellings.some((p) => within(p, g.path) || within(p, realOr(g.path))) || (f.dir === true && (within(g.path, f.path) || within(realOr(g.path), f.path))),
    );
    if (grant === undefined) continue;
    problems.push(
      within(grant.path, f.path) || within(realOr(grant.path), f.path)
        ? `the writable grant ${grant.path} is inside ${f.what} ${f.path}: the server could change mcp-j itself; grant a directory outside it`
        : `${f.what} ${f.path} is inside the writable grant ${grant.path}, where the server could replace it: keep mcp-j's own files outside the --rw grants`,
    );
  }
  if (problems.length > 0) throw new PolicyError("E_POLICY", problems);
}
