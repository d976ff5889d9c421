import assert from "node:assert/strict";
import { test } from "node:test";
import { PassThrough, Writable } from "node:stream";
import { startProxy, ProxyError, type ProxyEvent } from "../src/index.js";
import { Harness, request, result, settle, until } from "./helpers.js";

test("forwards the bytes received: spacing, escapes and numbers it does not own pass unchanged", async () => {
  const h = new Harness();
  const spaced = '{ "jsonrpc" : "2.0", "id" : "1", "method" : "ping", "params": {"big": 12345678901234567890123, "inf": 1e400, "e": "\\u00e9"} }';
  h.fromClient(spaced);
  h.fromClient('{"jsonrpc":"2.0","id":1,"method":"ping"}');
  await h.toServer.waitFor(2);
  assert.deepEqual(h.toServer.lines, [spaced, '{"jsonrpc":"2.0","id":1,"method":"ping"}']);
  h.fromServer('{"jsonrpc":"2.0","id":1,"result":{"n":-0.0000000000000000000001e-400}}\r');
  h.fromServer('{"result":{"x":"\\u00e9","n":[1E400,123456789012345678901234567890]},"id":"1","jsonrpc":"2.0"}');
  await h.toClient.waitFor(2);
  assert.deepEqual(h.toClient.lines, [
    '{"jsonrpc":"2.0","id":1,"result":{"n":-0.0000000000000000000001e-400}}',
    '{"result":{"x":"\\u00e9","n":[1E400,123456789012345678901234567890]},"id":"1","jsonrpc":"2.0"}',
  ]);
  assert.equal(h.session.pendingCount(), 0);
});

test("a repeated key where the policy reads is forwarded re-serialized, with the value that was checked", async () => {
  const h = new Harness({ tools: { allow: [], deny: ["delete_*"] } });
  // JSON.parse keeps the last "name"; a server whose parser keeps the first would run delete_file.
  h.fromClient('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file","n\\u0061me":"echo","arguments":{}}}');
  h.fromClient('{"jsonrpc":"2.0","id":2,"id":3,"method":"ping"}');
  h.fromClient('{"jsonrpc":"2.0","id":4,"method":"ping","params":{"deep":{"a":1,"a":2}}}');
  await h.toServer.waitFor(3);
  assert.deepEqual(h.toServer.lines, [
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}',
    '{"jsonrpc":"2.0","id":3,"method":"ping"}',
    '{"jsonrpc":"2.0","id":4,"method":"ping","params":{"deep":{"a":1,"a":2}}}',
  ]);
});

test("-32700 with a null id for unparsable lines and invalid UTF-8 from the client", async () => {
  const h = new Harness();
  h.fromClient('{"jsonrpc":"2.0","id":5,"method":');
  h.clientIn.write(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a]));
  const [a, b] = await h.toClient.waitFor(2);
  assert.deepEqual([a, b].map((m) => (m as { id: unknown; error: { code: number } })), [
    { jsonrpc: "2.0", id: null, error: { code: -32700, message: (a as { error: { message: string } }).error.message } },
    { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error: the line is not valid UTF-8" } },
  ]);
  assert.equal(h.toServer.lines.length, 0);
  assert.equal(h.eventsOf("message_invalid").length, 2);
});

test("-32600 for invalid messages, with the id when it is a valid one", async () => {
  const h = new Harness();
  h.fromClient({ id: 3, method: "ping" });
  h.fromClient({ jsonrpc: "2.0", id: 1.5, method: "ping" });
  h.fromClient({ jsonrpc: "2.0", id: 4, method: 12 });
  h.fromClient("[]");
  const msgs = (await h.toClient.waitFor(4)) as Array<{ id: unknown; error: { code: number } }>;
  assert.deepEqual(msgs.map((m) => [m.id, m.error.code]), [[3, -32600], [null, -32600], [4, -32600], [null, -32600]]);
  assert.equal(h.toServer.lines.length, 0);
});

