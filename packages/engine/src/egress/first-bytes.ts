// Whom a connection's first bytes name (issue 15: "the proxy may check that the Host header or SNI
// names the same host"). A connection allowed for a name goes to that name's addresses, but one
// server (a CDN, a shared host) answers for many names, and which one it serves is chosen by the
// TLS ClientHello's server_name or the HTTP Host header: without this check, a name the policy does
// not allow is reached through one it does ("domain fronting"). So before the relay starts, the
// proxy waits for whoever speaks first:
//
//   the upstream         a server-first protocol (SSH, SMTP, MySQL, Redis's replies come later):
//                        nothing of the client's to check; relayed as is
//   the client, TLS      the ClientHello, whole in its first record (a ClientHello split across
//                        records is refused: what a server reassembles could name another host);
//                        one server_name with one host_name, or none
//   the client, HTTP/1   the request head, whole (up to 64 KiB); at most one Host header, and an
//                        absolute-form target's authority: each must name the host
//   anything else        relayed as is (h2c with prior knowledge included: its :authority is in
//                        HPACK, not read here)
//
// Names compare in lower case, without a trailing dot; a Host header's port is not compared. Only a
// connection allowed for a name is checked: an allowed IP literal names no host.
//
// What this cannot see: inside TLS (a ClientHello naming the allowed host, then an HTTP Host header
// naming another, is the classic form of domain fronting, which only the CDN can refuse), and any
// HTTP request after the first on a kept-alive plain connection. It stops a client from naming
// another host where the proxy can read it, not a client set on fronting.
import type net from "node:net";

export type FirstWord =
  | { kind: "tls"; sni: string | null }
  | { kind: "http"; hosts: string[] }
  | { kind: "other" }
  | { kind: "bad"; why: string };

const MAX_TLS_RECORD = 16384 + 2048;
export const MAX_HTTP_HEAD = 64 * 1024;

const normalName = (n: string): string => n.toLowerCase().replace(/\.$/, "");

/** What the bytes a client sent first say, or "more" when they are not whole yet. */
export function classifyFirst(whole: Buffer): FirstWord | "more" {
  if (whole.length === 0) return "more";
  if (whole[0] === 0x16) return tlsFirst(whole);
  // An HTTP server skips empty lines before the request line (RFC 9112, 2.2): so does this.
  let skip = 0;
  while (skip < whole.length && (whole[skip] === 0x0d || whole[skip] === 0x0a)) skip++;
  const buf = whole.subarray(skip);
  if (buf.length === 0) return whole.length < MAX_HTTP_HEAD ? "more" : { kind: "bad", why: `more than ${MAX_HTTP_HEAD} bytes of empty lines` };
  const text = buf.toString("latin1", 0, Math.min(buf.length, 16));
  if (/^PRI \* HTTP\/2\.0/.test(text) || !/^[A-Z]{1,16}( |$)/.test(text)) return buf.length < 16 && /^[A-Z]*$/.test(text) ? "more" : { kind: "other" };
  return httpFirst(buf);
}

function tlsFirst(buf: Buffer): FirstWord | "more" {
  if (buf.length < 5) return "more";
  if (buf[1] !== 0x03) return { kind: "other" };
  const len = buf.readUInt16BE(3);
  if (len > MAX_TLS_RECORD) return { kind: "bad", why: "a TLS record longer than TLS allows" };
  if (buf.length < 5 + len) return "more";
  const h = buf.subarray(5, 5 + len);
  if (h.length < 4 || h[0] !== 0x01) return { kind: "bad", why: "a TLS connection that does not start with a ClientHello" };
  const hlen = h.readUIntBE(1, 3);
  if (4 + hlen > h.length) return { kind: "bad", why: "a ClientHello split across TLS records" };
  const body = h.subarray(4, 4 + hlen);
  try {
    let p = 34; // client_version, random
    p += 1 + body.readUInt8(p); // session_id
    p += 2 + body.readUInt16BE(p); // cipher_suites
    p += 1 + body.readUInt8(p); // compression_methods
    if (p === body.length) return { kind: "tls", sni: null };
    const end = p + 2 + body.readUInt16BE(p);
    if (end > body.length) return { kind: "bad", why: "a malformed ClientHello" };
    p += 2;
    let sni: string | null = null;
    let seen = false;
    while (p < end) {
      const type = body.readUInt16BE(p);
      const elen = body.readUInt16BE(p + 2);
      const ext = body.subarray(p + 4, p + 4 + elen);
      if (p + 4 + elen > end) return { kind: "bad", why: "a malformed ClientHello" };
      p += 4 + elen;
      if (type !== 0) continue;
      if (seen) return { kind: "bad", why: "a ClientHello with two server_name extensions" };
      seen = true;
      const listEnd = 2 + ext.readUInt16BE(0);
      if (listEnd > ext.length) return { kind: "bad", why: "a malformed server_name" };
      for (let q = 2; q < listEnd; ) {
        const nameType = ext.readUInt8(q);
        const nlen = ext.readUInt16BE(q + 1);
        if (q + 3 + nlen > listEnd) return { kind: "bad", why: "a malformed server_name" };
        if (nameType === 0) {
          if (sni !== null) return { kind: "bad", why: "a server_name with two host names" };
          sni = normalName(ext.toString("latin1", q + 3, q + 3 + nlen));
        }
        q += 3 + nlen;
      }
    }
    return { kind: "tls", sni };
  } catch {
    return { kind: "bad", why: "a malformed ClientHello" };
  }
}

/** The host of an authority (`name`, `name:port`, `[v6]:port`). */
function authorityHost(a: string): string {
  const at = a.lastIndexOf("@");
  const hp = at >= 0 ? a.slice(at + 1) : a;
  if (hp.startsWith("[")) return normalName(hp.slice(1, hp.indexOf("]") >= 0 ? hp.indexOf("]") : undefined));
  const colon = hp.indexOf(":");
  return normalName(colon >= 0 ? hp.slice(0, colon) : hp);
}

