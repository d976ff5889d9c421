// The compatibility suite's servers (issue 12, "Done when"): real servers people run, each started
// exactly as a user would write it, with mcp-j in front and the flags a user writes for it: its
// data directory and its network host, nothing else (what else a server needs, mcp-j infers: the
// runtime, the package, a git server's git, the browser its launch options name). The suite
// (compat.jail.test.ts) runs every server so; bench/compat.bench.mjs measures the time to the first
// tools/list through mcp-j against the bare server.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { repoRoot } from "../helpers.js";
import { textOf } from "../mcp-client.js";

const modules = join(repoRoot, "node_modules");
const pkg = (name: string, file = "dist/index.js"): string => join(modules, name, file);
const ours = (file: string): string => join(repoRoot, "packages", "cli", "test", "servers", file);
export const CHROMIUM = "/usr/lib/chromium/chromium";

export interface CompatServer {
  name: string;
  /** Where it comes from: an npm package (pinned in the root package.json) or a file of this repository. */
  source: string;
  /** The command, as a user writes it, for a data directory. */
  command(dir: string): string[];
  /** Variables the server itself is configured with (the same bare and jailed; jailed through --env). */
  env?(dir: string): Record<string, string>;
  /** The flags a user writes: the data directory (and the network host, for none of these). */
  flags(dir: string): string[];
  /** Prepares the data directory. */
  setup?(dir: string): void;
  /** A real tool call, checked. */
  exercise(client: Client, dir: string): Promise<void>;
  /** Why it cannot run on this machine, or null. */
  unavailable?(): string | null;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const r = await client.callTool({ name, arguments: args });
  assert.notEqual(r.isError, true, `${name}: ${textOf(r)}`);
  return textOf(r);
}

