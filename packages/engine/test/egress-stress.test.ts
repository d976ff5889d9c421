// Egress proxy under load and abuse, over real loopback sockets: 200 concurrent tunnels and
// requests, slowloris clients, a peer that never reads, the connection limit, teardown without fd
// leaks. No test asserts a duration: timeouts are set short and the tests wait for their effects.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { after, before, test } from "node:test";
import { startEgressProxy, type EgressEvent, type EgressOptions, type EgressProxy } from "../src/egress/index.js";
import { waitForValue } from "./helpers/time.js";

let echo: net.Server;
let echoPort = 0;
let origin: http.Server;
let originPort = 0;
/** A server that writes as fast as its peer takes it (respecting backpressure) and counts bytes sent. */
let firehose: net.Server;
let firehosePort = 0;
const firehoseSent: number[] = [];

before(async () => {
  echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", 1024, r));
  echoPort = (echo.address() as net.AddressInfo).port;
  origin = http.createServer((req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(`ok ${req.url}\n`);
  });
  origin.maxConnections = 1000;
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", 1024, r));
  originPort = (origin.address() as net.AddressInfo).port;
  firehose = net.createServer((s) => {
    const idx = firehoseSent.push(0) - 1;
    const chunk = Buffer.alloc(64 * 1024, 120);
    s.on("error", () => s.destroy());
    const pump = () => {
      while (!s.destroyed) {
        firehoseSent[idx] = (firehoseSent[idx] as number) + chunk.length;
        if (!s.write(chunk)) {
          s.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((r) => firehose.listen(0, "127.0.0.1", r));
  firehosePort = (firehose.address() as net.AddressInfo).port;
});

after(async () => {
  origin.closeAllConnections();
  await Promise.all([echo, origin, firehose].map((s) => new Promise((r) => s.close(r))));
});

interface Harness {
  proxy: EgressProxy;
  events: EgressEvent[];
  logs: string[];
}

async function startProxy(o: Partial<EgressOptions> = {}): Promise<Harness> {
  const h: Harness = { proxy: undefined as unknown as EgressProxy, events: [], logs: [] };
  h.proxy = await startEgressProxy({
    listen: { host: "127.0.0.1", port: 0 },
    allow: [`127.0.0.1:${echoPort}`, `127.0.0.1:${originPort}`, `127.0.0.1:${firehosePort}`],
    onEvent: (e) => h.events.push(e),
    log: (l) => h.logs.push(l),
    resolve: async () => {
      throw new Error("no names in this suite");
    },
    ...o,
  });
  return h;
}

/** Waits for cond (the shared, scaled bound: helpers/time.ts). */
function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  return waitForValue(() => (cond() ? true : undefined), ms, what).then(() => undefined);
}

function connectTunnel(port: number, authority: string): Promise<{ socket: net.Socket; status: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let buf: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      s.off("data", onData);
      s.pause();
      const rest = buf.subarray(end + 4);
      if (rest.length > 0) s.unshift(rest);
      resolve({ socket: s, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.toString("latin1"))?.[1] ?? 0) });
    };
    s.on("data", onData);
    s.on("error", reject);
    s.write(`CONNECT ${authority} HTTP/1.1\r\n\r\n`);
  });
}

/** A GET through the proxy (absolute URI) with node:http; resolves with status and body. */
function proxiedGet(proxyPort: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: proxyPort, path: `http://127.0.0.1:${originPort}${path}`, agent: false, headers: { host: `127.0.0.1:${originPort}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => {
      s.end();
      resolve(out);
    });
    s.on("error", reject);
    s.write(request);
  });
}

function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

test("200 concurrent CONNECT tunnels and 200 concurrent plain-HTTP requests", async () => {
  const h = await startProxy({ maxConnections: 512 });
  try {
    const N = 200;
    const tunnels = Array.from({ length: N }, async (_, i) => {
      const t = await connectTunnel(h.proxy.port, `127.0.0.1:${echoPort}`);
      assert.equal(t.status, 200);
      const payload = Buffer.alloc(64 * 1024, i % 251);
      const parts: Buffer[] = [];
      t.socket.on("data", (d: Buffer) => parts.push(d));
      t.socket.resume();
      const done = new Promise<void>((r) => t.socket.on("end", () => r()));
      t.socket.end(payload);
      await done;
      const got = Buffer.concat(parts);
      assert.equal(got.length, payload.length);
      assert.ok(got.equals(payload), `tunnel ${i} echoed its own bytes`);
    });
    const gets = Array.from({ length: N }, async (_, i) => {
      const r = await proxiedGet(h.proxy.port, `/item/${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.body, `ok /item/${i}\n`);
    });
    await Promise.all([...tunnels, ...gets]);
    await waitFor(() => h.events.filter((e) => e.type === "net_close").length === 2 * N, "every net_close");
    await waitFor(() => h.proxy.stats().active === 0, "active back to 0");
    const s = h.proxy.stats();
    assert.equal(s.total, 2 * N);
    assert.equal(s.denied, 0);
    assert.equal(h.events.filter((e) => e.type === "net_allow").length, 2 * N);
    assert.ok(h.events.every((e) => e.type !== "net_close" || e.error === undefined), "all closed cleanly");
  } finally {
    await h.proxy.close();
  }
});

