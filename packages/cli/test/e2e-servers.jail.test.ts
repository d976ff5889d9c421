// End to end: the MCP SDK's Client and StdioClientTransport launch `mcp-j -- node <server>` for
// real servers from npm, through the real jail and the JSON-RPC proxy.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mcpjBin, repoRoot } from "./helpers.js";

const modules = join(repoRoot, "node_modules");
const server = (name: string): string => join(modules, "@modelcontextprotocol", name, "dist", "index.js");

async function connect(args: string[], serverArgs: string[]): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [mcpjBin, "--ro", modules, ...args, "--", "node", ...serverArgs],
    stderr: "pipe",
    cwd: repoRoot,
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "mcpj-e2e", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => err };
}

const textOf = (r: unknown): string =>
  ((r as { content?: Array<{ type: string; text?: string }> }).content ?? []).map((c) => c.text ?? "").join("");

test("server-everything: initialize, list tools, call echo; a denied tool is hidden and refused", async () => {
  const { client } = await connect(["--deny-tool", "get-env*", "--deny-tool", "printEnv"], [server("server-everything"), "stdio"]);
  try {
    assert.ok(client.getServerVersion()?.name, "initialize answered with server info");
    const tools = await client.listTools();
    const names = tools.tools.map((t) => t.name);
    assert.ok(names.includes("echo"), `echo missing from ${names.join(",")}`);
    assert.ok(!names.some((n) => n.startsWith("get-env") || n === "printEnv"), `denied tool listed: ${names.join(",")}`);
    const r = await client.callTool({ name: "echo", arguments: { message: "hello from the jail" } });
    assert.match(textOf(r), /hello from the jail/);
    const denied = await client.callTool({ name: names.includes("get-env") ? "get-env" : "printEnv", arguments: {} });
    assert.equal(denied.isError, true);
    assert.match(textOf(denied), /denied by policy/i);
  } finally {
    await client.close();
  }
});

test("server-everything: an oversized message from the client is answered with an error, the session goes on", async () => {
  const { client } = await connect(["--max-message-bytes", "64K"], [server("server-everything"), "stdio"]);
  try {
    await assert.rejects(client.callTool({ name: "echo", arguments: { message: "x".repeat(100_000) } }), (e: Error) => {
      assert.match(e.message, /too large|exceeds/i);
      return true;
    });
    const ok = await client.callTool({ name: "echo", arguments: { message: "still here" } });
    assert.match(textOf(ok), /still here/);
  } finally {
    await client.close();
  }
});

const work = mkdtempSync(join(tmpdir(), "mcpj-e2e-fs-"));
chmodSync(work, 0o777); // the jail runs as nobody when the tests run as root
after(() => rmSync(work, { recursive: true, force: true }));

test("server-filesystem: reads and writes a file in a --rw grant, and the write lands on the host", async () => {
  writeFileSync(join(work, "in.txt"), "from the host\n");
  chmodSync(join(work, "in.txt"), 0o666);
  const { client } = await connect(["--rw", work], [server("server-filesystem"), work]);
  try {
    const read = await client.callTool({ name: "read_text_file", arguments: { path: join(work, "in.txt") } });
    assert.match(textOf(read), /from the host/);
    const w = await client.callTool({ name: "write_file", arguments: { path: join(work, "out.txt"), content: "from the jail\n" } });
    assert.notEqual(w.isError, true, textOf(w));
    assert.equal(readFileSync(join(work, "out.txt"), "utf8"), "from the jail\n");
  } finally {
    await client.close();
  }
});

test("server-memory: create and read entities", async () => {
  const { client } = await connect(["--env", "MEMORY_FILE_PATH=/tmp/memory.json"], [server("server-memory")]);
  try {
    await client.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "mcpj", entityType: "project", observations: ["runs servers in a jail"] }] },
    });
    const g = await client.callTool({ name: "read_graph", arguments: {} });
    assert.match(textOf(g), /runs servers in a jail/);
  } finally {
    await client.close();
  }
});

test("the server killed mid-request: the pending request gets an error naming the cause", async () => {
  // A tiny MCP server that answers initialize, then dies (SIGKILL to itself) on any tools/call.
  const dir = mkdtempSync(join(tmpdir(), "mcpj-e2e-die-"));
  chmodSync(dir, 0o755);
  const script = join(dir, "dying-server.mjs");
  writeFileSync(
    script,
    `import { createInterface } from "node:readline";
createInterface({ input: process.stdin }).on("line", (l) => {
  const m = JSON.parse(l);
  if (m.method === "initialize") process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "dying", version: "1" } } }) + "\\n");
  else if (m.method === "tools/call") process.kill(process.pid, "SIGKILL");
  else if (m.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { tools: [] } }) + "\\n");
});
`,
  );
  chmodSync(script, 0o644);
  const { client } = await connect(["--ro", dir], [script]);
  try {
    await assert.rejects(client.callTool({ name: "anything", arguments: {} }), (e: Error) => {
      assert.match(e.message, /killed by signal 9|server/i);
      return true;
    });
  } finally {
    await client.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--profile npx: `npx -y` downloads a server through the egress proxy into the jail-private cache and runs it", async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [mcpjBin, "--profile", "npx", "--", "npx", "-y", "@modelcontextprotocol/server-memory@2026.8.31"],
    stderr: "pipe",
    cwd: repoRoot,
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "mcpj-e2e-npx", version: "1.0.0" });
  try {
    await client.connect(transport);
    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === "read_graph"), err);
  } finally {
    await client.close().catch(() => {});
  }
});
