// Builds the mcp-j command as one file (docs/design.md, "Start-up"): the compiled CLI (dist/ of
// packages/cli, packages/proxy, packages/engine) and its JavaScript dependencies bundled by esbuild
// into packages/cli/dist/mcp-j.cjs, and V8's code cache of it (mcp-j.cjs.cache), which
// packages/cli/bin/mcp-j.js runs. Loading ~120 files through Node's ESM loader and compiling them
// at every start was most of mcp-j's own start-up; nothing here runs at run time.
//
//   node scripts/build-cli.mjs            build (after `tsc -b`; `npm install` runs it)
//   node scripts/build-cli.mjs --if-stale build only when a compiled file is newer than the bundle
//                                         (scripts/run-tests.mjs: tests after `npx tsc -b` run the
//                                         code just compiled)
//
// What stays outside the bundle, found from the engine's own package at run time (engine-dir.ts):
// the native helper and addon (build/Release), the assets, and `yaml` (loaded only for a YAML
// policy). A CommonJS bundle, because V8's code cache is only usable from vm.Script.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cliDist = join(root, "packages/cli/dist");
const entry = join(cliDist, "src/main.js");
const out = join(cliDist, "mcp-j.cjs");
const cache = `${out}.cache`;

/** The newest mtime of the compiled sources the bundle is made of. */
function newestInput() {
  let newest = 0;
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith(".js")) newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const pkg of ["cli", "proxy", "engine"]) walk(join(root, "packages", pkg, "dist/src"));
  return newest;
}

if (!existsSync(entry)) {
  process.stderr.write("build-cli: packages/cli/dist/src/main.js is missing: run `npx tsc -b` first\n");
  process.exit(1);
}
if (process.argv.includes("--if-stale") && existsSync(out) && existsSync(cache) && statSync(out).mtimeMs >= newestInput()) process.exit(0);

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  // A production install has no devDependencies: bin/mcp-j.js then runs the unbundled build.
  process.stderr.write("build-cli: esbuild is not installed (a devDependency); mcp-j runs unbundled\n");
  process.exit(0);
}

rmSync(cache, { force: true });
await esbuild.build({
  entryPoints: [entry],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // Identifiers stay readable in stack traces; whitespace and syntax are made small (less to read).
  minifyWhitespace: true,
  minifySyntax: true,
  // import.meta.url in a CommonJS file: the bundle's own URL (the engine finds its package from
  // it, see engine-dir.ts).
  define: { "import.meta.url": "__mcpj_bundle_url" },
  banner: { js: '"use strict";const __mcpj_bundle_url=require("node:url").pathToFileURL(__filename).href;' },
  // yaml is loaded from the engine's package when a YAML policy is read (policy/jsonc.ts).
  external: ["yaml"],
  // Our packages declare no side effects at import: what the run path does not reach is left out.
  plugins: [
    {
      name: "mcpj-side-effects",
      setup(build) {
        build.onResolve({ filter: /^@mcp-j\// }, async (args) => {
          if (args.pluginData === "mcpj") return undefined;
          const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "mcpj" });
          return { ...r, sideEffects: false };
        });
      },
    },
  ],
  logLevel: "warning",
});

// The code cache: compile the bundle exactly as bin/mcp-j.js does (the same wrapper, so V8 accepts
// the cache for it), run a representative start through it (argument parsing, policy resolution
// with the inferred profile; no jail is started), then save what V8 compiled. A cache made by
// another Node (V8) is rejected at run time, and the bundle is then compiled as usual.
const { readFileSync, writeFileSync } = await import("node:fs");
const { Module, createRequire } = await import("node:module");
const vm = await import("node:vm");
const { Writable } = await import("node:stream");
const script = new vm.Script(Module.wrap(readFileSync(out, "utf8")), { filename: out });
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(out), mod, out, dirname(out));
const sink = new Writable({ write: (_c, _e, cb) => cb() });
const io = { stdin: process.stdin, stdout: sink, stderr: sink, env: process.env, cwd: root };
await mod.exports.main(["--help"], io);
await mod.exports.main(["policy", "show", "--", "/bin/true"], io);
writeFileSync(cache, script.createCachedData());
