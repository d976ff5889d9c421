// Interop: the MCP SDK's Client, through the proxy (in-process, no jail), to a real
// @modelcontextprotocol/server-everything started over stdio.
import assert from "node:assert/strict";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PassThrough, type Readable, type Writable } from "node:stream";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ListRootsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { startProxy, type ProxyEvent, type ProxyOptions, type ProxySession } from "../src/index.js";
import { until } from "./helpers.js";
import { StreamTransport } from "./sdk-transport.js";

const require = createRequire(import.meta.url);
const everything = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");

interface Rig {
  client: Client;
  session: ProxySession;
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  events: ProxyEvent[];
  logs: string[];
  close(): Promise<void>;
}

async function rig(options: ProxyOptions): Promise<Rig> {
  const child = spawn(process.execPath, [everything, "stdio"], { stdio: ["pipe", "pipe", "pipe"] });
  child.stderr.resume(); // the server's own logging; not under test
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const clientToProxy = new PassThrough();
  const proxyToClient = new PassThrough();
  const events: ProxyEvent[] = [];
  const logs: string[] = [];
  const session = startProxy(
    { input: clientToProxy, output: proxyToClient },
    { input: child.stdin, output: child.stdout },
    { ...options, onEvent: (e) => events.push(e), log: (l) => logs.push(l) },
  );
  const client = new Client({ name: "interop-test", version: "1.0.0" }, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: "file:///interop-root", name: "interop" }] }));
  await client.connect(new StreamTransport(proxyToClient, clientToProxy));
  return {
    client,
    session,
    child,
    events,
    logs,
    async close() {
      await client.close();
      await session.clientInputEnded;
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    },
  };
}

test("SDK client ↔ proxy ↔ server-everything: initialize, list with a denied tool hidden, echo, denied call refused", async () => {
  const r = await rig({ tools: { allow: [], deny: ["get-env", "gzip-*"] } });
  try {
    assert.equal(r.client.getServerVersion()?.name !== undefined, true);
    const { tools } = await r.client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes("echo"), names.join(","));
    assert.ok(!names.includes("get-env"), "get-env is hidden");
    assert.ok(!names.some((n) => n.startsWith("gzip-")), "gzip-* is hidden");

    const echoed = await r.client.callTool({ name: "echo", arguments: { message: "hello through the proxy" } });
    assert.deepEqual(echoed.content, [{ type: "text", text: "Echo: hello through the proxy" }]);

    const denied = await r.client.callTool({ name: "get-env", arguments: {} });
    assert.equal(denied.isError, true);
    assert.match(JSON.stringify(denied.content), /denied by policy/);

    // A server-to-client request (roots/list) crosses the proxy the other way and is answered.
    const rootsResult = await r.client.callTool({ name: "get-roots-list", arguments: {} });
    assert.match(JSON.stringify(rootsResult.content), /interop-root/);

    const calls = r.events.filter((e) => e.type === "tool_call");
    assert.deepEqual(calls.map((e) => [e.name, e.outcome]), [["echo", "ok"], ["get-env", "denied"], ["get-roots-list", "ok"]]);
    assert.equal(r.session.pendingCount(), 0);
  } finally {
    await r.close();
  }
});

test("SDK client ↔ proxy ↔ server-everything: an oversized call is refused, the session goes on", async () => {
  const r = await rig({ maxMessageBytes: 64 * 1024 });
  try {
    await assert.rejects(
      r.client.callTool({ name: "echo", arguments: { message: "x".repeat(100_000) } }),
      (e: unknown) => e instanceof McpError && e.code === -31001,
    );
    const echoed = await r.client.callTool({ name: "echo", arguments: { message: "still here" } });
    assert.deepEqual(echoed.content, [{ type: "text", text: "Echo: still here" }]);
    assert.equal(r.events.filter((e) => e.type === "message_oversized").length, 1);
  } finally {
    await r.close();
  }
});

test("SDK client ↔ proxy ↔ server-everything: a server killed mid-request is answered with the cause", async () => {
  const r = await rig({});
  try {
    const call = r.client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 30, steps: 30 } }, undefined, { timeout: 120_000 });
    const outcome = assert.rejects(call, (e: unknown) => e instanceof McpError && e.code === -32603 && e.message.includes("killed by SIGKILL"));
    // Wait until the call is really pending at the proxy, then kill the server.
    await until(() => r.session.pendingCount() === 1, "the call is pending", 1_000_000);
    r.child.kill("SIGKILL");
    await r.session.serverOutputEnded;
    await r.session.serverGone("the server was killed by SIGKILL");
    await outcome;
    assert.equal(r.session.pendingCount(), 0);
    assert.deepEqual(r.events.filter((e) => e.type === "tool_call").map((e) => e.type === "tool_call" && e.outcome), ["server-gone"]);
  } finally {
    await r.close();
  }
});
