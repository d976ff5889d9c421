// Issue 10 item 3 (ESCAPES 60): the exec allowlist against the ELF-loader race, with every thread
// arrangement, 1,000 attempts each (test/programs/loader-threads.c): an approved execve path
// rewritten to the ELF loader, with argv making the loader run /usr/bin/sh, which is not on the
// allowlist. Each test proves the race was won (the supervisor killed the loader, and audited it
// as why=loader) and that sh never ran. The supervisor's table of exec watches is emptied before
// each attempt that follows a killed loader, so every attempt meets the supervisor as a first one
// would (a killed loader leaves an entry that makes it check every notification for a while).
//
// The arrangements other than "leader" are won on `main` now and then (red-team finding F9: the
// per-process watch keeps one exec'ing thread, and ends on evidence that races with the exec):
// they are marked todo until that is fixed (MCPJ_REDTEAM_STRICT=1 runs them as ordinary tests).
// Two arrangements that win it more often are in redteam-findings.jail.test.ts (F9 "decoy", F12).
import { describe, it } from "node:test";
import { race } from "./helpers/loader-race.js";

const strict = process.env.MCPJ_REDTEAM_STRICT === "1";

describe("the ELF-loader race with every thread arrangement (issue 10 item 3, ESCAPES 60)", { timeout: 300_000 }, () => {
  it("the thread-group leader execs (1,000 attempts)", { timeout: 300_000 }, () => race("leader", 1000));
  const f9 = strict ? {} : { todo: "red-team finding F9: won on main now and then" };
  it("a thread that is not the leader execs while the leader is busy (1,000 attempts)", { timeout: 300_000, ...f9 }, () => race("thread", 1000));
  it("eight threads exec at once among busy ones (1,000 attempts)", { timeout: 300_000, ...f9 }, () => race("many", 1000));
});
