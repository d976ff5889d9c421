// Pinning (`--pin FILE`): each tool's name, description and input schema (as hashes) and its
// footprint, recorded on first use and compared on every later run. What differs is a change: a
// new tool, a changed description or schema (the MCP "rug pull"), control characters in a
// description (used to hide instructions from the person reading it), or a touch outside the
// tool's footprint. Changes are reported and kept in the file as pending until `mcp-j pin accept`;
// under --pin-enforce the tool is hidden and refused meanwhile.
import { createHash } from "node:crypto";
import { readOwnFile, writeOwnFile } from "../host-file.js";
import { z } from "zod";
import { covers, type Footprint } from "./record.js";
import { minimalCover } from "./generalize.js";
import type { Touch } from "./touch.js";

const FootprintSchema = z
  .object({
    read: z.array(z.string()),
    write: z.array(z.string()),
    exec: z.array(z.string()),
    net: z.array(z.string()),
  })
  .strict();

export const CHANGE_KINDS = ["new_tool", "description", "schema", "control_chars", "footprint"] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

const PinnedToolSchema = z
  .object({
    description_sha256: z.string(),
    schema_sha256: z.string(),
    /** null until the tool's first call was seen: that call's touches become its footprint. */
    footprint: FootprintSchema.nullable(),
  })
  .strict();

const PendingToolSchema = PinnedToolSchema.extend({
  changes: z.array(z.object({ change: z.enum(CHANGE_KINDS), detail: z.string().optional() }).strict()),
}).strict();

export const PinFileSchema = z
  .object({
    version: z.literal(1),
    tools: z.record(z.string(), PinnedToolSchema),
    pending: z.record(z.string(), PendingToolSchema).default({}),
  })
  .strict();

export type PinFile = z.output<typeof PinFileSchema>;
export type PinnedTool = z.output<typeof PinnedToolSchema>;

export class PinFileError extends Error {
  override readonly name = "PinFileError";
  readonly code = "E_PIN_FILE";
}

/** The pin file, or null when there is none yet (the first run records it). */
export function readPinFile(file: string): PinFile | null {
  let text: string | null;
  try {
    text = readOwnFile(file, "the pin file");
  } catch (e) {
    throw new PinFileError((e as Error).message);
  }
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new PinFileError(`${file} is not a pin file (not JSON: ${(e as Error).message}); move it away to record a new one`);
  }
  const r = PinFileSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PinFileError(`${file} is not a pin file (${issue?.path.join(".") || "top level"}: ${issue?.message ?? "invalid"}); move it away to record a new one`);
  }
  return r.data;
}

/** Writes the file whole (host-file.ts: a fresh temporary file renamed over it), mode 0600. */
export function writePinFile(file: string, pins: PinFile): void {
  writeOwnFile(file, JSON.stringify(pins, null, 2) + "\n", 0o600);
}

/**
 * This run's pin book merged into the file as it is now (`now`, which another mcp-j sharing the
 * file may have written since this run read it as `base`): what this run changed against `base`
 * (a tool recorded, a footprint set, a change found) goes in, and what the other wrote stays. A
 * tool both recorded keeps the file's entry; a change both found keeps both details.
 */
