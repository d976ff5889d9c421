// Network for every program (issue 15): with only `--allow-net NAME:PORT`, programs that know
// nothing of HTTP_PROXY reach NAME through the jail's resolver and the supervisor's redirection to
// the egress proxy: node-fetch, Node's fetch, curl --noproxy '*', Python sockets, redis-cli against
// a real redis-server, ssh and git over SSH against a real sshd. And what is not allowed is refused where it is asked for, named on stderr
// and audited: a name not allowed (NXDOMAIN), an allowed name whose real address is private or
// metadata, a raw IP, UDP out of the jail, a port the name is not allowed on, DNS rebinding, the
// redirect listener itself.
//
// Every server is on this machine's loopback. NAME is mapped on the host side by a preload of the
// mcp-j process (fixtures/host-names.mjs): names resolve to documentation addresses (checked by the
// proxy as the public addresses they stand for), and connections to those reach the test server.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createH2Server, type Http2Server } from "node:http2";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hostNames, repoRoot, runMcpj, UNTIL_IT_EXITS, waitFor, type CliResult } from "./helpers.js";

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}

const work = mkdtempSync(join(tmpdir(), "mcpj-redirect-"));
const modules = join(repoRoot, "node_modules");
let http: Server;
let httpPort = 0;
let httpHits = 0;
/** An h2c server (HTTP/2 with prior knowledge), which sends its SETTINGS as soon as a client connects. */
let h2: Http2Server;
let h2Port = 0;
const h2Seen: string[] = [];
const echo = createTcpServer((s) => {
  echoConnections++;
  s.pipe(s);
});
let echoPort = 0;
let echoConnections = 0;
let redis: ChildProcess | null = null;
let redisPort = 0;
const REDIS = "/usr/bin/redis-server";

// Host side: what each name resolves to, and which addresses stand for the loopback servers.
const HOSTS = {
  "api.test": ["198.51.100.10"],
  "echo.test": ["198.51.100.11"],
  "db.test": ["198.51.100.12"],
  "ssh.test": ["198.51.100.14"],
  "h2.test": ["198.51.100.15"],
  "priv.test": ["10.1.2.3"],
  "meta.test": ["169.254.169.254"],
  // First look-up: a public address; every later one: the host's loopback.
  "rebind.test": [["198.51.100.13"], ["127.0.0.1"]],
};
const ROUTES = { "198.51.100.10": "127.0.0.1", "198.51.100.11": "127.0.0.1", "198.51.100.12": "127.0.0.1", "198.51.100.13": "127.0.0.1", "198.51.100.14": "127.0.0.1", "198.51.100.15": "127.0.0.1" };

function mcpj(args: string[]): Promise<CliResult> {
  return runMcpj([...UNTIL_IT_EXITS, ...args], { env: hostNames(HOSTS, ROUTES) });
}

