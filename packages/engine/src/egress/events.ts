// Audit events emitted by the egress proxy (EgressOptions.onEvent). Every connection produces
// exactly one of: net_allow (then exactly one net_close), net_deny, or net_error.
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

export type EgressMethod = "CONNECT" | "HTTP";

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

export type EgressEvent = NetAllowEvent | NetDenyEvent | NetCloseEvent | NetErrorEvent;
