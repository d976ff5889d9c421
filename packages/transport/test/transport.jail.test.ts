// JailedStdioClientTransport with the MCP SDKs' Clients (v1 and v2).
// 1. plumbing (no jail): a stand-in mcp-j checks the argv and the private policy file, then runs the
//    server directly; proves the transport is a working drop-in and cleans up.
// 2. the real thing: servers through the real mcp-j and jail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Client as ClientV2 } from "@modelcontextprotocol/client";
import { StdioClientTransport as StdioClientTransportV2 } from "@modelcontextprotocol/client/stdio";
import { JailedStdioClientTransport, PolicyError } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..", "..", "..");
const fakeMcpj = join(repoRoot, "packages", "transport", "test", "fixtures", "fake-mcp-j.mjs");
const v2Server = join(repoRoot, "packages", "proxy", "test", "fixtures", "v2-server.mjs");
const memoryServer = join(repoRoot, "node_modules", "@modelcontextprotocol", "server-memory", "dist", "index.js");

function env(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v;
  return { ...out, ...extra };
}

test("transport plumbing: --policy FILE -- CMD, private policy file, SDK client works, file removed on close", async () => {
  const rec = join(mkdtempSync(join(tmpdir(), "mcpj-transport-")), "record.json");
  const memFile = join(dirname(rec), "memory.jsonl");
  const transport = new JailedStdioClientTransport({
    command: process.execPath,
    args: [memoryServer],
    env: env({ FAKE_MCPJ_RECORD: rec, MEMORY_FILE_PATH: memFile }),
    policy: { tools: { deny: ["delete_*"] }, limits: { memory: "256M" } },
    flags: ["--audit-log", join(dirname(rec), "audit.jsonl")],
    mcpjPath: fakeMcpj,
    stderr: "pipe",
  });
  const client = new Client({ name: "transport-test", version: "0.0.0" });
  await client.connect(transport);
  const dir = transport.policyDir!;
  assert.ok(dir && existsSync(join(dir, "policy.json")));
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === "create_entities"));
  const r = await client.callTool({ name: "create_entities", arguments: { entities: [{ name: "a", entityType: "t", observations: ["o"] }] } });
  assert.ok(!r.isError);
  const seen = JSON.parse(readFileSync(rec, "utf8")) as { argv: string[]; mode: number; policy: unknown };
  assert.equal(seen.mode, 0o600);
  assert.deepEqual(seen.policy, { tools: { deny: ["delete_*"] }, limits: { memory: "256M" } });
  assert.deepEqual(seen.argv.slice(0, 3), ["--audit-log", join(dirname(rec), "audit.jsonl"), "--policy"]);
  assert.deepEqual(seen.argv.slice(4), ["--", process.execPath, memoryServer]);
  await client.close();
  assert.ok(!existsSync(dir), "policy file removed on close");
});

test("transport: an invalid policy is refused at construction, pointing at the field", () => {
  assert.throws(
    () => new JailedStdioClientTransport({ command: "x", policy: { network: { allow: ["http://x"] } } }),
    (e: unknown) => e instanceof PolicyError && /policy: network\.allow\[0\]: "http:\/\/x" is not HOST\[:PORT\]/.test(e.message),
  );
});

test("transport through the real jail: SDK Client ↔ server-memory, denied tool hidden", async () => {
  const transport = new JailedStdioClientTransport({
    command: process.execPath,
    args: [memoryServer],
    env: env(),
    policy: {
      extends: "node",
      filesystem: { ro: [join(repoRoot, "node_modules")] },
      env: { set: { MEMORY_FILE_PATH: "/tmp/memory.jsonl" } },
      tools: { deny: ["delete_*"] },
    },
    stderr: "pipe",
  });
  const client = new Client({ name: "transport-jail-test", version: "0.0.0" });
  await client.connect(transport);
  try {
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes("create_entities"), names.join(","));
    assert.ok(!names.some((n) => n.startsWith("delete_")), "denied tools hidden");
    const r = await client.callTool({ name: "create_entities", arguments: { entities: [{ name: "a", entityType: "t", observations: ["o"] }] } });
    assert.ok(!r.isError);
    const g = await client.callTool({ name: "read_graph", arguments: {} });
    const text = (g.content as { type: string; text: string }[])[0]!.text;
    assert.deepEqual((JSON.parse(text) as { entities: { name: string }[] }).entities.map((e) => e.name), ["a"]);
    const denied = await client.callTool({ name: "delete_entities", arguments: { entityNames: ["a"] } });
    assert.equal(denied.isError, true);
  } finally {
    await client.close();
  }
});

test("SDK v2 client in auto mode: one process per connect (the probe runs in place, not on a second jail)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mcpj-transport-v2-"));
  const starts = (file: string): number => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").length : 0);
  for (const server of [v2Server, memoryServer]) {
    const file = join(dir, `starts-${server === v2Server ? "v2" : "v1"}`);
    const transport = new JailedStdioClientTransport({
      command: process.execPath,
      args: [server],
      env: env({ FAKE_MCPJ_STARTS: file, MEMORY_FILE_PATH: join(dir, "memory.jsonl") }),
      mcpjPath: fakeMcpj,
      stderr: "pipe",
    });
    const client = new ClientV2({ name: "transport-v2", version: "0.0.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(transport);
    const tools = await client.listTools();
    assert.ok(tools.tools.length > 0);
    // A v2 server answers the probe (2026-07-28); a v1 server refuses it and the client falls back
    // to initialize on the same process.
    assert.equal(client.getNegotiatedProtocolVersion() === "2026-07-28", server === v2Server, `era: ${client.getNegotiatedProtocolVersion()}`);
    await client.close();
    assert.equal(starts(file), 1, `one start for ${server}`);
  }
  // The SDK's own StdioClientTransport, as a control: it probes on a sibling, so the same counter sees two starts.
  const file = join(dir, "starts-base");
  const base = new StdioClientTransportV2({ command: process.execPath, args: [fakeMcpj, "--policy", join(dir, "policy.json"), "--", process.execPath, v2Server], env: env({ FAKE_MCPJ_STARTS: file }), stderr: "pipe" });
  writeFileSync(join(dir, "policy.json"), "{}", { mode: 0o600 });
  const client = new ClientV2({ name: "transport-v2", version: "0.0.0" }, { versionNegotiation: { mode: "auto" } });
  await client.connect(base);
  await client.close();
  assert.equal(starts(file), 2, "the base transport's disposable probe is a second start");
});
