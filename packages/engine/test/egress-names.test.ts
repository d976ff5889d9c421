// A connection allowed for a name goes on only if its TLS server_name or HTTP Host names that host
// (egress/first-bytes.ts; issue 15): real ClientHellos from Node's TLS client, crafted ones for what
// a client could send instead, and the proxy end to end over loopback (CONNECT; the jail's
// redirected connect() is in the CLI's network-redirect.jail.test.ts).
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { after, before, test } from "node:test";
import { classifyFirst, h2Hosts, h2Passable, mismatch } from "../src/egress/first-bytes.js";
import { startEgressProxy, type EgressEvent, type EgressOptions, type EgressProxy } from "../src/egress/index.js";
import { waitForValue } from "./helpers/time.js";

/** The first bytes Node's TLS client sends for `servername` (its ClientHello). */
async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const got = new Promise<Buffer>((resolve) => server.once("connection", (s) => s.once("data", (d: Buffer) => (s.destroy(), resolve(d)))));
  const c = tls.connect({ port: (server.address() as net.AddressInfo).port, host: "127.0.0.1", ...(servername !== undefined ? { servername } : {}), rejectUnauthorized: false });
  c.on("error", () => {});
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

/** A TLS record holding a ClientHello whose extensions are `exts` (type, body). */
function craftedHello(exts: [number, Buffer][]): Buffer {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
  const extBytes = Buffer.concat(exts.map(([t, b]) => Buffer.concat([u16(t), u16(b.length), b])));
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(extBytes.length), extBytes]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}
const sniExt = (...names: string[]): [number, Buffer] => {
  const list = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([0, n.length >> 8, n.length & 255]), Buffer.from(n)])));
  return [0, Buffer.concat([Buffer.from([list.length >> 8, list.length & 255]), list])];
};

test("a real ClientHello's server_name is read; its absence is no name; a partial one asks for more", async () => {
  const hello = await clientHello("Svc.Test.");
  assert.deepEqual(classifyFirst(hello), { kind: "tls", sni: "svc.test" });
  assert.equal(classifyFirst(hello.subarray(0, hello.length - 1)), "more");
  assert.equal(mismatch({ kind: "tls", sni: "svc.test" }, "svc.test"), null);
  assert.equal(mismatch({ kind: "tls", sni: "evil.test" }, "svc.test"), "the TLS handshake names evil.test, not svc.test that the connection is allowed for");
  // Node sends no server_name for an IP address.
  assert.deepEqual(classifyFirst(await clientHello(undefined)), { kind: "tls", sni: null });
});

test("ClientHellos that could name another host than the one read are refused", () => {
  assert.deepEqual(classifyFirst(craftedHello([sniExt("svc.test")])), { kind: "tls", sni: "svc.test" });
  assert.deepEqual(classifyFirst(craftedHello([sniExt("svc.test"), sniExt("evil.test")])), { kind: "bad", why: "a ClientHello with two server_name extensions" });
  assert.deepEqual(classifyFirst(craftedHello([sniExt("svc.test", "evil.test")])), { kind: "bad", why: "a server_name with two host names" });
  // The handshake split over two records: what the server reassembles is not what one record shows.
  const whole = craftedHello([[0x15, Buffer.alloc(8)], sniExt("evil.test")]);
  const hs = whole.subarray(5);
  const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 3, 1, b.length >> 8, b.length & 255]), b]);
  assert.deepEqual(classifyFirst(Buffer.concat([rec(hs.subarray(0, 50)), rec(hs.subarray(50))])), { kind: "bad", why: "a ClientHello split across TLS records" });
  assert.deepEqual(classifyFirst(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0])), { kind: "bad", why: "a TLS connection that does not start with a ClientHello" });
});

