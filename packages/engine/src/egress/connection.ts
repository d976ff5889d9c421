// One client connection of the egress proxy (proxy.ts says what the proxy does; this is how one
// connection goes through it). Its life, in order:
//   head       the request head is read raw, capped in size and time; bytes behind it are held
//   decide     decide.ts on the target: a refusal is answered (403) and the connection lingers
//   connect    to the checked addresses in turn, never resolving again
//   relay      CONNECT: "200", then bytes both ways in the kernel (relay.ts); plain HTTP: the
//              rewritten head and exactly its body, never a byte after it, then the response (in
//              the kernel too when the whole body is already here: the client's later bytes dropped)
//   finish     both sides closed: one net_close event with the byte counts
// Nothing here awaits anything shared: each connection is its own chain of callbacks.
import type net from "node:net";
import type { Allowlist } from "./allowlist.js";
import { decide, type Decision, type Resolver } from "./decide.js";
import type { EgressEvent, EgressMethod, NetCloseEvent, NetDenyEvent, NetErrorEvent } from "./events.js";
import { BodyEnd, bodyFraming, checkFraming, findHeadEnd, forwardHead, HeadError, parseRequestHead, type RequestHead } from "./head.js";
import { splitAuthority } from "./host.js";
import { checkFirstBytes } from "./first-bytes.js";
import { startTunnel, type Tunnel } from "./relay.js";
import { connectUpstream } from "./upstream.js";

/** What every connection shares with the proxy: its configuration and its outlets. */
export interface ProxyContext {
  allow: Allowlist;
  resolve: Resolver;
  connect: (target: { address: string; family: 4 | 6; port: number }) => net.Socket;
  cfg: {
    idleTimeoutMs: number;
    headerTimeoutMs: number;
    maxHeaderBytes: number;
    connectTimeoutMs: number;
    resolveTimeoutMs: number;
    /** Tunnels relayed by the native relay's thread, or by Node (false: for comparisons). */
    nativeRelay: boolean;
  };
  emit: (e: EgressEvent) => void;
  log: (line: string) => void;
  /** Error answers still being read by their clients (closed by close()). */
  lingering: Set<net.Socket>;
  /** Counts a refusal by policy (stats().denied). */
  denied: () => void;
}

/** Client bytes held (beyond the head) while a request is decided; past this the client is paused. */
const EARLY_DATA_MAX = 64 * 1024;

/** How long an error answer waits for the client to read it and hang up before the socket is destroyed. */
const LINGER_MS = 2_000;

