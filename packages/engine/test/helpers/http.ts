// Raw HTTP over loopback for the egress proxy's tests.
import type http from "node:http";
import net from "node:net";

/** Sends `request` (in one write) on a fresh connection to 127.0.0.1:port and returns everything
 * read until the other side closes. */
export function rawExchange(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    s.on("data", (d: Buffer) => parts.push(d));
    s.on("end", () => {
      s.end();
      resolve(Buffer.concat(parts).toString("latin1"));
    });
    s.on("error", reject);
    s.write(request);
  });
}

/** Listens on a free port of 127.0.0.1; the port. */
export async function listenLocal(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

/** A tap in front of 127.0.0.1:originPort: relays every connection both ways (half-close too) and
 * records, per connection, every byte it received (latin1) in `wires`. */
export async function startTap(originPort: number, wires: string[]): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true }, (down) => {
    const i = wires.push("") - 1;
    const up = net.connect({ port: originPort, host: "127.0.0.1", allowHalfOpen: true });
    down.on("data", (d: Buffer) => (wires[i] += d.toString("latin1")));
    down.pipe(up).pipe(down);
    const kill = () => (down.destroy(), up.destroy());
    down.on("error", kill);
    up.on("error", kill);
  });
  return { server, port: await listenLocal(server) };
}

/** `origin` listening on 127.0.0.1 behind a tap (startTap) that records what it receives in `wires`:
 * the tap's port, and a close for both. */
export async function behindTap(origin: http.Server, wires: string[]): Promise<{ port: number; close(): Promise<void> }> {
  const tap = await startTap(await listenLocal(origin), wires);
  return {
    port: tap.port,
    close: async () => {
      origin.closeAllConnections();
      await new Promise((r) => origin.close(r));
      await new Promise((r) => tap.server.close(r));
    },
  };
}
