// The egress proxy end to end over real sockets on the host's loopback: curl, Python urllib and
// http.client, raw CONNECT, refusals. Nothing here sends a packet outside 127.0.0.0/8: refused
// destinations are checked to be refused before any connect (the connect hook records every
// upstream connect attempt; the resolver hook every look-up).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { after, before, test } from "node:test";
import { bound, waitForValue } from "./helpers/time.js";
import {
  startEgressProxy,
  type EgressEvent,
  type EgressOptions,
  type EgressProxy,
  type NetDenyEvent,
} from "../src/egress/index.js";
import { rawExchange } from "./helpers/http.js";

// ---- fixtures -------------------------------------------------------------------------------

let origin: http.Server;
let originPort = 0;
let originConnections = 0;
let echo: net.Server;
let echoPort = 0;
let echoConnections = 0;

before(async () => {
  origin = http.createServer((req, res) => {
    if (req.url === "/hello") {
      res.setHeader("content-type", "text/plain");
      res.end("hello from origin\n");
    } else if (req.url === "/headers") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ url: req.url, method: req.method, headers: req.headers }));
    } else if (req.url === "/echo") {
      const parts: Buffer[] = [];
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("end", () => res.end(Buffer.concat(parts)));
    } else {
      res.statusCode = 404;
      res.end("nope\n");
    }
  });
  origin.on("connection", () => originConnections++);
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  originPort = (origin.address() as net.AddressInfo).port;
  echo = net.createServer({ allowHalfOpen: true }, (s) => {
    echoConnections++;
    s.on("error", () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as net.AddressInfo).port;
});

after(async () => {
  origin.closeAllConnections();
  await new Promise((r) => origin.close(r));
  await new Promise((r) => echo.close(r));
});

interface Harness {
  proxy: EgressProxy;
  events: EgressEvent[];
  logs: string[];
  connects: Array<{ address: string; port: number }>;
  resolves: string[];
}

async function startProxy(extra: Partial<EgressOptions> & { allow: string[]; hosts?: Record<string, string[]> }): Promise<Harness> {
  const h: Harness = { proxy: undefined as unknown as EgressProxy, events: [], logs: [], connects: [], resolves: [] };
  const { hosts = {}, ...rest } = extra;
  h.proxy = await startEgressProxy({
    listen: { host: "127.0.0.1", port: 0 },
    onEvent: (e) => h.events.push(e),
    log: (l) => h.logs.push(l),
    resolve: async (name) => {
      h.resolves.push(name);
      const a = hosts[name];
      if (!a) throw Object.assign(new Error(`no such test host ${name}`), { code: "ENOTFOUND" });
      return a;
    },
    connect: (t) => {
      h.connects.push({ address: t.address, port: t.port });
      // Belt and braces: this suite must never connect anywhere but the loopback.
      assert.ok(t.address === "::1" || t.address.startsWith("127."), `test tried to connect to ${t.address}`);
      return net.connect({ host: t.address, port: t.port, allowHalfOpen: true });
    },
    ...rest,
  });
  return h;
}

/** Environment for child processes with no proxy settings inherited from the test runner. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_proxy$/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: bound(20_000) }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Opens a CONNECT tunnel; resolves with the socket (past the 200) or the refusal text. */
function connectTunnel(port: number, authority: string): Promise<{ socket: net.Socket; status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let buf: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      s.off("data", onData);
      const rest = buf.subarray(end + 4);
      if (status === 200) {
        if (rest.length > 0) s.unshift(rest);
        resolve({ socket: s, status, head, body: "" });
      } else {
        const parts = [rest];
        s.on("data", (x: Buffer) => parts.push(x));
        s.on("end", () => {
          s.end();
          resolve({ socket: s, status, head, body: Buffer.concat(parts).toString("utf8") });
        });
      }
    };
    s.on("data", onData);
    s.on("error", reject);
    s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