test("HTTP/1: every Host header and an absolute-form target must name the host; other protocols pass", () => {
  const http = (s: string) => classifyFirst(Buffer.from(s, "latin1"));
  assert.deepEqual(http("GET / HTTP/1.1\r\nHost: SVC.test:8080\r\n\r\n"), { kind: "http", hosts: ["svc.test"] });
  assert.deepEqual(http("GET http://evil.test/x HTTP/1.1\r\nHost: svc.test\r\n\r\n"), { kind: "http", hosts: ["evil.test", "svc.test"] });
  assert.deepEqual(http("GET / HTTP/1.1\r\nHost: svc.test\r\nhost: evil.test\r\n\r\n"), { kind: "bad", why: "an HTTP request with two Host headers" });
  assert.deepEqual(http("GET / HTTP/1.0\r\n\r\n"), { kind: "http", hosts: [] });
  // Empty lines before the request line, which an HTTP server skips, do not hide it.
  assert.deepEqual(http("\r\n\r\nGET / HTTP/1.1\r\nHost: evil.test\r\n\r\n"), { kind: "http", hosts: ["evil.test"] });
  assert.equal(http("\r\n\r\n"), "more");
  assert.equal(http("GET / HTTP/1.1\r\nHost: svc.test\r\n"), "more");
  assert.equal(mismatch({ kind: "http", hosts: ["evil.test", "svc.test"] }, "svc.test"), "the HTTP request names evil.test, not svc.test that the connection is allowed for");
  // Request lines as leniently as any server reads them (red team 5): words split on any
  // whitespace, any method token, any case; a line naming an HTTP version that is not three words,
  // a folded header line and a first line with no end in 64 KiB are refused.
  assert.deepEqual(http("GET\t/ \x0bHTTP/1.1\r\nHost: evil.test\r\n\r\n"), { kind: "http", hosts: ["evil.test"] });
  assert.deepEqual(http(`${"X".repeat(100)} / http/1.1\r\nhost : evil.test\r\n\r\n`), { kind: "http", hosts: ["evil.test"] });
  assert.deepEqual(http("GET / HTTP/1.1 x\r\nHost: evil.test\r\n\r\n"), { kind: "bad", why: "an HTTP request line that is not method, target and version" });
  assert.deepEqual(http("GET / HTTP/1.1\r\nHost: svc.test\r\n evil.test\r\n\r\n"), { kind: "bad", why: "an HTTP request head with a folded line" });
  assert.equal(http(`GET /${"a".repeat(20_000)}`), "more");
  assert.deepEqual(http(`GET /${"a".repeat(70_000)}`), { kind: "bad", why: "a first line longer than 65536 bytes" });
  // Ended by the client's half-close: a start that is no line yet is another protocol's; a line
  // naming an HTTP version without its end cannot be read.
  assert.deepEqual(classifyFirst(Buffer.from("ping through the jail"), true), { kind: "other" });
  assert.deepEqual(classifyFirst(Buffer.from("early-bytes"), true), { kind: "other" });
  assert.deepEqual(classifyFirst(Buffer.from("GET / HTTP/1.1"), true), { kind: "bad", why: "an HTTP request line without its end" });
  // Text is waited on until its first line is whole, whatever its words (red team 7: lenient
  // servers take methods in any case); a control byte says another protocol at once.
  for (const t of ["ping through the jail", "get / HTTP/1", "g", "G(ET /x", "PING through the jail"]) assert.equal(classifyFirst(Buffer.from(t, "latin1")), "more", t);
  assert.deepEqual(classifyFirst(Buffer.from("get / http/1.1\r\nHost: evil.test\r\n\r\n")), { kind: "http", hosts: ["evil.test"] });
  assert.deepEqual(classifyFirst(Buffer.from("ping\x00 through")), { kind: "other" });
  assert.deepEqual(classifyFirst(Buffer.from("ping through the jail\r\n")), { kind: "other" });
  // HTTP/0.9: a method and a path or absolute target, no version.
  assert.deepEqual(classifyFirst(Buffer.from("GET http://evil.test/x\r\n")), { kind: "http", hosts: ["evil.test"] });
  assert.deepEqual(classifyFirst(Buffer.from("GET /x\r\n")), { kind: "http", hosts: [] });
  assert.equal(mismatch({ kind: "http", hosts: [] }, "svc.test"), "the HTTP request names no host (Host), on a connection allowed for svc.test");
  assert.equal(mismatch({ kind: "tls", sni: null }, "svc.test"), "the TLS handshake names no server (server_name), on a connection allowed for svc.test");
  // Redis's inline GET, RESP, PostgreSQL's start-up: not HTTP.
  assert.deepEqual(http("GET key\r\n"), { kind: "other" });
  assert.deepEqual(http("*1\r\n$4\r\nPING\r\n"), { kind: "other" });
  assert.deepEqual(classifyFirst(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])), { kind: "other" });
  assert.equal(http("GE"), "more");
});

