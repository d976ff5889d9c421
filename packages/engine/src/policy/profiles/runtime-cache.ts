// What a profile learned about a runtime's layout, kept for the life of this process and keyed by
// the files it was read from (path, inode, size, mtime and ctime of each, symlinks and targets
// alike): a program that starts many jails (the library transport, an agent host) reads each
// runtime once; a changed or replaced file is read again.
//
// It lives in memory only, on purpose. The layout is now read from a few files (no interpreter is
// run: bench/profiles.bench.mjs measures both), so a persisted cache would save well under a
// millisecond per start, and a file under ~/.cache is one that an unprivileged user's jail can
// rewrite whenever a writable grant covers it (the jail's uid is the user's): each entry would have
// to be checked against the filesystem again before use, which is the reading it saves.
import { lstatSync, statSync } from "node:fs";

const MAX_ENTRIES = 256;
const entries = new Map<string, unknown>();

function fingerprint(p: string): string {
  const one = (st: { ino: number; size: number; mtimeMs: number; ctimeMs: number } | undefined) =>
    st === undefined ? "-" : `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  return `${p}=${one(lstatSync(p, { throwIfNoEntry: false }))}/${one(statSync(p, { throwIfNoEntry: false }))}`;
}

/** compute(), or its earlier result while every file in `files` is unchanged and `context` is equal. */
export function memoByFiles<T>(kind: string, files: string[], context: string, compute: () => T): T {
  const key = [kind, context, ...files.map(fingerprint)].join("\0");
  if (entries.has(key)) return entries.get(key) as T;
  const value = compute();
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
  entries.set(key, value);
  return value;
}

/** Forgets everything (benchmarks measure the first computation with it). */
export function clearRuntimeCache(): void {
  entries.clear();
}
