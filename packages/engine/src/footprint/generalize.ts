// From the paths a server touched to the few entries a person would write: a package directory
// rather than every file of it, a cache directory rather than its entries, a directory when several
// of its entries were touched. Never above the root that contains a path (a grant), so what comes
// out is never wider than what was granted.
import { posix } from "node:path";

/** Directories whose content is one thing: the entry below them is kept whole. `node_modules/@scope`
 * takes one more component. */
const PACKAGE_PARENTS = new Set(["node_modules", "site-packages", "dist-packages"]);
/** Directories kept whole wherever they appear (caches, VCS data, bytecode). */
const WHOLE = new Set([".cache", ".npm", ".git", "__pycache__", ".venv", "venv", ".yarn", ".pnpm-store"]);
/** A directory with this many touched entries is kept whole (not a package parent: each package
 * is its own entry). */
const SIBLINGS = 3;

export function within(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}

/** The shortest prefix of `path` below `root` that is a package, cache or bytecode directory, or
 * `path` itself. */
function cut(path: string, root: string): string {
  const rest = path.slice(root.length).split("/").filter(Boolean);
  // The root itself may be a package parent (a grant of node_modules): its entries are packages.
  const parts: string[] = [];
  const takePackage = (i: number): void => {
    const name = rest[i]!;
    parts.push(name);
    if (name.startsWith("@") && i + 1 < rest.length) parts.push(rest[i + 1]!);
  };
  if (PACKAGE_PARENTS.has(posix.basename(root)) && rest.length > 0) {
    takePackage(0);
    return posix.join(root, ...parts);
  }
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    parts.push(c);
    if (WHOLE.has(c)) break;
    if (PACKAGE_PARENTS.has(c) && i + 1 < rest.length) {
      takePackage(i + 1);
      break;
    }
  }
  return parts.length === 0 ? root : posix.join(root, ...parts);
}

/** Whether `dir`'s entries are separate packages (never merged into `dir`): a package parent, or
 * an npm scope inside one. */
function holdsPackages(dir: string): boolean {
  const base = posix.basename(dir);
  return PACKAGE_PARENTS.has(base) || (base.startsWith("@") && PACKAGE_PARENTS.has(posix.basename(posix.dirname(dir))));
}

/** Drops every entry that another entry contains. */
export function minimalCover(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].sort();
  const out: string[] = [];
  for (const p of sorted) if (!out.some((q) => within(p, q))) out.push(p);
  return out;
}

/**
 * The generalized entries for `paths`, each under the root in `roots` that contains it (paths under
 * no root are left out). `roots` must be absolute and normalized.
 */
export function generalize(paths: Iterable<string>, roots: readonly string[]): string[] {
  const rootOf = (p: string): string | undefined =>
    roots.filter((r) => within(p, r)).sort((a, b) => b.length - a.length)[0];
  let entries = new Set<string>();
  for (const p of paths) {
    const root = rootOf(p);
    if (root !== undefined) entries.add(cut(p, root));
  }
  // A directory (not above its root) with SIBLINGS or more touched entries stands for them.
  for (;;) {
    const byParent = new Map<string, string[]>();
    for (const e of entries) {
      const root = rootOf(e)!;
      if (e === root) continue;
      const parent = posix.dirname(e);
      if (!within(parent, root) || holdsPackages(parent)) continue;
      const list = byParent.get(parent) ?? [];
      list.push(e);
      byParent.set(parent, list);
    }
    const merge = [...byParent].find(([, list]) => list.length >= SIBLINGS);
    if (merge === undefined) break;
    const [parent, list] = merge;
    for (const e of list) entries.delete(e);
    entries.add(parent);
  }
  entries = new Set(minimalCover(entries));
  return [...entries].sort();
}

/** The class a path belongs to when it is under none of the roots: the jail's own layout (`/usr`,
 * `/etc`, `/proc`, `/tmp`...), by its top directory, where names vary from run to run
 * (`/proc/12/stat`, `/tmp/tmp-3f9a`) and nothing is the user's. */
export function systemClass(path: string): string {
  const top = path.split("/").filter(Boolean)[0];
  return top === undefined ? "/" : `/${top}`;
}
