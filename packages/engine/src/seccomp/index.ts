// Seccomp BPF filter: policy table, compiler and assembler. See policy.ts for the policy itself.
export type { Arch, ErrnoName } from "./types.js";
export { ARCHES, AUDIT_ARCH, auditArch, X32_SYSCALL_BIT, SECCOMP_RET, SECCOMP_DATA, ERRNO, BPF_MAXINSNS, argLowOffset, argHighOffset } from "./types.js";
export type { ArgIndex, ArgCondition, RuleAction, FilterRule, RuleGroup, FilterOptions } from "./policy.js";
export {
  RULE_GROUPS,
  filterRules,
  allFilterRules,
  absentSyscalls,
  CLONE_NS_FLAGS,
  CLONE_NS_MASK,
  TIOCSTI,
  TIOCLINUX,
  MFD_NOEXEC_SEAL,
  AF_UNIX,
  AF_INET,
  AF_INET6,
  PER_LINUX,
  PER_LINUX32,
  PERSONALITY_QUERY,
} from "./policy.js";
export { compileFilter, compileFilterProgram, filterListing, hostArch, actionValue } from "./compile.js";
export { describeRules, type DescribeOptions } from "./describe.js";
export { syscallTable, syscallNumber, syscallName } from "./syscalls.js";
export { Assembler, Label, BPF, encodeProgram, decodeProgram, disassemble, disassembleOne, type SockFilter, type Target, type JumpOp, type AluOp } from "./bpf.js";
