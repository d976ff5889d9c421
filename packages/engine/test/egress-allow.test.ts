// --allow-net parsing and matching, the egress decision (with a resolver hook; no sockets), the
// proxy environment, and a differential check of IPv4/IPv6 parsing against Node's WHATWG URL parser.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  AllowParseError,
  Allowlist,
  decide,
  normalizeIp,
  parseAllowEntry,
  proxyEnvironment,
  userNoProxy,
  type Decision,
} from "../src/egress/index.js";

test("parseAllowEntry: accepted forms", () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ["api.github.com", { kind: "host", host: "api.github.com", ports: [443, 80] }],
    ["API.GitHub.com.", { kind: "host", host: "api.github.com", ports: [443, 80] }],
    ["api.github.com:8443", { kind: "host", host: "api.github.com", ports: [8443] }],
    ["localhost:3000", { kind: "loopback", ports: [3000] }], // the host's 127.0.0.1 and ::1 (RFC 6761)
    ["db.localhost:3000", { kind: "loopback", ports: [3000] }],
    ["*.example.com", { kind: "wildcard", suffix: ".example.com", ports: [443, 80] }],
    ["*.example.com:8080", { kind: "wildcard", suffix: ".example.com", ports: [8080] }],
    ["bücher.example", { kind: "host", host: "xn--bcher-kva.example", ports: [443, 80] }],
    ["127.0.0.1:8080", { kind: "ip", ports: [8080] }],
    ["203.0.113.7", { kind: "ip", ports: [443, 80] }],
    ["0x7f.1:9", { kind: "ip", ports: [9] }],
    ["[::1]:8080", { kind: "ip", ports: [8080] }],
    ["[2001:db8::1]", { kind: "ip", ports: [443, 80] }],
    ["2001:db8::1", { kind: "ip", ports: [443, 80] }],
    ["10.0.0.0/8", { kind: "cidr", prefix: 8, ports: [443, 80] }],
    ["10.0.0.0/8:5432", { kind: "cidr", prefix: 8, ports: [5432] }],
    ["[fd00::/8]:8080", { kind: "cidr", prefix: 8, ports: [8080] }],
    ["fd00::/8", { kind: "cidr", prefix: 8, ports: [443, 80] }],
  ];
  for (const [input, want] of cases) {
    const e = parseAllowEntry(input) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.deepEqual(e[k], v, `${input}: ${k}`);
    assert.equal(e.raw, input);
  }
  const ip = parseAllowEntry("0x7f.1:9");
  assert.equal(ip.kind === "ip" && ip.ip.address, "127.0.0.1");
  const mapped = parseAllowEntry("[::ffff:127.0.0.1]:9");
  assert.equal(mapped.kind === "ip" && mapped.ip.address, "127.0.0.1", "an IPv4-mapped entry is the IPv4 address");
});

test("parseAllowEntry: typed errors naming the entry", () => {
  const bad = [
    "http://x", "https://api.github.com", "", "   ", "api.github.com:0", "api.github.com:65536", "api.github.com:https",
    "*", "*.", "a.*.com", "*example.com", "**.example.com", "*.1.2.3.4", "user@host", "host/path", "1.2.3.999",
    "10.0.0.1/8", "10.0.0.0/33", "[::1", "[example.com]:80", "-bad-.com", "a..b", "exa mple.com", "::1/129", "host:80:90",
  ];
  for (const s of bad) {
    assert.throws(
      () => parseAllowEntry(s),
      (e: unknown) => {
        assert.ok(e instanceof AllowParseError, `${JSON.stringify(s)} throws AllowParseError, got ${String(e)}`);
        assert.equal(e.entry, s);
        assert.equal(e.code, "EALLOWNET");
        assert.ok(e.message.startsWith(`${JSON.stringify(s)} is not HOST[:PORT]`), e.message);
        return true;
      },
      s,
    );
  }
  assert.equal(new AllowParseError("http://x").message, '"http://x" is not HOST[:PORT]');
  assert.match(String(tryMessage("10.0.0.1/8")), /host bits are set \(the network is 10\.0\.0\.0\/8\)/);
  assert.match(String(tryMessage("api.github.com:99999")), /port must be a number from 1 to 65535/);
});

