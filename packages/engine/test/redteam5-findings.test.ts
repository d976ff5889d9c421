// Red team 5: findings against the egress proxy (egress/first-bytes.ts, egress/head.ts). Each test
// asserts the secure behaviour and FAILS on the code it was written against (612519a); see the
// report on branch redteam5 for reproduction, impact and suggested fixes. Real sockets on loopback:
// the real proxy (startEgressProxy) and a node:http origin that serves whatever Host it is asked for
// (a shared host, a CDN) behind a tap that records every byte the proxy sends it.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { classifyFirst } from "../src/egress/first-bytes.js";
import { startEgressProxy, type EgressEvent, type EgressProxy } from "../src/egress/index.js";
import { assertNamesAnother, tunnelFirst } from "./helpers/fronting.js";
import { behindTap, rawExchange } from "./helpers/http.js";
import { waitForValue } from "./helpers/time.js";

/** Requests the origin served, as "METHOD url host". */
const served: string[] = [];
/** Every byte the proxy sent upstream, per connection (latin1). */
const wires: string[] = [];
let origin: http.Server;
let closeOrigin: () => Promise<void>;
let port = 0; // the tap's: what the proxy connects to

before(async () => {
  origin = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      served.push(`${req.method} ${req.url} ${req.headers.host}`);
      res.end(`served ${req.method} ${req.url} for ${req.headers.host}\n`);
    });
  });
  origin.on("clientError", (_e, s) => s.destroy());
  ({ port, close: closeOrigin } = await behindTap(origin, wires));
});

after(() => closeOrigin());

describe("redteam5: the first-bytes name check (CONNECT to a name, redirected connect())", () => {
  let proxy: EgressProxy;
  const events: EgressEvent[] = [];
  before(async () => {
    proxy = await startEgressProxy({
      listen: { host: "127.0.0.1", port: 0 },
      // svc.test resolves to the loopback, which only an explicit entry opens.
      allow: [`svc.test:${port}`, `127.0.0.1:${port}`],
      onEvent: (e) => events.push(e),
      log: () => {},
      resolve: async (name) => {
        if (name === "svc.test") return ["127.0.0.1"];
        throw Object.assign(new Error(`no such test host ${name}`), { code: "ENOTFOUND" });
      },
    });
  });
  after(() => proxy.close());

  // node:http (llhttp) accepts all of these request lines and serves the Host they carry; the check
  // takes them for "not HTTP" (its request-line pattern wants one space each side of the target
  // and a method of letters only) and relays them unread.
  const lenient = [
    "GET  / HTTP/1.1", // two spaces before the target
    "GET /  HTTP/1.1", // two spaces after it
    "M-SEARCH / HTTP/1.1", // a method node:http knows, with a '-'
  ];

  it("FINDING 1: a request line node:http accepts is checked like any other (classifyFirst)", () => {
    assertNamesAnother(lenient.map((line) => `${line}\r\nHost: evil.test\r\n\r\n`), "svc.test");
  });

  it("FINDING 1: end to end, a tunnel allowed for svc.test does not serve evil.test through such a line", async () => {
    served.length = 0;
    for (const line of lenient) {
      const r = await tunnelFirst(proxy.port, `svc.test:${port}`, `${line}\r\nHost: evil.test\r\n\r\n`);
      assert.equal(r.status, 200, line);
      assert.ok(!r.back.includes("served"), `${JSON.stringify(line)}: the origin answered through the tunnel: ${JSON.stringify(r.back)}`);
      assert.equal(r.reset, true, `${JSON.stringify(line)}: the proxy resets a connection that names another host`);
    }
    assert.deepEqual(served, [], "the origin served nothing for evil.test");
    await waitForValue(() => (events.filter((e) => e.type === "net_deny" && e.reason === "name-mismatch").length >= lenient.length ? true : undefined), 10_000, "audited refusals");
  });

  it("FINDING 2: a request line longer than 8 KiB, its end not yet sent, is not waved through as 'other'", () => {
    // node:http takes request lines up to its 16 KiB header limit. A client that writes the start
    // of such a line, waits until the proxy has read it, then sends the rest (with Host: evil.test)
    // gets the whole request relayed unchecked.
    const start = Buffer.from(`GET /${"a".repeat(9000)}`, "latin1");
    const w = classifyFirst(start);
    assert.ok(w === "more" || w.kind === "bad", `the start of a long HTTP request line is classified ${JSON.stringify(w)}`);
  });
});

describe("redteam5: plain-HTTP chunked trailers (issue 11)", () => {
  let proxy: EgressProxy;
  before(async () => {
    proxy = await startEgressProxy({ listen: { host: "127.0.0.1", port: 0 }, allow: [`127.0.0.1:${port}`], log: () => {} });
  });
  after(() => proxy.close());

  // RFC 9112 7.1.2: a trailer section is field lines (name ":" value). BodyEnd takes any line up to
  // the next empty one as a "trailer", so a whole request head, or a bare CR (which some parsers
  // end a line at), goes to the origin as part of the first request's body: bytes of a request the
  // proxy never parsed nor wrote. node:http refuses these (so this origin is not desynchronised);
  // the head parser refuses the same shapes in heads, the body parser should in trailers too.
  const cases: Array<[string, string]> = [
    ["a request line and header as trailer lines", `0\r\nGET /smuggled HTTP/1.1\r\nHost: evil.test\r\n\r\n`],
    ["a bare CR ending the last chunk's line, then a request", `0\r\n\r\r\nGET /smuggled HTTP/1.1\r\nHost: evil.test\r\n\r\n`],
  ];
  for (const [what, chunked] of cases) {
    it(`FINDING 3: ${what}: nothing of it reaches the origin`, async () => {
      wires.length = 0;
      served.length = 0;
      const A = `127.0.0.1:${port}`;
      const wire = `POST http://${A}/t HTTP/1.1\r\nHost: ${A}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`;
      await rawExchange(proxy.port, wire).catch(() => "");
      assert.ok(!wires.join("").includes("smuggled"), `the origin received ${JSON.stringify(wires.join(""))}`);
      assert.ok(!served.some((s) => s.includes("smuggled")));
    });
  }
});
