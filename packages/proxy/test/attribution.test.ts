// The proxy's half of attribution (the in-flight log), the note added to a tool call's result, and
// the tool gate (pinning): in-memory peers, each behaviour on its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InFlightLog, monotonicNow, TASK_WORK, type InFlightRequest, type ToolResultNote } from "../src/index.js";
import { MAX_REMEMBERED_TASKS, TaskRegistry } from "../src/tasks.js";
import { Harness, until } from "./helpers.js";

const call = (id: number, name: string, meta?: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: {}, ...(meta !== undefined ? { _meta: meta } : {}) },
});

test("in-flight log: a set while requests overlap, finished ones kept for late events, idle between", () => {
  const log = new InFlightLog();
  log.begin({ id: 1, method: "tools/call", tool: "a" }, 10n);
  log.begin({ id: "x", method: "resources/read", tool: null }, 20n);
  assert.deepEqual(log.at(5n), []);
  assert.deepEqual(log.at(15n).map((r) => r.id), [1]);
  assert.deepEqual(log.at(25n).map((r) => r.id), [1, "x"]);
  log.end({ id: 1, method: "tools/call" }, 30n);
  log.end({ id: "x", method: "resources/read" }, 40n);
  // Events stamped before the ends arrive afterwards: still placed among the requests.
  assert.deepEqual(log.at(25n).map((r) => r.id), [1, "x"]);
  assert.deepEqual(log.at(30n).map((r) => r.id), [1, "x"]);
  assert.deepEqual(log.at(35n).map((r) => r.id), ["x"]);
  assert.deepEqual(log.at(41n), []);
  // An id reused later is a new interval.
  log.begin({ id: 1, method: "tools/call", tool: "b" }, 50n);
  assert.deepEqual(log.at(55n), [{ id: 1, method: "tools/call", tool: "b" }]);
  assert.deepEqual(log.at(25n).map((r) => r.tool), ["a", null]);
});

test("session: inFlightAt places an instant among the forwarded requests; null without attribution", async () => {
  const off = new Harness();
  assert.equal(off.session.inFlightAt(monotonicNow()), null);

  const h = new Harness({ attribution: true });
  await h.initialize();
  const before = monotonicNow();
  h.fromClient(call(1, "slow"));
  h.fromClient(call(2, "fast"));
  await h.toServer.waitFor(3);
  const both = monotonicNow();
  assert.deepEqual(h.session.inFlightAt(both), [
    { id: 1, method: "tools/call", tool: "slow" },
    { id: 2, method: "tools/call", tool: "fast" },
  ]);
  assert.deepEqual(h.session.inFlightAt(before), []);
  h.fromServer({ jsonrpc: "2.0", id: 2, result: { content: [] } });
  await until(() => h.session.pendingCount() === 1, "id 2 answered");
  const one = monotonicNow();
  assert.deepEqual(h.session.inFlightAt(one)!.map((r) => r.id), [1]);
  // The instant when both were in flight still says both (an event that arrives late).
  assert.deepEqual(h.session.inFlightAt(both)!.map((r) => r.id), [1, 2]);
  // A cancelled request leaves the set when the client cancels it.
  h.fromClient({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } });
  await until(() => h.session.pendingCount() === 0, "id 1 cancelled");
  assert.deepEqual(h.session.inFlightAt(monotonicNow()), []);
});

