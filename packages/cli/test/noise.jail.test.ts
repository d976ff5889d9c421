// Issue 12 item 5: the client's log gets one short line for a weaker layer, and no line for a look
// at a path the jail does not have (it stays in the audit log); a real refusal is still printed.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runMcpj } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "mcpj-noise-"));
chmodSync(dir, 0o755); // readable by the jail's nobody when the tests run as root
after(() => rmSync(dir, { recursive: true, force: true }));

test("probes of missing paths are audited, not printed; a refused write is printed; every mcp-j line is short", async () => {
  const audit = join(dir, "audit.jsonl");
  // What a runtime does at start (Node reads its cgroup v1 limits), then a write the grant refuses.
  const script = `const fs = require("fs");
for (const p of ["/sys/fs/cgroup/memory/memory.limit_in_bytes", "/etc/mcpj-noise-probe", "${dir}/nothing-here"]) {
  try { fs.openSync(p, "r"); } catch {}
}
try { fs.writeFileSync("${dir}/refused", "x"); } catch (e) { console.error("write:", e.code); }`;
  const r = await runMcpj(["--ro", dir, "--audit-log", audit, "--", "node", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^write: EACCES$/m);
  const mine = r.stderr.split("\n").filter((l) => l.startsWith("mcp-j:"));
  assert.ok(mine.some((l) => /denied: the server tried to open .*\/refused: (the grant is read-only|the kernel refused it)/.test(l)), r.stderr);
  assert.ok(!/mcpj-noise-probe|memory\.limit_in_bytes|nothing-here/.test(r.stderr), `a probe was printed:\n${r.stderr}`);
  for (const l of mine) assert.ok(l.length <= 220, `long line (${l.length}): ${l}`);
  const events = readFileSync(audit, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const probes = events.filter((e) => JSON.stringify(e).includes("/etc/mcpj-noise-probe"));
  assert.ok(probes.length > 0, "the probe is in the audit log");
});
