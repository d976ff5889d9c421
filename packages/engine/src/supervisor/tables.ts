// The supervisor's decision tables: the policy, compiled to plain data for the C hot loop
// (native/jail/sup_tables.h documents the same format). TypeScript decides, C applies.
//
// Wire format (little-endian): magic "MCPJSUP1", then records { u16 type, u16 0, u32 length, value },
// ending with T_END.
//   FLAGS   u32: bit 0 = audit allowed decisions too
//   PATH    u32 rights (1 read files, 2 write/create/truncate, 4 list directories), jail path
//   DENY    absolute glob over jail paths ("**" = any number of segments, fnmatch(3) per segment)
//   EXEC    real jail path that execve may name
//   LOADER  real jail path of an ELF interpreter: a process running it as its program is killed
//   CONNECT u8 family (4|6), u8 prefix length, u16 first port, u16 last port, u16 0, 16-byte address
//   BIND    same layout
//   META    u8 family, 3 zero bytes, 16-byte address, name
import { isIP } from "node:net";
import type { ResolvedGrant } from "../jail/grants.js";
import { FS } from "../jail/landlock-rights.js";
import type { LandlockFsRule } from "../jail/plan.js";

export const TABLES_MAGIC = "MCPJSUP1";

export const T = { end: 0, flags: 1, path: 2, deny: 3, exec: 4, connect: 5, bind: 6, meta: 7, loader: 8 } as const;
export const RIGHT = { read: 1, write: 2, dir: 4 } as const;
export const FLAG = { logAllow: 1 } as const;

export interface NetRule {
  /** An IP literal (v4 or v6). */
  address: string;
  prefix: number;
  ports: [number, number];
}

export interface MetaAddress {
  address: string;
  name: string;
}

/** Cloud metadata endpoints: refused and logged by name (ESCAPES.md 41). */
export const METADATA_ADDRESSES: readonly MetaAddress[] = Object.freeze([
  { address: "169.254.169.254", name: "cloud metadata (AWS, GCP, Azure, OpenStack)" },
  { address: "::ffff:169.254.169.254", name: "cloud metadata (IPv4-mapped)" },
  { address: "fd00:ec2::254", name: "cloud metadata (AWS IPv6)" },
  { address: "100.100.100.200", name: "cloud metadata (Alibaba)" },
  { address: "64:ff9b::a9fe:a9fe", name: "cloud metadata (NAT64)" },
]);

export interface SupervisorTables {
  logAllow: boolean;
  paths: { path: string; rights: number }[];
  deny: string[];
  exec: string[];
  /** ELF interpreters: executable for the kernel's sake, never as a program (the exec race). */
  loaders: string[];
  connect: NetRule[];
  bind: NetRule[];
  meta: MetaAddress[];
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
  grants: ResolvedGrant[];
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
  if (access & FS.READ_FILE) r |= RIGHT.read;
  if (access & FS.READ_DIR) r |= RIGHT.dir;
  if (access & (FS.WRITE_FILE | FS.MAKE_REG | FS.TRUNCATE)) r |= RIGHT.write;
  return r;
}

/** A deny glob as a pattern over absolute jail paths. Relative globs (".env", "**\/.env",
 * "secrets/*.key") match at any depth; absolute ones naming a host path inside a grant are moved
 * to where the grant appears in the jail. */
export function denyGlob(glob: string, grants: ResolvedGrant[]): string {
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

/** 16 bytes for an IP literal (IPv4 in the first 4). */
export function addressBytes(address: string): { family: 4 | 6; bytes: Buffer } {
  const v = isIP(address);
  const out = Buffer.alloc(16);
  if (v === 4) {
    address.split(".").forEach((o, k) => (out[k] = Number(o)));
    return { family: 4, bytes: out };
  }
  if (v !== 6) throw new Error(`not an IP address: ${address}`);
  let s = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = addressBytes(v4[1]!).bytes;
    s = s.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  groups.forEach((g, k) => out.writeUInt16BE(parseInt(g, 16), k * 2));
  return { family: 6, bytes: out };
}

function str(s: string): Buffer {
  if (s.includes("\0")) throw new Error(`supervisor tables: NUL in ${JSON.stringify(s)}`);
  return Buffer.from(s, "utf8");
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function net(r: NetRule): Buffer {
  const { family, bytes } = addressBytes(r.address);
  const h = Buffer.alloc(8);
  h[0] = family;
  h[1] = r.prefix;
  h.writeUInt16LE(r.ports[0], 2);
  h.writeUInt16LE(r.ports[1], 4);
  return Buffer.concat([h, bytes]);
}

export function encodeTables(t: SupervisorTables): Buffer {
  const parts: Buffer[] = [Buffer.from(TABLES_MAGIC, "latin1")];
  const rec = (type: number, value: Buffer): void => {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt32LE(value.length, 4);
    parts.push(h, value);
  };
  rec(T.flags, u32(t.logAllow ? FLAG.logAllow : 0));
  for (const p of t.paths) rec(T.path, Buffer.concat([u32(p.rights), str(p.path)]));
  for (const d of t.deny) rec(T.deny, str(d));
  for (const e of t.exec) rec(T.exec, str(e));
  for (const l of t.loaders) rec(T.loader, str(l));
  for (const c of t.connect) rec(T.connect, net(c));
  for (const b of t.bind) rec(T.bind, net(b));
  for (const m of t.meta) {
    const { family, bytes } = addressBytes(m.address);
    const h = Buffer.alloc(4);
    h[0] = family;
    rec(T.meta, Buffer.concat([h, bytes, str(m.name)]));
  }
  rec(T.end, Buffer.alloc(0));
  return Buffer.concat(parts);
}
