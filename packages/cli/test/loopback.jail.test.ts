// Issue 12 item 7: a host service named by --allow-net on loopback (127.0.0.1:PORT, localhost:PORT)
// is reached from the jail through the egress proxy by a client that honours the proxy variables
// (curl, Python urllib with no proxy option of their own), and a NO_PROXY the user sets is kept.
// The test server runs on this machine's loopback.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { runMcpj } from "./helpers.js";

let server: Server;
let port = 0;
const hits: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.end(`host service ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

test("--allow-net 127.0.0.1:PORT: curl reaches the host's service with the jail's proxy variables", async () => {
  const r = await runMcpj(["--allow-net", `127.0.0.1:${port}`, "--", "/usr/bin/curl", "-sS", `http://127.0.0.1:${port}/curl`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /host service \/curl/); // curl's stdout is not JSON-RPC: logged on stderr
  assert.ok(hits.includes("/curl"));
});

test("--allow-net localhost:PORT: Python's urllib reaches it by name", async () => {
  const r = await runMcpj([
    "--allow-net", `localhost:${port}`, "--", "/usr/bin/python3", "-c",
    `import sys, urllib.request; sys.stderr.write(urllib.request.urlopen("http://localhost:${port}/python").read().decode() + "\\n")`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /host service \/python/);
});

test("the user's --env NO_PROXY is kept (both spellings), not replaced by mcp-j's", async () => {
  const r = await runMcpj([
    "--allow-net", `127.0.0.1:${port}`, "--env", "NO_PROXY=internal.example", "--", "/usr/bin/python3", "-c",
    `import os, sys; sys.stderr.write("np=%s|%s|%s\\n" % (os.environ.get("NO_PROXY"), os.environ.get("no_proxy"), os.environ.get("HTTPS_PROXY")))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^np=internal\.example\|internal\.example\|http:\/\/127\.0\.0\.1:3128$/m);
});
