import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, existsSync, statSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { wrapCommand, unwrapCommand, unifiedDiff, BACKUP_SUFFIX } from "../src/commands/index.js";
import { launcher } from "../src/commands/wrap.js";
import { parseConfigText, parseRunArgs } from "@mcp-j/engine";
import { mkio, tmp, installFixture } from "./commands.helpers.js";
import { repoRoot } from "./helpers.js";

const repoRootOf = () => repoRoot;

interface Setup {
  root: string;
  home: string;
  project: string;
  env: NodeJS.ProcessEnv;
  claude: string;
  vscode: string;
  cursor: string;
}

function setup(): Setup {
  const root = tmp("mcpj-wrap-");
  const home = join(root, "home");
  const project = join(root, "project");
  mkdirSync(join(root, "srv"), { recursive: true });
  writeFileSync(join(root, "srv", "package.json"), "{}");
  writeFileSync(join(root, "srv", "index.js"), "");
  mkdirSync(join(root, "data"));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
  const claude = installFixture("claude_desktop_config.json", join(home, ".config", "Claude", "claude_desktop_config.json"), root);
  const vscode = installFixture("vscode-mcp.json", join(project, ".vscode", "mcp.json"), root);
  const cursor = installFixture("cursor-mcp.json", join(home, ".cursor", "mcp.json"), root);
  chmodSync(claude, 0o600);
  return { root, home, project, env, claude, vscode, cursor };
}

/** How wrapped entries start mcp-j here: this Node and the CLI's bin, by absolute path. */
const here = launcher(undefined);
const node = process.execPath;
const wrapped = (...args: string[]) => ({ command: node, args: [...here.args, ...args] });

const servers = (file: string) => {
  const c = parseConfigText(readFileSync(file, "utf8"), file) as Record<string, Record<string, Record<string, unknown>>>;
  return (c.mcpServers ?? c.servers)!;
};

