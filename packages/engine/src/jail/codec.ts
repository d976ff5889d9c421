// The one binary codec between mcp-j and mcpj-jail: the plan (native/jail/plan.h, decoded by
// plan.c) and, inside it, the supervisor's tables (native/jail/sup_tables.h, decoded by
// sup_tables.c). Both are an 8-byte magic, then records { u16 type, u16 0, u32 length, value },
// little-endian, ending with a record of type 0. Strings are UTF-8 without NUL (the C side refuses
// embedded NULs, and so do we). test/codec.test.ts checks every number here against the C headers;
// test/native-decoders.test.ts feeds these bytes to the C decoders.
import { normalizeIp } from "../egress/ip.js";
import type { JailPlan, MountStep, NetRule, SupervisorTables } from "./plan.js";

export const PLAN_MAGIC = "MCPJPLN1";
export const TABLES_MAGIC = "MCPJSUP1";

/** plan.h enum plan_record. */
export const PlanRecord = {
  end: 0,
  arg: 1,
  env: 2,
  exec: 3,
  cwd: 4,
  hostname: 5,
  hostUid: 6,
  hostGid: 7,
  jailUid: 8,
  jailGid: 9,
  mount: 10,
  llMinAbi: 11,
  llHandledFs: 12,
  llHandledNet: 13,
  llScoped: 14,
  llFsRule: 15,
  llNetRule: 16,
  seccomp: 17,
  rlimit: 18,
  cgroup: 19,
  netListen: 20,
  supTables: 21,
  deputySeccomp: 22,
  downgrades: 23,
  sysctl: 24,
  netDns: 25,
  netRedirect: 26,
  memoryWatch: 27,
} as const;

/** sup_tables.h enum sup_record. */
export const TableRecord = { end: 0, flags: 1, path: 2, deny: 3, exec: 4, connect: 5, bind: 6, meta: 7, loader: 8, proc: 9, redirect: 10, redirectPort: 11, alias: 12 } as const;

/** sup_tables.h enum sup_flags. */
export const TableFlag = { logAllow: 1 } as const;

/** Linux resource numbers (asm-generic; the same on x86_64 and aarch64), given to setrlimit as they are. */
export const RlimitNumber = { FSIZE: 1, DATA: 2, CORE: 4, NPROC: 6, NOFILE: 7, AS: 9, MSGQUEUE: 12 } as const;

/** Thrown for data that cannot be encoded (a NUL in a string, an address that is not an IP).
 * Never user input at this point: the policy was validated long before. */
export class PlanEncodingError extends Error {
  readonly code = "E_PLAN_ENCODING";
}

function str(s: string, what: string): Buffer {
  if (s.includes("\0")) throw new PlanEncodingError(`${what} contains a NUL byte: ${JSON.stringify(s)}`);
  return Buffer.from(s, "utf8");
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)));
  return b;
}

/** rlimit values: Infinity means RLIM_INFINITY (all ones). */
function rlim(n: number): Buffer {
  return u64(Number.isFinite(n) ? BigInt(Math.floor(n)) : (1n << 64n) - 1n);
}

/** "u32 length + bytes" (inside a mount record). */
function lv(b: Buffer): Buffer {
  return Buffer.concat([u32(b.length), b]);
}

/** A record stream: the magic, records, and the END record. */
class Records {
  private readonly parts: Buffer[];
  constructor(magic: string) {
    this.parts = [Buffer.from(magic, "latin1")];
  }
  add(type: number, value: Buffer): void {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt32LE(value.length, 4);
    this.parts.push(h, value);
  }
  end(): Buffer {
    this.add(0, Buffer.alloc(0)); // END is type 0 in both formats
    return Buffer.concat(this.parts);
  }
}

function mount(m: MountStep): Buffer {
  return Buffer.concat([
    u32(m.op),
    u32(m.flags),
    u32(m.mode),
    lv(str(m.src, "mount source")),
    lv(str(m.dest, "mount destination")),
    lv(str(m.data, "mount data")),
  ]);
}

/** An IP literal as the C side holds it: its family (4|6) and 16 bytes (IPv4 in the first 4). */
export function addressBytes(address: string): { family: 4 | 6; bytes: Buffer } {
  const ip = normalizeIp(address);
  if (ip === null || ip.zone !== undefined) throw new PlanEncodingError(`not an IP address: ${address}`);
  const bytes = Buffer.alloc(16);
  bytes.set(ip.bytes);
  return { family: ip.family, bytes };
}

/** u8 family, u8 prefix length, u16 first port, u16 last port, u16 protocols (0: any), 16-byte address. */
function netRule(r: NetRule): Buffer {
  const { family, bytes } = addressBytes(r.address);
  const h = Buffer.alloc(8);
  h[0] = family;
  h[1] = r.prefix;
  h.writeUInt16LE(r.ports[0], 2);
  h.writeUInt16LE(r.ports[1], 4);
  h.writeUInt16LE(r.protocols ?? 0, 6);
  return Buffer.concat([h, bytes]);
}

