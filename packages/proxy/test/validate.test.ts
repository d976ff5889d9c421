import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ErrorCode, toolCallParamsProblem, validateMessage, type Validation } from "../src/index.js";
import { READ_KEYS, type ReadKeys } from "../src/key-case.js";

function invalid(v: Validation): { shape: string; id: unknown } {
  assert.equal(v.ok, false, "expected an invalid message");
  if (v.ok) throw new Error("unreachable");
  assert.equal(v.code, ErrorCode.InvalidRequest);
  return { shape: v.shape, id: v.id };
}

test("valid requests, notifications and responses are classified", () => {
  const cases: Array<[unknown, string]> = [
    [{ jsonrpc: "2.0", id: 1, method: "ping" }, "request"],
    [{ jsonrpc: "2.0", id: "x", method: "tools/list", params: {} }, "request"],
    [{ jsonrpc: "2.0", id: 0, method: "m", params: [1, 2] }, "request"],
    [{ jsonrpc: "2.0", method: "notifications/initialized" }, "notification"],
    [{ jsonrpc: "2.0", id: 1, result: {} }, "response"],
    [{ jsonrpc: "2.0", id: 1, result: null }, "response"],
    [{ jsonrpc: "2.0", id: 1, error: { code: -1, message: "m" } }, "response"],
    [{ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }, "response"],
  ];
  for (const [value, kind] of cases) {
    const v = validateMessage(value);
    assert.equal(v.ok && v.message.kind, kind, JSON.stringify(value));
  }
});

test("-32600 rules: jsonrpc, method, id, result/error, non-objects", () => {
  const cases: Array<[unknown, string, unknown]> = [
    [{ id: 1, method: "m" }, "request", 1], // missing jsonrpc
    [{ jsonrpc: "1.0", id: 1, method: "m" }, "request", 1], // wrong jsonrpc
    [{ jsonrpc: 2, id: 1, method: "m" }, "request", 1],
    [{ jsonrpc: "2.0", id: 1, method: 5 }, "request", 1], // non-string method
    [{ jsonrpc: "2.0", id: null, method: "m" }, "request", null], // null id
    [{ jsonrpc: "2.0", id: true, method: "m" }, "request", null], // boolean id
    [{ jsonrpc: "2.0", id: 1.5, method: "m" }, "request", null], // fractional id
    [{ jsonrpc: "2.0", id: 2 ** 60, method: "m" }, "request", null], // id that would not round-trip
    [{ jsonrpc: "2.0", id: {}, method: "m" }, "request", null],
    [{ jsonrpc: "2.0", id: 1, method: "m", params: 3 }, "request", 1],
    [{ jsonrpc: "2.0", id: 1, method: "m", params: null }, "request", 1],
    [{ jsonrpc: "2.0", id: 1, method: "m", result: 1 }, "request", 1],
    [{ jsonrpc: "2.0", id: 1, result: 1, error: { code: 1, message: "m" } }, "response", 1], // both
    [{ jsonrpc: "2.0", id: 1 }, "request", 1], // neither
    [{ jsonrpc: "2.0", result: 1 }, "response", null], // response without id
    [{ jsonrpc: "2.0", id: null, result: 1 }, "response", null], // null id only on errors
    [{ jsonrpc: "2.0", id: 1, error: "boom" }, "response", 1],
    [{ jsonrpc: "2.0", id: 1, error: { code: 1.5, message: "m" } }, "response", 1],
    [{ jsonrpc: "2.0", id: 1, error: { code: 1 } }, "response", 1],
    [{ jsonrpc: "2.0", method: 7 }, "notification", null], // invalid notification: never answered
    [{ jsonrpc: "1.0", method: "m" }, "notification", null],
    [{}, "request", null],
    [42, "request", null],
    ["x", "request", null],
    [null, "request", null],
  ];
  for (const [value, shape, id] of cases) {
    assert.deepEqual(invalid(validateMessage(value)), { shape, id }, JSON.stringify(value));
  }
});

