// C unit tests of the decoders and matchers (plan_read, sup_tables_decode, glob_match,
// sup_normalize and the table lookups), fed with bytes from the TypeScript encoders: a small C
// driver (test/native/decoders.c) is compiled with the helper's warnings, under AddressSanitizer
// and UBSan when the compiler has them, and its answers compared with what TypeScript encoded.
import assert from "node:assert/strict";
import fc from "fast-check";
import { globMatches, splitGlob } from "../src/jail/glob.js";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { encodePlan, encodeTables, PLAN_MAGIC, PlanRecord, RlimitNumber, TableRecord } from "../src/jail/codec.js";
import type { JailPlan } from "../src/jail/plan.js";
import { prepareJail } from "../src/launch.js";
import { parseReport } from "../src/jail/reports.js";
import { decodeEvent } from "../src/supervisor/events.js";
import { PolicySchema } from "../src/policy/schema.js";
import { compileC } from "./helpers/jailed.js";

const nativeDir = fileURLToPath(new URL("../../native/jail/", import.meta.url));
const driverSource = fileURLToPath(new URL("../../test/native/decoders.c", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "mcpj-decoders-"));

let driver: string;
let sanitized = false;

function sanitizersWork(): boolean {
  const src = join(work, "probe.c");
  writeFileSync(src, "int main(void) { return 0; }\n");
  return spawnSync("cc", ["-fsanitize=address,undefined", "-o", join(work, "probe"), src], { stdio: "ignore" }).status === 0;
}

before(() => {
  // The included sources are part of the binary: their hash goes into the source compileC caches by.
  const deps = createHash("sha256");
  for (const f of ["plan.c", "plan.h", "sup_tables.c", "sup_tables.h", "wire.c", "wire.h", "deputy_mounts.c", "report.c", "report.h"]) deps.update(readFileSync(join(nativeDir, f)));
  const source = `/* sources ${deps.digest("hex")} */\n${readFileSync(driverSource, "utf8")}`;
  sanitized = sanitizersWork();
  const flags = ["-std=gnu11", "-Wextra", "-Werror", "-D_GNU_SOURCE", "-I", nativeDir];
  if (sanitized) flags.push("-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all");
  driver = compileC("decoders", source, flags);
});

