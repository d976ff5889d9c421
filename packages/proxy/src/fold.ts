// The folded form of a tool name, in which deny rules are matched: a server cannot slip a tool past
// `--deny-tool 'delete_*'` by naming it `Delete_file`, `delete‐file` (U+2010) or `dеlete_file`
// (Cyrillic е). Allow rules are matched on the exact name instead (policy.ts): folding widens what
// a rule matches, which is what a deny rule wants and an allow rule must not do.
//
// The steps, in this order:
//   1. NFKD: compatibility forms decompose (fullwidth ｄ → d, ligature ﬁ → fi, ℓ → l) and accented
//      letters split into letter + combining mark;
//   2. combining marks are dropped (é → e, ё → е, the dot of İ);
//   3. lower case (after 1, which can produce capitals: ℌ → H), plus ß → ss (full case folding);
//   4. the look-alike table below, one character at a time.
// The table is deliberately small: the letters of other scripts that are drawn like Latin letters
// in common fonts, the dashes and dots that pass for the separators `-` `_` `.`, the digits 0 and 1,
// and characters that are not drawn at all. It is not Unicode's full confusables list, which also
// equates sequences ("rn" ~ "m") and would need a dependency for little gain here.

/** [characters, what each folds to, why]. Separators all fold to "_", so `-`, `_` and `.` match
 * one another too (tool names in MCP use the three interchangeably). */
const LOOK_ALIKES: ReadonlyArray<readonly [string, string, string]> = [
  // Cyrillic letters drawn like Latin ones.
  ["а", "a", "Cyrillic a"],
  ["с", "c", "Cyrillic es"],
  ["ԁ", "d", "Cyrillic komi de"],
  ["е", "e", "Cyrillic ie"],
  ["һ", "h", "Cyrillic shha"],
  ["іӏ", "i", "Cyrillic byelorussian i, palochka"],
  ["ј", "j", "Cyrillic je"],
  ["к", "k", "Cyrillic ka"],
  ["м", "m", "Cyrillic em"],
  ["о", "o", "Cyrillic o"],
  ["р", "p", "Cyrillic er"],
  ["ԛ", "q", "Cyrillic qa"],
  ["ѕ", "s", "Cyrillic dze"],
  ["у", "y", "Cyrillic u"],
  ["ԝ", "w", "Cyrillic we"],
  ["х", "x", "Cyrillic ha"],
  // Greek letters drawn like Latin ones.
  ["α", "a", "Greek alpha"],
  ["ε", "e", "Greek epsilon"],
  ["ι", "i", "Greek iota"],
  ["κ", "k", "Greek kappa"],
  ["ν", "v", "Greek nu"],
  ["ο", "o", "Greek omicron"],
  ["ρ", "p", "Greek rho"],
  ["υ", "u", "Greek upsilon"],
  ["χ", "x", "Greek chi"],
  // Latin letters and IPA symbols that pass for plain ones.
  ["ɑ", "a", "Latin alpha"],
  ["ɡ", "g", "script g"],
  ["ıɩ", "i", "dotless i, Latin iota"],
  ["ȷ", "j", "dotless j"],
  // Digits drawn like letters.
  ["0", "o", "zero"],
  ["1", "l", "one"],
  // Separators: hyphens, dashes, minus signs, dots and low lines.
  ["-_. \u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u02d7\u00b7\u2219\u02cd\u2027", "_", "separators"],
  // Characters that are not drawn.
  ["\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff", "", "invisible"],
];

const TABLE: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const [chars, to] of LOOK_ALIKES) for (const ch of chars) map.set(ch, to);
  return map;
})();

const COMBINING_MARK = /\p{M}/gu;
const PLAIN = /^[a-z2-9*?]*$/;

/** The folded form of a tool name or a tool glob (`*` and `?` are unchanged by folding). */
export function foldToolName(name: string): string {
  const lower = name.normalize("NFKD").replace(COMBINING_MARK, "").toLowerCase().replaceAll("ß", "ss");
  if (PLAIN.test(lower)) return lower;
  let out = "";
  for (const ch of lower) out += TABLE.get(ch) ?? ch;
  return out;
}