export const COMPAT_SERVERS: CompatServer[] = [
  {
    name: "server-filesystem",
    source: "@modelcontextprotocol/server-filesystem",
    command: (dir) => ["node", pkg("@modelcontextprotocol/server-filesystem"), dir],
    flags: (dir) => ["--rw", dir],
    async exercise(client, dir) {
      await call(client, "write_file", { path: join(dir, "note.txt"), content: "from the jail\n" });
      assert.match(await call(client, "read_text_file", { path: join(dir, "note.txt") }), /from the jail/);
      assert.equal(readFileSync(join(dir, "note.txt"), "utf8"), "from the jail\n");
    },
  },
  {
    name: "server-memory",
    source: "@modelcontextprotocol/server-memory",
    command: () => ["node", pkg("@modelcontextprotocol/server-memory")],
    env: (dir) => ({ MEMORY_FILE_PATH: join(dir, "memory.jsonl") }),
    flags: (dir) => ["--rw", dir],
    async exercise(client, dir) {
      await call(client, "create_entities", { entities: [{ name: "mcp-j", entityType: "tool", observations: ["jails servers"] }] });
      assert.match(await call(client, "read_graph", {}), /jails servers/);
      assert.match(readFileSync(join(dir, "memory.jsonl"), "utf8"), /"name":"mcp-j"/);
    },
  },
  {
    name: "server-everything",
    source: "@modelcontextprotocol/server-everything",
    command: () => ["node", pkg("@modelcontextprotocol/server-everything"), "stdio"],
    flags: () => [],
    async exercise(client) {
      assert.match(await call(client, "echo", { message: "through the jail" }), /through the jail/);
    },
  },
  {
    name: "server-sequential-thinking",
    source: "@modelcontextprotocol/server-sequential-thinking",
    command: () => ["node", pkg("@modelcontextprotocol/server-sequential-thinking")],
    flags: () => [],
    async exercise(client) {
      const out = await call(client, "sequentialthinking", { thought: "one step", nextThoughtNeeded: false, thoughtNumber: 1, totalThoughts: 1 });
      assert.match(out, /"thoughtHistoryLength": 1/);
    },
  },
  {
    name: "time (time-mcp)",
    source: "time-mcp",
    command: () => ["node", pkg("time-mcp")],
    flags: () => [],
    async exercise(client) {
      assert.match(await call(client, "current_time", {}), /Current UTC time is \d{4}-\d\d-\d\d/);
    },
  },
  {
    name: "SDK 1.x server",
    source: "packages/cli/test/servers/sdk1-server.mjs",
    command: () => ["node", ours("sdk1-server.mjs")],
    flags: () => [],
    async exercise(client) {
      assert.equal(await call(client, "add", { a: 2, b: 40 }), "42");
    },
  },
  {
    name: "fastmcp server",
    source: "packages/cli/test/servers/fastmcp-server.mjs (fastmcp)",
    command: () => ["node", ours("fastmcp-server.mjs")],
    flags: () => [],
    async exercise(client) {
      assert.equal(await call(client, "add", { a: 2, b: 40 }), "42");
    },
  },
  {
    name: "git (@cyanheads/git-mcp-server)",
    source: "@cyanheads/git-mcp-server",
    command: () => ["node", pkg("@cyanheads/git-mcp-server")],
    flags: (dir) => ["--rw", dir],
    // git is on its exec allowlist without a flag: a well-known git server (policy/programs.ts).
    setup(dir) {
      const git = (...a: string[]) => execFileSync("git", ["-C", dir, "-c", "user.name=mcp-j", "-c", "user.email=mcp-j@example.invalid", ...a], { stdio: "pipe" });
      git("init", "-q");
      writeFileSync(join(dir, "README"), "compat\n");
      git("add", "README");
      git("commit", "-qm", "first");
      writeFileSync(join(dir, "new.txt"), "untracked\n");
    },
    async exercise(client, dir) {
      const out = await call(client, "git_status", { path: dir });
      assert.match(out, /"untrackedFiles": \[\s*"new\.txt"\s*\]/);
    },
  },
  {
    name: "sqlite (Python stdlib)",
    source: "packages/cli/test/servers/sqlite_server.py",
    command: (dir) => ["python3", ours("sqlite_server.py"), "--db-path", join(dir, "compat.db")],
    flags: (dir) => ["--rw", dir],
    async exercise(client, dir) {
      await call(client, "create_table", { query: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)" });
      await call(client, "write_query", { query: "INSERT INTO t (v) VALUES ('jailed')" });
      assert.deepEqual(JSON.parse(await call(client, "read_query", { query: "SELECT DISTINCT v FROM t" })), [{ v: "jailed" }]);
      assert.ok(existsSync(join(dir, "compat.db")));
    },
  },
  {
    name: "Python stdlib server",
    source: "packages/cli/test/servers/stdlib_server.py",
    command: () => ["python3", ours("stdlib_server.py")],
    flags: () => [],
    async exercise(client) {
      assert.equal(await call(client, "sha256", { text: "mcp-j" }), createHash("sha256").update("mcp-j").digest("hex"));
    },
  },
  {
    name: "puppeteer (Debian's Chromium)",
    source: "@modelcontextprotocol/server-puppeteer",
    command: () => ["node", pkg("@modelcontextprotocol/server-puppeteer")],
    // Chromium's own sandbox cannot nest in the jail (it needs user namespaces, refused there):
    // --no-sandbox, and the DevTools protocol over a pipe (the jail refuses TCP listeners, even on
    // loopback). The server refuses --no-sandbox unless ALLOW_DANGEROUS is set.
    env: () => ({
      PUPPETEER_LAUNCH_OPTIONS: JSON.stringify({ headless: true, executablePath: CHROMIUM, args: ["--no-sandbox"], pipe: true }),
      ALLOW_DANGEROUS: "true",
    }),
    flags: () => [],
    // The browser is on its exec allowlist without a flag: PUPPETEER_LAUNCH_OPTIONS names it (policy/programs.ts).
    async exercise(client) {
      await call(client, "puppeteer_navigate", { url: "data:text/html,<title>jailed page</title><p id=p>hello</p>" });
      const out = await call(client, "puppeteer_evaluate", { script: "document.title + ' / ' + document.getElementById('p').textContent" });
      assert.match(out, /jailed page \/ hello/);
    },
    unavailable: () => (existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing: apt-get install chromium`),
  },
];

/** A data directory for one server. As root it belongs to root (mode 0755): the jail, which runs
 * as nobody, writes there through an idmapped bind (issue 12 item 1). */
export function dataDirFor(parent: string, name: string): string {
  const d = join(parent, name.replace(/[^a-z0-9]+/gi, "-"));
  mkdirSync(d, { recursive: true, mode: 0o755 });
  return d;
}
