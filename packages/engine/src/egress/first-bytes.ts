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
//                        one server_name with one host_name, naming the host
//   the client, HTTP/1   the request head, whole (up to 64 KiB); at most one Host header, and an
//                        absolute- or authority-form target: each must name the host, and one must
//                        be there. The request line is read as leniently as any server reads it
//                        (httpFirst); a start is waited on until its first line is whole unless its
//                        first word holds a control byte (a binary protocol)
//   the client, h2c      HTTP/2 with prior knowledge: the preface and the frames up to the end of
//                        the first request's header block (up to 64 KiB; nothing but SETTINGS,
//                        WINDOW_UPDATE, PRIORITY and PING before it); its :authority and Host, which
//                        HPACK encodes, are decoded by node:http2 and must name the host. The
//                        preface and those frames carry no name: they are passed on as they come, and
//                        the server's answer to them goes back, for a client that waits for the
//                        server's SETTINGS before it sends its first request. A server that
//                        sends its SETTINGS first (node:http2 does) is not taken for a
//                        server-first protocol (however many reads bring the frame's 9-byte
//                        header): its bytes go to the client while the client's start is awaited
//   anything else        relayed as is
//
// Names compare in lower case, without a trailing dot; a Host header's port is not compared. A
// start that names no host is refused: the server would answer it for its default name. Only a
// connection allowed for a name is checked: an allowed IP literal names no host.
//
// What this cannot see: inside TLS (a ClientHello naming the allowed host, then an HTTP Host header
// naming another, is the classic form of domain fronting, which only the CDN can refuse; an
// Encrypted ClientHello's inner name is the same), and any HTTP request after the first on a
// kept-alive plain connection (or stream after the first on h2c). It stops a client from naming
// another host where the proxy can read it, not a client set on fronting.
import http2 from "node:http2";
import type net from "node:net";
import { Duplex } from "node:stream";

export type FirstWord =
  | { kind: "tls"; sni: string | null }
  | { kind: "http"; hosts: string[] }
  /** h2c: `start` is the preface and the frames through the first request's header block (h2Hosts
   * reads the names in it). */
  | { kind: "h2"; start: Buffer }
  | { kind: "other" }
  | { kind: "bad"; why: string };

const MAX_TLS_RECORD = 16384 + 2048;
export const MAX_HTTP_HEAD = 64 * 1024;

const normalName = (n: string): string => n.toLowerCase().replace(/\.$/, "");

/**
 * What the bytes a client sent first say, or "more" when they are not whole yet. `ended`: the client
 * half-closed after them, so nothing more will come (a start that is not yet a first line is then
 * another protocol's, one that names an HTTP version cannot be read).
 */
export function classifyFirst(whole: Buffer, ended = false): FirstWord | "more" {
  const w = firstOf(whole, ended);
  return "until" in w ? "more" : w;
}

/**
 * Where a start that is not whole yet stands: what would have to arrive before classifyFirst's
 * answer can be other than "more" (StartReader looks at the bytes that come against it, and reads
 * the start whole again only once they could change the answer). `at`: the length from which it may
 * change whatever the bytes (a TLS record's declared end, MAX_HTTP_HEAD).
 */
type Wait =
  /** Nothing but the length counts: a TLS record's first two bytes, its header, its end. */
  | { until: "length"; at: number }
  /** Empty lines so far: a byte that is neither CR nor LF. */
  | { until: "not-crlf"; at: number }
  /** Part of the h2c preface, from `skip`: a byte that differs from it (or all of it, at `at`). */
  | { until: "preface"; skip: number; at: number }
  /** A first line not yet ended: its LF, or a control byte in its first word (`word`: where the
   * bytes so far leave FIRST_WORD: still in the spaces before it, in it, or past it). */
  | { until: "line-end"; word: "before" | "in" | "after"; at: number }
  /** An HTTP request line whose head is not whole: a LF that ends an empty line (`\r?\n\r?\n`). */
  | { until: "head-end"; at: number }
  /** h2c frames from `skip` (the preface's start): the walk goes on over the frames that come. */
  | { until: "frames"; skip: number; walk: H2Walk };

