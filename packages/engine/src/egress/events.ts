// Audit events emitted by the egress proxy (EgressOptions.onEvent) and the jail's resolver. Every
// connection produces exactly one of: net_allow (then exactly one net_close), net_deny, or
// net_error; the resolver says "dns" when it first answers a name and when it refuses one.
import type { AddressKind } from "./classify.js";
import type { DenyReason } from "./decide.js";

interface Base {
  /** Milliseconds since the epoch. */
  ts: number;
  /** Per-proxy connection number, starting at 1. */
  id: number;
  /** The client's address:port as the proxy saw it (inside the jail: 127.0.0.1:N). */
  client: string;
}

/** How the connection came: an HTTP CONNECT tunnel, plain HTTP forwarding, or a connect() of the
 * jail the supervisor redirected to the proxy (any TCP protocol). */
export type EgressMethod = "CONNECT" | "HTTP" | "TCP";

/** A connection the policy admitted; the upstream TCP connection is established. */
export interface NetAllowEvent extends Base {
  type: "net_allow";
  method: EgressMethod;
  /** Canonical host: lower-case name, or canonical IP text for literals. */
  host: string;
  port: number;
  /** The checked address connected to. */
  address: string;
  family: 4 | 6;
  /** The --allow-net entry that admitted it. */
  rule: string;
}

/** A policy refusal (HTTP 403). Nothing was connected; for "not-allowed" nothing was resolved either. */
export interface NetDenyEvent extends Base {
  type: "net_deny";
  method: EgressMethod;
  host: string;
  port: number;
  status: 403;
  reason: DenyReason;
  /** For blocked addresses: the class ("metadata", "loopback", "private", ...). */
  kind?: AddressKind;
  address?: string;
  /** The same text as the 403 body and the log line. */
  message: string;
}

/** An admitted connection ended. Bytes count what crossed the upstream socket. */
export interface NetCloseEvent extends Base {
  type: "net_close";
  method: EgressMethod;
  host: string;
  port: number;
  address: string;
  /** Client -> origin bytes (for plain HTTP this includes the rewritten request head). */
  bytesUp: number;
  /** Origin -> client bytes. */
  bytesDown: number;
  durationMs: number;
  /** Why it ended, if not a normal close ("idle timeout", "ECONNRESET", "proxy closed"). */
  error?: string;
}

export type NetErrorReason =
  | "unmatched"
  | "bad-request"
  | "header-timeout"
  | "header-too-large"
  | "too-many-connections"
  | "resolve-failed"
  | "resolve-timeout"
  | "connect-failed"
  | "connect-timeout";

/** A protocol, limit or upstream failure (400, 408, 431, 502, 503, 504); not a policy decision. */
export interface NetErrorEvent extends Base {
  type: "net_error";
  status: 400 | 408 | 431 | 502 | 503 | 504;
  reason: NetErrorReason;
  message: string;
  host?: string;
  port?: number;
}

/** A name look-up answered by the jail's resolver: the first answer for an allowed name (with the
 * address handed out for it), or a refusal (NXDOMAIN, or SERVFAIL when no address is left). */
export interface DnsEvent {
  type: "dns";
  ts: number;
  decision: "allow" | "deny";
  /** The name as asked, lower case. */
  name: string;
  /** The record type asked for ("A", "AAAA", "TYPE65", ...). */
  qtype: string;
  /** The address handed out (allow). */
  address?: string;
  /** not-allowed: no --allow-net entry names it; invalid-host: not a host name; exhausted: no
   * address left for it (servfail). */
  reason?: "not-allowed" | "invalid-host" | "exhausted";
}

export type EgressEvent = NetAllowEvent | NetDenyEvent | NetCloseEvent | NetErrorEvent | DnsEvent;