function tryMessage(s: string): string | undefined {
  try {
    parseAllowEntry(s);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

test("Allowlist.matchName: exact, wildcard (subdomains, not the apex), default ports", () => {
  const a = Allowlist.parse(["api.github.com", "*.example.com", "exact.test:8443"]);
  const yes: Array<[string, number]> = [
    ["api.github.com", 443], ["api.github.com", 80], ["a.example.com", 443], ["a.b.example.com", 80], ["exact.test", 8443],
  ];
  const no: Array<[string, number]> = [
    ["api.github.com", 8080], ["github.com", 443], ["xapi.github.com", 443], ["example.com", 443], ["badexample.com", 443],
    ["a.example.com", 22], ["exact.test", 443], ["a.example.com.evil.net", 443],
  ];
  for (const [h, p] of yes) assert.ok(a.matchName(h, p), `${h}:${p} allowed`);
  for (const [h, p] of no) assert.equal(a.matchName(h, p), undefined, `${h}:${p} refused`);
});

test("Allowlist.matchAddress: IPs, CIDRs, ports; metadata needs the exact address", () => {
  const a = Allowlist.parse(["127.0.0.1:8080", "10.0.0.0/8:5432", "[fd00::/8]:443", "0.0.0.0/0:9999", "169.254.169.254:80"]);
  const ip = (s: string) => {
    const n = normalizeIp(s);
    assert.ok(n);
    return n;
  };
  assert.ok(a.matchAddress(ip("127.0.0.1"), 8080));
  assert.ok(a.matchAddress(ip("::ffff:127.0.0.1"), 8080), "mapped form is the same address");
  assert.equal(a.matchAddress(ip("127.0.0.1"), 8081), undefined);
  assert.equal(a.matchAddress(ip("127.0.0.2"), 8080), undefined);
  assert.ok(a.matchAddress(ip("10.200.3.4"), 5432));
  assert.equal(a.matchAddress(ip("11.0.0.1"), 5432), undefined);
  assert.ok(a.matchAddress(ip("fd12::1"), 443));
  assert.equal(a.matchAddress(ip("fe80::1"), 443), undefined);
  assert.ok(a.matchAddress(ip("169.254.169.254"), 80, true), "an exact entry unlocks metadata");
  assert.ok(a.matchAddress(ip("1.2.3.4"), 9999), "a /0 matches ordinary addresses");
  assert.equal(a.matchAddress(ip("169.254.169.254"), 9999, true), undefined, "but no CIDR unlocks metadata");
});

// ---- decide(): the whole policy, with a resolver hook -------------------------------------------

function resolverFrom(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (h: string) => {
    calls.push(h);
    const r = table[h];
    if (!r) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return r;
  };
  return { resolve, calls };
}

async function run(allow: string[], host: string, port: number, table: Record<string, string[]> = {}) {
  const r = resolverFrom(table);
  const d = await decide(Allowlist.parse(allow), host, port, { resolve: r.resolve, resolveTimeoutMs: 1000 });
  return { d, calls: r.calls };
}

function denied(d: Decision): Extract<Decision, { ok: false }> {
  assert.equal(d.ok, false, JSON.stringify(d));
  return d as Extract<Decision, { ok: false }>;
}

test("decide: ESCAPES 45 literal spellings are refused as metadata without resolving", async () => {
  for (const h of ["169.254.169.254", "2852039166", "0251.0376.0251.0376", "[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe", "0xa9fea9fe",
    "fd00:ec2::254", "100.100.100.200", "[64:ff9b::a9fe:a9fe]"]) {
    const { d, calls } = await run(["*.example.com", "api.github.com"], h, 443);
    const x = denied(d);
    assert.equal(x.status, 403);
    assert.equal(x.reason, "blocked-address");
    assert.equal((x as { kind?: string }).kind, "metadata", h);
    assert.match(x.message, /is a cloud metadata address \(blocked\)$/);
    assert.deepEqual(calls, [], "no resolution for a literal");
  }
  const { d } = await run([], "169.254.169.254", 80);
  assert.equal(denied(d).message, "mcp-j: 169.254.169.254 is a cloud metadata address (blocked)");
  const { d: d2 } = await run([], "2852039166", 80);
  assert.equal(denied(d2).message, "mcp-j: 2852039166 (= 169.254.169.254) is a cloud metadata address (blocked)");
  const { d: d3 } = await run([], "[::ffff:a9fe:a9fe]", 443);
  assert.equal(denied(d3).message, "mcp-j: ::ffff:a9fe:a9fe (= ::ffff:169.254.169.254, IPv4-mapped 169.254.169.254) is a cloud metadata address (blocked)");
});

test("decide: names not in the allowlist are refused without a DNS look-up", async () => {
  const { d, calls } = await run(["api.github.com"], "evil.example", 443, { "evil.example": ["8.8.8.8"] });
  const x = denied(d);
  assert.equal(x.reason, "not-allowed");
  assert.equal(x.message, "mcp-j: evil.example:443 is not allowed by --allow-net (blocked)");
  assert.deepEqual(calls, []);
  const apex = await run(["*.example.com"], "example.com", 443, { "example.com": ["8.8.8.8"] });
  assert.equal(denied(apex.d).reason, "not-allowed");
  assert.deepEqual(apex.calls, []);
});

test("decide: an allowed name resolving to any non-public address is refused", async () => {
  const cases: Array<[string[], string]> = [
    [["10.0.0.5"], "private"],
    [["93.184.216.34", "127.0.0.1"], "loopback"], // one bad answer spoils the name
    [["::ffff:169.254.169.254"], "metadata"],
    [["169.254.169.254"], "metadata"],
    [["fd00:ec2::254"], "metadata"],
    [["100.64.1.1"], "cgnat"],
    [["fe80::1"], "link-local"],
    [["0.0.0.0"], "unspecified"],
    [["64:ff9b::a00:5"], "private"],
  ];
  for (const [answers, kind] of cases) {
    const { d, calls } = await run(["*.corp.test"], "db.corp.test", 443, { "db.corp.test": answers });
    const x = denied(d);
    assert.equal(x.reason, "blocked-address");
    assert.equal((x as { kind?: string }).kind, kind, answers.join(","));
    assert.match(x.message, /^mcp-j: db\.corp\.test resolved to /);
    assert.deepEqual(calls, ["db.corp.test"]);
  }
  const { d } = await run(["db.corp.test"], "db.corp.test", 443, { "db.corp.test": ["10.0.0.5"] });
  assert.equal(denied(d).message, "mcp-j: db.corp.test resolved to 10.0.0.5, a private address (blocked; allow it explicitly with --allow-net 10.0.0.5:443)");
});

test("decide: explicit IP/CIDR entries are the only way to private addresses", async () => {
  const ok = await run(["db.corp.test", "10.0.0.0/8:443"], "db.corp.test", 443, { "db.corp.test": ["10.0.0.5", "10.0.0.6"] });
  assert.equal(ok.d.ok, true);
  assert.deepEqual(ok.d.ok && ok.d.addresses.map((a) => a.address), ["10.0.0.5", "10.0.0.6"]);
  const lit = await run(["127.0.0.1:8080"], "127.1", 8080);
  assert.equal(lit.d.ok && lit.d.addresses[0]?.address, "127.0.0.1");
  assert.equal(lit.d.ok && lit.d.rule, "127.0.0.1:8080");
  const mapped = await run(["127.0.0.1:8080"], "[::ffff:127.0.0.1]", 8080);
  assert.equal(mapped.d.ok && mapped.d.addresses[0]?.address, "127.0.0.1", "connects to the plain IPv4 address");
  assert.equal(denied((await run(["127.0.0.1:8080"], "127.0.0.2", 8080)).d).reason, "blocked-address");
  assert.equal(denied((await run(["127.0.0.1:8080"], "127.0.0.1", 8081)).d).reason, "blocked-address");
  // A name entry never unlocks a literal, even a public one.
  const pub = denied((await run(["one.one.one.one"], "1.1.1.1", 443)).d);
  assert.equal(pub.reason, "not-allowed");
  // Metadata needs the exact address; a /0 does not do.
  assert.equal(denied((await run(["0.0.0.0/0:80"], "169.254.169.254", 80)).d).reason, "blocked-address");
  assert.equal((await run(["0.0.0.0/0:80"], "10.9.9.9", 80)).d.ok, true);
  assert.equal((await run(["169.254.169.254:80"], "0251.0376.0251.0376", 80)).d.ok, true);
});

test("decide: public answers are allowed and deduplicated; resolver failures are 502", async () => {
  const ok = await run(["api.github.com"], "API.GITHUB.COM.", 443, { "api.github.com": ["140.82.112.6", "::ffff:140.82.112.6", "2606:50c0::1"] });
  assert.ok(ok.d.ok);
  assert.equal(ok.d.host, "api.github.com");
  assert.deepEqual(ok.d.addresses.map((a) => a.address), ["140.82.112.6", "2606:50c0::1"]);
  const nx = denied((await run(["api.github.com"], "api.github.com", 443, {})).d);
  assert.equal(nx.status, 502);
  const empty = denied((await run(["api.github.com"], "api.github.com", 443, { "api.github.com": [] })).d);
  assert.equal(empty.status, 502);
  const junk = denied((await run(["api.github.com"], "api.github.com", 443, { "api.github.com": ["not-an-ip"] })).d);
  assert.equal(junk.status, 502);
});

test("decide: malformed hosts are refused, never resolved", async () => {
  for (const h of ["1.2.3.999", "evil.0x10", "%31%32%37.0.0.1", "a..b", "exa mple", "-x-.com", "example.123"]) {
    const { d, calls } = await run(["*.com", "*.b"], h, 443, { [h]: ["8.8.8.8"] });
    const x = denied(d);
    assert.equal(x.reason, "invalid-host", h);
    assert.deepEqual(calls, [], h);
  }
});

test("decide: a resolver that hangs times out (504) without holding anything else", async () => {
  const allow = Allowlist.parse(["slow.test"]);
  const d = await decide(allow, "slow.test", 443, { resolve: () => new Promise<string[]>(() => {}), resolveTimeoutMs: 50 });
  assert.equal(denied(d).status, 504);
});

test("decide: `localhost` admits this machine's loopback (name and literal); any other name resolving there is refused", async () => {
  const { d } = await run(["localhost:8080"], "localhost", 8080, { localhost: ["127.0.0.1", "::1"] });
  assert.ok(d.ok && d.addresses.map((a) => a.address).join(",") === "127.0.0.1,::1");
  const { d: lit } = await run(["localhost:8080"], "127.0.0.1", 8080, {});
  assert.ok(lit.ok);
  assert.equal(denied((await run(["localhost:8080"], "127.0.0.1", 8081, {})).d).reason, "blocked-address");
  assert.equal(denied((await run(["localhost:8080"], "10.0.0.1", 8080, {})).d).reason, "blocked-address");
  const { d: other } = await run(["db.corp.test:8080"], "db.corp.test", 8080, { "db.corp.test": ["127.0.0.1"] });
  assert.equal(denied(other).reason, "blocked-address");
});

test("proxyEnvironment: the variables the jail gets", () => {
  assert.deepEqual(proxyEnvironment(3128), {
    HTTP_PROXY: "http://127.0.0.1:3128",
    HTTPS_PROXY: "http://127.0.0.1:3128",
    http_proxy: "http://127.0.0.1:3128",
    https_proxy: "http://127.0.0.1:3128",
    NO_PROXY: "localhost,127.0.0.1",
    no_proxy: "localhost,127.0.0.1",
    NODE_USE_ENV_PROXY: "1",
  });
  // Issue 12 item 7: a loopback service on the allowlist is the host's, reached through the proxy:
  // no loopback name is exempted then; the user's own NO_PROXY is kept as it is.
  for (const allow of [["127.0.0.1:5432"], ["localhost:8080"], ["[::1]:80"], ["api.example.com", "127.0.0.0/8"]]) {
    const env = proxyEnvironment(3128, { allow });
    assert.equal(env.NO_PROXY, undefined, allow.join(" "));
    assert.equal(env.no_proxy, undefined, allow.join(" "));
    assert.equal(env.HTTPS_PROXY, "http://127.0.0.1:3128");
  }
  assert.equal(proxyEnvironment(3128, { allow: ["api.example.com", "10.0.0.0/8"] }).NO_PROXY, "localhost,127.0.0.1");
  const mine = proxyEnvironment(3128, { allow: ["127.0.0.1:5432"], noProxy: "internal.example" });
  assert.deepEqual([mine.NO_PROXY, mine.no_proxy], ["internal.example", "internal.example"]);
  assert.equal(userNoProxy({ pass: [], set: { no_proxy: "a.example" } }, {}), "a.example");
  assert.equal(userNoProxy({ pass: ["NO_PROXY"], set: {} }, { NO_PROXY: "b.example" }), "b.example");
  assert.equal(userNoProxy({ pass: ["NO_PROXY"], set: {} }, {}), undefined);
  assert.throws(() => proxyEnvironment(0), RangeError);
  assert.throws(() => proxyEnvironment(70000), RangeError);
});

// ---- differential: our IPv4 parser agrees with the WHATWG URL host parser ----------------------

function urlHost(s: string): string | null {
  try {
    return new URL(`http://${s}/`).hostname;
  } catch {
    return null;
  }
}

test("normalizeIp agrees with WHATWG URL on numeric hosts (property)", () => {
  const part = fc.oneof(
    fc.integer({ min: 0, max: 300 }).map(String),
    fc.integer({ min: 0, max: 0xffffffff }).map(String),
    fc.integer({ min: 0, max: 0x1ff }).map((n) => `0${n.toString(8)}`),
    fc.integer({ min: 0, max: 0xffffffff }).map((n) => `0x${n.toString(16)}`),
    fc.constantFrom("0x", "00", "08", "09", "0xg", "", "1e3"),
  );
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), fc.boolean(), (parts, trailingDot) => {
      const s = parts.join(".") + (trailingDot ? "." : "");
      const u = urlHost(s);
      let ours: string | null | "throw";
      try {
        ours = normalizeIp(s)?.address ?? null;
      } catch {
        ours = "throw";
      }
      if (u === null) return ours === "throw" || ours === null; // URL refuses: we refuse (or it's a name URL also refuses)
      if (ours === "throw") return false;
      if (ours === null) return normalizeIp(u) === null; // a name for both
      return ours === u;
    }),
    { numRuns: 3000 },
  );
});

test("normalizeIp agrees with WHATWG URL on IPv6 (property)", () => {
  const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }), (g, a, b) => {
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      const zeroed = g.map((x, i) => (i >= lo && i < hi ? "0" : x));
      const s = zeroed.join(":");
      const u = urlHost(`[${s}]`);
      assert.ok(u);
      const ours = normalizeIp(s);
      const theirs = normalizeIp(u);
      assert.ok(ours && theirs);
      assert.deepEqual(Array.from(ours.bytes), Array.from(theirs.bytes));
      if (!u.startsWith("[::ffff:")) assert.equal(`[${ours.address}]`, u, "RFC 5952 text matches URL serialization");
    }),
    { numRuns: 2000 },
  );
});