// ---- h2c with prior knowledge -------------------------------------------------------------------

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** One HTTP/2 frame. */
const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer =>
  Buffer.concat([Buffer.from([payload.length >> 16, (payload.length >> 8) & 255, payload.length & 255, type, flags]), Buffer.from([stream >>> 24, (stream >> 16) & 255, (stream >> 8) & 255, stream & 255]), payload]);
const SETTINGS = frame(4, 0, 0, Buffer.alloc(0));
/** An HPACK block: GET http / (static table), then each name as a literal :authority (index 1). */
const authorities = (...names: string[]): Buffer =>
  Buffer.concat([Buffer.from([0x82, 0x86, 0x84]), ...names.map((n) => Buffer.concat([Buffer.from([0x01, n.length]), Buffer.from(n, "latin1")]))]);
/** END_STREAM | END_HEADERS on stream 1. */
const request = (block: Buffer): Buffer => frame(1, 0x5, 1, block);

/** The first bytes Node's HTTP/2 client sends for a GET with these headers (prior knowledge). */
async function h2Start(headers: http2.OutgoingHttpHeaders): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const got = new Promise<Buffer>((resolve) =>
    server.once("connection", (s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const w = classifyFirst(buf);
        if (w !== "more") (s.destroy(), resolve(buf));
      });
    }),
  );
  const c = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  c.on("error", () => {});
  c.request({ ":path": "/", ...headers }).on("error", () => {}).end();
  const start = await got;
  c.destroy();
  server.close();
  return start;
}

test("h2c: the first request's :authority and Host (HPACK) must name the host; what comes before it is passable", async () => {
  const real = await h2Start({ ":authority": "SVC.test:8080" });
  const w = classifyFirst(real);
  assert.ok(w !== "more" && w.kind === "h2", JSON.stringify(w));
  assert.deepEqual(await h2Hosts(w.start), { kind: "http", hosts: ["svc.test"] });
  const fronted = classifyFirst(await h2Start({ ":authority": "svc.test", host: "evil.test" }));
  assert.ok(fronted !== "more" && fronted.kind === "h2");
  const names = await h2Hosts(fronted.start);
  assert.deepEqual(names, { kind: "http", hosts: ["svc.test", "evil.test"] });
  assert.equal(mismatch(names, "svc.test"), "the HTTP request names evil.test, not svc.test that the connection is allowed for");
  // Crafted: two :authority fields, a DATA frame before any request, a header block cut by another frame.
  const two = classifyFirst(Buffer.concat([PREFACE, SETTINGS, request(authorities("svc.test", "evil.test"))]));
  assert.ok(two !== "more" && two.kind === "h2");
  assert.deepEqual(await h2Hosts(two.start), { kind: "bad", why: "an HTTP/2 start whose first request could not be read" });
  assert.deepEqual(classifyFirst(Buffer.concat([PREFACE, SETTINGS, frame(0, 1, 1, Buffer.from("x"))])), { kind: "bad", why: "an HTTP/2 start whose first request is not a whole header block" });
  const split = authorities("evil.test");
  assert.deepEqual(classifyFirst(Buffer.concat([PREFACE, frame(1, 0x1, 1, split.subarray(0, 4)), SETTINGS, frame(9, 0x4, 1, split.subarray(4))])), { kind: "bad", why: "an HTTP/2 start whose first request is not a whole header block" });
  // A header block over HEADERS and CONTINUATION is read whole.
  const cont = classifyFirst(Buffer.concat([PREFACE, SETTINGS, frame(1, 0x1, 1, split.subarray(0, 4)), frame(9, 0x4, 1, split.subarray(4))]));
  assert.ok(cont !== "more" && cont.kind === "h2");
  assert.deepEqual(await h2Hosts(cont.start), { kind: "http", hosts: ["evil.test"] });
  // Not whole yet: the preface in part, the frames before the request, the request in part.
  assert.equal(classifyFirst(PREFACE.subarray(0, 10)), "more");
  assert.equal(classifyFirst(Buffer.concat([PREFACE, SETTINGS])), "more");
  assert.equal(classifyFirst(Buffer.concat([PREFACE, SETTINGS, request(authorities("svc.test")).subarray(0, 12)])), "more");
  assert.deepEqual(classifyFirst(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(70_000))])), { kind: "bad", why: "an HTTP/2 start longer than 65536 bytes before its first request" });
  // Passable: the preface and the whole frames before the first HEADERS, nothing of it.
  assert.equal(h2Passable(Buffer.concat([PREFACE, SETTINGS, request(authorities("svc.test"))])), PREFACE.length + SETTINGS.length);
  assert.equal(h2Passable(Buffer.concat([PREFACE, SETTINGS.subarray(0, 5)])), PREFACE.length);
  assert.equal(h2Passable(Buffer.from("GET / HTTP/1.1\r\n")), 0);
});

