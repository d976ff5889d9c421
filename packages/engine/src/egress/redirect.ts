// Connections the supervisor redirected to the egress proxy (docs/design.md, "Network"): a jailed
// program's connect() to an address the jail's resolver handed out, or to an IP literal the
// allowlist names, was performed by the deputy against the proxy's redirect listener instead, and
// the supervisor reported it ("redirect src sport addr port") before answering the program.
//
//   match      the accepted connection is paired with its report by its peer address and port
//              (the 4-tuple is unique while the connection lives; the newest connection with a
//              given tuple is the only live one); nothing is read from it
//   decide     the destination comes from the report, never from the connection: a handed-out
//              address is mapped back to its name (names.ts), then decide.ts as for CONNECT
//   connect    to the checked addresses in turn (upstream.ts)
//   names      for a name, the TLS server_name or HTTP Host the program sends first must be that
//              name (first-bytes.ts)
//   relay      both ways, in the kernel (relay.ts)
// A refusal resets the connection (the program sees ECONNRESET) and is audited and said once on
// stderr like any other. A connection without a report within MATCH_TIMEOUT_MS is closed.
import type net from "node:net";
import { checkNames, failed, refused, type ProxyContext } from "./connection.js";
import { decide } from "./decide.js";
import type { NetErrorEvent } from "./events.js";
import { normalizeIp, unmapIpv4 } from "./ip.js";
import { inNameRange, type NameMap } from "./names.js";
import { startTunnel, type Tunnel } from "./relay.js";
import { connectUpstream } from "./upstream.js";

/** What the supervisor reported (jail/reports.ts "redirect"). */
export interface RedirectReport {
  /** The socket's local address and port in the jail: the proxy's peer. */
  src: string;
  sport: number;
  /** The destination the jailed program asked for. */
  address: string;
  port: number;
  /** The calling thread (host pid). */
  pid: number;
}

/** How long an accepted connection waits for its report, and a report for its connection. */
export const MATCH_TIMEOUT_MS = 5_000;
/** Reports kept waiting for their connection at most (the oldest go first). */
const MAX_PENDING_REPORTS = 4096;

function key(address: string, port: number): string {
  const ip = normalizeIp(address);
  return `${ip !== null ? (unmapIpv4(ip) ?? ip).address : address}|${port}`;
}

/** Reports and accepted connections meeting each other, whichever comes first. */
export class RedirectTable {
  private readonly reports = new Map<string, { r: RedirectReport; at: number }>();
  private readonly waiting = new Map<string, (r: RedirectReport | null) => void>();

  report(r: RedirectReport): void {
    const k = key(r.src, r.sport);
    const w = this.waiting.get(k);
    if (w !== undefined) {
      this.waiting.delete(k);
      w(r);
      return;
    }
    const now = Date.now();
    for (const [old, v] of this.reports) {
      if (this.reports.size < MAX_PENDING_REPORTS && now - v.at < MATCH_TIMEOUT_MS) break;
      this.reports.delete(old); // Map order is insertion order: the oldest first
    }
    this.reports.delete(k);
    this.reports.set(k, { r, at: now });
  }

  /** The report for a connection from peer address:port, waiting up to timeoutMs; null if none. */
  match(address: string, port: number, timeoutMs: number): Promise<RedirectReport | null> {
    const k = key(address, port);
    const ready = this.reports.get(k);
    if (ready !== undefined) {
      this.reports.delete(k);
      return Promise.resolve(Date.now() - ready.at < MATCH_TIMEOUT_MS ? ready.r : null);
    }
    // An older connection with this tuple that still waits is dead (the tuple is this one's now).
    this.waiting.get(k)?.(null);
    return new Promise((res) => {
      const t = setTimeout(() => {
        if (this.waiting.get(k) === done) this.waiting.delete(k);
        res(null);
      }, timeoutMs);
      const done = (r: RedirectReport | null): void => {
        clearTimeout(t);
        res(r);
      };
      this.waiting.set(k, done);
    });
  }
}

/** One redirected connection, from accept to close. */
export class RedirectConnection {
  readonly peer: string;
  private upstream: net.Socket | undefined;
  private tunnel: Tunnel | undefined;
  private stopped: string | undefined;
  private done = false;

  constructor(
    private readonly ctx: ProxyContext,
    readonly client: net.Socket,
    readonly id: number,
    private readonly table: RedirectTable,
    private readonly names: NameMap,
    private readonly onFinish: (c: RedirectConnection) => void,
  ) {
    this.peer = `${client.remoteAddress ?? "?"}:${client.remotePort ?? 0}`;
  }

