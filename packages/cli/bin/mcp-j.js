#!/usr/bin/env node
// The mcp-j command. CommonJS (bin/package.json says so): Node starts a CommonJS entry a few
// milliseconds sooner than an ES module, and mcp-j's start-up is on every MCP server's start-up path
// (docs/design.md, "Start-up"). It runs the bundle (dist/mcp-j.cjs: the CLI and its dependencies in
// one file, built with V8's code cache of it by scripts/build-cli.mjs at `npm install`), or the
// unbundled build (dist/src/main.js) where there is no bundle. Exits explicitly: a client's stdin
// stream would otherwise keep the process alive.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

function loadBundle() {
  const file = join(__dirname, "..", "dist", "mcp-j.cjs");
  let source;
  try {
    source = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    /* compiled as usual */
  }
  const { Module, createRequire } = require("node:module");
  // The same wrapper the build used to make the cache (V8 rejects a cache made for other source).
  const script = new (require("node:vm").Script)(Module.wrap(source), { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, join(__dirname, "..", "dist"));
  return mod.exports.main;
}

function run(main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      // main() turns every expected failure into a message and an exit code; reaching here is a bug.
      process.stderr.write(`mcp-j: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(125);
    },
  );
}

const bundled = loadBundle();
if (bundled !== null) run(bundled);
else import("../dist/src/main.js").then((m) => run(m.main));
