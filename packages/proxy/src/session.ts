// One proxy session: reads lines from both peers, validates and polices them, and forwards the
// bytes received (outgoing.ts says when it cannot), keeping a table of pending requests per
// direction. Both MCP eras go through the same code: the era only decides the shape of a refusal.
import { performance } from "node:perf_hooks";
import type { Readable, Writable } from "node:stream";
import {
  deniedToolResult,
  errorResponse,
  internalError,
  invalidParams,
  invalidRequest,
  methodNotFound,
  messageTooLarge,
  parseError,
  ProxyError,
  tooManyPending,
  type ErrorResponse,
} from "./errors.js";
import { isModernVersion, requestProtocolVersion } from "./era.js";
import type { ProxyEvent, Side, ToolCallOutcome } from "./events.js";
import { FlowReader, FlowWriter } from "./flow.js";
import { InFlightLog, monotonicNow, TASK_WORK, type InFlightRequest } from "./inflight.js";
import { DEFAULT_MAX_MESSAGE_BYTES, LineFramer, type Frame } from "./framer.js";
import {
  ErrorCode,
  isJsonObject,
  idTooLong,
  isValidId,
  MAX_ID_CHARS,
  showId,
  type JsonObject,
  type JsonRpcId,
  type NotificationMessage,
  type RequestMessage,
  type ResponseMessage,
} from "./jsonrpc.js";
import { jsonSyntaxProblem } from "./json-check.js";
import { LIGHT_BYTES, lightParse } from "./light.js";
import { keyCaseProblem, READ_KEYS } from "./key-case.js";
import { asReceived, filterResultArray, holdsCarriageReturn, repeatsKey, serialize, type Filtered, type Outgoing, type Wire } from "./outgoing.js";
import { OrderedOutput } from "./ordered.js";
import { DEFAULT_MAX_PENDING, PendingTable, type PendingRequest } from "./pending.js";
import { ToolPolicy } from "./policy.js";
import type { ScanSummary } from "./id-scan.js";
import { isTerminalTask, MAX_REMEMBERED_TASKS, namedTask, startedTask, TaskRegistry, toolResultIn } from "./tasks.js";
import { validateMessage, type Invalid } from "./validate.js";
import { clientVerdict, namesMethod, namesToolsCall } from "./verdict.js";

export interface ProxyOptions {
  /** Largest message (one line, without its newline) either peer may send; default 5 MiB. */
  maxMessageBytes?: number;
  /** Requests each side may have awaiting an answer at once (default 10,000); past it a request
   * is answered with -31002 instead of being remembered. */
  maxPending?: number;
  /** Tool globs (`*`, `?`); deny wins, an empty allow list allows every tool not denied. */
  tools?: { allow: string[]; deny: string[] };
  /** Machine events for the JSONL audit log. */
  onEvent?: (event: ProxyEvent) => void;
  /** One human-readable line for stderr. */
  log?: (line: string) => void;
  /** Remember which client requests are in flight when (ProxySession.inFlightAt); off by default. */
  attribution?: boolean;
  /** Called when a tools/call result arrives: a note to add to it (the jail's refusals during the
   * call, from the CLI's attribution), or null to forward it as received. */
  toolResultNote?: (call: InFlightRequest) => ToolResultNote | null;
  /** Called when a tools/call's answer started a task (`task`, TASK_WORK), before the answer goes
   * on: what would have been noted on the call belongs to the task's result (the call's own
   * answer carries no content to note). */
  taskStarted?: (call: InFlightRequest, task: InFlightRequest) => void;
  /** Tools the caller hides and refuses beyond the tool policy (pinning). */
  toolGate?: ToolGate;
  /** Resolves once every report of the jail made before now has been handed to the caller (the
   * CLI's attribution), for a tools/call result that has just arrived: the result waits for it
   * before its note is made and it is forwarded, and what is for the client after it waits behind
   * it (ordered.ts). Bounded by the caller. */
  settle?: (call: InFlightRequest) => Promise<unknown>;
}

/** What is added to a tools/call result: entries merged into its `_meta`, and optionally a text
 * content block appended to its `content`. */
export interface ToolResultNote {
  readonly meta: Readonly<Record<string, unknown>>;
  readonly text: string | null;
}

export interface ToolGate {
  /** Told of every tools/list result's `tools` entries; returns the names to hide from the client. */
  listed(tools: readonly unknown[]): ReadonlySet<string>;
  /** Why a call of this tool is refused (completes "The tool X ..."), or null to let it run. */
  refusal(name: string): string | null;
}