  start(): void {
    this.client.on("error", () => this.teardown("client error"));
    this.client.once("close", () => {
      if (this.tunnel === undefined) this.end();
    });
    this.run().catch((e: unknown) => this.teardown((e as Error)?.message ?? String(e)));
  }

  teardown(why: string): void {
    this.stopped ??= why;
    this.tunnel?.stop(why);
    this.upstream?.destroy();
    this.client.destroy();
  }

  closed(): Promise<unknown>[] {
    if (this.done) return [];
    if (this.tunnel !== undefined) return [this.tunnel.done];
    return this.client.destroyed ? [] : [new Promise((r) => this.client.once("close", r))];
  }

  gone(): boolean {
    return this.stopped !== undefined || this.client.destroyed;
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.upstream?.destroy();
    this.onFinish(this);
  }

  private fail(status: NetErrorEvent["status"], reason: NetErrorEvent["reason"], message: string, host?: string, port?: number): void {
    failed(this.ctx, { id: this.id, client: this.peer, status, reason, message, host, port });
    this.client.resetAndDestroy();
  }

  private async run(): Promise<void> {
    const { ctx, client } = this;
    const r = await this.table.match(client.remoteAddress ?? "", client.remotePort ?? 0, MATCH_TIMEOUT_MS);
    if (this.gone()) return;
    if (r === null) {
      this.fail(400, "unmatched", `mcp-j: a connection to the redirect listener from ${this.peer} matches no connect() of the jail: closed`);
      return;
    }
    const ip = normalizeIp(r.address);
    if (ip === null) {
      this.fail(400, "unmatched", `mcp-j: the supervisor reported a redirect to ${JSON.stringify(r.address)}, not an address`);
      return;
    }
    // A handed-out address stands for its name; any other is the literal the program gave.
    const target = unmapIpv4(ip) ?? ip;
    const host = inNameRange(target) ? this.names.nameOf(target) : target.address;
    if (host === undefined) {
      refused(ctx, this.id, this.peer, "TCP", {
        ok: false, status: 403, reason: "not-allowed", host: target.address, port: r.port,
        message: `mcp-j: ${target.address} port ${r.port} is not an address the jail's resolver handed out (blocked)`,
      });
      client.resetAndDestroy();
      return;
    }
    const d = await decide(ctx.allow, host, r.port, { resolve: ctx.resolve, resolveTimeoutMs: ctx.cfg.resolveTimeoutMs });
    if (this.gone()) return;
    if (!d.ok) {
      if (d.status === 403) {
        refused(ctx, this.id, this.peer, "TCP", d);
        client.resetAndDestroy();
      } else {
        this.fail(d.status, d.reason, d.message, d.host, d.port);
      }
      return;
    }
    const up = await connectUpstream(ctx, d.addresses, d.port, (s) => (this.upstream = s), () => this.gone());
    if (up === null) return;
    if (!up.ok) {
      this.fail(up.timedOut ? 504 : 502, up.timedOut ? "connect-timeout" : "connect-failed", `mcp-j: could not connect to ${d.host} port ${d.port}: ${up.error}`, d.host, d.port);
      return;
    }
    // A connection allowed for a name goes on only if its TLS or HTTP start names that host.
    let toUpstream: Buffer | undefined;
    if (!d.literal) {
      const checked = await checkNames(ctx, this, "TCP", up.socket, d);
      if (checked === null) return;
      toUpstream = checked;
    }
    const allowedAt = Date.now();
    const base = { id: this.id, client: this.peer, method: "TCP" as const, host: d.host, port: d.port, address: up.address.address };
    ctx.emit({ type: "net_allow", ts: allowedAt, ...base, family: up.address.family, rule: d.rule });
    this.tunnel = startTunnel(client, up.socket, { idleMs: ctx.cfg.idleTimeoutMs, native: ctx.cfg.nativeRelay, ...(toUpstream !== undefined ? { toUpstream } : {}) });
    const end = await this.tunnel.done;
    const ev = { type: "net_close" as const, ts: Date.now(), ...base, bytesUp: end.up, bytesDown: end.down, durationMs: Date.now() - allowedAt };
    const why = this.stopped ?? end.error;
    ctx.emit(why !== undefined ? { ...ev, error: why } : ev);
    this.end();
  }
}
