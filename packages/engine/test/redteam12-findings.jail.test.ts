// Red team 12: findings in the supervisor's report lines (native/jail/report.c, jail/reports.ts),
// on the real jail and kernel. Each test asserts the secure behaviour, so it fails while the
// finding is open.
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bound, compileC, programsDir } from "./helpers/jailed.js";
import { PolicySchema } from "../src/policy/schema.js";
import { prepareJail, startJail } from "../src/launch.js";
import { decodeEvent, type SupervisorEvent } from "../src/supervisor/events.js";

/* Opens DIR/a<0xFF>b (a name that is not UTF-8) and DIR/a%FFb (a name with a literal "%FF"). */
const TWO_NAMES_C = String.raw`#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    char p[4096];
    snprintf(p, sizeof p, "%s/a\xff" "b", argv[1]);
    int fd = open(p, O_RDONLY);
    if (fd >= 0) close(fd);
    snprintf(p, sizeof p, "%s/a%%FFb", argv[1]);
    fd = open(p, O_RDONLY);
    if (fd >= 0) close(fd);
    return 0;
}
`;

let program: string;
let grant: string;
before(() => {
  program = compileC("rt12-two-names", TWO_NAMES_C);
  grant = mkdtempSync(join(tmpdir(), "mcpj-rt12-"));
  chmodSync(grant, 0o755);
  writeFileSync(Buffer.concat([Buffer.from(`${grant}/a`), Buffer.from([0xff]), Buffer.from("b")]), "x\n", { mode: 0o644 });
  writeFileSync(join(grant, "a%FFb"), "x\n", { mode: 0o644 });
});
after(() => rmSync(grant, { recursive: true, force: true }));

// RT12-3 (low: the audit log names another file). A report's value is percent-encoded byte for
// byte (report.c line_str), and mcp-j decodes it with decodeURIComponent (reports.ts parseFields),
// which throws on bytes that are not UTF-8 and then keeps the value as encoded. So the file named
// "a\xFFb" (encoded a%FFb, not decodable) and the file named "a%FFb" (encoded a%25FFb, decoded
// a%FFb) are the same path in the audit log, the refusal notes and the pins' footprints; and every
// other byte of such a path stays encoded too (a space shows as %20: another path again).
it("RT12-3: a path that is not UTF-8 is not reported as the path of another file", async () => {
  const events: SupervisorEvent[] = [];
  const policy = PolicySchema.parse({ filesystem: { ro: [programsDir, grant] }, audit: { file: "/dev/null", verbosity: "decisions" } });
  const prepared = prepareJail({ cwd: process.cwd(), env: process.env, policy, command: [program, grant] });
  const jail = startJail(prepared, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  jail.onReport((r) => {
    const e = r.type === "event" ? decodeEvent(r.fields, r.lossy) : null;
    if (e !== null && e.syscall === "openat" && e.path?.startsWith(grant) === true) events.push(e);
  });
  const killer = setTimeout(() => jail.signal("SIGKILL"), bound(60_000));
  try {
    const exit = await jail.exited;
    assert.equal(exit.code, 0, exit.error?.message);
  } finally {
    clearTimeout(killer);
  }
  const paths = events.map((e) => e.path);
  assert.equal(paths.length, 2, `both opens reported: ${JSON.stringify(paths)}`);
  assert.notEqual(paths[0], paths[1], `two files, one path in the reports: ${JSON.stringify(paths)}`);
  // The one that is not UTF-8 says so (U+FFFD in its place, and incomplete: the pins take it as
  // unknown); the other is exact.
  assert.deepEqual(
    events.map((e) => [e.path, e.incomplete === true]),
    [
      [`${grant}/a\ufffdb`, true],
      [`${grant}/a%FFb`, false],
    ],
  );
});
