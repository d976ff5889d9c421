#!/usr/bin/env node
// Regenerates, from the zod policy schema (packages/engine/src/policy/schema.ts, compiled by `tsc -b`):
//   packages/engine/schema/policy.schema.json   the JSON Schema shipped for editors
//   README.md, between <!-- policy-reference:start --> and <!-- policy-reference:end -->
// `--check` writes nothing and exits 1 when either is stale (the test suite checks the same).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const docsJs = join(root, "packages/engine/dist/src/policy/docs.js");
if (!existsSync(docsJs)) {
  process.stderr.write("gen-policy-docs: run `npx tsc -b` first (packages/engine/dist is missing)\n");
  process.exit(1);
}
const { policyJsonSchemaText, spliceReadme } = await import(pathToFileURL(docsJs).href);
const check = process.argv.includes("--check");

const schemaPath = join(root, "packages/engine/schema/policy.schema.json");
const readmePath = join(root, "README.md");
const schema = policyJsonSchemaText();
const oldReadme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : "";
const readme = spliceReadme(oldReadme);
const oldSchema = existsSync(schemaPath) ? readFileSync(schemaPath, "utf8") : "";

if (check) {
  const stale = [];
  if (oldSchema !== schema) stale.push(schemaPath);
  if (oldReadme !== readme) stale.push(readmePath);
  for (const f of stale) process.stderr.write(`gen-policy-docs: stale: ${f}\n`);
  process.exit(stale.length ? 1 : 0);
}
mkdirSync(dirname(schemaPath), { recursive: true });
if (oldSchema !== schema) writeFileSync(schemaPath, schema);
if (oldReadme !== readme) writeFileSync(readmePath, readme);
process.stdout.write(`gen-policy-docs: ${schemaPath}\ngen-policy-docs: ${readmePath} (policy reference)\n`);
