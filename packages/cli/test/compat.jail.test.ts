// The compatibility suite (issue 12, "Done when"): each server of compat/servers.ts through the real
// `mcp-j`, started exactly as its command is written, with only its data directory (and the env it
// is configured with), listing its tools and making a real tool call with the MCP SDK's client. CI runs this file as root and again as an unprivileged user.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { COMPAT_SERVERS, dataDirFor } from "./compat/servers.js";
import { connectMcpj } from "./mcp-client.js";

const parent = mkdtempSync(join(tmpdir(), "mcpj-compat-"));
after(() => rmSync(parent, { recursive: true, force: true }));

describe(`compatibility suite (${process.getuid?.() === 0 ? "root" : "unprivileged"})`, () => {
  for (const s of COMPAT_SERVERS) {
    it(`${s.name}: tools/list and a tool call through mcp-j`, async () => {
      const missing = s.unavailable?.() ?? null;
      // Chromium comes from Debian (.ci/run installs it): missing, it is a failure that says so.
      assert.equal(missing, null, missing ?? "");
      const dir = dataDirFor(parent, s.name);
      s.setup?.(dir);
      const env = Object.entries(s.env?.(dir) ?? {}).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
      const flags = [...s.flags(dir), ...env];
      const c = await connectMcpj(flags, s.command(dir));
      try {
        const tools = await c.client.listTools();
        assert.ok(tools.tools.length > 0, "tools/list is empty");
        await s.exercise(c.client, dir);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- mcp-j ${flags.join(" ")} -- ${s.command(dir).join(" ")}\n--- stderr ---\n${c.stderr()}`);
      } finally {
        await c.close();
      }
    });
  }
});
