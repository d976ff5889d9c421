// ESCAPES 68 / issue 11: each direction's pending-request table is bounded. A peer that sends far
// more requests than the other side answers gets an error for each one past the bound (never
// buffered), every request gets exactly one answer, and mcp-j's memory stays flat.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PassThrough } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startProxy, DEFAULT_MAX_PENDING, type ProxySession } from "../src/index.js";
import { until } from "./helpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Counts answers per numeric id in a flat array (a Map of counts would itself grow). */
class AnswerCounter {
  readonly counts: Uint8Array;
  total = 0;
  errors = new Map<number, number>();
  requestsSeen = 0;
  private rest = "";
  constructor(stream: PassThrough, size: number) {
    this.counts = new Uint8Array(size);
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const lines = (this.rest + chunk).split("\n");
      this.rest = lines.pop() ?? "";
      for (const line of lines) {
        const m = JSON.parse(line) as { id?: number; method?: string; error?: { code: number } };
        if (m.method !== undefined) {
          this.requestsSeen++;
          continue;
        }
        if (typeof m.id === "number") this.counts[m.id] = (this.counts[m.id] ?? 0) + 1;
        this.total++;
        if (m.error !== undefined) this.errors.set(m.error.code, (this.errors.get(m.error.code) ?? 0) + 1);
      }
    });
  }
}

function rig(maxPending: number, size: number): { session: ProxySession; clientIn: PassThrough; serverOut: PassThrough; toClient: AnswerCounter; toServer: AnswerCounter } {
  const clientIn = new PassThrough();
  const clientOut = new PassThrough({ highWaterMark: 1 << 24 });
  const serverIn = new PassThrough({ highWaterMark: 1 << 24 });
  const serverOut = new PassThrough();
  const session = startProxy({ input: clientIn, output: clientOut }, { input: serverIn, output: serverOut }, { maxPending });
  return { session, clientIn, serverOut, toClient: new AnswerCounter(clientOut, size), toServer: new AnswerCounter(serverIn, size) };
}

function send(stream: PassThrough, from: number, to: number, method: string): void {
  const lines: string[] = [];
  for (let id = from; id < to; id++) lines.push(`{"jsonrpc":"2.0","id":${id},"method":"${method}"}`);
  stream.write(`${lines.join("\n")}\n`);
}

test("the default bound is documented and generous", () => {
  assert.equal(DEFAULT_MAX_PENDING, 10_000);
});

test("server → client: past the bound each request is refused toward the server; memory stays flat", async () => {
  const N = 200_000;
  const CAP = 1000;
  const r = rig(CAP, N);
  gc();
  const before = process.memoryUsage().heapUsed;
  // The client never answers (a client that does not implement sampling, say): the server floods.
  for (let from = 0; from < N; from += 10_000) {
    send(r.serverOut, from, from + 10_000, "sampling/createMessage");
    await until(() => r.toServer.total + r.toClient.requestsSeen >= from + 10_000, "the flood is handled", 1_000_000);
    assert.ok(r.session.pendingCounts().server <= CAP);
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(r.toClient.requestsSeen, CAP, "only the first CAP reach the client");
  assert.equal(r.toServer.errors.get(-31002), N - CAP);
  assert.equal(r.session.pendingCounts().server, CAP);
  // 200,000 remembered requests cost tens of MiB; the bounded table a fraction of that.
  assert.ok(grown < 16 * 2 ** 20, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);

  // The client answers the ones it got: each reaches the server once, and the table empties.
  const answers: string[] = [];
  for (let id = 0; id < CAP; id++) answers.push(`{"jsonrpc":"2.0","id":${id},"result":{"role":"assistant","content":{"type":"text","text":"hi"},"model":"m"}}`);
  r.clientIn.write(`${answers.join("\n")}\n`);
  await until(() => r.toServer.total === N, "every server request answered", 1_000_000);
  assert.ok(r.toServer.counts.every((c) => c === 1), "every request answered exactly once");
  assert.equal(r.session.pendingCounts().server, 0);
});

test("client → server: past the bound each request gets -31002; the rest are answered once when the server dies", async () => {
  const N = 50_000;
  const CAP = 500;
  const r = rig(CAP, N);
  for (let from = 0; from < N; from += 10_000) send(r.clientIn, from, from + 10_000, "tools/list");
  await until(() => r.toClient.total === N - CAP, "refusals", 1_000_000);
  assert.equal(r.toServer.requestsSeen, CAP);
  assert.equal(r.session.pendingCount(), CAP);
  await r.session.serverGone("the server was killed by SIGKILL");
  await until(() => r.toClient.total === N, "every request answered", 1_000_000);
  assert.ok(r.toClient.counts.every((c) => c === 1), "every request answered exactly once");
  assert.deepEqual([...r.toClient.errors.entries()].sort(), [[-31002, N - CAP], [-32603, CAP]]);
});
