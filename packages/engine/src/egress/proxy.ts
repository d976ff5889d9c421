// The egress proxy: HTTP CONNECT tunnels and absolute-URI plain-HTTP forwarding, with the policy of
// decide.ts applied to every request. Runs in mcp-j (host network namespace); its listening socket is
// usually created inside the jail's namespace and handed over as a file descriptor.
//
// Behaviour, per client connection:
// - The request head is read raw (no node:http), capped at maxHeaderBytes (431) and headerTimeoutMs
//   from accept (408; slowloris). A malformed head is 400.
// - CONNECT host:port -> decide -> connect to a checked address -> "200 Connection established" ->
//   bytes relayed both ways with pipe() (backpressure), half-close honoured.
// - GET http://host[:port]/path (any method) -> decide -> connect -> the head rewritten to origin
//   form (Host from the URI, hop-by-hop and Proxy-* headers removed, "Connection: close") -> the
//   body and the response relayed raw. ONE REQUEST PER CONNECTION: the origin is asked to close
//   after its response and the proxy closes the client side when it does; clients open a new
//   connection for the next request (curl, urllib, undici and node:http all handle this). Upgrade is
//   stripped, so WebSocket must go over CONNECT (which is what ws clients do with a proxy).
//   "https://" absolute URIs are refused with 400 (TLS goes over CONNECT).
// - Refusals: 403 with the rule in the body, a net_deny event, one `log` line. Protocol, limit and
//   upstream errors: 400/408/431/502/503/504, a net_error event, one `log` line.
// - Limits: at most maxConnections client connections at once (default 64); one more is answered
//   "503 Service Unavailable" and closed (at most maxConnections such answers linger at once, beyond
//   that extra connections are closed without an answer). idleTimeoutMs without traffic in either
//   direction closes a tunnel (default 60 s); a peer that stops reading stalls only its own tunnel
//   (its upstream is paused by pipe()) and is closed by the idle timeout.
// - Nothing here blocks the event loop or awaits anything global: each connection is its own chain
//   of callbacks; the resolver is awaited per connection with a timeout. (The default resolver is
//   dns.lookup, which runs on libuv's thread pool: at most 4 look-ups run at once by default, the
//   others queue, each bounded by resolveTimeoutMs.)
import dns from "node:dns";
import net from "node:net";
import { Allowlist } from "./allowlist.js";
import { decide, type Decision, type Resolver } from "./decide.js";
import type { EgressEvent, EgressMethod, NetCloseEvent, NetDenyEvent, NetErrorEvent } from "./events.js";
import { checkFraming, findHeadEnd, forwardHead, HeadError, parseRequestHead, type RequestHead } from "./head.js";
import { splitAuthority } from "./host.js";
import type { NormalizedIp } from "./ip.js";

export interface EgressOptions {
  /** A listening socket to adopt ({ fd }, e.g. created in the jail's netns), or an address to bind. */
  listen: { fd: number } | { host: string; port: number };
  /** Raw --allow-net entries. Parsed up front: a bad entry rejects startEgressProxy with AllowParseError. */
  allow: readonly string[];
  /** Name resolution (test hook). Default: dns.lookup(host, { all: true, verbatim: true }). */
  resolve?: Resolver;
  /**
   * Opens the upstream TCP connection to a checked address (test/instrumentation hook). Default:
   * net.connect with allowHalfOpen and a lookup that refuses to run (the address is always an IP).
   */
  connect?: (target: { address: string; family: 4 | 6; port: number }) => net.Socket;
  /** Concurrent client connections (default 64). */
  maxConnections?: number;
  /** Close a tunnel after this long with no traffic either way (default 60 000). */
  idleTimeoutMs?: number;
  /** The whole request head must arrive within this long of accept (default 10 000). */
  headerTimeoutMs?: number;
  /** Request head size cap in bytes, request line included (default 16 384). */
  maxHeaderBytes?: number;
  /** Upstream TCP connect timeout per address (default 10 000). */
  connectTimeoutMs?: number;
  /** Name resolution timeout (default 10 000). */
  resolveTimeoutMs?: number;
  onEvent?: (e: EgressEvent) => void;
  /** One human line per refusal or error (mcp-j writes these to stderr). */
  log?: (line: string) => void;
}

