// IP literal normalization and address classification (pure; no sockets).
import assert from "node:assert/strict";
import { isIP } from "node:net";
import { test } from "node:test";
import { classifyAddress, InvalidIpError, normalizeIp, type AddressKind } from "../src/egress/index.js";

// Every spelling from ESCAPES.md items 40-45 and issue 4, plus the usual inet_aton / URL-parser forms.
const SPELLINGS: Array<[string, string]> = [
  ["169.254.169.254", "169.254.169.254"],
  ["2852039166", "169.254.169.254"],
  ["0251.0376.0251.0376", "169.254.169.254"],
  ["0xa9fea9fe", "169.254.169.254"],
  ["0XA9FEA9FE", "169.254.169.254"],
  ["0xa9.0xfe.0xa9.0xfe", "169.254.169.254"],
  ["0xa9.254.0251.0xfe", "169.254.169.254"],
  ["169.254.43518", "169.254.169.254"], // a.b.c16
  ["169.16689662", "169.254.169.254"], // a.b24
  ["0251.0xfe.43518", "169.254.169.254"],
  ["00000251.0376.0251.0376", "169.254.169.254"],
  ["169.254.169.254.", "169.254.169.254"], // trailing dot
  ["[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"],
  ["::ffff:a9fe:a9fe", "::ffff:169.254.169.254"],
  ["::ffff:169.254.169.254", "::ffff:169.254.169.254"],
  ["[::FFFF:A9FE:A9FE]", "::ffff:169.254.169.254"],
  ["0:0:0:0:0:ffff:a9fe:a9fe", "::ffff:169.254.169.254"],
  ["0000:0000:0000:0000:0000:ffff:169.254.169.254", "::ffff:169.254.169.254"],
  ["fd00:ec2::254", "fd00:ec2::254"],
  ["[fd00:ec2:0:0:0:0:0:254]", "fd00:ec2::254"],
  ["FD00:0EC2::0254", "fd00:ec2::254"],
  ["100.100.100.200", "100.100.100.200"],
  ["1684301000", "100.100.100.200"],
  ["64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe"],
  ["64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe"],
  ["[64:ff9b:0:0:0:0:a9fe:a9fe]", "64:ff9b::a9fe:a9fe"],
  ["::a9fe:a9fe", "::a9fe:a9fe"],
  ["::169.254.169.254", "::a9fe:a9fe"],
  ["1.1.1.1", "1.1.1.1"],
  ["16843009", "1.1.1.1"],
  ["2606:4700:4700::1111", "2606:4700:4700::1111"],
  ["[2606:4700:4700:0:0:0:0:1111]", "2606:4700:4700::1111"],
  ["0.0.0.0", "0.0.0.0"],
  ["0", "0.0.0.0"],
  ["0x0", "0.0.0.0"],
  ["::", "::"],
  ["[::]", "::"],
  ["0:0:0:0:0:0:0:0", "::"],
  ["127.0.0.2", "127.0.0.2"],
  ["127.1", "127.0.0.1"],
  ["127.0.1", "127.0.0.1"],
  ["0x7f.1", "127.0.0.1"],
  ["0x7f000001", "127.0.0.1"],
  ["2130706433", "127.0.0.1"],
  ["017700000001", "127.0.0.1"],
  ["0177.0.0.01", "127.0.0.1"],
  ["[::ffff:127.0.0.1]", "::ffff:127.0.0.1"],
  ["::ffff:7f00:1", "::ffff:127.0.0.1"],
  ["::1", "::1"],
  ["0:0:0:0:0:0:0:1", "::1"],
  ["[0::1]", "::1"],
  ["10.1.1", "10.1.0.1"],
  ["10.0x10101", "10.1.1.1"],
  ["fe80::1%eth0", "fe80::1"],
  ["[fe80::1%25eth0]", "fe80::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // RFC 5952: first longest run
  ["2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"],
  ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
  ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"], // a single zero group is not compressed
  ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
];

test("normalizeIp: every spelling comes out canonical", () => {
  for (const [input, want] of SPELLINGS) {
    const n = normalizeIp(input);
    assert.ok(n, `${input} should be an IP literal`);
    assert.equal(n.address, want, `normalizeIp(${JSON.stringify(input)})`);
    assert.equal(n.family, isIP(want), `family of ${input}`);
    assert.equal(n.bytes.length, n.family === 4 ? 4 : 16);
  }
});

test("normalizeIp: zones are kept apart from the address", () => {
  assert.equal(normalizeIp("fe80::1%eth0")?.zone, "eth0");
  assert.equal(normalizeIp("[fe80::1%25eth0]")?.zone, "eth0");
  assert.equal(normalizeIp("fe80::1")?.zone, undefined);
});

test("normalizeIp: host names are not IP literals", () => {
  for (const name of ["example.com", "api.github.com", "localhost", "metadata.google.internal", "1password.com", "a1.b2", "0x.example", "xn--nxasmq6b.com"]) {
    assert.equal(normalizeIp(name), null, name);
  }
});

test("normalizeIp: malformed literals throw InvalidIpError (never become names)", () => {
  const bad = [
    "1.2.3.256", "256.1.1.1", "1.2.3.4.5", "08.1.1.1", "0x1g.1", "4294967296", "0x100000000", "1.16777216",
    "example.123", "a.0x10", "1..2.3", "::ffff:1.2.3", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::ffff:01.2.3.4",
    "[1.2.3.4]", "fe80::1%", "gggg::1", ":1:2:3:4:5:6:7", "99999999999999999999999999",
  ];
  for (const s of bad) assert.throws(() => normalizeIp(s), InvalidIpError, s);
});

const CLASSES: Array<[string, AddressKind, string?]> = [
  // ESCAPES 40
  ["1.1.1.1", "public"],
  ["2606:4700:4700::1111", "public"],
  // ESCAPES 41: metadata, every form
  ["169.254.169.254", "metadata"],
  ["::ffff:169.254.169.254", "metadata", "ipv4-mapped"],
  ["fd00:ec2::254", "metadata"],
  ["100.100.100.200", "metadata"],
  ["64:ff9b::a9fe:a9fe", "metadata", "nat64"],
  ["::ffff:0:a9fe:a9fe", "metadata", "ipv4-translated"],
  ["::a9fe:a9fe", "metadata", "ipv4-compatible"],
  ["2002:a9fe:a9fe::1", "metadata", "6to4"],
  ["64:ff9b:1::a9fe:a9fe", "metadata", "nat64-local"],
  ["169.254.170.2", "metadata"],
  ["2852039166", "metadata"],
  ["0251.0376.0251.0376", "metadata"],
  // ESCAPES 42
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["::", "unspecified"],
  ["127.0.0.2", "loopback"],
  ["127.0.0.1", "loopback"],
  ["::1", "loopback"],
  ["::ffff:127.0.0.1", "loopback", "ipv4-mapped"],
  ["64:ff9b::7f00:1", "loopback", "nat64"],
  // the rest of issue 4
  ["10.0.0.1", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["fc00::1", "private"],
  ["fd12:3456::1", "private"],
  ["::ffff:10.0.0.1", "private", "ipv4-mapped"],
  ["64:ff9b::a00:1", "private", "nat64"],
  ["169.254.1.1", "link-local"],
  ["fe80::1", "link-local"],
  ["100.64.0.1", "cgnat"],
  ["100.127.255.255", "cgnat"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["ff02::1", "multicast"],
  ["255.255.255.255", "broadcast"],
  ["240.0.0.1", "reserved"],
  ["192.0.2.1", "documentation"],
  ["2001:db8::1", "documentation"],
  ["2001::1", "reserved"], // Teredo
  ["100::1", "reserved"],
  ["4000::1", "reserved"], // outside 2000::/3
  ["64:ff9b:1::808:808", "private", "nat64-local"], // local-use NAT64 is never public
  // public
  ["8.8.8.8", "public"],
  ["172.32.0.1", "public"],
  ["100.128.0.1", "public"],
  ["169.253.255.255", "public"],
  ["64:ff9b::808:808", "public", "nat64"],
  ["2002:808:808::1", "public", "6to4"],
  ["::ffff:8.8.8.8", "public", "ipv4-mapped"],
];

test("classifyAddress: table", () => {
  for (const [addr, kind, via] of CLASSES) {
    const c = classifyAddress(addr);
    assert.equal(c.kind, kind, `${addr} is ${kind} (got ${c.kind}, range ${c.range})`);
    // Documentation ranges are routable for the proxy (see ROUTABLE in classify.ts).
    assert.equal(c.blocked, kind !== "public" && kind !== "documentation", `${addr} blocked`);
    assert.equal(c.embedded?.via, via, `${addr} embedding`);
  }
});

test("classifyAddress: metadata is reported as metadata with its description", () => {
  const c = classifyAddress("[::ffff:a9fe:a9fe]");
  assert.equal(c.kind, "metadata");
  assert.equal(c.description, "a cloud metadata address");
  assert.deepEqual(c.embedded, { via: "ipv4-mapped", ipv4: "169.254.169.254" });
  assert.equal(c.address, "::ffff:169.254.169.254");
});

test("classifyAddress: rejects names and malformed literals", () => {
  assert.throws(() => classifyAddress("example.com"), TypeError);
  assert.throws(() => classifyAddress("1.2.3.999"), InvalidIpError);
});
