// Which client requests were in flight at a given instant: the proxy's half of attribution
// (docs/audit.md "Attribution"). A request is in flight from the moment the proxy forwards it to the
// server until the proxy takes the server's answer (or the client cancels it, or the server is
// gone). Instants are CLOCK_MONOTONIC nanoseconds, the clock of process.hrtime.bigint() and of the
// supervisor's `mono=` stamp, so an event stamped in the supervisor can be placed among the
// messages after it arrives: events travel on another channel and may arrive after the answer
// that followed them, so finished requests are kept for a while.
import type { JsonRpcId } from "./jsonrpc.js";
import { idKey } from "./jsonrpc.js";

export interface InFlightRequest {
  /** The request's id; for TASK_WORK, the task's id. */
  readonly id: JsonRpcId;
  readonly method: string;
  /** For tools/call and TASK_WORK: the tool's name. */
  readonly tool: string | null;
}

/**
 * The `method` of a task's work: a task-augmented tools/call is answered with the task at once and
 * the tool's work goes on in the server between the client's polls, so the task is in flight from
 * that answer until the proxy sees it end (a terminal status, or its result delivered).
 */
export const TASK_WORK = "task";

/** The key of an entry: a task's id and a request's id are in different spaces. */
export function inFlightKey(r: { readonly id: JsonRpcId; readonly method: string }): string {
  return r.method === TASK_WORK ? `task\0${String(r.id)}` : idKey(r.id);
}

interface Interval {
  readonly request: InFlightRequest;
  readonly start: bigint;
  end: bigint | null;
}

/** Finished requests remembered for late events: the newest ones, for at most this long. */
const KEEP_FINISHED = 4096;
const KEEP_FINISHED_NS = 30_000_000_000n;

export function monotonicNow(): bigint {
  return process.hrtime.bigint();
}

export class InFlightLog {
  private readonly active = new Map<string, Interval>();
  /** Finished intervals in the order they ended (so by end time). */
  private readonly finished: Interval[] = [];
  /** Index of the oldest finished interval still kept (the array is compacted now and then). */
  private head = 0;

  begin(request: InFlightRequest, at: bigint = monotonicNow()): void {
    this.active.set(inFlightKey(request), { request, start: at, end: null });
  }

  end(request: { readonly id: JsonRpcId; readonly method: string }, at: bigint = monotonicNow()): void {
    const key = inFlightKey(request);
    const interval = this.active.get(key);
    if (interval === undefined) return;
    this.active.delete(key);
    interval.end = at;
    this.finished.push(interval);
    this.prune(at);
  }

  /** The requests in flight at `at`, oldest first. */
  at(at: bigint): InFlightRequest[] {
    const out: Interval[] = [];
    for (const i of this.active.values()) if (i.start <= at) out.push(i);
    // Finished intervals are ordered by end: walk back while they ended at or after `at`.
    for (let k = this.finished.length - 1; k >= this.head; k--) {
      const i = this.finished[k]!;
      if (i.end! < at) break;
      if (i.start <= at) out.push(i);
    }
    return out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)).map((i) => i.request);
  }

  /** The requests in flight now. */
  now(): InFlightRequest[] {
    return [...this.active.values()].map((i) => i.request);
  }

  private prune(now: bigint): void {
    while (this.head < this.finished.length && (this.finished.length - this.head > KEEP_FINISHED || now - this.finished[this.head]!.end! > KEEP_FINISHED_NS)) {
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.finished.length) {
      this.finished.splice(0, this.head);
      this.head = 0;
    }
  }
}