export interface ProxySession {
  /** Answer every pending client request with -32603 naming `cause`, stop forwarding, flush. Idempotent. */
  serverGone(cause: string): Promise<void>;
  /** Resolves when the server's stdout has ended (EOF): the CLI then decides the cause. */
  readonly serverOutputEnded: Promise<void>;
  /** Resolves when the client's input has ended (EOF), after the server's stdin was ended. */
  readonly clientInputEnded: Promise<void>;
  /** Number of client requests awaiting a response. */
  pendingCount(): number;
  /** Requests each side sent that await an answer. */
  pendingCounts(): { client: number; server: number };
  /** The client requests in flight at a CLOCK_MONOTONIC instant in ns (process.hrtime.bigint()),
   * oldest first; null when the session was started without `attribution`. */
  inFlightAt(at: bigint): InFlightRequest[] | null;
}

export interface ClientEnd {
  input: NodeJS.ReadableStream | Readable;
  output: Writable;
}

export interface ServerEnd {
  input: Writable;
  output: Readable;
}

// Long log lines (a server's stray output, a peer's long names) are cut; the whole is never needed
// to debug.
const MAX_LOGGED_CHARS = 4096;
const PREVIEW_CHARS = 200;
const BATCH_REFUSAL =
  "JSON-RPC batches are not supported: MCP removed them in revision 2025-06-18; send each message on its own line";

export function startProxy(client: ClientEnd, server: ServerEnd, options: ProxyOptions = {}): ProxySession {
  return new Session(client, server, checkOptions(options));
}

interface CheckedOptions {
  maxMessageBytes: number;
  maxPending: number;
  policy: ToolPolicy;
  onEvent: (event: ProxyEvent) => void;
  log: (line: string) => void;
  attribution: boolean;
  toolResultNote: ((call: InFlightRequest) => ToolResultNote | null) | null;
  taskStarted: ((call: InFlightRequest, task: InFlightRequest) => void) | null;
  toolGate: ToolGate | null;
  settle: ((call: InFlightRequest) => Promise<unknown>) | null;
}

function checkOptions(options: ProxyOptions): CheckedOptions {
  const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new ProxyError("invalid_options", `maxMessageBytes must be a positive integer, got ${String(max)}`);
  }
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new ProxyError("invalid_options", `maxPending must be a positive integer, got ${String(maxPending)}`);
  }
  const tools = options.tools ?? { allow: [], deny: [] };
  for (const glob of [...tools.allow, ...tools.deny]) {
    if (typeof glob !== "string") throw new ProxyError("invalid_options", "tool globs must be strings");
  }
  return {
    maxMessageBytes: max,
    maxPending,
    policy: new ToolPolicy(tools),
    onEvent: options.onEvent ?? (() => {}),
    log: options.log ?? (() => {}),
    attribution: options.attribution === true,
    toolResultNote: options.toolResultNote ?? null,
    taskStarted: options.taskStarted ?? null,
    toolGate: options.toolGate ?? null,
    settle: options.settle ?? null,
  };
}

function other(side: Side): Side {
  return side === "client" ? "server" : "client";
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.alloc(0);
}

class Session implements ProxySession {
  readonly serverOutputEnded: Promise<void>;
  readonly clientInputEnded: Promise<void>;

  /** Requests each side sent, keyed by the side that sent them (which is the side that cancels). */
  private readonly pendingFrom: Record<Side, PendingTable>;
  /** Whether each side's table was full at its last request (to log a full table once, not per request). */
  private readonly full: Record<Side, boolean> = { client: false, server: false };
  /** Tasks allowed calls started; one forgotten is no longer in flight either (bounded). */
  private readonly tasks = new TaskRegistry(MAX_REMEMBERED_TASKS, (taskId) => this.endTask(taskId));
  private readonly readers: Record<Side, FlowReader>;
  private readonly writers: Record<Side, FlowWriter>;
  private readonly framers: Record<Side, LineFramer>;
  /** The revision the initialize handshake settled on (legacy era), if there was one. */
  private handshakeVersion: string | null = null;
  private goneCause: string | null = null;
  private goneDone: Promise<void> | null = null;
  private readonly inFlight: InFlightLog | null;
  /** Everything for the client, in order: a tools/call result may wait for `settle`. */
  private readonly toClient: OrderedOutput;