/** Runs the driver; a sanitizer report or a crash fails the test. */
function run(args: string[], input = ""): string[] {
  const r = spawnSync(driver, args, { input, encoding: "utf8", env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" } });
  assert.equal(r.status, 0, `decoders ${args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l !== "");
}

function file(name: string, bytes: Buffer): string {
  const p = join(work, name);
  writeFileSync(p, bytes);
  return p;
}

const hex = (s: string | Buffer) => Buffer.from(s).toString("hex");

/** The lines the driver prints for a plan, computed from the TypeScript plan. */
function expectedPlan(p: JailPlan): string[] {
  const out: string[] = [];
  for (const a of p.argv) out.push(`arg ${hex(a)}`);
  out.push("argv_terminated 1");
  for (const e of p.env) out.push(`env ${hex(e)}`);
  out.push("envp_terminated 1", `exec ${hex(p.execPath)}`, `cwd ${hex(p.cwd)}`, `hostname ${hex(p.hostname)}`);
  out.push(`ids ${p.hostUid} ${p.hostGid} ${p.jailUid} ${p.jailGid}`);
  for (const m of p.mounts) out.push(`mount ${m.op} ${m.flags} ${m.mode.toString(8)}`, ` src ${hex(m.src)}`, ` dest ${hex(m.dest)}`, ` data ${hex(m.data)}`);
  const l = p.landlock;
  out.push(`landlock ${l.minAbi} ${l.handledFs} ${l.handledNet} ${l.scoped}`);
  for (const r of l.fsRules) out.push(`fsrule ${r.access}`, ` path ${hex(r.path)}`);
  for (const r of l.netRules) out.push(`netrule ${r.access} ${r.port}`);
  if (p.seccomp !== null) out.push(`seccomp ${p.seccomp.toString("hex")}`);
  const lim = (n: number) => (Number.isFinite(n) ? String(n) : ((1n << 64n) - 1n).toString());
  for (const r of p.rlimits) out.push(`rlimit ${RlimitNumber[r.resource]} ${lim(r.soft)} ${lim(r.hard)}`);
  out.push(`cgroup ${hex(p.cgroup ?? "")}`, `net_listen ${p.netListenPort}`, `net_dns ${p.netDnsPort} net_redirect ${p.netRedirectPort}`);
  out.push(`sup_tables ${p.supervisorTables === null ? 0 : encodeTables(p.supervisorTables).length}`);
  return out;
}

function record(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(type, 0);
  h.writeUInt32LE(value.length, 4);
  return Buffer.concat([h, value]);
}

describe("C decoders fed by the TypeScript encoders", () => {
  const policy = PolicySchema.parse({
    filesystem: { ro: ["/usr/share/doc"], rw: [`${tmpdir()}:/work`], deny: ["**/.env", "/usr/share/doc/*/secret*"] },
    network: { allow: ["example.com", "db.example.com:5432", "203.0.113.9:8443", "localhost:6379"] },
    env: { set: { GREETING: "héllo wörld", EMPTY: "" } },
    audit: { file: "/dev/null", verbosity: "all" },
  });
  const prepared = (): ReturnType<typeof prepareJail> =>
    prepareJail({
      policy,
      command: ["/usr/bin/env", "arg with spaces", "ünïcode", ""],
      cwd: "/",
      env: {},
      rlimits: [
        { resource: "NOFILE", soft: 64, hard: 128 },
        { resource: "AS", soft: Infinity, hard: Infinity },
      ],
      cgroup: "/sys/fs/cgroup/mcpj-test",
    });

  it("plan_read decodes every field of a compiled plan", (t) => {
    t.diagnostic(sanitized ? "driver built with AddressSanitizer and UBSan" : "the compiler has no sanitizers: driver built without");
    const p = prepared().plan;
    assert.deepEqual(run(["plan", file("plan.bin", encodePlan(p))]), expectedPlan(p));
  });

  it("plan_read refuses malformed plans with a message naming the problem", () => {
    const good = encodePlan(prepared().plan);
    const body = good.subarray(8, good.length - 8); // without magic and END
    const magic = Buffer.from(PLAN_MAGIC, "latin1");
    const end = record(PlanRecord.end, Buffer.alloc(0));
    const cases: Array<[string, Buffer, RegExp]> = [
      ["bad magic", Buffer.concat([Buffer.from("MCPJPLN0"), body, end]), /does not start with MCPJPLN1/],
      ["no END", Buffer.concat([magic, body]), /ended before its END record/],
      ["a NUL in a string", Buffer.concat([magic, record(PlanRecord.arg, Buffer.from("a\0b")), body, end]), /plan record 1 is malformed/],
      ["an unknown record", Buffer.concat([magic, record(99, Buffer.alloc(4)), body, end]), /plan record 99 is malformed/],
      ["a u32 record of 3 bytes", Buffer.concat([magic, body, record(PlanRecord.hostUid, Buffer.alloc(3)), end]), /plan record 6 is malformed/],
      ["seccomp not a multiple of 8", Buffer.concat([magic, body, record(PlanRecord.seccomp, Buffer.alloc(12)), end]), /plan record 17 is malformed/],
      ["a relative cwd", Buffer.concat([magic, body, record(PlanRecord.cwd, Buffer.from("tmp")), end]), /plan record 4 is malformed/],
      ["a mount with a relative destination", Buffer.concat([magic, body, record(PlanRecord.mount, mountValue(2, "/x", "rel")), end]), /plan record 10 is malformed/],
      ["a mount op out of range", Buffer.concat([magic, body, record(PlanRecord.mount, mountValue(8, "/x", "/y")), end]), /plan record 10 is malformed/],
      ["no command", Buffer.concat([magic, record(PlanRecord.cwd, Buffer.from("/")), end]), /names no command/],
      ["a record longer than the plan", Buffer.concat([magic, Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0x00])]), /larger than|cannot read plan record/],
    ];
    for (const [what, bytes, message] of cases) {
      const out = run(["plan", file("bad.bin", bytes)]);
      assert.equal(out.length, 1, what);
      assert.match(out[0]!, /^error /, what);
      assert.match(out[0]!, message, what);
    }
  });

  it("sup_tables_decode reads every record of the compiled tables", () => {
    const t = prepared().plan.supervisorTables!;
    const out = run(["tables", file("tables.bin", encodeTables(t))]);
    const want = [
      "flags 1",
      ...t.paths.map((p) => `path ${p.rights} ${p.path}`),
      ...t.deny.map((d) => `deny ${d} ${d.split("/").filter(Boolean).map((s) => `[${s}]`).join(" ")}`),
      ...t.exec.map((e) => `exec ${e}`),
      ...t.loaders.map((l) => `loader ${l}`),
      ...t.connect.map((c) => `connect ${c.address.includes(":") ? 6 : 4} ${c.address}/${c.prefix} ${c.ports[0]}-${c.ports[1]} ${c.protocols ?? 0}`),
      ...t.bind.map((c) => `bind ${c.address.includes(":") ? 6 : 4} ${c.address}/${c.prefix} ${c.ports[0]}-${c.ports[1]} ${c.protocols ?? 0}`),
      ...t.redirect.map((c) => `redirect ${c.address.includes(":") ? 6 : 4} ${c.address}/${c.prefix} ${c.ports[0]}-${c.ports[1]} ${c.protocols ?? 0}`),
      `redirect_port ${t.redirectPort}`,
      ...t.meta.map((m) => `meta ${m.address.includes(":") ? 6 : 4} ${m.address} ${m.name}`),
      ...t.aliases.map((a) => `alias ${a.from} ${a.to}`),
    ];
    assert.ok(t.aliases.length > 0, "the compiled tables carry the /proc aliases");
    assert.deepEqual(out, want);
    const bad = encodeTables(t);
    assert.match(run(["tables", file("bad-tables.bin", bad.subarray(0, bad.length - 8))])[0]!, /^error .*end before their END record/);
    assert.match(run(["tables", file("bad-tables.bin", Buffer.concat([Buffer.from("MCPJSUP0"), bad.subarray(8)]))])[0]!, /^error .*do not start with MCPJSUP1/);
    // An alias whose first path claims more bytes than the record has, and one that is not absolute.
    for (const value of [Buffer.concat([Buffer.from([100, 0, 0, 0]), Buffer.from("/a/b")]), Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from("a/b")])]) {
      const head = Buffer.alloc(8);
      head.writeUInt16LE(TableRecord.alias, 0);
      head.writeUInt32LE(value.length, 4);
      const withAlias = Buffer.concat([bad.subarray(0, bad.length - 8), head, value, bad.subarray(bad.length - 8)]);
      assert.match(run(["tables", file("bad-alias.bin", withAlias)])[0]!, /^error /);
    }
  });

  it("a rename that would carry what a deny glob matches below it out of the glob's reach is refused", () => {
    const t = { ...prepared().plan.supervisorTables!, deny: ["/**/certs/*.pem", "/**/.env", "/ws/secrets", "/ws/**/keys/**"] };
    const queries: Array<[string, string]> = [
      ["moves /ws/certs /ws/x", "1"], // x/key.pem would no longer match **/certs/*.pem
      ["moves /ws/certs /ws/b/certs", "0"],
      ["moves /ws/a /ws/b", "0"], // **/.env matches below either
      ["moves /ws /ws2", "1"], // /ws/secrets would move out
      ["moves /ws/a /elsewhere", "1"], // /ws/a/keys/x would leave /ws/**/keys/**
      ["moves /tmp/a /tmp/b", "0"], // only the globs that match anywhere reach below /tmp/a
      ["moves /ws/p/keys /ws/p/k2", "1"],
      ["moves /ws/p/keys /ws/q/keys", "0"],
      ["moves /ws/p /ws/q", "0"],
      ["moves /tmp/x /ws/secrets/x", "0"], // into a denied directory: everything below is matched there
    ];
    const out = run(["query", file("q-moves.bin", encodeTables(t))], queries.map(([q]) => q).join("\n") + "\n");
    assert.deepEqual(Object.fromEntries(queries.map(([q], i) => [q, out[i]])), Object.fromEntries(queries));
  });

  it("the table lookups decide as the tables say: rights, deny globs, exec, loaders, connect, bind, metadata", () => {
    const p = prepared().plan;
    const t = p.supervisorTables!;
    const queries: Array<[string, string]> = [
      ["rights /work/a/b", "7"], // read | write | dir (a --rw grant)
      ["rights /usr/share/doc/x", "5"], // read | dir
      ["rights /nowhere", "4"], // the root: list directories only
      ["deny /work/app/.env", "/**/.env"],
      ["deny /work/app/.envrc", "-"],
      ["deny /usr/share/doc/pkg/secret.txt", "/usr/share/doc/*/secret*"],
      ["deny /usr/share/doc/pkg/secret.txt/under", "/usr/share/doc/*/secret*"], // a denied path's descendants
      ["deny /usr/share/doc/pkg/sub/secret.txt", "-"],
      [`exec ${t.exec[0]}`, "1"],
      ["exec /usr/bin/id", "0"],
      [`loader ${t.loaders[0] ?? "/none"}`, t.loaders.length > 0 ? "1" : "0"],
      ["connect 4 127.0.0.1 3128", "1"],
      ["connect 4 127.0.0.1 3129", "0"],
      ["connect 6 ::ffff:127.0.0.1 3128", "1"], // IPv4-mapped matched as IPv4
      ["connect 4 127.0.0.1 3128 udp", "0"], // the proxy rule is TCP's
      ["bind 4 127.9.9.9 80 udp", "1"],
      ["bind 6 ::1 80 udp", "1"],
      ["bind 4 127.9.9.9 80 tcp", "0"], // no TCP bind, as Landlock's rules say
      ["bind 4 10.0.0.1 80 udp", "0"],
      ["meta 4 169.254.169.254", "cloud metadata (AWS, GCP, Azure, OCI, DigitalOcean, OpenStack)"],
      ["meta 6 ::ffff:169.254.170.2", "cloud metadata (AWS ECS task credentials)"],
      ["meta 6 64:ff9b::a9fe:a9fe", "cloud metadata (AWS, GCP, Azure, OCI, DigitalOcean, OpenStack) via NAT64"],
      ["meta 4 1.1.1.1", "-"],
      ["connect 4 127.0.0.1 53 udp", "1"], // the jail's resolver
      ["connect 4 127.0.0.1 53", "0"],
      // Names' addresses, one block per port set (5432; 80+443), then the literals as allowed.
      ["redirect 4 198.18.0.7 5432", "1"],
      ["redirect 4 198.18.0.7 443", "0"],
      ["redirect 4 198.19.0.7 443", "1"],
      ["redirect 4 198.19.0.7 80", "1"],
      ["redirect 4 198.19.0.7 5432", "0"],
      ["redirect 4 198.19.0.7 443 udp", "0"], // TCP only: UDP is never redirected
      ["redirect 4 198.20.0.7 443", "0"],
      ["redirect 4 203.0.113.9 8443", "1"],
      ["redirect 4 203.0.113.9 443", "0"],
      ["redirect 4 127.0.0.1 6379", "1"],
      ["redirect 6 ::1 6379", "1"],
      ["redirect 4 127.0.0.1 6380", "0"],
    ];
    const out = run(["query", file("q-tables.bin", encodeTables(t))], queries.map(([q]) => q).join("\n") + "\n");
    assert.deepEqual(Object.fromEntries(queries.map(([q], i) => [q, out[i]])), Object.fromEntries(queries));
  });

  it("glob_match: fnmatch segments, ** across any number of them, a match on an ancestor counts", () => {
    const cases: Array<[string, string, 0 | 1]> = [
      ["**/.env", "a/b/.env", 1],
      ["**/.env", ".env", 1],
      ["**/.env", "a/.envrc", 0],
      ["**", "anything/at/all", 1],
      ["a/*/c", "a/b/c", 1],
      ["a/*/c", "a/b/x/c", 0],
      ["a/**/c", "a/c", 1],
      ["a/**/c", "a/b/x/c", 1],
      ["a/b", "a/b/c/d", 1], // an ancestor matched: what lies beneath is covered
      ["a/b/c", "a/b", 0],
      ["*.key", ".hidden.key", 1], // no FNM_PERIOD
      ["[!a]*", "abc", 0],
      ["[!a]*", "bcd", 1],
      ["x?z", "xyz", 1],
      ["**/secrets/**", "p/secrets", 1],
      ["[a-c]x", "bx", 1],
      ["\\*x", "*x", 1],
      ["\\*x", "ax", 0],
      ["a[", "a[", 1],
    ];
    const out = run(["glob"], cases.map(([pat, path]) => `${pat}\t${path}`).join("\n") + "\n");
    assert.deepEqual(out.map(Number), cases.map(([, , want]) => want));
    // The TypeScript matcher (the start-up walk that masks matches, jail/glob.ts) decides the same.
    assert.deepEqual(
      cases.map(([pat, path]) => (globMatches(splitGlob(pat), path.split("/").filter(Boolean)) ? 1 : 0)),
      cases.map(([, , want]) => want),
    );
  });

  it("glob: the TypeScript matcher agrees with C's on random globs and paths", () => {
    const seg = fc.oneof(fc.constantFrom("a", "b", ".env", "x.key", "**", "*", "?", "[ab]", "[!a]", "*.key", "s*"), fc.stringMatching(/^[a-c.]{1,3}$/));
    const name = fc.oneof(fc.constantFrom("a", "b", ".env", "x.key", "secrets"), fc.stringMatching(/^[a-c.]{1,3}$/));
    const pairs = fc.sample(fc.tuple(fc.array(seg, { minLength: 1, maxLength: 4 }), fc.array(name, { minLength: 0, maxLength: 5 })), 400);
    const lines = pairs.map(([g, p]) => `${g.join("/")}\t${p.join("/")}`);
    const c = run(["glob"], lines.join("\n") + "\n").map(Number);
    const ts = pairs.map(([g, p]) => (globMatches(splitGlob(g.join("/")), p) ? 1 : 0));
    for (let i = 0; i < pairs.length; i++) assert.equal(ts[i], c[i], lines[i]);
  });

  it("sup_normalize: //, . and .. resolved lexically, never above /", () => {
    const cases: Array<[string, string]> = [
      ["/a/./b//c/../d", "/a/b/d"],
      ["/../../etc/passwd", "/etc/passwd"],
      ["/proc/self/../../tmp/l", "/tmp/l"],
      ["//", "/"],
      ["/a/b/..", "/a"],
      ["/a/..b/c", "/a/..b/c"],
      ["/.../x", "/.../x"],
      [`/${"a/".repeat(1000)}`, `/${"a/".repeat(999)}a`],
    ];
    assert.deepEqual(run(["normalize"], cases.map(([i]) => i).join("\n") + "\n"), cases.map(([, o]) => o));
  });

  it("the deputy's copy of a mount table: root fields '/', no option or source that is a host path, odd lines left out", () => {
    const info = [
      "402 380 8:1 /home/me/project /data ro,nosuid,nodev,relatime - ext4 /dev/sda1 rw,errors=remount-ro",
      "380 1 0:44 / / ro,nosuid,nodev - tmpfs mcpj-root ro,size=1024k,mode=755",
      "403 380 0:45 /var/lib/x /usr ro - overlay overlay rw,lowerdir=/var/lib/docker/l/A:/var/lib/docker/l/B,upperdir=/var/lib/u,xino=off",
      "404 380 0:46 /a\\040b /with\\040space rw - fuse.sshfs me@host:/srv/share rw,user_id=0",
      "405 380 0:47 / /proc ro shared:7 - proc proc rw,subset=pid",
      "406 380 0:48 /x /y rw - 9p /only/paths/here /a,/b",
      "malformed line without a separator",
    ].join("\n");
    assert.deepEqual(run(["mounts", "i"], info + "\n"), [
      "402 380 8:1 / /data ro,nosuid,nodev,relatime - ext4 /dev/sda1 rw,errors=remount-ro",
      "380 1 0:44 / / ro,nosuid,nodev - tmpfs mcpj-root ro,size=1024k,mode=755",
      "403 380 0:45 / /usr ro - overlay overlay rw,xino=off",
      "404 380 0:46 / /with\\040space rw - fuse.sshfs none rw,user_id=0",
      "405 380 0:47 / /proc ro shared:7 - proc proc rw,subset=pid",
      "406 380 0:48 / /y rw - 9p none rw",
    ]);
    const mounts = ["/dev/sda1 /data ext4 ro,relatime 0 0", "overlay /usr overlay ro,lowerdir=/var/lib/l:/m,xino=off 0 0", "/srv/x /y nfs rw 0 0", "short line"].join("\n");
    assert.deepEqual(run(["mounts", "m"], mounts), ["/dev/sda1 /data ext4 ro,relatime 0 0", "overlay /usr overlay ro,xino=off 0 0", "none /y nfs rw 0 0"]);
  });
});

function mountValue(op: number, src: string, dest: string): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const lv = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
  return Buffer.concat([u32(op), u32(0), u32(0), lv(src), lv(dest), lv("")]);
}

describe("C report lines (report.c), read by parseReport", () => {
  const line = (pairs: Array<[string, string]>): string => {
    const out = run(["line"], pairs.map(([k, v]) => `${k}\t${v}\n`).join(""));
    assert.equal(out.length, 1);
    return out[0]!;
  };

  it("a path of PATH_MAX bytes of non-ASCII names goes whole, with the fields after it", () => {
    const path = `/${"\u00e9".repeat(2047)}`; // 4,095 bytes of UTF-8
    const r = parseReport(line([["act", "allow"], ["path", path], ["why", "outside"]]));
    assert.equal(r.type, "event");
    if (r.type !== "event") return;
    const e = decodeEvent(r.fields)!;
    assert.ok(e.path === path, `the path came back ${e.path?.length} characters long`);
    assert.equal(e.reason, "outside");
    assert.equal(e.incomplete, undefined);
  });

  it("a value too long to carry is left out whole, never cut, and the line says so", () => {
    const long = "x".repeat(20_000);
    const r = parseReport(line([["act", "deny"], ["path", long], ["why", "glob"]]));
    assert.equal(r.type, "event");
    if (r.type !== "event") return;
    assert.equal(r.fields["path"], undefined, "no part of the value");
    assert.equal(r.fields["why"], "glob", "what fits after it is still there");
    assert.equal(decodeEvent(r.fields)!.incomplete, true);
  });
});
