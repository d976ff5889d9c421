// The jail's resolver without a jail: the DNS codec (fuzzed), the addresses handed out for names
// (names.ts), the answers (resolver.ts answerQuery), and the table that pairs redirected
// connections with the supervisor's reports (redirect.ts). The resolver's socket and the whole
// path are tested through the real jail (cli/test/network-redirect.jail.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Allowlist } from "../src/egress/allowlist.js";
import { DnsFormatError, DnsType, encodeResponse, labelsOf, parseQuery, Rcode, type DnsQuery } from "../src/egress/dns.js";
import { inNameRange, MAX_NAMES, NameMap, nameBlocks, NameRangeError, namePorts, redirectRules } from "../src/egress/names.js";
import { normalizeIp } from "../src/egress/ip.js";
import { MATCH_TIMEOUT_MS, RedirectTable } from "../src/egress/redirect.js";
import { answerQuery } from "../src/egress/resolver.js";

/** A query as a client sends it: header, one question, optionally an EDNS OPT record. */
function query(name: string, type: number, o: { id?: number; flags?: number; edns?: boolean } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(o.id ?? 0x1234, 0);
  h.writeUInt16BE(o.flags ?? 0x0100, 2);
  h.writeUInt16BE(1, 4);
  if (o.edns) h.writeUInt16BE(1, 10);
  const q = Buffer.concat([...labelsOf(name).flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0, type >> 8, type & 0xff, 0, 1])]);
  const opt = o.edns ? Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([h, q, opt]);
}

/** The answer section's addresses of a response (A/AAAA only), and its rcode. */
function readResponse(b: Buffer): { id: number; rcode: number; qd: number; an: number; addresses: string[]; aa: boolean } {
  const id = b.readUInt16BE(0);
  const flags = b.readUInt16BE(2);
  const qd = b.readUInt16BE(4);
  const an = b.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) {
    while (b[pos] !== 0) pos += b[pos]! + 1;
    pos += 5;
  }
  const addresses: string[] = [];
  for (let i = 0; i < an; i++) {
    assert.equal(b.readUInt16BE(pos), 0xc00c, "owner: a pointer to the question's name");
    const type = b.readUInt16BE(pos + 2);
    const len = b.readUInt16BE(pos + 10);
    const data = b.subarray(pos + 12, pos + 12 + len);
    if (type === DnsType.A) addresses.push([...data].join("."));
    pos += 12 + len;
  }
  assert.equal(pos, b.length, "nothing after the answers");
  return { id, rcode: flags & 0xf, qd, an, addresses, aa: (flags & 0x0400) !== 0 };
}

