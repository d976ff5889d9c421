// Raw HTTP over loopback for the egress proxy's tests.
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
