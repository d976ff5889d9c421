// Unit tests of the seccomp filter compiler. The compiled bytes run through a classic-BPF interpreter
// written here (independent of src/seccomp/bpf.ts: it decodes the raw bytes itself and applies the
// kernel's load-time checks), over struct seccomp_data for every syscall of both architectures, and the
// result is compared with (a) the policy table, evaluated directly, and (b) hard-coded expectations
// taken from ESCAPES.md and issue 7, so that a wrong table is caught as well as a wrong compiler.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ARCHES,
  AUDIT_ARCH,
  Assembler,
  CLONE_NS_FLAGS,
  CLONE_NS_MASK,
  RULE_GROUPS,
  absentSyscalls,
  compileFilter,
  compileFilterProgram,
  describeRules,
  decodeProgram,
  disassemble,
  encodeProgram,
  filterListing,
  filterRules,
  hostArch,
  syscallName,
  syscallNumber,
  syscallTable,
  type Arch,
  type ArgCondition,
  type FilterRule,
} from "../src/seccomp/index.js";

// ---------------------------------------------------------------------------------------------------
// Kernel constants, restated here on purpose (not imported) so a typo in src/ cannot hide itself.
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const RET_USER_NOTIF = 0x7fc00000;
const RET_ALLOW = 0x7fff0000;
const EPERM = RET_ERRNO | 1;
const ENOSYS = RET_ERRNO | 38;
const EAFNOSUPPORT = RET_ERRNO | 97;
const AUDIT_X86_64 = 0xc000003e;
const AUDIT_AARCH64 = 0xc00000b7;
const AUDIT_I386 = 0x40000003;
const AUDIT_ARM = 0x40000028;
const AUDIT_X32 = 0xc000003e; // x32 reports AUDIT_ARCH_X86_64 too: only the nr bit tells it apart
const X32_BIT = 0x40000000;
const audit = (arch: Arch): number => (arch === "x86_64" ? AUDIT_X86_64 : AUDIT_AARCH64);

function actionName(v: number): string {
  const names: Record<number, string> = {
    [RET_KILL_PROCESS]: "KILL_PROCESS",
    [RET_ALLOW]: "ALLOW",
    [RET_USER_NOTIF]: "USER_NOTIF",
    [EPERM]: "EPERM",
    [ENOSYS]: "ENOSYS",
    [EAFNOSUPPORT]: "EAFNOSUPPORT",
  };
  return names[v >>> 0] ?? `0x${(v >>> 0).toString(16)}`;
}

// ---------------------------------------------------------------------------------------------------
// A classic-BPF interpreter for seccomp programs.
interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

interface SeccompData {
  nr: number; // int
  arch: number; // u32
  ip?: bigint;
  args?: readonly bigint[]; // u64 x 6
}

const DATA_SIZE = 64;

function decode(bytes: Buffer): Insn[] {
  assert.equal(bytes.length % 8, 0, "program length is a multiple of sizeof(struct sock_filter)");
  const out: Insn[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    out.push({ code: bytes.readUInt16LE(o), jt: bytes[o + 2]!, jf: bytes[o + 3]!, k: bytes.readUInt32LE(o + 4) });
  }
  return out;
}

function packData(d: SeccompData): Buffer {
  const b = Buffer.alloc(DATA_SIZE);
  b.writeUInt32LE(d.nr >>> 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, d.ip ?? 0x401000n), 8);
  for (let i = 0; i < 6; i++) b.writeBigUInt64LE(BigInt.asUintN(64, d.args?.[i] ?? 0n), 16 + 8 * i);
  return b;
}

const ALU_OPS = new Set([0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0xa0]);
const JMP_OPS = new Set([0x00, 0x10, 0x20, 0x30, 0x40]);

/** The kernel's load-time checks (bpf_check_classic + seccomp_check_filter), as assertions. */
function validate(prog: readonly Insn[]): void {
  assert.ok(prog.length >= 1 && prog.length <= 4096, `program length ${prog.length} within 1..4096`);
  prog.forEach((ins, pc) => {
    const cls = ins.code & 0x07;
    const where = `insn ${pc} (code 0x${ins.code.toString(16)})`;
    switch (cls) {
      case 0x00: // LD
      case 0x01: {
        // LDX
        const size = ins.code & 0x18;
        const mode = ins.code & 0xe0;
        assert.equal(size, 0x00, `${where}: only 32-bit loads`);
        if (mode === 0x20) {
          assert.equal(cls, 0x00, `${where}: LDX ABS is not allowed`);
          assert.ok(ins.k % 4 === 0 && ins.k + 4 <= DATA_SIZE, `${where}: ABS load at ${ins.k} inside seccomp_data and aligned`);
        } else if (mode === 0x60) {
          assert.ok(ins.k < 16, `${where}: M[${ins.k}]`);
        } else {
          assert.ok(mode === 0x00 || mode === 0x80, `${where}: load mode 0x${mode.toString(16)} not allowed in seccomp`);
        }
        break;
      }
      case 0x02:
      case 0x03:
        assert.ok(ins.k < 16, `${where}: M[${ins.k}]`);
        break;
      case 0x04: {
        const op = ins.code & 0xf0;
        assert.ok(ALU_OPS.has(op), `${where}: ALU op`);
        if ((ins.code & 0x08) === 0 && op === 0x30) assert.notEqual(ins.k, 0, `${where}: division by constant 0`);
        if ((ins.code & 0x08) === 0 && (op === 0x60 || op === 0x70)) assert.ok(ins.k < 32, `${where}: shift by ${ins.k}`);
        break;
      }
      case 0x05: {
        const op = ins.code & 0xf0;
        assert.ok(JMP_OPS.has(op), `${where}: jump op`);
        if (op === 0x00) {
          assert.ok(pc + 1 + ins.k < prog.length, `${where}: ja target ${pc + 1 + ins.k} out of range`);
        } else {
          assert.ok(pc + 1 + ins.jt < prog.length, `${where}: jt target ${pc + 1 + ins.jt} out of range`);
          assert.ok(pc + 1 + ins.jf < prog.length, `${where}: jf target ${pc + 1 + ins.jf} out of range`);
        }
        break;
      }
      case 0x06:
        assert.ok((ins.code & 0x18) === 0x00 || (ins.code & 0x18) === 0x10, `${where}: ret K or A`);
        break;
      case 0x07:
        assert.ok(ins.code === 0x07 || ins.code === 0x87, `${where}: only TAX/TXA`);
        break;
    }
  });
  assert.equal(prog[prog.length - 1]!.code & 0x07, 0x06, "the last instruction is a return");
}

