// The README's library example (examples/library-client.mjs) runs as is, through the real jail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

test("examples/library-client.mjs: lists the tools with the denied one hidden and calls echo", () => {
  const r = spawnSync(process.execPath, [join(repoRoot, "examples", "library-client.mjs")], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const tools = /^tools: (.*)$/m.exec(r.stdout)?.[1]?.split(", ") ?? [];
  assert.ok(tools.includes("echo"), r.stdout);
  assert.ok(!tools.includes("get-env"), "get-env is denied by the example's policy");
  assert.match(r.stdout, /^echo: Echo: hello from a jailed server$/m);
});
