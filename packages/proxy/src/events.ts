// The machine-readable events the proxy reports, one per audit log line. A discriminated union on
// `type`, so consumers can switch exhaustively and the compiler flags a new kind they ignore.
import type { JsonRpcId } from "./jsonrpc.js";

/** Which peer sent the message an event is about. */
export type Side = "client" | "server";

export type ToolCallOutcome =
  /** The server answered with a result. */
  | "ok"
  /** The server answered with a result flagged isError (the tool ran and failed). */
  | "tool-error"
  /** The server answered with a JSON-RPC error, or an invalid response the proxy replaced. */
  | "error"
  /** The policy denied the tool; the server never saw the call. */
  | "denied"
  /** The call's params were malformed (-32602); the server never saw it. */
  | "invalid"
  /** The client cancelled the call. */
  | "cancelled"
  /** The server's response exceeded the size limit and was replaced by an error. */
  | "too-large"
  /** The server went away before answering. */
  | "server-gone";

export interface ToolCallEvent {
  readonly type: "tool_call";
  readonly name: string | null;
  /** null for a tools/call sent as a notification (dropped when denied or unreadable). */
  readonly id: JsonRpcId | null;
  /** From the call leaving the proxy to its answer arriving; 0 when the proxy answered itself. */
  readonly durationMs: number;
  readonly outcome: ToolCallOutcome;
  /** Bytes of the response line as the server sent it; 0 when there was none. */
  readonly responseBytes: number;
}

export interface MessageOversizedEvent {
  readonly type: "message_oversized";
  readonly from: Side;
  /** Bytes discarded (the whole line, without its newline). */
  readonly bytes: number;
  readonly limit: number;
  readonly id: JsonRpcId | null;
}

/** A message refused: not valid JSON-RPC, bad params, a batch, an unknown task, or over the
 * pending-request limit (the code says which). */
export interface MessageInvalidEvent {
  readonly type: "message_invalid";
  readonly from: Side;
  /** The error code that applies (codes.ts). */
  readonly code: number;
  readonly reason: string;
  readonly id: JsonRpcId | null;
  /** Whether the proxy answered the sender (notifications and responses never are). */
  readonly answered: boolean;
}

export interface ResponseDroppedEvent {
  readonly type: "response_dropped";
  readonly from: Side;
  readonly id: JsonRpcId | null;
  readonly reason: "unknown-id" | "cancelled";
}

export interface ServerOutputNonJsonEvent {
  readonly type: "server_output_nonjson";
  readonly bytes: number;
  /** The first characters of the line (or "(invalid UTF-8)"). */
  readonly preview: string;
}

export interface ServerGoneEvent {
  readonly type: "server_gone";
  readonly cause: string;
  /** Client requests that were answered with an error because of it. */
  readonly pending: number;
}

export type ProxyEvent =
  | ToolCallEvent
  | MessageOversizedEvent
  | MessageInvalidEvent
  | ResponseDroppedEvent
  | ServerOutputNonJsonEvent
  | ServerGoneEvent;