/** classifyFirst, with what it waits for in place of "more". */
function firstOf(whole: Buffer, ended: boolean): FirstWord | Wait {
  if (whole.length === 0) return { until: "length", at: 1 };
  // A TLS record: a handshake, or an alert (Go's crypto/tls drops warning alerts before the
  // ClientHello and takes any record version below 0x10..).
  if (whole[0] === 0x16 || whole[0] === 0x15) {
    if (whole.length < 2) return { until: "length", at: 2 };
    if (whole[1]! < 0x10) return whole[0] === 0x15 ? { kind: "bad", why: "a TLS alert before the ClientHello" } : tlsFirst(whole);
  }
  // An HTTP server skips empty lines before the request line (RFC 9112, 2.2): so does this.
  let skip = 0;
  while (skip < whole.length && (whole[skip] === 0x0d || whole[skip] === 0x0a)) skip++;
  const buf = whole.subarray(skip);
  if (buf.length === 0) return whole.length < MAX_HTTP_HEAD ? { until: "not-crlf", at: MAX_HTTP_HEAD } : { kind: "bad", why: `more than ${MAX_HTTP_HEAD} bytes of empty lines` };
  const preface = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, preface).equals(H2_PREFACE.subarray(0, preface))) {
    if (preface < H2_PREFACE.length) return { until: "preface", skip, at: skip + H2_PREFACE.length };
    const walk = h2Start();
    const w = h2Walk(buf, walk);
    return w === "more" ? { until: "frames", skip, walk } : w;
  }
  // A start is waited on until its first line is whole, whatever its words: lenient servers take
  // a method in any case and with any characters (Apache, HAProxy, Go), and a target with control
  // bytes (Python). Only a control byte in the first word says another protocol at once: binary
  // protocols start with a length or a type byte; text protocols send whole lines.
  const text = buf.toString("latin1", 0, Math.min(buf.length, MAX_HTTP_HEAD));
  const nl = text.indexOf("\n");
  if (nl >= 0) {
    const w = httpFirst(buf, text, nl, ended);
    return w === "more" ? { until: "head-end", at: skip + MAX_HTTP_HEAD } : w;
  }
  const first = FIRST_WORD.exec(text)!;
  if (CONTROL.test(first[1]!)) return { kind: "other" };
  const w = httpFirst(buf, text, nl, ended);
  // FIRST_WORD stops before the end only at a space after the word (there is no LF).
  const word = first[0].length < text.length ? "after" : first[1] === "" ? "before" : "in";
  return w === "more" ? { until: "line-end", word, at: skip + MAX_HTTP_HEAD } : w;
}

/** Control bytes, but for the whitespace of SPACES (and LF, a line's end). */
const CONTROL = /[\x00-\x08\x0e-\x1b\x7f]/;

/**
 * What some server takes for the space between a request line's words, and skips before it: RFC
 * 9112 3's lenient whitespace, and what Python's str.split() splits latin-1 text on
 * (BaseHTTPRequestHandler), \x1c-\x1f, \x85 and \xa0 included.
 */
const SPACES = /[ \t\v\f\r\x1c-\x1f\x85\xa0]+/;
const FIRST_WORD = /^[ \t\v\f\r\x1c-\x1f\x85\xa0]*([^ \t\v\f\r\x1c-\x1f\x85\xa0\n]*)/;
/** A protocol version as a request line's last word: HTTP/1.1, and RTSP/1.0 or ICE/1.0, which
 * llhttp also serves. */
const VERSION = /^(HTTP|RTSP|ICE)\/\d+(\.\d+)?$/i;
const NAMES_VERSION = /(HTTP|RTSP|ICE)\/\d/i;
/** RFC 9110's methods and PATCH, in whatever case a lenient server takes them (an HTTP/0.9 line
 * has no version to tell it is HTTP: its method does). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const H2_HEADERS = 0x1;
const H2_CONTINUATION = 0x9;
const H2_END_HEADERS = 0x4;
/** Frames a client may send before its first request: SETTINGS, WINDOW_UPDATE, PRIORITY, PING. */
const H2_BEFORE_REQUEST = new Set([0x4, 0x8, 0x2, 0x6]);

/**
 * Where a walk over an h2c start's frames stands: `p`, the next frame's offset; `inBlock`, inside
 * the first request's header block; `passable`, the end of the frames before it (they carry no name).
 */
type H2Walk = { p: number; inBlock: boolean; passable: number };

const h2Start = (): H2Walk => ({ p: H2_PREFACE.length, inBlock: false, passable: H2_PREFACE.length });

