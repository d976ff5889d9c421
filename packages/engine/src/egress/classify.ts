// Address classification: which destinations the egress proxy refuses unless the user allowed that
// exact IP (or a CIDR holding it) with --allow-net. Only "public" addresses are reachable by name.
//
// IPv6 forms that carry an IPv4 address to a translator or tunnel (IPv4-mapped ::ffff:0:0/96,
// IPv4-compatible ::/96, SIIT ::ffff:0:0:0/96, NAT64 64:ff9b::/96 and the local-use 64:ff9b:1::/48,
// 6to4 2002::/16) are classified as the IPv4 address they carry, so [::ffff:a9fe:a9fe] and
// [64:ff9b::a9fe:a9fe] are "metadata" exactly like 169.254.169.254. IPv6 outside 2000::/3 (global
// unicast) is never public. Pure functions, no I/O.
import { formatIpv4, normalizeIp, prefixMatch, type NormalizedIp } from "./ip.js";
import { METADATA_ADDRESSES } from "./metadata.js";

export type AddressKind =
  | "public"
  | "metadata"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "documentation"
  | "reserved";

export type Embedding = "ipv4-mapped" | "ipv4-compatible" | "ipv4-translated" | "nat64" | "nat64-local" | "6to4";

export interface AddressClass {
  kind: AddressKind;
  /** Canonical text of the classified address. */
  address: string;
  family: 4 | 6;
  /** True for every kind except "public". */
  blocked: boolean;
  /** When an IPv6 address was classified by the IPv4 address it embeds. */
  embedded?: { via: Embedding; ipv4: string };
  /** Human description, e.g. "a cloud metadata address". */
  description: string;
  /** Which range matched, e.g. "169.254.0.0/16" (for logs and tests). */
  range: string;
}

const DESCRIPTIONS: Record<AddressKind, string> = {
  public: "a public address",
  metadata: "a cloud metadata address",
  loopback: "a loopback address",
  private: "a private address",
  "link-local": "a link-local address",
  cgnat: "a carrier-grade NAT (shared) address",
  unspecified: "an unspecified address",
  multicast: "a multicast address",
  broadcast: "the broadcast address",
  documentation: "a documentation address",
  reserved: "a reserved address",
};

/**
 * Kinds the proxy connects to once a name resolves there. Documentation ranges (TEST-NET-1/2/3,
 * 2001:db8::/32) are not routed on the internet, so a public name resolving into one says that the
 * local network uses them for real hosts (seen on our CI machines, where the npm registry resolves
 * into 203.0.113.0/24): they lead to no internal service that the other classes protect.
 */
const ROUTABLE: ReadonlySet<AddressKind> = new Set<AddressKind>(["public", "documentation"]);

interface Range {
  net: Uint8Array;
  prefix: number;
  kind: AddressKind;
  text: string;
}

function range(cidr: string, kind: AddressKind): Range {
  const [a, p] = cidr.split("/") as [string, string];
  const ip = normalizeIp(a);
  if (ip === null) throw new Error(`bad built-in range ${cidr}`);
  return { net: ip.bytes, prefix: Number(p), kind, text: cidr };
}

function metadataRanges(family: 4 | 6): Range[] {
  return METADATA_ADDRESSES.filter((m) => normalizeIp(m.address)?.family === family).map((m) => range(`${m.address}/${family === 4 ? 32 : 128}`, "metadata"));
}

// Order matters: the first match wins, so specific entries (metadata) precede their enclosing ranges.
const V4: Range[] = [
  // Cloud metadata / platform endpoints that hand out credentials (metadata.ts). Exact addresses.
  ...metadataRanges(4),
  range("255.255.255.255/32", "broadcast"),
  range("0.0.0.0/8", "unspecified"), // "this network"; connect(0.0.0.0) reaches the host itself
  range("10.0.0.0/8", "private"),
  range("100.64.0.0/10", "cgnat"),
  range("127.0.0.0/8", "loopback"),
  range("169.254.0.0/16", "link-local"),
  range("172.16.0.0/12", "private"),
  range("192.0.0.0/24", "reserved"), // IETF protocol assignments
  range("192.0.2.0/24", "documentation"),
  range("192.88.99.0/24", "reserved"), // deprecated 6to4 relay anycast
  range("192.168.0.0/16", "private"),
  range("198.18.0.0/15", "reserved"), // benchmarking
  range("198.51.100.0/24", "documentation"),
  range("203.0.113.0/24", "documentation"),
  range("224.0.0.0/4", "multicast"),
  range("240.0.0.0/4", "reserved"),
];

