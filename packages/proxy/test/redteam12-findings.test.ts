// Red team 12: findings in the proxy's half of attribution (tasks in flight). Each test asserts the
// secure behaviour, so it fails while the finding is open.
import assert from "node:assert/strict";
import { test } from "node:test";
import { monotonicNow, TASK_WORK, type InFlightRequest } from "../src/index.js";
import { MAX_ID_CHARS } from "../src/jsonrpc.js";
import { MAX_REMEMBERED_TASKS } from "../src/tasks.js";
import { Harness, until } from "./helpers.js";

// A 2026-07-28 request names its revision and capabilities in its own _meta (no handshake); a
// client that takes tasks says so in its capabilities' extensions (the tasks extension).
const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": { extensions: { "io.modelcontextprotocol/tasks": {} } },
};

// RT12-1 (high). The 2026-07-28 tasks extension (modelcontextprotocol/ext-tasks,
// specification/2026-07-28/tasks.md) flattens the task into the tools/call result:
// `CreateTaskResult = Result & Task`, `{"resultType":"task","taskId":...,"status":"working",...}`,
// and tasks/get returns `GetTaskResult = Result & DetailedTask`, the tool's result inline in its
// `result` member once the task is completed. The proxy reads only 2025-11-25's nested
// `result.task`: a modern task is never in flight (the pins never judge its work, its refusals are
// noted nowhere: RT11-1 again, in the era docs/audit.md says is covered), its result gets no
// note, and under a tool policy the client cannot even poll it (-32602, "no task was started by an
// allowed tool call").
test("RT12-1: a 2026-07-28 task (flattened CreateTaskResult) is in flight for its tool, pollable under a policy, and its inline result gets the task's note", async () => {
  const asked: InFlightRequest[] = [];
  const h = new Harness({
    attribution: true,
    tools: { allow: ["slow"], deny: [] },
    toolResultNote: (c) => {
      asked.push(c);
      return c.method === TASK_WORK ? { meta: { "mcp-j/refused": [{ action: "read", target: "/during-task" }] }, text: null } : null;
    },
  });
  h.fromClient({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "slow", arguments: {}, _meta: MODERN_META } });
  await h.toServer.waitFor(1);
  const task = { taskId: "t-modern", status: "working", createdAt: "2026-12-01T00:00:00Z", lastUpdatedAt: "2026-12-01T00:00:00Z", ttlMs: 60000, pollIntervalMs: 10 };
  h.fromServer({ jsonrpc: "2.0", id: 1, result: { resultType: "task", ...task } });
  await h.toClient.waitFor(1);
  // The call is over; its task's work goes on in the server: what happens now is the tool's.
  assert.deepEqual(h.session.inFlightAt(monotonicNow()), [{ id: "t-modern", method: TASK_WORK, tool: "slow" }], "the modern task is in flight for its tool");

  // The client polls it (tasks/get is a method of the extension): the proxy lets it through.
  h.fromClient({ jsonrpc: "2.0", id: 2, method: "tasks/get", params: { taskId: "t-modern", _meta: MODERN_META } });
  await until(() => h.toServer.lines.length === 2 || h.toClient.lines.length === 2, "the poll forwarded or refused");
  assert.equal(h.toServer.lines.length, 2, `tasks/get of an allowed call's task reaches the server; the client got ${h.toClient.lines[1] ?? "nothing"}`);
  h.fromServer({ jsonrpc: "2.0", id: 2, result: { resultType: "complete", ...task, status: "completed", result: { content: [{ type: "text", text: "done" }], isError: false } } });
  const out = (await h.toClient.waitFor(2)) as Array<Record<string, unknown>>;
  assert.ok(JSON.stringify(out[1]).includes("/during-task"), `the task's result carries its refusals: ${JSON.stringify(out[1])}`);
  assert.deepEqual(asked.at(-1), { id: "t-modern", method: TASK_WORK, tool: "slow" });
  // Completed: the task is over.
  assert.deepEqual(h.session.inFlightAt(monotonicNow()), []);
});

// RT12-2 (medium). A task id longer than MAX_ID_CHARS is not remembered by the registry (so it is
// never forgotten to make room either), but trackTasks puts it in flight all the same: a server
// that answers each tools/call with a new such id (up to LIGHT_BYTES each) that never ends grows
// the in-flight log without bound (memory, and inFlightAt walks every entry for every supervisor
// event), and every one of those tasks stays "in flight" for its tool for the rest of the session.
// Commit 2264e3e bounded exactly this for ids of at most 1,024 characters.
test("RT12-2: tasks whose ids are too long to remember do not grow the in-flight log past the registry's bound", async () => {
  const h = new Harness({ attribution: true });
  await h.initialize("2025-11-25");
  const n = MAX_REMEMBERED_TASKS + 1;
  for (let i = 1; i <= n; i++) h.fromClient({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "slow", arguments: {}, task: {} } });
  await h.toServer.waitFor(n + 1);
  const long = (i: number): string => `${String(i).padStart(8, "0")}${"x".repeat(MAX_ID_CHARS)}`;
  for (let i = 1; i <= n; i++) h.fromServer({ jsonrpc: "2.0", id: i, result: { task: { taskId: long(i), status: "working", createdAt: "2026-12-01T00:00:00Z", ttl: null } } });
  await until(() => h.session.pendingCount() === 0, "every call answered", 20_000);
  const inFlight = h.session.inFlightAt(monotonicNow())!;
  assert.ok(inFlight.length <= MAX_REMEMBERED_TASKS, `${inFlight.length} tasks in flight, at most ${MAX_REMEMBERED_TASKS} expected`);
});
