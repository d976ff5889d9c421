// Test helpers for jail tests: run a command in the real jail (the same prepareJail/startJail the
// CLI uses), compile attack programs in C, and check that nothing of a jail outlives it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, closeSync, copyFileSync, existsSync, openSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PolicySchema, type Policy, type PolicyInput } from "../../src/policy/schema.js";
import { prepareJail, startJail, type PrepareOptions } from "../../src/launch.js";
import type { JailExit, JailReady } from "../../src/jail/jail.js";
import type { JailReport } from "../../src/jail/reports.js";
import { bound } from "./time.js";

export { bound, timeScale, waitFor, waitForValue } from "./time.js";

/** A directory readable by every user (the unprivileged CI run too) holding compiled test programs. */
export const programsDir = join(tmpdir(), `mcpj-test-programs-${process.getuid?.() ?? 0}`);

/** Binaries compiled ahead, by the same name (content hash included): the VM harness copies the
 * host's here, since a compile under emulation takes 10-20 s (scripts/vm/ci.sh). */
const prebuiltDir = process.env.MCPJ_TEST_PROGRAMS_PREBUILT;

/** Compiles C source with the system compiler into programsDir (cached by content); returns the
 * binary's path, which tests grant with --ro programsDir. */
export function compileC(name: string, source: string, flags: string[] = []): string {
  mkdirSync(programsDir, { recursive: true, mode: 0o755 });
  chmodSync(programsDir, 0o755);
  const hash = createHash("sha256").update(source).update(flags.join(" ")).digest("hex").slice(0, 12);
  const out = join(programsDir, `${name}-${hash}`);
  if (!existsSync(out)) {
    // Test files run in parallel and may compile the same program: each compiles under its own
    // name and renames into place, so nobody ever runs a half-written binary.
    const tmp = `${out}.${process.pid}.tmp`;
    const src = `${tmp}.c`;
    const prebuilt = prebuiltDir !== undefined && prebuiltDir !== "" ? join(prebuiltDir, `${name}-${hash}`) : undefined;
    writeFileSync(src, source);
    try {
      if (prebuilt !== undefined && existsSync(prebuilt)) copyFileSync(prebuilt, tmp);
      else execFileSync("cc", ["-O1", "-Wall", "-o", tmp, src, ...flags], { stdio: ["ignore", "ignore", "inherit"] });
      chmodSync(tmp, 0o755);
      renameSync(tmp, out);
    } finally {
      rmSync(src, { force: true });
      rmSync(tmp, { force: true });
    }
  }
  return out;
}

/** What this kernel does, measured on the host (no jail) by running a small program once. */
export interface HostKernel {
  /** The i386 ABI (`int $0x80`) exists: without IA32 emulation the CPU raises SIGSEGV instead. */
  ia32: boolean;
  /** memfd_create knows MFD_NOEXEC_SEAL (6.3+); older kernels refuse the flag with EINVAL. */
  memfdNoexecSeal: boolean;
}

let hostKernelCache: HostKernel | undefined;
export function hostKernel(): HostKernel {
  if (hostKernelCache) return hostKernelCache;
  const probe = compileC(
    "host-kernel-probe",
    `#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
#if defined(__x86_64__)
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
#endif
        _exit(0);
    }
    int st = 0;
    waitpid(p, &st, 0);
    printf("ia32=%d\\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("memfd_noexec_seal=%d\\n", memfd_create("x", MFD_CLOEXEC | 0x0008) >= 0);
    return 0;
}
`,
  );
  const out = execFileSync(probe, { encoding: "utf8" });
  hostKernelCache = { ia32: /ia32=1/.test(out), memfdNoexecSeal: /memfd_noexec_seal=1/.test(out) };
  return hostKernelCache;
}

export interface JailedResult {
  code: number;
  stdout: string;
  stderr: string;
  exit: JailExit;
  ready: JailReady | null;
  reports: JailReport[];
  /** The jail's PID namespace ("pid:[N]"), read while it ran; null if it never started. */
  pidNamespace: string | null;
}

export interface RunOptions extends Partial<Omit<PrepareOptions, "policy" | "command">> {
  policy?: PolicyInput;
  /** A policy resolvePolicy() made (the command line's path), used as it is instead of `policy`. */
  resolved?: Policy;
  stdin?: string;
  /** Kill the jail after this many ms, scaled by bound() (a safety net against hangs, not an assertion). */
  killAfterMs?: number;
}

/** Host pids of the direct children of pid. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

function pidNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/**
 * Keeps the PID namespace ns (of a live jail) from being freed until the returned function is
 * called: a freed namespace's inode number goes to the next namespace made (another test file's
 * jail, in parallel), whose processes would then look like leftovers of this one.
 */
export function holdPidNamespace(ns: string): () => void {
  for (const pid of processesInNamespace(ns)) {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/ns/pid`, "r");
    } catch {
      continue;
    }
    if (readlinkSync(`/proc/self/fd/${fd}`) === ns) return () => closeSync(fd);
    closeSync(fd);
  }
  throw new Error(`no process of the PID namespace ${ns} to hold it by`);
}

/** Host pids whose PID namespace is ns (processes left over from a jail). */
export function processesInNamespace(ns: string): number[] {
  const left: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    if (pidNamespaceOf(Number(d)) === ns && !isZombie(Number(d))) left.push(Number(d));
  }
  return left;
}

export async function runJailed(command: string[], o: RunOptions = {}): Promise<JailedResult> {
  const policy = o.resolved ?? PolicySchema.parse(o.policy ?? {});
  const prepared = prepareJail({ cwd: o.cwd ?? process.cwd(), env: o.env ?? process.env, ...o, policy, command });
  const jail = startJail(prepared, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const reports: JailReport[] = [];
  jail.onReport((r) => reports.push(r));
  let stdout = "";
  let stderr = "";
  jail.process.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  jail.process.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  jail.stdin?.on("error", () => {});
  jail.stdin?.end(o.stdin ?? "");
  const timer = setTimeout(() => jail.signal("SIGKILL"), bound(o.killAfterMs ?? 60_000));
  let ready: JailReady | null = null;
  let pidNamespace: string | null = null;
  // The namespace is held open until the check below: a freed namespace's inode number is handed to
  // the next one made (another test file's jail, running in parallel), whose processes would then
  // look like ours.
  let release = () => {};
  try {
    ready = await jail.ready;
    const init = jail.pid !== undefined ? childrenOf(jail.pid)[0] : undefined;
    if (init !== undefined) pidNamespace = pidNamespaceOf(init);
    if (pidNamespace !== null) release = holdPidNamespace(pidNamespace);
  } catch {
    /* the exit says why */
  }
  const exit = await jail.exited;
  clearTimeout(timer);
  try {
    // Issue 5: after every jail test, no process of the test's jail remains.
    if (pidNamespace !== null) {
      const end = Date.now() + bound(1000);
      while (processesInNamespace(pidNamespace).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const left = processesInNamespace(pidNamespace);
      if (left.length > 0) throw new Error(`processes of the jail (${pidNamespace}) outlived it: ${left.join(" ")}`);
    }
  } finally {
    release();
  }
  return { code: exit.code, stdout, stderr, exit, ready, reports, pidNamespace };
}