test("notifications are never answered, even invalid ones, but they are logged", async () => {
  const h = new Harness();
  h.fromClient({ jsonrpc: "2.0", method: 5 });
  h.fromClient({ jsonrpc: "1.0", method: "notifications/initialized" });
  h.fromClient({ jsonrpc: "2.0", method: "notifications/initialized" });
  await h.toServer.waitFor(1);
  await settle();
  assert.equal(h.toClient.lines.length, 0);
  assert.deepEqual(h.toServer.messages, [{ jsonrpc: "2.0", method: "notifications/initialized" }]);
  assert.equal(h.logs.filter((l) => l.includes("invalid notification")).length, 2);
  assert.deepEqual(h.eventsOf("message_invalid").map((e) => e.answered), [false, false]);
});

test("-32602 for a tools/call without a string name or with non-object arguments", async () => {
  const h = new Harness();
  h.fromClient(request(1, "tools/call", { arguments: {} }));
  h.fromClient(request(2, "tools/call", { name: "echo", arguments: [1] }));
  h.fromClient(request(3, "tools/call"));
  const msgs = (await h.toClient.waitFor(3)) as Array<{ id: unknown; error: { code: number } }>;
  assert.deepEqual(msgs.map((m) => [m.id, m.error.code]), [[1, -32602], [2, -32602], [3, -32602]]);
  assert.equal(h.toServer.lines.length, 0);
  assert.deepEqual(h.eventsOf("tool_call").map((e) => e.outcome), ["invalid", "invalid", "invalid"]);
});

test("a denied tools/call is answered by the proxy with an isError result and never reaches the server", async () => {
  const h = new Harness({ tools: { allow: [], deny: ["get-*"] } });
  h.fromClient(request(1, "tools/call", { name: "get-env", arguments: {} }));
  h.fromClient(request(2, "tools/call", { name: "echo", arguments: { message: "hi" } }));
  const [denied] = (await h.toClient.waitFor(1)) as Array<{ id: number; result: { isError: boolean; content: Array<{ type: string; text: string }> } }>;
  assert.equal(denied?.id, 1);
  assert.equal(denied?.result.isError, true);
  assert.match(denied?.result.content[0]?.text ?? "", /get-env.*denied by policy/);
  await h.toServer.waitFor(1);
  assert.deepEqual((h.toServer.messages as Array<{ id: number }>).map((m) => m.id), [2]);
  assert.deepEqual(h.eventsOf("tool_call"), [{ type: "tool_call", name: "get-env", id: 1, durationMs: 0, outcome: "denied", responseBytes: 0 }]);
});

