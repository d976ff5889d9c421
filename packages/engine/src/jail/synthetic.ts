// What the jail shows of the machine (issue 12 item 6). Runtimes read a few files at start to size
// themselves: /proc/cpuinfo (Node's os.cpus(), Chromium), /proc/stat (libuv counts CPUs there),
// /proc/meminfo, /sys/devices/system/cpu/{online,possible,present} (glibc's sysconf). The jail's
// /proc is subset=pid and has no /sys: these are files of the plan instead, written from host
// facts that matter to no one (the CPU's model and feature flags, which the CPUID instruction gives
// any process anyway; how many CPUs) and from the jail's own limits (memory). Left out: the CPU's
// microcode level and its "bugs" line (which mitigations the host lacks), live frequencies, times,
// counters, the host's memory. /proc names cannot be added to a subset=pid /proc: each is a file
// under SYNTHETIC_DIR, which the supervisor opens for the /proc name (its table's aliases).
import { readFileSync } from "node:fs";

/** Where the plan's stand-ins for /proc files live in the jail (read-only, like the root). */
export const SYNTHETIC_DIR = "/.mcpj";

/** cpuinfo fields kept (x86 and arm64 spellings); the rest is dropped. */
const CPUINFO_KEEP = new Set([
  "vendor_id", "cpu family", "model", "model name", "stepping", "cache size", "fpu", "fpu_exception", "cpuid level", "wp", "flags",
  "bogomips", "clflush size", "cache_alignment", "address sizes",
  "BogoMIPS", "Features", "CPU implementer", "CPU architecture", "CPU variant", "CPU part", "CPU revision",
]);

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** "0-3,8" → 5 CPUs; the host's online list, or 1 CPU when it cannot be read. */
export function cpuCount(list: string): number {
  let n = 0;
  for (const part of list.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) return 1;
    n += (m[2] !== undefined ? Number(m[2]) - Number(m[1]) : 0) + 1;
  }
  return Math.max(n, 1);
}

/** The first processor's block of a cpuinfo, reduced to CPUINFO_KEEP, repeated for n CPUs. */
export function cpuinfoFor(host: string, n: number): string {
  const first = host.split(/\n\s*\n/)[0] ?? "";
  const kept = first
    .split("\n")
    .filter((l) => CPUINFO_KEEP.has(l.split(":")[0]!.trim()))
    .join("\n");
  return Array.from({ length: n }, (_, i) => `processor\t: ${i}\n${kept}\n\n`).join("");
}

/** A /proc/stat with one line per CPU and no host counters. */
export function statFor(n: number): string {
  const zeros = " 0 0 0 0 0 0 0 0 0 0";
  const cpus = Array.from({ length: n }, (_, i) => `cpu${i}${zeros}\n`).join("");
  return `cpu ${zeros}\n${cpus}intr 0\nctxt 0\nbtime 0\nprocesses 0\nprocs_running 1\nprocs_blocked 0\n`;
}

/** A /proc/meminfo whose total is the jail's memory limit (all of it free, no swap). */
export function meminfoFor(memoryBytes: number): string {
  const kb = Math.floor(memoryBytes / 1024);
  const line = (k: string, v: number) => `${`${k}:`.padEnd(16)}${String(v).padStart(8)} kB\n`;
  return [line("MemTotal", kb), line("MemFree", kb), line("MemAvailable", kb), line("Buffers", 0), line("Cached", 0), line("SwapTotal", 0), line("SwapFree", 0)].join("");
}

export interface SyntheticFile {
  /** Where the file is in the jail. */
  path: string;
  content: string;
  /** The /proc name it stands in for (opened through the supervisor's alias), if any. */
  aliasOf?: string;
}

/** The files, from this host's CPU list and cpuinfo and the jail's memory limit. */
export function syntheticFiles(memoryBytes: number): SyntheticFile[] {
  const online = read("/sys/devices/system/cpu/online")?.trim() ?? "0";
  const n = cpuCount(online);
  const list = n === 1 ? "0\n" : `0-${n - 1}\n`;
  const proc = (name: string, content: string): SyntheticFile => ({ path: `${SYNTHETIC_DIR}/proc/${name}`, content, aliasOf: `/proc/${name}` });
  return [
    ...["online", "possible", "present"].map((f) => ({ path: `/sys/devices/system/cpu/${f}`, content: list })),
    proc("cpuinfo", cpuinfoFor(read("/proc/cpuinfo") ?? "", n)),
    proc("stat", statFor(n)),
    proc("meminfo", meminfoFor(memoryBytes)),
  ];
}
