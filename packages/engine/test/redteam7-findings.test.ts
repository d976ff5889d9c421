// Red team 7: findings against the egress proxy's first-bytes name check (egress/first-bytes.ts),
// found against the servers a CDN or shared host runs: nginx 1.22, Apache 2.4 (HttpProtocolOptions
// Strict, Debian's default, and Unsafe), HAProxy 2.6 and Go's net/http and crypto/tls (Caddy,
// Traefik), each with name-based virtual hosts for svc.test and evil.test. Each test asserts the
// secure behaviour on the exact bytes those servers routed to evil.test, and FAILS on the code it
// was written against (150475d). CI has none of these servers, so the tests are at the level of
// classifyFirst/mismatch; the report on branch redteam7 gives each end-to-end reproduction.
//
// The proxy classifies what the client has sent after each read (awaitFirstSpeaker): the first
// verdict that is not "more" is final, and an "other" start is relayed unread. `firstVerdict`
// replays that on a start sent in pieces, each piece read on its own.
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { classifyFirst, mismatch, type FirstWord } from "../src/egress/first-bytes.js";
import { assertNamesAnother } from "./helpers/fronting.js";

/** The verdict the proxy reaches on a start whose pieces arrive one read at a time. */
function firstVerdict(pieces: Buffer[]): FirstWord | "more" {
  let seen = Buffer.alloc(0);
  for (const p of pieces) {
    seen = Buffer.concat([seen, p]);
    const w = classifyFirst(seen);
    if (w !== "more") return w;
  }
  return "more";
}

/** The start, sent in these pieces, is refused for a connection allowed for `host` (or still
 * awaited: then the next piece is read with it). */
function assertRefusedInPieces(pieces: string[] | Buffer[], host: string): void {
  const bufs = pieces.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p));
  const w = firstVerdict(bufs);
  const label = JSON.stringify(bufs.map((b) => b.toString("latin1"))).slice(0, 160);
  assert.notEqual(w, "more", `${label}: never decided`);
  assert.notEqual(mismatch(w as FirstWord, host), null, `${label} passes as ${JSON.stringify(w)}`);
}

/** A real ClientHello, as Node's TLS client writes it for `servername` ("" sends no server_name). */
function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let t: tls.TLSSocket | undefined;
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _e, cb) {
        resolve(Buffer.from(chunk));
        cb();
        // Node writes the ClientHello from within tls.connect: the socket is ended after it returns.
        setImmediate(() => t?.destroy());
      },
    });
    t = tls.connect({ socket: wire as unknown as net.Socket, servername, rejectUnauthorized: false });
    t.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "ERR_SSL_CLOSED" && e.code !== "ECONNRESET") reject(e);
    });
  });
}

describe("redteam7: HTTP/0.9 with an absolute-form target (nginx, Apache)", () => {
  // nginx 1.22 and Apache 2.4 (Strict, the default: it allows 0.9) serve `GET http://evil.test/x`
  // with no version as an HTTP/0.9 request and choose the virtual host from the target's authority:
  // nginx answered evil.test's server block, Apache its <VirtualHost> (SERVER_NAME=evil.test). The
  // check takes a line without a version for another protocol and relays it unread.
  it("FINDING 1: a request line without a version whose target names another host is refused", () => {
    assertNamesAnother(["GET http://evil.test/x\r\n", "GET http://evil.test/x\n", "GET HTTP://EVIL.TEST/\r\n", "GET http://evil.test:80/x\r\n"], "svc.test");
  });

  it("FINDING 1: the same line naming the allowed host still passes", () => {
    const w = classifyFirst(Buffer.from("GET http://svc.test/x\r\n", "latin1"));
    assert.notEqual(w, "more");
    assert.equal(mismatch(w as FirstWord, "svc.test"), null);
  });
});

describe("redteam7: a method in lower case, sent before the rest of its line (Apache, HAProxy, Go)", () => {
  // Apache (any token is a method: `get`, `foo`), HAProxy 2.6 and Go's net/http serve a request
  // whose method has lower-case letters, and route it by its Host: each answered evil.test's virtual
  // host for `foo / HTTP/1.1` and `get / HTTP/1.1` with `Host: evil.test` (Apache's CGI saw
  // REQUEST_METHOD=foo, SERVER_NAME=evil.test). The check decides on the first read: a lower-case
  // word that is not (yet) a whole method is "another protocol", so a client that writes "g" or
  // "foo " first, and the rest once that went through, gets the whole request relayed unread.
  const rest = " / HTTP/1.1\r\nHost: evil.test\r\n\r\n";
  const splits: string[][] = [
    ["g", `et${rest}`],
    ["ge", `t${rest}`],
    ["Ge", `t${rest}`],
    ["foo", rest],
    ["foo ", rest.slice(1)],
    ["G", "e", `t${rest}`],
  ];
  for (const pieces of splits) {
    it(`FINDING 2: ${JSON.stringify(pieces[0])} first, then the rest: refused`, () => assertRefusedInPieces(pieces, "svc.test"));
  }

  it("FINDING 2: the same requests sent whole are refused (they are today: the control)", () => {
    assertNamesAnother(splits.map((p) => p.join("")), "svc.test");
  });
});