// ---- the proxy, CONNECT -------------------------------------------------------------------------

let echo: net.Server;
let echoPort = 0;
let greeter: net.Server;
let greeterPort = 0;
const received: Buffer[] = [];
/** An h2c server (prior knowledge): answers every request with the :authority it got. */
let h2: http2.Http2Server;
let h2Port = 0;
const h2Seen: string[] = [];
let lazy: net.Server;
let lazyPort = 0;
before(async () => {
  h2 = http2.createServer((req, res) => {
    h2Seen.push(req.authority);
    res.end(`h2 for ${req.authority}`);
  });
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  h2Port = (h2.address() as net.AddressInfo).port;
  // The same server behind a front that connects to it only once the client has spoken: an h2c
  // server that sends its SETTINGS only after the client's preface.
  lazy = net.createServer((s) => {
    s.on("error", () => s.destroy());
    s.once("data", (first: Buffer) => {
      s.pause();
      const up = net.connect(h2Port, "127.0.0.1", () => {
        up.write(first);
        s.pipe(up).pipe(s);
        s.resume();
      });
      up.on("error", () => s.destroy());
    });
  });
  await new Promise<void>((r) => lazy.listen(0, "127.0.0.1", r));
  lazyPort = (lazy.address() as net.AddressInfo).port;
  echo = net.createServer((s) => {
    s.on("error", () => s.destroy());
    s.on("data", (d: Buffer) => received.push(d));
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as net.AddressInfo).port;
  // A server-first protocol: it greets, then echoes.
  greeter = net.createServer((s) => {
    s.on("error", () => s.destroy());
    s.write("220 hello\r\n");
    s.pipe(s);
  });
  await new Promise<void>((r) => greeter.listen(0, "127.0.0.1", r));
  greeterPort = (greeter.address() as net.AddressInfo).port;
});
after(async () => {
  await new Promise((r) => lazy.close(r));
  await new Promise((r) => h2.close(r));
  await new Promise((r) => echo.close(r));
  await new Promise((r) => greeter.close(r));
});

/** `more`: a test's own servers (name: port), and how the proxy connects upstream. */
async function withProxy(fn: (p: EgressProxy, events: EgressEvent[], logs: string[]) => Promise<void>, more?: { servers: Record<string, number>; connect?: EgressOptions["connect"] }): Promise<void> {
  const events: EgressEvent[] = [];
  const logs: string[] = [];
  const servers = Object.entries(more?.servers ?? {});
  const names = ["svc.test", "greet.test", "h2.test", "lazy.test", ...servers.map(([n]) => n)];
  const p = await startEgressProxy({
    listen: { host: "127.0.0.1", port: 0 },
    // The names resolve to the loopback, which only an explicit entry opens.
    allow: [`svc.test:${echoPort}`, `greet.test:${greeterPort}`, `h2.test:${h2Port}`, `lazy.test:${lazyPort}`, `127.0.0.1:${echoPort}`, `127.0.0.1:${greeterPort}`, `127.0.0.1:${h2Port}`, `127.0.0.1:${lazyPort}`,
      ...servers.flatMap(([n, port]) => [`${n}:${port}`, `127.0.0.1:${port}`])],
    onEvent: (e) => events.push(e),
    log: (l) => logs.push(l),
    resolve: async (name) => {
      if (names.includes(name)) return ["127.0.0.1"];
      throw Object.assign(new Error(`no such test host ${name}`), { code: "ENOTFOUND" });
    },
    ...(more?.connect ? { connect: more.connect } : {}),
  });
  try {
    await fn(p, events, logs);
  } finally {
    await p.close();
  }
}

/** Through a CONNECT tunnel to `authority`: sends `first`, returns what came back before the end. */
function tunnel(port: number, authority: string, first: Buffer | null, wantBytes: number): Promise<{ status: number; back: Buffer; reset: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let status = 0;
    let reset = false;
    const done = () => resolve({ status, back: buf, reset });
    s.on("error", (e: NodeJS.ErrnoException) => {
      reset = e.code === "ECONNRESET";
      done();
    });
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (status === 0) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.toString("latin1"))?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        if (first !== null) s.write(first);
      }
      if (buf.length >= wantBytes && status !== 0) {
        s.destroy();
        done();
      }
    });
    s.on("end", done);
    s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

