// Kernel ABI constants shared by the seccomp filter compiler, its policy table and its tests.
// Values from <linux/seccomp.h>, <linux/audit.h>, <linux/elf-em.h>; identical on x86_64 and aarch64.

export type Arch = "x86_64" | "aarch64";

export const ARCHES: readonly Arch[] = Object.freeze(["x86_64", "aarch64"] as const);

/** AUDIT_ARCH_* values as struct seccomp_data.arch reports them. */
export const AUDIT_ARCH = Object.freeze({
  X86_64: 0xc000003e, // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
  AARCH64: 0xc00000b7, // EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
  I386: 0x40000003, // int $0x80 / sysenter from a 64-bit x86 process: killed
  ARM: 0x40000028, // AArch32 compat task on arm64: killed
});

export function auditArch(arch: Arch): number {
  return arch === "x86_64" ? AUDIT_ARCH.X86_64 : AUDIT_ARCH.AARCH64;
}

/** Bit 30 of nr marks an x32 ABI syscall on x86_64 (__X32_SYSCALL_BIT). */
export const X32_SYSCALL_BIT = 0x40000000;

/** SECCOMP_RET_* action values (the high 16 bits of a filter's return value). */
export const SECCOMP_RET = Object.freeze({
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
});
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** The errno values the filter returns (asm-generic numbering, shared by x86_64 and aarch64). */
export const ERRNO = Object.freeze({ EPERM: 1, ENOSYS: 38, EAFNOSUPPORT: 97 });
export type ErrnoName = keyof typeof ERRNO;

/** Layout of struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }. */
export const SECCOMP_DATA = Object.freeze({
  NR: 0,
  ARCH: 4,
  IP: 8,
  ARGS: 16,
  SIZE: 64,
});

/**
 * Offset of the low 32 bits of args[i]. Both supported architectures are little-endian, so the low
 * word comes first. Classic BPF loads are 32-bit (BPF_LD|BPF_W|BPF_ABS), and seccomp_data holds
 * every argument as a u64 even where the syscall's C prototype is `int`/`unsigned int`.
 */
export function argLowOffset(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i > 5) throw new RangeError(`seccomp: argument index ${i} is not 0..5`);
  return SECCOMP_DATA.ARGS + 8 * i;
}
/** Offset of the high 32 bits of args[i] (little-endian). */
export function argHighOffset(i: number): number {
  return argLowOffset(i) + 4;
}

/** BPF_MAXINSNS: the kernel refuses longer classic programs. */
export const BPF_MAXINSNS = 4096;
