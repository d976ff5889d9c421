// The user manager's and the buses' sockets stay out of the jail even under a grant that holds them
// (engine/src/jail/manager-sockets.ts; red team 4, RT4-2 and RT4-3: a jail that reached the user's
// systemd manager lifted its own limits and had a program started outside). Here a stand-in
// $XDG_RUNTIME_DIR with a listening `bus` and `systemd/private`, granted writable; the VM's
// redteam4-findings.vm.test.ts does it against a real `systemd --user`.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { collect, runMcpj, startMcpj, waitFor } from "./helpers.js";

const runtime = mkdtempSync(join(tmpdir(), "mcpj-runtime-"));
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(runtime, { recursive: true, force: true });
});

async function listen(path: string): Promise<void> {
  const s = createServer((c) => c.end("manager-answered\n"));
  servers.push(s);
  await new Promise<void>((r) => s.listen(path, r));
  chmodSync(path, 0o777); // whoever the jail is, the socket's mode lets it connect
}

test("a writable grant of $XDG_RUNTIME_DIR leaves out its systemd/ and bus (EACCES), and the rest of it in", async () => {
  chmodSync(runtime, 0o777);
  mkdirSync(join(runtime, "systemd"), { mode: 0o777 });
  chmodSync(join(runtime, "systemd"), 0o777);
  await listen(join(runtime, "bus"));
  await listen(join(runtime, "systemd", "private"));
  await listen(join(runtime, "wayland-0"));
  const probe = `import socket, sys
for name in ["bus", "systemd/private", "wayland-0"]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(${JSON.stringify(runtime)} + "/" + name); sys.stderr.write(name + "=" + s.recv(64).decode().strip() + "\\n")
    except OSError as e:
        sys.stderr.write(name + "=" + __import__("errno").errorcode[e.errno] + "\\n")
try:
    open(${JSON.stringify(runtime)} + "/systemd/planted", "w"); sys.stderr.write("plant=ok\\n")
except OSError as e:
    sys.stderr.write("plant=" + __import__("errno").errorcode[e.errno] + "\\n")
`;
  const r = await runMcpj(["--rw", runtime, "--", "python3", "-c", probe], { env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^bus=EACCES$/m);
  assert.match(r.stderr, /^systemd\/private=EACCES$/m);
  assert.match(r.stderr, /^plant=EACCES$/m);
  assert.match(r.stderr, /^wayland-0=manager-answered$/m, "the rest of the grant is the jail's");
});

test("a manager socket made after the jail started, in a directory that was not there, is refused too (EACCES)", async () => {
  const late = mkdtempSync(join(tmpdir(), "mcpj-runtime-late-"));
  chmodSync(late, 0o777);
  try {
    // The jail waits for the socket (a stat is not supervised), then connects; the host makes the
    // manager's directory and socket only once the jail runs.
    const probe = `import os, socket, sys, time
p = ${JSON.stringify(join(late, "systemd", "private"))}
sys.stderr.write("ready\\n"); sys.stderr.flush()
while not os.path.exists(p): time.sleep(0.01)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(p); sys.stderr.write("late=" + s.recv(64).decode().strip() + "\\n")
except OSError as e:
    sys.stderr.write("late=" + __import__("errno").errorcode[e.errno] + "\\n")
`;
    const child = startMcpj(["--rw", late, "--", "python3", "-c", probe], { env: { ...process.env, XDG_RUNTIME_DIR: late } });
    // stdin stays open: the client's end would start mcp-j's stop while the jail still waits.
    const done = collect(child);
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    assert.ok(await waitFor(() => /^ready$/m.test(err), 20_000), err);
    mkdirSync(join(late, "systemd"), { mode: 0o777 });
    chmodSync(join(late, "systemd"), 0o777);
    await listen(join(late, "systemd", "private"));
    const r = await done;
    child.stdin?.destroy();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^late=EACCES$/m);
  } finally {
    rmSync(late, { recursive: true, force: true });
  }
});
