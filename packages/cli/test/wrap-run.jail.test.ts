// Issue 12 item 4: `mcp-j wrap` of a realistic Claude Desktop configuration of five servers, then
// each wrapped entry started exactly as written (its command, args and env, with a client's small
// PATH) by the MCP SDK's client, listing its tools and making a real tool call.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseConfigText } from "@mcp-j/engine";
import { wrapCommand } from "../src/commands/index.js";
import { mkio } from "./commands.helpers.js";
import { repoRoot } from "./helpers.js";
import { connectCommand, textOf } from "./mcp-client.js";

const root = mkdtempSync(join(tmpdir(), "mcpj-wrap-run-"));
after(() => rmSync(root, { recursive: true, force: true }));
chmodSync(root, 0o755);
const modules = join(repoRoot, "node_modules");
const npmServer = (name: string) => join(modules, "@modelcontextprotocol", name, "dist", "index.js");

test("five wrapped Claude Desktop servers run as written: tools/list and a tool call each", async () => {
  const home = join(root, "home");
  const notes = join(root, "notes");
  const memory = join(root, "memory");
  const db = join(root, "db");
  for (const d of [home, notes, memory, db]) mkdirSync(d, { recursive: true, mode: 0o755 });
  // A Node server whose dependencies resolve from a node_modules above its package root (the
  // repository's): the chain the jail must see.
  const weather = join(repoRoot, "packages", "cli", "test", "servers", "sdk1-server.mjs");
  const config = join(home, ".config", "Claude", "claude_desktop_config.json");
  mkdirSync(join(home, ".config", "Claude"), { recursive: true });
  writeFileSync(
    config,
    JSON.stringify(
      {
        mcpServers: {
          filesystem: { command: "node", args: [npmServer("server-filesystem"), notes] },
          memory: { command: "node", args: [npmServer("server-memory")], env: { MEMORY_FILE_PATH: join(memory, "memory.jsonl") } },
          everything: { command: "node", args: [npmServer("server-everything"), "stdio"] },
          sqlite: { command: "python3", args: [join(repoRoot, "packages", "cli", "test", "servers", "sqlite_server.py"), "--db-path", join(db, "app.db")] },
          weather: { command: "node", args: [weather] },
        },
        globalShortcut: "",
      },
      null,
      2,
    ),
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
  const io = mkio(env, root);
  assert.equal(await wrapCommand(["--client", "claude"], io), 0, io.stderr.text());
  const servers = (parseConfigText(readFileSync(config, "utf8"), config) as { mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }> }).mcpServers;

  const calls: Record<string, [string, Record<string, unknown>, RegExp]> = {
    filesystem: ["write_file", { path: join(notes, "n.txt"), content: "wrapped" }, /Successfully wrote/],
    memory: ["create_entities", { entities: [{ name: "wrap", entityType: "t", observations: [] }] }, /"name": "wrap"/],
    everything: ["echo", { message: "as written" }, /as written/],
    sqlite: ["create_table", { query: "CREATE TABLE t (x)" }, /created/],
    weather: ["add", { a: 1, b: 2 }, /^3$/],
  };
  for (const [name, e] of Object.entries(servers)) {
    assert.ok(e.command.startsWith("/"), `${name}: the command is an absolute path (${e.command})`);
    // A client's environment: a small PATH, its HOME, and the entry's env.
    const c = await connectCommand(e.command, e.args, { env: { PATH: "/usr/bin:/bin", HOME: home, ...(e.env ?? {}) }, cwd: "/" });
    try {
      assert.ok((await c.client.listTools()).tools.length > 0, name);
      const [tool, args, expect] = calls[name]!;
      const r = await c.client.callTool({ name: tool, arguments: args });
      assert.notEqual(r.isError, true, `${name}: ${textOf(r)}\n${c.stderr()}`);
      assert.match(textOf(r), expect, `${name}: ${textOf(r)}`);
    } finally {
      await c.close();
    }
  }
  assert.equal(readFileSync(join(notes, "n.txt"), "utf8"), "wrapped");
  assert.match(readFileSync(join(memory, "memory.jsonl"), "utf8"), /"name":"wrap"/);
});

test("a Node server whose node_modules above its package is a symlink (a monorepo's) runs wrapped", async () => {
  const project = join(root, "mono", "packages", "weather");
  mkdirSync(project, { recursive: true });
  symlinkSync(modules, join(root, "mono", "node_modules"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "weather", type: "module" }));
  writeFileSync(join(project, "server.js"), readFileSync(join(repoRoot, "packages", "cli", "test", "servers", "sdk1-server.mjs")));
  const config = join(root, "mono.json");
  writeFileSync(config, JSON.stringify({ mcpServers: { weather: { command: "node", args: [join(project, "server.js")] } } }));
  const io = mkio({ PATH: process.env.PATH, HOME: join(root, "home") }, root);
  assert.equal(await wrapCommand(["--client", config], io), 0, io.stderr.text());
  // The report names the chain as Node spells it.
  assert.match(io.stdout.text(), new RegExp(`read-only ${project} \\(package root\\), ${join(root, "mono", "node_modules")} \\(node_modules\\)`));
  const e = (parseConfigText(readFileSync(config, "utf8"), config) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers.weather!;
  const c = await connectCommand(e.command, e.args, { env: { PATH: "/usr/bin:/bin", HOME: join(root, "home") }, cwd: "/" });
  try {
    const r = await c.client.callTool({ name: "upper", arguments: { text: "chain" } });
    assert.equal(textOf(r), "CHAIN", c.stderr());
  } finally {
    await c.close();
  }
});
