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

/** How an id is shown to people in log lines. */
export function showId(id: JsonRpcId | null): string {
  return id === null ? "null" : JSON.stringify(id);
}
