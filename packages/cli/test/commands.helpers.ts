// Helpers for the subcommand tests (not a test file itself).
import { Writable } from "node:stream";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test", "fixtures");

export function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => chunks.join("");
  return w;
}

export function mkio(env: NodeJS.ProcessEnv, cwd: string) {
  const stdout = sink();
  const stderr = sink();
  return { stdout, stderr, env, cwd };
}

export function tmp(prefix = "mcpj-cmd-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Copies a fixture to dest, replacing __FIXTURE_DIR__ with `root`. */
export function installFixture(name: string, dest: string, root: string): string {
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, readFileSync(join(FIXTURES, name), "utf8").split("__FIXTURE_DIR__").join(root));
  return dest;
}
