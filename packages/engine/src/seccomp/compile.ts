// Compiles the policy table (policy.ts) into a classic-BPF seccomp program.
//
//   prelude:   ld [arch]; jeq AUDIT_ARCH_<arch>, +0, kill
//              ld [nr];   (x86_64) jset X32_SYSCALL_BIT, kill, +0
//   dispatch:  a binary search on nr over the syscalls the rules name (jge splits, jeq leaves), so a
//              syscall costs ~log2(rules) compares; a miss falls to `ret ALLOW`.
//   handlers:  unconditional rules jump straight to their shared `ret`; conditional ones load the low
//              word of one argument and branch to the action's `ret` or to `ret ALLOW`.
//   returns:   one `ret` per distinct action value, ALLOW first, at the end (jumps are forward only).
//
// The output is the raw struct sock_filter[] the C helper passes to
// seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER|SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog).
import { Assembler, encodeProgram, type Label, type SockFilter } from "./bpf.js";
import { filterRules, type ArgCondition, type FilterOptions, type FilterRule, type RuleAction } from "./policy.js";
import { ERRNO, SECCOMP_DATA, SECCOMP_RET, X32_SYSCALL_BIT, argHighOffset, argLowOffset, auditArch, type Arch } from "./types.js";

/** The architecture of this Node process, as the filter names it. */
export function hostArch(): Arch {
  switch (process.arch) {
    case "x64":
      return "x86_64";
    case "arm64":
      return "aarch64";
    default:
      throw new Error(`seccomp: unsupported architecture ${process.arch} (MCP-J supports x86_64 and aarch64)`);
  }
}

/** The 32-bit seccomp return value of a rule action. */
export function actionValue(action: RuleAction): number {
  switch (action.type) {
    case "errno":
      return (SECCOMP_RET.ERRNO | ERRNO[action.errno]) >>> 0;
    case "notify":
      return SECCOMP_RET.USER_NOTIF;
  }
}

/** Leaves of the dispatch tree hold at most this many jeq's. */
const LEAF = 3;

function assembleFilter(options: FilterOptions, rules: readonly FilterRule[]): Assembler {
  const asm = new Assembler();
  const returns = new Map<number, Label>();
  const retLabel = (value: number, name: string): Label => {
    let l = returns.get(value);
    if (!l) {
      l = asm.label(name);
      returns.set(value, l);
    }
    return l;
  };
  const allow = retLabel(SECCOMP_RET.ALLOW, "allow");
  const kill = retLabel(SECCOMP_RET.KILL_PROCESS, "kill");
  const actionLabel = (a: RuleAction): Label => retLabel(actionValue(a), a.type === "errno" ? a.errno : "notify");

  // 1-2: architecture prelude.
  asm.ldAbs(SECCOMP_DATA.ARCH, "arch");
  asm.jmp("jeq", auditArch(options.arch), null, kill, `AUDIT_ARCH_${options.arch.toUpperCase()}`);
  asm.ldAbs(SECCOMP_DATA.NR, "nr");
  if (options.arch === "x86_64") asm.jmp("jset", X32_SYSCALL_BIT, kill, null, "x32 ABI");

  // 3: dispatch on nr. Each rule's entry point: its action's ret, or a handler block.
  // Rules with the same condition and action (socket/socketpair) share one handler.
  const entries = new Map<FilterRule, Label>();
  const handlers: { label: Label; rule: FilterRule }[] = [];
  const byShape = new Map<string, Label>();
  for (const r of rules) {
    if (r.when) {
      const shape = JSON.stringify([r.when, r.action]);
      let label = byShape.get(shape);
      if (!label) {
        label = asm.label(r.syscall);
        byShape.set(shape, label);
        handlers.push({ label, rule: r });
      }
      entries.set(r, label);
    } else {
      entries.set(r, actionLabel(r.action));
    }
  }
  const sorted = [...rules].sort((a, b) => a.nr - b.nr);
  const dispatch = (list: FilterRule[]): void => {
    if (list.length <= LEAF) {
      list.forEach((r, i) => asm.jmp("jeq", r.nr, entries.get(r)!, i === list.length - 1 ? allow : null, r.syscall));
      return;
    }
    const mid = list.length >> 1;
    const right = asm.label(`nr>=${list[mid]!.nr}`);
    asm.jmp("jge", list[mid]!.nr, right, null);
    dispatch(list.slice(0, mid));
    asm.bind(right);
    dispatch(list.slice(mid));
  };
  if (sorted.length > 0) dispatch(sorted);

  for (const { label, rule } of handlers) {
    asm.bind(label);
    emitCondition(asm, rule.when!, actionLabel(rule.action), allow, rule.syscall);
  }

  // 4: default. After every dispatch leaf and handler (classic BPF only jumps forward); an empty
  // rule list falls through to it from the prelude.
  asm.bind(allow).ret(SECCOMP_RET.ALLOW, "ALLOW");
  asm.bind(kill).ret(SECCOMP_RET.KILL_PROCESS, "KILL_PROCESS");
  for (const [value, label] of returns) {
    if (label === allow || label === kill) continue;
    asm.bind(label).ret(value, label.name);
  }
  return asm;
}

