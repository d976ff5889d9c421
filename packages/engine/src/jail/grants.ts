// Grants: user paths made visible in the jail. A grant follows symlinks to the real path (NixOS,
// pyenv shims, npm's .bin links): the real path is mounted, and when the path the user named
// differs, a symlink at that path points to it, so both spellings work inside the jail.
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, normalize, resolve } from "node:path";
import { splitGrant } from "../policy/resolve.js";
import type { Grant } from "../policy/schema.js";
import { JailError } from "./errors.js";

export interface ResolvedGrant {
  /** The real host path (symlinks resolved). */
  src: string;
  /** Where it appears in the jail. */
  dest: string;
  /** The path as the user spelled it (absolute), when it differs from dest: becomes a symlink. */
  alias: string | null;
  writable: boolean;
  isDir: boolean;
}

function checkJailPath(p: string, what: string): string {
  if (!isAbsolute(p)) throw new JailError("E_GRANT_INVALID", `${what} ${JSON.stringify(p)} must be an absolute path inside the jail`);
  const n = normalize(p);
  if (n.split("/").includes("..")) throw new JailError("E_GRANT_INVALID", `${what} ${JSON.stringify(p)} must not contain ".."`);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** Paths the jail builds itself: a grant may not replace them. */
const RESERVED = ["/", "/proc", "/dev", "/etc", "/tmp"];

export function resolveGrant(g: Grant, writable: boolean, cwd: string): ResolvedGrant {
  const { path, dest } = splitGrant(g);
  const flag = writable ? "--rw" : "--ro";
  const named = resolve(cwd, path);
  let src: string;
  try {
    src = realpathSync(named);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    const why = code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : code;
    throw new JailError("E_GRANT_MISSING", `${flag} ${path}: ${why} (a grant must name an existing path)`);
  }
  const d = checkJailPath(dest ?? src, `${flag} destination`);
  if (RESERVED.includes(d)) {
    throw new JailError("E_GRANT_INVALID", `${flag} ${path}: ${d} is built by the jail itself and cannot be replaced by a grant`);
  }
  const alias = dest === undefined && named !== src ? checkJailPath(named, flag) : null;
  return { src, dest: d, alias, writable, isDir: statSync(src).isDirectory() };
}
