// Binary encoding of a JailPlan for mcpj-jail. Format (little-endian), mirrored by
// native/jail/plan.h: magic "MCPJPLN1", then records { u16 type, u16 0, u32 length, value },
// ending with type 0. Strings are UTF-8 without NUL; the helper refuses embedded NULs, and so do we.
import type { JailPlan, MountStep } from "./plan.js";

const MAGIC = Buffer.from("MCPJPLN1", "latin1");

const Rec = {
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
} as const;

// Linux resource numbers (asm-generic; the same on x86_64 and aarch64).
const RLIMIT_NUMBER = { CORE: 4, FSIZE: 1, DATA: 2, NPROC: 6, NOFILE: 7, AS: 9, MSGQUEUE: 12 } as const;

/** Thrown for a plan that cannot be encoded (a NUL in a string). Never user input at this point. */
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

function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)));
  return b;
}

/** rlimit values: Infinity means RLIM_INFINITY (all ones). */
function rlim(n: number): Buffer {
  return u64(Number.isFinite(n) ? BigInt(Math.floor(n)) : (1n << 64n) - 1n);
}

function lv(b: Buffer): Buffer {
  return Buffer.concat([u32(b.length), b]);
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

export function encodePlan(plan: JailPlan): Buffer {
  const parts: Buffer[] = [MAGIC];
  const rec = (type: number, value: Buffer): void => {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt32LE(value.length, 4);
    parts.push(h, value);
  };
  for (const a of plan.argv) rec(Rec.arg, str(a, "argument"));
  for (const e of plan.env) rec(Rec.env, str(e, "environment entry"));
  rec(Rec.exec, str(plan.execPath, "command path"));
  rec(Rec.cwd, str(plan.cwd, "working directory"));
  rec(Rec.hostname, str(plan.hostname, "hostname"));
  rec(Rec.hostUid, u32(plan.hostUid));
  rec(Rec.hostGid, u32(plan.hostGid));
  rec(Rec.jailUid, u32(plan.jailUid));
  rec(Rec.jailGid, u32(plan.jailGid));
  for (const m of plan.mounts) rec(Rec.mount, mount(m));
  rec(Rec.llMinAbi, u32(plan.landlock.minAbi));
  rec(Rec.llHandledFs, u64(plan.landlock.handledFs));
  rec(Rec.llHandledNet, u64(plan.landlock.handledNet));
  rec(Rec.llScoped, u64(plan.landlock.scoped));
  for (const r of plan.landlock.fsRules) rec(Rec.llFsRule, Buffer.concat([u64(r.access), str(r.path, "Landlock rule path")]));
  for (const r of plan.landlock.netRules) rec(Rec.llNetRule, Buffer.concat([u64(r.access), u64(r.port)]));
  if (plan.seccomp !== null) rec(Rec.seccomp, plan.seccomp);
  for (const r of plan.rlimits) rec(Rec.rlimit, Buffer.concat([u32(RLIMIT_NUMBER[r.resource]), rlim(r.soft), rlim(r.hard)]));
  if (plan.cgroup !== null) rec(Rec.cgroup, str(plan.cgroup, "cgroup path"));
  if (plan.netListenPort !== 0) rec(Rec.netListen, u32(plan.netListenPort));
  if (plan.supervisorTables !== null) rec(Rec.supTables, plan.supervisorTables);
  if (plan.deputySeccomp !== null) rec(Rec.deputySeccomp, plan.deputySeccomp);
  rec(Rec.downgrades, u32(plan.downgrades));
  for (const c of plan.sysctls) rec(Rec.sysctl, Buffer.concat([u32(c.optional ? 1 : 0), lv(str(c.name, "sysctl name")), lv(str(c.value, "sysctl value"))]));
  rec(Rec.end, Buffer.alloc(0));
  return Buffer.concat(parts);
}