test("denied tools vanish from every tools/list result, also after list_changed", async () => {
  const h = new Harness({ tools: { allow: ["*"], deny: ["get-env", "toggle-?"] } });
  const list = (id: number, names: string[]) => result(id, { tools: names.map((name) => ({ name, inputSchema: { type: "object" } })) });
  h.fromClient(request(1, "tools/list"));
  await h.toServer.waitFor(1);
  h.fromServer(list(1, ["echo", "get-env", "toggle-x"]));
  h.fromServer({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
  await h.toClient.waitFor(2);
  h.fromClient(request(2, "tools/list", { cursor: "c" }));
  await h.toServer.waitFor(2);
  h.fromServer(list(2, ["get-env", "get-sum", "toggle-xy"]));
  const msgs = (await h.toClient.waitFor(3)) as Array<{ result?: { tools: Array<{ name: string }> }; method?: string }>;
  assert.deepEqual(msgs[0]?.result?.tools.map((t) => t.name), ["echo"]);
  assert.equal(msgs[1]?.method, "notifications/tools/list_changed");
  assert.deepEqual(msgs[2]?.result?.tools.map((t) => t.name), ["get-sum", "toggle-xy"]);
});

test("tool calls are audited with name, id, outcome and response size", async () => {
  const h = new Harness();
  for (let i = 1; i <= 3; i++) h.fromClient(request(i, "tools/call", { name: `t${i}`, arguments: {} }));
  await h.toServer.waitFor(3);
  const ok = JSON.stringify(result(1, { content: [] }));
  h.fromServer(ok);
  h.fromServer(result(2, { content: [], isError: true }));
  h.fromServer({ jsonrpc: "2.0", id: 3, error: { code: -32602, message: "no such tool" } });
  await h.toClient.waitFor(3);
  const calls = h.eventsOf("tool_call");
  assert.deepEqual(calls.map((e) => [e.name, e.id, e.outcome]), [["t1", 1, "ok"], ["t2", 2, "tool-error"], ["t3", 3, "error"]]);
  assert.equal(calls[0]?.responseBytes, Buffer.byteLength(ok));
  assert.ok(calls.every((e) => e.durationMs >= 0));
});

test("server-to-client requests have their own table; responses to unknown ids are dropped both ways", async () => {
  const h = new Harness();
  h.fromClient(request(1, "tools/call", { name: "trigger-sampling", arguments: {} }));
  await h.toServer.waitFor(1);
  // The server asks the client something with the *same* id the client used: a different request.
  h.fromServer(request(1, "sampling/createMessage", { messages: [], maxTokens: 5 }));
  h.fromServer(request("r", "roots/list"));
  await h.toClient.waitFor(2);
  h.fromClient(result(1, { role: "assistant", content: { type: "text", text: "hi" }, model: "m" }));
  h.fromClient(result(99, {})); // unknown: dropped
  h.fromClient(result("r", { roots: [] }));
  await h.toServer.waitFor(3);
  assert.deepEqual((h.toServer.messages as Array<{ id: unknown }>).slice(1).map((m) => m.id), [1, "r"]);
  assert.equal(h.session.pendingCount(), 1, "the client's own request 1 is still pending");
  h.fromServer(result(1, { content: [] }));
  h.fromServer(result(1, { content: [] })); // a second answer: unknown now, dropped
  h.fromServer(result(42, {}));
  await h.toClient.waitFor(3);
  await settle();
  assert.equal(h.toClient.lines.length, 3);
  assert.equal(h.session.pendingCount(), 0);
  assert.deepEqual(h.eventsOf("response_dropped").map((e) => [e.from, e.id, e.reason]), [["client", 99, "unknown-id"], ["server", 1, "unknown-id"], ["server", 42, "unknown-id"]]);
});

test("notifications/cancelled passes through and a late response to the cancelled id is dropped", async () => {
  const h = new Harness();
  h.fromClient(request(7, "tools/call", { name: "slow", arguments: {} }));
  const cancel = { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7, reason: "user" } };
  h.fromClient(cancel);
  await h.toServer.waitFor(2);
  assert.deepEqual(h.toServer.messages[1], cancel);
  assert.equal(h.session.pendingCount(), 0);
  h.fromServer(result(7, { content: [] }));
  h.fromServer({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "after" } });
  await h.toClient.waitFor(1);
  assert.deepEqual((h.toClient.messages[0] as { method: string }).method, "notifications/message");
  assert.deepEqual(h.eventsOf("response_dropped").map((e) => e.reason), ["cancelled"]);
  assert.deepEqual(h.eventsOf("tool_call").map((e) => e.outcome), ["cancelled"]);
});

test("non-JSON lines on the server's stdout go to the log with a prefix, never to the client", async () => {
  const h = new Harness();
  h.fromServer("Server listening on stdio");
  h.fromServer("42");
  h.serverOut.write(Buffer.from([0xc3, 0x28, 0x0a]));
  h.fromServer({ jsonrpc: "2.0", method: "notifications/message", params: {} });
  await h.toClient.waitFor(1);
  assert.equal(h.toClient.lines.length, 1);
  assert.equal(h.toServer.lines.length, 0, "the server is not answered for its stray output");
  assert.ok(h.logs.some((l) => l.includes("server stdout (not JSON-RPC): Server listening on stdio")));
  assert.equal(h.eventsOf("server_output_nonjson").length, 3);
});

test("an oversized client message is answered with its recovered id (or null), and the session goes on", async () => {
  const h = new Harness({ maxMessageBytes: 1000 });
  h.fromClient(request(11, "tools/call", { name: "echo", arguments: { message: "x".repeat(5000) } }));
  h.fromClient(`[${"1,".repeat(2000)}1]`);
  h.fromClient({ jsonrpc: "2.0", method: "notifications/progress", params: { pad: "y".repeat(5000) } });
  h.fromClient(request(12, "ping"));
  await h.toServer.waitFor(1);
  const msgs = (await h.toClient.waitFor(2)) as Array<{ id: unknown; error: { code: number; data: unknown } }>;
  assert.deepEqual(msgs.map((m) => [m.id, m.error.code, m.error.data]), [[11, -31001, "request too large"], [null, -31001, "request too large"]]);
  assert.deepEqual((h.toServer.messages[0] as { id: number }).id, 12);
  assert.deepEqual(h.eventsOf("message_oversized").map((e) => [e.from, e.id, e.limit]), [["client", 11, 1000], ["client", null, 1000], ["client", null, 1000]]);
});

