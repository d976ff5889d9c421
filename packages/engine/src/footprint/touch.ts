// What a server touched, in the few kinds learn mode and pinning reason about: a path read, a path
// written (opened for writing, created, removed, renamed, its mode or times changed...), a program
// executed, a host contacted. Built from the supervisor's and the egress proxy's allowed events;
// denials and failures are not part of a footprint (they are what the jail refused).
import type { EgressEvent } from "../egress/events.js";
import type { SupervisorEvent } from "../supervisor/events.js";

export type Touch =
  | { readonly kind: "read" | "write" | "exec"; readonly path: string }
  | { readonly kind: "net"; readonly host: string; readonly port: number };

const OPENS = new Set(["openat", "open", "creat"]);

/** The touch an allowed supervisor event stands for, or null (denied, failed, a socket call: the
 * egress proxy reports where connections went, by name). */
export function touchOfSyscall(e: SupervisorEvent): Touch | null {
  if (e.action !== "allow" || e.syscall === null || e.path === undefined) return null;
  if (e.syscall === "execve" || e.syscall === "execveat") return { kind: "exec", path: e.path };
  if (e.syscall === "connect" || e.syscall === "bind" || e.syscall.startsWith("send")) return null;
  if (OPENS.has(e.syscall)) return { kind: e.access === undefined || e.access === "read" ? "read" : "write", path: e.path };
  return { kind: "write", path: e.path };
}

/** The touch an egress event stands for: a connection the proxy admitted (its name and port). */
export function touchOfEgress(e: EgressEvent): Touch | null {
  return e.type === "net_allow" ? { kind: "net", host: e.host, port: e.port } : null;
}

export function showTouch(t: Touch): string {
  return t.kind === "net" ? `net ${t.host}:${t.port}` : `${t.kind} ${t.path}`;
}
