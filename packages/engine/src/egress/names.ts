// The addresses the jail's resolver hands out for allowed names, and what a connect() to them (or to
// an IP literal --allow-net names) is redirected for (docs/design.md, "Network").
//
// The resolver never resolves: an allowed name gets an address from NAME_RANGE, the same one for as
// long as the jail lives, and a connect() to it is redirected by the supervisor to the egress proxy,
// which maps the address back to the name and only then resolves it, on the host, with decide()
// (the same function as for CONNECT). So a name is resolved once, when it is used, and its real
// addresses are checked where they are connected to (no rebinding between a check and a use).
//
// The range is split into one block per distinct set of ports the allowlist gives a name, so that
// the supervisor, which sees only addresses, can refuse a port the name is not allowed on at the
// connect() itself (EACCES, named on stderr), from static tables. Which port sets exist is known
// from the allowlist alone: a name matches the host entries that name it exactly and the wildcard
// entries whose suffix it ends with; the wildcards it matches are those whose suffix ends the
// deepest one it matches. So each entry defines one class (itself, and the wildcards above it), and
// every name's port set is one class's.
import { Allowlist, type AllowEntry } from "./allowlist.js";
import { formatIpv4, normalizeIp, unmapIpv4, type NormalizedIp } from "./ip.js";
import type { NetRule } from "../jail/plan.js";
import { LOOPBACK_ADDRESSES, NAME_RANGE } from "./ranges.js";

export { NAME_RANGE } from "./ranges.js";

const RANGE_BASE = 0xc6120000; // 198.18.0.0
const RANGE_BITS = 32 - NAME_RANGE.prefix;
/** The smallest block (a /24): more distinct port sets than fit is a policy mcp-j refuses. */
const MIN_BLOCK_BITS = 8;
/** At most this many names are mapped at once (a bound on mcp-j's memory, ESCAPES 68). */
export const MAX_NAMES = 16_384;

/** Is ip inside NAME_RANGE (IPv4-mapped forms included)? */
export function inNameRange(ip: NormalizedIp): boolean {
  const a = unmapIpv4(ip) ?? ip;
  if (a.family !== 4) return false;
  return u32(a.bytes) >>> RANGE_BITS === RANGE_BASE >>> RANGE_BITS;
}

function u32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function ipv4(n: number): string {
  return formatIpv4(new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]));
}

function matchesName(e: AllowEntry, name: string): boolean {
  return (e.kind === "host" && e.host === name) || (e.kind === "wildcard" && name.length > e.suffix.length && name.endsWith(e.suffix));
}

/** The ports the allowlist gives name (a canonical host name), sorted; [] when no entry names it. */
export function namePorts(allow: Allowlist, name: string): number[] {
  const ports = new Set<number>();
  for (const e of allow.entries) if (matchesName(e, name)) for (const p of e.ports) ports.add(p);
  return [...ports].sort((a, b) => a - b);
}

/** One block of NAME_RANGE: the names whose port set is `ports`. */
export interface NameBlock {
  ports: readonly number[];
  /** First address (u32) and prefix length of the block. */
  first: number;
  prefix: number;
}

/** Thrown when the allowlist has more distinct port sets for names than the range can hold. */
export class NameRangeError extends Error {
  readonly code = "ENAMERANGE";
}

/** The blocks of NAME_RANGE for this allowlist, one per distinct port set a name can have. */
export function nameBlocks(allow: Allowlist): NameBlock[] {
  const sets = new Map<string, number[]>();
  const wildcardPorts = (suffix: string): number[] => {
    // The names below `suffix` that no host entry names: the wildcards whose suffix ends it.
    const ports = new Set<number>();
    for (const w of allow.entries) if (w.kind === "wildcard" && suffix.endsWith(w.suffix)) for (const p of w.ports) ports.add(p);
    return [...ports].sort((a, b) => a - b);
  };
  for (const e of allow.entries) {
    const ports = e.kind === "host" ? namePorts(allow, e.host) : e.kind === "wildcard" ? wildcardPorts(e.suffix) : null;
    if (ports === null) continue;
    sets.set(ports.join(","), ports);
  }
  const n = sets.size;
  if (n === 0) return [];
  let bits = 0;
  while (1 << bits < n) bits++;
  const blockBits = RANGE_BITS - bits;
  if (blockBits < MIN_BLOCK_BITS) {
    throw new NameRangeError(`--allow-net gives names ${n} different sets of ports; at most ${1 << (RANGE_BITS - MIN_BLOCK_BITS)} are supported`);
  }
  return [...sets.values()]
    .sort((a, b) => a.join(",").localeCompare(b.join(",")))
    .map((ports, i) => ({ ports, first: (RANGE_BASE + i * (1 << blockBits)) >>> 0, prefix: 32 - blockBits }));
}

