// What deny rules cost at start-up (issue 10): the walk that finds their matches in the grants and
// the masks mounted over them, on a small tree and a large one (this repository's node_modules, a
// home directory's worth of files), each against the same grant without deny rules, same run.
//   plan:  prepareJail alone (the walk is there)
//   start: a whole jail running /bin/true
// Usage: node bench/denymask.bench.mjs [runs]   (prints medians and ratios; asserts nothing)
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const runs = Number(process.argv[2] ?? 9);
const engine = await import(join(root, "packages/engine/dist/src/index.js"));

// The small tree: a project of 40 files, two of them .env.
const small = mkdtempSync(join(tmpdir(), "mcpj-bench-small-"));
chmodSync(small, 0o755);
for (let d = 0; d < 4; d++) {
  mkdirSync(join(small, `src${d}`));
  for (let f = 0; f < 10; f++) writeFileSync(join(small, `src${d}`, `f${f}.js`), "x");
}
writeFileSync(join(small, ".env"), "SECRET=1");
writeFileSync(join(small, "src1", ".env"), "SECRET=2");
const large = join(root, "node_modules");
const count = (dir) => {
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      n++;
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return n;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(tree, deny) {
  const policy = engine.PolicySchema.parse({ filesystem: { rw: [tree], deny } });
  const plans = [];
  const starts = [];
  let masks = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const p = engine.prepareJail({ policy, command: ["/bin/true"], cwd: "/", env: process.env });
    plans.push(Number(process.hrtime.bigint() - t0) / 1e6);
    masks = p.masked.masks.length;
    const jail = engine.startJail(p, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    const exit = await jail.exited;
    if (exit.code !== 0) throw new Error(`jail exited ${exit.code}: ${exit.error?.message ?? ""}`);
    starts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { plan: median(plans), start: median(starts), masks };
}

for (const [name, tree] of [
  ["small tree", small],
  ["large tree (node_modules)", large],
]) {
  const files = count(tree);
  const none = await measure(tree, []);
  const env = await measure(tree, ["**/.env"]);
  const anchored = await measure(tree, [`${tree}/.env`, `${tree}/secrets/**`]);
  console.log(`${name}, ${files} entries:`);
  console.log(`  no deny rule:          plan ${none.plan.toFixed(1)} ms, start ${none.start.toFixed(1)} ms`);
  console.log(
    `  --deny '**/.env':      plan ${env.plan.toFixed(1)} ms (${(env.plan / none.plan).toFixed(2)}x), start ${env.start.toFixed(1)} ms (${(env.start / none.start).toFixed(2)}x), ${env.masks} masked`,
  );
  console.log(
    `  anchored rules:        plan ${anchored.plan.toFixed(1)} ms (${(anchored.plan / none.plan).toFixed(2)}x), start ${anchored.start.toFixed(1)} ms (${(anchored.start / none.start).toFixed(2)}x), ${anchored.masks} masked`,
  );
}
