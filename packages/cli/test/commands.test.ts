import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { policyCommand, auditCommand } from "../src/commands/index.js";
import { loadNamedServer, resolvePolicy, mergePolicyInputs, parseRunArgs, PolicyError, listNamedServers } from "@mcp-j/engine";
import { mkio, tmp, FIXTURES } from "./commands.helpers.js";

test("policy show: prints the resolved policy as JSON, flags over file", async () => {
  const d = tmp();
  writeFileSync(join(d, "p.yaml"), "limits: { memory: 1G, pids: 9 }\nnetwork: { allow: [a.com] }\n");
  const io = mkio(process.env, d);
  const code = await policyCommand(["show", "--policy", "p.yaml", "--memory", "2G", "--allow-net", "b.com", "--ro", "data", "--", "true"], io);
  assert.equal(code, 0, io.stderr.text());
  const p = JSON.parse(io.stdout.text());
  assert.equal(p.limits.memory, "2G");
  assert.equal(p.limits.pids, 9);
  assert.deepEqual(p.network.allow, ["a.com", "b.com"]);
  assert.deepEqual(p.filesystem.ro, [{ path: join(d, "data"), from: "--ro data" }]);
  assert.equal(p.grace, 2000);
});

test("policy show: usage error exits 2 with the flag named", async () => {
  const io = mkio(process.env, tmp());
  assert.equal(await policyCommand(["show", "--allow-net", "http://x"], io), 2);
  assert.match(io.stderr.text(), /--allow-net "http:\/\/x": is not HOST\[:PORT\]/);
  const io2 = mkio(process.env, tmp());
  assert.equal(await policyCommand(["show", "--nope"], io2), 2);
  assert.match(io2.stderr.text(), /unknown flag "--nope"/);
});

test("policy check: 0 for valid, 2 with field-pointing errors for invalid", async () => {
  const d = tmp();
  writeFileSync(join(d, "good.yaml"), "network: { allow: [api.github.com] }\n");
  writeFileSync(join(d, "policy.yaml"), "network:\n  allow: [a.com, b.com, 'http://x']\n");
  const ok = mkio(process.env, d);
  assert.equal(await policyCommand(["check", "good.yaml"], ok), 0);
  assert.match(ok.stdout.text(), /good\.yaml: ok/);
  const bad = mkio(process.env, d);
  assert.equal(await policyCommand(["check", "policy.yaml"], bad), 2);
  assert.equal(bad.stderr.text(), 'mcp-j: policy.yaml: network.allow[2]: "http://x" is not HOST[:PORT]: give a host, not a URL\n');
  const missing = mkio(process.env, d);
  assert.equal(await policyCommand(["check", "nope.yaml"], missing), 2);
  assert.equal(await policyCommand(["check"], mkio(process.env, d)), 2);
  assert.equal(await policyCommand(["frobnicate"], mkio(process.env, d)), 2);
});

test("policy schema prints the JSON Schema", async () => {
  const io = mkio(process.env, tmp());
  assert.equal(await policyCommand(["schema"], io), 0);
  const s = JSON.parse(io.stdout.text());
  assert.equal(s.title, "MCP-J policy");
});

test("audit summarize: text and --json; missing file exits 1", async () => {
  const d = tmp();
  const ev = (e: Record<string, unknown>) => JSON.stringify({ v: 1, ts: "2026-01-01T00:00:00.000Z", jail: "abc", ...e });
  writeFileSync(
    join(d, "a.jsonl"),
    [
      ev({ type: "jail.start", server: "memory", command: ["npx"], layers: { landlock: "abi 6" }, landlock_abi: 6 }),
      ev({ type: "syscall", syscall: "openat", decision: "allow", path: "/srv/data.json", access: "read" }),
      ev({ type: "syscall", syscall: "openat", decision: "deny", path: "/root/.ssh/id_ed25519", reason: "outside grants" }),
      ev({ type: "net", decision: "allow", host: "registry.npmjs.org", port: 443 }),
      ev({ type: "exit", code: 0, signal: null, reason: "exited" }),
    ].join("\n") + "\n",
  );
  const io = mkio(process.env, d);
  assert.equal(await auditCommand(["summarize", "a.jsonl"], io), 0);
  const t = io.stdout.text();
  assert.match(t, /jail abc: memory/);
  assert.match(t, /read \(1\):\n {4}\/srv\/data\.json/);
  assert.match(t, /denied \(1\):\n {4}openat \/root\/\.ssh\/id_ed25519 \(outside grants\)/);
  assert.match(t, /contacted \(1\):\n {4}registry\.npmjs\.org:443/);
  const j = mkio(process.env, d);
  assert.equal(await auditCommand(["summarize", "--json", "a.jsonl"], j), 0);
  assert.equal(JSON.parse(j.stdout.text()).jails[0].exit.reason, "exited");
  assert.equal(await auditCommand(["summarize", "missing.jsonl"], mkio(process.env, d)), 1);
  assert.equal(await auditCommand(["summarize"], mkio(process.env, d)), 2);
  assert.equal(await auditCommand(["explain"], mkio(process.env, d)), 2);
});