test("a tools/call result gets the note in _meta and, when asked, a text block; both eras stay valid", async () => {
  const asked: unknown[] = [];
  const note = (text: string | null): ToolResultNote => ({ meta: { "mcp-j/refused": [{ action: "read", target: "/etc/shadow" }] }, text });
  let text: string | null = null;
  const h = new Harness({
    toolResultNote: (c) => {
      asked.push(c);
      return c.tool === "quiet" ? null : note(text);
    },
  });
  await h.initialize();
  h.fromClient(call(1, "reader"));
  h.fromClient(call(2, "quiet"));
  await h.toServer.waitFor(3);
  h.fromServer({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "ok" }], _meta: { server: 1 } } });
  h.fromServer({ jsonrpc: "2.0", id: 2, result: { content: [{ type: "text", text: "ok" }] } });
  const [, first, second] = (await h.toClient.waitFor(3)) as Array<{ result: Record<string, unknown> }>;
  assert.deepEqual(first!.result, {
    content: [{ type: "text", text: "ok" }],
    _meta: { server: 1, "mcp-j/refused": [{ action: "read", target: "/etc/shadow" }] },
  });
  // Without a note the bytes pass as received.
  assert.equal(h.toClient.lines[2], JSON.stringify({ jsonrpc: "2.0", id: 2, result: { content: [{ type: "text", text: "ok" }] } }));
  assert.deepEqual(asked, [
    { id: 1, method: "tools/call", tool: "reader" },
    { id: 2, method: "tools/call", tool: "quiet" },
  ]);
  assert.equal(second!.result["_meta"], undefined);

  // The modern era: the result keeps its resultType; the text block is appended to the content.
  text = "mcp-j: the jail refused 1 action(s)";
  const modern = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
  h.fromClient(call(3, "reader", modern));
  await h.toServer.waitFor(4);
  h.fromServer({ jsonrpc: "2.0", id: 3, result: { resultType: "complete", content: [{ type: "text", text: "ok" }] } });
  const third = ((await h.toClient.waitFor(4)) as Array<{ result: Record<string, unknown> }>)[3]!;
  assert.equal(third.result["resultType"], "complete");
  assert.deepEqual(third.result["content"], [
    { type: "text", text: "ok" },
    { type: "text", text },
  ]);
  assert.ok(third.result["_meta"] !== undefined);
});

test("tool gate: hidden from tools/list, calls refused with the reason, notifications dropped", async () => {
  const seen: unknown[] = [];
  const h = new Harness({
    toolGate: {
      listed: (tools) => {
        seen.push(...tools);
        return new Set(["changed"]);
      },
      refusal: (name) => (name === "changed" ? "changed since it was pinned" : null),
    },
  });
  await h.initialize();
  h.fromClient({ jsonrpc: "2.0", id: 1, method: "tools/list" });
  await h.toServer.waitFor(2);
  const tools = [
    { name: "stable", inputSchema: { type: "object" } },
    { name: "changed", description: "new text", inputSchema: { type: "object" } },
  ];
  h.fromServer({ jsonrpc: "2.0", id: 1, result: { tools } });
  const listed = ((await h.toClient.waitFor(2)) as Array<{ result: { tools: Array<{ name: string }> } }>)[1]!;
  assert.deepEqual(
    listed.result.tools.map((t) => t.name),
    ["stable"],
  );
  assert.deepEqual(seen, tools);
  h.fromClient(call(2, "changed"));
  const refused = ((await h.toClient.waitFor(3)) as Array<{ result: { isError: boolean; content: Array<{ text: string }> } }>)[2]!;
  assert.equal(refused.result.isError, true);
  assert.match(refused.result.content[0]!.text, /"changed" changed since it was pinned; it was not run/);
  h.fromClient({ jsonrpc: "2.0", method: "tools/call", params: { name: "changed", arguments: {} } });
  h.fromClient(call(3, "stable"));
  await h.toServer.waitFor(3);
  assert.deepEqual(
    h.toServer.messages.slice(2).map((m) => (m as { params: { name: string } }).params.name),
    ["stable"],
  );
});

