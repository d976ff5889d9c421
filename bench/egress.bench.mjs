// Egress figures (issues 4 and 15), same-run ratios against direct loopback:
//   1. throughput of a 100 MB download: direct; through the proxy as plain HTTP (absolute URI);
//      through a CONNECT tunnel relayed by the native relay (recv/send in a thread of its own) and,
//      for comparison, by Node's pipe(); and from inside a jail, by a program that knows no proxy
//      (curl --noproxy '*'), its connect() redirected to the proxy by the supervisor; and, as the
//      yardsticks of what any relay costs here, a minimal C relay (lib/min-relay.c: blocking, no
//      policy) copying through a 4 MiB buffer and splicing through a pipe. Client: curl (its own
//      process, curl's own timing: the jail's start is not counted); origin: node:http (its own
//      process); proxy: startEgressProxy (its own process) or mcp-j's. Median of RUNS runs each,
//      interleaved.
//   2. connection set-up latency, p50/p99 over ITER sequential set-ups: from this process, TCP
//      connect to the origin vs a CONNECT tunnel established through the proxy, and a
//      fresh-connection GET of a tiny body, direct vs via the proxy; from a Python program, the
//      same connect() and fresh GET on the host and inside a jail (redirected), same program.
//   3. the jail's resolver: p50/p99 of a DNS query (raw UDP) and of getaddrinfo() inside the jail.
// Goals: >= 80% throughput, <= 1 ms added set-up at p50.
//
//   npm run build:ts && node bench/egress.bench.mjs      (env: EGRESS_BENCH_MB, EGRESS_BENCH_RUNS, EGRESS_BENCH_ITER)
// Everything stays on 127.0.0.1.
import { execFile, spawn } from "node:child_process";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildC } from "./lib/cc.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const egressIndex = pathToFileURL(join(root, "packages/engine/dist/src/egress/index.js")).href;
const MB = Number(process.env.EGRESS_BENCH_MB ?? 100);
const RUNS = Number(process.env.EGRESS_BENCH_RUNS ?? 5);
const ITER = Number(process.env.EGRESS_BENCH_ITER ?? 1000);
const BYTES = MB * 1024 * 1024;

const originSrc = `
import http from "node:http";
const chunk = Buffer.alloc(1 << 20, 97);
const s = http.createServer((req, res) => {
  const m = /^\\/bytes\\/(\\d+)$/.exec(req.url);
  if (!m) { res.setHeader("content-length", "3"); res.end("ok\\n"); return; }
  let left = Number(m[1]);
  res.setHeader("content-type", "application/octet-stream");
  res.setHeader("content-length", String(left));
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once("drain", pump); return; }
    }
    res.end();
  };
  pump();
});
s.keepAliveTimeout = 1000;
s.listen(0, "127.0.0.1", () => console.log("PORT " + s.address().port));
`;

const proxySrc = (originPort, nativeRelay = true) => `
const { startEgressProxy } = await import(${JSON.stringify(egressIndex)});
const p = await startEgressProxy({ listen: { host: "127.0.0.1", port: 0 }, allow: ["127.0.0.1:${originPort}"], maxConnections: 1024, nativeRelay: ${nativeRelay} });
console.log("PORT " + p.port);
`;
const mcpj = join(root, "packages/cli/bin/mcp-j.js");

/** Runs a command in a jail through the mcp-j command; what it printed on stdout (mcp-j logs a
 * server's non-JSON stdout on stderr, prefixed) or on stderr after "BENCH " comes back. */
function jailed(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mcpj, "--grace", "60s", ...args], { stdio: ["pipe", "pipe", "pipe"], env: cleanEnv() });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.stdin.end();
    child.on("close", (code) => {
      const out = err
        .split("\n")
        .map((l) => /^(?:mcp-j proxy: server stdout \(not JSON-RPC\): |BENCH )(.*)$/.exec(l)?.[1])
        .filter((l) => l !== undefined)
        .join("\n");
      if (code !== 0 || out === "") reject(new Error(`mcp-j ${args.join(" ")} exited ${code}: ${err}`));
      else resolve(out);
    });
  });
}