export function mergePinFile(base: PinFile | null, ours: PinFile, now: PinFile | null): PinFile {
  if (now === null) return ours;
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const out: PinFile = structuredClone(now);
  for (const [name, entry] of Object.entries(ours.tools)) {
    const before = base?.tools[name];
    if (!same(entry, before) && (out.tools[name] === undefined || same(out.tools[name], before))) out.tools[name] = entry;
  }
  for (const [name, entry] of Object.entries(ours.pending)) {
    if (same(entry, base?.pending[name])) continue;
    const theirs = out.pending[name];
    const changes = [...(theirs?.changes ?? []), ...entry.changes.filter((c) => !(theirs?.changes ?? []).some((t) => same(t, c)))];
    out.pending[name] = { ...entry, changes };
  }
  return out;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** JSON with object keys sorted, so the same schema hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** C0 and C1 controls other than tab, newline and carriage return (ANSI escapes start with ESC),
 * and the invisible format characters that reorder or hide text (bidi overrides, zero widths, tags). */
// eslint-disable-next-line no-control-regex
const HIDING = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|[\u{e0000}-\u{e007f}]/u;

export function hasHidingCharacters(text: string): boolean {
  return HIDING.test(text);
}

const ESCAPED = new RegExp(`${HIDING.source}|[\\t\\n\\r\\\\]`, "gu");
const SHORT_ESCAPES: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\" };

/** `text` for a terminal: one line in which nothing acts. Each hiding character, tab, line break
 * and backslash is written as its escape (\u001b, \u{e0041}, \t, \n, \\), so what a server chose
 * reads back exactly, and cannot forge a line or hide one. */
export function escapeHidingCharacters(text: string): string {
  return text.replace(ESCAPED, (c) => {
    const cp = c.codePointAt(0)!;
    return SHORT_ESCAPES[c] ?? (cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, "0")}`);
  });
}

export interface ListedTool {
  name: string;
  description: string;
  inputSchema: unknown;
}

/** A tools/list entry's pinned parts; null when it has no string name. */
export function listedTool(entry: unknown): ListedTool | null {
  if (typeof entry !== "object" || entry === null) return null;
  const t = entry as Record<string, unknown>;
  if (typeof t["name"] !== "string") return null;
  return { name: t["name"], description: typeof t["description"] === "string" ? t["description"] : "", inputSchema: t["inputSchema"] ?? null };
}

export interface Change {
  readonly tool: string;
  readonly change: ChangeKind;
  readonly detail?: string;
}

/**
 * The pins of one run: what the file said, what this run saw, the changes found. `recording` is
 * true when there was no file: everything seen is recorded as pinned.
 */
export class PinBook {
  private readonly pins: PinFile;
  readonly recording: boolean;
  /** Tools with a change not accepted yet (from the file's pending section or this run). */
  private readonly changed = new Set<string>();
  private readonly reported = new Set<string>();

  constructor(file: PinFile | null) {
    this.recording = file === null;
    this.pins = { version: 1, tools: byName(file?.tools ?? {}), pending: byName(file?.pending ?? {}) };
    for (const name of Object.keys(this.pins.pending)) this.changed.add(name);
  }

  /** Whether a tool has a change the user has not accepted. */
  isChanged(name: string): boolean {
    return this.changed.has(name);
  }

  /** Compares one tools/list entry with its pin; returns the changes not reported before. */
  listed(tool: ListedTool): Change[] {
    const seen = { description_sha256: sha256(tool.description), schema_sha256: sha256(canonical(tool.inputSchema)) };
    const pinned = this.pins.tools[tool.name];
    const found: Change[] = [];
    if (hasHidingCharacters(tool.description)) found.push({ tool: tool.name, change: "control_chars" });
    if (pinned === undefined) {
      if (!this.recording) found.push({ tool: tool.name, change: "new_tool" });
      else if (found.length === 0) this.pins.tools[tool.name] = { ...seen, footprint: null };
    } else {
      if (pinned.description_sha256 !== seen.description_sha256) found.push({ tool: tool.name, change: "description" });
      if (pinned.schema_sha256 !== seen.schema_sha256) found.push({ tool: tool.name, change: "schema" });
    }
    if (found.length > 0) this.addPending(tool.name, seen, found);
    return this.fresh(found);
  }

  /** A touch made while `tools` were being called. Null when the tool's footprint was not known yet
   * (the touch becomes part of it at the end, see footprints()); a change when no tool in flight
   * has it in its footprint. */
  touched(tools: readonly string[], touch: Touch, roots: readonly string[], detail: string): Change[] {
    const known = tools.map((t) => this.pins.tools[t]).filter((p) => p !== undefined);
    if (known.length === 0 || known.length < tools.length) return [];
    if (known.some((p) => p.footprint === null)) return [];
    if (known.some((p) => covers(p.footprint!, touch, roots))) return [];
    const found: Change[] = tools.map((t) => ({ tool: t, change: "footprint", detail }));
    for (const c of found) this.addPending(c.tool, null, [c]);
    return this.fresh(found);
  }

  /** Touches made while `tools` were being called that nobody saw (the supervisor lost reports):
   * each of them with a recorded footprint is taken as having left it (fail closed). */
  unseen(tools: readonly string[], detail: string): Change[] {
    const found: Change[] = tools.filter((t) => this.pins.tools[t]?.footprint != null).map((t) => ({ tool: t, change: "footprint", detail }));
    for (const c of found) this.addPending(c.tool, null, [c]);
    return this.fresh(found);
  }

  /** At the end of the run: the footprint of each pinned tool whose first calls this run saw. */
  footprints(observed: (tool: string) => Footprint | null): void {
    for (const [name, pin] of Object.entries(this.pins.tools)) {
      if (pin.footprint !== null || this.pins.pending[name] !== undefined) continue;
      const fp = observed(name);
      if (fp !== null) pin.footprint = fp;
    }
  }

  file(): PinFile {
    return this.pins;
  }

  private addPending(name: string, seen: { description_sha256: string; schema_sha256: string } | null, changes: Change[]): void {
    this.changed.add(name);
    const base = this.pins.pending[name] ?? { ...(this.pins.tools[name] ?? { description_sha256: "", schema_sha256: "", footprint: null }), changes: [] };
    if (seen !== null) Object.assign(base, seen);
    for (const c of changes) {
      if (base.changes.some((x) => x.change === c.change && x.detail === c.detail)) continue;
      base.changes.push(c.detail !== undefined ? { change: c.change, detail: c.detail } : { change: c.change });
      if (c.change === "footprint" && c.detail !== undefined) base.footprint = widen(base.footprint, c.detail);
    }
    this.pins.pending[name] = base;
  }

  private fresh(changes: Change[]): Change[] {
    return changes.filter((c) => {
      const key = `${c.tool}\0${c.change}\0${c.detail ?? ""}`;
      if (this.reported.has(key)) return false;
      this.reported.add(key);
      return true;
    });
  }
}

/** A footprint with one more touch ("read /path", "exec /path", "net host:port"). */
function widen(fp: Footprint | null, detail: string): Footprint {
  const out: Footprint = fp === null ? { read: [], write: [], exec: [], net: [] } : { read: [...fp.read], write: [...fp.write], exec: [...fp.exec], net: [...fp.net] };
  const space = detail.indexOf(" ");
  const kind = detail.slice(0, space) as keyof Footprint;
  const what = detail.slice(space + 1);
  if (kind in out) out[kind] = kind === "net" || kind === "exec" ? [...new Set([...out[kind], what])].sort() : minimalCover([...out[kind], what]);
  return out;
}

/** A copy of a table keyed by tool names, which the server chooses: without a prototype, so that
 * `constructor` or `__proto__` is a name like any other (on a plain object the first reads as a
 * pin that is not there, the second replaces the prototype). */
function byName<T>(table: Readonly<Record<string, T>>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [name, value] of Object.entries(table)) out[name] = value;
  return out;
}

/** `mcp-j pin accept`: the pending changes become the pins (all tools, or the named ones). */
export function acceptPending(pins: PinFile, only: readonly string[] = []): { pins: PinFile; accepted: string[] } {
  const accepted: string[] = [];
  const tools = byName(pins.tools);
  const pending = byName(pins.pending);
  for (const [name, p] of Object.entries(pins.pending)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const { changes: _changes, ...pin } = p;
    tools[name] = pin;
    delete pending[name];
    accepted.push(name);
  }
  return { pins: { version: 1, tools, pending }, accepted };
}
