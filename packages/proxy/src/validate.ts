// Classifies one parsed JSON value as a JSON-RPC 2.0 message, or says exactly why it is not one.
// Pure: no I/O, no state, so every rule is unit- and property-testable.
import {
  ErrorCode,
  isJsonObject,
  isValidId,
  type JsonObject,
  type JsonRpcId,
  type Message,
} from "./jsonrpc.js";
import { keyCaseProblem, READ_KEYS } from "./key-case.js";

/** Where a message's keys could be read otherwise by a loose decoder (key-case.ts), or null. */
function keysProblem(value: JsonObject): string | null {
  const params = value["params"];
  const meta = isJsonObject(params) ? params["_meta"] : undefined;
  const result = value["result"];
  return (
    keyCaseProblem(value, READ_KEYS.message) ??
    (isJsonObject(params) ? keyCaseProblem(params, READ_KEYS.params) : null) ??
    (isJsonObject(meta) ? keyCaseProblem(meta, READ_KEYS.meta) : null) ??
    (isJsonObject(result) ? keyCaseProblem(result, READ_KEYS.result) : null)
  );
}

/** Why a value is not a valid message, and how (whether) the sender should be answered. */
export interface Invalid {
  readonly ok: false;
  readonly code: typeof ErrorCode.InvalidRequest;
  readonly reason: string;
  /**
   * How the invalid message looked, which decides who (if anyone) is answered:
   * - "notification": has a method and no id: never answered, only logged.
   * - "response": no method but a result or error: answering the sender would be read as a reply
   *   to one of *its* requests, so the proxy instead fails the request this claimed to answer.
   * - "request": everything else: answered with -32600 and the id when it is a valid one.
   */
  readonly shape: "request" | "notification" | "response";
  /** The message's id if it is a valid one, else null. */
  readonly id: JsonRpcId | null;
}

export interface Valid {
  readonly ok: true;
  readonly message: Message;
}

export type Validation = Valid | Invalid;

function invalid(shape: Invalid["shape"], id: unknown, reason: string): Invalid {
  return { ok: false, code: ErrorCode.InvalidRequest, reason, shape, id: isValidId(id) ? id : null };
}

export function validateMessage(value: unknown): Validation {
  if (!isJsonObject(value)) {
    return invalid("request", null, `a message must be a JSON object, not ${describe(value)}`);
  }
  const hasId = "id" in value;
  const hasMethod = "method" in value;
  const hasResult = "result" in value;
  const hasError = "error" in value;
  const shape: Invalid["shape"] = hasMethod
    ? hasId
      ? "request"
      : "notification"
    : hasResult || hasError
      ? "response"
      : "request";
  const id = value["id"];

  if (value["jsonrpc"] !== "2.0") return invalid(shape, id, `"jsonrpc" must be "2.0"`);
  const keys = keysProblem(value);
  if (keys !== null) return invalid(shape, id, keys);

  if (hasMethod) {
    if (typeof value["method"] !== "string") return invalid(shape, id, `"method" must be a string`);
    // A C reader stops at a NUL: "tools/call\u0000x" would be tools/call to it, and nothing the
    // policy knows to the proxy (red team 10).
    if (value["method"].includes("\0")) return invalid(shape, id, `"method" must not hold U+0000`);
    if (hasResult || hasError) return invalid(shape, id, `a request cannot carry "result" or "error"`);
    if ("params" in value && typeof value["params"] !== "object") {
      return invalid(shape, id, `"params" must be an object or an array`);
    }
    if (value["params"] === null) return invalid(shape, id, `"params" must be an object or an array`);
    if (!hasId) return { ok: true, message: { kind: "notification", method: value["method"], raw: value } };
    if (!isValidId(id)) return invalid(shape, id, idProblem(id));
    return { ok: true, message: { kind: "request", id, method: value["method"], raw: value } };
  }

  if (hasResult === hasError) {
    return invalid(shape, id, hasResult ? `both "result" and "error"` : `no "method", "result" or "error"`);
  }
  if (hasError) {
    const problem = errorObjectProblem(value["error"]);
    if (problem !== null) return invalid(shape, id, problem);
    // An error response may carry a null id: the peer could not read the request's id.
    if (id !== null && !isValidId(id)) return invalid(shape, id, idProblem(id));
    if (!hasId) return invalid(shape, id, `a response needs an "id"`);
    return { ok: true, message: { kind: "response", id, isError: true, raw: value } };
  }
  if (!isValidId(id)) return invalid(shape, id, hasId ? idProblem(id) : `a response needs an "id"`);
  return { ok: true, message: { kind: "response", id, isError: false, raw: value } };
}

function idProblem(id: unknown): string {
  if (typeof id === "number") return `"id" must be an integer within ±2^53 (got ${id})`;
  return `"id" must be a string or an integer, not ${describe(id)}`;
}

function errorObjectProblem(error: unknown): string | null {
  if (!isJsonObject(error)) return `"error" must be an object`;
  if (typeof error["code"] !== "number" || !Number.isInteger(error["code"])) return `"error.code" must be an integer`;
  if (typeof error["message"] !== "string") return `"error.message" must be a string`;
  return null;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** The checks the proxy makes on the params of calls it inspects (-32602 when they fail). */
export function toolCallParamsProblem(params: unknown): string | null {
  if (!isJsonObject(params)) return `tools/call needs "params" as an object`;
  if (typeof params["name"] !== "string") return `tools/call needs a string "name"`;
  if (params["name"].includes("\0")) return `tools/call "name" must not hold U+0000 (a C reader stops there)`;
  if ("arguments" in params && !isJsonObject(params["arguments"])) return `tools/call "arguments" must be an object`;
  return null;
}

/** The tool name of a tools/call whose params passed `toolCallParamsProblem`. */
export function toolCallName(raw: JsonObject): string {
  const params = raw["params"];
  return isJsonObject(params) && typeof params["name"] === "string" ? params["name"] : "";
}