test("-32602 rules for tools/call params", () => {
  assert.equal(toolCallParamsProblem({ name: "echo" }), null);
  assert.equal(toolCallParamsProblem({ name: "echo", arguments: {} }), null);
  assert.match(toolCallParamsProblem(undefined) ?? "", /params/);
  assert.match(toolCallParamsProblem({}) ?? "", /name/);
  assert.match(toolCallParamsProblem({ name: 3 }) ?? "", /name/);
  assert.match(toolCallParamsProblem({ name: "echo", arguments: [] }) ?? "", /arguments/);
  assert.match(toolCallParamsProblem({ name: "echo", arguments: null }) ?? "", /arguments/);
  assert.match(toolCallParamsProblem({ name: "echo", arguments: "a" }) ?? "", /arguments/);
});

test("property: validation never throws, and its verdict matches an independent reading of the spec", () => {
  const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
  const messageArb = fc.record(
    {
      jsonrpc: fc.oneof(fc.constant("2.0"), anyValue),
      id: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant(null), fc.boolean(), anyValue),
      method: fc.oneof(fc.string(), fc.constantFrom("tools/call", "tools/call\u0000x"), anyValue),
      // Keys a loose decoder reads as one another (key-case.ts) come up often, not by chance.
      params: fc.oneof(fc.object(), fc.dictionary(fc.constantFrom("name", "Name", "taskId", "task_id", "_meta", "meta", "name\u0000x", "arguments"), fc.jsonValue({ maxDepth: 1 })), fc.array(fc.jsonValue()), anyValue),
      result: anyValue,
      error: fc.oneof(fc.record({ code: fc.integer(), message: fc.string() }), anyValue),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(messageArb, fc.jsonValue(), fc.dictionary(fc.constantFrom("jsonrpc", "id", "ID", "method", "Method", "params", "result", "Result"), fc.constantFrom("2.0", 1, "ping", {}))), (raw) => {
      const value: unknown = JSON.parse(JSON.stringify(raw) ?? "null"); // exactly what the wire can carry
      const v = validateMessage(value);
      const o = (typeof value === "object" && value !== null && !Array.isArray(value) ? value : null) as Record<string, unknown> | null;
      const goodId = (x: unknown) => typeof x === "string" || (typeof x === "number" && Number.isSafeInteger(x));
      let expected = "invalid";
      // The proxy's own rule (key-case.ts), read independently: no two keys, and no key and a key
      // the proxy reads, alike up to a NUL, "_" and case, where the proxy reads; no NUL in a method.
      const loose = (k: string) => (k.split("\0")[0] ?? "").replace(/_/g, "").toUpperCase().toLowerCase();
      const clash = (x: unknown, read: ReadKeys): boolean => {
        if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
        const keys = Object.keys(x);
        const folds = keys.map(loose);
        return new Set(folds).size !== keys.length || keys.some((k, i) => !read.exact.has(k) && [...read.exact].some((r) => loose(r) === folds[i]));
      };
      const params = o?.["params"];
      const unreadable =
        o !== null &&
        (clash(o, READ_KEYS.message) ||
          clash(params, READ_KEYS.params) ||
          clash((params as Record<string, unknown> | undefined)?.["_meta"], READ_KEYS.meta) ||
          clash(o["result"], READ_KEYS.result) ||
          (typeof o["method"] === "string" && o["method"].includes("\0")));
      if (o !== null && o["jsonrpc"] === "2.0" && !unreadable) {
        const structured = !("params" in o) || (typeof o["params"] === "object" && o["params"] !== null);
        if ("method" in o) {
          if (typeof o["method"] === "string" && structured && !("result" in o) && !("error" in o)) {
            if (!("id" in o)) expected = "notification";
            else if (goodId(o["id"])) expected = "request";
          }
        } else if ("result" in o !== "error" in o) {
          const e = o["error"] as Record<string, unknown> | undefined;
          const goodError = !("error" in o) || (typeof e === "object" && e !== null && !Array.isArray(e) && Number.isInteger(e["code"]) && typeof e["message"] === "string");
          if (goodError && (goodId(o["id"]) || ("error" in o && o["id"] === null))) expected = "response";
        }
      }
      assert.equal(v.ok ? v.message.kind : "invalid", expected, JSON.stringify(value));
      if (!v.ok) assert.ok(v.id === null || goodId(v.id));
    }),
    { numRuns: 5000 },
  );
});
