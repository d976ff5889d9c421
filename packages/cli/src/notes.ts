// The jail's refusals, kept per tool call or task (keyed by inFlightKey) until its result goes to
// the client with them (attribution.ts: noteFor). Bounded whatever the server does: at most
// MAX_PER_CALL distinct refusals a call, MAX_CALLS calls and MAX_CHARS characters in all, the oldest calls' notes
// forgotten first. A server owns the paths (4 KiB each) and can leave thousands of calls or tasks
// without a result; their notes live in mcp-j, outside the jail's memory limit.
import type { Refusal } from "@mcp-j/engine/core";

/** Refusals kept per call: the note stays short; the audit log has them all. */
export const MAX_PER_CALL = 16;
const MAX_CALLS = 4096;
const MAX_CHARS = 4 * 1024 * 1024;

const charsOf = (r: Refusal): number => r.action.length + r.target.length + r.reason.length + (r.allow?.length ?? 0);
const same = (a: Refusal, b: Refusal): boolean => a.action === b.action && a.target === b.target;

export class RefusalNotes {
  private readonly byKey = new Map<string, Refusal[]>();
  private chars = 0;

  constructor(private readonly maxChars: number = MAX_CHARS) {}

  /** Adds a refusal to the call's note (once; past MAX_PER_CALL it is left out). */
  add(key: string, refusal: Refusal): void {
    const list = this.byKey.get(key) ?? [];
    if (list.length >= MAX_PER_CALL || list.some((n) => same(n, refusal))) return;
    this.byKey.delete(key);
    this.byKey.set(key, [...list, refusal]);
    this.chars += charsOf(refusal);
    this.trim(key);
  }

  /** The call's note, which leaves the book. */
  take(key: string): Refusal[] {
    const list = this.byKey.get(key) ?? [];
    this.drop(key);
    return list;
  }

  /** A call whose answer started a task: its note belongs to the task's result, first. */
  carry(from: string, to: string): void {
    const moved = this.take(from);
    if (moved.length === 0) return;
    const merged = [...moved];
    for (const r of this.take(to)) if (merged.length < MAX_PER_CALL && !merged.some((n) => same(n, r))) merged.push(r);
    this.byKey.set(to, merged.slice(0, MAX_PER_CALL));
    for (const r of this.byKey.get(to)!) this.chars += charsOf(r);
    this.trim(to);
  }

  drop(key: string): void {
    for (const r of this.byKey.get(key) ?? []) this.chars -= charsOf(r);
    this.byKey.delete(key);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Forgets the oldest notes (never `keep`, the one just written) until the book fits. */
  private trim(keep: string): void {
    for (const key of this.byKey.keys()) {
      if (this.chars <= this.maxChars && this.byKey.size <= MAX_CALLS) return;
      if (key !== keep) this.drop(key);
    }
  }
}
