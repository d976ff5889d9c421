// The supervisor's decision tables: the policy, compiled to plain data for the C hot loop
// (native/jail/sup_tables.h says how C reads them; jail/codec.ts encodes them). TypeScript decides,
// C applies.
import { realpathSync } from "node:fs";
import { normalizeIp } from "../egress/ip.js";
import { METADATA_ADDRESSES } from "../egress/metadata.js";
import type { Grant } from "../jail/grants.js";
import { segmentPattern } from "../jail/glob.js";
import { FS } from "../jail/landlock-rights.js";
import { PathRight, Protocol, type LandlockFsRule, type MetaAddress, type NetRule, type SupervisorTables } from "../jail/plan.js";

export type { MetaAddress, NetRule, SupervisorTables } from "../jail/plan.js";

/** The metadata addresses as the supervisor matches them: each address, and each IPv4 one also in
 * the NAT64 prefix (64:ff9b::/96; IPv4-mapped forms are matched as IPv4 by the C side itself). */
export function supervisorMeta(): MetaAddress[] {
  const out: MetaAddress[] = [];
  for (const m of METADATA_ADDRESSES) {
    out.push({ address: m.address, name: m.name });
    const ip = normalizeIp(m.address);
    if (ip?.family === 4) {
      const b = ip.bytes;
      const nat64 = `64:ff9b::${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
      out.push({ address: nat64, name: `${m.name} via NAT64` });
    }
  }
  return out;
}

export interface TablesInput {
  /** The plan's Landlock rules: the supervisor's path rights mirror them. */
  fsRules: readonly LandlockFsRule[];
  /** Real jail paths execve may name (CompiledJail.exec.allow). */
  exec: string[];
  /** ELF interpreters (CompiledJail.exec.interpreters). */
  loaders?: string[];
  /** policy.filesystem.deny, as the user wrote them. */
  deny: string[];
  grants: Grant[];
  /** The egress proxy's port inside the jail, 0 when there is no network. */
  proxyPort: number;
  /** The resolver's UDP port on the jail's 127.0.0.1, 0 when there is none. */
  dnsPort?: number;
  /** TCP destinations redirected to the proxy (egress/names.ts redirectRules), and where to. */
  redirect?: NetRule[];
  redirectPort?: number;
  /** Metadata addresses the allowlist names exactly (egress/names.ts exactAddresses): left out of
   * the metadata table, so that they go where the allowlist says, like through the proxy. */
  metaAllowed?: ReadonlySet<string>;
  /** Extra loopback services inside the jail the server may connect to ("127.0.0.1:5432"). */
  loopbackConnect?: NetRule[];
  /** Audit allowed decisions (policy.audit.verbosity !== "denials"). */
  logAllow: boolean;
  /** Opens of `from` open the plan's file `to` (a /proc name subset=pid cannot hold). */
  aliases?: { from: string; to: string }[];
}

/** Landlock rights → the supervisor's coarse rights (the same rules, so both layers agree). */
export function rightsOf(access: bigint): number {
  let r = 0;
  if (access & FS.READ_FILE) r |= PathRight.read;
  if (access & FS.READ_DIR) r |= PathRight.dir;
  if (access & (FS.WRITE_FILE | FS.MAKE_REG | FS.TRUNCATE)) r |= PathRight.write;
  return r;
}

/**
 * What is left of a glob (segments) once it has matched the directory `root` (segments): a list of
 * residual patterns for the paths below root. [] when the glob already matched root or one of its
 * ancestors (everything below is denied); no entry when it cannot match anything below root.
 */
function residuals(pat: readonly string[], root: readonly string[]): string[][] {
  if (root.length === 0) return [[...pat]];
  if (pat.length === 0) return [[]];
  if (pat[0] === "**") return [...residuals(pat.slice(1), root), ...residuals(pat, root.slice(1))];
  return segmentPattern(pat[0]!).test(root[0]!) ? residuals(pat.slice(1), root.slice(1)) : [];
}

const segments = (p: string): string[] => p.split("/").filter((s) => s !== "");

/** The glob with its literal leading directories resolved through the host's symlinks (the jail
 * shows real paths), or null when that changes nothing or they do not exist. */
function realSpelling(glob: string): string | null {
  const segs = segments(glob);
  let literal = 0;
  while (literal < segs.length && !/[*?[\\]/.test(segs[literal]!)) literal++;
  for (let n = literal; n > 0; n--) {
    const head = "/" + segs.slice(0, n).join("/");
    try {
      const real = realpathSync(head);
      return real === head ? null : [real, ...segs.slice(n)].join("/").replace(/^\/\//, "/");
    } catch {
      /* not there: try a shorter head */
    }
  }
  return null;
}

/**
 * A deny entry as patterns over absolute jail paths. Relative globs (".env", "**\/.env",
 * "secrets/*.key") match at any depth. An absolute glob names host paths: it applies to every view
 * the jail has of them (each grant that holds them, under its destination, and a grant made
 * through a symlink under its real path), and, as written, to the jail path of the same spelling.
 */
export function denyGlobs(glob: string, grants: readonly Grant[]): string[] {
  let g = glob.trim().replace(/\/+$/, "");
  if (g === "") g = "**";
  if (!g.startsWith("/")) return ["/" + (g.startsWith("**/") || g === "**" ? g : `**/${g}`)];
  const out = new Set<string>([g]);
  const spellings = [g, realSpelling(g)].filter((s): s is string => s !== null);
  for (const spelling of spellings) {
    const pat = segments(spelling);
    for (const gr of grants) {
      for (const root of [gr.src, gr.alias]) {
        if (root === null) continue;
        for (const rest of residuals(pat, segments(root))) out.add([gr.dest, ...rest].join("/"));
      }
    }
  }
  return [...out];
}

/** Every deny entry as globs over jail paths, every view of each (what the supervisor matches, and
 * what the mount plan masks at start). */
export function jailDenyGlobs(deny: readonly string[], grants: readonly Grant[]): string[] {
  return [...new Set(deny.flatMap((g) => denyGlobs(g, grants)))];
}

/** /proc/PID entries the kernel guards with a ptrace access check: opened for another process of
 * the jail they are refused, as ptrace itself is (ESCAPES 17, 57). */
export const PROC_PRIVATE: readonly string[] = Object.freeze([
  "mem", "environ", "auxv", "maps", "smaps", "smaps_rollup", "numa_maps", "pagemap", "stack", "syscall", "fd", "fdinfo",
  "map_files", "ns", "personality", "io", "timers", "timerslack_ns", "root", "cwd", "exe", "wchan", "attr",
]);

export function compileTables(i: TablesInput): SupervisorTables {
  const paths = new Map<string, number>();
  for (const r of i.fsRules) paths.set(r.path, (paths.get(r.path) ?? 0) | rightsOf(r.access));
  const connect: NetRule[] = [];
  if (i.proxyPort !== 0) connect.push({ address: "127.0.0.1", prefix: 32, ports: [i.proxyPort, i.proxyPort], protocols: Protocol.tcp });
  if ((i.dnsPort ?? 0) !== 0) connect.push({ address: "127.0.0.1", prefix: 32, ports: [i.dnsPort!, i.dnsPort!], protocols: Protocol.udp });
  connect.push(...(i.loopbackConnect ?? []));
  const redirectPort = i.redirect !== undefined && i.redirect.length > 0 ? (i.redirectPort ?? 0) : 0;
  return {
    logAllow: i.logAllow,
    paths: [...paths].map(([path, rights]) => ({ path, rights })),
    deny: jailDenyGlobs(i.deny, i.grants),
    exec: [...new Set(i.exec)],
    loaders: [...new Set(i.loaders ?? [])],
    connect,
    // Binding stays inside the jail's network namespace: UDP on loopback only. No TCP bind, as in the
    // Landlock rules (which lack a TCP layer below ABI 4: then these are what refuses it).
    bind: [
      { address: "127.0.0.0", prefix: 8, ports: [0, 65535], protocols: Protocol.udp },
      { address: "::1", prefix: 128, ports: [0, 65535], protocols: Protocol.udp },
    ],
    meta: supervisorMeta().filter((m) => !i.metaAllowed?.has(normalizeIp(m.address)?.address ?? m.address)),
    procPrivate: PROC_PRIVATE,
    redirect: redirectPort !== 0 ? [...i.redirect!] : [],
    redirectPort,
    aliases: i.aliases ?? [],
  };
}
