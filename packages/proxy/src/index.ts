// @mcp-j/proxy: a strict JSON-RPC 2.0 / MCP stdio proxy. Pure TypeScript, no native code, no
// dependency on the engine, so it runs (and is tested) on any OS.
export { startProxy } from "./session.js";
export type { ProxyOptions, ProxySession, ClientEnd, ServerEnd, ToolResultNote, ToolGate } from "./session.js";
export { InFlightLog, inFlightKey, monotonicNow, TASK_WORK } from "./inflight.js";
export type { InFlightRequest } from "./inflight.js";
export type {
  ProxyEvent,
  ToolCallEvent,
  ToolCallOutcome,
  MessageOversizedEvent,
  MessageInvalidEvent,
  ResponseDroppedEvent,
  ServerOutputNonJsonEvent,
  ServerGoneEvent,
  Side,
} from "./events.js";

// The pure pieces, exported so each rule can be tested (and reused) on its own.
export { LineFramer, DEFAULT_MAX_MESSAGE_BYTES } from "./framer.js";
export type { Frame } from "./framer.js";
export { TopLevelIdScanner, scanTopLevel } from "./id-scan.js";
export type { ScanSummary } from "./id-scan.js";
export { validateMessage, toolCallParamsProblem } from "./validate.js";
export type { Validation, Valid, Invalid } from "./validate.js";
export { globMatch } from "./glob.js";
export { foldToolName } from "./fold.js";
export { ERROR_CODES } from "./codes.js";
export type { ErrorCodeInfo } from "./codes.js";
export { isModernVersion, requestProtocolVersion, FIRST_MODERN_PROTOCOL_VERSION, PROTOCOL_VERSION_META_KEY } from "./era.js";
export { scanObject, arrayElements, member, repeatsAKey } from "./structure.js";
export type { ObjectScan, Member, Span } from "./structure.js";
export { TaskRegistry, MAX_REMEMBERED_TASKS } from "./tasks.js";
export { jsonSyntaxProblem } from "./json-check.js";
export { lightParse, LIGHT_BYTES } from "./light.js";
export { clientVerdict, namesToolsCall } from "./verdict.js";
export type { Verdict } from "./verdict.js";
export { ToolPolicy } from "./policy.js";
export type { ToolRules } from "./policy.js";
export { PendingTable, DEFAULT_MAX_PENDING } from "./pending.js";
export type { PendingRequest } from "./pending.js";
export {
  errorResponse,
  parseError,
  invalidRequest,
  invalidParams,
  internalError,
  deniedToolResult,
  messageTooLarge,
  tooManyPending,
  ProxyError,
} from "./errors.js";
export type { ErrorResponse, ProxyErrorCode } from "./errors.js";
export { ErrorCode, isValidId, idKey } from "./jsonrpc.js";
export type { JsonRpcId, JsonObject, Message, RequestMessage, NotificationMessage, ResponseMessage } from "./jsonrpc.js";
