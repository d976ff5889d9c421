// ESCAPES 48, inside a grant: a connect to a pathname unix socket is emulated by the supervisor
// (resolved beneath the jail's root, decided on the socket file it reached, connected through that
// inode), because Landlock does not check it. A host agent's socket under a read-only grant or a
// deny glob stays closed; one in a writable grant is the jail's to use.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { program, runProgram } from "./programs/index.js";

let dir = "";
let sock = "";
let server: Server;
let connections = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpj-unix-"));
  chmodSync(dir, 0o777); // the jail is host nobody when the tests run as root
  sock = join(dir, "S.agent");
  server = createServer((c) => {
    connections++;
    c.end("host-agent-says-hi");
  });
  await new Promise<void>((r) => server.listen(sock, r));
  chmodSync(sock, 0o777);
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function attempt(policy: { ro?: string[]; rw?: string[]; deny?: string[] }): Promise<{ out: Map<string, string>; denied: boolean }> {
  const r = await runProgram(program("unix-connect"), [sock], { policy: { filesystem: { ro: policy.ro ?? [], rw: policy.rw ?? [], deny: policy.deny ?? [] } } });
  const denied = r.reports.some((x) => x.type === "event" && x.fields.act === "deny" && x.fields.sc === "connect" && x.fields.path === sock);
  return { out: r.out, denied };
}

test("a host socket under a read-only grant: connect → EACCES, audited; the host server sees nothing", async () => {
  const before = connections;
  const { out, denied } = await attempt({ ro: [dir] });
  assert.equal(out.get("connect"), "EACCES");
  assert.ok(denied, "a deny event names the socket");
  assert.equal(connections, before);
});

test("a host socket matched by a deny glob inside a writable grant: connect → EACCES", async () => {
  const before = connections;
  const { out, denied } = await attempt({ rw: [dir], deny: ["**/S.agent"] });
  assert.equal(out.get("connect"), "EACCES");
  assert.ok(denied);
  assert.equal(connections, before);
});

test("a socket in a writable grant: the emulated connect reaches it", async () => {
  const { out } = await attempt({ rw: [dir] });
  assert.equal(out.get("connect"), "OK");
  assert.equal(out.get("got"), "host-agent-says-hi");
});

// A send on a unix stream or seqpacket socket by a one-thread process is the kernel's own (the
// receiver's SCM_CREDENTIALS name the sender, which Chromium's zygote relies on); the descriptor
// cannot be swapped under it because clone(CLONE_FILES) without CLONE_THREAD is refused. A datagram
// send is the deputy's (its name is decided on a copy): credentials there name the deputy.
test("sends on unix stream and seqpacket sockets keep the sender's credentials; CLONE_FILES without a thread is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mcpj-creds-"));
  try {
    const r = await runProgram(program("sendcreds", ["-pthread"]), [], { policy: { filesystem: { ro: [dir] } } });
    assert.deepEqual(
      ["stream.creds", "seqpacket.creds", "clone_files", "clone_thread_private_files", "thread"].map((k) => r.out.get(k)),
      ["sender", "sender", "EPERM", "EPERM", "OK"],
      r.stdout + r.stderr,
    );
    assert.match(r.out.get("dgram.creds") ?? "", /^(sender|pid-\d+)$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
