// The CLI's own package: where it is installed and what its package.json says (its name and
// version: the one place the version is written). Read only by the commands that need it
// (--version, wrap), never on the run path.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The CLI's package directory (package.json, bin/), from wherever this code runs: its dist/src/
 * (the package's own build, or an npm install) or the mcp-j command's bundle in its dist/
 * (scripts/build-cli.mjs, where import.meta.url is the bundle's URL). Resolved by the package's own
 * name, as the engine finds its package (engine-dir.ts): the "." export is <cli>/dist/src/main.js. */
export function cliDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve("@mcp-j/cli")), "..", "..");
}

/** The name and version in the CLI's package.json. */
export function cliPackage(): { name: string; version: string } {
  return JSON.parse(readFileSync(join(cliDir(), "package.json"), "utf8")) as { name: string; version: string };
}
