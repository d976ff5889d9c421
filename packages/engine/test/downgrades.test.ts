// Issue 10 item 8: every downgrade is decided in TypeScript and carried by the compiled plan; the C
// helper accepts exactly the plan's bits (P_DOWNGRADES) and refuses any other. Without --strict a
// plan accepts every downgrade; under --strict only those another layer covers: never /proc
// without subset=pid, never a notification without WAIT_KILLABLE_RECV. (Real old kernels are
// exercised by the VM harness; this is the decision itself.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { acceptedDowngrades, DOWNGRADE_NAMES, DOWNGRADES, downgradeNames, landlockDowngrades } from "../src/jail/downgrades.js";
import { Downgrade } from "../src/jail/plan.js";
import { prepareJail } from "../src/launch.js";
import { PolicySchema } from "../src/policy/schema.js";

const ALL = Object.values(Downgrade).reduce((a, b) => a | b, 0);

describe("downgrades are plan fields decided in TypeScript (issue 10 item 8)", () => {
  it("without --strict every downgrade is accepted; under --strict only the covered ones", () => {
    assert.equal(acceptedDowngrades(false), ALL);
    const strict = acceptedDowngrades(true);
    assert.deepEqual(downgradeNames(strict).sort(), ["landlockIoctlDev", "landlockNet", "landlockRefer", "landlockScope", "landlockTruncate"]);
    assert.equal(strict & Downgrade.procSubset, 0, "/proc without subset=pid is never accepted under --strict");
    assert.equal(strict & Downgrade.waitKillable, 0, "a notification without WAIT_KILLABLE_RECV is never accepted under --strict");
  });

  it("each downgrade says what is missing, from which kernel, and what covers it (null: nothing)", () => {
    assert.deepEqual([...DOWNGRADE_NAMES].sort(), Object.keys(Downgrade).sort());
    for (const n of DOWNGRADE_NAMES) {
      assert.ok(DOWNGRADES[n].missing.length > 0 && /^\d+\.\d+$/.test(DOWNGRADES[n].since), n);
    }
    assert.deepEqual(DOWNGRADE_NAMES.filter((n) => DOWNGRADES[n].coveredBy === null).sort(), ["procSubset", "waitKillable"]);
  });

  it("the Landlock downgrades follow the ABI", () => {
    const want: Record<number, string[]> = {
      1: ["landlockIoctlDev", "landlockNet", "landlockRefer", "landlockScope", "landlockTruncate"],
      2: ["landlockIoctlDev", "landlockNet", "landlockScope", "landlockTruncate"],
      3: ["landlockIoctlDev", "landlockNet", "landlockScope"],
      4: ["landlockIoctlDev", "landlockScope"],
      5: ["landlockScope"],
      6: [],
      7: [],
    };
    for (const [abi, names] of Object.entries(want)) assert.deepEqual(downgradeNames(landlockDowngrades(Number(abi))).sort(), names, `ABI ${abi}`);
  });

  it("the compiled plan carries the accepted bits, --strict or not", () => {
    for (const strict of [false, true]) {
      const p = prepareJail({ cwd: "/", env: {}, policy: PolicySchema.parse({ strict }), command: ["/usr/bin/true"] });
      assert.equal(p.plan.downgrades, acceptedDowngrades(strict), `strict=${strict}`);
    }
  });
});
