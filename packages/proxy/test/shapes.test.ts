// ESCAPES 67: a denied tool named in a notification, a batch, a task, a retry with a new id, or
// under a case or Unicode look-alike of its name never runs; and the refusal fits the era of the
// request that is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Harness, request, result, settle } from "./helpers.js";

const DENY = { allow: [], deny: ["delete_*"] };
const MODERN_META = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };

type Answer = { id: unknown; result?: { isError?: boolean; resultType?: string; content?: Array<{ text: string }> }; error?: { code: number; message: string } };

test("shape: a tools/call sent as a notification (no id) naming a denied tool is never forwarded", async () => {
  const h = new Harness({ tools: DENY });
  h.fromClient({ jsonrpc: "2.0", method: "tools/call", params: { name: "delete_file", arguments: { path: "/x" } } });
  h.fromClient({ jsonrpc: "2.0", method: "tools/call", params: { arguments: {} } });
  h.fromClient({ jsonrpc: "2.0", method: "Tools/Call", params: { name: "delete_file" } });
  h.fromClient({ jsonrpc: "2.0", method: "tools/call", params: { name: "echo", arguments: {} } });
  h.fromClient(request(1, "ping"));
  await h.toServer.waitFor(2);
  await settle();
  assert.deepEqual(h.toServer.messages, [{ jsonrpc: "2.0", method: "tools/call", params: { name: "echo", arguments: {} } }, request(1, "ping")]);
  assert.equal(h.toClient.lines.length, 0, "a notification is never answered");
  assert.deepEqual(h.eventsOf("tool_call").map((e) => [e.id, e.name, e.outcome]), [[null, "delete_file", "denied"], [null, null, "invalid"], [null, "delete_file", "denied"]]);
});

test("shape: a batch holding a denied tools/call forwards nothing", async () => {
  const h = new Harness({ tools: DENY });
  await h.initialize("2025-03-26"); // the last revision that had batches
  h.fromClient(JSON.stringify([request(1, "tools/call", { name: "delete_file", arguments: {} }), { jsonrpc: "2.0", method: "tools/call", params: { name: "delete_file" } }]));
  const msgs = (await h.toClient.waitFor(2)) as Answer[];
  assert.deepEqual([msgs[1]?.id, msgs[1]?.error?.code], [null, -32600]);
  await settle();
  assert.equal(h.toServer.lines.length, 1, "only the initialize request reached the server");
});

test("shape: a look-alike of a denied name (case, Unicode, dashes) is refused and hidden", async () => {
  const h = new Harness({ tools: DENY });
  const names = ["Delete_file", "d\u0435lete_file", "delete\u2010file", "DELETE-FILE", "ｄelete_file"];
  names.forEach((name, i) => h.fromClient(request(i + 1, "tools/call", { name, arguments: {} })));
  const answers = (await h.toClient.waitFor(names.length)) as Answer[];
  assert.deepEqual(answers.map((a) => [a.id, a.result?.isError]), names.map((_, i) => [i + 1, true]));
  assert.equal(h.toServer.lines.length, 0);

  // The list: look-alikes vanish, everything else keeps its bytes (cursor, cache fields, _meta, numbers).
  h.fromClient(request(10, "tools/list", { cursor: "page-2" }));
  await h.toServer.waitFor(1);
  const tool = (name: string): string => `{"name":"${name}","inputSchema":{"type":"object","properties":{"n":{"type":"integer","maximum":18446744073709551615}}}}`;
  h.fromServer(
    `{"jsonrpc":"2.0","id":10,"result":{"tools":[${tool("echo")}, ${tool("D\u0435lete_file")},${tool("list")} ,${tool("delete\u2010all")}],"nextCursor":"page-3","ttlMs":60000,"cacheScope":"public","resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s"}}}}`,
  );
  await h.toClient.waitFor(names.length + 1);
  assert.equal(
    h.toClient.lines[names.length],
    `{"jsonrpc":"2.0","id":10,"result":{"tools":[${tool("echo")},${tool("list")}],"nextCursor":"page-3","ttlMs":60000,"cacheScope":"public","resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s"}}}}`,
  );
});

