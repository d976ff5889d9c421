// Issue 12 item 6: what the jail shows of the machine, computed from host facts that matter to no
// one and from the jail's own limits.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpuCount, cpuinfoFor, meminfoFor, statFor, syntheticFiles, SYNTHETIC_DIR } from "../src/jail/synthetic.js";

const HOST = `processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
microcode\t: 0x2b000590
cpu MHz\t\t: 2599.998
physical id\t: 0
flags\t\t: fpu sse sse2 pni ssse3 avx2
bugs\t\t: spectre_v1 spectre_v2 retbleed
bogomips\t: 5199.99

processor\t: 1
vendor_id\t: GenuineIntel
`;

describe("synthetic machine files", () => {
  it("counts CPUs from an online list", () => {
    assert.equal(cpuCount("0-3,8\n"), 5);
    assert.equal(cpuCount("0"), 1);
    assert.equal(cpuCount("garbage"), 1);
  });

  it("cpuinfo: one block per CPU with model and flags; no microcode, bugs, frequency or topology", () => {
    const c = cpuinfoFor(HOST, 3);
    assert.equal(c.match(/^processor\t: \d$/gm)?.length, 3);
    assert.match(c, /^processor\t: 2\nvendor_id\t: GenuineIntel\nmodel name\t: Intel\(R\) Xeon\(R\) Processor\nflags\t\t: fpu sse sse2 pni ssse3 avx2\nbogomips/m);
    assert.doesNotMatch(c, /microcode|bugs|MHz|physical id|spectre/);
  });

  it("stat: a line per CPU and no host counters; meminfo: the jail's limit", () => {
    assert.match(statFor(2), /^cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\nintr 0\n/);
    assert.match(meminfoFor(256 * 1024 * 1024), /^MemTotal:\s+262144 kB\nMemFree:\s+262144 kB\nMemAvailable:\s+262144 kB\n/);
  });

  it("the /proc names are stand-ins under the plan's directory; /sys holds the CPU lists itself", () => {
    const files = syntheticFiles(1 << 30);
    assert.deepEqual(
      files.map((f) => [f.path, f.aliasOf ?? null]),
      [
        ["/sys/devices/system/cpu/online", null],
        ["/sys/devices/system/cpu/possible", null],
        ["/sys/devices/system/cpu/present", null],
        [`${SYNTHETIC_DIR}/proc/cpuinfo`, "/proc/cpuinfo"],
        [`${SYNTHETIC_DIR}/proc/stat`, "/proc/stat"],
        [`${SYNTHETIC_DIR}/proc/meminfo`, "/proc/meminfo"],
      ],
    );
  });
});
