// What the profiles cost at start (issue 16, issue 11), against baselines in the same run:
//   probe   what the profiles did before: run the interpreter on the host to ask its layout
//           (`python3 -c 'import sys, json; ...'`, through a pyenv shim when PATH has one) and
//           `npm config get registry` in the start directory
//   read    what they do now: read pyvenv.cfg, the layout and the user's npmrc files, nothing run
//   memo    the same within one process once the runtime was read (runtime-cache.ts): what a
//           program starting many jails pays from the second start on
// Usage: node bench/profiles.bench.mjs [runs]   (medians and ratios; asserts nothing)
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const runs = Number(process.argv[2] ?? 30);
const profiles = await import(join(root, "packages/engine/dist/src/policy/profiles/index.js"));
const env = process.env;
const cwd = "/";

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(f, { warm = 2, each } = {}) {
  const samples = [];
  for (let i = 0; i < runs + warm; i++) {
    each?.();
    const t0 = process.hrtime.bigint();
    await f();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= warm) samples.push(dt);
  }
  return median(samples);
}

function spawnOk(cmd, args) {
  return () => {
    const r = spawnSync(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  };
}

const PY_PROBE =
  "import sys, json; print(json.dumps({'executable': sys.executable, 'prefixes': [sys.prefix, sys.base_prefix, sys.exec_prefix, getattr(sys, 'base_exec_prefix', sys.exec_prefix)]}))";
const python = profiles.whichSync("python3", env, cwd);
const npm = profiles.whichSync("npm", env, cwd);
const rows = [];
const ctx = (command) => ({ cwd, env, command });

if (python !== undefined) {
  const probe = await time(spawnOk(python, ["-c", PY_PROBE]));
  const read = await time(() => profiles.builtinProfile("python", ctx(["python3"])), { each: profiles.clearRuntimeCache });
  const memo = await time(() => profiles.builtinProfile("python", ctx(["python3"])));
  rows.push(["python", `${python}`, probe, read, memo]);
}
if (npm !== undefined) {
  const probe = await time(spawnOk(npm, ["config", "get", "registry", "--workspaces=false", "--loglevel=error"]));
  const read = await time(() => profiles.builtinProfile("npx", ctx(["npx", "-y", "x"])), { each: profiles.clearRuntimeCache });
  const memo = await time(() => profiles.builtinProfile("npx", ctx(["npx", "-y", "x"])));
  rows.push(["npx", "npm config get registry", probe, read, memo]);
}
const nodeRead = await time(() => profiles.builtinProfile("node", ctx(["node"])), { each: profiles.clearRuntimeCache });
const nodeMemo = await time(() => profiles.builtinProfile("node", ctx(["node"])));
rows.push(["node", "(never probed)", NaN, nodeRead, nodeMemo]);

const ms = (x) => (Number.isNaN(x) ? "—" : `${x.toFixed(3)} ms`);
console.log(`profiles: median of ${runs} (probe = the host process the old profile ran; read = now; memo = second start in one process)`);
for (const [name, what, probe, read, memo] of rows) {
  const ratio = Number.isNaN(probe) ? "" : `  probe/read ${(probe / read).toFixed(0)}x`;
  console.log(`  ${name.padEnd(7)} probe ${ms(probe).padStart(11)}  read ${ms(read).padStart(10)}  memo ${ms(memo).padStart(10)}${ratio}  read/memo ${(read / memo).toFixed(1)}x   [${what}]`);
}