export interface EgressStats {
  /** Client connections open now. */
  active: number;
  /** Client connections accepted since start (including those refused or answered 503). */
  total: number;
  /** Requests refused by policy (403). */
  denied: number;
}

export interface EgressProxy {
  /** The port the proxy listens on (inside the jail when adopted from the jail's netns). */
  readonly port: number;
  /** Stops accepting, destroys every open connection, resolves when all are closed. Idempotent. */
  close(): Promise<void>;
  stats(): EgressStats;
}

export const EGRESS_DEFAULTS = {
  maxConnections: 64,
  idleTimeoutMs: 60_000,
  headerTimeoutMs: 10_000,
  maxHeaderBytes: 16 * 1024,
  connectTimeoutMs: 10_000,
  resolveTimeoutMs: 10_000,
} as const;

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

async function defaultResolve(host: string): Promise<string[]> {
  const r = await dns.promises.lookup(host, { all: true, verbatim: true });
  return r.map((x) => x.address);
}

function refuseLookup(): never {
  throw new Error("mcp-j egress: upstream connect attempted a DNS look-up");
}

interface Conn {
  id: number;
  client: net.Socket;
  peer: string;
  upstream?: net.Socket;
  method?: EgressMethod;
  host?: string;
  port?: number;
  address?: string;
  allowedAt?: number;
  closeError?: string;
  done: boolean;
  /** Bytes the client sent after the head, held while the request is decided. */
  early?: Buffer[];
  earlyBytes?: number;
  clientEnded?: boolean;
  stopEarly?: () => void;
}

