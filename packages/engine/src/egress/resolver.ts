// The jail's resolver: a DNS server on the UDP socket the jail made on its own 127.0.0.1:53
// (native/jail/netif.c), served from mcp-j. The jail's resolv.conf names it and nothing else.
//
//   an allowed name        A: the address names.ts hands out for it (stable for the jail's life);
//                          AAAA and other types: no data (the jail reaches names over IPv4, the
//                          proxy then uses whatever family the real name has); "dns" allow event
//                          the first time
//   localhost, *.localhost 127.0.0.1 / ::1 (RFC 6761), the jail's own loopback
//   a handed-out address   PTR: its name
//   anything else          NXDOMAIN and a "dns" deny event: nothing is resolved, nothing leaves
//                          the host (no DNS exfiltration through the names a jail asks for)
//
// Nothing is resolved here: the name is resolved by the egress proxy when a connection to its
// address arrives (decide.ts), so the real addresses are checked where they are used.
import dgram from "node:dgram";
import type { Allowlist } from "./allowlist.js";
import { isLocalhostName } from "./ranges.js";
import { DnsClass, DnsFormatError, DnsType, encodeResponse, parseQuery, Rcode, type DnsAnswer, type DnsQuery } from "./dns.js";
import type { DnsEvent } from "./events.js";
import { canonicalHostName } from "./host.js";
import { normalizeIp, tryNormalizeIp } from "./ip.js";
import { inNameRange, namePorts, type NameMap } from "./names.js";

export interface ResolverOptions {
  /** The bound UDP socket (a descriptor of this process). */
  fd: number;
  allow: Allowlist;
  names: NameMap;
  onEvent?: (e: DnsEvent) => void;
  /** Seconds the answers may be cached (they never change while the jail lives). Default 300. */
  ttl?: number;
}

export interface JailResolver {
  close(): Promise<void>;
  stats(): { answered: number; refused: number };
}

const TYPE_NAMES = new Map<number, string>(Object.entries(DnsType).map(([k, v]) => [v, k]));
const typeName = (t: number): string => TYPE_NAMES.get(t) ?? `TYPE${t}`;

/** Refusals are audited once per name (a jail asking the same name in a loop adds nothing); the
 * memory of names already audited is bounded. */
const MAX_REMEMBERED = 4096;

/** "5.0.18.198.in-addr.arpa" → "198.18.0.5", or null. */
function reverseV4(name: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  return m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : null;
}

/** The answer to one query, and the event it is worth (if any). Pure: exported for tests. */
export function answerQuery(q: DnsQuery, allow: Allowlist, names: NameMap, ttl: number): { rcode: Rcode; answers: DnsAnswer[]; event?: Omit<DnsEvent, "ts"> } {
  const qn = q.question;
  if (qn === null) return { rcode: Rcode.formErr, answers: [] };
  if (q.opcode !== 0) return { rcode: Rcode.notImp, answers: [] };
  if (qn.class !== DnsClass.IN && qn.class !== DnsClass.ANY) return { rcode: Rcode.refused, answers: [] };
  const qtype = typeName(qn.type);
  const wantA = qn.type === DnsType.A || qn.type === DnsType.ANY;
  const reverse = qn.name !== null ? reverseV4(qn.name) : null;
  if (reverse !== null) {
    const ip = tryNormalizeIp(reverse);
    const owner = ip !== null && inNameRange(ip) ? names.nameOf(ip) : undefined;
    if (owner !== undefined) return { rcode: Rcode.noError, answers: qn.type === DnsType.PTR || qn.type === DnsType.ANY ? [{ type: DnsType.PTR, ttl, name: owner }] : [] };
    return { rcode: Rcode.nxDomain, answers: [] }; // a reverse look-up names no host: not audited
  }
  const name = qn.name === null ? null : canonicalHostName(qn.name);
  if (name === null) return { rcode: Rcode.nxDomain, answers: [], event: { type: "dns", decision: "deny", name: qn.name ?? "(not a host name)", qtype, reason: "invalid-host" } };
  if (isLocalhostName(name)) {
    if (wantA) return { rcode: Rcode.noError, answers: [{ type: DnsType.A, ttl, address: new Uint8Array([127, 0, 0, 1]) }] };
    if (qn.type === DnsType.AAAA) return { rcode: Rcode.noError, answers: [{ type: DnsType.AAAA, ttl, address: normalizeIp("::1")!.bytes }] };
    return { rcode: Rcode.noError, answers: [] };
  }
  const ports = namePorts(allow, name);
  if (ports.length === 0) return { rcode: Rcode.nxDomain, answers: [], event: { type: "dns", decision: "deny", name, qtype, reason: "not-allowed" } };
  const before = names.size;
  const address = names.assign(name, ports);
  if (address === null) return { rcode: Rcode.servFail, answers: [], event: { type: "dns", decision: "deny", name, qtype, reason: "exhausted" } };
  const event = names.size > before ? { type: "dns" as const, decision: "allow" as const, name, qtype, address } : undefined;
  const answers: DnsAnswer[] = wantA ? [{ type: DnsType.A, ttl, address: normalizeIp(address)!.bytes }] : [];
  return event !== undefined ? { rcode: Rcode.noError, answers, event } : { rcode: Rcode.noError, answers };
}

export async function startResolver(o: ResolverOptions): Promise<JailResolver> {
  const ttl = o.ttl ?? 300;
  const sock = dgram.createSocket({ type: "udp4" });
  let answered = 0;
  let refused = 0;
  const audited = new Set<string>();
  const emit = (e: Omit<DnsEvent, "ts">): void => {
    if (e.decision === "deny") {
      if (audited.has(e.name)) return;
      if (audited.size >= MAX_REMEMBERED) audited.clear();
      audited.add(e.name);
    }
    try {
      o.onEvent?.({ ...e, ts: Date.now() });
    } catch {
      /* an audit sink that throws must not take the resolver down */
    }
  };
  sock.on("message", (msg, peer) => {
    let q: DnsQuery;
    try {
      q = parseQuery(msg);
    } catch (e) {
      if (!(e instanceof DnsFormatError) || e.id === undefined) return; // not even a header: dropped
      q = { id: e.id, response: false, opcode: 0, rd: false, question: null };
    }
    if (q.response) return; // never answer an answer
    const a = answerQuery(q, o.allow, o.names, ttl);
    if (a.rcode === Rcode.noError) answered++;
    else refused++;
    if (a.event !== undefined) emit(a.event);
    sock.send(encodeResponse(q, a.rcode, a.answers), peer.port, peer.address);
  });
  // A send to a client that went away fails with ECONNREFUSED on some kernels: nothing to do.
  sock.on("error", () => {});
  await new Promise<void>((res, rej) => {
    sock.once("error", rej);
    sock.bind({ fd: o.fd }, () => {
      sock.off("error", rej);
      res();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    stats: () => ({ answered, refused }),
    close: () => (closed ??= new Promise<void>((res) => sock.close(() => res()))),
  };
}