test("a tools/call result waits for settle: its note is made then, and what is for the client after it waits behind it", async () => {
  // The CLI's settle resolves once mcp-j has read every report the jail made before now: a
  // refusal reported late (here: added while the result waits) is on the note, and a client that
  // calls again once it has the result is judged on it (the pins).
  const refused: Array<{ action: string; target: string }> = [];
  const waits: Array<() => void> = [];
  const h = new Harness({
    attribution: true,
    settle: () => new Promise<void>((resolve) => waits.push(resolve)),
    toolResultNote: () => (refused.length === 0 ? null : { meta: { "mcp-j/refused": [...refused] }, text: null }),
  });
  await h.initialize();
  const before = h.toClient.lines.length;
  h.fromClient(call(1, "reader"));
  h.fromClient({ jsonrpc: "2.0", id: 2, method: "ping" });
  await h.toServer.waitFor(3);
  h.fromServer({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "ok" }] } });
  h.fromServer({ jsonrpc: "2.0", id: 2, result: {} });
  h.fromServer({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "after" } });
  await until(() => waits.length === 1, "the result asks to settle");
  // The readers are paused meanwhile (what waits stays bounded): a call the client sends now is
  // read, and refused by the proxy itself, only after the result has gone.
  h.fromClient({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "bad\u0000name", arguments: {} } });
  assert.equal(h.toClient.lines.length, before, "nothing reaches the client while the result waits");
  refused.push({ action: "read", target: "/late" });
  waits[0]!();
  const out = (await h.toClient.waitFor(before + 4)).slice(before) as Array<Record<string, unknown>>;
  assert.deepEqual(out[0], {
    jsonrpc: "2.0",
    id: 1,
    result: { content: [{ type: "text", text: "ok" }], _meta: { "mcp-j/refused": [{ action: "read", target: "/late" }] } },
  });
  // The server's later messages keep their order; the proxy's refusal comes after the result.
  const rest = out.slice(1).map((m) => m["id"] ?? m["method"]);
  assert.deepEqual(
    rest.filter((x) => x !== 3),
    [2, "notifications/message"],
  );
  assert.ok(rest.includes(3), JSON.stringify(out));
  assert.deepEqual(
    h.eventsOf("tool_call").map((e) => [e.id, e.outcome]),
    [
      [1, "ok"],
      [3, "invalid"],
    ],
  );
});

test("a result that waits for settle when the server goes is still answered, before the errors of what was pending", async () => {
  const waits: Array<() => void> = [];
  const h = new Harness({ attribution: true, settle: () => new Promise<void>((resolve) => waits.push(resolve)) });
  await h.initialize();
  const before = h.toClient.lines.length;
  h.fromClient(call(1, "done"));
  h.fromClient(call(2, "pending"));
  await h.toServer.waitFor(3);
  h.fromServer({ jsonrpc: "2.0", id: 1, result: { content: [] } });
  await until(() => waits.length === 1, "the result asks to settle");
  const gone = h.session.serverGone("the test ended it");
  let flushed = false;
  void gone.then(() => (flushed = true));
  await until(() => h.session.pendingCount() === 0, "the pending call answered");
  assert.equal(flushed, false, "serverGone waits for the result that waits");
  waits[0]!();
  await gone;
  const out = h.toClient.messages.slice(before) as Array<Record<string, unknown>>;
  assert.deepEqual(
    out.map((m) => [m["id"], "result" in m ? "result" : "error"]),
    [
      [1, "result"],
      [2, "error"],
    ],
  );
});

test("a task a tools/call started is in flight for its tool until it ends, and its result gets the task's note", async () => {
  const asked: InFlightRequest[] = [];
  const h = new Harness({
    attribution: true,
    toolResultNote: (c) => {
      asked.push(c);
      return c.method === TASK_WORK ? { meta: { "mcp-j/refused": [{ action: "read", target: "/during-task" }] }, text: null } : null;
    },
  });
  await h.initialize("2025-11-25");
  h.fromClient({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "slow", arguments: {}, task: { ttl: 60000 } } });
  await h.toServer.waitFor(2);
  h.fromServer({ jsonrpc: "2.0", id: 1, result: { task: { taskId: "t-1", status: "working", createdAt: "2026-12-01T00:00:00Z", ttl: 60000 } } });
  await until(() => h.session.pendingCount() === 0, "the call answered");
  // The call is over, its task's work goes on: what happens now is the tool's.
  assert.deepEqual(h.session.inFlightAt(monotonicNow()), [{ id: "t-1", method: TASK_WORK, tool: "slow" }]);
  h.fromClient({ jsonrpc: "2.0", id: 2, method: "tasks/result", params: { taskId: "t-1" } });
  await h.toServer.waitFor(3);
  h.fromServer({ jsonrpc: "2.0", id: 2, result: { content: [{ type: "text", text: "done" }] } });
  const out = (await h.toClient.waitFor(3)) as Array<{ id: number; result: Record<string, unknown> }>;
  assert.deepEqual(out[2]!.result["_meta"], { "mcp-j/refused": [{ action: "read", target: "/during-task" }] });
  assert.deepEqual(asked.at(-1), { id: "t-1", method: TASK_WORK, tool: "slow" });
  // Its result delivered: the task is over.
  assert.deepEqual(h.session.inFlightAt(monotonicNow()), []);

  // A task that ends by its status notification (the client never fetches its result).
  h.fromClient({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "slow", arguments: {}, task: {} } });
  await h.toServer.waitFor(4);
  h.fromServer({ jsonrpc: "2.0", id: 3, result: { task: { taskId: "t-2", status: "working", createdAt: "2026-12-01T00:00:00Z", ttl: null } } });
  await until(() => h.session.inFlightAt(monotonicNow())?.length === 1, "the second task in flight");
  h.fromServer({ jsonrpc: "2.0", method: "notifications/tasks/status", params: { taskId: "t-2", status: "failed", createdAt: "2026-12-01T00:00:00Z", ttl: null } });
  await until(() => h.session.inFlightAt(monotonicNow())?.length === 0, "the failed task no longer in flight");
});

