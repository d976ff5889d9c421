// Fuzz loop: >= 100,000 random and mutated frames through a whole session, against a fake server
// that answers, errs, hangs, floods and misbehaves. Asserts no crash, no hang (the test finishes),
// bounded memory, and that every request the client sent is answered exactly once.
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { test } from "node:test";
import { PassThrough } from "node:stream";
import { idKey, isValidId, LineFramer, scanTopLevel, startProxy, validateMessage, type JsonRpcId } from "../src/index.js";

const FRAMES = Number(process.env["PROXY_FUZZ_FRAMES"] ?? 100_000);
const SEED = Number(process.env["PROXY_FUZZ_SEED"] ?? Date.now() % 2 ** 31);
const MAX = 4096;

/** mulberry32: small, fast, seedable, so a failure can be replayed with PROXY_FUZZ_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  private next = 1_000_000_000;
  readonly recentIds: JsonRpcId[] = [];
  constructor(readonly rand: () => number) {}
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  id(): JsonRpcId {
    const n = this.next++;
    const id = this.rand() < 0.5 ? n : `r-${n}`;
    this.recentIds.push(id);
    if (this.recentIds.length > 64) this.recentIds.shift();
    return id;
  }
  json(depth = 0): unknown {
    const r = this.int(depth > 2 ? 5 : 8);
    switch (r) {
      case 0: return null;
      case 1: return this.rand() < 0.5;
      case 2: return this.int(2000) - 1000;
      case 3: return this.rand() * 10;
      case 4: return this.pick(["", "a", "é", "🌍", "\u2028", '"\\', "x".repeat(this.int(50))]);
      case 5: return Array.from({ length: this.int(4) }, () => this.json(depth + 1));
      default: return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(["a", "id", "name", "method", "k"]), this.json(depth + 1)]));
    }
  }
  message(): unknown {
    const r = this.int(100);
    if (r < 35) return { jsonrpc: "2.0", id: this.id(), method: this.pick(["ping", "tools/list", "resources/read", "prompts/get"]), params: { x: this.json() } };
    if (r < 60) {
      const params: Record<string, unknown> = { name: this.pick(["echo", "get-sum", "denied-one", "denied-two"]) };
      const a = this.int(10);
      if (a < 7) params["arguments"] = { message: "hi" };
      else if (a === 7) params["arguments"] = this.json();
      else if (a === 8) delete params["name"];
      return { jsonrpc: "2.0", id: this.id(), method: "tools/call", params };
    }
    if (r < 66) return { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
    if (r < 70) return { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: this.pick(this.recentIds.length > 0 ? this.recentIds : [0]) } };
    if (r < 74) return { jsonrpc: "2.0", id: this.id(), result: this.json() };
    if (r < 78) return Array.from({ length: this.int(4) }, () => this.message());
    if (r < 82) return this.json();
    if (r < 86) return { jsonrpc: this.pick(["2.0", "1.0", 2, null]), id: this.pick([this.id(), null, true, 1.5, {}]), method: this.pick(["ping", 3, null]) };
    if (r < 90) {
      const pad = "p".repeat(MAX + this.int(MAX));
      return this.rand() < 0.5
        ? { jsonrpc: "2.0", id: this.id(), method: "tools/call", params: { name: "echo", arguments: { message: pad } } }
        : { params: { pad }, method: "ping", jsonrpc: "2.0", id: this.id() };
    }
    return { jsonrpc: "2.0", id: this.id(), method: "ping" };
  }
  frame(): Buffer {
    let bytes: Buffer = this.int(50) === 0
      ? Buffer.from(Array.from({ length: this.int(100) }, () => this.int(256)))
      : Buffer.from(JSON.stringify(this.message()) ?? "null", "utf8");
    if (this.rand() < 0.3) bytes = this.mutate(bytes);
    // One frame is one line: a newline inside would make two frames.
    return Buffer.from(bytes.filter((b) => b !== 0x0a));
  }
  mutate(input: Buffer): Buffer {
    let b: Buffer = input;
    for (let n = 1 + this.int(3); n > 0; n--) {
      const at = this.int(b.length + 1);
      const len = this.int(8);
      switch (this.int(6)) {
        case 0: if (b.length > 0) { b = Buffer.from(b); b[Math.min(at, b.length - 1)] = this.int(256); } break;
        case 1: b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]); break;
        case 2: b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: len }, () => this.int(256)))]); b = Buffer.concat([b, input.subarray(at)]); break;
        case 3: b = b.subarray(0, at); break;
        case 4: b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]); break;
        default: b = Buffer.concat([b.subarray(0, at), Buffer.from(this.pick(['"', "{", "}", "[", "]", ",", ":", "\\", "\r", '"id":7,'])), b.subarray(at)]);
      }
    }
    return b;
  }
}

/** Which ids the proxy must answer for one line, read independently of the proxy's code paths
 * (JSON.parse; for oversized lines the scanner, itself property-tested against JSON.parse). */
