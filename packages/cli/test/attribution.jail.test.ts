// End to end, attribution (issue 17): the SDK clients drive real servers (server-filesystem from
// npm, SDK fixtures) through the real mcp-j and jail; the audit log says which request each
// supervised call served, and a tool call's result says what the jail refused during it.
import assert from "node:assert/strict";
import { chmodSync, closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { auditLines, callAsTask, clientSession, jailDir, jailFile } from "./attribution.helpers.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Client as ClientV2 } from "@modelcontextprotocol/client";
import { StdioClientTransport as StdioClientTransportV2 } from "@modelcontextprotocol/client/stdio";
import { mcpjBin, repoRoot, runMcpj, waitForValue } from "./helpers.js";

const modules = join(repoRoot, "node_modules");
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const filesystem = join(modules, "@modelcontextprotocol", "server-filesystem", "dist", "index.js");

const work = mkdtempSync(join(tmpdir(), "mcpj-attr-"));
chmodSync(work, 0o755);
// A file the jail must be refused: outside every grant and outside the jail's own /tmp (a path
// there that the jail's tmpfs lacks is simply not found, not refused).
const outside = mkdtempSync(join("/var/tmp", "mcpj-attr-outside-"));
chmodSync(outside, 0o755);
after(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function connect(args: string[], server: string[]): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [mcpjBin, ...args, "--", "node", ...server], stderr: "pipe", cwd: repoRoot });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "mcpj-attribution", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => err };
}

type Result = { content?: Array<{ type: string; text?: string }>; _meta?: Record<string, unknown>; isError?: boolean };
const dir = (name: string): string => jailDir(work, name);
const file = jailFile;

const textOf = (r: unknown): string => ((r as Result).content ?? []).map((c) => c.text ?? "").join("");

test("server-filesystem: read_file's open is attributed to its request", async () => {
  const data = dir("fs-read");
  const target = file(join(data, "note.txt"), "attributed\n");
  const log = join(work, "read.jsonl");
  const { client } = await connect(["--ro", modules, "--ro", data, "--audit-log", log], [filesystem, data]);
  try {
    assert.match(textOf(await client.callTool({ name: "read_file", arguments: { path: target } })), /attributed/);
  } finally {
    await client.close();
  }
  const lines = auditLines(log);
  const call = lines.find((l) => l.type === "tool" && l["name"] === "read_file");
  assert.ok(call, "the tool call is audited");
  const id = call["request_id"] as number;
  const opens = lines.filter((l) => l.type === "syscall" && l["path"] === target);
  assert.ok(opens.length > 0, "the file's open is audited");
  for (const open of opens) {
    assert.deepEqual(open["requests"], [{ method: "tools/call", id, tool: "read_file" }]);
    assert.equal(open["request_id"], id);
    assert.equal(open["access"], "read");
  }
});

test("what a server does while no request is in flight is attributed to none: idle", async () => {
  const data = dir("idle");
  const target = file(join(data, "read-at-start.txt"), "x\n");
  const log = join(work, "idle.jsonl");
  // No client request at all: the server reads a file and exits.
  const r = await runMcpj(["--ro", data, "--audit-log", log, "--", "node", "-e", `require("fs").readFileSync(${JSON.stringify(target)})`]);
  assert.equal(r.code, 0, r.stderr);
  const open = auditLines(log).find((l) => l.type === "syscall" && l["path"] === target);
  assert.equal(open?.["requests"], "idle");
  assert.equal(open?.["request_id"], undefined);
});

