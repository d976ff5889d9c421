// Tool-name globs: `*` matches any run of characters (including none), `?` exactly one; everything
// else is literal. Matched without regular expressions, by the two-pointer method that backtracks
// only to the last `*`, so a hostile pattern or name costs at most O(pattern × name), never
// exponential time.

export function globMatch(pattern: string, name: string): boolean {
  // Iterate by code point so `?` matches one character, not one UTF-16 half of a surrogate pair.
  const p = Array.from(pattern);
  const s = Array.from(name);
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const pc = p[pi];
    if (pc === "*") {
      starP = pi++;
      starS = si;
    } else if (pc !== undefined && (pc === "?" || pc === s[si])) {
      pi++;
      si++;
    } else if (starP !== -1) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (p[pi] === "*") pi++;
  return pi === p.length;
}
