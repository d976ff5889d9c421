// Issue 12 item 6: what common runtimes read at start is there in the jail (Node's os.cpus(),
// glibc's CPU count, /proc/meminfo at the jail's limit), and nothing of the host that matters.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runMcpj } from "./helpers.js";

test("Node sees its CPUs and their model, Python its CPU count, /proc/meminfo the --memory limit", async () => {
  const node = await runMcpj([
    "--memory", "256M", "--", "node", "-e",
    `const os = require("os"), fs = require("fs");
console.error("cpus", os.cpus().length, JSON.stringify(os.cpus()[0].model));
console.error("meminfo", fs.readFileSync("/proc/meminfo", "utf8").split("\\n")[0].replace(/\\s+/g, " "));
const info = fs.readFileSync("/proc/cpuinfo", "utf8");
console.error("hidden", /microcode|bugs|MHz/.test(info));
try { fs.openSync("/proc/cpuinfo", "w"); console.error("write ok"); } catch (e) { console.error("write", e.code); }`,
  ]);
  assert.equal(node.code, 0, node.stderr);
  const cpus = Number(/^cpus (\d+) "[^"]+"$/m.exec(node.stderr)?.[1]);
  assert.ok(cpus > 0, node.stderr);
  assert.match(node.stderr, /^meminfo MemTotal: 262144 kB$/m);
  assert.match(node.stderr, /^hidden false$/m);
  assert.match(node.stderr, /^write E(ACCES|ROFS)$/m);
  const py = await runMcpj(["--", "/usr/bin/python3", "-c", `import os, sys; sys.stderr.write("py %d %s\\n" % (os.cpu_count(), open("/sys/devices/system/cpu/online").read().strip()))`]);
  assert.equal(py.code, 0, py.stderr);
  assert.match(py.stderr, new RegExp(`^py ${cpus} ${cpus === 1 ? "0" : `0-${cpus - 1}`}$`, "m"));
});