test("CONNECT to a name: a ClientHello or Host naming it is relayed; one naming another host is reset and audited", async () => {
  await withProxy(async (p, events, logs) => {
    const good = await clientHello("svc.test");
    const ok = await tunnel(p.port, `svc.test:${echoPort}`, good, good.length);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.back, good, "the echo server got the ClientHello and sent it back");

    const before = received.length;
    const evil = await clientHello("evil.test");
    const bad = await tunnel(p.port, `svc.test:${echoPort}`, evil, 1);
    assert.deepEqual([bad.status, bad.reset, bad.back.length], [200, true, 0]);
    const http = await tunnel(p.port, `svc.test:${echoPort}`, Buffer.from("GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n"), 1);
    assert.deepEqual([http.status, http.reset], [200, true]);
    const crlf = await tunnel(p.port, `svc.test:${echoPort}`, Buffer.from("\r\nGET / HTTP/1.1\r\nHost: evil.test\r\n\r\n"), 1);
    assert.deepEqual([crlf.status, crlf.reset], [200, true]);
    assert.equal(received.length, before, "nothing of the refused connections reached the server");
    await waitForValue(() => (events.filter((e) => e.type === "net_deny" && e.reason === "name-mismatch").length === 3 ? true : undefined), 10_000, "three audited refusals");
    const deny = events.find((e) => e.type === "net_deny" && e.reason === "name-mismatch");
    assert.ok(deny !== undefined && deny.type === "net_deny");
    assert.deepEqual([deny.method, deny.host, deny.port, deny.status], ["CONNECT", "svc.test", echoPort, 403]);
    assert.ok(logs.includes("mcp-j: the TLS handshake names evil.test, not svc.test that the connection is allowed for (blocked)"), logs.join("\n"));
    assert.ok(logs.includes("mcp-j: the HTTP request names evil.test, not svc.test that the connection is allowed for (blocked)"), logs.join("\n"));
  });
});

test("CONNECT: a server-first protocol is relayed without a word from the client; an allowed IP literal is not checked", async () => {
  await withProxy(async (p) => {
    const greet = await tunnel(p.port, `greet.test:${greeterPort}`, null, "220 hello\r\n".length);
    assert.equal(greet.status, 200);
    assert.equal(greet.back.toString(), "220 hello\r\n");
    const evil = await clientHello("evil.test");
    const literal = await tunnel(p.port, `127.0.0.1:${echoPort}`, evil, evil.length);
    assert.equal(literal.status, 200);
    assert.deepEqual(literal.back, evil);
  });
});