describe("redteam7: a method with characters outside the token set (Apache HttpProtocolOptions Unsafe)", () => {
  // With `HttpProtocolOptions Unsafe` (documented for legacy clients, used by shared hosts), Apache
  // takes any visible or obs-text run as the method: `G(ET / HTTP/1.1` and `GET\x80 / HTTP/1.1`
  // with Host: evil.test were served by evil.test's virtual host (X-Vhost: evil). The check reads
  // the first word as token characters only; a character after it that is not whitespace makes the
  // start "another protocol", relayed unread, whole or not.
  const heads = ["G(ET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", "GET\x80 / HTTP/1.1\r\nHost: evil.test\r\n\r\n", "GE<T / HTTP/1.1\r\nHost: evil.test\r\n\r\n"];
  it("FINDING 3: such a request, sent whole, is refused", () => assertNamesAnother(heads, "svc.test"));
  it("FINDING 3: such a request, its method sent first, is refused", () => {
    for (const h of heads) assertRefusedInPieces([h.slice(0, 2), h.slice(2)], "svc.test");
  });
});

describe("redteam7: TLS records Go's crypto/tls takes before the ClientHello (Caddy, Traefik)", () => {
  // Go's server (crypto/tls, conn.go readRecordOrCCS) takes a first record of type handshake or
  // alert with any version below 0x1000, and drops warning alerts before the handshake. Against a
  // Go 1.19 net/http TLS server with a handler per host, a ClientHello naming evil.test was served
  // evil.test's handler (SNI evil.test) when (a) its record's version bytes were 00 01, 00 00, 0f
  // 00 or 02 00 instead of 03 0x, and (b) it was preceded by a warning alert record (15 03 01 00 02
  // 01 5a, and 15 03 01 00 02 01 70). The check reads a first byte 0x16 with a second byte that is
  // not 3, and any first byte 0x15, as another protocol: the ClientHello is relayed unread.
  // (OpenSSL servers, nginx, HAProxy and node:tls, refuse both: they are not the premise here.)
  it("FINDING 4: a ClientHello naming evil.test in a record whose version is not 3.x is refused", async () => {
    const hello = await clientHello("evil.test");
    for (const [a, b] of [[0x00, 0x01], [0x00, 0x00], [0x0f, 0x00], [0x02, 0x00]] as const) {
      const v = Buffer.from(hello);
      v[1] = a;
      v[2] = b;
      assertRefusedInPieces([v], "svc.test");
      assertRefusedInPieces([v.subarray(0, 1), v.subarray(1)], "svc.test");
    }
  });

  it("FINDING 4: a ClientHello naming evil.test after a warning alert record is refused", async () => {
    const hello = await clientHello("evil.test");
    for (const alert of ["1503010002015a", "15030100020170", "150301000201641503010002015a"]) {
      const a = Buffer.from(alert, "hex");
      assertRefusedInPieces([Buffer.concat([a, hello])], "svc.test");
      assertRefusedInPieces([a, hello], "svc.test");
    }
  });

  it("FINDING 4: the control: the plain ClientHello is refused, the one naming svc.test passes", async () => {
    const evil = classifyFirst(await clientHello("evil.test"));
    assert.notEqual(mismatch(evil as FirstWord, "svc.test"), null);
    const svc = classifyFirst(await clientHello("svc.test"));
    assert.deepEqual(svc, { kind: "tls", sni: "svc.test" });
    assert.equal(mismatch(svc as FirstWord, "svc.test"), null);
  });
});

describe("redteam7: a first request that names no host reaches the server's default virtual host", () => {
  // nginx (the default_server), Apache (the first <VirtualHost>), HAProxy (the default rule) and
  // Go (the "/" handler) all served their default virtual host for `GET / HTTP/1.0` without Host,
  // and nginx and Apache for HTTP/0.9 `GET /x`; nginx, HAProxy and Go serve their default
  // certificate and host for a ClientHello without server_name. On a shared host the default is
  // another customer's site. The check lets a nameless start through on a connection allowed for a
  // name ("or none"); every client that connects by name sends one (Node, curl, OpenSSL, Python,
  // Go, Chromium send SNI and Host), so refusing it costs nothing real.
  it("FINDING 5: an HTTP/1.0 request without Host, and HTTP/0.9 without a name, are refused", () => {
    assertNamesAnother(["GET / HTTP/1.0\r\n\r\n", "GET /x HTTP/1.0\r\nUser-Agent: x\r\n\r\n", "GET /x\r\n"], "svc.test");
  });

  it("FINDING 5: a ClientHello without server_name is refused on a connection allowed for a name", async () => {
    const w = classifyFirst(await clientHello(""));
    assert.notEqual(w, "more");
    assert.equal((w as FirstWord).kind, "tls");
    assert.notEqual(mismatch(w as FirstWord, "svc.test"), null, `passes as ${JSON.stringify(w)}`);
  });
});
