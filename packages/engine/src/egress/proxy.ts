// The egress proxy: HTTP CONNECT tunnels, absolute-URI plain-HTTP forwarding, and the connections
// the supervisor redirects to it (redirect.ts), with the policy of decide.ts applied to every one.
// Runs in mcp-j (host network namespace); its listening sockets are usually created inside the
// jail's namespace and handed over as file descriptors.
//
// Behaviour, per client connection:
// - The request head is read raw (no node:http), capped at maxHeaderBytes (431) and headerTimeoutMs
//   from accept (408; slowloris). A malformed head is 400.
// - CONNECT host:port -> decide -> connect to a checked address -> "200 Connection established" ->
//   bytes relayed both ways by the native relay (relay.ts; backpressure and half-close honoured).
// - A redirected connect() (redirect.ts): the destination from the supervisor's report, then the
//   same decide, connect and relay; a refusal resets the connection.
// - GET http://host[:port]/path (any method) -> decide -> connect -> the head rewritten to origin
//   form (Host from the URI, hop-by-hop and Proxy-* headers removed, "Connection: close") -> the
//   body, exactly as its Content-Length or chunked framing delimits it, and the response relayed
//   raw (by the native relay when the whole body came with the head). ONE REQUEST PER CONNECTION: nothing the client sends after the first request reaches the
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
import type { NameMap } from "./names.js";
import { RedirectConnection, RedirectTable, type RedirectReport } from "./redirect.js";
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
  /** The redirect listener (a listening socket the jail made), and the names the jail's resolver
   * handed addresses out for. Reports come in through EgressProxy.redirected(). */
  redirect?: { listen: { fd: number } | { host: string; port: number }; names: NameMap; table?: RedirectTable };
  /** Relay tunnels on the native relay's thread (the default) or through Node (false: for comparisons). */
  nativeRelay?: boolean;
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
  /** The redirect listener's port (0 without one). */
  readonly redirectPort: number;
  /** A redirect the supervisor reported (jail/reports.ts "redirect"). */
  redirected(r: RedirectReport): void;
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

  const conns = new Set<EgressConnection | RedirectConnection>();
  let total = 0;
  let denied = 0;
  let nextId = 1;
  let closing = false;
  const ctx: ProxyContext = {
    allow,
    resolve,
    connect: connectUpstreamSocket,
    cfg: { ...cfg, nativeRelay: o.nativeRelay !== false },
    emit,
    log,
    lingering: new Set<net.Socket>(),
    denied: () => void denied++,
  };

  /** A connection over the limit: 503 on the proxy port, a reset on the redirect port. */
  const overLimit = (client: net.Socket, id: number, redirected: boolean): boolean => {
    if (conns.size < cfg.maxConnections) return false;
    const message = `mcp-j: too many concurrent egress connections (limit ${cfg.maxConnections})`;
    const peer = `${client.remoteAddress ?? "?"}:${client.remotePort ?? 0}`;
    emit({ type: "net_error", ts: Date.now(), id, client: peer, status: 503, reason: "too-many-connections", message });
    log(message);
    if (redirected || ctx.lingering.size >= cfg.maxConnections) client.destroy();
    else answer(ctx, client, 503, message);
    return true;
  };
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  server.on("connection", (client: net.Socket) => {
    total++;
    const id = nextId++;
    if (closing) {
      client.destroy();
      return;
    }
    if (overLimit(client, id, false)) return;
    const c = new EgressConnection(ctx, client, id, (done) => conns.delete(done));
    conns.add(c);
    c.start();
  });
  // Redirected connections: nothing is read from them before they are matched and decided.
  const table = o.redirect?.table ?? new RedirectTable();
  const redirectServer = o.redirect !== undefined ? net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }) : null;
  redirectServer?.on("connection", (client: net.Socket) => {
    total++;
    const id = nextId++;
    if (closing) {
      client.destroy();
      return;
    }
    if (overLimit(client, id, true)) return;
    const c = new RedirectConnection(ctx, client, id, table, o.redirect!.names, (done) => conns.delete(done));
    conns.add(c);
    c.start();
  });

  const listen = (srv: net.Server, at: { fd: number } | { host: string; port: number }): Promise<number> =>
    new Promise<number>((res, rej) => {
      srv.once("error", rej);
      srv.listen("fd" in at ? { fd: at.fd } : { host: at.host, port: at.port }, () => {
        srv.off("error", rej);
        // After start-up, a listener error (EMFILE on accept, ...) is logged; libuv keeps accepting.
        srv.on("error", (e) => log(`mcp-j: egress proxy: ${(e as Error).message}`));
        const addr = srv.address();
        res(typeof addr === "object" && addr !== null ? addr.port : 0);
      });
    });
  const port = await listen(server, o.listen);
  const redirectPort = redirectServer !== null ? await listen(redirectServer, o.redirect!.listen) : 0;

  let closed: Promise<void> | undefined;
  return {
    port,
    redirectPort,
    redirected: (r) => table.report(r),
    stats: () => ({ active: conns.size, total, denied }),
    close(): Promise<void> {
      if (closed) return closed;
      closing = true;
      closed = new Promise<void>((res) => {
        const waits: Promise<unknown>[] = [];
        waits.push(new Promise<void>((r) => server.close(() => r())));
        if (redirectServer !== null) waits.push(new Promise<void>((r) => redirectServer.close(() => r())));
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