/** The same Python program on the host and in a jail: ITER sequential connect()s and fresh GETs. */
const setupPy = (port, iter) => `
import json, socket, sys, time
def ms(f):
    t = time.perf_counter(); f(); return (time.perf_counter() - t) * 1000
def conn():
    s = socket.create_connection(("127.0.0.1", ${port})); s.close()
def get():
    s = socket.create_connection(("127.0.0.1", ${port}))
    s.sendall(b"GET /tiny HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    b = b""
    while not b.endswith(b"ok\\n"):
        d = s.recv(4096)
        if not d: break
        b += d
    s.close()
for _ in range(min(100, ${iter})): get()
sys.stderr.write("BENCH " + json.dumps({"connect": [ms(conn) for _ in range(${iter})], "get": [ms(get) for _ in range(${iter})]}) + "\\n")
`;

/** In the jail: ITER DNS queries to its resolver (raw UDP) and ITER getaddrinfo() calls. */
const dnsPy = (iter) => `
import json, socket, struct, sys, time
q = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l for l in b"bench.test".split(b".")) + b"\\0\\0\\1\\0\\1"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("127.0.0.1", 53))
def query():
    u.send(q); u.recv(512)
def gai():
    socket.getaddrinfo("bench.test", 80, socket.AF_INET, socket.SOCK_STREAM)
def ms(f):
    t = time.perf_counter(); f(); return (time.perf_counter() - t) * 1000
for _ in range(50): query(); gai()
sys.stderr.write("BENCH " + json.dumps({"query": [ms(query) for _ in range(${iter})], "getaddrinfo": [ms(gai) for _ in range(${iter})]}) + "\\n")
`;

function hostPython(src) {
  return new Promise((resolve, reject) => {
    execFile("/usr/bin/python3", ["-c", src], { env: cleanEnv(), maxBuffer: 64 << 20 }, (err, _stdout, stderr) =>
      err ? reject(new Error(String(stderr) || err.message)) : resolve(String(stderr).replace(/^BENCH /, "")),
    );
  });
}

function startChild(src, argv = [process.execPath, "--input-type=module", "-e", src]) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on("exit", (code) => reject(new Error(`child exited ${code}`)));
  });
}

function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_proxy$/i.test(k)) env[k] = v;
  return env;
}

function curl(args) {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-sS", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", ...args], { env: cleanEnv(), timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${args.join(" ")}: ${stderr || err.message}`));
      const [size, secs] = String(stdout).trim().split(" ").map(Number);
      if (size !== BYTES) return reject(new Error(`curl got ${size} bytes, wanted ${BYTES}`));
      resolve(size / secs);
    });
  });
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const pct = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const hr = () => Number(process.hrtime.bigint()) / 1e6;

function tcpConnect(port) {
  return new Promise((resolve, reject) => {
    const t0 = hr();
    const s = net.connect(port, "127.0.0.1", () => {
      const dt = hr() - t0;
      s.destroy();
      resolve(dt);
    });
    s.on("error", reject);
  });
}

function tunnelSetup(proxyPort, target) {
  return new Promise((resolve, reject) => {
    const t0 = hr();
    const s = net.connect(proxyPort, "127.0.0.1", () => s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    let buf = "";
    s.setEncoding("latin1");
    s.on("data", (d) => {
      buf += d;
      if (!buf.includes("\r\n\r\n")) return;
      const dt = hr() - t0;
      s.destroy();
      if (!buf.startsWith("HTTP/1.1 200")) reject(new Error(buf));
      else resolve(dt);
    });
    s.on("error", reject);
  });
}

/** Fresh connection, one GET of a 3-byte body, until the whole response has arrived. */
function freshGet(port, requestLine, tunnelTo) {
  return new Promise((resolve, reject) => {
    const t0 = hr();
    const s = net.connect(port, "127.0.0.1", () => {
      if (tunnelTo) s.write(`CONNECT ${tunnelTo} HTTP/1.1\r\n\r\n`);
      s.write(`${requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    let buf = "";
    s.setEncoding("latin1");
    s.on("data", (d) => {
      buf += d;
      if (!buf.endsWith("\r\n\r\nok\n")) return;
      const dt = hr() - t0;
      s.destroy();
      resolve(dt);
    });
    s.on("error", reject);
  });
}

