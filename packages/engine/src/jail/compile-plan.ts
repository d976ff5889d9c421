// Policy + command → JailPlan. Every decision about what the jail contains is made here, in one
// place, as data: the mount plan, the Landlock rules, the environment, the command's path.
import { accessSync, closeSync, constants, existsSync, lstatSync, openSync, readFileSync, readSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import type { Policy } from "../policy/schema.js";
import { parseSize } from "../policy/size.js";
import { EXIT, JailError } from "./errors.js";
import { denyMasks, jailDenyGlobs, type MaskScan } from "./deny-mask.js";
import { acceptedDowngrades } from "./downgrades.js";
import { usernsLimits } from "./userns-limits.js";
import { baseRlimits } from "../cgroup/rlimits.js";
import { resolveGrant, type ResolvedGrant } from "./grants.js";
import { ALL_FS, FS, NET, READ, READ_WRITE, SCOPE } from "./landlock-rights.js";
import { MountFlag, MountOp, type JailPlan, type LandlockFsRule, type MountStep, type Rlimit } from "./plan.js";

/** The identity inside the jail: nobody/nogroup. */
export const JAIL_UID = 65534;
export const JAIL_GID = 65534;
export const JAIL_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
const HOSTNAME = "mcp-j";
const DEVICES = ["null", "zero", "full", "random", "urandom"];
/** usrmerge links (or, on older layouts, real directories) next to /usr. */
const USR_LINKS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

export interface PlanContext {
  /** Host working directory: relative grants resolve against it. */
  cwd: string;
  /** mcp-j's environment: the source of --env NAME and secrets fromEnv. */
  env: NodeJS.ProcessEnv;
  uid: number;
  gid: number;
  /** Egress proxy listener port inside the jail (0: no network). */
  netListenPort?: number;
  /** Variables added by other layers (the egress proxy's HTTP_PROXY...). */
  extraEnv?: Record<string, string>;
  seccomp?: Buffer | null;
  supervisorTables?: Buffer | null;
  deputySeccomp?: Buffer | null;
  rlimits?: Rlimit[];
  cgroup?: string | null;
}

export interface CompiledJail {
  plan: JailPlan;
  /** What may be executed (real jail paths). `allow`: what execve may name (the command, the
   * policy's exec list, the interpreters of their shebang chains); `interpreters`: ELF
   * interpreters, which only the kernel opens for exec. Both get Landlock EXECUTE, per file. */
  exec: ExecAllowlist;
  grants: ResolvedGrant[];
  /** Secret values: never to be written to a log. */
  secrets: string[];
  /** The deny rules as globs over jail paths, one per view of a granted file. */
  denyGlobs: string[];
  /** What the deny rules matched when the plan was made (masked in the mount tree). */
  masked: MaskScan;
}

const RO = MountFlag.rdonly | MountFlag.nosuid | MountFlag.nodev;
const RW = MountFlag.nosuid | MountFlag.nodev | MountFlag.noexec;

function step(op: MountOp, dest: string, extra: Partial<Omit<MountStep, "op" | "dest">> = {}): MountStep {
  return { op, dest, src: "", data: "", flags: 0, mode: 0, ...extra };
}

/** Mount points sorted so that parents are mounted before what lies below them. */
function depth(p: string): number {
  return p === "/" ? 0 : p.split("/").length - 1;
}

function baseMounts(tmpBytes: number, withCerts: boolean): { mounts: MountStep[]; rules: LandlockFsRule[] } {
  const mounts: MountStep[] = [];
  const rules: LandlockFsRule[] = [{ path: "/", access: FS.READ_DIR }];

  mounts.push(step(MountOp.Bind, "/usr", { src: "/usr", flags: RO }));
  // Directories are readable only: EXECUTE is granted per file on the exec allowlist (see
  // execAllowlist below), so a binary outside it cannot be started even from /usr.
  rules.push({ path: "/usr", access: READ });
  for (const l of USR_LINKS) {
    if (!existsSync(l)) continue;
    const st = lstatSync(l);
    if (st.isSymbolicLink()) mounts.push(step(MountOp.Symlink, l, { src: readlinkSync(l) }));
    else if (st.isDirectory()) {
      mounts.push(step(MountOp.Bind, l, { src: l, flags: RO }));
      rules.push({ path: l, access: READ });
    }
  }

  // /etc: only what programs need to start, and an identity that names nobody but nobody.
  mounts.push(step(MountOp.Dir, "/etc", { mode: 0o755 }));
  rules.push({ path: "/etc", access: READ });
  const files: Record<string, string> = {
    "/etc/passwd": `nobody:x:${JAIL_UID}:${JAIL_GID}:nobody:/tmp:/usr/sbin/nologin\n`,
    "/etc/group": `nogroup:x:${JAIL_GID}:\n`,
    "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n",
    "/etc/hosts": `127.0.0.1 localhost ${HOSTNAME}\n::1 localhost ip6-localhost\n`,
  };
  for (const [dest, content] of Object.entries(files)) mounts.push(step(MountOp.File, dest, { data: content, mode: 0o444 }));
  for (const f of ["/etc/ld.so.cache", "/etc/localtime"]) {
    if (existsSync(f)) mounts.push(step(MountOp.Bind, f, { src: f, flags: RO }));
  }
  if (withCerts && existsSync("/etc/ssl/certs")) mounts.push(step(MountOp.Bind, "/etc/ssl/certs", { src: "/etc/ssl/certs", flags: RO }));

  // /dev: a handful of harmless devices bound from the host (mknod is impossible in a user
  // namespace), no pts, no tty.
  mounts.push(step(MountOp.Tmpfs, "/dev", { data: "mode=0755,size=64k", flags: MountFlag.nosuid | MountFlag.noexec }));
  rules.push({ path: "/dev", access: FS.READ_DIR });
  for (const d of DEVICES) {
    mounts.push(step(MountOp.Bind, `/dev/${d}`, { src: `/dev/${d}`, flags: MountFlag.nosuid | MountFlag.noexec }));
    rules.push({ path: `/dev/${d}`, access: FS.READ_FILE | FS.WRITE_FILE });
  }
  for (const [name, target] of [
    ["fd", "/proc/self/fd"],
    ["stdin", "/proc/self/fd/0"],
    ["stdout", "/proc/self/fd/1"],
    ["stderr", "/proc/self/fd/2"],
  ] as const) {
    mounts.push(step(MountOp.Symlink, `/dev/${name}`, { src: target }));
  }

  // /proc of the jail's own PID namespace; subset=pid hides sysctls, kcore and friends. Read-only:
  // Landlock gives it read rights only, and the mount flag keeps it so on kernels whose Landlock has
  // no truncate control (ABI < 3), so the same holds everywhere.
  mounts.push(step(MountOp.Proc, "/proc", { data: "subset=pid", flags: MountFlag.rdonly }));
  rules.push({ path: "/proc", access: READ });

  mounts.push(
    step(MountOp.Tmpfs, "/tmp", { data: `mode=1777,size=${tmpBytes}`, flags: MountFlag.nosuid | MountFlag.nodev | MountFlag.noexec }),
  );
  rules.push({ path: "/tmp", access: READ_WRITE });
  return { mounts, rules };
}

/** Maps a path inside the jail to the host path behind it, following the plan's binds and
 * symlinks; null when nothing in the jail provides it. */
export function jailToHost(mounts: MountStep[], jailPath: string, hops = 0): string | null {
  if (hops > 8) return null;
  let best: MountStep | null = null;
  for (const m of mounts) {
    if (m.op !== MountOp.Bind && m.op !== MountOp.Symlink) continue;
    if (jailPath === m.dest || jailPath.startsWith(m.dest + "/")) {
      if (best === null || m.dest.length > best.dest.length) best = m;
    }
  }
  if (best === null) return null;
  const rest = jailPath.slice(best.dest.length);
  if (best.op === MountOp.Bind) return best.src + rest;
  const target = isAbsolute(best.src) ? best.src : join(dirname(best.dest), best.src);
  return jailToHost(mounts, target + rest, hops + 1);
}

function hostToJail(grants: ResolvedGrant[], hostPath: string): string | null {
  let best: ResolvedGrant | null = null;
  for (const g of grants) {
    if (hostPath === g.src || hostPath.startsWith(g.src + sep)) {
      if (best === null || g.src.length > best.src.length) best = g;
    }
  }
  if (best !== null) return best.dest + hostPath.slice(best.src.length);
  if (hostPath === "/usr" || hostPath.startsWith("/usr/")) return hostPath;
  return null;
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
function resolveCommand(cmd: string, mounts: MountStep[], grants: ResolvedGrant[], hostCwd: string): string {
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
  for (const dir of JAIL_PATH.split(":")) {
    const candidate = `${dir}/${cmd}`;
    const behind = jailToHost(mounts, candidate);
    if (behind !== null && isExecutableFile(behind)) return candidate;
  }
  throw new JailError("E_NOT_FOUND", `${cmd}: command not found inside the jail (PATH=${JAIL_PATH}); ${hint}`, EXIT.notFound);
}

function buildEnv(policy: Policy, ctx: PlanContext): { env: string[]; secrets: string[] } {
  const env = new Map<string, string>();
  env.set("PATH", JAIL_PATH);
  env.set("HOME", "/tmp");
  env.set("LANG", ctx.env.LANG ?? "C.UTF-8");
  env.set("TERM", ctx.env.TERM ?? "dumb");
  for (const name of policy.env.pass) {
    const v = ctx.env[name];
    if (v !== undefined) env.set(name, v);
  }
  for (const [name, v] of Object.entries(policy.env.set)) env.set(name, v);
  const secrets: string[] = [];
  for (const s of policy.env.secrets) {
    let v: string | undefined;
    if (s.fromFile !== undefined) {
      try {
        v = readFileSync(resolve(ctx.cwd, s.fromFile), "utf8").replace(/\r?\n$/, "");
      } catch (e) {
        throw new JailError("E_GRANT_INVALID", `secret ${s.name}: cannot read ${s.fromFile}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
    } else if (s.fromEnv !== undefined) {
      v = ctx.env[s.fromEnv];
      if (v === undefined) throw new JailError("E_GRANT_INVALID", `secret ${s.name}: ${s.fromEnv} is not set in mcp-j's environment`);
    }
    if (v !== undefined) {
      env.set(s.name, v);
      if (v.length > 0) secrets.push(v);
    }
  }
  for (const [k, v] of Object.entries(ctx.extraEnv ?? {})) env.set(k, v);
  return { env: [...env].map(([k, v]) => `${k}=${v}`), secrets };
}

function chooseCwd(policy: Policy, grants: ResolvedGrant[], hostCwd: string): string {
  if (policy.filesystem.cwd !== undefined) {
    const c = policy.filesystem.cwd;
    if (!isAbsolute(c)) throw new JailError("E_GRANT_INVALID", `--cwd ${c}: must be an absolute path inside the jail`);
    return c;
  }
  // Where the user runs mcp-j, if they granted it (the common `--rw .`); the jail's /tmp otherwise.
  let real = hostCwd;
  try {
    real = realpathSync(hostCwd);
  } catch {
    /* a cwd that vanished: it cannot be granted anyway */
  }
  return hostToJail(grants, real) ?? "/tmp";
}

export function compileJailPlan(policy: Policy, command: string[], ctx: PlanContext): CompiledJail {
  if (command.length === 0 || command[0] === "") {
    throw new JailError("E_NOT_FOUND", "no command given: mcp-j [options] -- COMMAND [ARGS...]", 2);
  }
  const grants = [
    ...policy.filesystem.ro.map((g) => resolveGrant(g, false, ctx.cwd)),
    ...policy.filesystem.rw.map((g) => resolveGrant(g, true, ctx.cwd)),
  ];
  const netPort = ctx.netListenPort ?? 0;
  const { mounts, rules } = baseMounts(parseSize(policy.limits.tmpSize), netPort !== 0);

  // User grants after the base, parents first; an alias symlink where the user's spelling differs.
  const userMounts: MountStep[] = [];
  for (const g of grants) {
    userMounts.push(step(MountOp.Bind, g.dest, { src: g.src, flags: g.writable ? RW : RO }));
    rules.push({ path: g.dest, access: g.writable ? READ_WRITE : READ });
    if (g.alias !== null && !grants.some((o) => o.dest === g.alias)) {
      userMounts.push(step(MountOp.Symlink, g.alias, { src: g.dest }));
    }
  }
  userMounts.sort((a, b) => depth(a.dest) - depth(b.dest));
  mounts.push(...userMounts);
  // Deny rules' kernel layer: their matches inside the grants, hidden (after every grant is bound).
  const denyGlobs = jailDenyGlobs(policy.filesystem.deny, grants);
  const scan = denyMasks(grants, denyGlobs);
  for (const m of scan.masks) mounts.push(step(MountOp.Mask, m.dest, { data: m.kind }));
  // The root tmpfs becomes read-only once everything is in place (ESCAPES 10).
  mounts.push(step(MountOp.RemountRo, "/"));
  // /dev too: its tmpfs belongs to the jail's uid; read-only, nothing new can appear there (the
  // device binds are mounts of their own and stay writable).
  mounts.push(step(MountOp.RemountRo, "/dev"));

  const cwd = chooseCwd(policy, grants, ctx.cwd);
  const [cmd, ...args] = command as [string, ...string[]];
  const execPath = resolveCommand(cmd, mounts, grants, ctx.cwd);
  const exec = execAllowlist(execPath, policy.filesystem.exec, mounts, grants);
  for (const f of [...exec.allow, ...exec.interpreters]) rules.push({ path: f, access: FS.EXECUTE | FS.READ_FILE });
  const { env, secrets } = buildEnv(policy, ctx);

  const plan: JailPlan = {
    argv: [cmd, ...args],
    env,
    execPath,
    cwd,
    hostname: HOSTNAME,
    hostUid: ctx.uid === 0 ? JAIL_UID : ctx.uid,
    hostGid: ctx.uid === 0 ? JAIL_GID : ctx.gid,
    jailUid: JAIL_UID,
    jailGid: JAIL_GID,
    mounts,
    landlock: {
      minAbi: 1,
      handledFs: ALL_FS,
      // TCP: connect only to the egress proxy, bind nothing (ABI 4+; a second layer behind the
      // network namespace).
      handledNet: NET.BIND_TCP | NET.CONNECT_TCP,
      scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL,
      fsRules: rules,
      netRules: netPort !== 0 ? [{ port: netPort, access: NET.CONNECT_TCP }] : [],
    },
    seccomp: ctx.seccomp ?? null,
    rlimits: ctx.rlimits ?? baseRlimits({ openFiles: policy.limits.openFiles }),
    cgroup: ctx.cgroup ?? null,
    netListenPort: netPort,
    supervisorTables: ctx.supervisorTables ?? null,
    deputySeccomp: ctx.deputySeccomp ?? null,
    downgrades: acceptedDowngrades(policy.strict),
    sysctls: usernsLimits(),
  };
  return { plan, grants, secrets, exec, denyGlobs, masked: scan };
}

export interface ExecAllowlist {
  allow: string[];
  interpreters: string[];
}

/** A jail path → the real jail path of the file behind it (symlinks resolved on the host, then
 * mapped back), or null when it is not a file on a read-only mount of the jail: writable mounts
 * are noexec, and Landlock gives EXECUTE on read-only files only (W^X). */
function realJailFile(mounts: MountStep[], grants: ResolvedGrant[], jailPath: string): string | null {
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
  const g = grants.find((o) => back === o.dest || back.startsWith(o.dest + "/"));
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

function lookInPath(mounts: MountStep[], name: string): string | null {
  if (name.startsWith("/")) return name;
  for (const dir of JAIL_PATH.split(":")) {
    const behind = jailToHost(mounts, `${dir}/${name}`);
    if (behind !== null && isExecutableFile(behind)) return `${dir}/${name}`;
  }
  return null;
}

/**
 * The exec allowlist (DESIGN.md "Filesystem"): the command resolved to its real path, the policy's
 * filesystem.exec entries (host paths, as resolve.ts made them), for scripts every interpreter of
 * the shebang chain (`/usr/bin/env`, then `node`), and the ELF interpreter (PT_INTERP) of each.
 */
export function execAllowlist(execPath: string, extra: string[], mounts: MountStep[], grants: ResolvedGrant[]): ExecAllowlist {
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
    // Extra entries are host paths: the jail sees them where the grants (or /usr) put them; a
    // bare jail path (already as the jail sees it) works too.
    let jailPath: string | null = null;
    if (e.startsWith("/")) {
      try {
        jailPath = hostToJail(grants, realpathSync(e));
      } catch {
        jailPath = null;
      }
      if (jailPath === null && jailToHost(mounts, e) !== null) jailPath = e;
    } else {
      jailPath = lookInPath(mounts, e);
    }
    if (jailPath !== null) visit(jailPath, 0);
  }
  for (const a of allow) interpreters.delete(a);
  return { allow: [...allow].sort(), interpreters: [...interpreters].sort() };
}
