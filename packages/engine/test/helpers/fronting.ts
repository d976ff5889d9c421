// Shared by the tests of the egress proxy's name check (first-bytes.ts): a CONNECT tunnel that
// sends a first message and reports what came back, and the classification a refused start must get.
import assert from "node:assert/strict";
import net from "node:net";
import { classifyFirst, mismatch } from "../../src/egress/first-bytes.js";
import { startEgressProxy, type EgressEvent, type EgressProxy } from "../../src/egress/index.js";
import { bound } from "./time.js";

/** A proxy on which svc.test (the loopback, and no other name) is allowed at these ports, its
 * events pushed to `events`. */
export function svcTestProxy(ports: number[], events: EgressEvent[]): Promise<EgressProxy> {
  return startEgressProxy({
    listen: { host: "127.0.0.1", port: 0 },
    allow: ports.flatMap((p) => [`svc.test:${p}`, `127.0.0.1:${p}`]),
    onEvent: (e) => events.push(e),
    log: () => {},
    resolve: async (name) => {
      if (name === "svc.test") return ["127.0.0.1"];
      throw Object.assign(new Error(`no such test host ${name}`), { code: "ENOTFOUND" });
    },
  });
}

/** Through a CONNECT tunnel to `authority`: sends `first` after the 200, returns what came back
 * and whether the proxy reset the connection. */
export function tunnelFirst(proxyPort: number, authority: string, first: string): Promise<{ status: number; back: string; reset: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(proxyPort, "127.0.0.1");
    let buf = "";
    let status = 0;
    let reset = false;
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      s.destroy();
      resolve({ status, back: buf, reset });
    };
    // A bound against a hang only: a refused start is reset at once, an origin that answers closes
    // or is read until this bound.
    const t = setTimeout(done, bound(10_000));
    s.on("error", (e: NodeJS.ErrnoException) => {
      reset = e.code === "ECONNRESET";
      done();
    });
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      if (status !== 0) return;
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1] ?? 0);
      buf = buf.slice(end + 4);
      s.write(first, "latin1");
    });
    s.on("end", done);
    s.on("close", done);
    s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

/** Each start, whole, is read as naming another host than `host` (or refused as unreadable). */
export function assertNamesAnother(starts: string[], host: string): void {
  for (const start of starts) {
    const w = classifyFirst(Buffer.from(start, "latin1"));
    assert.notEqual(w, "more", start);
    assert.notEqual(mismatch(w as Exclude<typeof w, "more">, host), null, `${JSON.stringify(start)} passes as ${JSON.stringify(w)}`);
  }
}
