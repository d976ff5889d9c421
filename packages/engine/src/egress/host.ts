// Host names and authorities (HOST:PORT) as the egress proxy and --allow-net see them.
import { domainToASCII } from "node:url";
import { endsInNumber } from "./ip.js";

const LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Canonical form of a DNS host name: IDNA/punycode ASCII, lower case, no trailing dot. Returns null
 * for anything that is not a syntactically valid name (empty labels, bad characters, > 253 chars) and
 * for names that end in a number (those are IPv4 literals, see ip.ts; a name like "a.123" is neither).
 */
export function canonicalHostName(s: string): string | null {
  if (s === "" || s.length > 255) return null;
  if (/[\s/\\@?#%:\[\]*]/.test(s)) return null;
  let t = s;
  if (/[^\x00-\x7f]/.test(t)) {
    t = domainToASCII(t);
    if (t === "") return null;
  }
  t = t.toLowerCase();
  if (t.endsWith(".")) t = t.slice(0, -1);
  if (t === "" || t.length > 253) return null;
  if (endsInNumber(t)) return null;
  for (const label of t.split(".")) if (!LABEL_RE.test(label)) return null;
  return t;
}

export function parsePort(s: string): number | null {
  if (!/^[0-9]{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : null;
}

/**
 * Splits "host:port", "[v6]:port", "host" or "[v6]" (port optional only when `defaultPort` is given).
 * The host comes back as written (brackets removed); nothing is normalized here.
 */
export function splitAuthority(s: string, defaultPort?: number): { host: string; port: number } | null {
  let host: string;
  let portText: string | undefined;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return null;
    host = s.slice(1, close);
    const after = s.slice(close + 1);
    if (after === "") portText = undefined;
    else if (after.startsWith(":")) portText = after.slice(1);
    else return null;
  } else {
    const colon = s.lastIndexOf(":");
    if (colon >= 0 && s.indexOf(":") !== colon) return null; // bare IPv6 needs brackets here
    host = colon >= 0 ? s.slice(0, colon) : s;
    portText = colon >= 0 ? s.slice(colon + 1) : undefined;
  }
  if (host === "") return null;
  let port: number | null;
  if (portText === undefined) port = defaultPort ?? null;
  else port = parsePort(portText);
  if (port === null) return null;
  return { host, port };
}