/** A socket through a CONNECT tunnel to `authority`, once the proxy said 200. */
function connected(port: number, authority: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
    let buf = "";
    const onData = (d: Buffer): void => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      s.off("data", onData).off("error", reject);
      s.pause();
      // What came behind the 200 (an h2c server's SETTINGS) is the next reader's.
      if (end + 4 < buf.length) s.unshift(Buffer.from(buf.slice(end + 4), "latin1"));
      if (!buf.startsWith("HTTP/1.1 200")) reject(new Error(buf));
      else resolve(s);
    };
    s.on("data", onData).on("error", reject);
  });
}

/** One GET over HTTP/2 with prior knowledge on `sock`, with these headers: the body, or the error. */
function h2Get(sock: net.Socket, headers: http2.OutgoingHttpHeaders): Promise<{ body?: string; error?: string }> {
  return new Promise((resolve) => {
    const c = http2.connect(`http://h2.test:${h2Port}`, { createConnection: () => sock });
    c.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    const r = c.request({ ":path": "/", ...headers });
    let body = "";
    r.setEncoding("utf8");
    r.on("data", (d: string) => (body += d));
    r.on("end", () => (c.close(), resolve({ body })));
    r.on("error", (e: NodeJS.ErrnoException) => (c.destroy(), resolve({ error: e.code ?? e.message })));
    r.end();
  });
}

test("CONNECT to a name, h2c: Node's HTTP/2 client naming it gets its answer; naming another host (:authority or Host) is reset and audited", async () => {
  await withProxy(async (p, events, logs) => {
    h2Seen.length = 0;
    const authority = `h2.test:${h2Port}`;
    assert.deepEqual(await h2Get(await connected(p.port, authority), {}), { body: `h2 for ${authority}` });
    const bad = await h2Get(await connected(p.port, authority), { ":authority": "evil.test" });
    assert.equal(bad.error, "ECONNRESET", JSON.stringify(bad));
    const host = await h2Get(await connected(p.port, authority), { host: "evil.test" });
    assert.equal(host.error, "ECONNRESET", JSON.stringify(host));
    assert.deepEqual(h2Seen, [authority], "the refused requests never reached the server");
    await waitForValue(() => (events.filter((e) => e.type === "net_deny" && e.reason === "name-mismatch").length === 2 ? true : undefined), 10_000, "two audited refusals");
    assert.ok(logs.includes(`mcp-j: the HTTP request names evil.test, not h2.test that the connection is allowed for (blocked)`), logs.join("\n"));
  });
});

for (const [name, port] of [["h2.test", () => h2Port], ["lazy.test", () => lazyPort]] as const) {
  test(`CONNECT to a name, h2c: a client that waits for the server's SETTINGS before its first request is answered (${name === "h2.test" ? "the server sends them first" : "the server waits for the preface"})`, async () => {
    await withProxy(async (p) => {
      h2Seen.length = 0;
      const s = await connected(p.port, `${name}:${port()}`);
      let back = Buffer.alloc(0);
      /** Resolves once the server has sent a frame of this type (on any stream). */
      const frameOf = (type: number): Promise<void> =>
        new Promise((resolve, reject) => {
          const look = (): void => {
            for (let q = 0; q + 9 <= back.length; q += 9 + back.readUIntBE(q, 3)) if (back[q + 3] === type) return (s.off("data", look), resolve());
          };
          s.on("data", (d: Buffer) => (back = Buffer.concat([back, d]))).on("data", look).on("error", reject);
          look();
        });
      s.resume();
      s.write(Buffer.concat([PREFACE, SETTINGS]));
      await frameOf(4); // the server's SETTINGS: only now does this client send its request
      s.write(request(authorities(`${name}:${port()}`)));
      await frameOf(1); // the response's HEADERS
      s.destroy();
      assert.deepEqual(h2Seen, [`${name}:${port()}`]);
    });
  });
}

