#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/. Kept as plain JS so the bin works without a
// loader. Exits explicitly: a client's stdin stream would otherwise keep the process alive.
import { main } from "../dist/src/main.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // main() turns every expected failure into a message and an exit code; reaching here is a bug.
    process.stderr.write(`mcp-j: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(125);
  },
);