/**
 * Walks on over the whole frames of an h2c start (`buf` begins with the preface) from where `walk`
 * stands, advancing it, until one gives the answer; "more" when none has yet. Each frame is looked at
 * once however many reads bring the start (StartReader keeps the walk between them).
 */
function h2Walk(buf: Buffer, walk: H2Walk): FirstWord | "more" {
  const tooLong: FirstWord = { kind: "bad", why: `an HTTP/2 start longer than ${MAX_HTTP_HEAD} bytes before its first request` };
  for (let p = walk.p; p + 9 <= buf.length; p = walk.p) {
    const end = p + 9 + buf.readUIntBE(p, 3);
    if (end > MAX_HTTP_HEAD) return tooLong;
    if (end > buf.length) return "more";
    const type = buf[p + 3]!;
    if (walk.inBlock ? type !== H2_CONTINUATION : type !== H2_HEADERS && !H2_BEFORE_REQUEST.has(type)) {
      return { kind: "bad", why: "an HTTP/2 start whose first request is not a whole header block" };
    }
    if (type === H2_HEADERS || type === H2_CONTINUATION) {
      if ((buf[p + 4]! & H2_END_HEADERS) !== 0) return { kind: "h2", start: buf.subarray(0, end) };
      walk.inBlock = true;
    } else walk.passable = end;
    walk.p = end;
  }
  return buf.length < MAX_HTTP_HEAD ? "more" : tooLong;
}

/**
 * Whether a server's first bytes begin an HTTP/2 SETTINGS frame (its connection preface): type 4,
 * no flags, stream 0, a length that is a whole number of settings. "more" while they are fewer than
 * the frame's 9-byte header and could still begin one.
 */
function h2Settings(b: Buffer): boolean | "more" {
  for (let i = 3; i < Math.min(b.length, 9); i++) if (b[i] !== (i === 3 ? 0x4 : 0)) return false;
  if (b.length >= 3 && b.readUIntBE(0, 3) % 6 !== 0) return false;
  return b.length < 9 ? "more" : true;
}

/**
 * How many of an h2c start's first bytes carry no name and may go to the server before the first
 * request is read: the preface and the whole frames before the first HEADERS (0 for anything else).
 */
export function h2Passable(buf: Buffer): number {
  if (buf.length < H2_PREFACE.length || !buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) return 0;
  const walk = h2Start();
  h2Walk(buf, walk);
  return walk.passable;
}

/**
 * The names an h2c start's first request gives (:authority and Host), decoded by node:http2 (HPACK):
 * the start is fed to a server session that writes nowhere, then its end; the session either shows
 * the request or closes without one (a malformed start, two :authority fields).
 */
export function h2Hosts(start: Buffer): Promise<FirstWord> {
  return new Promise((resolve) => {
    const server = http2.createServer();
    const wire = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    let done = false;
    const finish = (w: FirstWord): void => {
      if (done) return;
      done = true;
      resolve(w);
      wire.destroy();
    };
    server.on("session", (s: http2.ServerHttp2Session) => {
      s.on("error", () => {});
      s.on("close", () => finish({ kind: "bad", why: "an HTTP/2 start whose first request could not be read" }));
    });
    server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      stream.on("error", () => {});
      const names = [headers[":authority"], headers.host].filter((v): v is string => typeof v === "string");
      if (names.some((n) => n.includes("@"))) finish({ kind: "bad", why: "an HTTP/2 request whose :authority or Host names a user" });
      else finish({ kind: "http", hosts: names.map(authorityHost) });
    });
    server.on("sessionError", () => {});
    server.emit("connection", wire);
    wire.push(start);
    wire.push(null);
  });
}

