// The egress proxy's name check (egress/first-bytes.ts) costs work linear in a start's length,
// whatever the sizes of the reads that bring it: a jailed client that sends a 64 KiB start one byte
// at a time must not make mcp-j's event loop (which also runs the JSON-RPC proxy) re-read the whole
// start on every byte. Real sockets on loopback through the real proxy (CONNECT to a name), with
// the work counted (firstBytesWork), not timed. And the reader that makes it so (StartReader)
// answers what classifyFirst answers on the whole start, at every read, however a start is cut.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { classifyFirst, firstBytesWork, MAX_HTTP_HEAD, StartReader } from "../src/egress/first-bytes.js";
import type { EgressEvent, EgressProxy } from "../src/egress/index.js";
import { svcTestProxy } from "./helpers/fronting.js";
import { listenLocal } from "./helpers/http.js";
import { frame, h2Block, paddedH2, paddedHead, paddedHello, PREFACE, sendByteByByte } from "./helpers/starts.js";

describe("the first-bytes name check's work is linear in the start, whatever its reads", () => {
  // The origin takes whatever comes and counts it: a start is through once it has all of it.
  let got = 0;
  let origin: net.Server;
  let port = 0;
  let proxy: EgressProxy;
  const events: EgressEvent[] = [];
  before(async () => {
    origin = net.createServer((s) => {
      s.on("error", () => {});
      s.on("data", (d: Buffer) => (got += d.length));
    });
    port = await listenLocal(origin);
    proxy = await svcTestProxy([port], events);
  });
  after(async () => {
    await proxy.close();
    await new Promise((r) => origin.close(r));
  });

  const starts: Array<[string, Buffer]> = [
    ["an HTTP/1.1 head of 64 KiB", paddedHead("svc.test", MAX_HTTP_HEAD)],
    ["a TLS ClientHello in the largest record TLS allows", paddedHello("svc.test", 5 + 16384 + 2048)],
    ["an h2c start of 64 KiB (WINDOW_UPDATEs before the request)", paddedH2("svc.test", MAX_HTTP_HEAD)],
  ];
  for (const [what, start] of starts) {
    it(`${what}, sent one byte at a time, is examined a bounded number of times over`, async (t) => {
      got = 0;
      const before = { ...firstBytesWork };
      const { status, through } = await sendByteByByte(proxy.port, `svc.test:${port}`, start, () => got >= start.length);
      const reads = firstBytesWork.reads - before.reads;
      const examined = firstBytesWork.examined - before.examined;
      assert.match(status, /^HTTP\/1\.1 200 /);
      assert.equal(through, true, `the origin got ${got} of the start's ${start.length} bytes`);
      assert.equal(got, start.length);
      assert.equal(events.filter((e) => e.type === "net_deny").length, 0);
      // The reads were small (the premise: on loopback each byte written arrives before the
      // proxy's next read; a loaded machine may bring a few at once).
      assert.ok(reads >= start.length / 16, `${reads} reads for ${start.length} bytes`);
      // Linear: re-reading the whole start on every read examines about length²/2 bytes.
      t.diagnostic(`${start.length} bytes in ${reads} reads: ${examined} bytes examined (${(examined / start.length).toFixed(2)} per byte)`);
      assert.ok(examined <= 8 * start.length, `${examined} bytes examined for a start of ${start.length} bytes in ${reads} reads`);
    });
  }
});

// ---- the reader answers what classifyFirst answers ----------------------------------------------

const SETTINGS = frame(4, 0, 0, Buffer.alloc(0));
const UPDATE = frame(8, 0, 0, Buffer.from([0, 0, 0, 1]));

/** How many of an h2c start's first bytes pass before its request is read: the preface and the
 * whole frames before the first that is not SETTINGS, WINDOW_UPDATE, PRIORITY or PING (written
 * here apart from the module, as the proxy passed them before StartReader). */
function passableRef(b: Buffer): number {
  if (b.length < PREFACE.length || !b.subarray(0, PREFACE.length).equals(PREFACE)) return 0;
  let n = PREFACE.length;
  for (let p = n; p + 9 <= b.length; ) {
    const end = p + 9 + b.readUIntBE(p, 3);
    if (end > MAX_HTTP_HEAD || end > b.length || ![4, 8, 2, 6].includes(b[p + 3]!)) break;
    n = p = end;
  }
  return n;
}

/** Feeds `start` to a reader in reads ending at `cuts` (then its end; `ended`: the client
 * half-closes after the last), as awaitFirstSpeaker does, and checks each answer and what may pass
 * against classifyFirst on the whole prefix, until one is not "more". */