test("shape: a tools/list entry that repeats its name is judged by the name the client would read last, and re-serialized", async () => {
  const h = new Harness({ tools: DENY });
  h.fromClient(request(1, "tools/list"));
  await h.toServer.waitFor(1);
  h.fromServer('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_file","name":"echo"},{"name":"echo","name":"delete_file"}]}}');
  const [answer] = (await h.toClient.waitFor(1)) as Array<{ result: { tools: Array<{ name: string }> } }>;
  assert.equal(h.toClient.lines[0], '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]}}');
  assert.deepEqual(answer?.result.tools.map((t) => t.name), ["echo"]);
});

test("shape: a task-augmented call of a denied tool is refused; tasks/* may only name tasks an allowed call started", async () => {
  const h = new Harness({ tools: DENY });
  await h.initialize("2025-11-25");
  h.fromClient(request(1, "tools/call", { name: "delete_file", arguments: {}, task: { ttl: 60000 } }));
  const [, denied] = (await h.toClient.waitFor(2)) as Answer[];
  assert.deepEqual([denied?.id, denied?.result?.isError], [1, true]);

  // A task the proxy never saw started (the server's own, or a guess) cannot be read, polled or cancelled.
  // (2025-11-25 has tasks/get, tasks/result, tasks/cancel; the 2026-07-28 extension tasks/get,
  // tasks/update, tasks/cancel.)
  for (const [id, method] of [[2, "tasks/get"], [3, "tasks/result"], [4, "tasks/cancel"]] as const) {
    h.fromClient(request(id, method, { taskId: "task-of-delete" }));
  }
  h.fromClient(request(5, "tasks/update", { taskId: "task-of-delete", _meta: MODERN_META }));
  h.fromClient({ jsonrpc: "2.0", method: "tasks/cancel", params: { taskId: "task-of-delete" } });
  const refused = ((await h.toClient.waitFor(6)) as Answer[]).slice(2);
  assert.deepEqual(refused.map((a) => [a.id, a.error?.code]), [[2, -32602], [3, -32602], [4, -32602], [5, -32602]]);
  // A method the era the request names does not have is answered as a server of that era would
  // (-32601), and never reaches the server, which may be of another era (red team 8, RT8-2).
  h.fromClient(request(20, "tasks/result", { taskId: "task-of-delete", _meta: MODERN_META }));
  const [eraMismatch] = ((await h.toClient.waitFor(7)) as Answer[]).slice(6);
  assert.deepEqual([eraMismatch?.id, eraMismatch?.error?.code], [20, -32601]);

  // An allowed call's task can.
  h.fromClient(request(6, "tools/call", { name: "echo", arguments: {}, task: { ttl: 60000 } }));
  await h.toServer.waitFor(2);
  const task = { taskId: "t-echo", status: "working", ttl: 60000, createdAt: "2026-01-01T00:00:00Z", lastUpdatedAt: "2026-01-01T00:00:00Z" };
  h.fromServer(result(6, { task }));
  await h.toClient.waitFor(8);
  h.fromClient(request(7, "tasks/get", { taskId: "t-echo" }));
  h.fromClient(request(8, "tasks/result", { taskId: "t-echo" }));
  h.fromClient(request(9, "tasks/list"));
  await h.toServer.waitFor(5);
  assert.deepEqual((h.toServer.messages.slice(1) as Array<{ id: number }>).map((m) => m.id), [6, 7, 8, 9]);
  h.fromServer(result(9, { tasks: [task, { ...task, taskId: "task-of-delete" }] }));
  const [listed] = ((await h.toClient.waitFor(9)) as Array<{ result: { tasks: Array<{ taskId: string }> } }>).slice(8);
  assert.deepEqual(listed?.result.tasks.map((t) => t.taskId), ["t-echo"]);
});

