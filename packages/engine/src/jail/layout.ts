// The jail's file tree: what every jail contains (a read-only /usr, a minimal /etc and /dev, its own
// /proc, a private /tmp) and where the user's grants go. Data only: mount steps and the Landlock
// rules that go with them; mounts.c applies them in order.
import { existsSync, lstatSync, readlinkSync, statSync } from "node:fs";
import type { Grant } from "./grants.js";
import { FS, READ, READ_WRITE } from "./landlock-rights.js";
import { jailToHost } from "./paths.js";
import { MountFlag, MountOp, type LandlockFsRule, type MountStep } from "./plan.js";
import { SYNTHETIC_DIR, syntheticFiles } from "./synthetic.js";

/** The identity inside the jail: nobody/nogroup. */
export const JAIL_UID = 65534;
export const JAIL_GID = 65534;
export const HOSTNAME = "mcp-j";
const DEVICES = ["null", "zero", "full", "random", "urandom"];
/** usrmerge links (or, on older layouts, real directories) next to /usr. */
const USR_LINKS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

const RO = MountFlag.rdonly | MountFlag.nosuid | MountFlag.nodev;
const RW = MountFlag.nosuid | MountFlag.nodev | MountFlag.noexec;

export interface Layout {
  mounts: MountStep[];
  rules: LandlockFsRule[];
}

function step(op: MountOp, dest: string, extra: Partial<Omit<MountStep, "op" | "dest">> = {}): MountStep {
  return { op, dest, src: "", data: "", flags: 0, mode: 0, ...extra };
}

/** Mount points sorted so that parents are mounted before what lies below them. */
function depth(p: string): number {
  return p === "/" ? 0 : p.split("/").length - 1;
}

/** What the base tree holds for the network: the CA certificates (when any host is allowed), and
 * the jail's resolver in resolv.conf and nsswitch.conf (when mcp-j serves one). */
export interface NetworkFiles {
  certs: boolean;
  resolver: boolean;
}

/** What every jail has, before any grant. memoryBytes: the jail's limit, which its /proc/meminfo
 * shows. */
export function baseLayout(tmpBytes: number, net: NetworkFiles, memoryBytes: number): Layout {
  const mounts: MountStep[] = [];
  const rules: LandlockFsRule[] = [{ path: "/", access: FS.READ_DIR }];

  mounts.push(step(MountOp.Bind, "/usr", { src: "/usr", flags: RO }));
  // Directories are readable only: EXECUTE is granted per file on the exec allowlist (exec.ts), so
  // a binary outside it cannot be started even from /usr.
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
    "/etc/nsswitch.conf": `passwd: files\ngroup: files\nhosts: files${net.resolver ? " dns" : ""}\nservices: files\nprotocols: files\n`,
    "/etc/hosts": `127.0.0.1 localhost ${HOSTNAME}\n::1 localhost ip6-localhost\n`,
  };
  // The jail's resolver (egress/resolver.ts), on the jail's own loopback: it answers the names the
  // policy allows and NXDOMAIN to the rest, so no search domain and no other server.
  if (net.resolver) files["/etc/resolv.conf"] = `nameserver 127.0.0.1\noptions timeout:2 attempts:2\n`;
  for (const [dest, content] of Object.entries(files)) mounts.push(step(MountOp.File, dest, { data: content, mode: 0o444 }));
  for (const f of ["/etc/ld.so.cache", "/etc/localtime"]) {
    if (existsSync(f)) mounts.push(step(MountOp.Bind, f, { src: f, flags: RO }));
  }
  if (net.certs && existsSync("/etc/ssl/certs")) mounts.push(step(MountOp.Bind, "/etc/ssl/certs", { src: "/etc/ssl/certs", flags: RO }));

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

  // /proc of the jail's own PID namespace; subset=pid hides sysctls, kcore and friends.
  // Read-only: Landlock gives it read rights only, and the mount flag keeps it so on kernels whose
  // Landlock has no truncate control (ABI < 3), so the same holds everywhere.
  mounts.push(step(MountOp.Proc, "/proc", { data: "subset=pid", flags: MountFlag.rdonly }));
  rules.push({ path: "/proc", access: READ });

  // What runtimes read of the machine at start (synthetic.ts): files of the plan, read-only with
  // the root; the /proc names among them are opened through the supervisor's aliases.
  for (const f of syntheticFiles(memoryBytes)) mounts.push(step(MountOp.File, f.path, { data: f.content, mode: 0o444 }));
  rules.push({ path: "/sys", access: READ }, { path: SYNTHETIC_DIR, access: READ });

  mounts.push(
    step(MountOp.Tmpfs, "/tmp", { data: `mode=1777,size=${tmpBytes}`, flags: MountFlag.nosuid | MountFlag.nodev | MountFlag.noexec }),
  );
  rules.push({ path: "/tmp", access: READ_WRITE });
  return { mounts, rules };
}

