// The supervisor's audit events: "ev k=v ..." lines from the C loop (parsed by jail/reports.ts into
// { type: "event", fields }), decoded into a typed event, and the one human line mcp-j prints on
// stderr for a denial.
import { escapeHidingCharacters } from "../footprint/pin.js";
import { errnoName } from "../jail/errno.js";

/** Every syscall the supervisor decides, and the verb a denial line uses for it (the C side names
 * them in native/jail/sup_answer.c, SC_NAME). */
const VERB = {
  openat: "open",
  open: "open",
  creat: "create",
  connect: "connect to",
  bind: "bind to",
  execve: "execute",
  execveat: "execute",
  sendto: "send to",
  sendmsg: "send to",
  sendmmsg: "send to",
  truncate: "truncate",
  unlink: "remove",
  unlinkat: "remove",
  rmdir: "remove",
  rename: "rename",
  renameat: "rename",
  renameat2: "rename",
  link: "link",
  linkat: "link",
  symlink: "create the symlink",
  symlinkat: "create the symlink",
  mkdir: "create the directory",
  mkdirat: "create the directory",
  mknod: "create",
  mknodat: "create",
  chmod: "change the mode of",
  fchmodat: "change the mode of",
  fchmodat2: "change the mode of",
  chown: "change the owner of",
  lchown: "change the owner of",
  fchownat: "change the owner of",
  utime: "change the times of",
  utimes: "change the times of",
  futimesat: "change the times of",
  utimensat: "change the times of",
  setxattr: "set an attribute of",
  lsetxattr: "set an attribute of",
  removexattr: "remove an attribute of",
  lremovexattr: "remove an attribute of",
} as const;

export type SupervisorSyscall = keyof typeof VERB;

