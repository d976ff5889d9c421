// The requests one side has sent and the other has not answered yet. There is one table per
// direction because each side numbers its own requests: the client's id 1 and the server's id 1
// are different requests.
import { idKey, type JsonRpcId } from "./jsonrpc.js";

export interface PendingRequest {
  readonly id: JsonRpcId;
  readonly method: string;
  /** For tools/call: the tool's name, for the audit event. */
  readonly toolName: string | null;
  /** For the tasks/* methods: the task the request names (its params.taskId). */
  readonly task?: string;
  /** performance.now() when the request was forwarded. */
  readonly startedAt: number;
}

/** Requests one side may have awaiting an answer at once, unless the caller sets another bound.
 * Well above what a real client keeps in flight; a peer past it is answered with an error instead
 * of growing mcp-j's memory (ESCAPES 68). */
export const DEFAULT_MAX_PENDING = 10_000;

// Remembering cancelled ids lets a late response be logged as "cancelled" rather than "unknown";
// either way it is dropped, so the memory is capped and the oldest are forgotten first.
const MAX_REMEMBERED_CANCELLED = 1024;

export class PendingTable {
  private readonly pending = new Map<string, PendingRequest>();
  private readonly cancelled = new Set<string>();

  /** `onLeave` is told of each request that leaves the table (answered, cancelled or drained). */
  constructor(
    readonly capacity: number = DEFAULT_MAX_PENDING,
    private readonly onLeave: (request: PendingRequest) => void = () => {},
  ) {}

  get size(): number {
    return this.pending.size;
  }

  get isFull(): boolean {
    return this.pending.size >= this.capacity;
  }

  has(id: JsonRpcId): boolean {
    return this.pending.has(idKey(id));
  }

  add(request: PendingRequest): void {
    const key = idKey(request.id);
    this.cancelled.delete(key); // an id reused after its cancellation is a new request
    this.pending.set(key, request);
  }

  /** Removes and returns the request a response answers, or null when there is none. */
  take(id: JsonRpcId): PendingRequest | null {
    const key = idKey(id);
    const request = this.pending.get(key);
    if (request === undefined) return null;
    this.pending.delete(key);
    this.onLeave(request);
    return request;
  }

  /** The sender gave up on a request: it leaves the table, and its late response will be dropped. */
  cancel(id: JsonRpcId): PendingRequest | null {
    const request = this.take(id);
    if (request === null) return null;
    const key = idKey(id);
    this.cancelled.add(key);
    if (this.cancelled.size > MAX_REMEMBERED_CANCELLED) {
      const oldest = this.cancelled.values().next();
      if (oldest.done !== true) this.cancelled.delete(oldest.value);
    }
    return request;
  }

  /** Whether a response for this id would be late for a cancelled request (and forgets it). */
  takeCancelled(id: JsonRpcId): boolean {
    return this.cancelled.delete(idKey(id));
  }

  /** Removes and returns every pending request, oldest first. */
  drain(): PendingRequest[] {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const request of all) this.onLeave(request);
    this.cancelled.clear();
    return all;
  }
}
