// `npm install` of the engine: use the prebuilt native binaries the package carries for this machine
// (prebuilt/linux-ARCH, see scripts/pack.mjs at the repository's root), else build them from source
// (check-toolchain.mjs, then build-native.mjs). A prebuilt helper counts only when it runs here.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const prebuilt = join(pkgDir, "prebuilt", `${process.platform}-${process.arch}`);
const helper = join(prebuilt, "mcpj-jail");

function runs(file) {
  // With no arguments the helper prints its usage and exits 2: it loaded and ran.
  return spawnSync(file, [], { stdio: "ignore" }).status === 2;
}

if (existsSync(helper) && existsSync(join(prebuilt, "mcpj_native.node")) && runs(helper)) process.exit(0);
for (const step of ["check-toolchain.mjs", "build-native.mjs"]) {
  const r = spawnSync(process.execPath, [join(pkgDir, "scripts", step)], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