export interface SupervisorEvent {
  action: "allow" | "deny" | "fail" | "dropped";
  syscall: SupervisorSyscall | null;
  /** Host pid of the thread that made the call. */
  pid: number | null;
  /** openat/exec: the path in the jail (the real path when it resolved); unix sockets: the address. */
  path?: string;
  /** connect/bind on IP sockets. */
  address?: string;
  port?: number;
  /** The name an address stands for, when the jail's resolver handed it out (added by mcp-j:
   * egress/names.ts NameMap). */
  host?: string;
  /** The errno the jailed process got (0 when allowed). */
  errno: number;
  /** Why it was refused: glob (a deny rule), outside (not granted), readonly, exec (not on the exec
   * allowlist), metadata, policy (destination not allowed), udp (a datagram or UDP connect out of
   * the jail), redirect (allowed: performed against the egress proxy), link (magic link or loop), kernel
   * (Landlock / mode bits / read-only mount), fd, family, unreadable, proc (another process's
   * private /proc entry), socket (a unix datagram with control data), deputy, busy. */
  reason?: string;
  /** The deny glob or the metadata endpoint's name. */
  rule?: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** CLOCK_MONOTONIC nanoseconds when the supervisor decided (process.hrtime.bigint()'s clock):
   * what attribution places among the JSON-RPC messages. */
  mono?: bigint;
  /** open: what it asked for. */
  access?: "read" | "write" | "readwrite" | "create";
  /** For "dropped": how many events the bounded buffer lost. */
  count?: number;
  /** The report left a value out as too long to carry (native/jail/report.h: never cut), or a
   * value was not UTF-8 (shown with U+FFFD). */
  incomplete?: true;
}

const SYSCALLS = new Set<string>(Object.keys(VERB));

/** The event a report's fields say; `lossy`: a value was not UTF-8 (reports.ts parseFields), so
 * the event does not say exactly what was touched, as one that left a value out. */
export function decodeEvent(f: Record<string, string>, lossy = false): SupervisorEvent | null {
  const act = f.act;
  if (act !== "allow" && act !== "deny" && act !== "fail" && act !== "dropped") return null;
  const num = (k: string): number | undefined => (f[k] !== undefined && /^-?\d+$/.test(f[k]!) ? Number(f[k]) : undefined);
  const e: SupervisorEvent = {
    action: act,
    syscall: f.sc !== undefined && SYSCALLS.has(f.sc) ? (f.sc as SupervisorSyscall) : null,
    pid: num("pid") ?? null,
    errno: num("errno") ?? 0,
    time: num("t") ?? Date.now(),
  };
  if (f.path !== undefined) e.path = f.path;
  if (f.addr !== undefined) e.address = f.addr;
  const port = num("port");
  if (port !== undefined) e.port = port;
  if (f.why !== undefined) e.reason = f.why;
  if (f.rule !== undefined) e.rule = f.rule;
  const count = num("count");
  if (count !== undefined) e.count = count;
  if (f.mono !== undefined && /^\d+$/.test(f.mono)) e.mono = BigInt(f.mono);
  if (f.acc === "read" || f.acc === "write" || f.acc === "readwrite" || f.acc === "create") e.access = f.acc;
  if (f.cut === "1" || lossy) e.incomplete = true;
  return e;
}

function hostPort(e: SupervisorEvent): string {
  if (e.host !== undefined) return `${e.host}:${e.port ?? 0}`;
  const a = e.address ?? "?";
  return a.includes(":") ? `[${a}]:${e.port ?? 0}` : `${a}:${e.port ?? 0}`;
}

function target(e: SupervisorEvent): string {
  if (e.address !== undefined) return e.host !== undefined ? `${hostPort(e)} (${e.address})` : hostPort(e);
  return e.path ?? "?";
}

const REASONS: Record<string, (e: SupervisorEvent) => string> = {
  glob: (e) => `it matches the deny rule ${e.rule ?? "?"}`,
  outside: () => "it is outside every grant (--ro/--rw)",
  readonly: () => "the grant is read-only",
  exec: () => "it is not on the exec allowlist (--allow-exec PATH)",
  loader: () => "the ELF loader was running as a program (an execve path rewritten after approval): the process was killed",
  metadata: (e) => `it is ${e.rule ?? "a cloud metadata endpoint"}`,
  policy: (e) => `--allow-net does not name it (allow it with --allow-net ${hostPort(e)})`,
  udp: () => "UDP does not leave the jail (only DNS to the jail's own resolver; TCP goes where --allow-net allows)",
  link: () => "it goes through a /proc magic link or a symlink loop",
  kernel: () => "the kernel refused it (Landlock, file mode or read-only mount)",
  fd: () => "the descriptor has no path in the jail (memfd or deleted file)",
  family: () => "the socket family is not allowed",
  unreadable: () => "its arguments could not be read",
  proc: () => "it is another process's private /proc entry (or the jail's deputy)",
  socket: () => "unix datagrams with control data (descriptors, credentials) are not carried",
  deputy: () => "the jail's deputy is gone (a jail process killed it): supervised calls fail",
  busy: () => "the jail's deputy is too far behind",
};

/** One human line for a denial (or a dropped-events notice); null for anything else. */
export function formatDenial(e: SupervisorEvent): string | null {
  if (e.action === "dropped") return `mcp-j: the supervisor dropped ${e.count ?? "?"} audit event(s) (the event buffer was full)`;
  if (e.action !== "deny") return null;
  const verb = e.syscall !== null ? VERB[e.syscall] : "use";
  const why = e.reason !== undefined ? (REASONS[e.reason]?.(e) ?? e.reason) : "policy";
  const err = e.errno !== 0 ? ` (${errnoName(e.errno)})` : "";
  // The path is the jail's choice: a newline or an escape sequence in it must not forge a line or
  // reach the terminal (mcp-j's own words have none of these characters).
  return escapeHidingCharacters(`mcp-j: denied: the server tried to ${verb} ${target(e)}: ${why}${err}${e.pid !== null ? ` [pid ${e.pid}]` : ""}`);
}

const ENOENT = 2;

/** A look at a path that does not exist in the jail, answered as the kernel would answer it for a
 * missing file: routine for runtimes (Node reads its cgroup v1 limits, Python its site
 * directories), so it stays in the audit log and off the client's log (issue 12 item 5). */
export function isRoutineProbe(e: SupervisorEvent): boolean {
  return e.action === "deny" && e.reason === "outside" && e.errno === ENOENT;
}

/** Prints each distinct denial once (same syscall kind, target and reason), routine probes of
 * paths the jail does not have excepted. */
export function denialReporter(write: (line: string) => void): (e: SupervisorEvent) => void {
  const seen = new Set<string>();
  return (e) => {
    if (isRoutineProbe(e)) return;
    const line = formatDenial(e);
    if (line === null) return;
    // One line for the same entry of every process (Chromium writes /proc/N/oom_score_adj for each
    // renderer): the pid in a /proc path does not make a denial distinct.
    const where = target(e).replace(/^\/proc\/\d+\//, "/proc/PID/");
    const key = e.action === "dropped" ? `dropped:${e.time}` : `${e.syscall === null ? "" : VERB[e.syscall]}|${where}|${e.reason ?? ""}`;
    if (seen.has(key)) return;
    if (seen.size > 10_000) seen.clear();
    seen.add(key);
    write(line);
  };
}

/**
 * The note said once when a jail that has no network tries to reach one (issue 12 item 3): the first
 * refused connect or send to an IP address, or the first name looked up (the jail's resolver
 * refuses every name: egress/resolver.ts), names the flag to add.
 */
export function networkRefusalNote(write: (line: string) => void): (e: SupervisorEvent | { lookup: string }) => void {
  let said = false;
  return (e) => {
    if (said) return;
    if ("lookup" in e) {
      said = true;
      write(`mcp-j: this jail has no network (the server looked up ${e.lookup}): allow each host it needs with --allow-net HOST[:PORT]`);
      return;
    }
    if (e.action !== "deny" || (e.syscall !== "connect" && e.syscall !== "sendto") || e.address === undefined) return;
    said = true;
    write(`mcp-j: this jail has no network (the server tried ${target(e)}): allow each host it needs with --allow-net HOST[:PORT]`);
  };
}
