// Everything mcp-j serves on the sockets a jail made in its network namespace (jail.ts
// takeSockets): the resolver, the egress proxy and its redirect listener, sharing one allowlist and
// one table of handed-out names. Made before the jail reports anything (the supervisor's redirect
// reports are kept until the proxy takes them), started once the jail is up.
import type { JailSockets } from "../jail/jail.js";
import { Allowlist } from "./allowlist.js";
import type { DnsEvent, EgressEvent } from "./events.js";
import { NameMap, nameBlocks } from "./names.js";
import { startEgressProxy, type EgressProxy } from "./proxy.js";
import { RedirectTable, type RedirectReport } from "./redirect.js";
import { startResolver, type JailResolver } from "./resolver.js";

export interface JailNetworkEvents {
  onEvent: (e: EgressEvent) => void;
  /** One human line per refusal or error. */
  log: (line: string) => void;
}

export interface JailNetwork {
  /** A redirect the supervisor reported. */
  redirected(r: RedirectReport): void;
  /** The name a handed-out address stands for. */
  nameOf(address: string): string | undefined;
  start(sockets: JailSockets, events: JailNetworkEvents): Promise<void>;
  close(): Promise<void>;
}

/** The refusal of a name, for stderr (the resolver audits each refused name once). */
export function dnsRefusalLine(e: DnsEvent): string | null {
  if (e.decision !== "deny") return null;
  if (e.reason === "exhausted") return `mcp-j: the jail's resolver has no address left for ${e.name} (SERVFAIL)`;
  if (e.reason === "invalid-host") return `mcp-j: the server looked up ${JSON.stringify(e.name)}, which is not a host name (NXDOMAIN)`;
  return `mcp-j: the server looked up ${e.name}, which --allow-net does not name (NXDOMAIN): allow it with --allow-net ${e.name}:PORT`;
}

/** Each distinct line once (a program retrying a refused or failing destination in a loop says
 * nothing new); the memory of lines said is bounded. */
function once(write: (line: string) => void): (line: string) => void {
  const said = new Set<string>();
  return (line) => {
    if (said.has(line)) return;
    if (said.size >= 1000) said.clear();
    said.add(line);
    write(line);
  };
}

export function jailNetwork(allowRaw: readonly string[]): JailNetwork {
  const allow = Allowlist.parse(allowRaw);
  const names = new NameMap(nameBlocks(allow));
  const table = new RedirectTable();
  let resolver: JailResolver | null = null;
  let proxy: EgressProxy | null = null;
  return {
    redirected: (r) => table.report(r),
    nameOf: (a) => names.nameOf(a),
    async start(sockets, events) {
      if (sockets.dns !== undefined) resolver = await startResolver({ fd: sockets.dns, allow, names, onEvent: events.onEvent });
      if (sockets.proxy !== undefined) {
        proxy = await startEgressProxy({
          listen: { fd: sockets.proxy },
          ...(sockets.redirect !== undefined ? { redirect: { listen: { fd: sockets.redirect }, names, table } } : {}),
          allow: allowRaw,
          onEvent: events.onEvent,
          log: once(events.log),
        });
      }
    },
    async close() {
      await Promise.all([resolver?.close(), proxy?.close()]);
    },
  };
}
