import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LineFramer, type Frame } from "../src/index.js";

function frames(max: number, chunks: Buffer[], check?: (framer: LineFramer) => void): Frame[] {
  const out: Frame[] = [];
  const framer = new LineFramer(max, (f) => out.push(f));
  for (const chunk of chunks) {
    framer.push(chunk);
    check?.(framer);
  }
  framer.end();
  return out;
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, within range). */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(start, p));
    start = p;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

const texts = (fs: Frame[]): string[] => fs.map((f) => (f.kind === "line" ? f.text : f.kind));

test("splits on newlines, tolerates \\r\\n, skips blank lines", () => {
  const out = frames(100, [Buffer.from('{"a":1}\r\n\n\r\n{"b":2}\n{"c"'), Buffer.from(":3}\n")]);
  assert.deepEqual(texts(out), ['{"a":1}', '{"b":2}', '{"c":3}']);
  assert.deepEqual(out.map((f) => f.bytes), [8, 7, 7]);
});

test("a UTF-8 character cut by a chunk boundary is decoded whole", () => {
  const bytes = Buffer.from('"héllo 🌍"\n', "utf8");
  for (let i = 0; i <= bytes.length; i++) {
    const out = frames(100, [bytes.subarray(0, i), bytes.subarray(i)]);
    assert.deepEqual(texts(out), ['"héllo 🌍"'], `cut at ${i}`);
  }
});

test("an invalid UTF-8 line is reported as undecodable and the next line still decodes", () => {
  const out = frames(100, [Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from("{}\n")]);
  assert.deepEqual(texts(out), ["undecodable", "{}"]);
  // An overlong encoding and a lone surrogate are invalid too (strict decoding, no U+FFFD).
  assert.deepEqual(texts(frames(100, [Buffer.from([0xc0, 0xaf, 0x0a])])), ["undecodable"]);
  assert.deepEqual(texts(frames(100, [Buffer.from([0xed, 0xa0, 0x80, 0x0a])])), ["undecodable"]);
});

test("a line of exactly the limit passes; one byte more is oversized", () => {
  const atLimit = Buffer.from(`"${"x".repeat(8)}"\n`); // 10 bytes before the newline
  assert.deepEqual(texts(frames(10, [atLimit])), ['"xxxxxxxx"']);
  assert.deepEqual(texts(frames(9, [atLimit])), ["oversized"]);
});

test("an oversized line is discarded without being buffered, and the stream goes on", () => {
  const max = 64;
  const big = Buffer.from(`{"jsonrpc":"2.0","id":7,"method":"x","params":{"p":"${"y".repeat(10_000)}"}}\n{"ok":1}\n`);
  const chunks = cut(big, Array.from({ length: 200 }, (_, i) => i * 53));
  let maxHeld = 0;
  const out = frames(max, chunks, (f) => (maxHeld = Math.max(maxHeld, f.bufferedBytes)));
  assert.ok(maxHeld <= max, `held ${maxHeld} bytes`);
  assert.equal(out.length, 2);
  const [first, second] = out;
  assert.equal(first?.kind, "oversized");
  if (first?.kind === "oversized") {
    assert.equal(first.bytes, big.indexOf(0x0a));
    assert.equal(first.scan.id, 7);
    assert.equal(first.scan.hasMethod, true);
  }
  assert.deepEqual(second?.kind === "line" ? second.text : null, '{"ok":1}');
});

test("the id of an oversized response is recovered even when it comes last", () => {
  const line = Buffer.from(`{"result":{"content":[{"type":"text","text":"${"z".repeat(5000)}","id":99}]},"jsonrpc":"2.0","id":"req-3"}\n`);
  const out = frames(100, cut(line, [1000, 2000, 4000]));
  assert.equal(out[0]?.kind, "oversized");
  if (out[0]?.kind === "oversized") {
    assert.equal(out[0].scan.id, "req-3");
    assert.equal(out[0].scan.hasResult, true);
    assert.equal(out[0].scan.hasMethod, false);
  }
});

test("end of stream completes a last line without a newline, or reports the oversized one", () => {
  assert.deepEqual(texts(frames(100, [Buffer.from('{"a":1}\n{"b"'), Buffer.from(":2}")])), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(texts(frames(4, [Buffer.from("123456")])), ["oversized"]);
});

// A stream of arbitrary lines: valid JSON, arbitrary Unicode, raw bytes (often invalid UTF-8) and
// long lines, joined with "\n" or "\r\n".
const lineArb = fc.oneof(
  fc.json().map((s) => Buffer.from(s, "utf8")),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => Buffer.from(s, "utf8")),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  fc.string({ unit: "binary", minLength: 60, maxLength: 300 }).map((s) => Buffer.from(s, "utf8")),
);
const streamArb = fc
  .array(fc.tuple(lineArb.map((b) => Buffer.from(b.filter((x) => x !== 0x0a))), fc.boolean()), { maxLength: 30 })
  .map((lines) => Buffer.concat(lines.flatMap(([line, crlf]) => [line, Buffer.from(crlf ? "\r\n" : "\n")])));

test("property: any chunking of any byte stream gives the same frames, and never holds more than the limit", () => {
  fc.assert(
    fc.property(streamArb, fc.array(fc.nat(), { maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (stream, offsets, max) => {
      const whole = frames(max, [stream]);
      let maxHeld = 0;
      const chunked = frames(max, cut(stream, offsets), (f) => (maxHeld = Math.max(maxHeld, f.bufferedBytes)));
      assert.deepEqual(chunked, whole);
      assert.ok(maxHeld <= max);
    }),
    { numRuns: 500 },
  );
});

test("property: one byte at a time gives the same frames as the whole stream", () => {
  fc.assert(
    fc.property(streamArb, (stream) => {
      const bytewise = [...stream].map((b) => Buffer.from([b]));
      assert.deepEqual(frames(128, bytewise), frames(128, [stream]));
    }),
    { numRuns: 200 },
  );
});

test("property: valid UTF-8 lines decode to exactly what was encoded, however cut", () => {
  const noNewline = fc.string({ unit: "binary", minLength: 1, maxLength: 50 }).filter((s) => !s.includes("\n") && s.replace(/\r$/, "") !== "" && !s.endsWith("\r"));
  fc.assert(
    fc.property(fc.array(noNewline, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), (lines, offsets) => {
      const stream = Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8");
      assert.deepEqual(texts(frames(1000, cut(stream, offsets))), lines);
    }),
    { numRuns: 500 },
  );
});
