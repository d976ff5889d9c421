// The stall scenarios of test/programs/stall.c (issue 10 item 7, ESCAPES 62), shared by the stall
// tests and the red-team findings that stall the deputy.
import assert from "node:assert/strict";
import { startLive, type LiveJail } from "./live.js";
import { program } from "../programs/index.js";
import type { PolicyInput } from "../../src/policy/schema.js";

/** Runs one scenario of stall.c up to "wait:signal", sends SIGTERM to mcp-j, lets `then` act, and
 * returns the outcomes. A stall fails it: the program's watchdog prints "STALLED:<stage>". */
export async function stallScenario(args: string[], policy: PolicyInput, then?: (live: LiveJail) => Promise<void>): Promise<Map<string, string>> {
  const live = startLive([program("stall", ["-pthread"]), ...args], { policy, killAfterMs: 150_000 });
  await live.line(/^wait:signal$/, 90_000);
  live.signal("SIGTERM");
  await live.line(/^sigterm=OK$/, 30_000);
  if (then) await then(live);
  const r = await live.done();
  assert.equal(r.exit.error, null, r.stderr);
  assert.ok(r.ready?.seccomp, "supervised");
  assert.doesNotMatch(r.stdout, /STALLED/);
  return r.out;
}
