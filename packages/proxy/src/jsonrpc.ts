// JSON-RPC 2.0 vocabulary shared by every module of the proxy: ids, message shapes and error codes.

/** A request id as JSON-RPC allows it and this proxy accepts it: a string or a safe integer. */
export type JsonRpcId = string | number;

export { ErrorCode } from "./codes.js";

/** A plain JSON object as produced by JSON.parse. */
export type JsonObject = { [key: string]: unknown };

export interface RequestMessage {
  readonly kind: "request";
  readonly id: JsonRpcId;
  readonly method: string;
  /** The parsed message (the bytes received are what is forwarded). */
  readonly raw: JsonObject;
}

export interface NotificationMessage {
  readonly kind: "notification";
  readonly method: string;
  readonly raw: JsonObject;
}

export interface ResponseMessage {
  readonly kind: "response";
  /** null only on error responses, when the peer could not read the request's id. */
  readonly id: JsonRpcId | null;
  readonly isError: boolean;
  readonly raw: JsonObject;
}

export type Message = RequestMessage | NotificationMessage | ResponseMessage;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Valid ids are strings and safe integers: the pending tables match responses to requests by id,
 * and a fractional or unsafe number does not identify one request reliably. */
export function isValidId(value: unknown): value is JsonRpcId {
  return typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value));
}

/** A key that keeps 1 and "1" apart, for Map lookups. */
export function idKey(id: JsonRpcId): string {
  return typeof id === "number" ? `n${id}` : `s${id}`;
}

/** The longest string id the proxy takes, in a request or as a task's id. The pending tables keep a
 * request's id until it is answered (and a cancelled one after), the task registry a task's id:
 * their size would be memory the sender chooses, up to --max-message-bytes each (red team 8,
 * RT8-3). Far above the ids clients and SDKs make (numbers, UUIDs). */
export const MAX_ID_CHARS = 1024;

export function idTooLong(id: string | number): boolean {
  return typeof id === "string" && id.length > MAX_ID_CHARS;
}

/** How an id is shown to people in log lines: a long one cut, with its length. */
export function showId(id: JsonRpcId | null): string {
  if (id === null) return "null";
  if (typeof id === "string" && id.length > 64) return `${JSON.stringify(id.slice(0, 64))}… (${id.length} characters)`;
  return JSON.stringify(id);
}
