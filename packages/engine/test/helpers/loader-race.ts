// The ELF-loader race of issue 10 item 3 (ESCAPES 60), shared by the item's tests and the red-team
// findings that win it: runs test/programs/loader-threads.c with one thread arrangement.
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { elfInterpreter } from "../../src/jail/exec.js";
import { eventsOf } from "./live.js";
import { program, runProgram } from "../programs/index.js";

/** Runs `attempts` attempts of `arrangement`; asserts that no program outside the allowlist ran,
 * that the race was won (the supervisor killed the loader), and that each kill was audited. */
export async function race(arrangement: string, attempts: number): Promise<void> {
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