export function encodeTables(t: SupervisorTables): Buffer {
  const r = new Records(TABLES_MAGIC);
  r.add(TableRecord.flags, u32(t.logAllow ? TableFlag.logAllow : 0));
  for (const p of t.paths) r.add(TableRecord.path, Buffer.concat([u32(p.rights), str(p.path, "supervisor path rule")]));
  for (const d of t.deny) r.add(TableRecord.deny, str(d, "deny glob"));
  for (const e of t.exec) r.add(TableRecord.exec, str(e, "exec allowlist entry"));
  for (const l of t.loaders) r.add(TableRecord.loader, str(l, "ELF interpreter"));
  for (const c of t.connect) r.add(TableRecord.connect, netRule(c));
  for (const b of t.bind) r.add(TableRecord.bind, netRule(b));
  for (const m of t.meta) {
    // u8 family, 3 zero bytes, 16-byte address, then the name.
    const { family, bytes } = addressBytes(m.address);
    const h = Buffer.alloc(4);
    h[0] = family;
    r.add(TableRecord.meta, Buffer.concat([h, bytes, str(m.name, "metadata name")]));
  }
  for (const p of t.procPrivate) r.add(TableRecord.proc, str(p, "/proc entry name"));
  for (const d of t.redirect) r.add(TableRecord.redirect, netRule(d));
  if (t.redirectPort !== 0) r.add(TableRecord.redirectPort, u16(t.redirectPort));
  // u32 length of the first path, the first path, then the second.
  for (const a of t.aliases) {
    const from = str(a.from, "alias");
    r.add(TableRecord.alias, Buffer.concat([u32(from.length), from, str(a.to, "alias target")]));
  }
  return r.end();
}

export function encodePlan(plan: JailPlan): Buffer {
  const r = new Records(PLAN_MAGIC);
  for (const a of plan.argv) r.add(PlanRecord.arg, str(a, "argument"));
  for (const e of plan.env) r.add(PlanRecord.env, str(e, "environment entry"));
  r.add(PlanRecord.exec, str(plan.execPath, "command path"));
  r.add(PlanRecord.cwd, str(plan.cwd, "working directory"));
  r.add(PlanRecord.hostname, str(plan.hostname, "hostname"));
  r.add(PlanRecord.hostUid, u32(plan.hostUid));
  r.add(PlanRecord.hostGid, u32(plan.hostGid));
  r.add(PlanRecord.jailUid, u32(plan.jailUid));
  r.add(PlanRecord.jailGid, u32(plan.jailGid));
  for (const m of plan.mounts) r.add(PlanRecord.mount, mount(m));
  r.add(PlanRecord.llMinAbi, u32(plan.landlock.minAbi));
  r.add(PlanRecord.llHandledFs, u64(plan.landlock.handledFs));
  r.add(PlanRecord.llHandledNet, u64(plan.landlock.handledNet));
  r.add(PlanRecord.llScoped, u64(plan.landlock.scoped));
  for (const f of plan.landlock.fsRules) r.add(PlanRecord.llFsRule, Buffer.concat([u64(f.access), str(f.path, "Landlock rule path")]));
  for (const n of plan.landlock.netRules) r.add(PlanRecord.llNetRule, Buffer.concat([u64(n.access), u64(n.port)]));
  if (plan.seccomp !== null) r.add(PlanRecord.seccomp, plan.seccomp);
  for (const l of plan.rlimits) r.add(PlanRecord.rlimit, Buffer.concat([u32(RlimitNumber[l.resource]), rlim(l.soft), rlim(l.hard)]));
  if (plan.cgroup !== null) r.add(PlanRecord.cgroup, str(plan.cgroup, "cgroup path"));
  if (plan.netListenPort !== 0) r.add(PlanRecord.netListen, u32(plan.netListenPort));
  if (plan.netDnsPort !== 0) r.add(PlanRecord.netDns, u32(plan.netDnsPort));
  if (plan.netRedirectPort !== 0) r.add(PlanRecord.netRedirect, u32(plan.netRedirectPort));
  if (plan.supervisorTables !== null) r.add(PlanRecord.supTables, encodeTables(plan.supervisorTables));
  if (plan.deputySeccomp !== null) r.add(PlanRecord.deputySeccomp, plan.deputySeccomp);
  r.add(PlanRecord.downgrades, u32(plan.downgrades));
  // u32 flags (1: optional), then the name and the value.
  for (const c of plan.sysctls) r.add(PlanRecord.sysctl, Buffer.concat([u32(c.optional ? 1 : 0), lv(str(c.name, "sysctl name")), lv(str(c.value, "sysctl value"))]));
  if (plan.memoryWatch !== null) r.add(PlanRecord.memoryWatch, Buffer.concat([u64(plan.memoryWatch.limitBytes), u32(plan.memoryWatch.intervalMs)]));
  return r.end();
}
