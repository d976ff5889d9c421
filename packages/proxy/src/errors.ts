// Constructors for the error responses the proxy writes, and the typed error it throws at its API.
import { ErrorCode } from "./codes.js";
import type { JsonObject, JsonRpcId } from "./jsonrpc.js";

/** A JSON-RPC error response, ready to serialize. */
export interface ErrorResponse {
  jsonrpc: "2.0";
  id: JsonRpcId | null;
  error: { code: number; message: string; data?: unknown };
}

export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): ErrorResponse {
  const error: ErrorResponse["error"] = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: "2.0", id, error };
}

export function parseError(detail: string): ErrorResponse {
  // The id is always null: a line we cannot parse has no id we could trust.
  return errorResponse(null, ErrorCode.ParseError, `Parse error: ${detail}`);
}

export function invalidRequest(id: JsonRpcId | null, detail: string, data?: unknown): ErrorResponse {
  return errorResponse(id, ErrorCode.InvalidRequest, `Invalid Request: ${detail}`, data);
}

export function methodNotFound(id: JsonRpcId, detail: string): ErrorResponse {
  return errorResponse(id, ErrorCode.MethodNotFound, `Method not found: ${detail}`);
}

export function invalidParams(id: JsonRpcId, detail: string): ErrorResponse {
  return errorResponse(id, ErrorCode.InvalidParams, `Invalid params: ${detail}`);
}

export function internalError(id: JsonRpcId | null, detail: string, data?: unknown): ErrorResponse {
  return errorResponse(id, ErrorCode.InternalError, `Internal error: ${detail}`, data);
}

export function messageTooLarge(id: JsonRpcId | null, detail: string, data: string): ErrorResponse {
  return errorResponse(id, ErrorCode.MessageTooLarge, `Message too large: ${detail}`, data);
}

export function tooManyPending(id: JsonRpcId, limit: number): ErrorResponse {
  return errorResponse(
    id,
    ErrorCode.TooManyPending,
    `Too many pending requests: ${limit} already await an answer; wait for some before sending more`,
    { limit },
  );
}

/**
 * The result (not an error) the proxy answers a denied tools/call with: a result with isError lets
 * the model read why and adapt, where a protocol error would look like a broken server. In the
 * 2026-07-28 era every result carries `resultType` (a client rejects a result without it).
 */
export function deniedToolResult(id: JsonRpcId, toolName: string, modern: boolean, why = "is denied by policy (mcp-j)"): JsonObject {
  const content = [{ type: "text", text: `The tool "${toolName}" ${why}; it was not run.` }];
  const result: JsonObject = modern ? { resultType: "complete", content, isError: true } : { content, isError: true };
  return { jsonrpc: "2.0", id, result };
}

/** Codes for programs; the message is for people. */
export type ProxyErrorCode = "invalid_options";

/** The error startProxy throws when it is called wrongly. Runtime failures never throw: they become
 * JSON-RPC error responses, events and log lines, because the session must go on. */
export class ProxyError extends Error {
  override readonly name = "ProxyError";
  constructor(
    readonly code: ProxyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
