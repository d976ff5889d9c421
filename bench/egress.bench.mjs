// Egress proxy figures (issue 4), same-run ratios against direct loopback:
//   1. throughput of a 100 MB download: direct, through the proxy as plain HTTP (absolute URI), and
//      through a CONNECT tunnel. Client: curl (its own process); origin: node:http (its own
//      process); proxy: startEgressProxy (its own process). Median of RUNS runs each, interleaved.
//   2. connection set-up latency, p50/p99 over ITER sequential set-ups from this process:
//      TCP connect to the origin vs a CONNECT tunnel established through the proxy (connect, send
//      CONNECT, read the 200), and a fresh-connection GET of a tiny body, direct vs via the proxy.
// Goals: >= 80% throughput, <= 1 ms added set-up at p50.
//
//   npm run build:ts && node bench/egress.bench.mjs      (env: EGRESS_BENCH_MB, EGRESS_BENCH_RUNS, EGRESS_BENCH_ITER)
// Everything stays on 127.0.0.1.
import { execFile, spawn } from "node:child_process";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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

const proxySrc = (originPort) => `
const { startEgressProxy } = await import(${JSON.stringify(egressIndex)});
const p = await startEgressProxy({ listen: { host: "127.0.0.1", port: 0 }, allow: ["127.0.0.1:${originPort}"], maxConnections: 1024 });
console.log("PORT " + p.port);
`;

function startChild(src) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", src], { stdio: ["ignore", "pipe", "inherit"] });
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
  const target = `127.0.0.1:${origin.port}`;
  const url = `http://${target}/bytes/${BYTES}`;
  const proxyUrl = `http://127.0.0.1:${proxy.port}`;
  try {
    console.log(`egress bench: ${MB} MB x ${RUNS} runs; ${ITER} set-ups each; node ${process.version}; ${new Date().toISOString()}`);
    const tp = { direct: [], plain: [], tunnel: [] };
    await curl([url]); // warm-up
    for (let i = 0; i < RUNS; i++) {
      tp.direct.push(await curl([url]));
      tp.plain.push(await curl(["-x", proxyUrl, url]));
      tp.tunnel.push(await curl(["-p", "-x", proxyUrl, url]));
    }
    const d = median(tp.direct);
    console.log("\nthroughput (curl, median)");
    console.log(`  direct loopback           ${fmtMBs(d)}`);
    console.log(`  proxy, plain HTTP         ${fmtMBs(median(tp.plain))}   ratio ${(median(tp.plain) / d).toFixed(2)}`);
    console.log(`  proxy, CONNECT tunnel     ${fmtMBs(median(tp.tunnel))}   ratio ${(median(tp.tunnel) / d).toFixed(2)}`);

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
    const ok = median(tp.plain) / d >= 0.8 && median(tp.tunnel) / d >= 0.8 && p50(1) - p50(0) <= 1 && p50(3) - p50(2) <= 1;
    console.log(`\ngoals (>= 80% throughput, <= 1 ms added set-up at p50): ${ok ? "met" : "NOT met"}`);
  } finally {
    origin.child.removeAllListeners("exit");
    proxy.child.removeAllListeners("exit");
    origin.child.kill();
    proxy.child.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
