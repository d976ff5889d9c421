// Backpressure between the two peers. Each message is written on behalf of the reader whose input
// produced it; when a writable reports a full buffer, that reader is paused until the writable
// drains. So a peer that does not read stops the other peer from being read (its pipe then fills
// and the kernel blocks it), and memory stays bounded by one line per direction plus stream buffers.
import type { Readable, Writable } from "node:stream";

const SEPARATE_NEWLINE_CHARS = 64 * 1024;
const NEWLINE = Buffer.from("\n");

type PausableStream = Pick<Readable, "pause" | "resume">;

export class FlowReader {
  /** What holds the stream paused: writers whose stream is full, an OrderedOutput that waits. */
  private readonly blockers = new Set<object>();
  private stopped = false;

  constructor(private readonly stream: PausableStream) {}

  block(by: object): void {
    if (this.blockers.size === 0 && !this.stopped) this.stream.pause();
    this.blockers.add(by);
  }

  unblock(by: object): void {
    if (this.blockers.delete(by) && this.blockers.size === 0 && !this.stopped) this.stream.resume();
  }

  /** Reads on without limit from now on, for input that is discarded: the peer is gone, but its
   * stream must still reach its end (and a process still writing must not block on a full pipe). */
  drainForever(): void {
    this.stopped = true;
    this.blockers.clear();
    this.stream.resume();
  }
}

export class FlowWriter {
  private readonly waiting = new Set<FlowReader>();
  private flushWaiters: Array<() => void> = [];
  private failed = false;
  private corked = false;

  constructor(
    private readonly stream: Writable,
    private readonly onError: (error: Error) => void,
  ) {
    stream.on("drain", () => this.releaseReaders());
    stream.on("error", (error: Error) => {
      this.failed = true;
      // No 'drain' will come from a failed stream: let the readers go, their writes are dropped.
      this.releaseReaders();
      this.releaseFlushWaiters();
      this.onError(error);
    });
    stream.on("close", () => {
      this.releaseReaders();
      this.releaseFlushWaiters();
    });
  }

  /** Whether writes still reach the peer. */
  get isOpen(): boolean {
    return !this.failed && !this.stream.destroyed && !this.stream.writableEnded;
  }

  /** Writes one message and its newline; when the stream is full, pauses `reader` (if any) until
   * it drains. */
  write(json: string, reader: FlowReader | null): void {
    if (!this.isOpen) return;
    let accepted: boolean;
    if (json.length < SEPARATE_NEWLINE_CHARS) {
      accepted = this.stream.write(`${json}\n`);
    } else {
      // Appending "\n" to a large string makes a rope that must be flattened (copied) before it
      // is encoded; two writes cost less than that copy.
      this.stream.write(json);
      accepted = this.stream.write("\n");
    }
    if (!accepted && reader !== null) this.blockOn(reader);
  }

  /** Writes a message already encoded (without its newline), and the newline: in one write below
   * 64 KiB (a small copy costs less than a second system call), in two above (no large copy). */
  writeBytes(data: Buffer, reader: FlowReader | null): void {
    if (!this.isOpen) return;
    let accepted: boolean;
    if (data.length < SEPARATE_NEWLINE_CHARS) accepted = this.stream.write(Buffer.concat([data, NEWLINE], data.length + 1));
    else {
      this.stream.write(data);
      accepted = this.stream.write(NEWLINE);
    }
    if (!accepted && reader !== null) this.blockOn(reader);
  }

  /** Groups the writes made until `uncork`, so many small messages leave in one system call. */
  cork(): void {
    if (this.corked || !this.isOpen) return;
    this.corked = true;
    this.stream.cork();
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.stream.uncork();
  }

  private blockOn(reader: FlowReader): void {
    this.waiting.add(reader);
    reader.block(this);
  }

  end(): void {
    if (this.isOpen) this.stream.end();
  }

  /** Resolves once every line written so far has been handed to the OS (or the stream failed).
   * A writable performs its writes one after the other, so the callback of an empty write made now
   * runs after all of them: no callback per message is needed. */
  flush(): Promise<void> {
    if (!this.isOpen || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      this.stream.write("", () => this.releaseFlushWaiters());
    });
  }

  private releaseReaders(): void {
    const readers = [...this.waiting];
    this.waiting.clear();
    for (const reader of readers) reader.unblock(this);
  }

  private releaseFlushWaiters(): void {
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