test("shape: an MRTR retry (new id, inputResponses, requestState) is policed like any call and forwarded byte for byte", async () => {
  const h = new Harness({ tools: DENY });
  h.fromClient(request(1, "tools/call", { name: "echo", arguments: {}, _meta: MODERN_META }));
  await h.toServer.waitFor(1);
  h.fromServer(result(1, { resultType: "input_required", inputRequests: { confirm: { method: "elicitation/create", params: { message: "sure?", requestedSchema: { type: "object", properties: {} } } } }, requestState: "opaque\u00e9\\u00e9==" }));
  await h.toClient.waitFor(1);
  const retry = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{},"inputResponses":{"confirm":{"action":"accept","content":{}}},"requestState":"opaque\u00e9\\\\u00e9==","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"x-reserved/unknown":{"k":1e400}}},"unknownField":[1]}`;
  h.clientIn.write(`${retry}\n`);
  await h.toServer.waitFor(2);
  assert.equal(h.toServer.lines[1], retry);

  // The same retry naming a denied tool (the name is not bound to the state): refused, in the modern shape.
  h.fromClient(request(3, "tools/call", { name: "delete_file", arguments: {}, inputResponses: {}, requestState: "opaque", _meta: MODERN_META }));
  const answers = (await h.toClient.waitFor(2)) as Answer[];
  assert.deepEqual(answers[1], {
    jsonrpc: "2.0",
    id: 3,
    result: { resultType: "complete", content: [{ type: "text", text: 'The tool "delete_file" is denied by policy (mcp-j); it was not run.' }], isError: true },
  });
  assert.equal(h.toServer.lines.length, 2);
});

test("era: a refusal carries resultType only in the 2026-07-28 era, learned per message or from the handshake", async () => {
  const legacy = new Harness({ tools: DENY });
  await legacy.initialize("2025-11-25");
  legacy.fromClient(request(1, "tools/call", { name: "delete_file" }));
  legacy.fromClient(request(2, "tools/call", { name: "delete_file", _meta: MODERN_META }));
  const [, a, b] = (await legacy.toClient.waitFor(3)) as Answer[];
  assert.equal(a?.result?.resultType, undefined);
  assert.equal(b?.result?.resultType, "complete");

  const stateless = new Harness({ tools: DENY }); // no initialize at all
  stateless.fromClient(request(1, "tools/call", { name: "delete_file", _meta: MODERN_META }));
  stateless.fromClient(request(2, "tools/list", { _meta: MODERN_META }));
  const [c] = (await stateless.toClient.waitFor(1)) as Answer[];
  assert.equal(c?.result?.resultType, "complete");
  await stateless.toServer.waitFor(1);
  stateless.fromServer(result(2, { tools: [{ name: "echo" }, { name: "delete_x" }], resultType: "complete", ttlMs: 0, cacheScope: "private" }));
  await stateless.toClient.waitFor(2);
  assert.equal(stateless.toClient.lines[1], '{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"echo"}],"resultType":"complete","ttlMs":0,"cacheScope":"private"}}');
});

test("list_changed notifications cross in both directions unchanged", async () => {
  const h = new Harness({ tools: DENY });
  for (const method of ["notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed"]) {
    h.fromServer({ jsonrpc: "2.0", method, params: { _meta: { "x/y": 1 } } });
  }
  h.fromClient({ jsonrpc: "2.0", method: "notifications/roots/list_changed" });
  await h.toClient.waitFor(3);
  await h.toServer.waitFor(1);
  assert.deepEqual(h.toClient.lines, [
    '{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"x/y":1}}}',
    '{"jsonrpc":"2.0","method":"notifications/prompts/list_changed","params":{"_meta":{"x/y":1}}}',
    '{"jsonrpc":"2.0","method":"notifications/resources/list_changed","params":{"_meta":{"x/y":1}}}',
  ]);
});
