// Proof of transparency: MCP's official conformance suite (@modelcontextprotocol/conformance), run
// against the same reference server twice through the same stdio → Streamable HTTP bridge: once
// bare, once as `mcp-j -- server` (with a tool policy set, so the policy's code paths run). Every
// check that passes bare must pass jailed, for the 2025-11-25 and 2026-07-28 requirement sets and
// for a server on SDK v1 and one on SDK v2. (The suite tests servers over HTTP only; the bridge is
// in fixtures/conformance/bridge.mjs, the reference servers beside it.)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..", "..", "..");
const fixtures = join(repoRoot, "packages", "proxy", "test", "fixtures", "conformance");
const mcpj = join(repoRoot, "packages", "cli", "bin", "mcp-j.js");
const require = createRequire(import.meta.url);
const suite = join(dirname(require.resolve("@modelcontextprotocol/conformance/package.json")), "dist", "index.js");
const modules = dirname(dirname(dirname(require.resolve("@modelcontextprotocol/conformance/package.json"))));

interface Bridge {
  url: string;
  stderr(): string;
  close(): Promise<void>;
}
const { startBridge } = (await import(join(fixtures, "bridge.mjs"))) as {
  startBridge(command: string, args: string[], options?: { opening?: unknown }): Promise<Bridge>;
};

type Check = { id: string; status: string; errorMessage?: string };

/** The opening exchange that makes a server serving both eras on stdio pick the 2026-07-28 one. */
const MODERN_OPENING = {
  jsonrpc: "2.0",
  method: "tools/list",
  params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
};

/** Runs the suite's server checks for one requirement set; returns each check's status, keyed by
 * scenario, check id and occurrence (a scenario may repeat a check id). */
async function runSuite(requirements: string, command: string[]): Promise<Map<string, Check>> {
  const bridge = await startBridge(command[0] as string, command.slice(1), requirements >= "2026-07-28" ? { opening: MODERN_OPENING } : {});
  const out = mkdtempSync(join(tmpdir(), "mcpj-conformance-"));
  try {
    const child = spawn(
      process.execPath,
      ["--import", join(fixtures, "node20.mjs"), suite, "server", "--url", bridge.url, "--requirements", requirements, "-o", out, "--timeout", "30000"],
      { stdio: ["ignore", "pipe", "pipe"], cwd: out },
    );
    let log = "";
    child.stdout.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    const checks = new Map<string, Check>();
    for (const dir of readdirSync(out).sort()) {
      const scenario = dir.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T.*$/, "");
      const seen = new Map<string, number>();
      let list: Check[];
      try {
        list = JSON.parse(readFileSync(join(out, dir, "checks.json"), "utf8")) as Check[];
      } catch {
        continue;
      }
      for (const check of list) {
        const n = seen.get(check.id) ?? 0;
        seen.set(check.id, n + 1);
        checks.set(`${scenario} ${check.id}#${n}`, check);
      }
    }
    assert.ok(checks.size > 0, `the suite produced no checks (exit ${String(code)}):\n${log.slice(-3000)}\nserver stderr:\n${bridge.stderr().slice(-3000)}`);
    return checks;
  } finally {
    await bridge.close();
    rmSync(out, { recursive: true, force: true });
  }
}

const RUNS = [
  { server: "v1", requirements: "2025-11-25", minPassing: 40 },
  { server: "v2", requirements: "2025-11-25", minPassing: 40 },
  { server: "v2", requirements: "2026-07-28", minPassing: 60 },
  { server: "v1", requirements: "2026-07-28", minPassing: 30 }, // a legacy-only server: what it does answer must not change
];

for (const run of RUNS) {
  test(`conformance ${run.requirements}, SDK ${run.server} reference server: every check that passes bare passes through mcp-j`, async () => {
    const server = join(fixtures, `reference-${run.server}.mjs`);
    const bare = await runSuite(run.requirements, [process.execPath, server]);
    const jailed = await runSuite(run.requirements, [process.execPath, mcpj, "--ro", modules, "--ro", fixtures, "--deny-tool", "never_*", "--", process.execPath, server]);
    const passing = [...bare].filter(([, c]) => c.status === "SUCCESS");
    assert.ok(passing.length >= run.minPassing, `only ${passing.length} checks pass bare: the comparison would prove little`);
    const regressions = passing
      .filter(([key]) => jailed.get(key)?.status !== "SUCCESS")
      .map(([key]) => `${key}: ${jailed.get(key)?.status ?? "missing"} ${jailed.get(key)?.errorMessage ?? ""}`.slice(0, 600));
    assert.deepEqual(regressions, [], `checks that pass bare and fail through mcp-j (${passing.length} pass bare)`);
  });
}