function audit(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** "key=value" lines a jailed program wrote on stderr. */
function results(stderr: string): Record<string, string> {
  return Object.fromEntries(
    stderr
      .split("\n")
      .map((l) => /^([a-z0-9_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

before(async () => {
  chmodSync(work, 0o755);
  http = createHttpServer((req, res) => {
    httpHits++;
    res.end(`hello ${req.url} host=${req.headers.host}`);
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  httpPort = (http.address() as AddressInfo).port;
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as AddressInfo).port;
  h2 = createH2Server((req, res) => {
    h2Seen.push(req.authority);
    res.end(`h2 for ${req.authority}`);
  });
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  h2Port = (h2.address() as AddressInfo).port;
  if (existsSync(REDIS)) {
    // A port nothing listens on, given to redis (it fails loudly if taken).
    redisPort = await freePort();
    redis = spawn(REDIS, ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((res, rej) => {
      let out = "";
      redis!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) res();
      });
      redis!.once("exit", (code) => rej(new Error(`redis-server exited ${code}: ${out}`)));
    });
  }
});

after(() => {
  h2.close();
  http.close();
  echo.close();
  redis?.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

test("node-fetch (npm) and Node's own fetch reach an allowed name, without any proxy support", async () => {
  const log = join(work, "fetch.jsonl");
  const nodeFetch = join(modules, "node-fetch", "src", "index.js");
  const script = `
const { default: nodeFetch } = await import(${JSON.stringify(nodeFetch)});
const a = await (await nodeFetch("http://api.test:${httpPort}/node-fetch")).text();
const b = await (await fetch("http://api.test:${httpPort}/fetch")).text();
process.stderr.write("node_fetch=" + a + "\\nfetch=" + b + "\\n");`;
  // The default --memory: Node's fetch (undici's WebAssembly) runs within it, with or without cgroup v2.
  const r = await mcpj(["--audit-log", log, "--ro", modules, "--allow-net", `api.test:${httpPort}`, "--", "node", "--input-type=module", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  const got = results(r.stderr);
  assert.equal(got.node_fetch, `hello /node-fetch host=api.test:${httpPort}`);
  assert.equal(got.fetch, `hello /fetch host=api.test:${httpPort}`);
  // One name handed out once; two connections, each decided and closed with its byte counts.
  const events = audit(log).filter((e) => e.type === "net");
  const dns = events.filter((e) => e.method === "DNS");
  assert.deepEqual(dns.map((e) => [e.decision, e.host]), [["allow", "api.test"]]);
  assert.match(String(dns[0]!.resolved), /^198\.1[89]\./);
  const tcp = events.filter((e) => e.method === "TCP");
  assert.equal(tcp.length, 2);
  for (const e of tcp) {
    assert.equal(e.decision, "allow");
    assert.equal(e.host, "api.test");
    assert.equal(e.port, httpPort);
    assert.equal(e.resolved, "198.51.100.10"); // what the host resolved and the proxy checked
    assert.ok((e.bytes_in as number) > 0 && (e.bytes_out as number) > 0);
  }
});

test("curl --noproxy '*' by name; the host's loopback service by 127.0.0.1:PORT and localhost:PORT", async () => {
  const before = httpHits;
  const byName = await mcpj(["--allow-net", `api.test:${httpPort}`, "--", "/usr/bin/curl", "-sS", "--noproxy", "*", `http://api.test:${httpPort}/curl`]);
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stderr, new RegExp(`hello /curl host=api.test:${httpPort}`));
  for (const host of ["127.0.0.1", "localhost"]) {
    const r = await mcpj(["--allow-net", `${host}:${httpPort}`, "--", "/usr/bin/curl", "-sS", "--noproxy", "*", `http://${host}:${httpPort}/${host}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`hello /${host} `));
  }
  assert.equal(httpHits, before + 3);
});

test("a redirected connection whose HTTP Host or TLS server_name names another host than the allowed one is reset (domain fronting)", async () => {
  const log = join(work, "fronting.jsonl");
  const before = httpHits;
  const tlsHello = `const tls = require("tls"); const s = tls.connect({ host: "api.test", port: ${httpPort}, servername: "evil.test" }); s.on("error", (e) => { process.stderr.write("tls=" + e.code + "\\n"); });`;
  const r = await mcpj([
    "--audit-log", log, "--allow-net", `api.test:${httpPort}`, "--allow-exec", "/usr/bin/curl", "--allow-exec", process.execPath, "--", "/bin/sh", "-c",
    `/usr/bin/curl -sS --noproxy '*' -H 'Host: evil.test' http://api.test:${httpPort}/fronted; echo curl=$? >&2; ${process.execPath} -e '${tlsHello}'`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = results(r.stderr);
  assert.equal(got.curl, "56", r.stderr); // "Recv failure: Connection reset by peer"
  assert.equal(got.tls, "ECONNRESET", r.stderr);
  assert.equal(httpHits, before, "nothing reached the server");
  assert.match(r.stderr, /mcp-j: the HTTP request names evil\.test, not api\.test that the connection is allowed for \(blocked\)/);
  assert.match(r.stderr, /mcp-j: the TLS handshake names evil\.test, not api\.test that the connection is allowed for \(blocked\)/);
  const denied = audit(log).filter((e) => e.type === "net" && e.decision === "deny" && e.method === "TCP");
  assert.deepEqual(denied.map((e) => [e.host, e.port, e.reason]), [["api.test", httpPort, "name-mismatch"], ["api.test", httpPort, "name-mismatch"]]);
});

test("h2c by name (curl --http2-prior-knowledge): a request naming the host is answered, one whose :authority names another is reset", async () => {
  const log = join(work, "h2c.jsonl");
  h2Seen.length = 0;
  const url = `http://h2.test:${h2Port}/`;
  const r = await mcpj([
    "--audit-log", log, "--allow-net", `h2.test:${h2Port}`, "--allow-exec", "/usr/bin/curl", "--", "/bin/sh", "-c",
    `/usr/bin/curl -sS --noproxy '*' --http2-prior-knowledge ${url} >&2; g=$?; echo >&2; echo good=$g >&2; /usr/bin/curl -sS --noproxy '*' --http2-prior-knowledge -H 'Host: evil.test' ${url} >&2; echo fronted=$? >&2`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = results(r.stderr);
  assert.equal(got.good, "0", r.stderr);
  assert.match(r.stderr, new RegExp(`h2 for h2\\.test:${h2Port}`));
  assert.notEqual(got.fronted, "0", r.stderr);
  assert.deepEqual(h2Seen, [`h2.test:${h2Port}`], "the fronted request never reached the server");
  assert.match(r.stderr, /mcp-j: the HTTP request names evil\.test, not h2\.test that the connection is allowed for \(blocked\)/);
  const denied = audit(log).filter((e) => e.type === "net" && e.decision === "deny" && e.method === "TCP");
  assert.deepEqual(denied.map((e) => [e.host, e.port, e.reason]), [["h2.test", h2Port, "name-mismatch"]]);
});

test("Python socket.create_connection: bytes both ways and a half-close through the redirect", async () => {
  const before = echoConnections;
  const r = await mcpj([
    "--allow-net", `echo.test:${echoPort}`, "--", "/usr/bin/python3", "-c",
    `import socket, sys
s = socket.create_connection(("echo.test", ${echoPort}), timeout=10)
peer = s.getpeername()
s.sendall(b"ping through the jail")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(4096)
    if not d: break
    got += d
sys.stderr.write("echo=%s\\nresolved=%s\\n" % (got.decode(), socket.gethostbyname("echo.test")))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = results(r.stderr);
  assert.equal(got.echo, "ping through the jail");
  assert.match(got.resolved ?? "", /^198\.1[89]\.\d+\.\d+$/, "the jail sees an address mcp-j handed out");
  assert.equal(echoConnections, before + 1);
});

test("redis-cli against a real redis-server, by name", async (t) => {
  if (redis === null) {
    t.skip(`${REDIS} is not installed (apt-get install redis-server redis-tools)`);
    return;
  }
  const r = await mcpj([
    "--allow-net", `db.test:${redisPort}`, "--allow-exec", "/usr/bin/redis-cli", "--", "/bin/sh", "-c",
    `redis-cli -h db.test -p ${redisPort} SET mcpj "through the jail" >&2 && redis-cli -h db.test -p ${redisPort} GET mcpj >&2`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^OK$/m);
  assert.match(r.stderr, /^through the jail$/m);
});

test("ssh and git over SSH to a real sshd, by name", async () => {
  const SSHD = "/usr/sbin/sshd";
  assert.ok(existsSync(SSHD), `${SSHD} is missing: apt-get install openssh-server`);
  const d = mkdtempSync(join(work, "ssh-"));
  chmodSync(d, 0o755);
  const keygen = (file: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(d, file)]);
  keygen("host_key");
  keygen("client_key");
  writeFileSync(join(d, "authorized_keys"), readFileSync(join(d, "client_key.pub")));
  // The jail must read the client's key, which ssh wants readable by its owner alone: as root the
  // jail is the host's nobody, so the key is nobody's.
  if (process.getuid?.() === 0) chownSync(join(d, "client_key"), 65534, 65534);
  execFileSync("git", ["init", "-q", "-b", "main", join(d, "src")]);
  execFileSync("git", ["-C", join(d, "src"), "-c", "user.name=mcp-j", "-c", "user.email=mcp-j@example.invalid", "commit", "-q", "--allow-empty", "-m", "first"]);
  execFileSync("git", ["clone", "-q", "--bare", join(d, "src"), join(d, "repo.git")]);
  const port = await freePort();
  writeFileSync(
    join(d, "sshd_config"),
    [`Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${join(d, "host_key")}`, `AuthorizedKeysFile ${join(d, "authorized_keys")}`, "PasswordAuthentication no",
      "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password", `PidFile ${join(d, "sshd.pid")}`].join("\n") + "\n",
  );
  // sshd as root wants its privilege separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const sshd = spawn(SSHD, ["-D", "-e", "-f", join(d, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  let sshdLog = "";
  sshd.stderr!.on("data", (b: Buffer) => (sshdLog += b.toString()));
  try {
    assert.ok(await waitFor(() => /Server listening on 127\.0\.0\.1 port/.test(sshdLog), 20_000), `sshd started: ${sshdLog}`);
    const user = userInfo().username;
    const ssh = `/usr/bin/ssh -F /dev/null -i ${join(d, "client_key")} -p ${port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR`;
    const r = await mcpj([
      "--ro", d, "--allow-net", `ssh.test:${port}`, "--allow-exec", "/usr/bin/ssh", "--allow-exec", "git", "--", "/bin/sh", "-c",
      `${ssh} ${user}@ssh.test 'echo over_ssh=$((6*7)) >&2' && GIT_SSH_COMMAND='${ssh}' git ls-remote --symref ssh://${user}@ssh.test:${port}${join(d, "repo.git")} >&2; echo git=$? >&2`,
    ]);
    assert.equal(r.code, 0, `${r.stderr}\n--- sshd ---\n${sshdLog}`);
    const got = results(r.stderr);
    assert.equal(got.over_ssh, "42", r.stderr);
    assert.equal(got.git, "0", r.stderr);
    assert.match(r.stderr, /^ref: refs\/heads\/main\tHEAD$/m);
  } finally {
    sshd.kill("SIGTERM");
  }
});

test("refused where asked: a name not allowed (NXDOMAIN), a port it is not allowed on, a raw IP, UDP out", async () => {
  const log = join(work, "refused.jsonl");
  const before = { http: httpHits, echo: echoConnections };
  const r = await mcpj([
    "--audit-log", log, "--allow-net", `api.test:${httpPort}`, "--", "/usr/bin/python3", "-c",
    `import socket, sys, errno
def out(k, v): sys.stderr.write("%s=%s\\n" % (k, v))
def err(f):
    try:
        f(); return "OK"
    except socket.gaierror as e: return "EAI_NONAME" if e.errno == socket.EAI_NONAME else "EAI_%d" % e.errno
    except OSError as e: return errno.errorcode.get(e.errno, str(e.errno))
out("evil", err(lambda: socket.getaddrinfo("evil.test", 80)))
addr = socket.gethostbyname("api.test")
out("wrong_port", err(lambda: socket.create_connection((addr, ${echoPort}), timeout=5)))
out("raw_ip", err(lambda: socket.create_connection(("1.1.1.1", 443), timeout=5)))
out("host_loopback", err(lambda: socket.create_connection(("127.0.0.1", ${echoPort}), timeout=5)))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out("udp_handed_out", err(lambda: u.sendto(b"x", (addr, ${httpPort}))))
out("udp_public", err(lambda: u.sendto(b"x", ("8.8.8.8", 53))))
out("udp_connect", err(lambda: u.connect(("1.1.1.1", 53))))
out("redirect_listener", err(lambda: socket.create_connection(("127.0.0.1", 3129), timeout=5)))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
out("fastopen_redirect_listener", err(lambda: t.sendto(b"x", socket.MSG_FASTOPEN, ("127.0.0.1", 3129))))
# A fast open is refused even where connect() may go (the kernel would read its address again after
# the decision, and a racing thread could change it): here the jail's own HTTP proxy.
p = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
out("fastopen_proxy", err(lambda: p.sendto(b"x", socket.MSG_FASTOPEN, ("127.0.0.1", 3128))))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = results(r.stderr);
  assert.equal(got.evil, "EAI_NONAME");
  for (const k of ["wrong_port", "raw_ip", "host_loopback", "udp_handed_out", "udp_public", "udp_connect", "redirect_listener", "fastopen_redirect_listener", "fastopen_proxy"]) {
    assert.equal(got[k], "EACCES", `${k}: ${got[k]}`);
  }
  // Each refusal names the host it was for and the flag that would allow it.
  assert.match(r.stderr, /looked up evil\.test, which --allow-net does not name \(NXDOMAIN\): allow it with --allow-net evil\.test:PORT/);
  assert.match(r.stderr, new RegExp(`connect to api\\.test:${echoPort} \\(198\\.1[89]\\.[0-9.]+\\): --allow-net does not name it \\(allow it with --allow-net api\\.test:${echoPort}\\)`));
  assert.match(r.stderr, /connect to 1\.1\.1\.1:443: --allow-net does not name it \(allow it with --allow-net 1\.1\.1\.1:443\)/);
  assert.match(r.stderr, /send to 8\.8\.8\.8:53: UDP does not leave the jail/);
  const events = audit(log);
  assert.ok(events.some((e) => e.type === "net" && e.method === "DNS" && e.decision === "deny" && e.host === "evil.test" && e.reason === "not-allowed"));
  assert.ok(events.some((e) => e.type === "syscall" && e.syscall === "connect" && e.decision === "deny" && e.addr === "1.1.1.1:443"));
  assert.deepEqual({ http: httpHits, echo: echoConnections }, before, "nothing reached the host's servers");
});

test("an allowed name whose real address is private or metadata is refused at connect, and audited", async () => {
  const log = join(work, "blocked.jsonl");
  const r = await mcpj([
    "--audit-log", log, "--allow-net", `priv.test:${httpPort}`, "--allow-net", `meta.test:${httpPort}`, "--", "/usr/bin/python3", "-c",
    `import socket, sys
for name in ("priv.test", "meta.test"):
    try:
        s = socket.create_connection((name, ${httpPort}), timeout=5)
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        sys.stderr.write("%s=%r\\n" % (name.split(".")[0], s.recv(100)))
    except OSError as e:
        sys.stderr.write("%s=%s\\n" % (name.split(".")[0], type(e).__name__))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = results(r.stderr);
  // The connect() went to the proxy, which resolved the name, saw the address and reset.
  for (const k of ["priv", "meta"]) assert.match(got[k] ?? "", /^(ConnectionResetError|BrokenPipeError|b'')$/, `${k}: ${got[k]}`);
  assert.match(r.stderr, /priv\.test resolved to 10\.1\.2\.3, a private address \(blocked; allow it explicitly with --allow-net 10\.1\.2\.3:\d+\)/);
  assert.match(r.stderr, /meta\.test resolved to 169\.254\.169\.254, a cloud metadata address \(blocked\)/);
  const denied = audit(log).filter((e) => e.type === "net" && e.decision === "deny" && e.method === "TCP");
  assert.deepEqual(denied.map((e) => [e.host, e.reason, e.resolved]).sort(), [
    ["meta.test", "blocked-address: metadata", "169.254.169.254"],
    ["priv.test", "blocked-address: private", "10.1.2.3"],
  ]);
});

test("DNS rebinding: each connection resolves the name again on the host; the second, to 127.0.0.1, is refused", async () => {
  const before = httpHits;
  const r = await mcpj([
    "--allow-net", `rebind.test:${httpPort}`, "--", "/usr/bin/python3", "-c",
    `import socket, sys
for i in (1, 2):
    try:
        s = socket.create_connection(("rebind.test", ${httpPort}), timeout=5)
        s.sendall(b"GET /rebind HTTP/1.0\\r\\nHost: rebind.test\\r\\n\\r\\n")
        d = s.recv(4096)
        sys.stderr.write("try%d=%s\\n" % (i, "answered" if b"hello /rebind" in d else repr(d)))
    except OSError as e:
        sys.stderr.write("try%d=%s\\n" % (i, type(e).__name__))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = results(r.stderr);
  assert.equal(got.try1, "answered");
  assert.match(got.try2 ?? "", /^(ConnectionResetError|BrokenPipeError|b'')$/);
  assert.match(r.stderr, /rebind\.test resolved to 127\.0\.0\.1, a loopback address \(blocked/);
  assert.equal(httpHits, before + 1, "only the first connection reached the server");
});
