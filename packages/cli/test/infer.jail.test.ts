// The default does the right thing (issue 12 items 3 and 9): with no --profile the profile comes from
// the command, a script outside every grant is granted read-only, a relative command in servers.yaml
// is relative to that file, and a jail without network says which flag it needs. Through the real
// CLI, with the MCP SDK's client where a server speaks MCP.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mcpjBin, repoRoot, runMcpj } from "./helpers.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), "mcpj-infer-"));
  roots.push(root);
  chmodSync(root, 0o755);
  return root;
}

const env: NodeJS.ProcessEnv = { ...process.env, PATH: "/usr/bin:/bin" };

/** The README's project: my-server.js beside a package.json, its dependencies in node_modules. */
function project(): string {
  const proj = join(tree(), "my-project");
  mkdirSync(proj, { mode: 0o755 });
  writeFileSync(join(proj, "package.json"), JSON.stringify({ name: "my-server", type: "module" }));
  symlinkSync(join(repoRoot, "node_modules"), join(proj, "node_modules"));
  writeFileSync(
    join(proj, "my-server.js"),
    `import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
const server = new McpServer({ name: "my-server", version: "1.0.0" });
server.tool("add", { a: z.number(), b: z.number() }, async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }));
await server.connect(new StdioServerTransport());
`,
  );
  return proj;
}

test("README: `mcp-j -- node ./my-server.js` infers the node profile and the package, and serves tools/call", async () => {
  const proj = project();
  const transport = new StdioClientTransport({ command: process.execPath, args: [mcpjBin, "--", "node", "./my-server.js"], cwd: proj, env: env as Record<string, string>, stderr: "pipe" });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "mcpj-infer", version: "1.0.0" });
  try {
    await client.connect(transport);
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name), ["add"]);
    const r = await client.callTool({ name: "add", arguments: { a: 2, b: 3 } });
    assert.deepEqual(r.content, [{ type: "text", text: "5" }]);
  } finally {
    await client.close();
  }
  const lines = err.split("\n").filter((l) => l.includes("inferred"));
  assert.equal(lines.length, 1, err);
  assert.match(lines[0]!, /^mcp-j: inferred from the command: --profile node; read-only .*my-project \(package root\), .*node_modules \(node_modules\) \(--profile none for a strict start\)$/);
});

test("README: `npx -y PKG` without --profile gets the npx profile (its own cache, the user's registry)", async () => {
  const d = tree();
  const e = { ...env, HOME: d, XDG_CACHE_HOME: join(d, "cache"), npm_config_globalconfig: join(d, "none") };
  const r = await runMcpj(["policy", "show", "--", "npx", "-y", "@modelcontextprotocol/server-filesystem", d], { env: e, cwd: d });
  assert.equal(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as { network: { allow: string[] }; filesystem: { rw: { path: string; dest: string }[] }; env: { set: Record<string, string> } };
  assert.deepEqual(p.network.allow, ["registry.npmjs.org"]);
  assert.equal(p.filesystem.rw.length, 1);
  assert.ok(p.filesystem.rw[0]!.path.startsWith(join(d, "cache", "mcp-j", "npm-servers") + "/"), p.filesystem.rw[0]!.path);
  assert.equal(p.env.set.npm_config_cache, "/tmp/.npm");
});

test("--profile none keeps the strict start: nothing inferred, the script is not visible", async () => {
  const proj = project();
  const r = await runMcpj(["--profile", "none", "--", "node", "./my-server.js"], { env, cwd: proj });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Cannot find module/);
  assert.doesNotMatch(r.stderr, /inferred/);
});

test("a program outside every grant gets a read-only grant of itself; a python script its directory", async () => {
  const proj = join(tree(), "proj");
  mkdirSync(proj, { mode: 0o755 });
  writeFileSync(join(proj, "tool.sh"), "#!/bin/sh\necho tool-ran >&2\n", { mode: 0o755 });
  const a = await runMcpj(["--", "./tool.sh"], { env, cwd: proj });
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /tool-ran/);
  assert.match(a.stderr, /inferred from the command: read-only .*proj\/tool\.sh \(program\)/);
  // Found in PATH outside /usr (a ~/.local/bin tool): granted, and started by its path.
  const bin = join(tree(), "bin");
  mkdirSync(bin, { mode: 0o755 });
  writeFileSync(join(bin, "hello-tool"), "#!/bin/sh\necho hello-tool-ran >&2\n", { mode: 0o755 });
  const t = await runMcpj(["--", "hello-tool"], { env: { ...env, PATH: `${bin}:/usr/bin:/bin` }, cwd: "/" });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, /hello-tool-ran/);
  writeFileSync(join(proj, "helper.py"), "VALUE = 'sibling-imported'\n");
  writeFileSync(join(proj, "srv.py"), "import sys, helper; sys.stderr.write(helper.VALUE + '\\n')\n");
  const b = await runMcpj(["--", "python3", "srv.py"], { env, cwd: proj });
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /sibling-imported/);
  assert.match(b.stderr, /inferred from the command: --profile python; read-only .*proj \(script directory\)/);
  // Already granted (here writable): not granted again, nor made read-only.
  chmodSync(proj, 0o777);
  const c = await runMcpj(["--rw", proj, "--", "python3", "-c", `open(${JSON.stringify(join(proj, "out"))}, "w").write("w")`], { env, cwd: proj });
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(c.stderr, /read-only/);
});

