// The bytes of a decided connection: once a tunnel (CONNECT) or a redirected connection has its
// upstream, both sockets go to the native relay (native/addon/relay.c: recv(2)/send(2) on a thread
// of its own, through its own buffer), so the data never enters Node's heap. Where the addon cannot take them
// (no descriptor, no addon), Node's own pipe() does the same job, slower.
import type net from "node:net";
import { nativeAddon } from "../jail/native.js";

export interface TunnelEnd {
  /** Bytes delivered client -> upstream (what the client sent early included) and upstream ->
   * client (the proxy's own `toClient` not counted). */
  up: number;
  down: number;
  /** Why it ended if not by both sides closing: "ECONNRESET", "idle timeout", "stopped"... */
  error?: string;
}

export interface Tunnel {
  readonly done: Promise<TunnelEnd>;
  /** Ends it now (both sockets closed); done resolves with `error: why`. */
  stop(why: string): void;
  /** Whether the native relay carries it (false: Node's pipe()). */
  readonly native: boolean;
}

export interface TunnelOptions {
  idleMs: number;
  /** Bytes to deliver before anything else: to the upstream (what the client sent early) and to
   * the client (the "200 Connection established" of a CONNECT). */
  toUpstream?: Buffer;
  toClient?: Buffer;
  /** After `toUpstream`, what the client sends is read and dropped, not relayed (plain HTTP: one
   * request per connection); its half-close still is. */
  dropFromClient?: boolean;
}

interface Relay {
  start(a: net.Socket, b: net.Socket, o: TunnelOptions): Tunnel | null;
}

/** What Node has read from a paused socket but nobody consumed. */
function drain(s: net.Socket): Buffer[] {
  const out: Buffer[] = [];
  for (let c: Buffer | null; (c = s.read() as Buffer | null) !== null; ) out.push(c);
  return out;
}

function fdOf(s: net.Socket): number | null {
  const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : null;
}

let nativeRelay: Relay | null | undefined;

function loadNativeRelay(): Relay | null {
  let addon: ReturnType<typeof nativeAddon>;
  try {
    addon = nativeAddon();
  } catch {
    return null;
  }
  const waiting = new Map<number, { done: (e: TunnelEnd) => void; ours: number }>();
  // The native thread's callbacks do not keep Node's loop alive; while a tunnel is live, this does
  // (so that whoever awaits its end is not left behind by an exiting process).
  let alive: NodeJS.Timeout | undefined;
  addon.relayInit((id, up, down, error) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (waiting.size === 0 && alive !== undefined) {
      clearInterval(alive);
      alive = undefined;
    }
    const counts = { up, down: Math.max(0, down - (w?.ours ?? 0)) };
    w?.done(error === null ? counts : { ...counts, error: error === "idle" ? "idle timeout" : error });
  });
  return {
    start(a, b, o) {
      const fa = fdOf(a);
      const fb = fdOf(b);
      if (fa === null || fb === null || a.writableLength > 0 || b.writableLength > 0) return null;
      // Everything Node holds is handed over with the sockets, in one synchronous step: nothing
      // can be read between these reads and the descriptors changing hands.
      const fromClient = drain(a);
      const up = Buffer.concat([o.toUpstream ?? Buffer.alloc(0), ...(o.dropFromClient === true ? [] : fromClient)]);
      const down = Buffer.concat([o.toClient ?? Buffer.alloc(0), ...drain(b)]);
      const id = addon.relayStart(fa, fb, o.idleMs, up, down, o.dropFromClient === true);
      for (const s of [a, b]) {
        s.removeAllListeners();
        s.on("error", () => {});
        s.destroy(); // closes Node's descriptor; the relay holds its own
      }
      const done = new Promise<TunnelEnd>((res) => waiting.set(id, { done: res, ours: o.toClient?.length ?? 0 }));
      alive ??= setInterval(() => {}, 1 << 30);
      return { done, native: true, stop: () => addon.relayStop(id) };
    },
  };
}

/** Node's pipe() both ways, half-close honoured, for when the native relay cannot be used. */
function pipeTunnel(client: net.Socket, upstream: net.Socket, o: TunnelOptions): Tunnel {
  let error: string | undefined;
  let finished = false;
  let resolve: (e: TunnelEnd) => void = () => {};
  const done = new Promise<TunnelEnd>((r) => (resolve = r));
  const base = { up: upstream.bytesWritten, down: client.bytesWritten };
  const stop = (why: string): void => {
    error ??= why;
    client.destroy();
    upstream.destroy();
  };
  const check = (): void => {
    if (finished || !client.destroyed || !upstream.destroyed) return;
    finished = true;
    const e: TunnelEnd = { up: upstream.bytesWritten - base.up, down: Math.max(0, client.bytesWritten - base.down - (o.toClient?.length ?? 0)) };
    if (error !== undefined) e.error = error;
    resolve(e);
  };
  for (const s of [client, upstream]) {
    s.removeAllListeners("data");
    s.removeAllListeners("end");
    s.on("error", (e: NodeJS.ErrnoException) => stop(e.code ?? e.message));
    s.setTimeout(o.idleMs, () => stop("idle timeout"));
    s.once("close", () => {
      // A side that finished cleanly leaves the other to flush and close by itself; otherwise
      // nothing more can be delivered: destroy it.
      const other = s === client ? upstream : client;
      if (!(s.readableEnded && s.writableFinished)) other.destroy();
      check();
    });
  }
  if (o.toClient !== undefined && o.toClient.length > 0) client.write(o.toClient);
  if (o.toUpstream !== undefined && o.toUpstream.length > 0) upstream.write(o.toUpstream);
  // A side whose end Node has already read will not end its pipe: end the other side here.
  for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
    if (from.readableEnded) to.end();
    else if (from === client && o.dropFromClient === true) from.on("data", () => {}).once("end", () => to.end());
    else from.pipe(to);
  }
  client.resume();
  upstream.resume();
  return { done, native: false, stop };
}

/**
 * Relays client <-> upstream until both are done. Both sockets must be paused with no 'data'
 * listener; from here on the tunnel owns them. `native: false` forces Node's pipe() (benchmarks
 * compare the two).
 */
export function startTunnel(client: net.Socket, upstream: net.Socket, o: TunnelOptions & { native?: boolean }): Tunnel {
  if (o.native !== false) {
    if (nativeRelay === undefined) nativeRelay = loadNativeRelay();
    const t = nativeRelay?.start(client, upstream, o);
    if (t) return t;
  }
  return pipeTunnel(client, upstream, o);
}
