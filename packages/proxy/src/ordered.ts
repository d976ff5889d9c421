// Messages to one peer, some of which must wait for something before they leave, all in order. A
// tools/call result waits until mcp-j has read every report the jail made before the server
// answered (ProxyOptions.settle): the refusals noted on the result and the pins' verdict on the
// tool then include what the call did, and a client that calls again once it has the result is
// judged on that. Whatever is for the same peer after a waiting message waits behind it, and the
// readers are paused meanwhile, so what waits is bounded by what the reads already made brought.
import type { FlowReader } from "./flow.js";

const ignore = (): void => {};

export class OrderedOutput {
  private readonly queue: Array<{ ready: Promise<unknown> | null; run: () => void }> = [];
  private pumping = false;
  /** Set while a queued message is written: what it writes goes out with it, not behind the queue. */
  private running = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly pause: readonly FlowReader[]) {}

  /** Runs `run` (which writes to the peer) now, or after what waits. */
  now(run: () => void): void {
    if (this.running || this.queue.length === 0) run();
    else this.queue.push({ ready: null, run });
  }

  /** Runs `run` once `ready` has settled (either way), and after what waits. */
  after(ready: Promise<unknown>, run: () => void): void {
    this.queue.push({ ready, run });
    if (this.pumping) return;
    this.pumping = true;
    for (const reader of this.pause) reader.block(this);
    void this.pump();
  }

  /** Resolves once nothing waits. */
  idle(): Promise<void> {
    if (!this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.ready !== null) await head.ready.then(ignore, ignore);
      this.queue.shift();
      this.running = true;
      try {
        head.run();
      } finally {
        this.running = false;
      }
    }
    this.pumping = false;
    for (const reader of this.pause) reader.unblock(this);
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