/** The host ids the jail's uid and gid map to. */
export interface HostIds {
  uid: number;
  gid: number;
}

/**
 * A writable grant's bind. When mcp-j runs as root the jail is the host's nobody, never root
 * (docs/design.md, "Identity"), and a directory owned by anyone else would refuse its writes: its
 * bind is then idmapped (issue 12 item 1), so that through that mount, and nowhere else, the owner
 * is the jail, unless the jail can write there already. An unprivileged invoker's jail is the invoker: its mapping stays as it is (and the
 * kernel gives idmapped mounts of a host disk to root only).
 */
function writableBind(g: Grant, idmapTo: HostIds | null): MountStep {
  if (idmapTo !== null) {
    const st = statSync(g.src);
    if (!writableBy(st, idmapTo)) return step(MountOp.Bind, g.dest, { src: g.src, flags: RW | MountFlag.idmap, data: `${st.uid}:${st.gid}` });
  }
  return step(MountOp.Bind, g.dest, { src: g.src, flags: RW });
}

/** Whether ids can already write what st describes by its mode bits. Such a grant is not idmapped:
 * the jail needs nothing more, and would otherwise own what it should not (a sticky, world-writable
 * directory's owner may remove everyone's files in it). */
function writableBy(st: { uid: number; gid: number; mode: number }, ids: HostIds): boolean {
  if (st.uid === ids.uid) return (st.mode & 0o200) !== 0;
  if (st.gid === ids.gid) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}

/** The user's grants over the base, parents first, each with an alias symlink where the user's
 * spelling differs from the real path; then the root and /dev made read-only. idmapTo: the jail's
 * host ids when mcp-j runs as root (writable grants of other owners are idmapped to them). */
export function grantLayout(base: Layout, grants: readonly Grant[], idmapTo: HostIds | null = null): Layout {
  const userMounts: MountStep[] = [];
  const rules = [...base.rules];
  for (const g of grants) {
    userMounts.push(g.writable ? writableBind(g, idmapTo) : step(MountOp.Bind, g.dest, { src: g.src, flags: RO }));
    rules.push({ path: g.dest, access: g.writable ? READ_WRITE : READ });
  }
  // An alias is made only where nothing else is: not inside a bind (it would be created in the
  // host's directory, or exists there already as the very symlink the user named), not over a
  // symlink of the layout, and not where a mount point must be a directory.
  const binds = [...base.mounts, ...userMounts];
  for (const g of [...grants].sort((a, b) => depth(a.alias ?? "/") - depth(b.alias ?? "/"))) {
    const alias = g.alias;
    if (alias === null) continue;
    if (jailToHost(binds, alias) !== null || binds.some((m) => m.dest === alias || m.dest.startsWith(alias + "/"))) continue;
    const link = step(MountOp.Symlink, alias, { src: g.dest });
    binds.push(link);
    userMounts.push(link);
  }
  userMounts.sort((a, b) => depth(a.dest) - depth(b.dest));
  const mounts = [...base.mounts, ...userMounts];
  // The root tmpfs becomes read-only once everything is in place (ESCAPES 10).
  mounts.push(step(MountOp.RemountRo, "/"));
  // /dev too: its tmpfs belongs to the jail's uid; read-only, nothing new can appear there (the
  // device binds are mounts of their own and stay writable).
  mounts.push(step(MountOp.RemountRo, "/dev"));
  return { mounts, rules };
}
