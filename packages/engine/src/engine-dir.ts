// Where this package is installed: its build/Release (the native helper and addon), its assets/ and
// its own dependencies. Found by resolving the package's name from wherever this code runs: the
// engine's own dist/ (a package may import itself by name) or the mcp-j command's bundle, which
// lives in the CLI's package (scripts/build-cli.mjs; docs/design.md, "Start-up").
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let dir: string | null = null;

export function engineDir(): string {
  if (dir === null) {
    let main: string; // <engine>/dist/src/index.js
    try {
      main = createRequire(import.meta.url).resolve("@mcp-j/engine");
    } catch {
      main = fileURLToPath(new URL("./index.js", import.meta.url));
    }
    dir = join(dirname(main), "..", "..");
  }
  return dir;
}
