// Every JSON-RPC error code mcp-j writes, defined once. The README's "Protocol errors" table is
// checked against this one by a test (test/codes.test.ts).
//
// Rule: where the JSON-RPC 2.0 specification defines the case, its code; otherwise a code of
// mcp-j's own, outside -32768…-32000 (the range JSON-RPC reserves; MCP keeps -32020…-32099 of it
// for its own future codes).

export interface ErrorCodeInfo {
  readonly code: number;
  /** Who defines the code. */
  readonly origin: "JSON-RPC" | "mcp-j";
  /** When mcp-j answers with it. */
  readonly when: string;
}

export const ERROR_CODES = {
  ParseError: { code: -32700, origin: "JSON-RPC", when: "a line that is not JSON or not UTF-8 (the id is null)" },
  InvalidRequest: {
    code: -32600,
    origin: "JSON-RPC",
    when: "a message that is not a JSON-RPC 2.0 request, notification or response; a batch (a JSON array: MCP removed batches in 2025-06-18); a request whose string id is longer than 1,024 characters; a method holding U+0000; a message with a key the proxy reads spelled another way (case, underscores, a NUL), or two keys that differ only so, where the proxy reads",
  },
  MethodNotFound: {
    code: -32601,
    origin: "JSON-RPC",
    when: "under a tool policy, a tasks/* method the revision the request names does not have (tasks/result from 2026-07-28 on, tasks/update before)",
  },
  InvalidParams: {
    code: -32602,
    origin: "JSON-RPC",
    when: "a tools/call without a string name (or one holding U+0000) or with non-object arguments; a tasks/* request without a string taskId, or naming a task no allowed tools/call started (when a tool policy is set)",
  },
  InternalError: {
    code: -32603,
    origin: "JSON-RPC",
    when: "the server (or, for the server's requests, the client) went away before answering; an invalid response from the other side; a failure of the proxy itself",
  },
  MessageTooLarge: { code: -31001, origin: "mcp-j", when: "a request, or the response to one, is larger than --max-message-bytes" },
  TooManyPending: { code: -31002, origin: "mcp-j", when: "the sender already has 10,000 requests awaiting an answer (the proxy option `maxPending`)" },
} as const satisfies Record<string, ErrorCodeInfo>;

/** The codes by name, for the code that writes them. */
export const ErrorCode = {
  ParseError: ERROR_CODES.ParseError.code,
  InvalidRequest: ERROR_CODES.InvalidRequest.code,
  MethodNotFound: ERROR_CODES.MethodNotFound.code,
  InvalidParams: ERROR_CODES.InvalidParams.code,
  InternalError: ERROR_CODES.InternalError.code,
  MessageTooLarge: ERROR_CODES.MessageTooLarge.code,
  TooManyPending: ERROR_CODES.TooManyPending.code,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