/** Waits for cond (the shared, scaled bound: helpers/time.ts). */
function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  return waitForValue(() => (cond() ? true : undefined), ms, what).then(() => undefined);
}

// ---- allowed traffic ------------------------------------------------------------------------

test("curl: plain HTTP forwarding and a CONNECT tunnel to an explicitly allowed 127.0.0.1:PORT", async () => {
  const h = await startProxy({ allow: [`127.0.0.1:${originPort}`] });
  try {
    const proxyUrl = `http://127.0.0.1:${h.proxy.port}`;
    const plain = await run("curl", ["-sS", "--max-time", "10", "-x", proxyUrl, `http://127.0.0.1:${originPort}/hello`]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, "hello from origin\n");
    const tunnel = await run("curl", ["-sS", "--max-time", "10", "-p", "-x", proxyUrl, `http://127.0.0.1:${originPort}/hello`]);
    assert.equal(tunnel.code, 0, tunnel.stderr);
    assert.equal(tunnel.stdout, "hello from origin\n");
    // Through the environment variables the jail gets (lower-case http_proxy is curl's).
    const viaEnv = await run("curl", ["-sS", "--max-time", "10", `http://127.0.0.1:${originPort}/hello`], cleanEnv({ http_proxy: proxyUrl }));
    assert.equal(viaEnv.stdout, "hello from origin\n", viaEnv.stderr);
    // A POST body is relayed.
    const post = await run("curl", ["-sS", "--max-time", "10", "-x", proxyUrl, "--data-binary", "ping-pong", `http://127.0.0.1:${originPort}/echo`]);
    assert.equal(post.stdout, "ping-pong");
    await waitFor(() => h.events.filter((e) => e.type === "net_close").length === 4, "4 net_close");
    const allows = h.events.filter((e) => e.type === "net_allow");
    assert.equal(allows.length, 4);
    assert.deepEqual(
      allows.map((e) => e.type === "net_allow" && [e.method, e.host, e.port, e.address, e.rule]),
      [
        ["HTTP", "127.0.0.1", originPort, "127.0.0.1", `127.0.0.1:${originPort}`],
        ["CONNECT", "127.0.0.1", originPort, "127.0.0.1", `127.0.0.1:${originPort}`],
        ["HTTP", "127.0.0.1", originPort, "127.0.0.1", `127.0.0.1:${originPort}`],
        ["HTTP", "127.0.0.1", originPort, "127.0.0.1", `127.0.0.1:${originPort}`],
      ],
    );
    for (const e of h.events) {
      if (e.type !== "net_close") continue;
      assert.ok(e.bytesUp > 0 && e.bytesDown > 0, JSON.stringify(e));
      assert.equal(e.address, "127.0.0.1");
      assert.equal(typeof e.durationMs, "number");
    }
    assert.deepEqual(h.logs, [], "allowed traffic logs nothing");
    assert.deepEqual(h.resolves, [], "IP literals are never resolved");
  } finally {
    await h.proxy.close();
  }
});

