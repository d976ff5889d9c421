// HTTP/1.x request heads as the egress proxy reads and rewrites them. Deliberately strict: CRLF
// line endings, token header names, no obs-fold, no ambiguous message framing. Whatever is accepted
// is re-serialized by the proxy, so the origin only ever sees heads the proxy itself wrote.

export interface RequestHead {
  method: string;
  target: string;
  version: "1.0" | "1.1";
  /** In order, names as written. */
  headers: Array<[string, string]>;
}

export class HeadError extends Error {
  readonly status: 400;
  constructor(message: string) {
    super(message);
    this.name = "HeadError";
    this.status = 400;
  }
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

/** Offset just past the blank line ending the head, or -1. `from` lets callers skip bytes already searched. */
export function findHeadEnd(buf: Buffer, from = 0): number {
  const i = buf.indexOf(CRLFCRLF, Math.max(0, from - 3));
  return i < 0 ? -1 : i + 4;
}

export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, SP, HTAB. No CR, LF, NUL or other controls.
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Parses a head (request line + header lines + blank line), given as latin1 text. */
export function parseRequestHead(text: string): RequestHead {
  if (!text.endsWith("\r\n\r\n")) throw new HeadError("incomplete request head");
  const lines = text.slice(0, -4).split("\r\n");
  const first = lines.shift() ?? "";
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/.exec(first);
  if (!m) throw new HeadError("malformed request line");
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    if (line.includes("\n") || line.includes("\r")) throw new HeadError("bare CR or LF in the head");
    if (line.startsWith(" ") || line.startsWith("\t")) throw new HeadError("obsolete line folding");
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HeadError("malformed header line");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HeadError("malformed header name");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!VALUE.test(value)) throw new HeadError(`bad characters in header ${name}`);
    headers.push([name, value]);
  }
  return { method: m[1] as string, target: m[2] as string, version: m[3] === "0" ? "1.0" : "1.1", headers };
}