test("slowloris: stalled and trickling heads get 408 at the header timeout; others are served meanwhile", async () => {
  const h = await startProxy({ headerTimeoutMs: 300, maxConnections: 256 });
  try {
    const N = 50;
    const stalled = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        new Promise<{ socket: net.Socket; out: () => string; closed: Promise<void> }>((resolve) => {
          const s = net.connect(h.proxy.port, "127.0.0.1", () => {
            let out = "";
            s.setEncoding("latin1");
            s.on("data", (d: string) => (out += d));
            s.on("error", () => {});
            const closed = new Promise<void>((r) => s.on("close", () => r()));
            s.write("CONNECT 127.0.0.1:");
            if (i % 2 === 0) {
              // Trickle one byte at a time: each byte arrives well within any per-read timeout.
              const iv = setInterval(() => (s.writable ? s.write("1") : clearInterval(iv)), 20);
              s.on("close", () => clearInterval(iv));
            }
            resolve({ socket: s, out: () => out, closed });
          });
        }),
      ),
    );
    // While 50 clients hold connections open, normal traffic flows.
    const r = await proxiedGet(h.proxy.port, "/meanwhile");
    assert.equal(r.status, 200);
    await Promise.all(stalled.map((s) => s.closed));
    for (const s of stalled) assert.match(s.out(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const timeouts = h.events.filter((e) => e.type === "net_error" && e.reason === "header-timeout");
    assert.equal(timeouts.length, N);
    await waitFor(() => h.proxy.stats().active === 0, "active back to 0");
  } finally {
    await h.proxy.close();
  }
});

test("connection limit: the connection past maxConnections gets 503; capacity returns when they leave", async () => {
  const h = await startProxy({ maxConnections: 4, headerTimeoutMs: 60_000 });
  try {
    const holders = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<net.Socket>((r) => {
        const s = net.connect(h.proxy.port, "127.0.0.1", () => r(s));
        s.on("error", () => {});
      })),
    );
    await waitFor(() => h.proxy.stats().active === 4, "4 active");
    const over = await rawExchange(h.proxy.port, `CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`);
    assert.match(over, /^HTTP\/1\.1 503 Service Unavailable\r\n[^]*too many concurrent egress connections \(limit 4\)/);
    assert.ok(h.events.some((e) => e.type === "net_error" && e.status === 503));
    for (const s of holders) s.destroy();
    await waitFor(() => h.proxy.stats().active === 0, "holders gone");
    const ok = await proxiedGet(h.proxy.port, "/after");
    assert.equal(ok.status, 200);
  } finally {
    await h.proxy.close();
  }
});

test("a peer that never reads: its origin is paused (memory bounded), others proceed, idle timeout closes it", async () => {
  const h = await startProxy({ idleTimeoutMs: 1500 });
  try {
    const rssBefore = process.memoryUsage().rss;
    const sentBefore = firehoseSent.length;
    const t = await connectTunnel(h.proxy.port, `127.0.0.1:${firehosePort}`);
    assert.equal(t.status, 200);
    t.socket.pause(); // never read
    t.socket.on("error", () => {});
    const closed = new Promise<void>((r) => t.socket.on("close", () => r()));
    await waitFor(() => firehoseSent.length > sentBefore, "the firehose connection");
    const idx = sentBefore;
    // Wait until the firehose stalls: its count stops moving because every buffer on the way is full.
    let last = -1;
    let stableSince = Date.now();
    await waitFor(() => {
      const v = firehoseSent[idx] as number;
      if (v !== last) {
        last = v;
        stableSince = Date.now();
      }
      return Date.now() - stableSince > 300;
    }, "the firehose to stall");
    const stalledAt = firehoseSent[idx] as number;
    // Kernel socket buffers on two loopback connections plus the proxy's stream buffers; not the stream.
    assert.ok(stalledAt < 64 * 1024 * 1024, `origin stalled after ${stalledAt} bytes`);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    assert.ok(rssGrowth < 64 * 1024 * 1024, `rss grew by ${rssGrowth}`);
    // Meanwhile the proxy serves others.
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => proxiedGet(h.proxy.port, `/other/${i}`)));
    assert.ok(others.every((r) => r.status === 200));
    // The stuck tunnel is closed by the idle timeout (the client sees it once it reads again).
    await waitFor(() => h.events.some((e) => e.type === "net_close" && e.port === firehosePort), "the tunnel's net_close");
    assert.equal(h.proxy.stats().active, 0);
    t.socket.resume();
    await closed;
    const close = h.events.find((e) => e.type === "net_close" && e.port === firehosePort);
    assert.ok(close && close.type === "net_close");
    assert.equal(close.error, "idle timeout");
    assert.ok(close.bytesDown > 0 && close.bytesDown <= stalledAt);
  } finally {
    await h.proxy.close();
  }
});

