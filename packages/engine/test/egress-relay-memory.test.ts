// What the relay holds for a destination that does not read (red team of the relay, after 3f2d325):
// a peer that advertises a tiny receive window (SO_RCVBUF at its minimum, set by the jailed program
// on its own socket before connect()) and never reads. The kernel then builds tiny packets, each
// with its own overhead, so a send takes a fraction of what the room in its buffer promised; the
// relay that read first and kept the rest held 1.0-1.8 MB per direction in the process running it
// (mcp-j, outside the jail's memory limit). relay.c now peeks, sends, and takes from the source
// only what the send took: the rest stays in the kernel. Real sockets on loopback; the client is
// python3 (Node cannot set SO_RCVBUF).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { test } from "node:test";
import { startTunnel, type Tunnel } from "../src/egress/relay.js";
import { listenLocal } from "./helpers/http.js";
import { bound } from "./helpers/time.js";

const CONNS = 48;
/** 256 KiB per connection, with slack for Node's own allocations: far below the ~1.3 MB per
 * connection the relay held when it kept what a send did not take. */
const LIMIT = CONNS * 256 * 1024 + (8 << 20);

test("a never-reading peer with a tiny receive window does not make the relay hold MiBs per connection in its process", async () => {
  const chunk = Buffer.alloc(1 << 20, 0x41);
  const blocked = new Set<net.Socket>();
  const upstream = net.createServer((s) => {
    s.on("error", () => {});
    const pump = (): void => {
      while (s.write(chunk));
      blocked.add(s);
      s.once("drain", () => {
        blocked.delete(s);
        pump();
      });
    };
    pump();
  });
  const upPort = await listenLocal(upstream);
  const tunnels: Tunnel[] = [];
  const front = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (a) => {
    const b = net.connect({ port: upPort, host: "127.0.0.1", allowHalfOpen: true }, () => {
      b.pause();
      tunnels.push(startTunnel(a, b, { idleMs: bound(60_000) }));
    });
  });
  const frontPort = await listenLocal(front);
  const rss0 = process.memoryUsage().rss;
  const py = spawn("/usr/bin/python3", [
    "-c",
    `import socket, sys
ss = []
for i in range(${CONNS}):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    s.connect(("127.0.0.1", ${frontPort})); ss.append(s)
print("connected", flush=True)
sys.stdin.read()`,
  ], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve, reject) => {
      py.stdout.on("data", (d: Buffer) => d.toString().includes("connected") && resolve());
      py.once("exit", (c) => reject(new Error(`python3 exited ${c}`)));
    });
    // Steady state: every upstream is held back by TCP (the relay reads no more) and RSS has not
    // grown for a second; or RSS is past the limit (the finding).
    const deadline = Date.now() + bound(30_000);
    let peak = 0;
    let stableSince = Date.now();
    for (;;) {
      const grown = process.memoryUsage().rss - rss0;
      if (grown > peak + (256 << 10)) {
        peak = grown;
        stableSince = Date.now();
      }
      if (peak > LIMIT) break;
      if (tunnels.length === CONNS && blocked.size === CONNS && Date.now() - stableSince > 1000) break;
      assert.ok(Date.now() < deadline, `no steady state: ${tunnels.length} tunnels, ${blocked.size} upstreams blocked`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(peak <= LIMIT, `the relay's process grew by ${(peak / 1048576).toFixed(1)} MB for ${CONNS} stalled connections (limit ${(LIMIT / 1048576).toFixed(1)} MB)`);
  } finally {
    py.kill();
    for (const t of tunnels) t.stop("test over");
    await Promise.all(tunnels.map((t) => t.done));
    front.close();
    upstream.close();
    for (const s of blocked) s.destroy();
  }
});
