// Runs the compiled test files with Node's built-in runner (its "# pass" / "# fail" summary is what
// CI reads). Node 20's runner takes no globs, so the files are collected here.
//   node scripts/run-tests.mjs               every test file
//   node scripts/run-tests.mjs --jail-only   only *.jail.test.js (CI runs these again unprivileged)
//   node scripts/run-tests.mjs --vm          only *.vm.test.js (run inside the cgroup v2 VM, see scripts/vm)
//   node scripts/run-tests.mjs PATTERN...    files whose path contains one of the patterns
// *.vm.test.js files need a cgroup v2 machine and are never part of the default run.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const jailOnly = args.includes("--jail-only");
const vmOnly = args.includes("--vm");
const patterns = args.filter((a) => !a.startsWith("--"));

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

let files = [];
for (const pkg of readdirSync(join(root, "packages"))) walk(join(root, "packages", pkg, "dist", "test"), files);
files.sort();
files = files.filter((f) => f.endsWith(".vm.test.js") === vmOnly);
if (jailOnly) files = files.filter((f) => f.endsWith(".jail.test.js"));
if (patterns.length > 0) files = files.filter((f) => patterns.some((p) => relative(root, f).includes(p)));
if (files.length === 0) {
  process.stderr.write("run-tests: no test files found; run `npm install` (it builds dist/) first\n");
  process.exit(1);
}
// --test-timeout: a hung test fails (after 5 minutes, times MCPJ_TEST_TIME_SCALE: the bound every
// wait in the tests is scaled by, see packages/engine/test/helpers/time.ts) instead of hanging CI;
// --test-force-exit:
// a test file whose tests are done exits even if a failed test left a child process behind.
// In the VM (software emulation) one file at a time: its cgroup tests watch the whole tree.
const concurrency = vmOnly ? 1 : 2;
const scale = Number(process.env.MCPJ_TEST_TIME_SCALE || 1);
if (!(scale >= 1)) {
  process.stderr.write(`run-tests: MCPJ_TEST_TIME_SCALE must be a number ≥ 1, got ${process.env.MCPJ_TEST_TIME_SCALE}\n`);
  process.exit(2);
}
// The mcp-j command the tests start is the bundle (scripts/build-cli.mjs): rebuilt here when a
// compiled file is newer, so that tests run after `npx tsc -b` run the code just compiled.
const bundle = spawnSync(process.execPath, [join(root, "scripts/build-cli.mjs"), "--if-stale"], { stdio: "inherit" });
if (bundle.status !== 0) process.exit(bundle.status ?? 1);
const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${concurrency}`, `--test-timeout=${Math.round(300000 * scale)}`, "--test-force-exit", ...files], {
  stdio: "inherit",
  cwd: root,
});
process.exit(r.status ?? 1);
