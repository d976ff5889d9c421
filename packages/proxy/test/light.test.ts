// Large lines are checked on their bytes and parsed only where the proxy reads (json-check.ts,
// light.ts). Both are held to JSON.parse: same verdict on syntax, same policy decisions.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { clientVerdict, jsonSyntaxProblem, lightParse, TaskRegistry, ToolPolicy, validateMessage } from "../src/index.js";
import { Harness, request, result } from "./helpers.js";

const accepts = (s: string): boolean => {
  const buf = Buffer.from(s, "utf8");
  try {
    JSON.parse(buf.toString("utf8"));
    return true;
  } catch {
    return false;
  }
};

test("json-check: the same verdict as JSON.parse on JSON, on mutated JSON and on random text", () => {
  const mutate = fc.tuple(fc.json(), fc.nat(), fc.nat(8), fc.constantFrom("", '"', "\\", "{", "}", "[", "]", ",", ":", "-", "0", "1e", ".", "e+", "u", "\\u12", "\t", "\u0001", "\u2028", " ", "tru", "null", "é"));
  fc.assert(
    fc.property(fc.oneof(fc.json(), mutate.map(([j, at, len, ins]) => j.slice(0, at % (j.length + 1)) + ins + j.slice((at % (j.length + 1)) + len)), fc.string({ unit: "binary", maxLength: 40 })), (s) => {
      const buf = Buffer.from(s, "utf8");
      assert.equal(jsonSyntaxProblem(buf) === null, accepts(s), JSON.stringify(s));
    }),
    { numRuns: 20_000 },
  );
  for (const s of ["", " ", "01", "-", "1.", "1e", "[1,]", '{"a":1,}', '{"a" 1}', '"\\x"', '"\\u12G4"', "nul", "1 2", '"a\u0000"', "[[[[]]]]", "-0.0e-0", '"\\ud800"']) {
    assert.equal(jsonSyntaxProblem(Buffer.from(s)) === null, accepts(s), JSON.stringify(s));
  }
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.equal(jsonSyntaxProblem(Buffer.from(deep)), null, "deep nesting: no recursion");
});

const big = (n: number): string => "x".repeat(n);

test("light parse: the policy decides the same as on JSON.parse's value, whatever is large", () => {
  const policy = new ToolPolicy({ allow: [], deny: ["delete_*"] });
  const tasks = new TaskRegistry();
  const names = ["echo", "delete_file", `delete_${big(300_000)}`, "Delete-File", big(20_000)];
  const payload = fc.oneof(fc.constant(big(300_000)), fc.constant([big(300_000)]), fc.constant({ a: big(300_000), b: [1, 2] }), fc.json().map((j) => JSON.parse(j) as unknown));
  fc.assert(
    fc.property(fc.constantFrom(...names), payload, fc.constantFrom("tools/call", "tasks/get", "ping"), fc.option(fc.constantFrom("2026-07-28", big(20_000))), (name, args, method, version) => {
      const params: Record<string, unknown> = { name, arguments: typeof args === "object" && args !== null && !Array.isArray(args) ? args : { v: args }, taskId: name };
      if (version !== null) params["_meta"] = { "io.modelcontextprotocol/protocolVersion": version, pad: big(300_000) };
      const line = Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 7, method, params }));
      const light = lightParse(line);
      const full = JSON.parse(line.toString("utf8")) as Record<string, unknown>;
      assert.ok(light !== null);
      assert.deepEqual(validateMessage(light).ok, validateMessage(full).ok);
      assert.deepEqual(clientVerdict(method, light, policy, tasks, false), clientVerdict(method, full, policy, tasks, false));
      assert.deepEqual((light["params"] as Record<string, unknown>)["_meta"] !== undefined, version !== null);
    }),
    { numRuns: 200 },
  );
});

test("large lines through a session: byte for byte, denied when they name a denied tool, -32700 when broken", async () => {
  const h = new Harness({ tools: { allow: [], deny: ["delete_*"] } });
  const allowed = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"${big(400_000)}","n":1e400}}}`;
  h.clientIn.write(`${allowed}\n`);
  h.fromClient(request(2, "tools/call", { name: `delete_${big(300_000)}`, arguments: {} }));
  h.fromClient(request(3, "tools/call", { name: "delete_file", arguments: { message: big(400_000) } }));
  h.clientIn.write(`{"jsonrpc":"2.0","id":4,"method":"ping","params":{"a":"${big(400_000)}"}\n`); // one brace short
  h.clientIn.write(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"delete_file","name":"echo","arguments":{"m":"${big(400_000)}"}}}\n`);
  await h.toServer.waitFor(2);
  assert.equal(h.toServer.lines[0], allowed);
  assert.equal(h.toServer.lines[1], `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"m":"${big(400_000)}"}}}`);
  const answers = (await h.toClient.waitFor(3)) as Array<{ id: unknown; result?: { isError: boolean }; error?: { code: number } }>;
  assert.deepEqual(answers.map((a) => [a.id, a.result?.isError ?? a.error?.code]), [[2, true], [3, true], [null, -32700]]);

  // A large tools/list result is filtered entry by entry, the rest of its bytes kept.
  h.fromClient(request(6, "tools/list"));
  await h.toServer.waitFor(3);
  const tool = (name: string): string => `{"name":"${name}","description":"${big(150_000)}"}`;
  h.fromServer(`{"jsonrpc":"2.0","id":6,"result":{"tools":[${tool("echo")},${tool("delete_file")}],"nextCursor":"n"}}`);
  await h.toClient.waitFor(4);
  assert.equal(h.toClient.lines[3], `{"jsonrpc":"2.0","id":6,"result":{"tools":[${tool("echo")}],"nextCursor":"n"}}`);
  h.fromServer(result(1, { content: [{ type: "text", text: big(500_000) }] }));
  await h.toClient.waitFor(5);
  assert.equal(h.toClient.lines[4], JSON.stringify(result(1, { content: [{ type: "text", text: big(500_000) }] })));
});
