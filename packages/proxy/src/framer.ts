// Splits a byte stream into lines on 0x0A *before* decoding, so a chunk boundary that cuts a UTF-8
// sequence in two is harmless, and never holds more than `maxBytes` of one partial line.
import { isAscii, isUtf8 } from "node:buffer";
import { CR } from "./bytes.js";
import { TopLevelIdScanner, type ScanSummary } from "./id-scan.js";

export type Frame =
  /** A complete line of valid UTF-8; `bytes` is its size on the wire (without the line ending),
   * `data` its bytes (without the line ending; it may share memory with the chunk it arrived in),
   * `text` its decoding (computed on each read). */
  | { readonly kind: "line"; readonly text: string; readonly bytes: number; readonly data: Buffer }
  /** A line that is not valid UTF-8 (a parse error for that line, never a crash). */
  | { readonly kind: "undecodable"; readonly bytes: number }
  /** A line longer than the limit: discarded as it streamed past, with what could be recovered. */
  | { readonly kind: "oversized"; readonly bytes: number; readonly scan: ScanSummary };

const NEWLINE = 0x0a;

export const DEFAULT_MAX_MESSAGE_BYTES = 5 * 1024 * 1024;

export class LineFramer {
  /** Pieces of the current partial line; their total is `partialBytes`, never above the limit. */
  private parts: Buffer[] = [];
  private partialBytes = 0;
  /** Set while discarding an oversized line up to its newline. */
  private discard: { scanner: TopLevelIdScanner; bytes: number } | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly emit: (frame: Frame) => void,
  ) {}

  /** Bytes of partial line currently held (for tests and the fuzz loop's memory bound). */
  get bufferedBytes(): number {
    return this.partialBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.discard !== null) {
        this.discard.scanner.push(piece);
        this.discard.bytes += piece.length;
      } else if (this.partialBytes + piece.length > this.maxBytes) {
        this.startDiscard(piece);
      } else if (nl !== -1) {
        this.completeLine(piece);
      } else {
        this.parts.push(ownBytes(piece));
        this.partialBytes += piece.length;
      }
      if (nl === -1) return;
      if (this.discard !== null) this.finishDiscard();
      start = nl + 1;
    }
  }

  /** End of stream: a last line without a newline still counts (peers that exit mid-write are
   * common, and what they did send should be answered). */
  end(): void {
    if (this.discard !== null) this.finishDiscard();
    else if (this.partialBytes > 0) this.completeLine(Buffer.alloc(0));
  }

  private completeLine(tail: Buffer): void {
    let line = tail;
    if (this.parts.length > 0) {
      this.parts.push(tail);
      line = Buffer.concat(this.parts, this.partialBytes + tail.length);
      this.parts = [];
      this.partialBytes = 0;
    }
    const bytes = line.length;
    // Tolerate "\r\n": the "\r" belongs to the line ending, not to the message.
    if (bytes > 0 && line[bytes - 1] === CR) line = line.subarray(0, bytes - 1);
    if (line.length === 0) return; // blank lines carry nothing; skipping them is harmless
    // Anything but valid UTF-8 is refused here: no replacement characters, so what is parsed is
    // exactly what was sent. ASCII (most traffic) decodes faster as latin1, with the same result.
    const ascii = isAscii(line);
    if (!ascii && !isUtf8(line)) {
      this.emit({ kind: "undecodable", bytes });
      return;
    }
    const data = line;
    // Decoded on demand: a large line may never need its text (the session checks its bytes).
    this.emit({
      kind: "line",
      bytes,
      data,
      get text(): string {
        return data.toString(ascii ? "latin1" : "utf8");
      },
    });
  }

  private startDiscard(piece: Buffer): void {
    const scanner = new TopLevelIdScanner();
    for (const part of this.parts) scanner.push(part);
    scanner.push(piece);
    this.discard = { scanner, bytes: this.partialBytes + piece.length };
    this.parts = [];
    this.partialBytes = 0;
  }

  private finishDiscard(): void {
    const discard = this.discard;
    if (discard === null) return;
    this.discard = null;
    this.emit({ kind: "oversized", bytes: discard.bytes, scan: discard.scanner.summary() });
  }
}

/** A piece of a chunk that is kept while the line completes. A small view of a large buffer would
 * pin all of it, so it is copied; a piece that is most of its buffer is kept as is (one copy fewer
 * on the large messages where copies cost). */
function ownBytes(piece: Buffer): Buffer {
  return piece.byteLength * 2 < piece.buffer.byteLength ? Buffer.from(piece) : piece;
}