test("servers.yaml: a relative command is relative to the servers file, not to the jail", async () => {
  const d = tree();
  mkdirSync(join(d, "bin"), { mode: 0o755 });
  writeFileSync(join(d, "bin", "hello.sh"), "#!/bin/sh\necho \"hello from $1\" >&2\n", { mode: 0o755 });
  writeFileSync(join(d, "servers.yaml"), "servers:\n  hello:\n    command: ./bin/hello.sh\n    args: [the-file]\n");
  const r = await runMcpj(["run", "hello", "--config", join(d, "servers.yaml")], { env, cwd: "/" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /hello from the-file/);
});

test("a jail without network says once which flag to add when the server tries to connect", async () => {
  // One after the other: the first attempt is 443, deterministically.
  const connect = "const net = require('net'); net.connect(443, '192.0.2.1').on('error', () => net.connect(80, '192.0.2.1').on('error', () => process.exit(0)));";
  const r = await runMcpj(["--", "node", "-e", connect], { env, cwd: "/" });
  assert.equal(r.code, 0, r.stderr);
  const notes = r.stderr.split("\n").filter((l) => l.includes("this jail has no network"));
  assert.deepEqual(notes, ["mcp-j: this jail has no network (the server tried 192.0.2.1:443): allow each host it needs with --allow-net HOST[:PORT]"], r.stderr);
  const allowed = await runMcpj(["--allow-net", "example.com", "--", "node", "-e", connect], { env, cwd: "/" });
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.doesNotMatch(allowed.stderr, /this jail has no network/);
});

test("a git server may run git and a program its env names, with no --allow-exec; nothing else is added", async () => {
  // A node server that runs what it is given: the path in SPAWN (inside JSON, as puppeteer's launch
  // options are), else `git`. Installed under the name of a well-known git server, and under another.
  const d = tree();
  const server = (pkg: string): string => {
    const dir = join(d, "node_modules", ...pkg.split("/"));
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: pkg }));
    writeFileSync(
      join(dir, "index.js"),
      `const spawn = process.env.SPAWN ? JSON.parse(process.env.SPAWN).executablePath : "git";
try { process.stderr.write("ran: " + require("child_process").execFileSync(spawn, ["--version"], { stdio: ["ignore", "pipe", "pipe"] }).toString()); }
catch (e) { process.stderr.write("refused: " + e.code + "\\n"); }
`,
    );
    return join(dir, "index.js");
  };
  const git = server("@cyanheads/git-mcp-server");
  const known = await runMcpj(["--", "node", git], { env, cwd: "/" });
  assert.equal(known.code, 0, known.stderr);
  assert.match(known.stderr, /^ran: git version /m);
  assert.match(known.stderr, /inferred from the command: .*; exec \/usr\/bin\/git \(a git server runs it\)/);

  const other = server("@someone/other-server");
  const unknown = await runMcpj(["--", "node", other], { env, cwd: "/" });
  assert.equal(unknown.code, 0, unknown.stderr);
  assert.match(unknown.stderr, /^refused: EACCES$/m);
  assert.doesNotMatch(unknown.stderr, /; exec /);

  const named = await runMcpj(["--env", `SPAWN={"executablePath":"/usr/bin/git"}`, "--", "node", other], { env, cwd: "/" });
  assert.equal(named.code, 0, named.stderr);
  assert.match(named.stderr, /^ran: git version /m);
  assert.match(named.stderr, /; exec \/usr\/bin\/git \(named in SPAWN\)/);

  // A copy outside the system directories is not a system program, whoever names it.
  const copy = join(d, "git-copy");
  writeFileSync(copy, readFileSync("/usr/bin/git"), { mode: 0o755 });
  const planted = await runMcpj(["--ro", d, "--env", `SPAWN={"executablePath":${JSON.stringify(copy)}}`, "--", "node", other], { env, cwd: "/" });
  assert.equal(planted.code, 0, planted.stderr);
  assert.match(planted.stderr, /^refused: EACCES$/m);
  assert.doesNotMatch(planted.stderr, /; exec /);
});
