// The egress proxy: public surface. See proxy.ts for behaviour, allowlist.ts for --allow-net syntax,
// classify.ts for what counts as non-public, env.ts for what the jail's environment gets.
export { startEgressProxy, EGRESS_DEFAULTS, type EgressOptions, type EgressProxy, type EgressStats } from "./proxy.js";
export { parseAllowEntry, Allowlist, AllowParseError, DEFAULT_PORTS, type AllowEntry } from "./allowlist.js";
export { normalizeIp, tryNormalizeIp, unmapIpv4, InvalidIpError, type NormalizedIp, type IpFamily } from "./ip.js";
export { classifyAddress, embeddedIpv4, type AddressClass, type AddressKind, type Embedding } from "./classify.js";
export { decide, type Decision, type DenyReason, type Resolver } from "./decide.js";
export { canonicalHostName } from "./host.js";
export { proxyEnvironment, userNoProxy, type ProxyEnvironmentOptions } from "./env.js";
export { startResolver, answerQuery, type JailResolver, type ResolverOptions } from "./resolver.js";
export { NameMap, NAME_RANGE, nameBlocks, namePorts, redirectRules, redirectTables, inNameRange, NameRangeError, MAX_NAMES } from "./names.js";
export { RedirectTable, MATCH_TIMEOUT_MS, type RedirectReport } from "./redirect.js";
export { jailNetwork, dnsRefusalLine, type JailNetwork, type JailNetworkEvents } from "./jail-network.js";
export { parseQuery, encodeResponse, DnsFormatError, DnsType, Rcode, type DnsQuery, type DnsAnswer } from "./dns.js";
export type {
  EgressEvent,
  EgressMethod,
  NetAllowEvent,
  NetDenyEvent,
  NetCloseEvent,
  NetErrorEvent,
  NetErrorReason,
  DnsEvent,
} from "./events.js";