function assertReadsAgree(start: Buffer, cuts: number[], ended = false): void {
  const ends = [...new Set([...cuts.filter((c) => c > 0 && c < start.length), start.length])].sort((a, b) => a - b);
  const reader = new StartReader();
  for (const [i, k] of ends.entries()) {
    const prefix = start.subarray(0, k);
    const last = ended && i === ends.length - 1;
    const want = classifyFirst(prefix, last);
    const label = `${JSON.stringify(start.subarray(0, 80).toString("latin1"))} (${start.length} bytes) read up to ${k} of ${JSON.stringify(ends.slice(0, 40))}`;
    assert.deepEqual(reader.read(prefix, last), want, label);
    if (want !== "more") return;
    assert.equal(reader.passable, passableRef(prefix), label);
  }
}

const s = (t: string): Buffer => Buffer.from(t, "latin1");
/** Starts the other tests of the check use (red teams 5 to 7, egress-names), and the edges of each
 * wait: empty lines, the preface, control bytes in and after the first word, bare CRs, TLS records. */
const corpus: Buffer[] = [
  ...[
    "GET / RTSP/1.0", "POST / RTSP/1.0", "SOURCE / ICE/1.0", "GET  / HTTP/1.1", "GET /  HTTP/1.1", "M-SEARCH / HTTP/1.1",
    " GET / HTTP/1.1", "\tGET / HTTP/1.1", "GET\x1c/\x1cHTTP/1.1", "GET\xa0/\xa0HTTP/1.1", "GET /\x01 HTTP/1.1",
    "CONNECT evil.test:443 HTTP/1.1", "get / http/1.1", "foo / HTTP/1.1", "G(ET / HTTP/1.1", "GET\x80 / HTTP/1.1", "GE<T / HTTP/1.1",
  ].flatMap((line) => [s(`${line}\r\nHost: evil.test\r\n\r\n`), s(`${line}\nHost: evil.test\n\n`)]),
  ...[
    "GET / HTTP/1.1\r\nX-A: a\rHost: evil.test\r\n\r\n", "GET / HTTP/1.1\r\nHost: svc.test\r\nhost: evil.test\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: svc.test\r\n evil.test\r\n\r\n", "GET http://evil.test/x HTTP/1.1\r\nHost: svc.test\r\n\r\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", "\n\r\n\rGET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.0\n\r\n",
    "GET / HTTP/1.1\r\nA: b\r\r\n\r\n", "GET / HTTP/1.1\n\rX: y\r\n\r\n", "GET http://evil.test/x\r\n", "GET /x\n", "GET key\r\n",
    "*1\r\n$4\r\nPING\r\n", "ping through the jail\r\n", "ping\x00 through", "  \x0b GET\x01 / HTTP/1.1\r\n\r\n", " \x00", "AMQP\x00\x00\x09\x01",
    "\x10\x0c\x00\x04MQTT", "\x00\x00\x00\x08\x04\xd2\x16\x2f", "SSH-2.0-OpenSSH_9.2\r\n", "PRI * HTTP/1.1\r\nHost: evil.test\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nXX", "PR\x00", "\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\x16\x20GET", "\x15\x20", "\x16", "\x15\x03\x01\x00\x02\x01\x5a",
    "\x16\x03\x01\xff\xff", "\x16\x03\x01\x00\x04\x02\x00\x00\x00", "\x16\x03\x01\x00\x04\x01\x00\x00\x09abc",
    "\r\n \r\n", "\n\t\x0b\n", "\r\n\x1c\x00", "\r\r\n\xa0GET\x85/\x1cHTTP/1.1\n\n", "\nP\n", "\r\nPRI\x00",
  ].map(s),
  paddedHello("svc.test", 600),
  paddedHello("evil.test", 5 + 16384 + 2048),
  Buffer.concat([s("\x15\x03\x01\x00\x02\x01\x5a"), paddedHello("evil.test", 300)]),
  paddedH2("svc.test", 2000),
  Buffer.concat([PREFACE, SETTINGS, frame(1, 0x5, 1, h2Block("evil.test"))]),
  Buffer.concat([PREFACE, SETTINGS, UPDATE, frame(0, 1, 1, s("x"))]),
  Buffer.concat([PREFACE, SETTINGS, frame(1, 0x1, 1, h2Block("evil.test").subarray(0, 4)), frame(9, 0, 1, h2Block("evil.test").subarray(4, 6)), frame(9, 0x4, 1, h2Block("evil.test").subarray(6))]),
  Buffer.concat([PREFACE, frame(1, 0x1, 1, h2Block("evil.test").subarray(0, 4)), SETTINGS, frame(9, 0x4, 1, h2Block("evil.test").subarray(4))]),
  Buffer.concat([s("\r\n"), PREFACE, SETTINGS, UPDATE, frame(1, 0x5, 1, h2Block("svc.test"))]),
];
/** Starts that reach 64 KiB, read in fewer pieces (classifyFirst reads each prefix whole). */
const long: Buffer[] = [
  paddedHead("svc.test", MAX_HTTP_HEAD),
  paddedHead("svc.test", MAX_HTTP_HEAD + 1),
  s(`GET /${"a".repeat(70_000)}`),
  s(`GET${"\x01".repeat(10)} /${"a".repeat(70_000)}`),
  s(`${"\r\n".repeat(33_000)}GET / HTTP/1.1\r\n\r\n`),
  s(`${"\r\n".repeat(20_000)}GET / HTTP/1.1\r\n${"X: y\r\n".repeat(11_000)}\r\n`),
  s(`${"\n".repeat(40_000)}PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${"\0".repeat(40_000)}`),
  paddedH2("svc.test", MAX_HTTP_HEAD),
  paddedH2("svc.test", MAX_HTTP_HEAD + 13),
  Buffer.concat([PREFACE, SETTINGS, ...Array.from({ length: 6000 }, () => UPDATE)]),
  Buffer.concat([PREFACE, SETTINGS, frame(4, 0, 0, Buffer.alloc(65_490))]),
];

