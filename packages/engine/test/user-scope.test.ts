// The "user scope" route's decisions made on the host (cgroup/user-scope.ts); the route itself runs
// against a real systemd user manager in the test VM (packages/cli/test/user-scope.vm.test.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { afterEnvI, userManager, userScopePlan } from "../src/cgroup/user-scope.js";

const d = mkdtempSync(join(tmpdir(), "mcpj-user-scope-"));
after(() => rmSync(d, { recursive: true, force: true }));
const uid = process.getuid?.() ?? 0;

test("a user manager is asked only for a user, with XDG_RUNTIME_DIR, when its private socket is that user's", async () => {
  assert.equal(userManager({ XDG_RUNTIME_DIR: d }, 0), undefined, "root uses the system's cgroups");
  assert.deepEqual(userManager({}, 4242), { available: false, reason: "no systemd user manager (XDG_RUNTIME_DIR is not set)" });
  assert.deepEqual(userManager({ XDG_RUNTIME_DIR: d }, 4242), { available: false, reason: `no systemd user manager (no ${d}/systemd/private)` });
  mkdirSync(join(d, "systemd"));
  const socket = join(d, "systemd", "private");
  const server = createServer();
  await new Promise<void>((r) => server.listen(socket, r));
  try {
    const other = uid === 4242 ? 4243 : 4242;
    assert.deepEqual(userManager({ XDG_RUNTIME_DIR: d }, other), { available: false, reason: `no systemd user manager (${socket} is not a socket of uid ${other})` });
    if (uid === 0) chownSync(socket, 4242, 4242);
    const mine = uid === 0 ? 4242 : uid;
    const expected = existsSync("/usr/bin/systemd-run") ? { available: true, runtimeDir: d } : { available: false, reason: "no /usr/bin/systemd-run" };
    assert.deepEqual(userManager({ XDG_RUNTIME_DIR: d }, mine), expected);
  } finally {
    server.close();
  }
});

test("the helper starts through systemd-run in a delegated scope, with an empty environment", () => {
  const p = userScopePlan({ jailId: "abc", runtimeDir: "/run/user/1000", limits: { memoryBytes: 64 << 20, pids: 50, cpus: 1.5, openFiles: 1024 }, controllers: ["memory", "pids"], hasKill: true });
  assert.equal(p.unit, `mcp-j-${process.pid}-abc.scope`);
  assert.deepEqual(p.wrapper, ["/usr/bin/systemd-run", "--user", "--scope", "--quiet", "--collect", `--unit=${p.unit}`, "-p", "Delegate=yes", "--", "/usr/bin/env", "-i"]);
  assert.deepEqual(p.env, { PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: "/run/user/1000", SYSTEMD_LOG_TARGET: "console" });
});

test("a helper that is not in its scope is refused (the jail then never gets its plan)", async () => {
  const p = userScopePlan({ jailId: "abc", runtimeDir: "/run/user/1000", limits: { memoryBytes: 64 << 20, pids: 50, openFiles: 1024 }, controllers: ["memory", "pids"], hasKill: true });
  await assert.rejects(p.attach(process.pid, 50), { message: `the jail's helper was not in ${p.unit} within 50 ms` });
  await assert.rejects(p.attach(2 ** 22 + 1, 50), { message: `the jail's helper (pid ${2 ** 22 + 1}) ended before it was in ${p.unit}` });
});

test("the helper is started after `env -i` even when its path holds a '=' (env would take the path for a variable)", () => {
  const d = mkdtempSync(join(tmpdir(), "mcpj-env-i-"));
  try {
    for (const dir of ["plain", "a=b"]) {
      mkdirSync(join(d, dir));
      const program = join(d, dir, "helper");
      writeFileSync(program, '#!/bin/sh\necho "ran $# $1 [$2] MCPJ_TRACE=$MCPJ_TRACE HOME=$HOME"\n');
      chmodSync(program, 0o755);
      const r = spawnSync("/usr/bin/env", ["-i", ...afterEnvI({ MCPJ_TRACE: "1" }, program, ["--plan-fd", "a b"])], { encoding: "utf8", env: { HOME: "/nowhere" } });
      assert.equal(r.status, 0, `${dir}: ${r.stderr}`);
      assert.equal(r.stdout, "ran 2 --plan-fd [a b] MCPJ_TRACE=1 HOME=\n", dir);
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
