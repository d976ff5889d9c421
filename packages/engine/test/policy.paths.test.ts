// The policy's path fields (policy/paths.ts) are one list, used by policy files (resolve.ts) and by a
// servers file's inline policies (servers.ts). These tests keep the list complete against the schema
// and check that a servers file resolves every one of them as a policy file in its directory would
// (RT13-13, RT13-14: pin.file and deny paths were resolved against the start directory).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNamedServer, mergePolicyInputs, policyJsonSchema, resolvePolicy, type ResolvedPolicy } from "../src/policy/index.js";
import { POLICY_PATH_FIELDS, mapPathFields, type PathKind } from "../src/policy/paths.js";

type JS = Record<string, unknown>;

/** The string-valued places of a JSON Schema, as keys from the root ("[]": a list's entries, "{}":
 * a map's values). */
function stringLeaves(s: JS, at: string[] = [], out: string[][] = []): string[][] {
  if (s.type === "string" || (Array.isArray(s.enum) && s.enum.every((v) => typeof v === "string"))) out.push(at);
  for (const alt of [...((s.anyOf as JS[] | undefined) ?? []), ...((s.oneOf as JS[] | undefined) ?? [])]) stringLeaves(alt, at, out);
  for (const [k, v] of Object.entries((s.properties as Record<string, JS> | undefined) ?? {})) stringLeaves(v, [...at, k], out);
  if (s.items && typeof s.items === "object") stringLeaves(s.items as JS, [...at, "[]"], out);
  if (s.additionalProperties && typeof s.additionalProperties === "object") stringLeaves(s.additionalProperties as JS, [...at, "{}"], out);
  return out;
}

/** String fields that name no file (each with why). A new string field of the schema must be put
 * here or in POLICY_PATH_FIELDS. */
const NOT_PATHS: Record<string, string> = {
  $schema: "an editor hint (path or URL), ignored by mcp-j",
  "network.allow.[]": "a host",
  "env.pass.[]": "a variable name",
  "env.set.{}": "a value given to the server as written",
  "env.secrets.[].name": "a variable name",
  "env.secrets.[].fromEnv": "a variable name",
  "limits.memory": "a size",
  "limits.tmpSize": "a size",
  "tools.allow.[]": "a tool-name glob",
  "tools.deny.[]": "a tool-name glob",
  "audit.verbosity": "a keyword",
  "audit.rotateBytes": "a size",
  "proxy.maxMessageBytes": "a size",
  grace: "a duration",
};

test("every string field of the policy schema is a path field (paths.ts) or known not to be a path", () => {
  const isPrefix = (f: readonly string[], leaf: string[]) => f.length <= leaf.length && f.every((k, i) => leaf[i] === k);
  const leaves = stringLeaves(policyJsonSchema());
  assert.ok(leaves.length > 10, "the walk found the schema's fields");
  for (const leaf of leaves) {
    const name = leaf.join(".");
    const path = POLICY_PATH_FIELDS.some((f) => isPrefix(f.field, leaf));
    assert.ok(path !== name in NOT_PATHS, path ? `${name} is both a path field and in NOT_PATHS` : `${name}: a new string field of the policy: add it to POLICY_PATH_FIELDS (policy/paths.ts) if it names a file or directory, else to NOT_PATHS here`);
  }
  for (const f of POLICY_PATH_FIELDS) assert.ok(leaves.some((l) => l.join(".").startsWith(f.field.join("."))), `${f.field.join(".")} is not a field of the schema`);
  for (const n of Object.keys(NOT_PATHS)) assert.ok(leaves.some((l) => l.join(".") === n), `NOT_PATHS names ${n}, which is not a string field of the schema`);
});

