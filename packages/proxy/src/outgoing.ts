// What the proxy writes for a message it forwards: the bytes it received whenever it can, so values
// it does not own pass unchanged (1e400, 12345678901234567890123, key order, escapes, spacing);
// the same bytes without the entries a filter removed; or, when an object the policy read repeats
// a key, a re-serialization with one key each (see structure.ts for why).
import { CR } from "./bytes.js";
import { isJsonObject, type JsonObject } from "./jsonrpc.js";
import { arrayElements, countMembers, keyCount, member, repeatsAKey, repeatsAKeyWithin, scanObject, spliceArray } from "./structure.js";

/** A line as it arrived: its bytes (without the line ending), its decoding, and whether its
 * parsed form is the light one (light.ts: large values the policy never reads are stand-ins). */
export interface Wire {
  readonly data: Buffer;
  readonly text: () => string;
  readonly light: boolean;
}

/** What to write: a string (encoded on write) or bytes. Either without its newline. */
export type Outgoing = string | Buffer;

/** JSON.stringify recurses: a deeply nested message that JSON.parse (iterative) accepted can
 * overflow the stack here, and must become an error for that message rather than a crash. */
export function serialize(value: unknown): string | null {
  try {
    return JSON.stringify(value);
  } catch {
    return null;
  }
}

export function asReceived(wire: Wire): Outgoing {
  return wire.data;
}

/** Whether the line holds a carriage return (JSON whitespace between tokens; the framer already
 * took off one ending the line). A reader with universal newlines, as Python's text streams are,
 * splits the line there, into lines the proxy never checked: such a line is re-serialized, which
 * writes none (red team 8's note). */
export function holdsCarriageReturn(data: Buffer): boolean {
  return data.includes(CR);
}

const found = { start: -1 };

/** Whether the top-level object, or its member `nested` when that is an object, repeats a key. */
export function repeatsKey(data: Buffer, raw: JsonObject, nested: string | null): boolean {
  const inner = nested === null ? undefined : raw[nested];
  const wanted = isJsonObject(inner) ? nested : null;
  const top = countMembers(data, 0, wanted, found);
  if (top !== -1 && top !== keyCount(raw)) return true;
  if (wanted === null || found.start === -1 || !isJsonObject(inner)) return false;
  const count = countMembers(data, found.start, null, found);
  return count !== -1 && count !== keyCount(inner);
}

export type Filtered =
  /** Nothing removed, no key repeated: forward as received. */
  | { readonly kind: "unchanged" }
  | { readonly kind: "rewritten"; readonly out: Outgoing; readonly removed: readonly string[] }
  /** The filtered message could not be re-serialized (nested too deeply). */
  | { readonly kind: "failed"; readonly removed: readonly string[] };

/**
 * Removes the entries of the array `result[arrayKey]` that `keep` rejects, from a response the
 * proxy already parsed (`raw`) and received as `wire`. The rest of the message keeps its bytes;
 * pagination (`nextCursor`), order and every other field (`ttlMs`, `cacheScope`, `_meta`) included.
 * When the message, its result or an entry (at any depth: a pin gate reads a tool's whole input
 * schema) repeats a key, the message is re-serialized instead, even with nothing removed: the
 * policy and the pin gate read the last of two equal keys, and a peer that keeps the first must not
 * read a name, description or schema nobody checked (red team 8, RT8-1).
 */
export function filterResultArray(
  raw: JsonObject,
  wire: Wire,
  arrayKey: string,
  decide: (entries: readonly unknown[]) => { keep: boolean[]; removed: string[] },
): Filtered {
  const result = raw["result"];
  if (!isJsonObject(result)) return { kind: "unchanged" };
  const entries = result[arrayKey];
  if (!Array.isArray(entries)) return { kind: "unchanged" };
  const { keep, removed } = decide(entries);

  const data = wire.data;
  const top = scanObject(data, 0);
  const resultMember = top === null ? null : member(data, top, "result");
  const resultScan = resultMember === null ? null : scanObject(data, resultMember.valueStart);
  const arrayMember = resultScan === null ? null : member(data, resultScan, arrayKey);
  const elements = arrayMember === null ? null : arrayElements(data, arrayMember.valueStart);
  const asWritten =
    !holdsCarriageReturn(data) &&
    top !== null &&
    !repeatsAKey(top, raw) &&
    !repeatsAKey(resultScan, result) &&
    arrayMember !== null &&
    elements !== null &&
    elements.length === entries.length &&
    elements.every((e, i) => !repeatsAKeyWithin(data, e.start, entries[i]));
  if (asWritten) {
    if (removed.length === 0) return { kind: "unchanged" };
    return { kind: "rewritten", out: spliceArray(data, arrayMember.valueStart, arrayMember.valueEnd, elements, keep), removed };
  }
  result[arrayKey] = entries.filter((_, i) => keep[i] === true);
  const json = serialize(raw);
  return json === null ? { kind: "failed", removed } : { kind: "rewritten", out: json, removed };
}
