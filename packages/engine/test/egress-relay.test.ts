// The tunnel relay (relay.ts, native/addon/relay.c) with dropFromClient, the mode plain HTTP uses
// since its responses go through the native relay (issue 15, throughput): what the proxy says first reaches
// the upstream, nothing the client sends after it does, the client's half-close still does, and the
// upstream's bytes arrive whole. The native relay and Node's pipe() must behave the same. Real
// sockets on loopback.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import net from "node:net";
import { after, before, test } from "node:test";
import { startTunnel, type Tunnel } from "../src/egress/relay.js";
import { listenLocal } from "./helpers/http.js";
import { bound } from "./helpers/time.js";

const RESPONSE = Buffer.alloc(4 << 20);
for (let i = 0; i < RESPONSE.length; i++) RESPONSE[i] = (i * 7 + (i >> 12)) & 0xff;
const JUNK = Buffer.alloc(2 << 20, 0x58);

let upstream: net.Server;
let upPort = 0;
/** What the upstream received on each connection, once the relay half-closed it. */
const received: Promise<Buffer>[] = [];

before(async () => {
  upstream = net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    received.push(
      new Promise((resolve, reject) => {
        s.on("data", (d: Buffer) => parts.push(d));
        s.on("end", () => resolve(Buffer.concat(parts)));
        s.on("error", reject);
      }),
    );
    s.end(RESPONSE);
  });
  upPort = await listenLocal(upstream);
});

after(() => new Promise((r) => upstream.close(r)));

/** A front end that hands each accepted connection and its upstream to startTunnel. */
async function front(native: boolean, dropFromClient = true): Promise<{ server: net.Server; port: number; tunnels: Promise<Tunnel>[] }> {
  const tunnels: Promise<Tunnel>[] = [];
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (a) => {
    tunnels.push(
      new Promise((resolve) => {
        const b = net.connect({ port: upPort, host: "127.0.0.1", allowHalfOpen: true }, () => {
          b.pause();
          resolve(startTunnel(a, b, { idleMs: bound(20_000), native, toUpstream: Buffer.from("REQUEST\n"), dropFromClient }));
        });
      }),
    );
  });
  return { server, port: await listenLocal(server), tunnels };
}

for (const native of [true, false]) {
  test(`dropFromClient (${native ? "native relay" : "Node pipe"}): the first bytes go up, the client's do not, its half-close does; the response arrives whole`, async () => {
    const f = await front(native);
    try {
      const client = net.connect({ port: f.port, host: "127.0.0.1", allowHalfOpen: true });
      const got: Buffer[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        client.on("data", (d: Buffer) => got.push(d));
        client.on("end", resolve);
        client.on("error", reject);
      });
      // Bytes after the request (a pipelined request, junk): more than any socket buffer holds.
      client.write(JUNK);
      client.end();
      await ended;
      client.destroy();
      const t = await f.tunnels[0]!;
      assert.equal(t.native, native, "the relay asked for");
      const end = await t.done;
      const up = await received[received.length - 1]!;
      assert.equal(up.toString("latin1"), "REQUEST\n", "only what the proxy said first reached the upstream");
      const body = Buffer.concat(got);
      assert.equal(body.length, RESPONSE.length);
      assert.equal(createHash("sha256").update(body).digest("hex"), createHash("sha256").update(RESPONSE).digest("hex"));
      assert.deepEqual(end, { up: 8, down: RESPONSE.length });
    } finally {
      await new Promise((r) => f.server.close(r));
    }
  });
}

// TCP urgent data: a byte sent with MSG_OOB stalled the direction when the relay spliced (splice(2)
// stops at the mark), and at the client's half-close ended it with what followed the byte lost
// (red team 5). recv(2) stops at the mark once and reads past it; this keeps it so. Python sends it
// (Node cannot); the urgent byte itself stays out of band, as Node's own sockets leave it.
for (const native of [true, false]) {
  test(`urgent data (MSG_OOB) neither stalls nor cuts a direction (${native ? "native relay" : "Node pipe"}): what follows it arrives`, async () => {
    const f = await front(native, false);
    try {
      const py = `import socket
s = socket.create_connection(("127.0.0.1", ${f.port}))
s.send(b"A"); s.send(b"B", socket.MSG_OOB); s.send(b"CDEF"); s.shutdown(socket.SHUT_WR)
n = 0
while True:
    d = s.recv(1 << 16)
    if not d: break
    n += len(d)
print(n)`;
      const out = await new Promise<string>((resolve, reject) =>
        execFile("/usr/bin/python3", ["-c", py], { timeout: bound(30_000) }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout))),
      );
      assert.equal(out.trim(), String(RESPONSE.length));
      const t = await f.tunnels[0]!;
      assert.equal(t.native, native);
      const end = await t.done;
      const up = await received[received.length - 1]!;
      assert.equal(up.toString("latin1"), "REQUEST\nACDEF");
      assert.deepEqual(end, { up: 8 + 5, down: RESPONSE.length });
    } finally {
      await new Promise((r) => f.server.close(r));
    }
  });
}

// Both directions at once, against a client that takes its bytes in bursts: the relay reads only
// what the destination has room for and keeps what a send did not take (relay.c, `keep`); every
// byte must still arrive once and in order, and be counted.
const UP = Buffer.alloc(32 << 20);
for (let i = 0; i < UP.length; i++) UP[i] = (i * 13 + (i >> 16)) & 0xff;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
for (const native of [true, false]) {
  test(`both directions at once, a client reading in bursts (${native ? "native relay" : "Node pipe"}): every byte arrives once, in order, counted`, async () => {
    const f = await front(native, false);
    try {
      const client = net.connect({ port: f.port, host: "127.0.0.1", allowHalfOpen: true });
      const got: Buffer[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        client.on("data", (d: Buffer) => {
          got.push(d);
          // A burst, then a pause of a few turns of the event loop: the relay's sends to this
          // client find its buffers full and partly so.
          client.pause();
          setImmediate(() => setImmediate(() => client.resume()));
        });
        client.on("end", resolve);
        client.on("error", reject);
      });
      client.write(UP);
      // Its own end, too: the response may be over before the last of UP has left this process.
      const sent = new Promise<void>((resolve) => client.end(resolve));
      await Promise.all([ended, sent]);
      client.destroy();
      const end = await (await f.tunnels[0]!).done;
      const up = await received[received.length - 1]!;
      assert.equal(up.length, 8 + UP.length);
      assert.equal(sha(up), sha(Buffer.concat([Buffer.from("REQUEST\n"), UP])), "the upstream got the request and the client's bytes, in order");
      assert.equal(sha(Buffer.concat(got)), sha(RESPONSE), "the client got the response whole, in order");
      assert.deepEqual(end, { up: 8 + UP.length, down: RESPONSE.length });
    } finally {
      await new Promise((r) => f.server.close(r));
    }
  });
}