const REASONS: Record<number, string> = {
  200: "Connection established",
  400: "Bad Request",
  403: "Forbidden",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Writes a complete error answer, then lets the client read it: the socket lingers (discarding
 * input) until the client hangs up or LINGER_MS passes. Closing with unread input would RST and
 * could destroy the answer before the client reads it. */
export function answer(ctx: ProxyContext, sock: net.Socket, status: number, body: string): void {
  const text = `${body}\n`;
  sock.removeAllListeners("data");
  sock.on("data", () => {});
  sock.on("error", () => sock.destroy());
  ctx.lingering.add(sock);
  sock.once("close", () => ctx.lingering.delete(sock));
  sock.setTimeout(0);
  const t = setTimeout(() => sock.destroy(), LINGER_MS);
  t.unref();
  sock.once("close", () => clearTimeout(t));
  sock.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
  sock.resume();
}

/** A request as the proxy will forward it. */
interface Target {
  head: RequestHead;
  method: EgressMethod;
  host: string;
  port: number;
  /** Plain HTTP: the origin-form path and the Host header to write. */
  origin?: { path: string; hostHeader: string };
}

/** Parses the head into a target; HeadError for anything the proxy does not forward. */
function parseTarget(raw: Buffer): Target {
  const head = parseRequestHead(raw.toString("latin1"));
  if (head.method === "CONNECT") {
    const a = splitAuthority(head.target);
    if (a === null) throw new HeadError(`CONNECT needs HOST:PORT, got ${JSON.stringify(head.target)}`);
    return { head, method: "CONNECT", host: a.host, port: a.port };
  }
  const t = head.target;
  if (/^https:\/\//i.test(t)) throw new HeadError("https:// URLs go through CONNECT, not plain forwarding");
  if (!/^http:\/\//i.test(t)) throw new HeadError("this is the mcp-j egress proxy: send CONNECT HOST:PORT or an absolute http:// URL");
  // The authority as written (URL() would already fold IP spellings; decide() must see the
  // original so the log says what was asked for).
  const authority = t.slice(7).split(/[/?#]/, 1)[0] ?? "";
  if (authority.includes("@")) throw new HeadError("credentials in the URL are not supported");
  const a = splitAuthority(authority, 80);
  if (a === null) throw new HeadError(`bad authority ${JSON.stringify(authority)}`);
  const rel = t.slice(7 + authority.length);
  const path = rel === "" || rel.startsWith("?") ? `/${rel}` : rel.startsWith("#") ? "/" : rel;
  const pathNoFrag = path.split("#", 1)[0] as string;
  if (!/^[\x21-\x7e]+$/.test(pathNoFrag)) throw new HeadError("bad request target");
  checkFraming(head);
  return { head, method: "HTTP", host: a.host, port: a.port, origin: { path: pathNoFrag, hostHeader: authority } };
}

export class EgressConnection {
  readonly peer: string;
  private upstream: net.Socket | undefined;
  private method: EgressMethod | undefined;
  private host: string | undefined;
  private port: number | undefined;
  private address: string | undefined;
  private allowedAt: number | undefined;
  private closeError: string | undefined;
  private done = false;
  /** Bytes the client sent after the head, held while the request is decided. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private clientEnded = false;
  private stopEarly: (() => void) | undefined;
  /** The relay of a CONNECT tunnel, once it has started. */
  private tunnel: Tunnel | undefined;

  constructor(
    private readonly ctx: ProxyContext,
    readonly client: net.Socket,
    readonly id: number,
    private readonly onFinish: (c: EgressConnection) => void,
  ) {
    this.peer = `${client.remoteAddress ?? "?"}:${client.remotePort ?? 0}`;
  }

  start(): void {
    this.client.on("error", (e) => this.teardown((e as NodeJS.ErrnoException).code ?? e.message));
    this.client.on("close", () => this.maybeFinish());
    this.readHead();
  }

  /** Waits for both sockets to close (after teardown), for close(). */
  closed(): Promise<unknown>[] {
    const waits: Promise<unknown>[] = [];
    if (this.tunnel !== undefined && !this.done) waits.push(this.tunnel.done);
    if (this.upstream && !this.upstream.destroyed) waits.push(new Promise((r) => this.upstream?.once("close", r)));
    if (!this.client.destroyed) waits.push(new Promise((r) => this.client.once("close", r)));
    return waits;
  }

  /** Destroys both sides (errors, timeouts, close()). */
  teardown(why: string): void {
    if (this.closeError === undefined) this.closeError = why;
    this.tunnel?.stop(why);
    this.upstream?.destroy();
    this.client.destroy();
  }

  private readHead(): void {
    const { client, ctx } = this;
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      this.fail(408, "header-timeout", `mcp-j: the request head did not arrive within ${ctx.cfg.headerTimeoutMs} ms`);
    }, ctx.cfg.headerTimeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      client.off("data", onData);
      client.off("end", onEnd);
    };
    const onEnd = () => {
      cleanup();
      client.destroy();
    };
    const onData = (chunk: Buffer) => {
      const searched = buf.length;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = findHeadEnd(buf, searched);
      if (end < 0 ? buf.length > ctx.cfg.maxHeaderBytes : end > ctx.cfg.maxHeaderBytes) {
        cleanup();
        this.fail(431, "header-too-large", `mcp-j: the request head exceeds ${ctx.cfg.maxHeaderBytes} bytes`);
        return;
      }
      if (end < 0) return;
      cleanup();
      this.holdEarlyData(buf.subarray(end));
      this.dispatch(buf.subarray(0, end)).catch((e: unknown) => this.teardown((e as Error)?.message ?? String(e)));
    };
    client.on("data", onData);
    client.on("end", onEnd);
  }

  /**
   * While the request is being decided (resolution, connect), keep reading the client so that a
   * reset is noticed at once, holding what it sends early (a body, a TLS ClientHello) up to
   * EARLY_DATA_MAX bytes, beyond which it is paused. A FIN here is a half-close, relayed later.
   */
  private holdEarlyData(first: Buffer): void {
    const { client } = this;
    if (first.length > 0) this.early.push(first);
    this.earlyBytes = first.length;
    const onData = (d: Buffer) => {
      this.early.push(d);
      this.earlyBytes += d.length;
      if (this.earlyBytes > EARLY_DATA_MAX) client.pause();
    };
    const onEnd = () => {
      this.clientEnded = true;
    };
    client.on("data", onData);
    client.once("end", onEnd);
    this.stopEarly = () => {
      client.off("data", onData);
      client.off("end", onEnd);
      client.pause();
      this.stopEarly = undefined;
    };
    if (this.earlyBytes > EARLY_DATA_MAX) client.pause();
  }

  private fail(status: NetErrorEvent["status"], reason: NetErrorEvent["reason"], message: string, host?: string, port?: number): void {
    failed(this.ctx, { id: this.id, client: this.peer, status, reason, message, host, port });
    this.upstream?.destroy();
    if (!this.client.destroyed) answer(this.ctx, this.client, status, message);
  }

  gone(): boolean {
    return this.done || this.client.destroyed;
  }

  private async dispatch(rawHead: Buffer): Promise<void> {
    const { ctx } = this;
    let target: Target;
    try {
      target = parseTarget(rawHead);
    } catch (e) {
      if (!(e instanceof HeadError)) throw e;
      this.fail(400, "bad-request", `mcp-j: bad proxy request: ${e.message}`);
      return;
    }
    this.method = target.method;

    const d: Decision = await decide(ctx.allow, target.host, target.port, { resolve: ctx.resolve, resolveTimeoutMs: ctx.cfg.resolveTimeoutMs });
    if (this.gone()) return;
    if (!d.ok) {
      if (d.status !== 403) {
        this.fail(d.status, d.reason, d.message, d.host, d.port);
        return;
      }
      refused(ctx, this.id, this.peer, target.method, d);
      answer(ctx, this.client, 403, d.message);
      return;
    }

    // Connect to the checked addresses, in order, until one answers. No further resolution.
    const track = (s: net.Socket): void => {
      this.upstream = s;
      s.once("close", () => this.maybeFinish());
    };
    const up = await connectUpstream(ctx, d.addresses, d.port, track, () => this.gone());
    if (up === null) return;
    if (!up.ok) {
      const message = `mcp-j: could not connect to ${d.host} port ${d.port}: ${up.error}`;
      this.fail(up.timedOut ? 504 : 502, up.timedOut ? "connect-timeout" : "connect-failed", message, d.host, d.port);
      return;
    }
    this.host = d.host;
    this.port = d.port;
    this.address = up.address.address;
    this.allowedAt = Date.now();
    ctx.emit({
      type: "net_allow", ts: this.allowedAt, id: this.id, client: this.peer, method: target.method, host: d.host, port: d.port,
      address: up.address.address, family: up.address.family, rule: d.rule,
    });
    this.relay(target, up.socket, d.literal);
  }

  /** The request is allowed and the upstream connected: from here on bytes flow. */
  private relay(target: Target, upstream: net.Socket, literal: boolean): void {
    const { client, ctx } = this;
    this.stopEarly?.();
    const early = this.early;
    this.early = [];
    if (target.method === "CONNECT" && !literal) {
      void this.checkedTunnel(upstream, early).catch((e: unknown) => this.teardown((e as Error)?.message ?? String(e)));
      return;
    }
    if (target.method === "CONNECT") {
      // The tunnel owns both sockets from here (relay.ts): the "200" and what the client sent
      // while the request was decided go first; a half-close it made meanwhile is relayed.
      const t = startTunnel(client, upstream, {
        idleMs: ctx.cfg.idleTimeoutMs,
        native: ctx.cfg.nativeRelay,
        toClient: Buffer.from("HTTP/1.1 200 Connection established\r\n\r\n", "latin1"),
        toUpstream: Buffer.concat(early),
      });
      this.tunnel = t;
      void t.done.then((end) => this.finish(end.up, end.down, end.error));
      return;
    }
    const head = forwardHead(target.head, target.origin!.path, target.origin!.hostHeader);
    const whole = wholeBody(target.head, early);
    if (whole !== null) {
      // The whole request is here (no body, or all of it sent early): it goes first, the response
      // is relayed by the kernel, and what the client sends after the request is dropped.
      const t = startTunnel(client, upstream, {
        idleMs: ctx.cfg.idleTimeoutMs,
        native: ctx.cfg.nativeRelay,
        toUpstream: Buffer.concat([Buffer.from(head, "latin1"), whole]),
        dropFromClient: true,
      });
      this.tunnel = t;
      void t.done.then((end) => this.finish(end.up, end.down, end.error));
      return;
    }
    upstream.on("error", (e) => this.teardown((e as NodeJS.ErrnoException).code ?? e.message));
    const idle = () => this.teardown("idle timeout");
    client.setTimeout(ctx.cfg.idleTimeoutMs, idle);
    upstream.setTimeout(ctx.cfg.idleTimeoutMs, idle);
    upstream.pipe(client);
    upstream.write(head, "latin1");
    this.relayBody(target.head, upstream, early);
  }

  /**
   * A tunnel to a name: the "200" first, then the client's TLS or HTTP start must name that host
   * (first-bytes.ts) before anything reaches the upstream.
   */
  private async checkedTunnel(upstream: net.Socket, early: Buffer[]): Promise<void> {
    const { client, ctx } = this;
    await new Promise<void>((res) => client.write("HTTP/1.1 200 Connection established\r\n\r\n", "latin1", () => res()));
    if (this.gone()) return;
    const toUpstream = await checkNames(ctx, this, "CONNECT", upstream, { host: this.host ?? "", port: this.port ?? 0 }, early, this.clientEnded);
    if (toUpstream === null) return;
    const t = startTunnel(client, upstream, { idleMs: ctx.cfg.idleTimeoutMs, native: ctx.cfg.nativeRelay, toUpstream });
    this.tunnel = t;
    void t.done.then((end) => this.finish(end.up, end.down, end.error));
  }

  /**
   * Plain HTTP: exactly the first request's body goes upstream, and nothing after it (issue 11:
   * every head the origin sees is one the proxy wrote). What the client sends behind it (pipelined
   * requests) is read and dropped; the origin closes after its response (the head said
   * `Connection: close`), and so does the proxy, so the client sends them again on new connections.
   */
  private relayBody(head: RequestHead, upstream: net.Socket, early: Buffer[]): void {
    const { client } = this;
    const body = new BodyEnd(bodyFraming(head));
    const forward = (d: Buffer): void => {
      if (body.done || upstream.writableEnded) return; // after the request (or the origin's answer): dropped
      let n: number;
      try {
        n = body.take(d);
      } catch (e) {
        if (!(e instanceof HeadError)) throw e;
        this.ctx.log(`mcp-j: egress proxy: ${e.message}; connection closed`);
        this.teardown(e.message);
        return;
      }
      if (n > 0 && !upstream.write(n === d.length ? d : d.subarray(0, n)) && !body.done) {
        client.pause();
        upstream.once("drain", () => client.resume());
      }
    };
    // Once the origin has answered (it closes: Connection: close), nothing more will go up either.
    upstream.once("end", () => upstream.end());
    for (const d of early) forward(d);
    if (this.clientEnded) {
      upstream.end(); // the client half-closed while the request was decided
      return;
    }
    client.on("data", forward);
    client.once("end", () => upstream.end());
    client.resume();
  }

  /** Called on each side's close; finishes the connection once both sides are gone. */
  private maybeFinish(): void {
    if (this.done || this.tunnel !== undefined || !this.client.destroyed) return;
    const up = this.upstream;
    if (up && !up.destroyed) {
      // A tunnel whose client finished cleanly (both FINs exchanged, everything written) leaves the
      // upstream to flush what the client sent last and close by itself (idle timeout as backstop).
      // Otherwise nothing more can be delivered either way: destroy it.
      const clean = this.allowedAt !== undefined && this.closeError === undefined && this.client.readableEnded && this.client.writableFinished;
      if (!clean) up.destroy();
      return; // the upstream's close calls back here
    }
    if (this.allowedAt !== undefined && up) this.finish(up.bytesWritten ?? 0, up.bytesRead, this.closeError);
    else this.finish(0, 0, undefined, false);
  }

  /** Both sides are gone: one net_close (when the connection was allowed). */
  private finish(up: number, down: number, error: string | undefined, allowed = true): void {
    if (this.done) return;
    this.done = true;
    this.onFinish(this);
    if (!allowed || this.allowedAt === undefined) return;
    const ev: NetCloseEvent = {
      type: "net_close", ts: Date.now(), id: this.id, client: this.peer, method: this.method ?? "CONNECT",
      host: this.host ?? "", port: this.port ?? 0, address: this.address ?? "",
      bytesUp: up, bytesDown: down, durationMs: Date.now() - this.allowedAt,
    };
    const why = this.closeError ?? error;
    if (why !== undefined) ev.error = why;
    this.ctx.emit(ev);
  }
}

/**
 * The request's whole body when it is all in `early` (empty when it has none), or null when more is
 * to come or its framing is bad (relayBody reads the rest, or says what is wrong).
 */
function wholeBody(head: RequestHead, early: readonly Buffer[]): Buffer | null {
  const body = new BodyEnd(bodyFraming(head));
  const parts: Buffer[] = [];
  try {
    for (const d of early) {
      if (body.done) break;
      parts.push(d.subarray(0, body.take(d)));
    }
  } catch (e) {
    if (e instanceof HeadError) return null;
    throw e;
  }
  return body.done ? Buffer.concat(parts) : null;
}

/** A protocol, limit or upstream failure: audited (net_error) and said on stderr. */
export function failed(ctx: ProxyContext, f: Omit<NetErrorEvent, "type" | "ts" | "host" | "port"> & { host?: string | undefined; port?: number | undefined }): void {
  const { host, port, ...rest } = f;
  const e: NetErrorEvent = { type: "net_error", ts: Date.now(), ...rest };
  if (host !== undefined) e.host = host;
  if (port !== undefined) e.port = port;
  ctx.emit(e);
  ctx.log(f.message);
}

/** A connection being checked by checkNames: whom refusals are audited for, and how it ends. */
export interface Checked {
  readonly id: number;
  readonly peer: string;
  readonly client: net.Socket;
  /** Whether it ended meanwhile (then nothing more is done with it). */
  gone(): boolean;
  /** Ends it, both sockets destroyed; `why` is its close reason. */
  teardown(why: string): void;
}

/**
 * The name check of a connection allowed for a name (first-bytes.ts), on both paths that make one
 * (a CONNECT tunnel, a redirected connect()), before its relay starts. A start naming another host
 * is refused: audited (net_deny "name-mismatch" for `method`), said once on stderr, the client reset
 * (it sees ECONNRESET) and the connection torn down; one that ends before it could be read (closed,
 * idle) is torn down. Returns what goes to the upstream first when the relay may start, else null.
 * @param early what the client sent before (it goes first), and whether it half-closed after.
 */
export async function checkNames(ctx: ProxyContext, c: Checked, method: EgressMethod, upstream: net.Socket, to: { host: string; port: number }, early: Buffer[] = [], clientEnded = false): Promise<Buffer | null> {
  const first = await checkFirstBytes(c.client, upstream, to.host, ctx.cfg.idleTimeoutMs, early, clientEnded);
  if (c.gone()) return null;
  if (first.go) return first.toUpstream;
  if ("refused" in first) {
    refused(ctx, c.id, c.peer, method, { ok: false, status: 403, reason: "name-mismatch", host: to.host, port: to.port, message: first.refused });
    c.client.resetAndDestroy();
  }
  c.teardown("refused" in first ? "name mismatch" : first.ended);
  return null;
}

/** A refusal by policy (decide.ts said no): counted, audited (net_deny) and said on stderr. */
export function refused(ctx: ProxyContext, id: number, peer: string, method: EgressMethod, d: Extract<Decision, { status: 403 }>): void {
  ctx.denied();
  const ev: NetDenyEvent = { type: "net_deny", ts: Date.now(), id, client: peer, method, host: d.host, port: d.port, status: 403, reason: d.reason, message: d.message };
  if (d.kind !== undefined) ev.kind = d.kind;
  if (d.address !== undefined) ev.address = d.address;
  ctx.emit(ev);
  ctx.log(d.message);
}