/** Branch to `hit` when `cond` holds on the low 32 bits of the argument, else to `miss`. */
function emitCondition(asm: Assembler, cond: ArgCondition, hit: Label, miss: Label, what: string): void {
  if (cond.test === "anyOf") {
    cond.of.forEach((c, i) => {
      const last = i === cond.of.length - 1;
      const next = last ? miss : asm.label(`${what} or`);
      emitCondition(asm, c, hit, next, what);
      if (!last) asm.bind(next);
    });
    return;
  }
  if (cond.test === "nonZero64") {
    // A pointer: the kernel uses all 64 bits, so both words are tested.
    asm.ldAbs(argLowOffset(cond.arg), `${what} args[${cond.arg}] low 32 bits`);
    asm.jmp("jset", 0xffffffff, hit, null);
    asm.ldAbs(argHighOffset(cond.arg), `${what} args[${cond.arg}] high 32 bits`);
    asm.jmp("jset", 0xffffffff, hit, miss);
    return;
  }
  // Low word only: see ArgCondition in policy.ts for why that is exactly what the kernel acts on.
  asm.ldAbs(argLowOffset(cond.arg), `${what} args[${cond.arg}] low 32 bits`);
  switch (cond.test) {
    case "anyBitSet":
      asm.jmp("jset", cond.mask, hit, miss);
      return;
    case "notAllBitsSet":
      if (isSingleBit(cond.mask)) {
        asm.jmp("jset", cond.mask, miss, hit);
      } else {
        asm.alu("and", cond.mask);
        asm.jmp("jeq", cond.mask, miss, hit);
      }
      return;
    case "maskedEq":
      asm.alu("and", cond.mask);
      asm.jmp("jeq", cond.value, hit, miss);
      return;
    case "in":
    case "notIn": {
      const [onEq, onNone] = cond.test === "in" ? [hit, miss] : [miss, hit];
      const values = [...new Set(cond.values.map((v) => v >>> 0))];
      if (values.length === 0) {
        asm.ja(onNone);
        return;
      }
      values.forEach((v, i) => asm.jmp("jeq", v, onEq, i === values.length - 1 ? onNone : null));
      return;
    }
  }
}

function isSingleBit(m: number): boolean {
  const v = m >>> 0;
  return v !== 0 && (v & (v - 1)) === 0;
}

/** The filter as instructions (for tests and the doctor). */
export function compileFilterProgram(options: FilterOptions): SockFilter[] {
  return assembleFilter(options, filterRules(options)).assemble();
}

/** A readable listing with labels and comments. */
export function filterListing(options: FilterOptions): string[] {
  return assembleFilter(options, filterRules(options)).listing();
}

/**
 * The seccomp filter for `options.arch` as struct sock_filter[] bytes (8 bytes per instruction,
 * little-endian), ready for the C helper's seccomp(SECCOMP_SET_MODE_FILTER, ...).
 */
export function compileFilter(options: FilterOptions): Buffer {
  return encodeProgram(compileFilterProgram(options));
}