describe("StartReader answers what classifyFirst answers on the whole start, however it is cut", () => {
  it("each start of the corpus, a byte at a time, and ended after each prefix", () => {
    for (const start of corpus) {
      assertReadsAgree(start, Array.from({ length: start.length }, (_, i) => i + 1));
      for (let k = 0; k <= Math.min(start.length, 200); k++) assertReadsAgree(start.subarray(0, k), [1, 2, 3, 5, 8, 13, 21, 34, 55, 89], true);
    }
  });

  it("each start of the corpus, in reads of random sizes (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...corpus), fc.array(fc.integer({ min: 1, max: 20_000 }), { maxLength: 30 }), fc.boolean(), (start, cuts, ended) => {
        assertReadsAgree(start, cuts.map((c) => c % (start.length + 1)), ended);
      }),
      { numRuns: 1000 },
    );
  });

  it("starts that reach 64 KiB, cut at random and around each limit (property)", () => {
    const edges = [1, 2, 5, PREFACE.length, MAX_HTTP_HEAD - 9, MAX_HTTP_HEAD - 1, MAX_HTTP_HEAD, MAX_HTTP_HEAD + 1];
    for (const start of long) assertReadsAgree(start, [...edges, ...edges.map((e) => e + start.indexOf("G")), 40_000 + PREFACE.length]);
    fc.assert(
      fc.property(fc.constantFrom(...long), fc.array(fc.integer({ min: 1, max: 140_000 }), { maxLength: 12 }), (start, cuts) => {
        assertReadsAgree(start, cuts);
      }),
      { numRuns: 60 },
    );
  });

  it("starts made of the pieces each wait looks for (property)", () => {
    const piece = fc.oneof(
      fc.constantFrom(
        "GET", "get", "CONNECT", "PRI", " ", "\t", "\x0b", "\x1c", "\x85", "\xa0", "/", "/x", "*", "http://evil.test/", "evil.test:443", "HTTP/1.1", "RTSP/1.0",
        "\r\n", "\n", "\r", "\r\n\r\n", "\n\n", "Host: svc.test", "Host: evil.test", "host : a@b", "X: y", " folded", "\x00", "\x01", "\x16", "\x7f",
        "\x16\x03\x01", "\x15\x03\x01\x00\x02\x01\x5a", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "PRI * HTTP/2.0\r\n",
      ).map(s),
      fc.constantFrom(SETTINGS, UPDATE, frame(6, 0, 0, Buffer.alloc(8)), frame(1, 0x1, 1, h2Block("evil.test").subarray(0, 4)), frame(9, 0x4, 1, h2Block("evil.test").subarray(4)), frame(1, 0x5, 1, h2Block("svc.test")), frame(0, 1, 1, s("x")), frame(9, 0, 1, s(""))),
      fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(fc.constantFrom("", "", "\r\n", "\n\r\n\r"), fc.array(piece, { maxLength: 24 }), fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 20 }), fc.boolean(), (lines, pieces, cuts, ended) => {
        const start = Buffer.concat([s(lines), ...pieces]);
        assertReadsAgree(start, cuts, ended);
        assertReadsAgree(start, Array.from({ length: start.length }, (_, i) => i + 1), ended);
      }),
      { numRuns: 3000 },
    );
  });
});
