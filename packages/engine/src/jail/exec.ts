// What the server may execute (docs/design.md, "Filesystem"): the command, found inside the jail the way
// execvp would find it there, and the exec allowlist that Landlock enforces per file: the command
// resolved to its real path, the policy's filesystem.exec entries, for scripts every interpreter of
// the shebang chain (`/usr/bin/env`, then `node`), and the ELF interpreter (PT_INTERP) of each.
import { accessSync, closeSync, constants, existsSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { EXIT } from "../exit-codes.js";
import { JailError } from "./errors.js";
import type { Grant } from "./grants.js";
import { hostToJail, JAIL_PATH, jailToHost } from "./paths.js";
import type { MountStep } from "./plan.js";

export interface ExecAllowlist {
  /** Real jail paths execve may name: the command, the policy's exec list, the interpreters of
   * their shebang chains. */
  allow: string[];
  /** ELF interpreters, which only the kernel opens for exec. Both lists get Landlock EXECUTE, per file. */
  interpreters: string[];
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds the command inside the jail, the way execvp would there. */
export function resolveCommand(cmd: string, mounts: readonly MountStep[], grants: readonly Grant[], hostCwd: string): string {
  const hint =
    "the jail sees /usr and your grants only: if it lives elsewhere, grant its directory with --ro DIR " +
    "(and what it needs to run)";
  if (cmd.includes("/")) {
    const host = resolve(hostCwd, cmd);
    const inJail = isAbsolute(cmd) && jailToHost(mounts, cmd) !== null ? cmd : hostToJail(grants, host);
    const behind = inJail === null ? null : jailToHost(mounts, inJail);
    if (inJail === null || behind === null || !existsSync(behind)) {
      throw new JailError("E_NOT_FOUND", `${cmd}: not found inside the jail; ${hint}`, EXIT.notFound);
    }
    if (!isExecutableFile(behind)) {
      throw new JailError("E_NOT_EXECUTABLE", `${cmd}: not an executable file`, EXIT.notExecutable);
    }
    return inJail;
  }
  const found = lookInPath(mounts, cmd);
  if (found !== null) return found;
  throw new JailError("E_NOT_FOUND", `${cmd}: command not found inside the jail (PATH=${JAIL_PATH}); ${hint}`, EXIT.notFound);
}

/** A jail path → the real jail path of the file behind it (symlinks resolved on the host, then
 * mapped back), or null when it is not a file on a read-only mount of the jail: writable mounts
 * are noexec, and Landlock gives EXECUTE on read-only files only (W^X). */
function realJailFile(mounts: readonly MountStep[], grants: readonly Grant[], jailPath: string): string | null {
  const host = jailToHost(mounts, jailPath);
  if (host === null) return null;
  let real: string;
  try {
    real = realpathSync(host);
    if (!statSync(real).isFile()) return null;
  } catch {
    return null;
  }
  const back = hostToJail(grants, real);
  if (back === null) return null;
  // The innermost grant is the mount the file is on.
  const g = grants.filter((o) => back === o.dest || back.startsWith(o.dest + "/")).sort((a, b) => b.dest.length - a.dest.length)[0];
  if (g?.writable) return null;
  return back;
}

function readHead(file: string, n: number, offset = 0): Buffer {
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, offset);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** PT_INTERP of a 64-bit little-endian ELF file (x86_64, aarch64), or null. */
export function elfInterpreter(hostFile: string): string | null {
  try {
    const h = readHead(hostFile, 64);
    if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return null;
    const phoff = Number(h.readBigUInt64LE(0x20));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const ph = readHead(hostFile, phentsize * phnum, phoff);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (o + 0x28 > ph.length) break;
      if (ph.readUInt32LE(o) !== 3 /* PT_INTERP */) continue;
      const off = Number(ph.readBigUInt64LE(o + 0x08));
      const size = Number(ph.readBigUInt64LE(o + 0x20));
      if (size === 0 || size > 4096) return null;
      return readHead(hostFile, size, off).toString("latin1").replace(/\0.*$/s, "");
    }
  } catch {
    /* unreadable: nothing to add */
  }
  return null;
}

/** The interpreter a "#!" line names, with `/usr/bin/env NAME` resolved to NAME too. */
function shebang(hostFile: string): string[] {
  let line: string;
  try {
    const h = readHead(hostFile, 256).toString("latin1");
    if (!h.startsWith("#!")) return [];
    line = h.slice(2).split("\n")[0]!.trim();
  } catch {
    return [];
  }
  const words = line.split(/[ \t]+/).filter(Boolean);
  const interp = words[0];
  if (interp === undefined || !interp.startsWith("/")) return [];
  const out = [interp];
  if (interp.endsWith("/env")) {
    const rest = words.slice(1).filter((w) => w !== "-S" && !w.startsWith("-"));
    if (rest[0] !== undefined) out.push(rest[0]);
  }
  return out;
}

/** A bare name looked up in the jail's PATH (an absolute path is returned as it is). */
function lookInPath(mounts: readonly MountStep[], name: string): string | null {
  if (name.startsWith("/")) return name;
  for (const dir of JAIL_PATH.split(":")) {
    const behind = jailToHost(mounts, `${dir}/${name}`);
    if (behind !== null && isExecutableFile(behind)) return `${dir}/${name}`;
  }
  return null;
}

/** Where a filesystem.exec entry is in the jail: a host path (as resolve.ts made it) where the
 * grants (or /usr) put it, a path as the jail sees it, or a bare name found in the jail's PATH;
 * null when the jail does not see it. */
function execEntryPath(e: string, mounts: readonly MountStep[], grants: readonly Grant[]): string | null {
  if (!e.startsWith("/")) return lookInPath(mounts, e);
  let jailPath: string | null = null;
  try {
    jailPath = hostToJail(grants, realpathSync(e));
  } catch {
    jailPath = null;
  }
  return jailPath === null && jailToHost(mounts, e) !== null ? e : jailPath;
}

/** Why a filesystem.exec entry cannot be executed in the jail, or null when it can. The run leaves
 * such an entry out of the allowlist; `policy check` reports it. */
export function execEntryProblem(e: string, mounts: readonly MountStep[], grants: readonly Grant[]): string | null {
  const jailPath = execEntryPath(e, mounts, grants);
  if (jailPath === null) return "is not visible inside the jail: grant its directory read-only (--ro DIR or filesystem.ro)";
  if (realJailFile(mounts, grants, jailPath) === null) return "is not a file on a read-only mount of the jail (writable grants are never executable)";
  return null;
}

/** The exec allowlist for the command at execPath (a jail path) and the policy's exec entries
 * (host paths, as resolve.ts made them, or names looked up in the jail's PATH). */
export function execAllowlist(
  execPath: string,
  extra: readonly string[],
  mounts: readonly MountStep[],
  grants: readonly Grant[],
): ExecAllowlist {
  const allow = new Set<string>();
  const interpreters = new Set<string>();
  const visit = (jailPath: string, depth: number): void => {
    const real = realJailFile(mounts, grants, jailPath);
    if (real === null || allow.has(real) || depth > 4) return;
    allow.add(real);
    const host = jailToHost(mounts, real);
    if (host === null) return;
    const interp = elfInterpreter(host);
    if (interp !== null) {
      const r = realJailFile(mounts, grants, interp);
      if (r !== null) interpreters.add(r);
    }
    for (const s of shebang(host)) {
      const p = lookInPath(mounts, s);
      if (p !== null) visit(p, depth + 1);
    }
  };
  visit(execPath, 0);
  for (const e of extra) {
    const jailPath = execEntryPath(e, mounts, grants);
    if (jailPath !== null) visit(jailPath, 0);
  }
  for (const a of allow) interpreters.delete(a);
  return { allow: [...allow].sort(), interpreters: [...interpreters].sort() };
}
