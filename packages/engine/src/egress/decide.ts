// The egress decision for one (host, port): allowlist, resolution, address checks. Returns the exact
// addresses the proxy may connect to; the proxy connects to those and never resolves again, so a
// name cannot change its answer between the check and the connect (DNS rebinding).
//
//   IP literal (any spelling)  -> normalized; allowed only by an IP/CIDR entry. A non-public literal
//                                 without one is refused naming its class ("... is a cloud metadata
//                                 address (blocked)"); a public one is "not allowed by --allow-net".
//   host name                  -> must match a name entry, else refused WITHOUT resolving it (no DNS
//                                 look-up, hence no DNS exfiltration, for names the user did not
//                                 allow). Then resolved once; if ANY answer is non-public and not
//                                 explicitly allowed by an IP/CIDR entry, the whole name is refused.
//   localhost, *.localhost     -> 127.0.0.1 and ::1 (RFC 6761), never resolved: each is reached only
//                                 where an entry allows it (--allow-net localhost:PORT, 127.0.0.1:PORT).
import type { Allowlist, AllowEntry } from "./allowlist.js";
import { isLocalhostName, LOOPBACK_ADDRESSES } from "./ranges.js";
import { classifyAddress, type AddressClass, type AddressKind } from "./classify.js";
import { canonicalHostName } from "./host.js";
import { InvalidIpError, normalizeIp, unmapIpv4, type NormalizedIp } from "./ip.js";

/** name-mismatch: the connection's TLS server_name or HTTP Host names another host (first-bytes.ts). */
export type DenyReason = "not-allowed" | "blocked-address" | "invalid-host" | "name-mismatch";

export type Decision =
  | {
      ok: true;
      /** Canonical host: a lower-case name, or the canonical IP text for literals. */
      host: string;
      port: number;
      literal: boolean;
      /** Checked addresses in connect order (IPv4-mapped forms already unmapped). */
      addresses: NormalizedIp[];
      /** The --allow-net entry that admitted the name or literal. */
      rule: string;
    }
  | {
      ok: false;
      status: 403;
      reason: DenyReason;
      host: string;
      port: number;
      message: string;
      kind?: AddressKind;
      address?: string;
    }
  | {
      ok: false;
      status: 502 | 504;
      reason: "resolve-failed" | "resolve-timeout";
      host: string;
      port: number;
      message: string;
    };

export type Resolver = (host: string) => Promise<string[]>;

/** Sensitive kinds only an entry naming the exact address unlocks. */
const EXACT_ONLY: ReadonlySet<AddressKind> = new Set(["metadata", "unspecified"]);

const VIA: Record<NonNullable<AddressClass["embedded"]>["via"], string> = {
  "ipv4-mapped": "IPv4-mapped",
  "ipv4-compatible": "IPv4-compatible",
  "ipv4-translated": "IPv4-translated",
  nat64: "NAT64",
  "nat64-local": "local-use NAT64",
  "6to4": "6to4",
};

/** "2852039166 (= 169.254.169.254)", "::ffff:a9fe:a9fe (= ::ffff:169.254.169.254, IPv4-mapped 169.254.169.254)". */
function shownAddress(written: string, cls: AddressClass): string {
  const parts: string[] = [];
  if (written !== cls.address) parts.push(`= ${cls.address}`);
  if (cls.embedded) parts.push(`${VIA[cls.embedded.via]} ${cls.embedded.ipv4}`);
  return parts.length > 0 ? `${written} (${parts.join(", ")})` : written;
}

function hint(cls: AddressClass, port: number): string {
  if (cls.kind === "metadata") return "";
  const a = cls.family === 6 ? `[${cls.address}]` : cls.address;
  return cls.kind === "multicast" || cls.kind === "broadcast" ? "" : `; allow it explicitly with --allow-net ${a}:${port}`;
}

