// Issue 10 item 3 (ESCAPES 60): the exec allowlist against the ELF-loader race, with every thread
// arrangement, 1,000 attempts each (test/programs/loader-threads.c): an approved execve path
// rewritten to the ELF loader, with argv making the loader run /usr/bin/sh, which is not on the
// allowlist. Each test proves the race was won (the supervisor killed the loader, and audited it
// as why=loader) and that sh never ran. The supervisor's table of exec watches is emptied before
// each attempt that follows a killed loader, so every attempt meets the supervisor as a first one
// would (a killed loader leaves an entry that makes it check every notification for a while).
//
// The arrangements other than "leader" are won on `main` now and then (red-team finding F9: the
// per-process watch keeps one exec'ing thread, and ends on evidence that races with the exec), and
// "stale" in about one attempt in six (finding F12): they are marked todo until that is fixed
// (MCPJ_REDTEAM_STRICT=1 runs them as ordinary tests).
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { describe, it } from "node:test";
import { elfInterpreter } from "../src/jail/exec.js";
import { eventsOf } from "./helpers/live.js";
import { program, runProgram } from "./programs/index.js";

const strict = process.env.MCPJ_REDTEAM_STRICT === "1";

async function race(arrangement: string, attempts: number): Promise<void> {
  const bin = program("loader-threads", ["-pthread"]);
  const interp = elfInterpreter(bin);
  assert.ok(interp !== null, "the test program is dynamically linked");
  const r = await runProgram(bin, [arrangement, String(attempts)], {
    policy: { env: { set: { SELF: bin, LOADER: interp } }, limits: { pids: 1024 } },
    killAfterMs: 280_000,
  });
  const n = (k: string): number => Number(r.out.get(`${arrangement}.${k}`) ?? NaN);
  assert.equal(n("attempts"), attempts, r.stderr);
  assert.equal(n("pwned"), 0, `a program outside the allowlist ran ${n("pwned")} times in ${attempts} attempts`);
  assert.equal(n("other"), 0, r.stderr);
  // The race was won, and each win was the supervisor's kill of the loader.
  assert.ok(n("killed") > 0, `the race was never won in ${attempts} attempts: the test proved nothing`);
  const loader = realpathSync(interp);
  const kills = eventsOf(r).filter((e) => e.act === "deny" && e.why === "loader" && e.path === loader);
  assert.equal(kills.length, n("killed"), "each killed loader is audited (why=loader)");
  assert.equal(n("self") + n("killed"), attempts);
}

describe("the ELF-loader race with every thread arrangement (issue 10 item 3, ESCAPES 60)", { timeout: 300_000 }, () => {
  it("the thread-group leader execs (1,000 attempts)", { timeout: 300_000 }, () => race("leader", 1000));
  const f9 = strict ? {} : { todo: "red-team finding F9: won on main now and then" };
  it("a thread that is not the leader execs while the leader is busy (1,000 attempts)", { timeout: 300_000, ...f9 }, () => race("thread", 1000));
  it("eight threads exec at once among busy ones (1,000 attempts)", { timeout: 300_000, ...f9 }, () => race("many", 1000));
  it("the leader makes execs the kernel refuses while another thread's raced exec is in flight (300 attempts)", { timeout: 300_000, ...f9 }, () =>
    race("decoy", 300),
  );
  const f12 = strict ? {} : { todo: "red-team finding F12: execveat(AT_EMPTY_PATH) decided on another process's descriptor" };
  it("execveat(fd, \"\", AT_EMPTY_PATH) of the loader while another process holds the allowed binary at that number (200 attempts)", { timeout: 300_000, ...f12 }, () =>
    race("stale", 200),
  );
});