function serversDir(): string {
  const d = tmp("mcpj-servers-");
  copyFileSync(join(FIXTURES, "servers.yaml"), join(d, "servers.yaml"));
  copyFileSync(join(FIXTURES, "files.policy.yaml"), join(d, "files.policy.yaml"));
  mkdirSync(join(d, "srv"));
  writeFileSync(join(d, "srv", "index.js"), "");
  return d;
}

test("named servers: lookup, command, inline policy, policy file relative to the config", async () => {
  const d = serversDir();
  const opts = { config: join(d, "servers.yaml"), cwd: "/", env: process.env };
  assert.deepEqual(listNamedServers(opts), ["memory", "files", "inline-grants", "broken"]);
  const mem = loadNamedServer("memory", opts);
  assert.deepEqual(mem.command, ["npx", "-y", "@modelcontextprotocol/server-memory"]);
  assert.deepEqual(mem.policy, { extends: "npx", limits: { memory: "256M" } });
  const files = loadNamedServer("files", opts);
  assert.deepEqual(files.command, ["node", join(d, "srv", "index.js")], "./X in a command is relative to the servers file");
  assert.equal(files.policyFile, join(d, "files.policy.yaml"));
  assert.deepEqual(files.policy, { env: { set: { LOG_LEVEL: "debug" } } });
  const pol = await resolvePolicy({ policyFile: files.policyFile!, profiles: [], overlay: mergePolicyInputs(files.policy ?? {}, parseRunArgs(["--pids", "7"]).overlay), cwd: d, env: process.env });
  assert.deepEqual(pol.tools.deny, ["write_*"]);
  assert.equal(pol.env.set.LOG_LEVEL, "debug");
  assert.equal(pol.limits.pids, 7);
  assert.ok(pol.filesystem.ro.some((g) => g.path === join(d, "srv")));
  const ig = loadNamedServer("inline-grants", opts);
  assert.deepEqual(ig.policy?.filesystem, { ro: [{ path: join(d, "data") }], rw: [{ path: join(d, "out"), dest: "/out" }] });
});

test("named servers: errors (unknown name, bad inline policy, missing config)", () => {
  const d = serversDir();
  const opts = { config: join(d, "servers.yaml"), env: process.env };
  assert.throws(() => loadNamedServer("nope", opts), (e: unknown) => e instanceof PolicyError && e.code === "E_SERVER" && /no server named "nope" \(known: memory, files, inline-grants, broken\)/.test(e.message));
  assert.throws(() => loadNamedServer("broken", opts), (e: unknown) => e instanceof PolicyError && /servers\.broken\.policy\.network\.allow\[0\]: "http:\/\/x" is not HOST\[:PORT\]/.test(e.message));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(d, "nothing-here") };
  delete env.MCPJ_CONFIG;
  assert.throws(() => loadNamedServer("memory", { env }), (e: unknown) => e instanceof PolicyError && e.code === "E_SERVER" && /no servers config/.test(e.message));
  // default location: $XDG_CONFIG_HOME/mcp-j/servers.yaml
  mkdirSync(join(d, "xdg", "mcp-j"), { recursive: true });
  copyFileSync(join(d, "servers.yaml"), join(d, "xdg", "mcp-j", "servers.yaml"));
  assert.deepEqual(loadNamedServer("memory", { env: { ...env, XDG_CONFIG_HOME: join(d, "xdg") } }).command[0], "npx");
});
