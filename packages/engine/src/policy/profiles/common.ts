// What every profile needs: finding programs the way the user's shell would (PATH), real paths, and
// the rule that decides which host directories a profile may grant.
//
// Profiles learn about the machine by reading it, never by running anything (docs/design.md, rule 1): a
// stat, a realpath, a few bytes of a file. Values read from the server's side (its tree, the start
// directory) never widen a grant beyond a directory that is recognisably a runtime's installation.
import { closeSync, existsSync, fstatSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve, sep } from "node:path";

/** HOME inside the jail (issue #2: HOME=/tmp). */
export const JAIL_HOME = "/tmp";

/** Host uid/gid the jail's 65534 maps to when mcp-j runs as root (docs/design.md, "Identity"). */
export const JAIL_ROOT_MAPPED_UID = 65534;

export interface ProfileContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The command that will run, when known: profiles grant the interpreter it names. */
  command?: string[];
  /** What distinguishes this server beyond its command (a digest of its flags and policy file):
   * per-server state such as the npx cache is keyed by it, so that two servers with different
   * policies never share anything writable. */
  serverKey?: string;
  /** The writable grants (real paths), once the policy is known: what the jail could have
   * changed there is not read as the command's layout (a package root is never looked for
   * above the writable grant that holds the script). */
  writable?: string[];
}

export function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
}

/**
 * `which`: the first executable regular file named `name` in PATH. A name with a slash is resolved
 * against cwd (the user typed it). Relative PATH entries (and empty ones, which mean ".") are
 * skipped: the start directory never decides which program a profile grants.
 */
export function whichSync(name: string, env: NodeJS.ProcessEnv, cwd: string, skip: (dir: string) => boolean = () => false): string | undefined {
  if (name.includes("/")) {
    const p = resolve(cwd, name);
    return isExecutableFile(p) ? p : undefined;
  }
  for (const dir of (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter)) {
    if (!isAbsolute(dir) || skip(dir)) continue;
    const p = join(dir, name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

export function isExecutableFile(p: string): boolean {
  try {
    const st = statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** The first `max` bytes of a file as latin1 text ("" when unreadable): shebangs, shims, ini files. */
export function readHead(p: string, max = 4096): string {
  let fd: number | undefined;
  try {
    fd = openSync(p, "r");
    const buf = Buffer.allocUnsafe(Math.min(max, fstatSync(fd).size));
    const n = buf.length === 0 ? 0 : readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("latin1");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Paths every jail mounts (/usr, the usrmerge links: docs/design.md, "Filesystem"): no grant needed. */
export function underSystem(p: string): boolean {
  return p === "/usr" || p.startsWith("/usr/") || /^\/(bin|sbin|lib|lib64)(\/|$)/.test(p);
}

export function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * A directory no profile grants as a whole, whatever a file says: the root, the home directory and
 * its ancestors, and top-level system directories. A runtime found directly in one of them (a
 * `~/bin/node`) gets its binary granted, not the directory.
 */
export function tooWide(p: string, env: NodeJS.ProcessEnv): boolean {
  const home = realOr(homeOf(env));
  if (p === "/" || within(home, p)) return true;
  return /^\/(home|root|etc|var|tmp|opt|srv|mnt|media|run|proc|sys|dev|boot)$/.test(p);
}

export function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

export interface RoGrant {
  path: string;
  dest: string;
}

/** Read-only grants of existing paths outside what the jail mounts anyway, each at its own path. */
export function roGrants(paths: string[]): RoGrant[] {
  return uniq(paths.filter((p) => p && p !== "/" && !underSystem(p) && existsSync(p))).map((p) => ({ path: p, dest: p }));
}

/** PREFIX for PREFIX/bin/PROGRAM (the layout every runtime installer uses), else undefined. */
export function prefixOfBin(file: string): string | undefined {
  const bin = dirname(file);
  return bin.endsWith(`${sep}bin`) ? dirname(bin) : undefined;
}