/** Run a (validated) program over one seccomp_data; returns the 32-bit action. */
function run(prog: readonly Insn[], d: SeccompData): number {
  const data = packData(d);
  let A = 0;
  let X = 0;
  const M = new Array<number | undefined>(16).fill(undefined);
  let pc = 0;
  for (let steps = 0; steps <= prog.length; steps++) {
    const ins = prog[pc];
    assert.ok(ins, `pc ${pc} ran off the program`);
    const cls = ins.code & 0x07;
    const src = ins.code & 0x08 ? X : ins.k;
    switch (cls) {
      case 0x00:
      case 0x01: {
        const mode = ins.code & 0xe0;
        let v: number;
        if (mode === 0x20) v = data.readUInt32LE(ins.k);
        else if (mode === 0x00) v = ins.k;
        else if (mode === 0x80) v = DATA_SIZE;
        else if (mode === 0x60) {
          const m = M[ins.k];
          assert.ok(m !== undefined, `pc ${pc}: M[${ins.k}] read before written`);
          v = m;
        } else throw new Error(`pc ${pc}: load mode 0x${mode.toString(16)}`);
        if (cls === 0x00) A = v >>> 0;
        else X = v >>> 0;
        pc++;
        break;
      }
      case 0x02:
        M[ins.k] = A;
        pc++;
        break;
      case 0x03:
        M[ins.k] = X;
        pc++;
        break;
      case 0x04: {
        const s = src >>> 0;
        switch (ins.code & 0xf0) {
          case 0x00: A = (A + s) >>> 0; break;
          case 0x10: A = (A - s) >>> 0; break;
          case 0x20: A = Number((BigInt(A) * BigInt(s)) & 0xffffffffn); break;
          case 0x30: A = s === 0 ? 0 : Math.floor(A / s) >>> 0; break;
          case 0x40: A = (A | s) >>> 0; break;
          case 0x50: A = (A & s) >>> 0; break;
          case 0x60: A = s >= 32 ? 0 : (A << s) >>> 0; break;
          case 0x70: A = s >= 32 ? 0 : A >>> s; break;
          case 0x80: A = -A >>> 0; break;
          case 0xa0: A = (A ^ s) >>> 0; break;
          default: throw new Error(`pc ${pc}: alu op`);
        }
        pc++;
        break;
      }
      case 0x05: {
        const op = ins.code & 0xf0;
        const s = src >>> 0;
        if (op === 0x00) {
          pc += 1 + ins.k;
          break;
        }
        const cond = op === 0x10 ? A === s : op === 0x20 ? A > s : op === 0x30 ? A >= s : (A & s) !== 0;
        pc += 1 + (cond ? ins.jt : ins.jf);
        break;
      }
      case 0x06:
        return ((ins.code & 0x18) === 0x10 ? A : ins.k) >>> 0;
      case 0x07:
        if (ins.code === 0x07) X = A;
        else A = X;
        pc++;
        break;
    }
  }
  throw new Error("program did not terminate (a backward jump?)");
}

// ---------------------------------------------------------------------------------------------------
// The table's meaning, evaluated directly (no BPF), to compare the compiled program against.
function low32(v: bigint): number {
  return Number(BigInt.asUintN(32, v));
}

function holds(c: ArgCondition, args: readonly bigint[]): boolean {
  if (c.test === "anyOf") return c.of.some((x) => holds(x, args));
  if (c.test === "nonZero64") return BigInt.asUintN(64, args[c.arg] ?? 0n) !== 0n;
  const v = low32(args[c.arg] ?? 0n);
  switch (c.test) {
    case "anyBitSet":
      return ((v & c.mask) >>> 0) !== 0;
    case "notAllBitsSet":
      return ((v & c.mask) >>> 0) !== c.mask >>> 0;
    case "maskedEq":
      return ((v & c.mask) >>> 0) === c.value >>> 0;
    case "in":
      return c.values.some((x) => x >>> 0 === v);
    case "notIn":
      return !c.values.some((x) => x >>> 0 === v);
  }
}

function expected(arch: Arch, rules: readonly FilterRule[], d: SeccompData): number {
  if (d.arch >>> 0 !== audit(arch)) return RET_KILL_PROCESS;
  if (arch === "x86_64" && ((d.nr >>> 0) & X32_BIT) !== 0) return RET_KILL_PROCESS;
  const r = rules.find((x) => x.nr === d.nr >>> 0);
  if (!r) return RET_ALLOW;
  if (r.when && !holds(r.when, d.args ?? [])) return RET_ALLOW;
  return r.action.type === "notify" ? RET_USER_NOTIF : RET_ERRNO | { EPERM: 1, ENOSYS: 38, EAFNOSUPPORT: 97 }[r.action.errno];
}

// ---------------------------------------------------------------------------------------------------
const PROGRAMS = new Map<string, Insn[]>();
function program(arch: Arch, notify: boolean): Insn[] {
  const key = `${arch}/${notify}`;
  let p = PROGRAMS.get(key);
  if (!p) {
    p = decode(compileFilter({ arch, notify }));
    validate(p);
    PROGRAMS.set(key, p);
  }
  return p;
}

function verdict(arch: Arch, notify: boolean, name: string, args: readonly bigint[] = []): number {
  const nr = syscallNumber(arch, name);
  assert.ok(nr !== undefined, `${name} exists on ${arch}`);
  return run(program(arch, notify), { nr, arch: audit(arch), args });
}