test("wrap claude: stdio servers through mcp-j with generated flags; remote left alone and reported; backup kept", async () => {
  const s = setup();
  const before = readFileSync(s.claude, "utf8");
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", "claude"], io), 0, io.stderr.text());
  const out = io.stdout.text();
  const sv = servers(s.claude);
  assert.deepEqual(here.args, [join(repoRootOf(), "packages", "cli", "bin", "mcp-j.js")]);
  assert.match(out, /^mcp-j is started as .*mcp-j\.js \(the CLI installed here, started by this Node\)$/m);
  // The runtime's profile is inferred at start (policy/infer.ts), and the report says so.
  assert.deepEqual(sv.memory, wrapped("--", "npx", "-y", "@modelcontextprotocol/server-memory"));
  assert.match(out, /memory: {3}note: at start mcp-j infers --profile npx/);
  // env: passed through by name; the value stays only in env, never in args
  assert.deepEqual(sv.github!.args, [...here.args, "--env", "GITHUB_PERSONAL_ACCESS_TOKEN", "--", "npx", "-y", "@modelcontextprotocol/server-github"]);
  assert.deepEqual(sv.github!.env, { GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_fixture_not_a_real_token" });
  assert.deepEqual(sv.weather!.args, [...here.args, "--", "uvx", "mcp-server-weather"]);
  // a script argument: nothing written, its package root inferred at start
  assert.deepEqual(sv["local-script"]!.args, [...here.args, "--", "node", join(s.root, "srv", "index.js")]);
  assert.match(out, new RegExp(`local-script: {3}note: at start mcp-j infers --profile node; read-only ${join(s.root, "srv")} \\(package root\\)`));
  assert.deepEqual(sv["remote-sse"], { url: "https://mcp.example.com/sse" });
  assert.match(out, /remote-sse: remote server \(https:\/\/mcp\.example\.com\/sse\), left alone/);
  // the generated args are valid mcp-j run flags
  for (const name of ["memory", "github", "weather", "local-script"]) {
    const a = parseRunArgs((sv[name]!.args as string[]).slice(here.args.length));
    assert.ok(a.command.length > 0);
  }
  // other keys kept, diff shown, backup = previous content with the same mode
  assert.equal((parseConfigText(readFileSync(s.claude, "utf8"), "x") as Record<string, unknown>).globalShortcut, "Ctrl+Space");
  assert.match(out, /^--- .*claude_desktop_config\.json$/m);
  assert.match(out, /^-\s+"command": "npx",$/m);
  assert.match(out, /^\+\s+"command": "\/.*node",$/m);
  assert.equal(readFileSync(s.claude + BACKUP_SUFFIX, "utf8"), before);
  assert.equal(statSync(s.claude).mode & 0o777, 0o600);
  assert.equal(statSync(s.claude + BACKUP_SUFFIX).mode & 0o777, 0o600);
});

test("wrap is idempotent: a second run changes nothing and writes nothing", async () => {
  const s = setup();
  assert.equal(await wrapCommand(["--client", "claude"], mkio(s.env, s.project)), 0);
  const once = readFileSync(s.claude, "utf8");
  const backup = readFileSync(s.claude + BACKUP_SUFFIX, "utf8");
  const mtime = statSync(s.claude).mtimeMs;
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", "claude"], io), 0);
  assert.equal(readFileSync(s.claude, "utf8"), once);
  assert.equal(readFileSync(s.claude + BACKUP_SUFFIX, "utf8"), backup);
  assert.equal(statSync(s.claude).mtimeMs, mtime);
  assert.match(io.stdout.text(), /memory: already wrapped/);
  assert.match(io.stdout.text(), /unchanged/);
});

test("wrap vscode: comments, inputs and trailing commas survive outside rewritten entries", async () => {
  const s = setup();
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", "vscode"], io), 0, io.stderr.text());
  const text = readFileSync(s.vscode, "utf8");
  assert.match(text, /\/\/ Inputs are prompted for by VS Code and substituted into env\./);
  assert.match(text, /\/\* A python server run with uvx \*\//);
  const c = parseConfigText(text, "mcp.json") as { inputs: unknown[]; servers: Record<string, Record<string, unknown>> };
  assert.equal(c.inputs.length, 1);
  assert.deepEqual(c.servers.fetch, { type: "stdio", ...wrapped("--", "uvx", "mcp-server-fetch") });
  assert.deepEqual(c.servers.perplexity!.env, { PERPLEXITY_API_KEY: "${input:perplexity-key}" });
  assert.deepEqual(c.servers.perplexity!.args, [...here.args, "--env", "PERPLEXITY_API_KEY", "--", "npx", "-y", "server-perplexity-ask"]);
  assert.deepEqual(c.servers.py!.args, [...here.args, "--", "python3", "-m", "my_server", "--url", "http://localhost:1234//x"]);
  assert.deepEqual(c.servers["github-remote"], { type: "http", url: "https://api.githubcopilot.com/mcp/" });
  assert.match(io.stdout.text(), /github-remote: remote server/);
  // unwrap gives back the original servers (comments outside the entries still there)
  const u = mkio(s.env, s.project);
  assert.equal(await unwrapCommand(["--client", "vscode"], u), 0, u.stderr.text());
  const back = readFileSync(s.vscode, "utf8");
  const orig = readFileSync(installFixture("vscode-mcp.json", join(s.root, "orig.json"), s.root), "utf8");
  assert.deepEqual(parseConfigText(back, "mcp.json"), parseConfigText(orig, "mcp.json"));
  assert.match(back, /\/\/ Inputs are prompted/);
});

test("wrap cursor: already-wrapped and remote untouched; a data directory among the arguments granted read-write", async () => {
  const s = setup();
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", "cursor"], io), 0);
  const sv = servers(s.cursor);
  assert.deepEqual(sv.filesystem!.args, [...here.args, "--rw", join(s.root, "data"), "--", "npx", "-y", "@modelcontextprotocol/server-filesystem", join(s.root, "data")]);
  assert.deepEqual(sv.already, { command: "mcp-j", args: ["--profile", "node", "--", "node", "/opt/x.js"] });
  assert.deepEqual(sv.remote, { type: "sse", url: "http://localhost:8000/sse" });
  assert.match(io.stdout.text(), /already: already wrapped/);
  assert.match(io.stdout.text(), new RegExp(`granted ${join(s.root, "data")} read-write \\(a directory named by argument 3\\)`));
  // 4-space indentation kept
  assert.match(readFileSync(s.cursor, "utf8"), /\n {8}"filesystem": \{\n {12}"command": "\/.*node",/);
});

test("data named in env: a file's directory read-write; a file in the home directory is a warning, not a grant", async () => {
  const s = setup();
  const f = join(s.root, "env.json");
  writeFileSync(f, JSON.stringify({ mcpServers: {
    memory: { command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"], env: { MEMORY_FILE_PATH: join(s.root, "data", "memory.jsonl") } },
    homey: { command: "npx", args: ["-y", "x"], env: { DB: join(s.home, "x.db") } },
    sqlite: { command: "python3", args: ["server.py", "--db-path", join(s.root, "data", "test.db")] },
  } }));
  mkdirSync(s.home, { recursive: true });
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", f], io), 0, io.stderr.text());
  const sv = servers(f);
  assert.deepEqual(sv.memory!.args, [...here.args, "--env", "MEMORY_FILE_PATH", "--rw", join(s.root, "data"), "--", "npx", "-y", "@modelcontextprotocol/server-memory"]);
  assert.deepEqual(sv.homey!.args, [...here.args, "--env", "DB", "--", "npx", "-y", "x"]);
  assert.match(io.stdout.text(), new RegExp(`homey: {3}note: warning: DB names ${join(s.home, "x.db")}, in ${s.home}, which is too wide to grant`));
  assert.deepEqual(sv.sqlite!.args, [...here.args, "--rw", join(s.root, "data"), "--", "python3", "server.py", "--db-path", join(s.root, "data", "test.db")]);
});

test("a backup is never overwritten: the first is FILE.mcp-j.bak, later ones .1, .2; --restore-backup takes the first", async () => {
  const s = setup();
  const original = readFileSync(s.claude, "utf8");
  assert.equal(await wrapCommand(["--client", "claude"], mkio(s.env, s.project)), 0);
  const wrappedText = readFileSync(s.claude, "utf8");
  assert.equal(await unwrapCommand(["--client", "claude"], mkio(s.env, s.project)), 0);
  assert.equal(await wrapCommand(["--client", "claude"], mkio(s.env, s.project)), 0);
  assert.equal(readFileSync(s.claude + BACKUP_SUFFIX, "utf8"), original);
  assert.equal(readFileSync(`${s.claude}${BACKUP_SUFFIX}.1`, "utf8"), wrappedText);
  assert.ok(existsSync(`${s.claude}${BACKUP_SUFFIX}.2`));
  assert.equal(await unwrapCommand(["--client", "claude", "--restore-backup"], mkio(s.env, s.project)), 0);
  assert.equal(readFileSync(s.claude, "utf8"), original);
});

test("wrap --help, unwrap --help and run --help print their usage and exit 0", async () => {
  const s = setup();
  for (const [cmd, re] of [[wrapCommand, /^usage: mcp-j wrap /], [unwrapCommand, /^usage: mcp-j unwrap /]] as const) {
    const io = mkio(s.env, s.project);
    assert.equal(await cmd(["--help"], io), 0);
    assert.match(io.stdout.text(), re);
  }
  const r = spawnSync(process.execPath, [join(repoRootOf(), "packages", "cli", "bin", "mcp-j.js"), "run", "--help"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: mcp-j run NAME/);
  assert.match(r.stdout, /--rw PATH/);
});

test("dry run shows the diff and changes nothing", async () => {
  const s = setup();
  const before = readFileSync(s.cursor, "utf8");
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", "cursor", "--dry-run"], io), 0);
  assert.equal(readFileSync(s.cursor, "utf8"), before);
  assert.ok(!existsSync(s.cursor + BACKUP_SUFFIX));
  assert.match(io.stdout.text(), /^\+.*"\/.*mcp-j\.js",$/m);
  assert.match(io.stdout.text(), /dry run: nothing written/);
});

test("unwrap restores the original entries; --restore-backup restores the file", async () => {
  const s = setup();
  const before = readFileSync(s.claude, "utf8");
  assert.equal(await wrapCommand(["--client", "claude"], mkio(s.env, s.project)), 0);
  assert.equal(await unwrapCommand(["--client", "claude"], mkio(s.env, s.project)), 0);
  assert.deepEqual(parseConfigText(readFileSync(s.claude, "utf8"), "c.json"), parseConfigText(before, "c.json"));
  // unwrap of an unwrapped config: nothing to do
  const again = mkio(s.env, s.project);
  assert.equal(await unwrapCommand(["--client", "claude"], again), 0);
  assert.match(again.stdout.text(), /unchanged/);
  // --restore-backup brings back the byte-exact pre-wrap file
  assert.equal(await wrapCommand(["--client", "claude"], mkio(s.env, s.project)), 0);
  assert.equal(readFileSync(s.claude + BACKUP_SUFFIX, "utf8"), before, "the first backup is the pre-wrap file");
  assert.equal(await unwrapCommand(["--client", "claude", "--restore-backup"], mkio(s.env, s.project)), 0);
  assert.equal(readFileSync(s.claude, "utf8"), before);
});

test("without --client: every client config that exists; --client FILE; --mcpj PATH", async () => {
  const s = setup();
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--dry-run"], io), 0);
  const t = io.stdout.text();
  assert.match(t, /claude \(/);
  assert.match(t, /vscode \(/);
  assert.match(t, /cursor \(/);
  const f = installFixture("claude_desktop_config.json", join(s.root, "custom.json"), s.root);
  assert.equal(await wrapCommand(["--client", f, "--mcpj", "/opt/mcp-j/bin/mcp-j"], mkio(s.env, s.project)), 0);
  assert.equal(servers(f).memory!.command, "/opt/mcp-j/bin/mcp-j");
  // idempotent with an absolute mcp-j path too
  const again = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", f, "--mcpj", "/opt/mcp-j/bin/mcp-j"], again), 0);
  assert.match(again.stdout.text(), /unchanged/);
});

test("errors: unknown argument 2, unparsable config 2 (file untouched), no config 1", async () => {
  const s = setup();
  assert.equal(await wrapCommand(["--frob"], mkio(s.env, s.project)), 2);
  assert.equal(await wrapCommand(["--client", "emacs"], mkio(s.env, s.project)), 2);
  const bad = join(s.root, "bad.json");
  writeFileSync(bad, '{ "mcpServers": { "a": { "command": "x" ');
  const io = mkio(s.env, s.project);
  assert.equal(await wrapCommand(["--client", bad], io), 2);
  assert.match(io.stderr.text(), /cannot parse/);
  assert.equal(readFileSync(bad, "utf8"), '{ "mcpServers": { "a": { "command": "x" ');
  const empty = mkio({ PATH: process.env.PATH, HOME: join(s.root, "nohome") }, join(s.root, "noproject"));
  assert.equal(await wrapCommand([], empty), 1);
  assert.match(empty.stderr.text(), /no MCP client config found/);
});

test("unifiedDiff: hunks with context", () => {
  const a = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"].join("\n");
  const b = ["1", "2", "3", "4", "five", "6", "7", "8", "9", "10"].join("\n");
  assert.equal(unifiedDiff(a, b, "a", "b"), "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
  assert.equal(unifiedDiff(a, a, "a", "b"), "");
});
