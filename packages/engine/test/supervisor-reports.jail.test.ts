// The supervisor's reports to mcp-j (native/jail/sup_events.h, ctl_in.h), on the real jail and
// kernel, as root and unprivileged:
// - Jail.settle: once it resolves, every report the supervisor made before it was called has
//   reached onReport's listeners, however many were queued. Attribution waits for it before it
//   forwards a tool call's result (the notes, the pins): the reports travel on their own socket and
//   the server's answer can overtake them.
// - none is lost: a jail that makes reports faster than mcp-j reads them is slowed down, instead of
//   its reports being dropped (a dropped report hid a touch from the pins, a line from the audit log).
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bound, compileC, programsDir } from "./helpers/jailed.js";
import { PolicySchema } from "../src/policy/schema.js";
import { prepareJail, startJail } from "../src/launch.js";
import type { Jail } from "../src/jail/jail.js";
import { decodeEvent, type SupervisorEvent } from "../src/supervisor/events.js";

/* Opens `many` N times, then `last` once, says "done", and waits for its stdin to end. */
const BURST_C = String.raw`#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 4) return 2;
    int n = atoi(argv[2]);
    for (int i = 0; i < n; i++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd >= 0) close(fd);
    }
    int fd = open(argv[3], O_RDONLY);
    if (fd >= 0) close(fd);
    printf("done\n");
    fflush(stdout);
    char b[64];
    while (read(0, b, sizeof b) > 0) {}
    return 0;
}
`;

let burst: string;
let grant: string;
before(() => {
  burst = compileC("settle-burst", BURST_C);
  grant = mkdtempSync(join(tmpdir(), "mcpj-settle-"));
  chmodSync(grant, 0o755);
  writeFileSync(join(grant, "many"), "x\n", { mode: 0o644 });
  writeFileSync(join(grant, "last"), "x\n", { mode: 0o644 });
});
after(() => rmSync(grant, { recursive: true, force: true }));

const N = 2000;

/** Starts the burst program in a jail whose every allowed open is reported; `onEvent` sees each
 * report as it is read. */
function startBurst(count: number, onEvent: (e: SupervisorEvent) => void, stdout: "pipe" | number = "pipe"): Jail {
  // Allowed opens are reported (an audit log at verbosity decisions) and written when the
  // supervisor's loop flushes, after it answered them: the program can print before they are sent.
  const policy = PolicySchema.parse({ filesystem: { ro: [programsDir, grant] }, audit: { file: "/dev/null", verbosity: "decisions" } });
  const prepared = prepareJail({ cwd: process.cwd(), env: process.env, policy, command: [burst, join(grant, "many"), String(count), join(grant, "last")] });
  const jail = startJail(prepared, { stdin: "pipe", stdout, stderr: "pipe" });
  jail.onReport((r) => {
    const e = r.type === "event" ? decodeEvent(r.fields) : null;
    if (e !== null) onEvent(e);
  });
  return jail;
}

const opened = (events: readonly SupervisorEvent[], path: string): number => events.filter((e) => e.action === "allow" && e.syscall === "openat" && e.path === path).length;

it("settle resolves only after every report made before it: 2,000 allowed opens that this process had not read yet", async () => {
  // This process does not read the reports while the program runs (its loop is held until the
  // program says "done"), as a busy mcp-j may not: they wait in the socket and in the supervisor's
  // queue. What settle promises holds anyway.
  const outFile = join(grant, "stdout");
  const out = openSync(outFile, "w");
  const events: SupervisorEvent[] = [];
  const jail = startBurst(N, (e) => events.push(e), out);
  closeSync(out);
  const killer = setTimeout(() => jail.signal("SIGKILL"), bound(60_000));
  try {
    await jail.ready;
    // Held here (no report is read) until the program has made every open and said so.
    const end = Date.now() + bound(30_000);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!readFileSync(outFile, "utf8").includes("done\n") && Date.now() < end) Atomics.wait(nap, 0, 0, 2);
    assert.match(readFileSync(outFile, "utf8"), /done/, "the program finished its opens");
    const before = events.length;
    assert.equal(await jail.settle(bound(10_000)), true, "the supervisor answered the sync");
    assert.ok(before < N, `the reports were still on their way when the program said done (${before} read)`);
    assert.equal(events.filter((e) => e.action === "dropped").length, 0, "no report was dropped");
    assert.equal(opened(events, join(grant, "many")), N);
    assert.equal(opened(events, join(grant, "last")), 1, "the last open's report had arrived when settle resolved");
    jail.stdin!.end();
    const exit = await jail.exited;
    assert.equal(exit.code, 0);
    // Once the helper is gone, settle has nothing to wait for.
    assert.equal(await jail.settle(bound(10_000)), true);
  } finally {
    clearTimeout(killer);
  }
});

it("a reader slower than the jail loses no report: 10,000 opens, each report taking this process 100 µs to handle", async () => {
  // The jail makes reports several times faster than this reader takes them: the supervisor's
  // queue fills, and it stops taking the jail's calls until there is room (before, it dropped
  // reports and counted them).
  const events: SupervisorEvent[] = [];
  const busy = (us: number): void => {
    const end = process.hrtime.bigint() + BigInt(us * 1000);
    while (process.hrtime.bigint() < end) {
      /* a slow reader */
    }
  };
  const count = 10_000;
  const jail = startBurst(count, (e) => {
    busy(100);
    events.push(e);
  });
  const killer = setTimeout(() => jail.signal("SIGKILL"), bound(120_000));
  try {
    let out = "";
    jail.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("done\n")) jail.stdin!.end();
    });
    const exit = await jail.exited;
    assert.equal(exit.code, 0, exit.error?.message);
    const dropped = events.filter((e) => e.action === "dropped");
    assert.deepEqual(dropped, [], "no report was dropped");
    assert.equal(opened(events, join(grant, "many")), count);
    assert.equal(opened(events, join(grant, "last")), 1);
  } finally {
    clearTimeout(killer);
  }
});