function assertVerdict(arch: Arch, notify: boolean, name: string, args: readonly bigint[], want: number): void {
  const got = verdict(arch, notify, name, args);
  assert.equal(
    actionName(got),
    actionName(want),
    `${arch} notify=${notify} ${name}(${args.map((a) => `0x${BigInt.asUintN(64, a).toString(16)}`).join(", ")})`,
  );
}

const BOTH: readonly Arch[] = ["x86_64", "aarch64"];
const MODES = [true, false] as const;
const U64_MAX = 0xffffffffffffffffn;

// Argument vectors run for every syscall: zeros, all ones, and the values the conditional rules look at,
// each in the low word alone, with garbage in the high word, and next to it.
function argVectors(rules: readonly FilterRule[]): bigint[][] {
  const interesting = new Set<number>([0, 1, 2, 8, 10, 16, 17, 0x11, 0x5401, 0x5412, 0x541c, 0x0400000, 0x0040000, 0xffffffff]);
  const add = (c: ArgCondition): void => {
    if (c.test === "anyOf") return c.of.forEach(add);
    if (c.test === "nonZero64") return; // zero, all ones and the high-word-only vectors below cover it
    if ("mask" in c) {
      interesting.add(c.mask >>> 0);
      interesting.add(~c.mask >>> 0);
      for (let b = 0; b < 32; b++) if ((c.mask >>> b) & 1) interesting.add((1 << b) >>> 0);
      if (c.test === "maskedEq") interesting.add(c.value >>> 0);
    } else {
      for (const v of c.values) {
        interesting.add(v >>> 0);
        interesting.add((v + 1) >>> 0);
        interesting.add((v - 1) >>> 0);
      }
    }
  };
  for (const r of rules) if (r.when) add(r.when);
  const vectors: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n], [U64_MAX, U64_MAX, U64_MAX, U64_MAX, U64_MAX, U64_MAX]];
  for (const v of interesting) {
    for (const hi of [0n, 0xffffffffn, 0x1n, 0xdeadbeefn]) {
      const x = (hi << 32n) | BigInt(v);
      vectors.push([x, x, x, x, x, x]);
      vectors.push([x, 0n, 0n, 0n, 0n, 0n]);
      vectors.push([0n, x, 0n, 0n, 0n, 0n]);
      vectors.push([0n, 0n, x, 0n, 0n, 0n]);
    }
  }
  return vectors;
}

// ---------------------------------------------------------------------------------------------------
describe("seccomp: program structure", () => {
  for (const arch of BOTH) {
    for (const notify of MODES) {
      test(`${arch} notify=${notify}: passes the kernel's checks, < 4096 instructions, no jump out of range`, () => {
        const bytes = compileFilter({ arch, notify });
        assert.ok(Buffer.isBuffer(bytes));
        const prog = decode(bytes);
        validate(prog); // includes every jt/jf/ja target < length and a final ret
        assert.ok(prog.length < 4096, `length ${prog.length}`);
        assert.ok(prog.length < 200, `the filter stays small (${prog.length} instructions)`);
        // the byte form is struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian
        assert.deepEqual([...bytes.subarray(0, 8)], [0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00], "ld [4] (arch) first");
        assert.equal(prog[1]!.code, 0x15, "then jeq #AUDIT_ARCH");
        assert.equal(prog[1]!.k, audit(arch));
        assert.deepEqual(decodeProgram(bytes), prog);
        assert.deepEqual(encodeProgram(compileFilterProgram({ arch, notify })), bytes);
        // Deterministic.
        assert.deepEqual(compileFilter({ arch, notify }), bytes);
        // The only loads are arch, nr and low words of arguments.
        for (const ins of prog) {
          // nr, arch, and the argument words (low words; the high word of a pointer argument).
          if (ins.code === 0x20) assert.ok(ins.k === 0 || ins.k === 4 || (ins.k >= 16 && ins.k < 64 && ins.k % 4 === 0), `load of ${ins.k}`);
        }
        assert.equal(disassemble(compileFilterProgram({ arch, notify })).length, prog.length);
        assert.ok(filterListing({ arch, notify }).length > prog.length);
      });
    }
  }

  test("hostArch maps process.arch", () => {
    const want = process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : undefined;
    if (want) assert.equal(hostArch(), want);
    else assert.throws(() => hostArch());
  });

  test("the exported constants match the kernel's", () => {
    assert.equal(AUDIT_ARCH.X86_64, AUDIT_X86_64);
    assert.equal(AUDIT_ARCH.AARCH64, AUDIT_AARCH64);
    assert.equal(AUDIT_ARCH.I386, AUDIT_I386);
    assert.equal(AUDIT_ARCH.ARM, AUDIT_ARM);
  });
});

describe("seccomp: every syscall of both tables against the policy table", () => {
  for (const arch of BOTH) {
    for (const notify of MODES) {
      test(`${arch} notify=${notify}`, () => {
        const prog = program(arch, notify);
        const rules = filterRules({ arch, notify });
        const vectors = argVectors(rules);
        const table = syscallTable(arch);
        const maxNr = Math.max(...Object.values(table));
        const nrs = new Set<number>([...Object.values(table)]);
        for (let nr = 0; nr <= maxNr + 64; nr++) nrs.add(nr); // gaps and numbers past the table
        for (const nr of [0x3fffffff, 0x7fffffff, 0x80000000, 0xbfffffff, 0xffffffff, 1024, 4096, 65535]) nrs.add(nr);
        let checked = 0;
        for (const nr of nrs) {
          for (const args of vectors) {
            const d = { nr: nr | 0, arch: audit(arch), args };
            const got = run(prog, d);
            const want = expected(arch, rules, d);
            if (got !== want) {
              assert.fail(`${arch} notify=${notify} nr=${nr} (${syscallName(arch, nr) ?? "?"}) args=${args.map((a) => a.toString(16)).join(",")}: got ${actionName(got)}, table says ${actionName(want)}`);
            }
            checked++;
          }
        }
        assert.ok(checked > 100_000, `checked ${checked} cases`);
      });
    }
  }

  test("random seccomp_data (fast-check): compiled program == table", () => {
    const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
    const interestingLow = fc.constantFrom(0, 1, 2, 8, 9, 10, 0x11, 0x5412, 0x541c, 0x0400000, 0x0040000, 0x10000000, 0x7e020080, 0xffffffff);
    const argGen = fc.oneof(
      u64,
      fc.tuple(fc.bigInt({ min: 0n, max: 0xffffffffn }), interestingLow).map(([hi, lo]) => (hi << 32n) | BigInt(lo >>> 0)),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...BOTH),
        fc.boolean(),
        fc.oneof(fc.integer({ min: 0, max: 500 }), fc.integer({ min: -0x80000000, max: 0x7fffffff })),
        fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
        fc.array(argGen, { minLength: 6, maxLength: 6 }),
        (arch, notify, nr, archOverride, args) => {
          const d = { nr, arch: archOverride ?? audit(arch), args };
          const got = run(program(arch, notify), d);
          const want = expected(arch, filterRules({ arch, notify }), d);
          assert.equal(actionName(got), actionName(want), JSON.stringify({ arch, notify, nr, archOverride, args: args.map(String) }));
        },
      ),
      { numRuns: 20_000 },
    );
  });
});

