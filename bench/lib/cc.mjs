// The benches' small C tools (bench/lib/NAME.c), built once per machine and user with the system
// compiler into the temporary directory, rebuilt when the source is newer.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const lib = dirname(fileURLToPath(import.meta.url));

/** The path of bench/lib/NAME.c built (extra: more compiler arguments, e.g. libraries). */
export function buildC(name, extra = []) {
  const dir = join(tmpdir(), `mcpj-bench-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, name);
  const src = join(lib, `${name}.c`);
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(src).mtimeMs) execFileSync("cc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", exe, src, ...extra]);
  return exe;
}
