// The upstream side of a decided connection: the checked addresses tried in order, each with a
// timeout, never resolving again (decide.ts returned them). Shared by CONNECT, plain HTTP and
// redirected connections.
import type net from "node:net";
import type { ProxyContext } from "./connection.js";
import type { NormalizedIp } from "./ip.js";

export type Upstream = { ok: true; socket: net.Socket; address: NormalizedIp } | { ok: false; error: string; timedOut: boolean };

function connectOne(ctx: ProxyContext, a: NormalizedIp, port: number, track: (s: net.Socket) => void): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const address = a.zone !== undefined ? `${a.address}%${a.zone}` : a.address;
    let s: net.Socket;
    try {
      s = ctx.connect({ address, family: a.family, port });
    } catch (e) {
      rej(e);
      return;
    }
    track(s);
    const t = setTimeout(() => {
      s.destroy();
      rej(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
    }, ctx.cfg.connectTimeoutMs);
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

/**
 * Connects to the first of `addresses` that answers. `track` sees each socket as it is made (so
 * that a teardown meanwhile can destroy it); `gone` says the client left (then nothing more is
 * tried, and null comes back).
 */
export async function connectUpstream(
  ctx: ProxyContext,
  addresses: readonly NormalizedIp[],
  port: number,
  track: (s: net.Socket) => void,
  gone: () => boolean,
): Promise<Upstream | null> {
  let lastErr = "";
  let timedOut = false;
  for (const a of addresses) {
    try {
      const socket = await connectOne(ctx, a, port, track);
      if (gone()) {
        socket.destroy();
        return null;
      }
      return { ok: true, socket, address: a };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      timedOut = err.code === "ETIMEDOUT";
      lastErr = err.code ?? err.message;
      if (gone()) return null;
    }
  }
  return { ok: false, error: lastErr, timedOut };
}