describe("seccomp: architecture prelude", () => {
  const someNames = ["read", "write", "openat", "clone", "execve", "exit_group", "io_uring_setup", "socket"];
  test("any arch but the expected one is KILL_PROCESS, for every syscall", () => {
    for (const arch of BOTH) {
      for (const notify of MODES) {
        const prog = program(arch, notify);
        const other = arch === "x86_64" ? AUDIT_AARCH64 : AUDIT_X86_64;
        const foreign = [0, 0xffffffff, AUDIT_I386, AUDIT_ARM, other, audit(arch) ^ 0x80000000, audit(arch) ^ 1, 0xc0000015 /* ppc64 */, 0x80000016 /* s390x */];
        for (const nr of Object.values(syscallTable(arch))) {
          for (const a of foreign) {
            assert.equal(run(prog, { nr, arch: a }), RET_KILL_PROCESS, `${arch}: nr ${nr} with arch 0x${a.toString(16)}`);
          }
        }
      }
    }
  });

  test("i386 ABI (int $0x80) on x86_64 is killed, including its own numbers", () => {
    const prog = program("x86_64", true);
    // i386: 5 = open, 11 = execve, 120 = clone, 295 = openat, 102 = socketcall
    for (const nr of [1, 3, 4, 5, 11, 102, 120, 295, 0]) assert.equal(run(prog, { nr, arch: AUDIT_I386 }), RET_KILL_PROCESS);
  });

  test("AArch32 compat syscalls on arm64 are killed", () => {
    const prog = program("aarch64", true);
    for (const nr of [1, 3, 4, 5, 11, 120, 322]) assert.equal(run(prog, { nr, arch: AUDIT_ARM }), RET_KILL_PROCESS);
  });

  test("x86_64: any nr with the x32 bit is KILL_PROCESS (0x40000000 | __NR_openat and every other)", () => {
    for (const notify of MODES) {
      const prog = program("x86_64", notify);
      for (const nr of Object.values(syscallTable("x86_64"))) {
        assert.equal(run(prog, { nr: (X32_BIT | nr) | 0, arch: AUDIT_X32 }), RET_KILL_PROCESS, `x32 nr ${nr}`);
      }
      // x32's own numbering (512-547) with the bit set, e.g. x32 execve = 520
      for (let nr = 512; nr <= 547; nr++) assert.equal(run(prog, { nr: X32_BIT | nr, arch: AUDIT_X32 }), RET_KILL_PROCESS);
      // Only the x32 bit matters: numbers outside the table but without the bit are allowed
      // (the kernel answers ENOSYS itself), and syscall(-1) carries the bit, so it is killed.
      assert.equal(run(prog, { nr: 1000, arch: AUDIT_X86_64 }), RET_ALLOW);
      assert.equal(run(prog, { nr: -1, arch: AUDIT_X86_64 }), RET_KILL_PROCESS);
      assert.equal(run(prog, { nr: 0x80000000 | 0, arch: AUDIT_X86_64 }), RET_ALLOW);
    }
  });

  test("aarch64 has no x32 ABI: the bit is just an unknown number (kernel ENOSYS)", () => {
    const prog = program("aarch64", true);
    assert.equal(run(prog, { nr: X32_BIT | 56, arch: AUDIT_AARCH64 }), RET_ALLOW);
  });

  test("sanity: the prelude does not change other syscalls", () => {
    for (const arch of BOTH) for (const n of someNames) assert.notEqual(verdict(arch, true, n, [1n, 0n]), RET_KILL_PROCESS);
  });
});

