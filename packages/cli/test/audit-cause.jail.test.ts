// Issue 12 item 10: `mcp-j audit summarize` of a real run leads with what broke the server (here a
// refused exec), not with the look-ups of missing paths every runtime makes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
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