function tlsFirst(buf: Buffer): FirstWord | Wait {
  if (buf.length < 5) return { until: "length", at: 5 };
  const len = buf.readUInt16BE(3);
  if (len > MAX_TLS_RECORD) return { kind: "bad", why: "a TLS record longer than TLS allows" };
  if (buf.length < 5 + len) return { until: "length", at: 5 + len };
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

/**
 * A start that may be HTTP (`text`: its first MAX_HTTP_HEAD bytes, `nl`: where its first line ends, or -1).
 * The first line decides whether it is HTTP at all (`GET key` is also Redis's inline command): a
 * line that names an HTTP version anywhere is HTTP, read as leniently as the most lenient server
 * would (words split on any whitespace), or refused when it cannot be; a method and a path or
 * absolute target alone is HTTP/0.9 (nginx and Apache serve it); any other line is another
 * protocol. A start with no line end within MAX_HTTP_HEAD bytes is refused: a server with a large
 * enough limit could still read it as a request.
 */
function httpFirst(buf: Buffer, text: string, nl: number, ended: boolean): FirstWord | "more" {
  const words = (nl < 0 ? text : text.slice(0, nl)).split(SPACES).filter((w) => w !== "");
  if (nl < 0) {
    if (ended) return words.some((w) => NAMES_VERSION.test(w)) || METHODS.has(words[0]?.toUpperCase() ?? "") ? { kind: "bad", why: "an HTTP request line without its end" } : { kind: "other" };
    return buf.length < MAX_HTTP_HEAD ? "more" : { kind: "bad", why: `a first line longer than ${MAX_HTTP_HEAD} bytes` };
  }
  if (!words.some((w) => NAMES_VERSION.test(w))) {
    const target = words[1] ?? "";
    const simple = words.length === 2 && METHODS.has(words[0]!.toUpperCase()) && (target.startsWith("/") || ABSOLUTE.test(target));
    return simple ? targetWord(target, []) : { kind: "other" };
  }
  if (words.length !== 3 || !VERSION.test(words[2]!)) return { kind: "bad", why: "an HTTP request line that is not method, target and version" };
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0) return buf.length < MAX_HTTP_HEAD ? "more" : { kind: "bad", why: `an HTTP request head longer than ${MAX_HTTP_HEAD} bytes` };
  const fields = text.slice(nl + 1, end);
  // A bare CR ends a line for some parsers (Python's email parser), a folded line (obs-fold)
  // continues the field above it for others: either could show a server a Host not seen here.
  if (/\r(?!\n)/.test(fields)) return { kind: "bad", why: "an HTTP request head with a bare CR" };
  const lines = fields === "" ? [] : fields.split(/\r?\n/);
  if (lines.some((l) => /^[ \t]/.test(l))) return { kind: "bad", why: "an HTTP request head with a folded line" };
  const hostHeaders = lines.filter((l) => /^host[ \t]*:/i.test(l));
  if (hostHeaders.length > 1) return { kind: "bad", why: "an HTTP request with two Host headers" };
  const host = hostHeaders[0]?.replace(/^host[ \t]*:/i, "").trim();
  if (host?.includes("@")) return { kind: "bad", why: "an HTTP Host header naming a user" };
  return targetWord(words[1]!, host === undefined ? [] : [authorityHost(host)]);
}

/**
 * An HTTP request whose target is `target`, with `hosts` named elsewhere (its Host header). The
 * target names a host in absolute form (its authority, a user in it dropped as servers drop it) and
 * in authority form (CONNECT's, and whatever else is neither a path nor `*`: read as an authority,
 * refused when it names a user, or refused by mismatch).
 */
function targetWord(target: string, hosts: string[]): FirstWord {
  const abs = ABSOLUTE.exec(target);
  if (abs !== null) return { kind: "http", hosts: [authorityHost(abs[1]!), ...hosts] };
  if (target.startsWith("/") || target === "*") return { kind: "http", hosts };
  if (target.includes("@")) return { kind: "bad", why: "an HTTP request target naming a user" };
  return { kind: "http", hosts: [authorityHost(target), ...hosts] };
}

/** An absolute-form target's authority. */
const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

/**
 * Why a connection allowed for `host` must not go on, or null when its first bytes fit it. A TLS or
 * HTTP start that names no host is refused too: the server would answer it for its default name,
 * on a shared server someone else's (red team 7); every client that connects by name names it.
 */
export function mismatch(w: FirstWord, host: string): string | null {
  const h = normalName(host);
  if (w.kind === "bad") return `${w.why}, on a connection allowed for ${h}`;
  if (w.kind === "h2") return `an HTTP/2 request whose names were not read, on a connection allowed for ${h}`;
  if (w.kind === "tls" && w.sni === null) return `the TLS handshake names no server (server_name), on a connection allowed for ${h}`;
  if (w.kind === "tls" && w.sni !== h) return `the TLS handshake names ${w.sni}, not ${h} that the connection is allowed for`;
  if (w.kind === "http") {
    if (w.hosts.length === 0) return `the HTTP request names no host (Host), on a connection allowed for ${h}`;
    const other = w.hosts.find((x) => x !== h);
    if (other !== undefined) return `the HTTP request names ${other}, not ${h} that the connection is allowed for`;
  }
  return null;
}