  constructor(
    client: ClientEnd,
    server: ServerEnd,
    private readonly options: CheckedOptions,
  ) {
    const inFlight = options.attribution ? new InFlightLog() : null;
    this.inFlight = inFlight;
    this.pendingFrom = {
      client: new PendingTable(options.maxPending, inFlight === null ? undefined : (r) => inFlight.end(r)),
      server: new PendingTable(options.maxPending),
    };
    const clientInput = client.input as Readable;
    this.readers = { client: new FlowReader(clientInput), server: new FlowReader(server.output) };
    this.writers = {
      client: new FlowWriter(client.output, (e) => this.say(`cannot write to the client: ${e.message}`)),
      server: new FlowWriter(server.input, (e) => this.say(`cannot write to the server: ${e.message}`)),
    };
    this.toClient = new OrderedOutput([this.readers.client, this.readers.server]);
    const max = options.maxMessageBytes;
    this.framers = {
      client: new LineFramer(max, (frame) => this.onFrame("client", frame)),
      server: new LineFramer(max, (frame) => this.onFrame("server", frame)),
    };

    this.clientInputEnded = new Promise((resolve) => {
      let ended = false;
      const onEnd = (): void => {
        if (ended) return;
        ended = true;
        this.framers.client.end();
        // The client is done: ending the server's stdin is how MCP stdio asks a server to exit.
        this.writers.server.end();
        resolve();
      };
      clientInput.on("data", (chunk: unknown) => this.onChunk("client", chunk));
      clientInput.on("end", onEnd);
      clientInput.on("close", onEnd);
      clientInput.on("error", (e: Error) => {
        this.say(`cannot read from the client: ${e.message}`);
        onEnd();
      });
    });

    this.serverOutputEnded = new Promise((resolve) => {
      let ended = false;
      const onEnd = (): void => {
        if (ended) return;
        ended = true;
        this.framers.server.end();
        resolve();
      };
      server.output.on("data", (chunk: unknown) => this.onChunk("server", chunk));
      server.output.on("end", onEnd);
      server.output.on("close", onEnd);
      server.output.on("error", (e: Error) => {
        this.say(`cannot read from the server: ${e.message}`);
        onEnd();
      });
    });
  }

  pendingCount(): number {
    return this.pendingFrom.client.size;
  }

  pendingCounts(): { client: number; server: number } {
    return { client: this.pendingFrom.client.size, server: this.pendingFrom.server.size };
  }

  inFlightAt(at: bigint): InFlightRequest[] | null {
    return this.inFlight === null ? null : this.inFlight.at(at);
  }

  serverGone(cause: string): Promise<void> {
    if (this.goneDone !== null) return this.goneDone;
    this.goneCause = cause;
    this.readers.server.drainForever();
    const pending = this.pendingFrom.client.drain();
    for (const request of pending) {
      this.send("client", this.goneError(request.id), null);
      if (request.toolName !== null) this.toolCall(request.id, request.toolName, request, "server-gone", 0);
    }
    // The server's own requests die with it: nobody is left to read their answers.
    this.pendingFrom.server.drain();
    this.emit({ type: "server_gone", cause, pending: pending.length });
    // Only worth a line when someone was waiting: the end itself is the caller's to report.
    if (pending.length > 0) this.say(`the server is gone (${cause}); answered ${pending.length} pending request(s) with an error`);
    this.writers.server.end();
    this.goneDone = this.toClient.idle().then(() => this.writers.client.flush());
    return this.goneDone;
  }

  // ---- framing --------------------------------------------------------------------------------

  private onChunk(side: Side, chunk: unknown): void {
    if (side === "server" && this.goneCause !== null) return; // stop forwarding: the server is gone
    const bytes = toBuffer(chunk);
    // A chunk that holds many messages (a client pipelining calls) is forwarded corked, in one
    // write each way instead of one per message. A lone message is not: corking costs it latency.
    const first = bytes.indexOf(0x0a);
    if (first === -1 || bytes.indexOf(0x0a, first + 1) === -1) {
      this.framers[side].push(bytes);
      return;
    }
    this.writers.client.cork();
    this.writers.server.cork();
    try {
      this.framers[side].push(bytes);
    } finally {
      this.writers.client.uncork();
      this.writers.server.uncork();
    }
  }

  private onFrame(side: Side, frame: Frame): void {
    if (side === "server" && this.goneCause !== null) return; // stop forwarding: the server is gone
    switch (frame.kind) {
      case "line":
        this.onLine(side, frame, frame.bytes, frame.data);
        return;
      case "undecodable":
        this.onUnparsable(side, "the line is not valid UTF-8", "(invalid UTF-8)", frame.bytes);
        return;
      case "oversized":
        this.onOversized(side, frame.bytes, frame.scan);
        return;
    }
  }

  private onLine(side: Side, line: { readonly text: string }, bytes: number, data: Buffer): void {
    // Every line is checked to be one JSON value. A large one is checked on its bytes and parsed
    // only where the proxy reads it (json-check.ts, light.ts): the same verdict without building a
    // copy of its payload. Everything else is parsed whole.
    const light = data.length >= LIGHT_BYTES;
    let value: unknown;
    if (light) {
      const problem = jsonSyntaxProblem(data);
      if (problem !== null) {
        this.onUnparsable(side, problem, data.toString("utf8", 0, MAX_LOGGED_CHARS), bytes);
        return;
      }
    }
    let lightValue: JsonObject | null = null;
    try {
      if (light) lightValue = lightParse(data);
      value = lightValue ?? JSON.parse(line.text);
    } catch (e) {
      this.onUnparsable(side, e instanceof Error ? e.message : "invalid JSON", line.text, bytes);
      return;
    }
    const wire: Wire = { data, text: () => line.text, light: lightValue !== null };
    try {
      if (Array.isArray(value)) this.onBatch(side, value);
      else if (side === "server" && (typeof value !== "object" || value === null)) {
        // A bare scalar on a server's stdout is a stray print (console.log(42)), not protocol.
        this.onUnparsable(side, "not a JSON-RPC message", line.text, bytes);
      } else this.onValue(side, value, bytes, wire);
    } catch (e) {
      // A bug of ours must cost one message, not the session: answer it if it was a request.
      const id = isJsonObject(value) && isValidId(value["id"]) && "method" in value ? value["id"] : null;
      const detail = e instanceof Error ? e.message : String(e);
      this.say(`internal failure on a message from the ${side}: ${detail}`);
      if (id !== null) this.send(side, internalError(id, "the proxy failed to handle this message"), side);
    }
  }

