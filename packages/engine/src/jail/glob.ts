// Deny globs over jail paths, matched exactly as the supervisor's C matcher does
// (native/jail/sup_tables.c): '/'-separated segments, each an fnmatch(3) pattern with no flags
// ('*', '?', '[...]' with '!' or '^', '\' escapes; a leading dot is matched like any character),
// "**" for any number of segments, and a glob that matches a path or one of its ancestors denies it.
// The C unit tests feed both with the same cases.

export interface Glob {
  segs: string[];
  /** One RegExp per segment (null for "**"). */
  res: (RegExp | null)[];
}

const cache = new Map<string, RegExp>();

/** fnmatch(3) with flags 0, as a RegExp over one path segment. */
export function segmentPattern(p: string): RegExp {
  const hit = cache.get(p);
  if (hit) return hit;
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "*") re += "[^]*";
    else if (c === "?") re += "[^]";
    else if (c === "\\" && i + 1 < p.length) re += esc(p[++i]!);
    else if (c === "[") {
      // A bracket expression, if it closes; otherwise a literal '['.
      let j = i + 1;
      if (p[j] === "!" || p[j] === "^") j++;
      if (p[j] === "]") j++;
      while (j < p.length && p[j] !== "]") j++;
      if (j >= p.length) {
        re += "\\[";
        continue;
      }
      let body = p.slice(i + 1, j);
      const neg = body[0] === "!" || body[0] === "^";
      if (neg) body = body.slice(1);
      re += `[${neg ? "^" : ""}${body.replace(/\\/g, "\\\\").replace(/\]/g, "\\]").replace(/\[/g, "\\[")}]`;
      i = j;
    } else re += esc(c);
  }
  const r = new RegExp(`^${re}$`, "s");
  cache.set(p, r);
  return r;
}

function esc(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

export function splitGlob(glob: string): Glob {
  const segs = glob.split("/").filter(Boolean);
  return { segs, res: segs.map((s) => (s === "**" ? null : segmentPattern(s))) };
}

/** Does the glob match path (its segments) or one of its ancestors? */
export function globMatches(g: Glob, path: readonly string[], i = 0, k = 0): boolean {
  if (i === g.segs.length) return true;
  if (g.res[i] === null) {
    for (let skip = k; skip <= path.length; skip++) if (globMatches(g, path, i + 1, skip)) return true;
    return false;
  }
  if (k === path.length) return false;
  return g.res[i]!.test(path[k]!) && globMatches(g, path, i + 1, k + 1);
}

/** Could a path strictly below path match the glob? (Walks need not descend where it cannot.) */
export function globBelow(g: Glob, path: readonly string[], i = 0, k = 0): boolean {
  if (k === path.length) return i < g.segs.length;
  if (i === g.segs.length) return false;
  if (g.res[i] === null) {
    for (let skip = k; skip <= path.length; skip++) if (globBelow(g, path, i + 1, skip)) return true;
    return false;
  }
  return g.res[i]!.test(path[k]!) && globBelow(g, path, i + 1, k + 1);
}
