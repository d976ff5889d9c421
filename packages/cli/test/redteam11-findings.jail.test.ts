// RED-TEAM 11 FINDINGS (9acc4e3: a tools/call result waits for the supervisor's reports, the
// supervisor's backpressure, the name check's StartReader). Each "RT11-n" test reproduces one
// defect found by attacking attribution and pinning as a server author would, and asserts the
// SECURE outcome: each fails on 9acc4e3. Real jails, the real CLI, the SDK's client and server.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { auditLines, jailDir, jailFile } from "./attribution.helpers.js";
import { mcpjBin, repoRoot, waitFor } from "./helpers.js";

const T = { timeout: 120_000 };
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const taskServer = join(fixtures, "redteam11-task-server.mjs");
const work = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-rt11-")));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

/** One run of mcp-j with the SDK client; returns once mcp-j has exited (it writes the pin file then). */
async function session<T>(args: string[], command: string[], use: (client: Client) => Promise<T>): Promise<{ value: T; stderr: string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [mcpjBin, ...args, "--", ...command], stderr: "pipe", cwd: repoRoot });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "mcpj-rt11", version: "1.0.0" });
  await client.connect(transport);
  const pid = transport.pid;
  let value: T;
  try {
    value = await use(client);
  } finally {
    await client.close();
  }
  const gone = await waitFor(() => {
    try {
      if (pid !== null) process.kill(pid, 0);
      return pid === null;
    } catch {
      return true;
    }
  }, 20_000);
  assert.ok(gone, "mcp-j exited after the client closed");
  return { value, stderr };
}

/** A task-augmented tools/call, followed to its end (SDK v1's experimental tasks): its result's
 * text, or the error the stream ended with. */
async function callAsTask(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  // The SDK calls a tool as a task once tools/list has said it takes one.
  await client.listTools();
  let out = { text: "", isError: true };
  for await (const m of client.experimental.tasks.callToolStream({ name, arguments: args })) {
    if (m.type === "result") {
      const r = m.result as { content?: Array<{ text?: string }>; isError?: boolean };
      out = { text: (r.content ?? []).map((c) => c.text ?? "").join(""), isError: r.isError === true };
    } else if (m.type === "error") out = { text: String(m.error.message), isError: true };
  }
  return out;
}

describe("red-team 11 findings", () => {
  // RT11-1. Attribution joins a supervisor event to the client requests in flight when it happened
  // (inflight.ts), and the pins judge a touch only against the tools of those requests
  // (attribution.ts observe: `tools.length > 0`). A task-augmented tools/call is answered at once
  // with the task it started (CreateTaskResult); the tool's work runs afterwards, while the client
  // polls with tasks/get and tasks/result, requests the proxy records with `tool: null` although it
  // knows which tool started the task (session.ts: TaskRegistry.toolOf). So nothing a task-based
  // tool does is ever attributed to it: its footprint is never recorded (the first run records
  // only what the SDK touched while creating the task), and under --pin --pin-enforce a rug-pulled
  // version that reads a new private file is neither reported nor refused: the audit log says
  // "idle". A malicious server needs only to declare its tools `execution.taskSupport: "required"`
  // (the SDK client then must call them as tasks). The refusal note is lost the same way: the
  // tasks/result that carries the tool's output gets no `_meta["mcp-j/refused"]` and no settle.
  it("RT11-1: a task-based tool's touch outside its footprint is caught and refused under --pin-enforce", T, async () => {
    const data = jailDir(work, "task-data");
    jailFile(join(data, "words.txt"), "apple\npear\n");
    jailDir(work, "task-data/private");
    jailFile(join(data, "private", "notes.txt"), "private\n");
    const pins = join(work, "task-pins.json");
    const log = join(work, "task.jsonl");
    const base = ["--ro", data, "--audit-log", log];

    // First run: the tool's footprint is recorded from its calls.
    const first = await session([...base, "--pin", pins], ["node", taskServer, data, "v1"], (c) => callAsTask(c, "lookup", { word: "pear" }));
    assert.equal(first.value.text, "pear: found");
    const recorded = JSON.parse(readFileSync(pins, "utf8")) as { tools: Record<string, { footprint: { read: string[] } | null }> };
    assert.ok(recorded.tools["lookup"]?.footprint?.read.includes(join(data, "words.txt")), `the task's read of words.txt is in lookup's footprint: ${JSON.stringify(recorded.tools["lookup"])}`);

    // A version whose task also reads private/notes.txt: reported, and the next call refused.
    const wider = await session([...base, "--pin", pins, "--pin-enforce"], ["node", taskServer, data, "reads-more"], async (c) => ({
      first: await callAsTask(c, "lookup", { word: "pear" }),
      second: await callAsTask(c, "lookup", { word: "pear" }),
    }));
    const touched = auditLines(log).filter((l) => l.type === "syscall" && l["path"] === join(data, "private", "notes.txt"));
    assert.ok(touched.length > 0, "the read of private/notes.txt is in the audit log");
    assert.match(wider.stderr, new RegExp(`pin: the tool "lookup" touched something outside its recorded footprint: read ${join(data, "private", "notes.txt")}`), `audit: ${JSON.stringify(touched)}`);
    assert.equal(wider.value.second.isError, true, `the second call was refused: ${JSON.stringify(wider.value.second)}`);
  });
});
