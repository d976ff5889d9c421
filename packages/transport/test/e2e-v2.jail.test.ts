// End to end, SDK v2 on both sides, through the real mcp-j and jail, in each era a v2 client can
// choose: pinned 2026-07-28, legacy (initialize), auto (probe, then whichever the server offers).
// Tools, a denied tool in each message shape, an InputRequiredResult round trip (an elicitation
// request in the legacy era), progress and cancellation.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { JailedStdioClientTransport } from "../src/index.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const v2Server = join(repoRoot, "packages", "proxy", "test", "fixtures", "v2-server.mjs");
const mcpj = join(repoRoot, "packages", "cli", "bin", "mcp-j.js");
const policy = {
  filesystem: { ro: [join(repoRoot, "node_modules"), dirname(v2Server)] },
  tools: { deny: ["delete_*"] },
};
const MODERN = "2026-07-28";

type Era = { name: string; mode: "legacy" | "auto" | { pin: string }; modern: boolean };
const ERAS: Era[] = [
  { name: "pinned 2026-07-28", mode: { pin: MODERN }, modern: true },
  { name: "legacy", mode: "legacy", modern: false },
  { name: "auto", mode: "auto", modern: true },
];

async function until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type Content = Array<{ type: string; text?: string }>;
const text = (r: { content?: unknown }): string => ((r.content as Content | undefined) ?? []).map((c) => c.text ?? "").join("");

for (const era of ERAS) {
  test(`SDK v2 client ↔ mcp-j ↔ SDK v2 server, ${era.name}: tools, denials, input required, progress, cancellation`, async () => {
    const transport = new JailedStdioClientTransport({ command: process.execPath, args: [v2Server], policy, stderr: "pipe" });
    let stderr = "";
    transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: "e2e-v2", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: era.mode } });
    const asked: string[] = [];
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(String(request.params.message));
      return { action: "accept", content: { ok: true } };
    });
    await client.connect(transport);
    try {
      assert.equal(client.getNegotiatedProtocolVersion() === MODERN, era.modern, `negotiated ${client.getNegotiatedProtocolVersion()}`);

      // Tools: the list is filtered, calls work.
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ["confirm", "echo", "slow"]);
      assert.equal(text(await client.callTool({ name: "echo", arguments: { message: "hi" } })), "Echo: hi");

      // A denied tool: a tool result with isError the client accepts (in the modern era it carries
      // resultType), under its own name and under look-alikes.
      for (const name of ["delete_file", "Delete_file", "d\u0435lete_file", "delete\u2010file"]) {
        const denied = await client.callTool({ name, arguments: { path: "/etc/passwd" } });
        assert.equal(denied.isError, true, name);
        assert.match(text(denied), /denied by policy \(mcp-j\)/, name);
      }
      // ... and as a notification: never forwarded (the raw test below covers every other shape).
      await transport.send({ jsonrpc: "2.0", method: "tools/call", params: { name: "delete_file", arguments: {} } });

      // Input required: MRTR in the modern era (the client retries with a new id and the
      // server's requestState), an elicitation request in the legacy era; same handler.
      const confirmed = await client.callTool({ name: "confirm", arguments: { what: "launch" } });
      assert.equal(text(confirmed), era.modern ? "confirmed launch: true (state state-for-launch)" : "confirmed launch: true");
      assert.deepEqual(asked, ["Confirm launch?"]);

      // Progress: every notification reaches the client, before the result. Counted as the
      // transport delivers them: the SDK drops a progress notification that arrives in the same
      // read as the result (its handler is gone by the time the notification is dispatched), which
      // a loaded machine makes happen with or without mcp-j in between.
      const progress: number[] = [];
      const delivered = transport.onmessage!;
      transport.onmessage = (m) => {
        if ("method" in m && m.method === "notifications/progress") progress.push(Number((m.params as { progress: number }).progress));
        delivered(m);
      };
      const done = await client.callTool({ name: "slow", arguments: { steps: 3 } }, { onprogress: () => {} });
      transport.onmessage = delivered;
      assert.equal(text(done), "done 3");
      assert.deepEqual(progress, [1, 2, 3]);

      // Cancellation: abort after the first progress; the server sees it (its handler's signal).
      const abort = new AbortController();
      const cancelled = client.callTool({ name: "slow", arguments: { steps: 10_000 } }, { signal: abort.signal, onprogress: () => abort.abort("enough") });
      await assert.rejects(cancelled);
      await until(() => stderr.includes("SLOW CANCELLED"), "the server saw the cancellation");

      assert.ok(!stderr.includes("DELETE_FILE RAN"), stderr);
    } finally {
      await client.close();
    }
    assert.ok(!stderr.includes("DELETE_FILE RAN"), stderr);
  });
}

test("raw shapes through the real mcp-j: notification, batch, task, retry with a new id, look-alike; delete_file never runs", async () => {
  const child = spawn(process.execPath, [mcpj, "--ro", policy.filesystem.ro[0]!, "--ro", policy.filesystem.ro[1]!, "--deny-tool", "delete_*", "--", process.execPath, v2Server], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  let rest = "";
  child.stdout.on("data", (d: Buffer) => {
    const parts = (rest + d.toString()).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const meta = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {} };
  const send = (m: unknown): boolean => child.stdin.write(`${JSON.stringify(m)}\n`);
  const answer = async (id: unknown): Promise<{ id: unknown; result?: { isError?: boolean; resultType?: string }; error?: { code: number } }> => {
    await until(() => lines.some((l) => (JSON.parse(l) as { id?: unknown }).id === id), `an answer to ${JSON.stringify(id)}`);
    return JSON.parse(lines.find((l) => (JSON.parse(l) as { id?: unknown }).id === id) as string) as never;
  };
  try {
    send({ jsonrpc: "2.0", method: "tools/call", params: { name: "delete_file", arguments: {}, _meta: meta } });
    send([{ jsonrpc: "2.0", id: "b1", method: "tools/call", params: { name: "delete_file", arguments: {}, _meta: meta } }]);
    send({ jsonrpc: "2.0", id: "t1", method: "tools/call", params: { name: "delete_file", arguments: {}, task: { ttl: 1000 }, _meta: meta } });
    send({ jsonrpc: "2.0", id: "r2", method: "tools/call", params: { name: "delete_file", arguments: {}, inputResponses: {}, requestState: "x", _meta: meta } });
    send({ jsonrpc: "2.0", id: "l1", method: "tools/call", params: { name: "DELETE\u2010FILE", arguments: {}, _meta: meta } });
    send({ jsonrpc: "2.0", id: "g1", method: "tasks/get", params: { taskId: "anything", _meta: meta } });
    send({ jsonrpc: "2.0", id: "e1", method: "tools/call", params: { name: "echo", arguments: { message: "still here" }, _meta: meta } });
    assert.deepEqual([(await answer(null)).error?.code], [-32600], "the batch: one error");
    for (const id of ["t1", "r2", "l1"]) {
      const a = await answer(id);
      assert.deepEqual([a.result?.isError, a.result?.resultType], [true, "complete"], id);
    }
    assert.equal((await answer("g1")).error?.code, -32602);
    assert.equal((await answer("e1")).result?.isError, undefined);
    assert.ok(!lines.some((l) => (JSON.parse(l) as { id?: unknown }).id === "b1"), "nothing in the batch was forwarded or answered");
  } finally {
    child.stdin.end();
    await exited;
  }
  assert.ok(!stderr.includes("DELETE_FILE RAN"), stderr);
});
