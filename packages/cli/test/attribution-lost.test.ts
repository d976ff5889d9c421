// Attribution when the supervisor lost reports (it slows the jail down rather than lose one:
// supervisor-reports.jail.test.ts; this is the fault path): what a pinned tool in flight did then is
// unknown, so under --pin-enforce it is refused from then on (fail closed), and the change says why;
// the same for a call whose result went on before the reports of it arrived (Jail.settle gave up).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, test } from "node:test";
import { monotonicNow, startProxy } from "@mcp-j/proxy";
import { PolicySchema } from "@mcp-j/engine/core";
import { Attribution } from "../src/attribution.js";
import { openAuditSink } from "../src/audit-sink.js";

const work = mkdtempSync(join(tmpdir(), "mcpj-lost-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("lost reports while a pinned tool runs, or a result that could not wait for them: the tool is taken as outside its footprint, and refused under --pin-enforce", async () => {
  const pins = join(work, "pins.json");
  const empty = { read: [], write: [], exec: [], net: [] };
  writeFileSync(pins, JSON.stringify({ version: 1, tools: { lookup: { description_sha256: "d", schema_sha256: "s", footprint: empty }, idle: { description_sha256: "d", schema_sha256: "s", footprint: empty } }, pending: {} }));
  const log = join(work, "audit.jsonl");
  const policy = PolicySchema.parse({ pin: { file: pins, enforce: true }, audit: { file: log } });
  const said: string[] = [];
  const attr = new Attribution({ policy, command: ["server"], say: (l) => said.push(l) });
  const client = { input: new PassThrough(), output: new PassThrough() };
  const server = { input: new PassThrough(), output: new PassThrough() };
  const session = startProxy(client, server, { attribution: true, ...(attr.gate !== null ? { toolGate: attr.gate } : {}) });
  const audit = openAuditSink(policy, "j1", [], () => {});
  attr.bind(session, audit);
  client.input.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "lookup", arguments: {} } })}\n`);
  for (let i = 0; i < 1000 && session.pendingCount() === 0; i++) await new Promise((r) => setImmediate(r));
  assert.equal(session.pendingCount(), 1, "the call is in flight");
  assert.equal(attr.gate?.refusal("lookup"), null);

  attr.syscall({ action: "dropped", syscall: null, pid: null, errno: 0, time: Date.now(), count: 3, mono: monotonicNow() });
  assert.match(attr.gate?.refusal("lookup") ?? "", /refused until the user accepts the change/);
  assert.equal(attr.gate?.refusal("idle"), null, "a tool not in flight is not blamed");
  assert.ok(
    said.some((l) => l.includes(`pin: the tool "lookup" touched something outside its recorded footprint: unknown (3 of the supervisor's reports were lost)`)),
    said.join("\n"),
  );
  // A result that went on before the supervisor's reports of its call arrived (Jail.settle gave
  // up): that call's tool is unverified in the same way.
  attr.unsettled({ id: 2, method: "tools/call", tool: "idle" });
  assert.match(attr.gate?.refusal("idle") ?? "", /refused until the user accepts the change/);
  assert.ok(said.some((l) => l.includes(`pin: the tool "idle" touched something outside its recorded footprint: unknown (its result went on before the supervisor's reports of it arrived)`)));
  await audit.close();
  const events = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(events.some((e) => e["type"] === "pin" && e["name"] === "lookup" && e["change"] === "footprint" && e["enforced"] === true));
});
