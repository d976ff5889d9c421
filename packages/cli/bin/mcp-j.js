#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/. Kept as plain JS so the bin works before and
// after `tsc -b` without a loader.
import { main } from "../dist/src/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // main() turns every expected failure into a message and an exit code; reaching here is a bug.
    process.stderr.write(`mcp-j: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 125;
  },
);