test("a client that resets while its name is being resolved is dropped at once; nothing is connected", async () => {
  let release: (v: string[]) => void = () => {};
  let connects = 0;
  const h = await startProxy({
    allow: [`slow.test:${echoPort}`, `127.0.0.1:${echoPort}`],
    resolve: () => new Promise<string[]>((r) => (release = r)),
    resolveTimeoutMs: 600_000, // longer than waitFor's deadline: only prompt detection passes
    connect: (t) => {
      connects++;
      return net.connect({ host: t.address, port: t.port, allowHalfOpen: true });
    },
  });
  try {
    const s = net.connect(h.proxy.port, "127.0.0.1");
    s.on("error", () => {});
    s.write(`CONNECT slow.test:${echoPort} HTTP/1.1\r\n\r\n`);
    await waitFor(() => h.proxy.stats().active === 1, "the request to arrive");
    await new Promise((r) => setTimeout(r, 50));
    s.resetAndDestroy();
    await waitFor(() => h.proxy.stats().active === 0, "the connection to be dropped");
    release(["127.0.0.1"]);
    await new Promise((r) => setImmediate(r));
    assert.equal(connects, 0);
    assert.equal(h.events.filter((e) => e.type === "net_allow").length, 0);
  } finally {
    await h.proxy.close();
  }
});

test("early data and a half-close sent before the tunnel is up are relayed in order", async () => {
  let release: (v: string[]) => void = () => {};
  const h = await startProxy({
    allow: [`slow.test:${echoPort}`, `127.0.0.1:${echoPort}`],
    resolve: () => new Promise<string[]>((r) => (release = r)),
  });
  try {
    const s = net.connect(h.proxy.port, "127.0.0.1");
    let out = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => (out += d));
    const ended = new Promise((r) => s.on("end", r));
    s.write(`CONNECT slow.test:${echoPort} HTTP/1.1\r\n\r\nearly-`);
    s.end("bytes");
    await waitFor(() => h.proxy.stats().active === 1, "the request to arrive");
    await new Promise((r) => setTimeout(r, 50));
    release(["127.0.0.1"]);
    await ended;
    assert.equal(out, "HTTP/1.1 200 Connection established\r\n\r\nearly-bytes");
  } finally {
    await h.proxy.close();
  }
});

test("close() tears down live tunnels, and no file descriptor outlives the proxy", async () => {
  // Warm up lazily-opened fds (DNS, crypto, ...) outside the measurement.
  const warm = await startProxy();
  await proxiedGet(warm.proxy.port, "/warm");
  await warm.proxy.close();
  await new Promise((r) => setTimeout(r, 50));
  const fdsBefore = fdCount();

  const h = await startProxy({ headerTimeoutMs: 200 });
  const clients: net.Socket[] = [];
  // Live tunnels (left open), finished tunnels, refusals, bad requests, stalled heads, a stuck reader.
  for (let i = 0; i < 20; i++) {
    const t = await connectTunnel(h.proxy.port, `127.0.0.1:${echoPort}`);
    t.socket.on("error", () => {});
    clients.push(t.socket);
  }
  for (let i = 0; i < 20; i++) assert.equal((await proxiedGet(h.proxy.port, `/x${i}`)).status, 200);
  for (let i = 0; i < 10; i++) assert.match(await rawExchange(h.proxy.port, "CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 403 /);
  for (let i = 0; i < 10; i++) assert.match(await rawExchange(h.proxy.port, "BOGUS\r\n\r\n"), /^HTTP\/1\.1 400 /);
  for (let i = 0; i < 10; i++) {
    const s = net.connect(h.proxy.port, "127.0.0.1");
    s.on("error", () => {});
    s.write("CONNECT 127.0");
    clients.push(s);
  }
  const stuck = await connectTunnel(h.proxy.port, `127.0.0.1:${firehosePort}`);
  stuck.socket.on("error", () => {});
  clients.push(stuck.socket);
  await waitFor(() => h.events.filter((e) => e.type === "net_allow").length === 41, "41 allows");

  const live = h.events.filter((e) => e.type === "net_allow").length - h.events.filter((e) => e.type === "net_close").length;
  assert.ok(live >= 21, `${live} tunnels still open at close()`);
  await h.proxy.close();
  const closes = h.events.filter((e) => e.type === "net_close");
  assert.equal(closes.length, 41, "every allowed connection got its net_close");
  assert.ok(closes.some((e) => e.type === "net_close" && e.error === "proxy closed"));
  assert.equal(h.proxy.stats().active, 0);
  await Promise.all(clients.map((c) => new Promise<void>((r) => (c.destroyed ? r() : (c.on("close", () => r()), c.destroy())))));
  // Origin-side sockets (same process) close as the FIN/RST arrives.
  await waitFor(() => fdCount() <= fdsBefore, `fd count back to ${fdsBefore} (now ${fdCount()})`);
  assert.equal(fdCount(), fdsBefore);
  await assert.doesNotReject(h.proxy.close(), "close() is idempotent");
});