/**
 * What the name check has examined, over every connection of this process: `reads`, how many times
 * it was given a client's bytes; `examined`, how many bytes it looked at for them. Kept so that tests
 * and benches can see that one start costs work linear in its length, whatever its reads' sizes.
 */
export const firstBytesWork = { reads: 0, examined: 0 };

/** What a byte is to the first line's scan: its end, a space between words, a control byte, or
 * part of a word (from the patterns classifyFirst reads the line with). */
const LF = 0;
const SPACE = 1;
const CTRL = 2;
const WORD = 3;
const BYTE_CLASS = Uint8Array.from({ length: 256 }, (_, b) => {
  const c = String.fromCharCode(b);
  return c === "\n" ? LF : SPACES.test(c) ? SPACE : CONTROL.test(c) ? CTRL : WORD;
});

/**
 * A connection's start as its reads bring it: what classifyFirst says of all of it so far, at the
 * cost of reading it whole a bounded number of times however small the reads (a client sending 64
 * KiB a byte at a time would otherwise have the event loop, which also runs the JSON-RPC proxy,
 * examine about 2 GB). classifyFirst says where a start that is not whole stands (Wait); the bytes
 * that come are then looked at once each, only for what could change its answer (a record's end,
 * an LF, a byte that leaves the preface, a control byte in the first word, 64 KiB), and the start is
 * read whole again only then. An h2c start's frames are walked once each, the walk kept between
 * reads. A Wait that let a read pass whose start classifyFirst answers would hold the connection
 * until the idle timeout, or miss a refusal: first-bytes-cost.test.ts checks every prefix.
 */
export class StartReader {
  private wait: Wait | null = null;
  /** How much of the start the wait has been held against. */
  private seen = 0;

  /** The answer for `start` (what was given before, and what came since), `ended` if the client
   * half-closed after it. */
  read(start: Buffer, ended = false): FirstWord | "more" {
    firstBytesWork.reads++;
    const w = this.wait;
    if (w !== null && !ended) {
      firstBytesWork.examined += start.length - this.seen;
      const from = this.seen;
      this.seen = start.length;
      if (w.until === "frames") return h2Walk(start.subarray(w.skip), w.walk);
      if (!due(w, start, from)) return "more";
    }
    firstBytesWork.examined += start.length;
    const r = firstOf(start, ended);
    this.seen = start.length;
    if (!("until" in r)) return r;
    this.wait = r;
    return "more";
  }

  /** How many of the start's first bytes carry no name and may go on (h2Passable). */
  get passable(): number {
    return this.wait?.until === "frames" && this.wait.skip === 0 ? this.wait.walk.passable : 0;
  }
}

/** Whether bytes `from` on of `start` could change the answer of a start that stood at `w`
 * (advancing the scan of the first word). */
function due(w: Exclude<Wait, { until: "frames" }>, start: Buffer, from: number): boolean {
  if (start.length >= w.at) return true;
  switch (w.until) {
    case "length":
      return false;
    case "not-crlf":
      for (let i = from; i < start.length; i++) if (start[i] !== 0x0d && start[i] !== 0x0a) return true;
      return false;
    case "preface":
      for (let i = from; i < start.length; i++) if (start[i] !== H2_PREFACE[i - w.skip]) return true;
      return false;
    case "line-end":
      for (let i = from; i < start.length; i++) {
        const c = BYTE_CLASS[start[i]!];
        if (c === LF || (c === CTRL && w.word !== "after")) return true;
        if (c === WORD && w.word === "before") w.word = "in";
        else if (c === SPACE && w.word === "in") w.word = "after";
      }
      return false;
    case "head-end":
      for (let i = from; i < start.length; i++) {
        if (start[i] === 0x0a && (start[i - 1] === 0x0a || (start[i - 1] === 0x0d && start[i - 2] === 0x0a))) return true;
      }
      return false;
  }
}

/** `none`'s reason when the client half-closed without sending anything: relay as is. */
const CLIENT_SILENT = "the client closed without a word";