export function headerValues(head: RequestHead, name: string): string[] {
  const n = name.toLowerCase();
  return head.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

// Hop-by-hop (RFC 9110 7.6.1) plus proxy credentials, which are for mcp-j, never the origin.
// Transfer-Encoding stays: the body is relayed byte for byte, so its framing must reach the origin.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade"]);

/**
 * Rejects heads whose body framing is ambiguous (request smuggling shapes): Content-Length together
 * with Transfer-Encoding, conflicting or non-numeric Content-Length, a Transfer-Encoding whose final
 * coding is not chunked.
 */
export function checkFraming(head: RequestHead): void {
  const cl = headerValues(head, "content-length").flatMap((v) => v.split(",").map((x) => x.trim()));
  const te = headerValues(head, "transfer-encoding");
  if (cl.length > 0 && te.length > 0) throw new HeadError("both Content-Length and Transfer-Encoding");
  if (cl.some((v) => !/^[0-9]{1,15}$/.test(v))) throw new HeadError("bad Content-Length");
  if (new Set(cl.map(Number)).size > 1) throw new HeadError("conflicting Content-Length");
  if (te.length > 0) {
    if (head.version === "1.0") throw new HeadError("Transfer-Encoding in an HTTP/1.0 request");
    const codings = te.join(",").split(",").map((x) => x.trim().toLowerCase());
    if (codings[codings.length - 1] !== "chunked") throw new HeadError("Transfer-Encoding does not end in chunked");
  }
}

/**
 * The head to send to the origin for an absolute-URI request: origin-form target, Host from the URI
 * (RFC 9112 3.2.2), hop-by-hop headers (and any named in Connection) and Proxy-* removed, and
 * `Connection: close` (the proxy relays one request per connection).
 */
export function forwardHead(head: RequestHead, pathAndQuery: string, hostHeader: string): string {
  const named = new Set<string>();
  for (const v of headerValues(head, "connection")) for (const t of v.split(",")) named.add(t.trim().toLowerCase());
  // The framing headers travel with the relayed body whatever Connection says.
  named.delete("content-length");
  named.delete("transfer-encoding");
  let out = `${head.method} ${pathAndQuery} HTTP/1.${head.version === "1.0" ? "0" : "1"}\r\nHost: ${hostHeader}\r\n`;
  for (const [k, v] of head.headers) {
    const l = k.toLowerCase();
    if (l === "host" || HOP_BY_HOP.has(l) || named.has(l) || l.startsWith("proxy-")) continue;
    out += `${k}: ${v}\r\n`;
  }
  return `${out}Connection: close\r\n\r\n`;
}

/** How a request's body is delimited (RFC 9112 6.3), once checkFraming has refused the ambiguous
 * cases: chunked, a Content-Length, or no body at all. */
export type BodyFraming = { kind: "chunked" } | { kind: "length"; length: number };

export function bodyFraming(head: RequestHead): BodyFraming {
  if (headerValues(head, "transfer-encoding").length > 0) return { kind: "chunked" };
  const cl = headerValues(head, "content-length")[0];
  return { kind: "length", length: cl === undefined ? 0 : Number(cl.split(",")[0]!.trim()) };
}

/** A chunk-size line or a trailer section longer than this is refused. */
const CHUNK_LINE_MAX = 4096;
const TRAILER_MAX = 16 * 1024;

/**
 * Where a request body ends in the bytes that follow its head, fed in any pieces: so that the
 * proxy forwards exactly one request and never what a client sends after it (a pipelined request
 * the proxy has not read). Chunked framing is followed to the last chunk and its trailer section,
 * strictly: CRLF line ends, hexadecimal sizes, bounded lines. A malformed body throws HeadError.
 */
export class BodyEnd {
  private readonly chunked: boolean;
  private state: "size" | "data" | "data-end" | "trailer" | "done";
  private remaining: number;
  private line = "";
  private trailerBytes = 0;

  constructor(framing: BodyFraming) {
    this.chunked = framing.kind === "chunked";
    this.state = this.chunked ? "size" : framing.kind === "length" && framing.length > 0 ? "data" : "done";
    this.remaining = framing.kind === "length" ? framing.length : 0;
  }

  get done(): boolean {
    return this.state === "done";
  }

  /** How many bytes at the start of `b` belong to the body (all of them until it ends). */
  take(b: Buffer): number {
    let i = 0;
    while (i < b.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.remaining, b.length - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = this.chunked ? "data-end" : "done";
        continue;
      }
      // A line: chunk size, the CRLF after a chunk's data, or a trailer field.
      const c = b[i++]!;
      if (c !== 0x0a) {
        this.line += String.fromCharCode(c);
        if (this.line.length > CHUNK_LINE_MAX) throw new HeadError("chunked body: line too long");
        continue;
      }
      if (!this.line.endsWith("\r")) throw new HeadError("chunked body: bare LF");
      const line = this.line.slice(0, -1);
      this.line = "";
      this.endOfLine(line);
    }
    return i;
  }

  private endOfLine(line: string): void {
    if (this.state === "data-end") {
      if (line !== "") throw new HeadError("chunked body: chunk data longer than its size");
      this.state = "size";
    } else if (this.state === "size") {
      const m = /^([0-9A-Fa-f]{1,12})[ \t]*(;[\t\x20-\x7e]*)?$/.exec(line);
      if (!m) throw new HeadError("chunked body: bad chunk size");
      this.remaining = parseInt(m[1]!, 16);
      this.state = this.remaining === 0 ? "trailer" : "data";
    } else if (this.state === "trailer") {
      this.trailerBytes += line.length + 2;
      if (this.trailerBytes > TRAILER_MAX) throw new HeadError("chunked body: trailer section too large");
      if (line === "") {
        this.state = "done";
        return;
      }
      // A trailer section is field lines (RFC 9112 7.1.2), held to what a head is held to: else
      // whatever follows the last chunk (a request head, a line a lenient parser ends at a bare CR)
      // would reach the origin as part of this request.
      const colon = line.indexOf(":");
      if (colon <= 0 || !TOKEN.test(line.slice(0, colon)) || /[\r\n\0]/.test(line)) throw new HeadError("chunked body: a trailer line that is not a field");
    }
  }
}