function expectedAnswers(line: Buffer): Array<JsonRpcId | null> {
  let bytes = line;
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, -1);
  if (bytes.length === 0) return [];
  if (line.length > MAX) {
    const s = scanTopLevel(bytes);
    if (!s.isObject) return [null];
    if (s.hasMethod && !s.hasId) return [];
    if (!s.hasMethod && (s.hasResult || s.hasError)) return [];
    return [s.id];
  }
  let value: unknown;
  try {
    if (!isUtf8(bytes)) return [null];
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return [null];
  }
  // A batch (MCP has none since 2025-06-18) gets one error, whatever it holds.
  if (Array.isArray(value)) return [null];
  return element(value);
}

function element(value: unknown): Array<JsonRpcId | null> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [null];
  const hasMethod = "method" in value;
  const hasId = "id" in value;
  if (hasMethod && !hasId) return [];
  if (!hasMethod && ("result" in value || "error" in value)) return [];
  const id = (value as { id?: unknown }).id;
  return [isValidId(id) ? id : null];
}

/** The request ids a line cancels, read loosely: a cancelled id is only checked for "at most once". */
function cancellations(line: Buffer): JsonRpcId[] {
  if (line.length > MAX) return [];
  let value: unknown;
  try {
    value = JSON.parse(line.toString("utf8"));
  } catch {
    return [];
  }
  return (Array.isArray(value) ? value : [value]).flatMap((m: unknown) => {
    const params = typeof m === "object" && m !== null ? (m as { params?: { requestId?: unknown } }).params : undefined;
    const id = typeof params === "object" && params !== null ? params.requestId : undefined;
    return isValidId(id) ? [id] : [];
  });
}

/** A fake server with a repertoire of misbehaviours. */
function fakeServer(serverIn: PassThrough, serverOut: PassThrough, rand: () => number): { received: number } {
  const stats = { received: 0 };
  let serverRequests = 0;
  const out = (s: string) => serverOut.write(`${s}\n`);
  const framer = new LineFramer(1 << 20, (frame) => {
    if (frame.kind !== "line") return;
    stats.received++;
    const v = validateMessage(JSON.parse(frame.text));
    if (!v.ok || v.message.kind !== "request") return;
    const id = JSON.stringify(v.message.id);
    const r = rand() * 100;
    if (r < 2) return; // hangs: only serverGone will answer it
    if (r < 4) out(`{"jsonrpc":"2.0","id":${id},"result":{"pad":"${"z".repeat(MAX)}"}}`); // too large
    else if (r < 6) out("debug: handling a request"); // stray stdout
    else if (r < 8) out(`{"jsonrpc":"2.0","id":"never-${serverRequests}","result":{}}`); // unknown id
    else if (r < 10) out(`{"jsonrpc":"2.0","id":"s${serverRequests++}","method":"roots/list"}`); // asks the client
    else if (r < 12) out(`{"jsonrpc":"2.0","id":${id},"result":{},"error":{"code":1,"message":"both"}}`); // invalid
    if (r >= 2 && r < 4) return;
    if (r >= 10 && r < 12) return;
    out(r < 20 ? `{"jsonrpc":"2.0","id":${id},"error":{"code":-32000,"message":"nope"}}` : `{"jsonrpc":"2.0","id":${id},"result":{"content":[],"isError":${r < 25}}}`);
    if (r > 97) out(`{"jsonrpc":"2.0","id":${id},"result":{}}`); // answers twice
  });
  serverIn.on("data", (chunk: Buffer) => framer.push(chunk));
  serverIn.on("end", () => {
    framer.end();
    serverOut.end();
  });
  return stats;
}

