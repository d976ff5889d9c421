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
//   body, exactly as its Content-Length or chunked framing delimits it, and the response relayed
//   raw. ONE REQUEST PER CONNECTION: nothing the client sends after the first request reaches the
//   origin (a pipelined request is dropped unread: every head the origin sees is one the proxy
//   wrote); the origin is asked to close after its response and the proxy closes the client side
//   when it does; clients send the next request again on a new connection (curl, urllib, undici
//   and node:http all handle this). Upgrade is
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
import { answer, EgressConnection, type ProxyContext } from "./connection.js";
import type { Resolver } from "./decide.js";
import type { EgressEvent } from "./events.js";

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

async function defaultResolve(host: string): Promise<string[]> {
  const r = await dns.promises.lookup(host, { all: true, verbatim: true });
  return r.map((x) => x.address);
}

function refuseLookup(): never {
  throw new Error("mcp-j egress: upstream connect attempted a DNS look-up");
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

  const conns = new Set<EgressConnection>();
  let total = 0;
  let denied = 0;
  let nextId = 1;
  let closing = false;
  const ctx: ProxyContext = {
    allow,
    resolve,
    connect: connectUpstreamSocket,
    cfg,
    emit,
    log,
    lingering: new Set<net.Socket>(),
    denied: () => void denied++,
  };

  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  server.on("connection", (client: net.Socket) => {
    total++;
    const id = nextId++;
    if (closing) {
      client.destroy();
      return;
    }
    if (conns.size >= cfg.maxConnections) {
      const message = `mcp-j: too many concurrent egress connections (limit ${cfg.maxConnections})`;
      const peer = `${client.remoteAddress ?? "?"}:${client.remotePort ?? 0}`;
      emit({ type: "net_error", ts: Date.now(), id, client: peer, status: 503, reason: "too-many-connections", message });
      log(message);
      if (ctx.lingering.size >= cfg.maxConnections) client.destroy();
      else answer(ctx, client, 503, message);
      return;
    }
    const c = new EgressConnection(ctx, client, id, (done) => conns.delete(done));
    conns.add(c);
    c.start();
  });

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
          waits.push(...c.closed());
          c.teardown("proxy closed");
        }
        for (const s of ctx.lingering) {
          if (!s.destroyed) waits.push(new Promise((r) => s.once("close", r)));
          s.destroy();
        }
        void Promise.all(waits).then(() => res());
      });
      return closed;
    },
  };
}