/** The supervisor's redirect rules: each block on its ports, and each IP/CIDR entry on its own. */
export function redirectRules(allow: Allowlist, blocks: readonly NameBlock[]): NetRule[] {
  const rules: NetRule[] = [];
  const add = (address: string, prefix: number, ports: readonly number[]): void => {
    for (const p of ports) rules.push({ address, prefix, ports: [p, p], protocols: 1 /* Protocol.tcp */ });
  };
  for (const b of blocks) add(ipv4(b.first), b.prefix, b.ports);
  for (const e of allow.entries) {
    if (e.kind === "ip") add(e.ip.address, e.ip.family === 4 ? 32 : 128, e.ports);
    else if (e.kind === "cidr") add(e.ip.address, e.prefix, e.ports);
    else if (e.kind === "loopback") for (const a of LOOPBACK_ADDRESSES) add(a, a.includes(":") ? 128 : 32, e.ports);
  }
  return rules;
}

/** Addresses the allowlist names by their exact value (an "ip" entry): the only way a metadata
 * endpoint is reached (decide.ts), so the supervisor's metadata table leaves these out. */
export function exactAddresses(allow: Allowlist): Set<string> {
  const out = new Set<string>();
  for (const e of allow.entries) {
    if (e.kind === "ip") out.add(e.ip.address);
    if (e.kind === "cidr" && e.prefix === e.ip.bytes.length * 8) out.add(e.ip.address);
  }
  return out;
}

/**
 * The names the resolver has answered, and their addresses: stable for the jail's life, at most
 * MAX_NAMES of them. Addresses whose last byte is 0 or 255 are skipped (some programs treat them
 * as network or broadcast addresses).
 */
export class NameMap {
  private readonly byName = new Map<string, string>();
  private readonly byAddress = new Map<string, string>();
  private readonly next: number[];

  constructor(private readonly blocks: readonly NameBlock[]) {
    this.next = blocks.map((b) => b.first);
  }

  get size(): number {
    return this.byName.size;
  }

  /** The address of name (assigned now if it has none), in the block of its port set; null when
   * that block or the map is full, or no block has that port set. */
  assign(name: string, ports: readonly number[]): string | null {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    if (this.byName.size >= MAX_NAMES) return null;
    const key = ports.join(",");
    const i = this.blocks.findIndex((b) => b.ports.join(",") === key);
    if (i < 0) return null;
    const b = this.blocks[i]!;
    const end = b.first + 2 ** (32 - b.prefix);
    let n = this.next[i]!;
    while (n < end && ((n & 0xff) === 0 || (n & 0xff) === 0xff)) n++;
    if (n >= end) return null;
    this.next[i] = n + 1;
    const address = ipv4(n);
    this.byName.set(name, address);
    this.byAddress.set(address, name);
    return address;
  }

  /** The name an address was handed out for (any spelling normalizeIp accepts). */
  nameOf(address: string | NormalizedIp): string | undefined {
    const ip = typeof address === "string" ? normalizeIp(address) : address;
    if (ip === null) return undefined;
    return this.byAddress.get((unmapIpv4(ip) ?? ip).address);
  }
}

/** What the supervisor's tables need from an allowlist: the redirect rules, and the metadata
 * addresses it names exactly. Throws AllowParseError or NameRangeError (the policy is refused). */
export function redirectTables(raw: readonly string[]): { redirect: NetRule[]; metaAllowed: Set<string> } {
  const allow = Allowlist.parse(raw);
  return { redirect: redirectRules(allow, nameBlocks(allow)), metaAllowed: exactAddresses(allow) };
}
