// Recovers the top-level "id" (and the keys that tell a request from a response) from a line that is
// too large to buffer. It reads the bytes once, as they stream past, with constant memory: a few
// counters and two small capture buffers. Peers such as the MCP SDK write "id" *after* "result", so a
// prefix scan would miss most oversized responses; this scanner sees the whole line instead.
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, isJsonSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from "./bytes.js";
import { isValidId, type JsonRpcId } from "./jsonrpc.js";

/** What the scanner learned about a line's top-level object. */
export interface ScanSummary {
  /** The last top-level "id" whose value is a valid id; null if absent, invalid or unreadable. */
  readonly id: JsonRpcId | null;
  /** Whether a top-level "id" key was seen at all (a notification has none). */
  readonly hasId: boolean;
  readonly hasMethod: boolean;
  readonly hasResult: boolean;
  readonly hasError: boolean;
  /** Whether the line starts as a JSON object (a batch or a scalar has no id to recover). */
  readonly isObject: boolean;
}

// Keys longer than this cannot be one we care about; ids longer than this are not recovered.
const MAX_KEY_BYTES = 32;
const MAX_ID_BYTES = 256;

const enum Phase {
  Start,
  ExpectKey,
  InKey,
  AfterKey,
  ExpectValue,
  InValue,
  Done,
}

export class TopLevelIdScanner {
  private phase = Phase.Start;
  /** Nesting depth; 1 means "directly inside the top-level object". */
  private depth = 0;
  private inString = false;
  private escaped = false;
  private isObject = false;
  private readonly key = new Uint8Array(MAX_KEY_BYTES);
  private keyLength = 0;
  private keyOverflow = false;
  private currentKey = "";
  private readonly value = new Uint8Array(MAX_ID_BYTES);
  private valueLength = 0;
  private valueOverflow = false;
  private id: JsonRpcId | null = null;
  private hasId = false;
  private hasMethod = false;
  private hasResult = false;
  private hasError = false;

  /** Feeds the next bytes of the line (without its newline). */
  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length && this.phase !== Phase.Done; i++) {
      this.step(bytes[i] as number);
    }
  }

  summary(): ScanSummary {
    return {
      id: this.id,
      hasId: this.hasId,
      hasMethod: this.hasMethod,
      hasResult: this.hasResult,
      hasError: this.hasError,
      isObject: this.isObject,
    };
  }

  private step(b: number): void {
    const capturing = this.phase === Phase.InValue && this.currentKey === "id";
    if (capturing && !(this.depth === 1 && !this.inString && (b === COMMA || b === CLOSE_BRACE))) {
      if (this.valueLength < MAX_ID_BYTES) this.value[this.valueLength++] = b;
      else this.valueOverflow = true;
    }
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (b === BACKSLASH) this.escaped = true;
      else if (b === QUOTE) {
        this.inString = false;
        if (this.phase === Phase.InKey) this.endKey();
        return;
      }
      if (this.phase === Phase.InKey) {
        if (this.keyLength < MAX_KEY_BYTES) this.key[this.keyLength++] = b;
        else this.keyOverflow = true;
      }
      return;
    }
    if (isJsonSpace(b)) return;
    switch (this.phase) {
      case Phase.Start:
        this.isObject = b === OPEN_BRACE;
        if (this.isObject) {
          this.depth = 1;
          this.phase = Phase.ExpectKey;
        } else {
          this.phase = Phase.Done;
        }
        return;
      case Phase.ExpectKey:
        if (b === QUOTE) {
          this.inString = true;
          this.phase = Phase.InKey;
          this.keyLength = 0;
          this.keyOverflow = false;
        } else if (b === CLOSE_BRACE) {
          this.phase = Phase.Done;
        }
        return;
      case Phase.AfterKey:
        if (b === COLON) this.phase = Phase.ExpectValue;
        return;
      case Phase.ExpectValue:
        this.phase = Phase.InValue;
        this.valueLength = 0;
        this.valueOverflow = false;
        if (this.currentKey === "id") this.value[this.valueLength++] = b;
        this.structural(b);
        return;
      case Phase.InValue:
        this.structural(b);
        return;
      default:
        return;
    }
  }

  /** Tracks strings and nesting inside a value; a ',' or '}' at depth 1 ends the value. */
  private structural(b: number): void {
    if (b === QUOTE) this.inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
    else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      this.depth--;
      if (this.depth === 0) {
        this.endValue();
        this.phase = Phase.Done;
      }
    } else if (b === COMMA && this.depth === 1) {
      this.endValue();
      this.phase = Phase.ExpectKey;
    }
  }

  private endKey(): void {
    this.phase = Phase.AfterKey;
    this.currentKey = this.keyOverflow ? "" : decodeJsonString(this.key.subarray(0, this.keyLength));
    if (this.currentKey === "id") this.hasId = true;
    else if (this.currentKey === "method") this.hasMethod = true;
    else if (this.currentKey === "result") this.hasResult = true;
    else if (this.currentKey === "error") this.hasError = true;
  }

  private endValue(): void {
    if (this.currentKey !== "id") return;
    // The last "id" wins, as it does for JSON.parse; an unreadable one clears an earlier one.
    this.id = null;
    if (this.valueOverflow) return;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(this.value.subarray(0, this.valueLength)).toString("utf8"));
      if (isValidId(parsed)) this.id = parsed;
    } catch {
      // Not a JSON scalar: the id stays unrecovered.
    }
  }
}

function decodeJsonString(raw: Uint8Array): string {
  try {
    const parsed: unknown = JSON.parse(`"${Buffer.from(raw).toString("utf8")}"`);
    return typeof parsed === "string" ? parsed : "";
  } catch {
    return "";
  }
}

/** Scans a complete line in one go (the framer uses the streaming form). */
export function scanTopLevel(bytes: Uint8Array): ScanSummary {
  const scanner = new TopLevelIdScanner();
  scanner.push(bytes);
  return scanner.summary();
}
