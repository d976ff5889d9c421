// --allow-net HOST[:PORT] entries: parsing and matching.
//
//   api.github.com            exactly that name, ports 443 and 80
//   api.github.com:8443       exactly that name, port 8443
//   *.example.com             any subdomain (a.example.com, a.b.example.com), NOT example.com itself
//   203.0.113.7  [2001:db8::1]:443  10.0.0.0/8  [fd00::/8]:8080   an IP or CIDR (any IP spelling)
//   localhost:5432            the host's loopback (127.0.0.1 and ::1) on that port: "localhost" and
//                             its subdomains name loopback (RFC 6761), never anything a resolver says
//
// An IP or CIDR entry is the only way to reach a non-public address (loopback, private, link-local,
// ...): a name entry never does, whatever the name resolves to. Cloud metadata and unspecified
// addresses need an entry naming that exact address (/32, /128); no CIDR, however wide, covers them.
// IP/CIDR entries also allow connecting to that address as a literal (CONNECT 10.1.2.3:443); name
// entries allow names only, never IP literals. One name is the exception: `localhost` names this
// machine's loopback, which is what the user who writes it means (a host service the jail may use,
// issue 12 item 7): it admits the loopback addresses it resolves to, and 127.0.0.1 / ::1 as literals.
import { canonicalHostName, parsePort } from "./host.js";
import { InvalidIpError, formatIpv4, formatIpv6, normalizeIp, parseCidr, prefixMatch, unmapIpv4, type NormalizedIp } from "./ip.js";
import { isLocalhostName, LOOPBACK_ADDRESSES, NAME_RANGE } from "./ranges.js";

export const DEFAULT_PORTS: readonly number[] = [443, 80];

export type AllowEntry =
  | { kind: "host"; raw: string; host: string; ports: readonly number[] }
  | { kind: "wildcard"; raw: string; /** ".example.com" */ suffix: string; ports: readonly number[] }
  | { kind: "ip"; raw: string; ip: NormalizedIp; ports: readonly number[] }
  | { kind: "cidr"; raw: string; ip: NormalizedIp; prefix: number; ports: readonly number[] }
  | { kind: "loopback"; raw: string; ports: readonly number[] };

const RANGE_IP = normalizeIp(NAME_RANGE.address)!;

/** Is an address or network inside the range the jail's resolver draws names' addresses from? A
 * connect() there is always taken for a name (a wider network that holds the range is fine). */
function insideNameRange(ip: NormalizedIp, prefix: number): boolean {
  const a = unmapIpv4(ip) ?? ip;
  if (a.family !== 4) return false;
  const p = a === ip ? prefix : prefix - 96;
  return p >= NAME_RANGE.prefix && prefixMatch(a.bytes, RANGE_IP.bytes, NAME_RANGE.prefix);
}

/** A bad --allow-net entry. `message` names the entry: "\"http://x\" is not HOST[:PORT]". */
export class AllowParseError extends Error {
  readonly code = "EALLOWNET";
  readonly entry: string;
  readonly reason: string;
  constructor(entry: string, reason?: string) {
    super(`${JSON.stringify(entry)} is not HOST[:PORT]${reason ? `: ${reason}` : ""}`);
    this.name = "AllowParseError";
    this.entry = entry;
    this.reason = reason ?? "";
  }
}

function ports(raw: string, portText: string | undefined): readonly number[] {
  if (portText === undefined) return DEFAULT_PORTS;
  const p = parsePort(portText);
  if (p === null) throw new AllowParseError(raw, "the port must be a number from 1 to 65535");
  return [p];
}

function addressEntry(raw: string, addr: string, portText: string | undefined): AllowEntry {
  const ps = ports(raw, portText);
  try {
    if (addr.includes("/")) {
      const c = parseCidr(addr);
      if (c === null) throw new AllowParseError(raw);
      if (c.ip.zone !== undefined) throw new AllowParseError(raw, "a CIDR cannot have a zone");
      const net = c.ip.bytes.slice();
      const hostBits = !prefixMatch(net, maskTo(net, c.prefix), net.length * 8);
      if (hostBits) throw new AllowParseError(raw, `host bits are set (the network is ${formatNet(c.ip, c.prefix)})`);
      if (insideNameRange(c.ip, c.prefix)) throw new AllowParseError(raw, NAME_RANGE_TAKEN);
      return { kind: "cidr", raw, ip: c.ip, prefix: c.prefix, ports: ps };
    }
    const ip = normalizeIp(addr);
    if (ip === null) throw new AllowParseError(raw);
    if (insideNameRange(ip, ip.family === 4 ? 32 : 128)) throw new AllowParseError(raw, NAME_RANGE_TAKEN);
    return { kind: "ip", raw, ip: unmapIpv4(ip) ?? ip, ports: ps };
  } catch (e) {
    if (e instanceof InvalidIpError) throw new AllowParseError(raw, e.message.replace(/^".*?" /, ""));
    throw e;
  }
}

const NAME_RANGE_TAKEN = `${NAME_RANGE.address}/${NAME_RANGE.prefix} holds the addresses mcp-j's resolver hands out for allowed names`;

