// Where the members of a JSON object lie in the bytes of a line that JSON.parse already accepted.
// The proxy forwards the bytes it received, not a re-serialization (which would rewrite values it
// does not own: 1e400 → null, 12345678901234567890123 → 1.2345678901234568e+22), so it must know
// two things about those bytes that the parsed value hides:
//   - whether an object the policy read repeats a key: JSON.parse keeps the last, a peer's parser
//     may keep the first, so `{"name":"delete_file","name":"echo"}` would be checked as echo and
//     run as delete_file. Such a message is forwarded re-serialized instead, one key each;
//   - where the elements of an array lie, so a filtered tools/list drops denied entries and keeps
//     every other byte.
// The input is valid JSON, so nothing here validates: it skips strings with indexOf (native
// speed, which is what large messages are made of) and counts brackets in between.

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, isJsonSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from "./bytes.js";

export interface Member {
  /** The key's bytes, quotes included, are [keyStart, keyEnd). */
  readonly keyStart: number;
  readonly keyEnd: number;
  /** The value's bytes are [valueStart, valueEnd). */
  readonly valueStart: number;
  readonly valueEnd: number;
}

export interface ObjectScan {
  readonly members: readonly Member[];
}

export interface Span {
  readonly start: number;
  readonly end: number;
}

function skipSpace(buf: Uint8Array, i: number): number {
  while (isJsonSpace(buf[i])) i++;
  return i;
}

