// Network (issue 4, ESCAPES 40–45) through the real jail: nothing leaves the jail's network
// namespace directly; the egress proxy, reachable inside at 127.0.0.1:3128, admits allowed hosts
// and refuses metadata, private and loopback addresses in any spelling. Every test server runs on
// this machine's loopback; no traffic goes anywhere else.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { lookup } from "node:dns/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { compileC, programsDir } from "@mcp-j/engine/test-helpers";
import { hostNames, runMcpj } from "./helpers.js";

const PROXY = "http://127.0.0.1:3128";
let http: Server;
let httpPort = 0;
let httpHits = 0;
const tcp = createTcpServer((s) => s.pipe(s)); // a TLS-less CONNECT target: echoes what it gets
let tcpPort = 0;
let tcpConnections = 0;
const work = mkdtempSync(join(tmpdir(), "mcpj-net-"));

before(async () => {
  chmodSync(work, 0o755);
  http = createHttpServer((req, res) => {
    httpHits++;
    res.end(`hello ${req.url}`);
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  httpPort = (http.address() as AddressInfo).port;
  tcp.on("connection", () => tcpConnections++);
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  tcpPort = (tcp.address() as AddressInfo).port;
});
after(() => {
  http.close();
  tcp.close();
  rmSync(work, { recursive: true, force: true });
});

function auditLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("an allowed host on loopback is reached through the egress proxy by curl and by Python urllib, and audited", async () => {
  const log = join(work, "allow.jsonl");
  const curl = await runMcpj([
    "--audit-log", log, "--allow-net", `127.0.0.1:${httpPort}`, "--",
    "/usr/bin/curl", "-sS", "--noproxy", "", "-x", PROXY, `http://127.0.0.1:${httpPort}/via-curl`,
  ]);
  assert.equal(curl.code, 0, curl.stderr);
  assert.match(curl.stderr, /hello \/via-curl/); // curl's stdout is not JSON-RPC: the proxy logs it on stderr
  const py = await runMcpj([
    "--allow-net", `127.0.0.1:${httpPort}`, "--", "/usr/bin/python3", "-c",
    `import sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({"http": "${PROXY}"}))
sys.stderr.write(o.open("http://127.0.0.1:${httpPort}/via-python").read().decode() + "\\n")`,
  ]);
  assert.equal(py.code, 0, py.stderr);
  assert.match(py.stderr, /hello \/via-python/);
  const net = auditLines(log).filter((e) => e.type === "net");
  assert.equal(net.length, 1);
  assert.equal(net[0]?.decision, "allow");
  assert.equal(net[0]?.resolved, "127.0.0.1");
  assert.equal(net[0]?.port, httpPort);
  assert.ok(typeof net[0]?.bytes_in === "number" && (net[0].bytes_in as number) > 0);
});

test("CONNECT to an allowed TLS-less target tunnels bytes both ways", async () => {
  const r = await runMcpj([
    "--allow-net", `127.0.0.1:${tcpPort}`, "--", "/usr/bin/python3", "-c",
    `import socket, sys
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"CONNECT 127.0.0.1:${tcpPort} HTTP/1.1\\r\\nHost: 127.0.0.1:${tcpPort}\\r\\n\\r\\n")
head = b""
while b"\\r\\n\\r\\n" not in head: head += s.recv(1)
s.sendall(b"ping-through-tunnel")
got = b""
while len(got) < 19: got += s.recv(64)
sys.stderr.write(head.split(b"\\r\\n")[0].decode() + " " + got.decode() + "\\n")`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /HTTP\/1\.1 200 .* ping-through-tunnel/);
});

test("a host not on the allowlist is refused with 403 before anything is resolved or connected", async () => {
  const log = join(work, "deny.jsonl");
  const before = httpHits;
  const r = await runMcpj([
    "--audit-log", log, "--allow-net", "api.example.com", "--",
    "/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--noproxy", "", "-x", PROXY, `http://127.0.0.1:${httpPort}/`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /403/);
  assert.equal(httpHits, before);
  const deny = auditLines(log).find((e) => e.type === "net");
  assert.equal(deny?.decision, "deny");
});

test("a name that resolves to a loopback address is refused unless it is `localhost` (only an explicit IP allow admits it)", async () => {
  // loop.test resolves to 127.0.0.1 on the host (test/fixtures/host-names.mjs): the proxy resolves
  // it itself, checks the address, and refuses.
  const before = httpHits;
  const r = await runMcpj([
    "--allow-net", `loop.test:${httpPort}`, "--",
    "/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--noproxy", "", "-x", PROXY, `http://loop.test:${httpPort}/`,
  ], { env: hostNames({ "loop.test": ["127.0.0.1"] }) });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /403/);
  assert.match(r.stderr, /loopback/);
  assert.equal(httpHits, before);
});

test("ESCAPES 45: CONNECT to metadata in every spelling is refused with 403 and logged as metadata", async () => {
  const log = join(work, "meta.jsonl");
  const targets = ["169.254.169.254:80", "2852039166:80", "0251.0376.0251.0376:80", "[::ffff:a9fe:a9fe]:80", "[fd00:ec2::254]:80", "100.100.100.200:80"];
  const script = `import socket, sys
for t in ${JSON.stringify(targets)}:
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(("CONNECT %s HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n" % (t, t)).encode())
    sys.stderr.write("%s -> %s\\n" % (t, s.recv(4096).split(b"\\r\\n")[0].decode()))
    s.close()`;
  // Even allowing the metadata names as hosts does not open them: the address check refuses.
  const r = await runMcpj(["--audit-log", log, "--allow-net", "*.example.com", "--", "/usr/bin/python3", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  for (const t of targets) assert.match(r.stderr, new RegExp(`${t.replace(/[[\].]/g, "\\$&")} -> HTTP/1.1 403`));
  const denies = auditLines(log).filter((e) => e.type === "net" && e.decision === "deny");
  assert.equal(denies.length, targets.length);
});

test("ESCAPES 40–44: direct connections never leave the jail, and each refusal is audited", async () => {
  const prog = compileC(
    "net-escape",
    readFileSync(new URL("../../test/programs/net-escape.c", import.meta.url), "utf8"),
  );
  const before = { http: httpHits, tcp: tcpConnections };
  const log = join(work, "direct.jsonl");
  const r = await runMcpj(["--audit-log", log, "--ro", programsDir, "--", prog, String(httpPort)]);
  assert.equal(r.code, 0, r.stderr);
  const got = Object.fromEntries(
    r.stderr
      .split("\n")
      .filter((l) => /^[a-z0-9_.]+=/.test(l))
      .map((l) => l.split("=") as [string, string]),
  );
  // connect anywhere but the proxy port, and sendto/sendmsg/sendmmsg naming a destination outside
  // the jail (UDP, TCP fast open): refused by the supervisor (and, behind it, Landlock's TCP rules
  // and the network namespace, which has no route out). sendmsg is supervised here because the
  // policy has a grant (a host unix socket could be in one: ESCAPES 61).
  for (const k of ["tcp4_public", "tcp6_public", "metadata_v4", "metadata_mapped", "metadata_v6", "metadata_alibaba", "metadata_nat64", "any_v4", "any_v6", "lo2", "lo_mapped", "lo1", "tcp_fastopen", "udp_sendto_dns", "udp_sendmsg", "udp_sendmmsg"]) {
    assert.equal(got[k], "EACCES", `${k}: ${got[k]}`);
  }
  // A datagram to the jail's own loopback is the jail's business.
  assert.equal(got.udp_sendto_lo, "OK");
  // Each refusal is an audit event; the metadata endpoints are named as such.
  const denied = auditLines(log).filter((e) => e.type === "syscall" && e.decision === "deny");
  const by = (sc: string, addr: string): Record<string, unknown> | undefined => denied.find((e) => e.syscall === sc && e.addr === addr);
  assert.equal(by("connect", "1.1.1.1:443")?.reason, "policy");
  assert.equal(by("connect", "[2606:4700:4700::1111]:443")?.errno, "EACCES");
  for (const a of ["169.254.169.254:80", "[::ffff:169.254.169.254]:80", "[fd00:ec2::254]:80", "100.100.100.200:80", "[64:ff9b::a9fe:a9fe]:80"]) {
    assert.match(String(by("connect", a)?.reason), /^metadata: /, a);
  }
  assert.equal(by("sendto", "8.8.8.8:53")?.reason, "udp"); // no --allow-net entry lets a datagram out
  assert.equal(by("sendto", "1.1.1.1:443")?.reason, "policy");
  assert.equal(got.getaddrinfo, "EAI_NONAME");
  // And the host's loopback services saw nothing.
  assert.deepEqual({ http: httpHits, tcp: tcpConnections }, before);
});
