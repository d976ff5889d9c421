// Issue 12 item 10: `mcp-j audit summarize` of a real run leads with what broke the server (here a
// refused exec), not with the look-ups of missing paths every runtime makes.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runMcpj } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "mcpj-audit-cause-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a server that dies because git was refused: the summary's first finding is the refused exec", async () => {
  const log = join(dir, "audit.jsonl");
  const run = await runMcpj(["--audit-log", log, "--", "/bin/sh", "-c", "(: </nonexistent/a; : </nonexistent/b) 2>/dev/null; git --version || exit 3"]);
  assert.equal(run.code, 3, run.stderr);
  const sum = await runMcpj(["audit", "summarize", log]);
  assert.equal(sum.code, 0, sum.stderr);
  const lines = sum.stdout.split("\n");
  const at = lines.indexOf("  most likely cause:");
  assert.ok(at > 0 && at < lines.findIndex((l) => l.startsWith("  read (")), sum.stdout);
  assert.match(lines[at + 1] ?? "", /^ {4}refused exec: \/usr\/bin\/git \(exec\): add --allow-exec \/usr\/bin\/git/);
  assert.ok(!lines.slice(at, at + 4).some((l) => l.includes("/nonexistent")), sum.stdout);
  assert.match(sum.stdout, /look-ups? of paths that do not exist/);
});

test("a jailed server's long strings are cut in the audit log: a response with a 100,000-character id it makes up", async () => {
  // Ids, tool names and reasons come from the server; each in full on every line would let it
  // rotate the log's earlier events away (16 MiB a file, four kept) hundreds of times sooner.
  const log = join(dir, "long-id.jsonl");
  const line = JSON.stringify({ jsonrpc: "2.0", id: "x".repeat(100_000), result: {} });
  const run = await runMcpj(["--audit-log", log, "--", "/bin/sh", "-c", `printf '%s\\n' '${line}'`]);
  assert.equal(run.code, 0, run.stderr);
  const dropped = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e["type"] === "rpc" && String(e["detail"]).startsWith("response dropped"));
  assert.ok(dropped, "the dropped response is audited");
  // (Compared as a boolean: a failed comparison of two long strings spends minutes on its diff.)
  const id = String(dropped["request_id"]);
  assert.ok(id === `${"x".repeat(8192)}…[${100_000 - 8192} characters cut]`, `request_id is ${id.length} characters: ${id.slice(-40)}`);
});
