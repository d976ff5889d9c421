// The addresses the network layer treats by name rather than by class (classify.ts): the host's
// loopback as "localhost" (RFC 6761), and the range the jail's resolver draws the addresses it hands
// out for allowed names from (names.ts).

/** What "localhost" stands for. */
export const LOOPBACK_ADDRESSES: readonly string[] = Object.freeze(["127.0.0.1", "::1"]);

/** "localhost" and its subdomains (RFC 6761): loopback, whatever a resolver would say. */
export function isLocalhostName(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost");
}

/** RFC 2544's benchmarking range: never a real destination (classify.ts: reserved), and the range
 * fake-IP DNS tools use for the same purpose. */
export const NAME_RANGE = Object.freeze({ address: "198.18.0.0", prefix: 15 });
