// Issue 10 item 3 (ESCAPES 60): the exec allowlist against the ELF-loader race, with every thread
// arrangement, 500 attempts each (test/programs/loader-threads.c): an approved execve path
// rewritten to the ELF loader, with argv making the loader run /usr/bin/sh, which is not on the
// allowlist. Each test proves the race was won (the supervisor killed the loader, and audited it
// as why=loader) and that sh never ran. The arrangements other than "leader" were won by the
// loader before the supervisor read /proc/TID/exe at every notification (red-team finding F9);
// two that won it more often are in redteam-findings.jail.test.ts (F9 "decoy", F12).
import { describe, it } from "node:test";
import { race } from "./helpers/loader-race.js";

describe("the ELF-loader race with every thread arrangement (issue 10 item 3, ESCAPES 60)", { timeout: 300_000 }, () => {
  it("the thread-group leader execs (500 attempts)", { timeout: 300_000 }, () => race("leader", 500));
  it("a thread that is not the leader execs while the leader is busy (500 attempts)", { timeout: 300_000 }, () => race("thread", 500));
  it("eight threads exec at once among busy ones (500 attempts)", { timeout: 300_000 }, () => race("many", 500));
});
