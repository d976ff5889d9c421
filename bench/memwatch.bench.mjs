// The supervisor's whole-jail memory watch (issue 11: used where no cgroup v2 holds the limit),
// against baselines in the same run:
//   cost: an allocation-heavy workload (a C program that allocates, touches and frees 4 GiB in
//     64 MiB blocks, and a Python one building and dropping many objects), jailed with the watch
//     against the same jail without it: wall time ratio
//   overshoot: a fast allocator (touching memory as fast as it can, no pause) under --memory 256M:
//     how far past the limit it got when the watch stopped it (the "used" the supervisor
//     reported), worst case over the runs
// Usage: node bench/memwatch.bench.mjs [runs]   (prints medians, ratios and the worst case; asserts nothing)
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const runs = Number(process.argv[2] ?? 7);
const engine = await import(join(root, "packages/engine/dist/src/index.js"));

const dir = join(tmpdir(), `mcpj-bench-memwatch-${process.getuid?.() ?? 0}`);
mkdirSync(dir, { recursive: true });
chmodSync(dir, 0o755);
const program = (name, source) => {
  const out = join(dir, name);
  writeFileSync(`${out}.c`, source);
  execFileSync("cc", ["-O2", "-o", out, `${out}.c`]);
  chmodSync(out, 0o755);
  return out;
};
const churn = program(
  "churn",
  `#include <stdlib.h>
#include <string.h>
int main(void) {
  for (int i = 0; i < 64; i++) { char *p = malloc(64 << 20); if (!p) return 1; memset(p, i, 64 << 20); free(p); }
  return 0;
}
`,
);
const hog = program(
  "hog",
  `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  for (long mib = 0;; mib += 16) { char *p = malloc(16 << 20); if (!p) { printf("malloc failed at %ld MiB\\n", mib); return 1; } memset(p, 1, 16 << 20); }
}
`,
);
const PY = "import gc\nfor _ in range(40):\n    x = [dict(a=i, b=str(i)) for i in range(200000)]\n    del x\n    gc.collect()";

const MiB = 1024 * 1024;

async function jailed(command, { watch, memory = "2G" }) {
  const policy = engine.PolicySchema.parse({ filesystem: { ro: [dir] }, limits: { memory } });
  const t0 = process.hrtime.bigint();
  const p = engine.prepareJail({ policy, command, cwd: "/", env: process.env, ...(watch ? {} : { memoryWatch: null }) });
  const jail = engine.startJail(p, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let used = null;
  jail.onReport((r) => r.type === "memory" && (used = r.used));
  jail.stdout.resume();
  jail.process.stderr.resume();
  const exit = await jail.exited;
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, code: exit.code, used };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const [name, command] of [
  ["C: allocate, touch and free 4 GiB", [churn]],
  ["Python: build and drop 8M small objects", ["/usr/bin/python3", "-c", PY]],
]) {
  const on = [];
  const off = [];
  for (let i = 0; i < runs; i++) {
    off.push((await jailed(command, { watch: false })).ms);
    on.push((await jailed(command, { watch: true })).ms);
  }
  console.log(`${name}: watched ${median(on).toFixed(1)} ms, unwatched ${median(off).toFixed(1)} ms, ratio ${(median(on) / median(off)).toFixed(3)}x`);
}

const limit = 256 * MiB;
const over = [];
for (let i = 0; i < runs; i++) {
  const r = await jailed([hog], { watch: true, memory: "256M" });
  if (r.used === null) console.log(`  run ${i}: not stopped by the watch (exit ${r.code})`);
  else over.push(r.used - limit);
}
if (over.length > 0) {
  console.log(
    `fast allocator under --memory 256M: stopped ${over.length}/${runs} times; past the limit by median ${(median(over) / MiB).toFixed(1)} MiB, worst ${(Math.max(...over) / MiB).toFixed(1)} MiB (${((Math.max(...over) / limit) * 100).toFixed(0)}% of the limit)`,
  );
}