test("Python urllib (HTTP_PROXY) and http.client CONNECT tunnel", async () => {
  const h = await startProxy({ allow: [`127.0.0.1:${originPort}`] });
  try {
    const proxyUrl = `http://127.0.0.1:${h.proxy.port}`;
    const script = [
      "import sys, urllib.request, urllib.error, http.client",
      `print(urllib.request.urlopen("http://127.0.0.1:${originPort}/hello", timeout=10).read().decode(), end="")`,
      "try:",
      '    urllib.request.urlopen("http://169.254.169.254/latest/meta-data/", timeout=10)',
      "except urllib.error.HTTPError as e:",
      '    print("DENIED", e.code, e.read().decode().strip())',
      `c = http.client.HTTPConnection("127.0.0.1", ${h.proxy.port}, timeout=10)`,
      `c.set_tunnel("127.0.0.1", ${originPort})`,
      'c.request("GET", "/hello")',
      'print("TUNNEL", c.getresponse().read().decode(), end="")',
    ].join("\n");
    const r = await run("python3", ["-c", script], cleanEnv({ HTTP_PROXY: proxyUrl }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "hello from origin\nDENIED 403 mcp-j: 169.254.169.254 is a cloud metadata address (blocked)\nTUNNEL hello from origin\n",
    );
    assert.ok(h.connects.every((c) => c.address === "127.0.0.1"));
  } finally {
    await h.proxy.close();
  }
});

test("CONNECT to a TLS-less echo server: bytes both ways, half-close honoured, byte counts audited", async () => {
  const h = await startProxy({ allow: [`127.0.0.1:${echoPort}`] });
  try {
    const t = await connectTunnel(h.proxy.port, `127.0.0.1:${echoPort}`);
    assert.equal(t.status, 200);
    const payload = Buffer.alloc(1 << 20, 7);
    const got: Buffer[] = [];
    t.socket.on("data", (d: Buffer) => got.push(d));
    const ended = new Promise((r) => t.socket.on("end", r));
    t.socket.end(payload); // half-close: the echo keeps sending until it has echoed everything
    await ended;
    assert.equal(Buffer.concat(got).length, payload.length);
    await waitFor(() => h.events.some((e) => e.type === "net_close"), "net_close");
    const close = h.events.find((e) => e.type === "net_close");
    assert.ok(close && close.type === "net_close");
    assert.equal(close.bytesUp, payload.length);
    assert.equal(close.bytesDown, payload.length);
    assert.equal(close.error, undefined);
    await waitFor(() => h.proxy.stats().active === 0, "no active connections");
  } finally {
    await h.proxy.close();
  }
});

test("plain HTTP: origin-form path, Host from the URI, hop-by-hop and Proxy-* headers stripped", async () => {
  const h = await startProxy({ allow: [`127.0.0.1:${originPort}`] });
  try {
    const res = await rawExchange(
      h.proxy.port,
      `GET http://127.0.0.1:${originPort}/headers HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic c2VjcmV0\r\n` +
        `Proxy-Connection: keep-alive\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\nKeep-Alive: timeout=5\r\n` +
        `TE: trailers\r\nUpgrade: websocket\r\nX-Keep: yes\r\n\r\n`,
    );
    assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
    const body = JSON.parse(res.slice(res.indexOf("\r\n\r\n") + 4)) as { url: string; headers: Record<string, string> };
    assert.equal(body.url, "/headers");
    assert.equal(body.headers.host, `127.0.0.1:${originPort}`);
    assert.equal(body.headers["x-keep"], "yes");
    assert.equal(body.headers.connection, "close");
    for (const gone of ["proxy-authorization", "proxy-connection", "x-drop-me", "keep-alive", "te", "upgrade"]) {
      assert.equal(body.headers[gone], undefined, gone);
    }
  } finally {
    await h.proxy.close();
  }
});

test("names: resolved by the proxy's resolver, connected to the checked address", async () => {
  const h = await startProxy({
    allow: [`svc.test:${originPort}`, `*.internal.test:${originPort}`, `127.0.0.1:${originPort}`, `private.test:${originPort}`],
    hosts: { "svc.test": ["127.0.0.1"], "a.internal.test": ["127.0.0.1"], "private.test": ["10.1.2.3"] },
  });
  try {
    const proxyUrl = `http://127.0.0.1:${h.proxy.port}`;
    // svc.test -> 127.0.0.1, which is explicitly allowed: OK.
    const r = await run("curl", ["-sS", "--max-time", "10", "-x", proxyUrl, `http://svc.test:${originPort}/hello`]);
    assert.equal(r.stdout, "hello from origin\n", r.stderr);
    const t = await connectTunnel(h.proxy.port, `a.internal.test:${originPort}`);
    assert.equal(t.status, 200);
    t.socket.destroy();
    // private.test -> 10.1.2.3: refused, nothing connected.
    const before = h.connects.length;
    const d = await connectTunnel(h.proxy.port, `private.test:${originPort}`);
    assert.equal(d.status, 403);
    assert.match(d.body, /^mcp-j: private\.test resolved to 10\.1\.2\.3, a private address \(blocked; allow it explicitly with --allow-net 10\.1\.2\.3:\d+\)\n$/);
    assert.equal(h.connects.length, before);
    const allow = h.events.find((e) => e.type === "net_allow" && e.host === "svc.test");
    assert.ok(allow && allow.type === "net_allow" && allow.address === "127.0.0.1");
    assert.deepEqual(h.resolves, ["svc.test", "a.internal.test", "private.test"]);
  } finally {
    await h.proxy.close();
  }
});

// ---- refusals -------------------------------------------------------------------------------

test("ESCAPES 45: CONNECT to metadata in any spelling is 403, logged as metadata, never resolved or connected", async () => {
  const h = await startProxy({ allow: ["*.example.com", `127.0.0.1:${originPort}`] });
  try {
    const targets = ["169.254.169.254:80", "2852039166:80", "0251.0376.0251.0376:80", "[::ffff:a9fe:a9fe]:443", "0xa9fea9fe:443",
      "[fd00:ec2::254]:80", "100.100.100.200:80", "[64:ff9b::a9fe:a9fe]:80", "[::ffff:169.254.169.254]:80"];
    for (const target of targets) {
      const r = await connectTunnel(h.proxy.port, target);
      assert.equal(r.status, 403, target);
      assert.match(r.head, /^HTTP\/1\.1 403 Forbidden\r\n/);
      assert.match(r.body, /^mcp-j: .* is a cloud metadata address \(blocked\)\n$/, target);
    }
    const denies = h.events.filter((e): e is NetDenyEvent => e.type === "net_deny");
    assert.equal(denies.length, targets.length);
    for (const d of denies) {
      assert.equal(d.kind, "metadata");
      assert.equal(d.method, "CONNECT");
      assert.equal(d.status, 403);
    }
    assert.equal(h.logs.length, targets.length, "one log line per refusal");
    assert.equal(h.logs[0], "mcp-j: 169.254.169.254 is a cloud metadata address (blocked)");
    assert.equal(h.logs[1], "mcp-j: 2852039166 (= 169.254.169.254) is a cloud metadata address (blocked)");
    assert.equal(h.logs[2], "mcp-j: 0251.0376.0251.0376 (= 169.254.169.254) is a cloud metadata address (blocked)");
    assert.match(h.logs[3] ?? "", /^mcp-j: ::ffff:a9fe:a9fe \(= ::ffff:169\.254\.169\.254, IPv4-mapped 169\.254\.169\.254\) is a cloud metadata address/);
    assert.deepEqual(h.connects, [], "no connection attempt");
    assert.deepEqual(h.resolves, [], "no resolution");
    assert.equal(h.proxy.stats().denied, targets.length);
    assert.equal(h.events.filter((e) => e.type === "net_allow").length, 0);
  } finally {
    await h.proxy.close();
  }
});

test("plain-HTTP requests for metadata are refused the same way (absolute URI)", async () => {
  const h = await startProxy({ allow: [] });
  try {
    for (const host of ["169.254.169.254", "2852039166", "0251.0376.0251.0376", "[::ffff:a9fe:a9fe]", "0xa9.0xfe.0xa9.0xfe"]) {
      const res = await rawExchange(h.proxy.port, `GET http://${host}/latest/meta-data/iam/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.match(res, /^HTTP\/1\.1 403 Forbidden\r\n/, host);
      assert.match(res, /is a cloud metadata address \(blocked\)\n$/, host);
    }
    const curl = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-x", `http://127.0.0.1:${h.proxy.port}`, "http://169.254.169.254/"]);
    assert.equal(curl.stdout, "403");
    const curlTunnel = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_connect}", "--max-time", "10", "-p", "-x", `http://127.0.0.1:${h.proxy.port}`, "http://2852039166/"]);
    assert.equal(curlTunnel.stdout, "403");
    assert.deepEqual(h.connects, []);
    assert.ok(h.events.every((e) => e.type === "net_deny" && e.kind === "metadata"));
  } finally {
    await h.proxy.close();
  }
});

test("ESCAPES 42: 0.0.0.0, [::], 127.0.0.2, [::ffff:127.0.0.1], 127.1 never reach a host service unless allowed", async () => {
  const h = await startProxy({ allow: ["*.example.com"] });
  const before = originConnections;
  try {
    for (const host of ["0.0.0.0", "[::]", "127.0.0.2", "[::ffff:127.0.0.1]", "127.1", "0x7f000001", "0", "[::1]", "localhost"]) {
      const r = await connectTunnel(h.proxy.port, `${host}:${originPort}`);
      assert.equal(r.status, 403, host);
      const res = await rawExchange(h.proxy.port, `GET http://${host}:${originPort}/hello HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(res, /^HTTP\/1\.1 403 /, host);
    }
    assert.equal(originConnections, before, "the host's loopback service saw no connection");
    assert.deepEqual(h.connects, []);
    assert.deepEqual(h.resolves, [], "localhost is not allowed, so not even resolved");
  } finally {
    await h.proxy.close();
  }
});

test("disallowed names are 403 without a look-up; the apex of a wildcard is not allowed", async () => {
  const h = await startProxy({ allow: ["*.example.com", `allowed.test:${originPort}`], hosts: { "example.com": ["127.0.0.1"] } });
  try {
    for (const target of ["evil.test:443", "example.com:443", `allowed.test:${originPort + 1}`, "allowed.test:443"]) {
      const r = await connectTunnel(h.proxy.port, target);
      assert.equal(r.status, 403, target);
      assert.match(r.body, /is not allowed by --allow-net \(blocked\)\n$/);
    }
    // ESCAPES 40 through the proxy: public literals need an explicit IP allow.
    for (const target of ["1.1.1.1:443", "[2606:4700:4700::1111]:443", "16843009:443"]) {
      const p = await connectTunnel(h.proxy.port, target);
      assert.equal(p.status, 403, target);
      assert.match(p.body, /port 443 is not allowed by --allow-net \(blocked\)\n$/);
    }
    const r = await run("curl", ["-sS", "--max-time", "10", "-x", `http://127.0.0.1:${h.proxy.port}`, "http://evil.test/"]);
    assert.equal(r.stdout, "mcp-j: evil.test:80 is not allowed by --allow-net (blocked)\n");
    assert.deepEqual(h.resolves, []);
    assert.deepEqual(h.connects, []);
    assert.ok(h.events.every((e) => e.type === "net_deny" && e.reason === "not-allowed"));
  } finally {
    await h.proxy.close();
  }
});

test("protocol errors: 400 for bad requests, 431 for oversized heads, https:// must use CONNECT", async () => {
  const h = await startProxy({ allow: [`127.0.0.1:${originPort}`], maxHeaderBytes: 1024 });
  try {
    const cases: Array<[string, RegExp]> = [
      ["GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 400 /],
      [`GET https://127.0.0.1:${originPort}/ HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 [^]*https:\/\/ URLs go through CONNECT/],
      ["CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n", /^HTTP\/1\.1 400 /],
      ["CONNECT [::1 HTTP/1.1\r\n\r\n", /^HTTP\/1\.1 400 /],
      ["garbage\r\n\r\n", /^HTTP\/1\.1 400 /],
      [`GET http://127.0.0.1:${originPort}/ HTTP/1.1\r\n folded: yes\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [`POST http://127.0.0.1:${originPort}/echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [`POST http://127.0.0.1:${originPort}/echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [`GET http://user:pw@127.0.0.1:${originPort}/ HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [`GET http://127.0.0.1:${originPort}/ HTTP/1.1\r\nX-Big: ${"a".repeat(2000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
    ];
    for (const [req, want] of cases) assert.match(await rawExchange(h.proxy.port, req), want, JSON.stringify(req.slice(0, 60)));
    // An endless head (no blank line ever) is cut off at the cap too.
    assert.match(await rawExchange(h.proxy.port, `GET http://127.0.0.1/ HTTP/1.1\r\n${"X: y\r\n".repeat(400)}`), /^HTTP\/1\.1 431 /);
    assert.deepEqual(h.connects, []);
    assert.ok(h.events.every((e) => e.type === "net_error" && (e.status === 400 || e.status === 431)));
    assert.equal(h.logs.length, cases.length + 1);
  } finally {
    await h.proxy.close();
  }
});

test("upstream failures: 502 when the allowed address refuses the connection", async () => {
  // A port nobody listens on: bind one, note it, close it.
  const tmp = net.createServer();
  await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
  const deadPort = (tmp.address() as net.AddressInfo).port;
  await new Promise((r) => tmp.close(r));
  const h = await startProxy({ allow: [`127.0.0.1:${deadPort}`] });
  try {
    const r = await connectTunnel(h.proxy.port, `127.0.0.1:${deadPort}`);
    assert.equal(r.status, 502);
    assert.match(r.body, /ECONNREFUSED/);
    const e = h.events.find((x) => x.type === "net_error");
    assert.ok(e && e.type === "net_error" && e.reason === "connect-failed");
  } finally {
    await h.proxy.close();
  }
});

test("a bad --allow-net entry rejects start-up with the typed error", async () => {
  await assert.rejects(startEgressProxy({ listen: { host: "127.0.0.1", port: 0 }, allow: ["http://x"] }), {
    name: "AllowParseError",
    message: '"http://x" is not HOST[:PORT]: give a host, not a URL',
  });
});

test("adopts a listening socket passed as a file descriptor (the jail hand-off)", async () => {
  // Python creates and listens on the socket (as the jail's init would), then execs Node with the fd.
  const indexUrl = new URL("../src/egress/index.js", import.meta.url).href;
  const nodeScript =
    `const m = await import(${JSON.stringify(indexUrl)});` +
    `const fd = Number(process.env.FD);` +
    `const p = await m.startEgressProxy({ listen: { fd }, allow: ["127.0.0.1:${echoPort}"] });` +
    `console.log("PROXY " + p.port);` +
    `process.stdin.on("end", async () => { await p.close(); process.exit(0); }); process.stdin.resume();`;
  const py = [
    "import os, socket, subprocess, sys",
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(16)",
    "print('BOUND', s.getsockname()[1], flush=True)",
    "fd = s.fileno(); os.set_inheritable(fd, True)",
    `p = subprocess.Popen([sys.argv[1], '--input-type=module', '-e', sys.argv[2]], pass_fds=[fd], env=dict(os.environ, FD=str(fd)))`,
    "s.close()",
    "sys.exit(p.wait())",
  ].join("\n");
  const child = spawn("python3", ["-c", py, process.execPath, nodeScript], { env: cleanEnv(), stdio: ["pipe", "pipe", "inherit"] });
  try {
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await waitFor(() => /PROXY \d+/.test(out), "the child proxy to start");
    const bound = Number(/BOUND (\d+)/.exec(out)?.[1]);
    const port = Number(/PROXY (\d+)/.exec(out)?.[1]);
    assert.equal(port, bound, "the proxy reports the adopted socket's port");
    const t = await connectTunnel(port, `127.0.0.1:${echoPort}`);
    assert.equal(t.status, 200);
    t.socket.write("through the handed-over socket");
    const [echoed] = (await new Promise((r) => t.socket.once("data", (d: Buffer) => r([d])))) as [Buffer];
    assert.equal(echoed.toString(), "through the handed-over socket");
    t.socket.destroy();
    const d = await connectTunnel(port, "169.254.169.254:80");
    assert.equal(d.status, 403);
  } finally {
    child.stdin.end();
    await new Promise((r) => child.on("exit", r));
  }
});

