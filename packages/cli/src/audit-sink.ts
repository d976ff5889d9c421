// Every layer's events, turned into the audit log's one schema (docs/audit.md) and, for denials,
// one human line on stderr. The layers know nothing of the audit log; this is the one place that
// maps their event types onto it.
import type { ProxyEvent } from "@mcp-j/proxy";
import { errnoName, openAuditLog, parseSize, type AuditEventInput, type AuditLog, type CgroupEvent, type EgressEvent, type Policy, type SupervisorEvent } from "@mcp-j/engine/core";

/** The client requests in flight when an event happened (attribution.ts), as the audit log says it. */
export type AuditRequests = "idle" | Array<{ method: string; id: string | number; tool?: string }>;

export interface AuditSink {
  readonly jailId: string;
  write(e: AuditEventInput): void;
  proxy(e: ProxyEvent): void;
  egress(e: EgressEvent, requests?: AuditRequests): void;
  cgroup(e: CgroupEvent): void;
  syscall(e: SupervisorEvent, requests?: AuditRequests): void;
  close(): Promise<void>;
}

const DENIAL_TYPES = new Set(["jail.start", "exit", "limit", "rpc", "pin", "audit.dropped", "audit.rotated"]);

/** Opens the policy's audit log (throws AuditLogError when it cannot be); `say` hears of a
 * rotation or a write that failed (once each: the log goes on). */
export function openAuditSink(policy: Policy, jailId: string, secrets: string[], say: (line: string) => void): AuditSink {
  const log: AuditLog | null =
    policy.audit.file !== undefined
      ? openAuditLog(policy.audit.file, {
          secrets,
          rotateBytes: parseSize(policy.audit.rotateBytes),
          keepFiles: policy.audit.keepFiles,
          log: say,
        })
      : null;
  const keep = (e: AuditEventInput): boolean => {
    if (policy.audit.verbosity !== "denials") return true;
    return DENIAL_TYPES.has(e.type) || ("decision" in e && e.decision === "deny");
  };
  const write = (e: AuditEventInput): void => {
    if (log !== null && keep(e)) log.write(e);
  };
  const id = (x: unknown): string | number | null => (typeof x === "string" || typeof x === "number" ? x : null);
  // Attribution: the set in flight, and request_id when the set has exactly one request.
  const attributed = (r: AuditRequests | undefined) =>
    r === undefined ? {} : r !== "idle" && r.length === 1 ? { requests: r, request_id: r[0]!.id } : { requests: r };
  return {
    jailId,
    write,
    proxy(e) {
      switch (e.type) {
        case "tool_call":
          write({
            type: "tool",
            jail: jailId,
            request_id: id(e.id),
            name: e.name ?? "",
            decision: e.outcome === "denied" ? "deny" : "allow",
            outcome: e.outcome === "ok" ? "ok" : e.outcome === "denied" ? "denied" : e.outcome === "cancelled" ? "cancelled" : e.outcome === "server-gone" ? "no_response" : "error",
            duration_ms: e.durationMs,
            bytes: e.responseBytes,
            ...(e.outcome !== "ok" && e.outcome !== "denied" ? { reason: e.outcome } : {}),
          });
          break;
        case "message_oversized":
          write({
            type: "limit",
            jail: jailId,
            request_id: id(e.id),
            limit: "message_size",
            event: e.from === "client" ? "oversize_request" : "oversize_response",
            value: e.limit,
            detail: `${e.bytes} bytes discarded`,
          });
          break;
        case "message_invalid":
          write({ type: "rpc", jail: jailId, request_id: id(e.id), direction: e.from, code: e.code, detail: e.reason });
          break;
        case "response_dropped":
          write({ type: "rpc", jail: jailId, request_id: id(e.id), direction: e.from, code: -32603, detail: `response dropped: ${e.reason}` });
          break;
        case "server_output_nonjson":
          write({ type: "rpc", jail: jailId, direction: "server", code: -32700, detail: `non-JSON output (${e.bytes} bytes) sent to stderr` });
          break;
        case "server_gone":
          break; // the exit event says it
      }
    },
    egress(e, requests) {
      const at = attributed(requests);
      switch (e.type) {
        case "net_allow":
          break; // net_close carries the same with bytes and duration
        case "net_close":
          write({
            type: "net",
            jail: jailId,
            decision: "allow",
            host: e.host,
            port: e.port,
            method: e.method,
            resolved: e.address,
            bytes_in: e.bytesDown,
            bytes_out: e.bytesUp,
            duration_ms: e.durationMs,
            ...(e.error !== undefined ? { reason: e.error } : {}),
            ...at,
          });
          break;
        case "net_deny":
          write({
            type: "net",
            jail: jailId,
            decision: "deny",
            host: e.host,
            port: e.port,
            method: e.method,
            ...(e.address !== undefined ? { resolved: e.address } : {}),
            reason: e.kind !== undefined ? `${e.reason}: ${e.kind}` : e.reason,
            ...at,
          });
          break;
        case "net_error":
          write({ type: "limit", jail: jailId, limit: "connections", event: e.reason, detail: e.message });
          break;
        case "dns":
          // A name look-up in the jail: port 0 (a name, not a connection yet), method DNS.
          write({
            type: "net",
            jail: jailId,
            decision: e.decision,
            host: e.name,
            port: 0,
            method: "DNS",
            ...(e.address !== undefined ? { resolved: e.address } : {}),
            ...(e.reason !== undefined ? { reason: e.reason } : {}),
            ...at,
          });
          break;
      }
    },
    cgroup(e) {
      write({
        type: "limit",
        jail: jailId,
        limit: e.type === "pids_max" ? "pids" : "memory",
        event: e.type,
        ...(e.limitBytes !== undefined ? { value: e.limitBytes } : e.limitPids !== undefined ? { value: e.limitPids } : {}),
        detail: `count ${e.count}`,
      });
    },
    syscall(e, requests) {
      if (e.action === "dropped") {
        write({ type: "audit.dropped", jail: jailId, count: e.count ?? 1 });
        return;
      }
      const exec = e.syscall === "execve" || e.syscall === "execveat";
      const net = e.syscall === "connect" || e.syscall === "bind" || e.syscall === "sendto";
      write({
        type: "syscall",
        jail: jailId,
        ts: new Date(e.time).toISOString(),
        ...(e.pid !== null ? { pid: e.pid } : {}),
        syscall: e.syscall ?? "unknown",
        decision: e.action === "allow" ? "allow" : "deny",
        ...(e.path !== undefined ? { path: e.path } : {}),
        ...(exec ? { access: "exec" as const } : e.access !== undefined ? { access: e.access } : {}),
        ...(net && e.address !== undefined ? { addr: e.address.includes(":") ? `[${e.address}]:${e.port ?? 0}` : `${e.address}:${e.port ?? 0}` } : {}),
        ...(net && e.address === undefined && e.path !== undefined ? { addr: `unix:${e.path}` } : {}),
        ...(e.reason !== undefined ? { reason: e.rule !== undefined ? `${e.reason}: ${e.rule}` : e.reason } : {}),
        ...(e.errno !== 0 ? { errno: errnoName(e.errno) } : {}),
        ...(e.incomplete === true ? { incomplete: true as const } : {}),
        ...attributed(requests),
      });
    },
    async close() {
      await log?.close();
    },
  };
}