function httpFirst(buf: Buffer): FirstWord | "more" {
  const text = buf.toString("latin1", 0, Math.min(buf.length, MAX_HTTP_HEAD));
  // The first line decides whether this is HTTP at all (`GET key` is also Redis's inline command).
  const nl = text.indexOf("\n");
  if (nl < 0) return buf.length < 8192 ? "more" : { kind: "other" };
  if (!/^[A-Z]+ \S+ HTTP\/\d(\.\d)?\r?$/.test(text.slice(0, nl))) return { kind: "other" };
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0) return buf.length < MAX_HTTP_HEAD ? "more" : { kind: "bad", why: `an HTTP request head longer than ${MAX_HTTP_HEAD} bytes` };
  const lines = text.slice(0, end).split(/\r?\n/);
  const m = /^[A-Z]+ (\S+) HTTP\/\d(\.\d)?$/.exec(lines[0]!);
  if (m === null) return { kind: "other" };
  const hosts: string[] = [];
  const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(m[1]!);
  if (abs !== null) hosts.push(authorityHost(abs[1]!));
  const hostHeaders = lines.slice(1).filter((l) => /^host\s*:/i.test(l));
  if (hostHeaders.length > 1) return { kind: "bad", why: "an HTTP request with two Host headers" };
  if (hostHeaders.length === 1) hosts.push(authorityHost(hostHeaders[0]!.replace(/^host\s*:/i, "").trim()));
  return { kind: "http", hosts };
}

/** Why a connection allowed for `host` must not go on, or null when its first bytes fit it. */
export function mismatch(w: FirstWord, host: string): string | null {
  const h = normalName(host);
  if (w.kind === "bad") return `${w.why}, on a connection allowed for ${h}`;
  if (w.kind === "tls" && w.sni !== null && w.sni !== h) return `the TLS handshake names ${w.sni}, not ${h} that the connection is allowed for`;
  if (w.kind === "http") {
    const other = w.hosts.find((x) => x !== h);
    if (other !== undefined) return `the HTTP request names ${other}, not ${h} that the connection is allowed for`;
  }
  return null;
}

/** `none`'s reason when the client half-closed without sending anything: relay as is. */
const CLIENT_SILENT = "the client closed without a word";

/** Who spoke first on a connection about to be relayed (see the top of this file). */
type FirstSpeaker =
  | { from: "client"; data: Buffer; word: FirstWord }
  | { from: "upstream" }
  | { from: "none"; why: string };

/**
 * Waits until the client has said enough to be classified, or the upstream speaks first, or either
 * closes (`none`: nothing to check), or `idleMs` passes. The client's bytes are consumed (`data`,
 * `seed` first: what it sent before, `clientEnded` if it half-closed after); the upstream's are left
 * in its socket for the relay.
 */
function awaitFirstSpeaker(client: net.Socket, upstream: net.Socket, idleMs: number, seed: Buffer[] = [], clientEnded = false): Promise<FirstSpeaker> {
  return new Promise((resolve) => {
    const chunks = [...seed];
    let done = false;
    const finish = (r: FirstSpeaker): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.off("readable", onClient).off("end", onClientEnd).off("close", onClose);
      upstream.off("readable", onUpstream).off("close", onClose);
      resolve(r);
    };
    const classify = (ended: boolean): void => {
      const data = Buffer.concat(chunks);
      const word = classifyFirst(data);
      if (word !== "more") finish({ from: "client", data, word });
      else if (ended) finish(data.length === 0 ? { from: "none", why: CLIENT_SILENT } : { from: "client", data, word: { kind: "bad", why: "an incomplete TLS or HTTP start before the client's end" } });
    };
    const onClient = (): void => {
      for (let c: Buffer | null; (c = client.read() as Buffer | null) !== null; ) chunks.push(c);
      classify(false);
    };
    const onClientEnd = (): void => classify(true);
    const onUpstream = (): void => {
      if (chunks.length === 0) finish({ from: "upstream" });
    };
    const onClose = (): void => finish({ from: "none", why: "closed" });
    const timer = setTimeout(() => finish({ from: "none", why: "idle timeout" }), idleMs);
    client.on("readable", onClient).on("end", onClientEnd).on("close", onClose);
    upstream.on("readable", onUpstream).on("close", onClose);
    if (chunks.length > 0 || clientEnded) classify(clientEnded);
  });
}

/** What to do with a connection allowed for a host, once its first bytes are known. */
export type FirstCheck =
  | { go: true; toUpstream: Buffer }
  /** The first bytes name another host: a refusal, with the stderr line. */
  | { go: false; refused: string }
  /** It ended (closed, idle) before anything could be decided: to be torn down. */
  | { go: false; ended: string };

/**
 * The check of the top of this file for a connection allowed for `host`, before its relay starts.
 * @param early what the client sent before (it goes first), and whether it half-closed after.
 */
export async function checkFirstBytes(client: net.Socket, upstream: net.Socket, host: string, idleMs: number, early: Buffer[] = [], clientEnded = false): Promise<FirstCheck> {
  const first = await awaitFirstSpeaker(client, upstream, idleMs, early, clientEnded);
  if (first.from === "none") return first.why === CLIENT_SILENT ? { go: true, toUpstream: Buffer.concat(early) } : { go: false, ended: first.why };
  if (first.from === "upstream") return { go: true, toUpstream: Buffer.concat(early) };
  const why = mismatch(first.word, host);
  return why === null ? { go: true, toUpstream: first.data } : { go: false, refused: `mcp-j: ${why} (blocked)` };
}
