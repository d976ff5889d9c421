// One client connection of the egress proxy (proxy.ts says what the proxy does; this is how one
// connection goes through it). Its life, in order:
//   head       the request head is read raw, capped in size and time; bytes behind it are held
//   decide     decide.ts on the target: a refusal is answered (403) and the connection lingers
//   connect    to the checked addresses in turn, never resolving again
//   relay      CONNECT: "200", then bytes both ways; plain HTTP: the rewritten head and exactly
//              its body, never a byte after it, then the response
//   finish     both sides closed: one net_close event with the byte counts
// Nothing here awaits anything shared: each connection is its own chain of callbacks.
import type net from "node:net";
import type { Allowlist } from "./allowlist.js";
import { decide, type Decision, type Resolver } from "./decide.js";
import type { EgressEvent, EgressMethod, NetCloseEvent, NetDenyEvent, NetErrorEvent } from "./events.js";
import { BodyEnd, bodyFraming, checkFraming, findHeadEnd, forwardHead, HeadError, parseRequestHead, type RequestHead } from "./head.js";
import { splitAuthority } from "./host.js";
import type { NormalizedIp } from "./ip.js";

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

  constructor(
    private readonly ctx: ProxyContext,
    private readonly client: net.Socket,
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
    if (this.upstream && !this.upstream.destroyed) waits.push(new Promise((r) => this.upstream?.once("close", r)));
    if (!this.client.destroyed) waits.push(new Promise((r) => this.client.once("close", r)));
    return waits;
  }

  /** Destroys both sides (errors, timeouts, close()). */
  teardown(why: string): void {
    if (this.closeError === undefined) this.closeError = why;
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
    const e: NetErrorEvent = { type: "net_error", ts: Date.now(), id: this.id, client: this.peer, status, reason, message };
    if (host !== undefined) e.host = host;
    if (port !== undefined) e.port = port;
    this.ctx.emit(e);
    this.ctx.log(message);
    this.upstream?.destroy();
    if (!this.client.destroyed) answer(this.ctx, this.client, status, message);
  }

  private gone(): boolean {
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
      ctx.denied();
      const ev: NetDenyEvent = {
        type: "net_deny", ts: Date.now(), id: this.id, client: this.peer, method: target.method, host: d.host, port: d.port,
        status: 403, reason: d.reason, message: d.message,
      };
      if (d.kind !== undefined) ev.kind = d.kind;
      if (d.address !== undefined) ev.address = d.address;
      ctx.emit(ev);
      ctx.log(d.message);
      answer(ctx, this.client, 403, d.message);
      return;
    }

    // Connect to the checked addresses, in order, until one answers. No further resolution.
    let upstream: net.Socket | undefined;
    let used: NormalizedIp | undefined;
    let lastErr = "";
    let timedOut = false;
    for (const a of d.addresses) {
      try {
        upstream = await this.connectOne(a, d.port);
        used = a;
        break;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        timedOut = err.code === "ETIMEDOUT";
        lastErr = err.code ?? err.message;
        if (this.gone()) return;
      }
    }
    if (this.gone()) {
      upstream?.destroy();
      return;
    }
    if (!upstream || !used) {
      const message = `mcp-j: could not connect to ${d.host} port ${d.port}: ${lastErr}`;
      this.fail(timedOut ? 504 : 502, timedOut ? "connect-timeout" : "connect-failed", message, d.host, d.port);
      return;
    }
    this.host = d.host;
    this.port = d.port;
    this.address = used.address;
    this.allowedAt = Date.now();
    ctx.emit({
      type: "net_allow", ts: this.allowedAt, id: this.id, client: this.peer, method: target.method, host: d.host, port: d.port,
      address: used.address, family: used.family, rule: d.rule,
    });
    this.relay(target, upstream);
  }

  private connectOne(a: NormalizedIp, port: number): Promise<net.Socket> {
    return new Promise((res, rej) => {
      const address = a.zone !== undefined ? `${a.address}%${a.zone}` : a.address;
      let s: net.Socket;
      try {
        s = this.ctx.connect({ address, family: a.family, port });
      } catch (e) {
        rej(e);
        return;
      }
      this.upstream = s;
      s.once("close", () => this.maybeFinish());
      const t = setTimeout(() => {
        s.destroy();
        rej(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
      }, this.ctx.cfg.connectTimeoutMs);
      const onErr = (e: Error) => {
        clearTimeout(t);
        s.destroy();
        rej(e);
      };
      const onClose = () => {
        // Destroyed before connecting (teardown, close()): settle rather than hang.
        clearTimeout(t);
        rej(Object.assign(new Error("closed before connecting"), { code: "ECANCELED" }));
      };
      s.once("error", onErr);
      s.once("close", onClose);
      s.once("connect", () => {
        clearTimeout(t);
        s.off("error", onErr);
        s.off("close", onClose);
        res(s);
      });
    });
  }

  /** The request is allowed and the upstream connected: from here on bytes flow. */
  private relay(target: Target, upstream: net.Socket): void {
    const { client, ctx } = this;
    this.stopEarly?.();
    const early = this.early;
    this.early = [];
    upstream.on("error", (e) => this.teardown((e as NodeJS.ErrnoException).code ?? e.message));
    const idle = () => this.teardown("idle timeout");
    client.setTimeout(ctx.cfg.idleTimeoutMs, idle);
    upstream.setTimeout(ctx.cfg.idleTimeoutMs, idle);
    upstream.pipe(client);
    if (target.method === "CONNECT") {
      client.write("HTTP/1.1 200 Connection established\r\n\r\n");
      if (early.length > 0) upstream.write(Buffer.concat(early));
      if (this.clientEnded) upstream.end(); // the client half-closed while the request was decided
      else client.pipe(upstream);
      return;
    }
    upstream.write(forwardHead(target.head, target.origin!.path, target.origin!.hostHeader), "latin1");
    this.relayBody(target.head, upstream, early);
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
    if (this.done || !this.client.destroyed) return;
    const up = this.upstream;
    if (up && !up.destroyed) {
      // A tunnel whose client finished cleanly (both FINs exchanged, everything written) leaves the
      // upstream to flush what the client sent last and close by itself (idle timeout as backstop).
      // Otherwise nothing more can be delivered either way: destroy it.
      const clean = this.allowedAt !== undefined && this.closeError === undefined && this.client.readableEnded && this.client.writableFinished;
      if (!clean) up.destroy();
      return; // the upstream's close calls back here
    }
    this.done = true;
    this.onFinish(this);
    if (this.allowedAt !== undefined && up) {
      const ev: NetCloseEvent = {
        type: "net_close", ts: Date.now(), id: this.id, client: this.peer, method: this.method ?? "CONNECT",
        host: this.host ?? "", port: this.port ?? 0, address: this.address ?? "",
        bytesUp: up.bytesWritten ?? 0, bytesDown: up.bytesRead,
        durationMs: Date.now() - this.allowedAt,
      };
      if (this.closeError !== undefined) ev.error = this.closeError;
      this.ctx.emit(ev);
    }
  }
}
