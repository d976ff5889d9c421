// A refusal told to the model: what the jail refused during a tool call, and the flag that would
// allow it (null when no flag does: a cloud metadata endpoint, the kernel's own refusal). Short and
// structured, for the `_meta` of the tool call's result (docs/audit.md "Denials in results").
import { dirname } from "node:path";
import type { EgressEvent } from "../egress/events.js";
import type { SupervisorEvent } from "../supervisor/events.js";

export interface Refusal {
  /** What the server tried: "read", "write", "exec", "connect", "lookup", or the syscall's name. */
  readonly action: string;
  /** The path, host:port or name. */
  readonly target: string;
  /** The supervisor's or proxy's reason (outside, readonly, glob, exec, policy, metadata, ...). */
  readonly reason: string;
  /** The flag that would allow it, or null when none does. */
  readonly allow: string | null;
}

function action(e: SupervisorEvent): string {
  if (e.syscall === "execve" || e.syscall === "execveat") return "exec";
  if (e.syscall === "connect" || e.syscall === "sendto" || e.syscall === "sendmsg" || e.syscall === "sendmmsg") return "connect";
  if (e.syscall === "openat" || e.syscall === "open" || e.syscall === "creat") return e.access === undefined || e.access === "read" ? "read" : "write";
  return e.syscall ?? "use";
}

function hostPort(e: SupervisorEvent): string {
  if (e.host !== undefined) return `${e.host}:${e.port ?? 0}`;
  const a = e.address ?? "?";
  return a.includes(":") ? `[${a}]:${e.port ?? 0}` : `${a}:${e.port ?? 0}`;
}

/** The refusal a supervisor denial stands for; null for anything that is not a denial. */
export function refusalOfSyscall(e: SupervisorEvent): Refusal | null {
  if (e.action !== "deny") return null;
  const act = action(e);
  const target = e.address !== undefined ? hostPort(e) : (e.path ?? "?");
  const reason = e.reason ?? "policy";
  const dir = e.path !== undefined ? (act === "read" || act === "exec" ? e.path : dirname(e.path)) : null;
  let allow: string | null = null;
  switch (reason) {
    case "outside":
      allow = dir === null ? null : act === "read" || act === "exec" ? `--ro ${dir}` : `--rw ${dir}`;
      break;
    case "readonly":
      allow = dir === null ? null : `--rw ${dir}`;
      break;
    case "exec":
      allow = e.path === undefined ? null : `--allow-exec ${e.path}`;
      break;
    case "glob":
      allow = e.rule === undefined ? null : `remove the deny rule ${e.rule}`;
      break;
    case "policy":
      allow = e.address !== undefined ? `--allow-net ${hostPort(e)}` : null;
      break;
  }
  return { action: act, target, reason: e.rule !== undefined && reason !== "glob" ? `${reason}: ${e.rule}` : reason, allow };
}

/** The refusal an egress or resolver denial stands for; null otherwise. */
export function refusalOfEgress(e: EgressEvent): Refusal | null {
  if (e.type === "dns" && e.decision === "deny") {
    return { action: "lookup", target: e.name, reason: e.reason ?? "not-allowed", allow: e.reason === "not-allowed" ? `--allow-net ${e.name}` : null };
  }
  if (e.type === "net_deny") {
    const allow = e.reason === "not-allowed" ? `--allow-net ${e.host}:${e.port}` : null;
    return { action: "connect", target: `${e.host}:${e.port}`, reason: e.kind !== undefined ? `${e.reason}: ${e.kind}` : e.reason, allow };
  }
  return null;
}

/** The text block appended to a result when the policy asks for it (audit.denialText). */
export function refusalText(refusals: readonly Refusal[]): string {
  const lines = refusals.map((r) => `- ${r.action} ${r.target}: refused (${r.reason})${r.allow !== null ? `; the user can allow it with ${r.allow}` : ""}`);
  return [`mcp-j: the jail refused ${refusals.length} action(s) during this call:`, ...lines].join("\n");
}
