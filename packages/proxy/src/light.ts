// The parsed form of a large line, built from only the parts the proxy reads. A line of LIGHT_BYTES
// or more whose syntax json-check.ts accepted is parsed member by member (structure.ts says where
// each lies): small values with JSON.parse, the top-level object and its direct members' objects
// member by member, and a large value deeper than that (a tool's arguments, a result's content) as
// a stand-in of the same JSON type ("", [], {}), never read by the policy. The proxy forwards the
// line's bytes, so a stand-in never reaches a peer; where it would have to re-serialize the message
// instead (a repeated key), it parses the whole line first (session.ts).
//
// Values the policy reads are never stand-ins: every member of the top-level object and of its
// direct members (`params.name`, `params.taskId`, `params.requestId`, `result.protocolVersion`,
// `error.code` ...) is parsed whatever its size, objects one level deeper (`params._meta`,
// `result.task`) too, and a response whose result lists tools or tasks (which the policy filters
// entry by entry) is parsed whole.
import { arrayElements, member, scanObject } from "./structure.js";
import type { JsonObject } from "./jsonrpc.js";

/** Lines at least this large are checked and parsed the light way. */
export const LIGHT_BYTES = 256 * 1024;
/** A value this small is parsed with JSON.parse wherever it is. */
const SMALL_BYTES = 16 * 1024;
/** Objects at depths 0–2 are parsed member by member; a large value below is a stand-in. */
const MEMBERWISE_DEPTH = 2;

/** The light parse of a line whose syntax is valid JSON; null when its top level is not an object
 * (a batch or a scalar: the caller parses those whole) or when the whole line must be parsed. */
export function lightParse(buf: Buffer): JsonObject | null {
  const top = scanObject(buf, 0);
  if (top === null) return null;
  const result = member(buf, top, "result");
  if (result !== null) {
    const resultScan = scanObject(buf, result.valueStart);
    if (resultScan !== null && (member(buf, resultScan, "tools") !== null || member(buf, resultScan, "tasks") !== null)) return null;
  }
  const value = objectAt(buf, 0, buf.length, 0);
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : null;
}

/** A container with more entries than this is parsed whole (one JSON.parse, not one per entry:
 * a peer must not make the light way cost more than the plain one). */
const MAX_ENTRIES = 64;

function parse(buf: Buffer, start: number, end: number): unknown {
  return JSON.parse(buf.toString("utf8", start, end)) as unknown;
}

function objectAt(buf: Buffer, start: number, end: number, depth: number): unknown {
  const scan = scanObject(buf, start);
  if (scan === null || scan.members.length > MAX_ENTRIES) return parse(buf, start, end);
  const out: JsonObject = {};
  // Defined, not assigned, as JSON.parse does: a "__proto__" key is a key, not the prototype.
  for (const m of scan.members) Object.defineProperty(out, parse(buf, m.keyStart, m.keyEnd) as string, { value: valueAt(buf, m.valueStart, m.valueEnd, depth + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

function arrayAt(buf: Buffer, start: number, end: number, depth: number): unknown {
  const elements = arrayElements(buf, start);
  if (elements === null || elements.length > MAX_ENTRIES) return parse(buf, start, end);
  return elements.map((e) => valueAt(buf, e.start, e.end, depth + 1));
}

function valueAt(buf: Buffer, start: number, end: number, depth: number): unknown {
  if (end - start <= SMALL_BYTES) return parse(buf, start, end);
  const first = buf[start];
  if (first === 0x7b) return depth <= MEMBERWISE_DEPTH + 1 ? objectAt(buf, start, end, depth) : {};
  if (first === 0x5b) return depth <= MEMBERWISE_DEPTH ? arrayAt(buf, start, end, depth) : [];
  // A large string or number: real where the policy may read it, a stand-in below.
  if (depth <= MEMBERWISE_DEPTH) return parse(buf, start, end);
  return first === 0x22 ? "" : parse(buf, start, end);
}
