// The environment a jailed server gets so that its HTTP clients use the egress proxy.
//
// What honours these variables (the proxy URL is plain http://; HTTPS goes through it with CONNECT):
//   curl            http_proxy (lower case only, by design), HTTPS_PROXY/https_proxy, NO_PROXY/no_proxy
//   Python          urllib, requests, httpx, aiohttp (trust_env) read both cases
//   Go net/http     HTTP_PROXY/HTTPS_PROXY/NO_PROXY (either case); never proxies localhost/127.0.0.1
//   Rust reqwest, Deno, Bun, git, npm, pip, wget: both cases, or lower case
//   Node.js         node:http/node:https and fetch IGNORE the proxy variables by default, in every
//                   version. NODE_USE_ENV_PROXY=1 makes Node honour HTTP_PROXY/HTTPS_PROXY/NO_PROXY:
//                   for fetch() from Node 24.0; for fetch() AND node:http/https request() and the
//                   global Agents from 24.5 and 22.21. On Node 20 and 22.x before 22.21 it is
//                   silently ignored: fetch()/http.get() from such a server try to connect directly,
//                   which the jail refuses (no route; the supervisor logs the connect), so they fail
//                   closed, not open. Fixes for those servers: run them on Node >= 24 (or 22.21+), or
//                   use a library that reads the variables (undici's EnvHttpProxyAgent,
//                   global-agent, proxy-agent). `--use-env-proxy` (24.5+) is the same switch as a
//                   flag; it is NOT put in NODE_OPTIONS because older Node versions refuse to start
//                   with an unknown option there.
// NO_PROXY: the jail's own loopback (localhost, 127.0.0.1) stays direct, unless the allowlist names
// a loopback service (--allow-net 127.0.0.1:5432, localhost:8080): that is a service of the host,
// reachable only through the proxy, so no loopback name is exempted then (issue 12 item 7). A
// NO_PROXY the user sets (--env NO_PROXY=..., or passes) is kept as it is, in both spellings.
import { Allowlist, namesLoopback } from "./allowlist.js";

export interface ProxyEnvironmentOptions {
  /** The --allow-net entries (already validated). */
  allow?: readonly string[];
  /** The user's own NO_PROXY (see userNoProxy), kept instead of mcp-j's. */
  noProxy?: string;
}

/** The NO_PROXY the user gave the server, if any: env.set (either spelling) or env.pass. */
export function userNoProxy(env: { pass: readonly string[]; set: Record<string, string> }, hostEnv: NodeJS.ProcessEnv): string | undefined {
  for (const name of ["NO_PROXY", "no_proxy"]) {
    if (env.set[name] !== undefined) return env.set[name];
    if (env.pass.includes(name) && hostEnv[name] !== undefined) return hostEnv[name];
  }
  return undefined;
}

/** The variables to add to the jail's environment for a proxy listening on 127.0.0.1:`port` inside it. */
export function proxyEnvironment(port: number, o: ProxyEnvironmentOptions = {}): Record<string, string> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`proxyEnvironment: bad port ${port}`);
  const url = `http://127.0.0.1:${port}`;
  const noProxy = o.noProxy ?? (namesLoopback(Allowlist.parse(o.allow ?? [])) ? undefined : "localhost,127.0.0.1");
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    ...(noProxy !== undefined ? { NO_PROXY: noProxy, no_proxy: noProxy } : {}),
    NODE_USE_ENV_PROXY: "1",
  };
}
