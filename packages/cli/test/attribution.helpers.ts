// Shared by the attribution, learn and pin tests: directories and files a jail (nobody, when the
// tests run as root) can use, and the audit log's lines.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A directory under `root` the jail can read and write. */
export function jailDir(root: string, name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o777);
  return d;
}

/** A file the jail can read. */
export function jailFile(path: string, text: string): string {
  writeFileSync(path, text);
  chmodSync(path, 0o644);
  return path;
}

export type AuditLine = Record<string, unknown> & { type: string };

/** The audit log's events (none when there is no log). */
export function auditLines(path: string): AuditLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditLine);
}