async function series(fn) {
  for (let i = 0; i < Math.min(100, ITER); i++) await fn(); // warm-up
  const out = [];
  for (let i = 0; i < ITER; i++) out.push(await fn());
  return out;
}

const fmtMBs = (b) => `${(b / 1e6).toFixed(0).padStart(6)} MB/s`;
const fmtMs = (x) => `${x.toFixed(3)} ms`;

async function main() {
  const origin = await startChild(originSrc);
  const proxy = await startChild(proxySrc(origin.port));
  const piped = await startChild(proxySrc(origin.port, false));
  const minRelay = buildC("min-relay", ["-pthread"]);
  const bare = await startChild(null, [minRelay, "copy", "0", String(origin.port)]);
  const bareSplice = await startChild(null, [minRelay, "splice", "0", String(origin.port)]);
  const target = `127.0.0.1:${origin.port}`;
  const url = `http://${target}/bytes/${BYTES}`;
  const proxyUrl = `http://127.0.0.1:${proxy.port}`;
  try {
    console.log(`egress bench: ${MB} MB x ${RUNS} runs; ${ITER} set-ups each; node ${process.version}; ${new Date().toISOString()}`);
    const tp = { direct: [], bare: [], bareSplice: [], plain: [], tunnel: [], piped: [], jail: [] };
    const pipeUrl = `http://127.0.0.1:${piped.port}`;
    const inJail = async () => {
      const [size, secs] = (await jailed(["--allow-net", target, "--", "/usr/bin/curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url])).trim().split(" ").map(Number);
      if (size !== BYTES) throw new Error(`curl in the jail got ${size} bytes, wanted ${BYTES}`);
      return size / secs;
    };
    await curl([url]); // warm-up
    for (let i = 0; i < RUNS; i++) {
      tp.direct.push(await curl([url]));
      tp.bare.push(await curl([`http://127.0.0.1:${bare.port}/bytes/${BYTES}`]));
      tp.bareSplice.push(await curl([`http://127.0.0.1:${bareSplice.port}/bytes/${BYTES}`]));
      tp.plain.push(await curl(["-x", proxyUrl, url]));
      tp.tunnel.push(await curl(["-p", "-x", proxyUrl, url]));
      tp.piped.push(await curl(["-p", "-x", pipeUrl, url]));
      tp.jail.push(await inJail());
    }
    const d = median(tp.direct);
    const row = (name, xs) => console.log(`  ${name.padEnd(42)} ${fmtMBs(median(xs))}   ratio ${(median(xs) / d).toFixed(2)}`);
    console.log("\nthroughput (curl, median)");
    console.log(`  ${"direct loopback".padEnd(42)} ${fmtMBs(d)}`);
    row("minimal C relay, copying (the yardstick)", tp.bare);
    row("minimal C relay, splice(2)", tp.bareSplice);
    row("proxy, plain HTTP", tp.plain);
    row("proxy, CONNECT tunnel (native relay)", tp.tunnel);
    row("proxy, CONNECT tunnel (Node pipe, before)", tp.piped);
    row("jail, connect() redirected (native relay)", tp.jail);

    const rows = [
      ["TCP connect, direct", await series(() => tcpConnect(origin.port))],
      ["CONNECT tunnel established", await series(() => tunnelSetup(proxy.port, target))],
      ["fresh GET /tiny, direct", await series(() => freshGet(origin.port, "GET /tiny HTTP/1.1"))],
      ["fresh GET /tiny, plain proxy", await series(() => freshGet(proxy.port, `GET http://${target}/tiny HTTP/1.1`))],
      ["fresh GET /tiny, CONNECT", await series(() => freshGet(proxy.port, "GET /tiny HTTP/1.1", target))],
    ];
    console.log("\nset-up latency (sequential, from this process)");
    for (const [name, xs] of rows) console.log(`  ${name.padEnd(30)} p50 ${fmtMs(pct(xs, 50))}   p99 ${fmtMs(pct(xs, 99))}`);
    const p50 = (i) => pct(rows[i][1], 50);
    const p99 = (i) => pct(rows[i][1], 99);
    console.log("\nadded by the proxy");
    console.log(`  tunnel vs TCP connect       p50 +${fmtMs(p50(1) - p50(0))}   p99 +${fmtMs(p99(1) - p99(0))}   (x${(p50(1) / p50(0)).toFixed(1)} at p50)`);
    console.log(`  GET via plain proxy         p50 +${fmtMs(p50(3) - p50(2))}   p99 +${fmtMs(p99(3) - p99(2))}   (x${(p50(3) / p50(2)).toFixed(1)} at p50)`);
    console.log(`  GET via CONNECT             p50 +${fmtMs(p50(4) - p50(2))}   p99 +${fmtMs(p99(4) - p99(2))}   (x${(p50(4) / p50(2)).toFixed(1)} at p50)`);

    // The same program on the host and in a jail whose connect() is redirected.
    const host = JSON.parse(await hostPython(setupPy(origin.port, ITER)));
    const jail = JSON.parse(await jailed(["--allow-net", target, "--", "/usr/bin/python3", "-c", setupPy(origin.port, ITER)]));
    console.log("\nset-up latency (sequential, Python, same program)");
    for (const [name, xs] of [["connect(), host", host.connect], ["connect(), jail (redirected)", jail.connect], ["fresh GET /tiny, host", host.get], ["fresh GET /tiny, jail (redirected)", jail.get]]) {
      console.log(`  ${name.padEnd(36)} p50 ${fmtMs(pct(xs, 50))}   p99 ${fmtMs(pct(xs, 99))}`);
    }
    const addedConnect = pct(jail.connect, 50) - pct(host.connect, 50);
    const addedGet = pct(jail.get, 50) - pct(host.get, 50);
    console.log(`  added by the redirect: connect() p50 +${fmtMs(addedConnect)}, fresh GET p50 +${fmtMs(addedGet)}`);

    const dns = JSON.parse(await jailed(["--allow-net", "bench.test", "--", "/usr/bin/python3", "-c", dnsPy(ITER)]));
    console.log("\nthe jail's resolver (inside the jail)");
    console.log(`  DNS query (UDP, raw)           p50 ${fmtMs(pct(dns.query, 50))}   p99 ${fmtMs(pct(dns.query, 99))}`);
    console.log(`  getaddrinfo()                  p50 ${fmtMs(pct(dns.getaddrinfo, 50))}   p99 ${fmtMs(pct(dns.getaddrinfo, 99))}`);

    const ok =
      median(tp.plain) / d >= 0.8 && median(tp.tunnel) / d >= 0.8 && median(tp.jail) / d >= 0.8 && p50(1) - p50(0) <= 1 && p50(3) - p50(2) <= 1 && addedGet <= 1;
    console.log(`\ngoals (>= 80% throughput, <= 1 ms added set-up at p50): ${ok ? "met" : "NOT met"}`);
  } finally {
    for (const c of [origin, proxy, piped, bare, bareSplice]) {
      c.child.removeAllListeners("exit");
      c.child.kill();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
