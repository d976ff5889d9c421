import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { globMatch, ToolPolicy } from "../src/index.js";

test("globs: * matches any run, ? exactly one character, the rest is literal", () => {
  assert.ok(globMatch("echo", "echo"));
  assert.ok(!globMatch("echo", "echo2"));
  assert.ok(globMatch("*", ""));
  assert.ok(globMatch("get-*", "get-sum"));
  assert.ok(!globMatch("get-*", "toggle-get"));
  assert.ok(globMatch("*-sum", "get-sum"));
  assert.ok(globMatch("g?t-*", "got-x"));
  assert.ok(!globMatch("g?t", "gt"));
  assert.ok(globMatch("?", "🌍"), "? is one character, even outside the BMP");
  assert.ok(globMatch("a.b", "a.b"));
  assert.ok(!globMatch("a.b", "axb"), "regex metacharacters are literal");
  assert.ok(globMatch("*a*a*a*a*a*a*a*a*b", `${"a".repeat(30)}b`));
  assert.ok(!globMatch("*a*a*a*a*a*a*a*a*b", "a".repeat(3000)), "no exponential backtracking");
});

test("property: globMatch agrees with a regular-expression reference", () => {
  const reference = (pattern: string, name: string): boolean => {
    const source = Array.from(pattern)
      .map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")))
      .join("");
    return new RegExp(`^${source}$`, "u").test(name);
  };
  const alphabet = fc.constantFrom("a", "b", "-", "*", "?", ".", "é");
  const text = fc.constantFrom("a", "b", "-", ".", "é", "*", "?");
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 8 }), fc.array(text, { maxLength: 10 }), (p, n) => {
      assert.equal(globMatch(p.join(""), n.join("")), reference(p.join(""), n.join("")));
    }),
    { numRuns: 5000 },
  );
});

test("policy: deny wins, an empty allow list allows everything not denied", () => {
  const open = new ToolPolicy();
  assert.ok(open.isOpen && open.allows("anything"));
  const denyOnly = new ToolPolicy({ allow: [], deny: ["get-*"] });
  assert.ok(denyOnly.allows("echo"));
  assert.ok(!denyOnly.allows("get-env"));
  const both = new ToolPolicy({ allow: ["get-*", "echo"], deny: ["get-env"] });
  assert.ok(both.allows("echo") && both.allows("get-sum"));
  assert.ok(!both.allows("get-env"), "deny wins over a matching allow");
  assert.ok(!both.allows("toggle-x"), "not in a non-empty allow list");
});

test("policy: denied and unnamed tools are not visible", () => {
  const policy = new ToolPolicy({ allow: [], deny: ["get-env"] });
  assert.deepEqual(policy.visibleTools([{ name: "echo" }, { name: "get-env" }, { title: "no name" }, 7]), {
    keep: [true, false, false, false],
    removed: ["get-env", "(unnamed)", "(unnamed)"],
  });
});