function maskTo(b: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0, bits = prefix; i < b.length && bits > 0; i++, bits -= 8) {
    out[i] = (b[i] as number) & (bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function formatNet(ip: NormalizedIp, prefix: number): string {
  const m = maskTo(ip.bytes, prefix);
  return `${ip.family === 4 ? formatIpv4(m) : formatIpv6(m)}/${prefix}`;
}

/** Parses one --allow-net entry. Throws AllowParseError naming the entry. */
export function parseAllowEntry(input: string): AllowEntry {
  const raw = input;
  const s = input.trim();
  if (s === "") throw new AllowParseError(raw, "it is empty");
  if (s.includes("://")) throw new AllowParseError(raw, "give a host, not a URL");
  if (/[\s@?#,]/.test(s)) throw new AllowParseError(raw);
  // [v6], [v6]:port, [v6/len], [v6/len]:port
  if (s.startsWith("[")) {
    const m = /^\[([^\]]+)\](?::([^:]*))?$/.exec(s);
    if (!m) throw new AllowParseError(raw);
    if (!(m[1] as string).includes(":")) throw new AllowParseError(raw, "brackets are for IPv6 addresses");
    return addressEntry(raw, m[1] as string, m[2]);
  }
  // Bare IPv6 (two or more colons): no port possible.
  if ((s.match(/:/g) ?? []).length >= 2) return addressEntry(raw, s, undefined);
  const colon = s.indexOf(":");
  const hostPart = colon >= 0 ? s.slice(0, colon) : s;
  const portText = colon >= 0 ? s.slice(colon + 1) : undefined;
  if (hostPart === "") throw new AllowParseError(raw, "the host is empty");
  if (hostPart.includes("/")) {
    if (!/^[0-9a-fA-FxX.]+\/[0-9]+$/.test(hostPart)) throw new AllowParseError(raw, "give a host, not a path");
    return addressEntry(raw, hostPart, portText);
  }
  if (hostPart.startsWith("*.")) {
    const rest = hostPart.slice(2);
    const name = canonicalHostName(rest);
    if (name === null) {
      if (normalizeIpQuiet(rest)) throw new AllowParseError(raw, "a wildcard needs a domain, not an IP address");
      throw new AllowParseError(raw, `"${rest}" is not a valid host name`);
    }
    return { kind: "wildcard", raw, suffix: `.${name}`, ports: ports(raw, portText) };
  }
  if (hostPart.includes("*")) throw new AllowParseError(raw, 'only a leading "*." wildcard is supported');
  const ipish = (() => {
    try {
      return normalizeIp(hostPart) !== null;
    } catch {
      return true; // ends in a number but malformed: addressEntry reports why
    }
  })();
  if (ipish) return addressEntry(raw, hostPart, portText);
  const name = canonicalHostName(hostPart);
  if (name === null) throw new AllowParseError(raw, `"${hostPart}" is not a valid host name`);
  if (isLocalhostName(name)) return { kind: "loopback", raw, ports: ports(raw, portText) };
  return { kind: "host", raw, host: name, ports: ports(raw, portText) };
}

const LOOPBACK_V6 = normalizeIp("::1") as NormalizedIp;

/** 127.0.0.0/8 or ::1 (IPv4-mapped forms unmapped by the caller). */
function isLoopback(a: NormalizedIp): boolean {
  return a.family === 4 ? a.bytes[0] === 127 : prefixMatch(a.bytes, LOOPBACK_V6.bytes, 128);
}

/** Whether an entry names a service on this machine's loopback (`localhost`, 127.x, ::1). */
export function namesLoopback(list: Allowlist): boolean {
  return list.entries.some((e) => e.kind === "loopback" || ((e.kind === "ip" || e.kind === "cidr") && isLoopback(unmapIpv4(e.ip) ?? e.ip)));
}

function normalizeIpQuiet(s: string): boolean {
  try {
    return normalizeIp(s) !== null;
  } catch {
    return true;
  }
}

/** A parsed --allow-net list. */
export class Allowlist {
  readonly entries: readonly AllowEntry[];

  constructor(entries: readonly AllowEntry[]) {
    this.entries = entries;
  }

  /** Parses every entry; the first bad one throws AllowParseError. */
  static parse(raw: readonly string[]): Allowlist {
    return new Allowlist(raw.map(parseAllowEntry));
  }

  /** The entry allowing host name `name` (canonical, see canonicalHostName) on `port`, if any. */
  matchName(name: string, port: number): AllowEntry | undefined {
    for (const e of this.entries) {
      if (!e.ports.includes(port)) continue;
      if (e.kind === "host" && e.host === name) return e;
      if (e.kind === "wildcard" && name.length > e.suffix.length && name.endsWith(e.suffix)) return e;
    }
    return undefined;
  }

  /**
   * The IP/CIDR entry explicitly allowing `ip` on `port`, if any. IPv4-mapped IPv6 is matched as the
   * IPv4 address. With `exactOnly`, only an entry naming that single address counts (/32, /128).
   */
  matchAddress(ip: NormalizedIp, port: number, exactOnly = false): AllowEntry | undefined {
    const a = unmapIpv4(ip) ?? ip;
    for (const e of this.entries) {
      if (!e.ports.includes(port)) continue;
      if (e.kind === "loopback") {
        if (LOOPBACK_ADDRESSES.includes(a.address)) return e;
      } else if (e.kind === "ip") {
        if (e.ip.family === a.family && prefixMatch(e.ip.bytes, a.bytes, a.bytes.length * 8)) return e;
      } else if (e.kind === "cidr") {
        if (e.ip.family !== a.family) continue;
        if (exactOnly && e.prefix !== a.bytes.length * 8) continue;
        if (prefixMatch(e.ip.bytes, a.bytes, e.prefix)) return e;
      }
    }
    return undefined;
  }
}
