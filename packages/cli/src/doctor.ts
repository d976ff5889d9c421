// `mcp-j doctor`: every kernel feature the jail uses, probed for real by mcpj-jail --probe, what
// each layer will do on this machine, the environment's restrictions with their fix (containers,
// Kubernetes, gVisor, AppArmor), and exit 0 only when the mandatory ones work.
import { readFileSync } from "node:fs";
import {
  detectCgroupV2,
  userManager,
  Downgrade,
  DOWNGRADES,
  downgradeNames,
  errnoName as errnoText,
  feature,
  fixFor,
  helperPath,
  JailError,
  landlockDowngrades,
  probeKernel,
  readEnvironment,
  restrictions,
  type Restriction,
} from "@mcp-j/engine/core";

import { type CommandIo } from "./io.js";

export interface DoctorRow {
  /** The feature's name (no layout: the table indents detail rows itself). */
  feature: string;
  /** Set on a detail of the row above it (a flag of seccomp user notification). */
  detailOf?: string;
  status: string;
  effect: string;
  mandatory: boolean;
  ok: boolean;
}

function sysctl(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

export function doctorRows(): DoctorRow[] {
  const p = probeKernel();
  const get = (n: string) => feature(p, n);
  const facts = readEnvironment();
  const found = restrictions(facts, p);
  const helper = helperPath();
  const fixOf = (kind: Restriction["kind"]): string | undefined => {
    const r = found.find((x) => x.kind === kind);
    return r === undefined ? undefined : fixFor(r, facts, helper);
  };
  const envFix = fixOf("gvisor") ?? fixOf("apparmor_userns") ?? fixOf("userns_disabled") ?? fixOf("seccomp");
  const rows: DoctorRow[] = [];
  const userns = get("userns");
  const ns = get("namespaces_mount");
  const clone3 = get("clone3_namespaces");
  const proc = get("proc_mount");
  rows.push({
    feature: "user namespaces",
    status: userns.ok ? "ok" : `fails: ${errnoText(userns.errno)}`,
    effect: userns.ok ? "the jail runs as uid 65534 with no capabilities" : `mcp-j cannot run: ${envFix ?? "enable unprivileged user namespaces"}`,
    mandatory: true,
    ok: userns.ok,
  });
  if (facts.apparmorRestrictsUserns !== null) {
    rows.push({
      feature: "AppArmor userns restriction",
      status: facts.apparmorRestrictsUserns ? "on" : "off",
      effect: facts.apparmorRestrictsUserns ? (userns.ok ? "mcp-j's helper is allowed user namespaces" : "blocks unprivileged jails unless a profile allows mcp-j's helper") : "no effect",
      mandatory: false,
      ok: true,
    });
  }
  const nsOk = ns.ok && clone3.ok;
  rows.push({
    feature: "mount/pid/net/ipc/uts/cgroup namespaces",
    status: nsOk ? "ok" : `fails: ${errnoText(ns.ok ? clone3.errno : ns.errno)}${ns.ok ? " (clone3)" : ""}`,
    effect: nsOk ? "private root (pivot_root), network with only lo" : `mcp-j cannot run: ${envFix ?? "mount and namespace calls are refused here"}`,
    mandatory: true,
    ok: nsOk,
  });
  rows.push({
    feature: "fresh /proc",
    status: proc.ok ? "ok" : `fails: ${errnoText(proc.errno)}`,
    effect: proc.ok ? "the jail mounts its own /proc (only its processes)" : `mcp-j cannot run: ${fixOf("masked_proc") ?? envFix ?? "proc cannot be mounted in a new PID namespace here"}`,
    mandatory: true,
    ok: proc.ok,
  });
  const ll = get("landlock");
  rows.push({
    feature: "Landlock",
    status: ll.ok ? `ABI ${ll.value}` : `unavailable: ${errnoText(ll.errno)}`,
    effect: ll.ok
      ? "default-deny file access, exec per file, and what the downgrade rows below say for this ABI"
      : `mcp-j refuses to start: ${fixOf("gvisor") ?? fixOf("landlock") ?? "Landlock is needed"}`,
    mandatory: true,
    ok: ll.ok,
  });
  // What this kernel cannot give as planned, and what covers it (jail/downgrades.ts, the table the
  // plan and --strict use): one row each.
  const taken =
    (ll.ok ? landlockDowngrades(ll.value) : 0) |
    (get("seccomp_wait_killable_recv").ok ? 0 : Downgrade.waitKillable) |
    0; /* /proc subset=pid is 5.8+, below Landlock's 5.13: never missing where the jail can run */
  for (const name of downgradeNames(taken)) {
    const d = DOWNGRADES[name];
    rows.push({
      feature: `downgrade: ${d.missing}`,
      status: `missing (Linux ${d.since}+ has it)`,
      effect: d.coveredBy !== null ? `covered by ${d.coveredBy}` : "not covered: --strict refuses to start",
      mandatory: false,
      ok: true,
    });
  }
  const sl = get("seccomp_listener");
  rows.push({
    feature: "seccomp user notification",
    status: sl.ok ? "ok" : `fails: ${errnoText(sl.errno)}`,
    effect: sl.ok ? "openat/connect/bind/execve decided by the supervisor" : `mcp-j cannot supervise syscalls: ${fixOf("gvisor") ?? "kernel 5.0+ needed"}`,
    mandatory: true,
    ok: sl.ok,
  });
  const wk = get("seccomp_wait_killable_recv");
  rows.push({
    feature: "WAIT_KILLABLE_RECV",
    detailOf: "seccomp user notification",
    status: wk.ok ? "ok" : "missing",
    effect: wk.ok ? "signals cannot restart a notified syscall" : "a signal during a notified syscall restarts it (5.19+ fixes)",
    mandatory: false,
    ok: true,
  });
  const sw = get("seccomp_sync_wakeup");
  rows.push({
    feature: "SYNC_WAKE_UP",
    detailOf: "seccomp user notification",
    status: sw.ok ? "ok" : "missing",
    effect: sw.ok ? "faster notification round trips" : "slightly slower supervision (6.6+ has it)",
    mandatory: false,
    ok: true,
  });
  const pg = get("pidfd_getfd");
  rows.push({
    feature: "pidfd_getfd",
    status: pg.ok ? "ok" : `fails: ${errnoText(pg.errno)}`,
    effect: pg.ok ? "connect/bind performed on a copy of the address (race-free)" : "mcp-j cannot supervise sockets (5.6+ needed)",
    mandatory: true,
    ok: pg.ok,
  });
  const cg = detectCgroupV2();
  // Without a route of its own, an unprivileged mcp-j asks the user's systemd manager for a scope.
  const manager = cg.usable ? undefined : userManager(process.env);
  rows.push({
    feature: "cgroup v2 (memory, pids)",
    status: cg.usable ? `usable (${cg.route}: ${cg.parentDir}/mcp-j)` : manager?.available ? "usable (user scope: each jail asks the systemd user manager for one)" : "not usable",
    effect: cg.usable
      ? `each jail gets memory.max, memory.swap.max=0, pids.max${cg.controllers.includes("cpu") ? ", cpu.max with --cpus" : ""}; OOM kills reported`
      : manager?.available
        ? `each jail's helper runs in a transient scope (as systemd-run --user --scope -p Delegate=yes makes) and the jail in a cgroup there with memory.max, memory.swap.max=0, pids.max; where the manager cannot make one for mcp-j, the supervisor's memory watch. Own cgroup: ${cg.reason}`
        : `the supervisor watches the whole jail's memory and kills it past the limit, pids are RLIMIT_NPROC, no cgroup.kill; --strict refuses to start. Why: ${cg.reason}${manager !== undefined ? `; ${manager.reason}` : ""}`,
    mandatory: false,
    ok: true,
  });
  const io = sysctl("/proc/sys/kernel/io_uring_disabled");
  rows.push({
    feature: "io_uring sysctl",
    status: io === null ? "absent" : `io_uring_disabled=${io}`,
    effect: "io_uring is refused inside the jail by the seccomp filter either way",
    mandatory: false,
    ok: true,
  });
  rows.push({
    feature: "environment",
    status: facts.gvisor ? "gVisor" : (facts.container ?? "no container seen"),
    effect: found.length === 0 ? "nothing here restricts the jail" : found.map((r) => fixFor(r, facts, helper)).filter((t, i, a) => a.indexOf(t) === i).join("; and "),
    mandatory: false,
    ok: true,
  });
  const ti = sysctl("/proc/sys/dev/tty/legacy_tiocsti");
  rows.push({
    feature: "TIOCSTI sysctl",
    status: ti === null ? "absent" : `legacy_tiocsti=${ti}`,
    effect: "the jail has no controlling terminal and TIOCSTI is refused by the filter either way",
    mandatory: false,
    ok: true,
  });
  return rows;
}

export async function doctorCommand(argv: string[], io: CommandIo): Promise<number> {
  const json = argv.includes("--json");
  const unknown = argv.filter((a) => a !== "--json");
  if (unknown.length > 0) {
    io.stderr.write(`mcp-j doctor: unknown argument ${unknown[0]} (usage: mcp-j doctor [--json])\n`);
    return 2;
  }
  let rows: DoctorRow[];
  try {
    rows = doctorRows();
  } catch (e) {
    if (e instanceof JailError) {
      io.stderr.write(`mcp-j doctor: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const ok = rows.every((r) => !r.mandatory || r.ok);
  if (json) {
    io.stdout.write(JSON.stringify({ ok, features: rows }, null, 2) + "\n");
  } else {
    const name = (r: DoctorRow) => (r.detailOf !== undefined ? `  ${r.feature}` : r.feature);
    const w1 = Math.max(...rows.map((r) => name(r).length));
    const w2 = Math.max(...rows.map((r) => r.status.length));
    for (const r of rows) {
      const mark = r.ok ? (r.mandatory ? "ok " : "   ") : "NO ";
      io.stdout.write(`${mark} ${name(r).padEnd(w1)}  ${r.status.padEnd(w2)}  ${r.effect}\n`);
    }
    io.stdout.write(ok ? "\nmcp-j can run here.\n" : "\nmcp-j cannot run here: fix the lines marked NO.\n");
  }
  return ok ? 0 : 1;
}