test("an oversized server response becomes -31001 'response too large' for the request it answered", async () => {
  const h = new Harness({ maxMessageBytes: 1000 });
  h.fromClient(request("big", "tools/call", { name: "echo", arguments: {} }));
  h.fromClient(request(2, "ping"));
  await h.toServer.waitFor(2);
  // The SDK writes "id" after "result": the id must still be recovered.
  h.fromServer(`{"result":{"content":[{"type":"text","text":"${"z".repeat(5000)}"}]},"jsonrpc":"2.0","id":"big"}`);
  h.fromServer(result(2, {}));
  const msgs = (await h.toClient.waitFor(2)) as Array<{ id: unknown; error?: { code: number; data: unknown }; result?: unknown }>;
  assert.deepEqual([msgs[0]?.id, msgs[0]?.error?.code, msgs[0]?.error?.data], ["big", -31001, "response too large"]);
  assert.deepEqual(msgs[1], result(2, {}));
  assert.equal(h.session.pendingCount(), 0);
  assert.deepEqual(h.eventsOf("message_oversized").map((e) => [e.from, e.id]), [["server", "big"]]);
  assert.deepEqual(h.eventsOf("tool_call").map((e) => e.outcome), ["too-large"]);
});

test("a batch is answered with one clear error and nothing in it is forwarded, in any era", async () => {
  const batch = JSON.stringify([request(1, "ping"), { jsonrpc: "2.0", method: "notifications/x" }, request(2, "tools/call", { name: "get-env" }), { jsonrpc: "2.0", id: 3 }]);
  for (const version of [null, "2025-03-26", "2025-06-18"]) {
    const h = new Harness({ tools: { allow: [], deny: ["get-*"] } });
    if (version !== null) await h.initialize(version);
    const before = h.toClient.lines.length;
    const sentBefore = h.toServer.lines.length;
    h.fromClient(batch);
    h.fromClient(request(9, "ping"));
    await h.toServer.waitFor(sentBefore + 1);
    const msgs = (await h.toClient.waitFor(before + 1)).slice(before) as Array<{ id: unknown; error: { code: number; message: string } }>;
    assert.equal(msgs.length, 1, String(version));
    assert.deepEqual([msgs[0]?.id, msgs[0]?.error.code], [null, -32600]);
    assert.match(msgs[0]?.error.message ?? "", /batches are not supported: MCP removed them in revision 2025-06-18/);
    assert.deepEqual((h.toServer.messages.slice(sentBefore) as Array<{ id: number }>).map((m) => m.id), [9], "only the message after the batch");
  }
});

test("a server that answers in a batch: the server gets the error, the client's requests are failed, not left waiting", async () => {
  const h = new Harness();
  h.fromClient(request(1, "ping"));
  h.fromClient(request(2, "ping"));
  await h.toServer.waitFor(2);
  h.fromServer(JSON.stringify([result(2, {}), result(1, {})]));
  const msgs = (await h.toClient.waitFor(2)) as Array<{ id: unknown; error: { code: number } }>;
  assert.deepEqual(msgs.map((m) => [m.id, m.error.code]).sort(), [[1, -32603], [2, -32603]]);
  const toServer = (await h.toServer.waitFor(3)) as Array<{ id: unknown; error?: { code: number } }>;
  assert.deepEqual([toServer[2]?.id, toServer[2]?.error?.code], [null, -32600]);
  assert.equal(h.session.pendingCount(), 0);
});