/** Who spoke first on a connection about to be relayed (see the top of this file). */
type FirstSpeaker =
  /** `passed`: how many of `data`'s first bytes already went to the upstream (an h2c preface). */
  | { from: "client"; data: Buffer; word: FirstWord; passed: number }
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
    // The client's bytes so far: `buf`'s first `len`, in a buffer that doubles when full (each byte
    // is copied a bounded number of times however small the reads are).
    let buf = Buffer.concat(seed);
    let len = buf.length;
    const append = (c: Buffer): void => {
      if (len + c.length > buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(2 * buf.length, len + c.length, 1024));
        buf.copy(grown, 0, 0, len);
        buf = grown;
      }
      c.copy(buf, len);
      len += c.length;
    };
    let passed = 0;
    let done = false;
    const finish = (r: FirstSpeaker): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.off("readable", onClient).off("end", onClientEnd).off("close", onClose).off("drain", onDrain);
      upstream.off("readable", onUpstream).off("close", onClose);
      resolve(r);
    };
    const reader = new StartReader();
    const classify = (ended: boolean): void => {
      const data = buf.subarray(0, len);
      const word = reader.read(data, ended);
      if (word !== "more") finish({ from: "client", data, word, passed });
      else if (ended) finish(data.length === 0 ? { from: "none", why: CLIENT_SILENT } : { from: "client", data, word: { kind: "bad", why: "an incomplete TLS or HTTP start before the client's end" }, passed });
      else {
        // An h2c start: what names nothing goes on now, and the server's answer comes back.
        const n = reader.passable;
        if (n > passed) {
          upstream.write(data.subarray(passed, n));
          passed = n;
          onUpstream();
        }
      }
    };
    const onClient = (): void => {
      for (let c: Buffer | null; (c = client.read() as Buffer | null) !== null; ) append(c);
      classify(false);
    };
    const onClientEnd = (): void => classify(true);
    // An h2c server sends its SETTINGS without waiting for the client's preface: that is not a
    // server-first protocol, the client's start is still awaited (and checked), and the server's
    // bytes go to the client meanwhile, only as fast as the client reads them (what it does not
    // take stays in the upstream's socket). Which it is takes the frame's 9-byte header, however
    // many reads bring it (or fewer bytes that rule SETTINGS out, or the server's end); bytes looked
    // at are put back, and looked at again only once more have come (`serverSeen`: each put-back
    // is announced as readable again).
    let serverH2 = false;
    let serverSeen = 0;
    let blocked = false;
    const onDrain = (): void => {
      blocked = false;
      onUpstream();
    };
    const onUpstream = (): void => {
      if (len === 0 && passed === 0 && !serverH2) {
        // read(9): null while fewer have come and more may; fewer once the server has ended.
        let c = upstream.read(9) as Buffer | null;
        const ended = c !== null && c.length < 9;
        if (c === null && upstream.readableLength > serverSeen) c = upstream.read() as Buffer | null;
        if (c === null) return;
        upstream.unshift(c);
        serverSeen = c.length;
        const settings = h2Settings(c);
        if (settings === "more" && !ended) return;
        if (settings !== true) return finish({ from: "upstream" });
        serverH2 = true;
      }
      if (!(passed > 0 || serverH2)) return;
      for (let c: Buffer | null; !blocked && (c = upstream.read() as Buffer | null) !== null; ) {
        if (!client.write(c)) {
          blocked = true;
          client.once("drain", onDrain);
        }
      }
    };
    const onClose = (): void => finish({ from: "none", why: "closed" });
    const timer = setTimeout(() => finish({ from: "none", why: "idle timeout" }), idleMs);
    client.on("readable", onClient).on("end", onClientEnd).on("close", onClose);
    upstream.on("readable", onUpstream).on("close", onClose);
    if (len > 0 || clientEnded) classify(clientEnded);
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
  const word = first.word.kind === "h2" ? await h2Hosts(first.word.start) : first.word;
  const why = mismatch(word, host);
  if (why !== null) return { go: false, refused: `mcp-j: ${why} (blocked)` };
  // What went back to the client while its h2c start was awaited is delivered before the relay
  // takes the socket (the native relay takes only a socket with nothing left to write).
  if (client.writableLength > 0 && !client.destroyed) await new Promise<void>((res) => client.once("drain", res).once("close", res));
  return { go: true, toUpstream: first.data.subarray(first.passed) };
}
