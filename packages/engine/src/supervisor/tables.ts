// The supervisor's decision tables: the policy, compiled to plain data for the C hot loop
// (native/jail/sup_tables.h says how C reads them; jail/codec.ts encodes them). TypeScript decides,
// C applies.
import type { Grant } from "../jail/grants.js";
import { FS } from "../jail/landlock-rights.js";
import { PathRight, type LandlockFsRule, type MetaAddress, type NetRule, type SupervisorTables } from "../jail/plan.js";

export type { MetaAddress, NetRule, SupervisorTables } from "../jail/plan.js";

/** Cloud metadata endpoints: refused and logged by name (ESCAPES.md 41). */
export const METADATA_ADDRESSES: readonly MetaAddress[] = Object.freeze([
  { address: "169.254.169.254", name: "cloud metadata (AWS, GCP, Azure, OpenStack)" },
  { address: "::ffff:169.254.169.254", name: "cloud metadata (IPv4-mapped)" },
  { address: "fd00:ec2::254", name: "cloud metadata (AWS IPv6)" },
  { address: "100.100.100.200", name: "cloud metadata (Alibaba)" },
  { address: "64:ff9b::a9fe:a9fe", name: "cloud metadata (NAT64)" },
]);

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
  /** Extra loopback services inside the jail the server may connect to ("127.0.0.1:5432"). */
  loopbackConnect?: NetRule[];
  /** Audit allowed decisions (policy.audit.verbosity !== "denials"). */
  logAllow: boolean;
}

/** Landlock rights → the supervisor's coarse rights (the same rules, so both layers agree). */
export function rightsOf(access: bigint): number {
  let r = 0;
  if (access & FS.READ_FILE) r |= PathRight.read;
  if (access & FS.READ_DIR) r |= PathRight.dir;
  if (access & (FS.WRITE_FILE | FS.MAKE_REG | FS.TRUNCATE)) r |= PathRight.write;
  return r;
}

/** A deny glob as a pattern over absolute jail paths. Relative globs (".env", "**\/.env",
 * "secrets/*.key") match at any depth; absolute ones naming a host path inside a grant are moved
 * to where the grant appears in the jail. */
export function denyGlob(glob: string, grants: Grant[]): string {
  let g = glob.trim().replace(/\/+$/, "");
  if (g === "") g = "**";
  if (!g.startsWith("/")) return "/" + (g.startsWith("**/") || g === "**" ? g : `**/${g}`);
  for (const gr of [...grants].sort((a, b) => b.src.length - a.src.length)) {
    if (g === gr.src || g.startsWith(gr.src + "/")) return gr.dest + g.slice(gr.src.length);
  }
  return g;
}

export function compileTables(i: TablesInput): SupervisorTables {
  const paths = new Map<string, number>();
  for (const r of i.fsRules) paths.set(r.path, (paths.get(r.path) ?? 0) | rightsOf(r.access));
  const connect: NetRule[] = [];
  if (i.proxyPort !== 0) connect.push({ address: "127.0.0.1", prefix: 32, ports: [i.proxyPort, i.proxyPort] });
  connect.push(...(i.loopbackConnect ?? []));
  return {
    logAllow: i.logAllow,
    paths: [...paths].map(([path, rights]) => ({ path, rights })),
    deny: [...new Set(i.deny.map((g) => denyGlob(g, i.grants)))],
    exec: [...new Set(i.exec)],
    loaders: [...new Set(i.loaders ?? [])],
    connect,
    // Binding stays inside the jail's network namespace; loopback only (Landlock decides TCP ports).
    bind: [
      { address: "127.0.0.0", prefix: 8, ports: [0, 65535] },
      { address: "::1", prefix: 128, ports: [0, 65535] },
    ],
    meta: [...METADATA_ADDRESSES],
  };
}
