// Starts of the three kinds the egress proxy's name check reads (egress/first-bytes.ts), as large
// as it reads them, and a client that sends one a byte at a time through a CONNECT tunnel: for the
// test and the bench of what the check costs (first-bytes-cost.test.ts, bench/first-bytes.bench.mjs).
import assert from "node:assert/strict";
import net from "node:net";
import { bound, waitFor } from "./time.js";

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);

/** A TLS record holding a ClientHello for `name`, padded (extension 21) to `size` bytes in all. */
export function paddedHello(name: string, size: number): Buffer {
  const list = Buffer.concat([Buffer.from([0]), u16(name.length), Buffer.from(name)]);
  const sni = Buffer.concat([u16(0), u16(list.length + 2), u16(list.length), list]);
  const fixed = 5 + 4 + 2 + 32 + 1 + 2 + 2 + 2 + 2 + sni.length + 4;
  const padding = Buffer.concat([u16(21), u16(size - fixed), Buffer.alloc(size - fixed)]);
  const exts = Buffer.concat([sni, padding]);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(exts.length), exts]);
  const hs = Buffer.concat([Buffer.from([1, 0]), u16(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}

/** An HTTP/1.1 head naming `name`, `size` bytes long: long header lines and short ones. */
export function paddedHead(name: string, size: number): Buffer {
  const first = `GET / HTTP/1.1\r\nHost: ${name}\r\n`;
  let fields = "";
  for (let i = 0; first.length + fields.length + 2 < size - 1100; i++) fields += i % 2 === 0 ? `X-Long: ${"a".repeat(1000)}\r\n` : "X: y\r\nX: y\r\nX: y\r\n";
  fields += `X-Last: ${"b".repeat(size - first.length - fields.length - 2 - 10)}\r\n`;
  const head = Buffer.from(`${first}${fields}\r\n`, "latin1");
  assert.equal(head.length, size);
  return head;
}

/** One HTTP/2 frame (a payload under 64 KiB). */
export const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer =>
  Buffer.concat([Buffer.from([0, payload.length >> 8, payload.length & 255, type, flags, 0, 0, 0, stream]), payload]);

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** An HPACK block for a GET whose :authority is `name`: static-table GET http /, a literal :authority. */
export const h2Block = (name: string): Buffer => Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, name.length]), Buffer.from(name, "latin1")]);

/** An h2c start (prior knowledge) about `size` bytes long: the preface, SETTINGS, WINDOW_UPDATEs
 * (frames a server does not answer), then a GET whose :authority is `name`. */
export function paddedH2(name: string, size: number): Buffer {
  const request = frame(1, 0x5, 1, h2Block(name));
  const updates: Buffer[] = [];
  for (let n = PREFACE.length + 9 + request.length; n + 13 <= size; n += 13) updates.push(frame(8, 0, 0, Buffer.from([0, 0, 0, 1])));
  return Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), ...updates, request]);
}

/** Through a CONNECT tunnel to `authority`: sends `start` one byte per turn of the event loop (the
 * proxy's reads then bring one byte each), with Nagle off. Resolves once `delivered()` says the
 * start went through, or the proxy closed the tunnel. */
export function sendByteByByte(proxyPort: number, authority: string, start: Buffer, delivered: () => boolean): Promise<{ status: string; through: boolean }> {
  const s = net.connect(proxyPort, "127.0.0.1");
  s.setNoDelay(true);
  s.on("error", () => {});
  s.on("close", () => {});
  return new Promise((resolve) => {
    let head = "";
    const onData = (d: Buffer): void => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onData);
      const status = head.slice(0, head.indexOf("\r\n"));
      if (!status.startsWith("HTTP/1.1 200 ")) return resolve({ status, through: false });
      let i = 0;
      const next = (): void => {
        if (s.destroyed) return;
        s.write(start.subarray(i, i + 1));
        if (++i < start.length) setImmediate(next);
      };
      next();
      void waitFor(() => delivered() || s.destroyed, bound(60_000)).then((ok) => {
        s.destroy();
        resolve({ status, through: ok });
      });
    };
    s.on("data", onData);
    s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}
