import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { policyJsonSchemaText, policyJsonSchema, spliceReadme, policyReferenceRows, README_START, README_END, FLAGS } from "../src/policy/index.js";

// dist/test/x.test.js → repository root
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const regen = "run `npx tsc -b && node scripts/gen-policy-docs.mjs` and commit the result";

test("checked-in policy.schema.json is generated from the current zod schema", () => {
  const onDisk = readFileSync(join(root, "packages/engine/schema/policy.schema.json"), "utf8");
  assert.equal(onDisk, policyJsonSchemaText(), `packages/engine/schema/policy.schema.json is stale: ${regen}`);
});

test("README policy reference is generated from the current zod schema", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  assert.ok(readme.includes(README_START) && readme.includes(README_END), "README.md lacks the policy-reference markers");
  assert.equal(readme, spliceReadme(readme), `README.md policy reference is stale: ${regen}`);
});

test("the reference has a row for every schema field and names every flag", () => {
  const rows = policyReferenceRows();
  const fields = rows.map((r) => r.field);
  for (const f of ["`filesystem.ro`", "`network.allow`", "`limits.memory`", "`env.secrets[].fromFile`", "`grace`", "`strict`", "`audit.rotateBytes`"]) {
    assert.ok(fields.includes(f), `${f} missing`);
  }
  const flagCells = rows.map((r) => r.flag).join(" ");
  for (const f of FLAGS) if (f.name !== "--policy") assert.ok(flagCells.includes(f.name), `${f.name} missing from the reference`);
  const mem = rows.find((r) => r.field === "`limits.memory`")!;
  assert.equal(mem.default, '`"512M"`');
});

test("the JSON Schema is strict (no unknown fields) and documents defaults", () => {
  const s = policyJsonSchema() as { additionalProperties: boolean; properties: Record<string, { properties?: Record<string, { default?: unknown }> }> };
  assert.equal(s.additionalProperties, false);
  assert.deepEqual(s.properties.limits?.properties?.pids?.default, 256);
  assert.ok(s.properties.network);
});