/** A policy with a relative path in every path field (and the non-paths each kind keeps as written). */
function everyPathField(): JS {
  return {
    extends: ["./base.yaml"],
    filesystem: {
      ro: ["./data", "lib:/opt/lib"],
      rw: [{ path: "./out" }],
      exec: ["./bin/tool", "sh"],
      deny: ["./data/secret.txt", "**/.env", "~/private"],
      cwd: "data",
    },
    audit: { file: "./audit.jsonl" },
    pin: { file: "pins.json" },
    env: { secrets: [{ name: "TOKEN", fromFile: "./token" }, { name: "OTHER", fromEnv: "HOME" }] },
  };
}

function strip(p: ResolvedPolicy): unknown {
  const c = structuredClone(p) as JS & { filesystem: { ro: JS[]; rw: JS[] } };
  for (const g of [...c.filesystem.ro, ...c.filesystem.rw]) delete g.from; // names the file it came from
  return c;
}

test("a servers file's inline policy resolves every path field against the servers file, as a policy file there", async () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-paths-")));
  const cfg = join(root, "cfg");
  const start = join(root, "start"); // where mcp-j is started: no path may end up here
  mkdirSync(cfg);
  mkdirSync(start);
  const env = { ...process.env, HOME: join(root, "home") };
  writeFileSync(join(cfg, "base.yaml"), "tools: { deny: [from_base] }\n");
  writeFileSync(join(cfg, "servers.json"), JSON.stringify({ servers: { s: { command: "node", policy: everyPathField() } } }));
  writeFileSync(join(cfg, "policy.json"), JSON.stringify(everyPathField()));

  const covered = new Set<string>();
  mapPathFields(everyPathField(), (v, _kind, at) => (covered.add(at.filter((k) => typeof k === "string").join(".")), v));
  for (const f of POLICY_PATH_FIELDS) assert.ok(covered.has(f.field.filter((k) => k !== "[]").join(".")), `everyPathField() has no ${f.field.join(".")}`);

  const server = loadNamedServer("s", { config: join(cfg, "servers.json"), cwd: start, env });
  const seen: Record<string, unknown[]> = {};
  mapPathFields(structuredClone(server.policy) as JS, (v, kind: PathKind) => ((seen[kind] ??= []).push(v), v));
  assert.deepEqual(seen.ref, [join(cfg, "base.yaml")]);
  assert.deepEqual(seen.grant, [{ path: join(cfg, "data") }, { path: join(cfg, "lib"), dest: "/opt/lib" }, { path: join(cfg, "out") }]);
  assert.deepEqual(seen.exec, [join(cfg, "bin", "tool"), "sh"], "a program name stays a name (looked up in PATH later)");
  assert.deepEqual(seen.deny, [join(cfg, "data", "secret.txt"), "**/.env", join(root, "home", "private")], "a deny path is the servers file's; a relative glob stays a glob");
  assert.deepEqual(seen.path, [join(cfg, "data"), join(cfg, "audit.jsonl"), join(cfg, "pins.json"), join(cfg, "token")]);

  const viaServers = await resolvePolicy({ profiles: [], overlay: mergePolicyInputs(server.policy ?? {}, {}), cwd: start, env });
  const viaFile = await resolvePolicy({ policyFile: join(cfg, "policy.json"), profiles: [], overlay: {}, cwd: start, env });
  assert.deepEqual(strip(viaServers), strip(viaFile), "the servers file and a policy file beside it give the same policy");
  assert.ok(!JSON.stringify(viaServers).includes(start), "no path of the effective policy is the start directory's");
});

test("a servers file: a built-in profile name in extends stays a name", () => {
  const cfg = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-paths-")));
  writeFileSync(join(cfg, "servers.yaml"), "servers:\n  s:\n    command: node\n    policy: { extends: [node, ./more.yaml, ~/p.yaml] }\n");
  const env = { ...process.env, HOME: "/home/someone" };
  const server = loadNamedServer("s", { config: join(cfg, "servers.yaml"), cwd: "/", env });
  assert.deepEqual(server.policy?.extends, ["node", join(cfg, "more.yaml"), "/home/someone/p.yaml"]);
});
