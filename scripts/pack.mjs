// Builds the publishable package of the mcp-j command: one tarball, @mcp-j/cli, that installs and
// runs on a machine without a C compiler (issue 12 item 11).
//
//   node scripts/pack.mjs [OUT_DIR]      (default: ./pack; prints the tarball's path on stdout)
//
// Needs the built tree (npm install). Nothing is written inside the tree: everything is staged in
// a temporary directory, then `npm pack` writes OUT_DIR/mcp-j-cli-VERSION.tgz. The tarball holds
//   - the CLI (bin, dist/src),
//   - @mcp-j/engine and @mcp-j/proxy as bundled dependencies (they are not published on their own),
//     the engine with prebuilt native binaries in prebuilt/linux-ARCH/: the jail helper, linked
//     statically (no C library version to match on the target), and the N-API addon (one build
//     serves every Node from 20 on),
//   - the engine's C sources and binding.gyp, built from source at install only when no prebuilt
//     binary fits the machine (scripts/install-native.mjs).
// x64 is built with this machine's compiler; arm64 with Debian's cross compiler
// (aarch64-linux-gnu-gcc, package gcc-aarch64-linux-gnu) when it is installed, and skipped with a
// note otherwise. The engine's JavaScript dependencies (the MCP SDK, yaml, zod) become the CLI's, and
// the registry serves them at install; nothing downloads a binary.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = resolve(process.argv[2] ?? join(root, "pack"));
const engineDir = join(root, "packages", "engine");
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));
const say = (s) => process.stderr.write(`pack: ${s}\n`);

for (const p of ["packages/cli/dist/src/main.js", "packages/engine/dist/src/index.js", "packages/proxy/dist/src/index.js"]) {
  if (!existsSync(join(root, p))) throw new Error(`${p} is missing: run npm install (it builds the tree) first`);
}

// The helper's and the addon's sources and flags, from binding.gyp (the one list of them): the
// "sources" of the mcpj-jail and mcpj_native targets and the common cflags.
const gyp = readFileSync(join(engineDir, "binding.gyp"), "utf8").replace(/#[^\n]*/g, "");
const strings = (s) => [...s.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
const jailTarget = gyp.slice(gyp.indexOf('"target_name": "mcpj-jail"'));
const sources = strings(/"sources":\s*\[([^\]]*)\]/.exec(jailTarget)[1]);
const addonTarget = gyp.slice(gyp.indexOf('"target_name": "mcpj_native"'));
const addonSources = strings(/"sources":\s*\[([^\]]*)\]/.exec(addonTarget)[1]);
const cflags = strings(/"cflags":\s*\[([^\]]*)\]/.exec(gyp)[1]);
const nodeInclude = ["/usr/include/node", join(dirname(dirname(process.execPath)), "include", "node")].find((d) => existsSync(join(d, "node_api.h")));

/** Builds the helper (static) and the addon for one architecture with compiler cc into dir. */
function build(cc, dir) {
  mkdirSync(dir, { recursive: true });
  const src = sources.map((s) => join(engineDir, s));
  execFileSync(cc, [...cflags, "-static-pie", "-Wl,-z,relro,-z,now", "-pthread", "-o", join(dir, "mcpj-jail"), ...src], { stdio: "inherit" });
  if (nodeInclude === undefined) throw new Error("node_api.h not found (Debian: apt-get install libnode-dev)");
  const addonFlags = cflags.filter((f) => f !== "-D_GNU_SOURCE").concat(["-D_GNU_SOURCE", "-fPIC", "-shared", `-I${nodeInclude}`]);
  execFileSync(cc, [...addonFlags, "-pthread", "-o", join(dir, "mcpj_native.node"), ...addonSources.map((s) => join(engineDir, s))], { stdio: "inherit" });
  chmodSync(join(dir, "mcpj-jail"), 0o755);
}

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

const stage = mkdtempSync(join(tmpdir(), "mcpj-pack-"));
try {
  const cliPkg = readJson(join(root, "packages", "cli", "package.json"));
  const enginePkg = readJson(join(engineDir, "package.json"));
  const proxyPkg = readJson(join(root, "packages", "proxy", "package.json"));
  const cli = join(stage, "cli");
  const engine = join(cli, "node_modules", "@mcp-j", "engine");
  const proxy = join(cli, "node_modules", "@mcp-j", "proxy");

  // The CLI: its bin and compiled sources; the engine's registry dependencies become its own.
  cpSync(join(root, "packages", "cli", "bin"), join(cli, "bin"), { recursive: true });
  cpSync(join(root, "packages", "cli", "dist", "src"), join(cli, "dist", "src"), { recursive: true });
  cpSync(join(root, "README.md"), join(cli, "README.md"));
  const { "@mcp-j/engine": _e, "@mcp-j/proxy": _p, ...cliDeps } = cliPkg.dependencies ?? {};
  writeFileSync(
    join(cli, "package.json"),
    JSON.stringify(
      {
        ...cliPkg,
        dependencies: { ...cliDeps, ...enginePkg.dependencies, "@mcp-j/engine": enginePkg.version, "@mcp-j/proxy": proxyPkg.version },
        bundleDependencies: ["@mcp-j/engine", "@mcp-j/proxy"],
        files: ["bin", "dist/src", "README.md"],
        os: ["linux"],
      },
      null,
      2,
    ) + "\n",
  );

  // The engine: compiled sources, the native sources for the fallback, and the prebuilt binaries.
  for (const d of ["dist/src", "native", "scripts", "assets", "schema"]) {
    if (existsSync(join(engineDir, d))) cpSync(join(engineDir, d), join(engine, d), { recursive: true });
  }
  cpSync(join(engineDir, "binding.gyp"), join(engine, "binding.gyp"));
  writeFileSync(join(engine, "package.json"), JSON.stringify({ ...enginePkg, devDependencies: undefined }, null, 2) + "\n");
  const arch = { x64: "x64", arm64: "arm64" }[process.arch];
  if (process.arch !== "x64") say(`this machine is ${process.arch}: its own build goes in prebuilt/linux-${arch ?? process.arch}`);
  build("cc", join(engine, "prebuilt", `linux-${process.arch}`));
  if (process.arch === "x64") {
    if (has("aarch64-linux-gnu-gcc")) build("aarch64-linux-gnu-gcc", join(engine, "prebuilt", "linux-arm64"));
    else say("no aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu): no arm64 binaries; arm64 installs build from source");
  }

  // The proxy: compiled sources only.
  cpSync(join(root, "packages", "proxy", "dist", "src"), join(proxy, "dist", "src"), { recursive: true });
  writeFileSync(join(proxy, "package.json"), JSON.stringify({ ...proxyPkg, devDependencies: undefined }, null, 2) + "\n");

  mkdirSync(out, { recursive: true });
  const r = spawnSync("npm", ["pack", "--pack-destination", out, "--json"], { cwd: cli, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  const info = JSON.parse(r.stdout)[0];
  say(`${info.entryCount} files, ${(info.size / 1e6).toFixed(1)} MB`);
  process.stdout.write(`${join(out, info.filename)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
