// Issue 10 item 7 (ESCAPES 62): the supervisor cannot be stalled. A supervised call that blocks in
// the kernel (a blocking connect to a full listen backlog, an open of a FIFO with no writer, an open
// of a file a host process holds a lease on, thousands of threads each in such a call) leaves every
// other supervised call of the jail working, and SIGTERM sent to mcp-j still reaches the server;
// the blocked call completes once what it waits for happens. A relative unix connect from a deleted
// working directory is answered. The program (test/programs/stall.c) sees each blocking call
// waiting in the kernel before it makes the others, and a watchdog turns a stall into a failure
// ("STALLED:<stage>") instead of a hang. Root and unprivileged.
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startHostSide } from "./helpers/live.js";
import { stallScenario } from "./helpers/stall.js";
import { hostDir, pick, program, removeDir, runProgram } from "./programs/index.js";
import type { PolicyInput } from "../src/policy/schema.js";

describe("the supervisor cannot be stalled (issue 10 item 7, ESCAPES 62)", { timeout: 200_000 }, () => {
  let W: string;
  before(() => {
    W = hostDir("rw");
  });
  after(() => removeDir(W));

  it("a blocking connect to a host listener with a full backlog", async () => {
    const host = await startHostSide("backlog", join(W, "S.full"));
    try {
      const out = await stallScenario(["backlog", join(W, "S.full")], { filesystem: { rw: [W] } });
      assert.deepEqual(pick(out, ["others", "sigterm", "blocked"]), { others: "OK", sigterm: "OK", blocked: "yes" });
    } finally {
      await host.stop();
    }
  });

  it("an open of a FIFO with no writer, reached through /proc/<own pid>/../.. (item 1)", async () => {
    const out = await stallScenario(["fifo", "/proc/self/../../tmp/fifo"], { filesystem: { deny: ["**/.env"] } });
    assert.deepEqual(pick(out, ["others", "sigterm", "writer", "fifo"]), { others: "OK", sigterm: "OK", writer: "OK", fifo: "OK" });
  });

  it("an open for writing of a file a host process holds a lease on", async () => {
    const f = join(W, "leased");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    const host = await startHostSide("lease", f);
    try {
      const out = await stallScenario(["lease", f], { filesystem: { rw: [W] } }, async (live) => {
        await live.line(/^wait:release$/);
        host.send("release");
        await host.line(/^released$/);
        live.answer("go");
      });
      assert.deepEqual(pick(out, ["others", "sigterm", "blocked", "lease"]), { others: "OK", sigterm: "OK", blocked: "yes", lease: "OK" });
    } finally {
      await host.stop();
    }
  });

  it("two thousand threads, each in an open of a FIFO with no writer (through /proc/self/..)", async () => {
    const out = await stallScenario(["threads", "2000"], { limits: { pids: 4096 }, filesystem: { deny: ["**/.env"] } });
    assert.deepEqual(pick(out, ["others", "sigterm", "writer", "other"]), { others: "OK", sigterm: "OK", writer: "OK", other: "0" });
    // Each either waited and then opened, or was refused at once (EAGAIN: the deputy's bounded
    // workers); none is left waiting, none failed otherwise.
    assert.equal(Number(out.get("opened")) + Number(out.get("refused")), 2000);
    assert.ok(Number(out.get("opened")) > 0, "some opens waited for the writer and completed");
  });

  it("a relative unix connect from a deleted working directory is answered (ENOENT)", async () => {
    const ops = ["mkdir /tmp/gone", "chdir /tmp/gone", "rmdir /tmp/gone", "connect sock", "read /proc/self/comm"];
    const r = await runProgram(program("pathattack"), ops, { policy: { filesystem: { deny: ["**/.env"] } }, killAfterMs: 60_000 });
    assert.deepEqual(pick(r.out, ops.slice(0, 4)), { "mkdir /tmp/gone": "OK", "chdir /tmp/gone": "OK", "rmdir /tmp/gone": "OK", "connect sock": "ENOENT" });
    assert.match(r.out.get("read /proc/self/comm") ?? "", /^data:pathattack/);
  });
});