test("two concurrent calls: a call made while another is still in flight is attributed to both", async () => {
  const data = dir("fs-concurrent");
  const target = file(join(data, "plain.txt"), "second\n");
  // The first call reads a FIFO: it cannot be answered before this test opens the FIFO for
  // writing, which it does only once the second call has returned. The client sends the first
  // call before the second, so the second call's open happens while both are in flight, whatever
  // the timing.
  const fifo = join(data, "pipe");
  execFileSync("mkfifo", ["-m", "666", fifo]);
  const log = join(work, "concurrent.jsonl");
  const { client } = await connect(["--ro", modules, "--ro", data, "--audit-log", log], [filesystem, data]);
  try {
    const first = client.callTool({ name: "read_text_file", arguments: { path: fifo } });
    const second = await client.callTool({ name: "read_text_file", arguments: { path: target } });
    assert.match(textOf(second), /second/);
    // A non-blocking open for writing succeeds once the first call's open is waiting for a writer.
    const w = await waitForValue(() => {
      try {
        return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch {
        return undefined;
      }
    }, 20_000, "the first call's FIFO open");
    writeSync(w, "first\n");
    closeSync(w);
    assert.match(textOf(await first), /first/);
  } finally {
    await client.close();
  }
  const lines = auditLines(log);
  const calls = lines.filter((l) => l.type === "tool" && l["name"] === "read_text_file").map((l) => l["request_id"] as number);
  assert.equal(calls.length, 2);
  const open = lines.find((l) => l.type === "syscall" && l["path"] === target);
  assert.ok(open, "the second call's open is audited");
  const set = [...(open["requests"] as Array<{ id: number; tool: string; method: string }>)].sort((a, b) => a.id - b.id);
  assert.deepEqual(
    set,
    [...calls].sort((a, b) => a - b).map((id) => ({ method: "tools/call", id, tool: "read_text_file" })),
  );
  assert.equal(open["request_id"], undefined, "no single request id for a set of two");
});

test("a refusal during a tool call is noted in its result's _meta; the text block only when asked", async () => {
  const secret = file(join(outside, "secret.txt"), "not for the jail\n");
  for (const denialText of [false, true]) {
    const { client } = await connect(["--ro", modules, ...(denialText ? ["--denial-text"] : [])], [join(fixtures, "pin-server.mjs"), work]);
    try {
      const r = (await client.callTool({ name: "peek", arguments: { path: secret } })) as Result;
      assert.match(textOf(r), /cannot read: ENOENT/);
      const refused = r._meta?.["mcp-j/refused"] as Array<Record<string, unknown>>;
      assert.ok(Array.isArray(refused), `no note in ${JSON.stringify(r)}`);
      assert.deepEqual(
        refused.find((x) => x["target"] === secret),
        { action: "read", target: secret, reason: "outside", allow: `--ro ${secret}` },
      );
      const blocks = (r.content ?? []).filter((c) => (c.text ?? "").startsWith("mcp-j: the jail refused"));
      assert.equal(blocks.length, denialText ? 1 : 0);
      if (denialText) assert.match(blocks[0]!.text!, new RegExp(`read ${secret}: refused \\(outside\\); the user can allow it with --ro ${secret}`));
      // A call that the jail refused nothing during has no note.
      const clean = (await client.callTool({ name: "lookup", arguments: { word: "x" } }).catch(() => null)) as Result | null;
      if (clean !== null) assert.equal(clean._meta?.["mcp-j/refused"], undefined);
    } finally {
      await client.close();
    }
  }
});

test("a refusal at the end of a call that made thousands of reports is on its result: the result waits for them", async () => {
  // 3,000 refused reads, then the one the note must name: the supervisor reports each before it
  // answers it, but the reports travel on their own socket and mcp-j reads them as fast as it can;
  // without the wait, the call's result (on the server's pipe) overtook the last ones.
  const noise = file(join(outside, "noise.txt"), "x\n");
  const secret = file(join(outside, "last.txt"), "not for the jail\n");
  const { client } = await connect(["--ro", modules], [join(fixtures, "pin-server.mjs"), work]);
  try {
    const r = (await client.callTool({ name: "peek", arguments: { path: secret, noise, times: 3000 } })) as Result;
    assert.match(textOf(r), /cannot read: ENOENT/);
    const refused = r._meta?.["mcp-j/refused"] as Array<Record<string, unknown>> | undefined;
    assert.deepEqual(
      refused?.map((x) => x["target"]),
      [noise, secret],
      `the note names both refused paths: ${JSON.stringify(r._meta)}`,
    );
  } finally {
    await client.close();
  }
});

test("a refusal while a tools/call creates its task is noted on the task's result, with the task's own", async () => {
  // The call's answer is the task it started, with no content to note: what the jail refused while
  // the server was creating the task goes on the result the client fetches later, before what the
  // task's work was refused.
  const data = dir("task-note");
  file(join(data, "words.txt"), "pear\n");
  jailDir(data, "private");
  file(join(data, "private", "notes.txt"), "private\n");
  const early = file(join(outside, "task-start.txt"), "not for the jail\n");
  const r = await clientSession(["--ro", data, "--deny", "**/private"], ["node", join(fixtures, "redteam11-task-server.mjs"), data, "reads-more", early], (c) => callAsTask(c, "lookup", { word: "pear" }));
  assert.equal(r.value.text, "cannot read: EACCES", "the task's work was refused private/notes.txt (--deny)");
  const refused = r.value.meta?.["mcp-j/refused"] as Array<Record<string, unknown>> | undefined;
  assert.deepEqual(
    refused?.map((x) => [x["action"], x["target"]]),
    [
      ["read", early],
      ["read", join(data, "private", "notes.txt")],
    ],
    `the task's result names both refusals: ${JSON.stringify(r.value.meta)}`,
  );
});

test("the 2026-07-28 era: the noted result keeps its resultType and the v2 client accepts it", async () => {
  const secret = file(join(outside, "secret-v2.txt"), "not for the jail\n");
  const transport = new StdioClientTransportV2({
    command: process.execPath,
    args: [mcpjBin, "--ro", modules, "--denial-text", "--", "node", join(fixtures, "v2-peek-server.mjs")],
    stderr: "pipe",
    cwd: repoRoot,
  });
  const client = new ClientV2({ name: "mcpj-attribution-v2", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(transport);
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    const r = (await client.callTool({ name: "peek", arguments: { path: secret } })) as Result & { resultType?: string };
    assert.match(textOf(r), /cannot read: ENOENT/);
    assert.match(textOf(r), /mcp-j: the jail refused/);
    const refused = r._meta?.["mcp-j/refused"] as Array<Record<string, unknown>>;
    assert.ok(refused.some((x) => x["target"] === secret));
  } finally {
    await client.close();
  }
});