test(`fuzz: ${FRAMES} random and mutated frames through a session (seed ${SEED})`, { timeout: 600_000 }, async () => {
  const gen = new Gen(prng(SEED));
  const clientIn = new PassThrough();
  const clientOut = new PassThrough();
  const serverIn = new PassThrough();
  const serverOut = new PassThrough();
  fakeServer(serverIn, serverOut, prng(SEED + 1));
  const session = startProxy(
    { input: clientIn, output: clientOut },
    { input: serverIn, output: serverOut },
    { maxMessageBytes: MAX, tools: { allow: [], deny: ["denied-*"] }, log: () => {}, onEvent: () => {} },
  );

  const answers = new Map<string, number>();
  let nullAnswers = 0;
  let rest = "";
  clientOut.setEncoding("utf8");
  clientOut.on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const m = JSON.parse(line) as { id?: unknown; method?: string };
      if (m.method !== undefined) continue; // the server's own requests and notifications
      if (m.id === null) nullAnswers++;
      else if (isValidId(m.id)) answers.set(idKey(m.id), (answers.get(idKey(m.id)) ?? 0) + 1);
      else assert.fail(`answer with an invalid id: ${line}`);
    }
  });

  const expected = new Map<string, number>();
  const sample = new Map<string, string>(); // the line behind each id, to make a failure readable
  const cancelled = new Set<string>();
  let expectedNulls = 0;
  const baseline = process.memoryUsage().heapUsed;
  let peakHeap = 0;
  let pendingBytes: Buffer[] = [];
  let pendingLength = 0;
  const flush = async () => {
    const data = Buffer.concat(pendingBytes, pendingLength);
    pendingBytes = [];
    pendingLength = 0;
    // Random chunk boundaries, so lines and UTF-8 sequences are cut anywhere.
    for (let at = 0; at < data.length; ) {
      const size = 1 + gen.int(9000);
      if (!clientIn.write(data.subarray(at, at + size))) await new Promise((resolve) => clientIn.once("drain", resolve));
      at += size;
    }
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };

  for (let i = 0; i < FRAMES; i++) {
    const frame = gen.frame();
    const crlf = gen.rand() < 0.1;
    // The oracle reads the line as it is on the wire: a "\r" of a "\r\n" ending counts toward the
    // limit (the framer cannot know, mid-line, that a newline will follow it).
    for (const id of expectedAnswers(crlf ? Buffer.concat([frame, Buffer.from("\r")]) : frame)) {
      if (id === null) expectedNulls++;
      else {
        expected.set(idKey(id), (expected.get(idKey(id)) ?? 0) + 1);
        sample.set(idKey(id), frame.toString("utf8").slice(0, 300));
      }
    }
    for (const id of cancellations(frame)) cancelled.add(idKey(id));
    const ending = Buffer.from(crlf ? "\r\n" : "\n");
    pendingBytes.push(frame, ending);
    pendingLength += frame.length + ending.length;
    if (pendingLength > 64 * 1024) await flush();
  }
  await flush();
  clientIn.end();
  await session.clientInputEnded;
  await session.serverOutputEnded;
  await session.serverGone("end of fuzz run");
  assert.equal(session.pendingCount(), 0);
  await new Promise((resolve) => setImmediate(resolve));

  // Every request answered exactly once; ids that several lines used (mutations can collide them)
  // or that were cancelled are answered at most as often as they were sent.
  let checked = 0;
  for (const [key, count] of expected) {
    const got = answers.get(key) ?? 0;
    if (count === 1 && !cancelled.has(key)) {
      assert.equal(got, 1, `request ${key} answered ${got} times (seed ${SEED}): ${sample.get(key) ?? ""}`);
      checked++;
    } else {
      assert.ok(got <= count, `id ${key} sent ${count} times, answered ${got} times (seed ${SEED})`);
    }
  }
  for (const key of answers.keys()) assert.ok(expected.has(key), `answer to an id never sent: ${key} (seed ${SEED})`);
  assert.equal(nullAnswers, expectedNulls, `null-id answers (seed ${SEED})`);
  assert.ok(checked > FRAMES / 3, `only ${checked} requests checked`);
  const growthMiB = (peakHeap - baseline) / 2 ** 20;
  assert.ok(growthMiB < 256, `heap grew by ${growthMiB.toFixed(0)} MiB`);
});

test("fuzz: the framer never holds more than the limit, and validation never throws, on 100,000 frames", () => {
  const gen = new Gen(prng(SEED + 2));
  let frames = 0;
  const framer = new LineFramer(MAX, (f) => {
    frames++;
    if (f.kind === "line") {
      try {
        validateMessage(JSON.parse(f.text));
      } catch (e) {
        assert.ok(e instanceof SyntaxError, String(e));
      }
    }
  });
  let sent = 0;
  for (let i = 0; i < FRAMES; i++) {
    const frame = gen.frame();
    if (frame.length > 0) sent++;
    const data = Buffer.concat([frame, Buffer.from("\n")]);
    for (let at = 0; at < data.length; ) {
      const size = 1 + gen.int(3000);
      framer.push(data.subarray(at, at + size));
      assert.ok(framer.bufferedBytes <= MAX);
      at += size;
    }
  }
  framer.end();
  assert.ok(frames <= sent && frames >= sent * 0.9, `${frames} frames from ${sent} non-empty lines`);
});
