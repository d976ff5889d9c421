// The wire format is written twice, in jail/codec.ts (and plan.ts's vocabulary) and in the C
// headers: this test reads the headers and fails when a record number, mount op, flag or right
// (or a set-up exit code) drifts between the two, in either direction. Payload layouts are checked by feeding the
// encoders' bytes to the C decoders (native-decoders.test.ts).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { addressBytes, encodePlan, encodeTables, PLAN_MAGIC, PlanRecord, TABLES_MAGIC, TableFlag, TableRecord } from "../src/jail/codec.js";
import { Downgrade, MountFlag, MountOp, PathRight, Protocol } from "../src/jail/plan.js";
import { EXIT } from "../src/exit-codes.js";

const native = (f: string) => fileURLToPath(new URL(`../../native/jail/${f}`, import.meta.url));

/** Comments removed, so that a commented-out enumerator does not count. */
function header(file: string): string {
  return readFileSync(native(file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/[^\n]*/g, " ");
}

/** The enumerators of `enum NAME { ... }` with their values (implicit ones counted on). */
function cEnum(text: string, name: string): Map<string, number> {
  const m = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(text);
  assert.ok(m, `enum ${name} not found`);
  const out = new Map<string, number>();
  let next = 0;
  for (const item of m[1]!.split(",").map((s) => s.trim()).filter(Boolean)) {
    const e = /^([A-Z_][A-Z0-9_]*)\s*(?:=\s*(.+))?$/.exec(item);
    assert.ok(e, `cannot read enumerator ${JSON.stringify(item)} of enum ${name}`);
    const value = e[2] === undefined ? next : Number(e[2].trim());
    assert.ok(Number.isInteger(value), `enum ${name}: ${item} is not a plain number`);
    out.set(e[1]!, value);
    next = value + 1;
  }
  return out;
}

function cNumber(text: string, name: string): number {
  const m = new RegExp(`#define\\s+${name}\\s+(\\d+)`).exec(text);
  assert.ok(m, `#define ${name} not found`);
  return Number(m[1]);
}

function cString(text: string, name: string): string {
  const m = new RegExp(`#define\\s+${name}\\s+"([^"]*)"`).exec(text);
  assert.ok(m, `#define ${name} not found`);
  return m[1]!;
}

/** "llMinAbi" → "LL_MIN_ABI", "RemountRo" → "REMOUNT_RO". */
function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/** Both sides name the same members with the same values. */
function same(c: Map<string, number>, prefix: string, ts: Record<string, number>, what: string): void {
  const fromTs = new Map(Object.entries(ts).map(([k, v]) => [prefix + snake(k), v]));
  for (const [name, v] of c) assert.equal(fromTs.get(name), v, `${what}: C has ${name} = ${v}, TypeScript ${fromTs.has(name) ? `has ${fromTs.get(name)}` : "has no such member"}`);
  for (const [name, v] of fromTs) assert.equal(c.get(name), v, `${what}: TypeScript has ${name} = ${v}, C ${c.has(name) ? `has ${c.get(name)}` : "has no such member"}`);
}

describe("wire format: TypeScript and the C headers agree", () => {
  const plan = header("plan.h");
  const tables = header("sup_tables.h");

  it("plan.h: magic, records, mount ops, mount flags", () => {
    assert.equal(cString(plan, "PLAN_MAGIC"), PLAN_MAGIC);
    same(cEnum(plan, "plan_record"), "P_", PlanRecord, "plan records");
    same(cEnum(plan, "mount_op"), "M_", MountOp, "mount ops");
    same(cEnum(plan, "mount_flag"), "MF_", MountFlag, "mount flags");
    same(cEnum(plan, "plan_downgrade"), "PD_", Downgrade, "downgrades");
  });

  it("sup_tables.h: magic, records, flags, rights", () => {
    assert.equal(cString(tables, "SUP_TABLES_MAGIC"), TABLES_MAGIC);
    same(cEnum(tables, "sup_record"), "T_", TableRecord, "table records");
    same(cEnum(tables, "sup_flags"), "SUP_F_", TableFlag, "table flags");
    same(cEnum(tables, "sup_rights"), "SUP_R_", PathRight, "path rights");
    same(cEnum(tables, "sup_protocols"), "SUP_P_", Protocol, "protocols");
  });

  it("report.h: the helper's set-up exit codes are mcp-j's (the one table, exit-codes.ts)", () => {
    const report = header("report.h");
    assert.deepEqual(
      { setup: cNumber(report, "EXIT_SETUP"), notExecutable: cNumber(report, "EXIT_NOEXEC"), notFound: cNumber(report, "EXIT_NOTFOUND") },
      { setup: EXIT.setup, notExecutable: EXIT.notExecutable, notFound: EXIT.notFound },
    );
  });

  it("a drifted number is caught (the check itself can fail)", () => {
    const drifted = plan.replace(/P_SUP_TABLES\s*=\s*21/, "P_SUP_TABLES = 22");
    assert.throws(() => same(cEnum(drifted, "plan_record"), "P_", PlanRecord, "plan records"), /P_SUP_TABLES = 22/);
    const extra = tables.replace(/T_REDIRECT_PORT\s*=\s*11,/, "T_REDIRECT_PORT = 11, T_NEW = 12,");
    assert.throws(() => same(cEnum(extra, "sup_record"), "T_", TableRecord, "table records"), /T_NEW = 12, TypeScript has no such member/);
  });
});

describe("codec", () => {
  it("IP addresses in 16 bytes, IPv4-mapped and compressed IPv6 included", () => {
    assert.deepEqual([...addressBytes("169.254.169.254").bytes], [169, 254, 169, 254, ...Array<number>(12).fill(0)]);
    assert.equal(addressBytes("169.254.169.254").family, 4);
    assert.equal(addressBytes("::ffff:169.254.169.254").bytes.toString("hex"), "00000000000000000000ffffa9fea9fe");
    assert.equal(addressBytes("64:ff9b::a9fe:a9fe").bytes.toString("hex"), "0064ff9b0000000000000000a9fea9fe");
    assert.equal(addressBytes("fd00:ec2::254").bytes.toString("hex"), "fd000ec2000000000000000000000254");
    assert.equal(addressBytes("::1").family, 6);
    assert.throws(() => addressBytes("example.com"), /not an IP address/);
  });

  it("refuses a NUL in any string instead of letting C cut it short", () => {
    const t = { logAllow: false, paths: [], deny: ["/a\0b"], exec: [], loaders: [], connect: [], bind: [], meta: [], procPrivate: [], redirect: [], redirectPort: 0, aliases: [{ from: "/proc/cpuinfo", to: "/.mcpj/proc/cpuinfo" }] };
    assert.throws(() => encodeTables(t), (e: Error & { code?: string }) => e.code === "E_PLAN_ENCODING" && /deny glob contains a NUL/.test(e.message));
    const plan = {
      argv: ["x\0"], env: [], execPath: "/x", cwd: "/", hostname: "h", hostUid: 1, hostGid: 1, jailUid: 1, jailGid: 1, mounts: [],
      landlock: { minAbi: 1, handledFs: 0n, handledNet: 0n, scoped: 0n, fsRules: [], netRules: [] },
      seccomp: null, rlimits: [], cgroup: null, netListenPort: 0, netDnsPort: 0, netRedirectPort: 0, supervisorTables: null, deputySeccomp: null, downgrades: 0, sysctls: [], memoryWatch: null,
    };
    assert.throws(() => encodePlan(plan), /argument contains a NUL/);
  });
});