export async function startEgressProxy(o: EgressOptions): Promise<EgressProxy> {
  const allow = Allowlist.parse(o.allow);
  const cfg = {
    maxConnections: o.maxConnections ?? EGRESS_DEFAULTS.maxConnections,
    idleTimeoutMs: o.idleTimeoutMs ?? EGRESS_DEFAULTS.idleTimeoutMs,
    headerTimeoutMs: o.headerTimeoutMs ?? EGRESS_DEFAULTS.headerTimeoutMs,
    maxHeaderBytes: o.maxHeaderBytes ?? EGRESS_DEFAULTS.maxHeaderBytes,
    connectTimeoutMs: o.connectTimeoutMs ?? EGRESS_DEFAULTS.connectTimeoutMs,
    resolveTimeoutMs: o.resolveTimeoutMs ?? EGRESS_DEFAULTS.resolveTimeoutMs,
  };
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`egress proxy: ${k} must be a positive integer (got ${v})`);
  }
  const resolve = o.resolve ?? defaultResolve;
  const connectUpstreamSocket =
    o.connect ??
    ((t: { address: string; family: 4 | 6; port: number }) =>
      net.connect({ host: t.address, port: t.port, family: t.family, allowHalfOpen: true, noDelay: true, lookup: refuseLookup }));
  const emit = (e: EgressEvent): void => {
    try {
      o.onEvent?.(e);
    } catch {
      // An audit sink that throws must not take a connection (or the proxy) down.
    }
  };
  const log = (line: string): void => {
    try {
      o.log?.(line);
    } catch {
      /* same */
    }
  };

  const conns = new Set<Conn>();
  const lingering = new Set<net.Socket>();
  let total = 0;
  let denied = 0;
  let nextId = 1;
  let closing = false;

  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  server.on("connection", onConnection);

  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    const target = "fd" in o.listen ? { fd: o.listen.fd } : { host: o.listen.host, port: o.listen.port };
    server.listen(target, () => {
      server.off("error", rej);
      res();
    });
  });
  // After start-up, a listener error (EMFILE on accept, ...) is logged; libuv keeps accepting.
  server.on("error", (e) => log(`mcp-j: egress proxy: ${(e as Error).message}`));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;

  /** Writes a complete error answer, then lets the client read it: the socket lingers (discarding
   * input) until the client hangs up or LINGER_MS passes. Closing with unread input would RST and
   * could destroy the answer before the client reads it. */
  function answer(sock: net.Socket, status: number, body: string): void {
    const text = `${body}\n`;
    sock.removeAllListeners("data");
    sock.on("data", () => {});
    sock.on("error", () => sock.destroy());
    lingering.add(sock);
    sock.once("close", () => lingering.delete(sock));
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

  function onConnection(client: net.Socket): void {
    total++;
    const id = nextId++;
    const peer = `${client.remoteAddress ?? "?"}:${client.remotePort ?? 0}`;
    if (closing) {
      client.destroy();
      return;
    }
    if (conns.size >= cfg.maxConnections) {
      const message = `mcp-j: too many concurrent egress connections (limit ${cfg.maxConnections})`;
      emit({ type: "net_error", ts: Date.now(), id, client: peer, status: 503, reason: "too-many-connections", message });
      log(message);
      if (lingering.size >= cfg.maxConnections) client.destroy();
      else answer(client, 503, message);
      return;
    }
    const c: Conn = { id, client, peer, done: false };
    conns.add(c);
    client.on("error", (e) => teardown(c, (e as NodeJS.ErrnoException).code ?? e.message));
    client.on("close", () => maybeFinish(c));
    readHead(c);
  }

  function readHead(c: Conn): void {
    const { client } = c;
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      fail(c, 408, "header-timeout", `mcp-j: the request head did not arrive within ${cfg.headerTimeoutMs} ms`);
    }, cfg.headerTimeoutMs);
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
      if (end < 0 ? buf.length > cfg.maxHeaderBytes : end > cfg.maxHeaderBytes) {
        cleanup();
        fail(c, 431, "header-too-large", `mcp-j: the request head exceeds ${cfg.maxHeaderBytes} bytes`);
        return;
      }
      if (end < 0) return;
      cleanup();
      const head = buf.subarray(0, end);
      const rest = buf.subarray(end);
      holdEarlyData(c, rest);
      dispatch(c, head).catch((e: unknown) => {
        teardown(c, (e as Error)?.message ?? String(e));
      });
    };
    client.on("data", onData);
    client.on("end", onEnd);
  }

  /**
   * While the request is being decided (resolution, connect), keep reading the client so that a
   * reset is noticed at once, holding what it sends early (pipelined body, a TLS ClientHello) up to
   * EARLY_DATA_MAX bytes, beyond which it is paused. A FIN here is a half-close, relayed later.
   */
  function holdEarlyData(c: Conn, first: Buffer): void {
    c.early = first.length > 0 ? [first] : [];
    c.earlyBytes = first.length;
    c.clientEnded = false;
    const onData = (d: Buffer) => {
      c.early?.push(d);
      c.earlyBytes = (c.earlyBytes ?? 0) + d.length;
      if ((c.earlyBytes ?? 0) > EARLY_DATA_MAX) c.client.pause();
    };
    const onEnd = () => {
      c.clientEnded = true;
    };
    c.client.on("data", onData);
    c.client.once("end", onEnd);
    c.stopEarly = () => {
      c.client.off("data", onData);
      c.client.off("end", onEnd);
      c.client.pause();
      c.stopEarly = undefined;
    };
    if (c.earlyBytes > EARLY_DATA_MAX) c.client.pause();
  }

  function fail(c: Conn, status: NetErrorEvent["status"], reason: NetErrorEvent["reason"], message: string, host?: string, port?: number): void {
    const e: NetErrorEvent = { type: "net_error", ts: Date.now(), id: c.id, client: c.peer, status, reason, message };
    if (host !== undefined) e.host = host;
    if (port !== undefined) e.port = port;
    emit(e);
    log(message);
    if (c.upstream) c.upstream.destroy();
    if (!c.client.destroyed) answer(c.client, status, message);
  }

  async function dispatch(c: Conn, rawHead: Buffer): Promise<void> {
    let head: RequestHead;
    let rawHost: string;
    let port: number;
    let origin: { path: string; hostHeader: string } | undefined;
    try {
      head = parseRequestHead(rawHead.toString("latin1"));
      if (head.method === "CONNECT") {
        const a = splitAuthority(head.target);
        if (a === null) throw new HeadError(`CONNECT needs HOST:PORT, got ${JSON.stringify(head.target)}`);
        rawHost = a.host;
        port = a.port;
      } else {
        const t = head.target;
        if (/^https:\/\//i.test(t)) throw new HeadError("https:// URLs go through CONNECT, not plain forwarding");
        if (!/^http:\/\//i.test(t)) {
          throw new HeadError("this is the mcp-j egress proxy: send CONNECT HOST:PORT or an absolute http:// URL");
        }
        // The authority as written (URL() would already fold IP spellings; decide() must see the
        // original so the log says what was asked for).
        const authority = t.slice(7).split(/[/?#]/, 1)[0] ?? "";
        if (authority.includes("@")) throw new HeadError("credentials in the URL are not supported");
        const a = splitAuthority(authority, 80);
        if (a === null) throw new HeadError(`bad authority ${JSON.stringify(authority)}`);
        rawHost = a.host;
        port = a.port;
        const rel = t.slice(7 + authority.length);
        const path = rel === "" || rel.startsWith("?") ? `/${rel}` : rel.startsWith("#") ? "/" : rel;
        const pathNoFrag = path.split("#", 1)[0] as string;
        if (!/^[\x21-\x7e]+$/.test(pathNoFrag)) throw new HeadError("bad request target");
        checkFraming(head);
        origin = { path: pathNoFrag, hostHeader: authority };
      }
    } catch (e) {
      if (e instanceof HeadError) {
        fail(c, 400, "bad-request", `mcp-j: bad proxy request: ${e.message}`);
        return;
      }
      throw e;
    }
    const method: EgressMethod = head.method === "CONNECT" ? "CONNECT" : "HTTP";
    c.method = method;

    const d: Decision = await decide(allow, rawHost, port, { resolve, resolveTimeoutMs: cfg.resolveTimeoutMs });
    if (c.done || c.client.destroyed) return;
    if (!d.ok) {
      if (d.status === 403) {
        denied++;
        const ev: NetDenyEvent = {
          type: "net_deny", ts: Date.now(), id: c.id, client: c.peer, method, host: d.host, port: d.port,
          status: 403, reason: d.reason, message: d.message,
        };
        if (d.kind !== undefined) ev.kind = d.kind;
        if (d.address !== undefined) ev.address = d.address;
        emit(ev);
        log(d.message);
        answer(c.client, 403, d.message);
      } else {
        fail(c, d.status, d.reason, d.message, d.host, d.port);
      }
      return;
    }

    // Connect to the checked addresses, in order, until one answers. No further resolution.
    let upstream: net.Socket | undefined;
    let lastErr = "";
    let timedOut = false;
    let used: NormalizedIp | undefined;
    for (const a of d.addresses) {
      try {
        upstream = await connectOne(c, a, d.port);
        used = a;
        break;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        timedOut = err.code === "ETIMEDOUT";
        lastErr = err.code ?? err.message;
        if (c.done || c.client.destroyed) return;
      }
    }
    if (c.done || c.client.destroyed) {
      upstream?.destroy();
      return;
    }
    if (!upstream || !used) {
      const message = `mcp-j: could not connect to ${d.host} port ${d.port}: ${lastErr}`;
      fail(c, timedOut ? 504 : 502, timedOut ? "connect-timeout" : "connect-failed", message, d.host, d.port);
      return;
    }
    c.host = d.host;
    c.port = d.port;
    c.address = used.address;
    c.allowedAt = Date.now();
    emit({
      type: "net_allow", ts: c.allowedAt, id: c.id, client: c.peer, method, host: d.host, port: d.port,
      address: used.address, family: used.family, rule: d.rule,
    });
    c.stopEarly?.();
    const early = c.early ?? [];
    c.early = undefined;
    if (method === "CONNECT") {
      c.client.write("HTTP/1.1 200 Connection established\r\n\r\n");
    } else {
      const o2 = origin as { path: string; hostHeader: string };
      early.unshift(Buffer.from(forwardHead(head, o2.path, o2.hostHeader), "latin1"));
    }
    if (early.length > 0) upstream.write(early.length === 1 ? (early[0] as Buffer) : Buffer.concat(early));
    splice(c, upstream);
  }

  function connectOne(c: Conn, a: NormalizedIp, port: number): Promise<net.Socket> {
    return new Promise((res, rej) => {
      const address = a.zone !== undefined ? `${a.address}%${a.zone}` : a.address;
      let s: net.Socket;
      try {
        s = connectUpstreamSocket({ address, family: a.family, port });
      } catch (e) {
        rej(e);
        return;
      }
      c.upstream = s;
      s.once("close", () => maybeFinish(c));
      const t = setTimeout(() => {
        s.destroy();
        const e = new Error("connect timed out") as NodeJS.ErrnoException;
        e.code = "ETIMEDOUT";
        rej(e);
      }, cfg.connectTimeoutMs);
      const onErr = (e: Error) => {
        clearTimeout(t);
        s.destroy();
        rej(e);
      };
      const onClose = () => {
        // Destroyed before connecting (teardown, close()): settle rather than hang.
        clearTimeout(t);
        const e = new Error("closed before connecting") as NodeJS.ErrnoException;
        e.code = "ECANCELED";
        rej(e);
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

  function splice(c: Conn, upstream: net.Socket): void {
    const { client } = c;
    upstream.on("error", (e) => teardown(c, (e as NodeJS.ErrnoException).code ?? e.message));
    const idle = () => teardown(c, "idle timeout");
    client.setTimeout(cfg.idleTimeoutMs, idle);
    upstream.setTimeout(cfg.idleTimeoutMs, idle);
    upstream.pipe(client);
    if (c.clientEnded) upstream.end(); // the client half-closed while the request was decided
    else client.pipe(upstream);
  }

  /** Destroys both sides (errors, timeouts, close()). */
  function teardown(c: Conn, why: string): void {
    if (c.closeError === undefined) c.closeError = why;
    c.upstream?.destroy();
    c.client.destroy();
  }

  /** Called on each side's close; finishes the connection once both sides are gone. */
  function maybeFinish(c: Conn): void {
    if (c.done) return;
    if (!c.client.destroyed) return;
    const up = c.upstream;
    if (up && !up.destroyed) {
      // A tunnel whose client finished cleanly (both FINs exchanged, everything written) leaves the
      // upstream to flush what the client sent last and close by itself (idle timeout as backstop).
      // Otherwise nothing more can be delivered either way: destroy it.
      const clean = c.allowedAt !== undefined && c.closeError === undefined && c.client.readableEnded && c.client.writableFinished;
      if (!clean) up.destroy();
      return; // the upstream's close calls back here
    }
    c.done = true;
    conns.delete(c);
    if (c.allowedAt !== undefined && c.upstream) {
      const ev: NetCloseEvent = {
        type: "net_close", ts: Date.now(), id: c.id, client: c.peer, method: c.method ?? "CONNECT",
        host: c.host ?? "", port: c.port ?? 0, address: c.address ?? "",
        bytesUp: c.upstream.bytesWritten ?? 0, bytesDown: c.upstream.bytesRead,
        durationMs: Date.now() - c.allowedAt,
      };
      if (c.closeError !== undefined) ev.error = c.closeError;
      emit(ev);
    }
  }

  let closed: Promise<void> | undefined;
  return {
    port,
    stats: () => ({ active: conns.size, total, denied }),
    close(): Promise<void> {
      if (closed) return closed;
      closing = true;
      closed = new Promise<void>((res) => {
        const waits: Promise<unknown>[] = [];
        waits.push(new Promise<void>((r) => server.close(() => r())));
        for (const c of conns) {
          if (c.upstream && !c.upstream.destroyed) waits.push(new Promise((r) => c.upstream?.once("close", r)));
          if (!c.client.destroyed) waits.push(new Promise((r) => c.client.once("close", r)));
          teardown(c, "proxy closed");
        }
        for (const s of lingering) {
          if (!s.destroyed) waits.push(new Promise((r) => s.once("close", r)));
          s.destroy();
        }
        void Promise.all(waits).then(() => res());
      });
      return closed;
    },
  };
}