test("CONNECT to a name, h2c: a server's SETTINGS read in two parts (4 bytes, then the rest) is still an h2c server's: a request naming another host is reset and audited", async () => {
  // A raw server that writes its SETTINGS in two writes, the second once the proxy's socket to it
  // has read the first (Node pushed it into the stream the proxy reads).
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const got: Buffer[] = [];
  const accepted = new Promise<net.Socket>((resolve) =>
    server.on("connection", (s) => {
      s.on("error", () => {}).on("data", (d: Buffer) => got.push(d));
      resolve(s);
    }),
  );
  let firstRead = (): void => {};
  const proxyRead = new Promise<void>((r) => (firstRead = r));
  const connect: EgressOptions["connect"] = (t) => {
    const s = net.connect({ host: t.address, port: t.port, family: t.family, allowHalfOpen: true, noDelay: true });
    const push = s.push.bind(s);
    s.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      const more = push(chunk, encoding);
      if (chunk !== null) firstRead();
      return more;
    };
    return s;
  };
  try {
    await withProxy(async (p, events, logs) => {
      // The 200 is out: the proxy is waiting for the first speaker.
      const s = await connected(p.port, `split.test:${port}`);
      const up = await accepted;
      up.write(SETTINGS.subarray(0, 4));
      await proxyRead;
      up.write(SETTINGS.subarray(4));
      // A client that sends its start once the server's SETTINGS is whole, naming another host.
      let back = Buffer.alloc(0);
      let outcome: string | undefined;
      const start = Buffer.concat([PREFACE, SETTINGS, request(authorities("evil.test"))]);
      s.on("error", (e: NodeJS.ErrnoException) => (outcome = e.code ?? e.message));
      s.on("close", () => (outcome ??= "closed"));
      s.on("data", (d: Buffer) => {
        back = Buffer.concat([back, d]);
        if (back.length >= SETTINGS.length && back.length - d.length < SETTINGS.length) s.write(start);
      });
      const relayed = (): boolean => Buffer.concat(got).includes(request(authorities("evil.test")));
      s.resume();
      const end = await waitForValue(() => outcome ?? (relayed() ? "relayed" : undefined), 10_000, "the request refused or relayed");
      assert.equal(end, "ECONNRESET");
      assert.deepEqual(back, SETTINGS, "the server's SETTINGS reached the client");
      assert.ok(!relayed(), "the request never reached the server");
      await waitForValue(() => (events.some((e) => e.type === "net_deny" && e.reason === "name-mismatch") ? true : undefined), 10_000, "the audited refusal");
      assert.ok(logs.includes("mcp-j: the HTTP request names evil.test, not split.test that the connection is allowed for (blocked)"), logs.join("\n"));
    }, { servers: { "split.test": port }, connect });
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test("CONNECT: a server-first start shorter than an HTTP/2 frame header is relayed at once when it cannot begin SETTINGS, and at the server's end when it could", async () => {
  // "+OK\r\n" then waiting for the client (a POP3 greeting); four bytes that begin a SETTINGS frame,
  // then the server's end.
  const starts = { "pop.test": Buffer.from("+OK\r\n"), "four.test": SETTINGS.subarray(0, 4) };
  const servers: net.Server[] = [];
  const ports: Record<string, number> = {};
  for (const [name, start] of Object.entries(starts)) {
    const server = net.createServer((s) => {
      s.on("error", () => {});
      if (name === "four.test") s.end(start);
      else s.write(start);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push(server);
    ports[name] = (server.address() as net.AddressInfo).port;
  }
  try {
    await withProxy(async (p) => {
      for (const [name, start] of Object.entries(starts)) {
        const got = await tunnel(p.port, `${name}:${ports[name]}`, null, start.length);
        assert.deepEqual([got.status, got.back], [200, start], name);
      }
    }, { servers: ports });
  } finally {
    await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  }
});
