// What the egress proxy's name check (egress/first-bytes.ts) costs a start that comes a byte at a
// time, against the same start in one read, same run, as ratios of CPU time:
//   1. the classification alone, in this process: StartReader (what the proxy runs) given the start
//      in 1-byte reads, and, as the figure before it, classifyFirst on the whole start at every read
//      (what the proxy ran before StartReader); each against StartReader given it in one read.
//   2. end to end: the proxy (startEgressProxy, its own process) while a client here sends the start
//      through a CONNECT tunnel in 1-byte writes (Nagle off, one write per turn of the event loop),
//      against one write; the proxy's own CPU time (/proc/PID/stat), and how many reads it took.
// Starts: a 64 KiB HTTP/1.1 head, a ClientHello in the largest TLS record, a 64 KiB h2c start.
//
//   npm run build:ts && node bench/first-bytes.bench.mjs      (env: FIRST_BYTES_BENCH_RUNS)
// Everything stays on 127.0.0.1.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = (p) => pathToFileURL(join(root, "packages/engine/dist", p)).href;
const { StartReader, classifyFirst, MAX_HTTP_HEAD } = await import(dist("src/egress/first-bytes.js"));
const { paddedHead, paddedHello, paddedH2, sendByteByByte } = await import(dist("test/helpers/starts.js"));
const RUNS = Number(process.env.FIRST_BYTES_BENCH_RUNS ?? 3);

const starts = [
  ["HTTP/1.1 head, 64 KiB", paddedHead("svc.test", MAX_HTTP_HEAD)],
  ["TLS ClientHello, 18 KiB", paddedHello("svc.test", 5 + 16384 + 2048)],
  ["h2c start, 64 KiB", paddedH2("svc.test", MAX_HTTP_HEAD)],
];

/** CPU microseconds (user + system) `f` takes in this process. */
function cpu(f) {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return d.user + d.system;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (us) => (us < 1000 ? `${us.toFixed(1)} µs` : `${(us / 1000).toFixed(1)} ms`);

/** The start given to `read` in reads of `size` bytes, as the proxy's buffer grows. */
function feed(start, size, read) {
  for (let k = Math.min(size, start.length); ; k = Math.min(k + size, start.length)) {
    if (read(start.subarray(0, k)) !== "more" || k === start.length) return;
  }
}

console.log("1. classification alone (CPU time in this process; median of", RUNS, "runs)");
for (const [what, start] of starts) {
  // One read is too quick to time once: 200 of them, divided.
  const whole = median(Array.from({ length: RUNS }, () => cpu(() => { for (let i = 0; i < 200; i++) new StartReader().read(start); }) / 200));
  const bytes = median(Array.from({ length: RUNS }, () => cpu(() => { const r = new StartReader(); feed(start, 1, (b) => r.read(b)); })));
  const before = cpu(() => feed(start, 1, (b) => classifyFirst(b)));
  console.log(`   ${what}: one read ${ms(whole)}; 1-byte reads ${ms(bytes)} (${(bytes / whole).toFixed(0)}x); re-classified whole at every read (before) ${ms(before)} (${(before / whole).toFixed(0)}x)`);
}

// ---- 2. end to end -----------------------------------------------------------------------------

/** The proxy, in its own process: svc.test is the loopback; answers "stats" with its reads. */
const proxySrc = (originPort) => `
const { startEgressProxy } = await import(${JSON.stringify(dist("src/egress/index.js"))});
const { firstBytesWork } = await import(${JSON.stringify(dist("src/egress/first-bytes.js"))});
const p = await startEgressProxy({ listen: { host: "127.0.0.1", port: 0 }, allow: ["svc.test:${originPort}", "127.0.0.1:${originPort}"], log: () => {},
  resolve: async (n) => { if (n === "svc.test") return ["127.0.0.1"]; throw Object.assign(new Error(n), { code: "ENOTFOUND" }); } });
console.log("PORT " + p.port);
process.stdin.on("data", () => console.log("STATS " + JSON.stringify(firstBytesWork)));
`;

/** The CPU time of process `pid` so far, in microseconds (utime + stime, clock ticks of 10 ms). */
function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

let got = 0;
const origin = net.createServer((s) => {
  s.on("error", () => {});
  s.on("data", (d) => (got += d.length));
});
await new Promise((r) => origin.listen(0, "127.0.0.1", r));
const child = spawn(process.execPath, ["--input-type=module", "-e", proxySrc(origin.address().port)], { stdio: ["pipe", "pipe", "inherit"] });
const lines = [];
const waiters = [];
let out = "";
child.stdout.on("data", (d) => {
  out += d;
  for (let i; (i = out.indexOf("\n")) >= 0; out = out.slice(i + 1)) {
    lines.push(out.slice(0, i));
    waiters.splice(0).forEach((w) => w());
  }
});
const nextLine = async (prefix) => {
  for (;;) {
    const l = lines.find((x) => x.startsWith(prefix));
    if (l !== undefined) return (lines.splice(lines.indexOf(l), 1), l.slice(prefix.length));
    await new Promise((r) => waiters.push(r));
  }
};
const proxyPort = Number(await nextLine("PORT "));
const stats = async () => (child.stdin.write("stats\n"), JSON.parse(await nextLine("STATS ")));

/** The proxy's CPU time and reads for the start sent in one write or a byte at a time. */
async function through(start, byteByByte) {
  got = 0;
  const before = { cpu: cpuOf(child.pid), ...(await stats()) };
  if (byteByByte) {
    const r = await sendByteByByte(proxyPort, `svc.test:${origin.address().port}`, start, () => got >= start.length);
    if (!r.through) throw new Error(`the start did not go through: ${r.status}`);
  } else {
    const s = net.connect(proxyPort, "127.0.0.1");
    s.write(`CONNECT svc.test:${origin.address().port} HTTP/1.1\r\n\r\n`);
    await new Promise((r) => s.once("data", r));
    s.write(start);
    while (got < start.length) await new Promise((r) => setTimeout(r, 1));
    s.destroy();
  }
  const after = { cpu: cpuOf(child.pid), ...(await stats()) };
  return { cpu: after.cpu - before.cpu, reads: after.reads - before.reads };
}

console.log("2. end to end through the proxy (its CPU time; median of", RUNS, "runs)");
for (const [what, start] of starts) {
  // One write takes less than the 10 ms a clock tick counts: 20 of them, divided.
  const one = [];
  for (let i = 0; i < RUNS; i++) {
    let sum = 0;
    for (let j = 0; j < 20; j++) sum += (await through(start, false)).cpu;
    one.push(sum / 20);
  }
  const bytes = [];
  let reads = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await through(start, true);
    bytes.push(r.cpu);
    reads = r.reads;
  }
  console.log(`   ${what}: one write ${ms(median(one))}; 1-byte writes ${ms(median(bytes))} in ${reads} reads (${(median(bytes) / median(one)).toFixed(0)}x)`);
}
child.kill();
origin.close();
