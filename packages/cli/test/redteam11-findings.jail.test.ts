// RED-TEAM 11 FINDINGS (9acc4e3: a tools/call result waits for the supervisor's reports, the
// supervisor's backpressure, the name check's StartReader). Each "RT11-n" test reproduces one
// defect found by attacking attribution and pinning as a server author would, and asserts the
// SECURE outcome: each fails on 9acc4e3. Real jails, the real CLI, the SDK's client and server.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { auditLines, callAsTask, clientSession, jailDir, jailFile } from "./attribution.helpers.js";
import { repoRoot } from "./helpers.js";

const T = { timeout: 120_000 };
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const taskServer = join(fixtures, "redteam11-task-server.mjs");
const pinServer = join(fixtures, "pin-server.mjs");
const work = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-rt11-")));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

const session = clientSession;

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

  // RT11-2. A supervisor report is one line of at most 4 KiB (report.h: struct line), cut when
  // longer, and its path is written before the fields that follow it (sup_answer.c sup_emit:
  // act, sc, pid, path, addr, port, errno, why, rule, acc, t, mono), percent-encoded: each byte of a
  // non-ASCII name takes three. So a path of about 1,400 bytes of non-ASCII names (PATH_MAX is
  // 4,096) makes a line that is cut inside the path: the audit log names another, shorter path,
  // and loses `acc` (a write open is then taken for a read: touchOfSyscall reads a missing `acc`
  // as "read", so a tool whose pinned footprint reads a directory may write in it unnoticed),
  // `why` and `errno` (a refusal's reason), `t` and `mono` (the event is placed when it arrives,
  // not when it happened: attribution.ts falls back to monotonicNow()). Any jailed program can
  // make such names in a --rw grant or its own /tmp; here the test makes them in a --ro grant.
  it("RT11-2: a touch of a path with long non-ASCII names is audited with its whole path, its access and its time", T, async () => {
    const data = jailDir(work, "long-data");
    jailFile(join(data, "words.txt"), "apple\n");
    let deep = join(data, "deep");
    for (let i = 0; i < 6; i++) deep = join(deep, "\u00e9".repeat(125));
    mkdirSync(deep, { recursive: true, mode: 0o755 });
    const target = jailFile(join(deep, "secret.txt"), "secret\n");
    const log = join(work, "long.jsonl");
    const r = await session(["--ro", data, "--audit-log", log], ["node", pinServer, data, "v1"], async (c) => c.callTool({ name: "peek", arguments: { path: target } }));
    assert.match(JSON.stringify(r.value), /read 7 bytes/);
    const opens = auditLines(log).filter((l) => l.type === "syscall" && typeof l["path"] === "string" && (l["path"] as string).startsWith(join(data, "deep")));
    assert.equal(opens.length, 1, JSON.stringify(opens.map((l) => ({ ...l, path: `${String(l["path"]).length} chars` }))));
    const open = opens[0]!;
    assert.equal(open["path"], target, `the audit log names the path the server opened (${target.length} characters; the log has ${String(open["path"]).length})`);
    assert.equal(open["access"], "read", "the audit log says how it was opened");
  });
});
