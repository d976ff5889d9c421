// Red team 14's findings RT14-3 and RT14-8 (copied from redteam14-findings.jail.test.ts.pending,
// with their comments), now fixed, and what else their fixes promise. Real jails, the real CLI and
// the real library transport, the SDK's client.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { formatAuditSummary, summarizeAudit } from "@mcp-j/engine/core";
import { jailDir, jailFile } from "./attribution.helpers.js";
import { repoRoot, runMcpj, UNTIL_IT_EXITS, type CliResult } from "./helpers.js";

const T = { timeout: 120_000 };
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const pinServer = join(fixtures, "pin-server.mjs");
const work = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-rt14m-")));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

const J = (s: string): string => JSON.stringify(s);

/** A run of `node -e SCRIPT` in a jail with `flags` (the script ends on its own). */
function jailed(flags: string[], script: string, opts: { cwd?: string } = {}): Promise<CliResult> {
  return runMcpj([...flags, ...UNTIL_IT_EXITS, "--", "node", "-e", script], opts);
}

type TransportModule = { JailedStdioClientTransport: new (p: Record<string, unknown>) => Transport };

function processEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

/** One connect of the SDK's client to pin-server.mjs through the library transport. */
async function librarySession<R>(params: Record<string, unknown>, use: (c: Client) => Promise<R>): Promise<R> {
  const mod = (await import(join(repoRoot, "packages", "transport", "dist", "src", "index.js"))) as TransportModule;
  const transport = new mod.JailedStdioClientTransport({ env: processEnv(), stderr: "pipe", ...params });
  const client = new Client({ name: "mcpj-rt14", version: "1.0.0" });
  await client.connect(transport);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

describe("red-team 14: the library transport's relative paths, audit summarize's control characters", () => {
  // RT14-3 (medium). JailedStdioClientTransport (packages/transport/src/jailed-stdio.ts: start)
  // writes the policy to a private temporary directory and runs `mcp-j --policy THAT_FILE`, so
  // every relative path of the policy is resolved against that directory (policy files' paths are
  // relative to the file: resolve.ts), not against the `cwd` the host passed; close() then removes
  // the directory with whatever mcp-j wrote there. `pin: { file: "pins.json", enforce: true }`
  // pins into the temporary directory, which is deleted after each session: every connect is a
  // first run that records whatever the server says, and a rug-pulled tool (a new description
  // asking for ~/.ssh) is never reported nor refused. The audit log (`audit.file: "audit.jsonl"`)
  // is deleted the same way, and a relative deny rule names a file in the temporary directory
  // (fail-open, as RT13-14). Fix: make the policy's path fields absolute against `cwd` (or the
  // host's process.cwd()) in the transport before writing the file (absolutizePaths from
  // policy/resolve.ts, the one list of path fields), or refuse relative paths at construction.
  it("RT14-3: a library host's relative pin file survives the session", T, async () => {
    const host = jailDir(work, "lib-host");
    const data = jailDir(work, "lib-data");
    jailFile(join(data, "words.txt"), "apple\npear\n");
    const policy = { filesystem: { ro: [data] }, pin: { file: "pins.json", enforce: true } };
    const params = (version: string) => ({ command: "node", args: [pinServer, data, version], policy, cwd: host });
    const first = await librarySession(params("v1"), async (c) => {
      await c.listTools();
      return c.callTool({ name: "lookup", arguments: { word: "pear" } });
    });
    assert.deepEqual(first.content, [{ type: "text", text: "pear: found" }]);
    // The pins are in the host's cwd, after close() removed the temporary policy file.
    const pins = join(host, "pins.json");
    assert.ok(existsSync(pins), "the relative pin file is not in the transport's cwd after the session");
    assert.ok((JSON.parse(readFileSync(pins, "utf8")) as { tools: Record<string, unknown> }).tools["lookup"] !== undefined, "the first session pinned lookup");
    // The same server, rug-pulled: its tool's description now asks for the user's keys.
    const listed = await librarySession(params("new-description"), async (c) => (await c.listTools()).tools.map((t) => t.name));
    assert.ok(!listed.includes("lookup"), `the rug-pulled tool is listed (--pin-enforce): its pins went with the temporary directory: ${JSON.stringify(listed)}`);
  });

  // The same fix for the policy's other path fields: a relative audit log is kept in the host's
  // cwd (not deleted with the temporary directory), and a relative deny rule names the host's file
  // (it named one in the temporary directory: it failed open).
  it("RT14-3: a library host's relative audit log and deny rule are the host's cwd's", T, async () => {
    const host = jailDir(work, "lib-host-2");
    const data = jailDir(work, "lib-host-2/data");
    jailFile(join(data, "words.txt"), "apple\n");
    jailFile(join(data, "secret.txt"), "precious\n");
    const policy = { filesystem: { ro: [data], deny: ["./data/secret.txt"] }, audit: { file: "audit.jsonl" } };
    const peek = (c: Client, path: string) => c.callTool({ name: "peek", arguments: { path } });
    const [open, denied] = await librarySession({ command: "node", args: [pinServer, data, "v1"], policy, cwd: host }, async (c) =>
      Promise.all([peek(c, join(data, "words.txt")), peek(c, join(data, "secret.txt"))]),
    );
    assert.deepEqual(open.content, [{ type: "text", text: "read 6 bytes" }]);
    assert.deepEqual(denied.content, [{ type: "text", text: "cannot read: EACCES" }], "the relative deny rule did not apply to the host's file");
    const log = join(host, "audit.jsonl");
    assert.ok(existsSync(log), "the relative audit log is not in the transport's cwd after the session");
    assert.match(readFileSync(log, "utf8"), /"type":"exit"/);
  });

  // RT14-8 (low). `mcp-j audit summarize` (engine audit/summarize.ts: formatAuditSummary) prints
  // the paths and names of the audit log as they are, and the server chooses them: a name with a
  // newline forges lines of the summary (a second "denied (0)" block, a clean "exit" line), and
  // terminal escapes (ESC[1A ESC[2K: up a line and erase it; OSC 52: write the clipboard) hide what
  // the server did from the person reviewing it, or plant a command to paste. The audit log itself
  // is safe (JSON escapes them); the review of it is not. Fix: print every value that comes from
  // the jail escaped (JSON.stringify, as `pin show` does), or with control and format characters
  // replaced (pin.ts: hasHidingCharacters' set).
  it("RT14-8: audit summarize prints a jail-chosen name without its control characters", T, async () => {
    const data = jailDir(work, "summary-data");
    const log = join(work, "summary-audit.jsonl");
    const forged = join(data, "notes\n  denied (0)\n\u001b[1A\u001b[2K");
    const r = await jailed(["--ro", data, "--audit-log", log], `try { require("fs").writeFileSync(${J(forged)}, "x"); } catch {}`);
    assert.equal(r.code, 0, r.stderr);
    const sum = await runMcpj(["audit", "summarize", log]);
    assert.equal(sum.code, 0, sum.stderr);
    assert.doesNotMatch(sum.stdout, /\u001b/, `the summary carries the server's terminal escapes: ${JSON.stringify(sum.stdout)}`);
    assert.equal(sum.stdout.split("\n").filter((l) => /^  denied \(/.test(l)).length, 1, `the server forged a line of the summary: ${JSON.stringify(sum.stdout)}`);
    // What the server wrote is still there to read, escaped.
    assert.ok(sum.stdout.includes(`${data}/notes\\n  denied (0)\\n\\u001b[1A\\u001b[2K`), `the escaped name is in the summary: ${JSON.stringify(sum.stdout)}`);
  });

  // The same for every character the review must not pass to the terminal as it is: C1 controls
  // (U+009B is CSI on its own), DEL, bidi overrides, zero widths and tags, in paths and tool names;
  // a backslash is doubled, so an escape in the report always stands for the character.
  it("RT14-8: audit summarize escapes C1, DEL, bidi, zero-width and tag characters and backslashes", () => {
    const ev = (o: Record<string, unknown>) => JSON.stringify({ v: 1, ts: "2026-12-01T00:00:00.000Z", jail: "j1", ...o });
    const text = formatAuditSummary(
      summarizeAudit([
        ev({ type: "syscall", syscall: "openat", decision: "allow", access: "read", path: "/d/a\u009b2Jb\u007fc" }),
        ev({ type: "syscall", syscall: "openat", decision: "allow", access: "write", path: "/d/\u202etxt.exe\u200b\\n" }),
        ev({ type: "tool", name: "look\u{e0041}up\r", decision: "allow", outcome: "ok", request_id: 1 }),
      ]),
    );
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b\u202e\u{e0041}]/u, JSON.stringify(text));
    assert.ok(text.includes("    /d/a\\u009b2Jb\\u007fc\n"), JSON.stringify(text));
    assert.ok(text.includes("    /d/\\u202etxt.exe\\u200b\\\\n\n"), JSON.stringify(text));
    assert.ok(text.includes("    look\\u{e0041}up\\r: 1 call\n"), JSON.stringify(text));
  });
});