// ---------------------------------------------------------------------------------------------------
// Expectations written from ESCAPES.md / issue 7 directly, not from the table.
const SPEC_ENOSYS = [
  "io_uring_setup", "io_uring_enter", "io_uring_register", "clone3", "openat2",
  "fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "open_tree_attr", "move_mount", "mount_setattr",
  // A jail process's own Landlock sandbox would not bind the deputy that performs its calls (ESCAPES 57):
  // Landlock is absent inside the jail.
  "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
  // Path calls whose arguments live in structs the filter cannot read (deny rules, ESCAPES 59).
  "setxattrat", "removexattrat", "file_setattr",
  // The mount table by syscall would name bind mounts' host sources (ESCAPES 9).
  "statmount", "listmount",
];
const SPEC_EPERM = [
  "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "ptrace", "process_vm_readv",
  "process_vm_writev", "kcmp", "pidfd_getfd", "name_to_handle_at", "open_by_handle_at", "mount", "umount2",
  "pivot_root", "chroot", "unshare", "setns", "kexec_load", "kexec_file_load", "init_module", "finit_module",
  "delete_module", "reboot", "swapon", "swapoff", "syslog", "acct", "settimeofday", "clock_settime",
  "clock_adjtime", "adjtimex", "quotactl", "quotactl_fd", "lookup_dcookie", "vhangup", "nfsservctl",
  // x86_64 only:
  "iopl", "ioperm", "uselib", "_sysctl", "create_module", "get_kernel_syms", "query_module",
];
const SPEC_NOTIFY = ["openat", "open", "creat", "connect", "bind", "execve", "execveat"];
const SPEC_ALLOW = [
  "read", "write", "close", "mmap", "mprotect", "munmap", "brk", "futex", "exit", "exit_group", "rt_sigaction",
  "rt_sigreturn", "sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "listen", "accept4", "getsockopt",
  "setsockopt", "fork", "vfork", "wait4", "waitid", "getpid", "gettid", "kill", "tgkill", "prctl", "seccomp",
  "epoll_create1", "epoll_ctl", "getxattrat", "listxattrat", "unlinkat", "renameat2", "linkat", "mkdirat", "fchmodat",
  "epoll_pwait", "epoll_wait", "pidfd_open", "pidfd_send_signal", "statx", "newfstatat", "fstat", "getdents64",
  "readlinkat", "faccessat2", "pipe2", "dup3", "fcntl", "ioctl", "socket", "socketpair", "clone",
  "personality", "memfd_create", "rseq", "set_robust_list", "getrandom", "close_range", "arch_prctl",
  "modify_ldt", "mseal", "uname", "sched_getaffinity", "madvise", "mremap",
];

