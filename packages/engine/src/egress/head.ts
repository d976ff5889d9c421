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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
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
