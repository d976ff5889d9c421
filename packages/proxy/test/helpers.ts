// Test harness: a proxy between in-memory streams, with both peers' received lines collected.
import { PassThrough, type Readable } from "node:stream";
import { startProxy, type ProxyEvent, type ProxyOptions, type ProxySession } from "../src/index.js";

/** Lets queued stream work run. Bounded by iterations, never by time, so no test depends on speed. */
export async function until(predicate: () => boolean, what = "condition", rounds = 2000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (predicate()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Collects the lines a stream carries, parsed when they are JSON. */
export class LineCollector {
  readonly lines: string[] = [];
  private rest = "";

  constructor(stream: Readable) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (this.rest + chunk).split("\n");
      this.rest = parts.pop() ?? "";
      this.lines.push(...parts);
    });
  }

  get messages(): unknown[] {
    return this.lines.map((line) => JSON.parse(line) as unknown);
  }

  async waitFor(count: number): Promise<unknown[]> {
    await until(() => this.lines.length >= count, `${count} line(s)`);
    return this.messages;
  }
}

export class Harness {
  readonly clientIn = new PassThrough();
  readonly clientOut = new PassThrough();
  readonly serverIn = new PassThrough();
  readonly serverOut = new PassThrough();
  readonly toClient = new LineCollector(this.clientOut);
  readonly toServer = new LineCollector(this.serverIn);
  readonly events: ProxyEvent[] = [];
  readonly logs: string[] = [];
  readonly session: ProxySession;

  constructor(options: ProxyOptions = {}) {
    this.session = startProxy(
      { input: this.clientIn, output: this.clientOut },
      { input: this.serverIn, output: this.serverOut },
      {
        onEvent: (e) => this.events.push(e),
        log: (line) => this.logs.push(line),
        ...options,
      },
    );
  }

  fromClient(message: unknown): void {
    this.clientIn.write(typeof message === "string" ? `${message}\n` : `${JSON.stringify(message)}\n`);
  }

  fromServer(message: unknown): void {
    this.serverOut.write(typeof message === "string" ? `${message}\n` : `${JSON.stringify(message)}\n`);
  }

  eventsOf<T extends ProxyEvent["type"]>(type: T): Extract<ProxyEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ProxyEvent, { type: T }> => e.type === type);
  }

  /** Runs the initialize handshake, with the server answering `version`. */
  async initialize(version = "2025-06-18"): Promise<void> {
    const before = this.toClient.lines.length;
    this.fromClient({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "t", version: "1" } } });
    await this.toServer.waitFor(1);
    this.fromServer({ jsonrpc: "2.0", id: 0, result: { protocolVersion: version, capabilities: { tools: {} }, serverInfo: { name: "s", version: "1" } } });
    await this.toClient.waitFor(before + 1);
  }
}

export function request(id: unknown, method: string, params?: unknown): Record<string, unknown> {
  const message: Record<string, unknown> = { jsonrpc: "2.0", id, method };
  if (params !== undefined) message["params"] = params;
  return message;
}

export function result(id: unknown, value: unknown): Record<string, unknown> {
  return { jsonrpc: "2.0", id, result: value };
}

/** Sends a line from the client and waits until it is forwarded or answered. */
export async function sendFromClient(h: Harness, line: string): Promise<void> {
  const [servers, clients] = [h.toServer.lines.length, h.toClient.lines.length];
  h.fromClient(line);
  await until(() => h.toServer.lines.length > servers || h.toClient.lines.length > clients, "the message forwarded or answered");
}