describe("seccomp: the specification (ESCAPES.md, issue 7), independent of the table", () => {
  for (const arch of BOTH) {
    test(`${arch}: ENOSYS / EPERM / USER_NOTIF / ALLOW by name`, () => {
      for (const notify of MODES) {
        for (const n of SPEC_ENOSYS) if (syscallNumber(arch, n) !== undefined) assertVerdict(arch, notify, n, [], ENOSYS);
        for (const n of SPEC_EPERM) if (syscallNumber(arch, n) !== undefined) assertVerdict(arch, notify, n, [], EPERM);
        for (const n of SPEC_NOTIFY) if (syscallNumber(arch, n) !== undefined) assertVerdict(arch, notify, n, [], notify ? RET_USER_NOTIF : RET_ALLOW);
        // Default arguments for the conditional ones: fd 0 / SIGCHLD / AF_UNIX / query / NOEXEC_SEAL.
        const benign: Record<string, bigint[]> = {
          ioctl: [0n, 0x5401n],
          socket: [1n, 1n, 0n],
          socketpair: [1n, 1n, 0n],
          clone: [0x11n],
          personality: [0xffffffffn],
          memfd_create: [0x1000n, 0x9n],
        };
        for (const n of SPEC_ALLOW) if (syscallNumber(arch, n) !== undefined) assertVerdict(arch, notify, n, benign[n] ?? [], RET_ALLOW);
      }
    });
  }

  test("names that exist only on x86_64 are covered there and absent on aarch64", () => {
    for (const n of ["open", "creat", "iopl", "ioperm", "uselib", "fork", "vfork", "arch_prctl", "modify_ldt"]) {
      assert.ok(syscallNumber("x86_64", n) !== undefined, `${n} on x86_64`);
      assert.equal(syscallNumber("aarch64", n), undefined, `${n} not on aarch64`);
    }
    assert.deepEqual(absentSyscalls("x86_64"), []);
    assert.deepEqual(
      new Set(absentSyscalls("aarch64")),
      new Set([
        "open", "creat", "iopl", "ioperm", "uselib", "_sysctl", "create_module", "get_kernel_syms", "query_module",
        // the legacy path calls deny rules cover on x86_64
        "unlink", "rmdir", "rename", "link", "symlink", "mkdir", "mknod", "chmod", "chown", "lchown", "utime", "utimes", "futimesat",
      ]),
    );
  });

  test("spot-check syscall numbers against the kernel's tables", () => {
    const known: [string, number, number | undefined][] = [
      ["read", 0, 63], ["open", 2, undefined], ["ioctl", 16, 29], ["socket", 41, 198], ["connect", 42, 203],
      ["bind", 49, 200], ["socketpair", 53, 199], ["clone", 56, 220], ["execve", 59, 221], ["personality", 135, 92],
      ["ptrace", 101, 117], ["mount", 165, 40], ["umount2", 166, 39], ["openat", 257, 56], ["unshare", 272, 97],
      ["setns", 308, 268], ["memfd_create", 319, 279], ["bpf", 321, 280], ["execveat", 322, 281],
      ["userfaultfd", 323, 282], ["io_uring_setup", 425, 425], ["clone3", 435, 435], ["openat2", 437, 437],
      ["pidfd_getfd", 438, 438], ["mount_setattr", 442, 442], ["open_tree_attr", 467, 467], ["creat", 85, undefined],
      ["sendto", 44, 206], ["kexec_file_load", 320, 294], ["process_vm_writev", 311, 271],
    ];
    for (const [n, x, a] of known) {
      assert.equal(syscallNumber("x86_64", n), x, `x86_64 ${n}`);
      assert.equal(syscallNumber("aarch64", n), a, `aarch64 ${n}`);
      assert.equal(syscallName("x86_64", x), n);
    }
    assert.equal(syscallNumber("x86_64", "toString"), undefined, "no prototype leakage");
  });

  for (const arch of BOTH) {
    test(`${arch}: clone with and without namespace flags (flags are arg0 on both arches)`, () => {
      const glibcThread = 0x3d0f00n; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
      const forkFlags = 0x01200011n; // CHILD_SETTID|CHILD_CLEARTID|SIGCHLD (glibc fork)
      for (const notify of MODES) {
        assertVerdict(arch, notify, "clone", [0x11n], RET_ALLOW);
        assertVerdict(arch, notify, "clone", [glibcThread], RET_ALLOW);
        assertVerdict(arch, notify, "clone", [forkFlags], RET_ALLOW);
        assertVerdict(arch, notify, "clone", [0x4111n], RET_ALLOW); // vfork-like: CLONE_VM|CLONE_VFORK|SIGCHLD
        for (const [name, flag] of Object.entries(CLONE_NS_FLAGS)) {
          assertVerdict(arch, notify, "clone", [BigInt(flag) | 0x11n], EPERM);
          assertVerdict(arch, notify, "clone", [BigInt(flag) | glibcThread], EPERM);
          assertVerdict(arch, notify, "clone", [(0xffffffffn << 32n) | BigInt(flag)], EPERM);
          assert.ok(name.startsWith("CLONE_NEW"));
        }
        assertVerdict(arch, notify, "clone", [0x10000000n | 0x40000000n | 0x11n], EPERM); // ESCAPES 6: NEWUSER|NEWNET
        // The kernel uses lower_32_bits(clone_flags): namespace bits in the high word are not flags.
        assertVerdict(arch, notify, "clone", [(0x7e020080n << 32n) | 0x11n], RET_ALLOW);
        // Namespace bits in another argument are not flags either.
        assertVerdict(arch, notify, "clone", [0x11n, 0x10000000n, 0x10000000n, 0x10000000n, 0x10000000n], RET_ALLOW);
        // unshare and clone3 are refused outright.
        assertVerdict(arch, notify, "unshare", [0x10000000n], EPERM);
        assertVerdict(arch, notify, "unshare", [0n], EPERM);
        assertVerdict(arch, notify, "clone3", [0x1000n, 88n], ENOSYS);
      }
    });

    test(`${arch}: ioctl TIOCSTI/TIOCLINUX refused on the low 32 bits of cmd`, () => {
      for (const notify of MODES) {
        for (const cmd of [0x5412n, 0x541cn]) {
          assertVerdict(arch, notify, "ioctl", [0n, cmd], EPERM);
          assertVerdict(arch, notify, "ioctl", [0n, (0xffffffffn << 32n) | cmd], EPERM); // sign-extended
          assertVerdict(arch, notify, "ioctl", [0n, (1n << 32n) | cmd], EPERM);
          assertVerdict(arch, notify, "ioctl", [7n, (0xdeadbeefn << 32n) | cmd, 0x1234n], EPERM);
        }
        for (const cmd of [0x5401n /* TCGETS */, 0x5402n, 0x5413n /* TIOCGWINSZ */, 0x5421n /* FIONBIO */, 0x541bn /* FIONREAD */, 0x80045412n, 0x5412_0000n, 0n]) {
          assertVerdict(arch, notify, "ioctl", [0n, cmd], RET_ALLOW);
        }
        assertVerdict(arch, notify, "ioctl", [0x5412n, 0x5401n], RET_ALLOW); // fd 0x5412, not cmd
      }
    });

    test(`${arch}: socket/socketpair families`, () => {
      const fam = { AF_UNSPEC: 0n, AF_UNIX: 1n, AF_INET: 2n, AF_INET6: 10n, AF_KEY: 15n, AF_NETLINK: 16n, AF_PACKET: 17n, AF_BLUETOOTH: 31n, AF_ALG: 38n, AF_VSOCK: 40n, AF_XDP: 44n, AF_MAX: 46n };
      for (const notify of MODES) {
        for (const call of ["socket", "socketpair"]) {
          for (const ok of [fam.AF_UNIX, fam.AF_INET, fam.AF_INET6]) {
            assertVerdict(arch, notify, call, [ok, 0x80801n /* SOCK_STREAM|NONBLOCK|CLOEXEC */, 0n], RET_ALLOW);
            assertVerdict(arch, notify, call, [(0xdeadbeefn << 32n) | ok, 2n, 0n], RET_ALLOW); // int domain: high word ignored
          }
          for (const bad of [fam.AF_UNSPEC, fam.AF_KEY, fam.AF_NETLINK, fam.AF_PACKET, fam.AF_BLUETOOTH, fam.AF_ALG, fam.AF_VSOCK, fam.AF_XDP, fam.AF_MAX, 3n, 0xffffffffn, 0x10001n, U64_MAX]) {
            assertVerdict(arch, notify, call, [bad, 1n, 0n], EAFNOSUPPORT);
          }
          // AF_INET in the high word only: the kernel sees domain 0
          assertVerdict(arch, notify, call, [2n << 32n, 1n, 0n], EAFNOSUPPORT);
        }
      }
    });

    test(`${arch}: memfd_create needs MFD_NOEXEC_SEAL`, () => {
      for (const notify of MODES) {
        const name = 0x7fff0000n;
        for (const flags of [0n, 1n /* CLOEXEC */, 2n /* ALLOW_SEALING */, 3n, 4n /* HUGETLB */, 0x10n /* MFD_EXEC */, 0x8n << 32n, 0xfffffff7n, (0xffffffffn << 32n) | 0x1n]) {
          assertVerdict(arch, notify, "memfd_create", [name, flags], EPERM);
        }
        for (const flags of [0x8n, 0x9n, 0xbn, 0x18n, 0xffffffffn, U64_MAX, (0x1n << 32n) | 0x8n]) {
          assertVerdict(arch, notify, "memfd_create", [name, flags], RET_ALLOW);
        }
        // flags in arg0 (the name pointer) do not count
        assertVerdict(arch, notify, "memfd_create", [0x8n, 0x1n], EPERM);
      }
    });

    test(`${arch}: personality`, () => {
      for (const notify of MODES) {
        for (const p of [0n, 8n, 0xffffffffn, U64_MAX, 1n << 32n, (0xabcn << 32n) | 8n]) assertVerdict(arch, notify, "personality", [p], RET_ALLOW);
        for (const p of [
          0x0400000n /* READ_IMPLIES_EXEC */,
          0x0040000n /* ADDR_NO_RANDOMIZE */,
          0x0040008n /* PER_LINUX32|ADDR_NO_RANDOMIZE */,
          0x0020000n /* UNAME26 */,
          0x0800000n /* ADDR_LIMIT_32BIT */,
          0x8000000n /* ADDR_LIMIT_3GB */,
          0x4000000n /* STICKY_TIMEOUTS */,
          0x0100000n /* FDPIC_FUNCPTRS */,
          0x0200000n /* MMAP_PAGE_ZERO */,
          6n /* PER_BSD */,
          0x0008n | 0x0400000n,
          0xfffffffen,
          (0xffffffffn << 32n) | 0x0400000n,
        ]) {
          assertVerdict(arch, notify, "personality", [p], EPERM);
        }
      }
    });
  }
});

