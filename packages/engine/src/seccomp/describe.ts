// Human-readable description of the seccomp policy, for `mcp-j doctor` and the docs.
import { RULE_GROUPS, type ArgCondition, type RuleAction } from "./policy.js";
import { syscallNumber } from "./syscalls.js";
import { ARCHES, AUDIT_ARCH, X32_SYSCALL_BIT, type Arch } from "./types.js";

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

function actionText(a: RuleAction): string {
  return a.type === "errno" ? a.errno : "USER_NOTIF (supervisor)";
}

function conditionText(c: ArgCondition): string {
  if (c.test === "anyOf") return c.of.map(conditionText).join(", or ");
  if (c.test === "nonZero64") return `when args[${c.arg}] (all 64 bits) is not NULL`;
  const arg = `args[${c.arg}] (low 32 bits)`;
  switch (c.test) {
    case "anyBitSet":
      return `when ${arg} & ${hex(c.mask)} != 0`;
    case "notAllBitsSet":
      return `when ${arg} lacks ${hex(c.mask)}`;
    case "maskedEq":
      return `when ${arg} & ${hex(c.mask)} == ${hex(c.value)}`;
    case "in":
      return `when ${arg} is one of ${c.values.map(hex).join(", ")}`;
    case "notIn":
      return `when ${arg} is not one of ${c.values.map(hex).join(", ")}`;
  }
}

export interface DescribeOptions {
  /** Only this architecture (default: both, with per-arch absences noted). */
  arch?: Arch;
  /** Include the supervised (USER_NOTIF) group as active (default true). */
  notify?: boolean;
}

/** One line per rule group, plus the prelude and the default: what the filter does and why. */
export function describeRules(options: DescribeOptions = {}): string[] {
  const arches = options.arch ? [options.arch] : [...ARCHES];
  const notify = options.notify ?? true;
  const lines: string[] = [];
  lines.push(
    `seccomp: arch other than ${arches.map((a) => (a === "x86_64" ? `AUDIT_ARCH_X86_64 (${hex(AUDIT_ARCH.X86_64)})` : `AUDIT_ARCH_AARCH64 (${hex(AUDIT_ARCH.AARCH64)})`)).join(" / ")} -> KILL_PROCESS (i386 int $0x80, AArch32 compat, foreign ABIs) [ESCAPES 24]`,
  );
  if (arches.includes("x86_64")) lines.push(`seccomp: x86_64 syscall number with the x32 bit (${hex(X32_SYSCALL_BIT)}) -> KILL_PROCESS [ESCAPES 24]`);
  for (const g of RULE_GROUPS) {
    const present = g.syscalls.filter((s) => arches.some((a) => syscallNumber(a, s) !== undefined));
    if (present.length === 0) continue;
    const names = present
      .map((s) => {
        const missing = arches.filter((a) => syscallNumber(a, s) === undefined);
        return missing.length > 0 ? `${s} (not on ${missing.join(", ")})` : s;
      })
      .join(", ");
    const cond = g.when ? ` ${conditionText(g.when)}` : "";
    const off = g.notifyOnly && !notify ? " [supervision off: ALLOW]" : "";
    const refs = g.escapes.length > 0 ? ` [ESCAPES ${g.escapes.join(", ")}]` : "";
    lines.push(`seccomp: ${names}${cond} -> ${actionText(g.action)}${off}: ${g.reason}${refs}`);
  }
  lines.push(
    "seccomp: sendmsg, sendmmsg, and sendto without a destination -> ALLOW, not supervised: the network namespace (only lo) is authoritative [ESCAPES 43]",
  );
  lines.push("seccomp: every other syscall -> ALLOW");
  return lines;
}
