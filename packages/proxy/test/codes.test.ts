// The error-code table is defined once (codes.ts); the README's "Protocol errors" table says the
// same, row for row, and every code follows the rule: JSON-RPC's own, or outside its reserved range.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ERROR_CODES } from "../src/index.js";

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "README.md"), "utf8");

test("the README's protocol error table is the code table", () => {
  const section = readme.slice(readme.indexOf("### Protocol errors"));
  const rows = section
    .split("\n")
    .filter((l) => /^\| -\d+ \|/.test(l))
    .map((l) => l.split(" | ").map((c) => c.replace(/^\| /, "").replace(/ \|$/, "")));
  assert.deepEqual(rows, Object.values(ERROR_CODES).map((e) => [String(e.code), e.origin, e.when]));
});

test("codes: JSON-RPC's for the cases it defines, mcp-j's outside -32768…-32000", () => {
  for (const e of Object.values(ERROR_CODES)) {
    if (e.origin === "JSON-RPC") assert.ok([-32700, -32600, -32601, -32602, -32603].includes(e.code), String(e.code));
    else assert.ok(e.code < -32768 || e.code > -32000, String(e.code));
  }
  const codes = Object.values(ERROR_CODES).map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length, "each code once");
});
