// JSON syntax (RFC 8259) checked on the bytes of a line, without building its value: the same
// verdict as JSON.parse, for the large lines where building the value is what costs (a 1 MiB
// string parsed into a 1 MiB string, then collected). The proxy then parses only the parts its
// policy reads (light.ts). The input is valid UTF-8 (the framer checked it), so only the grammar is
// left to check. A test holds this to JSON.parse's verdict on generated and mutated input.
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, isJsonSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from "./bytes.js";

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= ZERO && b <= NINE;
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && ((b >= ZERO && b <= NINE) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/** Thrown inside the checker; turned into the returned reason. */
class SyntaxProblem {
  constructor(readonly at: number, readonly what: string) {}
}

/** null when `buf` is exactly one JSON value (surrounding whitespace allowed), else why not. */
export function jsonSyntaxProblem(buf: Buffer): string | null {
  try {
    check(buf);
    return null;
  } catch (e) {
    if (e instanceof SyntaxProblem) return `${e.what} at position ${e.at}`;
    throw e;
  }
}

function check(buf: Buffer): void {
  const n = buf.length;
  seen.quote = seen.backslash = seen.tab = seen.cr = seen.lf = -2;
  refuseControlCharacters(buf);
  // What each open container is: true for an object, false for an array. Depth is bounded by the
  // line (5 MiB at most), and this array grows only with it: no recursion, no stack overflow.
  const open: boolean[] = [];
  let i = skip(buf, 0);
  for (;;) {
    // A value starts at i.
    const b = buf[i];
    if (b === OPEN_BRACE) {
      i = skip(buf, i + 1);
      if (buf[i] === CLOSE_BRACE) i = skip(buf, i + 1);
      else {
        open.push(true);
        i = key(buf, i);
        continue;
      }
    } else if (b === OPEN_BRACKET) {
      i = skip(buf, i + 1);
      if (buf[i] === CLOSE_BRACKET) i = skip(buf, i + 1);
      else {
        open.push(false);
        continue;
      }
    } else if (b === QUOTE) i = skip(buf, string(buf, i));
    else if (b === MINUS || isDigit(b)) i = skip(buf, number(buf, i));
    else if (b === 0x74) i = skip(buf, literal(buf, i, "true"));
    else if (b === 0x66) i = skip(buf, literal(buf, i, "false"));
    else if (b === 0x6e) i = skip(buf, literal(buf, i, "null"));
    else throw new SyntaxProblem(i, i >= n ? "unexpected end of JSON input" : "unexpected character");
    // After a value: close containers, or go on to the next member or element.
    for (;;) {
      if (open.length === 0) {
        if (i !== n) throw new SyntaxProblem(i, "unexpected character after the JSON value");
        return;
      }
      const inObject = open[open.length - 1] as boolean;
      const c = buf[i];
      if (c === COMMA) {
        i = skip(buf, i + 1);
        if (inObject) i = key(buf, i);
        break;
      }
      if (c === (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
        open.pop();
        i = skip(buf, i + 1);
        continue;
      }
      throw new SyntaxProblem(i, i >= n ? "unexpected end of JSON input" : `expected "," or "${inObject ? "}" : "]"}"`);
    }
  }
}

function skip(buf: Uint8Array, i: number): number {
  while (isJsonSpace(buf[i])) i++;
  return i;
}

/** A member's key and colon at i; returns where its value starts. */
function key(buf: Uint8Array, i: number): number {
  if (buf[i] !== QUOTE) throw new SyntaxProblem(i, "expected a string key");
  i = skip(buf, string(buf, i));
  if (buf[i] !== COLON) throw new SyntaxProblem(i, 'expected ":"');
  return skip(buf, i + 1);
}

/** A string whose opening quote is at i; returns the index after its closing quote. Raw control
 * characters are refused, and each escape must be one JSON knows. */
function string(buf: Uint8Array, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = next(buf, QUOTE, j, seen.quote);
    seen.quote = q;
    if (q === -1) throw new SyntaxProblem(buf.length, "unterminated string");
    const bs = next(buf, BACKSLASH, j, seen.backslash);
    seen.backslash = bs;
    // Control characters other than tab and CR were refused before; those two are whitespace
    // outside strings and refused inside.
    const ws = Math.min(nextOf(buf, TAB, j, "tab"), nextOf(buf, CR, j, "cr"), nextOf(buf, LF, j, "lf"));
    const stop = bs !== -1 && bs < q ? bs : q;
    if (ws < stop) throw new SyntaxProblem(ws, "control character in a string");
    if (stop === q) return q + 1;
    const e = buf[bs + 1];
    if (e === 0x75) {
      if (!(isHex(buf[bs + 2]) && isHex(buf[bs + 3]) && isHex(buf[bs + 4]) && isHex(buf[bs + 5]))) throw new SyntaxProblem(bs, "bad \\u escape");
      j = bs + 6;
    } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      j = bs + 2; // " \\ / b f n r t
    } else throw new SyntaxProblem(bs, "bad escape");
  }
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

/** Where the scan last found each byte it looks for (-1: nowhere further). Positions only move
 * forward, so each byte is searched for once per line: no quadratic rescans. */
const seen = { quote: -2, backslash: -2, tab: -2, cr: -2, lf: -2 };

function next(buf: Uint8Array, byte: number, from: number, cached: number): number {
  if (cached === -1 || cached >= from) return cached;
  return (buf as Buffer).indexOf(byte, from);
}

function nextOf(buf: Uint8Array, byte: number, from: number, name: "tab" | "cr" | "lf"): number {
  const at = next(buf, byte, from, seen[name]);
  seen[name] = at;
  return at === -1 ? Infinity : at;
}

/** Control characters that are legal nowhere in JSON (all but tab, LF and CR, which are
 * whitespace outside strings): one native search each over the whole line. */
function refuseControlCharacters(buf: Uint8Array): void {
  for (let c = 0; c < 0x20; c++) {
    if (c === TAB || c === LF || c === CR) continue;
    const at = (buf as Buffer).indexOf(c);
    if (at !== -1) throw new SyntaxProblem(at, "control character");
  }
}

/** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at i; returns the index after it. */
function number(buf: Uint8Array, i: number): number {
  let j = i;
  if (buf[j] === MINUS) j++;
  if (buf[j] === ZERO) j++;
  else if (isDigit(buf[j])) while (isDigit(buf[j])) j++;
  else throw new SyntaxProblem(j, "bad number");
  if (buf[j] === DOT) {
    j++;
    if (!isDigit(buf[j])) throw new SyntaxProblem(j, "bad number");
    while (isDigit(buf[j])) j++;
  }
  if (buf[j] === 0x65 || buf[j] === 0x45) {
    j++;
    if (buf[j] === PLUS || buf[j] === MINUS) j++;
    if (!isDigit(buf[j])) throw new SyntaxProblem(j, "bad number");
    while (isDigit(buf[j])) j++;
  }
  return j;
}

function literal(buf: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (buf[i + k] !== word.charCodeAt(k)) throw new SyntaxProblem(i + k, "unexpected character");
  return i + word.length;
}
