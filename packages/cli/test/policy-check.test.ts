// `mcp-j policy check` checks what the run will check (issue 12 item 8): a file that passes the
// check does not fail the run on its grants, exec entries, cwd, secrets or network entries, and
// every problem is named by the file and the field, never by a flag nobody typed.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { policyCommand } from "../src/commands/index.js";
import { mkio, tmp } from "./commands.helpers.js";
import { runMcpj } from "./helpers.js";

test("policy check reports every problem a run would stop at, by file and field", async () => {
  const d = tmp();
  mkdirSync(join(d, "data"));
  mkdirSync(join(d, "out"));
  writeFileSync(join(d, "data", "tool"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(join(d, "base.yaml"), "filesystem:\n  ro: [./gone]\n");
  writeFileSync(
    join(d, "policy.yaml"),
    [
      "extends: ./base.yaml",
      "filesystem:",
      "  ro: [./data, './data:/proc']",
      "  rw: [./out]",
      "  exec: [./data/tool, ./out/x, /opt/mcpj-nowhere/bin/tool]",
      "  cwd: /nowhere",
      "env:",
      "  secrets: [{ name: TOKEN, fromFile: ./token }, { name: KEY, fromEnv: MCPJ_TEST_UNSET_KEY }]",
      "",
    ].join("\n"),
  );
  const io = mkio({ ...process.env, MCPJ_TEST_UNSET_KEY: undefined }, d);
  assert.equal(await policyCommand(["check", "policy.yaml"], io), 2);
  assert.deepEqual(io.stderr.text().split("\n").filter(Boolean), [
    `mcp-j: base.yaml: filesystem.ro[0]: ${join(d, "gone")}: no such file or directory (a grant must name an existing path)`,
    `mcp-j: policy.yaml: filesystem.ro[1]: ${join(d, "data")}: /proc is built by the jail itself and cannot be replaced by a grant`,
    `mcp-j: policy.yaml: filesystem.exec[1]: ${join(d, "out", "x")} is not a file on a read-only mount of the jail (writable grants are never executable)`,
    `mcp-j: policy.yaml: filesystem.exec[2]: /opt/mcpj-nowhere/bin/tool is not visible inside the jail: grant its directory read-only (--ro DIR or filesystem.ro)`,
    "mcp-j: policy.yaml: filesystem.cwd: /nowhere is not a directory inside the jail (grant it, or a directory above it)",
    `mcp-j: policy.yaml: env.secrets[0]: secret TOKEN: cannot read ${join(d, "token")}: ENOENT`,
    "mcp-j: policy.yaml: env.secrets[1]: secret KEY: MCPJ_TEST_UNSET_KEY is not set in mcp-j's environment",
  ]);
  assert.doesNotMatch(io.stderr.text(), /^mcp-j: --/m, "no problem is attributed to a flag");
  // network.allow entries are read with the egress allowlist's own grammar.
  writeFileSync(join(d, "net.yaml"), "network:\n  allow: [api.github.com, 10.1.2.3/8]\n");
  const net = mkio(process.env, d);
  assert.equal(await policyCommand(["check", "net.yaml"], net), 2);
  assert.equal(net.stderr.text(), 'mcp-j: net.yaml: network.allow[1]: "10.1.2.3/8" is not HOST[:PORT]: host bits are set (the network is 10.0.0.0/8)\n');
});

test("a file policy check passes does not fail the run on its grants; a missing grant fails both, named the same way", async () => {
  const d = tmp();
  mkdirSync(join(d, "data"));
  writeFileSync(join(d, "ok.yaml"), "filesystem:\n  ro: [./data]\n  cwd: ./data\n");
  const ok = mkio(process.env, d);
  assert.equal(await policyCommand(["check", "ok.yaml"], ok), 0, ok.stderr.text());
  assert.equal(ok.stdout.text(), "ok.yaml: ok\n");

  writeFileSync(join(d, "bad.yaml"), "filesystem:\n  ro: [./data, ./missing]\n");
  const bad = mkio(process.env, d);
  assert.equal(await policyCommand(["check", "bad.yaml"], bad), 2);
  const line = `bad.yaml: filesystem.ro[1]: ${join(d, "missing")}: no such file or directory (a grant must name an existing path)`;
  assert.equal(bad.stderr.text(), `mcp-j: ${line}\n`);
  const run = await runMcpj(["--policy", "bad.yaml", "--", "/bin/true"], { cwd: d });
  assert.equal(run.code, 125, run.stderr);
  assert.ok(run.stderr.endsWith(`mcp-j: ${line}\n`), run.stderr);
  assert.doesNotMatch(run.stderr, /--ro/);
});

test("a file in a writable grant nested in a read-only one is not executable: the innermost grant decides", async () => {
  const d = tmp();
  mkdirSync(join(d, "proj", "out"), { recursive: true });
  writeFileSync(join(d, "proj", "out", "tool"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(join(d, "nested.yaml"), "filesystem:\n  ro: [./proj]\n  rw: [./proj/out]\n  exec: [./proj/out/tool]\n");
  const io = mkio(process.env, d);
  assert.equal(await policyCommand(["check", "nested.yaml"], io), 2);
  assert.equal(io.stderr.text(), `mcp-j: nested.yaml: filesystem.exec[0]: ${join(d, "proj", "out", "tool")} is not a file on a read-only mount of the jail (writable grants are never executable)\n`);
});
