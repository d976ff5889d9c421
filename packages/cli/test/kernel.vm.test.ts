// Landlock as the booted kernel has it (issue 13, item 4): `doctor` reports the ABI, or the errno
// the kernel returned with the fix for it, and a start without Landlock is refused with exit 125
// and that fix. CI boots Debian's 6.1 once more with Landlock left out of lsm= (scripts/vm/ci.sh),
// so the refusal is tested on a kernel that has Landlock built in but not enabled (EOPNOTSUPP).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { runMcpj } from "./helpers.js";

if (process.env.MCPJ_VM !== "1") throw new Error("kernel.vm.test.js runs only inside the test VM (node scripts/vm/run.mjs)");
const lsmFile = "/sys/kernel/security/lsm";
if (!existsSync(lsmFile)) throw new Error(`${lsmFile} is missing: the VM's init mounts securityfs`);
const lsm = readFileSync(lsmFile, "utf8").trim();
const landlockOn = lsm.split(",").includes("landlock");

type Row = { feature: string; status: string; effect: string; ok: boolean; mandatory: boolean };

test(`doctor's Landlock row matches the kernel (lsm=${lsm})`, async () => {
  const r = await runMcpj(["doctor", "--json"]);
  const rows = (JSON.parse(r.stdout) as { features: Row[] }).features;
  const ll = rows.find((f) => f.feature === "Landlock")!;
  if (landlockOn) {
    assert.equal(r.code, 0, r.stdout);
    assert.match(ll.status, /^ABI [1-9]\d*$/);
  } else {
    assert.equal(r.code, 1, r.stdout);
    assert.equal(ll.status, "unavailable: EOPNOTSUPP");
    assert.match(ll.effect, new RegExp(`not enabled at boot \\(EOPNOTSUPP\\): add it to the kernel's boot parameters, lsm=landlock,${lsm}, and reboot`));
  }
  // Names as data, without the table's layout.
  for (const f of rows) assert.equal(f.feature, f.feature.trim());
});

test(landlockOn ? "with Landlock a jail starts" : "without Landlock at boot a start is refused: exit 125, one line with the lsm= fix", async () => {
  const r = await runMcpj(["--", "/bin/true"]);
  if (landlockOn) {
    assert.equal(r.code, 0, r.stderr);
    return;
  }
  assert.equal(r.code, 125, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("mcp-j"));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^mcp-j: cannot start the jail: Landlock is built into this kernel but not enabled at boot \(EOPNOTSUPP\): add it to the kernel's boot parameters, lsm=landlock,/);
});
