// Deny rules' kernel layer (docs/design.md, "Deny rules"): what a deny glob matches inside a grant
// when the jail starts is hidden in the jail's mount tree (an empty read-only directory or file
// mounted over it), so no syscall and no race can reach it; the supervisor covers names that
// appear later. This finds those matches.
//
// One walk per grant for all globs together, never into a directory below which no glob can match
// ("/ws/secrets/**" walks nothing outside /ws/secrets; "**/.env" must look everywhere), never
// through a symlink (what a link leads to is decided where it leads). Bounded: a grant too large to
// walk is refused with the fix, rather than started without its kernel layer.
import { readdirSync } from "node:fs";
import { JailError } from "./errors.js";
import { globBelow, globMatches, splitGlob, type Glob } from "./glob.js";

export interface Mask {
  /** Jail path of the match. */
  dest: string;
  kind: "dir" | "file";
}

export interface MaskScan {
  masks: Mask[];
  /** Directory entries looked at. */
  entries: number;
}

export interface GrantView {
  /** Host path (real). */
  src: string;
  /** Where it is in the jail. */
  dest: string;
  isDir: boolean;
}

/** Entries looked at, over all grants, before the walk gives up. */
export const MAX_SCAN_ENTRIES = 500_000;
/** Masks, each a mount: far more than any real policy needs. */
export const MAX_MASKS = 4096;

function segs(jailPath: string): string[] {
  return jailPath.split("/").filter(Boolean);
}

export function denyMasks(grants: readonly GrantView[], denyGlobs: readonly string[], limits = { maxEntries: MAX_SCAN_ENTRIES }): MaskScan {
  const globs: Glob[] = denyGlobs.map(splitGlob);
  const out: MaskScan = { masks: [], entries: 0 };
  if (globs.length === 0) return out;
  const matches = (p: string[]) => globs.some((g) => globMatches(g, p));
  const below = (p: string[]) => globs.some((g) => globBelow(g, p));
  for (const g of grants) {
    const root = segs(g.dest);
    if (matches(root)) {
      out.masks.push({ dest: g.dest, kind: g.isDir ? "dir" : "file" });
      continue;
    }
    if (!g.isDir || !below(root)) continue;
    const stack: [string, string[]][] = [[g.src, root]];
    while (stack.length > 0) {
      const [dir, jail] = stack.pop()!;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; /* unreadable: the jail cannot list it either */
      }
      out.entries += entries.length;
      if (out.entries > limits.maxEntries) {
        throw new JailError(
          "E_DENY_SCAN",
          `--deny: ${g.src} has more than ${limits.maxEntries} files to look through for the deny rules; ` +
            `grant a narrower directory, or anchor the rule to where the files are (e.g. ${g.src}/.env rather than **/.env)`,
        );
      }
      for (const e of entries) {
        if (e.isSymbolicLink()) continue;
        const p = [...jail, e.name];
        if (matches(p)) {
          out.masks.push({ dest: "/" + p.join("/"), kind: e.isDirectory() ? "dir" : "file" });
          if (out.masks.length > MAX_MASKS) {
            throw new JailError(
              "E_DENY_SCAN",
              `--deny matches more than ${MAX_MASKS} files in ${g.src}; deny their directory instead (e.g. a rule ending in /**)`,
            );
          }
        } else if (e.isDirectory() && below(p)) {
          stack.push([`${dir}/${e.name}`, p]);
        }
      }
    }
  }
  return out;
}