test("a tools/call's answer that starts a task hands the call's note to the task (both task shapes; never for a task not remembered)", async () => {
  const started: Array<[InFlightRequest, InFlightRequest]> = [];
  const h = new Harness({ attribution: true, taskStarted: (c, t) => started.push([c, t]), toolResultNote: () => null });
  await h.initialize("2025-11-25");
  const long = "x".repeat(100_000);
  const answers = [
    { task: { taskId: "t-1", status: "working", createdAt: "2026-12-01T00:00:00Z", ttl: null } },
    { resultType: "task", taskId: "t-2", status: "working" },
    { task: { taskId: long, status: "working", createdAt: "2026-12-01T00:00:00Z", ttl: null } },
    { content: [{ type: "text", text: "no task" }] },
  ];
  for (const [i, result] of answers.entries()) {
    h.fromClient({ jsonrpc: "2.0", id: i + 1, method: "tools/call", params: { name: "slow", arguments: {}, task: {} } });
    await h.toServer.waitFor(i + 2);
    h.fromServer({ jsonrpc: "2.0", id: i + 1, result });
    await h.toClient.waitFor(i + 2);
  }
  assert.deepEqual(started, [
    [
      { id: 1, method: "tools/call", tool: "slow" },
      { id: "t-1", method: TASK_WORK, tool: "slow" },
    ],
    [
      { id: 2, method: "tools/call", tool: "slow" },
      { id: "t-2", method: TASK_WORK, tool: "slow" },
    ],
  ]);
});

test("a task forgotten to make room is no longer in flight either: what a server's never-ending tasks hold stays bounded", async () => {
  const forgotten: string[] = [];
  const registry = new TaskRegistry(2, (id) => forgotten.push(id));
  registry.add("a", "slow");
  registry.add("b", "slow");
  registry.add("c", "slow");
  assert.deepEqual(forgotten, ["a"]);
  assert.equal(registry.toolOf("a"), null);

  // The session's registry holds MAX_REMEMBERED_TASKS: past it, the oldest task leaves the log.
  const h = new Harness({ attribution: true });
  await h.initialize("2025-11-25");
  const n = MAX_REMEMBERED_TASKS + 1;
  for (let i = 1; i <= n; i++) h.fromClient({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "slow", arguments: {}, task: {} } });
  await h.toServer.waitFor(n + 1);
  for (let i = 1; i <= n; i++) h.fromServer({ jsonrpc: "2.0", id: i, result: { task: { taskId: `t-${i}`, status: "working", createdAt: "2026-12-01T00:00:00Z", ttl: null } } });
  await until(() => h.session.pendingCount() === 0, "every call answered", 20_000);
  const inFlight = h.session.inFlightAt(monotonicNow())!;
  assert.equal(inFlight.length, MAX_REMEMBERED_TASKS);
  assert.ok(!inFlight.some((r) => r.id === "t-1"), "the oldest task left");
});
