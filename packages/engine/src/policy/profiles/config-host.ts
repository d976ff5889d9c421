// A network destination read from a configuration file or a variable (an npm registry, a package
// index) becomes an --allow-net entry only as a host name. The egress proxy refuses a *name* that
// resolves to a loopback, private or metadata address, but an exact IP entry would open that address
// (ESCAPES 63: a project .npmrc once put 169.254.169.254 on the allowlist). So every IP literal, in
// any spelling a URL parser or resolver accepts, and every loopback name is refused here, naming
// where the value came from and the fix. Addresses the user wants must come from --allow-net.
import { canonicalHostName, classifyAddress, InvalidIpError, normalizeIp } from "../../egress/index.js";
import { PolicyError } from "../errors.js";

export interface ConfigValue {
  value: string;
  /** "FILE:LINE" or "the environment variable NAME". */
  where: string;
}

/** `https://registry.npmjs.org/` → `registry.npmjs.org`; `http://r.example:4873/` → `r.example:4873`. */
export function configHost(v: ConfigValue, what: string, profile: string): string {
  const refuse = (why: string): never => {
    throw new PolicyError(
      "E_PROFILE",
      `profile ${profile}: ${v.where}: ${what} ${JSON.stringify(v.value)} ${why}; mcp-j takes only host names from configuration: ` +
        `write the host's name there (or remove the line), and allow an address yourself with --allow-net if you mean it`,
    );
  };
  let u: URL;
  try {
    u = new URL(v.value);
  } catch {
    return refuse("is not a URL");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") refuse("is not an http(s) URL");
  // The URL parser already rewrote IPv4 spellings (0xa9fea9fe, 2852039166, 0251.0376...) to a dotted
  // quad; normalizeIp also sees what it left alone (brackets, mapped and NAT64 IPv6).
  let ip: ReturnType<typeof normalizeIp>;
  try {
    ip = normalizeIp(u.hostname);
  } catch (e) {
    return refuse(`has a malformed IP address (${e instanceof InvalidIpError ? e.message : String(e)})`);
  }
  if (ip !== null) {
    const c = classifyAddress(ip);
    return refuse(`names the IP address ${c.address}${c.blocked ? `, ${c.description}` : ""}`);
  }
  const name = canonicalHostName(u.hostname);
  if (name === null) return refuse("has no valid host name");
  if (name === "localhost" || name.endsWith(".localhost") || name === "localhost.localdomain" || /^ip6-(localhost|loopback)$/.test(name)) {
    return refuse("names the loopback host");
  }
  return u.port ? `${name}:${u.port}` : name;
}
