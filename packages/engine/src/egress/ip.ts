// IP literal parsing and normalization for the egress proxy.
//
// Every host the proxy is asked for goes through `normalizeIp` before anything else: if it is an IP
// literal in *any* spelling a resolver or a URL parser would accept (decimal 2852039166, octal
// 0251.0376.0251.0376, hex 0xa9fea9fe, short forms 127.1 / 10.1.1, bracketed or zoned IPv6, IPv6 with
// an embedded dotted quad), it comes out as one canonical address, so that the allowlist and the
// address classifier only ever see canonical text. IPv4 follows the WHATWG URL "IPv4 parser" (the
// same rules as inet_aton(3), which getaddrinfo uses): a host whose last label is numeric IS an IPv4
// literal, and if it then fails to parse it is malformed, never a name to hand to the resolver.
// Pure functions, no I/O.

export type IpFamily = 4 | 6;

export interface NormalizedIp {
  family: IpFamily;
  /** Canonical text: dotted quad, or RFC 5952 lower-case compressed IPv6 (no zone, no brackets). */
  address: string;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  /** IPv6 scope zone ("eth0" from fe80::1%eth0), if one was given. */
  zone?: string;
}

/** Thrown for something that is evidently meant as an IP literal but is not a valid one. */
export class InvalidIpError extends Error {
  readonly input: string;
  constructor(input: string, why: string) {
    super(`"${input}" is not a valid IP address: ${why}`);
    this.name = "InvalidIpError";
    this.input = input;
  }
}

const HEX_RE = /^0[xX][0-9a-fA-F]*$/;
const OCT_RE = /^0[0-7]+$/;
const DEC_RE = /^(0|[1-9][0-9]*)$/;

/** WHATWG "ends in a number": the last (non-empty) dot-separated label is all digits or 0x-hex. */
export function endsInNumber(host: string): boolean {
  const parts = host.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  const last = parts[parts.length - 1] ?? "";
  if (last !== "" && /^[0-9]+$/.test(last)) return true;
  return /^0[xX][0-9a-fA-F]*$/.test(last);
}