const V6: Range[] = [
  ...metadataRanges(6),
  range("::/128", "unspecified"),
  range("::1/128", "loopback"),
  range("100::/64", "reserved"), // discard-only
  range("2001:db8::/32", "documentation"),
  range("2001::/23", "reserved"), // IETF protocol assignments, incl. Teredo 2001::/32 and benchmarking
  range("3fff::/20", "documentation"),
  range("fc00::/7", "private"), // unique local
  range("fe80::/10", "link-local"),
  range("fec0::/10", "private"), // deprecated site-local
  range("ff00::/8", "multicast"),
];
const V6_GLOBAL = range("2000::/3", "public");

function describe(kind: AddressKind): string {
  return DESCRIPTIONS[kind];
}

function classifyV4(bytes: Uint8Array): { kind: AddressKind; range: string } {
  for (const r of V4) if (prefixMatch(bytes, r.net, r.prefix)) return { kind: r.kind, range: r.text };
  return { kind: "public", range: "0.0.0.0/0" };
}

/** The IPv4 address an IPv6 address carries to a translator/tunnel, if any. */
export function embeddedIpv4(b: Uint8Array): { via: Embedding; bytes: Uint8Array } | null {
  const zero = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (b[i] !== 0) return false;
    return true;
  };
  const tail = b.slice(12, 16);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return { via: "ipv4-mapped", bytes: tail };
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return { via: "ipv4-translated", bytes: tail };
  // ::a.b.c.d (deprecated IPv4-compatible); :: and ::1 themselves are handled as v6 ranges.
  if (zero(0, 12) && !(zero(12, 15) && (b[15] === 0 || b[15] === 1))) return { via: "ipv4-compatible", bytes: tail };
  // 64:ff9b::/96 well-known NAT64 prefix (RFC 6052).
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return { via: "nat64", bytes: tail };
  // 64:ff9b:1::/48 local-use NAT64 (RFC 8215): the prefix length is site-specific; RFC 6052 /96
  // layout assumed for the message; the whole /48 is non-public regardless (see classifyAddress).
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b[4] === 0 && b[5] === 1) return { via: "nat64-local", bytes: tail };
  // 2002:AABB:CCDD::/48 6to4: the IPv4 address of the tunnel end point.
  if (b[0] === 0x20 && b[1] === 0x02) return { via: "6to4", bytes: b.slice(2, 6) };
  return null;
}

/**
 * Classifies an address (any spelling normalizeIp accepts, or a NormalizedIp). Throws InvalidIpError
 * for a malformed literal and a TypeError for a host name.
 */
export function classifyAddress(ip: string | NormalizedIp): AddressClass {
  const n = typeof ip === "string" ? normalizeIp(ip) : ip;
  if (n === null) throw new TypeError(`"${String(ip)}" is a host name, not an IP address`);
  const make = (kind: AddressKind, rng: string, embedded?: AddressClass["embedded"]): AddressClass => {
    const c: AddressClass = { kind, address: n.address, family: n.family, blocked: !ROUTABLE.has(kind), description: describe(kind), range: rng };
    if (embedded) c.embedded = embedded;
    return c;
  };
  if (n.family === 4) {
    const r = classifyV4(n.bytes);
    return make(r.kind, r.range);
  }
  for (const r of V6) if (prefixMatch(n.bytes, r.net, r.prefix)) return make(r.kind, r.text);
  const emb = embeddedIpv4(n.bytes);
  if (emb) {
    const inner = classifyV4(emb.bytes);
    const e = { via: emb.via, ipv4: formatIpv4(emb.bytes) };
    if (emb.via === "nat64-local" && inner.kind === "public") return make("private", "64:ff9b:1::/48", e);
    if (emb.via === "6to4" && inner.kind === "public") return make("public", "2002::/16", e);
    if (emb.via === "nat64" && inner.kind === "public") return make("public", "64:ff9b::/96", e);
    // Mapped, translated and compatible forms are the IPv4 address itself; anything carrying a
    // non-public IPv4 address is that address.
    return make(inner.kind, inner.range, e);
  }
  if (prefixMatch(n.bytes, V6_GLOBAL.net, V6_GLOBAL.prefix)) return make("public", "2000::/3");
  return make("reserved", "::/0 outside 2000::/3");
}
