// RED-TEAM 13 FINDINGS about the servers file (`mcp-j run NAME`): its inline policy's relative paths
// must be the servers file's, as a policy file's are that file's, never the start directory's (the
// server's side). Each "RT13-n" test reproduces one defect and asserts the SECURE outcome. Real
// jails, the real CLI, the SDK's client and server. Moved from redteam13-findings.jail.test.ts.pending.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { jailDir, jailFile } from "./attribution.helpers.js";
import { mcpjBin, repoRoot, runMcpj } from "./helpers.js";

const T = { timeout: 120_000 };
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const server = join(fixtures, "redteam13-server.mjs");
const work = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-rt13s-")));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

describe("red-team 13 findings: the servers file", () => {
  // RT13-13 (medium). In the servers file (`mcp-j run NAME`), "a relative path is relative to the
  // servers file, like every other path in it", but absolutizeInline
  // (packages/engine/src/policy/servers.ts) leaves `pin.file` out (audit.file and the grants are
  // there): a relative pin file is resolved later against the start directory
  // (resolve.ts: normalizeLayer), which is the server's side (a cloned repository an editor opens
  // and starts its MCP servers in). mcp-j then trusts the pins.json the repository ships (tools
  // pre-accepted with the descriptions and footprints its author chose, so --pin-enforce refuses
  // nothing) and writes the user's pins into the repository. Rule 1. Fix: absolutize pin.file
  // (and any future file field) against the servers file's directory, from one list of the
  // policy's path fields shared with resolve.ts.
  it("RT13-13: a relative pin file in the servers file is the servers file's, not the start directory's", T, async () => {
    const cfg = jailDir(work, "servers-cfg");
    const start = jailDir(work, "servers-start");
    const planted = JSON.stringify({ version: 1, tools: {}, pending: {} });
    writeFileSync(join(start, "pins.json"), planted);
    writeFileSync(join(cfg, "servers.yaml"), `servers:\n  demo:\n    command: node\n    args: [${JSON.stringify(server)}]\n    policy:\n      pin:\n        file: pins.json\n`);
    const r = await runMcpj(["run", "demo", "--config", join(cfg, "servers.yaml")], { cwd: start });
    assert.equal(readFileSync(join(start, "pins.json"), "utf8"), planted, `mcp-j used (and rewrote) the start directory's pins.json: ${r.stderr}`);
    assert.ok(existsSync(join(cfg, "pins.json")), `the pin file is beside the servers file (exit ${r.code}): ${r.stderr}`);
  });

  // RT13-14 (high). The same gap for deny rules: absolutizeInline (policy/servers.ts) makes the
  // servers file's grants relative to the servers file but leaves `filesystem.deny` as written, and
  // normalizeDeny (resolve.ts) later resolves a path-like deny (`./data/secret.txt`) against the
  // start directory. A deny the user wrote beside its grant (`rw: [./data]`, `deny:
  // [./data/secret.txt]`) names another file, and the jail reads the one the user meant to hide.
  // Fail-open. Fix: absolutize deny entries that are paths (normalizeDeny's test) against the
  // servers file's directory in absolutizeInline, from one list of path fields shared with
  // resolve.ts (RT13-13).
  it("RT13-14: a servers file's relative deny rule hides the file beside its relative grant", T, async () => {
    const cfg = jailDir(work, "deny-cfg");
    const start = jailDir(work, "deny-start");
    jailDir(work, "deny-cfg/data");
    const secret = jailFile(join(cfg, "data", "secret.txt"), "secret\n");
    writeFileSync(
      join(cfg, "servers.yaml"),
      `servers:\n  demo:\n    command: node\n    args: [${JSON.stringify(server)}]\n    policy:\n      filesystem:\n        rw: [./data]\n        deny: [./data/secret.txt]\n`,
    );
    const transport = new StdioClientTransport({ command: process.execPath, args: [mcpjBin, "run", "demo", "--config", join(cfg, "servers.yaml")], stderr: "pipe", cwd: start });
    let stderr = "";
    transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: "mcpj-rt13", version: "1.0.0" });
    await client.connect(transport);
    let text: string | undefined;
    try {
      const r = (await client.callTool({ name: "peek", arguments: { path: secret } })) as { content: Array<{ text: string }> };
      text = r.content[0]?.text;
    } finally {
      await client.close();
    }
    assert.notEqual(text, "read 7 bytes", `the jail read the file the servers file denies: ${stderr}`);
  });
});