test("serverGone answers every pending client request with -32603 naming the cause, once", async () => {
  const h = new Harness();
  h.fromClient(request(1, "tools/call", { name: "slow", arguments: {} }));
  h.fromClient(request("two", "resources/read", { uri: "x" }));
  h.fromServer(request(9, "roots/list"));
  await h.toServer.waitFor(2);
  await h.toClient.waitFor(1);
  assert.equal(h.session.pendingCount(), 2);
  const cause = "the server was killed: out of memory (limit 512 MiB)";
  await Promise.all([h.session.serverGone(cause), h.session.serverGone("again")]);
  await h.session.serverGone("and again");
  const msgs = (await h.toClient.waitFor(3)).slice(1) as Array<{ id: unknown; error: { code: number; message: string } }>;
  assert.deepEqual(msgs.map((m) => [m.id, m.error.code]), [[1, -32603], ["two", -32603]]);
  assert.ok(msgs.every((m) => m.error.message.includes(cause)));
  assert.equal(h.session.pendingCount(), 0);
  // Later output from the dead server is ignored; later requests are answered with the cause.
  h.fromServer(result(1, {}));
  h.fromClient(request(3, "ping"));
  h.fromClient(result(9, { roots: [] }));
  await h.toClient.waitFor(4);
  await settle();
  assert.equal(h.toClient.lines.length, 4);
  assert.match((h.toClient.messages[3] as { error: { message: string } }).error.message, /out of memory/);
  assert.deepEqual(h.eventsOf("server_gone"), [{ type: "server_gone", cause, pending: 2 }]);
  assert.deepEqual(h.eventsOf("tool_call").map((e) => e.outcome), ["server-gone"]);
  assert.ok(h.serverIn.writableEnded, "the server's stdin is ended");
  // The dead server's output is still read (and discarded) to its end.
  h.serverOut.end(JSON.stringify(result(1, {})));
  await h.session.serverOutputEnded;
  assert.equal(h.toClient.lines.length, 4);
});

test("client EOF ends the server's stdin; server EOF resolves serverOutputEnded", async () => {
  const h = new Harness();
  let serverInputFinished = false;
  h.serverIn.on("finish", () => (serverInputFinished = true));
  h.fromClient(request(1, "ping"));
  h.clientIn.end('{"jsonrpc":"2.0","id":2,"method":"ping"}'); // last line without a newline still counts
  await h.session.clientInputEnded;
  await until(() => serverInputFinished, "server stdin finished");
  assert.deepEqual((h.toServer.messages as Array<{ id: number }>).map((m) => m.id), [1, 2]);
  let ended = false;
  void h.session.serverOutputEnded.then(() => (ended = true));
  h.fromServer(result(1, {}));
  await settle();
  assert.equal(ended, false);
  h.serverOut.end();
  await h.session.serverOutputEnded;
  assert.equal(h.session.pendingCount(), 1, "request 2 is still pending: the CLI decides what happened");
});

/** A writable that accepts writes but completes none until released: a peer that does not read. */
class StuckWritable extends Writable {
  private held: Array<() => void> = [];
  accepted: string[] = [];
  constructor() {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.accepted.push(chunk.toString());
    this.held.push(() => callback());
  }
  release(): void {
    const held = this.held;
    this.held = [];
    for (const done of held) done();
  }
}

test("backpressure: a client that does not read stops the server's output being read", async () => {
  const clientIn = new PassThrough();
  const clientOut = new StuckWritable();
  const serverOut = new PassThrough({ highWaterMark: 1024 });
  startProxy({ input: clientIn, output: clientOut }, { input: new PassThrough(), output: serverOut });
  const line = `${JSON.stringify({ jsonrpc: "2.0", method: "notifications/message", params: { data: "m".repeat(200) } })}\n`;
  let accepted = 0;
  // Write until the server's side reports full: with no backpressure the proxy would drain it forever.
  for (let i = 0; i < 10_000 && serverOut.write(line); i++) {
    accepted++;
    await settle(1);
  }
  await settle();
  assert.ok(serverOut.isPaused(), "the proxy paused reading the server");
  assert.ok(accepted < 100, `server writes accepted before backpressure: ${accepted}`);
  const deliveredWhileStuck = clientOut.accepted.length;
  // The client reads again: everything flows, in order.
  const drainOnce = async () => {
    for (let i = 0; i < 500 && clientOut.accepted.length < accepted + 1; i++) {
      clientOut.release();
      await settle(1);
    }
  };
  await drainOnce();
  assert.ok(deliveredWhileStuck < clientOut.accepted.length);
  assert.ok(!serverOut.isPaused());
  assert.ok(clientOut.accepted.every((l) => l === line));
});