describe("seccomp: the policy table", () => {
  test("every named syscall exists on at least one architecture; none is in two groups of one filter", () => {
    for (const role of ["server", "deputy"] as const) {
      const seen = new Map<string, string>();
      for (const g of RULE_GROUPS) {
        if (!(g.roles ?? ["server", "deputy"]).includes(role)) continue;
        for (const s of g.syscalls) {
          assert.ok(ARCHES.some((a) => syscallNumber(a, s) !== undefined), `${s} (group ${g.id}) exists somewhere`);
          assert.equal(seen.get(s), undefined, `${role}: ${s} in ${seen.get(s)} and ${g.id}`);
          seen.set(s, g.id);
        }
        assert.ok(g.reason.length > 20, `group ${g.id} says why`);
      }
    }
  });

  test("deny rules add the path calls, a grant adds sendmsg; the deputy's filter notifies nothing", () => {
    for (const arch of BOTH) {
      const base = filterRules({ arch, notify: true });
      const paths = filterRules({ arch, notify: true, supervisePaths: true });
      const added = paths.filter((r) => !base.some((b) => b.nr === r.nr)).map((r) => r.syscall);
      for (const n of ["truncate", "unlinkat", "renameat2", "linkat", "symlinkat", "mkdirat", "mknodat", "fchmodat", "fchmodat2", "fchownat", "utimensat", "setxattr", "lsetxattr", "removexattr", "lremovexattr"]) {
        assert.ok(added.includes(n), `${arch}: ${n} supervised with deny rules`);
      }
      assert.ok(paths.filter((r) => added.includes(r.syscall)).every((r) => r.action.type === "notify" && r.when === undefined));
      const send = filterRules({ arch, notify: true, superviseSendmsg: true });
      assert.deepEqual(send.filter((r) => !base.some((b) => b.nr === r.nr)).map((r) => r.syscall).sort(), ["sendmmsg", "sendmsg"]);
      // Without notification (benchmarks), nothing is notified whatever the options.
      assert.ok(filterRules({ arch, notify: false, supervisePaths: true, superviseSendmsg: true }).every((r) => r.action.type !== "notify"));
      const deputy = filterRules({ arch, notify: true, role: "deputy", supervisePaths: true, superviseSendmsg: true });
      assert.ok(deputy.every((r) => r.action.type !== "notify"), `${arch}: the deputy notifies nothing`);
      assert.equal(deputy.find((r) => r.syscall === "openat2"), undefined, "the deputy resolves with openat2");
      assert.deepEqual(deputy.find((r) => r.syscall === "unshare")?.when, { arg: 0, test: "anyBitSet", mask: CLONE_NS_MASK });
      assert.equal(deputy.find((r) => r.syscall === "setns")?.action.type, "errno");
      assert.ok(deputy.some((r) => r.syscall === "pidfd_getfd" && r.action.type === "errno"));
    }
  });

  test("signals to the jail's init are refused on every kernel (pid 1 only)", () => {
    for (const arch of BOTH) {
      for (const n of ["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open"]) {
        if (syscallNumber(arch, n) === undefined) continue;
        assertVerdict(arch, true, n, [1n, 9n], EPERM);
        assertVerdict(arch, true, n, [2n, 9n], RET_ALLOW);
        assertVerdict(arch, true, n, [0xffffffffn, 9n], RET_ALLOW); // -1: the jail's own processes
      }
    }
  });

  test("filterRules: sorted, one rule per number, notify group only with notify", () => {
    for (const arch of BOTH) {
      const on = filterRules({ arch, notify: true });
      const off = filterRules({ arch, notify: false });
      assert.deepEqual(on.map((r) => r.nr), [...on.map((r) => r.nr)].sort((a, b) => a - b));
      assert.equal(new Set(on.map((r) => r.nr)).size, on.length);
      const notified = on.filter((r) => r.action.type === "notify").map((r) => r.syscall).sort();
      assert.deepEqual(notified, (arch === "x86_64" ? ["bind", "connect", "creat", "execve", "execveat", "open", "openat", "sendto"] : ["bind", "connect", "execve", "execveat", "openat", "sendto"]).sort());
      // sendto only when it names a destination (a pointer: all 64 bits count).
      assert.deepEqual(on.find((r) => r.syscall === "sendto")?.when, { arg: 4, test: "nonZero64" });
      assert.ok(off.every((r) => r.action.type !== "notify"));
      assert.equal(on.length - off.length, notified.length);
      for (const r of on) assert.equal(syscallNumber(arch, r.syscall), r.nr);
      for (const n of ["sendmsg", "sendmmsg"]) assert.ok(!on.some((r) => r.syscall === n), `${n} is not in the filter`);
      assert.ok(!off.some((r) => r.syscall === "sendto"), "sendto is not in the filter without supervision");
    }
    assert.throws(() => filterRules({ arch: "riscv64" as Arch, notify: true }), /unsupported architecture/);
  });

  test("describeRules: a line per group, the prelude and the default", () => {
    const lines = describeRules();
    assert.ok(lines.some((l) => l.includes("KILL_PROCESS") && l.includes("0xc000003e") && l.includes("0xc00000b7")));
    assert.ok(lines.some((l) => l.includes("x32")));
    assert.ok(lines.some((l) => l.includes("sendmsg") && l.includes("not supervised")));
    assert.ok(lines[lines.length - 1]!.includes("ALLOW"));
    for (const g of RULE_GROUPS) assert.ok(lines.some((l) => l.includes(g.reason)), `group ${g.id} described`);
    assert.ok(describeRules({ arch: "aarch64" }).every((l) => !l.includes("x32")));
    assert.ok(describeRules({ notify: false }).some((l) => l.includes("supervision off")));
    assert.ok(describeRules({ arch: "x86_64" }).some((l) => l.includes("iopl")));
    assert.ok(!describeRules({ arch: "aarch64" }).some((l) => l.includes("iopl")));
  });
});

