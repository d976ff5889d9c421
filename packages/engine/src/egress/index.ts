// The egress proxy: public surface. See proxy.ts for behaviour, allowlist.ts for --allow-net syntax,
// classify.ts for what counts as non-public, env.ts for what the jail's environment gets.
export { startEgressProxy, EGRESS_DEFAULTS, type EgressOptions, type EgressProxy, type EgressStats } from "./proxy.js";
export { parseAllowEntry, Allowlist, AllowParseError, DEFAULT_PORTS, type AllowEntry } from "./allowlist.js";
export { normalizeIp, tryNormalizeIp, unmapIpv4, InvalidIpError, type NormalizedIp, type IpFamily } from "./ip.js";
export { classifyAddress, embeddedIpv4, type AddressClass, type AddressKind, type Embedding } from "./classify.js";
export { decide, type Decision, type DenyReason, type Resolver } from "./decide.js";
export { canonicalHostName } from "./host.js";
export { proxyEnvironment, userNoProxy, type ProxyEnvironmentOptions } from "./env.js";
export type {
  EgressEvent,
  EgressMethod,
  NetAllowEvent,
  NetDenyEvent,
  NetCloseEvent,
  NetErrorEvent,
  NetErrorReason,
} from "./events.js";
