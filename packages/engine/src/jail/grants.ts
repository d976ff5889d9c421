// Grants: user paths made visible in the jail. A grant follows symlinks to the real path (NixOS,
// pyenv shims, npm's .bin links): the real path is mounted, and when the path the user named
// differs, a symlink at that path points to it (layout.ts), so both spellings work inside the jail.
// This is the one place grants meet the host's file system: each path is resolved once, here.
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import { underSystem } from "../policy/profiles/common.js";
import { normalizeGrant } from "../policy/resolve.js";
import type { Grant as GrantEntry, Policy, ResolvedGrant } from "../policy/schema.js";
import { JailError } from "./errors.js";

export interface Grant {
  /** The real host path (symlinks resolved). */
  src: string;
  /** Where it appears in the jail: the jail path the user named, or the real path. */
  dest: string;
  /** The path as the user named it (absolute), when no jail path was named and it differs from
   * the real path: becomes a symlink to dest. */
  alias: string | null;
  writable: boolean;
  isDir: boolean;
  /** Where the grant came from ("--ro ./data", "policy.yaml: filesystem.ro[2]"), for messages. */
  from: string;
}

/** Paths the jail builds itself: a grant may not replace them. */
const RESERVED = ["/", "/proc", "/dev", "/etc", "/tmp"];

function jailPath(p: string, what: string): string {
  if (!isAbsolute(p)) throw new JailError("E_GRANT_INVALID", `${what}: ${JSON.stringify(p)} must be an absolute path inside the jail`);
  const n = normalize(p);
  if (n.split("/").includes("..")) throw new JailError("E_GRANT_INVALID", `${what}: ${JSON.stringify(p)} must not contain ".."`);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** "--ro /x" already names the path; "policy.yaml: filesystem.ro[0]" needs it said. */
function where(g: ResolvedGrant): string {
  return g.from.endsWith(` ${g.path}`) ? g.from : `${g.from}: ${g.path}`;
}

export function resolveGrant(g: ResolvedGrant, writable: boolean): Grant {
  let src: string;
  try {
    src = realpathSync(g.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    const why = code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : code;
    throw new JailError("E_GRANT_MISSING", `${where(g)}: ${why} (a grant must name an existing path)`);
  }
  const dest = jailPath(g.dest ?? src, `${g.from}: destination`);
  if (RESERVED.includes(dest)) {
    throw new JailError("E_GRANT_INVALID", `${where(g)}: ${dest} is built by the jail itself and cannot be replaced by a grant`);
  }
  // What the host and every jail run lives there; a jail that could write it (as root, through the
  // idmapped bind a root-owned directory gets) would plant programs another jail is allowed to run.
  if (writable && underSystem(src)) {
    throw new JailError("E_GRANT_INVALID", `${where(g)}: ${src} is inside a system directory (/usr, /bin, /lib), which no jail may write; grant a directory outside them`);
  }
  const alias = g.dest === undefined && g.path !== src ? jailPath(g.path, g.from) : null;
  return { src, dest, alias, writable, isDir: statSync(src).isDirectory(), from: g.from };
}

/**
 * The policy's grants, read-only ones first, resolved on the host. Entries come as resolvePolicy()
 * left them, or raw (a policy parsed by PolicySchema alone: library callers and tests), in which
 * case relative paths are relative to cwd. A grant named twice is granted once.
 */
export function resolveGrants(policy: Policy, cwd: string, env: NodeJS.ProcessEnv): Grant[] {
  const out: Grant[] = [];
  const seen = new Set<string>();
  for (const key of ["ro", "rw"] as const) {
    policy.filesystem[key].forEach((entry: GrantEntry | ResolvedGrant, i) => {
      const g = resolveGrant(normalizeGrant(entry, cwd, env, `filesystem.${key}[${i}]`), key === "rw");
      const k = JSON.stringify([g.src, g.dest, g.writable]);
      if (seen.has(k)) return;
      seen.add(k);
      out.push(g);
    });
  }
  return out;
}