// ---------------------------------------------------------------------------------------------------
describe("seccomp: BPF assembler", () => {
  function runAsm(asm: Assembler, d: SeccompData): number {
    const prog = decode(encodeProgram(asm.assemble()));
    validate(prog);
    return run(prog, d);
  }

  test("labels resolve forward; null falls through", () => {
    const asm = new Assembler();
    const yes = asm.label("yes");
    const no = asm.label("no");
    asm.ldAbs(0).jmp("jeq", 7, yes, null).jmp("jgt", 100, null, no).ret(1);
    asm.bind(yes).ret(2);
    asm.bind(no).ret(3);
    assert.equal(runAsm(asm, { nr: 7, arch: 0 }), 2);
    assert.equal(runAsm(asm, { nr: 101, arch: 0 }), 1);
    assert.equal(runAsm(asm, { nr: 50, arch: 0 }), 3);
  });

  for (const gap of [250, 253, 254, 255, 256, 257, 300, 1000, 3000]) {
    test(`far conditional targets get ja trampolines (gap ${gap})`, () => {
      for (const shape of ["farT", "farF", "both"] as const) {
        const asm = new Assembler();
        const t = asm.label("t");
        const f = asm.label("f");
        asm.ldAbs(0);
        if (shape === "farT") asm.jmp("jeq", 1, t, null);
        else if (shape === "farF") asm.jmp("jeq", 1, null, f);
        else asm.jmp("jset", 1, t, f);
        if (shape !== "both") asm.ret(0xaa); // near side
        for (let i = 0; i < gap; i++) asm.ldImm(i); // filler
        asm.ret(0xbb); // reached only by falling through the filler
        asm.bind(t).ret(0x11);
        asm.bind(f).ret(0x22);
        const prog = asm.assemble();
        assert.ok(prog.every((i) => i.jt <= 255 && i.jf <= 255));
        const r1 = runAsm(asm, { nr: 1, arch: 0 });
        const r0 = runAsm(asm, { nr: 2, arch: 0 });
        if (shape === "farT") assert.deepEqual([r1, r0], [0x11, 0xaa]);
        if (shape === "farF") assert.deepEqual([r1, r0], [0xaa, 0x22]);
        if (shape === "both") assert.deepEqual([r1, r0], [0x11, 0x22]);
        const trampolines = prog.filter((i) => i.code === 0x05).length;
        if (gap <= 250) assert.equal(trampolines, 0, `no trampoline needed (gap ${gap})`);
        if (gap >= 256) assert.equal(trampolines, shape === "both" ? 2 : 1, `trampolines (gap ${gap}, ${shape})`);
      }
    });
  }

  test("a dispatch of 1000 jeq's all aimed at far returns", () => {
    const asm = new Assembler();
    const rets = Array.from({ length: 5 }, (_, i) => asm.label(`r${i}`));
    const dflt = asm.label("default");
    asm.ldAbs(0);
    for (let n = 0; n < 1000; n++) asm.jmp("jeq", n * 3, rets[n % 5]!, null);
    asm.ja(dflt);
    rets.forEach((l, i) => asm.bind(l).ret(100 + i));
    asm.bind(dflt).ret(7);
    for (const n of [0, 1, 3, 299, 300, 2997, 2998, 5000]) {
      const want = n % 3 === 0 && n / 3 < 1000 ? 100 + ((n / 3) % 5) : 7;
      assert.equal(runAsm(asm, { nr: n, arch: 0 }), want, `nr ${n}`);
    }
    assert.ok(asm.assemble().length < 4096);
  });

  test("errors: backward jump, unbound label, double bind, no final ret, too long, bad operands", () => {
    {
      const asm = new Assembler();
      const l = asm.label("back");
      asm.bind(l).ldAbs(0).jmp("jeq", 1, l, null).ret(0);
      assert.throws(() => asm.assemble(), /backward/);
    }
    {
      const asm = new Assembler();
      asm.ldAbs(0).jmp("jeq", 1, asm.label("nowhere"), null).ret(0);
      assert.throws(() => asm.assemble(), /unbound/);
    }
    {
      const asm = new Assembler();
      const l = asm.label();
      asm.bind(l);
      assert.throws(() => asm.bind(l), /twice/);
    }
    {
      const asm = new Assembler();
      const end = asm.label("end");
      asm.ldAbs(0).jmp("jeq", 1, end, null).ret(0).bind(end);
      assert.throws(() => asm.assemble(), /past the end/);
    }
    {
      const asm = new Assembler();
      asm.ldAbs(0);
      assert.throws(() => asm.assemble(), /return/);
    }
    {
      const asm = new Assembler();
      for (let i = 0; i < 4096; i++) asm.ldImm(i);
      asm.ret(0);
      assert.throws(() => asm.assemble(), /max 4096/);
    }
    const asm = new Assembler();
    assert.throws(() => asm.ldAbs(2), /offset/);
    assert.throws(() => asm.ret(2 ** 32), /32-bit/);
    assert.throws(() => asm.jmp("jeq", 1, null, null), /both branches/);
    assert.throws(() => asm.st(16), /slot/);
  });

  test("scratch memory and ALU ops", () => {
    const asm = new Assembler();
    const hit = asm.label("hit");
    asm.ldAbs(16).alu("and", 0xff).st(0).ldImm(0).ldMem(0).alu("lsh", 4).alu("rsh", 4).alu("or", 0x100).jmp("jeq", 0x142, hit, null).ret(0);
    asm.bind(hit).ret(1);
    assert.equal(runAsm(asm, { nr: 0, arch: 0, args: [0xabcd42n] }), 1);
    assert.equal(runAsm(asm, { nr: 0, arch: 0, args: [0x43n] }), 0);
    assert.ok(asm.listing().some((l) => l.startsWith("hit:")));
  });
});