/** `i` is at an opening quote; returns the index after the closing one. */
function skipString(buf: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, from);
    if (q === -1) return buf.length; // not reached on valid JSON
    let backslashes = 0;
    for (let k = q - 1; buf[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** `i` is at the first byte of a value; returns the index after its last byte. */
function skipValue(buf: Buffer, i: number): number {
  const first = buf[i];
  if (first === QUOTE) return skipString(buf, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let j = i;
    while (j < buf.length) {
      const b = buf[j];
      if (b === QUOTE) {
        j = skipString(buf, j);
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return j;
  }
  // A number, true, false or null: up to the next delimiter.
  let j = i;
  while (j < buf.length) {
    const b = buf[j];
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isJsonSpace(b)) break;
    j++;
  }
  return j;
}

/** The members of the object whose `{` is at `i` (or at the first non-space byte from `i`), in
 * the order they appear, repeated keys included. */
export function scanObject(buf: Buffer, i: number): ObjectScan | null {
  let j = skipSpace(buf, i);
  if (buf[j] !== OPEN_BRACE) return null;
  j = skipSpace(buf, j + 1);
  const members: Member[] = [];
  while (j < buf.length && buf[j] === QUOTE) {
    const keyEnd = skipString(buf, j);
    const keyStart = j;
    j = skipSpace(buf, keyEnd);
    j = skipSpace(buf, j + 1); // the colon
    const valueStart = j;
    const valueEnd = skipValue(buf, j);
    members.push({ keyStart, keyEnd, valueStart, valueEnd });
    j = skipSpace(buf, valueEnd);
    if (buf[j] === COMMA) j = skipSpace(buf, j + 1);
  }
  return { members };
}

/** Whether a member's key is `name` (an ASCII name without quotes or backslashes). */
export function keyIs(buf: Buffer, m: Member, name: string): boolean {
  const length = m.keyEnd - m.keyStart - 2;
  let plain = length === name.length;
  for (let k = 0; plain && k < length; k++) plain = buf[m.keyStart + 1 + k] === name.charCodeAt(k);
  if (plain) return true;
  // A key spelled with escapes ("n\u0061me") is the same key once decoded; such keys are rare.
  if (buf.subarray(m.keyStart, m.keyEnd).indexOf(BACKSLASH) === -1) return false;
  const decoded: unknown = JSON.parse(buf.toString("utf8", m.keyStart, m.keyEnd));
  return decoded === name;
}

/** The member `key` of a scanned object (the last one, as JSON.parse keeps), or null. */
export function member(buf: Buffer, scan: ObjectScan, key: string): Member | null {
  for (let i = scan.members.length - 1; i >= 0; i--) {
    const m = scan.members[i] as Member;
    if (keyIs(buf, m, key)) return m;
  }
  return null;
}

/** Whether the bytes scanned as `scan` hold more members than the parsed object has keys: then
 * some key is repeated, and JSON.parse kept only its last value. */
export function repeatsAKey(scan: ObjectScan | null, parsed: unknown): boolean {
  if (scan === null || typeof parsed !== "object" || parsed === null) return false;
  return scan.members.length !== keyCount(parsed);
}

/** Whether the value at `i` or any object inside it repeats a key, given `parsed`, its JSON.parse:
 * what a pin gate reads of a tool (its description, its whole input schema) must be what a
 * first-wins peer reads too. Iterative: the depth is bounded by the line, not by the stack. */
export function repeatsAKeyWithin(buf: Buffer, i: number, parsed: unknown): boolean {
  const stack: Array<{ at: number; value: unknown }> = [{ at: i, value: parsed }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { at, value } = top;
    if (typeof value !== "object" || value === null) continue;
    if (Array.isArray(value)) {
      const elements = arrayElements(buf, at);
      if (elements === null || elements.length !== value.length) return true;
      elements.forEach((e, k) => stack.push({ at: e.start, value: value[k] }));
      continue;
    }
    const scan = scanObject(buf, at);
    if (scan === null || scan.members.length !== keyCount(value)) return true;
    for (const m of scan.members) {
      const key = JSON.parse(buf.toString("utf8", m.keyStart, m.keyEnd)) as string;
      if (!Object.hasOwn(value, key)) return true;
      stack.push({ at: m.valueStart, value: (value as Record<string, unknown>)[key] });
    }
  }
  return false;
}

/** Own enumerable keys, counted without building the array Object.keys would. */
export function keyCount(value: object): number {
  let n = 0;
  for (const key in value) if (Object.hasOwn(value, key)) n++;
  return n;
}

/** The hot path's form of scanObject: the number of members of the object at `i` (-1 when there
 * is none) and, in `found.start`, where the value of the last member named `key` starts (-1 when
 * absent). No allocation per member. */
export function countMembers(buf: Buffer, i: number, key: string | null, found: { start: number }): number {
  found.start = -1;
  let j = skipSpace(buf, i);
  if (buf[j] !== OPEN_BRACE) return -1;
  j = skipSpace(buf, j + 1);
  let count = 0;
  while (j < buf.length && buf[j] === QUOTE) {
    const keyStart = j;
    const keyEnd = skipString(buf, j);
    j = skipSpace(buf, keyEnd);
    j = skipSpace(buf, j + 1); // the colon
    const valueStart = j;
    const valueEnd = skipValue(buf, j);
    count++;
    if (key !== null && keyIs(buf, { keyStart, keyEnd, valueStart, valueEnd }, key)) found.start = valueStart;
    j = skipSpace(buf, valueEnd);
    if (buf[j] === COMMA) j = skipSpace(buf, j + 1);
  }
  return count;
}

/** The spans of the elements of the array at `i`, or null when there is no array there. */
export function arrayElements(buf: Buffer, i: number): Span[] | null {
  let j = skipSpace(buf, i);
  if (buf[j] !== OPEN_BRACKET) return null;
  j = skipSpace(buf, j + 1);
  const spans: Span[] = [];
  while (j < buf.length && buf[j] !== CLOSE_BRACKET) {
    const end = skipValue(buf, j);
    spans.push({ start: j, end });
    j = skipSpace(buf, end);
    if (buf[j] === COMMA) j = skipSpace(buf, j + 1);
  }
  return spans;
}

/** The bytes with the array whose elements are `elements` (spanning [arrayStart, arrayEnd))
 * replaced by an array of only the elements kept; every other byte unchanged. */
export function spliceArray(buf: Buffer, arrayStart: number, arrayEnd: number, elements: readonly Span[], keep: readonly boolean[]): Buffer {
  const parts: Buffer[] = [buf.subarray(0, arrayStart), Buffer.from("[")];
  let first = true;
  elements.forEach((span, i) => {
    if (keep[i] !== true) return;
    if (!first) parts.push(Buffer.from(","));
    parts.push(buf.subarray(span.start, span.end));
    first = false;
  });
  parts.push(Buffer.from("]"), buf.subarray(arrayEnd));
  return Buffer.concat(parts);
}