export interface DecideOptions {
  resolve: Resolver;
  resolveTimeoutMs: number;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMEOUT>((res) => {
    t = setTimeout(() => res(TIMEOUT), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}
const TIMEOUT = Symbol("timeout");

/** Decides whether `host` (as the client wrote it, brackets allowed) on `port` may be reached. */
export async function decide(allow: Allowlist, rawHost: string, port: number, o: DecideOptions): Promise<Decision> {
  let literal: NormalizedIp | null;
  try {
    literal = normalizeIp(rawHost);
  } catch (e) {
    const why = e instanceof InvalidIpError ? e.message.replace(/^".*?" /, "") : String(e);
    return { ok: false, status: 403, reason: "invalid-host", host: rawHost, port, message: `mcp-j: "${rawHost}" ${why} (blocked)` };
  }

  if (literal !== null) {
    const cls = classifyAddress(literal);
    const target = unmapIpv4(literal) ?? literal;
    const entry = allow.matchAddress(target, port, EXACT_ONLY.has(cls.kind));
    const shown = shownAddress(rawHost.replace(/^\[|\]$/g, ""), cls);
    if (entry) return { ok: true, host: literal.address, port, literal: true, addresses: [target], rule: entry.raw };
    if (cls.blocked) {
      return {
        ok: false, status: 403, reason: "blocked-address", host: literal.address, port, kind: cls.kind, address: cls.address,
        message: `mcp-j: ${shown} is ${cls.description} (blocked${hint(cls, port)})`,
      };
    }
    return {
      ok: false, status: 403, reason: "not-allowed", host: literal.address, port, kind: cls.kind, address: cls.address,
      message: `mcp-j: ${shown} port ${port} is not allowed by --allow-net (blocked)`,
    };
  }

  const name = canonicalHostName(rawHost);
  if (name === null) {
    return { ok: false, status: 403, reason: "invalid-host", host: rawHost, port, message: `mcp-j: "${rawHost}" is not a valid host name (blocked)` };
  }
  if (isLocalhostName(name)) {
    const ok = LOOPBACK_ADDRESSES.map((a) => normalizeIp(a)!).flatMap((ip) => {
      const e = allow.matchAddress(ip, port, true);
      return e ? [{ ip, e }] : [];
    });
    if (ok.length === 0) {
      return { ok: false, status: 403, reason: "not-allowed", host: name, port, message: `mcp-j: ${name}:${port} is not allowed by --allow-net (blocked; allow it with --allow-net localhost:${port})` };
    }
    return { ok: true, host: name, port, literal: false, addresses: ok.map((x) => x.ip), rule: ok[0]!.e.raw };
  }
  const entry: AllowEntry | undefined = allow.matchName(name, port);
  if (!entry) {
    return { ok: false, status: 403, reason: "not-allowed", host: name, port, message: `mcp-j: ${name}:${port} is not allowed by --allow-net (blocked)` };
  }

  let answers: string[] | typeof TIMEOUT;
  try {
    answers = await withTimeout(o.resolve(name), o.resolveTimeoutMs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);
    return { ok: false, status: 502, reason: "resolve-failed", host: name, port, message: `mcp-j: could not resolve ${name}: ${code}` };
  }
  if (answers === TIMEOUT) {
    return { ok: false, status: 504, reason: "resolve-timeout", host: name, port, message: `mcp-j: resolving ${name} timed out` };
  }
  if (answers.length === 0) {
    return { ok: false, status: 502, reason: "resolve-failed", host: name, port, message: `mcp-j: ${name} has no addresses` };
  }
  const addresses: NormalizedIp[] = [];
  for (const a of answers) {
    let ip: NormalizedIp | null = null;
    try {
      ip = normalizeIp(a);
    } catch {
      ip = null;
    }
    if (ip === null) {
      return { ok: false, status: 502, reason: "resolve-failed", host: name, port, message: `mcp-j: resolving ${name} gave ${JSON.stringify(a)}, not an address` };
    }
    const cls = classifyAddress(ip);
    const target = unmapIpv4(ip) ?? ip;
    if (cls.blocked && !allow.matchAddress(target, port, EXACT_ONLY.has(cls.kind))) {
      return {
        ok: false, status: 403, reason: "blocked-address", host: name, port, kind: cls.kind, address: cls.address,
        message: `mcp-j: ${name} resolved to ${shownAddress(cls.address, cls)}, ${cls.description} (blocked${hint(cls, port)})`,
      };
    }
    if (!addresses.some((x) => x.address === target.address)) addresses.push(target);
  }
  return { ok: true, host: name, port, literal: false, addresses, rule: entry.raw };
}