  private onUnparsable(side: Side, detail: string, text: string, bytes: number): void {
    if (side === "server") {
      // Servers often print to stdout by mistake; that output is for people, never for the client.
      const shown = text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}… (${bytes} bytes)` : text;
      this.say(`server stdout (not JSON-RPC): ${shown}`);
      this.emit({ type: "server_output_nonjson", bytes, preview: text.slice(0, PREVIEW_CHARS) });
      return;
    }
    this.send("client", parseError(detail), "client");
    this.emit({ type: "message_invalid", from: side, code: ErrorCode.ParseError, reason: detail, id: null, answered: true });
  }

  private onOversized(side: Side, bytes: number, scan: ScanSummary): void {
    const limit = this.options.maxMessageBytes;
    this.emit({ type: "message_oversized", from: side, bytes, limit, id: scan.id });
    const what = `a message of ${bytes} bytes from the ${side} exceeds the ${limit}-byte limit`;
    const tooLarge = `${bytes} bytes, limit ${limit}`;
    if (!scan.isObject) {
      if (side === "server") {
        this.say(`${what}; discarded (server stdout, not a JSON-RPC object)`);
        this.emit({ type: "server_output_nonjson", bytes, preview: "(oversized)" });
      } else {
        this.say(`${what}; discarded`);
        this.send("client", messageTooLarge(null, tooLarge, "request too large"), "client");
      }
      return;
    }
    if (scan.hasMethod && !scan.hasId) {
      this.say(`${what}; notification discarded`);
      return;
    }
    if (!scan.hasMethod && (scan.hasResult || scan.hasError)) {
      const request = scan.id === null ? null : this.pendingFrom[other(side)].take(scan.id);
      this.say(`${what}; response to id ${showId(scan.id)} discarded${request === null ? " (no pending request matched)" : ""}`);
      if (request !== null) {
        const error = messageTooLarge(request.id, `the ${side}'s response has ${tooLarge}`, "response too large");
        this.send(other(side), error, side);
        if (request.toolName !== null) this.toolCall(request.id, request.toolName, request, "too-large", bytes);
      }
      return;
    }
    this.say(`${what}; request ${showId(scan.id)} answered with an error`);
    this.send(side, messageTooLarge(scan.id, tooLarge, "request too large"), side);
  }

  // ---- validation -----------------------------------------------------------------------------

  /** A JSON array: one error to the sender, and nothing in it is forwarded (so no element's tool
   * call runs). Requests the other side is waiting on that the batch claimed to answer are failed,
   * so nobody waits for an answer that will not come. */
  private onBatch(side: Side, batch: unknown[]): void {
    this.emit({ type: "message_invalid", from: side, code: ErrorCode.InvalidRequest, reason: BATCH_REFUSAL, id: null, answered: true });
    this.say(`a batch of ${batch.length} message(s) from the ${side} refused: batches are not part of MCP since 2025-06-18`);
    this.send(side, invalidRequest(null, BATCH_REFUSAL), side);
    for (const element of batch) {
      const v = validateMessage(element);
      if (!v.ok || v.message.kind !== "response" || v.message.id === null) continue;
      const request = this.pendingFrom[other(side)].take(v.message.id);
      if (request === null) continue;
      this.send(other(side), internalError(request.id, `the ${side} answered in a JSON-RPC batch, which MCP does not allow`), side);
      if (request.toolName !== null) this.toolCall(request.id, request.toolName, request, "error", 0);
    }
  }

  private onValue(side: Side, value: unknown, bytes: number, wire: Wire): void {
    const v = validateMessage(value);
    if (!v.ok) {
      this.onInvalid(side, v);
      return;
    }
    const message = v.message;
    if (message.kind === "request") this.onRequest(side, message, wire);
    else if (message.kind === "notification") this.onNotification(side, message, wire);
    else this.onResponse(side, message, bytes, wire);
  }

  private onInvalid(side: Side, invalid: Pick<Invalid, "shape" | "id" | "code" | "reason">): void {
    const { shape, id, code, reason } = invalid;
    this.emit({ type: "message_invalid", from: side, code, reason, id, answered: shape === "request" });
    if (shape === "notification") {
      this.say(`invalid notification from the ${side} dropped: ${reason}`);
      return;
    }
    if (shape === "response") {
      // Answering the sender would be read as the answer to one of *its* requests with that id.
      // Instead the request this claimed to answer is failed, so its sender is not left waiting.
      const request = id === null ? null : this.pendingFrom[other(side)].take(id);
      this.say(`invalid response from the ${side} (id ${showId(id)}) dropped: ${reason}`);
      if (request !== null) {
        this.send(other(side), internalError(request.id, `the ${side} sent an invalid response: ${reason}`), side);
        if (request.toolName !== null) this.toolCall(request.id, request.toolName, request, "error", 0);
      }
      return;
    }
    this.say(`invalid request from the ${side} (id ${showId(id)}): ${reason}`);
    this.send(side, invalidRequest(id, reason), side);
  }

  // ---- routing --------------------------------------------------------------------------------

  private onRequest(side: Side, request: RequestMessage, wire: Wire): void {
    if (idTooLong(request.id)) {
      // Answered (the sender matches the answer by its id) and never kept: see MAX_ID_CHARS.
      const reason = `request id longer than ${MAX_ID_CHARS} characters`;
      this.send(side, invalidRequest(request.id, reason), side);
      this.emit({ type: "message_invalid", from: side, code: ErrorCode.InvalidRequest, reason, id: null, answered: true });
      this.say(`request from the ${side} (id ${showId(request.id)}) refused: ${reason}`);
      return;
    }
    const table = this.pendingFrom[side];
    if (table.has(request.id)) {
      // Answering would settle the *first* request with that id in the sender's eyes; dropping the
      // duplicate keeps exactly one answer per id.
      const reason = `duplicate id ${showId(request.id)} of a request still pending`;
      this.emit({ type: "message_invalid", from: side, code: ErrorCode.InvalidRequest, reason, id: request.id, answered: false });
      this.say(`request from the ${side} dropped: ${reason}`);
      return;
    }
    let toolName: string | null = null;
    if (side === "client") {
      const verdict = clientVerdict(request.method, request.raw, this.options.policy, this.tasks, this.isModern(request.raw));
      switch (verdict.kind) {
        case "invalid":
          this.send("client", invalidParams(request.id, verdict.problem), "client");
          this.emit({ type: "message_invalid", from: "client", code: ErrorCode.InvalidParams, reason: verdict.problem, id: request.id, answered: true });
          this.toolCall(request.id, null, null, "invalid", 0);
          return;
        case "denied":
          this.send("client", deniedToolResult(request.id, verdict.toolName, this.isModern(request.raw)), "client");
          this.say(`tools/call of "${verdict.toolName}" denied by policy`);
          this.toolCall(request.id, verdict.toolName, null, "denied", 0);
          return;
        case "unknown-task":
          this.send("client", invalidParams(request.id, verdict.problem), "client");
          this.emit({ type: "message_invalid", from: "client", code: ErrorCode.InvalidParams, reason: verdict.problem, id: request.id, answered: true });
          this.say(`${request.method} refused: ${verdict.problem}`);
          return;
        case "no-method":
          this.send("client", methodNotFound(request.id, verdict.problem), "client");
          this.emit({ type: "message_invalid", from: "client", code: ErrorCode.MethodNotFound, reason: verdict.problem, id: request.id, answered: true });
          this.say(`${request.method} refused: ${verdict.problem}`);
          return;
        case "allowed":
          toolName = verdict.toolName;
      }
      const refusal = toolName === null ? null : (this.options.toolGate?.refusal(toolName) ?? null);
      if (toolName !== null && refusal !== null) {
        this.send("client", deniedToolResult(request.id, toolName, this.isModern(request.raw), refusal), "client");
        this.say(`tools/call of "${toolName}" refused: it ${refusal}`);
        this.toolCall(request.id, toolName, null, "denied", 0);
        return;
      }
      if (this.goneCause !== null || !this.writers.server.isOpen) {
        this.send("client", this.goneError(request.id), "client");
        if (toolName !== null) this.toolCall(request.id, toolName, null, "server-gone", 0);
        return;
      }
    } else if (!this.writers.client.isOpen) {
      this.send("server", internalError(request.id, "the client is gone"), "server");
      return;
    }
    if (table.isFull) {
      // Never buffered: a peer that keeps sending without reading answers costs it errors, not
      // mcp-j's memory.
      const reason = `${table.capacity} requests from the ${side} already await an answer`;
      this.send(side, tooManyPending(request.id, table.capacity), side);
      this.emit({ type: "message_invalid", from: side, code: ErrorCode.TooManyPending, reason, id: request.id, answered: true });
      if (toolName !== null) this.toolCall(request.id, toolName, null, "error", 0);
      if (!this.full[side]) this.say(`requests from the ${side} refused: ${reason} (the proxy option maxPending)`);
      this.full[side] = true;
      return;
    }
    this.full[side] = false;
    const out = this.checked(side, request.raw, wire, side === "client" ? "params" : null);
    if (out === null) {
      this.send(side, internalError(request.id, "the message could not be re-serialized (nested too deeply)"), side);
      return;
    }
    const task = side === "client" ? namedTask(request.method, request.raw) : null;
    table.add({ id: request.id, method: request.method, toolName, startedAt: performance.now(), ...(task !== null ? { task } : {}) });
    if (side === "client") this.inFlight?.begin({ id: request.id, method: request.method, tool: toolName });
    this.forward(side, out);
  }

  private onNotification(side: Side, notification: NotificationMessage, wire: Wire): void {
    if (side === "client" && this.goneCause !== null) return;
    if (side === "client") {
      // Policy holds for notifications too: a server that dispatches on the method alone would run
      // a tools/call sent without an id. Nobody is answered (a notification never is).
      let verdict = clientVerdict(notification.method, notification.raw, this.options.policy, this.tasks, this.isModern(notification.raw));
      if (verdict.kind === "allowed" && verdict.toolName !== null && this.options.toolGate?.refusal(verdict.toolName) != null) {
        verdict = { kind: "denied", toolName: verdict.toolName };
      }
      if (verdict.kind !== "allowed") {
        const what = verdict.kind === "denied" ? `names the denied tool "${verdict.toolName}"` : verdict.problem;
        this.say(`${notification.method} notification from the client dropped: ${what}`);
        if (namesToolsCall(notification.method)) {
          this.toolCall(null, verdict.kind === "denied" ? verdict.toolName : null, null, verdict.kind === "denied" ? "denied" : "invalid", 0);
        } else {
          const code = verdict.kind === "no-method" ? ErrorCode.MethodNotFound : ErrorCode.InvalidParams;
          this.emit({ type: "message_invalid", from: side, code, reason: what, id: null, answered: false });
        }
        return;
      }
    }
    const params = notification.raw["params"];
    // A task's status notification that says it ended: its work is over (notifications/tasks/status).
    if (side === "server" && isJsonObject(params) && typeof params["taskId"] === "string" && isTerminalTask(params)) this.endTask(params["taskId"]);
    if (notification.method === "notifications/cancelled") {
      const requestId = isJsonObject(params) ? params["requestId"] : undefined;
      const request = isValidId(requestId) ? this.pendingFrom[side].cancel(requestId) : null;
      if (request !== null && request.toolName !== null) {
        this.toolCall(request.id, request.toolName, request, "cancelled", 0);
      }
    }
    this.forward(side, this.checked(side, notification.raw, wire, side === "client" ? "params" : null));
  }

  private onResponse(side: Side, response: ResponseMessage, bytes: number, wire: Wire): void {
    const table = this.pendingFrom[other(side)];
    // A task a tools/call answer starts is in flight from before the call's end (no gap between).
    const at = monotonicNow();
    const request = response.id === null ? null : table.take(response.id);
    if (request === null) {
      const cancelled = response.id !== null && table.takeCancelled(response.id);
      const reason = cancelled ? "cancelled" : "unknown-id";
      this.emit({ type: "response_dropped", from: side, id: response.id, reason });
      this.say(`response from the ${side} dropped: ${cancelled ? "its request was cancelled" : "no pending request has"} id ${showId(response.id)}`);
      return;
    }
    const call = side === "server" ? this.trackTasks(request, response, at) : null;
    if (call !== null && this.options.settle !== null) {
      // What the call (or the task) did in the jail may still be on its way to the caller: its
      // note, and the pins' verdict on the tool, are made once it has arrived.
      this.toClient.after(this.options.settle(call), () => this.answer(side, request, response, bytes, wire));
      return;
    }
    this.answer(side, request, response, bytes, wire);
  }

  /**
   * The tasks the server's answer starts or ends (TASK_WORK in the in-flight log: a task's work
   * goes on between the client's polls), and what the answer carries a tool's result for: the
   * tools/call, or the task whose result it is; null for anything else.
   */
  private trackTasks(request: PendingRequest, response: ResponseMessage, at: bigint): InFlightRequest | null {
    const result = response.isError ? null : response.raw["result"];
    if (request.toolName !== null) {
      // A task-augmented call answers with the task it started: later tasks/* requests may name it,
      // and its work goes on (a task whose id cannot be remembered is not in flight either: the
      // registry's bound is the log's).
      const task = isJsonObject(result) ? startedTask(result) : null;
      if (task !== null && this.tasks.add(task["taskId"] as string, request.toolName) && !isTerminalTask(task)) {
        this.inFlight?.begin({ id: task["taskId"] as string, method: TASK_WORK, tool: request.toolName }, at);
      }
      return { id: request.id, method: request.method, tool: request.toolName };
    }
    if (request.task === undefined) return null;
    const tool = this.tasks.toolOf(request.task);
    // Its result delivered, or a terminal status: the task's work is over.
    if (namesMethod(request.method, "tasks/result") || (isJsonObject(result) && isTerminalTask(result))) this.endTask(request.task);
    return tool === null ? null : { id: request.task, method: TASK_WORK, tool };
  }

  private endTask(taskId: string): void {
    this.inFlight?.end({ id: taskId, method: TASK_WORK });
  }

  private answer(side: Side, request: PendingRequest, response: ResponseMessage, bytes: number, wire: Wire): void {
    const out = side === "server" ? this.inspectServerResponse(request, response, wire) : this.checked(side, response.raw, wire, null);
    if (out === null) {
      this.send(other(side), internalError(request.id, `the ${side}'s response could not be re-serialized (nested too deeply)`), side);
      if (request.toolName !== null) this.toolCall(request.id, request.toolName, request, "error", bytes);
      return;
    }
    if (request.toolName !== null) {
      this.toolCall(request.id, request.toolName, request, toolOutcome(response), bytes);
    }
    this.forward(side, out);
  }

  /** What the proxy learns from (or changes in) the server's answers to the client's requests. */
  private inspectServerResponse(request: PendingRequest, response: ResponseMessage, wire: Wire): Outgoing | null {
    const unchanged = (): Outgoing | null => this.checked("server", response.raw, wire, null);
    if (response.isError) return unchanged();
    const result = response.raw["result"];
    if (!isJsonObject(result)) return unchanged();
    if (request.method === "initialize" && typeof result["protocolVersion"] === "string") {
      this.handshakeVersion = result["protocolVersion"];
      return unchanged();
    }
    // A tool's result: of a tools/call, or of the task one started (tasks/result, or a tasks/get
    // that carries it). The jail's refusals during the call or the task go on it.
    const tool = request.toolName ?? (request.task !== undefined ? this.tasks.toolOf(request.task) : null);
    if (tool !== null) {
      const call = request.toolName !== null ? { id: request.id, method: request.method, tool } : { id: request.task!, method: TASK_WORK, tool };
      if (toolResultIn(result) === null) {
        // The task this call started (and remembered: trackTasks) gets the call's note on its result.
        const task = request.toolName !== null ? startedTask(result) : null;
        const taskId = task !== null ? (task["taskId"] as string) : null;
        if (taskId !== null && this.tasks.toolOf(taskId) === tool) this.options.taskStarted?.(call, { id: taskId, method: TASK_WORK, tool });
        return unchanged();
      }
      const note = this.options.toolResultNote?.(call) ?? null;
      return note !== null ? this.withNote(response.raw, wire, note) : unchanged();
    }
    const policy = this.options.policy;
    const gate = this.options.toolGate;
    // Every tools/list result the policy or the pin gate reads is filtered (which covers the
    // re-list after notifications/tools/list_changed), and re-serialized where it repeats a key.
    let filtered: Filtered;
    // A lenient server answers another spelling of tools/list as it (verdict.ts namesMethod).
    if (namesMethod(request.method, "tools/list") && (!policy.isOpen || gate !== null)) {
      const listed = gate !== null && Array.isArray(result["tools"]) ? gate.listed(result["tools"]) : null;
      filtered = filterResultArray(response.raw, wire, "tools", (tools) => {
        const visible = policy.visibleTools(tools);
        const keep = tools.map((t, i) => {
          if (visible.keep[i] !== true) return false;
          const name = isJsonObject(t) && typeof t["name"] === "string" ? t["name"] : null;
          const unread = this.readOtherwise(t, name);
          if (unread === null && (listed === null || name === null || !listed.has(name))) return true;
          visible.removed.push(name ?? "(no name)");
          return false;
        });
        return { keep, removed: visible.removed };
      });
    } else if (namesMethod(request.method, "tasks/list") && !policy.isOpen) {
      filtered = filterResultArray(response.raw, wire, "tasks", (tasks) => this.visibleTasks(tasks));
    } else {
      return unchanged();
    }
    if (filtered.kind === "unchanged") return unchanged();
    return filtered.kind === "rewritten" ? filtered.out : null;
  }

  /** A tools/call result with the caller's note: `_meta` entries merged in, and a text block
   * appended to `content` when the note has one (a modern-era result keeps its resultType). */
  private withNote(raw: JsonObject, wire: Wire, note: ToolResultNote): Outgoing | null {
    // A light parse holds stand-ins for large content: the note goes into the real message.
    const message = wire.light ? (JSON.parse(wire.text()) as JsonObject) : raw;
    const result = toolResultIn(message["result"] as JsonObject)!;
    const meta = isJsonObject(result["_meta"]) ? result["_meta"] : {};
    result["_meta"] = { ...meta, ...note.meta };
    if (note.text !== null && Array.isArray(result["content"])) result["content"] = [...(result["content"] as unknown[]), { type: "text", text: note.text }];
    return serialize(message);
  }

  /** Why a loose client would read a tools/list entry otherwise than the policy and the pin gate
   * did (its "Name" or "Description", a name a C reader cuts: key-case.ts), or null. Such an entry
   * is hidden like a denied tool: what it shows was not what was checked. */
  private readOtherwise(entry: unknown, name: string | null): string | null {
    if (!isJsonObject(entry)) return null;
    const why = name?.includes("\0") === true ? "its name holds U+0000 (a C reader stops there)" : keyCaseProblem(entry, READ_KEYS.tool);
    if (why !== null) this.say(`tool ${name === null ? "(no name)" : JSON.stringify(name)} hidden from the client: ${why}`);
    return why;
  }

  /** A tasks/list result under a tool policy shows only the tasks allowed calls started. */
  private visibleTasks(tasks: readonly unknown[]): { keep: boolean[]; removed: string[] } {
    const removed: string[] = [];
    const keep = tasks.map((task) => {
      const id = isJsonObject(task) && typeof task["taskId"] === "string" && keyCaseProblem(task, READ_KEYS.task) === null ? task["taskId"] : null;
      const tool = id === null ? null : this.tasks.toolOf(id);
      if (tool !== null && this.options.policy.allows(tool)) return true;
      removed.push(id ?? "(no taskId)");
      return false;
    });
    return { keep, removed };
  }

  /** The message as received, unless an object the policy read repeats a key: then its
   * re-serialization, so the peer cannot act on a key the proxy did not check (null when that
   * fails: nested too deeply). */
  private checked(from: Side, raw: JsonObject, wire: Wire, nested: string | null): Outgoing | null {
    if (holdsCarriageReturn(wire.data)) {
      this.say(`a message from the ${from} holds a carriage return between its tokens; forwarded re-serialized (a reader with universal newlines would split it)`);
    } else if (repeatsKey(wire.data, raw, nested)) {
      this.say(`a message from the ${from} repeats a key; forwarded re-serialized, with the last value of each key (the one checked)`);
    } else {
      return asReceived(wire);
    }
    // A light parse holds stand-ins for what the policy does not read: re-serialize the real thing.
    return serialize(wire.light ? (JSON.parse(wire.text()) as unknown) : raw);
  }

  /** The era of a client request: its own `_meta` says, else the handshake. */
  private isModern(raw: JsonObject): boolean {
    return isModernVersion(requestProtocolVersion(raw) ?? this.handshakeVersion);
  }

  // ---- output ---------------------------------------------------------------------------------

  /** Sends a message on to the other side (nothing when it could not be re-serialized). */
  private forward(from: Side, out: Outgoing | null): void {
    if (out === null) {
      this.say(`a message from the ${from} dropped: it could not be re-serialized (nested too deeply)`);
      return;
    }
    const to = other(from);
    const write = (): void => {
      const writer = this.writers[to];
      if (typeof out === "string") writer.write(out, this.readers[from]);
      else writer.writeBytes(out, this.readers[from]);
    };
    if (to === "client") this.toClient.now(write);
    else write();
  }

  private goneError(id: JsonRpcId): ErrorResponse {
    const cause = this.goneCause ?? "the server's input is closed";
    return errorResponse(id, ErrorCode.InternalError, `Internal error: ${cause}`, { reason: "server-gone", cause });
  }

  private send(to: Side, message: ErrorResponse | JsonObject, onBehalfOf: Side | null): void {
    const line = serialize(message);
    if (line === null) return;
    const write = (): void => this.writers[to].write(line, onBehalfOf === null ? null : this.readers[onBehalfOf]);
    if (to === "client") this.toClient.now(write);
    else write();
  }

  private toolCall(id: JsonRpcId | null, name: string | null, request: PendingRequest | null, outcome: ToolCallOutcome, responseBytes: number): void {
    const durationMs = request === null ? 0 : performance.now() - request.startedAt;
    this.emit({ type: "tool_call", name, id, durationMs, outcome, responseBytes });
  }

  private emit(event: ProxyEvent): void {
    try {
      this.options.onEvent(event);
    } catch (e) {
      // The audit sink failing must not take the session down with it.
      this.options.log(`mcp-j proxy: the event callback threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** One line on stderr for people; cut past MAX_LOGGED_CHARS, since a line may quote what a peer
   * chose (a tool name, a task id) at up to --max-message-bytes (red team 9, RT9-2). */
  private say(line: string): void {
    const cut = line.length > MAX_LOGGED_CHARS - 100 ? `${line.slice(0, MAX_LOGGED_CHARS - 100)}… (${line.length} characters)` : line;
    try {
      this.options.log(`mcp-j proxy: ${cut}`);
    } catch {
      // Logging is best effort.
    }
  }
}

function toolOutcome(response: ResponseMessage): ToolCallOutcome {
  if (response.isError) return "error";
  const result = response.raw["result"];
  return isJsonObject(result) && result["isError"] === true ? "tool-error" : "ok";
}