function parseIpv4Number(part: string): number | null {
  if (part === "") return null;
  let n: number;
  if (HEX_RE.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  else if (OCT_RE.test(part)) n = parseInt(part.slice(1), 8);
  else if (DEC_RE.test(part)) n = parseInt(part, 10);
  else return null;
  // Anything past 2^32 is invalid whatever the position; parseInt keeps precision well past that.
  return Number.isFinite(n) ? n : null;
}

/** Parses an IPv4 literal in any inet_aton spelling. Returns null if `s` is not IPv4-shaped at all,
 * throws InvalidIpError if it is IPv4-shaped (ends in a number) but invalid. */
export function parseIpv4(s: string): Uint8Array | null {
  if (!endsInNumber(s)) return null;
  const parts = s.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length > 4) throw new InvalidIpError(s, "more than four parts");
  const nums: number[] = [];
  for (const p of parts) {
    const n = parseIpv4Number(p);
    if (n === null) throw new InvalidIpError(s, `"${p}" is not a number`);
    nums.push(n);
  }
  for (let i = 0; i < nums.length - 1; i++) {
    if ((nums[i] as number) > 255) throw new InvalidIpError(s, "a part exceeds 255");
  }
  const last = nums[nums.length - 1] as number;
  if (last >= 256 ** (5 - nums.length)) throw new InvalidIpError(s, "out of range");
  let value = last;
  for (let i = 0; i < nums.length - 1; i++) value += (nums[i] as number) * 256 ** (3 - i);
  return new Uint8Array([(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

/** Strict dotted quad (as embedded in IPv6 text): four decimal parts 0-255, no leading zeros. */
function parseStrictDottedQuad(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parses IPv6 text (no brackets). Returns null if it has no colon; throws if it has one but is not valid. */
export function parseIpv6(input: string): { bytes: Uint8Array; zone?: string } | null {
  if (!input.includes(":")) return null;
  let s = input;
  let zone: string | undefined;
  const pct = s.indexOf("%");
  if (pct >= 0) {
    zone = s.slice(pct + 1);
    s = s.slice(0, pct);
    // "%25" is how URLs spell the separator (RFC 6874).
    if (zone.startsWith("25") && input.includes("%25")) zone = zone.slice(2);
    if (!/^[A-Za-z0-9_.\-]+$/.test(zone)) throw new InvalidIpError(input, "bad zone");
  }
  const bad = (why: string): never => {
    throw new InvalidIpError(input, why);
  };
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) bad('more than one "::"');
  const words: number[] = [];
  let tail4: Uint8Array | null = null;
  const parseSide = (side: string, isLastSide: boolean): number[] => {
    if (side === "") return [];
    const groups = side.split(":");
    const out: number[] = [];
    groups.forEach((g, i) => {
      if (isLastSide && i === groups.length - 1 && g.includes(".")) {
        tail4 = parseStrictDottedQuad(g);
        if (tail4 === null) bad(`"${g}" is not a dotted quad`);
        return;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) bad(`"${g}" is not a 16-bit hex group`);
      out.push(parseInt(g, 16));
    });
    return out;
  };
  let head: number[];
  let tail: number[];
  if (dbl >= 0) {
    head = parseSide(s.slice(0, dbl), false);
    tail = parseSide(s.slice(dbl + 2), true);
  } else {
    head = parseSide(s, true);
    tail = [];
  }
  const t4 = tail4 as Uint8Array | null;
  const explicit = head.length + tail.length + (t4 ? 2 : 0);
  if (dbl >= 0) {
    if (explicit > 7) bad("too many groups");
    words.push(...head, ...new Array<number>(8 - explicit).fill(0), ...tail);
  } else {
    if (explicit !== 8) bad("wrong number of groups");
    words.push(...head);
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < words.length; i++) {
    bytes[i * 2] = ((words[i] as number) >> 8) & 255;
    bytes[i * 2 + 1] = (words[i] as number) & 255;
  }
  if (t4) bytes.set(t4, 12);
  return zone === undefined ? { bytes } : { bytes, zone };
}

export function formatIpv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952: lower case, no leading zeros, longest run (>= 2) of zero groups as "::" (first if tied).
 * IPv4-mapped (::ffff:0:0/96) keeps its conventional dotted tail so logs read "::ffff:169.254.169.254". */
export function formatIpv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(((b[i * 2] as number) << 8) | (b[i * 2 + 1] as number));
  const mapped = w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff;
  if (mapped) return `::ffff:${formatIpv4(b.subarray(12, 16))}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestStart < 0) return w.map(hex).join(":");
  const left = w.slice(0, bestStart).map(hex).join(":");
  const right = w.slice(bestStart + bestLen).map(hex).join(":");
  return `${left}::${right}`;
}

/**
 * Normalizes an IP literal in any accepted spelling, with or without [brackets] (and an optional
 * trailing dot for IPv4). Returns null when `s` is not an IP literal (a host name); throws
 * InvalidIpError when it evidently is one but is malformed (e.g. "1.2.3.256", "0x1.09").
 */
export function normalizeIp(s: string): NormalizedIp | null {
  let t = s.trim();
  if (t.startsWith("[") && t.endsWith("]")) {
    t = t.slice(1, -1);
    const v6 = parseIpv6(t);
    if (v6 === null) throw new InvalidIpError(s, "brackets hold no IPv6 address");
    return v6Result(v6.bytes, v6.zone);
  }
  const v6 = parseIpv6(t);
  if (v6 !== null) return v6Result(v6.bytes, v6.zone);
  const v4 = parseIpv4(t);
  if (v4 !== null) return { family: 4, address: formatIpv4(v4), bytes: v4 };
  return null;
}

function v6Result(bytes: Uint8Array, zone: string | undefined): NormalizedIp {
  const r: NormalizedIp = { family: 6, address: formatIpv6(bytes), bytes };
  if (zone !== undefined) r.zone = zone;
  return r;
}

/** Like normalizeIp but never throws: null for names and malformed literals alike. */
export function tryNormalizeIp(s: string): NormalizedIp | null {
  try {
    return normalizeIp(s);
  } catch {
    return null;
  }
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for; null otherwise. */
export function unmapIpv4(ip: NormalizedIp): NormalizedIp | null {
  if (ip.family !== 6) return null;
  const b = ip.bytes;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return null;
  if (b[10] !== 0xff || b[11] !== 0xff) return null;
  const v4 = b.slice(12, 16);
  return { family: 4, address: formatIpv4(v4), bytes: v4 };
}

/** Whether the first `prefix` bits of a and b agree (same length arrays). */
export function prefixMatch(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  let bits = prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((a[i] as number) & mask) !== ((b[i] as number) & mask)) return false;
  }
  return true;
}

/** Parses "a.b.c.d/len" or "v6/len" (canonical spellings only for the address part). */
export function parseCidr(s: string): { ip: NormalizedIp; prefix: number } | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  const ip = normalizeIp(addr);
  if (ip === null) throw new InvalidIpError(s, "the network is not an IP address");
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len)) throw new InvalidIpError(s, "bad prefix length");
  const prefix = Number(len);
  const max = ip.family === 4 ? 32 : 128;
  if (prefix > max) throw new InvalidIpError(s, `prefix length exceeds ${max}`);
  return { ip, prefix };
}
