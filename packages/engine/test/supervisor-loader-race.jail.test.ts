// ESCAPES 38, the loader variant: the ELF interpreter is executable (the kernel opens it to start
// any dynamic binary), so a thread that rewrites an approved execve path to it can start the loader
// as a program, which would then run a binary outside the exec allowlist. The supervisor kills such
// a process at its first notified syscall, before the loader opens the binary it was given.
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { test } from "node:test";
import { elfInterpreter } from "../src/jail/exec.js";
import { runJailed } from "./helpers/jailed.js";
import { program, withPrograms } from "./programs/index.js";

test("ESCAPES 38 (loader): a raced execve that starts the ELF loader never runs a program outside the allowlist", async () => {
  const bin = program("loader-race", ["-pthread"]);
  const interp = elfInterpreter(bin);
  assert.ok(interp !== null, "the test program is dynamically linked");
  const loader = realpathSync(interp);
  const r = await runJailed([bin], {
    policy: withPrograms({ env: { set: { SELF: bin, LOADER: interp } } }),
    killAfterMs: 120_000,
  });
  assert.equal(r.exit.error, null, r.stderr);
  assert.ok(r.ready?.seccomp, "supervised");
  assert.doesNotMatch(r.stderr, /PWNED/);
  const killed = r.reports.some((x) => x.type === "event" && x.fields.why === "loader" && x.fields.path === loader);
  if (killed) {
    // The race was won: the loader ran as the program and was killed at once.
    assert.equal(r.code, 137, r.stderr);
  } else {
    // Not won within the bound on this run: the program says so; nothing else ran either.
    assert.match(r.stderr, /race: not won in \d+ generations/);
    assert.equal(r.code, 3);
  }
});