test("backpressure: a server that does not read stops the client's input being read", async () => {
  const clientIn = new PassThrough({ highWaterMark: 1024 });
  const serverIn = new StuckWritable();
  const h = startProxy({ input: clientIn, output: new PassThrough() }, { input: serverIn, output: new PassThrough() });
  let sent = 0;
  for (let i = 0; i < 10_000 && clientIn.write(`${JSON.stringify(request(i, "ping", { pad: "p".repeat(200) }))}\n`); i++) {
    sent++;
    await settle(1);
  }
  await settle();
  assert.ok(clientIn.isPaused(), "the proxy paused reading the client");
  assert.ok(sent < 100, `client writes accepted before backpressure: ${sent}`);
  for (let i = 0; i < 500 && h.pendingCount() < sent + 1; i++) {
    serverIn.release();
    await settle(1);
  }
  assert.equal(h.pendingCount(), sent + 1);
  assert.ok(!clientIn.isPaused());
});

test("a message nested deeper than JSON.stringify can go is forwarded as received; with a repeated key it is answered -32603", async () => {
  const h = new Harness();
  const depth = 200_000;
  const deep = `{"jsonrpc":"2.0","id":5,"method":"m","params":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
  h.fromClient(deep);
  h.fromClient(`{"jsonrpc":"2.0","id":6,"id":7,"method":"m","params":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`);
  h.fromClient(request(8, "ping"));
  const [first] = (await h.toClient.waitFor(1)) as Array<{ id: unknown; error: { code: number } }>;
  assert.deepEqual([first?.id, first?.error.code], [7, -32603]);
  await h.toServer.waitFor(2);
  assert.equal(h.toServer.lines[0], deep);
  assert.deepEqual((h.toServer.messages[1] as { id: number }).id, 8);
});

test("a duplicate id of a still-pending request is dropped, so the id is answered once", async () => {
  const h = new Harness();
  h.fromClient(request(1, "ping"));
  h.fromClient(request(1, "tools/list"));
  await h.toServer.waitFor(1);
  await settle();
  assert.equal(h.toServer.lines.length, 1);
  assert.equal(h.eventsOf("message_invalid")[0]?.answered, false);
});

test("an invalid response from the server fails the client's request with -32603 instead of hanging it", async () => {
  const h = new Harness();
  h.fromClient(request(1, "ping"));
  await h.toServer.waitFor(1);
  h.fromServer({ jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "both" } });
  const [msg] = (await h.toClient.waitFor(1)) as Array<{ id: unknown; error: { code: number } }>;
  assert.deepEqual([msg?.id, msg?.error.code], [1, -32603]);
  assert.equal(h.toServer.lines.length, 1, "the server is not answered for its own response");
});

test("a throwing event callback does not break the session", async () => {
  const h = new Harness({ onEvent: () => { throw new Error("disk full"); } });
  h.fromClient("not json");
  h.fromClient(request(1, "ping"));
  await h.toClient.waitFor(1);
  await h.toServer.waitFor(1);
});

test("startProxy rejects bad options with a typed error", () => {
  const ends = () => [{ input: new PassThrough(), output: new PassThrough() }, { input: new PassThrough(), output: new PassThrough() }] as const;
  for (const maxMessageBytes of [0, -1, 1.5, Number.NaN]) {
    const [c, s] = ends();
    assert.throws(() => startProxy(c, s, { maxMessageBytes }), (e: unknown) => e instanceof ProxyError && e.code === "invalid_options");
  }
});

test("event types are a closed union (compile-time check)", () => {
  const describe = (e: ProxyEvent): string => {
    switch (e.type) {
      case "tool_call": return e.outcome;
      case "message_oversized": return String(e.bytes);
      case "message_invalid": return e.reason;
      case "response_dropped": return e.reason;
      case "server_output_nonjson": return e.preview;
      case "server_gone": return e.cause;
    }
  };
  assert.equal(describe({ type: "server_gone", cause: "c", pending: 0 }), "c");
});