describe("DNS codec", () => {
  it("reads a query (EDNS's OPT ignored) and writes the response with the question as asked", () => {
    const q = parseQuery(query("Api.Example.COM", DnsType.A, { edns: true }));
    assert.equal(q.id, 0x1234);
    assert.equal(q.rd, true);
    assert.equal(q.question?.name, "api.example.com");
    const r = encodeResponse(q, Rcode.noError, [{ type: DnsType.A, ttl: 60, address: new Uint8Array([198, 18, 0, 1]) }]);
    const back = readResponse(r);
    assert.deepEqual(back, { id: 0x1234, rcode: 0, qd: 1, an: 1, addresses: ["198.18.0.1"], aa: true });
    // The question's bytes, case included (a client may check its 0x20 randomization).
    assert.ok(r.includes(Buffer.from("Api")));
  });

  it("refuses malformed queries with a typed error, keeping the id when the header was read", () => {
    const bad: Array<[Buffer, RegExp, boolean]> = [
      [Buffer.alloc(5), /at least 12 bytes/, false],
      [Buffer.concat([query("a.b", 1).subarray(0, 12), Buffer.from([3, 97])]), /ends inside a label/, true],
      [Buffer.concat([query("a.b", 1).subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), /compressed/, true],
      [Buffer.concat([query("a.b", 1).subarray(0, 12), Buffer.from([1, 97, 0])]), /no type and class/, true],
      [Buffer.concat([query("x", 1).subarray(0, 12), ...Array<Buffer>(5).fill(Buffer.from([63, ...Array<number>(63).fill(97)])), Buffer.from([0, 0, 1, 0, 1])]), /longer than 255/, true],
    ];
    for (const [msg, why, withId] of bad) {
      assert.throws(() => parseQuery(msg), (e: unknown) => e instanceof DnsFormatError && why.test(e.message) && (e.id !== undefined) === withId);
    }
    const two = query("a.b", 1);
    two.writeUInt16BE(2, 4);
    assert.throws(() => parseQuery(two), /2 questions/);
  });

  it("fuzz: any bytes parse or throw DnsFormatError, and every parsed query has an answer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        let q: DnsQuery;
        try {
          q = parseQuery(bytes);
        } catch (e) {
          assert.ok(e instanceof DnsFormatError, String(e));
          return;
        }
        const r = encodeResponse(q, Rcode.nxDomain);
        assert.equal(r.readUInt16BE(0), q.id);
        assert.ok(r.length <= 12 + 260, "a response is bounded by its question");
      }),
      { numRuns: 20_000 },
    );
  });

  it("fuzz: every name a client can send comes back in the response, exactly once", () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(1, 28, 12, 65, 255), (labels, id, type) => {
        const name = labels.join(".");
        const q = parseQuery(query(name, type, { id }));
        assert.equal(q.question?.name, name.toLowerCase());
        const r = readResponse(encodeResponse(q, Rcode.noError, [{ type: DnsType.A, ttl: 1, address: new Uint8Array([1, 2, 3, 4]) }]));
        assert.equal(r.id, id);
        assert.equal(r.qd, 1);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("names: the addresses handed out for allowed names", () => {
  const allow = Allowlist.parse(["api.example.com", "*.example.com:8443", "db.internal:5432", "*.b.example.com:9000", "203.0.113.9:22", "localhost:6379"]);

  it("a name's ports are every matching entry's; one block per distinct set", () => {
    assert.deepEqual(namePorts(allow, "api.example.com"), [80, 443, 8443]);
    assert.deepEqual(namePorts(allow, "x.example.com"), [8443]);
    assert.deepEqual(namePorts(allow, "x.b.example.com"), [8443, 9000]);
    assert.deepEqual(namePorts(allow, "example.com"), []);
    assert.deepEqual(namePorts(allow, "db.internal"), [5432]);
    const blocks = nameBlocks(allow);
    assert.deepEqual(blocks.map((b) => b.ports.join(",")).sort(), ["5432", "80,443,8443", "8443", "8443,9000"]);
    for (const b of blocks) assert.equal(b.prefix, 17); // 4 blocks of the /15
  });

  it("fuzz: every name any allowlist admits has a block (the static classes cover them all)", () => {
    const lbl = fc.constantFrom("a", "b", "c", "api", "x");
    const host = fc.array(lbl, { minLength: 1, maxLength: 3 }).map((l) => [...l, "test"].join("."));
    const entry = fc.tuple(fc.boolean(), host, fc.option(fc.constantFrom(22, 443, 5432, 8443), { nil: undefined })).map(([wild, h, p]) => `${wild ? "*." : ""}${h}${p !== undefined ? `:${p}` : ""}`);
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), fc.array(host, { minLength: 1, maxLength: 10 }), (entries, names) => {
        const a = Allowlist.parse(entries);
        const map = new NameMap(nameBlocks(a));
        for (const n of names) {
          const ports = namePorts(a, n);
          if (ports.length === 0) continue;
          const address = map.assign(n, ports);
          assert.ok(address !== null, `${n} (${ports.join(",")}) has no block among ${entries.join(" ")}`);
          assert.equal(map.nameOf(address), n);
          // The supervisor redirects that address on exactly those ports.
          const rules = redirectRules(a, nameBlocks(a)).filter((r) => r.address.startsWith("198.1"));
          const ip = normalizeIp(address)!;
          const onPorts = rules.filter((r) => inBlock(ip.bytes, r.address, r.prefix)).map((r) => r.ports[0]).sort((x, y) => x - y);
          assert.deepEqual(onPorts, ports);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("stable, bounded, inside 198.18.0.0/15, never .0 or .255", () => {
    const map = new NameMap(nameBlocks(allow));
    const a = map.assign("api.example.com", [80, 443, 8443])!;
    assert.equal(map.assign("api.example.com", [80, 443, 8443]), a);
    assert.ok(inNameRange(normalizeIp(a)!));
    assert.ok(inNameRange(normalizeIp(`::ffff:${a}`)!), "the IPv4-mapped form too");
    assert.equal(map.assign("nowhere.test", [1]), null, "no block has that port set");
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const x = map.assign(`n${i}.example.com`, [8443])!;
      assert.ok(!/\.(0|255)$/.test(x), x);
      seen.add(x);
    }
    assert.equal(seen.size, 600);
    const full = new NameMap(nameBlocks(Allowlist.parse(["*.w.test"])));
    for (let i = 0; i < MAX_NAMES; i++) assert.notEqual(full.assign(`h${i}.w.test`, [80, 443]), null);
    assert.equal(full.assign("one-more.w.test", [80, 443]), null, `at most ${MAX_NAMES} names`);
  });

  it("redirect rules: the blocks on their ports, IP literals and localhost as allowed, TCP only", () => {
    const rules = redirectRules(allow, nameBlocks(allow));
    assert.ok(rules.some((r) => r.address === "203.0.113.9" && r.prefix === 32 && r.ports[0] === 22));
    assert.ok(rules.some((r) => r.address === "127.0.0.1" && r.ports[0] === 6379));
    assert.ok(rules.some((r) => r.address === "::1" && r.prefix === 128 && r.ports[0] === 6379));
    assert.ok(rules.every((r) => r.protocols === 1));
  });

  it("an allowlist needing more blocks than the range holds is refused; an entry inside the range too", () => {
    const many = Array.from({ length: 513 }, (_, i) => `h${i}.test:${1000 + i}`);
    assert.throws(() => nameBlocks(Allowlist.parse(many)), NameRangeError);
    assert.throws(() => Allowlist.parse(["198.18.0.5:443"]), /holds the addresses mcp-j's resolver hands out/);
    assert.throws(() => Allowlist.parse(["198.19.0.0/16"]), /holds the addresses/);
    assert.doesNotThrow(() => Allowlist.parse(["0.0.0.0/0:9999"]), "a wider network holding the range is fine");
  });
});

function inBlock(ip: Uint8Array, base: string, prefix: number): boolean {
  const b = normalizeIp(base)!.bytes;
  const n = (x: Uint8Array) => ((x[0]! << 24) | (x[1]! << 16) | (x[2]! << 8) | x[3]!) >>> 0;
  return n(ip) >>> (32 - prefix) === n(b) >>> (32 - prefix);
}

describe("the resolver's answers", () => {
  const allow = Allowlist.parse(["api.example.com", "*.svc.test:5432"]);
  const ask = (map: NameMap, name: string, type: number = DnsType.A) => answerQuery(parseQuery(query(name, type)), allow, map, 60);

  it("allowed names: A from the range (audited the first time), AAAA and others empty; the rest NXDOMAIN", () => {
    const map = new NameMap(nameBlocks(allow));
    const a = ask(map, "API.example.com");
    assert.equal(a.rcode, Rcode.noError);
    assert.equal(a.answers.length, 1);
    assert.equal(a.event?.decision, "allow");
    assert.equal(ask(map, "api.example.com").event, undefined, "audited once");
    assert.deepEqual(ask(map, "api.example.com", DnsType.AAAA), { rcode: Rcode.noError, answers: [] });
    assert.equal(ask(map, "db.svc.test").answers.length, 1);
    const no = ask(map, "evil.example.com");
    assert.equal(no.rcode, Rcode.nxDomain);
    assert.deepEqual(no.event, { type: "dns", decision: "deny", name: "evil.example.com", qtype: "A", reason: "not-allowed" });
    assert.equal(ask(map, "svc.test").rcode, Rcode.nxDomain, "a wildcard does not cover its own domain");
  });

  it("localhost is the jail's loopback; a handed-out address has its PTR; other reverse names NXDOMAIN", () => {
    const map = new NameMap(nameBlocks(allow));
    assert.deepEqual([...(ask(map, "localhost").answers[0] as { address: Uint8Array }).address], [127, 0, 0, 1]);
    const a = map.assign("api.example.com", [80, 443])!;
    const rev = `${a.split(".").reverse().join(".")}.in-addr.arpa`;
    const ptr = ask(map, rev, DnsType.PTR);
    assert.deepEqual(ptr.answers, [{ type: DnsType.PTR, ttl: 60, name: "api.example.com" }]);
    assert.equal(ask(map, "1.0.0.127.in-addr.arpa", DnsType.PTR).rcode, Rcode.nxDomain);
    assert.equal(ask(map, "999.1.1.1.in-addr.arpa", DnsType.PTR).rcode, Rcode.nxDomain);
  });
});

describe("redirect table", () => {
  it("pairs a report with its connection whichever comes first; an unreported connection gets null", async () => {
    const t = new RedirectTable();
    t.report({ src: "127.0.0.1", sport: 40000, address: "198.18.0.1", port: 443, pid: 7 });
    assert.equal((await t.match("::ffff:127.0.0.1", 40000, 1000))?.address, "198.18.0.1", "the v4-mapped peer is the same");
    const later = t.match("::1", 40001, 1000);
    t.report({ src: "::1", sport: 40001, address: "2001:db8::1", port: 22, pid: 8 });
    assert.equal((await later)?.port, 22);
    assert.equal(await t.match("127.0.0.1", 40002, 20), null);
    assert.ok(MATCH_TIMEOUT_MS >= 1000);
  });

  it("a newer connection with the same tuple takes the report (the older one is dead); reports are used once", async () => {
    const t = new RedirectTable();
    const old = t.match("127.0.0.1", 40010, 1000);
    const now = t.match("127.0.0.1", 40010, 1000);
    assert.equal(await old, null);
    t.report({ src: "127.0.0.1", sport: 40010, address: "198.18.0.9", port: 80, pid: 9 });
    assert.equal((await now)?.address, "198.18.0.9");
    assert.equal(await t.match("127.0.0.1", 40010, 20), null, "used once");
  });
});
